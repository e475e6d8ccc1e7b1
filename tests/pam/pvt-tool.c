/*
 * pvt-tool.c: a test helper (not installed) that signs pvt1 tokens and
 * revocation lists with an OpenSSH Ed25519 key file, for the PAM tests.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "pvt/pvt.h"

static int
usage(void)
{
	fprintf(stderr,
	    "usage: pvt-tool token KEY ENGINEER ACCOUNT TARGET OFFSET LIFETIME "
	    "SERIAL SESSION|- [GRANT]\n"
	    "       pvt-tool revlist KEY SEQUENCE [KIND VALUE]...\n"
	    "       pvt-tool pubcheck PUBKEY\n"
	    "OFFSET: seconds added to now for not-before (may be negative)\n");
	return 2;
}

static int
cmd_token(int argc, char **argv)
{
	struct pvt_claims c;
	EVP_PKEY *key = NULL;
	char sid[PV_UUID_LEN + 1], *tok = NULL;
	int64_t off;
	uint32_t life;
	uint64_t serial;
	int r;

	if (argc < 9 || argc > 10)
		return usage();
	if (pv_parse_i64(argv[5], -86400000, 86400000, &off) != 0 ||
	    pv_parse_u32(argv[6], 1, PVT_LIFETIME_MAX, &life) != 0 ||
	    pv_parse_u64(argv[7], 0, UINT64_MAX, &serial) != 0)
		return usage();
	if (strcmp(argv[8], "-") == 0) {
		if (pv_uuid_new(sid) != 0)
			return 1;
	} else if (snprintf(sid, sizeof(sid), "%s", argv[8]) != PV_UUID_LEN) {
		return usage();
	}
	if ((r = pv_sshkey_load_private(argv[1], &key)) != 0) {
		fprintf(stderr, "pvt-tool: %s: %s\n", argv[1], pv_err_str(r));
		return 1;
	}
	if ((r = pvt_claims_init(&c, argv[2], argv[3], argv[4], sid,
		 argc == 10 ? argv[9] : NULL, serial, (int64_t)time(NULL) + off,
		 life)) != 0 ||
	    (r = pvt_issue(key, &c, &tok)) != 0) {
		fprintf(stderr, "pvt-tool: token: %s\n", pv_err_str(r));
		EVP_PKEY_free(key);
		return 1;
	}
	printf("%s\n", tok);
	pv_secret_freestr(tok);
	EVP_PKEY_free(key);
	return 0;
}

static int
cmd_revlist(int argc, char **argv)
{
	static const char *const kinds[PVT_REV_KINDS] = { "engineer", "account",
		"session", "grant", "serial" };
	struct pvt_revlist *rl = NULL;
	EVP_PKEY *key = NULL;
	uint64_t seq;
	int64_t off = 0;
	const char *env;
	char *out = NULL;
	size_t len = 0;
	int i, k, r = 1;

	if (argc < 3 || argc % 2 != 1 ||
	    pv_parse_u64(argv[2], 0, UINT64_MAX, &seq) != 0)
		return usage();
	if ((r = pv_sshkey_load_private(argv[1], &key)) != 0) {
		fprintf(stderr, "pvt-tool: %s: %s\n", argv[1], pv_err_str(r));
		return 1;
	}
	r = 1;
	if ((rl = pvt_revlist_new()) == NULL)
		goto out;
	for (i = 3; i + 1 < argc; i += 2) {
		for (k = 0; k < PVT_REV_KINDS; k++) {
			if (strcmp(argv[i], kinds[k]) == 0)
				break;
		}
		if (k == PVT_REV_KINDS ||
		    pvt_revlist_add(rl, (enum pvt_rev_kind)k, argv[i + 1]) !=
			0) {
			fprintf(stderr, "pvt-tool: bad entry %s %s\n", argv[i],
			    argv[i + 1]);
			goto out;
		}
	}
	/* PVT_ISSUED_OFFSET: seconds added to now for issued-at. */
	if ((env = getenv("PVT_ISSUED_OFFSET")) != NULL &&
	    pv_parse_i64(env, -86400000, 86400000, &off) != 0)
		goto out;
	if (pvt_revlist_sign(
		rl, key, (int64_t)time(NULL) + off, seq, &out, &len) != 0)
		goto out;
	if (fwrite(out, 1, len, stdout) != len)
		goto out;
	r = 0;
out:
	free(out);
	pvt_revlist_free(rl);
	EVP_PKEY_free(key);
	return r;
}

int
main(int argc, char **argv)
{
	EVP_PKEY *pub = NULL;
	int r;

	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "token") == 0)
		return cmd_token(argc - 1, argv + 1);
	if (strcmp(argv[1], "revlist") == 0)
		return cmd_revlist(argc - 1, argv + 1);
	if (strcmp(argv[1], "pubcheck") == 0 && argc == 3) {
		if ((r = pv_sshkey_load_public(argv[2], &pub)) != 0) {
			fprintf(stderr, "pvt-tool: %s: %s\n", argv[2],
			    pv_err_str(r));
			return 1;
		}
		EVP_PKEY_free(pub);
		return 0;
	}
	return usage();
}

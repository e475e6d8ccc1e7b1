/*
 * tool_mint.c: a test helper (not installed) that mints a certificate the
 * way provostd does, so integration tests can check it with real OpenSSH.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "broker/broker.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: pv-broker-mint capub CA\n"
	    "       pv-broker-mint cert CA KEY.pub PRINCIPAL SOURCE LIFETIME "
	    "SERIAL pty|nopty [NOW-OFFSET-SECONDS]\n");
	exit(2);
}

static int
read_pub(const char *path, uint8_t pub[BROKER_ED25519_LEN])
{
	uint8_t *data = NULL, *blob = NULL;
	size_t len = 0, bloblen = 0;
	char *sp, *end;
	int r;

	if ((r = pv_file_read(path, 16384, &data, &len)) != 0)
		return r;
	r = PV_ERR_INVALID;
	data[len - (len > 0 ? 1 : 0)] = '\0';
	if (strncmp((char *)data, "ssh-ed25519 ", 12) != 0)
		goto out;
	sp = (char *)data + 12;
	end = strchr(sp, ' ');
	if (end == NULL)
		end = sp + strlen(sp);
	if ((r = pv_b64_decode(sp, (size_t)(end - sp), 0, &blob, &bloblen)) !=
	    0)
		goto out;
	r = broker_ed25519_from_blob(blob, bloblen, pub);
out:
	free(blob);
	free(data);
	return r;
}

int
main(int argc, char **argv)
{
	EVP_PKEY *ca = NULL;
	struct pv_buf *b = NULL;
	uint8_t pub[BROKER_ED25519_LEN];
	char sid[PV_UUID_LEN + 1], *line = NULL;
	uint64_t lifetime, serial;
	int64_t off = 0;
	int r;

	pv_log_init("pv-broker-mint", PV_LOG_STDERR, PV_LOG_INFO);
	if (argc < 3)
		usage();
	if (broker_ca_load(argv[2], &ca) != 0)
		return 1;
	if ((b = pv_buf_new(65536)) == NULL)
		return 1;
	if (strcmp(argv[1], "capub") == 0 && argc == 3) {
		if (broker_ed25519_blob(ca, b) != 0 ||
		    broker_sshkey_line("ssh-ed25519", pv_buf_ptr(b),
			pv_buf_len(b), "provost-ca", &line) != 0)
			return 1;
	} else if (strcmp(argv[1], "cert") == 0 && (argc == 9 || argc == 10)) {
		if (read_pub(argv[3], pub) != 0 ||
		    pv_duration_parse(argv[6], &lifetime) != 0 ||
		    pv_parse_u64(argv[7], 0, UINT64_MAX, &serial) != 0 ||
		    (argc == 10 &&
			pv_parse_i64(argv[9], -86400, 86400, &off) != 0) ||
		    pv_uuid_new(sid) != 0)
			usage();
		struct broker_cert_req req = {
			.pubkey = pub,
			.serial = serial,
			.session_id = sid,
			.engineer = "tester",
			.principal = argv[4],
			.now = (int64_t)time(NULL) + off,
			.lifetime = lifetime,
			.source_address = argv[5],
			.permit_pty = strcmp(argv[8], "pty") == 0,
		};
		if ((r = broker_cert_mint(ca, &req, b)) != 0) {
			fprintf(stderr, "mint: %s\n", pv_err_str(r));
			return 1;
		}
		if (broker_sshkey_line(BROKER_CERT_TYPE, pv_buf_ptr(b),
			pv_buf_len(b), NULL, &line) != 0)
			return 1;
	} else
		usage();
	printf("%s\n", line);
	free(line);
	pv_buf_free(b);
	EVP_PKEY_free(ca);
	return 0;
}

/*
 * store_test_util.h: helpers the store's unit tests share: a fresh store
 * with a provider, engineer, target and keys, and SSH key lines.
 */
#ifndef PROVOST_STORE_TEST_UTIL_H
#define PROVOST_STORE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/common.h"
#ifdef HAVE_LIBPQ
#include "store/db_pg.h"
#endif
#include "store/store.h"

/*
 * Where a test's fresh store lives: ":memory:" (SQLite), or the
 * PostgreSQL database PV_TEST_STORE names (t_store_pg.sh starts a
 * throwaway cluster), emptied first.
 */
static inline const char *
tsu_mem(void)
{
	const char *pg = getenv("PV_TEST_STORE");

	if (pg == NULL || *pg == '\0')
		return ":memory:";
#ifdef HAVE_LIBPQ
	if (st_pg_wipe(pg) != 0) {
		fprintf(stderr, "PV_TEST_STORE: cannot empty the database\n");
		abort();
	}
#endif
	return pg;
}

/* 1 when the tests run on PostgreSQL */
static inline int
tsu_pg(void)
{
	const char *pg = getenv("PV_TEST_STORE");

	return pg != NULL && *pg != '\0';
}

/* "ssh-ed25519 BASE64 comment" for a key made of 32 bytes of seed. */
static inline char *
tsu_keyline(uint8_t seed, uint8_t blob[51])
{
	uint8_t b[51];
	char *b64 = NULL, *line = NULL;

	memcpy(b, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
	memset(b + 19, seed, 32);
	if (blob != NULL)
		memcpy(blob, b, sizeof(b));
	if (pv_b64_encode(b, sizeof(b), 0, &b64) != 0)
		return NULL;
	if (asprintf(&line, "ssh-ed25519 %s test-%u", b64, seed) < 0)
		line = NULL;
	free(b64);
	return line;
}

static inline EVP_PKEY *
tsu_audit_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

/* A temp dir path (mkdtemp) into buf. */
static inline int
tsu_tmpdir(char *buf, size_t len)
{
	const char *t = getenv("TMPDIR");

	if (snprintf(buf, len, "%s/provost-ut.XXXXXX", t ? t : "/tmp") < 0)
		return -1;
	return mkdtemp(buf) == NULL ? -1 : 0;
}

static inline void
tsu_rmdir(const char *dir)
{
	char cmd[512];
	int rc = -1;

	if (snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) > 0)
		rc = system(cmd);
	(void)rc;
}

/* Populates: provider acme, engineers alice/bob, target db01 (postgres, root). */
static inline int
tsu_populate(struct store *st)
{
	static const char *const accts[] = { "postgres", "root" };
	struct store_target_spec t = {
		.name = "db01",
		.host = "127.0.0.1",
		.port = 2200,
		.classification = "confidential",
		.naccounts = 2,
		.accounts = accts,
	};
	char *hk = tsu_keyline(0x42, NULL);
	int r;

	t.hostkey = hk;
	if ((r = store_provider_add(st, "admin:test", "acme", 0, 0)) != 0 ||
	    (r = store_engineer_add(
		 st, "admin:test", "alice", "acme", "confidential")) != 0 ||
	    (r = store_engineer_add(st, "admin:test", "bob", "acme", NULL)) !=
		0 ||
	    (r = store_target_add(st, "admin:test", &t)) != 0) {
		free(hk);
		return r;
	}
	free(hk);
	return 0;
}

/* tmpl with every "%s" replaced by with (malloc'd). */
static inline char *
tsu_subst(const char *tmpl, const char *with)
{
	size_t n = 0, wl = strlen(with), o = 0;
	const char *p;
	char *out;

	for (p = tmpl; (p = strstr(p, "%s")) != NULL; p += 2)
		n++;
	if ((out = malloc(strlen(tmpl) + n * wl + 1)) == NULL)
		return NULL;
	for (p = tmpl; *p != '\0';) {
		if (p[0] == '%' && p[1] == 's') {
			memcpy(out + o, with, wl);
			o += wl;
			p += 2;
		} else
			out[o++] = *p++;
	}
	out[o] = '\0';
	return out;
}

#endif /* PROVOST_STORE_TEST_UTIL_H */

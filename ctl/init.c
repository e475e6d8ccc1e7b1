/*
 * init.c: "provostctl init": the state directory with the CA, host, audit
 * and token keys in OpenSSH formats, totp.key and the store; never overwrites.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/ctl.h"

/* Private key file, public file (NULL = none), comment. */
static const struct init_key {
	const char *priv;
	const char *pub;
	const char *comment;
} init_keys[] = {
	{ "ca", "ca.pub", "provost-ca" },
	{ "host_ed25519", "host_ed25519.pub", "provost-host" },
	{ "audit_ed25519", "audit_ed25519.pub", "provost-audit" },
	{ "token_ed25519", "token.pub", "provost-token" },
};
#define NKEYS (sizeof(init_keys) / sizeof(init_keys[0]))

static int
make_dir(const char *path)
{
	struct stat sb;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return ctl_fail(PV_ERR_IO, "%s: %s", path, strerror(errno));
	if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return ctl_fail(PV_ERR_CONFIG, "%s: not a directory", path);
	if ((sb.st_mode & 022) != 0)
		return ctl_fail(PV_ERR_PERM,
		    "%s: writable by group or others; chmod 700 it", path);
	return 0;
}

/* Refuses before writing anything if any file is already there. */
static int
check_free(struct ctl *c, const char *db)
{
	char path[4096];
	size_t i;
	int j;

	for (i = 0; i < NKEYS; i++) {
		for (j = 0; j < 2; j++) {
			if (ctl_state_path(c,
				j ? init_keys[i].pub : init_keys[i].priv, path,
				sizeof(path)) != 0)
				return ctl_fail(PV_ERR_LIMIT, "path too long");
			if (access(path, F_OK) == 0)
				return ctl_fail(PV_ERR_EXISTS,
				    "%s exists: refusing to overwrite keys",
				    path);
		}
	}
	if (ctl_state_path(c, "totp.key", path, sizeof(path)) != 0)
		return ctl_fail(PV_ERR_LIMIT, "path too long");
	if (access(path, F_OK) == 0)
		return ctl_fail(PV_ERR_EXISTS,
		    "%s exists: refusing to overwrite keys", path);
	if (store_where_is_file(db) && access(db, F_OK) == 0)
		return ctl_fail(PV_ERR_EXISTS,
		    "%s exists: refusing to overwrite the store", db);
	return 0;
}

static int
make_key(struct ctl *c, const struct init_key *k, json_t *fps, char **publine)
{
	char priv[4096], pub[4096], fp[PV_SSHKEY_FP_MAX];
	EVP_PKEY *key = NULL;
	int r;

	if ((r = ctl_state_path(c, k->priv, priv, sizeof(priv))) != 0 ||
	    (r = ctl_state_path(c, k->pub, pub, sizeof(pub))) != 0)
		return ctl_fail(r, "path too long");
	if ((r = pv_sshkey_generate_ed25519(&key)) != 0) {
		r = ctl_fail(r, "generating %s failed", k->priv);
		goto out;
	}
	if ((r = pv_sshkey_save_private(priv, key, k->comment)) != 0) {
		r = ctl_fail(r, "%s: %s", priv, pv_err_str(r));
		goto out;
	}
	if ((r = pv_sshkey_save_public(pub, key, k->comment)) != 0) {
		r = ctl_fail(r, "%s: %s", pub, pv_err_str(r));
		goto out;
	}
	if ((r = pv_sshkey_fingerprint(key, fp, sizeof(fp))) != 0) {
		r = ctl_fail(r, "fingerprint of %s failed", k->priv);
		goto out;
	}
	if (json_object_set_new(fps, k->priv, json_string(fp)) != 0) {
		r = ctl_fail(PV_ERR_ALLOC, "out of memory");
		goto out;
	}
	if (publine != NULL &&
	    (r = pv_sshkey_public_line(key, k->comment, publine)) != 0) {
		r = ctl_fail(r, "CA public key: %s", pv_err_str(r));
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_free(key);
	return r;
}

int
ctl_cmd_init(struct ctl *c, int argc, char **argv)
{
	const struct ctl_cmd *cmd = ctl_cmd_find(NULL, "init");
	char path[4096], *ca_line = NULL;
	json_t *fps = NULL;
	const char *db;
	struct stat sb;
	size_t i;
	int rc, first;

	if ((rc = ctl_parse(c, cmd, argc, argv, NULL, &first)) < 0) {
		/* --help: how a second broker joins a PostgreSQL store */
		printf("A second broker on the same PostgreSQL store does not "
		       "run init: it gets its own\nStateDirectory with copies "
		       "of the first one's ca, ca.pub, audit_ed25519,\n"
		       "audit_ed25519.pub, token_ed25519, token.pub and "
		       "totp.key (one CA for both:\ntargets keep one "
		       "TrustedUserCAKeys line), its own host_ed25519 (or a "
		       "copy when\nboth answer one name) and the same Store "
		       "line (docs/several-brokers.md).\n");
		return 0;
	}
	if (rc != 0)
		return rc;
	if (first != argc)
		return ctl_usage(cmd, "init takes no arguments");
	if (pv_config_store_path(c->cfg, &db) != 0)
		return ctl_fail(PV_ERR_UNSUPPORTED,
		    "Store %s: only sqlite: stores are supported",
		    c->cfg->store);
	if ((rc = make_dir(c->cfg->state_dir)) != 0)
		return rc;
	if ((rc = check_free(c, db)) != 0)
		return rc;
	if ((fps = json_object()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	for (i = 0; i < NKEYS; i++)
		if ((rc = make_key(
			 c, &init_keys[i], fps, i == 0 ? &ca_line : NULL)) != 0)
			goto out;
	if ((rc = ctl_state_path(c, "totp.key", path, sizeof(path))) != 0 ||
	    (rc = store_totp_key_create(path)) != 0) {
		rc = ctl_fail(rc, "%s: %s", path, pv_err_str(rc));
		goto out;
	}
	if (stat(c->cfg->recording_dir, &sb) != 0 &&
	    mkdir(c->cfg->recording_dir, 0700) != 0) {
		rc = ctl_fail(PV_ERR_IO, "%s: %s", c->cfg->recording_dir,
		    strerror(errno));
		goto out;
	}
	c->create = 1;
	if ((rc = ctl_open_store(c)) != 0)
		goto out;
	/* PostgreSQL: nothing to overwrite, but one init per store */
	if (!store_where_is_file(db)) {
		uint64_t head = 0;

		if ((rc = store_audit_head(c->st, &head)) != 0) {
			rc = ctl_fail(rc, "%s", store_errmsg(c->st));
			goto out;
		}
		if (head != 0) {
			rc = ctl_fail(PV_ERR_EXISTS,
			    "Store postgresql: already initialised (%llu audit "
			    "rows): refusing",
			    (unsigned long long)head);
			goto out;
		}
	}
	if ((rc = store_audit_append(
		 c->st, c->actor, "store.init", "store", fps)) != 0) {
		rc = ctl_fail(rc, "%s", store_errmsg(c->st));
		goto out;
	}
	if (c->json) {
		rc = ctl_print_json(json_pack("{s:s, s:s, s:s, s:O}",
		    "state_dir", c->cfg->state_dir, "store",
		    store_where_is_file(db) ? db : "postgresql",
		    "ca_public_key", ca_line, "fingerprints", fps));
		goto out;
	}
	fprintf(stderr,
	    "provostctl: initialised %s; targets trust this CA "
	    "(TrustedUserCAKeys):\n",
	    c->cfg->state_dir);
	printf("%s\n", ca_line);
	rc = CTL_EXIT_OK;
out:
	json_decref(fps);
	free(ca_line);
	return rc;
}

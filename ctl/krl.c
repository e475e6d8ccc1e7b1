/*
 * krl.c: provostctl krl export: an OpenSSH key revocation list of the
 * certificates provost minted and the keys it registered, for RevokedKeys.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

static int
krl_serial(void *ctx, uint64_t serial)
{
	return pv_krl_add_serial(ctx, serial);
}

static int
krl_key(void *ctx, const uint8_t *blob, size_t len)
{
	return pv_krl_add_key(ctx, blob, len);
}

int
ctl_krl_export(struct ctl *c, const char *provider, const char *path,
    size_t *serials, size_t *keys)
{
	struct pv_krl *krl = NULL;
	struct pv_buf *ca = NULL, *out = NULL;
	EVP_PKEY *capub = NULL;
	char capath[4096], obj[4200], comment[128];
	uint64_t head = 0;
	int64_t now = pv_wall_ms() / 1000;
	int r, rc;
	json_t *j;

	*serials = *keys = 0;
	if ((r = ctl_state_path(c, "ca.pub", capath, sizeof(capath))) != 0)
		return ctl_fail(r, "state directory path too long");
	if ((r = pv_sshkey_load_public(capath, &capub)) != 0)
		return ctl_fail(PV_ERR_CONFIG, "%s: %s", capath, pv_err_str(r));
	if ((krl = pv_krl_new()) == NULL ||
	    (ca = pv_buf_new(PV_BUF_DEFAULT_MAX)) == NULL ||
	    (out = pv_buf_new(PV_BUF_DEFAULT_MAX)) == NULL) {
		rc = ctl_fail(PV_ERR_ALLOC, "out of memory");
		goto out;
	}
	if ((r = pv_sshkey_public_blob(capub, ca)) != 0) {
		rc = ctl_fail(r, "%s: %s", capath, pv_err_str(r));
		goto out;
	}
	if ((r = store_krl_list(c->st, provider, krl_serial, krl_key, krl)) !=
	    0) {
		rc = r == PV_ERR_NOT_FOUND || r == PV_ERR_STORE
		    ? STORE_FAIL(r)
		    : ctl_fail(r, "key revocation list: %s", pv_err_str(r));
		goto out;
	}
	/* The KRL's version is the audit row it reflects. */
	if ((r = store_audit_head(c->st, &head)) != 0) {
		rc = STORE_FAIL(r);
		goto out;
	}
	(void)snprintf(comment, sizeof(comment), "provost %s%s",
	    provider != NULL ? "provider " : "revoked engineers",
	    provider != NULL ? provider : "");
	if ((r = pv_krl_write(krl, pv_buf_ptr(ca), pv_buf_len(ca), head,
		 (uint64_t)now, comment, out)) != 0 ||
	    (r = pv_file_replace(
		 path, 0644, pv_buf_ptr(out), pv_buf_len(out))) != 0) {
		rc = ctl_fail(r, "%s: %s", path, pv_err_str(r));
		goto out;
	}
	*serials = pv_krl_serials(krl);
	*keys = pv_krl_keys(krl);
	j = json_pack("{s:s?, s:I, s:I, s:I}", "provider", provider, "serials",
	    (json_int_t)*serials, "keys", (json_int_t)*keys, "bytes",
	    (json_int_t)pv_buf_len(out));
	if (snprintf(obj, sizeof(obj), "file:%s", path) < 0 || j == NULL ||
	    store_audit_append(c->st, c->actor, "krl.export", obj, j) != 0) {
		json_decref(j);
		rc = ctl_fail(PV_ERR_STORE, "audit: %s", store_errmsg(c->st));
		goto out;
	}
	json_decref(j);
	rc = 0;
out:
	pv_buf_free(out);
	pv_buf_free(ca);
	pv_krl_free(krl);
	EVP_PKEY_free(capub);
	return rc;
}

int
ctl_cmd_krl_export(struct ctl *c, int argc, char **argv)
{
	const char *provider = NULL;
	const struct ctl_opt opts[] = {
		{ "provider", 1, &provider, NULL },
		{ NULL, 0, NULL, NULL },
	};
	size_t ns, nk;
	PARSE("krl", "export", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one FILE please");
	if (provider != NULL && !store_name_valid(provider))
		return ctl_usage(cmd, "--provider: not a valid name");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((rc = ctl_krl_export(c, provider, argv[first], &ns, &nk)) != 0)
		return rc;
	if (c->json)
		return ctl_print_json(json_pack("{s:s, s:s?, s:I, s:I}", "file",
		    argv[first], "provider", provider, "serials",
		    (json_int_t)ns, "keys", (json_int_t)nk));
	printf("%s: %zu certificate serial%s, %zu key%s\n", argv[first], ns,
	    ns == 1 ? "" : "s", nk, nk == 1 ? "" : "s");
	return 0;
}

/*
 * keys.c: engineers' SSH public keys (OpenSSH lines parsed strictly,
 * SHA256 fingerprints as ssh-keygen -l prints them) and key matching.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "store/store-int.h"

#define PUBKEY_LINE_MAX 16384

static const char *const key_types[] = {
	"ssh-ed25519",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"ssh-rsa",
	"sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
	NULL,
};

int
st_pubkey_fingerprint(const uint8_t *blob, size_t len, char *out, size_t outlen)
{
	uint8_t md[32];
	unsigned int mdlen = 0;
	char *b = NULL;
	size_t n;
	int r, w;

	if (EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return PV_ERR_CRYPTO;
	if ((r = pv_b64_encode(md, sizeof(md), 0, &b)) != 0)
		return r;
	n = strlen(b);
	while (n > 0 && b[n - 1] == '=')
		b[--n] = '\0';
	w = snprintf(out, outlen, "SHA256:%s", b);
	free(b);
	if (w < 0 || (size_t)w >= outlen)
		return PV_ERR_LIMIT;
	return 0;
}

/* Checks that the blob is a well-formed key of the named type. */
static int
pubkey_blob_check(const char *type, const uint8_t *blob, size_t len)
{
	struct pv_buf *b = pv_buf_from(blob, len);
	const uint8_t *p;
	size_t plen;
	int r = PV_ERR_INVALID, i, parts;

	if (b == NULL)
		return PV_ERR_ALLOC;
	if (pv_buf_get_string_direct(b, &p, &plen) != 0 ||
	    plen != strlen(type) || memcmp(p, type, plen) != 0)
		goto out;
	if (strcmp(type, "ssh-ed25519") == 0) {
		if (pv_buf_get_string_direct(b, &p, &plen) != 0 || plen != 32)
			goto out;
	} else {
		/* rsa: e, n; ecdsa: curve, point; sk-*: + application. */
		parts = strncmp(type, "sk-", 3) == 0 ? 3 : 2;
		if (strcmp(type, "sk-ssh-ed25519@openssh.com") == 0)
			parts = 2;
		for (i = 0; i < parts; i++)
			if (pv_buf_get_string_direct(b, &p, &plen) != 0 ||
			    plen == 0)
				goto out;
		if (strcmp(type, "ssh-rsa") == 0 && plen < 256)
			goto out; /* modulus under 2048 bits */
	}
	if (pv_buf_len(b) != 0)
		goto out;
	r = 0;
out:
	pv_buf_free(b);
	return r;
}

int
st_pubkey_parse(const char *line, char **type, uint8_t **blob, size_t *bloblen,
    char **comment)
{
	const char *sp, *b64, *end, *c;
	uint8_t *d = NULL;
	size_t dlen = 0, tlen, i;
	int r = PV_ERR_INVALID;

	*type = NULL;
	*blob = NULL;
	*bloblen = 0;
	*comment = NULL;
	if (line == NULL || strlen(line) > PUBKEY_LINE_MAX)
		return PV_ERR_INVALID;
	while (*line == ' ' || *line == '\t')
		line++;
	if ((sp = strchr(line, ' ')) == NULL)
		return PV_ERR_INVALID;
	tlen = (size_t)(sp - line);
	for (i = 0; key_types[i] != NULL; i++)
		if (strlen(key_types[i]) == tlen &&
		    memcmp(key_types[i], line, tlen) == 0)
			break;
	if (key_types[i] == NULL)
		return PV_ERR_UNSUPPORTED;
	b64 = sp + 1;
	for (end = b64; *end != '\0' && *end != ' ' && *end != '\t' &&
	     *end != '\n' && *end != '\r';
	     end++)
		;
	if ((r = pv_b64_decode(b64, (size_t)(end - b64), 0, &d, &dlen)) != 0)
		goto out;
	if ((r = pubkey_blob_check(key_types[i], d, dlen)) != 0)
		goto out;
	c = end;
	while (*c == ' ' || *c == '\t')
		c++;
	if (*c != '\0' && *c != '\n' && *c != '\r') {
		size_t cl = strcspn(c, "\r\n");

		for (i = 0; i < cl; i++)
			if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f) {
				r = PV_ERR_INVALID;
				goto out;
			}
		if ((*comment = strndup(c, cl)) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
	}
	if (c[strcspn(c, "\r\n")] != '\0' &&
	    c[strcspn(c, "\r\n") + strspn(c + strcspn(c, "\r\n"), "\r\n")] !=
		'\0') {
		r = PV_ERR_INVALID; /* text after the first line */
		goto out;
	}
	if ((*type = strndup(line, tlen)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	*blob = d;
	*bloblen = dlen;
	d = NULL;
	r = 0;
out:
	free(d);
	if (r != 0) {
		free(*comment);
		*comment = NULL;
	}
	return r;
}

/* Engineers: the tables of schema 1 (and 2, the lock). */
const struct st_principal st_engineer_principal = {
	.kind = "engineer",
	.id = st_engineer_id,
	.key_ins = "INSERT INTO engineer_keys(engineer_id, type, blob, "
		   "fingerprint, comment, added_at) VALUES (?,?,?,?,?,?)",
	.key_list = "SELECT id, type, fingerprint, comment, added_at FROM "
		    "engineer_keys WHERE engineer_id = ?1 AND revoked_at IS "
		    "NULL ORDER BY id",
	.key_match = "SELECT k.blob FROM engineer_keys k JOIN engineers e ON "
		     "e.id = k.engineer_id WHERE e.login = ?1 AND "
		     "k.fingerprint = ?2 AND k.revoked_at IS NULL AND "
		     "e.disabled_at IS NULL",
	.key_revoke = "UPDATE engineer_keys SET revoked_at = ?3 WHERE "
		      "engineer_id = ?1 AND fingerprint = ?2 AND revoked_at "
		      "IS NULL",
	.totp_set = "INSERT INTO totp(engineer_id, sealed, enrolled_at) "
		    "VALUES (?1,?2,?3) ON CONFLICT(engineer_id) DO UPDATE SET "
		    "sealed = excluded.sealed, enrolled_at = "
		    "excluded.enrolled_at, last_step = 0, revoked_at = NULL",
	.totp_get = "SELECT t.engineer_id, t.sealed, t.last_step, "
		    "e.auth_failures, e.locked_until FROM totp t JOIN "
		    "engineers e ON e.id = t.engineer_id WHERE e.login = ?1 "
		    "AND t.revoked_at IS NULL AND e.disabled_at IS NULL",
	.totp_step = "UPDATE totp SET last_step = ?1 WHERE engineer_id = ?2 "
		     "AND last_step < ?1",
	.fails_set = "UPDATE engineers SET auth_failures = ?2, locked_until "
		     "= CASE WHEN ?3 < 0 THEN 0 WHEN locked_until > ?3 THEN "
		     "locked_until ELSE ?3 END WHERE id = ?1",
	.seal_aad = "provost-totp-v1",
};

int
store_engineer_key_add(struct store *st, const char *actor, const char *login,
    const char *line, char **fingerprint)
{
	return st_key_add(
	    st, &st_engineer_principal, actor, login, line, fingerprint);
}

int
st_key_add(struct store *st, const struct st_principal *p, const char *actor,
    const char *login, const char *line, char **fingerprint)
{
	char *type = NULL, *comment = NULL, fp[80], obj[128];
	uint8_t *blob = NULL;
	struct st_q *s = NULL;
	size_t blen = 0;
	int64_t eid;
	int r;

	if (fingerprint != NULL)
		*fingerprint = NULL;
	if ((r = st_pubkey_parse(line, &type, &blob, &blen, &comment)) != 0) {
		r = st_fail(st, r,
		    r == PV_ERR_UNSUPPORTED
			? "key: unsupported key type"
			: "key: not an OpenSSH public key line");
		goto out0;
	}
	if ((r = st_pubkey_fingerprint(blob, blen, fp, sizeof(fp))) != 0)
		goto out0;
	if ((r = st_begin(st, 1)) != 0)
		goto out0;
	if ((r = p->id(st, login, &eid)) != 0 ||
	    (r = st_prep(st, p->key_ins, &s)) != 0)
		goto out;
	if ((r = st_bind_i64(st, s, 1, eid)) != 0 ||
	    (r = st_bind_text(st, s, 2, type)) != 0 ||
	    (r = st_bind_blob(st, s, 3, blob, blen)) != 0 ||
	    (r = st_bind_text(st, s, 4, fp)) != 0 ||
	    (r = st_bind_text(st, s, 5, comment)) != 0 ||
	    (r = st_bind_i64(st, s, 6, pv_wall_ms() / 1000)) != 0)
		goto out;
	if ((r = st_step_done(st, s, "key add")) != 0) {
		if (r == PV_ERR_EXISTS)
			r = st_fail(st, r, "%s %s already has key %s", p->kind,
			    login, fp);
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), p->kind, login)) != 0 ||
	    (r = st_audit(st, actor, "key.add", obj,
		 json_pack("{s:s, s:s}", "type", type, "fingerprint", fp))) !=
		0)
		goto out;
	if ((r = st_commit(st)) != 0)
		goto out0;
	if (fingerprint != NULL && (*fingerprint = strdup(fp)) == NULL)
		r = PV_ERR_ALLOC;
	goto out0;
out:
	st_done(s);
	st_rollback(st);
out0:
	free(type);
	free(comment);
	free(blob);
	return r;
}

int
store_engineer_key_list(
    struct store *st, const char *login, store_key_cb cb, void *ctx)
{
	return st_key_list(st, &st_engineer_principal, login, cb, ctx);
}

int
st_key_list(struct store *st, const struct st_principal *p, const char *login,
    store_key_cb cb, void *ctx)
{
	struct store_key k;
	struct st_q *s;
	int64_t eid;
	int r;

	if ((r = p->id(st, login, &eid)) != 0)
		return r;
	if ((r = st_prep_once(st, p->key_list, &s)) != 0)
		return r;
	if ((r = st_bind_i64(st, s, 1, eid)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "key list")) == 1) {
		k = (struct store_key){
			.id = st_col_i64(s, 0),
			.type = st_col_text(s, 1),
			.fingerprint = st_col_text(s, 2),
			.comment = st_col_text(s, 3),
			.added_at = st_col_i64(s, 4),
		};
		if (cb(ctx, &k) != 0) {
			r = 0;
			break;
		}
	}
out:
	st_free(s);
	return r < 0 ? r : 0;
}

int
store_engineer_key_match(
    struct store *st, const char *login, const uint8_t *blob, size_t len)
{
	return st_key_match(st, &st_engineer_principal, login, blob, len);
}

int
st_key_match(struct store *st, const struct st_principal *p, const char *login,
    const uint8_t *blob, size_t len)
{
	struct st_q *s;
	const void *have;
	size_t hlen = 0;
	char fp[80];
	int r;

	if (blob == NULL || len == 0 ||
	    st_pubkey_fingerprint(blob, len, fp, sizeof(fp)) != 0)
		return PV_DENY;
	if ((r = st_prep(st, p->key_match, &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, login)) != 0 ||
	    (r = st_bind_text(st, s, 2, fp)) != 0 ||
	    (r = st_step_row(st, s, "key match")) < 0)
		goto out;
	if (r == 1) {
		have = st_col_blob(s, 0, &hlen);
		r = (have != NULL && hlen == len &&
			CRYPTO_memcmp(have, blob, len) == 0)
		    ? PV_ALLOW
		    : PV_DENY;
	} else
		r = PV_DENY;
out:
	st_done(s);
	return r;
}

int
st_key_revoke(struct store *st, const struct st_principal *p, const char *actor,
    const char *name, const char *fingerprint)
{
	struct st_q *s = NULL;
	char obj[128];
	int64_t id;
	int r;

	if (fingerprint == NULL || strncmp(fingerprint, "SHA256:", 7) != 0 ||
	    strlen(fingerprint) > 80)
		return st_fail(st, PV_ERR_INVALID,
		    "key: give its fingerprint as key list prints it "
		    "(SHA256:...)");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = p->id(st, name, &id)) != 0 ||
	    (r = st_prep(st, p->key_revoke, &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, id)) != 0 ||
	    (r = st_bind_text(st, s, 2, fingerprint)) != 0 ||
	    (r = st_bind_i64(st, s, 3, pv_wall_ms() / 1000)) != 0 ||
	    (r = st_step_done(st, s, "key remove")) != 0)
		goto out;
	if (st_changes(st) != 1) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "%s %s has no key %s",
		    p->kind, name, fingerprint);
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), p->kind, name)) != 0 ||
	    (r = st_audit(st, actor, "key.remove", obj,
		 json_pack("{s:s}", "fingerprint", fingerprint))) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

/*
 * The engineers a KRL covers: the provider's (?1), or with ?1 NULL every
 * engineer disabled or whose provider is revoked or exited.
 */
#define KRL_ENGINEERS                                                         \
	"SELECT e.id FROM engineers e JOIN providers p ON p.id = "            \
	"e.provider_id WHERE (CAST(?1 AS TEXT) IS NOT NULL AND p.name = ?1) " \
	"OR (?1 IS "                                                          \
	"NULL AND (e.disabled_at IS NOT NULL OR p.revoked_at IS NOT NULL "    \
	"OR p.status = 'exited'))"

int
store_krl_list(struct store *st, const char *provider,
    store_krl_serial_cb serial_cb, store_krl_key_cb key_cb, void *ctx)
{
	struct st_q *s = NULL;
	int64_t pid;
	size_t kl = 0;
	int r;

	if ((r = st_begin(st, 0)) != 0)
		return r;
	if (provider != NULL && (r = st_provider_id(st, provider, &pid)) != 0)
		goto out;
	/* Certificates only: tokens go to pam_provost's revocation list. */
	if ((r = st_prep_once(st,
		 "SELECT serial FROM credentials WHERE kind = 'cert' AND "
		 "(engineer_id IN (" KRL_ENGINEERS
		 ") OR (CAST(?1 AS TEXT) IS NULL AND "
		 "revoked_at IS NOT NULL)) ORDER BY serial",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, provider)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "krl serials")) == 1)
		if ((r = serial_cb(ctx, (uint64_t)st_col_i64(s, 0))) != 0)
			goto out;
	if (r < 0)
		goto out;
	st_free(s);
	s = NULL;
	/* Every key ever registered, also those revoked since. */
	if ((r = st_prep_once(st,
		 "SELECT blob FROM engineer_keys WHERE engineer_id IN "
		 "(" KRL_ENGINEERS
		 ") OR (CAST(?1 AS TEXT) IS NULL AND revoked_at IS NOT "
		 "NULL) ORDER BY id",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, provider)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "krl keys")) == 1) {
		const void *kb = st_col_blob(s, 0, &kl);

		if (kb == NULL)
			continue;
		if ((r = key_cb(ctx, kb, kl)) != 0)
			goto out;
	}
out:
	st_free(s);
	st_rollback(st);
	return r < 0 ? r : 0;
}

/*
 * totp.c: TOTP enrolment sealed with AES-256-GCM under totp.key, and
 * verification with liboath that never accepts a time step twice.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "store/store-int.h"

#define SEAL_NONCE 12
#define SEAL_TAG 16
#define SEAL_AAD_MAX 40
#define TOTP_DIGITS 6

/*
 * AAD binds the sealed secret to its row and its kind (the engineers'
 * "provost-totp-v1", NUL included, as schema 1 sealed them): a secret
 * moved to another row or table does not open.  Its length, or < 0.
 */
static int
seal_aad(const struct st_principal *p, int64_t eid, uint8_t *aad, size_t len)
{
	size_t o = strlen(p->seal_aad) + 1;
	int i;

	if (len < o + 8)
		return PV_ERR_INTERNAL;
	memcpy(aad, p->seal_aad, o);
	for (i = 7; i >= 0; i--)
		aad[o++] = (uint8_t)((uint64_t)eid >> (8 * i));
	return (int)o;
}

static int
totp_seal(struct store *st, const struct st_principal *p, int64_t eid,
    const uint8_t *pt, size_t len, uint8_t *out, size_t outlen)
{
	uint8_t aad[SEAL_AAD_MAX + 8];
	EVP_CIPHER_CTX *c = NULL;
	int r = PV_ERR_CRYPTO, n = 0, alen;

	if (outlen != SEAL_NONCE + len + SEAL_TAG || len > 64)
		return PV_ERR_INTERNAL;
	if ((alen = seal_aad(p, eid, aad, sizeof(aad))) < 0)
		return alen;
	if ((r = pv_random_bytes(out, SEAL_NONCE)) != 0)
		return r;
	r = PV_ERR_CRYPTO;
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, st->totp_key, out) !=
		1 ||
	    EVP_EncryptUpdate(c, NULL, &n, aad, alen) != 1 ||
	    EVP_EncryptUpdate(c, out + SEAL_NONCE, &n, pt, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, out + SEAL_NONCE + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(
		c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, out + SEAL_NONCE + len) != 1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return r;
}

static int
totp_open(struct store *st, const struct st_principal *p, int64_t eid,
    const uint8_t *in, size_t inlen, uint8_t *pt, size_t *ptlen)
{
	uint8_t aad[SEAL_AAD_MAX + 8], tag[SEAL_TAG];
	EVP_CIPHER_CTX *c = NULL;
	size_t len;
	int r, n = 0, alen;

	*ptlen = 0;
	if (inlen < SEAL_NONCE + SEAL_TAG + 1 ||
	    inlen > SEAL_NONCE + SEAL_TAG + 64)
		return PV_ERR_AUTH;
	len = inlen - SEAL_NONCE - SEAL_TAG;
	memcpy(tag, in + inlen - SEAL_TAG, SEAL_TAG);
	if ((alen = seal_aad(p, eid, aad, sizeof(aad))) < 0)
		return alen;
	r = PV_ERR_AUTH;
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, st->totp_key, in) !=
		1 ||
	    EVP_DecryptUpdate(c, NULL, &n, aad, alen) != 1 ||
	    EVP_DecryptUpdate(c, pt, &n, in + SEAL_NONCE, (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) != 1 ||
	    EVP_DecryptFinal_ex(c, pt + n, &n) != 1) {
		pv_secret_wipe(pt, len);
		goto out;
	}
	*ptlen = len;
	r = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return r;
}

int
store_totp_set(struct store *st, const char *actor, const char *login,
    const uint8_t *secret, size_t len)
{
	return st_totp_set(
	    st, &st_engineer_principal, actor, login, secret, len);
}

int
st_totp_set(struct store *st, const struct st_principal *p, const char *actor,
    const char *login, const uint8_t *secret, size_t len)
{
	uint8_t sealed[SEAL_NONCE + 64 + SEAL_TAG];
	struct st_q *s = NULL;
	char obj[128];
	int64_t eid;
	int r;

	if (!st->have_totp_key)
		return st_fail(st, PV_ERR_CONFIG, "no TOTP sealing key loaded");
	if (secret == NULL || len < 16 || len > 64)
		return st_fail(
		    st, PV_ERR_INVALID, "TOTP secret must be 16-64 bytes");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = p->id(st, login, &eid)) != 0)
		goto out;
	if ((r = totp_seal(st, p, eid, secret, len, sealed,
		 SEAL_NONCE + len + SEAL_TAG)) != 0)
		goto out;
	if ((r = st_prep(st, p->totp_set, &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, eid)) != 0 ||
	    (r = st_bind_blob(st, s, 2, sealed, SEAL_NONCE + len + SEAL_TAG)) !=
		0 ||
	    (r = st_bind_i64(st, s, 3, pv_wall_ms() / 1000)) != 0 ||
	    (r = st_step_done(st, s, "totp set")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), p->kind, login)) != 0 ||
	    (r = st_audit(st, actor, "totp.enrol", obj, NULL)) != 0)
		goto out;
	PV_WIPE(sealed);
	return st_commit(st);
out:
	PV_WIPE(sealed);
	st_done(s);
	st_rollback(st);
	return r;
}

static int
code_valid(const char *code)
{
	size_t i;

	if (code == NULL || strlen(code) != TOTP_DIGITS)
		return 0;
	for (i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return 1;
}

/*
 * The engineer's count of wrong codes, and the lock: until -1 clears it,
 * else it only ever lengthens.
 */
static int
totp_set_fails(struct store *st, const struct st_principal *p, int64_t eid,
    uint32_t fails, int64_t until)
{
	struct st_q *s = NULL;
	int r;

	if ((r = st_prep(st, p->fails_set, &s)) != 0)
		return r;
	if ((r = st_bind_i64(st, s, 1, eid)) == 0 &&
	    (r = st_bind_i64(st, s, 2, (int64_t)fails)) == 0 &&
	    (r = st_bind_i64(st, s, 3, until)) == 0)
		r = st_step_done(st, s, "wrong codes");
	st_done(s);
	return r;
}

/*
 * A wrong code (or any code while locked) inside the open write
 * transaction: counted, a lock set or lengthened (audited), committed.
 * PV_DENY, or a store error.
 */
static int
totp_wrong(struct store *st, const struct st_principal *p, int64_t eid,
    const char *login, uint32_t fails, int64_t now, int while_locked)
{
	int64_t until = 0, secs;
	char obj[128], what[32];
	int r;

	fails++;
	if (fails >= STORE_LOCK_HARD)
		until = STORE_LOCK_FOREVER;
	else if (fails >= STORE_LOCK_AFTER) {
		secs = (int64_t)60 << (fails - STORE_LOCK_AFTER);
		until = now + (secs > 3600 ? 3600 : secs);
	}
	if ((r = totp_set_fails(st, p, eid, fails, until)) != 0)
		goto out;
	(void)snprintf(what, sizeof(what), "%s.locked", p->kind);
	if (until != 0 &&
	    ((r = st_object(obj, sizeof(obj), p->kind, login)) != 0 ||
		(r = st_audit(st, "broker", what, obj,
		     json_pack("{s:I, s:I, s:b}", "failures", (json_int_t)fails,
			 "until",
			 (json_int_t)(until == STORE_LOCK_FOREVER ? -1 : until),
			 "while_locked", while_locked))) != 0))
		goto out;
	if ((r = st_commit(st)) != 0)
		return r;
	return PV_DENY;
out:
	st_rollback(st);
	return r;
}

int
store_totp_check(
    struct store *st, const char *login, const char *code, int64_t now)
{
	return st_totp_check(st, &st_engineer_principal, login, code, now);
}

int
st_totp_check(struct store *st, const struct st_principal *p, const char *login,
    const char *code, int64_t now)
{
	uint8_t secret[64], sealed[SEAL_NONCE + 64 + SEAL_TAG];
	struct st_q *s = NULL;
	size_t slen = 0, sealed_len = 0;
	const void *blob;
	int64_t eid, last, step, locked;
	uint32_t fails;
	int r, pos = 0, rc;
	char obj[128];

	if (!code_valid(code) || now < 0)
		return PV_DENY;
	if (!st->have_totp_key)
		return st_fail(st, PV_ERR_CONFIG, "no TOTP sealing key loaded");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep(st, p->totp_get, &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, login)) != 0 ||
	    (r = st_step_row(st, s, "totp check")) < 0)
		goto out;
	if (r == 0) {
		r = PV_DENY;
		goto out;
	}
	eid = st_col_i64(s, 0);
	last = st_col_i64(s, 2);
	fails = (uint32_t)st_col_i64(s, 3);
	locked = st_col_i64(s, 4);
	if (locked > now) {
		st_done(s);
		return totp_wrong(st, p, eid, login, fails, now, 1);
	}
	blob = st_col_blob(s, 1, &sealed_len);
	if (sealed_len > sizeof(sealed) || blob == NULL) {
		r = st_fail(st, PV_ERR_AUTH, "sealed TOTP secret is damaged");
		goto out;
	}
	memcpy(sealed, blob, sealed_len);
	st_done(s);
	s = NULL;
	if ((r = totp_open(st, p, eid, sealed, sealed_len, secret, &slen)) !=
	    0) {
		pv_error("store: TOTP secret of %s %s does not open (wrong "
			 "totp.key?)",
		    p->kind, login);
		r = st_fail(st, r, "sealed TOTP secret does not open");
		goto out;
	}
	rc = oath_totp_validate2((const char *)secret, slen, (time_t)now,
	    STORE_TOTP_STEP, 0, 1, &pos, code);
	PV_WIPE(secret);
	if (rc < 0) {
		PV_WIPE(sealed);
		return totp_wrong(st, p, eid, login, fails, now, 0);
	}
	step = now / STORE_TOTP_STEP + pos;
	if (step <= last) {
		/* this code, or a later one, was used already */
		PV_WIPE(sealed);
		return totp_wrong(st, p, eid, login, fails, now, 0);
	}
	if ((r = st_prep(st, p->totp_step, &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, step)) != 0 ||
	    (r = st_bind_i64(st, s, 2, eid)) != 0 ||
	    (r = st_step_done(st, s, "totp check")) != 0)
		goto out;
	if (st_changes(st) != 1) {
		r = PV_DENY;
		goto out;
	}
	st_done(s);
	s = NULL;
	if (fails > 0 && (r = totp_set_fails(st, p, eid, 0, -1)) != 0)
		goto out;
	if ((r = st_object(obj, sizeof(obj), p->kind, login)) != 0 ||
	    (r = st_audit(st, obj, "totp.accept", obj,
		 json_pack("{s:I}", "step", (json_int_t)step))) != 0)
		goto out;
	PV_WIPE(sealed);
	if ((r = st_commit(st)) != 0)
		return r;
	return PV_ALLOW;
out:
	PV_WIPE(sealed);
	PV_WIPE(secret);
	st_done(s);
	st_rollback(st);
	return r;
}

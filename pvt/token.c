/*
 * token.c: the pvt1 token: payload codec, issuing (sign) and
 * verifying (signature first, then payload, target, account and time).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pvt/pvt-int.h"
#include "pvt/pvt.h"

#define PVT_PREFIX_LEN (sizeof(PVT_PREFIX) - 1)
#define PVT_TIME_MAX ((int64_t)1 << 40) /* year 36812: rejects nonsense */

static const char *const pvt_reasons[] = {
	[PVT_OK] = "valid",
	[PVT_E_INTERNAL] = "internal error",
	[PVT_E_TOO_LONG] = "token too long",
	[PVT_E_FORMAT] = "malformed token",
	[PVT_E_VERSION] = "unsupported token version",
	[PVT_E_BASE64] = "bad base64url in token",
	[PVT_E_SIGNATURE] = "bad token signature",
	[PVT_E_PAYLOAD] = "malformed token payload",
	[PVT_E_NOT_YET] = "token not yet valid",
	[PVT_E_EXPIRED] = "token expired",
	[PVT_E_ACCOUNT] = "token issued for another account",
	[PVT_E_TARGET] = "token issued for another target",
	[PVT_E_REPLAY] = "token already used (replay)",
	[PVT_E_CACHE] = "replay cache unusable or full",
	[PVT_E_REVOKED_ENGINEER] = "engineer revoked",
	[PVT_E_REVOKED_ACCOUNT] = "account revoked",
	[PVT_E_REVOKED_SESSION] = "session revoked",
	[PVT_E_REVOKED_GRANT] = "grant revoked",
	[PVT_E_REVOKED_SERIAL] = "credential serial revoked",
	[PVT_E_REVLIST] = "revocation list missing or invalid",
	[PVT_E_KEY] = "token key missing or invalid",
};

const char *
pvt_reason_str(enum pvt_reason why)
{
	if ((size_t)why >= sizeof(pvt_reasons) / sizeof(pvt_reasons[0]) ||
	    pvt_reasons[why] == NULL)
		return "unknown reason";
	return pvt_reasons[why];
}

int
pvt_name_valid(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL || (n = strnlen(s, max + 1)) == 0 || n > max)
		return 0;
	if (s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == '-'))
			return 0;
	}
	return 1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
pvt_uuid_to_bytes(const char *s, uint8_t out[PVT_UUID_BYTES])
{
	size_t i, o = 0;
	int hi, lo;

	memset(out, 0, PVT_UUID_BYTES);
	if (!pv_uuid_valid(s))
		return PV_ERR_INVALID;
	for (i = 0; i < PV_UUID_LEN && o < PVT_UUID_BYTES;) {
		if (s[i] == '-') {
			i++;
			continue;
		}
		if ((hi = hexval(s[i])) < 0 || (lo = hexval(s[i + 1])) < 0)
			return PV_ERR_INVALID;
		out[o++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return o == PVT_UUID_BYTES ? 0 : PV_ERR_INVALID;
}

int
pvt_uuid_from_bytes(const uint8_t u[PVT_UUID_BYTES], char out[PV_UUID_LEN + 1])
{
	int n;

	out[0] = '\0';
	n = snprintf(out, PV_UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
	    u[11], u[12], u[13], u[14], u[15]);
	if (n != PV_UUID_LEN || !pv_uuid_valid(out)) {
		out[0] = '\0';
		return PV_ERR_INVALID;
	}
	return 0;
}

int
pvt_claims_init(struct pvt_claims *c, const char *engineer, const char *account,
    const char *target, const char *session_id, const char *grant_id,
    uint64_t serial, int64_t now, uint32_t lifetime)
{
	int r;

	memset(c, 0, sizeof(*c));
	if (!pvt_name_valid(engineer, PVT_NAME_MAX) ||
	    !pvt_name_valid(account, PVT_ACCOUNT_MAX) ||
	    !pvt_name_valid(target, PVT_NAME_MAX) ||
	    !pv_uuid_valid(session_id) ||
	    (grant_id != NULL && *grant_id != '\0' && !pv_uuid_valid(grant_id)))
		return PV_ERR_INVALID;
	if (lifetime == 0 || lifetime > PVT_LIFETIME_MAX || now <= 0 ||
	    now >= PVT_TIME_MAX)
		return PV_ERR_RANGE;
	/* Lengths were checked above, so these cannot be cut. */
	memcpy(c->engineer, engineer, strlen(engineer) + 1);
	memcpy(c->account, account, strlen(account) + 1);
	memcpy(c->target, target, strlen(target) + 1);
	memcpy(c->session_id, session_id, PV_UUID_LEN + 1);
	if (grant_id != NULL && *grant_id != '\0')
		memcpy(c->grant_id, grant_id, PV_UUID_LEN + 1);
	c->serial = serial;
	c->not_before = now;
	c->not_after = now + (int64_t)lifetime;
	if ((r = pv_random_bytes(c->nonce, sizeof(c->nonce))) != 0) {
		memset(c, 0, sizeof(*c));
		return r;
	}
	return 0;
}

static int
put_name(struct pv_buf *b, const char *s, size_t max)
{
	size_t n = strlen(s);
	int r;

	if (!pvt_name_valid(s, max))
		return PV_ERR_INVALID;
	if ((r = pv_buf_put_u8(b, (uint8_t)n)) != 0)
		return r;
	return pv_buf_put(b, s, n);
}

int
pvt_payload_encode(const struct pvt_claims *c, struct pv_buf *out)
{
	uint8_t sid[PVT_UUID_BYTES], gid[PVT_UUID_BYTES] = { 0 };
	int64_t life = c->not_after - c->not_before;
	int r;

	if (c->not_before <= 0 || c->not_before >= PVT_TIME_MAX || life <= 0 ||
	    life > PVT_LIFETIME_MAX)
		return PV_ERR_RANGE;
	if ((r = pvt_uuid_to_bytes(c->session_id, sid)) != 0)
		return r;
	if (c->grant_id[0] != '\0' &&
	    (r = pvt_uuid_to_bytes(c->grant_id, gid)) != 0)
		return r;
	if ((r = put_name(out, c->account, PVT_ACCOUNT_MAX)) != 0 ||
	    (r = put_name(out, c->target, PVT_NAME_MAX)) != 0 ||
	    (r = put_name(out, c->engineer, PVT_NAME_MAX)) != 0 ||
	    (r = pv_buf_put_u64(out, (uint64_t)c->not_before)) != 0 ||
	    (r = pv_buf_put_u32(out, (uint32_t)life)) != 0 ||
	    (r = pv_buf_put_u64(out, c->serial)) != 0 ||
	    (r = pv_buf_put(out, c->nonce, PVT_NONCE_LEN)) != 0 ||
	    (r = pv_buf_put(out, sid, sizeof(sid))) != 0 ||
	    (r = pv_buf_put(out, gid, sizeof(gid))) != 0)
		return r;
	return 0;
}

static int
get_name(struct pv_buf *b, char *out, size_t max)
{
	uint8_t n;
	int r;

	out[0] = '\0';
	if ((r = pv_buf_get_u8(b, &n)) != 0)
		return r;
	if (n == 0 || n > max)
		return PV_ERR_INVALID;
	if ((r = pv_buf_get(b, out, n)) != 0)
		return r;
	out[n] = '\0';
	/* A NUL or any byte outside the name alphabet fails here. */
	return pvt_name_valid(out, max) && strlen(out) == n ? 0
							    : PV_ERR_INVALID;
}

int
pvt_payload_decode(const uint8_t *p, size_t len, struct pvt_claims *c)
{
	static const uint8_t zero[PVT_UUID_BYTES];
	uint8_t sid[PVT_UUID_BYTES], gid[PVT_UUID_BYTES];
	struct pv_buf *b = NULL;
	uint64_t nb;
	uint32_t life;
	int r = PV_ERR_INVALID;

	memset(c, 0, sizeof(*c));
	if (len > PVT_PAYLOAD_MAX)
		return PV_ERR_LIMIT;
	if ((b = pv_buf_from(p, len)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = get_name(b, c->account, PVT_ACCOUNT_MAX)) != 0 ||
	    (r = get_name(b, c->target, PVT_NAME_MAX)) != 0 ||
	    (r = get_name(b, c->engineer, PVT_NAME_MAX)) != 0 ||
	    (r = pv_buf_get_u64(b, &nb)) != 0 ||
	    (r = pv_buf_get_u32(b, &life)) != 0 ||
	    (r = pv_buf_get_u64(b, &c->serial)) != 0 ||
	    (r = pv_buf_get(b, c->nonce, PVT_NONCE_LEN)) != 0 ||
	    (r = pv_buf_get(b, sid, sizeof(sid))) != 0 ||
	    (r = pv_buf_get(b, gid, sizeof(gid))) != 0)
		goto out;
	r = PV_ERR_INVALID;
	if (pv_buf_len(b) != 0)
		goto out; /* trailing bytes */
	if (nb == 0 || nb >= (uint64_t)PVT_TIME_MAX || life == 0 ||
	    life > PVT_LIFETIME_MAX)
		goto out;
	c->not_before = (int64_t)nb;
	c->not_after = (int64_t)nb + (int64_t)life;
	if (pvt_uuid_from_bytes(sid, c->session_id) != 0)
		goto out;
	if (memcmp(gid, zero, sizeof(zero)) != 0 &&
	    pvt_uuid_from_bytes(gid, c->grant_id) != 0)
		goto out;
	r = 0;
out:
	pv_buf_free(b);
	if (r != 0)
		memset(c, 0, sizeof(*c));
	return r;
}

int
pvt_issue(EVP_PKEY *key, const struct pvt_claims *c, char **token)
{
	struct pv_buf *payload = NULL, *msg = NULL;
	uint8_t sig[PVT_SIG_LEN];
	char *p64 = NULL, *s64 = NULL;
	int r = PV_ERR_INTERNAL;

	*token = NULL;
	if ((payload = pv_buf_new(PVT_PAYLOAD_MAX)) == NULL ||
	    (msg = pv_buf_new(PVT_TOKEN_MAX + 1)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pvt_payload_encode(c, payload)) != 0 ||
	    (r = pv_b64_encode(
		 pv_buf_ptr(payload), pv_buf_len(payload), 1, &p64)) != 0)
		goto out;
	if ((r = pv_buf_putf(msg, "%s%s", PVT_PREFIX, p64)) != 0 ||
	    (r = pv_ed25519_sign(key, pv_buf_ptr(msg), pv_buf_len(msg), sig)) !=
		0 ||
	    (r = pv_b64_encode(sig, sizeof(sig), 1, &s64)) != 0 ||
	    (r = pv_buf_putf(msg, ".%s", s64)) != 0 ||
	    (r = pv_buf_dup_cstring(msg, token)) != 0)
		goto out;
	if (strlen(*token) > PVT_TOKEN_MAX) {
		pv_secret_freestr(*token);
		*token = NULL;
		r = PV_ERR_LIMIT;
		goto out;
	}
	r = 0;
out:
	pv_buf_free(payload);
	pv_buf_free(msg);
	/* Together they are the bearer token. */
	if (p64 != NULL)
		pv_secret_freestr(p64);
	if (s64 != NULL)
		pv_secret_freestr(s64);
	return r;
}

/* "pvt" DIGITS "." with another number than 1 */
static int
other_version(const char *t, size_t len)
{
	size_t i = 3;

	if (len < 5 || memcmp(t, "pvt", 3) != 0)
		return 0;
	while (i < len && t[i] >= '0' && t[i] <= '9')
		i++;
	return i > 3 && i < len && t[i] == '.';
}

int
pvt_verify(const char *token, size_t len, EVP_PKEY *pub,
    const struct pvt_expect *want, struct pvt_claims *out, enum pvt_reason *why)
{
	const char *dot, *p64, *s64;
	size_t p64len, s64len, plen = 0, slen = 0;
	uint8_t *payload = NULL, *sig = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	*why = PVT_E_INTERNAL;
	if (token == NULL || pub == NULL || want == NULL ||
	    want->skew > PVT_SKEW_MAX)
		return PV_ERR_INVALID;
	r = PV_DENY;
	if (len > PVT_TOKEN_MAX) {
		*why = PVT_E_TOO_LONG;
		goto out;
	}
	if (len < PVT_PREFIX_LEN ||
	    memcmp(token, PVT_PREFIX, PVT_PREFIX_LEN) != 0) {
		*why = other_version(token, len) ? PVT_E_VERSION : PVT_E_FORMAT;
		goto out;
	}
	p64 = token + PVT_PREFIX_LEN;
	if ((dot = memchr(p64, '.', len - PVT_PREFIX_LEN)) == NULL) {
		*why = PVT_E_FORMAT;
		goto out;
	}
	p64len = (size_t)(dot - p64);
	s64 = dot + 1;
	s64len = len - PVT_PREFIX_LEN - p64len - 1;
	if (p64len == 0 || s64len == 0 || memchr(s64, '.', s64len) != NULL) {
		*why = PVT_E_FORMAT;
		goto out;
	}
	if (pv_b64_decode(s64, s64len, 1, &sig, &slen) != 0 ||
	    pv_b64_decode(p64, p64len, 1, &payload, &plen) != 0) {
		*why = PVT_E_BASE64;
		goto out;
	}
	if (slen != PVT_SIG_LEN) {
		*why = PVT_E_FORMAT;
		goto out;
	}
	/* Nothing in the payload is looked at before the signature holds. */
	if ((r = pv_ed25519_verify(pub, token, PVT_PREFIX_LEN + p64len, sig)) !=
	    0) {
		if (r == PV_ERR_AUTH) {
			r = PV_DENY;
			*why = PVT_E_SIGNATURE;
		}
		goto out;
	}
	r = PV_DENY;
	if (pvt_payload_decode(payload, plen, out) != 0) {
		*why = PVT_E_PAYLOAD;
		goto out;
	}
	if (want->target == NULL || strcmp(out->target, want->target) != 0) {
		*why = PVT_E_TARGET;
		goto out;
	}
	if (want->account == NULL || strcmp(out->account, want->account) != 0) {
		*why = PVT_E_ACCOUNT;
		goto out;
	}
	if (want->now + (int64_t)want->skew < out->not_before) {
		*why = PVT_E_NOT_YET;
		goto out;
	}
	if (want->now - (int64_t)want->skew >= out->not_after) {
		*why = PVT_E_EXPIRED;
		goto out;
	}
	*why = PVT_OK;
	r = PV_ALLOW;
out:
	if (r != PV_ALLOW)
		OPENSSL_cleanse(out, sizeof(*out));
	if (sig != NULL)
		pv_secret_free(sig, slen);
	if (payload != NULL)
		pv_secret_free(payload, plen);
	return r;
}

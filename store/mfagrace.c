/*
 * mfagrace.c: MFAGrace kept in the store (schema 8), so that every broker
 * sharing it knows that a code was accepted for this key from this address.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "store/store-int.h"

/* tag = hex SHA-256(key blob || "|" || address): the grace's binding */
static int
st_grace_tag(
    const uint8_t *blob, size_t len, const char *addr, char tag[STORE_HASH_HEX])
{
	EVP_MD_CTX *md;
	uint8_t d[32];
	unsigned int dl = 0;
	int ok;

	if (blob == NULL || len == 0 || addr == NULL || addr[0] == '\0')
		return PV_ERR_INVALID;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return PV_ERR_ALLOC;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, blob, len) == 1 &&
	    EVP_DigestUpdate(md, "|", 1) == 1 &&
	    EVP_DigestUpdate(md, addr, strlen(addr)) == 1 &&
	    EVP_DigestFinal_ex(md, d, &dl) == 1;
	EVP_MD_CTX_free(md);
	if (!ok || pv_hex_encode(d, dl, tag, STORE_HASH_HEX) != 0)
		return PV_ERR_CRYPTO;
	return 0;
}

int
store_mfa_grace_note(struct store *st, const char *engineer,
    const uint8_t *blob, size_t len, const char *addr, int64_t now)
{
	char tag[STORE_HASH_HEX];
	struct st_q *s = NULL;
	int64_t eid;
	int r;

	if ((r = st_grace_tag(blob, len, addr, tag)) != 0)
		return st_fail(st, r, "mfa grace: no key or address");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_engineer_id(st, engineer, &eid)) != 0)
		goto out;
	/* what no MFAGrace can reach any more goes */
	if ((r = st_prep(st,
		 "DELETE FROM mfa_grace WHERE engineer_id = ?1 AND "
		 "accepted_at < ?2",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, eid)) != 0 ||
	    (r = st_bind_i64(st, s, 2, now - STORE_MFA_GRACE_MAX)) != 0 ||
	    (r = st_step_done(st, s, "mfa grace")) != 0)
		goto out;
	st_done(s);
	if ((r = st_prep(st,
		 "INSERT INTO mfa_grace(engineer_id, tag, accepted_at) "
		 "VALUES (?1, ?2, ?3) ON CONFLICT(engineer_id, tag) DO "
		 "UPDATE SET accepted_at = excluded.accepted_at",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, eid)) != 0 ||
	    (r = st_bind_text(st, s, 2, tag)) != 0 ||
	    (r = st_bind_i64(st, s, 3, now)) != 0 ||
	    (r = st_step_done(st, s, "mfa grace")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_mfa_grace_recent(struct store *st, const char *engineer,
    const uint8_t *blob, size_t len, const char *addr, int64_t now,
    uint64_t grace)
{
	char tag[STORE_HASH_HEX];
	struct st_q *s;
	int64_t when;
	int r;

	if (grace == 0 || grace > STORE_MFA_GRACE_MAX ||
	    st_grace_tag(blob, len, addr, tag) != 0)
		return PV_DENY;
	if ((r = st_prep(st,
		 "SELECT g.accepted_at FROM mfa_grace g JOIN engineers e "
		 "ON e.id = g.engineer_id WHERE e.login = ?1 AND g.tag = ?2",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, engineer)) != 0 ||
	    (r = st_bind_text(st, s, 2, tag)) != 0 ||
	    (r = st_step_row(st, s, "mfa grace")) < 0)
		goto out;
	if (r == 0) {
		r = PV_DENY;
		goto out;
	}
	when = st_col_i64(s, 0);
	/* a time from the future (a clock set back) is no grace */
	r = when <= now && (uint64_t)(now - when) < grace ? PV_ALLOW : PV_DENY;
out:
	st_done(s);
	return r;
}

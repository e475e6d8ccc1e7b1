/*
 * pvt.h: provost's one-time target tokens (pvt1), the signed revocation
 * list and the nonce replay cache (spec: docs/pam-token.md): the small
 * library that provostd, provostctl and pam_provost.so share.
 */
#ifndef PROVOST_PVT_H
#define PROVOST_PVT_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* Limits (docs/pam-token.md, "Limits"). */
#define PVT_PREFIX "pvt1."
#define PVT_TOKEN_MAX 512   /* characters of a whole token */
#define PVT_PAYLOAD_MAX 320 /* decoded payload bytes */
#define PVT_ACCOUNT_MAX 32  /* account (target-side user) name */
#define PVT_NAME_MAX 64     /* target name, engineer login */
#define PVT_NONCE_LEN 16    /* random bytes */
#define PVT_SIG_LEN PV_ED25519_SIG_LEN
#define PVT_LIFETIME_MAX 3600     /* not_after - not_before, seconds */
#define PVT_SKEW_MAX 600          /* largest clock skew a verifier may allow */
#define PVT_NONCE_CACHE_MAX 65536 /* unexpired entries in a replay cache */
#define PVT_REVLIST_FILE_MAX (4UL * 1024 * 1024)
#define PVT_REVLIST_ENTRIES_MAX 100000

/* What a token says.  grant_id is "" when the access had no grant. */
struct pvt_claims {
	char account[PVT_ACCOUNT_MAX + 1];
	char target[PVT_NAME_MAX + 1];
	char engineer[PVT_NAME_MAX + 1];
	int64_t not_before; /* unix seconds, inclusive */
	int64_t not_after;  /* unix seconds, exclusive */
	uint64_t serial;    /* the store's credential serial */
	uint8_t nonce[PVT_NONCE_LEN];
	char session_id[PV_UUID_LEN + 1];
	char grant_id[PV_UUID_LEN + 1];
};

/* Why a token or list was refused; pvt_reason_str() names each. */
enum pvt_reason {
	PVT_OK = 0,
	PVT_E_INTERNAL,  /* out of memory, crypto or I/O failure */
	PVT_E_TOO_LONG,  /* longer than PVT_TOKEN_MAX */
	PVT_E_FORMAT,    /* not pvt1.<b64url>.<b64url> */
	PVT_E_VERSION,   /* another version prefix */
	PVT_E_BASE64,    /* a part is not canonical unpadded base64url */
	PVT_E_SIGNATURE, /* the signature does not verify */
	PVT_E_PAYLOAD,   /* the signed payload is malformed */
	PVT_E_NOT_YET,   /* now + skew < not_before */
	PVT_E_EXPIRED,   /* now - skew >= not_after */
	PVT_E_ACCOUNT,   /* issued for another account */
	PVT_E_TARGET,    /* issued for another target */
	PVT_E_REPLAY,    /* the nonce was used before */
	PVT_E_CACHE,     /* the replay cache is unusable or full */
	PVT_E_REVOKED_ENGINEER,
	PVT_E_REVOKED_ACCOUNT,
	PVT_E_REVOKED_SESSION,
	PVT_E_REVOKED_GRANT,
	PVT_E_REVOKED_SERIAL,
	PVT_E_REVLIST, /* the revocation list is missing or invalid */
	PVT_E_KEY,     /* the key file is missing or invalid */
};
const char *pvt_reason_str(enum pvt_reason why);

/* 1 if s is a valid account (max PVT_ACCOUNT_MAX) or name (PVT_NAME_MAX). */
int pvt_name_valid(const char *s, size_t max);

/*
 * Issuing (broker, provostctl): fills c for a token valid from now for
 * lifetime seconds (1..PVT_LIFETIME_MAX) with a fresh random nonce;
 * grant_id may be NULL or "".  Then pvt_issue signs it with the token key
 * (Ed25519) and returns the token string (free with pv_secret_freestr).
 */
int pvt_claims_init(struct pvt_claims *c, const char *engineer,
    const char *account, const char *target, const char *session_id,
    const char *grant_id, uint64_t serial, int64_t now, uint32_t lifetime);
int pvt_issue(EVP_PKEY *key, const struct pvt_claims *c, char **token);

/* The payload codec alone (docs/pam-token.md, "Payload"). */
int pvt_payload_encode(const struct pvt_claims *c, struct pv_buf *out);
int pvt_payload_decode(const uint8_t *p, size_t len, struct pvt_claims *c);

/*
 * Verifying (pam_provost): token is len bytes, not necessarily
 * NUL-terminated.  Checks, in this order: length, prefix, shape, base64,
 * signature, payload, target, account, time window.  Returns PV_ALLOW
 * with *out filled, PV_DENY with *why set, or < 0 on an internal error
 * (*why = PVT_E_INTERNAL).  out and why may not be NULL.
 */
struct pvt_expect {
	const char *account; /* PAM_USER */
	const char *target;  /* the module's target= */
	int64_t now;         /* unix seconds */
	uint32_t skew;       /* seconds, at most PVT_SKEW_MAX */
};
int pvt_verify(const char *token, size_t len, EVP_PKEY *pub,
    const struct pvt_expect *want, struct pvt_claims *out,
    enum pvt_reason *why);

/*
 * Replay cache: a directory (created 0700 if missing; must be a real
 * directory owned by root or the caller, not writable by group or others)
 * holding one file per claimed nonce, created O_EXCL, whose mtime is the
 * token's not_after.  Entries older than not_after + PVT_SKEW_MAX are
 * pruned first.  PV_ALLOW: claimed now; PV_DENY: *why = PVT_E_REPLAY, or
 * PVT_E_CACHE when PVT_NONCE_CACHE_MAX live entries exist; < 0: error.
 */
int pvt_nonce_claim(const char *dir, const uint8_t nonce[PVT_NONCE_LEN],
    int64_t not_after, int64_t now, enum pvt_reason *why);
/* PV_ALLOW if the nonce has been claimed (and not yet pruned). */
int pvt_nonce_seen(const char *dir, const uint8_t nonce[PVT_NONCE_LEN]);
/*
 * Rollback guard, in the same directory: the highest revocation list
 * sequence this host accepted is kept in dir/revlist.seq.  PV_ALLOW if
 * seq is not lower (a higher one is recorded), PV_DENY if it is (an older
 * list was put back; *seen says what was seen); < 0 on error, including
 * an unreadable record (fail closed; delete the file to reset).
 */
int pvt_revlist_seq_check(const char *dir, uint64_t seq, uint64_t *seen);

/*
 * Revocation list (text, signed by the token key; docs/pam-token.md).
 * Build: new, add entries in any order (duplicates are merged), sign.
 * Read: parse verifies the signature before anything else.
 */
enum pvt_rev_kind {
	PVT_REV_ENGINEER = 0,
	PVT_REV_ACCOUNT,
	PVT_REV_SESSION,
	PVT_REV_GRANT,
	PVT_REV_SERIAL,
};
#define PVT_REV_KINDS 5
struct pvt_revlist;

struct pvt_revlist *pvt_revlist_new(void);
void pvt_revlist_free(struct pvt_revlist *rl);
/* value: a login, account, UUID, or a decimal serial per kind. */
int pvt_revlist_add(
    struct pvt_revlist *rl, enum pvt_rev_kind kind, const char *value);
int pvt_revlist_add_serial(struct pvt_revlist *rl, uint64_t serial);
/* The signed file contents (NUL-terminated too); free with free(). */
int pvt_revlist_sign(struct pvt_revlist *rl, EVP_PKEY *key, int64_t issued_at,
    uint64_t sequence, char **out, size_t *outlen);
/* err gets one line "LINE: what" on failure (errlen may be 0). */
int pvt_revlist_parse(const uint8_t *data, size_t len, EVP_PKEY *pub,
    struct pvt_revlist **out, char *err, size_t errlen);
/*
 * Replaces path atomically with a signed list (temporary file in the same
 * directory, mode 0644, fsync, rename, fsync of the directory), so that a
 * target reading it sees the old list or the new one, never a mix.
 */
int pvt_revlist_write_file(const char *path, const char *data, size_t len);
int pvt_revlist_load(const char *path, EVP_PKEY *pub, struct pvt_revlist **out,
    char *err, size_t errlen);
int64_t pvt_revlist_issued_at(const struct pvt_revlist *rl);
uint64_t pvt_revlist_sequence(const struct pvt_revlist *rl);
size_t pvt_revlist_count(const struct pvt_revlist *rl, enum pvt_rev_kind kind);
/* PV_ALLOW if nothing in c is listed, else PV_DENY with *why. */
int pvt_revlist_check(const struct pvt_revlist *rl, const struct pvt_claims *c,
    enum pvt_reason *why);

#endif /* PROVOST_PVT_H */

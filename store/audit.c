/*
 * audit.c: the append-only, hash-chained audit log and its signed
 * checkpoints: append, verify (naming the first bad row), export, poll.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "store/store-int.h"

#define AUDIT_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_SIG_CONTEXT "provost-audit-checkpoint-v1"
#define AUDIT_JSON_FLAGS (JSON_SORT_KEYS | JSON_COMPACT)

static int
hex_decode(const char *hex, uint8_t *out, size_t n)
{
	size_t i;

	if (hex == NULL || strlen(hex) != 2 * n)
		return PV_ERR_INVALID;
	for (i = 0; i < 2 * n; i++) {
		char c = hex[i];
		int v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return PV_ERR_INVALID;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static int
hex_to_32(const char *hex, uint8_t out[32])
{
	return hex_decode(hex, out, 32);
}

/*
 * The canonical JSON of a row and its hash.  details_text must itself be
 * canonical JSON of an object, else *canonical is cleared.
 */
int
st_audit_row_hash(const char *prev_hex, uint64_t seq, int form, int64_t ts,
    const char *actor, const char *action, const char *object,
    const char *details_text, char hash_hex[STORE_HASH_HEX], int *canonical)
{
	json_t *details = NULL, *row = NULL;
	char *djson = NULL, *rjson = NULL;
	uint8_t prev[32], md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	int r = PV_ERR_INTERNAL;

	*canonical = 0;
	hash_hex[0] = '\0';
	if (hex_to_32(prev_hex, prev) != 0)
		memset(prev, 0xff, sizeof(prev)); /* cannot match any hash */
	if ((details = json_loads(details_text ? details_text : "",
		 JSON_REJECT_DUPLICATES, NULL)) == NULL)
		details = json_string(details_text ? details_text : "");
	if (details == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if (json_is_object(details) &&
	    (djson = json_dumps(details, AUDIT_JSON_FLAGS)) != NULL &&
	    details_text != NULL && strcmp(djson, details_text) == 0)
		*canonical = 1;
	if ((row = json_pack("{s:s, s:s, s:O, s:s, s:I}", "action",
		 action ? action : "", "actor", actor ? actor : "", "details",
		 details, "object", object ? object : "", "ts",
		 (json_int_t)ts)) == NULL ||
	    (form >= 2 &&
		json_object_set_new(
		    row, "seq", json_integer((json_int_t)seq)) != 0) ||
	    (rjson = json_dumps(row, AUDIT_JSON_FLAGS)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, prev, sizeof(prev)) != 1 ||
	    EVP_DigestUpdate(ctx, rjson, strlen(rjson)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		r = PV_ERR_CRYPTO;
		goto out;
	}
	r = pv_hex_encode(md, sizeof(md), hash_hex, STORE_HASH_HEX);
out:
	EVP_MD_CTX_free(ctx);
	free(djson);
	free(rjson);
	json_decref(details);
	json_decref(row);
	return r;
}

/* The message a checkpoint signs: context, seq, hash, time. */
static int
checkpoint_msg(
    uint64_t seq, const char *hash_hex, int64_t ts, uint8_t *msg, size_t msglen)
{
	size_t o = sizeof(AUDIT_SIG_CONTEXT);
	int i;

	if (msglen != sizeof(AUDIT_SIG_CONTEXT) + 8 + 32 + 8)
		return PV_ERR_INTERNAL;
	memcpy(msg, AUDIT_SIG_CONTEXT, sizeof(AUDIT_SIG_CONTEXT));
	for (i = 7; i >= 0; i--)
		msg[o++] = (uint8_t)(seq >> (8 * i));
	if (hex_to_32(hash_hex, msg + o) != 0)
		return PV_ERR_INVALID;
	o += 32;
	for (i = 7; i >= 0; i--)
		msg[o++] = (uint8_t)((uint64_t)ts >> (8 * i));
	return 0;
}

/* Ed25519 and the key's fingerprint through common's pv_sshkey_*. */
static int
audit_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	return pv_ed25519_sign(key, msg, len, sig);
}

static int
audit_sig_ok(
    EVP_PKEY *pub, const uint8_t *msg, size_t len, const uint8_t sig[64])
{
	return pv_ed25519_verify(pub, msg, len, sig) == 0;
}

static int
audit_key_fp(EVP_PKEY *key, char *out, size_t outlen)
{
	return pv_sshkey_fingerprint(key, out, outlen);
}

static int
checkpoint_locked(struct store *st, uint64_t seq, const char *hash_hex)
{
	static const char sql[] =
	    "INSERT INTO audit_checkpoints"
	    "(seq, hash, ts, key_fp, sig) VALUES (?,?,?,?,?)";
	uint8_t msg[sizeof(AUDIT_SIG_CONTEXT) + 48], sig[64];
	char sighex[129], fp[128];
	int64_t ts = pv_wall_ms();
	struct st_q *s = NULL;
	json_t *d;
	int r;

	if (st->audit_key == NULL)
		return st_fail(st, PV_ERR_CONFIG, "no audit key loaded");
	if ((r = checkpoint_msg(seq, hash_hex, ts, msg, sizeof(msg))) != 0 ||
	    (r = audit_sign(st->audit_key, msg, sizeof(msg), sig)) != 0 ||
	    (r = pv_hex_encode(sig, sizeof(sig), sighex, sizeof(sighex))) !=
		0 ||
	    (r = audit_key_fp(st->audit_key, fp, sizeof(fp))) != 0)
		return st_fail(st, r, "audit checkpoint: signing failed");
	if ((r = st_prep(st, sql, &s)) != 0)
		return r;
	if ((r = st_bind_i64(st, s, 1, (int64_t)seq)) != 0 ||
	    (r = st_bind_text(st, s, 2, hash_hex)) != 0 ||
	    (r = st_bind_i64(st, s, 3, ts)) != 0 ||
	    (r = st_bind_text(st, s, 4, fp)) != 0 ||
	    (r = st_bind_text(st, s, 5, sighex)) != 0 ||
	    (r = st_step_done(st, s, "audit checkpoint")) != 0) {
		st_done(s);
		return r;
	}
	st_done(s);
	/* The checkpoint itself goes into the chain, so deleting it shows. */
	d = json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)seq, "hash",
	    hash_hex, "key", fp);
	st->in_checkpoint = 1;
	r = st_audit(st, "store", "audit.checkpoint", "audit", d);
	st->in_checkpoint = 0;
	return r;
}

/*
 * The actions that revoke or end access: what store_revoked_since reads
 * (its SQL names the same list) and what is announced to listeners.
 */
static const char *const audit_revoking[] = { "engineer.disable",
	"engineer.revoke", "provider.revoke", "provider.status", "grant.revoke",
	"grant.deny", "grant.expire", "credential.revoke", "session.kill",
	"totp.revoke", "key.revoke" };

static int
audit_revokes(const char *action)
{
	size_t i;

	for (i = 0; i < sizeof(audit_revoking) / sizeof(audit_revoking[0]); i++)
		if (strcmp(action, audit_revoking[i]) == 0)
			return 1;
	return 0;
}

int
st_audit(struct store *st, const char *actor, const char *action,
    const char *object, json_t *details)
{
	static const char head_sql[] =
	    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
	static const char ins_sql[] = "INSERT INTO audit(seq, ts, actor, "
				      "action, object, details, prev_hash, "
				      "hash, form) VALUES (?,?,?,?,?,?,?,?,?)";
	char prev[STORE_HASH_HEX] = AUDIT_GENESIS, hash[STORE_HASH_HEX];
	struct st_q *s = NULL;
	char *dtext = NULL;
	int64_t ts = pv_wall_ms();
	uint64_t seq = 1;
	int r, canon;

	if (!st->in_tx) {
		json_decref(details);
		return st_fail(
		    st, PV_ERR_INTERNAL, "audit outside a transaction");
	}
	if (details == NULL && (details = json_object()) == NULL)
		return PV_ERR_ALLOC;
	if (!json_is_object(details) ||
	    (dtext = json_dumps(details, AUDIT_JSON_FLAGS)) == NULL) {
		r = st_fail(st, PV_ERR_INVALID, "audit details not an object");
		goto out;
	}
	if ((r = st_prep(st, head_sql, &s)) != 0)
		goto out;
	if ((r = st_step_row(st, s, "audit head")) < 0)
		goto out;
	if (r == 1) {
		const char *h = st_col_text(s, 1);

		seq = (uint64_t)st_col_i64(s, 0) + 1;
		if (h == NULL || strlen(h) != 64) {
			r = st_fail(st, PV_ERR_STORE, "audit head is damaged");
			goto out;
		}
		memcpy(prev, h, STORE_HASH_HEX);
	}
	st_done(s);
	s = NULL;
	if ((r = st_audit_row_hash(prev, seq, ST_AUDIT_FORM, ts, actor, action,
		 object, dtext, hash, &canon)) != 0)
		goto out;
	if ((r = st_prep(st, ins_sql, &s)) != 0)
		goto out;
	if ((r = st_bind_i64(st, s, 1, (int64_t)seq)) != 0 ||
	    (r = st_bind_i64(st, s, 2, ts)) != 0 ||
	    (r = st_bind_text(st, s, 3, actor)) != 0 ||
	    (r = st_bind_text(st, s, 4, action)) != 0 ||
	    (r = st_bind_text(st, s, 5, object)) != 0 ||
	    (r = st_bind_text(st, s, 6, dtext)) != 0 ||
	    (r = st_bind_text(st, s, 7, prev)) != 0 ||
	    (r = st_bind_text(st, s, 8, hash)) != 0 ||
	    (r = st_bind_i64(st, s, 9, ST_AUDIT_FORM)) != 0 ||
	    (r = st_step_done(st, s, "audit append")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	/* heard by every listening broker when this transaction commits */
	if (st->eng->notify != NULL && audit_revokes(action) &&
	    st->eng->notify(st) != 0) {
		r = st_sqlerr(st, "notify");
		goto out;
	}
	if (seq % STORE_CHECKPOINT_EVERY == 0 && st->audit_key != NULL &&
	    !st->in_checkpoint)
		r = checkpoint_locked(st, seq, hash);
out:
	st_done(s);
	free(dtext);
	json_decref(details);
	return r;
}

int
store_audit_append(struct store *st, const char *actor, const char *action,
    const char *object, json_t *details)
{
	int r;

	if (details != NULL)
		json_incref(details);
	if ((r = st_begin(st, 1)) != 0) {
		json_decref(details);
		return r;
	}
	if ((r = st_audit(st, actor, action, object, details)) != 0) {
		st_rollback(st);
		return r;
	}
	return st_commit(st);
}

int
store_audit_head(struct store *st, uint64_t *seq)
{
	struct st_q *s;
	int r;

	*seq = 0;
	if ((r = st_prep(st, "SELECT coalesce(max(seq), 0) FROM audit", &s)) !=
	    0)
		return r;
	if ((r = st_step_row(st, s, "audit head")) == 1) {
		*seq = (uint64_t)st_col_i64(s, 0);
		r = 0;
	}
	st_done(s);
	return r;
}

int
store_audit_checkpoint(struct store *st, uint64_t *seq)
{
	struct st_q *s = NULL;
	char hash[STORE_HASH_HEX];
	const char *h;
	uint64_t at = 0;
	int r;

	if (seq != NULL)
		*seq = 0;
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep(st,
		 "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
		 &s)) != 0)
		goto out;
	if ((r = st_step_row(st, s, "audit head")) <= 0) {
		if (r == 0)
			r = st_fail(
			    st, PV_ERR_NOT_FOUND, "the audit log is empty");
		goto out;
	}
	at = (uint64_t)st_col_i64(s, 0);
	h = st_col_text(s, 1);
	if (h == NULL || strlen(h) != 64) {
		r = st_fail(st, PV_ERR_STORE, "audit head is damaged");
		goto out;
	}
	memcpy(hash, h, sizeof(hash));
	st_done(s);
	s = NULL;
	if ((r = checkpoint_locked(st, at, hash)) != 0)
		goto out;
	if (seq != NULL)
		*seq = at;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

/* The first seq whose hash is h, 0 if none. */
static int
seq_of_hash(struct store *st, const char *h, uint64_t *seq)
{
	struct st_q *s;
	int r;

	*seq = 0;
	if ((r = st_prep(st,
		 "SELECT seq FROM audit WHERE hash = ? ORDER BY seq LIMIT 1",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, h)) == 0 &&
	    (r = st_step_row(st, s, "audit lookup")) == 1) {
		*seq = (uint64_t)st_col_i64(s, 0);
		r = 0;
	}
	st_done(s);
	return r < 0 ? r : 0;
}

/* prev_hash of the first row after seq; *found cleared if none. */
static int
next_prev(struct store *st, uint64_t seq, char out[STORE_HASH_HEX], int *found)
{
	struct st_q *s;
	const char *h;
	int r;

	*found = 0;
	out[0] = '\0';
	if ((r = st_prep(st,
		 "SELECT prev_hash FROM audit WHERE seq > ? ORDER BY seq "
		 "LIMIT 1",
		 &s)) != 0)
		return r;
	if ((r = st_bind_i64(st, s, 1, (int64_t)seq)) == 0 &&
	    (r = st_step_row(st, s, "audit lookup")) == 1) {
		h = st_col_text(s, 0);
		if (h != NULL && strlen(h) == 64) {
			memcpy(out, h, STORE_HASH_HEX);
			*found = 1;
		}
		r = 0;
	}
	st_done(s);
	return r < 0 ? r : 0;
}

static int report(struct store_audit_report *rep, uint64_t seq, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static int
report(struct store_audit_report *rep, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	rep->bad_seq = seq;
	va_start(ap, fmt);
	if (vsnprintf(rep->what, sizeof(rep->what), fmt, ap) < 0)
		rep->what[0] = '\0';
	va_end(ap);
	return PV_ERR_AUTH;
}

/* Walks the chain in seq order; stops at the first bad row. */
static int
verify_chain(struct store *st, struct store_audit_report *rep,
    uint64_t *last_seq, char last_hash[STORE_HASH_HEX])
{
	struct st_q *s = NULL;
	char expect[STORE_HASH_HEX] = AUDIT_GENESIS, calc[STORE_HASH_HEX];
	char nprev[STORE_HASH_HEX];
	uint64_t prev_seq = 0, seq, other;
	int r, canon, found, form, last_form = 1;

	if ((r = st_prep_once(st,
		 "SELECT seq, ts, actor, action, object, details, prev_hash, "
		 "hash, form FROM audit ORDER BY seq",
		 &s)) != 0)
		return r;
	while ((r = st_step_row(st, s, "audit verify")) == 1) {
		const char *ph = st_col_text(s, 6), *h = st_col_text(s, 7);
		int self_ok, link_ok;

		seq = (uint64_t)st_col_i64(s, 0);
		/*
		 * A row's form is what it says, but a form 1 row after a
		 * form 2 one is a rewrite (forms only go up).
		 */
		form = st_col_int(s, 8);
		if (form < last_form || form < 1 || form > ST_AUDIT_FORM) {
			r = report(rep, seq,
			    "row %" PRIu64 " edited (its form %d follows %d)",
			    seq, form, last_form);
			goto out;
		}
		last_form = form;
		if ((r = st_audit_row_hash(ph ? ph : "", seq, form,
			 st_col_i64(s, 1), st_col_text(s, 2), st_col_text(s, 3),
			 st_col_text(s, 4), st_col_text(s, 5), calc, &canon)) !=
		    0)
			goto out;
		self_ok = canon && h != NULL && strcmp(calc, h) == 0;
		link_ok = ph != NULL && strcmp(ph, expect) == 0;
		rep->rows++;
		if (self_ok && link_ok) {
			memcpy(expect, h, STORE_HASH_HEX);
			prev_seq = seq;
			continue;
		}
		if (link_ok) {
			/* Forged row whose successor still links past it? */
			if ((r = next_prev(st, seq, nprev, &found)) != 0)
				goto out;
			if (found && strcmp(nprev, expect) == 0)
				r = report(
				    rep, seq, "row %" PRIu64 " inserted", seq);
			else
				r = report(
				    rep, seq, "row %" PRIu64 " edited", seq);
			goto out;
		}
		if ((r = seq_of_hash(st, ph ? ph : "", &other)) != 0)
			goto out;
		if (other == 0) {
			if (seq != prev_seq + 1)
				r = report(rep, prev_seq + 1,
				    "row %" PRIu64 " deleted (row %" PRIu64
				    " follows row %" PRIu64 ")",
				    prev_seq + 1, seq, prev_seq);
			else if (self_ok || form >= 2)
				/*
				 * Its link points at no row: the one before
				 * it is gone (a form 2 row renumbered into
				 * the gap no longer hashes either).
				 */
				r = report(rep, seq,
				    "a row before row %" PRIu64 " deleted",
				    seq);
			else
				r = report(
				    rep, seq, "row %" PRIu64 " edited", seq);
		} else if (other > seq) {
			r = report(rep, seq,
			    "row %" PRIu64 " reordered (it belongs after row "
			    "%" PRIu64 ")",
			    seq, other);
		} else if (other < prev_seq) {
			r = report(rep, other + 1,
			    "row %" PRIu64 " inserted (row %" PRIu64
			    " links to row %" PRIu64 ")",
			    other + 1, seq, other);
		} else {
			r = report(rep, seq, "row %" PRIu64 " edited", seq);
		}
		goto out;
	}
	if (r < 0)
		goto out;
	*last_seq = prev_seq;
	memcpy(last_hash, expect, STORE_HASH_HEX);
	r = 0;
out:
	st_free(s);
	return r;
}

/* Hash of row seq, or "" if it is not there. */
static int
hash_at(struct store *st, uint64_t seq, char out[STORE_HASH_HEX])
{
	struct st_q *s;
	const char *h;
	int r;

	out[0] = '\0';
	if ((r = st_prep(st, "SELECT hash FROM audit WHERE seq = ?", &s)) != 0)
		return r;
	if ((r = st_bind_i64(st, s, 1, (int64_t)seq)) == 0 &&
	    (r = st_step_row(st, s, "audit lookup")) == 1) {
		h = st_col_text(s, 0);
		if (h != NULL && strlen(h) == 64)
			memcpy(out, h, STORE_HASH_HEX);
		r = 0;
	}
	st_done(s);
	return r < 0 ? r : 0;
}

static int
verify_checkpoints(struct store *st, EVP_PKEY *pub,
    struct store_audit_report *rep, uint64_t last_seq)
{
	uint8_t msg[sizeof(AUDIT_SIG_CONTEXT) + 48], sig[64];
	char have[STORE_HASH_HEX];
	struct st_q *s = NULL;
	uint64_t seq;
	int r;

	if ((r = st_prep_once(st,
		 "SELECT seq, hash, ts, sig FROM audit_checkpoints ORDER BY "
		 "seq",
		 &s)) != 0)
		return r;
	while ((r = st_step_row(st, s, "audit verify")) == 1) {
		const char *h = st_col_text(s, 1), *sg = st_col_text(s, 3);

		seq = (uint64_t)st_col_i64(s, 0);
		rep->checkpoints++;
		if (pub != NULL) {
			int ok = hex_decode(sg, sig, sizeof(sig)) == 0 &&
			    checkpoint_msg(seq, h, st_col_i64(s, 2), msg,
				sizeof(msg)) == 0;

			if (!ok || !audit_sig_ok(pub, msg, sizeof(msg), sig)) {
				r = report(rep, seq,
				    "checkpoint at row %" PRIu64
				    " has a bad signature",
				    seq);
				goto out;
			}
		}
		if (seq > last_seq) {
			r = report(rep, last_seq + 1,
			    "log truncated: it ends at row %" PRIu64
			    " but a signed checkpoint covers row %" PRIu64,
			    last_seq, seq);
			goto out;
		}
		if ((r = hash_at(st, seq, have)) != 0)
			goto out;
		if (h == NULL || strcmp(have, h) != 0) {
			r = report(rep, seq,
			    "row %" PRIu64
			    " differs from its signed checkpoint",
			    seq);
			goto out;
		}
	}
	if (r < 0)
		goto out;
	r = 0;
out:
	st_free(s);
	return r;
}

/*
 * A checkpoint is signed at every STORE_CHECKPOINT_EVERY-th row, in the
 * row's own transaction: one missing where it must be was deleted.
 */
static int
verify_cadence(
    struct store *st, struct store_audit_report *rep, uint64_t last_seq)
{
	struct st_q *s = NULL;
	uint64_t k;
	int r = 0;

	if ((r = st_prep(
		 st, "SELECT 1 FROM audit_checkpoints WHERE seq = ?", &s)) != 0)
		return r;
	for (k = STORE_CHECKPOINT_EVERY; k <= last_seq;
	     k += STORE_CHECKPOINT_EVERY) {
		st_done(s);
		if ((r = st_bind_i64(st, s, 1, (int64_t)k)) != 0 ||
		    (r = st_step_row(st, s, "audit verify")) < 0)
			break;
		if (r == 0) {
			r = report(rep, k,
			    "checkpoint at row %" PRIu64 " missing (one is "
			    "signed every %d rows)",
			    k, STORE_CHECKPOINT_EVERY);
			break;
		}
		r = 0;
	}
	st_done(s);
	return r;
}

/* Every audit.checkpoint row must still have its checkpoint. */
static int
verify_checkpoint_rows(struct store *st, struct store_audit_report *rep)
{
	struct st_q *s = NULL, *c = NULL;
	json_t *d;
	int64_t k;
	int r;

	/* the details' seq read here, not by an engine's JSON functions */
	if ((r = st_prep_once(st,
		 "SELECT seq, details FROM audit WHERE action = "
		 "'audit.checkpoint' ORDER BY seq",
		 &s)) != 0 ||
	    (r = st_prep(
		 st, "SELECT 1 FROM audit_checkpoints WHERE seq = ?", &c)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "audit verify")) == 1) {
		d = json_loads(st_col_text(s, 1), JSON_DECODE_ANY, NULL);
		k = json_is_integer(json_object_get(d, "seq"))
		    ? (int64_t)json_integer_value(json_object_get(d, "seq"))
		    : 0;
		json_decref(d);
		st_done(c);
		if ((r = st_bind_i64(st, c, 1, k)) != 0 ||
		    (r = st_step_row(st, c, "audit verify")) < 0)
			goto out;
		if (r == 0) {
			r = report(rep, (uint64_t)k,
			    "checkpoint at row %" PRId64 " deleted (recorded "
			    "in row %" PRId64 ")",
			    k, st_col_i64(s, 0));
			break;
		}
	}
out:
	st_done(c);
	st_free(s);
	return r;
}

int
store_audit_verify(
    struct store *st, EVP_PKEY *pub, struct store_audit_report *rep)
{
	char last_hash[STORE_HASH_HEX];
	uint64_t last_seq = 0;
	int r;

	memset(rep, 0, sizeof(*rep));
	/* One read transaction: a consistent snapshot. */
	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = verify_chain(st, rep, &last_seq, last_hash)) != 0)
		goto out;
	if ((r = verify_checkpoints(st, pub, rep, last_seq)) != 0)
		goto out;
	if ((r = verify_checkpoint_rows(st, rep)) != 0)
		goto out;
	/* every writer that holds the audit key signs at the cadence */
	if (pub != NULL && (r = verify_cadence(st, rep, last_seq)) != 0)
		goto out;
	(void)snprintf(rep->what, sizeof(rep->what),
	    "%" PRIu64 " rows, %" PRIu64 " checkpoints: intact", rep->rows,
	    rep->checkpoints);
out:
	st_rollback(st);
	return r;
}

int
store_audit_anchors(
    struct store *st, uint64_t after_seq, store_anchor_cb cb, void *ctx)
{
	struct st_q *s = NULL;
	struct store_anchor a;
	int r;

	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = st_prep(st,
		 "SELECT seq, hash, ts, key_fp, sig FROM audit_checkpoints "
		 "WHERE seq > ? ORDER BY seq",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, (int64_t)after_seq)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "audit anchors")) == 1) {
		a = (struct store_anchor){
			.seq = (uint64_t)st_col_i64(s, 0),
			.hash = st_col_text(s, 1),
			.ts = st_col_i64(s, 2),
			.key_fp = st_col_text(s, 3),
			.sig = st_col_text(s, 4),
		};
		if (a.hash == NULL || a.key_fp == NULL || a.sig == NULL)
			continue;
		if ((r = cb(ctx, &a)) != 0)
			goto out;
	}
	if (r > 0)
		r = 0;
out:
	st_done(s);
	st_rollback(st);
	return r;
}

char *
store_anchor_json(const struct store_anchor *a)
{
	json_t *j = json_pack("{s:I, s:s, s:I, s:s, s:s}", "seq",
	    (json_int_t)a->seq, "hash", a->hash, "ts", (json_int_t)a->ts, "key",
	    a->key_fp, "sig", a->sig);
	char *out = j != NULL ? json_dumps(j, AUDIT_JSON_FLAGS) : NULL;

	json_decref(j);
	return out;
}

/*
 * An anchor line: a JSON object alone, or after "audit anchor: " in a log
 * line.  1 if the line is none of those (other log lines), 0 with *a
 * filled, PV_ERR_INVALID for one that should be an anchor and is not.
 */
static int
anchor_parse(const char *line, struct store_anchor *a, json_t **hold)
{
	const char *brace = strstr(line, "audit anchor: ");
	json_t *j, *v;

	*hold = NULL;
	if (brace != NULL)
		brace += strlen("audit anchor: ");
	else if (line[strspn(line, " \t")] == '{')
		brace = line + strspn(line, " \t");
	else
		return 1;
	if ((j = json_loads(brace, JSON_DISABLE_EOF_CHECK, NULL)) == NULL)
		return PV_ERR_INVALID;
	memset(a, 0, sizeof(*a));
	if (!json_is_integer(v = json_object_get(j, "seq")) ||
	    json_integer_value(v) <= 0)
		goto bad;
	a->seq = (uint64_t)json_integer_value(v);
	if (!json_is_integer(v = json_object_get(j, "ts")))
		goto bad;
	a->ts = json_integer_value(v);
	if ((a->hash = json_string_value(json_object_get(j, "hash"))) == NULL ||
	    (a->sig = json_string_value(json_object_get(j, "sig"))) == NULL ||
	    (a->key_fp = json_string_value(json_object_get(j, "key"))) == NULL)
		goto bad;
	*hold = j;
	return 0;
bad:
	json_decref(j);
	return PV_ERR_INVALID;
}

int
store_audit_verify_anchors(struct store *st, EVP_PKEY *pub, const char *name,
    FILE *in, uint64_t *checked, struct store_audit_report *rep)
{
	uint8_t msg[sizeof(AUDIT_SIG_CONTEXT) + 48], sig[64];
	char line[2048], have[STORE_HASH_HEX], fp[128];
	struct store_anchor a;
	json_t *hold;
	unsigned long lineno = 0;
	int r = 0;

	*checked = 0;
	memset(rep, 0, sizeof(*rep));
	if (pub == NULL || audit_key_fp(pub, fp, sizeof(fp)) != 0)
		return PV_ERR_INVALID;
	if ((r = st_begin(st, 0)) != 0)
		return r;
	while (fgets(line, sizeof(line), in) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(in)) {
			(void)snprintf(rep->what, sizeof(rep->what),
			    "%s:%lu: line too long", name, lineno);
			r = PV_ERR_INVALID;
			goto out;
		}
		if ((r = anchor_parse(line, &a, &hold)) == 1) {
			r = 0;
			continue; /* a log line of something else */
		}
		if (r != 0) {
			(void)snprintf(rep->what, sizeof(rep->what),
			    "%s:%lu: not an anchor (a JSON object with seq, "
			    "hash, ts, key, sig)",
			    name, lineno);
			r = PV_ERR_INVALID;
			goto out;
		}
		if (strcmp(a.key_fp, fp) != 0 ||
		    hex_decode(a.sig, sig, sizeof(sig)) != 0 ||
		    checkpoint_msg(a.seq, a.hash, a.ts, msg, sizeof(msg)) !=
			0 ||
		    !audit_sig_ok(pub, msg, sizeof(msg), sig)) {
			r = report(rep, a.seq,
			    "%s:%lu: the anchor for row %" PRIu64
			    " is not signed by this audit key",
			    name, lineno, a.seq);
			json_decref(hold);
			goto out;
		}
		if ((r = hash_at(st, a.seq, have)) != 0) {
			json_decref(hold);
			goto out;
		}
		if (have[0] == '\0')
			r = report(rep, a.seq,
			    "row %" PRIu64 " is gone: the store no longer "
			    "holds what anchor %s:%lu signed",
			    a.seq, name, lineno);
		else if (strcmp(have, a.hash) != 0)
			r = report(rep, a.seq,
			    "row %" PRIu64 " differs from anchor %s:%lu (the "
			    "chain up to it was rewritten)",
			    a.seq, name, lineno);
		json_decref(hold);
		if (r != 0)
			goto out;
		(*checked)++;
	}
	if (ferror(in)) {
		(void)snprintf(
		    rep->what, sizeof(rep->what), "%s: read error", name);
		r = PV_ERR_IO;
	} else if (*checked == 0) {
		(void)snprintf(rep->what, sizeof(rep->what),
		    "%s: no anchors in it (JSON lines, or log lines with "
		    "\"audit anchor: \")",
		    name);
		r = PV_ERR_INVALID;
	}
out:
	st_rollback(st);
	return r;
}

int
store_audit_export(struct store *st, int64_t since_ms, FILE *out)
{
	struct st_q *s = NULL;
	json_t *row = NULL, *details;
	char *line = NULL, when[40];
	int r;

	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = st_prep_once(st,
		 "SELECT seq, ts, actor, action, object, details, prev_hash, "
		 "hash, form FROM audit WHERE ts >= ? ORDER BY seq",
		 &s)) != 0)
		goto out;
	if ((r = st_bind_i64(st, s, 1, since_ms)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "audit export")) == 1) {
		int64_t ts = st_col_i64(s, 1);

		if ((details = json_loads(
			 st_col_text(s, 5) ? st_col_text(s, 5) : "{}", 0,
			 NULL)) == NULL)
			details = json_object();
		if (pv_time_format(ts / 1000, when, sizeof(when)) != 0)
			when[0] = '\0';
		row = json_pack("{s:I, s:i, s:I, s:s, s:s, s:s, s:s, s:o, s:s, "
				"s:s}",
		    "seq", (json_int_t)st_col_i64(s, 0), "form",
		    st_col_int(s, 8), "ts_ms", (json_int_t)ts, "time", when,
		    "actor", st_col_text(s, 2) ? st_col_text(s, 2) : "",
		    "action", st_col_text(s, 3) ? st_col_text(s, 3) : "",
		    "object", st_col_text(s, 4) ? st_col_text(s, 4) : "",
		    "details", details, "prev_hash",
		    st_col_text(s, 6) ? st_col_text(s, 6) : "", "hash",
		    st_col_text(s, 7) ? st_col_text(s, 7) : "");
		if (row == NULL ||
		    (line = json_dumps(row, AUDIT_JSON_FLAGS)) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		if (fputs(line, out) == EOF || fputc('\n', out) == EOF) {
			r = st_fail(
			    st, PV_ERR_IO, "audit export: write failed");
			goto out;
		}
		free(line);
		line = NULL;
		json_decref(row);
		row = NULL;
	}
	if (r < 0)
		goto out;
	r = fflush(out) == 0
	    ? 0
	    : st_fail(st, PV_ERR_IO, "audit export: write failed");
out:
	free(line);
	json_decref(row);
	st_free(s);
	st_rollback(st);
	return r;
}

/*
 * The rows from seq > *cursor up to the head as it is now, selected by
 * sql (seq, action, object, ts, details, actor; two parameters: the
 * cursor and the head; LIMIT limit when limit is not 0), to cb in order; *cursor advances to the last one
 * cb took (cb returning non-zero stops before the row after it).
 */
static int
audit_rows_since(struct store *st, uint64_t *cursor, const char *sql,
    const char *action, unsigned int limit, store_audit_row_cb cb, void *ctx)
{
	struct st_q *s = NULL;
	struct store_audit_row row;
	uint64_t head;
	unsigned int n = 0;
	int r;

	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = store_audit_head(st, &head)) != 0)
		goto out;
	if ((r = st_prep_once(st, sql, &s)) != 0)
		goto out;
	if ((r = st_bind_i64(st, s, 1, (int64_t)*cursor)) != 0 ||
	    (r = st_bind_i64(st, s, 2, (int64_t)head)) != 0 ||
	    (action != NULL && (r = st_bind_text(st, s, 3, action)) != 0))
		goto out;
	while ((r = st_step_row(st, s, "audit rows")) == 1) {
		row = (struct store_audit_row){
			.seq = (uint64_t)st_col_i64(s, 0),
			.action = st_col_text(s, 1),
			.object = st_col_text(s, 2),
			.ts_ms = st_col_i64(s, 3),
			.details = st_col_text(s, 4),
			.actor = st_col_text(s, 5),
		};
		/* a full page: the rest is for the next call */
		if (++n == limit)
			head = row.seq;
		if (cb(ctx, &row) != 0) {
			head = row.seq;
			r = 0;
			break;
		}
	}
	if (r < 0)
		goto out;
	*cursor = head;
	r = 0;
out:
	st_free(s);
	st_rollback(st);
	return r;
}

int
store_audit_since(
    struct store *st, uint64_t *cursor, store_audit_row_cb cb, void *ctx)
{
	return audit_rows_since(st, cursor,
	    "SELECT seq, action, object, ts, details, actor FROM audit "
	    "WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 1000",
	    NULL, 1000, cb, ctx);
}

int
store_audit_action_since(struct store *st, const char *action, uint64_t *cursor,
    store_audit_row_cb cb, void *ctx)
{
	return audit_rows_since(st, cursor,
	    "SELECT seq, action, object, ts, details, actor FROM audit "
	    "WHERE seq > ?1 AND seq <= ?2 AND action = ?3 "
	    "ORDER BY seq LIMIT 1000",
	    action, 1000, cb, ctx);
}

struct revoked {
	store_revocation_cb cb;
	void *ctx;
};

static int
revoked_row(void *ctx, const struct store_audit_row *row)
{
	struct revoked *x = ctx;
	struct store_revocation rv;
	json_t *d, *why;
	int r;

	/* The details were canonical JSON when the row was chained. */
	d = row->details != NULL ? json_loads(row->details, 0, NULL) : NULL;
	why = json_object_get(d, "reason");
	rv = (struct store_revocation){
		.seq = row->seq,
		.action = row->action,
		.object = row->object,
		.reason = json_is_string(why) ? json_string_value(why) : NULL,
		.ts_ms = row->ts_ms,
		.actor = row->actor,
	};
	r = x->cb(x->ctx, &rv);
	json_decref(d);
	return r;
}

int
store_revoked_since(
    struct store *st, uint64_t *cursor, store_revocation_cb cb, void *ctx)
{
	struct revoked x = { cb, ctx };

	return audit_rows_since(st, cursor,
	    /* the list is audit_revoking's */
	    "SELECT seq, action, object, ts, details, actor FROM audit WHERE "
	    "seq > ? AND "
	    "seq <= ? AND action IN ('engineer.disable', "
	    "'engineer.revoke', 'provider.revoke', 'provider.status', "
	    "'grant.revoke', 'grant.deny', 'grant.expire', "
	    "'credential.revoke', 'session.kill', 'totp.revoke', "
	    "'key.revoke') ORDER BY seq",
	    NULL, 0, revoked_row, &x);
}

/*
 * An export checked on its own: each row's hash recomputed from the row
 * before it, the rows in sequence from the first.  What an exit bundle's
 * audit.jsonl is checked with, away from the store.
 */
int
store_audit_export_check(FILE *in, const char *name, uint64_t *rows,
    char last_hash[STORE_HASH_HEX], char *err, size_t errlen)
{
	char *line = NULL, hash[STORE_HASH_HEX], prev[STORE_HASH_HEX] = "";
	const char *ph, *h, *actor, *action, *object;
	size_t cap = 0, lineno = 0;
	uint64_t seq, want = 0;
	json_t *row = NULL;
	char *details = NULL;
	int r = PV_ERR_INVALID, canon, form;

	*rows = 0;
	last_hash[0] = '\0';
	err[0] = '\0';
	while (getline(&line, &cap, in) > 0) {
		lineno++;
		json_decref(row);
		free(details);
		details = NULL;
		if ((row = json_loads(line, JSON_REJECT_DUPLICATES, NULL)) ==
			NULL ||
		    !json_is_integer(json_object_get(row, "seq")) ||
		    !json_is_integer(json_object_get(row, "ts_ms")) ||
		    !json_is_object(json_object_get(row, "details")) ||
		    (ph = json_string_value(
			 json_object_get(row, "prev_hash"))) == NULL ||
		    (h = json_string_value(json_object_get(row, "hash"))) ==
			NULL ||
		    (actor = json_string_value(
			 json_object_get(row, "actor"))) == NULL ||
		    (action = json_string_value(
			 json_object_get(row, "action"))) == NULL ||
		    (object = json_string_value(
			 json_object_get(row, "object"))) == NULL) {
			(void)snprintf(err, errlen, "%s:%zu: not an audit row",
			    name, lineno);
			goto out;
		}
		seq = (uint64_t)json_integer_value(json_object_get(row, "seq"));
		form = (int)json_integer_value(json_object_get(row, "form"));
		if (form == 0)
			form = 1;
		if (want != 0 && seq != want) {
			(void)snprintf(err, errlen,
			    "%s:%zu: row %llu where row %llu must be", name,
			    lineno, (unsigned long long)seq,
			    (unsigned long long)want);
			goto out;
		}
		if (want != 0 && strcmp(ph, prev) != 0) {
			(void)snprintf(err, errlen,
			    "%s:%zu: row %llu does not follow row %llu", name,
			    lineno, (unsigned long long)seq,
			    (unsigned long long)(seq - 1));
			goto out;
		}
		if ((details = json_dumps(json_object_get(row, "details"),
			 AUDIT_JSON_FLAGS)) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		if ((r = st_audit_row_hash(ph, seq, form,
			 json_integer_value(json_object_get(row, "ts_ms")),
			 actor, action, object, details, hash, &canon)) != 0)
			goto out;
		r = PV_ERR_INVALID;
		if (strcmp(hash, h) != 0) {
			(void)snprintf(err, errlen,
			    "%s:%zu: row %llu was edited (its hash does not "
			    "match)",
			    name, lineno, (unsigned long long)seq);
			goto out;
		}
		(void)snprintf(prev, sizeof(prev), "%s", h);
		want = seq + 1;
		(*rows)++;
	}
	if (ferror(in)) {
		(void)snprintf(err, errlen, "%s: read error", name);
		r = PV_ERR_IO;
		goto out;
	}
	(void)snprintf(last_hash, STORE_HASH_HEX, "%s", prev);
	r = 0;
out:
	json_decref(row);
	free(details);
	free(line);
	return r;
}

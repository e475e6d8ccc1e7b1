/*
 * db.c: opening the store on its engine, the engine-neutral statement
 * API and its cache, transactions, error translation and shared helpers.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <liboath/oath.h>
#include <openssl/crypto.h>

#include "common/common.h"
#include "store/store-int.h"

int
st_fail(struct store *st, int r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
	if (n < 0)
		st->err[0] = '\0';
	return r;
}

int
st_sqlerr(struct store *st, const char *what)
{
	int unique = 0;
	const char *msg = st->eng->errmsg(st, &unique);

	if (unique)
		return st_fail(st, PV_ERR_EXISTS, "%s: already exists", what);
	pv_error("store: %s: %s", what, msg);
	return st_fail(st, PV_ERR_STORE, "%s: store error: %s", what, msg);
}

const char *
store_errmsg(const struct store *st)
{
	if (st == NULL || st->err[0] == '\0')
		return "no details";
	return st->err;
}

int
st_prep(struct store *st, const char *sql, struct st_q **out)
{
	size_t i;

	*out = NULL;
	for (i = 0; i < STORE_STMT_CACHE && st->cache[i].sql != NULL; i++) {
		if (st->cache[i].sql == sql) {
			*out = st->cache[i].q;
			return 0;
		}
	}
	if (i == STORE_STMT_CACHE)
		return st_prep_once(st, sql, out);
	if (st->eng->prepare(st, sql, 1, &st->cache[i].q) != 0) {
		(void)st_sqlerr(st, "prepare");
		return PV_ERR_STORE;
	}
	st->cache[i].sql = sql;
	*out = st->cache[i].q;
	return 0;
}

int
st_prep_once(struct store *st, const char *sql, struct st_q **out)
{
	*out = NULL;
	if (st->eng->prepare(st, sql, 0, out) != 0) {
		(void)st_sqlerr(st, "prepare");
		return PV_ERR_STORE;
	}
	return 0;
}

void
st_done(struct st_q *q)
{
	if (q != NULL)
		q->eng->reset(q);
}

void
st_free(struct st_q *q)
{
	if (q != NULL)
		q->eng->finalize(q);
}

int
st_bind_text(struct store *st, struct st_q *q, int i, const char *v)
{
	if (v == NULL)
		return st_bind_null(st, q, i);
	return st_bind_text_len(st, q, i, v, strlen(v));
}

int
st_bind_text_len(
    struct store *st, struct st_q *q, int i, const char *v, size_t len)
{
	return q->eng->bind_text(q, i, v, len) == 0 ? 0 : st_sqlerr(st, "bind");
}

int
st_bind_i64(struct store *st, struct st_q *q, int i, int64_t v)
{
	return q->eng->bind_i64(q, i, v) == 0 ? 0 : st_sqlerr(st, "bind");
}

int
st_bind_blob(struct store *st, struct st_q *q, int i, const void *v, size_t len)
{
	return q->eng->bind_blob(q, i, v, len) == 0 ? 0 : st_sqlerr(st, "bind");
}

int
st_bind_null(struct store *st, struct st_q *q, int i)
{
	return q->eng->bind_null(q, i) == 0 ? 0 : st_sqlerr(st, "bind");
}

int
st_step_done(struct store *st, struct st_q *q, const char *what)
{
	return q->eng->step(q) >= 0 ? 0 : st_sqlerr(st, what);
}

int
st_step_row(struct store *st, struct st_q *q, const char *what)
{
	int rc = q->eng->step(q);

	return rc >= 0 ? rc : st_sqlerr(st, what);
}

int64_t
st_col_i64(struct st_q *q, int i)
{
	return q->eng->col_i64(q, i);
}

int
st_col_int(struct st_q *q, int i)
{
	return (int)q->eng->col_i64(q, i);
}

const char *
st_col_text(struct st_q *q, int i)
{
	return q->eng->col_text(q, i);
}

const void *
st_col_blob(struct st_q *q, int i, size_t *len)
{
	return q->eng->col_blob(q, i, len);
}

int
st_col_is_null(struct st_q *q, int i)
{
	return q->eng->col_is_null(q, i);
}

int
st_col_dup(struct st_q *q, int i, char **out)
{
	const char *t = st_col_text(q, i);

	*out = NULL;
	if (t == NULL)
		return 0;
	if ((*out = strdup(t)) == NULL)
		return PV_ERR_ALLOC;
	return 0;
}

int
st_col_count(struct st_q *q)
{
	return q->eng->col_count(q);
}

int
st_col_type(struct st_q *q, int i)
{
	return q->eng->col_type(q, i);
}

int64_t
st_changes(struct store *st)
{
	return st->eng->changes(st);
}

int
st_last_id(struct store *st, int64_t *id)
{
	*id = 0;
	return st->eng->last_id(st, id) == 0 ? 0 : st_sqlerr(st, "last id");
}

int
st_exec(struct store *st, const char *sql, const char *what)
{
	return st->eng->exec(st, sql) == 0 ? 0 : st_sqlerr(st, what);
}

int
st_begin(struct store *st, int immediate)
{
	int r;

	if (st->in_tx)
		return st_fail(st, PV_ERR_INTERNAL, "nested transaction");
	if (st->batch)
		r = st_exec(st, "SAVEPOINT pv_tx", "savepoint");
	else
		r = st->eng->begin(st, immediate) == 0 ? 0
						       : st_sqlerr(st, "begin");
	if (r == 0)
		st->in_tx = 1;
	return r;
}

int
st_commit(struct store *st)
{
	int r = st_exec(st, st->batch ? "RELEASE pv_tx" : "COMMIT", "commit");

	if (r != 0)
		st_rollback(st);
	st->in_tx = 0;
	return r;
}

void
st_rollback(struct store *st)
{
	if (st->batch) {
		/* this transaction's changes only; the batch goes on */
		if (st->in_tx)
			(void)st->eng->exec(
			    st, "ROLLBACK TO pv_tx; RELEASE pv_tx");
	} else if (st->eng->in_tx(st))
		(void)st->eng->exec(st, "ROLLBACK");
	st->in_tx = 0;
}

/*
 * Group commit: every transaction until store_batch_end is a savepoint of
 * one write transaction, made durable by one commit (one fsync of the WAL
 * instead of one each).  A caller must not act on anything written in the
 * batch before store_batch_end has returned 0.
 */
int
store_batch_begin(struct store *st)
{
	int r;

	if (st->in_tx || st->batch)
		return st_fail(st, PV_ERR_INTERNAL, "nested batch");
	if (st->eng->begin(st, 1) != 0)
		return st_sqlerr(st, "begin batch");
	st->batch = 1;
	r = 0;
	return r;
}

int
store_batch_end(struct store *st)
{
	int r;

	if (!st->batch)
		return st_fail(st, PV_ERR_INTERNAL, "no batch");
	if (st->in_tx)
		st_rollback(st);
	st->batch = 0;
	if ((r = st_exec(st, "COMMIT", "commit batch")) != 0 &&
	    st->eng->in_tx(st))
		(void)st->eng->exec(st, "ROLLBACK");
	return r;
}

static int
st_id_by(struct store *st, const char *sql, const char *kind, const char *name,
    int64_t *id)
{
	struct st_q *s;
	int r;

	*id = 0;
	if (name == NULL)
		return st_fail(st, PV_ERR_INVALID, "%s: no name given", kind);
	if ((r = st_prep(st, sql, &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, name)) != 0)
		goto out;
	if ((r = st_step_row(st, s, kind)) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(
		    st, PV_ERR_NOT_FOUND, "%s %s: not found", kind, name);
		goto out;
	}
	*id = st_col_i64(s, 0);
	r = 0;
out:
	st_done(s);
	return r;
}

int
st_engineer_id(struct store *st, const char *login, int64_t *id)
{
	return st_id_by(st, "SELECT id FROM engineers WHERE login = ?",
	    "engineer", login, id);
}

int
st_provider_id(struct store *st, const char *name, int64_t *id)
{
	return st_id_by(st, "SELECT id FROM providers WHERE name = ?",
	    "provider", name, id);
}

int
st_target_id(struct store *st, const char *name, int64_t *id)
{
	return st_id_by(
	    st, "SELECT id FROM targets WHERE name = ?", "target", name, id);
}

int
st_object(char *buf, size_t len, const char *kind, const char *name)
{
	int n = snprintf(buf, len, "%s:%s", kind, name ? name : "");

	if (n < 0 || (size_t)n >= len)
		return PV_ERR_LIMIT;
	return 0;
}

int
store_name_valid(const char *s)
{
	return pv_name_valid(s);
}

static void
st_cache_clear(struct store *st)
{
	size_t i;

	for (i = 0; i < STORE_STMT_CACHE; i++) {
		st_free(st->cache[i].q);
		st->cache[i] = (struct store_stmt){ NULL, NULL };
	}
}

int
store_where_is_file(const char *where)
{
	return where != NULL && strncmp(where, "postgresql:", 11) != 0;
}

int
store_alive(struct store *st)
{
	return st != NULL && (st->eng->alive == NULL || st->eng->alive(st));
}

int
store_listen(struct store *st)
{
	if (st->eng->listen == NULL)
		return PV_ERR_UNSUPPORTED;
	return st->eng->listen(st) == 0 ? 0 : st_sqlerr(st, "listen");
}

int
store_listen_fd(struct store *st)
{
	return st != NULL && st->eng->listen_fd != NULL ? st->eng->listen_fd(st)
							: -1;
}

int
store_heard(struct store *st, int read)
{
	int n;

	if (st->eng->heard == NULL)
		return PV_ERR_UNSUPPORTED;
	if ((n = st->eng->heard(st, read)) < 0)
		return st_sqlerr(st, "notifications");
	return n;
}

/* "postgresql:..." is PostgreSQL; "sqlite:PATH" or a bare path SQLite. */
static const struct st_engine *
st_engine_for(const char *where, const char **arg)
{
	*arg = where;
	if (strncmp(where, "postgresql:", 11) == 0) {
#ifdef HAVE_LIBPQ
		return &st_engine_pg;
#else
		return NULL;
#endif
	}
	if (strncmp(where, "sqlite:", 7) == 0)
		*arg = where + 7;
	return &st_engine_sqlite;
}

int
store_open(const char *path, struct store **out)
{
	return store_open_bounded(path, 0, out);
}

int
store_open_bounded(const char *path, uint64_t limit_ms, struct store **out)
{
	struct store *st = NULL;
	const char *arg;
	int r = PV_ERR_INTERNAL;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return PV_ERR_ALLOC;
	if ((st->eng = st_engine_for(path, &arg)) == NULL) {
		pv_error("store: this provost is built without PostgreSQL "
			 "(configure --with-postgresql, libpq-dev)");
		free(st);
		return PV_ERR_UNSUPPORTED;
	}
	st->limit_ms = limit_ms;
	if ((r = st->eng->open(st, arg)) != 0)
		goto out;
	if ((r = st_migrate(st)) != 0)
		goto out;
	(void)oath_init();
	*out = st;
	st = NULL;
	r = 0;
out:
	if (st != NULL) {
		st_cache_clear(st);
		st->eng->close(st);
		free(st);
	}
	return r;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->in_tx)
		st_rollback(st);
	if (st->batch && st->eng->in_tx(st)) /* not acted on: not kept */
		(void)st->eng->exec(st, "ROLLBACK");
	st_cache_clear(st);
	st->eng->close(st);
	EVP_PKEY_free(st->audit_key);
	PV_WIPE(st->totp_key);
	(void)oath_done();
	free(st);
}

void
store_forget(struct store *st)
{
	if (st == NULL)
		return;
	st->eng->forget(st);
	/* the keys' copies only; the statements stay as they are, unused */
	EVP_PKEY_free(st->audit_key);
	st->audit_key = NULL;
	PV_WIPE(st->totp_key);
	st->have_totp_key = 0;
}

int
store_schema_version(struct store *st, int *version)
{
	*version = 0;
	return st->eng->get_version(st, version) == 0
	    ? 0
	    : st_sqlerr(st, "schema version");
}

int
store_set_audit_key(struct store *st, EVP_PKEY *key)
{
	if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
		return st_fail(st, PV_ERR_INVALID, "audit key is not Ed25519");
	if (EVP_PKEY_up_ref(key) != 1)
		return PV_ERR_CRYPTO;
	EVP_PKEY_free(st->audit_key);
	st->audit_key = key;
	return 0;
}

int
store_totp_key_create(const char *path)
{
	uint8_t key[STORE_TOTP_KEY_LEN];
	int r;

	if ((r = pv_random_bytes(key, sizeof(key))) == 0)
		r = pv_file_write_new(path, 0600, key, sizeof(key));
	PV_WIPE(key);
	return r;
}

int
store_totp_key_load(struct store *st, const char *path)
{
	uint8_t *d = NULL;
	size_t len = 0;
	struct stat sb;
	int r;

	if (stat(path, &sb) != 0)
		return st_fail(st,
		    errno == ENOENT ? PV_ERR_NOT_FOUND : PV_ERR_IO, "%s: %s",
		    path, strerror(errno));
	if ((sb.st_mode & 077) != 0)
		return st_fail(st, PV_ERR_PERM,
		    "%s: readable by others (mode %03o); chmod 600 it", path,
		    (unsigned int)(sb.st_mode & 0777));
	if ((r = pv_file_read(path, 64, &d, &len)) != 0)
		return st_fail(st, r, "%s: %s", path, pv_err_str(r));
	if (len != STORE_TOTP_KEY_LEN) {
		pv_secret_free(d, len);
		return st_fail(
		    st, PV_ERR_INVALID, "%s: not a 32-byte key", path);
	}
	memcpy(st->totp_key, d, STORE_TOTP_KEY_LEN);
	pv_secret_free(d, len);
	st->have_totp_key = 1;
	return 0;
}

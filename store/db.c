/*
 * db.c: opening the SQLite store (pragmas, migrations), the statement
 * cache, transactions, error translation and small shared helpers.
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

/*
 * Every session process writes its own rows (auth, decision, certificate,
 * session open and close: some eight commits, each an fsync of the WAL
 * with synchronous=FULL).  200 logins at once on a disk that takes 40 ms
 * an fsync queue for well over 5 s, and a writer that gives up refuses a
 * session ("cannot record it"): wait up to 30 s instead.
 */
#define STORE_BUSY_TIMEOUT_MS 30000

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
	int ext = sqlite3_extended_errcode(st->db);

	if (ext == SQLITE_CONSTRAINT_UNIQUE ||
	    ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return st_fail(st, PV_ERR_EXISTS, "%s: already exists", what);
	pv_error("store: %s: %s", what, sqlite3_errmsg(st->db));
	return st_fail(st, PV_ERR_STORE, "%s: store error: %s", what,
	    sqlite3_errmsg(st->db));
}

const char *
store_errmsg(const struct store *st)
{
	if (st == NULL || st->err[0] == '\0')
		return "no details";
	return st->err;
}

int
st_prep(struct store *st, const char *sql, sqlite3_stmt **out)
{
	size_t i;

	*out = NULL;
	for (i = 0; i < STORE_STMT_CACHE && st->cache[i].sql != NULL; i++) {
		if (st->cache[i].sql == sql) {
			*out = st->cache[i].stmt;
			return 0;
		}
	}
	if (i == STORE_STMT_CACHE)
		return st_prep_once(st, sql, out);
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
		&st->cache[i].stmt, NULL) != SQLITE_OK)
		return st_sqlerr(st, "prepare");
	st->cache[i].sql = sql;
	*out = st->cache[i].stmt;
	return 0;
}

int
st_prep_once(struct store *st, const char *sql, sqlite3_stmt **out)
{
	*out = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK)
		return st_sqlerr(st, "prepare");
	return 0;
}

void
st_done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

int
st_bind_text(struct store *st, sqlite3_stmt *s, int i, const char *v)
{
	int rc;

	if (v == NULL)
		rc = sqlite3_bind_null(s, i);
	else
		rc = sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	return rc == SQLITE_OK ? 0 : st_sqlerr(st, "bind");
}

int
st_bind_i64(struct store *st, sqlite3_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(s, i, v) == SQLITE_OK ? 0
							: st_sqlerr(st, "bind");
}

int
st_step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW)
		return 0;
	return st_sqlerr(st, what);
}

int
st_step_row(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return st_sqlerr(st, what);
}

const char *
st_col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

int
st_col_dup(sqlite3_stmt *s, int i, char **out)
{
	const char *t = st_col_text(s, i);

	*out = NULL;
	if (t == NULL)
		return 0;
	if ((*out = strdup(t)) == NULL)
		return PV_ERR_ALLOC;
	return 0;
}

static int
st_exec(struct store *st, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		pv_error("store: %s: %s", what, msg ? msg : "?");
		(void)st_fail(st, PV_ERR_STORE, "%s: store error: %s", what,
		    msg ? msg : "?");
		sqlite3_free(msg);
		return PV_ERR_STORE;
	}
	return 0;
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
		r = st_exec(
		    st, immediate ? "BEGIN IMMEDIATE" : "BEGIN", "begin");
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
			(void)sqlite3_exec(st->db,
			    "ROLLBACK TO pv_tx; RELEASE pv_tx", NULL, NULL,
			    NULL);
	} else if (sqlite3_get_autocommit(st->db) == 0)
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
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
	if ((r = st_exec(st, "BEGIN IMMEDIATE", "begin batch")) == 0)
		st->batch = 1;
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
	    sqlite3_get_autocommit(st->db) == 0)
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int
st_id_by(struct store *st, const char *sql, const char *kind, const char *name,
    int64_t *id)
{
	sqlite3_stmt *s;
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
	*id = sqlite3_column_int64(s, 0);
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
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > STORE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return s[0] != '.' && s[0] != '-';
}

static void
st_cache_clear(struct store *st)
{
	size_t i;

	for (i = 0; i < STORE_STMT_CACHE; i++) {
		sqlite3_finalize(st->cache[i].stmt);
		st->cache[i] = (struct store_stmt){ NULL, NULL };
	}
}

int
store_open(const char *path, struct store **out)
{
	struct store *st = NULL;
	int r = PV_ERR_INTERNAL, mem;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return PV_ERR_ALLOC;
	mem = strcmp(path, ":memory:") == 0;
	if (sqlite3_open_v2(path, &st->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
		NULL) != SQLITE_OK) {
		pv_error("store: open %s: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		r = PV_ERR_STORE;
		goto out;
	}
	(void)sqlite3_extended_result_codes(st->db, 1);
	if (sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK) {
		r = st_sqlerr(st, "busy_timeout");
		goto out;
	}
	if (!mem &&
	    (r = st_exec(st, "PRAGMA journal_mode=WAL", "journal_mode")) != 0)
		goto out;
	if ((r = st_exec(st,
		 "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; "
		 "PRAGMA secure_delete=ON; PRAGMA trusted_schema=OFF",
		 "pragmas")) != 0)
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
		if (st->db != NULL)
			sqlite3_close_v2(st->db);
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
	if (st->batch) /* nothing of it was acted on: not kept */
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st_cache_clear(st);
	sqlite3_close_v2(st->db);
	EVP_PKEY_free(st->audit_key);
	PV_WIPE(st->totp_key);
	(void)oath_done();
	free(st);
}

int
store_schema_version(struct store *st, int *version)
{
	sqlite3_stmt *s;
	int r;

	*version = 0;
	if ((r = st_prep(st, "PRAGMA user_version", &s)) != 0)
		return r;
	if ((r = st_step_row(st, s, "user_version")) == 1) {
		*version = sqlite3_column_int(s, 0);
		r = 0;
	} else if (r == 0)
		r = PV_ERR_STORE;
	st_done(s);
	return r;
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

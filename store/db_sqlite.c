/*
 * db_sqlite.c: the SQLite engine of the store (WAL, one file): the only
 * file of store/ that calls SQLite.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/common.h"
#include "store/db_sqlite.h"
#include "store/store-int.h"

/*
 * Every session process writes its own rows (auth, decision, certificate,
 * session open and close: some eight commits, each an fsync of the WAL
 * with synchronous=FULL).  200 logins at once on a disk that takes 40 ms
 * an fsync queue for well over 5 s, and a writer that gives up refuses a
 * session ("cannot record it"): wait up to 30 s instead.
 */
#define STORE_BUSY_TIMEOUT_MS 30000

/* The page cache's own pages (store_cache_private), NULL: the heap's. */
#define SQ_PAGE ((size_t)4096)
static void *sq_cache;
static size_t sq_cache_len;

int
store_cache_private(size_t bytes, void **base)
{
	int hdr = 0, slot, n;
	size_t len;
	void *p;

	if (base != NULL)
		*base = NULL;
	if (sq_cache != NULL)
		return PV_ERR_INVALID;
	if (sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &hdr) != SQLITE_OK ||
	    hdr < 0 || hdr > 4096)
		return PV_ERR_STORE;
	/* a 4 KiB page (SQLite's default) and its header, 8-byte aligned */
	slot = (4096 + hdr + 7) & ~7;
	if ((n = (int)(bytes / (size_t)slot)) < 1)
		return PV_ERR_INVALID;
	/*
	 * Between two inaccessible pages: a mapping of its own, never merged
	 * with a neighbour (and an overrun faults).
	 */
	len = ((size_t)slot * (size_t)n + SQ_PAGE - 1) / SQ_PAGE * SQ_PAGE;
	p = mmap(NULL, len + 2 * SQ_PAGE, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS,
	    // cppcheck-suppress invalidFunctionArg
	    -1, 0);
	if (p == MAP_FAILED)
		return PV_ERR_ALLOC;
	if (mprotect((char *)p + SQ_PAGE, len, PROT_READ | PROT_WRITE) != 0 ||
	    sqlite3_config(SQLITE_CONFIG_PAGECACHE, (char *)p + SQ_PAGE, slot,
		n) != SQLITE_OK) {
		/* SQLite is configured only before its first use */
		(void)munmap(p, len + 2 * SQ_PAGE);
		return PV_ERR_STORE;
	}
	sq_cache = p;
	sq_cache_len = len + 2 * SQ_PAGE;
	p = (char *)p + SQ_PAGE;
	if (base != NULL)
		*base = p;
	return 0;
}

void
store_cache_forget(void)
{
	if (sq_cache != NULL)
		(void)munmap(sq_cache, sq_cache_len);
	sq_cache = NULL;
	sq_cache_len = 0;
}

struct sq_q {
	struct st_q q; /* first */
	sqlite3_stmt *s;
};

struct sq_conn {
	sqlite3 *db;
	char *msg;  /* the last sqlite3_exec error */
	char *real; /* the file's real path (NULL: in memory) */
};

static sqlite3 *
sq_db(struct store *st)
{
	return ((struct sq_conn *)st->conn)->db;
}

sqlite3 *
st_sqlite_db(struct store *st)
{
	if (st == NULL || st->eng != &st_engine_sqlite)
		return NULL;
	return sq_db(st);
}

static sqlite3_stmt *
sq_s(struct st_q *q)
{
	return ((struct sq_q *)q)->s;
}

static int
sq_exec(struct store *st, const char *sql)
{
	struct sq_conn *c = st->conn;

	sqlite3_free(c->msg);
	c->msg = NULL;
	return sqlite3_exec(c->db, sql, NULL, NULL, &c->msg) == SQLITE_OK
	    ? 0
	    : PV_ERR_STORE;
}

static const char *
sq_errmsg(struct store *st, int *unique)
{
	struct sq_conn *c = st->conn;
	int ext = sqlite3_extended_errcode(c->db);

	*unique = ext == SQLITE_CONSTRAINT_UNIQUE ||
	    ext == SQLITE_CONSTRAINT_PRIMARYKEY;
	if (c->msg != NULL)
		return c->msg;
	return sqlite3_errmsg(c->db);
}

static int
sq_open(struct store *st, const char *path)
{
	struct sq_conn *c;
	int mem;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PV_ERR_ALLOC;
	st->conn = c;
	mem = strcmp(path, ":memory:") == 0;
	if (sqlite3_open_v2(path, &c->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
		NULL) != SQLITE_OK) {
		pv_error("store: open %s: %s", path,
		    c->db ? sqlite3_errmsg(c->db) : "out of memory");
		return st_fail(st, PV_ERR_STORE, "open %s: %s", path,
		    c->db ? sqlite3_errmsg(c->db) : "out of memory");
	}
	(void)sqlite3_extended_result_codes(c->db, 1);
	/* what store_forget lets go of: the file, -wal, -shm, -journal */
	if (!mem && (c->real = realpath(path, NULL)) == NULL)
		return st_fail(
		    st, PV_ERR_STORE, "open %s: %s", path, strerror(errno));
	if (sqlite3_busy_timeout(c->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK)
		return st_sqlerr(st, "busy_timeout");
	if (!mem && sq_exec(st, "PRAGMA journal_mode=WAL") != 0)
		return st_sqlerr(st, "journal_mode");
	if (sq_exec(st,
		"PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; "
		"PRAGMA secure_delete=ON; PRAGMA trusted_schema=OFF") != 0)
		return st_sqlerr(st, "pragmas");
	return 0;
}

static void
sq_close(struct store *st)
{
	struct sq_conn *c = st->conn;

	if (c == NULL)
		return;
	if (c->db != NULL)
		sqlite3_close_v2(c->db);
	sqlite3_free(c->msg);
	free(c->real);
	free(c);
	st->conn = NULL;
}

/*
 * In a forked process: SQLite must not see its connection there (a close
 * would end the parent's locks' meaning, checkpoint or delete the WAL),
 * so the descriptors of the file and its -wal, -shm and -journal are
 * closed and their mappings (the shared -shm index) unmapped behind its
 * back.  Nothing of the process can then write the store.
 */
static void
sq_forget(struct store *st)
{
	struct sq_conn *c = st->conn;

	if (c != NULL && c->real != NULL && pv_file_forget(c->real) < 0) {
		pv_error("store: the forked process could not let go of %s; "
			 "exiting",
		    c->real);
		_exit(1);
	}
	st->conn = NULL;
}

static int
sq_prepare(struct store *st, const char *sql, int persistent, struct st_q **out)
{
	struct sq_q *q;
	int rc;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return PV_ERR_ALLOC;
	q->q.eng = &st_engine_sqlite;
	q->q.st = st;
	if (persistent)
		rc = sqlite3_prepare_v3(
		    sq_db(st), sql, -1, SQLITE_PREPARE_PERSISTENT, &q->s, NULL);
	else
		rc = sqlite3_prepare_v2(sq_db(st), sql, -1, &q->s, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(q->s);
		free(q);
		return PV_ERR_STORE;
	}
	*out = &q->q;
	return 0;
}

static void
sq_reset(struct st_q *q)
{
	sqlite3_reset(sq_s(q));
	sqlite3_clear_bindings(sq_s(q));
}

static void
sq_finalize(struct st_q *q)
{
	sqlite3_finalize(sq_s(q));
	free(q);
}

static int
sq_bind_text(struct st_q *q, int i, const char *v, size_t len)
{
	if (len > INT32_MAX)
		return PV_ERR_LIMIT;
	return sqlite3_bind_text(sq_s(q), i, v, (int)len, SQLITE_TRANSIENT) ==
		SQLITE_OK
	    ? 0
	    : PV_ERR_STORE;
}

static int
sq_bind_i64(struct st_q *q, int i, int64_t v)
{
	return sqlite3_bind_int64(sq_s(q), i, v) == SQLITE_OK ? 0
							      : PV_ERR_STORE;
}

static int
sq_bind_blob(struct st_q *q, int i, const void *v, size_t len)
{
	if (len > INT32_MAX)
		return PV_ERR_LIMIT;
	return sqlite3_bind_blob(sq_s(q), i, v, (int)len, SQLITE_TRANSIENT) ==
		SQLITE_OK
	    ? 0
	    : PV_ERR_STORE;
}

static int
sq_bind_null(struct st_q *q, int i)
{
	return sqlite3_bind_null(sq_s(q), i) == SQLITE_OK ? 0 : PV_ERR_STORE;
}

static int
sq_step(struct st_q *q)
{
	struct sq_conn *c = q->st->conn;
	int rc;

	sqlite3_free(c->msg);
	c->msg = NULL;
	rc = sqlite3_step(sq_s(q));
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return PV_ERR_STORE;
}

static int64_t
sq_col_i64(struct st_q *q, int i)
{
	return sqlite3_column_int64(sq_s(q), i);
}

static const char *
sq_col_text(struct st_q *q, int i)
{
	return (const char *)sqlite3_column_text(sq_s(q), i);
}

static const void *
sq_col_blob(struct st_q *q, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(sq_s(q), i);
	int n = sqlite3_column_bytes(sq_s(q), i);

	*len = p != NULL && n > 0 ? (size_t)n : 0;
	return *len > 0 ? p : NULL;
}

static int
sq_col_is_null(struct st_q *q, int i)
{
	return sqlite3_column_type(sq_s(q), i) == SQLITE_NULL;
}

static int
sq_col_count(struct st_q *q)
{
	return sqlite3_column_count(sq_s(q));
}

static int
sq_col_type(struct st_q *q, int i)
{
	switch (sqlite3_column_type(sq_s(q), i)) {
	case SQLITE_INTEGER:
		return ST_T_INT;
	case SQLITE_FLOAT:
		return ST_T_REAL;
	case SQLITE_TEXT:
		return ST_T_TEXT;
	case SQLITE_BLOB:
		return ST_T_BLOB;
	default:
		return ST_T_NULL;
	}
}

static int64_t
sq_changes(struct store *st)
{
	return sqlite3_changes(sq_db(st));
}

static int
sq_last_id(struct store *st, int64_t *id)
{
	*id = sqlite3_last_insert_rowid(sq_db(st));
	return 0;
}

static int
sq_begin(struct store *st, int immediate)
{
	return sq_exec(st, immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

static int
sq_in_tx(struct store *st)
{
	return sqlite3_get_autocommit(sq_db(st)) == 0;
}

static int
sq_get_version(struct store *st, int *version)
{
	sqlite3_stmt *s = NULL;
	int r = PV_ERR_STORE;

	*version = 0;
	if (sqlite3_prepare_v2(
		sq_db(st), "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		*version = sqlite3_column_int(s, 0);
		r = 0;
	}
	sqlite3_finalize(s);
	return r;
}

static int
sq_set_version(struct store *st, int version)
{
	char sql[64];
	int n = snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);

	if (n < 0 || (size_t)n >= sizeof(sql))
		return PV_ERR_INTERNAL;
	return sq_exec(st, sql);
}

static int
sq_migration(struct store *st, int version, const char *sql)
{
	(void)version;
	return sq_exec(st, sql);
}

const struct st_engine st_engine_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.forget = sq_forget,
	.prepare = sq_prepare,
	.reset = sq_reset,
	.finalize = sq_finalize,
	.bind_text = sq_bind_text,
	.bind_i64 = sq_bind_i64,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_i64 = sq_col_i64,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.col_is_null = sq_col_is_null,
	.col_count = sq_col_count,
	.col_type = sq_col_type,
	.changes = sq_changes,
	.last_id = sq_last_id,
	.exec = sq_exec,
	.begin = sq_begin,
	.in_tx = sq_in_tx,
	.errmsg = sq_errmsg,
	.get_version = sq_get_version,
	.set_version = sq_set_version,
	.migration = sq_migration,
};

/*
 * store-int.h: what the store's files share: the handle and its engine,
 * cached prepared statements, transactions, errors and the audit append.
 */
#ifndef PROVOST_STORE_INT_H
#define PROVOST_STORE_INT_H

#include "store/store.h"

#define STORE_STMT_CACHE 64
#define STORE_TOTP_KEY_LEN 32
#define STORE_HASH_HEX 65

/*
 * An engine (db_sqlite.c, db_pg.c) behind the statement API below: the
 * store's modules never see SQLite or libpq.  SQL is written with ?N or ?
 * placeholders and the SQL both engines accept.
 */
struct st_q; /* a prepared statement of some engine */

struct st_engine {
	const char *name;
	int (*open)(struct store *st, const char *where);
	void (*close)(struct store *st);
	/*
	 * store_forget's, in a forked process: the connection let go without
	 * a call into the engine's library (its memory is left as it is).
	 */
	void (*forget)(struct store *st);
	int (*prepare)(struct store *st, const char *sql, int persistent,
	    struct st_q **out);
	void (*reset)(struct st_q *q);
	void (*finalize)(struct st_q *q);
	int (*bind_text)(struct st_q *q, int i, const char *v, size_t len);
	int (*bind_i64)(struct st_q *q, int i, int64_t v);
	int (*bind_blob)(struct st_q *q, int i, const void *v, size_t len);
	int (*bind_null)(struct st_q *q, int i);
	/* 1 a row, 0 done, < 0 error (the engine's error is kept) */
	int (*step)(struct st_q *q);
	int64_t (*col_i64)(struct st_q *q, int i);
	const char *(*col_text)(struct st_q *q, int i);
	const void *(*col_blob)(struct st_q *q, int i, size_t *len);
	int (*col_is_null)(struct st_q *q, int i);
	int64_t (*changes)(struct store *st);
	int (*last_id)(struct store *st, int64_t *id);
	/* runs one or more statements without results */
	int (*exec)(struct store *st, const char *sql);
	int (*begin)(struct store *st, int immediate);
	int (*in_tx)(struct store *st);
	/* the last error's text, and whether it was a unique violation */
	const char *(*errmsg)(struct store *st, int *unique);
	int (*get_version)(struct store *st, int *version);
	int (*set_version)(struct store *st, int version);
	int (*col_count)(struct st_q *q);
	/* ST_T_* of a column of the current row */
	int (*col_type)(struct st_q *q, int i);
	/* applies the schema's step to version (the text is SQLite's) */
	int (*migration)(struct store *st, int version, const char *sql);
	/* 0 when the connection is lost for good (reopen); NULL: a file */
	int (*alive)(struct store *st);
	/* store_listen's (NULL: the engine has no notifications) */
	int (*notify)(struct store *st); /* in the writer's transaction */
	int (*listen)(struct store *st);
	int (*listen_fd)(struct store *st);
	int (*heard)(struct store *st, int read);
};

/* Every engine's statement starts with this. */
struct st_q {
	const struct st_engine *eng;
	struct store *st;
};

struct store_stmt {
	const char *sql; /* compared by pointer: static strings only */
	struct st_q *q;
};

struct store {
	const struct st_engine *eng;
	void *conn; /* the engine's */
	int in_tx;
	int batch; /* store_batch_begin: transactions are savepoints in it */
	int in_checkpoint;
	uint64_t limit_ms; /* store_open_bounded: a round trip's bound */
	EVP_PKEY *audit_key;
	int have_totp_key;
	uint8_t totp_key[STORE_TOTP_KEY_LEN];
	char err[256];
	struct store_stmt cache[STORE_STMT_CACHE];
};

extern const struct st_engine st_engine_sqlite;
#ifdef HAVE_LIBPQ
extern const struct st_engine st_engine_pg;
#endif

/* Sets store_errmsg() and returns r. */
int st_fail(struct store *st, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Logs the engine's error once and returns PV_ERR_STORE (or a mapped code). */
int st_sqlerr(struct store *st, const char *what);

/* A cached prepared statement, reset and unbound; never nest the same SQL. */
int st_prep(struct store *st, const char *sql, struct st_q **out);
/* A fresh statement for list walks (callbacks may re-enter the store). */
int st_prep_once(struct store *st, const char *sql, struct st_q **out);
/* Resets a statement (cached or not) and clears its bindings. */
void st_done(struct st_q *q);
/* Frees a statement from st_prep_once. */
void st_free(struct st_q *q);

int st_bind_text(struct store *st, struct st_q *q, int i, const char *v);
/* len bytes of v (no NUL needed) as text */
int st_bind_text_len(
    struct store *st, struct st_q *q, int i, const char *v, size_t len);
int st_bind_i64(struct store *st, struct st_q *q, int i, int64_t v);
int st_bind_blob(
    struct store *st, struct st_q *q, int i, const void *v, size_t len);
int st_bind_null(struct store *st, struct st_q *q, int i);
/* Runs a statement expected to finish (a row is ignored). */
int st_step_done(struct store *st, struct st_q *q, const char *what);
/* A row -> 1, done -> 0, else < 0. */
int st_step_row(struct store *st, struct st_q *q, const char *what);
int64_t st_col_i64(struct st_q *q, int i);
int st_col_int(struct st_q *q, int i);
/* Text column copied (NULL stays NULL); PV_ERR_ALLOC on failure. */
int st_col_dup(struct st_q *q, int i, char **out);
const char *st_col_text(struct st_q *q, int i);
/* NULL and *len 0 for NULL or empty */
const void *st_col_blob(struct st_q *q, int i, size_t *len);
int st_col_is_null(struct st_q *q, int i);
enum { ST_T_NULL, ST_T_INT, ST_T_TEXT, ST_T_BLOB, ST_T_REAL };
int st_col_count(struct st_q *q);
int st_col_type(struct st_q *q, int i);
/* Rows the last INSERT, UPDATE or DELETE changed. */
int64_t st_changes(struct store *st);
/* The id the last INSERT into a table with an integer key gave its row. */
int st_last_id(struct store *st, int64_t *id);
/* Statements without results, outside the statement cache. */
int st_exec(struct store *st, const char *sql, const char *what);

int st_begin(struct store *st, int immediate);
int st_commit(struct store *st);
void st_rollback(struct store *st);

/* Looks up ids by name; PV_ERR_NOT_FOUND with store_errmsg set. */
int st_engineer_id(struct store *st, const char *login, int64_t *id);
int st_provider_id(struct store *st, const char *name, int64_t *id);
int st_target_id(struct store *st, const char *name, int64_t *id);

/*
 * Appends an audit row inside the caller's transaction.  details is
 * stolen (may be NULL); json_pack errors (NULL) are reported.
 */
int st_audit(struct store *st, const char *actor, const char *action,
    const char *object, json_t *details);
/*
 * hash = SHA-256(prev || canonical row JSON); *canonical if details is.
 * Form 2 rows (schema 2 on) have their seq in the JSON, form 1 not.
 */
#define ST_AUDIT_FORM 2
int st_audit_row_hash(const char *prev_hex, uint64_t seq, int form, int64_t ts,
    const char *actor, const char *action, const char *object,
    const char *details_text, char hash_hex[STORE_HASH_HEX], int *canonical);
/* "kind:name" into buf. */
int st_object(char *buf, size_t len, const char *kind, const char *name);

/*
 * The reader the imports share (import.c): CSV with a header row naming
 * the columns (any order, an unknown one refused) or JSON lines (one
 * object a line, string values; integers too when integers is set).
 * Blank lines, '#' lines and a UTF-8 byte order mark are skipped.  Each
 * row is checked by row_check as it is read; the first fault is
 * "NAME:LINE: what" in err and PV_ERR_INVALID.
 */
#define ST_IMP_COLS_MAX 16
#define ST_IMP_LINE_MAX 4096
struct st_imp_row {
	size_t line;
	char *v[ST_IMP_COLS_MAX]; /* by column; NULL: empty */
};
struct st_imp {
	/* set by the caller */
	const char *name; /* the file, for messages */
	const char *what; /* "exposures": "no exposures" in an empty file */
	const char *const *colnames;
	size_t ncolnames;
	size_t max_rows;
	int integers;
	/* seen[i] counts column i in the header: NULL or what is missing */
	const char *(*header_check)(const int *seen);
	const char *(*row_check)(void *ctx, const struct st_imp_row *row);
	void *ctx;
	char *err;
	size_t errlen;
	/* the result */
	struct st_imp_row *rows;
	size_t n, cap;
	/* the reader's */
	int cols[ST_IMP_COLS_MAX];
	size_t ncols;
	int header_seen;
	int jsonl;
};
int st_imp_parse(struct st_imp *m, const char *data, size_t len);
void st_imp_free(struct st_imp *m);
int st_imp_fail(struct st_imp *m, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A session's pending kill is done (inside the caller's transaction). */
int st_session_kill_done(struct store *st, const char *id, int64_t now);

/* The schema (migrate.c). */
int st_migrate(struct store *st);

/*
 * Who signs in to the broker with a key and a TOTP code: engineers and
 * (schema 7) approvers.  keys.c and totp.c do the work for both from
 * this table; only the statements and the names differ.  Every
 * statement binds the person's id or name as ?1.
 */
struct st_principal {
	const char *kind; /* "engineer", "approver": audit objects, errors */
	int (*id)(struct store *st, const char *name, int64_t *id);
	/* ?1 id, type, blob, fingerprint, comment, added_at */
	const char *key_ins;
	/* ?1 id: id, type, fingerprint, comment, added_at */
	const char *key_list;
	/* ?1 name, ?2 fingerprint: the blob of an active key */
	const char *key_match;
	/* ?1 id, ?2 fingerprint, ?3 now */
	const char *key_revoke;
	/* ?1 id, ?2 sealed, ?3 now: enrols again */
	const char *totp_set;
	/* ?1 name: id, sealed, last_step, failures, locked_until */
	const char *totp_get;
	/* ?1 step, ?2 id */
	const char *totp_step;
	/* ?1 id, ?2 failures, ?3 lock until (< 0: clear) */
	const char *fails_set;
	const char *seal_aad; /* binds a sealed secret to its kind */
};
extern const struct st_principal st_engineer_principal;
extern const struct st_principal st_approver_principal;
int st_key_add(struct store *st, const struct st_principal *p,
    const char *actor, const char *name, const char *line, char **fingerprint);
int st_key_list(struct store *st, const struct st_principal *p,
    const char *name, store_key_cb cb, void *ctx);
int st_key_match(struct store *st, const struct st_principal *p,
    const char *name, const uint8_t *blob, size_t len);
int st_key_revoke(struct store *st, const struct st_principal *p,
    const char *actor, const char *name, const char *fingerprint);
int st_totp_set(struct store *st, const struct st_principal *p,
    const char *actor, const char *name, const uint8_t *secret, size_t len);
int st_totp_check(struct store *st, const struct st_principal *p,
    const char *name, const char *code, int64_t now);

/* An OpenSSH public key line parsed: type, wire blob, comment. */
int st_pubkey_parse(const char *line, char **type, uint8_t **blob,
    size_t *bloblen, char **comment);
int st_pubkey_fingerprint(
    const uint8_t *blob, size_t len, char *out, size_t outlen);

#endif /* PROVOST_STORE_INT_H */

/*
 * store-int.h: what the store's SQLite files share: the handle, cached
 * prepared statements, transactions, errors and the audit append.
 */
#ifndef PROVOST_STORE_INT_H
#define PROVOST_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

#define STORE_STMT_CACHE 64
#define STORE_TOTP_KEY_LEN 32
#define STORE_HASH_HEX 65

struct store_stmt {
	const char *sql; /* compared by pointer: static strings only */
	sqlite3_stmt *stmt;
};

struct store {
	sqlite3 *db;
	int in_tx;
	int batch; /* store_batch_begin: transactions are savepoints in it */
	int in_checkpoint;
	EVP_PKEY *audit_key;
	int have_totp_key;
	uint8_t totp_key[STORE_TOTP_KEY_LEN];
	char err[256];
	struct store_stmt cache[STORE_STMT_CACHE];
};

/* Sets store_errmsg() and returns r. */
int st_fail(struct store *st, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Logs the SQLite error once and returns PV_ERR_STORE (or a mapped code). */
int st_sqlerr(struct store *st, const char *what);

/* A cached prepared statement, reset and unbound; never nest the same SQL. */
int st_prep(struct store *st, const char *sql, sqlite3_stmt **out);
/* A fresh statement for list walks (callbacks may re-enter the store). */
int st_prep_once(struct store *st, const char *sql, sqlite3_stmt **out);
void st_done(sqlite3_stmt *s);

int st_bind_text(struct store *st, sqlite3_stmt *s, int i, const char *v);
int st_bind_i64(struct store *st, sqlite3_stmt *s, int i, int64_t v);
/* Runs a statement expected to finish with SQLITE_DONE. */
int st_step_done(struct store *st, sqlite3_stmt *s, const char *what);
/* SQLITE_ROW -> 1, SQLITE_DONE -> 0, else < 0. */
int st_step_row(struct store *st, sqlite3_stmt *s, const char *what);
/* Text column copied (NULL stays NULL); PV_ERR_ALLOC on failure. */
int st_col_dup(sqlite3_stmt *s, int i, char **out);
const char *st_col_text(sqlite3_stmt *s, int i);

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

/* The schema (migrate.c). */
int st_migrate(struct store *st);

/* An OpenSSH public key line parsed: type, wire blob, comment. */
int st_pubkey_parse(const char *line, char **type, uint8_t **blob,
    size_t *bloblen, char **comment);
int st_pubkey_fingerprint(
    const uint8_t *blob, size_t len, char *out, size_t outlen);

#endif /* PROVOST_STORE_INT_H */

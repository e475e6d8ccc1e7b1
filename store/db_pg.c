/*
 * db_pg.c: the PostgreSQL engine of the store (libpq), for several brokers
 * on one store: the only file of store/ that calls libpq.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "common/common.h"
#include "store/db_pg.h"
#include "store/store-int.h"

#define PG_PARAMS_MAX 32
#define PG_BYTEA_OID 17
#define PG_INT8_OID 20
#define PG_TEXT_OID 25
/* every writer's transaction takes this lock: one audit chain */
#define PG_WRITE_LOCK "7001700170017001"
#define PG_SQLSTATE_UNIQUE "23505"
#define PG_CONNECT_TIMEOUT "3"
/* revocations announced to the brokers' monitors (store_listen) */
#define PG_CHANNEL "provost_revoke"

struct pg_conn {
	PGconn *c;
	char err[512];
	int unique;
	int64_t changes;
	unsigned int nprep; /* server-side statements made: their names */
	uint64_t limit_ms;  /* a round trip's bound; 0: none */
	int dropped;        /* the bound passed: the connection is given up */
};

struct pg_q {
	struct st_q q; /* first */
	char *sql;     /* placeholders as $N */
	int nparams;
	char *vals[PG_PARAMS_MAX];
	int lens[PG_PARAMS_MAX];
	int fmts[PG_PARAMS_MAX];
	unsigned int types[PG_PARAMS_MAX];
	PGresult *res;
	int executed, row, nrows;
	unsigned char *blob; /* the last column read as a blob */
	/*
	 * A cached statement is prepared on the server at its first run
	 * (planning is most of a short query's time there) and run by name
	 * while its parameters' types are the ones it was prepared with.
	 */
	int persistent, prepared;
	char name[16];
	unsigned int ptypes[PG_PARAMS_MAX];
};

static struct pg_conn *
pg_c(struct store *st)
{
	return st->conn;
}

/* The first line of libpq's message, kept for errmsg. */
static void
pg_keep_err(struct pg_conn *c, const char *msg, const char *state)
{
	size_t n;

	c->unique = state != NULL && strcmp(state, PG_SQLSTATE_UNIQUE) == 0;
	if (msg == NULL || *msg == '\0')
		msg = "unknown error";
	n = strcspn(msg, "\n");
	if (n >= sizeof(c->err))
		n = sizeof(c->err) - 1;
	memcpy(c->err, msg, n);
	c->err[n] = '\0';
}

static int
pg_result_ok(struct pg_conn *c, PGresult *res)
{
	ExecStatusType t = PQresultStatus(res);

	if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK)
		return 0;
	/* no result: pg_wait kept why */
	if (res != NULL)
		pg_keep_err(c, PQresultErrorMessage(res),
		    PQresultErrorField(res, PG_DIAG_SQLSTATE));
	return PV_ERR_STORE;
}

/*
 * ?N and ? (one past the highest so far, as SQLite numbers them) become
 * $N; quoted strings and identifiers are copied as they are.  The few
 * SQLite spellings module SQL still has are rewritten here.
 */
static int
pg_translate(const char *sql, char **out, int *nparams)
{
	static const struct {
		const char *from, *to;
	} rw[] = {
		{ "group_concat(DISTINCT e.login)",
		    "string_agg(DISTINCT e.login, ',')" },
	};
	size_t len = strlen(sql), cap = len * 2 + 64, o = 0, i, k;
	char *b;
	int maxp = 0;

	*out = NULL;
	*nparams = 0;
	if ((b = malloc(cap)) == NULL)
		return PV_ERR_ALLOC;
	for (i = 0; i < len;) {
		char ch = sql[i];

		if (o + 64 > cap) {
			free(b);
			return PV_ERR_LIMIT;
		}
		for (k = 0; k < sizeof(rw) / sizeof(rw[0]); k++) {
			size_t fl = strlen(rw[k].from), tl = strlen(rw[k].to);

			if (strncmp(sql + i, rw[k].from, fl) == 0 &&
			    o + tl + 64 < cap) {
				memcpy(b + o, rw[k].to, tl);
				o += tl;
				i += fl;
				break;
			}
		}
		if (k < sizeof(rw) / sizeof(rw[0]))
			continue;
		if (ch == '\'' || ch == '"') {
			b[o++] = sql[i++];
			while (i < len && o + 2 < cap) {
				b[o++] = sql[i];
				if (sql[i++] == ch)
					break;
			}
			continue;
		}
		if (ch == '?') {
			int n = 0;

			i++;
			if (isdigit((unsigned char)sql[i])) {
				while (
				    isdigit((unsigned char)sql[i]) && n < 1000)
					n = n * 10 + (sql[i++] - '0');
			} else
				n = maxp + 1;
			if (n < 1 || n > PG_PARAMS_MAX) {
				free(b);
				return PV_ERR_LIMIT;
			}
			if (n > maxp)
				maxp = n;
			o += (size_t)snprintf(b + o, cap - o, "$%d", n);
			continue;
		}
		b[o++] = sql[i++];
	}
	b[o] = '\0';
	*out = b;
	*nparams = maxp;
	return 0;
}

/*
 * The connection is given up: its socket shut down (libpq's later writes
 * fail at once, PQfinish sends nothing that could wait), and alive says
 * 0, so the caller closes the store and opens it again.  PQcancel is not
 * used: it opens a new connection to the server that stopped answering.
 */
static void
pg_drop(struct pg_conn *c, const char *why)
{
	int fd = PQsocket(c->c);

	if (fd >= 0)
		(void)shutdown(fd, SHUT_RDWR);
	c->dropped = 1;
	pg_keep_err(c, why, NULL);
}

/* The time left before end (pv_mono_ms), for poll: -1 without a bound. */
static int
pg_left(uint64_t end)
{
	uint64_t now;

	if (end == 0)
		return -1;
	now = pv_mono_ms();
	if (now >= end)
		return 0;
	return end - now > INT32_MAX ? INT32_MAX : (int)(end - now);
}

/*
 * Waits for every result of what was just sent, within the bound: the
 * first error, else the last result (NULL with c->err set when nothing
 * came).  Past the bound the connection is dropped and the query fails.
 */
static PGresult *
pg_wait(struct pg_conn *c, int sent)
{
	uint64_t end = c->limit_ms ? pv_mono_ms() + c->limit_ms : 0;
	PGresult *res, *keep = NULL;
	struct pollfd p;
	int flushing, n;
	char why[128];

	if (!sent) {
		pg_keep_err(c, PQerrorMessage(c->c), NULL);
		return NULL;
	}
	for (;;) {
		if ((flushing = PQflush(c->c)) < 0)
			break;
		if (!flushing && !PQisBusy(c->c)) {
			if ((res = PQgetResult(c->c)) == NULL)
				return keep;
			/* the first error is the answer */
			if (keep != NULL &&
			    PQresultStatus(keep) == PGRES_FATAL_ERROR)
				PQclear(res);
			else {
				PQclear(keep);
				keep = res;
			}
			continue;
		}
		p = (struct pollfd){ .fd = PQsocket(c->c),
			.events = (short)(POLLIN | (flushing ? POLLOUT : 0)) };
		if (p.fd < 0)
			break;
		n = poll(&p, 1, pg_left(end));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			(void)snprintf(why, sizeof(why),
			    "the server did not answer within %llu ms; "
			    "connection dropped",
			    (unsigned long long)c->limit_ms);
			pg_drop(c, why);
			PQclear(keep);
			return NULL;
		}
		/* a hang-up or an error is libpq's to read, or this spins */
		if (n < 0 ||
		    ((p.revents & (POLLIN | POLLHUP | POLLERR)) &&
			!PQconsumeInput(c->c)))
			break;
	}
	pg_keep_err(c, PQerrorMessage(c->c), NULL);
	PQclear(keep);
	return NULL;
}

/* One or more statements without parameters: PQexec within the bound. */
static PGresult *
pg_query(struct pg_conn *c, const char *sql)
{
	if (c->dropped) /* c->err says why */
		return NULL;
	return pg_wait(c, PQsendQuery(c->c, sql));
}

static int
pg_exec(struct store *st, const char *sql)
{
	struct pg_conn *c = pg_c(st);
	PGresult *res = pg_query(c, sql);
	int r = pg_result_ok(c, res);

	PQclear(res);
	return r;
}

static const char *
pg_errmsg(struct store *st, int *unique)
{
	struct pg_conn *c = pg_c(st);

	*unique = c->unique;
	return c->err[0] != '\0' ? c->err : "unknown error";
}

/*
 * PQconnectPoll's steps within the bound; past it the attempt is given
 * up (CONNECTION_BAD, c->err says why).  A server that accepts on its
 * socket and says nothing (stopped) costs the caller the bound, no more.
 */
static void
pg_connect_wait(struct pg_conn *c)
{
	uint64_t end = pv_mono_ms() + c->limit_ms;
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	struct pollfd p;
	int n;

	while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
		p = (struct pollfd){ .fd = PQsocket(c->c),
			.events =
			    ps == PGRES_POLLING_READING ? POLLIN : POLLOUT };
		if (p.fd < 0)
			return;
		n = poll(&p, 1, pg_left(end));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			(void)snprintf(c->err, sizeof(c->err),
			    "the server did not answer within %llu ms",
			    (unsigned long long)c->limit_ms);
			PQfinish(c->c);
			c->c = NULL;
			return;
		}
		ps = PQconnectPoll(c->c);
	}
}

/* "postgresql:" alone: libpq's environment and service files decide. */
static int
pg_open(struct store *st, const char *where)
{
	struct pg_conn *c;
	const char *info = strcmp(where, "postgresql:") == 0 ? "" : where;
	const char *kw[3] = { NULL }, *vals[3] = { NULL };
	size_t n = 0;
	PGresult *res;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PV_ERR_ALLOC;
	st->conn = c;
	/*
	 * A server that does not answer must not hold the broker's monitor
	 * for long: connect_timeout 3 s unless the string or the
	 * environment says otherwise (the string's own value wins).
	 */
	if (getenv("PGCONNECT_TIMEOUT") == NULL) {
		kw[n] = "connect_timeout";
		vals[n++] = PG_CONNECT_TIMEOUT;
	}
	if (*info != '\0') {
		/* what is not a connection string is not a database's name */
		char *perr = NULL;
		PQconninfoOption *o = PQconninfoParse(info, &perr);

		if (o == NULL) {
			pg_keep_err(
			    c, perr != NULL ? perr : "out of memory", NULL);
			PQfreemem(perr);
			pv_error(
			    "store: postgresql: cannot connect: %s", c->err);
			return st_fail(st, PV_ERR_STORE,
			    "postgresql: cannot connect: %s", c->err);
		}
		PQconninfoFree(o);
		kw[n] = "dbname";
		vals[n++] = info;
	}
	c->limit_ms = st->limit_ms;
	if (c->limit_ms == 0)
		c->c = PQconnectdbParams(kw, vals, 1);
	else if ((c->c = PQconnectStartParams(kw, vals, 1)) != NULL)
		pg_connect_wait(c);
	if (c->c == NULL || PQstatus(c->c) != CONNECTION_OK) {
		/* never the connection string: it may hold a password */
		if (c->c != NULL || c->err[0] == '\0')
			pg_keep_err(c,
			    c->c ? PQerrorMessage(c->c) : "out of memory",
			    NULL);
		pv_error("store: postgresql: cannot connect: %s", c->err);
		return st_fail(
		    st, PV_ERR_STORE, "postgresql: cannot connect: %s", c->err);
	}
	res = pg_query(
	    c, "SET client_min_messages = warning; SET TIME ZONE 'UTC'");
	if (pg_result_ok(c, res) != 0) {
		PQclear(res);
		return st_sqlerr(st, "session settings");
	}
	PQclear(res);
	return 0;
}

static int
pg_alive(struct store *st)
{
	struct pg_conn *c = pg_c(st);

	return c != NULL && c->c != NULL && !c->dropped &&
	    PQstatus(c->c) == CONNECTION_OK;
}

static void
pg_close(struct store *st)
{
	struct pg_conn *c = pg_c(st);

	if (c == NULL)
		return;
	PQfinish(c->c);
	free(c);
	st->conn = NULL;
}

/*
 * In a forked process: PQfinish would tell the server to end the
 * parent's session, so only the socket is closed (the process keeps no
 * way to the server).
 */
static void
pg_forget(struct store *st)
{
	struct pg_conn *c = pg_c(st);

	if (c != NULL && PQsocket(c->c) >= 0)
		(void)close(PQsocket(c->c));
	st->conn = NULL;
}

static void
pg_unbind(struct pg_q *q)
{
	int i;

	for (i = 0; i < PG_PARAMS_MAX; i++) {
		free(q->vals[i]);
		q->vals[i] = NULL;
		q->lens[i] = 0;
		q->fmts[i] = 0;
		q->types[i] = 0;
	}
}

static void
pg_reset(struct st_q *sq)
{
	struct pg_q *q = (struct pg_q *)sq;

	PQclear(q->res);
	q->res = NULL;
	PQfreemem(q->blob);
	q->blob = NULL;
	q->executed = q->row = q->nrows = 0;
	pg_unbind(q);
}

static void
pg_finalize(struct st_q *sq)
{
	struct pg_q *q = (struct pg_q *)sq;

	pg_reset(sq);
	free(q->sql);
	free(q);
}

static int
pg_prepare(struct store *st, const char *sql, int persistent, struct st_q **out)
{
	struct pg_q *q;
	int r;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return PV_ERR_ALLOC;
	q->persistent = persistent;
	q->q.eng = &st_engine_pg;
	q->q.st = st;
	if ((r = pg_translate(sql, &q->sql, &q->nparams)) != 0) {
		pg_keep_err(pg_c(st), "statement cannot be translated", NULL);
		free(q);
		return r;
	}
	*out = &q->q;
	return 0;
}

static int
pg_bind(struct st_q *sq, int i, const void *v, size_t len, int fmt,
    unsigned int type)
{
	struct pg_q *q = (struct pg_q *)sq;
	char *d;

	if (i < 1 || i > PG_PARAMS_MAX || len > INT32_MAX)
		return PV_ERR_LIMIT;
	if ((d = malloc(len + 1)) == NULL)
		return PV_ERR_ALLOC;
	if (len > 0)
		memcpy(d, v, len);
	d[len] = '\0';
	free(q->vals[i - 1]);
	q->vals[i - 1] = d;
	q->lens[i - 1] = (int)len;
	q->fmts[i - 1] = fmt;
	q->types[i - 1] = type;
	return 0;
}

static int
pg_bind_text(struct st_q *q, int i, const char *v, size_t len)
{
	/* text has no NUL in PostgreSQL: cut there, as SQLite's %s would */
	const char *nul = memchr(v, '\0', len);

	return pg_bind(q, i, v, nul ? (size_t)(nul - v) : len, 0, PG_TEXT_OID);
}

static int
pg_bind_i64(struct st_q *q, int i, int64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%lld", (long long)v);

	if (n < 0 || (size_t)n >= sizeof(b))
		return PV_ERR_INTERNAL;
	return pg_bind(q, i, b, (size_t)n, 0, PG_INT8_OID);
}

static int
pg_bind_blob(struct st_q *q, int i, const void *v, size_t len)
{
	return pg_bind(q, i, v, len, 1, PG_BYTEA_OID);
}

static int
pg_bind_null(struct st_q *sq, int i)
{
	struct pg_q *q = (struct pg_q *)sq;

	if (i < 1 || i > PG_PARAMS_MAX)
		return PV_ERR_LIMIT;
	free(q->vals[i - 1]);
	q->vals[i - 1] = NULL;
	return 0;
}

/*
 * A cached statement's first run prepares it on the server with the types
 * bound then; later runs with the same types use it by name, any other
 * run is sent whole, as a statement for one use is.  A failed prepare is
 * the error the statement itself would have given.
 */
static PGresult *
pg_run(struct pg_conn *c, struct pg_q *q)
{
	PGresult *res;

	if (c->dropped) /* c->err says why */
		return NULL;
	if (q->persistent && !q->prepared) {
		(void)snprintf(q->name, sizeof(q->name), "pv%u", ++c->nprep);
		res = pg_wait(c,
		    PQsendPrepare(c->c, q->name, q->sql, q->nparams, q->types));
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		PQclear(res);
		memcpy(q->ptypes, q->types, sizeof(q->ptypes));
		q->prepared = 1;
	}
	if (q->prepared && memcmp(q->ptypes, q->types, sizeof(q->ptypes)) == 0)
		return pg_wait(c,
		    PQsendQueryPrepared(c->c, q->name, q->nparams,
			(const char *const *)q->vals, q->lens, q->fmts, 0));
	return pg_wait(c,
	    PQsendQueryParams(c->c, q->sql, q->nparams, q->types,
		(const char *const *)q->vals, q->lens, q->fmts, 0));
}

static int
pg_step(struct st_q *sq)
{
	struct pg_q *q = (struct pg_q *)sq;
	struct pg_conn *c = pg_c(sq->st);

	if (!q->executed) {
		const char *cmd;

		q->res = pg_run(c, q);
		q->executed = 1;
		if (pg_result_ok(c, q->res) != 0) {
			PQclear(q->res);
			q->res = NULL;
			return PV_ERR_STORE;
		}
		q->nrows = PQntuples(q->res);
		q->row = -1;
		cmd = PQcmdTuples(q->res);
		if (PQresultStatus(q->res) == PGRES_COMMAND_OK)
			c->changes = cmd && *cmd ? strtoll(cmd, NULL, 10) : 0;
	}
	PQfreemem(q->blob);
	q->blob = NULL;
	if (q->res == NULL || q->row + 1 >= q->nrows) {
		q->row = q->nrows;
		return 0;
	}
	q->row++;
	return 1;
}

static int
pg_valid(struct pg_q *q, int i)
{
	return q->res != NULL && q->row >= 0 && q->row < q->nrows && i >= 0 &&
	    i < PQnfields(q->res) && !PQgetisnull(q->res, q->row, i);
}

static int64_t
pg_col_i64(struct st_q *sq, int i)
{
	struct pg_q *q = (struct pg_q *)sq;
	const char *v;

	if (!pg_valid(q, i))
		return 0;
	v = PQgetvalue(q->res, q->row, i);
	if (v[0] == 't' && v[1] == '\0') /* a boolean */
		return 1;
	if (v[0] == 'f' && v[1] == '\0')
		return 0;
	return strtoll(v, NULL, 10);
}

static const char *
pg_col_text(struct st_q *sq, int i)
{
	struct pg_q *q = (struct pg_q *)sq;

	return pg_valid(q, i) ? PQgetvalue(q->res, q->row, i) : NULL;
}

static const void *
pg_col_blob(struct st_q *sq, int i, size_t *len)
{
	struct pg_q *q = (struct pg_q *)sq;
	size_t n = 0;

	*len = 0;
	if (!pg_valid(q, i))
		return NULL;
	PQfreemem(q->blob);
	q->blob = PQunescapeBytea(
	    (const unsigned char *)PQgetvalue(q->res, q->row, i), &n);
	if (q->blob == NULL || n == 0)
		return NULL;
	*len = n;
	return q->blob;
}

static int
pg_col_is_null(struct st_q *sq, int i)
{
	return !pg_valid((struct pg_q *)sq, i);
}

static int
pg_col_count(struct st_q *sq)
{
	struct pg_q *q = (struct pg_q *)sq;

	return q->res != NULL ? PQnfields(q->res) : 0;
}

/* PostgreSQL sends text: a copy from it binds text (or bytea) again */
static int
pg_col_type(struct st_q *sq, int i)
{
	struct pg_q *q = (struct pg_q *)sq;

	if (!pg_valid(q, i))
		return ST_T_NULL;
	return PQftype(q->res, i) == PG_BYTEA_OID ? ST_T_BLOB : ST_T_TEXT;
}

static int64_t
pg_changes(struct store *st)
{
	return pg_c(st)->changes;
}

static int
pg_last_id(struct store *st, int64_t *id)
{
	struct pg_conn *c = pg_c(st);
	PGresult *res = pg_query(c, "SELECT lastval()");
	int r = pg_result_ok(c, res);

	if (r == 0 && PQntuples(res) == 1)
		*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else if (r == 0)
		r = PV_ERR_STORE;
	PQclear(res);
	return r;
}

/*
 * BEGIN IMMEDIATE's part: a writer holds a transaction-level advisory
 * lock, so writers on every broker take turns (one audit chain).
 */
static int
pg_begin(struct store *st, int immediate)
{
	return pg_exec(st,
	    immediate ? "BEGIN; SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")"
		      : "BEGIN");
}

static int
pg_in_tx(struct store *st)
{
	return PQtransactionStatus(pg_c(st)->c) != PQTRANS_IDLE;
}

static int
pg_get_version(struct store *st, int *version)
{
	struct pg_conn *c = pg_c(st);
	PGresult *res =
	    pg_query(c, "SELECT to_regclass('provost_schema') IS NOT NULL");
	int r = pg_result_ok(c, res), have;

	*version = 0;
	have = r == 0 && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (r != 0 || !have)
		return r;
	res = pg_query(c, "SELECT max(version) FROM provost_schema");
	if ((r = pg_result_ok(c, res)) == 0 && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0))
		*version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return r;
}

static int
pg_set_version(struct store *st, int version)
{
	char sql[192];
	int n = snprintf(sql, sizeof(sql),
	    "CREATE TABLE IF NOT EXISTS provost_schema(version INTEGER NOT "
	    "NULL); DELETE FROM provost_schema; INSERT INTO "
	    "provost_schema(version) VALUES (%d)",
	    version);

	if (n < 0 || (size_t)n >= sizeof(sql))
		return PV_ERR_INTERNAL;
	return pg_exec(st, sql);
}

/* Replaces every from by to in *s. */
static int
pg_replace(char **s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0, len;
	char *p, *b, *o;

	for (p = *s; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	if (n == 0)
		return 0;
	len = strlen(*s) + n * (tl > fl ? tl - fl : 0) + 1;
	if ((b = malloc(len)) == NULL)
		return PV_ERR_ALLOC;
	for (o = b, p = *s;;) {
		char *m = strstr(p, from);

		if (m == NULL) {
			memcpy(o, p, strlen(p) + 1);
			break;
		}
		memcpy(o, p, (size_t)(m - p));
		o += m - p;
		memcpy(o, to, tl + 1); /* its NUL is overwritten next */
		o += tl;
		p = m + fl;
	}
	free(*s);
	*s = b;
	return 0;
}

/* SQLite's triggers (CREATE TRIGGER ... END;) are left out. */
static void
pg_drop_triggers(char *s)
{
	char *a, *e;

	while ((a = strstr(s, "CREATE TRIGGER")) != NULL &&
	    (e = strstr(a, "END;")) != NULL)
		memmove(a, e + 4, strlen(e + 4) + 1);
}

/*
 * The schema's SQLite text made PostgreSQL's: 64-bit integers, identity
 * keys where SQLite's rowid gave the id, BYTEA, the append-only triggers
 * in PL/pgSQL and a rowid column where module SQL orders by insertion.
 */
static const char pg_v1_extra[] =
    "CREATE FUNCTION provost_append_only() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RAISE EXCEPTION '% is append-only', TG_ARGV[0]; END $$;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW "
    "EXECUTE FUNCTION provost_append_only('audit');"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW "
    "EXECUTE FUNCTION provost_append_only('audit');"
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
    "EXECUTE FUNCTION provost_append_only('audit');"
    "CREATE TRIGGER checkpoint_no_update BEFORE UPDATE ON audit_checkpoints "
    "FOR EACH ROW EXECUTE FUNCTION provost_append_only('checkpoints');"
    "CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON audit_checkpoints "
    "FOR EACH ROW EXECUTE FUNCTION provost_append_only('checkpoints');"
    "CREATE TRIGGER checkpoint_no_truncate BEFORE TRUNCATE ON "
    "audit_checkpoints EXECUTE FUNCTION "
    "provost_append_only('checkpoints');"
    "ALTER TABLE target_accounts ADD COLUMN rowid BIGINT GENERATED ALWAYS "
    "AS IDENTITY;";
static const char pg_v4_extra[] =
    "ALTER TABLE exit_items ADD COLUMN rowid BIGINT GENERATED ALWAYS AS "
    "IDENTITY;";

static int
pg_migration(struct store *st, int version, const char *sql)
{
	static const char ident[] =
	    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
	char *s;
	int r;

	if ((s = strdup(sql)) == NULL)
		return PV_ERR_ALLOC;
	pg_drop_triggers(s);
	if ((r = pg_replace(&s, "INTEGER PRIMARY KEY AUTOINCREMENT", ident)) !=
		0 ||
	    (r = pg_replace(&s, " id INTEGER PRIMARY KEY",
		 " id BIGINT "
		 "GENERATED BY "
		 "DEFAULT AS "
		 "IDENTITY PRIMARY "
		 "KEY")) != 0 ||
	    (r = pg_replace(&s, "INTEGER", "BIGINT")) != 0 ||
	    (r = pg_replace(&s, "BLOB", "BYTEA")) != 0)
		goto out;
	if ((r = pg_exec(st, s)) != 0)
		goto out;
	if (version == 1)
		r = pg_exec(st, pg_v1_extra);
	else if (version == 4)
		r = pg_exec(st, pg_v4_extra);
out:
	free(s);
	return r;
}

/*
 * Revocations announced (store_listen): NOTIFY in the writer's
 * transaction, delivered to every listener as it commits.
 */
static int
pg_notify(struct store *st)
{
	return pg_exec(st, "NOTIFY " PG_CHANNEL);
}

static int
pg_listen(struct store *st)
{
	return pg_exec(st, "LISTEN " PG_CHANNEL);
}

static int
pg_listen_fd(struct store *st)
{
	return pg_alive(st) ? PQsocket(pg_c(st)->c) : -1;
}

/* What libpq has read already, and with read set what the socket holds. */
static int
pg_heard(struct store *st, int read)
{
	struct pg_conn *c = pg_c(st);
	PGnotify *n;
	int count = 0;

	if (!pg_alive(st))
		return PV_ERR_STORE;
	if (read && !PQconsumeInput(c->c)) {
		pg_keep_err(c, PQerrorMessage(c->c), NULL);
		return PV_ERR_STORE;
	}
	while ((n = PQnotifies(c->c)) != NULL) {
		count++;
		PQfreemem(n);
	}
	return count;
}

const struct st_engine st_engine_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.forget = pg_forget,
	.prepare = pg_prepare,
	.reset = pg_reset,
	.finalize = pg_finalize,
	.bind_text = pg_bind_text,
	.bind_i64 = pg_bind_i64,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.col_i64 = pg_col_i64,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.col_is_null = pg_col_is_null,
	.col_count = pg_col_count,
	.col_type = pg_col_type,
	.changes = pg_changes,
	.last_id = pg_last_id,
	.exec = pg_exec,
	.begin = pg_begin,
	.in_tx = pg_in_tx,
	.errmsg = pg_errmsg,
	.get_version = pg_get_version,
	.set_version = pg_set_version,
	.migration = pg_migration,
	.alive = pg_alive,
	.notify = pg_notify,
	.listen = pg_listen,
	.listen_fd = pg_listen_fd,
	.heard = pg_heard,
};

int
st_pg_wipe(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *res;
	int r = PV_ERR_STORE;

	if (c != NULL && PQstatus(c) == CONNECTION_OK) {
		res = PQexec(c,
		    "SET client_min_messages = warning; DROP SCHEMA IF EXISTS "
		    "public CASCADE; CREATE SCHEMA public");
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			r = 0;
		PQclear(res);
	}
	PQfinish(c);
	return r;
}

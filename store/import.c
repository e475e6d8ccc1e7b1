/*
 * import.c: the reader the store's imports share (exposures, incidents,
 * outages): CSV with a header row or JSON lines, every row checked before
 * anything is stored, the first fault named NAME:LINE.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

int
st_imp_fail(struct st_imp *m, size_t line, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(what, sizeof(what), fmt, ap) < 0)
		what[0] = '\0';
	va_end(ap);
	if (m->errlen > 0 &&
	    snprintf(m->err, m->errlen, "%s:%zu: %s", m->name, line, what) < 0)
		m->err[0] = '\0';
	return PV_ERR_INVALID;
}

void
st_imp_free(struct st_imp *m)
{
	size_t i, j;

	for (i = 0; i < m->n; i++)
		for (j = 0; j < ST_IMP_COLS_MAX; j++)
			free(m->rows[i].v[j]);
	free(m->rows);
	m->rows = NULL;
	m->n = m->cap = 0;
}

static int
col_index(const struct st_imp *m, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < m->ncolnames; i++)
		if (strlen(m->colnames[i]) == len &&
		    memcmp(m->colnames[i], name, len) == 0)
			return (int)i;
	return -1;
}

/*
 * One CSV line (no line break) split into at most ncolnames fields, each
 * a malloc'd copy or NULL when empty.  Quoted fields take "" for a quote.
 */
static int
csv_split(struct st_imp *m, size_t line, const char *p, size_t len,
    char *out[ST_IMP_COLS_MAX], size_t *nf)
{
	size_t i = 0, n = 0, o;
	char buf[ST_IMP_LINE_MAX + 1];

	*nf = 0;
	for (;;) {
		o = 0;
		if (n == m->ncolnames)
			return st_imp_fail(
			    m, line, "more than %zu fields", m->ncolnames);
		if (i < len && p[i] == '"') {
			for (i++;; i++) {
				if (i >= len)
					return st_imp_fail(
					    m, line, "unterminated quote");
				if (p[i] == '"') {
					if (i + 1 < len && p[i + 1] == '"') {
						buf[o++] = '"';
						i++;
						continue;
					}
					i++;
					break;
				}
				buf[o++] = p[i];
			}
			if (i < len && p[i] != ',')
				return st_imp_fail(m, line,
				    "field %zu: text after the closing quote",
				    n + 1);
		} else {
			for (; i < len && p[i] != ','; i++) {
				if (p[i] == '"')
					return st_imp_fail(m, line,
					    "field %zu: a quote inside an "
					    "unquoted field",
					    n + 1);
				buf[o++] = p[i];
			}
		}
		buf[o] = '\0';
		if (o > 0 && (out[n] = strdup(buf)) == NULL)
			return PV_ERR_ALLOC;
		n++;
		*nf = n;
		if (i >= len)
			return 0;
		i++; /* the comma */
	}
}

static int
csv_header(struct st_imp *m, size_t line, const char *p, size_t len)
{
	char *f[ST_IMP_COLS_MAX] = { NULL };
	int seen[ST_IMP_COLS_MAX] = { 0 }, c, r;
	const char *why;
	size_t nf = 0, i;

	if ((r = csv_split(m, line, p, len, f, &nf)) != 0)
		goto out;
	for (i = 0; i < nf; i++) {
		if (f[i] == NULL ||
		    (c = col_index(m, f[i], strlen(f[i]))) < 0) {
			r = st_imp_fail(m, line,
			    "header: unknown column \"%s\"",
			    f[i] != NULL ? f[i] : "");
			goto out;
		}
		if (seen[c]++) {
			r = st_imp_fail(
			    m, line, "header: column %s twice", m->colnames[c]);
			goto out;
		}
		m->cols[i] = c;
	}
	if (m->header_check != NULL && (why = m->header_check(seen)) != NULL) {
		r = st_imp_fail(m, line, "header: %s", why);
		goto out;
	}
	m->ncols = nf;
	m->header_seen = 1;
out:
	for (i = 0; i < ST_IMP_COLS_MAX; i++)
		free(f[i]);
	return r;
}

static int
csv_row(struct st_imp *m, size_t line, const char *p, size_t len,
    struct st_imp_row *row)
{
	char *f[ST_IMP_COLS_MAX] = { NULL };
	size_t nf = 0, i;
	int r;

	if ((r = csv_split(m, line, p, len, f, &nf)) != 0)
		goto out;
	if (nf != m->ncols) {
		r = st_imp_fail(
		    m, line, "%zu fields, the header has %zu", nf, m->ncols);
		goto out;
	}
	for (i = 0; i < nf; i++) {
		row->v[m->cols[i]] = f[i];
		f[i] = NULL;
	}
out:
	for (i = 0; i < ST_IMP_COLS_MAX; i++)
		free(f[i]);
	return r;
}

static int
json_row(struct st_imp *m, size_t line, const char *p, size_t len,
    struct st_imp_row *row)
{
	json_error_t je;
	json_t *o, *v;
	const char *k;
	char num[32];
	int c, r = 0;

	if ((o = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return st_imp_fail(
		    m, line, "column %d: %s", je.column, je.text);
	if (!json_is_object(o)) {
		r = st_imp_fail(m, line, "not a JSON object");
		goto out;
	}
	json_object_foreach(o, k, v)
	{
		if ((c = col_index(m, k, strlen(k))) < 0) {
			r = st_imp_fail(m, line, "unknown field \"%s\"", k);
			goto out;
		}
		if (json_is_null(v))
			continue;
		if (m->integers && json_is_integer(v)) {
			(void)snprintf(num, sizeof(num),
			    "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			if ((row->v[c] = strdup(num)) == NULL) {
				r = PV_ERR_ALLOC;
				goto out;
			}
			continue;
		}
		if (!json_is_string(v) ||
		    memchr(json_string_value(v), '\0', json_string_length(v)) !=
			NULL) {
			r = st_imp_fail(m, line, "%s: must be a string%s", k,
			    m->integers ? " or an integer" : "");
			goto out;
		}
		if (json_string_length(v) == 0)
			continue;
		if ((row->v[c] = strdup(json_string_value(v))) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
	}
out:
	json_decref(o);
	return r;
}

int
st_imp_parse(struct st_imp *m, const char *data, size_t len)
{
	struct st_imp_row *nr;
	const char *p, *nl, *why;
	size_t off = 0, line = 0, l;
	int r;

	if (m->ncolnames == 0 || m->ncolnames > ST_IMP_COLS_MAX)
		return PV_ERR_INTERNAL;
	if (memchr(data, '\0', len) != NULL)
		return st_imp_fail(m, 1, "a NUL byte in the file");
	/* A spreadsheet's UTF-8 byte order mark. */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		off = 3;
	while (off < len) {
		p = data + off;
		line++;
		nl = memchr(p, '\n', len - off);
		l = nl != NULL ? (size_t)(nl - p) : len - off;
		off += l + (nl != NULL ? 1 : 0);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (l == 0 || p[0] == '#')
			continue;
		if (l > ST_IMP_LINE_MAX)
			return st_imp_fail(
			    m, line, "longer than %d bytes", ST_IMP_LINE_MAX);
		if (!m->header_seen && !m->jsonl) {
			if (p[0] == '{')
				m->jsonl = 1;
			else {
				if ((r = csv_header(m, line, p, l)) != 0)
					return r;
				continue;
			}
		}
		if (m->n == m->max_rows)
			return st_imp_fail(
			    m, line, "more than %zu rows", m->max_rows);
		if (m->n == m->cap) {
			size_t cap = m->cap == 0 ? 16 : m->cap * 2;

			if ((nr = reallocarray(m->rows, cap, sizeof(*nr))) ==
			    NULL)
				return PV_ERR_ALLOC;
			m->rows = nr;
			m->cap = cap;
		}
		nr = &m->rows[m->n++];
		*nr = (struct st_imp_row){ .line = line };
		if ((r = m->jsonl ? json_row(m, line, p, l, nr)
				  : csv_row(m, line, p, l, nr)) != 0)
			return r;
		if (m->row_check != NULL &&
		    (why = m->row_check(m->ctx, nr)) != NULL)
			return st_imp_fail(m, line, "%s", why);
	}
	if (m->n == 0)
		return st_imp_fail(m, line == 0 ? 1 : line, "no %s", m->what);
	return 0;
}

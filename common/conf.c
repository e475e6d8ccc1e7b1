/*
 * conf.c: the tokenizer behind provostd.conf and policy.conf.  It splits
 * lines into a keyword and arguments, finds the keyword in the caller's
 * table, checks the argument count and hands the line to its handler.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"

/* Writes "NAME:LINE: what" into err. */
static void conf_err(char *err, size_t errlen, const char *name,
    unsigned int lineno, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
conf_err(char *err, size_t errlen, const char *name, unsigned int lineno,
    const char *fmt, ...)
{
	char what[PV_CONF_ERR_MAX];
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n < 0)
		what[0] = '\0';
	n = snprintf(err, errlen, "%s:%u: %s", name, lineno, what);
	if (n < 0)
		err[0] = '\0';
}

/*
 * Splits one line (NUL-terminated, modified in place) into tokens.  Returns
 * the token count, or -1 with a message in what.
 */
static int
conf_split(char *line, char **tok, int maxtok, const char **what)
{
	char *r = line, *w;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0' || *r == '#')
			return n;
		if (n == maxtok) {
			*what = "too many arguments";
			return -1;
		}
		tok[n++] = w = r;
		while (*r != '\0' && *r != ' ' && *r != '\t') {
			if (*r != '"') {
				*w++ = *r++;
				continue;
			}
			/* A quoted run: spaces and '#' are literal inside. */
			for (r++; *r != '"'; r++) {
				if (*r == '\0') {
					*what = "unterminated quoted string";
					return -1;
				}
				if (*r == '\\') {
					if (r[1] != '"' && r[1] != '\\') {
						*what = "bad escape in quoted "
							"string "
							"(only \\\" and \\\\)";
						return -1;
					}
					r++;
				}
				*w++ = *r;
			}
			r++;
		}
		if (*r != '\0')
			r++;
		*w = '\0';
	}
}

static const struct pv_conf_keyword *
conf_lookup(const struct pv_conf_keyword *table, const char *kw)
{
	for (; table->name != NULL; table++)
		if (strcasecmp(table->name, kw) == 0)
			return table;
	return NULL;
}

int
pv_conf_parse_mem(const char *name, const char *data, size_t len,
    const struct pv_conf_keyword *table, void *ctx, char *err, size_t errlen)
{
	char line[PV_CONF_MAX_LINE + 1], what[PV_CONF_ERR_MAX];
	char *tok[PV_CONF_MAX_ARGS + 1];
	const struct pv_conf_keyword *kw;
	struct pv_conf_line cl;
	const char *msg = NULL;
	size_t pos = 0, end, i;
	unsigned int lineno = 0;
	int ntok, r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (name == NULL)
		name = "(config)";
	if (len > PV_CONF_MAX_FILE) {
		conf_err(err, errlen, name, 0, "file larger than %d bytes",
		    PV_CONF_MAX_FILE);
		return PV_ERR_LIMIT;
	}
	while (pos < len) {
		lineno++;
		for (end = pos; end < len && data[end] != '\n'; end++)
			;
		if (end - pos > PV_CONF_MAX_LINE) {
			conf_err(err, errlen, name, lineno,
			    "line longer than %d bytes", PV_CONF_MAX_LINE);
			return PV_ERR_LIMIT;
		}
		for (i = pos; i < end; i++) {
			unsigned char c = (unsigned char)data[i];

			if (c == '\r' && i + 1 == end)
				continue; /* CRLF files are fine */
			if (c < 0x20 && c != '\t') {
				conf_err(err, errlen, name, lineno,
				    "control character 0x%02x", c);
				return PV_ERR_INVALID;
			}
			if (c == 0x7f) {
				conf_err(err, errlen, name, lineno,
				    "control character 0x7f");
				return PV_ERR_INVALID;
			}
		}
		memcpy(line, data + pos, end - pos);
		line[end - pos] = '\0';
		if (end > pos && line[end - pos - 1] == '\r')
			line[end - pos - 1] = '\0';
		pos = end + 1;

		if ((ntok = conf_split(line, tok, PV_CONF_MAX_ARGS + 1, &msg)) <
		    0) {
			conf_err(err, errlen, name, lineno, "%s", msg);
			return PV_ERR_INVALID;
		}
		if (ntok == 0)
			continue;
		memset(&cl, 0, sizeof(cl));
		cl.file = name;
		cl.lineno = lineno;
		cl.indented = line[0] == ' ' || line[0] == '\t';
		cl.keyword = tok[0];
		cl.nargs = ntok - 1;
		for (i = 1; i < (size_t)ntok; i++)
			cl.args[i - 1] = tok[i];

		if ((kw = conf_lookup(table, tok[0])) == NULL) {
			char esc[64];

			(void)pv_log_escape(esc, sizeof(esc), tok[0]);
			conf_err(err, errlen, name, lineno,
			    "unknown keyword \"%s\"", esc);
			return PV_ERR_CONFIG;
		}
		if (cl.nargs < kw->min_args ||
		    (kw->max_args >= 0 && cl.nargs > kw->max_args)) {
			if (kw->min_args == kw->max_args)
				conf_err(err, errlen, name, lineno,
				    "%s takes %d argument%s, not %d", kw->name,
				    kw->min_args, kw->min_args == 1 ? "" : "s",
				    cl.nargs);
			else if (kw->max_args < 0)
				conf_err(err, errlen, name, lineno,
				    "%s takes at least %d argument%s", kw->name,
				    kw->min_args, kw->min_args == 1 ? "" : "s");
			else
				conf_err(err, errlen, name, lineno,
				    "%s takes %d to %d arguments, not %d",
				    kw->name, kw->min_args, kw->max_args,
				    cl.nargs);
			return PV_ERR_CONFIG;
		}
		if (kw->handler == NULL)
			continue;
		what[0] = '\0';
		if ((r = kw->handler(ctx, &cl, what, sizeof(what))) != 0) {
			conf_err(err, errlen, name, lineno, "%s",
			    what[0] != '\0' ? what : pv_err_str(r));
			return r < 0 ? r : PV_ERR_CONFIG;
		}
	}
	return 0;
}

int
pv_conf_parse_file(const char *path, const struct pv_conf_keyword *table,
    void *ctx, char *err, size_t errlen)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	if ((r = pv_file_read(path, PV_CONF_MAX_FILE, &data, &len)) != 0) {
		if (err != NULL && errlen > 0 &&
		    snprintf(err, errlen, "%s: cannot read: %s", path,
			r == PV_ERR_LIMIT         ? "file too large"
			    : r == PV_ERR_INVALID ? "not a regular file"
						  : pv_err_str(r)) < 0)
			err[0] = '\0';
		return r;
	}
	r = pv_conf_parse_mem(
	    path, (const char *)data, len, table, ctx, err, errlen);
	free(data);
	return r;
}

int
pv_conf_yesno(const char *s, int *out)
{
	if (strcasecmp(s, "yes") == 0)
		*out = 1;
	else if (strcasecmp(s, "no") == 0)
		*out = 0;
	else
		return PV_ERR_INVALID;
	return 0;
}

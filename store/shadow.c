/*
 * shadow.c: what the built-in unix-password rotation reads back from a
 * target over provost's admin connection: the account's password field
 * in the target's shadow, the hash methods other entries use, and what
 * the change did.  Checked strictly: it decides whether a password
 * counts as changed.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "store/store.h"

/* Characters of a crypt(3) field, a lock '!' and a '*'. */
static int
field_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '/' || c == '$' ||
	    c == '!' || c == '*';
}

int
store_shadow_parse(const char *text, size_t len, struct store_shadow_look *out,
    char *err, size_t errlen)
{
	size_t off = 0, lineno = 0, n, i;
	int seen_h = 0;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (len > STORE_SHADOW_ANSWER_MAX) {
		(void)snprintf(err, errlen, "answer longer than %d bytes",
		    STORE_SHADOW_ANSWER_MAX);
		return PV_ERR_INVALID;
	}
	while (off < len) {
		const char *l = text + off, *nl = memchr(l, '\n', len - off);
		const char *v;

		n = nl != NULL ? (size_t)(nl - l) : len - off;
		off += n + (nl != NULL);
		lineno++;
		if (n < 2 || l[1] != '\t') {
			(void)snprintf(err, errlen,
			    "line %zu: not KIND<TAB>VALUE", lineno);
			return PV_ERR_INVALID;
		}
		v = l + 2;
		n -= 2;
		switch (l[0]) {
		case 'H':
			if (seen_h++) {
				(void)snprintf(err, errlen,
				    "line %zu: the account twice in the shadow "
				    "file",
				    lineno);
				return PV_ERR_INVALID;
			}
			if (n > STORE_SHADOW_FIELD_MAX) {
				(void)snprintf(err, errlen,
				    "line %zu: a password field longer than "
				    "%d",
				    lineno, STORE_SHADOW_FIELD_MAX);
				return PV_ERR_INVALID;
			}
			for (i = 0; i < n; i++)
				if (!field_char((unsigned char)v[i])) {
					(void)snprintf(err, errlen,
					    "line %zu: a character that is no "
					    "part of a crypt hash",
					    lineno);
					return PV_ERR_INVALID;
				}
			memcpy(out->field, v, n);
			out->field[n] = '\0';
			break;
		case 'M':
			if (n != 1 || (v[0] != 'y' && v[0] != '6')) {
				(void)snprintf(err, errlen,
				    "line %zu: a method other than y or 6",
				    lineno);
				return PV_ERR_INVALID;
			}
			if (out->method[0] == '\0')
				out->method[0] = v[0];
			break;
		case 'S':
			if (out->result[0] != '\0' ||
			    !((n == 3 && memcmp(v, "set", 3) == 0) ||
				(n == 4 && memcmp(v, "same", 4) == 0) ||
				(n == 7 && memcmp(v, "changed", 7) == 0))) {
				(void)snprintf(err, errlen,
				    "line %zu: a result other than set, same, "
				    "changed, or two",
				    lineno);
				return PV_ERR_INVALID;
			}
			memcpy(out->result, v, n);
			out->result[n] = '\0';
			break;
		default:
			(void)snprintf(err, errlen,
			    "line %zu: unknown kind (H, M, S)", lineno);
			return PV_ERR_INVALID;
		}
	}
	if (!seen_h) {
		(void)snprintf(err, errlen,
		    "the account is not in the shadow "
		    "file");
		return PV_ERR_INVALID;
	}
	return 0;
}

const char *
store_shadow_method(const char *field)
{
	if (field[0] == '!')
		field++;
	if (strncmp(field, "$y$", 3) == 0)
		return "y";
	if (strncmp(field, "$6$", 3) == 0)
		return "6";
	return NULL;
}

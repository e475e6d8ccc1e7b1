/*
 * revlist.c: the signed revocation list targets read (engineers,
 * accounts, sessions, grants, serials): build + sign, verify + parse, check.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvt/pvt-int.h"
#include "pvt/pvt.h"

#define RL_MAGIC "pvr1\n"
#define RL_SIG_KW "sig "
#define RL_LINE_MAX 128
#define RL_NAMED_KINDS 4 /* engineer, account, session, grant */
#define RL_TIME_MAX ((uint64_t)1 << 40)

static const char *const rl_kw[PVT_REV_KINDS] = {
	[PVT_REV_ENGINEER] = "engineer",
	[PVT_REV_ACCOUNT] = "account",
	[PVT_REV_SESSION] = "session",
	[PVT_REV_GRANT] = "grant",
	[PVT_REV_SERIAL] = "serial",
};

struct rl_set {
	char **v;
	size_t n, alloc;
};

struct pvt_revlist {
	struct rl_set names[RL_NAMED_KINDS];
	uint64_t *serials;
	size_t nserials, aserials;
	int64_t issued_at;
	uint64_t sequence;
	int canonical; /* sorted, no duplicates: parsed or signed */
};

struct pvt_revlist *
pvt_revlist_new(void)
{
	return calloc(1, sizeof(struct pvt_revlist));
}

void
pvt_revlist_free(struct pvt_revlist *rl)
{
	size_t k, i;

	if (rl == NULL)
		return;
	for (k = 0; k < RL_NAMED_KINDS; k++) {
		for (i = 0; i < rl->names[k].n; i++)
			free(rl->names[k].v[i]);
		free(rl->names[k].v);
	}
	free(rl->serials);
	free(rl);
}

static size_t
rl_total(const struct pvt_revlist *rl)
{
	size_t k, n = rl->nserials;

	for (k = 0; k < RL_NAMED_KINDS; k++)
		n += rl->names[k].n;
	return n;
}

static int
rl_value_valid(enum pvt_rev_kind kind, const char *v)
{
	switch (kind) {
	case PVT_REV_ENGINEER:
		return pvt_name_valid(v, PVT_NAME_MAX);
	case PVT_REV_ACCOUNT:
		return pvt_name_valid(v, PVT_ACCOUNT_MAX);
	case PVT_REV_SESSION:
	case PVT_REV_GRANT:
		return pv_uuid_valid(v);
	case PVT_REV_SERIAL:
		break;
	}
	return 0;
}

int
pvt_revlist_add_serial(struct pvt_revlist *rl, uint64_t serial)
{
	uint64_t *nv;
	size_t na;

	if (rl_total(rl) >= PVT_REVLIST_ENTRIES_MAX)
		return PV_ERR_LIMIT;
	if (rl->nserials == rl->aserials) {
		na = rl->aserials == 0 ? 16 : rl->aserials * 2;
		if ((nv = reallocarray(rl->serials, na, sizeof(*nv))) == NULL)
			return PV_ERR_ALLOC;
		rl->serials = nv;
		rl->aserials = na;
	}
	rl->serials[rl->nserials++] = serial;
	rl->canonical = 0;
	return 0;
}

int
pvt_revlist_add(
    struct pvt_revlist *rl, enum pvt_rev_kind kind, const char *value)
{
	struct rl_set *set;
	char **nv;
	size_t na;
	uint64_t serial;
	int r;

	if ((unsigned)kind >= PVT_REV_KINDS || value == NULL)
		return PV_ERR_INVALID;
	if (kind == PVT_REV_SERIAL) {
		if ((r = pv_parse_u64(value, 0, UINT64_MAX, &serial)) != 0)
			return r;
		return pvt_revlist_add_serial(rl, serial);
	}
	if (!rl_value_valid(kind, value))
		return PV_ERR_INVALID;
	if (rl_total(rl) >= PVT_REVLIST_ENTRIES_MAX)
		return PV_ERR_LIMIT;
	set = &rl->names[kind];
	if (set->n == set->alloc) {
		na = set->alloc == 0 ? 16 : set->alloc * 2;
		if ((nv = reallocarray(set->v, na, sizeof(*nv))) == NULL)
			return PV_ERR_ALLOC;
		set->v = nv;
		set->alloc = na;
	}
	if ((set->v[set->n] = strdup(value)) == NULL)
		return PV_ERR_ALLOC;
	set->n++;
	rl->canonical = 0;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorted and without duplicates: the canonical order the file uses. */
static void
rl_canonicalize(struct pvt_revlist *rl)
{
	size_t k, i, o;

	for (k = 0; k < RL_NAMED_KINDS; k++) {
		struct rl_set *s = &rl->names[k];

		if (s->n == 0)
			continue;
		qsort(s->v, s->n, sizeof(*s->v), cmp_str);
		for (i = 1, o = 1; i < s->n; i++) {
			if (strcmp(s->v[i], s->v[o - 1]) == 0)
				free(s->v[i]);
			else
				s->v[o++] = s->v[i];
		}
		s->n = o;
	}
	if (rl->nserials == 0)
		return;
	qsort(rl->serials, rl->nserials, sizeof(*rl->serials), cmp_u64);
	for (i = 1, o = 1; i < rl->nserials; i++) {
		if (rl->serials[i] != rl->serials[o - 1])
			rl->serials[o++] = rl->serials[i];
	}
	rl->nserials = o;
}

int
pvt_revlist_sign(struct pvt_revlist *rl, EVP_PKEY *key, int64_t issued_at,
    uint64_t sequence, char **out, size_t *outlen)
{
	struct pv_buf *b = NULL;
	uint8_t sig[PVT_SIG_LEN];
	char *s64 = NULL;
	size_t k, i;
	int r = PV_ERR_INTERNAL;

	*out = NULL;
	*outlen = 0;
	if (issued_at <= 0 || (uint64_t)issued_at >= RL_TIME_MAX)
		return PV_ERR_RANGE;
	rl_canonicalize(rl);
	rl->canonical = 1;
	rl->issued_at = issued_at;
	rl->sequence = sequence;
	if ((b = pv_buf_new(PVT_REVLIST_FILE_MAX)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = pv_buf_putf(b, "%sissued-at %lld\nsequence %llu\n", RL_MAGIC,
		 (long long)issued_at, (unsigned long long)sequence)) != 0)
		goto out;
	for (k = 0; k < RL_NAMED_KINDS; k++) {
		for (i = 0; i < rl->names[k].n; i++) {
			if ((r = pv_buf_putf(b, "%s %s\n", rl_kw[k],
				 rl->names[k].v[i])) != 0)
				goto out;
		}
	}
	for (i = 0; i < rl->nserials; i++) {
		if ((r = pv_buf_putf(b, "%s %llu\n", rl_kw[PVT_REV_SERIAL],
			 (unsigned long long)rl->serials[i])) != 0)
			goto out;
	}
	if ((r = pv_ed25519_sign(key, pv_buf_ptr(b), pv_buf_len(b), sig)) !=
		0 ||
	    (r = pv_b64_encode(sig, sizeof(sig), 1, &s64)) != 0 ||
	    (r = pv_buf_putf(b, "%s%s\n", RL_SIG_KW, s64)) != 0)
		goto out;
	*outlen = pv_buf_len(b);
	if ((r = pv_buf_dup_cstring(b, out)) != 0)
		*outlen = 0;
out:
	free(s64);
	pv_buf_free(b);
	return r;
}

/* Canonical decimal: no leading zeros, so one value has one spelling. */
static int
rl_parse_num(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	if (s[0] == '0' && s[1] != '\0')
		return PV_ERR_INVALID;
	return pv_parse_u64(s, min, max, v);
}

static void
rl_err(char *err, size_t errlen, unsigned int lineno, const char *what)
{
	if (errlen == 0)
		return;
	if (lineno > 0) {
		if (snprintf(err, errlen, "line %u: %s", lineno, what) < 0)
			err[0] = '\0';
	} else if (snprintf(err, errlen, "%s", what) < 0) {
		err[0] = '\0';
	}
}

/* One "keyword value" line of the signed part; order is checked here. */
static int
rl_parse_entry(
    struct pvt_revlist *rl, char *line, int *last_kind, const char **what)
{
	char *sp = strchr(line, ' ');
	int k, kind = -1, r;
	uint64_t serial = 0;

	*what = "malformed line";
	if (sp == NULL || sp == line || sp[1] == '\0')
		return PV_ERR_INVALID;
	*sp++ = '\0';
	for (k = 0; k < PVT_REV_KINDS; k++) {
		if (strcmp(line, rl_kw[k]) == 0)
			kind = k;
	}
	if (kind < 0) {
		*what = "unknown keyword";
		return PV_ERR_INVALID;
	}
	*what = "entries out of canonical order";
	if (kind < *last_kind)
		return PV_ERR_INVALID;
	if (kind == PVT_REV_SERIAL) {
		*what = "bad serial";
		if ((r = rl_parse_num(sp, 0, UINT64_MAX, &serial)) != 0)
			return r;
		*what = "entries out of canonical order";
		if (kind == *last_kind && rl->nserials > 0 &&
		    serial <= rl->serials[rl->nserials - 1])
			return PV_ERR_INVALID;
	} else {
		struct rl_set *s = &rl->names[kind];

		*what = "bad value";
		if (!rl_value_valid((enum pvt_rev_kind)kind, sp))
			return PV_ERR_INVALID;
		*what = "entries out of canonical order";
		if (kind == *last_kind && s->n > 0 &&
		    strcmp(sp, s->v[s->n - 1]) <= 0)
			return PV_ERR_INVALID;
	}
	*last_kind = kind;
	*what = "too many entries";
	return kind == PVT_REV_SERIAL
	    ? pvt_revlist_add_serial(rl, serial)
	    : pvt_revlist_add(rl, (enum pvt_rev_kind)kind, sp);
}

int
pvt_revlist_parse(const uint8_t *data, size_t len, EVP_PKEY *pub,
    struct pvt_revlist **out, char *err, size_t errlen)
{
	struct pvt_revlist *rl = NULL;
	const char *what = "malformed list", *d = (const char *)data;
	uint8_t *sig = NULL;
	size_t siglen = 0, signed_len, pos, n;
	unsigned int lineno = 0;
	char line[RL_LINE_MAX + 1];
	const char *nl;
	uint64_t v;
	int last_kind = 0, r = PV_ERR_INVALID;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (len > PVT_REVLIST_FILE_MAX) {
		rl_err(err, errlen, 0, "list too large");
		return PV_ERR_LIMIT;
	}
	if (len < sizeof(RL_MAGIC) || data[len - 1] != '\n' ||
	    memchr(data, '\0', len) != NULL) {
		rl_err(err, errlen, 0, "not a provost revocation list");
		return PV_ERR_INVALID;
	}
	/* The last line is the signature over everything before it. */
	for (signed_len = len - 1; signed_len > 0 && d[signed_len - 1] != '\n';
	     signed_len--)
		;
	n = len - 1 - signed_len;
	if (n <= strlen(RL_SIG_KW) ||
	    memcmp(d + signed_len, RL_SIG_KW, strlen(RL_SIG_KW)) != 0) {
		rl_err(err, errlen, 0, "no signature line at the end");
		return PV_ERR_INVALID;
	}
	if (pv_b64_decode(d + signed_len + strlen(RL_SIG_KW),
		n - strlen(RL_SIG_KW), 1, &sig, &siglen) != 0 ||
	    siglen != PVT_SIG_LEN) {
		rl_err(err, errlen, 0, "malformed signature");
		r = PV_ERR_INVALID;
		goto out;
	}
	if ((r = pv_ed25519_verify(pub, data, signed_len, sig)) != 0) {
		rl_err(err, errlen, 0,
		    r == PV_ERR_AUTH ? "signature does not verify"
				     : "cannot verify the signature");
		goto out;
	}
	if ((rl = pvt_revlist_new()) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	for (pos = 0; pos < signed_len; pos = (size_t)(nl - d) + 1) {
		lineno++;
		nl = memchr(d + pos, '\n', signed_len - pos);
		n = (size_t)(nl - (d + pos)); /* signed part ends in '\n' */
		r = PV_ERR_INVALID;
		what = "line too long";
		if (n > RL_LINE_MAX)
			break;
		memcpy(line, d + pos, n);
		line[n] = '\0';
		if (lineno == 1) {
			what = "not a provost revocation list (pvr1)";
			if (strcmp(line, "pvr1") != 0)
				break;
		} else if (lineno == 2) {
			what = "expected issued-at";
			if (strncmp(line, "issued-at ", 10) != 0 ||
			    rl_parse_num(line + 10, 1, RL_TIME_MAX - 1, &v) !=
				0)
				break;
			rl->issued_at = (int64_t)v;
		} else if (lineno == 3) {
			what = "expected sequence";
			if (strncmp(line, "sequence ", 9) != 0 ||
			    rl_parse_num(
				line + 9, 0, UINT64_MAX, &rl->sequence) != 0)
				break;
		} else if (rl_parse_entry(rl, line, &last_kind, &what) != 0) {
			break;
		}
		r = 0;
	}
	if (r == 0 && lineno < 3) {
		r = PV_ERR_INVALID;
		what = "header incomplete";
	}
	if (r != 0) {
		rl_err(err, errlen, lineno, what);
		goto out;
	}
	rl->canonical = 1;
	*out = rl;
	rl = NULL;
	r = 0;
out:
	pvt_revlist_free(rl);
	free(sig);
	return r;
}

int
pvt_revlist_write_file(const char *path, const char *data, size_t len)
{
	return pv_file_replace(path, 0644, data, len);
}

int
pvt_revlist_load(const char *path, EVP_PKEY *pub, struct pvt_revlist **out,
    char *err, size_t errlen)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = pv_file_read(path, PVT_REVLIST_FILE_MAX, &data, &len)) != 0) {
		rl_err(err, errlen, 0, pv_err_str(r));
		return r;
	}
	r = pvt_revlist_parse(data, len, pub, out, err, errlen);
	free(data);
	return r;
}

int64_t
pvt_revlist_issued_at(const struct pvt_revlist *rl)
{
	return rl->issued_at;
}

uint64_t
pvt_revlist_sequence(const struct pvt_revlist *rl)
{
	return rl->sequence;
}

size_t
pvt_revlist_count(const struct pvt_revlist *rl, enum pvt_rev_kind kind)
{
	if ((unsigned)kind >= PVT_REV_KINDS)
		return 0;
	return kind == PVT_REV_SERIAL ? rl->nserials : rl->names[kind].n;
}

/* Lists are canonical (sorted) once parsed or signed. */
static int
rl_has(const struct pvt_revlist *rl, enum pvt_rev_kind kind, const char *v)
{
	const struct rl_set *s = &rl->names[kind];
	size_t i;

	if (s->n == 0 || v[0] == '\0')
		return 0;
	if (rl->canonical)
		return bsearch(&v, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->v[i], v) == 0)
			return 1;
	}
	return 0;
}

int
pvt_revlist_check(const struct pvt_revlist *rl, const struct pvt_claims *c,
    enum pvt_reason *why)
{
	size_t i;

	*why = PVT_OK;
	if (rl_has(rl, PVT_REV_ENGINEER, c->engineer))
		*why = PVT_E_REVOKED_ENGINEER;
	else if (rl_has(rl, PVT_REV_ACCOUNT, c->account))
		*why = PVT_E_REVOKED_ACCOUNT;
	else if (rl_has(rl, PVT_REV_SESSION, c->session_id))
		*why = PVT_E_REVOKED_SESSION;
	else if (rl_has(rl, PVT_REV_GRANT, c->grant_id))
		*why = PVT_E_REVOKED_GRANT;
	else if (rl->canonical && rl->nserials > 0 &&
	    bsearch(&c->serial, rl->serials, rl->nserials, sizeof(*rl->serials),
		cmp_u64) != NULL)
		*why = PVT_E_REVOKED_SERIAL;
	for (i = 0; !rl->canonical && *why == PVT_OK && i < rl->nserials; i++) {
		if (rl->serials[i] == c->serial)
			*why = PVT_E_REVOKED_SERIAL;
	}
	return *why == PVT_OK ? PV_ALLOW : PV_DENY;
}

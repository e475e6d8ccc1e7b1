/*
 * audit_ref.c: a recording checked against the audit chain: what the
 * session rows of `provostctl audit export` say of each recording (the
 * header hash at open, the file hash at close), and the file's own hashes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "recorder/recorder-int.h"

struct rec_audit_index {
	struct rec_audit_ref *v;
	size_t n, cap;
};

#define AUDIT_LINE_MAX (1024 * 1024)
#define REC_HASH_BUF (256 * 1024)

static int
hex64_ok(const char *s)
{
	size_t i;

	if (strlen(s) != 2 * REC_HASH_LEN)
		return 0;
	for (i = 0; i < 2 * REC_HASH_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static struct rec_audit_ref *
index_get(struct rec_audit_index *ix, const char *id)
{
	struct rec_audit_ref *v;
	size_t i;

	/*
	 * From the newest: a session's end comes after the few sessions
	 * opened while it ran, so a long export costs about n lookups.
	 */
	for (i = ix->n; i-- > 0;)
		if (strcmp(ix->v[i].session, id) == 0)
			return &ix->v[i];
	if (ix->n == ix->cap) {
		size_t cap = ix->cap == 0 ? 64 : ix->cap * 2;

		if ((v = reallocarray(ix->v, cap, sizeof(*v))) == NULL)
			return NULL;
		ix->v = v;
		ix->cap = cap;
	}
	v = &ix->v[ix->n++];
	memset(v, 0, sizeof(*v));
	memcpy(v->session, id, PV_UUID_LEN + 1);
	return v;
}

/* An optional hash member: "" when absent, else 64 lower-case hex digits. */
static int
get_hash(json_t *d, const char *name, char out[2 * REC_HASH_LEN + 1])
{
	json_t *h = json_object_get(d, name);
	const char *s;

	out[0] = '\0';
	if (h == NULL || json_is_null(h))
		return 0;
	if ((s = json_string_value(h)) == NULL)
		return -1;
	if (s[0] == '\0')
		return 0;
	if (!hex64_ok(s))
		return -1;
	memcpy(out, s, 2 * REC_HASH_LEN + 1);
	return 0;
}

/* One audit row; session rows go into ix.  A bad row says why in why. */
static int
index_row(struct rec_audit_index *ix, json_t *row, const char **why)
{
	json_t *d, *j;
	const char *action, *object, *id, *path;
	struct rec_audit_ref *ref;
	json_int_t seq;
	int open, lost;

	*why = NULL;
	if (!json_is_object(row)) {
		*why = "not a JSON object";
		return PV_ERR_INVALID;
	}
	if (!json_is_integer(json_object_get(row, "seq")) ||
	    (seq = json_integer_value(json_object_get(row, "seq"))) < 1 ||
	    (action = json_string_value(json_object_get(row, "action"))) ==
		NULL ||
	    (object = json_string_value(json_object_get(row, "object"))) ==
		NULL) {
		*why = "not an audit row (seq, action, object)";
		return PV_ERR_INVALID;
	}
	open = strcmp(action, "session.open") == 0;
	lost = strcmp(action, "session.aborted") == 0;
	if (!open && !lost && strcmp(action, "session.close") != 0 &&
	    strcmp(action, "session.abort") != 0)
		return 0;
	if (strncmp(object, "session:", 8) != 0 ||
	    !pv_uuid_valid(id = object + 8)) {
		*why = "a session row whose object is not session:UUID";
		return PV_ERR_INVALID;
	}
	if (!json_is_object(d = json_object_get(row, "details"))) {
		*why = "a session row without details";
		return PV_ERR_INVALID;
	}
	if ((ref = index_get(ix, id)) == NULL)
		return PV_ERR_ALLOC;
	if (open) {
		if (ref->open_seq != 0) {
			*why = "a second session.open for the same session";
			return PV_ERR_INVALID;
		}
		ref->open_seq = (uint64_t)seq;
		j = json_object_get(d, "recording");
		if (j != NULL && !json_is_null(j)) {
			if ((path = json_string_value(j)) == NULL ||
			    strlen(path) >= sizeof(ref->path)) {
				*why = "a recording path that is not a string "
				       "or is too long";
				return PV_ERR_INVALID;
			}
			memcpy(ref->path, path, strlen(path) + 1);
		}
		if (get_hash(d, "recording_header_sha256",
			ref->header_sha256) != 0) {
			*why = "recording_header_sha256 is not 64 hex digits";
			return PV_ERR_INVALID;
		}
		return 0;
	}
	if (ref->end_seq != 0) {
		*why = "a second end (session.close or session.abort) of the "
		       "same session";
		return PV_ERR_INVALID;
	}
	ref->end_seq = (uint64_t)seq;
	ref->aborted = action[8] == 'a';
	if (lost) {
		/* another broker's, after this one's lease expired */
		ref->lost = 1;
		j = json_object_get(d, "broker");
		if (j != NULL &&
		    (!json_is_string(j) ||
			strlen(json_string_value(j)) >=
			    sizeof(ref->lost_broker))) {
			*why = "session.aborted names no broker";
			return PV_ERR_INVALID;
		}
		if (j != NULL)
			memcpy(ref->lost_broker, json_string_value(j),
			    strlen(json_string_value(j)) + 1);
		return 0;
	}
	if (get_hash(d, "recording_sha256", ref->sha256) != 0) {
		*why = "recording_sha256 is not 64 hex digits";
		return PV_ERR_INVALID;
	}
	j = json_object_get(d, "recording_size");
	if (j != NULL && (!json_is_integer(j) || json_integer_value(j) < 0)) {
		*why = "recording_size is not a number of bytes";
		return PV_ERR_INVALID;
	}
	ref->size = j != NULL ? (uint64_t)json_integer_value(j) : 0;
	return 0;
}

int
rec_audit_index_load(struct rec_audit_index **out, const char *name,
    const char *text, size_t len, char *err, size_t errlen)
{
	struct rec_audit_index *ix;
	const char *p = text, *end = text + len, *nl, *why;
	json_error_t je;
	json_t *row;
	size_t lineno = 0, ll;
	int r = 0;

	*out = NULL;
	err[0] = '\0';
	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return PV_ERR_ALLOC;
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		ll = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			p = nl != NULL ? nl + 1 : end;
			continue;
		}
		if (ll > AUDIT_LINE_MAX) {
			(void)snprintf(
			    err, errlen, "%s:%zu: line too long", name, lineno);
			r = PV_ERR_INVALID;
			break;
		}
		if ((row = json_loadb(p, ll, JSON_REJECT_DUPLICATES, &je)) ==
		    NULL) {
			(void)snprintf(err, errlen, "%s:%zu: not JSON: %s",
			    name, lineno, je.text);
			r = PV_ERR_INVALID;
			break;
		}
		r = index_row(ix, row, &why);
		json_decref(row);
		if (r != 0) {
			(void)snprintf(err, errlen, "%s:%zu: %s", name, lineno,
			    why != NULL ? why : pv_err_str(r));
			break;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (r != 0) {
		rec_audit_index_free(ix);
		return r;
	}
	*out = ix;
	return 0;
}

const struct rec_audit_ref *
rec_audit_index_find(const struct rec_audit_index *ix, const char *session)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		if (strcmp(ix->v[i].session, session) == 0)
			return &ix->v[i];
	return NULL;
}

size_t
rec_audit_index_count(const struct rec_audit_index *ix)
{
	return ix->n;
}

void
rec_audit_index_free(struct rec_audit_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->v);
	free(ix);
}

/* len bytes at off; -1 at the end of the file or on an error. */
static int
pread_full(int fd, uint8_t *p, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int
rec_fd_hashes(int fd, struct rec_file_hash *out, char *err, size_t errlen)
{
	uint8_t pre[REC_PREFIX_LEN], *json = NULL, *buf = NULL;
	EVP_MD_CTX *all = NULL, *h = NULL;
	json_t *hdr = NULL;
	const char *sid;
	uint32_t jlen;
	ssize_t n;
	int r = PV_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (pread_full(fd, pre, sizeof(pre), 0) != 0 ||
	    memcmp(pre, REC_MAGIC, REC_MAGIC_LEN) != 0) {
		(void)snprintf(err, errlen, "not a provost recording");
		goto out;
	}
	jlen = (uint32_t)pre[10] << 24 | (uint32_t)pre[11] << 16 |
	    (uint32_t)pre[12] << 8 | pre[13];
	if (jlen < 2 || jlen > REC_JSON_MAX || (json = malloc(jlen)) == NULL ||
	    pread_full(fd, json, jlen, REC_PREFIX_LEN) != 0) {
		(void)snprintf(
		    err, errlen, "incomplete: the header is cut short");
		goto out;
	}
	r = PV_ERR_CRYPTO;
	if ((all = EVP_MD_CTX_new()) == NULL ||
	    (h = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(all, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(all, pre, sizeof(pre)) != 1 ||
	    EVP_DigestUpdate(all, json, jlen) != 1 ||
	    EVP_MD_CTX_copy_ex(h, all) != 1 ||
	    EVP_DigestFinal_ex(h, out->header_sha256, NULL) != 1)
		goto out;
	out->header_len = REC_PREFIX_LEN + jlen;
	out->size = out->header_len;
	if ((hdr = json_loadb((const char *)json, jlen, 0, NULL)) != NULL &&
	    (sid = json_string_value(json_object_get(hdr, "session"))) !=
		NULL &&
	    pv_uuid_valid(sid))
		memcpy(out->session, sid, PV_UUID_LEN + 1);
	if ((buf = malloc(REC_HASH_BUF)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	for (;;) {
		n = pread(fd, buf, REC_HASH_BUF, (off_t)out->size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void)snprintf(
			    err, errlen, "read: %s", strerror(errno));
			r = PV_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(all, buf, (size_t)n) != 1)
			goto out;
		out->size += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(all, out->sha256, NULL) != 1)
		goto out;
	r = 0;
out:
	if (r == PV_ERR_CRYPTO)
		(void)snprintf(err, errlen, "SHA-256 failed");
	json_decref(hdr);
	EVP_MD_CTX_free(all);
	EVP_MD_CTX_free(h);
	free(json);
	free(buf);
	return r;
}

int
rec_file_hashes(
    const char *path, struct rec_file_hash *out, char *err, size_t errlen)
{
	int fd, r;

	memset(out, 0, sizeof(*out));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		(void)snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return PV_ERR_IO;
	}
	r = rec_fd_hashes(fd, out, err, errlen);
	(void)close(fd);
	return r;
}

/* "ID" when the file's name is ID.pvr for a UUID ID, else "". */
static void
name_session(const char *path, char out[PV_UUID_LEN + 1])
{
	const char *b = strrchr(path, '/');
	size_t len;

	out[0] = '\0';
	b = b != NULL ? b + 1 : path;
	len = strlen(b);
	if (len != PV_UUID_LEN + 4 || strcmp(b + PV_UUID_LEN, ".pvr") != 0)
		return;
	memcpy(out, b, PV_UUID_LEN);
	out[PV_UUID_LEN] = '\0';
	if (!pv_uuid_valid(out))
		out[0] = '\0';
}

int
rec_audit_check(const struct rec_audit_index *ix, const char *path,
    const char *expect, char *msg, size_t msglen)
{
	const struct rec_audit_ref *ref;
	struct rec_file_hash fh;
	char want[PV_UUID_LEN + 1], hh[2 * REC_HASH_LEN + 1],
	    sha[2 * REC_HASH_LEN + 1], e[256];
	int r;

	msg[0] = '\0';
	if ((r = rec_file_hashes(path, &fh, e, sizeof(e))) != 0) {
		(void)snprintf(msg, msglen, "%s", e);
		/* a file cut inside its header is still named */
		return r == PV_ERR_INVALID ? 0 : r;
	}
	if (expect != NULL && expect[0] != '\0')
		(void)snprintf(want, sizeof(want), "%s", expect);
	else
		name_session(path, want);
	if (want[0] == '\0')
		memcpy(want, fh.session, sizeof(want));
	if (want[0] == '\0') {
		(void)snprintf(msg, msglen,
		    "neither the file's name nor its header names a session");
		return 0;
	}
	if (strcmp(fh.session, want) != 0) {
		(void)snprintf(msg, msglen,
		    "the header names session %s, but this is session %s's "
		    "recording: swapped or forged",
		    fh.session[0] ? fh.session : "(none)", want);
		return 0;
	}
	if ((ref = rec_audit_index_find(ix, want)) == NULL ||
	    ref->open_seq == 0) {
		(void)snprintf(msg, msglen,
		    "the audit chain has no session.open of session %s: "
		    "forged, or the export does not reach back to it",
		    want);
		return 0;
	}
	(void)pv_hex_encode(fh.header_sha256, REC_HASH_LEN, hh, sizeof(hh));
	(void)pv_hex_encode(fh.sha256, REC_HASH_LEN, sha, sizeof(sha));
	if (ref->header_sha256[0] == '\0') {
		(void)snprintf(msg, msglen,
		    "the audit chain holds no header hash for session %s "
		    "(session.open, seq %llu: written before provostd "
		    "recorded one), so the header cannot be checked",
		    want, (unsigned long long)ref->open_seq);
		return 0;
	}
	if (strcmp(ref->header_sha256, hh) != 0) {
		(void)snprintf(msg, msglen,
		    "header sha256 %s is not the %s the audit chain recorded "
		    "when session %s opened (seq %llu): the header was "
		    "rewritten or the recording replaced",
		    hh, ref->header_sha256, want,
		    (unsigned long long)ref->open_seq);
		return 0;
	}
	if (ref->end_seq == 0) {
		(void)snprintf(msg, msglen,
		    "header matches session.open (seq %llu); the session has "
		    "not ended in the chain (live, or provostd stopped before "
		    "its end was recorded): the rest is unchecked",
		    (unsigned long long)ref->open_seq);
		return 2;
	}
	if (ref->lost) {
		(void)snprintf(msg, msglen,
		    "incomplete: session %s was marked aborted after its "
		    "broker %s lost its lease (session.aborted, seq %llu): the "
		    "chain holds no end hash, only the header is checked "
		    "(matches session.open, seq %llu)",
		    want, ref->lost_broker[0] ? ref->lost_broker : "(unknown)",
		    (unsigned long long)ref->end_seq,
		    (unsigned long long)ref->open_seq);
		return 0;
	}
	if (ref->sha256[0] == '\0') {
		(void)snprintf(msg, msglen,
		    "the audit chain holds no recording hash for session %s "
		    "(%s, seq %llu)",
		    want, ref->aborted ? "session.abort" : "session.close",
		    (unsigned long long)ref->end_seq);
		return 0;
	}
	if (strcmp(ref->sha256, sha) != 0 || ref->size != fh.size) {
		(void)snprintf(msg, msglen,
		    "sha256 %s (%llu bytes) is not the %s (%llu bytes) the "
		    "audit chain recorded when session %s ended (seq %llu): "
		    "the recording was cut short, changed or replaced",
		    sha, (unsigned long long)fh.size, ref->sha256,
		    (unsigned long long)ref->size, want,
		    (unsigned long long)ref->end_seq);
		return 0;
	}
	(void)snprintf(msg, msglen,
	    "matches the audit chain: session %s, header sha256 %s (seq "
	    "%llu), sha256 %s, %llu bytes (seq %llu%s)",
	    want, hh, (unsigned long long)ref->open_seq, sha,
	    (unsigned long long)fh.size, (unsigned long long)ref->end_seq,
	    ref->aborted ? ", session.abort: the recording ends where the "
			   "session process stopped"
			 : "");
	return 1;
}

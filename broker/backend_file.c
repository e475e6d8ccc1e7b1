/*
 * backend_file.c: TEMPORARY backend and recorder for tests, until store/,
 * policy/ and recorder/ land: keys, TOTP and targets from one file.
 *
 * THIS IS NOT THE PRODUCT BACKEND.  It is selected only by "Store
 * file:PATH" and exists so that the relay can be tested end to end against
 * real OpenSSH now.  The file (pv_conf syntax):
 *
 *   TOTPStateDirectory DIR      # where used time steps are remembered
 *   Engineer alice
 *       Key ssh-ed25519 AAAA... [comment]
 *       TOTPSecret HEX          # as for oathtool --totp HEX
 *   Target db01
 *       Host 127.0.0.1
 *       Port 2200
 *       Accounts root postgres
 *       HostKey ssh-ed25519 AAAA...
 *   RecorderFailAfter BYTES     # test knob: the recorder fails after this
 *
 * The "policy" allows an account listed for the target, nothing else.  The
 * recorder keeps a SHA-256 of each stream and logs it at the end; it writes
 * no file (the real one is recorder/'s rec_writer_*).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <openssl/evp.h>

#include "broker/broker-int.h"
#include "policy/policy.h"

#define FB_MAX_ENGINEERS 64
#define FB_MAX_KEYS 8
#define FB_MAX_TARGETS 64

struct fb_engineer {
	char name[BROKER_ENGINEER_MAX + 1];
	uint8_t *keys[FB_MAX_KEYS];
	size_t keylen[FB_MAX_KEYS];
	int nkeys;
	char *totp; /* binary secret */
	size_t totplen;
};

struct fb {
	struct fb_engineer eng[FB_MAX_ENGINEERS];
	int neng;
	struct broker_target tgt[FB_MAX_TARGETS];
	int ntgt;
	char *state_dir;
	uint64_t fail_after; /* 0 = never */
	int cur;             /* 1 engineer, 2 target block */
	EVP_PKEY *ca;
};

static struct fb_engineer *
fb_cur_eng(struct fb *f, char *err, size_t errlen)
{
	if (f->cur != 1 || f->neng == 0) {
		(void)snprintf(err, errlen, "outside an Engineer block");
		return NULL;
	}
	return &f->eng[f->neng - 1];
}

static struct broker_target *
fb_cur_tgt(struct fb *f, char *err, size_t errlen)
{
	if (f->cur != 2 || f->ntgt == 0) {
		(void)snprintf(err, errlen, "outside a Target block");
		return NULL;
	}
	return &f->tgt[f->ntgt - 1];
}

static int
fb_kw(void *ctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct fb *f = ctx;
	const char *k = l->keyword, *v = l->args[0];
	struct fb_engineer *e;
	struct broker_target *t;
	uint32_t port;
	int i, n;

	if (strcasecmp(k, "Engineer") == 0) {
		if (f->neng >= FB_MAX_ENGINEERS ||
		    !broker_name_valid(v, strlen(v), BROKER_ENGINEER_MAX))
			goto bad;
		e = &f->eng[f->neng++];
		(void)snprintf(e->name, sizeof(e->name), "%s", v);
		f->cur = 1;
	} else if (strcasecmp(k, "Key") == 0) {
		if ((e = fb_cur_eng(f, err, errlen)) == NULL)
			return PV_ERR_CONFIG;
		if (l->nargs < 2 || e->nkeys >= FB_MAX_KEYS ||
		    pv_b64_decode(l->args[1], strlen(l->args[1]), 0,
			&e->keys[e->nkeys], &e->keylen[e->nkeys]) != 0)
			goto bad;
		e->nkeys++;
	} else if (strcasecmp(k, "TOTPSecret") == 0) {
		if ((e = fb_cur_eng(f, err, errlen)) == NULL)
			return PV_ERR_CONFIG;
		e->totplen = strlen(v) / 2;
		if (e->totp != NULL ||
		    (e->totp = malloc(e->totplen + 1)) == NULL ||
		    oath_hex2bin(v, e->totp, &e->totplen) != OATH_OK)
			goto bad;
	} else if (strcasecmp(k, "Target") == 0) {
		if (f->ntgt >= FB_MAX_TARGETS ||
		    !broker_name_valid(v, strlen(v), BROKER_TARGET_MAX))
			goto bad;
		t = &f->tgt[f->ntgt++];
		(void)snprintf(t->name, sizeof(t->name), "%s", v);
		(void)snprintf(
		    t->classification, sizeof(t->classification), "internal");
		t->port = 22;
		f->cur = 2;
	} else if (strcasecmp(k, "Host") == 0) {
		if ((t = fb_cur_tgt(f, err, errlen)) == NULL)
			return PV_ERR_CONFIG;
		n = snprintf(t->host, sizeof(t->host), "%s", v);
		if (n < 0 || (size_t)n >= sizeof(t->host))
			goto bad;
	} else if (strcasecmp(k, "Port") == 0) {
		if ((t = fb_cur_tgt(f, err, errlen)) == NULL)
			return PV_ERR_CONFIG;
		if (pv_parse_u32(v, 1, 65535, &port) != 0)
			goto bad;
		t->port = (uint16_t)port;
	} else if (strcasecmp(k, "Accounts") == 0) {
		if ((t = fb_cur_tgt(f, err, errlen)) == NULL)
			return PV_ERR_CONFIG;
		for (i = 0; i < l->nargs && i < BROKER_MAX_ACCOUNTS; i++) {
			if (!broker_principal_valid(l->args[i]))
				goto bad;
			(void)snprintf(t->accounts[i], sizeof(t->accounts[i]),
			    "%s", l->args[i]);
		}
		t->naccounts = i;
	} else if (strcasecmp(k, "HostKey") == 0) {
		if ((t = fb_cur_tgt(f, err, errlen)) == NULL)
			return PV_ERR_CONFIG;
		n = snprintf(t->hostkey, sizeof(t->hostkey), "%s %s", v,
		    l->nargs > 1 ? l->args[1] : "");
		if (l->nargs < 2 || n < 0 || (size_t)n >= sizeof(t->hostkey))
			goto bad;
	} else if (strcasecmp(k, "TOTPStateDirectory") == 0) {
		free(f->state_dir);
		if ((f->state_dir = strdup(v)) == NULL)
			return PV_ERR_ALLOC;
	} else if (strcasecmp(k, "RecorderFailAfter") == 0) {
		if (pv_parse_u64(v, 1, UINT64_MAX, &f->fail_after) != 0)
			goto bad;
	} else
		return PV_ERR_INTERNAL;
	return 0;
bad:
	(void)snprintf(err, errlen, "%s: bad value", l->keyword);
	return PV_ERR_CONFIG;
}

static const struct pv_conf_keyword fb_keywords[] = {
	{ "Engineer", 1, 1, fb_kw },
	{ "Key", 2, 3, fb_kw },
	{ "TOTPSecret", 1, 1, fb_kw },
	{ "Target", 1, 1, fb_kw },
	{ "Host", 1, 1, fb_kw },
	{ "Port", 1, 1, fb_kw },
	{ "Accounts", 1, BROKER_MAX_ACCOUNTS, fb_kw },
	{ "HostKey", 2, 3, fb_kw },
	{ "TOTPStateDirectory", 1, 1, fb_kw },
	{ "RecorderFailAfter", 1, 1, fb_kw },
	{ NULL, 0, 0, NULL },
};

static struct fb_engineer *
fb_engineer(struct fb *f, const char *name)
{
	int i;

	for (i = 0; i < f->neng; i++) {
		if (strcmp(f->eng[i].name, name) == 0)
			return &f->eng[i];
	}
	return NULL;
}

static int
fb_key_check(void *ctx, const char *engineer, const uint8_t *blob, size_t len)
{
	struct fb_engineer *e = fb_engineer(ctx, engineer);
	int i, match = 0;

	if (e == NULL)
		return PV_DENY;
	for (i = 0; i < e->nkeys; i++) {
		if (e->keylen[i] == len &&
		    pv_secret_equal(e->keys[i], blob, len))
			match = 1;
	}
	return match ? PV_ALLOW : PV_DENY;
}

/* A time step is accepted once: the last used one is kept in a file. */
static int
fb_totp_step_use(struct fb *f, const char *engineer, uint64_t step)
{
	char path[4096], buf[32];
	uint64_t last = 0;
	ssize_t n;
	int fd, r = PV_DENY;

	if (f->state_dir == NULL)
		return PV_ERR_CONFIG;
	n = snprintf(path, sizeof(path), "%s/%s.totp", f->state_dir, engineer);
	if (n < 0 || (size_t)n >= sizeof(path))
		return PV_ERR_RANGE;
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) <
	    0)
		return PV_ERR_IO;
	if (flock(fd, LOCK_EX) != 0) {
		r = PV_ERR_IO;
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		if (pv_parse_u64(buf, 0, UINT64_MAX, &last) != 0) {
			r = PV_ERR_INVALID;
			goto out;
		}
	}
	if (n > 0 && step <= last)
		goto out; /* replay, or an older code after a newer one */
	n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)step);
	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0 ||
	    pv_write_all(fd, buf, (size_t)n) != 0 || fsync(fd) != 0) {
		r = PV_ERR_IO;
		goto out;
	}
	r = PV_ALLOW;
out:
	close(fd);
	return r;
}

/* "<engineer>.grace": hex SHA-256 of key and address, then unix time. */
static int
fb_grace_path(struct fb *f, const char *engineer, const uint8_t *blob,
    size_t len, const char *addr, char *path, size_t pathlen, char *tag,
    size_t taglen)
{
	EVP_MD_CTX *md;
	uint8_t d[32];
	unsigned int dl = 0;
	int n, ok;

	if (f->state_dir == NULL || (md = EVP_MD_CTX_new()) == NULL)
		return PV_ERR_CONFIG;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, blob, len) == 1 &&
	    EVP_DigestUpdate(md, "|", 1) == 1 &&
	    EVP_DigestUpdate(md, addr, strlen(addr)) == 1 &&
	    EVP_DigestFinal_ex(md, d, &dl) == 1;
	EVP_MD_CTX_free(md);
	if (!ok || pv_hex_encode(d, dl, tag, taglen) != 0)
		return PV_ERR_CRYPTO;
	n = snprintf(path, pathlen, "%s/%s.grace", f->state_dir, engineer);
	return n > 0 && (size_t)n < pathlen ? 0 : PV_ERR_RANGE;
}

static int
fb_mfa_recent(void *ctx, const char *engineer, const uint8_t *blob, size_t len,
    const char *addr, uint64_t grace)
{
	char path[4096], tag[65], want[65], line[128];
	long long when;
	FILE *fp;
	int r = PV_DENY;

	if (fb_grace_path(ctx, engineer, blob, len, addr, path, sizeof(path),
		want, sizeof(want)) != 0 ||
	    (fp = fopen(path, "re")) == NULL)
		return PV_DENY;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "%64s %lld", tag, &when) == 2 &&
		    strcmp(tag, want) == 0 && when <= (long long)time(NULL) &&
		    (uint64_t)((long long)time(NULL) - when) < grace)
			r = PV_ALLOW;
	}
	fclose(fp);
	return r;
}

static void
fb_mfa_note(struct fb *f, const char *engineer, const uint8_t *blob, size_t len,
    const char *addr)
{
	char path[4096], tag[65];
	FILE *fp;

	if (fb_grace_path(f, engineer, blob, len, addr, path, sizeof(path), tag,
		sizeof(tag)) != 0 ||
	    (fp = fopen(path, "ae")) == NULL)
		return;
	fprintf(fp, "%s %lld\n", tag, (long long)time(NULL));
	fclose(fp);
}

static int
fb_totp_check(void *ctx, const char *engineer, const char *code,
    const uint8_t *blob, size_t len, const char *addr)
{
	struct fb *f = ctx;
	struct fb_engineer *e = fb_engineer(f, engineer);
	uint64_t step = 0;
	int pos = 0, rc;

	if (e == NULL || e->totp == NULL || strlen(code) != 6)
		return PV_DENY;
	rc = oath_totp_validate3(e->totp, e->totplen, time(NULL),
	    OATH_TOTP_DEFAULT_TIME_STEP_SIZE, 0, 1, &pos, &step, code);
	if (rc < 0)
		return PV_DENY;
	if ((rc = fb_totp_step_use(f, engineer, step)) == PV_ALLOW)
		fb_mfa_note(f, engineer, blob, len, addr);
	return rc;
}

static int
fb_target_get(void *ctx, const char *engineer, const char *name,
    struct broker_target *out)
{
	struct fb *f = ctx;
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < f->ntgt; i++) {
		if (strcmp(f->tgt[i].name, name) == 0) {
			*out = f->tgt[i];
			return 0;
		}
	}
	return PV_ERR_NOT_FOUND;
}

static int
fb_decide(
    void *ctx, const struct broker_decide_req *req, struct broker_decision *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	(void)snprintf(out->rule, sizeof(out->rule), "test-backend");
	for (i = 0; i < req->target->naccounts; i++) {
		if (strcmp(req->target->accounts[i], req->account) == 0) {
			out->permit_pty = 1;
			out->channels = POLICY_CH_SHELL | POLICY_CH_EXEC;
			(void)snprintf(out->reason, sizeof(out->reason),
			    "test backend: %s is an account of %s",
			    req->account, req->target->name);
			return PV_ALLOW;
		}
	}
	(void)snprintf(out->reason, sizeof(out->reason),
	    "no rule or grant lets %s use account %s on %s", req->engineer,
	    req->account, req->target->name);
	return PV_DENY;
}

static int
fb_cert_mint(void *ctx, struct broker_cert_req *req, struct pv_buf *out)
{
	struct fb *f = ctx;
	int r;

	/* The store hands out serials; wall milliseconds do for tests. */
	req->serial = (uint64_t)pv_wall_ms();
	if ((r = broker_cert_mint(f->ca, req, out)) != 0)
		return r;
	pv_info("credential: serial %llu key id provost:%s:%s principal %s "
		"valid %llds (test backend: not stored)",
	    (unsigned long long)req->serial, req->session_id, req->engineer,
	    req->principal, (long long)req->lifetime);
	return 0;
}

static int
fb_audit(
    void *ctx, const char *session_id, const char *event, const char *detail)
{
	pv_info("audit: session %s %s: %s", session_id, event, detail);
	return 0;
}

static void
fb_free(void *ctx)
{
	struct fb *f = ctx;
	int i, j;

	if (f == NULL)
		return;
	for (i = 0; i < f->neng; i++) {
		for (j = 0; j < f->eng[i].nkeys; j++)
			free(f->eng[i].keys[j]);
		pv_secret_free(f->eng[i].totp, f->eng[i].totplen);
	}
	free(f->state_dir);
	free(f);
}

static const struct broker_backend_ops fb_ops = {
	.name = "file (test only)",
	.key_check = fb_key_check,
	.totp_check = fb_totp_check,
	.mfa_recent = fb_mfa_recent,
	.target_get = fb_target_get,
	.decide = fb_decide,
	.cert_mint = fb_cert_mint,
	.audit = fb_audit,
	.free = fb_free,
};

/* The digest recorder (TEMPORARY): hashes, counts, can be told to fail. */
struct fb_rec {
	EVP_MD_CTX *md[3]; /* input, output, stderr */
	uint64_t n[3];
	uint64_t total, fail_after;
	char sid[PV_UUID_LEN + 1];
};

static int
fbr_open(void *ctx, const struct broker_rec_info *info, void **out)
{
	struct fb *f = ctx;
	struct fb_rec *r;
	int i;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return PV_ERR_ALLOC;
	for (i = 0; i < 3; i++) {
		if ((r->md[i] = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(r->md[i], EVP_sha256(), NULL) != 1) {
			for (; i >= 0; i--)
				EVP_MD_CTX_free(r->md[i]);
			free(r);
			return PV_ERR_CRYPTO;
		}
	}
	r->fail_after = f->fail_after;
	(void)snprintf(r->sid, sizeof(r->sid), "%s", info->session_id);
	*out = r;
	return 0;
}

static int
fbr_event(void *rec, enum broker_rec_kind kind, uint32_t channel,
    const void *data, size_t len)
{
	struct fb_rec *r = rec;
	int i;

	if (kind > BROKER_REC_STDERR)
		return 0;
	i = (int)kind;
	r->total += len;
	if (r->fail_after != 0 && r->total > r->fail_after)
		return PV_ERR_IO;
	r->n[i] += len;
	return EVP_DigestUpdate(r->md[i], data, len) == 1 ? 0 : PV_ERR_CRYPTO;
}

static int
fbr_close(void *rec, int aborted, char *hex, size_t hexlen, uint64_t *size)
{
	static const char *names[3] = { "input", "output", "stderr" };
	struct fb_rec *r = rec;
	uint8_t d[32];
	char h[65];
	unsigned int dl;
	int i;

	if (r == NULL)
		return 0;
	for (i = 0; i < 3; i++) {
		if (EVP_DigestFinal_ex(r->md[i], d, &dl) == 1 &&
		    pv_hex_encode(d, dl, h, sizeof(h)) == 0)
			pv_info("recording (test digest) %s: %s %llu bytes "
				"sha256 %s%s",
			    r->sid, names[i], (unsigned long long)r->n[i], h,
			    aborted ? " (aborted)" : "");
		EVP_MD_CTX_free(r->md[i]);
	}
	if (hex != NULL && hexlen > 0)
		hex[0] = '\0';
	if (size != NULL)
		*size = 0;
	free(r);
	return 0;
}

static void
fbr_free(void *ctx)
{
}

static const struct broker_recorder_ops fbr_ops = {
	.name = "digest (test only)",
	.open = fbr_open,
	.event = fbr_event,
	.close = fbr_close,
	.free = fbr_free,
};

int
broker_backend_file_new(const char *path, EVP_PKEY *ca,
    struct broker_backend *out, struct broker_recorder *rec)
{
	struct fb *f;
	char err[PV_CONF_ERR_MAX];
	int r;

	memset(out, 0, sizeof(*out));
	memset(rec, 0, sizeof(*rec));
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return PV_ERR_ALLOC;
	(void)oath_init();
	if ((r = pv_conf_parse_file(path, fb_keywords, f, err, sizeof(err))) !=
	    0) {
		pv_error("%s", err);
		fb_free(f);
		return r;
	}
	f->ca = ca;
	out->ops = &fb_ops;
	out->ctx = f;
	rec->ops = &fbr_ops;
	rec->ctx = f;
	pv_warn("using the TEST backend %s: not for production", path);
	return 0;
}

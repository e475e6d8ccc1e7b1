/*
 * monitor_srv.c: the monitor's side of privilege separation: one state per
 * session process; each request is checked (frame, fields, order), then
 * answered from the real backend (store, policy, CA), which only the
 * monitor holds.  A bad request kills the session process.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "broker/monitor/monitor.h"
#include "broker/monitor/resolver.h"
#include "broker/privsep/protocol.h"
#include "policy/policy.h"
#include "recorder/recorder.h"
#include "store/store.h"

/* A child has this long to finish a frame it started. */
#define MS_FRAME_MS 5000
/*
 * The monitor's own LoginGraceTime: the session process ends an
 * unauthenticated connection at LoginGraceTime (and tells the client);
 * one that has not gone this much later is killed here.
 */
#define MS_GRACE_SLACK_MS 2000
/*
 * Requests before authentication, all kinds (audit appends too): the
 * auth requests the order rules allow (key queries count: a client may
 * offer every key of its agent) and a few more.
 */
#define MS_PREAUTH_REQS(tries)                             \
	(16 +                                              \
	    (4 * (tries) > MON_AUTH_REQS_MAX ? 4 * (tries) \
					     : MON_AUTH_REQS_MAX))
/*
 * Recording bytes the monitor hashes per session and tick, at most every
 * 100 ms (about 14 ms with SHA-NI, 1.7 GB/s): 240 MB/s, more than one
 * session records (about 140 MB/s), so a session's end finds at most a
 * tick's worth left.  Before, 4 MiB a tick and a tick a second while no
 * process spoke: a 1.5 GB download left 1.37 GB to its end, and the end
 * stopped every session for 2.2 s.
 */
#define MS_HASH_STEP (24u << 20)
/* A request that keeps every session waiting this long is logged. */
#define MS_SLOW_MS 100
/* ms_target_connect: the answer waits for the resolver process. */
#define MS_RESOLVING 2
/* Distinct decisions a session keeps for a reload's recheck. */
#define MS_ALLOWED_MAX 16
/*
 * Credentials (certificates, tokens) one session process may have minted:
 * its one target leg, and a retry or two if that leg is lost.
 */
#define MS_CREDS_MAX 3

struct broker_mon_child {
	const struct pv_config *conf;
	struct broker_backend *bk;
	pid_t pid;
	int sock;
	int epfd; /* the epoll set sock is in, -1: none */
	char id[PV_UUID_LEN + 1];
	char addr[MON_ADDR_MAX + 1];
	struct monitor_state st;
	/* what the monitor itself approved, never taken from the child */
	char engineer[MON_NAME_MAX + 1];
	/*
	 * or an approver's (their key, then their code): then engineer is
	 * "" and the session may only use the approvers' menu
	 */
	char approver[MON_NAME_MAX + 1];
	uint8_t keyblob[MON_BLOB_MAX];
	size_t keybloblen;
	int by_code;
	int moderator_on; /* a moderator watches (control side's word) */
	const struct broker_menu_live *live; /* an approver's watch, end */
	struct broker_target tgt;
	struct broker_decision dec;
	char account[MON_NAME_MAX + 1];
	char leg_target[MON_NAME_MAX + 1]; /* the target of leg_src below */
	char rec_path[MON_PATH_MAX + 1];
	/* the recording: the monitor's own descriptor and the header it made */
	const struct rec_recipients *rs;
	int rec_fd;
	char rec_hh[MON_SHA256_HEX + 1];
	uint64_t rec_hlen;
	EVP_MD_CTX *rec_md;   /* SHA-256 of the file, as it is written */
	uint64_t rec_hashed;  /* ... up to here */
	uint64_t rec_tick_ms; /* the last hashing turn */
	int rec_behind;       /* that turn used its whole step: more to do */
	/* what was allowed, asked again of a reloaded policy (recheck) */
	struct {
		uint32_t channel;
		char fwd_host[MON_HOST_MAX + 1];
		uint32_t fwd_port;
	} allowed[MS_ALLOWED_MAX];
	size_t nallowed;
	uint64_t mcursor; /* the monitor's own scan */
	int row_open;
	int ended;
	int killed;
	unsigned int ncreds;  /* certificates and tokens minted */
	uint64_t cred_serial; /* the last one's serial ... */
	int cred_minted;      /* ... once there is one */
	/* the local address of the last target leg the monitor connected */
	int leg_af; /* 0: none yet */
	uint8_t leg_src[sizeof(struct in6_addr)];
	int id_told;           /* identity given out: 1 authenticated, 2 row */
	uint32_t res_id;       /* the name lookup in flight (below), 0: none */
	const char *lie;       /* why a request does not fit, for the log */
	struct mon_reader rd;  /* the frame being read (never waited for) */
	uint64_t start_ms;     /* forked at, for LoginGraceTime */
	unsigned int pre_reqs; /* requests before authentication */
	unsigned int code_fails; /* wrong codes, counted here */
	unsigned int fails_told; /* ... of which given to the control side */
	uint64_t fail_ms;        /* the last wrong code */
	/* a request answered but not yet sent (broker_monsrv_take) */
	struct mon_msg *pq, *pa;
	int pfd;
	int ptype;
	/*
	 * A target-connect whose host name the resolver process looks up
	 * (res_id, above, not 0): its request and answer wait here, the
	 * answer not built, while the loop serves the others.
	 */
	struct broker_resolver *res;
	struct mon_msg *rq, *ra;
	uint64_t res_t0;
	struct broker_target res_tg;
};

int
broker_monsrv_new(const struct pv_config *conf, struct broker_backend *bk,
    const struct rec_recipients *rs, pid_t pid, int sock,
    const char *session_id, const char *client_addr,
    struct broker_mon_child **out)
{
	struct broker_mon_child *c;
	unsigned int tries;

	*out = NULL;
	/*
	 * Pages of its own (zeroed), so that a forked session process drops
	 * every other session's state by unmapping it: nothing of it stays
	 * readable there, and nothing is written (a wipe would copy each
	 * shared page into every child: O(sessions) memory per process).
	 * An anonymous mapping takes fd -1.
	 */
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS,
	    // cppcheck-suppress invalidFunctionArg
	    -1, 0);
	if (c == MAP_FAILED)
		return PV_ERR_ALLOC;
	c->conf = conf;
	c->bk = bk;
	c->pid = pid;
	c->sock = sock;
	c->epfd = -1;
	c->pfd = -1;
	c->rs = rs;
	c->rec_fd = -1;
	c->start_ms = pv_mono_ms();
	(void)snprintf(c->id, sizeof(c->id), "%s", session_id);
	(void)snprintf(c->addr, sizeof(c->addr), "%s", client_addr);
	/* key queries count too: a bound on abuse, not MaxAuthTries */
	tries = conf->max_auth_tries * 4;
	if (tries < MON_AUTH_REQS_MAX)
		tries = MON_AUTH_REQS_MAX;
	if (broker_mon_state_init(&c->st, session_id, tries) != 0) {
		(void)munmap(c, sizeof(*c));
		return PV_ERR_INVALID;
	}
	*out = c;
	return 0;
}

int
broker_monsrv_sock(const struct broker_mon_child *c)
{
	return c->sock;
}

pid_t
broker_monsrv_pid(const struct broker_mon_child *c)
{
	return c->pid;
}

void
broker_monsrv_set_live(
    struct broker_mon_child *c, const struct broker_menu_live *live)
{
	c->live = live;
}

void
broker_monsrv_set_resolver(
    struct broker_mon_child *c, struct broker_resolver *res)
{
	c->res = res;
}

void
broker_monsrv_set_moderator(struct broker_mon_child *c, int on)
{
	c->moderator_on = on != 0;
}

int
broker_monsrv_identity(
    struct broker_mon_child *c, struct broker_mon_identity *out)
{
	int now = c->row_open ? 2 : c->st.authenticated ? 1 : 0;

	out->engineer = now >= 1 ? c->engineer : "";
	out->target = now >= 2 ? c->tgt.name : "";
	out->account = now >= 2 ? c->account : "";
	out->classification = now >= 2 ? c->tgt.classification : "";
	out->moderated = now >= 2 ? c->dec.moderated : "";
	if (now == c->id_told)
		return 0;
	c->id_told = now;
	return 1;
}

static void
ms_pending_drop(struct broker_mon_child *c)
{
	if (c->pfd >= 0)
		(void)close(c->pfd);
	c->pfd = -1;
	if (c->pq != NULL) {
		broker_mon_msg_wipe(c->pq);
		free(c->pq);
	}
	if (c->pa != NULL) {
		broker_mon_msg_wipe(c->pa);
		free(c->pa);
	}
	c->pq = c->pa = NULL;
}

int
broker_monsrv_pending(const struct broker_mon_child *c)
{
	return c->pa != NULL;
}

static void ms_close(struct broker_mon_child *c);

/* A lookup in flight is given up: its answer, when it comes, is dropped. */
static void
ms_resolving_drop(struct broker_mon_child *c)
{
	if (c->res_id != 0)
		broker_resolver_cancel(c->res, c->res_id);
	c->res_id = 0;
	broker_mon_msg_wipe(c->rq);
	broker_mon_msg_wipe(c->ra);
	free(c->rq);
	free(c->ra);
	c->rq = c->ra = NULL;
}

void
broker_monsrv_free(struct broker_mon_child *c)
{
	if (c == NULL)
		return;
	ms_resolving_drop(c);
	ms_pending_drop(c);
	ms_close(c);
	if (c->rec_fd >= 0)
		(void)close(c->rec_fd);
	EVP_MD_CTX_free(c->rec_md);
	broker_mon_reader_free(&c->rd);
	/* no secret is kept here; the kernel zeroes the pages it takes back */
	(void)munmap(c, sizeof(*c));
}

void
broker_monsrv_forget(struct broker_mon_child *c)
{
	if (c == NULL)
		return;
	/* the parent's set: not touched (its descriptors are only closed) */
	c->epfd = -1;
	if (c->sock >= 0)
		(void)close(c->sock);
	if (c->rec_fd >= 0)
		(void)close(c->rec_fd);
	if (c->pfd >= 0)
		(void)close(c->pfd);
	/*
	 * A frame half read and an answer not yet sent live on the heap:
	 * wiped (they may hold a code or a key).  The rest goes with the
	 * pages, unwritten.
	 */
	if (c->rd.buf != NULL)
		pv_secret_wipe(c->rd.buf, c->rd.have);
	broker_mon_msg_wipe(c->pq);
	broker_mon_msg_wipe(c->pa);
	broker_mon_msg_wipe(c->rq);
	broker_mon_msg_wipe(c->ra);
	(void)munmap(c, sizeof(*c));
}

/*
 * The monitor hashes the recording from its own descriptor as it grows
 * (at most MS_HASH_STEP bytes a tick, so the end has little left to do):
 * the chain then holds the bytes as they were first written.  0, or < 0
 * on a read error.
 */
static int
ms_rec_hash_some(struct broker_mon_child *c, uint64_t budget)
{
	uint8_t buf[64 * 1024];
	ssize_t n;

	while (budget > 0) {
		n = pread(c->rec_fd, buf,
		    budget < sizeof(buf) ? (size_t)budget : sizeof(buf),
		    (off_t)c->rec_hashed);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return PV_ERR_IO;
		if (n == 0)
			break;
		if (EVP_DigestUpdate(c->rec_md, buf, (size_t)n) != 1)
			return PV_ERR_CRYPTO;
		c->rec_hashed += (uint64_t)n;
		budget -= (uint64_t)n;
	}
	return 0;
}

static void
ms_rec_audit(struct broker_mon_child *c, const char *what, const char *more)
{
	char detail[MON_PATH_MAX + 512];

	pv_error(
	    "session %s: recording %s: %s%s", c->id, c->rec_path, what, more);
	(void)snprintf(detail, sizeof(detail), "recording=%s reason=%s%s",
	    c->rec_path, what, more);
	(void)c->bk->ops->audit(
	    c->bk->ctx, c->id, "recording.header_changed", detail);
}

/*
 * The end of the recording, for the chain: its SHA-256 (hex) and size, the
 * monitor's, never the session process's word.  A header that is no
 * longer the one the monitor wrote, or a file shorter than what was
 * already hashed, is logged and audited (recording.header_changed) and the
 * file is hashed again as it is now.  claimed (UINT64_MAX: none) is the
 * size the child says it wrote; a difference is logged.  The descriptor is
 * closed: this is the session's last word on it.
 */
static void
ms_rec_seal(
    struct broker_mon_child *c, uint64_t claimed, char hex[65], uint64_t *size)
{
	uint8_t *hdr = NULL, md[32];
	char hh[MON_SHA256_HEX + 1] = "";
	struct stat sb;
	uint64_t t0 = pv_mono_ms(), left = 0;
	int ok = 0;

	hex[0] = '\0';
	*size = 0;
	if (c->rec_fd < 0 || c->rec_md == NULL)
		goto out;
	if (c->rec_hlen > 0 && c->rec_hlen <= MON_REC_HEADER_MAX &&
	    (hdr = malloc(c->rec_hlen)) != NULL &&
	    pread(c->rec_fd, hdr, c->rec_hlen, 0) == (ssize_t)c->rec_hlen &&
	    EVP_Digest(hdr, c->rec_hlen, md, NULL, EVP_sha256(), NULL) == 1)
		(void)pv_hex_encode(md, sizeof(md), hh, sizeof(hh));
	free(hdr);
	if (fstat(c->rec_fd, &sb) != 0) {
		ms_rec_audit(c, "cannot be read", "");
		goto out;
	}
	if (strcmp(hh, c->rec_hh) != 0 ||
	    (uint64_t)sb.st_size < c->rec_hashed) {
		ms_rec_audit(c,
		    "its header is no longer the one the monitor wrote",
		    (uint64_t)sb.st_size < c->rec_hashed
			? " (and the file is shorter than what was written)"
			: "");
		/* the chain gets the file as it is now */
		if (EVP_DigestInit_ex(c->rec_md, EVP_sha256(), NULL) != 1)
			goto out;
		c->rec_hashed = 0;
	}
	left = c->rec_hashed;
	if (ms_rec_hash_some(c, UINT64_MAX) != 0 ||
	    EVP_DigestFinal_ex(c->rec_md, md, NULL) != 1) {
		ms_rec_audit(c, "cannot be read", "");
		goto out;
	}
	(void)pv_hex_encode(md, sizeof(md), hex, 65);
	*size = c->rec_hashed;
	ok = 1;
	if (claimed != UINT64_MAX && claimed != c->rec_hashed)
		pv_warn("session %s: recording %s: the session process says "
			"%llu bytes, the file has %llu",
		    c->id, c->rec_path, (unsigned long long)claimed,
		    (unsigned long long)c->rec_hashed);
	/* more than two ticks' steps left: every session waited for it */
	if (c->rec_hashed - left > 2 * (uint64_t)MS_HASH_STEP)
		pv_warn("session %s: recording hashed: %llu bytes, %llu of "
			"them at the end, in %llu ms (the monitor fell "
			"behind; every session waited)",
		    c->id, (unsigned long long)c->rec_hashed,
		    (unsigned long long)(c->rec_hashed - left),
		    (unsigned long long)(pv_mono_ms() - t0));
	else
		pv_verbose("session %s: recording hashed: %llu bytes, %llu of "
			   "them at the end, in %llu ms",
		    c->id, (unsigned long long)c->rec_hashed,
		    (unsigned long long)(c->rec_hashed - left),
		    (unsigned long long)(pv_mono_ms() - t0));
out:
	if (!ok)
		hex[0] = '\0';
	if (c->rec_fd >= 0)
		(void)close(c->rec_fd);
	c->rec_fd = -1;
	EVP_MD_CTX_free(c->rec_md);
	c->rec_md = NULL;
}

/* The session row, if the child opened one and did not end it. */
static void
ms_abort_row(struct broker_mon_child *c, const char *reason, uint64_t bytes_in,
    uint64_t bytes_out)
{
	char hex[MON_SHA256_HEX + 1];
	uint64_t size;
	struct broker_session_end end = {
		.bytes_in = bytes_in,
		.bytes_out = bytes_out,
		.recording_sha256 = hex, /* as the file is now: not sealed */
		.reason = reason,
		.aborted = 1,
	};

	if (!c->row_open || c->ended)
		return;
	c->ended = 1;
	ms_rec_seal(c, UINT64_MAX, hex, &size);
	end.recording_size = size;
	if (c->bk->ops->session_close(c->bk->ctx, c->id, &end) != 0)
		pv_error("session %s: cannot mark the session aborted", c->id);
	else
		pv_warn("session %s: %s: marked aborted; the recording %s ends "
			"at its last flush",
		    c->id, reason, c->rec_path[0] ? c->rec_path : "(none)");
}

static void
ms_close(struct broker_mon_child *c)
{
	if (c->sock >= 0) {
		if (c->epfd >= 0)
			(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->sock, NULL);
		(void)close(c->sock);
	}
	c->sock = -1;
}

void
broker_monsrv_set_epoll(struct broker_mon_child *c, int epfd)
{
	c->epfd = epfd;
}

/* A malformed or out-of-order request: kill, log, audit, abort the row. */
static int
ms_violation(struct broker_mon_child *c, const char *what, int type)
{
	const char *name = broker_mon_type_name(type);
	char detail[256];

	if (!c->killed && c->pid > 0)
		(void)kill(c->pid, SIGKILL);
	c->killed = 1;
	pv_error("session %s: session process %ld killed: %s (%s)", c->id,
	    (long)c->pid, what, name != NULL ? name : "no request");
	(void)snprintf(detail, sizeof(detail), "pid=%ld reason=%s request=%s",
	    (long)c->pid, what, name != NULL ? name : "-");
	(void)c->bk->ops->audit(
	    c->bk->ctx, c->id, "session.monitor_violation", detail);
	ms_abort_row(
	    c, "session process killed: monitor protocol violation", 0, 0);
	ms_close(c);
	return PV_ERR_PROTOCOL;
}

static int
ms_error(struct mon_msg *a, int code, const char *msg)
{
	a->type = MON_ERROR;
	a->u.error.code =
	    code < 0 && code >= PV_ERR_MIN_ ? code : PV_ERR_INTERNAL;
	(void)snprintf(a->u.error.msg, sizeof(a->u.error.msg), "%s", msg);
	return 0;
}

static int
ms_key(struct broker_mon_child *c, const struct mon_msg *q, struct mon_msg *a,
    int *fd)
{
	const struct mon_auth_pubkey *k = &q->u.auth_pubkey;
	int r;

	(void)fd;
	/* provostd sends the engineer's name, and the address we know */
	if (!broker_name_valid(k->login, strlen(k->login), BROKER_ENGINEER_MAX))
		return PV_ERR_PROTOCOL;
	r = c->bk->ops->key_check(c->bk->ctx, k->login, k->blob, k->bloblen);
	/*
	 * Not an engineer's key of that name: an approver's?  An engineer's
	 * key always makes an engineer (who gets the engineers' menu only),
	 * whatever approver shares the name.
	 */
	if (r != PV_ALLOW && r >= 0 && c->bk->ops->approver_key_check != NULL &&
	    c->bk->ops->approver_key_check(
		c->bk->ctx, k->login, k->blob, k->bloblen) == PV_ALLOW) {
		a->type = MON_AUTH_PUBKEY_ANS;
		a->u.auth_ans.flags = MON_AUTH_OK;
		c->engineer[0] = '\0';
		(void)snprintf(
		    c->approver, sizeof(c->approver), "%s", k->login);
		memcpy(c->keyblob, k->blob, k->bloblen);
		c->keybloblen = k->bloblen;
		return 0;
	}
	a->type = MON_AUTH_PUBKEY_ANS;
	a->u.auth_ans.flags = r == PV_ALLOW ? MON_AUTH_OK : 0;
	if (r == PV_ALLOW) {
		(void)snprintf(
		    c->engineer, sizeof(c->engineer), "%s", k->login);
		c->approver[0] = '\0';
		memcpy(c->keyblob, k->blob, k->bloblen);
		c->keybloblen = k->bloblen;
	}
	return 0;
}

/*
 * A code: MaxAuthTries wrong ones per connection, each at least the
 * failure delay after the last, counted, audited and given to the
 * per-source penalty here, whatever the session process does.
 */
static int
ms_totp(struct broker_mon_child *c, const struct mon_msg *q, struct mon_msg *a,
    int *fd)
{
	int r;

	(void)fd;
	if (c->code_fails >= c->conf->max_auth_tries) {
		c->lie = "a code after MaxAuthTries wrong ones";
		return PV_ERR_PROTOCOL;
	}
	if (c->code_fails > 0 &&
	    pv_mono_ms() - c->fail_ms < BROKER_AUTH_FAIL_DELAY_MS - 100) {
		c->lie = "a code sooner than the failure delay";
		return PV_ERR_PROTOCOL;
	}
	if (c->approver[0] != '\0')
		r = c->bk->ops->approver_totp_check(
		    c->bk->ctx, c->approver, q->u.auth_totp.code, c->addr);
	else
		r = c->bk->ops->totp_check(c->bk->ctx, c->engineer,
		    q->u.auth_totp.code, c->keyblob, c->keybloblen, c->addr);
	a->type = MON_AUTH_TOTP_ANS;
	a->u.auth_ans.flags = r == PV_ALLOW ? MON_AUTH_OK | MON_AUTH_DONE : 0;
	if (r == PV_ALLOW) {
		c->by_code = 1;
		if (c->approver[0] != '\0') {
			char detail[200];

			(void)snprintf(detail, sizeof(detail),
			    "approver=%s from=%s factors=key,code", c->approver,
			    c->addr);
			(void)c->bk->ops->audit(
			    c->bk->ctx, c->id, "approver.login", detail);
		}
		return 0;
	}
	c->code_fails++;
	c->fail_ms = pv_mono_ms();
	{
		char detail[320];

		(void)snprintf(detail, sizeof(detail),
		    "%s=%s from=%s factor=code failure=%u of %u",
		    c->approver[0] ? "approver" : "engineer",
		    c->approver[0] ? c->approver : c->engineer, c->addr,
		    c->code_fails, c->conf->max_auth_tries);
		(void)c->bk->ops->audit(c->bk->ctx, c->id, "auth.fail", detail);
	}
	return 0;
}

unsigned int
broker_monsrv_auth_fails(struct broker_mon_child *c)
{
	unsigned int n = c->code_fails - c->fails_told;

	c->fails_told = c->code_fails;
	return n;
}

const char *
broker_monsrv_addr(const struct broker_mon_child *c)
{
	return c->addr;
}

static int
ms_grace(struct broker_mon_child *c, const struct mon_msg *q, struct mon_msg *a,
    int *fd)
{
	int r = PV_DENY;

	(void)fd;
	/* only for the key this monitor approved */
	if (q->u.mfa_grace.bloblen != c->keybloblen ||
	    memcmp(q->u.mfa_grace.blob, c->keyblob, c->keybloblen) != 0)
		return PV_ERR_PROTOCOL;
	/* an approver types a code every time */
	if (c->conf->mfa_grace > 0 && c->approver[0] == '\0')
		r = c->bk->ops->mfa_recent(c->bk->ctx, c->engineer, c->keyblob,
		    c->keybloblen, c->addr, c->conf->mfa_grace);
	a->type = MON_MFA_GRACE_ANS;
	a->u.auth_ans.flags = r == PV_ALLOW ? MON_AUTH_OK | MON_AUTH_DONE : 0;
	return 0;
}

static int
ms_target_put(const struct broker_target *t, struct mon_target *o)
{
	int i;

	o->found = 1;
	if (t->naccounts < 0 || t->naccounts > MON_ACCOUNTS_MAX)
		return PV_ERR_RANGE;
	(void)snprintf(o->name, sizeof(o->name), "%s", t->name);
	o->auth = t->auth == BROKER_AUTH_PAM_TOKEN ? 1 : 0;
	(void)snprintf(o->host, sizeof(o->host), "%s", t->host);
	o->port = t->port;
	(void)snprintf(o->classification, sizeof(o->classification), "%s",
	    t->classification);
	(void)snprintf(o->hostkey, sizeof(o->hostkey), "%s", t->hostkey);
	for (i = 0; i < t->naccounts; i++)
		(void)snprintf(o->accounts[i], sizeof(o->accounts[i]), "%s",
		    t->accounts[i]);
	o->naccounts = (uint32_t)t->naccounts;
	return 0;
}

static void ms_allowed_add(
    struct broker_mon_child *c, const struct mon_decide_ch *d);

static int
ms_decide(struct broker_mon_child *c, const struct mon_msg *q,
    struct mon_msg *a, int *fd)
{
	const struct mon_decide_ch *d = &q->u.decide_ch;
	struct mon_decision_ch *o = &a->u.decision_ch;
	struct broker_decision dec;
	char client[MON_CLIENT_MAX + 1];
	int r;

	(void)fd;
	memset(&dec, 0, sizeof(dec));
	memset(&c->dec, 0, sizeof(c->dec));
	c->account[0] = '\0';
	a->type = MON_DECISION_CH;
	o->outcome = PV_DENY;
	if (c->approver[0] != '\0') {
		(void)snprintf(o->reason, sizeof(o->reason),
		    "an approver's login opens no session");
		return 0;
	}
	/* the target as the store has it now, not as the child says */
	if (c->bk->ops->target_get(
		c->bk->ctx, c->engineer, d->target, &c->tgt) != 0) {
		memset(&c->tgt, 0, sizeof(c->tgt));
		(void)snprintf(o->reason, sizeof(o->reason), "unknown target");
		return 0;
	}
	/* MFAGrace stood for the code: a rule wanting a fresh one refuses */
	if (!c->by_code &&
	    c->bk->ops->fresh_mfa(
		c->bk->ctx, c->engineer, d->target, d->account) != PV_DENY) {
		(void)snprintf(o->reason, sizeof(o->reason),
		    "a fresh verification code is required");
		return 0;
	}
	/* the address this monitor accepted, not the one the child names */
	(void)snprintf(client, sizeof(client), "%s", c->addr);
	struct broker_decide_req req = {
		.session_id = c->id,
		.engineer = c->engineer,
		.target = &c->tgt,
		.account = d->account,
		.channel = d->channel,
		.now = (int64_t)time(NULL),
		.client_addr = client,
		.forward_host = d->fwd_host[0] ? d->fwd_host : NULL,
		.forward_port = d->fwd_port,
	};
	r = c->bk->ops->decide(c->bk->ctx, &req, &dec);
	if (r < 0)
		return ms_error(a, r, "the decision failed");
	o->outcome = r == PV_ALLOW ? PV_ALLOW : PV_DENY;
	o->permit_pty = dec.permit_pty != 0;
	o->permit_forward = dec.permit_forward != 0;
	o->channels = dec.channels;
	(void)snprintf(o->rule, sizeof(o->rule), "%s", dec.rule);
	(void)snprintf(o->grant_id, sizeof(o->grant_id), "%s", dec.grant_id);
	o->grant_ends = dec.grant_ends < 0 ? 0 : dec.grant_ends;
	(void)snprintf(o->reason, sizeof(o->reason), "%s", dec.reason);
	o->transfer = dec.transfer;
	o->record_file_contents = dec.record_file_contents != 0;
	(void)snprintf(o->moderated, sizeof(o->moderated), "%s", dec.moderated);
	(void)snprintf(o->notice, sizeof(o->notice), "%s",
	    r == PV_ALLOW ? dec.notice : "");
	if (r == PV_ALLOW) {
		c->dec = dec;
		(void)snprintf(
		    c->account, sizeof(c->account), "%s", d->account);
		ms_allowed_add(c, d);
	}
	return 0;
}

/* Keeps a decision that allowed for recheck (once each; a full list
 * keeps what it has: the kinds a session uses are few). */
static void
ms_allowed_add(struct broker_mon_child *c, const struct mon_decide_ch *d)
{
	size_t i;

	for (i = 0; i < c->nallowed; i++) {
		if (c->allowed[i].channel == d->channel &&
		    c->allowed[i].fwd_port == d->fwd_port &&
		    strcmp(c->allowed[i].fwd_host, d->fwd_host) == 0)
			return;
	}
	if (c->nallowed >= MS_ALLOWED_MAX)
		return;
	c->allowed[c->nallowed].channel = d->channel;
	c->allowed[c->nallowed].fwd_port = d->fwd_port;
	(void)snprintf(c->allowed[c->nallowed].fwd_host,
	    sizeof(c->allowed[0].fwd_host), "%s", d->fwd_host);
	c->nallowed++;
}

/*
 * After a reload: asks the policy in force again about everything this
 * session was allowed.  1 with why when it no longer allows one of them,
 * 0 when it does, < 0 when it cannot tell (the caller ends the session:
 * fail closed).
 */
int
broker_monsrv_live(const struct broker_mon_child *c)
{
	return c->row_open && !c->ended && !c->killed;
}

int
broker_monsrv_recheck(struct broker_mon_child *c, char *why, size_t whylen)
{
	struct broker_decision dec;
	size_t i;
	int r;

	why[0] = '\0';
	if (!broker_monsrv_live(c) || c->nallowed == 0)
		return 0;
	for (i = 0; i < c->nallowed; i++) {
		struct broker_decide_req req = {
			.session_id = c->id,
			.engineer = c->engineer,
			.target = &c->tgt,
			.account = c->account,
			.channel = c->allowed[i].channel,
			.now = (int64_t)time(NULL),
			.client_addr = c->addr,
			.forward_host = c->allowed[i].fwd_host[0]
			    ? c->allowed[i].fwd_host
			    : NULL,
			.forward_port = c->allowed[i].fwd_port,
		};
		memset(&dec, 0, sizeof(dec));
		r = c->bk->ops->decide(c->bk->ctx, &req, &dec);
		if (r < 0) {
			(void)snprintf(why, whylen,
			    "the reloaded policy could not decide: %s",
			    pv_err_str(r));
			return r;
		}
		if (r != PV_ALLOW) {
			(void)snprintf(why, whylen,
			    "the reloaded policy no longer allows %s%s%s: %s",
			    policy_channel_name(c->allowed[i].channel),
			    dec.rule[0] ? ", rule " : "", dec.rule, dec.reason);
			return 1;
		}
	}
	return 0;
}

/*
 * The certificate's source-address, set here: the local address of the
 * target leg this monitor connected for the decided target (getsockname
 * on its own socket, chosen at connect), "ADDR/32" or "ADDR/128".  No such
 * leg yet: no certificate (the session process has no socket of its own,
 * so an honest one mints only once its leg is up).  The session process
 * still names the address (mint-cert's field); anything but the leg's is a
 * lie.  A stolen certificate then works from this host's address towards
 * the target only.  0, or -1 with c->lie set.
 */
static int
ms_source(
    struct broker_mon_child *c, const char *want, char *out, size_t outlen)
{
	char text[MON_SRCADDR_MAX + 1], *slash;
	uint8_t a[sizeof(struct in6_addr)];
	size_t alen;
	int af, n;

	if ((c->leg_af != AF_INET && c->leg_af != AF_INET6) ||
	    strcmp(c->leg_target, c->tgt.name) != 0) {
		c->lie = "a certificate before the monitor connected the "
			 "target's leg";
		return -1;
	}
	c->lie = "a certificate for an address that is not the leg's";
	alen = c->leg_af == AF_INET ? sizeof(struct in_addr)
				    : sizeof(struct in6_addr);
	(void)snprintf(text, sizeof(text), "%s", want);
	if ((slash = strchr(text, '/')) == NULL)
		return -1;
	*slash++ = '\0';
	if (inet_pton(AF_INET, text, a) == 1 && strcmp(slash, "32") == 0)
		af = AF_INET;
	else if (inet_pton(AF_INET6, text, a) == 1 && strcmp(slash, "128") == 0)
		af = AF_INET6;
	else
		return -1;
	if (af != c->leg_af || memcmp(a, c->leg_src, alen) != 0)
		return -1;
	/* the monitor's own copy and canonical form, not the process's */
	if (inet_ntop(c->leg_af, c->leg_src, text, sizeof(text)) == NULL)
		return -1;
	n = snprintf(
	    out, outlen, "%s/%s", text, c->leg_af == AF_INET ? "32" : "128");
	if (n <= 0 || (size_t)n >= outlen)
		return -1;
	c->lie = NULL;
	return 0;
}

static int
ms_mint(struct broker_mon_child *c, const struct mon_msg *q, struct mon_msg *a,
    int *fd)
{
	const struct mon_mint_cert *m = &q->u.mint_cert;
	struct pv_buf *cb = NULL;
	char src[MON_SRCADDR_MAX + 1];
	int r;

	(void)fd;
	if (c->tgt.auth != BROKER_AUTH_CERT)
		return ms_error(a, PV_ERR_INVALID, "not a certificate target");
	if (c->dec.moderated[0] != '\0' && !c->moderator_on)
		return ms_error(a, PV_ERR_DENIED,
		    "moderated: no moderator watches the session");
	if (c->ncreds >= MS_CREDS_MAX) {
		c->lie = "more credentials than one session needs";
		return PV_ERR_PROTOCOL;
	}
	if (ms_source(c, m->source_address, src, sizeof(src)) != 0)
		return PV_ERR_PROTOCOL;
	c->ncreds++;
	struct broker_cert_req req = {
		.pubkey = m->pubkey,
		.session_id = c->id,
		.engineer = c->engineer,
		.principal = c->account,
		.now = (int64_t)time(NULL),
		.lifetime = c->conf->cert_lifetime,
		.source_address = src,
		.permit_pty = c->dec.permit_pty,
		.permit_port_forwarding = c->dec.permit_forward,
	};
	if ((cb = pv_buf_new(MON_CERT_MAX)) == NULL)
		return ms_error(a, PV_ERR_ALLOC, "out of memory");
	r = c->bk->ops->cert_mint(c->bk->ctx, c->tgt.name, &req, cb);
	if (r == 0 && (pv_buf_len(cb) == 0 || pv_buf_len(cb) > MON_CERT_MAX))
		r = PV_ERR_LIMIT;
	if (r != 0) {
		pv_buf_free(cb);
		return ms_error(a, r, "the certificate was not issued");
	}
	a->type = MON_CERT_SERIAL;
	a->u.cert_serial.serial = req.serial;
	c->cred_serial = req.serial;
	c->cred_minted = 1;
	memcpy(a->u.cert_serial.blob, pv_buf_ptr(cb), pv_buf_len(cb));
	a->u.cert_serial.bloblen = pv_buf_len(cb);
	pv_buf_free(cb);
	return 0;
}

static int
ms_token(struct broker_mon_child *c, const struct mon_msg *q, struct mon_msg *a,
    int *fd)
{
	char *token = NULL;
	int r, n;

	(void)fd;
	(void)q;
	if (c->tgt.auth != BROKER_AUTH_PAM_TOKEN ||
	    c->bk->ops->token_mint == NULL)
		return ms_error(a, PV_ERR_INVALID, "not a pam-token target");
	if (c->dec.moderated[0] != '\0' && !c->moderator_on)
		return ms_error(a, PV_ERR_DENIED,
		    "moderated: no moderator watches the session");
	if (c->ncreds >= MS_CREDS_MAX) {
		c->lie = "more credentials than one session needs";
		return PV_ERR_PROTOCOL;
	}
	c->ncreds++;
	struct broker_token_req req = {
		.session_id = c->id,
		.engineer = c->engineer,
		.account = c->account,
		.grant_id = c->dec.grant_id,
		.now = (int64_t)time(NULL),
		.lifetime = c->conf->cert_lifetime,
	};
	if ((r = c->bk->ops->token_mint(
		 c->bk->ctx, c->tgt.name, &req, &token)) != 0)
		return ms_error(a, r, "the token was not issued");
	a->type = MON_TOKEN;
	a->u.token.serial = req.serial;
	c->cred_serial = req.serial;
	c->cred_minted = 1;
	n = snprintf(a->u.token.token, sizeof(a->u.token.token), "%s", token);
	pv_secret_freestr(token);
	if (n < 0 || (size_t)n >= sizeof(a->u.token.token)) {
		broker_mon_msg_clear(a);
		return ms_error(a, PV_ERR_LIMIT, "the token is too long");
	}
	return 0;
}

/*
 * The recording file: created here with the header the monitor makes
 * (who, where and when as the monitor decided it, a fresh data key
 * wrapped to the recipients, the nonce prefix), written before the
 * session process gets the descriptor (O_APPEND) and what it needs to
 * seal the chunks; the session process fdatasyncs the header before its
 * first chunk (here it would cost the monitor's loop about 7 ms per
 * session start on the test host).  The monitor keeps its own descriptor
 * to hash the file as it grows and at the end.
 */
static int
ms_rec_open(struct broker_mon_child *c, const struct mon_msg *q,
    struct mon_msg *a, int *fd)
{
	const struct mon_rec_open *o = &q->u.rec_open;
	struct mon_rec_open_ans *ans = &a->u.rec_open_ans;
	struct rec_resume res;
	char path[MON_PATH_MAX + 1];
	int wfd = -1, r;

	*fd = -1;
	memset(&res, 0, sizeof(res));
	if (c->rs == NULL)
		return ms_error(a, PV_ERR_CONFIG, "no recording recipients");
	if ((r = broker_recorder_rec_path(
		 c->conf, c->id, path, sizeof(path))) != 0)
		return ms_error(a, r, "no recording path");
	wfd = open(path,
	    O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (wfd < 0) {
		pv_error("recording %s: %s", path, strerror(errno));
		return ms_error(a, PV_ERR_IO, "cannot create the recording");
	}
	struct rec_meta meta = {
		.session_id = c->id,
		.engineer = c->engineer,
		.target = c->tgt.name,
		.account = c->account,
		.client = c->addr,
		.term = o->term[0] != '\0' ? o->term : NULL,
		.cols = o->cols,
		.rows = o->rows,
		.start_unix_ms = pv_wall_ms(),
		.start_mono_ms = pv_mono_ms(),
	};
	if (fchmod(wfd, 0600) != 0 ||
	    rec_header_write(wfd, c->rs, &meta, &res) != 0 ||
	    pv_fsync_parent(path) != 0 ||
	    (*fd = fcntl(wfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		pv_error("recording %s: the header was not written", path);
		rec_resume_wipe(&res);
		(void)close(wfd);
		(void)unlink(path);
		*fd = -1;
		return ms_error(a, PV_ERR_IO, "cannot create the recording");
	}
	c->rec_fd = wfd;
	c->rec_hlen = res.header_len;
	c->rec_hashed = 0;
	if ((c->rec_md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(c->rec_md, EVP_sha256(), NULL) != 1)
		pv_error("session %s: the recording will not be hashed", c->id);
	(void)pv_hex_encode(res.header_sha256, sizeof(res.header_sha256),
	    c->rec_hh, sizeof(c->rec_hh));
	(void)snprintf(c->rec_path, sizeof(c->rec_path), "%s", path);
	a->type = MON_REC_OPEN_ANS;
	(void)snprintf(ans->path, sizeof(ans->path), "%s", path);
	memcpy(ans->dk, res.dk, sizeof(ans->dk));
	memcpy(ans->nonce_prefix, res.nonce_prefix, sizeof(ans->nonce_prefix));
	memcpy(
	    ans->header_sha256, res.header_sha256, sizeof(ans->header_sha256));
	ans->header_len = res.header_len;
	rec_resume_wipe(&res);
	return 0;
}

static int ms_check_revoked(
    struct broker_mon_child *c, uint64_t *cursor, char *why, size_t whylen);

static int
ms_row(struct broker_mon_child *c, const struct mon_msg *q, struct mon_msg *a,
    int *fd)
{
	char why[MON_REASON_MAX + 1];
	int r;

	(void)fd;
	(void)q;
	if (c->rec_path[0] == '\0')
		return ms_error(a, PV_ERR_INVALID, "no recording yet");
	struct broker_session_row row = {
		.id = c->id,
		.engineer = c->engineer,
		.target = c->tgt.name,
		.account = c->account,
		.grant_id = c->dec.grant_id[0] ? c->dec.grant_id : NULL,
		.rule = c->dec.rule,
		.client_addr = c->addr,
		.recording_path = c->rec_path,
		.recording_header_sha256 = c->rec_hh,
	};
	if ((r = c->bk->ops->session_open(c->bk->ctx, &row)) != 0)
		return ms_error(a, r, "the session row was not written");
	c->row_open = 1;
	/* the monitor's scan starts here: a revoke from now on ends it */
	(void)ms_check_revoked(c, &c->mcursor, why, sizeof(why));
	a->type = MON_SESSION_OPEN_ACK;
	return 0;
}

static int
ms_end(struct broker_mon_child *c, const struct mon_msg *q, struct mon_msg *a,
    int *fd)
{
	const struct mon_session_end *e = &q->u.session_end;
	char hex[MON_SHA256_HEX + 1];
	int r;

	(void)fd;
	struct broker_session_end end = {
		.bytes_in = e->bytes_in,
		.bytes_out = e->bytes_out,
		.recording_sha256 = hex,
		.reason = e->reason,
		.aborted = e->aborted,
	};
	if (!c->row_open)
		return ms_error(a, PV_ERR_INVALID, "no session row");
	c->ended = 1;
	/* the hash is the monitor's, of the file as it is now */
	ms_rec_seal(c, e->size, hex, &end.recording_size);
	if (hex[0] != '\0')
		pv_info("session %s: recording %s: %llu bytes, sha256 %s",
		    c->id, c->rec_path, (unsigned long long)end.recording_size,
		    hex);
	if ((r = c->bk->ops->session_close(c->bk->ctx, c->id, &end)) != 0)
		return ms_error(a, r, "the session row was not closed");
	a->type = MON_SESSION_END_ACK;
	return 0;
}

static int
ms_menu(struct broker_mon_child *c, const struct mon_msg *q, struct mon_msg *a,
    int *fd)
{
	struct pv_buf *out;
	size_t n;
	int r;

	(void)fd;
	if ((out = pv_buf_new(1024 * 1024)) == NULL)
		return ms_error(a, PV_ERR_ALLOC, "out of memory");
	/* who is asking is the monitor's own record, never the child's */
	r = BROKER_MENU_NOT_LIVE;
	if (c->approver[0] != '\0' && c->live != NULL)
		r = broker_menu_approver_live(c->live, c->approver, c->addr,
		    c->pid, c->id, q->u.menu.command, out);
	if (r != BROKER_MENU_NOT_LIVE)
		;
	else if (c->approver[0] != '\0')
		r = c->bk->ops->approver_menu == NULL
		    ? PV_ERR_UNSUPPORTED
		    : c->bk->ops->approver_menu(c->bk->ctx, c->approver,
			  c->addr, c->id, q->u.menu.command, out);
	else
		r = c->bk->ops->menu(
		    c->bk->ctx, c->engineer, c->addr, q->u.menu.command, out);
	if (r < 0) {
		pv_buf_free(out);
		return ms_error(a, r, "the menu failed");
	}
	a->type = MON_MENU_OUT;
	a->u.menu_out.status = r > 255 ? 255 : (uint32_t)r;
	n = pv_buf_len(out);
	if (n > sizeof(a->u.menu_out.out))
		n = sizeof(a->u.menu_out.out);
	memcpy(a->u.menu_out.out, pv_buf_ptr(out), n);
	a->u.menu_out.outlen = n;
	pv_buf_free(out);
	return 0;
}

/*
 * Was this session's engineer, their provider, its grant or the session
 * itself revoked since *cursor (0: start the cursor at the audit head)?
 * From the monitor's own view: 1 with why (never empty), 0, or < 0.
 */
static int
ms_check_revoked(
    struct broker_mon_child *c, uint64_t *cursor, char *why, size_t whylen)
{
	int r;

	why[0] = '\0';
	r = c->bk->ops->revoked(c->bk->ctx, c->engineer, c->dec.grant_id, c->id,
	    cursor, why, whylen);
	if (r < 0)
		return r;
	if (r != PV_ALLOW) {
		why[0] = '\0';
		return 0;
	}
	if (why[0] == '\0')
		(void)snprintf(why, whylen, "access revoked");
	return 1;
}

int
broker_monsrv_revoked(struct broker_mon_child *c, int none, uint64_t before,
    uint64_t head, char *why, size_t whylen)
{
	if (!c->row_open || c->ended || c->killed || c->mcursor == 0)
		return 0;
	if (none && c->mcursor >= before && head >= c->mcursor) {
		c->mcursor = head;
		return 0;
	}
	return ms_check_revoked(c, &c->mcursor, why, whylen);
}

const char *
broker_monsrv_id(const struct broker_mon_child *c)
{
	return c->id;
}

/*
 * The child's audit event: of this session, details {"detail": TEXT}, an
 * action the session side writes (protocol.h's table), in a phase its
 * entry allows, with a detail that agrees with the monitor's record.  The
 * monitor's own rows (target.unreachable, session.monitor_violation,
 * ...) are in no entry: a process that asks for one lies.
 */
static int
ms_audit(struct broker_mon_child *c, const struct mon_msg *q, struct mon_msg *a,
    int *fd)
{
	const struct mon_audit_def *def;
	char object[64];
	json_t *j;
	const char *detail;
	int r;

	(void)fd;
	(void)snprintf(object, sizeof(object), "session:%s", c->id);
	if (strcmp(q->u.audit.object, object) != 0)
		return PV_ERR_PROTOCOL;
	if ((def = broker_mon_audit_find(q->u.audit.action)) == NULL) {
		c->lie = "an audit action the session side does not write";
		return PV_ERR_PROTOCOL;
	}
	if ((def->phases & broker_mon_state_phase(&c->st)) == 0) {
		c->lie = "an audit action in a phase it is not written in";
		return PV_ERR_PROTOCOL;
	}
	if ((j = json_loads(
		 q->u.audit.details, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(j) || json_object_size(j) != 1 ||
	    (detail = json_string_value(json_object_get(j, "detail"))) ==
		NULL) {
		json_decref(j);
		return PV_ERR_PROTOCOL;
	}
	struct mon_audit_facts facts = {
		.who = c->engineer[0] ? c->engineer : c->approver,
		.addr = c->addr,
		.by_code = c->by_code,
		.dec_allowed = c->st.dec_allowed,
		.dec_target = c->st.dec_target,
		.dec_account = c->st.dec_account,
		.cred_minted = c->cred_minted,
		.cred_serial = c->cred_serial,
		.cred_account = c->account,
	};
	if (!broker_mon_audit_detail_ok(def, &facts, detail)) {
		json_decref(j);
		c->lie = "an audit detail the monitor's own record contradicts";
		return PV_ERR_PROTOCOL;
	}
	r = c->bk->ops->audit(c->bk->ctx, c->id, def->name, detail);
	json_decref(j);
	if (r != 0)
		return ms_error(a, r, "the audit event was not recorded");
	a->type = MON_AUDIT_ACK;
	return 0;
}

/*
 * An unreachable target counts against a provider's availability (the
 * sla plugin): the row names the target this monitor decided for the
 * session, with why; before an allow decision there is none, and no row.
 */
static void
ms_unreachable(struct broker_mon_child *c, const char *why)
{
	char d[MON_REASON_MAX + 2 * MON_NAME_MAX + 64];

	if (!c->st.dec_allowed || c->tgt.name[0] == '\0')
		return;
	(void)snprintf(d, sizeof(d), "target=%s cannot reach target %s: %s",
	    c->tgt.name, c->tgt.name, why);
	if (c->bk->ops->audit(c->bk->ctx, c->id, "target.unreachable", d) != 0)
		pv_warn(
		    "session %s: the unreachable row was not written", c->id);
}

/*
 * The address the kernel bound the leg to (chosen at connect, even while
 * it is under way): a certificate is then only for that address, also for
 * a target stored by host name.
 */
static void
ms_leg_source(struct broker_mon_child *c, int fd, const char *target)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	c->leg_af = 0;
	(void)snprintf(c->leg_target, sizeof(c->leg_target), "%s", target);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		memcpy(c->leg_src, &((struct sockaddr_in *)&ss)->sin_addr,
		    sizeof(struct in_addr));
		c->leg_af = AF_INET;
	} else if (ss.ss_family == AF_INET6) {
		memcpy(c->leg_src, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    sizeof(struct in6_addr));
		c->leg_af = AF_INET6;
	}
}

/*
 * The target leg's TCP connection, opened here (the session process has
 * no socket(2)): to the host and port of the monitor's own row, for a
 * target the engineer may see (before any decision, the pre-opened leg)
 * or the one its last decision allowed (the order rules).  The socket goes
 * over with the answer, its connect under way; the loop never waits for
 * it (a host name is resolved first: see broker_leg_connect).
 */
/* The leg could not be opened: an error answer, and the row after an allow. */
static int
ms_leg_fail(struct broker_mon_child *c, const struct broker_target *tg, int r,
    const char *why, struct mon_msg *a)
{
	char msg[MON_REASON_MAX + 1];

	pv_info("session %s: cannot reach target %s (%s:%u): %s", c->id,
	    tg->name, tg->host, (unsigned int)tg->port, why);
	ms_unreachable(c, why); /* after an allow decision only */
	if (snprintf(msg, sizeof(msg), "cannot reach target %s: %s", tg->name,
		why) < 0)
		msg[0] = '\0';
	return ms_error(a, r, msg);
}

/* The leg's connect is under way on fd: the answer that carries it. */
static int
ms_leg_opened(struct broker_mon_child *c, const struct broker_target *tg,
    int *fd, struct mon_msg *a)
{
	struct mon_target_socket *o = &a->u.target_socket;

	ms_leg_source(c, *fd, tg->name);
	/*
	 * The pre-opened leg is made on the key alone (before the code, or
	 * before any decision): the chain says so.  A decision's own leg is
	 * in its decision and channel rows.
	 */
	if (!c->st.decided) {
		char d[MON_HOST_MAX + MON_NAME_MAX + 64];

		(void)snprintf(d, sizeof(d), "target=%s %s:%u pre-opened",
		    tg->name, tg->host, (unsigned int)tg->port);
		if (c->bk->ops->audit(c->bk->ctx, c->id, "target.connect", d) !=
		    0) {
			(void)close(*fd);
			*fd = -1;
			return ms_error(a, PV_ERR_STORE,
			    "the target connection was not recorded");
		}
	}
	a->type = MON_TARGET_SOCKET;
	(void)snprintf(o->target, sizeof(o->target), "%s", tg->name);
	(void)snprintf(o->host, sizeof(o->host), "%s", tg->host);
	o->port = tg->port;
	return 0;
}

/*
 * The target leg's TCP connection, opened here (the session process has
 * no socket(2)): to the host and port of the monitor's own row, for a
 * target the engineer may see (before any decision, the pre-opened leg)
 * or the one its last decision allowed (the order rules).  The socket goes
 * over with the answer, its connect under way; the loop never waits for
 * it.  A host name goes to the resolver process (MS_RESOLVING): the
 * answer is built when its addresses come (broker_monsrv_resolved).
 */
static int
ms_target_connect(struct broker_mon_child *c, const struct mon_msg *q,
    struct mon_msg *a, int *fd)
{
	const struct mon_target_connect *t = &q->u.target_connect;
	struct broker_target pre;
	const struct broker_target *tg;
	char why[128];
	int r;

	if (c->approver[0] != '\0' || c->engineer[0] == '\0' ||
	    strcmp(c->engineer, t->engineer) != 0) {
		c->lie = "a target connection for no engineer";
		return PV_ERR_PROTOCOL;
	}
	if (!c->st.decided) {
		/* what target-get answers: a target this engineer may see */
		if (c->bk->ops->target_get(
			c->bk->ctx, c->engineer, t->target, &pre) != 0) {
			c->lie = "a target connection to a target the "
				 "engineer may not reach";
			return PV_ERR_PROTOCOL;
		}
		tg = &pre;
	} else {
		/* the order rules: the last decision allowed this target */
		if (strcmp(c->tgt.name, t->target) != 0 ||
		    c->account[0] == '\0') {
			c->lie = "a target connection without an allow "
				 "decision for it";
			return PV_ERR_PROTOCOL;
		}
		tg = &c->tgt;
	}
	r = broker_leg_connect(tg->host, tg->port, fd, why, sizeof(why));
	if (r == BROKER_LEG_NAME) {
		if (c->res == NULL) {
			r = PV_ERR_NOT_FOUND;
			(void)snprintf(
			    why, sizeof(why), "no resolver for host names");
		} else if ((r = broker_resolver_ask(c->res, tg->host, tg->port,
				c, &c->res_id, why, sizeof(why))) == 0) {
			c->res_tg = *tg;
			c->res_t0 = pv_mono_ms();
			pv_verbose("session %s: monitor: looking up %s for %s "
				   "(lookup %lu, the resolver process)",
			    c->id, tg->host, tg->name,
			    (unsigned long)c->res_id);
			return MS_RESOLVING;
		}
	}
	if (r != 0)
		return ms_leg_fail(c, tg, r, why, a);
	return ms_leg_opened(c, tg, fd, a);
}

void
broker_monsrv_resolved(
    struct broker_mon_child *c, const struct broker_res_answer *ans)
{
	const struct broker_target *tg = &c->res_tg;
	char why[BROKER_RES_ERR_MAX + 1];
	int fd = -1, r;

	if (c->res_id == 0 || ans->id != c->res_id || c->rq == NULL)
		return;
	c->res_id = 0; /* answered: nothing to cancel */
	if (c->sock < 0 || c->killed) {
		ms_resolving_drop(c);
		return;
	}
	pv_verbose("session %s: monitor: resolving %s for %s took %llu ms%s%s",
	    c->id, tg->host, tg->name,
	    (unsigned long long)(pv_mono_ms() - c->res_t0),
	    ans->naddr == 0 ? ": " : "", ans->err);
	if (ans->naddr == 0) {
		r = PV_ERR_NOT_FOUND;
		(void)snprintf(why, sizeof(why), "%s", ans->err);
	} else
		r = broker_leg_connect_addrs(
		    ans, tg->port, &fd, why, sizeof(why));
	if (r != 0)
		(void)ms_leg_fail(c, tg, r, why, c->ra);
	else
		(void)ms_leg_opened(c, tg, &fd, c->ra);
	c->pq = c->rq;
	c->pa = c->ra;
	c->pfd = fd;
	c->rq = c->ra = NULL;
}

/* What the session process saw of a leg after the socket went over. */
static int
ms_target_failed(struct broker_mon_child *c, const struct mon_msg *q,
    struct mon_msg *a, int *fd)
{
	const struct mon_target_failed *f = &q->u.target_failed;

	(void)fd;
	pv_info("session %s: the target leg to %s failed (%s): %s", c->id,
	    c->tgt.name,
	    f->stage == MON_LEG_CONNECT ? "connect" : "key exchange",
	    f->reason);
	ms_unreachable(c, f->reason);
	a->type = MON_TARGET_FAILED_ACK;
	return 0;
}

static int
ms_fresh(struct broker_mon_child *c, const struct mon_msg *q, struct mon_msg *a,
    int *fd)
{
	int r;

	(void)fd;
	r = c->approver[0] != '\0'
	    ? PV_ALLOW
	    : c->bk->ops->fresh_mfa(c->bk->ctx, c->engineer,
		  q->u.fresh_mfa.target, q->u.fresh_mfa.account);
	a->type = MON_FRESH_MFA_ANS;
	a->u.verdict.allow = r != PV_DENY; /* unsure: ask for a code */
	return 0;
}

static int
ms_target_get(struct broker_mon_child *c, const struct mon_msg *q,
    struct mon_msg *a, int *fd)
{
	struct broker_target t;

	(void)fd;
	a->type = MON_TARGET;
	/* an approver reaches no target */
	if (c->approver[0] != '\0' ||
	    c->bk->ops->target_get(
		c->bk->ctx, c->engineer, q->u.target_get.name, &t) != 0 ||
	    ms_target_put(&t, &a->u.target) != 0)
		memset(&a->u.target, 0, sizeof(a->u.target));
	return 0;
}

/*
 * The monitor's half of the protocol's table (broker/privsep): the
 * handler of each request type, which fills the answer (and *fd for one
 * that carries a descriptor), or says PV_ERR_PROTOCOL for a request that
 * is a lie.  Direction, phase, fields and limits were checked before, by
 * the entry of the type in protocol.h's table; a request type without a
 * handler here is a violation (test_broker_monsrv checks there is none).
 */
typedef int (*ms_handler_fn)(struct broker_mon_child *c,
    const struct mon_msg *q, struct mon_msg *a, int *fd);

static const ms_handler_fn ms_handlers[MON_TYPE_MAX_ + 1] = {
	[MON_AUTH_PUBKEY] = ms_key,
	[MON_AUTH_TOTP] = ms_totp,
	[MON_MFA_GRACE] = ms_grace,
	[MON_FRESH_MFA] = ms_fresh,
	[MON_TARGET_GET] = ms_target_get,
	[MON_DECIDE_CH] = ms_decide,
	[MON_MINT_CERT] = ms_mint,
	[MON_MINT_TOKEN] = ms_token,
	[MON_REC_OPEN] = ms_rec_open,
	[MON_SESSION_OPEN] = ms_row,
	[MON_SESSION_END] = ms_end,
	[MON_MENU] = ms_menu,
	[MON_AUDIT] = ms_audit,
	[MON_TARGET_CONNECT] = ms_target_connect,
	[MON_TARGET_FAILED] = ms_target_failed,
};

int
broker_monsrv_handles(int type)
{
	return type >= 1 && type <= MON_TYPE_MAX_ && ms_handlers[type] != NULL;
}

/* Fills the answer to q; PV_ERR_PROTOCOL for a request that is a lie. */
static int
ms_dispatch(struct broker_mon_child *c, const struct mon_msg *q,
    struct mon_msg *a, int *fd)
{
	*fd = -1;
	if (!broker_monsrv_handles((int)q->type))
		return PV_ERR_PROTOCOL;
	return ms_handlers[q->type](c, q, a, fd);
}

/*
 * Reads one request and builds its answer, which waits in c until
 * broker_monsrv_answer: the monitor takes every ready request, commits
 * what they wrote to the store once, then answers them all.
 */
int
broker_monsrv_take(struct broker_mon_child *c)
{
	const struct mon_type_def *def;
	struct mon_msg *q = NULL, *a = NULL;
	uint64_t t0;
	int r, fd = -1, type = 0;

	if (c->sock < 0)
		return PV_ERR_CLOSED;
	if (c->pa != NULL)
		return 0; /* one request at a time; the next one waits */
	if (c->rq != NULL) {
		uint8_t b;
		ssize_t n = recv(c->sock, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		/* the process waits for its answer: it has nothing to say */
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			ms_close(c);
			ms_resolving_drop(c);
			return PV_ERR_CLOSED;
		}
		if (n < 0)
			return 0;
		ms_resolving_drop(c);
		return ms_violation(c,
		    "a request while its target's name lookup is in flight",
		    c->ptype);
	}
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (a = calloc(1, sizeof(*a))) == NULL) {
		free(q);
		return PV_ERR_ALLOC;
	}
	r = broker_mon_read_some(c->sock, &c->rd, q);
	if (r == 0) { /* not whole yet: broker_monsrv_tick watches it */
		free(q);
		free(a);
		return 0;
	}
	if (r == PV_ERR_CLOSED || r == PV_ERR_IO) {
		ms_close(c);
		r = PV_ERR_CLOSED;
		goto fail;
	}
	if (r != 1) {
		r = ms_violation(c, "a malformed frame", 0);
		goto fail;
	}
	type = (int)q->type;
	if (!c->st.authenticated &&
	    ++c->pre_reqs > MS_PREAUTH_REQS(c->conf->max_auth_tries)) {
		r = ms_violation(
		    c, "too many requests before authentication", type);
		goto fail;
	}
	t0 = pv_mono_ms();
	def = broker_mon_type_def(type);
	if (def == NULL || def->dir != MON_DIR_REQUEST) {
		r = ms_violation(c, "an answer's type from the child", type);
		goto fail;
	}
	if ((def->phases & broker_mon_state_phase(&c->st)) == 0) {
		r = ms_violation(c, "a request in the wrong phase", type);
		goto fail;
	}
	if (broker_mon_state_request(&c->st, q) != 0) {
		r = ms_violation(c, "a request out of order", type);
		goto fail;
	}
	if ((r = ms_dispatch(c, q, a, &fd)) == MS_RESOLVING) {
		c->rq = q;
		c->ra = a;
		c->ptype = type;
		return 0;
	}
	if (r != 0) {
		r = ms_violation(c,
		    c->lie != NULL ? c->lie : "a request that does not fit",
		    type);
		goto fail;
	}
	if (pv_mono_ms() - t0 >= MS_SLOW_MS)
		pv_verbose("session %s: monitor: %s took %llu ms", c->id,
		    broker_mon_type_name(type),
		    (unsigned long long)(pv_mono_ms() - t0));
	c->pq = q;
	c->pa = a;
	c->pfd = fd;
	c->ptype = type;
	return 0;
fail:
	if (fd >= 0)
		(void)close(fd);
	broker_mon_msg_wipe(q);
	broker_mon_msg_wipe(a);
	free(q);
	free(a);
	return r;
}

/*
 * Sends the answer broker_monsrv_take built.  lost: the store did not
 * keep what the batch wrote, so the answer becomes that error.
 */
int
broker_monsrv_answer(struct broker_mon_child *c, int lost)
{
	struct mon_msg *a = c->pa;
	int r;

	if (a == NULL)
		return 0;
	if (c->sock < 0) {
		ms_pending_drop(c);
		return PV_ERR_CLOSED;
	}
	if (lost) {
		if (c->pfd >= 0)
			(void)close(c->pfd);
		c->pfd = -1;
		broker_mon_msg_clear(a);
		(void)ms_error(
		    a, PV_ERR_STORE, "the governance store did not keep it");
	}
	if (broker_mon_state_answer(&c->st, a) != 0) {
		r = ms_violation(c, "an answer the rules refuse", c->ptype);
		ms_pending_drop(c);
		return r;
	}
	r = broker_mon_send(c->sock, a, c->pfd, pv_mono_ms() + MS_FRAME_MS);
	if (r == PV_ERR_INVALID) {
		/* a field the protocol cannot carry: an error instead */
		broker_mon_msg_clear(a);
		(void)ms_error(a, PV_ERR_RANGE, "the answer does not fit");
		r = broker_mon_send(c->sock, a, -1, pv_mono_ms() + MS_FRAME_MS);
	}
	if (r != 0) {
		pv_warn("session %s: monitor answer not sent: %s", c->id,
		    pv_err_str(r));
		ms_close(c);
		r = PV_ERR_CLOSED;
	}
	ms_pending_drop(c);
	return r;
}

void
broker_monsrv_reaped(struct broker_mon_child *c, int status, uint64_t bytes_in,
    uint64_t bytes_out)
{
	char why[128];

	ms_close(c);
	if (WIFSIGNALED(status)) {
		if (!c->killed)
			pv_warn("session %s: session process %ld killed by "
				"signal %d%s",
			    c->id, (long)c->pid, WTERMSIG(status),
			    WTERMSIG(status) == SIGSYS ? " (the sandbox)" : "");
		(void)snprintf(why, sizeof(why),
		    "session process killed by signal %d", WTERMSIG(status));
	} else
		(void)snprintf(why, sizeof(why),
		    "session process exited (status %d) without ending the "
		    "session",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	ms_abort_row(c, why, bytes_in, bytes_out);
}

int
broker_monsrv_hash_behind(const struct broker_mon_child *c)
{
	return c->rec_fd >= 0 && c->rec_md != NULL && !c->ended &&
	    c->rec_behind;
}

int
broker_monsrv_tick(struct broker_mon_child *c, uint64_t now)
{
	/* at most every 100 ms: a busy loop turns many times a second */
	if (c->rec_fd >= 0 && c->rec_md != NULL && !c->ended &&
	    now - c->rec_tick_ms >= 100) {
		/*
		 * A step per 100 ms since the last turn, up to four: a tick
		 * that came late (a loaded machine) does not fall behind.
		 */
		uint64_t before = c->rec_hashed, since = now - c->rec_tick_ms;
		uint64_t step = since >= 400 ? 4 * (uint64_t)MS_HASH_STEP
					     : since * (MS_HASH_STEP / 100);

		c->rec_tick_ms = now;
		(void)ms_rec_hash_some(c, step);
		c->rec_behind = c->rec_hashed - before == step;
	}
	if (c->killed || c->sock < 0)
		return 0;
	if (c->rd.started_ms != 0 && now - c->rd.started_ms >= MS_FRAME_MS) {
		(void)ms_violation(c, "an unfinished frame", 0);
		return 1;
	}
	if (!c->st.authenticated &&
	    now - c->start_ms >=
		(uint64_t)c->conf->login_grace * 1000 + MS_GRACE_SLACK_MS) {
		(void)kill(c->pid, SIGKILL);
		c->killed = 1;
		pv_warn("session %s: session process %ld killed: not "
			"authenticated within LoginGraceTime (%llu s)",
		    c->id, (long)c->pid,
		    (unsigned long long)c->conf->login_grace);
		(void)c->bk->ops->audit(c->bk->ctx, c->id,
		    "session.monitor_violation",
		    "reason=not authenticated within LoginGraceTime");
		ms_close(c);
		return 1;
	}
	return 0;
}

/*
 * test_broker_monsrv.c: the monitor's server side over a real socketpair
 * with a fake backend: a request is taken and answered after the batch;
 * a batch the store did not keep turns the answer into an error, and the
 * order rules still hold after it.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker/monitor/monitor.h"
#include "broker/privsep/protocol.h"
#include "policy/policy.h"
#include "store/store.h"

#define SID "0b9c5a3e-7d1f-4c2a-9e8b-1a2b3c4d5e6f"

static int key_checks;

static int
fake_key_check(void *ctx, const char *engineer, const uint8_t *blob, size_t len)
{
	key_checks++;
	return strcmp(engineer, "alice") == 0 ? PV_ALLOW : PV_DENY;
}

/* The last audit row the monitor wrote. */
static char last_event[64], last_detail[256];

/* Every row's action since the log was emptied (nevents = 0). */
static char events[64][64];
static int nevents;

static int
fake_audit(
    void *ctx, const char *session_id, const char *event, const char *detail)
{
	(void)snprintf(last_event, sizeof(last_event), "%s", event);
	(void)snprintf(last_detail, sizeof(last_detail), "%s", detail);
	if (nevents < (int)(sizeof(events) / sizeof(events[0])))
		(void)snprintf(
		    events[nevents++], sizeof(events[0]), "%s", event);
	return 0;
}

static int
has_event(const char *event)
{
	int i;

	for (i = 0; i < nevents; i++)
		if (strcmp(events[i], event) == 0)
			return 1;
	return 0;
}

/* alice's code is 123456 */
static int
fake_totp_check(void *ctx, const char *engineer, const char *code,
    const uint8_t *blob, size_t len, const char *addr)
{
	(void)ctx;
	(void)blob;
	(void)len;
	(void)addr;
	return strcmp(engineer, "alice") == 0 && strcmp(code, "123456") == 0
	    ? PV_ALLOW
	    : PV_DENY;
}

/* The port of db01 (and db02), the targets alice may see (not vault). */
static uint16_t db01_port;

static int
fake_target_get(void *ctx, const char *engineer, const char *name,
    struct broker_target *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
	/* db02: another target of alice's, at the same address */
	if (strcmp(engineer, "alice") != 0 ||
	    (strcmp(name, "db01") != 0 && strcmp(name, "db02") != 0))
		return PV_ERR_NOT_FOUND;
	(void)snprintf(out->name, sizeof(out->name), "%s", name);
	(void)snprintf(out->host, sizeof(out->host), "127.0.0.1");
	out->port = db01_port;
	out->naccounts = 1;
	(void)snprintf(out->accounts[0], sizeof(out->accounts[0]), "root");
	return 0;
}

static int
fake_fresh_mfa(
    void *ctx, const char *engineer, const char *target, const char *account)
{
	(void)ctx;
	(void)engineer;
	(void)target;
	(void)account;
	return PV_DENY;
}

/* alice may open db01 and db02 as root; nothing else */
static int
fake_decide(
    void *ctx, const struct broker_decide_req *req, struct broker_decision *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
	if (strcmp(req->engineer, "alice") != 0 ||
	    (strcmp(req->target->name, "db01") != 0 &&
		strcmp(req->target->name, "db02") != 0) ||
	    strcmp(req->account, "root") != 0) {
		(void)snprintf(out->reason, sizeof(out->reason), "no rule");
		return PV_DENY;
	}
	out->channels = req->channel;
	(void)snprintf(out->rule, sizeof(out->rule), "ops");
	(void)snprintf(out->reason, sizeof(out->reason), "rule ops");
	return PV_ALLOW;
}

/* The source-address the monitor put in the last certificate it minted. */
static char minted_source[128];
static int mints;

static int
fake_cert_mint(void *ctx, const char *target, struct broker_cert_req *req,
    struct pv_buf *out)
{
	(void)ctx;
	(void)target;
	mints++;
	(void)snprintf(
	    minted_source, sizeof(minted_source), "%s", req->source_address);
	req->serial = 7;
	return pv_buf_put_cstring(out, "a certificate");
}

static const struct broker_backend_ops fake_ops = {
	.name = "fake",
	.key_check = fake_key_check,
	.totp_check = fake_totp_check,
	.fresh_mfa = fake_fresh_mfa,
	.decide = fake_decide,
	.cert_mint = fake_cert_mint,
	.audit = fake_audit,
	.target_get = fake_target_get,
};

struct fixture {
	struct pv_config *conf;
	struct broker_backend bk;
	struct broker_mon_child *c;
	int child; /* the session process's end */
};

static void
fixture_init_pid(struct fixture *f, pid_t pid)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	assert_int_equal(pv_config_new(&f->conf), 0);
	f->bk.ops = &fake_ops;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(broker_monsrv_new(f->conf, &f->bk, NULL, pid, sv[0],
			     SID, "127.0.0.1", &f->c),
	    0);
	f->child = sv[1];
}

static void
fixture_init(struct fixture *f)
{
	/* pid 0: a violation kills nobody */
	fixture_init_pid(f, 0);
}

static void
fixture_done(struct fixture *f)
{
	broker_monsrv_free(f->c);
	close(f->child);
	pv_config_free(f->conf);
}

static void
ask_key(struct fixture *f, const char *login)
{
	struct mon_msg q;

	memset(&q, 0, sizeof(q));
	q.type = MON_AUTH_PUBKEY;
	(void)snprintf(
	    q.u.auth_pubkey.login, sizeof(q.u.auth_pubkey.login), "%s", login);
	memcpy(q.u.auth_pubkey.blob, "\0\0\0\x0bssh-ed25519", 15);
	q.u.auth_pubkey.bloblen = 15;
	(void)snprintf(
	    q.u.auth_pubkey.addr, sizeof(q.u.auth_pubkey.addr), "127.0.0.1");
	assert_int_equal(broker_mon_send(f->child, &q, -1, 0), 0);
}

static void
test_take_then_answer(void **state)
{
	struct fixture f;
	struct mon_msg a;

	(void)state;
	fixture_init(&f);
	ask_key(&f, "alice");
	assert_int_equal(broker_monsrv_take(f.c), 0);
	assert_int_equal(key_checks, 1);
	/* built, not sent: nothing to read before the answer */
	assert_true(broker_monsrv_pending(f.c));
	assert_int_equal(recv(f.child, &a, 1, MSG_DONTWAIT | MSG_PEEK), -1);
	assert_int_equal(broker_monsrv_answer(f.c, 0), 0);
	assert_false(broker_monsrv_pending(f.c));
	memset(&a, 0, sizeof(a));
	assert_int_equal(broker_mon_recv(f.child, &a, NULL, 0), 0);
	assert_int_equal(a.type, MON_AUTH_PUBKEY_ANS);
	assert_true(a.u.auth_ans.flags & MON_AUTH_OK);
	broker_mon_msg_clear(&a);
	fixture_done(&f);
}

static void
test_lost_batch(void **state)
{
	struct fixture f;
	struct mon_msg a;

	(void)state;
	fixture_init(&f);
	ask_key(&f, "alice");
	assert_int_equal(broker_monsrv_take(f.c), 0);
	/* the store did not keep the batch: an error, not the approval */
	assert_int_equal(broker_monsrv_answer(f.c, 1), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(broker_mon_recv(f.child, &a, NULL, 0), 0);
	assert_int_equal(a.type, MON_ERROR);
	assert_int_equal(a.u.error.code, PV_ERR_STORE);
	assert_non_null(strstr(a.u.error.msg, "did not keep"));
	broker_mon_msg_clear(&a);
	/* and the session goes on by the rules: the key may be asked again */
	ask_key(&f, "alice");
	assert_int_equal(broker_monsrv_take(f.c), 0);
	assert_int_equal(broker_monsrv_answer(f.c, 0), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(broker_mon_recv(f.child, &a, NULL, 0), 0);
	assert_int_equal(a.type, MON_AUTH_PUBKEY_ANS);
	broker_mon_msg_clear(&a);
	fixture_done(&f);
}

/* A second request before the first is answered waits in the socket. */
static void
test_one_at_a_time(void **state)
{
	struct fixture f;
	struct mon_msg a;
	int n;

	(void)state;
	fixture_init(&f);
	key_checks = 0;
	ask_key(&f, "alice");
	assert_int_equal(broker_monsrv_take(f.c), 0);
	ask_key(&f, "bob");
	assert_int_equal(broker_monsrv_take(f.c), 0);
	assert_int_equal(key_checks, 1);
	assert_int_equal(broker_monsrv_answer(f.c, 0), 0);
	for (n = 0; n < 2; n++) {
		if (n == 1) {
			assert_int_equal(broker_monsrv_take(f.c), 0);
			assert_int_equal(broker_monsrv_answer(f.c, 0), 0);
		}
		memset(&a, 0, sizeof(a));
		assert_int_equal(broker_mon_recv(f.child, &a, NULL, 0), 0);
		assert_int_equal(a.type, MON_AUTH_PUBKEY_ANS);
		assert_int_equal(
		    (a.u.auth_ans.flags & MON_AUTH_OK) != 0, n == 0);
		broker_mon_msg_clear(&a);
	}
	assert_int_equal(key_checks, 2);
	fixture_done(&f);
}

/* Every request type of the protocol's table has a handler, no other. */
static void
test_every_request_handled(void **state)
{
	int t;

	(void)state;
	for (t = 0; t <= 255; t++)
		if (broker_monsrv_handles(t) != broker_mon_type_is_request(t))
			fail_msg("type %d: handler %d, request %d", t,
			    broker_monsrv_handles(t),
			    broker_mon_type_is_request(t));
	assert_false(broker_monsrv_handles(5)); /* retired */
}

/* A stand-in session process, killed by the monitor or at the end. */
static pid_t
child_start(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void
child_killed(pid_t pid)
{
	int st = 0;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
}

/*
 * A request in a phase its table entry does not allow (the menu before
 * authentication): the monitor kills the session process and audits why.
 */
static void
test_wrong_phase_kills(void **state)
{
	struct fixture f;
	struct mon_msg q;
	pid_t pid = child_start();

	(void)state;
	fixture_init_pid(&f, pid);
	last_event[0] = '\0';
	memset(&q, 0, sizeof(q));
	q.type = MON_MENU;
	(void)snprintf(q.u.menu.command, sizeof(q.u.menu.command), "list");
	assert_int_equal(broker_mon_send(f.child, &q, -1, 0), 0);
	assert_int_equal(broker_monsrv_take(f.c), PV_ERR_PROTOCOL);
	child_killed(pid);
	assert_string_equal(last_event, "session.monitor_violation");
	assert_non_null(
	    strstr(last_detail, "reason=a request in the wrong phase"));
	assert_non_null(strstr(last_detail, "request=menu"));
	fixture_done(&f);
}

/* A retired type (5, the first design's decide) is no type at all. */
static void
test_retired_type_kills(void **state)
{
	static const uint8_t decide5[] = { 0, 0, 0, 1, 5 };
	struct fixture f;
	pid_t pid = child_start();

	(void)state;
	fixture_init_pid(&f, pid);
	last_event[0] = '\0';
	assert_int_equal(
	    write(f.child, decide5, sizeof(decide5)), (ssize_t)sizeof(decide5));
	assert_int_equal(broker_monsrv_take(f.c), PV_ERR_PROTOCOL);
	child_killed(pid);
	assert_string_equal(last_event, "session.monitor_violation");
	assert_non_null(strstr(last_detail, "reason=a malformed frame"));
	fixture_done(&f);
}

/* A TCP listener on 127.0.0.1 and a free port; its port in db01_port. */
static int
listener(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	db01_port = ntohs(sin.sin_port);
	return fd;
}

/* alice's key, verified by the monitor (the code not yet given). */
static void
key_ok(struct fixture *f)
{
	struct mon_msg a;

	ask_key(f, "alice");
	assert_int_equal(broker_monsrv_take(f->c), 0);
	assert_int_equal(broker_monsrv_answer(f->c, 0), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(broker_mon_recv(f->child, &a, NULL, 0), 0);
	assert_true(a.u.auth_ans.flags & MON_AUTH_OK);
}

static void
ask_connect(struct fixture *f, const char *engineer, const char *target)
{
	struct mon_msg q;

	memset(&q, 0, sizeof(q));
	q.type = MON_TARGET_CONNECT;
	(void)snprintf(q.u.target_connect.engineer,
	    sizeof(q.u.target_connect.engineer), "%s", engineer);
	(void)snprintf(q.u.target_connect.target,
	    sizeof(q.u.target_connect.target), "%s", target);
	assert_int_equal(broker_mon_send(f->child, &q, -1, 0), 0);
}

/* A forged target-connect the monitor must refuse: killed and audited. */
static void
connect_killed(
    int with_key, const char *engineer, const char *target, const char *why)
{
	struct fixture f;
	pid_t pid = child_start();

	fixture_init_pid(&f, pid);
	if (with_key)
		key_ok(&f);
	last_event[0] = '\0';
	ask_connect(&f, engineer, target);
	assert_int_equal(broker_monsrv_take(f.c), PV_ERR_PROTOCOL);
	child_killed(pid);
	assert_string_equal(last_event, "session.monitor_violation");
	if (strstr(last_detail, why) == NULL)
		fail_msg("audited: %s; want %s", last_detail, why);
	assert_non_null(strstr(last_detail, "request=target-connect"));
	fixture_done(&f);
}

/*
 * Playing a taken-over session process: the monitor opens no connection
 * before the login's key is good, none for another engineer, none to a
 * target the engineer may not see (vault), and only one before a decision.
 */
static void
test_connect_refused_kills(void **state)
{
	int l = listener(), n;

	(void)state;
	connect_killed(0, "alice", "db01", "reason=a request out of order");
	connect_killed(1, "bob", "db01", "reason=a request out of order");
	connect_killed(1, "alice", "vault",
	    "reason=a target connection to a target the engineer may not "
	    "reach");
	/* nothing reached the listener */
	assert_int_equal(fcntl(l, F_SETFL, O_NONBLOCK), 0);
	n = accept(l, NULL, NULL);
	assert_int_equal(n, -1);
	close(l);
}

/*
 * The pre-opened leg: the monitor connects to its own row's host and
 * port and passes the socket, non-blocking; a second one before a
 * decision is a lie.
 */
static void
test_connect_passes_socket(void **state)
{
	struct fixture f;
	struct mon_msg a;
	struct sockaddr_in peer = { 0 };
	socklen_t pl = sizeof(peer);
	pid_t pid = child_start();
	int l = listener(), fd = -1, s;
	char c = 0;

	(void)state;
	fixture_init_pid(&f, pid);
	key_ok(&f);
	ask_connect(&f, "alice", "db01");
	assert_int_equal(broker_monsrv_take(f.c), 0);
	assert_int_equal(broker_monsrv_answer(f.c, 0), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(broker_mon_recv(f.child, &a, &fd, 0), 0);
	assert_int_equal(a.type, MON_TARGET_SOCKET);
	assert_string_equal(a.u.target_socket.target, "db01");
	assert_string_equal(a.u.target_socket.host, "127.0.0.1");
	assert_int_equal(a.u.target_socket.port, db01_port);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	/* made on the key alone: the chain says so */
	assert_string_equal(last_event, "target.connect");
	{
		char want[64];

		(void)snprintf(want, sizeof(want),
		    "target=db01 127.0.0.1:%u pre-opened", (unsigned)db01_port);
		assert_string_equal(last_detail, want);
	}
	/* connected to db01's listener: bytes pass */
	assert_true((s = accept(l, NULL, NULL)) >= 0);
	assert_int_equal(getpeername(fd, (struct sockaddr *)&peer, &pl), 0);
	assert_int_equal(ntohs(peer.sin_port), db01_port);
	assert_int_equal(write(s, "x", 1), 1);
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		assert_int_equal(poll(&p, 1, 2000), 1);
	}
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'x');
	close(s);
	close(fd);
	/* a second leg before any decision: killed */
	last_event[0] = '\0';
	ask_connect(&f, "alice", "db01");
	assert_int_equal(broker_monsrv_take(f.c), PV_ERR_PROTOCOL);
	child_killed(pid);
	assert_string_equal(last_event, "session.monitor_violation");
	fixture_done(&f);
	close(l);
}

/*
 * A target that refuses: at once (an error with the reason) or, as Linux
 * does on loopback, once the socket went over (the session process sees
 * it, and tells with target-failed); before a decision no unreachable
 * row either way (there is no decided target).
 */
static void
test_connect_unreachable(void **state)
{
	struct fixture f;
	struct mon_msg a;
	int l = listener(), fd = -1, err = 0;
	socklen_t el = sizeof(err);

	(void)state;
	close(l); /* db01_port now refuses */
	fixture_init(&f);
	key_ok(&f);
	last_event[0] = '\0';
	ask_connect(&f, "alice", "db01");
	assert_int_equal(broker_monsrv_take(f.c), 0);
	assert_int_equal(broker_monsrv_answer(f.c, 0), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(broker_mon_recv(f.child, &a, &fd, 0), 0);
	if (a.type == MON_ERROR) {
		assert_int_equal(fd, -1);
		assert_string_equal(a.u.error.msg,
		    "cannot reach target db01: Connection refused");
	} else {
		struct pollfd p = { .fd = -1, .events = POLLOUT };

		assert_int_equal(a.type, MON_TARGET_SOCKET);
		assert_true(fd >= 0);
		p.fd = fd;
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
		assert_int_equal(err, ECONNREFUSED);
		close(fd);
	}
	/* no decision: no unreachable row (the leg, if made, is recorded) */
	assert_string_not_equal(last_event, "target.unreachable");
	fixture_done(&f);
}

/* An audit-append of this session, as a session process sends it. */
static void
ask_audit(struct fixture *f, const char *action, const char *detail)
{
	struct mon_msg q;
	json_t *j;
	char *text;

	memset(&q, 0, sizeof(q));
	q.type = MON_AUDIT;
	(void)snprintf(
	    q.u.audit.action, sizeof(q.u.audit.action), "%s", action);
	(void)snprintf(
	    q.u.audit.object, sizeof(q.u.audit.object), "session:%s", SID);
	assert_non_null(j = json_pack("{s:s}", "detail", detail));
	assert_non_null(text = json_dumps(j, JSON_COMPACT));
	(void)snprintf(
	    q.u.audit.details, sizeof(q.u.audit.details), "%s", text);
	free(text);
	json_decref(j);
	assert_int_equal(broker_mon_send(f->child, &q, -1, 0), 0);
}

/* A request the monitor takes and answers; the answer's type. */
static int
answered(struct fixture *f)
{
	struct mon_msg a;
	int t;

	assert_int_equal(broker_monsrv_take(f->c), 0);
	assert_int_equal(broker_monsrv_answer(f->c, 0), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(broker_mon_recv(f->child, &a, NULL, 0), 0);
	t = (int)a.type;
	broker_mon_msg_clear(&a);
	return t;
}

/* alice's key and code: authenticated, by code. */
static void
logged_in(struct fixture *f)
{
	struct mon_msg q;

	key_ok(f);
	memset(&q, 0, sizeof(q));
	q.type = MON_AUTH_TOTP;
	(void)snprintf(
	    q.u.auth_totp.login, sizeof(q.u.auth_totp.login), "alice");
	(void)snprintf(
	    q.u.auth_totp.code, sizeof(q.u.auth_totp.code), "123456");
	assert_int_equal(broker_mon_send(f->child, &q, -1, 0), 0);
	assert_int_equal(broker_monsrv_take(f->c), 0);
	assert_int_equal(broker_monsrv_answer(f->c, 0), 0);
	memset(&q, 0, sizeof(q));
	assert_int_equal(broker_mon_recv(f->child, &q, NULL, 0), 0);
	assert_int_equal(q.type, MON_AUTH_TOTP_ANS);
	assert_int_equal(q.u.auth_ans.flags, MON_AUTH_OK | MON_AUTH_DONE);
}

/* A decision for db01 as root (alice: allowed). */
static void
decided(struct fixture *f, const char *account)
{
	struct mon_msg q;

	memset(&q, 0, sizeof(q));
	q.type = MON_DECIDE_CH;
	(void)snprintf(
	    q.u.decide_ch.engineer, sizeof(q.u.decide_ch.engineer), "alice");
	(void)snprintf(
	    q.u.decide_ch.target, sizeof(q.u.decide_ch.target), "db01");
	(void)snprintf(q.u.decide_ch.account, sizeof(q.u.decide_ch.account),
	    "%s", account);
	q.u.decide_ch.channel = 1;
	(void)snprintf(q.u.decide_ch.client, sizeof(q.u.decide_ch.client),
	    "127.0.0.1 port 4000");
	assert_int_equal(broker_mon_send(f->child, &q, -1, 0), 0);
	assert_int_equal(answered(f), MON_DECISION_CH);
}

enum { AT_PRE, AT_KEY, AT_AUTH, AT_ALLOWED };

/*
 * Playing a taken-over session process that appends a row: killed, the
 * violation audited with why, and no row of that action written.
 */
static void
audit_killed(int at, const char *action, const char *detail, const char *why)
{
	struct fixture f;
	pid_t pid = child_start();

	fixture_init_pid(&f, pid);
	if (at == AT_KEY)
		key_ok(&f);
	if (at >= AT_AUTH)
		logged_in(&f);
	if (at == AT_ALLOWED)
		decided(&f, "root");
	nevents = 0;
	last_event[0] = '\0';
	ask_audit(&f, action, detail);
	assert_int_equal(broker_monsrv_take(f.c), PV_ERR_PROTOCOL);
	child_killed(pid);
	assert_string_equal(last_event, "session.monitor_violation");
	if (strstr(last_detail, why) == NULL)
		fail_msg("%s: audited %s; want %s", action, last_detail, why);
	assert_non_null(strstr(last_detail, "request=audit-append"));
	if (strcmp(action, "session.monitor_violation") != 0 &&
	    has_event(action))
		fail_msg("a %s row was written", action);
	assert_int_equal(nevents, 1);
	fixture_done(&f);
}

/* An append the monitor takes: acknowledged, the row written as sent. */
static void
audit_taken(struct fixture *f, const char *action, const char *detail)
{
	nevents = 0;
	ask_audit(f, action, detail);
	assert_int_equal(answered(f), MON_AUDIT_ACK);
	assert_int_equal(nevents, 1);
	assert_string_equal(last_event, action);
	assert_string_equal(last_detail, detail);
}

#define NOT_WRITTEN "reason=an audit action the session side does not write"
#define BAD_PHASE "reason=an audit action in a phase it is not written in"
#define BAD_DETAIL "reason=an audit detail the monitor's own record contradicts"

/*
 * Rows of actions only the monitor or provostctl write (grants,
 * revocations, the exit, checkpoints, the monitor's own): an
 * authenticated session process that asks for one is killed (before the
 * allowlist, all but the last two were written as the session's).
 */
static void
test_audit_not_session_action_kills(void **state)
{
	static const char *const forged[] = { "grant.approve",
		"engineer.revoke", "exit.complete", "audit.checkpoint",
		"session.watch_end", "approver.login", "target.connect",
		"target.unreachable", "session.monitor_violation", "Auth.ok",
		"auth.ok " };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		audit_killed(
		    AT_ALLOWED, forged[i], "grant=g1 by=secops", NOT_WRITTEN);
	/* and before authentication */
	audit_killed(AT_PRE, "engineer.revoke", "engineer=bob", NOT_WRITTEN);
}

/*
 * Phases: a refused key is audited only before authentication, auth.ok
 * and everything after it only once it is complete.
 */
static void
test_audit_phase_kills(void **state)
{
	(void)state;
	audit_killed(AT_KEY, "auth.ok",
	    "engineer=alice from=127.0.0.1 login=alice+root@db01 by=key and "
	    "code",
	    BAD_PHASE);
	audit_killed(
	    AT_PRE, "channel.start", "channel=0 kind=shell pty=1", BAD_PHASE);
	audit_killed(
	    AT_KEY, "session.end", "reason=ended in=0 out=0", BAD_PHASE);
	audit_killed(
	    AT_AUTH, "auth.fail", "user=alice from=127.0.0.1", BAD_PHASE);
}

/*
 * Details with a form the monitor checks against its own record: who
 * logged in, from where, how; what was decided; what was minted; whose
 * menu command it was.
 */
static void
test_audit_detail_kills(void **state)
{
	(void)state;
	/* another engineer, another address, another factor */
	audit_killed(AT_AUTH, "auth.ok",
	    "engineer=bob from=127.0.0.1 login=bob+root@db01 by=key and code",
	    BAD_DETAIL);
	audit_killed(AT_AUTH, "auth.ok",
	    "engineer=alice from=10.9.9.9 login=alice by=key and code",
	    BAD_DETAIL);
	audit_killed(AT_AUTH, "auth.ok",
	    "engineer=alice from=127.0.0.1 login=alice by=key; code within "
	    "MFAGrace",
	    BAD_DETAIL);
	audit_killed(AT_AUTH, "auth.ok",
	    "engineer=alice from=127.0.0.1 login=bob+alice by=key and code",
	    BAD_DETAIL);
	/* an allow the monitor never gave, or for another target */
	audit_killed(AT_AUTH, "decision",
	    "allow engineer=alice target=db01 account=root channel=shell "
	    "rule=ops grant= reason=rule ops",
	    BAD_DETAIL);
	audit_killed(AT_ALLOWED, "decision",
	    "allow engineer=alice target=vault account=root channel=shell "
	    "rule=ops grant= reason=rule ops",
	    BAD_DETAIL);
	audit_killed(AT_ALLOWED, "decision",
	    "deny engineer=bob target=db01 account=root channel=shell "
	    "rule= grant= reason=no rule",
	    BAD_DETAIL);
	audit_killed(
	    AT_ALLOWED, "decision", "maybe engineer=alice", BAD_DETAIL);
	/* no credential was minted */
	audit_killed(AT_ALLOWED, "credential.issued", "serial=7 principal=root",
	    BAD_DETAIL);
	audit_killed(
	    AT_AUTH, "menu", "engineer=bob command=list status=0", BAD_DETAIL);
}

/*
 * What a real session process writes is taken, each in its phase: a
 * refused key before authentication, auth.ok as provostd words it, the
 * decision the monitor gave, the channel rows, the end after session-end.
 */
static void
test_audit_session_rows_taken(void **state)
{
	struct fixture f;
	struct mon_msg q;

	(void)state;
	fixture_init(&f);
	audit_taken(&f, "auth.fail", "user=alice from=127.0.0.1 port 4000");
	logged_in(&f);
	audit_taken(&f, "auth.ok",
	    "engineer=alice from=127.0.0.1 login=alice+root@db01 by=key and "
	    "code");
	audit_taken(&f, "menu", "engineer=alice command=list status=0");
	audit_taken(&f, "decision",
	    "deny target=nosuch reason=no such target, or none the engineer "
	    "may see");
	decided(&f, "admin"); /* denied */
	audit_taken(&f, "decision",
	    "deny engineer=alice target=db01 account=admin channel=shell "
	    "rule= grant= reason=no rule");
	decided(&f, "root");
	audit_taken(&f, "decision",
	    "allow engineer=alice target=db01 account=root channel=shell "
	    "rule=ops grant= reason=rule ops");
	audit_taken(&f, "channel.start", "channel=0 kind=shell pty=1");
	audit_taken(&f, "channel.end", "channel=0 in=5 out=10 status=0");
	audit_taken(&f, "session.grant_expired", "ends=1700000000");
	memset(&q, 0, sizeof(q));
	q.type = MON_SESSION_END;
	(void)snprintf(
	    q.u.session_end.reason, sizeof(q.u.session_end.reason), "ended");
	assert_int_equal(broker_mon_send(f.child, &q, -1, 0), 0);
	/* no row in this fixture: an error, but session-end was asked */
	assert_int_equal(answered(&f), MON_ERROR);
	audit_taken(&f, "session.end", "reason=ended in=5 out=10");
	fixture_done(&f);
}

/* One request, answered: the answer in *a, a passed descriptor in *fd. */
static void
round_trip(
    struct fixture *f, const struct mon_msg *q, struct mon_msg *a, int *fd)
{
	assert_int_equal(broker_mon_send(f->child, q, -1, 0), 0);
	assert_int_equal(broker_monsrv_take(f->c), 0);
	assert_int_equal(broker_monsrv_answer(f->c, 0), 0);
	memset(a, 0, sizeof(*a));
	assert_int_equal(broker_mon_recv(f->child, a, fd, 0), 0);
}

/* alice's code, then an allowing decision for target as root. */
static void
code_and_decision(struct fixture *f, const char *target)
{
	struct mon_msg q, a;

	memset(&q, 0, sizeof(q));
	q.type = MON_AUTH_TOTP;
	(void)snprintf(
	    q.u.auth_totp.login, sizeof(q.u.auth_totp.login), "%s", "alice");
	(void)snprintf(
	    q.u.auth_totp.code, sizeof(q.u.auth_totp.code), "%s", "123456");
	round_trip(f, &q, &a, NULL);
	assert_int_equal(a.type, MON_AUTH_TOTP_ANS);
	assert_int_equal(a.u.auth_ans.flags, MON_AUTH_OK | MON_AUTH_DONE);
	memset(&q, 0, sizeof(q));
	q.type = MON_DECIDE_CH;
	(void)snprintf(q.u.decide_ch.engineer, sizeof(q.u.decide_ch.engineer),
	    "%s", "alice");
	(void)snprintf(
	    q.u.decide_ch.target, sizeof(q.u.decide_ch.target), "%s", target);
	(void)snprintf(
	    q.u.decide_ch.account, sizeof(q.u.decide_ch.account), "%s", "root");
	q.u.decide_ch.channel = POLICY_CH_SHELL;
	(void)snprintf(q.u.decide_ch.client, sizeof(q.u.decide_ch.client), "%s",
	    "127.0.0.1 port 1");
	round_trip(f, &q, &a, NULL);
	assert_int_equal(a.type, MON_DECISION_CH);
	assert_int_equal(a.u.decision_ch.outcome, PV_ALLOW);
}

static void
ask_mint_for(struct fixture *f, const char *target, const char *source)
{
	struct mon_msg q;

	memset(&q, 0, sizeof(q));
	q.type = MON_MINT_CERT;
	(void)snprintf(q.u.mint_cert.session_id,
	    sizeof(q.u.mint_cert.session_id), "%s", SID);
	(void)snprintf(
	    q.u.mint_cert.target, sizeof(q.u.mint_cert.target), "%s", target);
	(void)snprintf(q.u.mint_cert.principal, sizeof(q.u.mint_cert.principal),
	    "%s", "root");
	memset(q.u.mint_cert.pubkey, 0x5a, sizeof(q.u.mint_cert.pubkey));
	(void)snprintf(q.u.mint_cert.source_address,
	    sizeof(q.u.mint_cert.source_address), "%s", source);
	assert_int_equal(broker_mon_send(f->child, &q, -1, 0), 0);
}

static void
ask_mint(struct fixture *f, const char *source)
{
	ask_mint_for(f, "db01", source);
}

/* The monitor's pre-opened leg to db01; its local address in local. */
static void
leg_up(struct fixture *f, int l, char *local, size_t len)
{
	struct mon_msg a;
	struct sockaddr_in me = { 0 };
	socklen_t ml = sizeof(me);
	char text[INET_ADDRSTRLEN];
	int fd = -1, s;

	ask_connect(f, "alice", "db01");
	assert_int_equal(broker_monsrv_take(f->c), 0);
	assert_int_equal(broker_monsrv_answer(f->c, 0), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(broker_mon_recv(f->child, &a, &fd, 0), 0);
	assert_int_equal(a.type, MON_TARGET_SOCKET);
	assert_true(fd >= 0);
	assert_true((s = accept(l, NULL, NULL)) >= 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &ml), 0);
	assert_non_null(inet_ntop(AF_INET, &me.sin_addr, text, sizeof(text)));
	assert_true((size_t)snprintf(local, len, "%s/32", text) < len);
	close(s);
	close(fd);
}

/*
 * The certificate's source-address is the monitor's: a mint before the
 * monitor connected the target's leg is a lie (killed, audited, nothing
 * signed), whatever address the process names, even the right one.
 */
static void
test_mint_without_leg_kills(void **state)
{
	struct fixture f;
	pid_t pid = child_start();

	(void)state;
	fixture_init_pid(&f, pid);
	key_ok(&f);
	code_and_decision(&f, "db01");
	mints = 0;
	last_event[0] = '\0';
	ask_mint(&f, "127.0.0.1/32");
	assert_int_equal(broker_monsrv_take(f.c), PV_ERR_PROTOCOL);
	child_killed(pid);
	assert_int_equal(mints, 0);
	assert_string_equal(last_event, "session.monitor_violation");
	if (strstr(last_detail,
		"reason=a certificate before the monitor "
		"connected the target's leg") == NULL)
		fail_msg("audited: %s", last_detail);
	assert_non_null(strstr(last_detail, "request=mint-cert"));
	fixture_done(&f);
}

/*
 * After the leg: the certificate carries the local address of the
 * monitor's own socket to db01; any other address named (anywhere, this
 * host's other loopback address) is a lie.
 */
static void
test_mint_source_is_leg(void **state)
{
	static const char *const lies[] = { "0.0.0.0/0", "127.0.0.2/32",
		"::1/128", "127.0.0.1/8" };
	struct fixture f;
	struct mon_msg a;
	char local[64];
	size_t i;
	int l = listener();

	(void)state;
	fixture_init(&f);
	key_ok(&f);
	leg_up(&f, l, local, sizeof(local));
	code_and_decision(&f, "db01");
	mints = 0;
	minted_source[0] = '\0';
	ask_mint(&f, local);
	assert_int_equal(broker_monsrv_take(f.c), 0);
	assert_int_equal(broker_monsrv_answer(f.c, 0), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(broker_mon_recv(f.child, &a, NULL, 0), 0);
	assert_int_equal(a.type, MON_CERT_SERIAL);
	assert_int_equal(mints, 1);
	assert_string_equal(minted_source, local);
	assert_string_equal(minted_source, "127.0.0.1/32");
	fixture_done(&f);
	for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		pid_t pid = child_start();

		fixture_init_pid(&f, pid);
		key_ok(&f);
		leg_up(&f, l, local, sizeof(local));
		code_and_decision(&f, "db01");
		mints = 0;
		last_event[0] = '\0';
		ask_mint(&f, lies[i]);
		assert_int_equal(broker_monsrv_take(f.c), PV_ERR_PROTOCOL);
		child_killed(pid);
		assert_int_equal(mints, 0);
		if (strstr(last_detail,
			"reason=a certificate for an address "
			"that is not the leg's") == NULL)
			fail_msg("%s: audited: %s", lies[i], last_detail);
		fixture_done(&f);
	}
	close(l);
}

/*
 * The leg binds the certificate to its own target: with the pre-opened leg
 * to db01 and then a decision for db02 (no leg of its own yet), a
 * certificate for db02 is a lie, even with the db01 leg's address.
 */
static void
test_mint_other_target_kills(void **state)
{
	struct fixture f;
	char local[64];
	pid_t pid = child_start();
	int l = listener();

	(void)state;
	fixture_init_pid(&f, pid);
	key_ok(&f);
	leg_up(&f, l, local, sizeof(local));
	code_and_decision(&f, "db02");
	mints = 0;
	last_event[0] = '\0';
	ask_mint_for(&f, "db02", local);
	assert_int_equal(broker_monsrv_take(f.c), PV_ERR_PROTOCOL);
	child_killed(pid);
	assert_int_equal(mints, 0);
	if (strstr(last_detail,
		"reason=a certificate before the monitor "
		"connected the target's leg") == NULL)
		fail_msg("audited: %s", last_detail);
	fixture_done(&f);
	close(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_then_answer),
		cmocka_unit_test(test_lost_batch),
		cmocka_unit_test(test_one_at_a_time),
		cmocka_unit_test(test_every_request_handled),
		cmocka_unit_test(test_wrong_phase_kills),
		cmocka_unit_test(test_retired_type_kills),
		cmocka_unit_test(test_connect_refused_kills),
		cmocka_unit_test(test_connect_passes_socket),
		cmocka_unit_test(test_connect_unreachable),
		cmocka_unit_test(test_audit_not_session_action_kills),
		cmocka_unit_test(test_audit_phase_kills),
		cmocka_unit_test(test_audit_detail_kills),
		cmocka_unit_test(test_audit_session_rows_taken),
		cmocka_unit_test(test_mint_without_leg_kills),
		cmocka_unit_test(test_mint_source_is_leg),
		cmocka_unit_test(test_mint_other_target_kills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

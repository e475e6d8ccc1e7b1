/*
 * target.c: the target leg: connect with libssh, check the pinned host key,
 * mint a certificate for an ephemeral key, authenticate, open channels.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker/session/session.h"
#include "store/store.h"

#define TARGET_TIMEOUT_S 10
#define TARGET_KBDINT_ROUNDS 4

static char *
key_fingerprint(ssh_key key)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;

	if (key != NULL &&
	    ssh_get_publickey_hash(
		key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
		fp = ssh_get_fingerprint_hash(
		    SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
		ssh_clean_pubkey_hash(&hash);
	}
	return fp;
}

/* Parses the pinned "TYPE BASE64" line. */
static int
pinned_key(const char *line, ssh_key *out, char *type, size_t typelen)
{
	const char *sp = strchr(line, ' ');
	char b64[BROKER_HOSTKEY_MAX];
	size_t tl;

	*out = NULL;
	if (sp == NULL || (tl = (size_t)(sp - line)) >= typelen)
		return PV_ERR_INVALID;
	memcpy(type, line, tl);
	type[tl] = '\0';
	(void)snprintf(b64, sizeof(b64), "%s", sp + 1);
	b64[strcspn(b64, " ")] = '\0';
	if (ssh_pki_import_pubkey_base64(
		b64, ssh_key_type_from_name(type), out) != SSH_OK)
		return PV_ERR_INVALID;
	return 0;
}

/* The broker's own address toward the target, as a source-address. */
static int
local_address(ssh_session t, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	char a[INET6_ADDRSTRLEN];
	int n;

	if (getsockname(ssh_get_fd(t), (struct sockaddr *)&ss, &sl) != 0)
		return PV_ERR_IO;
	if (ss.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a,
		sizeof(a)) != NULL)
		n = snprintf(out, outlen, "%s/32", a);
	else if (ss.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a,
		sizeof(a)) != NULL)
		n = snprintf(out, outlen, "%s/128", a);
	else
		return PV_ERR_INVALID;
	return n > 0 && (size_t)n < outlen ? 0 : PV_ERR_RANGE;
}

static int
target_options(struct broker_session *s, ssh_session t, const char *hostkeys)
{
	bool no = false;
	int port = s->tgt.port, one = 1;
	long timeout = TARGET_TIMEOUT_S;

	if (ssh_options_set(t, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(t, SSH_OPTIONS_HOST, s->tgt.host) < 0 ||
	    ssh_options_set(t, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(t, SSH_OPTIONS_USER, s->account) < 0 ||
	    ssh_options_set(t, SSH_OPTIONS_KEY_EXCHANGE, s->bx->target_kex) <
		0 ||
	    ssh_options_set(t, SSH_OPTIONS_HOSTKEYS, hostkeys) < 0 ||
	    ssh_options_set(t, SSH_OPTIONS_CIPHERS_C_S, s->bx->target_ciphers) <
		0 ||
	    ssh_options_set(t, SSH_OPTIONS_CIPHERS_S_C, s->bx->target_ciphers) <
		0 ||
	    ssh_options_set(t, SSH_OPTIONS_HMAC_C_S, s->bx->target_macs) < 0 ||
	    ssh_options_set(t, SSH_OPTIONS_HMAC_S_C, s->bx->target_macs) < 0 ||
	    ssh_options_set(t, SSH_OPTIONS_NODELAY, &one) < 0 ||
	    ssh_options_set(t, SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
	    ssh_options_set(t, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") < 0 ||
	    ssh_options_set(t, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") <
		0 ||
	    broker_rekey_options(s->bx->conf, t) != 0)
		return PV_ERR_INTERNAL;
	return 0;
}

/* Mints and installs the certificate; the private key never leaves here. */
static int
target_auth_cert(struct broker_session *s, char *msg, size_t msglen)
{
	ssh_key eph = NULL, cert = NULL;
	uint8_t *blob = NULL;
	size_t bloblen = 0;
	struct pv_buf *cb = NULL;
	uint8_t pub[BROKER_ED25519_LEN];
	char src[80], *b64 = NULL;
	int r = PV_ERR_INTERNAL;

	if ((r = local_address(s->target, src, sizeof(src))) != 0)
		goto out;
	r = PV_ERR_CRYPTO;
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &eph) != SSH_OK ||
	    broker_key_blob(eph, &blob, &bloblen) != 0)
		goto out;
	if ((r = broker_ed25519_from_blob(blob, bloblen, pub)) != 0)
		goto out;
	struct broker_cert_req req = {
		.pubkey = pub,
		.session_id = s->id,
		.engineer = s->login.engineer,
		.principal = s->account,
		.now = (int64_t)time(NULL),
		.lifetime = s->bx->conf->cert_lifetime,
		.source_address = src,
		.permit_pty = s->decision.permit_pty,
		.permit_port_forwarding = s->decision.permit_forward,
	};
	if ((cb = pv_buf_new(65536)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = s->bx->backend.ops->cert_mint(
		 s->bx->backend.ctx, s->tgt.name, &req, cb)) != 0)
		goto out;
	if ((r = pv_b64_encode(pv_buf_ptr(cb), pv_buf_len(cb), 0, &b64)) != 0)
		goto out;
	r = PV_ERR_CRYPTO;
	if (ssh_pki_import_cert_base64(
		b64, SSH_KEYTYPE_ED25519_CERT01, &cert) != SSH_OK ||
	    ssh_pki_copy_cert_to_privkey(cert, eph) != SSH_OK)
		goto out;
	broker_audit(s, MON_AUD_CREDENTIAL_ISSUED, "serial=%llu principal=%s",
	    (unsigned long long)req.serial, s->account);
	if (ssh_userauth_publickey(s->target, NULL, eph) != SSH_AUTH_SUCCESS) {
		(void)snprintf(msg, msglen,
		    "the target %s refused provost's certificate for %s",
		    s->tgt.name, s->account);
		r = PV_ERR_AUTH;
		goto out;
	}
	r = 0;
out:
	free(b64);
	pv_buf_free(cb);
	free(blob);
	ssh_key_free(cert);
	ssh_key_free(eph);
	return r;
}

/*
 * keyboard-interactive with every prompt answered by the token, a bounded
 * number of rounds (sshd may end with an empty info request).
 */
static int
target_kbdint(ssh_session t, const char *token)
{
	int rc, i, n, round;

	for (round = 0; round < TARGET_KBDINT_ROUNDS; round++) {
		rc = ssh_userauth_kbdint(t, NULL, NULL);
		if (rc != SSH_AUTH_INFO)
			return rc;
		n = ssh_userauth_kbdint_getnprompts(t);
		for (i = 0; i < n; i++) {
			if (ssh_userauth_kbdint_setanswer(
				t, (unsigned int)i, token) < 0)
				return SSH_AUTH_ERROR;
		}
	}
	return SSH_AUTH_DENIED;
}

/*
 * pam-token targets: a fresh pvt1 token (recorded, one per connection) is
 * the keyboard-interactive answer, or the password where only that is
 * offered.  The token is wiped as soon as libssh has sent it.
 */
static int
target_auth_token(struct broker_session *s, char *msg, size_t msglen)
{
	const struct broker_backend *bk = &s->bx->backend;
	char *token = NULL;
	int methods, rc, r = PV_ERR_INTERNAL;

	struct broker_token_req req = {
		.session_id = s->id,
		.engineer = s->login.engineer,
		.account = s->account,
		.grant_id = s->decision.grant_id,
		.now = (int64_t)time(NULL),
		.lifetime = s->bx->conf->cert_lifetime,
	};
	if (bk->ops->token_mint == NULL) {
		(void)snprintf(msg, msglen,
		    "target %s wants a pam-token, which this broker cannot "
		    "mint",
		    s->tgt.name);
		return PV_ERR_UNSUPPORTED;
	}
	if ((r = bk->ops->token_mint(bk->ctx, s->tgt.name, &req, &token)) != 0)
		goto out;
	broker_audit(s, MON_AUD_CREDENTIAL_ISSUED,
	    "serial=%llu principal=%s kind=token",
	    (unsigned long long)req.serial, s->account);
	rc = ssh_userauth_none(s->target, NULL);
	if (rc != SSH_AUTH_SUCCESS) {
		methods = ssh_userauth_list(s->target, NULL);
		rc = SSH_AUTH_DENIED;
		if (methods & SSH_AUTH_METHOD_INTERACTIVE)
			rc = target_kbdint(s->target, token);
		if (rc != SSH_AUTH_SUCCESS &&
		    (methods & SSH_AUTH_METHOD_PASSWORD))
			rc = ssh_userauth_password(s->target, NULL, token);
	}
	if (rc != SSH_AUTH_SUCCESS) {
		(void)snprintf(msg, msglen,
		    "the target %s refused provost's token for %s", s->tgt.name,
		    s->account);
		r = PV_ERR_AUTH;
		goto out;
	}
	r = 0;
out:
	pv_secret_freestr(token);
	return r;
}

static int
target_auth(struct broker_session *s, char *msg, size_t msglen)
{
	if (s->tgt.auth == BROKER_AUTH_PAM_TOKEN)
		return target_auth_token(s, msg, msglen);
	return target_auth_cert(s, msg, msglen);
}

static void
target_free(struct broker_session *s, ssh_session t, int added)
{
	if (added && s->event != NULL)
		ssh_event_remove_session(s->event, t);
	ssh_disconnect(t);
	ssh_free(t);
}

void
broker_target_reap(struct broker_session *s)
{
	size_t i;

	for (i = 0; i < s->ndropped; i++)
		target_free(s, s->dropped[i].t, s->dropped[i].added);
	s->ndropped = 0;
}

/*
 * Inside a poll round (a decision refused, a connect failed, both run in
 * callbacks) the leg is only set aside: freeing a session while libssh
 * polls it crashed (t_broker_preconnect under ASan: a refused decision,
 * handled inside the pre-opened leg's own non-blocking ssh_connect, freed
 * the leg that ssh_connect was working on).
 */
void
broker_target_drop(struct broker_session *s)
{
	const size_t max = sizeof(s->dropped) / sizeof(s->dropped[0]);

	if (s->target == NULL)
		return;
	if (s->polling > 0 && s->ndropped < max) {
		s->dropped[s->ndropped].t = s->target;
		s->dropped[s->ndropped].added = s->target_added;
		s->ndropped++;
	} else
		target_free(s, s->target, s->target_added);
	s->target = NULL;
	s->target_added = 0;
	s->target_connecting = 0;
	s->target_up = 0;
}

/*
 * A new session for the target with its pinned key type, on the socket
 * the monitor opened (this process has no socket(2) or connect(2)): its
 * connect may still be under way, which libssh waits for (POLLOUT) as it
 * does for its own non-blocking connect.
 */
static int
target_new(struct broker_session *s, ssh_key *pin, char *msg, size_t msglen)
{
	const struct broker_backend *bk = &s->bx->backend;
	char type[64];
	const char *hostkeys;
	int r, fd = -1;

	if (pinned_key(s->tgt.hostkey, pin, type, sizeof(type)) != 0) {
		(void)snprintf(msg, msglen,
		    "target %s has no usable pinned "
		    "host key",
		    s->tgt.name);
		return PV_ERR_CONFIG;
	}
	if (bk->ops->target_connect == NULL)
		return PV_ERR_UNSUPPORTED;
	hostkeys =
	    strcmp(type, "ssh-rsa") == 0 ? "rsa-sha2-512,rsa-sha2-256" : type;
	if ((s->target = ssh_new()) == NULL)
		return PV_ERR_ALLOC;
	if ((r = target_options(s, s->target, hostkeys)) != 0)
		return r;
	if ((r = bk->ops->target_connect(bk->ctx, s->login.engineer,
		 s->tgt.name, &fd, msg, msglen)) != 0) {
		if (msg[0] == '\0')
			(void)snprintf(msg, msglen,
			    "cannot reach target %s: %s", s->tgt.name,
			    pv_err_str(r));
		return r == PV_ERR_IO || r == PV_ERR_NOT_FOUND ? PV_ERR_IO : r;
	}
	if (ssh_options_set(s->target, SSH_OPTIONS_FD, &fd) < 0) {
		(void)close(fd);
		return PV_ERR_INTERNAL;
	}
	return 0;
}

/*
 * A leg the monitor handed over failed in ssh_connect: no banner came
 * (the TCP connect was refused or timed out), or the key exchange did.
 * The monitor writes the unreachable row for the target it decided.
 */
static void
target_failed(struct broker_session *s, const char *why)
{
	const struct broker_backend *bk = &s->bx->backend;
	int stage = ssh_get_serverbanner(s->target) == NULL ? 1 : 2;

	if (bk->ops->target_failed != NULL &&
	    bk->ops->target_failed(bk->ctx, stage, why) != 0)
		pv_verbose("session %s: the monitor did not take the leg's "
			   "failure",
		    s->id);
}

/*
 * The pre-opened leg: the TCP connect and key exchange start here, without
 * blocking, and go on in the session's event while the engineer answers
 * the code prompt.  Nothing is sent that authenticates: the certificate is
 * minted and offered only by broker_target_connect, after the decision.
 */
int
broker_target_preconnect(struct broker_session *s)
{
	ssh_key pin = NULL;
	char msg[256];
	int r;

	msg[0] = '\0';
	if (s->target != NULL || !s->key_ok || s->tgt.name[0] == '\0')
		return PV_ERR_INVALID;
	if ((r = target_new(s, &pin, msg, sizeof(msg))) != 0)
		goto out;
	ssh_set_blocking(s->target, 0);
	r = ssh_connect(s->target);
	if (r == SSH_ERROR) {
		(void)snprintf(
		    msg, sizeof(msg), "%s", ssh_get_error(s->target));
		r = PV_ERR_IO;
		goto out;
	}
	s->target_connecting = r == SSH_AGAIN;
	pv_verbose("session %s: pre-opening the target leg to %s (%s:%u)",
	    s->id, s->tgt.name, s->tgt.host, s->tgt.port);
	r = 0;
out:
	if (r != 0) {
		/* The decision's own connect tries again and says why. */
		pv_verbose("session %s: no pre-opened leg to %s: %s", s->id,
		    s->tgt.name, msg[0] ? msg : pv_err_str(r));
		broker_target_drop(s);
	}
	ssh_key_free(pin);
	return r;
}

void
broker_target_preconnect_step(struct broker_session *s)
{
	ssh_session t;
	int r;

	if (s->target == NULL || !s->target_connecting || s->target_up)
		return;
	/*
	 * ssh_connect polls the whole event (the target is in it): the
	 * engineer's packets are handled in here too, and a refused
	 * decision drops this leg while its ssh_connect is on the stack.
	 * Counted as a poll round, so such a drop is only set aside.
	 */
	t = s->target;
	s->polling++;
	r = ssh_connect(t);
	if (--s->polling == 0 && s->target != t) {
		broker_target_reap(s); /* dropped meanwhile */
		return;
	}
	if (s->target != t)
		return;
	if (r == SSH_AGAIN)
		return;
	s->target_connecting = 0;
	if (r != SSH_OK) {
		pv_verbose("session %s: the pre-opened leg to %s failed: %s",
		    s->id, s->tgt.name, ssh_get_error(s->target));
		broker_target_drop(s);
		return;
	}
	pv_verbose("session %s: target leg to %s pre-opened; no "
		   "authentication before the decision",
	    s->id, s->tgt.name);
}

/* A pre-opened leg still usable: its key exchange done, or finished now. */
static int
target_preopened(struct broker_session *s)
{
	ssh_set_blocking(s->target, 1);
	if (s->target_connecting) {
		s->target_connecting = 0;
		if (ssh_connect(s->target) != SSH_OK)
			return 0;
	}
	return ssh_is_connected(s->target) &&
	    (ssh_get_status(s->target) & (SSH_CLOSED | SSH_CLOSED_ERROR)) == 0;
}

int
broker_target_connect(struct broker_session *s, char *msg, size_t msglen)
{
	ssh_key pin = NULL, got = NULL;
	char *fp_pin = NULL, *fp_got = NULL;
	int r = PV_ERR_INTERNAL, reused = 0;

	if (s->target != NULL && s->target_up)
		return 0;
	if (s->target != NULL) {
		if (target_preopened(s))
			reused = 1;
		else {
			pv_info("session %s: the pre-opened leg to %s is gone: "
				"connecting again",
			    s->id, s->tgt.name);
			broker_target_drop(s);
		}
	}
	if (reused) {
		char type[64];

		if (pinned_key(s->tgt.hostkey, &pin, type, sizeof(type)) != 0) {
			(void)snprintf(msg, msglen,
			    "target %s has no usable pinned host key",
			    s->tgt.name);
			r = PV_ERR_CONFIG;
			goto out;
		}
	} else {
		if ((r = target_new(s, &pin, msg, msglen)) != 0)
			goto out;
		if (ssh_connect(s->target) != SSH_OK) {
			(void)snprintf(msg, msglen,
			    "cannot reach target %s: %s", s->tgt.name,
			    ssh_get_error(s->target));
			target_failed(s, ssh_get_error(s->target));
			r = PV_ERR_IO;
			goto out;
		}
	}
	if (ssh_get_server_publickey(s->target, &got) != SSH_OK ||
	    ssh_key_cmp(pin, got, SSH_KEY_CMP_PUBLIC) != 0) {
		fp_pin = key_fingerprint(pin);
		fp_got = key_fingerprint(got);
		(void)snprintf(msg, msglen,
		    "host key of target %s does not match the pinned key: "
		    "pinned %s, presented %s",
		    s->tgt.name, fp_pin ? fp_pin : "?", fp_got ? fp_got : "?");
		broker_audit(s, MON_AUD_TARGET_HOSTKEY_MISMATCH,
		    "target=%s pinned=%s presented=%s", s->tgt.name,
		    fp_pin ? fp_pin : "?", fp_got ? fp_got : "?");
		r = PV_ERR_AUTH;
		goto out;
	}
	if ((r = target_auth(s, msg, msglen)) != 0)
		goto out;
	s->target_up = 1;
	pv_info("session %s: target leg up: %s@%s (%s:%u)%s", s->id, s->account,
	    s->tgt.name, s->tgt.host, s->tgt.port,
	    reused ? ", pre-opened" : "");
	r = 0;
out:
	if (r != 0) {
		if (msg[0] == '\0')
			(void)snprintf(msg, msglen,
			    "cannot open the target leg to %s", s->tgt.name);
		pv_info("session %s: %s", s->id, msg);
		broker_target_drop(s);
	}
	ssh_string_free_char(fp_pin);
	ssh_string_free_char(fp_got);
	ssh_key_free(pin);
	ssh_key_free(got);
	return r;
}

/* Opens the target channel and replays pty, env, then shell or exec. */
int
broker_target_open(struct broker_session *s, struct relay_chan *rc,
    const char *command, const char *subsystem, char *msg, size_t msglen)
{
	int i;

	if ((rc->t = ssh_channel_new(s->target)) == NULL ||
	    ssh_channel_open_session(rc->t) != SSH_OK) {
		(void)snprintf(msg, msglen,
		    "target %s refused a session channel: %s", s->tgt.name,
		    ssh_get_error(s->target));
		return PV_ERR_PROTOCOL;
	}
	broker_relay_target_callbacks(rc);
	if (rc->want_pty &&
	    ssh_channel_request_pty_size(rc->t,
		rc->term[0] ? rc->term : "vt100", rc->cols,
		rc->rows) != SSH_OK) {
		(void)snprintf(
		    msg, msglen, "target %s refused a pty", s->tgt.name);
		return PV_ERR_PROTOCOL;
	}
	for (i = 0; i < rc->nenv; i++) {
		/* The target may not accept it; that is its choice. */
		(void)ssh_channel_request_env(
		    rc->t, rc->env[i][0], rc->env[i][1]);
	}
	if ((subsystem != NULL ? ssh_channel_request_subsystem(rc->t, subsystem)
		    : command != NULL
		    ? ssh_channel_request_exec(rc->t, command)
		    : ssh_channel_request_shell(rc->t)) != SSH_OK) {
		(void)snprintf(msg, msglen, "target %s refused the %s",
		    s->tgt.name,
		    subsystem != NULL     ? subsystem
			: command != NULL ? "command"
					  : "shell");
		return PV_ERR_PROTOCOL;
	}
	return 0;
}

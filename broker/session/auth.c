/*
 * auth.c: engineer authentication on the client leg: a registered public
 * key with a verified signature, then a TOTP code by keyboard-interactive.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/session/session.h"
#include "store/store.h"

#define TOTP_PROMPT "Verification code: "

/*
 * Every failure looks and waits the same, whichever factor failed.  A
 * wrong code is counted, audited and given to the per-source penalty by
 * the monitor itself; a refused key only here (the monitor cannot tell a
 * key query from a signed attempt).
 */
static void
auth_failed(struct broker_session *s, const char *what, int is_key)
{
	struct timespec ts = {
		.tv_sec = BROKER_AUTH_FAIL_DELAY_MS / 1000,
		.tv_nsec = (BROKER_AUTH_FAIL_DELAY_MS % 1000) * 1000000L,
	};

	s->auth_failures++;
	pv_info("session %s: auth failed for \"%s\" from %s (%s, %u of %u)",
	    s->id, s->user, s->peer, what, s->auth_failures,
	    s->bx->conf->max_auth_tries);
	if (is_key) {
		s->key_failures++;
		broker_audit(
		    s, MON_AUD_AUTH_FAIL, "user=%s from=%s", s->user, s->peer);
	}
	(void)nanosleep(&ts, NULL);
	if (s->auth_failures >= s->bx->conf->max_auth_tries)
		broker_session_end(s, "too many authentication failures");
}

static void
auth_done(struct broker_session *s, const char *how)
{
	s->authenticated = 1;
	s->deadline_ms = 0;
	pv_info("session %s: authenticated %s from %s (%s)", s->id,
	    s->login.engineer, s->peer, how);
	broker_audit(s, MON_AUD_AUTH_OK, "engineer=%s from=%s login=%s by=%s",
	    s->login.engineer, s->peer_addr, s->user, how);
}

/*
 * The login string is parsed once, on the first request; a client that
 * changes user names mid-way is refused (OpenSSH's sshd does the same).
 */
static int
auth_user(struct broker_session *s, const char *user)
{
	size_t len = strlen(user);

	if (s->user[0] == '\0') {
		(void)snprintf(s->user, sizeof(s->user), "%.*s",
		    (int)(len < sizeof(s->user) ? len : sizeof(s->user) - 1),
		    user);
		s->login_ok = broker_login_parse(user, len, &s->login) == 0;
		if (!s->login_ok)
			pv_info("session %s: login string refused before any "
				"lookup",
			    s->id);
	} else if (strcmp(s->user, user) != 0) {
		return 0;
	}
	return s->login_ok;
}

static int
auth_pubkey(ssh_session session, const char *user, struct ssh_key_struct *key,
    char signature_state, void *userdata)
{
	struct broker_session *s = userdata;
	uint8_t *blob = NULL;
	size_t bloblen = 0;
	int ok = PV_DENY;

	if (s->ending || s->key_ok)
		return SSH_AUTH_DENIED;
	if (auth_user(s, user) && broker_key_blob(key, &blob, &bloblen) == 0)
		ok = s->bx->backend.ops->key_check(
		    s->bx->backend.ctx, s->login.engineer, blob, bloblen);
	if (signature_state == SSH_PUBLICKEY_STATE_NONE) {
		/* A query: say whether we would accept; it proves nothing. */
		free(blob);
		return ok == PV_ALLOW ? SSH_AUTH_SUCCESS : SSH_AUTH_DENIED;
	}
	if (ok != PV_ALLOW || signature_state != SSH_PUBLICKEY_STATE_VALID) {
		free(blob);
		auth_failed(s, "public key", 1);
		return SSH_AUTH_DENIED;
	}
	s->key_ok = 1;
	s->keyblob = blob;
	s->keybloblen = bloblen;
	/* MFAGrace skips the code, unless a rule for the target wants it. */
	if (s->bx->conf->mfa_grace > 0 &&
	    (s->login.kind == BROKER_LOGIN_MENU ||
		s->bx->backend.ops->fresh_mfa(s->bx->backend.ctx,
		    s->login.engineer, s->login.target,
		    s->login.account) != PV_ALLOW) &&
	    s->bx->backend.ops->mfa_recent(s->bx->backend.ctx,
		s->login.engineer, blob, bloblen, s->peer_addr,
		s->bx->conf->mfa_grace) == PV_ALLOW) {
		auth_done(s, "key; code within MFAGrace");
		return SSH_AUTH_SUCCESS;
	}
	pv_info("session %s: public key ok for %s from %s; asking for a code",
	    s->id, s->login.engineer, s->peer);
	/* Partial success: only keyboard-interactive is left. */
	ssh_set_auth_methods(s->client, SSH_AUTH_METHOD_INTERACTIVE);
	return SSH_AUTH_PARTIAL;
}

static int
auth_kbdint(struct broker_session *s, ssh_message msg)
{
	const char *prompts[1] = { TOTP_PROMPT };
	char echo[1] = { 0 };
	const char *answer;
	char code[16];
	const char *user = ssh_message_auth_user(msg);
	int ok = PV_DENY;

	/* A response (INFO_RESPONSE) carries no user name; a request does. */
	if (!s->key_ok || s->ending ||
	    (user != NULL && strcmp(user, s->user) != 0)) {
		/* The key comes first; nothing is asked before it. */
		ssh_message_reply_default(msg);
		return 0;
	}
	if (!ssh_message_auth_kbdint_is_response(msg)) {
		ssh_message_auth_interactive_request(msg, "provost",
		    "Two-factor authentication", 1, prompts, echo);
		return 0;
	}
	if (ssh_userauth_kbdint_getnanswers(s->client) == 1 &&
	    (answer = ssh_userauth_kbdint_getanswer(s->client, 0)) != NULL &&
	    strlen(answer) < sizeof(code)) {
		(void)snprintf(code, sizeof(code), "%s", answer);
		ok = s->bx->backend.ops->totp_check(s->bx->backend.ctx,
		    s->login.engineer, code, s->keyblob, s->keybloblen,
		    s->peer_addr);
		PV_WIPE(code);
	}
	if (ok != PV_ALLOW) {
		auth_failed(s, "code", 0);
		if (!s->ending)
			ssh_message_reply_default(msg);
		return 0;
	}
	auth_done(s, "key and code");
	ssh_message_auth_reply_success(msg, 0);
	return 0;
}

/* Everything the typed callbacks do not take: refuse, and say so. */
static int
auth_message(ssh_session session, ssh_message msg, void *userdata)
{
	struct broker_session *s = userdata;
	int type = ssh_message_type(msg);
	int sub = ssh_message_subtype(msg);

	if (type == SSH_REQUEST_AUTH && sub == SSH_AUTH_METHOD_INTERACTIVE)
		return auth_kbdint(s, msg);
	if (type == SSH_REQUEST_AUTH)
		return 1; /* none, password, ...: the default failure */
	if (type == SSH_REQUEST_CHANNEL_OPEN && sub == SSH_CHANNEL_DIRECT_TCPIP)
		return broker_xfer_forward_open(s, msg);
	/* ssh -R: only where a rule's RemoteForwardListen allows it. */
	if (type == SSH_REQUEST_GLOBAL &&
	    sub == SSH_GLOBAL_REQUEST_TCPIP_FORWARD)
		return broker_rfwd_request(s, msg);
	if (type == SSH_REQUEST_GLOBAL &&
	    sub == SSH_GLOBAL_REQUEST_CANCEL_TCPIP_FORWARD)
		return broker_rfwd_cancel(s, msg);
	if (type == SSH_REQUEST_CHANNEL_OPEN) {
		pv_info("session %s: refused channel type %d", s->id, sub);
		broker_audit(s, MON_AUD_CHANNEL_REFUSED, "open type=%d", sub);
	} else if (type == SSH_REQUEST_CHANNEL) {
		pv_info("session %s: refused channel request %d", s->id, sub);
		broker_audit(
		    s, MON_AUD_CHANNEL_REFUSED, "request type=%d", sub);
	} else if (type == SSH_REQUEST_GLOBAL) {
		pv_info("session %s: refused global request %d", s->id, sub);
		broker_audit(s, MON_AUD_CHANNEL_REFUSED, "global type=%d", sub);
	}
	return 1;
}

int
broker_key_blob(ssh_key key, uint8_t **blob, size_t *len)
{
	char *b64 = NULL;
	int r;

	*blob = NULL;
	*len = 0;
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return PV_ERR_CRYPTO;
	r = pv_b64_decode(b64, strlen(b64), 0, blob, len);
	ssh_string_free_char(b64);
	return r;
}

void
broker_auth_setup(struct broker_session *s)
{
	ssh_set_auth_methods(s->client, SSH_AUTH_METHOD_PUBLICKEY);
	s->scb.auth_pubkey_function = auth_pubkey;
	ssh_set_message_callback(s->client, auth_message, s);
}

/*
 * relay_rfwd.c: remote port forwarding (ssh -R) where the rule allows it:
 * the listen is asked of the target, each connection relayed back, audited.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/session/session.h"
#include "policy/policy.h"

static struct broker_rfwd *
rfwd_find(struct broker_session *s, const char *addr, unsigned int port)
{
	int i;

	for (i = 0; i < s->nrfwd; i++) {
		if (strcmp(s->rfwd[i].addr, addr) == 0 &&
		    (s->rfwd[i].bound == port ||
			(port != 0 && s->rfwd[i].port == port)))
			return &s->rfwd[i];
	}
	return NULL;
}

/* What the target asks of the broker: only connections to our listens. */
static int
rfwd_target_message(ssh_session session, ssh_message msg, void *userdata)
{
	struct broker_session *s = userdata;

	(void)session;
	if (ssh_message_type(msg) == SSH_REQUEST_CHANNEL_OPEN &&
	    ssh_message_subtype(msg) == SSH_CHANNEL_FORWARDED_TCPIP)
		return broker_rfwd_open(s, msg);
	pv_info("session %s: target request %d/%d refused", s->id,
	    ssh_message_type(msg), ssh_message_subtype(msg));
	return 1;
}

int
broker_rfwd_request(struct broker_session *s, ssh_message msg)
{
	const char *addr = ssh_message_global_request_address(msg);
	int port = ssh_message_global_request_port(msg);
	struct relay_chan probe;
	struct broker_rfwd *f;
	char why[BROKER_REASON_MAX];
	int bound = 0, r;

	memset(&probe, 0, sizeof(probe));
	why[0] = '\0';
	if (addr == NULL)
		addr = "";
	if (!s->authenticated || s->ending || port < 0 || port > 65535 ||
	    strlen(addr) >= sizeof(probe.u.fwd.dest)) {
		(void)snprintf(why, sizeof(why), "malformed request");
		goto refuse;
	}
	if (s->nrfwd >= BROKER_MAX_RFWD) {
		(void)snprintf(why, sizeof(why), "more than %d remote forwards",
		    BROKER_MAX_RFWD);
		goto refuse;
	}
	/* Decided as a channel would be, with the listen as its address. */
	probe.s = s;
	probe.kind = &broker_relay_forwarded;
	(void)snprintf(probe.u.fwd.dest, sizeof(probe.u.fwd.dest), "%s", addr);
	probe.u.fwd.port = (unsigned int)port;
	if (broker_session_decide(s, &probe, POLICY_CH_REMOTE_FORWARD, why,
		sizeof(why)) != PV_ALLOW)
		goto refuse;
	if (broker_target_connect(s, why, sizeof(why)) != 0)
		goto refuse;
	ssh_set_message_callback(s->target, rfwd_target_message, s);
	ssh_set_blocking(s->target, 1);
	r = ssh_channel_listen_forward(s->target, addr, port, &bound);
	if (s->target_added)
		ssh_set_blocking(s->target, 0);
	if (r != SSH_OK || bound < 0 || bound > 65535 ||
	    (port != 0 && bound != 0 && bound != port)) {
		(void)snprintf(why, sizeof(why),
		    "target %s could not listen there", s->tgt.name);
		goto refuse;
	}
	if (bound == 0)
		bound = port;
	f = &s->rfwd[s->nrfwd++];
	(void)snprintf(f->addr, sizeof(f->addr), "%s", addr);
	f->port = (uint16_t)port;
	f->bound = (uint16_t)bound;
	(void)ssh_message_global_request_reply_success(msg, (uint16_t)bound);
	pv_info("session %s: remote forward from %s:%d on %s for %s", s->id,
	    addr, bound, s->tgt.name, s->login.engineer);
	broker_audit(s, MON_AUD_RFORWARD_LISTEN,
	    "listen=%s:%d target=%s rule=%s", addr, bound, s->tgt.name,
	    s->decision.rule);
	return 0;
refuse:
	pv_info("session %s: remote forward from %s:%d refused: %s", s->id,
	    addr, port, why);
	broker_audit(s, MON_AUD_FORWARD_REFUSED,
	    "kind=remote listen=%s:%d reason=%s", addr, port, why);
	return 1;
}

int
broker_rfwd_cancel(struct broker_session *s, ssh_message msg)
{
	const char *addr = ssh_message_global_request_address(msg);
	int port = ssh_message_global_request_port(msg), r;
	struct broker_rfwd *f;

	if (addr == NULL)
		addr = "";
	if (port <= 0 || port > 65535 ||
	    (f = rfwd_find(s, addr, (unsigned int)port)) == NULL ||
	    s->target == NULL)
		return 1;
	ssh_set_blocking(s->target, 1);
	r = ssh_channel_cancel_forward(s->target, f->addr, f->port);
	if (s->target_added)
		ssh_set_blocking(s->target, 0);
	broker_audit(s, MON_AUD_RFORWARD_CANCEL, "listen=%s:%u result=%s",
	    f->addr, f->bound, r == SSH_OK ? "ok" : "failed");
	*f = s->rfwd[--s->nrfwd];
	if (r != SSH_OK)
		return 1;
	(void)ssh_message_global_request_reply_success(msg, 0);
	return 0;
}

int
broker_rfwd_open(struct broker_session *s, ssh_message msg)
{
	const char *laddr = ssh_message_channel_request_open_destination(msg);
	int lport = ssh_message_channel_request_open_destination_port(msg);
	const char *oaddr = ssh_message_channel_request_open_originator(msg);
	int oport = ssh_message_channel_request_open_originator_port(msg);
	struct relay_chan *rc;
	int r;

	if (laddr == NULL || oaddr == NULL || lport <= 0 || lport > 65535 ||
	    oport < 0 || oport > 65535 || s->ending ||
	    rfwd_find(s, laddr, (unsigned int)lport) == NULL ||
	    strlen(laddr) >= sizeof(rc->u.fwd.dest) ||
	    strlen(oaddr) >= sizeof(rc->u.fwd.src)) {
		pv_info("session %s: forwarded connection the broker did not "
			"ask for, refused",
		    s->id);
		broker_audit(s, MON_AUD_FORWARD_REFUSED,
		    "kind=remote listen=%.100s:%d source=%.100s:%d "
		    "reason=no such forward",
		    laddr != NULL ? laddr : "?", lport,
		    oaddr != NULL ? oaddr : "?", oport);
		return 1;
	}
	if ((rc = broker_relay_chan_new(s)) == NULL) {
		pv_info("session %s: remote forward connection refused "
			"(channel limit)",
		    s->id);
		broker_audit(s, MON_AUD_FORWARD_REFUSED,
		    "kind=remote listen=%s:%d source=%s:%d reason=channel "
		    "limit",
		    laddr, lport, oaddr, oport);
		return 1;
	}
	rc->kind = &broker_relay_forwarded;
	rc->started = 1;
	(void)snprintf(rc->u.fwd.dest, sizeof(rc->u.fwd.dest), "%s", laddr);
	rc->u.fwd.port = (unsigned int)lport;
	(void)snprintf(rc->u.fwd.src, sizeof(rc->u.fwd.src), "%s", oaddr);
	rc->u.fwd.src_port = (unsigned int)oport;
	/* The engineer's side first: if ssh refuses it, so does the target. */
	ssh_set_blocking(s->client, 1);
	r = ssh_channel_open_reverse_forward(rc->c, laddr, lport, oaddr, oport);
	ssh_set_blocking(s->client, 0);
	if (r != SSH_OK) {
		pv_info("session %s: the engineer's ssh refused the remote "
			"forward connection to %s:%d",
		    s->id, laddr, lport);
		broker_audit(s, MON_AUD_FORWARD_REFUSED,
		    "kind=remote listen=%s:%d source=%s:%d reason=the "
		    "engineer's client refused it",
		    laddr, lport, oaddr, oport);
		rc->done = 1;
		return 1;
	}
	if ((rc->t = ssh_message_channel_request_open_reply_accept(msg)) ==
	    NULL) {
		(void)ssh_channel_close(rc->c);
		rc->done = 1;
		return 0;
	}
	broker_relay_target_callbacks(rc);
	pv_info("session %s: channel %u: remote forward connection %s:%d -> "
		"%s:%d",
	    s->id, rc->id, oaddr, oport, laddr, lport);
	broker_audit(s, MON_AUD_RFORWARD_START,
	    "channel=%u listen=%s:%d source=%s:%d", rc->id, laddr, lport, oaddr,
	    oport);
	return 0;
}

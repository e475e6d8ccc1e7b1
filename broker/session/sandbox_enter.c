/*
 * sandbox_enter.c: a session process enters the seccomp sandbox once it holds
 * every descriptor it needs: the target leg is up and the recording fd
 * (from the monitor) is open, with the recorder's I/O thread running.
 */
#include "config.h"

#include <openssl/rand.h>

#include "broker/session/session.h"
#include "broker/privsep/sandbox.h"

void
broker_privsep_tick(struct broker_session *s)
{
	struct broker_ctx *bx = s->bx;
	unsigned char b;
	char err[256];
	int r;

	if (!bx->sandbox || bx->sandboxed || s->ending || !s->target_added ||
	    s->rec == NULL)
		return;
	/* OpenSSL's DRBG seeded now: later reseeds use getrandom only. */
	if (RAND_bytes(&b, 1) != 1) {
		bx->sandboxed = -1;
		pv_error("session %s: RAND_bytes failed; not sandboxed", s->id);
		broker_session_end(s, "session ended: internal error");
		return;
	}
	err[0] = '\0';
	if ((r = broker_sandbox_enter(
		 BROKER_SANDBOX_SESSION, err, sizeof(err))) != 0) {
		/* fail closed: no session goes on unconfined */
		bx->sandboxed = -1;
		pv_error("session %s: cannot enter the sandbox: %s", s->id,
		    err[0] ? err : pv_err_str(r));
		broker_session_end(
		    s, "session ended: the sandbox could not be entered");
		return;
	}
	bx->sandboxed = 1;
	pv_verbose("session %s: sandboxed (seccomp, rlimits)", s->id);
}

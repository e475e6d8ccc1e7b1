/*
 * fuzz_monitor.c: arbitrary bytes as a stream of monitor frames: each is
 * decoded by the protocol's table, must re-encode to the same bytes, and
 * drives the order rules, which never take a request outside its phases;
 * an audit-append's action and detail go through the session side's table.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/privsep/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SID "0b9c5a3e-7d1f-4c2a-9e8b-1a2b3c4d5e6f"

/*
 * An audit-append: its action is the session side's or none, and its
 * detail (here the raw details field) is judged against facts taken
 * from the order rules' state; a free-text form takes any line.
 */
static void
audit_check(const struct monitor_state *st, const struct mon_audit *a)
{
	const struct mon_audit_def *d = broker_mon_audit_find(a->action);
	int ok;

	if (d == NULL)
		return;
	if (broker_mon_audit_def(d->action) != d ||
	    strcmp(d->name, a->action) != 0)
		abort();
	struct mon_audit_facts f = {
		.who = st->key_login,
		.addr = "127.0.0.1",
		.by_code = st->by_code,
		.dec_allowed = st->dec_allowed,
		.dec_target = st->dec_target,
		.dec_account = st->dec_account,
		.cred_minted = st->allowed,
		.cred_serial = 7,
		.cred_account = st->dec_account,
	};
	ok = broker_mon_audit_detail_ok(d, &f, a->details);
	if (ok != 0 && ok != 1)
		abort();
	if (d->form == MON_AUDF_TEXT && !ok)
		abort();
	/* a login taken is the key's engineer's, from the accepted address */
	if (d->form == MON_AUDF_AUTH_OK && ok &&
	    (strncmp(a->details, "engineer=", 9) != 0 ||
		strncmp(a->details + 9, f.who, strlen(f.who)) != 0 ||
		f.who[0] == '\0'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct mon_type_def *def;
	struct monitor_state st;
	struct mon_msg *m;
	unsigned int phase;
	struct pv_buf *again;
	size_t off = 0, flen;
	int r;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return 0;
	if ((again = pv_buf_new(MON_HDR_LEN + MON_FRAME_MAX)) == NULL) {
		free(m);
		return 0;
	}
	if (broker_mon_state_init(&st, SID, 3) != 0)
		abort();
	while (size - off >= MON_HDR_LEN) {
		/* the frame's own length says where it ends */
		flen = MON_HDR_LEN +
		    ((size_t)data[off] << 24 | (size_t)data[off + 1] << 16 |
			(size_t)data[off + 2] << 8 | (size_t)data[off + 3]);
		if (flen > size - off)
			flen = size - off;
		r = broker_mon_msg_decode(data + off, flen, m);
		if (r != 0) {
			if (r != PV_ERR_PROTOCOL || m->type != 0)
				abort();
			break;
		}
		/* canonical: what decodes encodes back to the same bytes */
		pv_buf_reset(again);
		if (broker_mon_msg_encode(m, again) != 0 ||
		    pv_buf_len(again) != flen ||
		    memcmp(pv_buf_ptr(again), data + off, flen) != 0)
			abort();
		def = broker_mon_type_def((int)m->type);
		if (def == NULL)
			abort(); /* decoded: the table knows the type */
		phase = broker_mon_state_phase(&st);
		r = def->dir == MON_DIR_REQUEST
		    ? broker_mon_state_request(&st, m)
		    : broker_mon_state_answer(&st, m);
		/* a request taken is one its entry allows in this phase */
		if (r == 0 && def->dir == MON_DIR_REQUEST &&
		    (def->phases & phase) == 0)
			abort();
		if (r != 0 && r != PV_ERR_PROTOCOL)
			abort();
		if (m->type == MON_AUDIT)
			audit_check(&st, &m->u.audit);
		/* a broken order stays broken */
		if (st.failed && r == 0)
			abort();
		if (st.authenticated && st.auth_tries > st.max_auth_tries)
			abort();
		off += flen;
	}
	broker_mon_msg_clear(m);
	free(m);
	pv_buf_free(again);
	return 0;
}

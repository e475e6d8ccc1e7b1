/*
 * fuzz_sftp.c: the SFTP tracker fed from one input: each record says which
 * direction and how many bytes, so chunking and interleaving are fuzzed too.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/session/sftp.h"
#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_event(void *ctx, const struct sftp_event *ev)
{
	(void)ctx;
	/* Touch every string: ASan catches a dangling pointer. */
	if (strlen(ev->path) + strlen(ev->message) +
		(ev->path2 != NULL ? strlen(ev->path2) : 0) +
		(ev->ext != NULL ? strlen(ev->ext) : 0) >
	    (size_t)4 * SFTP_PACKET_MAX)
		abort();
	return 0;
}

static int
fuzz_content(void *ctx, uint64_t file_id, enum sftp_dir dir, uint64_t off,
    const uint8_t *d, size_t len)
{
	(void)ctx;
	(void)file_id;
	(void)dir;
	(void)off;
	if (len > 0 && d == NULL)
		abort();
	return 0;
}

/*
 * Input: a first byte of settings (bits 0-1 allow, bit 2 contents, bit 3
 * scp instead of sftp, bit 4 scp download), then records: one byte
 * (bit 7 = server side, bits 0-6 + 1 = a chunk length) and that many bytes.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sftp_config cfg = { .cb = { .event = fuzz_event,
				       .content = fuzz_content } };
	struct sftp_tracker *t = NULL;
	struct scp_tracker *s = NULL;
	struct sftp_verdict v;
	uint8_t *held = NULL;
	const uint8_t *rp;
	size_t i = 1, n, hlen = 0, rlen;
	int server, r = 0;

	pv_log_set_level(PV_LOG_ERROR); /* warnings are expected here */
	if (size < 1)
		return 0;
	cfg.allow = data[0] & 3;
	cfg.record_contents = (data[0] >> 2) & 1;
	if (data[0] & 8) {
		if (scp_tracker_new(&s,
			(data[0] & 16) ? SCP_DOWNLOAD : SCP_UPLOAD, "/tmp/x",
			&cfg) != 0)
			return 0;
	} else if (sftp_tracker_new(&t, &cfg) != 0 ||
	    (held = malloc(SFTP_HOLD_MAX + 128)) == NULL)
		goto out;
	while (i < size && r == 0) {
		server = data[i] >> 7;
		n = (size_t)(data[i] & 0x7f) + 1;
		i++;
		if (n > size - i)
			n = size - i;
		if (s != NULL) {
			r = server ? scp_tracker_server_data(s, data + i, n)
				   : scp_tracker_client_data(s, data + i, n);
		} else if (server) {
			r = sftp_tracker_server_data(t, data + i, n);
			if (r == 0 && sftp_tracker_reply(t, &rp, &rlen) == 0)
				sftp_tracker_reply_consumed(t, rlen);
		} else {
			if (held == NULL || hlen + n > SFTP_HOLD_MAX + 128)
				break; /* the relay would have ended it */
			memcpy(held + hlen, data + i, n);
			hlen += n;
			while (hlen > 0 &&
			    (r = sftp_tracker_client_data(t, held, hlen, &v)) ==
				0) {
				if (v.action == SFTP_NEED)
					break;
				if (v.action == SFTP_WAIT) {
					if (sftp_tracker_reply(t, &rp, &rlen) !=
						0 ||
					    rlen == 0)
						break;
					sftp_tracker_reply_consumed(t, rlen);
					continue;
				}
				if (v.len == 0 || v.len > hlen)
					abort();
				memmove(held, held + v.len, hlen - v.len);
				hlen -= v.len;
			}
		}
		i += n;
	}
	if (s != NULL)
		(void)scp_tracker_finish(s);
	if (t != NULL)
		(void)sftp_tracker_finish(t);
out:
	free(held);
	sftp_tracker_free(t);
	scp_tracker_free(s);
	return 0;
}

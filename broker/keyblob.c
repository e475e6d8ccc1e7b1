/*
 * keyblob.c: the raw public bytes of an "ssh-ed25519" wire blob, read on
 * both sides of the boundary: the monitor's certificate tool and the
 * session process's host key check of the target.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"

int
broker_ed25519_from_blob(
    const uint8_t *blob, size_t len, uint8_t pub[BROKER_ED25519_LEN])
{
	struct pv_buf *b = NULL;
	char *type = NULL;
	const uint8_t *k;
	size_t klen;
	int r = PV_ERR_INVALID;

	memset(pub, 0, BROKER_ED25519_LEN);
	if ((b = pv_buf_from(blob, len)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = pv_buf_get_cstring(b, &type, NULL)) != 0 ||
	    (r = pv_buf_get_string_direct(b, &k, &klen)) != 0)
		goto out;
	r = PV_ERR_INVALID;
	if (strcmp(type, "ssh-ed25519") != 0 || klen != BROKER_ED25519_LEN ||
	    pv_buf_len(b) != 0)
		goto out;
	memcpy(pub, k, BROKER_ED25519_LEN);
	r = 0;
out:
	free(type);
	pv_buf_free(b);
	return r;
}

/*
 * fuzz_anchors.c: libFuzzer target for the audit anchors file that
 * provostctl audit verify --anchors reads (JSON lines, or log lines with
 * "audit anchor: "), against a small store whose chain has one signed
 * checkpoint.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/common.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;
static EVP_PKEY *key;

static void
setup(void)
{
	uint64_t seq;
	int i;

	pv_log_set_level(PV_LOG_ERROR);
	if (pv_sshkey_generate_ed25519(&key) != 0 ||
	    store_open(":memory:", &st) != 0 ||
	    store_set_audit_key(st, key) != 0)
		__builtin_trap();
	for (i = 0; i < 5; i++)
		if (store_audit_append(st, "fuzz", "fuzz.row", "o", NULL) != 0)
			__builtin_trap();
	if (store_audit_checkpoint(st, &seq) != 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[64 * 1024];
	struct store_audit_report rep;
	uint64_t n = 0;
	FILE *in;
	int r;

	if (size == 0 || size > sizeof(buf))
		return 0;
	if (st == NULL)
		setup();
	memcpy(buf, data, size); /* fmemopen wants a writable buffer */
	if ((in = fmemopen(buf, size, "r")) == NULL)
		return 0;
	r = store_audit_verify_anchors(st, key, "fuzz", in, &n, &rep);
	(void)fclose(in);
	/* A verdict, always with a reason when it is not a pass. */
	if (r != 0 && r != PV_ERR_AUTH && r != PV_ERR_INVALID && r != PV_ERR_IO)
		__builtin_trap();
	if (r != 0 && rep.what[0] == '\0')
		__builtin_trap();
	if (r == 0 && n == 0)
		__builtin_trap();
	return 0;
}

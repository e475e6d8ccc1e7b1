/*
 * fuzz_rec_audit.c: libFuzzer target for the audit export (jsonl) that
 * provost-replay verify --audit and provostctl session verify read.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"
#include "recorder/recorder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sid[] = "0b7c3a52-6a4e-4f0e-9a57-3d2f1c0e8b11";
	const struct rec_audit_ref *ref;
	struct rec_audit_index *ix = NULL;
	char err[512];
	int r;

	if (size > 256 * 1024)
		return 0;
	err[0] = 'x';
	r = rec_audit_index_load(
	    &ix, "fuzz", (const char *)data, size, err, sizeof(err));
	/* refused with a reason and nothing to free, or an index */
	if (r != 0) {
		if (ix != NULL || err[0] == '\0' ||
		    strncmp(err, "fuzz:", 5) != 0)
			__builtin_trap();
		return 0;
	}
	if (ix == NULL)
		__builtin_trap();
	if ((ref = rec_audit_index_find(ix, sid)) != NULL) {
		/* what was taken is well formed */
		if (strcmp(ref->session, sid) != 0 ||
		    (ref->header_sha256[0] != '\0' &&
			strlen(ref->header_sha256) != 64) ||
		    (ref->sha256[0] != '\0' && strlen(ref->sha256) != 64))
			__builtin_trap();
	}
	rec_audit_index_free(ix);
	return 0;
}

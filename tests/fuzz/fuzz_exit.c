/*
 * fuzz_exit.c: libFuzzer target for what a provider's exit reads from
 * outside: a rotation hook's answer (to rotate and to verify), an evidence
 * bundle's audit.jsonl (checked by provostctl exit verify away from the
 * store), an exit certificate's SSH signature, and what the sweep script
 * prints on a target.  The first byte picks
 * the parser; every input ends with an answer or one line of error.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
hook(const char *d, size_t n, int verify)
{
	struct store_hook_answer a;
	char err[256];
	int r = store_hook_answer_parse(d, n, verify, &a, err, sizeof(err));

	if (r == 0) {
		/* what the exit relies on: a rotated answer names its secret */
		if (!verify && a.status == STORE_HOOK_ROTATED &&
		    a.fingerprint == NULL)
			__builtin_trap();
		if (verify && a.status == STORE_HOOK_ROTATED)
			__builtin_trap();
		if (a.secret != NULL &&
		    (a.secret_len == 0 || a.secret_len > STORE_HOOK_SECRET_MAX))
			__builtin_trap();
		store_hook_answer_clear(&a);
	} else if (err[0] == '\0' || strchr(err, '\n') != NULL)
		__builtin_trap();
}

static void
export_check(const char *d, size_t n)
{
	char err[256], head[65];
	uint64_t rows;
	FILE *f;
	char *copy;
	int r;

	/* fmemopen wants a writable buffer even to read */
	if (n == 0 || (copy = malloc(n)) == NULL)
		return;
	memcpy(copy, d, n);
	if ((f = fmemopen(copy, n, "r")) == NULL) {
		free(copy);
		return;
	}
	r = store_audit_export_check(
	    f, "audit.jsonl", &rows, head, err, sizeof(err));
	fclose(f);
	free(copy);
	if (r != 0 && (err[0] == '\0' || strchr(err, '\n') != NULL))
		__builtin_trap();
	if (r == 0 && rows > 0 && strlen(head) != 64)
		__builtin_trap();
}

static void
sig(const char *d, size_t n)
{
	uint8_t *blob = NULL;
	size_t len = 0;

	if (pv_sshsig_verify(d, n, "provost-exit", "{}\n", 3, &blob, &len) ==
		0 &&
	    (blob == NULL || len == 0))
		__builtin_trap();
	free(blob);
}

/* A target's look: parsed strictly; compared with itself, no finding. */
static void
sweep(const char *d, size_t n)
{
	json_t *st = NULL, *f = NULL;
	char err[256];

	if (store_sweep_parse("t", d, n, &st, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			__builtin_trap();
		return;
	}
	if (store_sweep_diff(st, st, &f) != 0 || json_array_size(f) != 0)
		__builtin_trap();
	json_decref(f);
	json_decref(st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data + 1;
	size_t n = size - 1;

	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0:
		hook(d, n, 0);
		break;
	case 1:
		hook(d, n, 1);
		break;
	case 2:
		export_check(d, n);
		break;
	case 3:
		sig(d, n);
		break;
	default:
		sweep(d, n);
		break;
	}
	return 0;
}

/*
 * fuzz_shadow.c: libFuzzer target for what the built-in unix-password
 * rotation reads back from a target's shadow over the admin connection
 * (store_shadow_parse): every input ends with a look or one line of
 * error, and a look's field is only crypt characters within its limit.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_shadow_look l;
	char err[256];
	size_t i, n;

	if (store_shadow_parse(
		(const char *)data, size, &l, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			__builtin_trap();
		return 0;
	}
	n = strlen(l.field);
	if (n > STORE_SHADOW_FIELD_MAX)
		__builtin_trap();
	for (i = 0; i < n; i++)
		if (strchr("./$!*", l.field[i]) == NULL &&
		    !((l.field[i] >= 'a' && l.field[i] <= 'z') ||
			(l.field[i] >= 'A' && l.field[i] <= 'Z') ||
			(l.field[i] >= '0' && l.field[i] <= '9')))
			__builtin_trap();
	if (l.method[0] != '\0' && l.method[0] != 'y' && l.method[0] != '6')
		__builtin_trap();
	(void)store_shadow_method(l.field);
	return 0;
}

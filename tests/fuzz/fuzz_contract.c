/*
 * fuzz_contract.c: libFuzzer target for the contract plugin's file
 * (contracts_parse): whatever the input, a parse either fails with one
 * "NAME:LINE: what" line or gives contracts every check can be asked of.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plugins/contract/contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const providers[] = { "acme", "globex" };
	static const char *const sources[] = { "192.0.2.7", "2001:db8::1" };
	struct contracts *c = NULL;
	char err[CONTRACT_ERR_MAX], why[CONTRACT_ERR_MAX];
	FILE *null;
	int notice, r;
	size_t i;

	if (contracts_parse("f.conf", (const char *)data, size, &c, err,
		sizeof(err)) != 0) {
		if (c != NULL || strncmp(err, "f.conf:", 7) != 0 ||
		    strchr(err, '\n') != NULL)
			__builtin_trap();
		return 0;
	}
	for (i = 0; i < 2; i++) {
		struct contract_ask a = {
			.provider = providers[i],
			.target = "db01",
			.classification = "internal",
			.account = "root",
			.now = 1800000000LL + (int64_t)i * 86400 * 40,
			.source = sources[i],
		};

		r = contracts_check(c, &a, why, sizeof(why), &notice);
		if (r < -1 || r > 1 || (r == 0 && why[0] == '\0'))
			__builtin_trap();
	}
	if ((null = fopen("/dev/null", "w")) != NULL) {
		(void)contracts_print(c, NULL, null, NULL, NULL);
		(void)fclose(null);
	}
	contracts_free(c);
	return 0;
}

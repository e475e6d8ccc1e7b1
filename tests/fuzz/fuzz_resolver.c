/*
 * fuzz_resolver.c: the monitor's check of the resolver process's answers;
 * whatever it accepts must rebuild into exactly the bytes it was given.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/monitor/resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_res_answer a;
	uint8_t again[BROKER_RES_ANSWER_MAX];
	char why[128];
	size_t n;

	if (broker_res_answer_parse(data, size, &a, why, sizeof(why)) != 0) {
		if (why[0] == '\0' || a.id != 0 || a.naddr != 0)
			abort();
		return 0;
	}
	if (a.id == 0 || (a.naddr == 0) == (a.err[0] == '\0') ||
	    a.naddr > BROKER_RES_ADDRS_MAX)
		abort();
	if (broker_res_answer_build(&a, again, sizeof(again), &n) != 0 ||
	    n != size || memcmp(again, data, size) != 0)
		abort();
	return 0;
}

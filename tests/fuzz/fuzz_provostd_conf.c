/*
 * fuzz_provostd_conf.c: libFuzzer target for provostd.conf's keyword
 * table (store/config.c: every typed handler, BrokerName and BrokerLease
 * among them): any input is taken whole or refused with one line.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pv_config *c = NULL;
	char err[PV_CONF_ERR_MAX];
	FILE *f;
	int r;

	if (size > 64 * 1024)
		return 0;
	pv_log_set_level(PV_LOG_ERROR);
	if (pv_config_new(&c) != 0)
		__builtin_trap();
	err[0] = '\0';
	r = pv_config_load_mem(
	    c, "fuzz.conf", (const char *)data, size, err, sizeof(err));
	if (r != 0) {
		/* refused: one line that says where */
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			__builtin_trap();
	} else {
		/* taken: a name the store accepts, a lease in its range */
		if (c->broker_name == NULL ||
		    !store_name_valid(c->broker_name) || c->broker_lease < 3 ||
		    c->broker_lease > 3600)
			__builtin_trap();
		if ((f = fopen("/dev/null", "w")) != NULL) {
			pv_config_print(c, f);
			fclose(f);
		}
	}
	pv_config_free(c);
	return 0;
}

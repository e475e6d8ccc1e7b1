/*
 * fuzz_login.c: the login string parser; whatever it accepts must consist
 * of valid names only and rebuild into exactly the input.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_login l;
	char again[BROKER_LOGIN_MAX + 8];
	int n = -1;

	if (broker_login_parse((const char *)data, size, &l) != 0)
		return 0;
	if (!broker_name_valid(
		l.engineer, strlen(l.engineer), BROKER_ENGINEER_MAX))
		abort();
	switch (l.kind) {
	case BROKER_LOGIN_MENU:
		n = snprintf(again, sizeof(again), "%s", l.engineer);
		break;
	case BROKER_LOGIN_TARGET:
		n = snprintf(
		    again, sizeof(again), "%s+%s", l.engineer, l.target);
		break;
	case BROKER_LOGIN_ACCOUNT:
		n = snprintf(again, sizeof(again), "%s+%s@%s", l.engineer,
		    l.account, l.target);
		break;
	}
	if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
		abort();
	return 0;
}

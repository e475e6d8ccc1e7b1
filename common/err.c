/*
 * err.c: the text for each PV_ERR_* code; one table, so a new code cannot
 * be added without its message.
 */
#include "config.h"

#include "common/common.h"

static const char *const pv_err_text[] = {
	[0] = "success",
	[-PV_ERR_INTERNAL] = "internal error",
	[-PV_ERR_ALLOC] = "out of memory",
	[-PV_ERR_INVALID] = "malformed input",
	[-PV_ERR_RANGE] = "value out of range",
	[-PV_ERR_LIMIT] = "size limit reached",
	[-PV_ERR_INCOMPLETE] = "message incomplete",
	[-PV_ERR_IO] = "input/output error",
	[-PV_ERR_NOT_FOUND] = "not found",
	[-PV_ERR_EXISTS] = "already exists",
	[-PV_ERR_PERM] = "permission denied",
	[-PV_ERR_CRYPTO] = "cryptographic operation failed",
	[-PV_ERR_AUTH] = "authentication failed",
	[-PV_ERR_STORE] = "governance store error",
	[-PV_ERR_PROTOCOL] = "protocol error",
	[-PV_ERR_TIMEOUT] = "timed out",
	[-PV_ERR_DENIED] = "denied by policy",
	[-PV_ERR_CLOSED] = "connection closed",
	[-PV_ERR_CONFIG] = "configuration error",
	[-PV_ERR_UNSUPPORTED] = "not supported",
};

_Static_assert(
    sizeof(pv_err_text) / sizeof(pv_err_text[0]) == (size_t)(-PV_ERR_MIN_) + 1,
    "every PV_ERR_ code has a message");

const char *
pv_err_str(int r)
{
	if (r > 0)
		return "unexpected positive result";
	if (r < PV_ERR_MIN_ || pv_err_text[-r] == NULL)
		return "unknown error";
	return pv_err_text[-r];
}

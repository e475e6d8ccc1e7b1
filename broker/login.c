/*
 * login.c: the login string an engineer types as ssh's user name, parsed
 * strictly before anything is looked up: ENGINEER[+[ACCOUNT@]TARGET].
 */
#include "config.h"

#include <string.h>

#include "broker/broker.h"

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	    c == '_' || c == '-';
}

int
broker_name_valid(const char *s, size_t len, size_t max)
{
	size_t i;

	if (s == NULL || len == 0 || len > max)
		return 0;
	/* A leading '-' could read as an option, a leading '.' as a path. */
	if (s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (!name_char(s[i]))
			return 0;
	}
	return 1;
}

static int
copy_name(char *dst, size_t dstsz, const char *s, size_t len, size_t max)
{
	if (len > max)
		return PV_ERR_RANGE;
	if (!broker_name_valid(s, len, max) || len >= dstsz)
		return PV_ERR_INVALID;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

int
broker_login_parse(const char *s, size_t len, struct broker_login *out)
{
	const char *plus, *at, *rest, *end;
	int r = PV_ERR_INVALID;

	if (out == NULL)
		return PV_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (s == NULL || len == 0)
		return PV_ERR_INVALID;
	if (len > BROKER_LOGIN_MAX)
		return PV_ERR_RANGE;
	/* An embedded NUL would hide the rest from C string functions. */
	if (memchr(s, '\0', len) != NULL)
		return PV_ERR_INVALID;
	end = s + len;
	plus = memchr(s, '+', len);
	if (plus == NULL) {
		if (memchr(s, '@', len) != NULL)
			goto out; /* "alice@db01": '+' is required */
		if ((r = copy_name(out->engineer, sizeof(out->engineer), s, len,
			 BROKER_ENGINEER_MAX)) != 0)
			goto out;
		out->kind = BROKER_LOGIN_MENU;
		return 0;
	}
	if ((r = copy_name(out->engineer, sizeof(out->engineer), s,
		 (size_t)(plus - s), BROKER_ENGINEER_MAX)) != 0)
		goto out;
	rest = plus + 1;
	r = PV_ERR_INVALID;
	if (memchr(rest, '+', (size_t)(end - rest)) != NULL)
		goto out;
	at = memchr(rest, '@', (size_t)(end - rest));
	if (at == NULL) {
		if ((r = copy_name(out->target, sizeof(out->target), rest,
			 (size_t)(end - rest), BROKER_TARGET_MAX)) != 0)
			goto out;
		out->kind = BROKER_LOGIN_TARGET;
		return 0;
	}
	if (memchr(at + 1, '@', (size_t)(end - at - 1)) != NULL)
		goto out;
	if ((r = copy_name(out->account, sizeof(out->account), rest,
		 (size_t)(at - rest), BROKER_ACCOUNT_MAX)) != 0)
		goto out;
	if ((r = copy_name(out->target, sizeof(out->target), at + 1,
		 (size_t)(end - at - 1), BROKER_TARGET_MAX)) != 0)
		goto out;
	out->kind = BROKER_LOGIN_ACCOUNT;
	return 0;
out:
	memset(out, 0, sizeof(*out));
	return r;
}

/*
 * listen.c: ListenAddress values ("host:port", "[v6]:port", "host") into
 * host and port; the rest of provostd.conf is store/'s pv_config.
 */
#include "config.h"

#include <string.h>

#include "broker/broker.h"

int
broker_listen_parse(const char *s, struct broker_listen *out)
{
	const char *host = s, *colon, *end;
	size_t hlen;
	uint32_t port = 2222;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL)
			return PV_ERR_INVALID;
		hlen = (size_t)(end - host);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return PV_ERR_INVALID;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			return PV_ERR_INVALID; /* bare IPv6 needs brackets */
		hlen = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hlen == 0 || hlen >= sizeof(out->host))
		return PV_ERR_INVALID;
	if (colon != NULL && pv_parse_u32(colon + 1, 1, 65535, &port) != 0)
		return PV_ERR_INVALID;
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = (uint16_t)port;
	return 0;
}

/*
 * algos.c: the SSH algorithms both legs offer.  Each list is provostd's
 * preference order filtered by what the libssh at hand implements (asked
 * at run time: libssh refuses a method it does not know), so a libssh
 * with post-quantum hybrid key exchange (0.12 and later:
 * mlkem768x25519-sha256, sntrup761x25519-sha512) has it offered first,
 * and Debian 12's 0.10 offers curve25519.  KexAlgorithms, Ciphers, MACs
 * and HostKeyAlgorithms replace a list; each name must be one libssh has.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "broker/broker.h"
#include "store/store.h"

/* Preference order: hybrids first, then what every client has. */
static const char *const kex_pref[] = {
	"mlkem768x25519-sha256",
	"sntrup761x25519-sha512",
	"sntrup761x25519-sha512@openssh.com",
	"curve25519-sha256",
	"curve25519-sha256@libssh.org",
	"ecdh-sha2-nistp256",
	NULL,
};
/* The engineer's leg: chacha20 first (clients without AES-NI). */
static const char *const cipher_pref_server[] = {
	"chacha20-poly1305@openssh.com",
	"aes256-gcm@openssh.com",
	"aes128-gcm@openssh.com",
	NULL,
};
/* The target leg prefers AES-GCM: with AES-NI it costs the relay least. */
static const char *const cipher_pref_client[] = {
	"aes128-gcm@openssh.com",
	"aes256-gcm@openssh.com",
	"chacha20-poly1305@openssh.com",
	NULL,
};
static const char *const mac_pref[] = {
	"hmac-sha2-256-etm@openssh.com",
	"hmac-sha2-512-etm@openssh.com",
	NULL,
};
static const char *const hostkey_pref[] = {
	"ssh-ed25519",
	"ecdsa-sha2-nistp256",
	"rsa-sha2-512",
	"rsa-sha2-256",
	NULL,
};

static enum ssh_options_e
algos_option(enum broker_algo kind)
{
	switch (kind) {
	case BROKER_ALGO_KEX:
		return SSH_OPTIONS_KEY_EXCHANGE;
	case BROKER_ALGO_CIPHER:
		return SSH_OPTIONS_CIPHERS_C_S;
	case BROKER_ALGO_MAC:
		return SSH_OPTIONS_HMAC_C_S;
	default:
		return SSH_OPTIONS_HOSTKEYS;
	}
}

int
broker_algo_supported(enum broker_algo kind, const char *name)
{
	ssh_session s;
	int ok;

	if (name == NULL || name[0] == '\0' || strchr(name, ',') != NULL ||
	    (s = ssh_new()) == NULL)
		return 0;
	/* libssh keeps the names it implements; none left is an error */
	ok = ssh_options_set(s, algos_option(kind), name) == 0;
	ssh_free(s);
	return ok;
}

static int
algos_add(char *out, size_t outlen, size_t *used, const char *name)
{
	int n = snprintf(
	    out + *used, outlen - *used, "%s%s", *used ? "," : "", name);

	if (n < 0 || (size_t)n >= outlen - *used)
		return PV_ERR_RANGE;
	*used += (size_t)n;
	return 0;
}

int
broker_algos(const struct pv_config *conf, enum broker_algo kind, int server,
    char *out, size_t outlen, char *err, size_t errlen)
{
	const char *const *pref;
	const char *want;
	char name[128];
	size_t used = 0, i, n;
	int r;

	switch (kind) {
	case BROKER_ALGO_KEX:
		pref = kex_pref;
		want = conf->kex_algos;
		break;
	case BROKER_ALGO_CIPHER:
		pref = server ? cipher_pref_server : cipher_pref_client;
		want = conf->ciphers;
		break;
	case BROKER_ALGO_MAC:
		pref = mac_pref;
		want = conf->macs;
		break;
	default:
		pref = hostkey_pref;
		want = conf->hostkey_algos;
		break;
	}
	out[0] = '\0';
	if (want == NULL) {
		for (i = 0; pref[i] != NULL; i++)
			if (broker_algo_supported(kind, pref[i]) &&
			    (r = algos_add(out, outlen, &used, pref[i])) != 0)
				return r;
	} else {
		while (*want != '\0') {
			n = strcspn(want, ",");
			if (n == 0 || n >= sizeof(name))
				return PV_ERR_INVALID;
			memcpy(name, want, n);
			name[n] = '\0';
			if (!broker_algo_supported(kind, name)) {
				(void)snprintf(err, errlen,
				    "%s: %s is not supported by this libssh "
				    "(%s)",
				    broker_algo_keyword(kind), name,
				    ssh_version(0));
				return PV_ERR_UNSUPPORTED;
			}
			if ((r = algos_add(out, outlen, &used, name)) != 0)
				return r;
			want += n + (want[n] == ',' ? 1 : 0);
		}
	}
	if (used == 0) {
		(void)snprintf(err, errlen,
		    "%s: none of its algorithms is in "
		    "this libssh (%s)",
		    broker_algo_keyword(kind), ssh_version(0));
		return PV_ERR_UNSUPPORTED;
	}
	return 0;
}

const char *
broker_algo_keyword(enum broker_algo kind)
{
	switch (kind) {
	case BROKER_ALGO_KEX:
		return "KexAlgorithms";
	case BROKER_ALGO_CIPHER:
		return "Ciphers";
	case BROKER_ALGO_MAC:
		return "MACs";
	default:
		return "HostKeyAlgorithms";
	}
}

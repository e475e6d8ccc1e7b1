/*
 * algos.c: the SSH algorithms both legs offer.  Each list is provostd's
 * preference order filtered by what the libssh at hand implements (asked
 * at run time: libssh refuses a method it does not know), so a libssh
 * with post-quantum hybrid key exchange (0.12 and later:
 * mlkem768x25519-sha256, sntrup761x25519-sha512) has it offered first,
 * and Debian 12's 0.10 offers curve25519.  KexAlgorithms, Ciphers, MACs
 * and HostKeyAlgorithms take sshd_config's forms: a list replaces the
 * default, +LIST appends to it, -LIST takes names out of it (patterns
 * with * and ?), ^LIST puts names at its head; each name given must be
 * one libssh has.
 */
#include "config.h"

#include <fnmatch.h>
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

/* Whether name is an item of the comma-separated csv. */
static int
algos_has(const char *csv, const char *name)
{
	size_t n = strlen(name), k;

	while (*csv != '\0') {
		k = strcspn(csv, ",");
		if (k == n && strncmp(csv, name, n) == 0)
			return 1;
		csv += k + (csv[k] == ',' ? 1 : 0);
	}
	return 0;
}

/* The next name of a configured list into name; 0 at its end. */
static int
algos_next(const char **list, char *name, size_t namelen)
{
	size_t n = strcspn(*list, ",");

	if (**list == '\0')
		return 0;
	if (n == 0 || n >= namelen)
		return PV_ERR_INVALID;
	memcpy(name, *list, n);
	name[n] = '\0';
	*list += n + ((*list)[n] == ',' ? 1 : 0);
	return 1;
}

/* Whether name matches a pattern of the -LIST form. */
static int
algos_removed(const char *list, const char *name)
{
	char pat[128];

	while (algos_next(&list, pat, sizeof(pat)) == 1)
		if (fnmatch(pat, name, 0) == 0)
			return 1;
	return 0;
}

int
broker_algos(const struct pv_config *conf, enum broker_algo kind, int server,
    char *out, size_t outlen, char *err, size_t errlen)
{
	const char *const *pref;
	const char *want, *list;
	char name[128], def[512];
	size_t used = 0, dused = 0, i;
	int r, mode = 0;

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
	out[0] = def[0] = '\0';
	/* the default: provostd's order, filtered by this libssh */
	for (i = 0; pref[i] != NULL; i++)
		if (broker_algo_supported(kind, pref[i]) &&
		    (r = algos_add(def, sizeof(def), &dused, pref[i])) != 0)
			return r;
	if (want != NULL &&
	    (want[0] == '+' || want[0] == '-' || want[0] == '^'))
		mode = (unsigned char)*want++;
	/* the names given (not the patterns of -LIST) must be libssh's */
	for (list = want; mode != '-' && list != NULL;) {
		if ((r = algos_next(&list, name, sizeof(name))) < 0)
			return r;
		if (r == 0)
			break;
		if (!broker_algo_supported(kind, name)) {
			(void)snprintf(err, errlen,
			    "%s: %s is not supported by this libssh (%s)",
			    broker_algo_keyword(kind), name, ssh_version(0));
			return PV_ERR_UNSUPPORTED;
		}
		if (mode != '+' && !algos_has(out, name) &&
		    (r = algos_add(out, outlen, &used, name)) != 0)
			return r;
	}
	/* then the default's names, as each form takes them */
	for (list = want != NULL && mode == 0 ? "" : def;
	     (r = algos_next(&list, name, sizeof(name))) == 1;)
		if (!(mode == '-' && algos_removed(want, name)) &&
		    !algos_has(out, name) &&
		    (r = algos_add(out, outlen, &used, name)) != 0)
			return r;
	if (r < 0)
		return r;
	/* +LIST: its names after the default's */
	for (list = mode == '+' ? want : "";
	     (r = algos_next(&list, name, sizeof(name))) == 1;)
		if (!algos_has(out, name) &&
		    (r = algos_add(out, outlen, &used, name)) != 0)
			return r;
	if (r < 0)
		return r;
	if (used == 0) {
		(void)snprintf(err, errlen,
		    "%s: none of its algorithms is %s (%s)",
		    broker_algo_keyword(kind),
		    mode == '-' ? "left" : "in this libssh", ssh_version(0));
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

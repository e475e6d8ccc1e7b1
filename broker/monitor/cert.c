/*
 * cert.c: OpenSSH user certificates (PROTOCOL.certkeys) for the target leg,
 * ssh-ed25519-cert-v01 built field by field and signed by the CA with EVP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker/broker.h"

#define SSH_CERT_TYPE_USER 1
#define ED25519_SIG_LEN 64

int
broker_principal_valid(const char *s)
{
	/* broker_name_valid admits no '*', '?', '[', '!' or ',' at all. */
	return s != NULL && strcmp(s, "*") != 0 &&
	    broker_name_valid(s, strlen(s), BROKER_ACCOUNT_MAX);
}

/* A source-address list: addresses and CIDR blocks, commas between. */
static int
source_address_valid(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 1024)
		return 0;
	if (s[0] == ',' || s[n - 1] == ',' || strstr(s, ",,") != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			(c >= 'A' && c <= 'F') || c == '.' || c == ':' ||
			c == '/' || c == ','))
			return 0;
	}
	return 1;
}

int
broker_ed25519_blob(EVP_PKEY *key, struct pv_buf *out)
{
	uint8_t pub[BROKER_ED25519_LEN];
	size_t len = sizeof(pub);
	int r;

	if (key == NULL || out == NULL || EVP_PKEY_id(key) != EVP_PKEY_ED25519)
		return PV_ERR_INVALID;
	if (EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 ||
	    len != sizeof(pub))
		return PV_ERR_CRYPTO;
	if ((r = pv_buf_put_cstring(out, "ssh-ed25519")) != 0 ||
	    (r = pv_buf_put_string(out, pub, sizeof(pub))) != 0)
		return r;
	return 0;
}

int
broker_sshkey_line(const char *type, const uint8_t *blob, size_t len,
    const char *comment, char **line)
{
	char *b64 = NULL, *s = NULL;
	size_t n;
	int r, k;

	*line = NULL;
	if ((r = pv_b64_encode(blob, len, 0, &b64)) != 0)
		return r;
	n = strlen(type) + strlen(b64) + (comment ? strlen(comment) : 0) + 3;
	if ((s = malloc(n)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	k = snprintf(s, n, "%s %s%s%s", type, b64, comment ? " " : "",
	    comment ? comment : "");
	if (k < 0 || (size_t)k >= n) {
		r = PV_ERR_INTERNAL;
		goto out;
	}
	*line = s;
	s = NULL;
	r = 0;
out:
	free(s);
	free(b64);
	return r;
}

/* string name, string data; data itself a string when value != NULL. */
static int
put_option(struct pv_buf *b, const char *name, const char *value)
{
	struct pv_buf *v = NULL;
	int r;

	if ((r = pv_buf_put_cstring(b, name)) != 0)
		return r;
	if (value == NULL)
		return pv_buf_put_string(b, NULL, 0);
	if ((v = pv_buf_new(4096)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = pv_buf_put_cstring(v, value)) == 0)
		r = pv_buf_put_string(b, pv_buf_ptr(v), pv_buf_len(v));
	pv_buf_free(v);
	return r;
}

static int
cert_check_req(const struct broker_cert_req *req)
{
	if (req->pubkey == NULL || req->session_id == NULL ||
	    req->engineer == NULL || req->lifetime == 0 ||
	    req->lifetime > PV_DURATION_MAX || req->now < BROKER_CERT_BACKDATE)
		return PV_ERR_INVALID;
	if (!broker_principal_valid(req->principal)) {
		pv_error("cert: refusing to sign for principal \"%s\"",
		    req->principal ? req->principal : "(none)");
		return PV_ERR_INVALID;
	}
	if (!broker_name_valid(
		req->engineer, strlen(req->engineer), BROKER_ENGINEER_MAX) ||
	    !pv_uuid_valid(req->session_id))
		return PV_ERR_INVALID;
	if (!source_address_valid(req->source_address)) {
		pv_error("cert: bad source-address");
		return PV_ERR_INVALID;
	}
	return 0;
}

static int
cert_sign(
    EVP_PKEY *ca, const uint8_t *msg, size_t len, uint8_t sig[ED25519_SIG_LEN])
{
	EVP_MD_CTX *md = NULL;
	size_t siglen = ED25519_SIG_LEN;
	int r = PV_ERR_CRYPTO;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return PV_ERR_ALLOC;
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, ca) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, msg, len) != 1 ||
	    siglen != ED25519_SIG_LEN) {
		pv_error("cert: CA signature failed");
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(md);
	return r;
}

int
broker_cert_mint(
    EVP_PKEY *ca, const struct broker_cert_req *req, struct pv_buf *out)
{
	struct pv_buf *c = NULL, *sub = NULL, *sig = NULL;
	uint8_t nonce[BROKER_CERT_NONCE_LEN], s[ED25519_SIG_LEN];
	char keyid[256];
	int r = PV_ERR_INTERNAL, n;

	if (ca == NULL || req == NULL || out == NULL ||
	    EVP_PKEY_id(ca) != EVP_PKEY_ED25519)
		return PV_ERR_INVALID;
	if ((r = cert_check_req(req)) != 0)
		return r;
	n = snprintf(keyid, sizeof(keyid), "provost:%s:%s", req->session_id,
	    req->engineer);
	if (n < 0 || (size_t)n >= sizeof(keyid))
		return PV_ERR_RANGE;
	if ((c = pv_buf_new(16384)) == NULL ||
	    (sub = pv_buf_new(4096)) == NULL ||
	    (sig = pv_buf_new(256)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pv_random_bytes(nonce, sizeof(nonce))) != 0)
		goto out;
	if ((r = pv_buf_put_cstring(c, BROKER_CERT_TYPE)) != 0 ||
	    (r = pv_buf_put_string(c, nonce, sizeof(nonce))) != 0 ||
	    (r = pv_buf_put_string(c, req->pubkey, BROKER_ED25519_LEN)) != 0 ||
	    (r = pv_buf_put_u64(c, req->serial)) != 0 ||
	    (r = pv_buf_put_u32(c, SSH_CERT_TYPE_USER)) != 0 ||
	    (r = pv_buf_put_cstring(c, keyid)) != 0)
		goto out;
	/* Exactly one principal. */
	if ((r = pv_buf_put_cstring(sub, req->principal)) != 0 ||
	    (r = pv_buf_put_string(c, pv_buf_ptr(sub), pv_buf_len(sub))) != 0)
		goto out;
	pv_buf_reset(sub);
	if ((r = pv_buf_put_u64(
		 c, (uint64_t)(req->now - BROKER_CERT_BACKDATE))) != 0 ||
	    (r = pv_buf_put_u64(c, (uint64_t)req->now + req->lifetime)) != 0)
		goto out;
	/* Critical options: source-address only (names sorted). */
	if ((r = put_option(sub, "source-address", req->source_address)) != 0 ||
	    (r = pv_buf_put_string(c, pv_buf_ptr(sub), pv_buf_len(sub))) != 0)
		goto out;
	pv_buf_reset(sub);
	/*
	 * Extensions (names sorted): permit-port-forwarding when the rule
	 * allows forward channels (only the broker opens channels on this
	 * leg, each one decided), permit-pty; never agent or X11.
	 */
	if (req->permit_port_forwarding &&
	    (r = put_option(sub, "permit-port-forwarding", NULL)) != 0)
		goto out;
	if (req->permit_pty && (r = put_option(sub, "permit-pty", NULL)) != 0)
		goto out;
	if ((r = pv_buf_put_string(c, pv_buf_ptr(sub), pv_buf_len(sub))) != 0 ||
	    (r = pv_buf_put_string(c, NULL, 0)) != 0) /* reserved */
		goto out;
	pv_buf_reset(sub);
	if ((r = broker_ed25519_blob(ca, sub)) != 0 ||
	    (r = pv_buf_put_string(c, pv_buf_ptr(sub), pv_buf_len(sub))) != 0)
		goto out;
	/* The signature covers everything up to here. */
	if ((r = cert_sign(ca, pv_buf_ptr(c), pv_buf_len(c), s)) != 0)
		goto out;
	if ((r = pv_buf_put_cstring(sig, "ssh-ed25519")) != 0 ||
	    (r = pv_buf_put_string(sig, s, sizeof(s))) != 0 ||
	    (r = pv_buf_put_string(c, pv_buf_ptr(sig), pv_buf_len(sig))) != 0)
		goto out;
	r = pv_buf_put(out, pv_buf_ptr(c), pv_buf_len(c));
out:
	pv_buf_free(c);
	pv_buf_free(sub);
	pv_buf_free(sig);
	return r;
}

/*
 * The CA private key, in OpenSSH's own format (provostctl init writes it;
 * ssh-keygen -s can use it in an emergency).  The one place that knows.
 */
int
broker_ca_load(const char *path, EVP_PKEY **out)
{
	int r;

	*out = NULL;
	if ((r = pv_sshkey_load_private(path, out)) != 0) {
		pv_error("%s: cannot load the CA key: %s", path, pv_err_str(r));
		return r;
	}
	if (EVP_PKEY_id(*out) != EVP_PKEY_ED25519) {
		pv_error("%s: the CA key is not Ed25519", path);
		EVP_PKEY_free(*out);
		*out = NULL;
		return PV_ERR_INVALID;
	}
	return 0;
}

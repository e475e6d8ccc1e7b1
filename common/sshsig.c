/*
 * sshsig.c: OpenSSH's detached signatures (PROTOCOL.sshsig), Ed25519 and
 * SHA-512 only, so that what provost signs (the exit certificate) can be
 * checked by anyone with stock `ssh-keygen -Y verify`.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/common.h"

#define SSHSIG_MAGIC "SSHSIG"
#define SSHSIG_VERSION 1
#define SSHSIG_HASH "sha512"
#define SSHSIG_BEGIN "-----BEGIN SSH SIGNATURE-----\n"
#define SSHSIG_END "-----END SSH SIGNATURE-----\n"
#define SSHSIG_MAX 4096

/* The blob an SSHSIG signs: magic, namespace, reserved, hash name, H(m). */
static int
signed_blob(const char *ns, const void *msg, size_t len, struct pv_buf *out)
{
	uint8_t md[64];
	unsigned int mdlen = 0;

	if (EVP_Digest(msg, len, md, &mdlen, EVP_sha512(), NULL) != 1 ||
	    mdlen != sizeof(md))
		return PV_ERR_CRYPTO;
	if (pv_buf_put(out, SSHSIG_MAGIC, 6) != 0 ||
	    pv_buf_put_cstring(out, ns) != 0 ||
	    pv_buf_put_string(out, NULL, 0) != 0 ||
	    pv_buf_put_cstring(out, SSHSIG_HASH) != 0 ||
	    pv_buf_put_string(out, md, sizeof(md)) != 0)
		return PV_ERR_ALLOC;
	return 0;
}

int
pv_sshsig_sign(
    EVP_PKEY *key, const char *ns, const void *msg, size_t len, char **armored)
{
	struct pv_buf *tbs = NULL, *sig = NULL, *blob = NULL, *pub = NULL;
	uint8_t s[PV_ED25519_SIG_LEN];
	char *b64 = NULL, *out = NULL;
	size_t i, n, o;
	int r;

	*armored = NULL;
	if ((tbs = pv_buf_new(SSHSIG_MAX)) == NULL ||
	    (sig = pv_buf_new(SSHSIG_MAX)) == NULL ||
	    (blob = pv_buf_new(SSHSIG_MAX)) == NULL ||
	    (pub = pv_buf_new(SSHSIG_MAX)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = signed_blob(ns, msg, len, tbs)) != 0 ||
	    (r = pv_ed25519_sign(key, pv_buf_ptr(tbs), pv_buf_len(tbs), s)) !=
		0 ||
	    (r = pv_sshkey_public_blob(key, pub)) != 0)
		goto out;
	if (pv_buf_put_cstring(sig, "ssh-ed25519") != 0 ||
	    pv_buf_put_string(sig, s, sizeof(s)) != 0 ||
	    pv_buf_put(blob, SSHSIG_MAGIC, 6) != 0 ||
	    pv_buf_put_u32(blob, SSHSIG_VERSION) != 0 ||
	    pv_buf_put_string(blob, pv_buf_ptr(pub), pv_buf_len(pub)) != 0 ||
	    pv_buf_put_cstring(blob, ns) != 0 ||
	    pv_buf_put_string(blob, NULL, 0) != 0 ||
	    pv_buf_put_cstring(blob, SSHSIG_HASH) != 0 ||
	    pv_buf_put_string(blob, pv_buf_ptr(sig), pv_buf_len(sig)) != 0) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pv_b64_encode(pv_buf_ptr(blob), pv_buf_len(blob), 0, &b64)) !=
	    0)
		goto out;
	/* 70 columns, as ssh-keygen writes it */
	n = strlen(b64);
	if ((out = malloc(sizeof(SSHSIG_BEGIN) + sizeof(SSHSIG_END) + n +
		 n / 70 + 2)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	memcpy(out, SSHSIG_BEGIN, sizeof(SSHSIG_BEGIN) - 1);
	o = sizeof(SSHSIG_BEGIN) - 1;
	for (i = 0; i < n; i += 70) {
		size_t k = n - i < 70 ? n - i : 70;

		memcpy(out + o, b64 + i, k);
		o += k;
		out[o++] = '\n';
	}
	memcpy(out + o, SSHSIG_END, sizeof(SSHSIG_END));
	*armored = out;
	r = 0;
out:
	OPENSSL_cleanse(s, sizeof(s));
	free(b64);
	pv_buf_free(tbs);
	pv_buf_free(sig);
	pv_buf_free(blob);
	pv_buf_free(pub);
	return r;
}

/* Expects a string equal to want. */
static int
get_is(struct pv_buf *b, const char *want)
{
	const uint8_t *p;
	size_t n;

	if (pv_buf_get_string_direct(b, &p, &n) != 0 || n != strlen(want) ||
	    memcmp(p, want, n) != 0)
		return PV_ERR_INVALID;
	return 0;
}

int
pv_sshsig_verify(const char *armored, size_t alen, const char *ns,
    const void *msg, size_t len, uint8_t **pubblob, size_t *publen)
{
	struct pv_buf *b = NULL, *tbs = NULL, *sb = NULL, *pb = NULL;
	const char *s, *e;
	const uint8_t *pk, *sig, *raw;
	uint8_t *bin = NULL;
	char *text = NULL, *line = NULL;
	size_t binlen = 0, pklen, siglen, rawlen, i, o = 0;
	uint32_t version;
	EVP_PKEY *pub = NULL;
	int r = PV_ERR_INVALID;

	*pubblob = NULL;
	*publen = 0;
	if (alen > SSHSIG_MAX * 2 || (text = malloc(alen + 1)) == NULL)
		return alen > SSHSIG_MAX * 2 ? PV_ERR_INVALID : PV_ERR_ALLOC;
	memcpy(text, armored, alen);
	text[alen] = '\0';
	if ((s = strstr(text, "-----BEGIN SSH SIGNATURE-----")) == NULL ||
	    (e = strstr(s, "-----END SSH SIGNATURE-----")) == NULL)
		goto out;
	s += strlen("-----BEGIN SSH SIGNATURE-----");
	/* the base64 between the lines, whitespace dropped */
	for (i = 0; s + i < e; i++)
		if (s[i] != '\n' && s[i] != '\r' && s[i] != ' ')
			text[o++] = s[i];
	if (o == 0 || pv_b64_decode(text, o, 0, &bin, &binlen) != 0)
		goto out;
	if ((b = pv_buf_from(bin, binlen)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if (pv_buf_get(b, text, 6) != 0 || memcmp(text, SSHSIG_MAGIC, 6) != 0 ||
	    pv_buf_get_u32(b, &version) != 0 || version != SSHSIG_VERSION ||
	    pv_buf_get_string_direct(b, &pk, &pklen) != 0 ||
	    get_is(b, ns) != 0 || pv_buf_get_string_direct(b, &raw, &rawlen) ||
	    get_is(b, SSHSIG_HASH) != 0 ||
	    pv_buf_get_string_direct(b, &sig, &siglen) != 0 ||
	    pv_buf_len(b) != 0)
		goto out;
	if ((sb = pv_buf_from(sig, siglen)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if (get_is(sb, "ssh-ed25519") != 0 ||
	    pv_buf_get_string_direct(sb, &raw, &rawlen) != 0 ||
	    rawlen != PV_ED25519_SIG_LEN || pv_buf_len(sb) != 0)
		goto out;
	/* the key, as an OpenSSH public key line, to an EVP_PKEY */
	{
		char *pk64 = NULL;

		if (pv_b64_encode(pk, pklen, 0, &pk64) != 0) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		if (asprintf(&line, "ssh-ed25519 %s", pk64) < 0)
			line = NULL;
		free(pk64);
		if (line == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
	}
	if (pv_sshkey_parse_public(line, &pub) != 0)
		goto out;
	if ((tbs = pv_buf_new(SSHSIG_MAX)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = signed_blob(ns, msg, len, tbs)) != 0)
		goto out;
	if ((r = pv_ed25519_verify(
		 pub, pv_buf_ptr(tbs), pv_buf_len(tbs), raw)) != 0)
		goto out;
	if ((*pubblob = malloc(pklen)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	memcpy(*pubblob, pk, pklen);
	*publen = pklen;
	r = 0;
out:
	EVP_PKEY_free(pub);
	pv_buf_free(b);
	pv_buf_free(sb);
	pv_buf_free(pb);
	pv_buf_free(tbs);
	free(bin);
	free(text);
	free(line);
	return r;
}

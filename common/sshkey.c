/*
 * sshkey.c: Ed25519 keys in OpenSSH's own formats (PROTOCOL.key private
 * keys, "ssh-ed25519 AAAA..." lines, SHA256 fingerprints) over OpenSSL EVP,
 * so that ssh-keygen -l/-s/-L work on provost's keys in an emergency.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/common.h"

#define SSHKEY_MAGIC "openssh-key-v1"
#define SSHKEY_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define SSHKEY_END "-----END OPENSSH PRIVATE KEY-----"
#define SSHKEY_TYPE "ssh-ed25519"
#define SSHKEY_FILE_MAX (64 * 1024)
#define SSHKEY_COMMENT_MAX 1024
#define ED25519_PK 32
#define ED25519_SEED 32

int
pv_sshkey_generate_ed25519(EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx;
	int r = PV_ERR_CRYPTO;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL)
		return PV_ERR_CRYPTO;
	if (EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, out) == 1)
		r = 0;
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int
raw_public(EVP_PKEY *key, uint8_t pk[ED25519_PK])
{
	size_t n = ED25519_PK;

	if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
		return PV_ERR_INVALID;
	if (EVP_PKEY_get_raw_public_key(key, pk, &n) != 1 || n != ED25519_PK)
		return PV_ERR_CRYPTO;
	return 0;
}

int
pv_sshkey_public_blob(EVP_PKEY *key, struct pv_buf *out)
{
	uint8_t pk[ED25519_PK];
	int r;

	if ((r = raw_public(key, pk)) != 0)
		return r;
	if ((r = pv_buf_put_cstring(out, SSHKEY_TYPE)) != 0 ||
	    (r = pv_buf_put_string(out, pk, sizeof(pk))) != 0)
		return r;
	return 0;
}

/* A comment goes into a one-line format: no control bytes. */
static int
comment_ok(const char *c)
{
	if (c == NULL)
		return 1;
	if (strlen(c) > SSHKEY_COMMENT_MAX)
		return 0;
	for (; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return 0;
	return 1;
}

int
pv_sshkey_public_line(EVP_PKEY *key, const char *comment, char **line)
{
	struct pv_buf *blob = NULL;
	char *b64 = NULL;
	size_t n;
	int r;

	*line = NULL;
	if (!comment_ok(comment))
		return PV_ERR_INVALID;
	if ((blob = pv_buf_new(0)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = pv_sshkey_public_blob(key, blob)) != 0 ||
	    (r = pv_b64_encode(pv_buf_ptr(blob), pv_buf_len(blob), 0, &b64)) !=
		0)
		goto out;
	n = strlen(SSHKEY_TYPE) + 1 + strlen(b64) +
	    (comment != NULL && *comment != '\0' ? 1 + strlen(comment) : 0) + 1;
	if ((*line = malloc(n)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if (snprintf(*line, n, "%s %s%s%s", SSHKEY_TYPE, b64,
		comment != NULL && *comment != '\0' ? " " : "",
		comment != NULL ? comment : "") != (int)n - 1) {
		free(*line);
		*line = NULL;
		r = PV_ERR_INTERNAL;
		goto out;
	}
	r = 0;
out:
	free(b64);
	pv_buf_free(blob);
	return r;
}

/*
 * Splits "TYPE BASE64 [comment]" and decodes the blob; any key type.  The
 * blob's own type string must equal TYPE.
 */
static int
split_public_line(const char *line, uint8_t **blob, size_t *bloblen, char *type,
    size_t typelen)
{
	const char *p = line, *b, *e;
	struct pv_buf *v = NULL;
	char *inner = NULL;
	size_t tl;
	int r;

	*blob = NULL;
	*bloblen = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	for (e = p; *e != '\0' && *e != ' ' && *e != '\t'; e++)
		;
	tl = (size_t)(e - p);
	if (tl == 0 || tl >= typelen)
		return PV_ERR_INVALID;
	memcpy(type, p, tl);
	type[tl] = '\0';
	for (b = e; *b == ' ' || *b == '\t'; b++)
		;
	for (e = b;
	     *e != '\0' && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r';
	     e++)
		;
	if (e == b)
		return PV_ERR_INVALID;
	if ((r = pv_b64_decode(b, (size_t)(e - b), 0, blob, bloblen)) != 0)
		return r;
	if ((v = pv_buf_from(*blob, *bloblen)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pv_buf_get_cstring(v, &inner, NULL)) != 0)
		goto out;
	r = strcmp(inner, type) == 0 ? 0 : PV_ERR_INVALID;
out:
	free(inner);
	pv_buf_free(v);
	if (r != 0) {
		free(*blob);
		*blob = NULL;
		*bloblen = 0;
	}
	return r;
}

int
pv_sshkey_parse_public(const char *line, EVP_PKEY **out)
{
	struct pv_buf *v = NULL;
	const uint8_t *pk;
	uint8_t *blob = NULL;
	size_t bloblen, pklen;
	char type[64], *t = NULL;
	int r;

	*out = NULL;
	if ((r = split_public_line(
		 line, &blob, &bloblen, type, sizeof(type))) != 0)
		return r;
	if (strcmp(type, SSHKEY_TYPE) != 0) {
		r = PV_ERR_UNSUPPORTED;
		goto out;
	}
	if ((v = pv_buf_from(blob, bloblen)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pv_buf_get_cstring(v, &t, NULL)) != 0 ||
	    (r = pv_buf_get_string_direct(v, &pk, &pklen)) != 0)
		goto out;
	if (pklen != ED25519_PK || pv_buf_len(v) != 0) {
		r = PV_ERR_INVALID;
		goto out;
	}
	if ((*out = EVP_PKEY_new_raw_public_key(
		 EVP_PKEY_ED25519, NULL, pk, pklen)) == NULL) {
		r = PV_ERR_CRYPTO;
		goto out;
	}
	r = 0;
out:
	free(t);
	pv_buf_free(v);
	free(blob);
	return r;
}

int
pv_sshkey_load_public(const char *path, EVP_PKEY **out)
{
	uint8_t *d = NULL;
	size_t n;
	int r;

	*out = NULL;
	if ((r = pv_file_read(path, SSHKEY_FILE_MAX, &d, &n)) != 0)
		return r;
	if (memchr(d, '\0', n) != NULL)
		r = PV_ERR_INVALID;
	else
		r = pv_sshkey_parse_public((const char *)d, out);
	free(d);
	return r;
}

static int
fingerprint_blob(const uint8_t *blob, size_t len, char *out, size_t outlen)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *b64 = NULL;
	size_t n;
	int r;

	if (EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return PV_ERR_CRYPTO;
	if ((r = pv_b64_encode(md, mdlen, 0, &b64)) != 0)
		return r;
	/* ssh-keygen prints SHA256 fingerprints without '=' padding. */
	n = strlen(b64);
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = '\0';
	r = snprintf(out, outlen, "SHA256:%s", b64);
	free(b64);
	return r < 0 || (size_t)r >= outlen ? PV_ERR_LIMIT : 0;
}

int
pv_sshkey_fingerprint(EVP_PKEY *key, char *out, size_t outlen)
{
	struct pv_buf *blob;
	int r;

	if ((blob = pv_buf_new(0)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = pv_sshkey_public_blob(key, blob)) == 0)
		r = fingerprint_blob(
		    pv_buf_ptr(blob), pv_buf_len(blob), out, outlen);
	pv_buf_free(blob);
	return r;
}

int
pv_sshkey_fingerprint_line(const char *line, char *out, size_t outlen)
{
	uint8_t *blob = NULL;
	size_t len;
	char type[64];
	int r;

	if ((r = split_public_line(line, &blob, &len, type, sizeof(type))) != 0)
		return r;
	r = fingerprint_blob(blob, len, out, outlen);
	free(blob);
	return r;
}

int
pv_sshkey_save_public(const char *path, EVP_PKEY *key, const char *comment)
{
	char *line = NULL;
	size_t n;
	int r;

	if ((r = pv_sshkey_public_line(key, comment, &line)) != 0)
		return r;
	n = strlen(line);
	line[n] = '\n'; /* replaces the NUL; written with its length */
	r = pv_file_write_new(path, 0644, line, n + 1);
	free(line);
	return r;
}

/* The private section, wrapped in PROTOCOL.key's unencrypted container. */
static int
private_blob(EVP_PKEY *key, const char *comment, struct pv_buf *out)
{
	struct pv_buf *sec = NULL, *pub = NULL;
	uint8_t pk[ED25519_PK], priv[ED25519_SEED + ED25519_PK];
	size_t n = ED25519_SEED;
	uint32_t check;
	uint8_t pad;
	int r;

	if ((r = raw_public(key, pk)) != 0)
		return r;
	if (EVP_PKEY_get_raw_private_key(key, priv, &n) != 1 ||
	    n != ED25519_SEED)
		return PV_ERR_CRYPTO;
	memcpy(priv + ED25519_SEED, pk, ED25519_PK);
	if ((sec = pv_buf_new(0)) == NULL || (pub = pv_buf_new(0)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pv_random_bytes(&check, sizeof(check))) != 0 ||
	    (r = pv_buf_put_u32(sec, check)) != 0 ||
	    (r = pv_buf_put_u32(sec, check)) != 0 ||
	    (r = pv_buf_put_cstring(sec, SSHKEY_TYPE)) != 0 ||
	    (r = pv_buf_put_string(sec, pk, sizeof(pk))) != 0 ||
	    (r = pv_buf_put_string(sec, priv, sizeof(priv))) != 0 ||
	    (r = pv_buf_put_cstring(sec, comment != NULL ? comment : "")) != 0)
		goto out;
	for (pad = 1; pv_buf_len(sec) % 8 != 0; pad++)
		if ((r = pv_buf_put_u8(sec, pad)) != 0)
			goto out;
	if ((r = pv_sshkey_public_blob(key, pub)) != 0 ||
	    (r = pv_buf_put(out, SSHKEY_MAGIC, sizeof(SSHKEY_MAGIC))) != 0 ||
	    (r = pv_buf_put_cstring(out, "none")) != 0 ||
	    (r = pv_buf_put_cstring(out, "none")) != 0 ||
	    (r = pv_buf_put_cstring(out, "")) != 0 ||
	    (r = pv_buf_put_u32(out, 1)) != 0 ||
	    (r = pv_buf_put_string(out, pv_buf_ptr(pub), pv_buf_len(pub))) !=
		0 ||
	    (r = pv_buf_put_string(out, pv_buf_ptr(sec), pv_buf_len(sec))) != 0)
		goto out;
	r = 0;
out:
	PV_WIPE(priv);
	pv_buf_free(sec);
	pv_buf_free(pub);
	return r;
}

int
pv_sshkey_save_private(const char *path, EVP_PKEY *key, const char *comment)
{
	struct pv_buf *bin = NULL, *pem = NULL;
	char *b64 = NULL;
	size_t i, n;
	int r;

	if (!comment_ok(comment))
		return PV_ERR_INVALID;
	if ((bin = pv_buf_new(0)) == NULL || (pem = pv_buf_new(0)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = private_blob(key, comment, bin)) != 0 ||
	    (r = pv_b64_encode(pv_buf_ptr(bin), pv_buf_len(bin), 0, &b64)) != 0)
		goto out;
	if ((r = pv_buf_putf(pem, "%s\n", SSHKEY_BEGIN)) != 0)
		goto out;
	n = strlen(b64);
	for (i = 0; i < n; i += 70) {
		if ((r = pv_buf_put(pem, b64 + i, n - i < 70 ? n - i : 70)) !=
			0 ||
		    (r = pv_buf_put_u8(pem, '\n')) != 0)
			goto out;
	}
	if ((r = pv_buf_putf(pem, "%s\n", SSHKEY_END)) != 0)
		goto out;
	r = pv_file_write_new(path, 0600, pv_buf_ptr(pem), pv_buf_len(pem));
out:
	pv_secret_freestr(b64);
	pv_buf_free(bin);
	pv_buf_free(pem);
	return r;
}

/*
 * Strips the armour and line breaks; the base64 inside must be strict.
 * text is len bytes, not NUL-terminated.
 */
static int
dearmour(const char *text, size_t len, uint8_t **bin, size_t *binlen)
{
	const size_t blen = strlen(SSHKEY_BEGIN), elen = strlen(SSHKEY_END);
	const char *b, *e;
	char *b64 = NULL;
	size_t i, o = 0, n;
	int r;

	*bin = NULL;
	*binlen = 0;
	if (len < blen + elen || memcmp(text, SSHKEY_BEGIN, blen) != 0)
		return PV_ERR_INVALID;
	b = text + blen;
	if ((e = memmem(b, len - blen, SSHKEY_END, elen)) == NULL)
		return PV_ERR_INVALID;
	n = (size_t)(e - b);
	if ((b64 = malloc(n + 1)) == NULL)
		return PV_ERR_ALLOC;
	for (i = 0; i < n; i++) {
		if (b[i] == '\n' || b[i] == '\r')
			continue;
		b64[o++] = b[i];
	}
	r = pv_b64_decode(b64, o, 0, bin, binlen);
	pv_secret_free(b64, n + 1);
	return r;
}

int
pv_sshkey_parse_private(const uint8_t *text, size_t len, EVP_PKEY **out)
{
	struct pv_buf *v = NULL, *sec = NULL;
	uint8_t magic[sizeof(SSHKEY_MAGIC)], *bin = NULL, *secd = NULL;
	const uint8_t *pk, *priv, *pubblob, *comment;
	size_t binlen = 0, seclen = 0, pklen, privlen, publen, clen, i;
	uint8_t derived[ED25519_PK], pad;
	char *cipher = NULL, *kdf = NULL, *type = NULL;
	uint32_t nkeys, c1, c2;
	int r;

	*out = NULL;
	if (memchr(text, '\0', len) != NULL)
		return PV_ERR_INVALID;
	if ((r = dearmour((const char *)text, len, &bin, &binlen)) != 0)
		return r;
	if ((v = pv_buf_from(bin, binlen)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pv_buf_get(v, magic, sizeof(magic))) != 0)
		goto out;
	if (memcmp(magic, SSHKEY_MAGIC, sizeof(magic)) != 0) {
		r = PV_ERR_INVALID;
		goto out;
	}
	if ((r = pv_buf_get_cstring(v, &cipher, NULL)) != 0 ||
	    (r = pv_buf_get_cstring(v, &kdf, NULL)) != 0 ||
	    (r = pv_buf_get_string_direct(v, &pk, &pklen)) != 0 ||
	    (r = pv_buf_get_u32(v, &nkeys)) != 0)
		goto out;
	if (strcmp(cipher, "none") != 0 || strcmp(kdf, "none") != 0) {
		r = PV_ERR_UNSUPPORTED; /* passphrase-protected */
		goto out;
	}
	if (nkeys != 1) {
		r = PV_ERR_INVALID;
		goto out;
	}
	if ((r = pv_buf_get_string_direct(v, &pubblob, &publen)) != 0 ||
	    (r = pv_buf_get_string(v, &secd, &seclen)) != 0)
		goto out;
	if (pv_buf_len(v) != 0 || seclen % 8 != 0) {
		r = PV_ERR_INVALID;
		goto out;
	}
	if ((sec = pv_buf_from(secd, seclen)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pv_buf_get_u32(sec, &c1)) != 0 ||
	    (r = pv_buf_get_u32(sec, &c2)) != 0 ||
	    (r = pv_buf_get_cstring(sec, &type, NULL)) != 0 ||
	    (r = pv_buf_get_string_direct(sec, &pk, &pklen)) != 0 ||
	    (r = pv_buf_get_string_direct(sec, &priv, &privlen)) != 0 ||
	    (r = pv_buf_get_string_direct(sec, &comment, &clen)) != 0)
		goto out;
	if (c1 != c2 || strcmp(type, SSHKEY_TYPE) != 0 || pklen != ED25519_PK ||
	    privlen != ED25519_SEED + ED25519_PK ||
	    memcmp(priv + ED25519_SEED, pk, ED25519_PK) != 0) {
		r = c1 != c2                         ? PV_ERR_INVALID
		    : strcmp(type, SSHKEY_TYPE) != 0 ? PV_ERR_UNSUPPORTED
						     : PV_ERR_INVALID;
		goto out;
	}
	for (i = 0, pad = 1; pv_buf_len(sec) > 0; i++, pad++) {
		uint8_t b;

		if ((r = pv_buf_get_u8(sec, &b)) != 0)
			goto out;
		if (b != pad || i >= 8) {
			r = PV_ERR_INVALID;
			goto out;
		}
	}
	if ((*out = EVP_PKEY_new_raw_private_key(
		 EVP_PKEY_ED25519, NULL, priv, ED25519_SEED)) == NULL) {
		r = PV_ERR_CRYPTO;
		goto out;
	}
	/* The stored public half must be the one the seed derives. */
	if ((r = raw_public(*out, derived)) != 0 ||
	    CRYPTO_memcmp(derived, pk, ED25519_PK) != 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
		r = r != 0 ? r : PV_ERR_INVALID;
		goto out;
	}
	(void)pubblob;
	(void)publen;
	r = 0;
out:
	free(cipher);
	free(kdf);
	free(type);
	pv_buf_free(sec);
	pv_buf_free(v);
	pv_secret_free(secd, seclen);
	pv_secret_free(bin, binlen);
	return r;
}

int
pv_sshkey_load_private(const char *path, EVP_PKEY **out)
{
	uint8_t *d = NULL;
	size_t n = 0;
	int r;

	*out = NULL;
	if ((r = pv_file_read(path, SSHKEY_FILE_MAX, &d, &n)) != 0)
		return r;
	r = pv_sshkey_parse_private(d, n, out);
	pv_secret_free(d, n);
	return r;
}

int
pv_ed25519_sign(
    EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[PV_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	size_t siglen = PV_ED25519_SIG_LEN;
	int r = PV_ERR_CRYPTO;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return PV_ERR_ALLOC;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 &&
	    siglen == PV_ED25519_SIG_LEN)
		r = 0;
	EVP_MD_CTX_free(ctx);
	return r;
}

int
pv_ed25519_verify(EVP_PKEY *pub, const void *msg, size_t len,
    const uint8_t sig[PV_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	int r = PV_ERR_AUTH;

	if (pub == NULL || EVP_PKEY_get_id(pub) != EVP_PKEY_ED25519)
		return PV_ERR_INVALID;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return PV_ERR_ALLOC;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1 &&
	    EVP_DigestVerify(ctx, sig, PV_ED25519_SIG_LEN, msg, len) == 1)
		r = 0;
	EVP_MD_CTX_free(ctx);
	return r;
}

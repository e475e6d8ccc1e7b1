/*
 * keys.c: recipient public keys and reader private keys (PEM, X25519 or
 * RSA >= 3072), and wrapping the data key to them (format section 3).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/common.h"
#include "recorder/recorder-int.h"

#define REC_KEYFILE_MAX (64 * 1024)

static int
key_seterr(char *err, size_t errlen, const char *path, const char *what)
{
	if (err != NULL && errlen > 0 &&
	    snprintf(err, errlen, "%s: %s", path, what) >= (int)errlen)
		err[errlen - 1] = '\0';
	return 0;
}

/* Refuses passphrase prompts: keys for provost are not encrypted. */
static int
key_nopass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
rec_pkey_describe(EVP_PKEY *pkey, enum rec_key_type *type,
    char key_id[2 * REC_HASH_LEN + 1], int *bits)
{
	unsigned char *der = NULL;
	uint8_t h[REC_HASH_LEN];
	int len, r = PV_ERR_INTERNAL;

	if (EVP_PKEY_is_a(pkey, "X25519")) {
		*type = REC_KEY_X25519;
		*bits = 253;
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		*type = REC_KEY_RSA;
		*bits = EVP_PKEY_get_bits(pkey);
		if (*bits < REC_RSA_MIN_BITS) {
			r = PV_ERR_UNSUPPORTED;
			goto out;
		}
	} else {
		r = PV_ERR_UNSUPPORTED;
		goto out;
	}
	if ((len = i2d_PUBKEY(pkey, &der)) <= 0) {
		r = PV_ERR_CRYPTO;
		goto out;
	}
	if (EVP_Digest(der, (size_t)len, h, NULL, EVP_sha256(), NULL) != 1) {
		r = PV_ERR_CRYPTO;
		goto out;
	}
	if ((r = pv_hex_encode(h, sizeof(h), key_id, 2 * REC_HASH_LEN + 1)) !=
	    0)
		goto out;
	r = 0;
out:
	OPENSSL_free(der);
	return r;
}

static const char *
key_describe_err(int r)
{
	return r == PV_ERR_UNSUPPORTED
	    ? "not an X25519 key or an RSA key of at least 3072 bits"
	    : "cannot compute the key id";
}

int
rec_recipients_load(struct rec_recipients **out, const char *const *paths,
    size_t npaths, char *err, size_t errlen)
{
	struct rec_recipients *rs = NULL;
	uint8_t *data = NULL;
	size_t len, i, j;
	BIO *bio = NULL;
	int r = PV_ERR_INTERNAL;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (npaths == 0) {
		key_seterr(err, errlen, "recipients", "at least one is needed");
		return PV_ERR_INVALID;
	}
	if ((rs = calloc(1, sizeof(*rs))) == NULL ||
	    (rs->v = calloc(npaths, sizeof(*rs->v))) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < npaths; i++) {
		struct rec_recipient *rc = &rs->v[i];

		if ((r = pv_file_read(
			 paths[i], REC_KEYFILE_MAX, &data, &len)) != 0) {
			key_seterr(err, errlen, paths[i], pv_err_str(r));
			goto out;
		}
		if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		rc->pkey = PEM_read_bio_PUBKEY(bio, NULL, key_nopass, NULL);
		BIO_free(bio);
		bio = NULL;
		free(data);
		data = NULL;
		rs->n++;
		if (rc->pkey == NULL) {
			key_seterr(err, errlen, paths[i],
			    "not a PEM public key (openssl pkey -pubout)");
			r = PV_ERR_INVALID;
			goto out;
		}
		if ((r = rec_pkey_describe(
			 rc->pkey, &rc->type, rc->key_id, &rc->bits)) != 0) {
			key_seterr(err, errlen, paths[i], key_describe_err(r));
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(rs->v[j].key_id, rc->key_id) == 0) {
				key_seterr(err, errlen, paths[i],
				    "the same key is listed twice");
				r = PV_ERR_EXISTS;
				goto out;
			}
		}
	}
	*out = rs;
	rs = NULL;
	r = 0;
out:
	free(data);
	rec_recipients_free(rs);
	return r;
}

size_t
rec_recipients_count(const struct rec_recipients *rs)
{
	return rs == NULL ? 0 : rs->n;
}

void
rec_recipients_free(struct rec_recipients *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n; i++)
		EVP_PKEY_free(rs->v[i].pkey);
	free(rs->v);
	free(rs);
}

static int
key_finish(struct rec_key **out, EVP_PKEY *pkey)
{
	struct rec_key *k;
	int bits, r;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return PV_ERR_ALLOC;
	}
	k->pkey = pkey;
	if ((r = rec_pkey_describe(pkey, &k->type, k->key_id, &bits)) != 0) {
		rec_key_free(k);
		return r;
	}
	*out = k;
	return 0;
}

int
rec_key_load(struct rec_key **out, const char *path, char *err, size_t errlen)
{
	uint8_t *data = NULL;
	size_t len = 0;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int r = PV_ERR_INTERNAL;

	*out = NULL;
	if ((r = pv_file_read(path, REC_KEYFILE_MAX, &data, &len)) != 0) {
		key_seterr(err, errlen, path, pv_err_str(r));
		goto out;
	}
	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, key_nopass, NULL)) ==
	    NULL) {
		key_seterr(err, errlen, path,
		    "not an unencrypted PEM private key (openssl genpkey)");
		r = PV_ERR_INVALID;
		goto out;
	}
	if ((r = key_finish(out, pkey)) != 0) {
		key_seterr(err, errlen, path, key_describe_err(r));
		goto out;
	}
	r = 0;
out:
	BIO_free(bio);
	pv_secret_free(data, len);
	return r;
}

int
rec_key_from_x25519_raw(struct rec_key **out, const uint8_t priv[32])
{
	EVP_PKEY *pkey;

	*out = NULL;
	if ((pkey = EVP_PKEY_new_raw_private_key(
		 EVP_PKEY_X25519, NULL, priv, 32)) == NULL)
		return PV_ERR_CRYPTO;
	return key_finish(out, pkey);
}

void
rec_key_free(struct rec_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* One AES-256-GCM operation with a 12-byte nonce; open checks the tag. */
static int
key_gcm(int enc, const uint8_t key[32], const uint8_t *nonce,
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
    uint8_t *outp, uint8_t tag[REC_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx;
	int n, r = PV_ERR_CRYPTO;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return PV_ERR_ALLOC;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) !=
		1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_CipherUpdate(ctx, outp, &n, in, (int)len) != 1)
		goto out;
	if (!enc &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, REC_TAG_LEN, tag) !=
		1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, outp + n, &n) != 1) {
		r = enc ? PV_ERR_CRYPTO : PV_ERR_AUTH;
		goto out;
	}
	if (enc &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, REC_TAG_LEN, tag) !=
		1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* KEK = HKDF-SHA256(Z, salt = epk || rpk, info). */
static int
key_x25519_kek(EVP_PKEY *mine, EVP_PKEY *peer, const uint8_t epk[32],
    const uint8_t rpk[32], uint8_t kek[32])
{
	EVP_PKEY_CTX *dctx = NULL, *hctx = NULL;
	uint8_t z[32], salt[64], acc = 0;
	size_t zlen = sizeof(z), klen = 32, i;
	int r = PV_ERR_CRYPTO;

	if ((dctx = EVP_PKEY_CTX_new(mine, NULL)) == NULL ||
	    EVP_PKEY_derive_init(dctx) != 1 ||
	    EVP_PKEY_derive_set_peer(dctx, peer) != 1 ||
	    EVP_PKEY_derive(dctx, z, &zlen) != 1 || zlen != sizeof(z))
		goto out;
	for (i = 0; i < sizeof(z); i++)
		acc |= z[i];
	if (acc == 0) {
		r = PV_ERR_AUTH;
		goto out;
	}
	memcpy(salt, epk, 32);
	memcpy(salt + 32, rpk, 32);
	if ((hctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL ||
	    EVP_PKEY_derive_init(hctx) != 1 ||
	    EVP_PKEY_CTX_set_hkdf_md(hctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_salt(hctx, salt, sizeof(salt)) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_key(hctx, z, sizeof(z)) != 1 ||
	    EVP_PKEY_CTX_add1_hkdf_info(hctx, (const uint8_t *)REC_WRAP_INFO,
		strlen(REC_WRAP_INFO)) != 1 ||
	    EVP_PKEY_derive(hctx, kek, &klen) != 1 || klen != 32)
		goto out;
	r = 0;
out:
	PV_WIPE(z);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_CTX_free(hctx);
	return r;
}

static int
key_raw_pub(EVP_PKEY *pkey, uint8_t out[32])
{
	size_t len = 32;

	if (EVP_PKEY_get_raw_public_key(pkey, out, &len) != 1 || len != 32)
		return PV_ERR_CRYPTO;
	return 0;
}

static int
key_rsa_ctx(EVP_PKEY_CTX *ctx, int enc)
{
	if ((enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) !=
		1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1)
		return PV_ERR_CRYPTO;
	return 0;
}

int
rec_wrap_key(const struct rec_recipient *rc, const uint8_t dk[REC_KEY_LEN],
    uint8_t epk[REC_X25519_LEN], uint8_t **wrapped, size_t *wrapped_len)
{
	static const uint8_t zero_nonce[REC_NONCE_LEN];
	EVP_PKEY *eph = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t rpk[32], kek[32], *w = NULL;
	size_t wlen = 0;
	int r = PV_ERR_INTERNAL;

	*wrapped = NULL;
	*wrapped_len = 0;
	memset(epk, 0, REC_X25519_LEN);
	if (rc->type == REC_KEY_X25519) {
		wlen = REC_X25519_WRAPPED_LEN;
		if ((w = malloc(wlen)) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		if ((eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL) {
			r = PV_ERR_CRYPTO;
			goto out;
		}
		if ((r = key_raw_pub(eph, epk)) != 0 ||
		    (r = key_raw_pub(rc->pkey, rpk)) != 0 ||
		    (r = key_x25519_kek(eph, rc->pkey, epk, rpk, kek)) != 0)
			goto out;
		if ((r = key_gcm(1, kek, zero_nonce,
			 (const uint8_t *)REC_WRAP_AAD, strlen(REC_WRAP_AAD),
			 dk, REC_KEY_LEN, w, w + REC_KEY_LEN)) != 0)
			goto out;
	} else {
		if ((ctx = EVP_PKEY_CTX_new(rc->pkey, NULL)) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		if ((r = key_rsa_ctx(ctx, 1)) != 0)
			goto out;
		r = PV_ERR_CRYPTO;
		if (EVP_PKEY_encrypt(ctx, NULL, &wlen, dk, REC_KEY_LEN) != 1)
			goto out;
		if ((w = malloc(wlen)) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		if (EVP_PKEY_encrypt(ctx, w, &wlen, dk, REC_KEY_LEN) != 1)
			goto out;
	}
	*wrapped = w;
	*wrapped_len = wlen;
	w = NULL;
	r = 0;
out:
	PV_WIPE(kek);
	free(w);
	EVP_PKEY_free(eph);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
rec_unwrap_key(const struct rec_key *k, const uint8_t *epk, size_t epk_len,
    const uint8_t *wrapped, size_t wrapped_len, uint8_t dk[REC_KEY_LEN])
{
	static const uint8_t zero_nonce[REC_NONCE_LEN];
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t rpk[32], kek[32], tag[REC_TAG_LEN], *buf = NULL;
	size_t blen = 0;
	int r = PV_ERR_INTERNAL;

	if (k->type == REC_KEY_X25519) {
		if (epk == NULL || epk_len != REC_X25519_LEN ||
		    wrapped_len != REC_X25519_WRAPPED_LEN) {
			r = PV_ERR_INVALID;
			goto out;
		}
		if ((peer = EVP_PKEY_new_raw_public_key(
			 EVP_PKEY_X25519, NULL, epk, epk_len)) == NULL) {
			r = PV_ERR_INVALID;
			goto out;
		}
		if ((r = key_raw_pub(k->pkey, rpk)) != 0 ||
		    (r = key_x25519_kek(k->pkey, peer, epk, rpk, kek)) != 0)
			goto out;
		memcpy(tag, wrapped + REC_KEY_LEN, REC_TAG_LEN);
		if ((r = key_gcm(0, kek, zero_nonce,
			 (const uint8_t *)REC_WRAP_AAD, strlen(REC_WRAP_AAD),
			 wrapped, REC_KEY_LEN, dk, tag)) != 0)
			goto out;
	} else {
		if ((ctx = EVP_PKEY_CTX_new(k->pkey, NULL)) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		if ((r = key_rsa_ctx(ctx, 0)) != 0)
			goto out;
		blen = (size_t)EVP_PKEY_get_size(k->pkey);
		if (wrapped_len != blen || (buf = malloc(blen)) == NULL) {
			r = wrapped_len != blen ? PV_ERR_INVALID : PV_ERR_ALLOC;
			goto out;
		}
		if (EVP_PKEY_decrypt(ctx, buf, &blen, wrapped, wrapped_len) !=
			1 ||
		    blen != REC_KEY_LEN) {
			r = PV_ERR_AUTH;
			goto out;
		}
		memcpy(dk, buf, REC_KEY_LEN);
	}
	r = 0;
out:
	PV_WIPE(kek);
	if (buf != NULL)
		pv_secret_free(buf, (size_t)EVP_PKEY_get_size(k->pkey));
	EVP_PKEY_free(peer);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

void
rec_chunk_nonce(const uint8_t prefix[REC_NONCE_PREFIX_LEN], uint64_t index,
    uint8_t nonce[REC_NONCE_LEN])
{
	memcpy(nonce, prefix, REC_NONCE_PREFIX_LEN);
	rec_put_be64(nonce + REC_NONCE_PREFIX_LEN, index);
}

void
rec_chunk_aad(const uint8_t hh[REC_HASH_LEN], uint64_t index, uint8_t flags,
    uint8_t aad[REC_AAD_LEN])
{
	memcpy(aad, hh, REC_HASH_LEN);
	rec_put_be64(aad + REC_HASH_LEN, index);
	aad[REC_HASH_LEN + 8] = flags;
}

int
rec_format_offset(uint64_t ms, char *buf, size_t buflen)
{
	uint64_t s = ms / 1000;
	int n;

	n = snprintf(buf, buflen, "%02llu:%02llu:%02llu",
	    (unsigned long long)(s / 3600), (unsigned long long)(s / 60 % 60),
	    (unsigned long long)(s % 60));
	if (n < 0 || (size_t)n >= buflen)
		return PV_ERR_LIMIT;
	return 0;
}

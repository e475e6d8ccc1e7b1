/*
 * fuzz_sshkey.c: the OpenSSH private key reader and the public key line
 * reader on arbitrary bytes (key files are read from disk as input).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char fp[PV_SSHKEY_FP_MAX], *line;
	EVP_PKEY *k = NULL;

	if (pv_sshkey_parse_private(data, size, &k) == 0) {
		if (pv_sshkey_fingerprint(k, fp, sizeof(fp)) != 0)
			abort();
		EVP_PKEY_free(k);
	}
	if (size > 64 * 1024 || (line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (pv_sshkey_parse_public(line, &k) == 0)
		EVP_PKEY_free(k);
	(void)pv_sshkey_fingerprint_line(line, fp, sizeof(fp));
	free(line);
	return 0;
}

/*
 * test_common_sshkey.c: Ed25519 keys in OpenSSH formats, checked against
 * the real ssh-keygen both ways (it reads ours, we read its), plus
 * signatures and refusal of damaged or passphrase-protected keys.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "common/common.h"

static char dir[64];

static const char *
keygen(void)
{
	const char *k = getenv("SSH_KEYGEN");

	return k != NULL && *k != '\0' ? k : "ssh-keygen";
}

/* Runs a shell command and returns its first output line. */
static int
run(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	FILE *f;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	assert_non_null(f = popen(cmd, "r"));
	if (out != NULL) {
		out[0] = '\0';
		if (fgets(out, (int)outlen, f) != NULL)
			out[strcspn(out, "\n")] = '\0';
	}
	while (fgetc(f) != EOF)
		;
	st = pclose(f);
	return st;
}

static int
setup(void **state)
{
	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/pvsshkeyXXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_ours_read_by_ssh_keygen(void **state)
{
	char priv[128], pub[128], fp[PV_SSHKEY_FP_MAX], line[512], *ours;
	EVP_PKEY *k = NULL, *back = NULL, *pk = NULL;
	struct stat st;

	(void)state;
	(void)snprintf(priv, sizeof(priv), "%s/ca", dir);
	(void)snprintf(pub, sizeof(pub), "%s/ca.pub", dir);
	assert_int_equal(pv_sshkey_generate_ed25519(&k), 0);
	assert_int_equal(pv_sshkey_save_private(priv, k, "provost-ca"), 0);
	assert_int_equal(pv_sshkey_save_public(pub, k, "provost-ca"), 0);
	assert_int_equal(stat(priv, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Never overwritten. */
	assert_int_equal(pv_sshkey_save_private(priv, k, "x"), PV_ERR_EXISTS);

	/* ssh-keygen derives the same public key and fingerprint. */
	assert_int_equal(
	    run(line, sizeof(line), "%s -y -f %s", keygen(), priv), 0);
	assert_int_equal(pv_sshkey_public_line(k, "provost-ca", &ours), 0);
	assert_string_equal(line, ours);
	free(ours);
	assert_int_equal(pv_sshkey_fingerprint(k, fp, sizeof(fp)), 0);
	assert_int_equal(run(line, sizeof(line), "%s -l -f %s | cut -d' ' -f2",
			     keygen(), pub),
	    0);
	assert_string_equal(line, fp);
	assert_int_equal(run(line, sizeof(line), "%s -l -f %s | cut -d' ' -f2",
			     keygen(), priv),
	    0);
	assert_string_equal(line, fp);

	/* ssh-keygen can sign a certificate with it (emergency use). */
	assert_int_equal(run(NULL, 0,
			     "%s -q -t ed25519 -N '' -f %s/u && "
			     "%s -q -s %s -I test -n root -V +5m %s/u.pub",
			     keygen(), dir, keygen(), priv, dir),
	    0);

	/* And we read back what we wrote. */
	assert_int_equal(pv_sshkey_load_private(priv, &back), 0);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	assert_int_equal(pv_sshkey_load_public(pub, &pk), 0);
	assert_int_equal(EVP_PKEY_eq(k, pk), 1);
	EVP_PKEY_free(k);
	EVP_PKEY_free(back);
	EVP_PKEY_free(pk);
}

static void
test_theirs_read_by_us(void **state)
{
	char path[128], fp[PV_SSHKEY_FP_MAX], want[128], line[512];
	uint8_t sig[PV_ED25519_SIG_LEN];
	EVP_PKEY *k = NULL, *pk = NULL;
	uint8_t *d;
	size_t n;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/theirs", dir);
	assert_int_equal(run(NULL, 0, "%s -q -t ed25519 -N '' -C 'a b c' -f %s",
			     keygen(), path),
	    0);
	assert_int_equal(pv_sshkey_load_private(path, &k), 0);
	(void)snprintf(line, sizeof(line), "%s.pub", path);
	assert_int_equal(pv_sshkey_load_public(line, &pk), 0);
	assert_int_equal(EVP_PKEY_eq(k, pk), 1);
	assert_int_equal(pv_sshkey_fingerprint(pk, fp, sizeof(fp)), 0);
	assert_int_equal(run(want, sizeof(want), "%s -l -f %s | cut -d' ' -f2",
			     keygen(), line),
	    0);
	assert_string_equal(fp, want);

	/* The host-key fingerprint of any line, here read from the file. */
	assert_int_equal(pv_file_read(line, 4096, &d, &n), 0);
	assert_int_equal(
	    pv_sshkey_fingerprint_line((char *)d, fp, sizeof(fp)), 0);
	assert_string_equal(fp, want);
	free(d);

	assert_int_equal(pv_ed25519_sign(k, "msg", 3, sig), 0);
	assert_int_equal(pv_ed25519_verify(pk, "msg", 3, sig), 0);
	assert_int_equal(pv_ed25519_verify(pk, "msh", 3, sig), PV_ERR_AUTH);
	sig[10] ^= 1;
	assert_int_equal(pv_ed25519_verify(pk, "msg", 3, sig), PV_ERR_AUTH);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pk);
}

static void
test_refusals(void **state)
{
	char path[128], line[512];
	EVP_PKEY *k = NULL;
	uint8_t *d;
	size_t n;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/locked", dir);
	assert_int_equal(
	    run(NULL, 0, "%s -q -t ed25519 -N secret -f %s", keygen(), path),
	    0);
	assert_int_equal(pv_sshkey_load_private(path, &k), PV_ERR_UNSUPPORTED);
	assert_null(k);

	(void)snprintf(path, sizeof(path), "%s/rsa", dir);
	assert_int_equal(
	    run(NULL, 0, "%s -q -t rsa -b 2048 -N '' -f %s", keygen(), path),
	    0);
	assert_int_equal(pv_sshkey_load_private(path, &k), PV_ERR_UNSUPPORTED);
	(void)snprintf(line, sizeof(line), "%s.pub", path);
	assert_int_equal(pv_sshkey_load_public(line, &k), PV_ERR_UNSUPPORTED);

	/* Flip one base64 character in the middle of a good key. */
	(void)snprintf(path, sizeof(path), "%s/ca", dir);
	assert_int_equal(pv_file_read(path, 65536, &d, &n), 0);
	d[n / 2] = d[n / 2] == 'A' ? 'B' : 'A';
	assert_int_not_equal(pv_sshkey_parse_private(d, n, &k), 0);
	assert_null(k);
	free(d);

	assert_int_not_equal(pv_sshkey_parse_public("ssh-ed25519", &k), 0);
	assert_int_not_equal(pv_sshkey_parse_public("ssh-ed25519 !!!!", &k), 0);
	/* The blob's own type must match the line's. */
	assert_int_not_equal(
	    pv_sshkey_parse_public("ssh-rsa "
				   "AAAAC3NzaC1lZDI1NTE5AAAAIBq3/"
				   "Qn0fOvg4Wv2AuGZkWGM4Ww/Ga+cfy8TFNP4+Itf",
		&k),
	    0);
	assert_int_equal(
	    pv_sshkey_parse_public("ssh-ed25519 "
				   "AAAAC3NzaC1lZDI1NTE5AAAAIBq3/"
				   "Qn0fOvg4Wv2AuGZkWGM4Ww/Ga+cfy8TFNP4+Itf c",
		&k),
	    0);
	EVP_PKEY_free(k);
	assert_int_equal(
	    pv_sshkey_public_line(NULL, NULL, (char **)&d), PV_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ours_read_by_ssh_keygen),
		cmocka_unit_test(test_theirs_read_by_us),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests_name(
	    "common_sshkey", tests, setup, teardown);
}

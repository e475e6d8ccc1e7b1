/*
 * exit_unixpw.c: the built-in unix-password rotation (RotationHook
 * unix-password builtin): a local account's password on an OpenSSH
 * target changed over provost's own recorded admin connection.  The new
 * password is random, hashed here with crypt(3) in the method the
 * target's shadow uses (yescrypt or SHA-512), sealed to the
 * RecordingRecipient keys before the target is touched, and written into
 * the target's shadow atomically and only if the entry is still the one
 * read before (compare and swap).  The store keeps SHA-256 fingerprints
 * of the old and new entries, never the password: a resumed run reads
 * the entry back and finds whether the first attempt's change was made.
 */
#include "config.h"

#include <ctype.h>
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ctl/ctl.h"
#include "ctl/exit-int.h"

#define UNIXPW_LEN 24
#define ACCOUNT_MAX 32

/* "sh -s -- ROOT ACCOUNT": the account's field, another entry's method. */
static const char look_script[] =
    "set -u\n"
    "R=${1%/}; A=$2\n"
    "awk -F: -v u=\"$A\" '\n"
    "$1 == u { print \"H\\t\" $2; next }\n"
    "!m && $2 ~ /^!?\\$(y|6)\\$/ { s = $2; sub(/^!/, \"\", s); "
    "print \"M\\t\" substr(s, 2, 1); m = 1 }' \"$R/etc/shadow\"\n";

/*
 * "sh -s -- ROOT ACCOUNT OLD-SHA256", the new field in the script: set
 * only if the entry is still the old one (S set), say so if it is the
 * new one already (S same, a resumed run), else change nothing (S
 * changed); then the entry as it is now.
 */
static const char set_head[] = "set -u\n"
			       "R=${1%/}; A=$2; O=$3\n"
			       "N=$(cat <<'EON'\n";
static const char set_tail[] =
    "EON\n"
    ")\n"
    "s=\"$R/etc/shadow\"; t=\"$s.provost.$$\"\n"
    "field() { awk -F: -v u=\"$A\" '$1 == u { print $2 }' \"$s\"; }\n"
    "cur=$(field)\n"
    "if [ \"$cur\" = \"$N\" ]; then r=same\n"
    "elif [ \"$(printf '%s' \"$cur\" | sha256sum | cut -c1-64)\" != \"$O\" "
    "]; then r=changed\n"
    "else\n"
    "  d=$(( $(date +%s) / 86400 ))\n"
    "  awk -F: -v OFS=: -v u=\"$A\" -v h=\"$N\" -v d=\"$d\" "
    "'$1 == u { $2 = h; $3 = d } { print }' \"$s\" > \"$t\" &&\n"
    "  chmod --reference=\"$s\" \"$t\" && chown --reference=\"$s\" \"$t\" "
    "&&\n"
    "  sync \"$t\" && mv \"$t\" \"$s\" || { rm -f \"$t\"; exit 3; }\n"
    "  r=set\n"
    "fi\n"
    "printf 'H\\t%s\\n' \"$(field)\"\n"
    "printf 'S\\t%s\\n' \"$r\"\n";

static void
sha256_hex(const char *s, char hex[65])
{
	uint8_t md[32];
	unsigned int n = 0;

	if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1 ||
	    pv_hex_encode(md, sizeof(md), hex, 65) != 0)
		hex[0] = '\0';
}

/* A login name provost puts into a script: [A-Za-z0-9._-], no '-' first. */
static int
account_ok(const char *a)
{
	size_t i, n = a != NULL ? strlen(a) : 0;

	if (n == 0 || n > ACCOUNT_MAX || a[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)a[i]) && a[i] != '.' &&
		    a[i] != '_' && a[i] != '-')
			return 0;
	return 1;
}

/* UNIXPW_LEN random letters and digits (about 143 bits). */
static int
new_password(char pw[UNIXPW_LEN + 1])
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t b[64];
	size_t i, k = 0;

	while (k < UNIXPW_LEN) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return PV_ERR_CRYPTO;
		/* 248 = 4 * 62: no bias */
		for (i = 0; i < sizeof(b) && k < UNIXPW_LEN; i++)
			if (b[i] < 248)
				pw[k++] = set[b[i] % 62];
	}
	pw[k] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

/* crypt(pw) with a fresh salt of method ("y" or "6") into out. */
static int
hash_password(const char *pw, const char *method, char *out, size_t outlen)
{
	char prefix[8], salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = NULL;
	uint8_t rnd[32];
	const char *h;
	int r = PV_ERR_CRYPTO;

	(void)snprintf(prefix, sizeof(prefix), "$%s$", method);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    crypt_gensalt_rn(prefix, 0, (const char *)rnd, sizeof(rnd), salt,
		sizeof(salt)) == NULL)
		goto out;
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	h = crypt_rn(pw, salt, cd, sizeof(*cd));
	if (h == NULL || h[0] != '$' || strlen(h) >= outlen)
		goto out;
	memcpy(out, h, strlen(h) + 1);
	r = 0;
out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (cd != NULL) {
		OPENSSL_cleanse(cd, sizeof(*cd));
		free(cd);
	}
	return r;
}

/* 1 if pw is the password of field (a lock '!' aside). */
static int
crypt_matches(const char *pw, const char *field)
{
	struct crypt_data *cd;
	const char *h;
	int ok;

	if (field[0] == '!')
		field++;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	h = crypt_rn(pw, field, cd, sizeof(*cd));
	ok = h != NULL && h[0] == '$' && strlen(h) == strlen(field) &&
	    CRYPTO_memcmp(h, field, strlen(field)) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/*
 * Where a connection of this step is recorded: the bundle's recordings
 * during the run, beside the bundle for --reverify (the bundle is sealed
 * by its manifest then).
 */
static void
rec_path(struct exit_run *x, const char *step, const char *name, char *buf,
    size_t len)
{
	if (strncmp(step, "reverify", 8) == 0) {
		char d[4300];

		(void)snprintf(d, sizeof(d), "%s.reverify", x->dir);
		(void)mkdir(d, 0700);
		(void)snprintf(buf, len, "%s/%s-%s.pvrec", d, step, name);
	} else
		(void)snprintf(
		    buf, len, "%s/recordings/%s.pvrec", x->dir, name);
}

/* The account's entry on target, over the admin connection. */
static int
look(struct exit_run *x, const char *target, const char *account,
    const char *rec, struct store_shadow_look *l, char *why, size_t whylen)
{
	char *acct = NULL, *root = NULL, *out = NULL, arg[2200], err[512];
	size_t len = 0;
	int r;

	if (store_target_admin_get(x->c->st, target, &acct, &root) != 0) {
		(void)snprintf(why, whylen,
		    "%s has no admin account (provostctl target admin): "
		    "provost cannot reach its shadow",
		    target);
		return -1;
	}
	(void)snprintf(arg, sizeof(arg), "%s %s", root, account);
	r = ctl_remote_run(x->c, target, "exit unix-password look", look_script,
	    arg, rec, &out, &len, err, sizeof(err));
	free(acct);
	free(root);
	if (r != 0) {
		(void)snprintf(why, whylen, "not reached: %s", err);
		return -1;
	}
	r = store_shadow_parse(out, len, l, err, sizeof(err));
	free(out);
	if (r != 0) {
		(void)snprintf(
		    why, whylen, "%s's shadow on %s: %s", account, target, err);
		return -1;
	}
	return 0;
}

/* The new field into the target's shadow if the entry is still old. */
static int
set_field(struct exit_run *x, const char *target, const char *account,
    const char *field, const char *old_sha, const char *rec,
    struct store_shadow_look *l, char *why, size_t whylen)
{
	char *acct = NULL, *root = NULL, *out = NULL, *script = NULL, arg[2300],
	     err[512];
	size_t len = 0;
	int r;

	if (store_target_admin_get(x->c->st, target, &acct, &root) != 0) {
		(void)snprintf(why, whylen, "%s has no admin account", target);
		return -1;
	}
	(void)snprintf(arg, sizeof(arg), "%s %s %s", root, account, old_sha);
	free(acct);
	free(root);
	if (asprintf(&script, "%s%s\n%s", set_head, field, set_tail) < 0) {
		(void)snprintf(why, whylen, "out of memory");
		return -1;
	}
	r = ctl_remote_run(x->c, target, "exit unix-password set", script, arg,
	    rec, &out, &len, err, sizeof(err));
	free(script);
	if (r != 0) {
		(void)snprintf(why, whylen, "not set: %s", err);
		return -1;
	}
	r = store_shadow_parse(out, len, l, err, sizeof(err));
	free(out);
	if (r != 0 || l->result[0] == '\0') {
		(void)snprintf(why, whylen, "%s's shadow on %s: %s", account,
		    target, r != 0 ? err : "no result");
		return -1;
	}
	return 0;
}

static json_t *
done_detail(json_t *exp, const char *target, const char *old_sha,
    const char *new_sha, const char *method, const char *sealed, int attempt,
    const char *how)
{
	char fp[40];

	(void)snprintf(fp, sizeof(fp), "sha256:%.16s", new_sha);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:i, s:s, s:O}",
	    "hook", "builtin", "builtin", "unix-password", "fingerprint", fp,
	    "old_sha256", old_sha, "new_sha256", new_sha, "method",
	    method[0] == 'y' ? "yescrypt" : "sha512", "sealed", sealed,
	    "attempt", attempt, "message", how, "exposure", exp);
}

int
exit_unixpw_rotate(struct exit_run *x, const char *item, json_t *exp, size_t n,
    int attempt, json_t *prev)
{
	const char *target = json_string_value(json_object_get(exp, "target"));
	const char *account =
	    json_string_value(json_object_get(exp, "account"));
	const char *pnew =
	    json_string_value(json_object_get(prev, "new_sha256"));
	const char *pold =
	    json_string_value(json_object_get(prev, "old_sha256"));
	struct store_shadow_look l, s;
	char pw[UNIXPW_LEN + 1], hash[CRYPT_OUTPUT_SIZE], field[300], why[900],
	    rec[4400], name[80], cur[65], old[65], fresh[65], rel[64] = "",
							      how[200];
	const char *method;
	int r;

	if (target == NULL || !account_ok(account))
		return exit_unresolved(x, "rotate", item,
		    "unix-password needs a target and an account "
		    "([A-Za-z0-9._-], at most 32) to rotate");
	if (x->recipients == NULL)
		return exit_unresolved(x, "rotate", item,
		    "no RecordingRecipient to seal a new password to: not "
		    "run");
	(void)snprintf(name, sizeof(name), "rotate-%zu-look-%d", n, attempt);
	rec_path(x, "rotate", name, rec, sizeof(rec));
	if (look(x, target, account, rec, &l, why, sizeof(why)) != 0)
		return exit_unresolved(x, "rotate", item, why);
	sha256_hex(l.field, cur);
	/* a resumed run: did the first attempt's change reach the target? */
	if (pnew != NULL && pold != NULL) {
		const char *m = store_shadow_method(l.field);

		if (strcmp(cur, pnew) == 0) {
			(void)snprintf(how, sizeof(how),
			    "set by attempt %d (the entry read back is the "
			    "new one)",
			    attempt - 1);
			return exit_item_put(x, "rotate", item, STORE_EXIT_DONE,
			    done_detail(exp, target, pold, pnew,
				m != NULL ? m : "6",
				json_string_value(
				    json_object_get(prev, "sealed")),
				attempt, how));
		}
		if (strcmp(cur, pold) != 0)
			return exit_unresolved(x, "rotate", item,
			    "the shadow entry changed during the exit, not "
			    "by provost: check it by hand");
		/* not changed: a new password, sealed again */
	}
	memcpy(old, cur, sizeof(old));
	if (l.field[l.field[0] == '!'] != '$') {
		(void)snprintf(why, sizeof(why),
		    "%s on %s has no password to rotate (its shadow field is "
		    "'%.20s')",
		    account, target, l.field);
		return exit_unresolved(x, "rotate", item, why);
	}
	if ((method = store_shadow_method(l.field)) == NULL)
		method = l.method[0] != '\0' ? l.method : "6";
	if (new_password(pw) != 0 ||
	    hash_password(pw, method, hash, sizeof(hash)) != 0 ||
	    !crypt_matches(pw, hash)) {
		OPENSSL_cleanse(pw, sizeof(pw));
		return ctl_fail(
		    PV_ERR_CRYPTO, "crypt(3) with method %s failed", method);
	}
	/* a locked account stays locked */
	(void)snprintf(
	    field, sizeof(field), "%s%s", l.field[0] == '!' ? "!" : "", hash);
	sha256_hex(field, fresh);
	/* sealed before the target changes: a password set is never lost */
	if ((r = exit_seal_secret(x, item, n, (const uint8_t *)pw, strlen(pw),
		 rel, sizeof(rel))) != 0) {
		OPENSSL_cleanse(pw, sizeof(pw));
		(void)snprintf(why, sizeof(why),
		    "the new password could not be sealed (%s): not set",
		    pv_err_str(r));
		return exit_unresolved(x, "rotate", item, why);
	}
	if ((r = exit_item_put(x, "rotate", item, STORE_EXIT_STARTED,
		 json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "hook", "builtin",
		     "builtin", "unix-password", "old_sha256", old,
		     "new_sha256", fresh, "sealed", rel, "attempt",
		     attempt))) != 0) {
		OPENSSL_cleanse(pw, sizeof(pw));
		return r;
	}
	(void)snprintf(name, sizeof(name), "rotate-%zu-set-%d", n, attempt);
	rec_path(x, "rotate", name, rec, sizeof(rec));
	if (set_field(x, target, account, field, old, rec, &s, why,
		sizeof(why)) != 0) {
		OPENSSL_cleanse(pw, sizeof(pw));
		return exit_unresolved(x, "rotate", item, why);
	}
	/* read back: the entry is the new one, and the new password opens it */
	sha256_hex(s.field, cur);
	r = strcmp(s.result, "changed") != 0 && strcmp(cur, fresh) == 0 &&
	    crypt_matches(pw, s.field);
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(hash, sizeof(hash));
	if (!r) {
		(void)snprintf(why, sizeof(why),
		    "%s: the entry read back is not the one set (%s)", account,
		    strcmp(s.result, "changed") == 0
			? "it changed during the exit, not by provost"
			: "it does not open with the new password");
		return exit_unresolved(x, "rotate", item, why);
	}
	(void)snprintf(how, sizeof(how),
	    "set over the admin connection to %s; read back, the new "
	    "password opens it",
	    target);
	return exit_item_put(x, "rotate", item, STORE_EXIT_DONE,
	    done_detail(exp, target, old, fresh, method, rel, attempt, how));
}

int
exit_unixpw_verify(struct exit_run *x, const char *step, const char *item,
    json_t *detail, char *why, size_t whylen)
{
	json_t *exp = json_object_get(detail, "exposure");
	const char *target = json_string_value(json_object_get(exp, "target"));
	const char *account =
	    json_string_value(json_object_get(exp, "account"));
	const char *want =
	    json_string_value(json_object_get(detail, "new_sha256"));
	const char *old =
	    json_string_value(json_object_get(detail, "old_sha256"));
	struct store_shadow_look l;
	char rec[4400], name[80], cur[65];

	if (target == NULL || !account_ok(account) || want == NULL ||
	    old == NULL) {
		(void)snprintf(why, whylen,
		    "the rotation's record is "
		    "incomplete");
		return 0;
	}
	(void)snprintf(name, sizeof(name), "verify-%.40s", item);
	for (char *p = name; *p != '\0'; p++)
		if (*p == ':' || *p == '/')
			*p = '-';
	rec_path(x, step, name, rec, sizeof(rec));
	if (look(x, target, account, rec, &l, why, whylen) != 0)
		return 0;
	sha256_hex(l.field, cur);
	if (strcmp(cur, old) == 0) {
		(void)snprintf(why, whylen,
		    "%s on %s has its old password again", account, target);
		return 0;
	}
	if (strcmp(cur, want) != 0) {
		(void)snprintf(why, whylen,
		    "%s on %s has a password provost did not set (changed "
		    "after the exit)",
		    account, target);
		return 0;
	}
	return 1;
}

/*
 * sweep.c: what a target looks like where OpenSSH, PAM, sudo, cron and
 * systemd take credentials or start programs from: the script provost
 * runs there over its own admin connection, the strict parser of what the
 * script prints, the baseline kept in the store, and the differences
 * between a baseline and a later look (the exit's sweep findings).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/common.h"
#include "store/store-int.h"

#define SWEEP_TEXT_MAX (16 * 1024 * 1024)

/*
 * Run as "sh -s -- ROOT" by the target's admin account.  Lines, tab
 * separated: F sha256 mtime path; S link-target path; U user uid home
 * shell; K user sha256-of-line key-type sha256-of-the-key's-base64; L user
 * 0|1 (locked); E end.
 */
const char store_sweep_script[] =
    "set -u\n"
    "R=${1%/}\n"
    "[ -d \"$R/etc\" ] || { printf 'X\\tno /etc under the root\\n'; exit 3; }\n"
    "h() { sha256sum < \"$1\" | cut -c1-64; }\n"
    "f() {\n"
    "  p=$R$1\n"
    "  if [ -L \"$p\" ]; then printf 'S\\t%s\\t%s\\n' \"$(readlink \"$p\" | tr "
    "'\\t' ' ')\" \"$1\"\n"
    "  elif [ -f \"$p\" ]; then printf 'F\\t%s\\t%s\\t%s\\n' \"$(h \"$p\")\" "
    "\"$(stat -c %Y \"$p\")\" \"$1\"; fi\n"
    "}\n"
    "d() {\n"
    "  [ -d \"$R$1\" ] || return 0\n"
    "  for x in \"$R$1\"/* \"$R$1\"/.[!.]*; do\n"
    "    [ -e \"$x\" ] || [ -L \"$x\" ] || continue\n"
    "    f \"${x#\"$R\"}\"\n"
    "  done\n"
    "}\n"
    "for p in /etc/passwd /etc/group /etc/shadow /etc/sudoers /etc/crontab "
    "/etc/ld.so.preload /etc/rc.local /etc/ssh/sshd_config; do f $p; done\n"
    "for p in /etc/sudoers.d /etc/cron.d /etc/cron.hourly /etc/cron.daily "
    "/etc/cron.weekly /etc/cron.monthly /var/spool/cron/crontabs "
    "/etc/systemd/system /etc/pam.d /etc/ssh/sshd_config.d /etc/profile.d; "
    "do d $p; done\n"
    "while IFS=: read -r u x uid gid g home sh; do\n"
    "  printf 'U\\t%s\\t%s\\t%s\\t%s\\n' \"$u\" \"$uid\" \"$home\" \"$sh\"\n"
    "  for k in \"$home/.ssh/authorized_keys\" "
    "\"$home/.ssh/authorized_keys2\"; do\n"
    "    f \"$k\"\n"
    "    [ -f \"$R$k\" ] || continue\n"
    "    while IFS= read -r line; do\n"
    "      case $line in ''|'#'*) continue ;; esac\n"
    "      tb=$(printf '%s\\n' \"$line\" | awk '{for (i = 1; i <= NF; i++) "
    "if ($i ~ /^(ssh-|ecdsa-|sk-)/) { print $i, $(i + 1); exit }}')\n"
    "      t=${tb%% *}; b=${tb#* }\n"
    "      printf 'K\\t%s\\t%s\\t%s\\t%s\\n' \"$u\" \"$(printf '%s' \"$line\" "
    "| sha256sum | cut -c1-64)\" \"${t:-unknown}\" \"$(printf '%s' \"$b\" | "
    "sha256sum | cut -c1-64)\"\n"
    "    done < \"$R$k\"\n"
    "  done\n"
    "done < \"$R/etc/passwd\"\n"
    "if [ -r \"$R/etc/shadow\" ]; then\n"
    "  while IFS=: read -r u pw rest; do\n"
    "    case $pw in '!'*|'*'*) l=1 ;; *) l=0 ;; esac\n"
    "    printf 'L\\t%s\\t%s\\n' \"$u\" \"$l\"\n"
    "  done < \"$R/etc/shadow\"\n"
    "fi\n"
    "printf 'E\\tend\\n'\n";

/* [A-Za-z0-9._/@+:-], 1..max: paths and names the script may print. */
static int
word_ok(const char *s, size_t n, size_t max, int path)
{
	size_t i;

	if (n == 0 || n > max || (path && s[0] != '/'))
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == '-' || c == '@' || c == '+' || c == ':' ||
			(path && c == '/')))
			return 0;
	}
	if (path && (strstr(s, "/../") != NULL || strstr(s, "//") != NULL))
		return 0;
	return 1;
}

static int
hex64_ok(const char *s)
{
	size_t i;

	if (strlen(s) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
num_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 19)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* o[k1][k2] = v (v stolen). */
static int
set2(json_t *o, const char *k1, const char *k2, json_t *v)
{
	json_t *in = json_object_get(o, k1);

	if (v == NULL)
		return PV_ERR_ALLOC;
	if (in == NULL) {
		if ((in = json_object()) == NULL ||
		    json_object_set_new(o, k1, in) != 0) {
			json_decref(v);
			return PV_ERR_ALLOC;
		}
	}
	return json_object_set_new(in, k2, v) == 0 ? 0 : PV_ERR_ALLOC;
}

int
store_sweep_parse(const char *name, const char *text, size_t len, json_t **out,
    char *err, size_t errlen)
{
	json_t *o = NULL;
	char *copy = NULL, *line, *next, *f[6];
	size_t lineno = 0, nf, i;
	int r = PV_ERR_INVALID, ended = 0;

	*out = NULL;
	err[0] = '\0';
	if (len > SWEEP_TEXT_MAX || memchr(text, '\0', len) != NULL) {
		(void)snprintf(err, errlen, "%s: not the sweep's output", name);
		return PV_ERR_INVALID;
	}
	if ((copy = malloc(len + 1)) == NULL ||
	    (o = json_pack("{s:{}, s:{}, s:{}, s:{}, s:{}, s:{}}", "files",
		 "links", "users", "keys", "blobs", "locked")) == NULL) {
		free(copy);
		return PV_ERR_ALLOC;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else {
			(void)snprintf(err, errlen,
			    "%s:%zu: a line without its "
			    "end (cut short?)",
			    name, lineno);
			goto out;
		}
		if (ended) {
			(void)snprintf(err, errlen,
			    "%s:%zu: a line after the end", name, lineno);
			goto out;
		}
		for (nf = 0, f[0] = line; nf < 6;) {
			char *t = strchr(f[nf], '\t');

			nf++;
			if (t == NULL)
				break;
			*t = '\0';
			if (nf == 6) {
				nf = 7; /* too many */
				break;
			}
			f[nf] = t + 1;
		}
		r = PV_ERR_INVALID;
		if (strcmp(f[0], "F") == 0 && nf == 4 && hex64_ok(f[1]) &&
		    num_ok(f[2]) && word_ok(f[3], strlen(f[3]), 4096, 1))
			r = set2(o, "files", f[3],
			    json_pack("{s:s, s:I}", "sha256", f[1], "mtime",
				(json_int_t)strtoll(f[2], NULL, 10)));
		else if (strcmp(f[0], "S") == 0 && nf == 3 &&
		    strlen(f[1]) <= 4096 &&
		    word_ok(f[2], strlen(f[2]), 4096, 1)) {
			for (i = 0; f[1][i] != '\0'; i++)
				if ((unsigned char)f[1][i] < 0x20 ||
				    (unsigned char)f[1][i] > 0x7e)
					break;
			if (f[1][i] == '\0')
				r = set2(o, "links", f[2], json_string(f[1]));
		} else if (strcmp(f[0], "U") == 0 && nf == 5 &&
		    word_ok(f[1], strlen(f[1]), 64, 0) && num_ok(f[2]) &&
		    word_ok(f[3], strlen(f[3]), 4096, 1) &&
		    (f[4][0] == '\0' || word_ok(f[4], strlen(f[4]), 4096, 1)))
			r = set2(o, "users", f[1],
			    json_pack("{s:I, s:s, s:s}", "uid",
				(json_int_t)strtoll(f[2], NULL, 10), "home",
				f[3], "shell", f[4]));
		else if (strcmp(f[0], "K") == 0 && nf == 5 &&
		    word_ok(f[1], strlen(f[1]), 64, 0) && hex64_ok(f[2]) &&
		    word_ok(f[3], strlen(f[3]), 128, 0) && hex64_ok(f[4])) {
			r = set2(json_object_get(o, "keys"), f[1], f[2],
			    json_string(f[3]));
			if (r == 0)
				r = set2(json_object_get(o, "blobs"), f[1],
				    f[2], json_string(f[4]));
		} else if (strcmp(f[0], "L") == 0 && nf == 3 &&
		    word_ok(f[1], strlen(f[1]), 64, 0) &&
		    (strcmp(f[2], "0") == 0 || strcmp(f[2], "1") == 0))
			r = json_object_set_new(json_object_get(o, "locked"),
				f[1], json_boolean(f[2][0] == '1')) == 0
			    ? 0
			    : PV_ERR_ALLOC;
		else if (strcmp(f[0], "E") == 0 && nf == 2 &&
		    strcmp(f[1], "end") == 0) {
			ended = 1;
			r = 0;
		}
		if (r == PV_ERR_ALLOC)
			goto out;
		if (r != 0) {
			(void)snprintf(err, errlen,
			    "%s:%zu: not a line of the "
			    "sweep (\"%.40s\")",
			    name, lineno, f[0]);
			pv_str_printable(err);
			goto out;
		}
	}
	if (!ended) {
		(void)snprintf(err, errlen,
		    "%s: no end line (the script did not "
		    "finish)",
		    name);
		r = PV_ERR_INVALID;
		goto out;
	}
	*out = o;
	o = NULL;
	r = 0;
out:
	json_decref(o);
	free(copy);
	return r;
}

static int
finding(json_t *arr, const char *kind, const char *what, const char *where,
    json_int_t mtime, const char *detail)
{
	json_t *f = json_pack(
	    "{s:s, s:s, s:s}", "kind", kind, "what", what, "where", where);

	if (f == NULL ||
	    (mtime > 0 &&
		json_object_set_new(f, "changed_at", json_integer(mtime)) !=
		    0) ||
	    (detail != NULL &&
		json_object_set_new(f, "detail", json_string(detail)) != 0) ||
	    json_array_append_new(arr, f) != 0) {
		json_decref(f);
		return PV_ERR_ALLOC;
	}
	return 0;
}

int
store_sweep_diff(json_t *base, json_t *now, json_t **findings)
{
	json_t *out = json_array(), *b, *n, *v, *bk, *bv;
	const char *k, *u, *h;
	int r = 0;

	*findings = NULL;
	if (out == NULL)
		return PV_ERR_ALLOC;
	b = json_object_get(base, "files");
	n = json_object_get(now, "files");
	json_object_foreach(n, k, v)
	{
		json_int_t mt = json_integer_value(json_object_get(v, "mtime"));

		if ((bv = json_object_get(b, k)) == NULL)
			r = finding(out, "file-added",
			    "a file that was not there", k, mt,
			    json_string_value(json_object_get(v, "sha256")));
		else if (strcmp(json_string_value(json_object_get(v, "sha256")),
			     json_string_value(
				 json_object_get(bv, "sha256"))) != 0)
			r = finding(out, "file-changed", "a file changed", k,
			    mt,
			    json_string_value(json_object_get(v, "sha256")));
		if (r != 0)
			goto out;
	}
	json_object_foreach(b, k, v)
	{
		if (json_object_get(n, k) == NULL &&
		    (r = finding(out, "file-removed", "a file removed", k, 0,
			 NULL)) != 0)
			goto out;
	}
	b = json_object_get(base, "links");
	n = json_object_get(now, "links");
	json_object_foreach(n, k, v)
	{
		bv = json_object_get(b, k);
		if ((bv == NULL ||
			strcmp(json_string_value(v), json_string_value(bv)) !=
			    0) &&
		    (r = finding(out, "link-added", "a link that was not there",
			 k, 0, json_string_value(v))) != 0)
			goto out;
	}
	b = json_object_get(base, "users");
	n = json_object_get(now, "users");
	json_object_foreach(n, u, v)
	{
		if (json_object_get(b, u) == NULL &&
		    (r = finding(out, "account-added", "a new account", u, 0,
			 json_string_value(json_object_get(v, "shell")))) != 0)
			goto out;
	}
	b = json_object_get(base, "keys");
	n = json_object_get(now, "keys");
	json_object_foreach(n, u, v)
	{
		bk = json_object_get(b, u);
		json_object_foreach(v, h, bv)
		{
			char where[200];

			if (bk != NULL && json_object_get(bk, h) != NULL)
				continue;
			(void)snprintf(where, sizeof(where), "%s:%s", u, h);
			if ((r = finding(out, "key-added",
				 "an authorized key that was not there", where,
				 0, json_string_value(bv))) != 0)
				goto out;
		}
	}
	b = json_object_get(base, "locked");
	n = json_object_get(now, "locked");
	json_object_foreach(n, u, v)
	{
		bv = json_object_get(b, u);
		if (!json_is_true(v) && (bv == NULL || json_is_true(bv)) &&
		    (r = finding(out, "account-unlocked",
			 "an account that can log in with a password", u, 0,
			 NULL)) != 0)
			goto out;
	}
	*findings = out;
	return 0;
out:
	json_decref(out);
	return r;
}

int
store_target_admin_set(struct store *st, const char *actor, const char *target,
    const char *account, const char *root, const char *krl)
{
	struct st_q *s = NULL;
	char obj[128];
	int64_t id;
	int r;

	if (!store_name_valid(account) || root == NULL || root[0] != '/' ||
	    !word_ok(root, strlen(root), 1024, 1) ||
	    (krl != NULL && !word_ok(krl, strlen(krl), 1024, 1)))
		return st_fail(st, PV_ERR_INVALID,
		    "admin account: a user name; root and krl: absolute paths "
		    "of [A-Za-z0-9._/@+:-]");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_target_id(st, target, &id)) != 0 ||
	    (r = st_prep(st,
		 "INSERT INTO target_admin(target_id, account, root, krl) "
		 "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(target_id) DO UPDATE SET "
		 "account = ?2, root = ?3, krl = ?4",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, id)) != 0 ||
	    (r = st_bind_text(st, s, 2, account)) != 0 ||
	    (r = st_bind_text(st, s, 3, root)) != 0 ||
	    (krl != NULL && (r = st_bind_text(st, s, 4, krl)) != 0) ||
	    (r = st_step_done(st, s, "target admin")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "target", target)) != 0 ||
	    (r = st_audit(st, actor, "target.admin", obj,
		 json_pack("{s:s, s:s, s:s?}", "account", account, "root", root,
		     "krl", krl))) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_target_krl_get(struct store *st, const char *target, char **krl)
{
	struct st_q *s = NULL;
	int r;

	*krl = NULL;
	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = st_prep(st,
		 "SELECT a.krl FROM target_admin a JOIN targets t ON t.id = "
		 "a.target_id WHERE t.name = ?",
		 &s)) == 0 &&
	    (r = st_bind_text(st, s, 1, target)) == 0 &&
	    (r = st_step_row(st, s, "target krl")) == 1)
		r = st_col_dup(s, 0, krl) != 0 ? PV_ERR_ALLOC : 0;
	st_done(s);
	st_rollback(st);
	return r < 0 ? r : 0;
}

int
store_target_admin_get(
    struct store *st, const char *target, char **account, char **root)
{
	struct st_q *s = NULL;
	int r;

	*account = *root = NULL;
	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = st_prep(st,
		 "SELECT a.account, a.root FROM target_admin a JOIN targets t "
		 "ON t.id = a.target_id WHERE t.name = ?",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, target)) != 0)
		goto out;
	if ((r = st_step_row(st, s, "target admin")) == 1) {
		r = st_col_dup(s, 0, account) != 0 ||
			st_col_dup(s, 1, root) != 0
		    ? PV_ERR_ALLOC
		    : 0;
	} else if (r == 0)
		r = st_fail(st, PV_ERR_NOT_FOUND,
		    "target %s has no admin account (target admin)", target);
out:
	st_done(s);
	st_rollback(st);
	if (r != 0) {
		free(*account);
		free(*root);
		*account = *root = NULL;
	}
	return r;
}

int
store_baseline_put(struct store *st, const char *actor, const char *target,
    const char *text, size_t len, const char *recording, int64_t now)
{
	struct st_q *s = NULL;
	uint8_t md[32];
	char hex[65], obj[128];
	unsigned int mdlen = 0;
	int64_t id;
	int r;

	if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    pv_hex_encode(md, sizeof(md), hex, sizeof(hex)) != 0)
		return PV_ERR_CRYPTO;
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_target_id(st, target, &id)) != 0 ||
	    (r = st_prep(st,
		 "INSERT INTO target_baselines(target_id, taken_at, taken_by, "
		 "text, sha256, recording) VALUES (?, ?, ?, ?, ?, ?)",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, id)) != 0 ||
	    (r = st_bind_i64(st, s, 2, now)) != 0 ||
	    (r = st_bind_text(st, s, 3, actor)) != 0 ||
	    (r = st_bind_text_len(st, s, 4, text, len)) != 0 ||
	    (r = st_bind_text(st, s, 5, hex)) != 0 ||
	    (r = st_bind_text(st, s, 6, recording)) != 0 ||
	    (r = st_step_done(st, s, "baseline")) != 0) {
		if (r == 0)
			r = st_sqlerr(st, "baseline");
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "target", target)) != 0 ||
	    (r = st_audit(st, actor, "target.baseline", obj,
		 json_pack("{s:s, s:I, s:s?}", "sha256", hex, "bytes",
		     (json_int_t)len, "recording", recording))) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_baseline_get(
    struct store *st, const char *target, char **text, int64_t *taken_at)
{
	struct st_q *s = NULL;
	int r;

	*text = NULL;
	*taken_at = 0;
	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = st_prep(st,
		 "SELECT b.text, b.taken_at FROM target_baselines b JOIN "
		 "targets t ON t.id = b.target_id WHERE t.name = ? ORDER BY "
		 "b.id DESC LIMIT 1",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, target)) != 0)
		goto out;
	if ((r = st_step_row(st, s, "baseline")) == 1) {
		*taken_at = st_col_i64(s, 1);
		r = st_col_dup(s, 0, text) != 0 ? PV_ERR_ALLOC : 0;
	} else if (r == 0)
		r = st_fail(
		    st, PV_ERR_NOT_FOUND, "target %s has no baseline", target);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

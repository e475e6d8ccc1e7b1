/*
 * tokens.c: provostctl's pam_provost side: break-glass pvt1 tokens (token
 * issue) and the signed pvr1 revocation list (revocations export).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "pvt/pvt.h"

#define SEQ_FILE "revlist.seq"

static int
load_token_key(struct ctl *c, EVP_PKEY **key)
{
	char path[4096];
	int r;

	*key = NULL;
	if ((r = ctl_state_path(c, "token_ed25519", path, sizeof(path))) != 0)
		return ctl_fail(r, "state directory path too long");
	if ((r = pv_sshkey_load_private(path, key)) != 0)
		return ctl_fail(PV_ERR_CONFIG,
		    "%s: %s (run provostctl init first)", path, pv_err_str(r));
	return 0;
}

/*
 * The one decision path's word on engineer@target/account now (her best
 * grant, the plugins asked with "token"); *until is when access must end
 * (0: never).  Asked for a shell: the token opens a login on the target
 * itself, where no broker checks channels, so a rule that allows no shell
 * (Channels exec, say) issues none.
 */
static int
token_decide(struct ctl *c, const struct store_engineer *e,
    const struct store_target *t, const char *account, int64_t now,
    char grant_id[PV_UUID_LEN + 1], int64_t *until)
{
	struct store_decision sd;
	struct store_decide_req q = {
		.engineer = e->login,
		.target = t->name,
		.account = account,
		.channel = POLICY_CH_SHELL,
		.now = now,
		.what = "token",
	};
	int r, ok;

	grant_id[0] = '\0';
	*until = 0;
	r = ctl_decide(c, &q, &sd);
	if (r >= 0 && store_decide_audit(c->st, c->actor, &q, &sd) != 0)
		r = PV_ERR_STORE;
	if (r < 0 && r != PV_ERR_CONFIG)
		r = STORE_FAIL(r);
	else if (r == PV_ERR_CONFIG)
		r = ctl_exit_code(r);
	else {
		ok = r == PV_ALLOW && sd.d.outcome == POLICY_ALLOW;
		if (ok && sd.g != NULL &&
		    sd.d.approval != POLICY_APPROVAL_NONE) {
			ok = sd.g->state == STORE_GRANT_ACTIVE &&
			    strlen(sd.g->id) == PV_UUID_LEN;
			if (ok)
				memcpy(grant_id, sd.g->id, PV_UUID_LEN + 1);
		}
		if (ok) {
			*until = sd.d.valid_until;
			r = 0;
		} else
			r = ctl_fail(PV_ERR_DENIED, "refused: %s",
			    sd.reason[0] ? sd.reason
					 : "the policy does not allow it");
	}
	store_decision_clear(&sd);
	return r;
}

int
ctl_cmd_token_issue(struct ctl *c, int argc, char **argv)
{
	const char *lt = NULL;
	const struct ctl_opt opts[] = {
		{ "lifetime", 1, &lt, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct store_engineer *e = NULL;
	struct store_target *t = NULL;
	struct pvt_claims cl;
	EVP_PKEY *key = NULL;
	char sid[PV_UUID_LEN + 1], gid[PV_UUID_LEN + 1], keyid[160];
	char *token = NULL;
	uint64_t life, serial = 0;
	int64_t now = pv_wall_ms() / 1000, until = 0;
	char obj[64];
	int r;
	PARSE("token", "issue", opts);

	if (argc - first != 3)
		return ctl_usage(cmd, "ENGINEER TARGET ACCOUNT please");
	life = c->cfg->cert_lifetime;
	if (life > PVT_LIFETIME_MAX)
		life = PVT_LIFETIME_MAX;
	if (lt != NULL) {
		uint64_t want;

		if (pv_duration_parse(lt, &want) != 0 || want == 0)
			return ctl_usage(cmd, "--lifetime: a duration (2m)");
		if (want > life)
			return ctl_fail(PV_ERR_RANGE,
			    "--lifetime: at most %llu seconds "
			    "(CertificateLifetime)",
			    (unsigned long long)life);
		life = want;
	}
	if (!pvt_name_valid(argv[first + 2], PVT_ACCOUNT_MAX))
		return ctl_usage(cmd, "not a valid account name");
	if ((rc = ctl_load_policy(c, 1)) != 0 || (rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_engineer_get_by_login(c->st, argv[first], &e)) != 0 ||
	    (r = store_target_get(c->st, argv[first + 1], &t)) != 0) {
		rc = STORE_FAIL(r);
		goto out;
	}
	if ((rc = token_decide(c, e, t, argv[first + 2], now, gid, &until)) !=
		0 ||
	    (rc = load_token_key(c, &key)) != 0)
		goto out;
	/* Never past the grant's end or the rule's Hours window. */
	if (until != 0 && now + (int64_t)life > until) {
		if (until <= now) {
			rc =
			    ctl_fail(PV_ERR_DENIED, "refused: access ends now");
			goto out;
		}
		life = (uint64_t)(until - now);
	}
	if ((r = pv_uuid_new(sid)) != 0) {
		rc = ctl_fail(r, "cannot make a session id");
		goto out;
	}
	if (snprintf(keyid, sizeof(keyid), "provost:%s:%s", sid, e->login) <
	    0) {
		rc = ctl_fail(PV_ERR_INTERNAL, "key id");
		goto out;
	}
	/*
	 * Recorded (and audited) before it is signed.  Break-glass has no
	 * session row: the token's session id is in the key id.
	 */
	if ((r = store_credential_record(c->st, c->actor, STORE_CRED_TOKEN,
		 keyid, argv[first + 2], e->login, t->name, NULL, now,
		 now + (int64_t)life, &serial)) != 0) {
		rc = STORE_FAIL(r);
		goto out;
	}
	if ((r = pvt_claims_init(&cl, e->login, argv[first + 2], t->name, sid,
		 gid, serial, now, (uint32_t)life)) != 0 ||
	    (r = pvt_issue(key, &cl, &token)) != 0) {
		rc = ctl_fail(r, "cannot issue the token: %s", pv_err_str(r));
		goto out;
	}
	json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s?, s:I}",
	    "engineer", e->login, "target", t->name, "account", argv[first + 2],
	    "serial", (json_int_t)serial, "session", sid, "grant",
	    gid[0] ? gid : NULL, "not_after", (json_int_t)cl.not_after);
	(void)snprintf(
	    obj, sizeof(obj), "credential:%llu", (unsigned long long)serial);
	if (j == NULL ||
	    store_audit_append(c->st, c->actor, "token.issue", obj, j) != 0) {
		json_decref(j);
		rc = ctl_fail(PV_ERR_STORE, "audit: %s", store_errmsg(c->st));
		goto out;
	}
	json_decref(j);
	if (c->json)
		rc = ctl_print_json(json_pack("{s:s, s:I, s:s, s:I}", "token",
		    token, "serial", (json_int_t)serial, "session", sid,
		    "not_after", (json_int_t)cl.not_after));
	else
		printf("%s\n", token);
out:
	pv_secret_freestr(token);
	EVP_PKEY_free(key);
	store_target_free(t);
	store_engineer_free(e);
	return rc;
}

/* Collects what the store revoked into a pvr1 list. */
struct rl_ctx {
	struct pvt_revlist *rl;
	int r;
};

static void
rl_add(struct rl_ctx *x, enum pvt_rev_kind kind, const char *v)
{
	int r;

	if (x->r != 0 || v == NULL)
		return;
	if ((r = pvt_revlist_add(x->rl, kind, v)) == PV_ERR_INVALID)
		pv_warn("revocation list: skipping malformed value \"%s\"", v);
	else if (r != 0)
		x->r = r;
}

static int
rl_engineer(void *ctx, const struct store_engineer *e)
{
	if (e->disabled_at != 0 || e->provider_blocked)
		rl_add(ctx, PVT_REV_ENGINEER, e->login);
	return ((struct rl_ctx *)ctx)->r != 0;
}

static int
rl_grant(void *ctx, const struct store_grant *g)
{
	if (g->state == STORE_GRANT_REVOKED || g->state == STORE_GRANT_DENIED)
		rl_add(ctx, PVT_REV_GRANT, g->id);
	return ((struct rl_ctx *)ctx)->r != 0;
}

static int
rl_session(void *ctx, const struct store_session *s)
{
	if (s->state == STORE_SESSION_ABORTED ||
	    (s->end_reason != NULL && strncmp(s->end_reason, "killed", 6) == 0))
		rl_add(ctx, PVT_REV_SESSION, s->id);
	return ((struct rl_ctx *)ctx)->r != 0;
}

static int
rl_cred(void *ctx, const struct store_credential *cr)
{
	struct rl_ctx *x = ctx;

	if (cr->revoked_at != 0 && x->r == 0)
		x->r = pvt_revlist_add_serial(x->rl, cr->serial);
	return x->r != 0;
}

/*
 * The sequence lives in StateDirectory/revlist.seq, locked while a list is
 * written: max(last + 1, now) so that it also rises if the file is lost.
 */
static int
seq_next(int fd, int64_t now, uint64_t *seq)
{
	char buf[32];
	ssize_t n;
	uint64_t last = 0;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) < 0)
		return PV_ERR_IO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (n > 0 && pv_parse_u64(buf, 0, UINT64_MAX - 1, &last) != 0)
		return PV_ERR_INVALID;
	*seq = last + 1 > (uint64_t)now ? last + 1 : (uint64_t)now;
	return 0;
}

static int
seq_store(int fd, uint64_t seq)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)seq);

	if (n < 0 || (size_t)n >= sizeof(buf) || ftruncate(fd, 0) != 0 ||
	    pwrite(fd, buf, (size_t)n, 0) != n || fsync(fd) != 0)
		return PV_ERR_IO;
	return 0;
}

/* Builds, signs and writes the list to path; the store must be open. */
static int
revlist_export(struct ctl *c, const char *path, uint64_t *seqp, size_t *count)
{
	struct rl_ctx x = { .r = 0 };
	EVP_PKEY *key = NULL;
	char sp[4096], *text = NULL;
	size_t len = 0, k;
	int64_t now = pv_wall_ms() / 1000;
	uint64_t seq = 0;
	int fd = -1, r, rc;

	*seqp = 0;
	*count = 0;
	if ((rc = load_token_key(c, &key)) != 0)
		return rc;
	if ((x.rl = pvt_revlist_new()) == NULL) {
		rc = ctl_fail(PV_ERR_ALLOC, "out of memory");
		goto out;
	}
	if ((r = store_engineer_list(c->st, NULL, rl_engineer, &x)) != 0 ||
	    (r = store_grant_list(c->st, NULL, 0, now, rl_grant, &x)) != 0 ||
	    (r = store_session_list(c->st, 0, rl_session, &x)) != 0 ||
	    (r = store_credential_list(c->st, NULL, rl_cred, &x)) != 0) {
		rc = x.r != 0
		    ? ctl_fail(x.r, "revocation list: %s", pv_err_str(x.r))
		    : STORE_FAIL(r);
		goto out;
	}
	if ((r = ctl_state_path(c, SEQ_FILE, sp, sizeof(sp))) != 0 ||
	    (fd = open(sp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) <
		0 ||
	    flock(fd, LOCK_EX) != 0 || (r = seq_next(fd, now, &seq)) != 0) {
		rc = ctl_fail(r != 0 ? r : PV_ERR_IO, "%s: %s", sp,
		    r != 0 ? pv_err_str(r) : strerror(errno));
		goto out;
	}
	if ((r = pvt_revlist_sign(x.rl, key, now, seq, &text, &len)) != 0 ||
	    (r = pvt_revlist_write_file(path, text, len)) != 0) {
		rc = ctl_fail(r, "%s: %s", path, pv_err_str(r));
		goto out;
	}
	if ((r = seq_store(fd, seq)) != 0) {
		rc = ctl_fail(r, "%s: cannot record the sequence", sp);
		goto out;
	}
	for (k = 0; k < PVT_REV_KINDS; k++)
		*count += pvt_revlist_count(x.rl, (enum pvt_rev_kind)k);
	json_t *j = json_pack("{s:I, s:I}", "sequence", (json_int_t)seq,
	    "entries", (json_int_t)*count);
	if (snprintf(sp, sizeof(sp), "file:%s", path) < 0 || j == NULL ||
	    store_audit_append(c->st, c->actor, "revocations.export", sp, j) !=
		0) {
		json_decref(j);
		rc = ctl_fail(PV_ERR_STORE, "audit: %s", store_errmsg(c->st));
		goto out;
	}
	json_decref(j);
	*seqp = seq;
	rc = 0;
out:
	if (fd >= 0)
		close(fd); /* releases the lock */
	free(text);
	pvt_revlist_free(x.rl);
	EVP_PKEY_free(key);
	return rc;
}

int
ctl_revlist_refresh(struct ctl *c)
{
	uint64_t seq;
	size_t n;
	int rc;

	if (c->cfg->revocation_list == NULL || c->st == NULL)
		return 0;
	if ((rc = revlist_export(c, c->cfg->revocation_list, &seq, &n)) != 0)
		return rc;
	if (!c->json)
		printf("revocation list %s rewritten (sequence %llu)\n",
		    c->cfg->revocation_list, (unsigned long long)seq);
	return 0;
}

int
ctl_revlist_refresh_old(struct ctl *c, int64_t age)
{
	struct stat sb;
	uint64_t seq;
	size_t n;

	if (c->cfg->revocation_list == NULL || c->st == NULL)
		return 0;
	if (stat(c->cfg->revocation_list, &sb) == 0 &&
	    (int64_t)time(NULL) - (int64_t)sb.st_mtime < age)
		return 0;
	return revlist_export(c, c->cfg->revocation_list, &seq, &n);
}

int
ctl_cmd_revocations_export(struct ctl *c, int argc, char **argv)
{
	uint64_t seq;
	size_t n;
	PARSE("revocations", "export", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one FILE please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((rc = revlist_export(c, argv[first], &seq, &n)) != 0)
		return rc;
	if (c->json)
		return ctl_print_json(
		    json_pack("{s:s, s:I, s:I}", "file", argv[first],
			"sequence", (json_int_t)seq, "entries", (json_int_t)n));
	printf("%s: %zu entr%s, sequence %llu\n", argv[first], n,
	    n == 1 ? "y" : "ies", (unsigned long long)seq);
	return 0;
}

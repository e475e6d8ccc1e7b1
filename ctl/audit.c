/*
 * audit.c: provostctl audit verify/export/checkpoint and policy
 * check/explain (the policy helper's parser, evaluator and explainer).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"

int
ctl_cmd_audit_verify(struct ctl *c, int argc, char **argv)
{
	struct store_audit_report rep;
	const char *anchors = NULL;
	const struct ctl_opt opts[] = {
		{ "anchors", 1, &anchors, NULL },
		{ NULL, 0, NULL, NULL },
	};
	char path[4096];
	EVP_PKEY *pub = NULL;
	uint64_t nanch = 0;
	FILE *fp = NULL;
	int r;
	PARSE("audit", "verify", opts);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if (anchors != NULL && (fp = fopen(anchors, "re")) == NULL)
		return ctl_fail(PV_ERR_IO, "%s: %s", anchors, strerror(errno));
	if ((rc = ctl_open_store(c)) != 0)
		goto done;
	/* The public half on disk, so a swapped private key shows too. */
	if ((r = ctl_state_path(c, "audit_ed25519.pub", path, sizeof(path))) !=
		0 ||
	    (r = pv_sshkey_load_public(path, &pub)) != 0) {
		rc = ctl_fail(PV_ERR_CONFIG, "%s: %s", path, pv_err_str(r));
		goto done;
	}
	r = store_audit_verify(c->st, pub, &rep);
	/* The chain holds together: does it still hold what was anchored? */
	if (r == 0 && fp != NULL) {
		char what[sizeof(rep.what)];

		memcpy(what, rep.what, sizeof(what));
		r = store_audit_verify_anchors(
		    c->st, pub, anchors, fp, &nanch, &rep);
		if (r == PV_ERR_INVALID) {
			rc = ctl_fail(r, "%s", rep.what);
			goto done;
		}
		if (r == 0)
			(void)snprintf(rep.what, sizeof(rep.what),
			    "%.180s; %llu anchors held", what,
			    (unsigned long long)nanch);
	}
	if (r != 0 && r != PV_ERR_AUTH) {
		rc = ctl_fail(r, "%s", store_errmsg(c->st));
		goto done;
	}
	if (c->json) {
		rc = ctl_print_json(json_pack("{s:b, s:I, s:I, s:I, s:s, s:I}",
		    "intact", r == 0, "rows", (json_int_t)rep.rows,
		    "checkpoints", (json_int_t)rep.checkpoints, "bad_row",
		    (json_int_t)rep.bad_seq, "what", rep.what, "anchors",
		    (json_int_t)nanch));
		if (r != 0)
			rc = CTL_EXIT_TAMPERED;
	} else if (r == 0) {
		printf("audit: %s\n", rep.what);
		rc = 0;
	} else
		rc = ctl_fail(PV_ERR_AUTH, "audit: TAMPERED: %s", rep.what);
done:
	EVP_PKEY_free(pub);
	if (fp != NULL)
		(void)fclose(fp);
	return rc;
}

static int
anchor_print(void *ctx, const struct store_anchor *a)
{
	char *j = store_anchor_json(a);

	(void)ctx;
	if (j == NULL)
		return PV_ERR_ALLOC;
	(void)printf("%s\n", j);
	free(j);
	return 0;
}

int
ctl_cmd_audit_anchors_export(struct ctl *c, int argc, char **argv)
{
	const char *after = NULL;
	const struct ctl_opt opts[] = {
		{ "after", 1, &after, NULL },
		{ NULL, 0, NULL, NULL },
	};
	uint64_t seq = 0;
	int r;
	PARSE("audit", "anchors export", opts);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if (after != NULL && pv_parse_u64(after, 0, INT64_MAX, &seq) != 0)
		return ctl_usage(cmd, "--after takes a row number");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_audit_anchors(c->st, seq, anchor_print, NULL)) != 0)
		return ctl_fail(r, "%s", store_errmsg(c->st));
	if (fflush(stdout) != 0)
		return ctl_fail(PV_ERR_IO, "stdout: write failed");
	return 0;
}

int
ctl_cmd_audit_export(struct ctl *c, int argc, char **argv)
{
	const char *format = NULL, *since = NULL;
	const struct ctl_opt opts[] = {
		{ "format", 1, &format, NULL },
		{ "since", 1, &since, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int64_t t = 0;
	int r;
	PARSE("audit", "export", opts);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if (format == NULL || strcmp(format, "jsonl") != 0)
		return ctl_usage(cmd, "--format jsonl is required");
	if (since != NULL &&
	    ctl_parse_time(since, pv_wall_ms() / 1000, &t) != 0)
		return ctl_usage(cmd,
		    "--since: RFC 3339 (2026-11-27T20:00:00Z), a date, unix "
		    "seconds, or a duration ago (1h)");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_audit_export(c->st, t * 1000, stdout)) != 0)
		return ctl_fail(r, "%s", store_errmsg(c->st));
	return 0;
}

int
ctl_cmd_audit_checkpoint(struct ctl *c, int argc, char **argv)
{
	uint64_t seq;
	int r;
	PARSE("audit", "checkpoint", NULL);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_audit_checkpoint(c->st, &seq)) != 0)
		return ctl_fail(r, "%s", store_errmsg(c->st));
	if (c->json)
		return ctl_print_json(
		    json_pack("{s:I}", "row", (json_int_t)seq));
	printf(
	    "audit: checkpoint signed at row %llu\n", (unsigned long long)seq);
	return 0;
}

/* Opening the store applies its migrations, each in one transaction. */
int
ctl_cmd_store_migrate(struct ctl *c, int argc, char **argv)
{
	int v = 0, r;
	PARSE("store", "migrate", NULL);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_schema_version(c->st, &v)) != 0)
		return ctl_fail(r, "%s", store_errmsg(c->st));
	if (c->json)
		return ctl_print_json(json_pack("{s:i}", "schema_version", v));
	printf("store: schema version %d (up to date)\n", v);
	return 0;
}

/* FROM and TO as Store takes them; a bare path is a SQLite file. */
static int
copy_open(const char *where, int must_exist, struct store **st)
{
	const char *p = strncmp(where, "sqlite:", 7) == 0 ? where + 7 : where;
	int r;

	if (store_where_is_file(where) && must_exist && access(p, F_OK) != 0)
		return ctl_fail(PV_ERR_NOT_FOUND, "%s: no store", p);
	if (store_where_is_file(where) && !must_exist && access(p, F_OK) == 0)
		return ctl_fail(PV_ERR_EXISTS,
		    "%s exists: store copy makes a new store", p);
	if ((r = store_open(p, st)) != 0)
		return store_where_is_file(where)
		    ? ctl_fail(r, "%s: cannot open the store", p)
		    : ctl_exit_code(r);
	return 0;
}

/*
 * A SQLite store into an empty PostgreSQL one, then the copy's audit
 * chain verified with this broker's audit key and its head compared.
 */
int
ctl_cmd_store_copy(struct ctl *c, int argc, char **argv)
{
	struct store *from = NULL, *to = NULL;
	struct store_audit_report a, b;
	char path[4096];
	EVP_PKEY *pub = NULL;
	uint64_t rows = 0;
	int r;
	PARSE("store", "copy", NULL);

	if (argc - first != 2)
		return ctl_usage(cmd, "FROM and TO please");
	if ((r = ctl_state_path(c, "audit_ed25519.pub", path, sizeof(path))) !=
		0 ||
	    (r = pv_sshkey_load_public(path, &pub)) != 0) {
		rc = ctl_fail(PV_ERR_CONFIG, "%s: %s", path, pv_err_str(r));
		goto out;
	}
	if ((rc = copy_open(argv[first], 1, &from)) != 0 ||
	    (rc = copy_open(argv[first + 1], 0, &to)) != 0)
		goto out;
	if ((r = store_audit_verify(from, pub, &a)) != 0) {
		rc = ctl_fail(r, "the source's audit chain: %s", a.what);
		goto out;
	}
	if ((r = store_copy(from, to, &rows)) != 0) {
		rc = ctl_fail(r, "%s", store_errmsg(to));
		goto out;
	}
	if ((r = store_audit_verify(to, pub, &b)) != 0) {
		rc = ctl_fail(r, "the copy's audit chain: %s", b.what);
		goto out;
	}
	if (a.rows != b.rows || a.checkpoints != b.checkpoints) {
		rc = ctl_fail(PV_ERR_STORE,
		    "the copy has %llu audit rows, the source %llu",
		    (unsigned long long)b.rows, (unsigned long long)a.rows);
		goto out;
	}
	if (c->json)
		rc = ctl_print_json(json_pack("{s:I, s:I, s:I}", "rows",
		    (json_int_t)rows, "audit_rows", (json_int_t)b.rows,
		    "checkpoints", (json_int_t)b.checkpoints));
	else {
		printf("store copy: %llu rows; the copy's %s\n",
		    (unsigned long long)rows, b.what);
		rc = 0;
	}
out:
	store_close(to);
	store_close(from);
	EVP_PKEY_free(pub);
	return rc;
}

int
ctl_cmd_policy_check(struct ctl *c, int argc, char **argv)
{
	char err[PV_CONF_ERR_MAX];
	struct policy *p = NULL;
	struct pv_buf *b = NULL;
	char *text = NULL;
	int r;
	PARSE("policy", "check", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one FILE please");
	if ((r = policy_load_file(argv[first], &p, err, sizeof(err))) != 0)
		return ctl_fail(PV_ERR_CONFIG, "%s", err);
	if ((b = pv_buf_new(PV_BUF_DEFAULT_MAX)) == NULL ||
	    (r = policy_summary(p, b)) != 0 ||
	    (r = pv_buf_dup_cstring(b, &text)) != 0) {
		rc = ctl_fail(r ? r : PV_ERR_ALLOC, "policy summary failed");
		goto out;
	}
	if (c->json)
		rc = ctl_print_json(
		    json_pack("{s:s, s:b, s:I, s:I}", "file", argv[first],
			"valid", 1, "rules", (json_int_t)policy_rule_count(p),
			"levels", (json_int_t)policy_level_count(p)));
	else {
		fputs(text, stdout);
		printf("%s: OK\n", argv[first]);
	}
out:
	free(text);
	pv_buf_free(b);
	policy_free(p);
	return rc;
}

int
ctl_cmd_policy_explain(struct ctl *c, int argc, char **argv)
{
	const char *chan = NULL, *at = NULL;
	const struct ctl_opt opts[] = {
		{ "channel", 1, &chan, NULL },
		{ "at", 1, &at, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct store_decision sd = { 0 };
	struct store_decide_req q;
	struct pv_buf *b = NULL;
	int64_t now = pv_wall_ms() / 1000;
	unsigned int ch = 0;
	char *text = NULL;
	int r;
	PARSE("policy", "explain", opts);

	if (argc - first != 3)
		return ctl_usage(cmd, "ENGINEER TARGET ACCOUNT please");
	if (chan != NULL && (ch = policy_channel_parse(chan)) == 0)
		return ctl_usage(cmd, "--channel: shell, exec, sftp, scp, ...");
	if (at != NULL && ctl_parse_time(at, now, &now) != 0)
		return ctl_usage(cmd, "--at: RFC 3339 or unix seconds");
	if ((rc = ctl_load_policy(c, 1)) != 0 || (rc = ctl_open_store(c)) != 0)
		return rc;
	if ((b = pv_buf_new(PV_BUF_DEFAULT_MAX)) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	/* The broker's own path: the same rows, checks and plugins. */
	q = (struct store_decide_req){
		.engineer = argv[first],
		.target = argv[first + 1],
		.account = argv[first + 2],
		.channel = ch,
		.now = now,
		.explain = b,
	};
	if ((r = ctl_decide(c, &q, &sd)) < 0) {
		rc = r == PV_ERR_CONFIG ? ctl_exit_code(r)
		    : r == PV_ERR_NOT_FOUND
		    ? ctl_fail(r, "%s", store_errmsg(c->st))
		    : ctl_fail(r, "policy explain failed");
		goto out;
	}
	if ((r = pv_buf_dup_cstring(b, &text)) != 0) {
		rc = ctl_fail(r, "policy explain failed");
		goto out;
	}
	if (c->json) {
		rc = ctl_print_json(
		    json_pack("{s:s, s:s?, s:s, s:s?, s:b, s:b, s:b, s:b, s:s}",
			"outcome", policy_outcome_name(sd.d.outcome), "rule",
			sd.d.rule, "reason", sd.reason, "grant",
			sd.g != NULL ? sd.g->id : NULL, "engineer_disabled",
			sd.e->disabled_at != 0, "provider_blocked",
			sd.e->provider_blocked, "target_has_account",
			store_target_has_account(sd.t, argv[first + 2]),
			"plugin_refused", sd.vetoed, "explanation", text));
		goto out;
	}
	fputs(text, stdout);
	if (sd.e->disabled_at != 0 || sd.e->provider_blocked)
		printf("note: %s is %s: the broker refuses every connection "
		       "before this decision\n",
		    sd.e->login,
		    sd.e->disabled_at ? "disabled"
				      : "of a revoked or exited "
					"provider");
	if (!store_target_has_account(sd.t, argv[first + 2]))
		printf("note: target %s has no account %s in the inventory\n",
		    sd.t->name, argv[first + 2]);
	if (sd.vetoed)
		printf("note: refused by the plugins: %s\n", sd.reason);
	rc = 0;
out:
	free(text);
	pv_buf_free(b);
	store_decision_clear(&sd);
	return rc;
}

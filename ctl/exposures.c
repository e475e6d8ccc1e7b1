/*
 * exposures.c: provostctl exposure add|list|import: the static secrets a
 * provider was shown, to be rotated at its exit; and incidents import,
 * outages import, which read their files the same way.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

#define IMPORT_FILE_MAX (16UL << 20)
#define IMPORT_BIG_MAX (256UL << 20) /* a year of a large ticket export */

json_t *
ctl_exposure_json(const struct store_exposure *x)
{
	json_t *j = json_pack(
	    "{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:s, s:s?, s:I, s:I}",
	    "source", x->source, "provider", x->provider, "engineer",
	    x->engineer, "target", x->target, "system", x->system, "account",
	    x->account, "kind", x->kind, "reference", x->reference, "note",
	    x->note, "exposed_at", (json_int_t)x->exposed_at, "rotated_at",
	    (json_int_t)x->rotated_at);

	if (j == NULL)
		return NULL;
	if ((x->id != 0 &&
		json_object_set_new(j, "id", json_integer(x->id)) != 0) ||
	    (x->sessions != 0 &&
		(json_object_set_new(
		     j, "sessions", json_integer(x->sessions)) != 0 ||
		    json_object_set_new(
			j, "last_at", json_integer(x->last_at)) != 0))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

const char *
ctl_exposure_where(const struct store_exposure *x, char *buf, size_t len)
{
	const char *place = x->target != NULL ? x->target : x->system;

	if (snprintf(buf, len, "%s%s%s", x->account ? x->account : "",
		x->account ? "@" : "", place ? place : "?") < 0)
		return "?";
	return buf;
}

struct xl {
	json_t *arr;
	int err;
};

static int
list_cb(void *ctx, const struct store_exposure *x)
{
	struct xl *l = ctx;
	char where[512], t[32];
	json_t *j;

	if (l->arr != NULL) {
		if ((j = ctl_exposure_json(x)) == NULL ||
		    json_array_append_new(l->arr, j) != 0) {
			l->err = PV_ERR_ALLOC;
			return 1;
		}
		return 0;
	}
	printf("%-8s %-12s %-28s %-14s %s", x->source, x->provider,
	    ctl_exposure_where(x, where, sizeof(where)), x->kind, x->reference);
	if (x->sessions != 0)
		printf(" (%lld by %s, last %s)", (long long)x->sessions,
		    x->engineer ? x->engineer : "?",
		    ctl_time(x->last_at, t, sizeof(t)));
	else if (x->engineer != NULL)
		printf(" (shown to %s)", x->engineer);
	if (x->rotated_at != 0)
		printf(" rotated %s", ctl_time(x->rotated_at, t, sizeof(t)));
	printf("\n");
	return 0;
}

int
ctl_cmd_exposure_list(struct ctl *c, int argc, char **argv)
{
	const char *provider = NULL;
	const struct ctl_opt opts[] = {
		{ "provider", 1, &provider, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct xl l = { 0 };
	int r;
	PARSE("exposure", "list", opts);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if (c->json && (l.arr = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if (!c->json)
		printf("%-8s %-12s %-28s %-14s %s\n", "SOURCE", "PROVIDER",
		    "ACCOUNT@WHERE", "KIND", "REFERENCE");
	if ((r = store_exposure_list(c->st, provider, list_cb, &l)) != 0 ||
	    l.err != 0) {
		json_decref(l.arr);
		return l.err != 0 ? ctl_fail(l.err, "out of memory")
				  : STORE_FAIL(r);
	}
	return c->json ? ctl_print_json(l.arr) : 0;
}

int
ctl_cmd_exposure_add(struct ctl *c, int argc, char **argv)
{
	struct store_exposure_spec x = { 0 };
	const struct ctl_opt opts[] = {
		{ "provider", 1, &x.provider, NULL },
		{ "engineer", 1, &x.engineer, NULL },
		{ "target", 1, &x.target, NULL },
		{ "system", 1, &x.system, NULL },
		{ "account", 1, &x.account, NULL },
		{ "kind", 1, &x.kind, NULL },
		{ "reference", 1, &x.reference, NULL },
		{ "note", 1, &x.note, NULL },
		{ NULL, 0, NULL, NULL },
	};
	const char *why;
	int r, added = 0;
	PARSE("exposure", "add", opts);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please (options only)");
	if ((why = store_exposure_check(&x)) != NULL)
		return ctl_usage(cmd, why);
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_exposure_add(
		 c->st, c->actor, &x, pv_wall_ms() / 1000, &added)) != 0)
		return STORE_FAIL(r);
	if (c->json)
		return ctl_print_json(json_pack("{s:b}", "added", added));
	printf("exposure %s: %s%s%s, %s, %s\n",
	    added ? "added" : "already recorded", x.account ? x.account : "",
	    x.account ? "@" : "", x.target ? x.target : x.system, x.kind,
	    x.reference);
	return 0;
}

int
ctl_cmd_exposure_import(struct ctl *c, int argc, char **argv)
{
	char err[512];
	uint8_t *data = NULL;
	size_t len = 0, added = 0, present = 0;
	int r;
	PARSE("exposure", "import", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one FILE please (CSV or JSON lines)");
	if ((r = pv_file_read(argv[first], IMPORT_FILE_MAX, &data, &len)) != 0)
		return ctl_fail(r, "%s: %s", argv[first], pv_err_str(r));
	if ((rc = ctl_open_store(c)) != 0) {
		free(data);
		return rc;
	}
	r = store_exposure_import(c->st, c->actor, argv[first],
	    (const char *)data, len, pv_wall_ms() / 1000, &added, &present, err,
	    sizeof(err));
	free(data);
	if (r != 0)
		return ctl_fail(r, "%s", err[0] != '\0' ? err : pv_err_str(r));
	if (c->json)
		return ctl_print_json(
		    json_pack("{s:s, s:I, s:I}", "file", argv[first], "added",
			(json_int_t)added, "present", (json_int_t)present));
	printf("%s: %zu exposure%s added, %zu already recorded\n", argv[first],
	    added, added == 1 ? "" : "s", present);
	return 0;
}

/* incidents import / outages import: the sla plugin's data. */
static int
import_cmd(struct ctl *c, const struct ctl_cmd *cmd, const char *file,
    const char *what,
    int (*imp)(struct store *, const char *, const char *, const char *, size_t,
	int64_t, struct store_import_counts *, char *, size_t))
{
	struct store_import_counts n;
	char err[512];
	uint8_t *data = NULL;
	size_t len = 0;
	int r, rc;

	(void)cmd;
	if ((r = pv_file_read(file, IMPORT_BIG_MAX, &data, &len)) != 0)
		return ctl_fail(r, "%s: %s", file, pv_err_str(r));
	if ((rc = ctl_open_store(c)) != 0) {
		free(data);
		return rc;
	}
	r = imp(c->st, c->actor, file, (const char *)data, len,
	    pv_wall_ms() / 1000, &n, err, sizeof(err));
	free(data);
	if (r != 0)
		return ctl_fail(r, "%s (nothing imported)",
		    err[0] != '\0' ? err : pv_err_str(r));
	if (c->json)
		return ctl_print_json(json_pack("{s:s, s:I, s:I, s:I}", "file",
		    file, "added", (json_int_t)n.added, "updated",
		    (json_int_t)n.updated, "present", (json_int_t)n.present));
	printf("%s: %zu %s added, %zu updated, %zu already recorded\n", file,
	    n.added, what, n.updated, n.present);
	return 0;
}

int
ctl_cmd_incidents_import(struct ctl *c, int argc, char **argv)
{
	PARSE("incidents", "import", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one FILE please (CSV or JSON lines)");
	return import_cmd(
	    c, cmd, argv[first], "incidents", store_incident_import);
}

int
ctl_cmd_outages_import(struct ctl *c, int argc, char **argv)
{
	PARSE("outages", "import", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one FILE please (CSV or JSON lines)");
	return import_cmd(c, cmd, argv[first], "outages", store_outage_import);
}

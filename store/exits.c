/*
 * exits.c: a provider's exit as the store keeps it: the run (exits) and
 * each finished item of its steps (exit_items), so that a run stopped
 * anywhere resumes where it stopped, and every change is audited.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

static const char *const exit_state_names[] = {
	[STORE_EXIT_STARTED] = "started",
	[STORE_EXIT_DONE] = "done",
	[STORE_EXIT_UNRESOLVED] = "unresolved",
};

const char *
store_exit_state_name(enum store_exit_state s)
{
	if ((unsigned int)s > STORE_EXIT_UNRESOLVED)
		return "?";
	return exit_state_names[s];
}

static enum store_exit_state
exit_state_parse(const char *s)
{
	if (s != NULL && strcmp(s, "done") == 0)
		return STORE_EXIT_DONE;
	if (s != NULL && strcmp(s, "unresolved") == 0)
		return STORE_EXIT_UNRESOLVED;
	return STORE_EXIT_STARTED;
}

void
store_exit_free(struct store_exit *x)
{
	if (x == NULL)
		return;
	free(x->provider);
	free(x->started_by);
	free(x->certificate_sha256);
	free(x->bundle);
	free(x);
}

void
store_exit_item_free(struct store_exit_item *i)
{
	if (i == NULL)
		return;
	free(i->step);
	free(i->item);
	free(i->detail);
	free(i);
}

#define EXIT_COLS                                                         \
	"x.id, p.name, x.started_by, x.started_at, "                      \
	"coalesce(x.contract_end, 0), coalesce(x.finished_at, 0), "       \
	"x.certificate_sha256, x.bundle, x.legal_hold FROM exits x JOIN " \
	"providers p ON p.id = x.provider_id"

static int
exit_from_row(struct st_q *s, struct store_exit **out)
{
	struct store_exit *x;
	const char *id = st_col_text(s, 0);

	*out = NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return PV_ERR_ALLOC;
	(void)snprintf(x->id, sizeof(x->id), "%s", id != NULL ? id : "");
	x->started_at = st_col_i64(s, 3);
	x->contract_end = st_col_i64(s, 4);
	x->finished_at = st_col_i64(s, 5);
	x->legal_hold = st_col_int(s, 8);
	if (st_col_dup(s, 1, &x->provider) != 0 ||
	    st_col_dup(s, 2, &x->started_by) != 0 ||
	    st_col_dup(s, 6, &x->certificate_sha256) != 0 ||
	    st_col_dup(s, 7, &x->bundle) != 0) {
		store_exit_free(x);
		return PV_ERR_ALLOC;
	}
	*out = x;
	return 0;
}

/* In the caller's transaction. */
static int
exit_get_locked(struct store *st, const char *provider, struct store_exit **out)
{
	struct st_q *s = NULL;
	int r;

	*out = NULL;
	if ((r = st_prep(st, "SELECT " EXIT_COLS " WHERE p.name = ?", &s)) !=
		0 ||
	    (r = st_bind_text(st, s, 1, provider)) != 0)
		goto out;
	if ((r = st_step_row(st, s, "exit get")) == 1)
		r = exit_from_row(s, out);
	else if (r == 0)
		r = st_fail(
		    st, PV_ERR_NOT_FOUND, "provider %s has no exit", provider);
out:
	st_done(s);
	return r;
}

int
store_exit_get(struct store *st, const char *provider, struct store_exit **out)
{
	int r;

	if ((r = st_begin(st, 0)) != 0)
		return r;
	r = exit_get_locked(st, provider, out);
	st_rollback(st);
	return r;
}

int
store_exit_begin(struct store *st, const char *actor, const char *provider,
    int64_t contract_end, int64_t now, struct store_exit **out, int *created)
{
	struct st_q *s = NULL;
	char id[PV_UUID_LEN + 1], obj[128];
	int64_t pid;
	int r;

	*out = NULL;
	*created = 0;
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_provider_id(st, provider, &pid)) != 0)
		goto out;
	r = exit_get_locked(st, provider, out);
	if (r == 0) {
		st_rollback(st);
		return 0;
	}
	if (r != PV_ERR_NOT_FOUND)
		goto out;
	if ((r = pv_uuid_new(id)) != 0 ||
	    (r = st_prep(st,
		 "INSERT INTO exits(id, provider_id, started_at, started_by, "
		 "contract_end) VALUES (?, ?, ?, ?, nullif(?, 0))",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, id)) != 0 ||
	    (r = st_bind_i64(st, s, 2, pid)) != 0 ||
	    (r = st_bind_i64(st, s, 3, now)) != 0 ||
	    (r = st_bind_text(st, s, 4, actor)) != 0 ||
	    (r = st_bind_i64(st, s, 5, contract_end)) != 0 ||
	    (r = st_step_done(st, s, "exit begin")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_prep(st,
		 "UPDATE providers SET status = 'exiting' WHERE id = ? AND "
		 "status = 'active'",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, pid)) != 0 ||
	    (r = st_step_done(st, s, "exit begin")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "provider", provider)) != 0 ||
	    (r = st_audit(st, actor, "exit.start", obj,
		 json_pack("{s:s, s:I}", "exit", id, "contract_end",
		     (json_int_t)contract_end))) != 0 ||
	    (r = exit_get_locked(st, provider, out)) != 0 ||
	    (r = st_commit(st)) != 0)
		goto out;
	*created = 1;
	return 0;
out:
	st_done(s);
	store_exit_free(*out);
	*out = NULL;
	st_rollback(st);
	return r;
}

static int
item_from_row(struct st_q *s, struct store_exit_item **out)
{
	struct store_exit_item *i;

	*out = NULL;
	if ((i = calloc(1, sizeof(*i))) == NULL)
		return PV_ERR_ALLOC;
	i->state = exit_state_parse(st_col_text(s, 2));
	i->updated_at = st_col_i64(s, 4);
	i->attempts = st_col_int(s, 5);
	if (st_col_dup(s, 0, &i->step) != 0 ||
	    st_col_dup(s, 1, &i->item) != 0 ||
	    st_col_dup(s, 3, &i->detail) != 0) {
		store_exit_item_free(i);
		return PV_ERR_ALLOC;
	}
	*out = i;
	return 0;
}

#define ITEM_COLS "step, item, state, detail, updated_at, attempts"

int
store_exit_item_get(struct store *st, const char *exit_id, const char *step,
    const char *item, struct store_exit_item **out)
{
	struct st_q *s = NULL;
	int r;

	*out = NULL;
	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = st_prep(st,
		 "SELECT " ITEM_COLS " FROM exit_items WHERE exit_id = ? AND "
		 "step = ? AND item = ?",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, exit_id)) != 0 ||
	    (r = st_bind_text(st, s, 2, step)) != 0 ||
	    (r = st_bind_text(st, s, 3, item)) != 0)
		goto out;
	if ((r = st_step_row(st, s, "exit item")) == 1)
		r = item_from_row(s, out);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_exit_item_set(struct store *st, const char *actor, const char *exit_id,
    const char *step, const char *item, enum store_exit_state state,
    json_t *detail, int64_t now)
{
	struct st_q *s = NULL;
	char *text = NULL, obj[128];
	int r;

	if ((unsigned int)state > STORE_EXIT_UNRESOLVED) {
		json_decref(detail);
		return st_fail(st, PV_ERR_INVALID, "unknown exit item state");
	}
	if (detail == NULL)
		detail = json_object();
	if (detail == NULL ||
	    (text = json_dumps(detail, JSON_SORT_KEYS | JSON_COMPACT)) ==
		NULL) {
		json_decref(detail);
		return PV_ERR_ALLOC;
	}
	if ((r = st_begin(st, 1)) != 0)
		goto out;
	if ((r = st_prep(st,
		 "INSERT INTO exit_items(exit_id, step, item, state, detail, "
		 "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT("
		 "exit_id, step, item) DO UPDATE SET state = ?4, detail = ?5, "
		 "updated_at = ?6, attempts = exit_items.attempts + CASE WHEN "
		 "?4 = 'started' THEN 1 ELSE 0 END",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, exit_id)) != 0 ||
	    (r = st_bind_text(st, s, 2, step)) != 0 ||
	    (r = st_bind_text(st, s, 3, item)) != 0 ||
	    (r = st_bind_text(st, s, 4, store_exit_state_name(state))) != 0 ||
	    (r = st_bind_text(st, s, 5, text)) != 0 ||
	    (r = st_bind_i64(st, s, 6, now)) != 0 ||
	    (r = st_step_done(st, s, "exit item")) != 0)
		goto fail;
	st_done(s);
	s = NULL;
	/* The row names the exit; details say what became of the item. */
	if ((r = st_object(obj, sizeof(obj), "exit", exit_id)) != 0 ||
	    (r = st_audit(st, actor, "exit.item", obj,
		 json_pack("{s:s, s:s, s:s, s:O}", "step", step, "item", item,
		     "state", store_exit_state_name(state), "detail",
		     detail))) != 0)
		goto fail;
	r = st_commit(st);
	goto out;
fail:
	st_done(s);
	st_rollback(st);
out:
	free(text);
	json_decref(detail);
	return r;
}

int
store_exit_item_list(struct store *st, const char *exit_id, const char *step,
    store_exit_item_cb cb, void *ctx)
{
	struct st_q *s = NULL;
	struct store_exit_item *i = NULL;
	int r;

	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = st_prep_once(st,
		 "SELECT " ITEM_COLS " FROM exit_items WHERE exit_id = ?1 AND "
		 "(CAST(?2 AS TEXT) IS NULL OR step = ?2) ORDER BY rowid",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, exit_id)) != 0 ||
	    (step != NULL && (r = st_bind_text(st, s, 2, step)) != 0))
		goto out;
	while ((r = st_step_row(st, s, "exit items")) == 1) {
		if ((r = item_from_row(s, &i)) != 0)
			goto out;
		r = cb(ctx, i);
		store_exit_item_free(i);
		if (r != 0)
			goto out;
	}
out:
	st_free(s);
	st_rollback(st);
	return r;
}

int
store_exit_finish(struct store *st, const char *actor, const char *exit_id,
    const char *bundle, const char *certificate_sha256, int64_t now)
{
	struct st_q *s = NULL;
	char obj[128];
	int r;

	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep(st,
		 "UPDATE exits SET finished_at = ?2, bundle = ?3, "
		 "certificate_sha256 = ?4 WHERE id = ?1",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, exit_id)) != 0 ||
	    (r = st_bind_i64(st, s, 2, now)) != 0 ||
	    (r = st_bind_text(st, s, 3, bundle)) != 0 ||
	    (r = st_bind_text(st, s, 4, certificate_sha256)) != 0 ||
	    (r = st_step_done(st, s, "exit finish")) != 0)
		goto out;
	if (st_changes(st) != 1) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "no exit %s", exit_id);
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_prep(st,
		 "UPDATE providers SET status = 'exited' WHERE id = (SELECT "
		 "provider_id FROM exits WHERE id = ?)",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, exit_id)) != 0 ||
	    (r = st_step_done(st, s, "exit finish")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "exit", exit_id)) != 0 ||
	    (r = st_audit(st, actor, "exit.finish", obj,
		 json_pack("{s:s, s:s}", "bundle", bundle, "certificate_sha256",
		     certificate_sha256))) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_exit_hold(struct store *st, const char *actor, const char *provider,
    int hold, const char *why)
{
	struct st_q *s = NULL;
	struct store_exit *x = NULL;
	char obj[128];
	int r;

	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = exit_get_locked(st, provider, &x)) != 0 ||
	    (r = st_prep(st, "UPDATE exits SET legal_hold = ? WHERE id = ?",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, hold ? 1 : 0)) != 0 ||
	    (r = st_bind_text(st, s, 2, x->id)) != 0 ||
	    (r = st_step_done(st, s, "exit hold")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "provider", provider)) != 0 ||
	    (r = st_audit(st, actor, "exit.hold", obj,
		 json_pack("{s:s, s:b, s:s?}", "exit", x->id, "hold", hold,
		     "reason", why))) != 0)
		goto out;
	store_exit_free(x);
	return st_commit(st);
out:
	st_done(s);
	store_exit_free(x);
	st_rollback(st);
	return r;
}

int
store_exit_of_engineer(struct store *st, const char *login)
{
	struct st_q *s = NULL;
	int r;

	if ((r = st_prep(st,
		 "SELECT 1 FROM exits x JOIN engineers e ON e.provider_id = "
		 "x.provider_id WHERE e.login = ?",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, login)) != 0)
		goto out;
	r = st_step_row(st, s, "exit of engineer");
out:
	st_done(s);
	return r < 0 ? 0 : r;
}

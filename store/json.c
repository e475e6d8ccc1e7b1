/*
 * json.c: the store's rows as JSON, one shape for every reader:
 * provostctl's --json output and the plugins' queries (store_query).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/store-int.h"

json_t *
store_provider_json(const struct store_provider *p)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:i}", "name", p->name,
	    "status", store_provider_status_name(p->status), "contract_start",
	    (json_int_t)p->contract_start, "contract_end",
	    (json_int_t)p->contract_end, "created_at",
	    (json_int_t)p->created_at, "revoked_at", (json_int_t)p->revoked_at,
	    "engineers", p->engineers);
}

json_t *
store_engineer_json(const struct store_engineer *e)
{
	return json_pack("{s:s, s:s, s:s?, s:I, s:I, s:b, s:b, s:i}", "login",
	    e->login, "provider", e->provider, "clearance", e->clearance,
	    "created_at", (json_int_t)e->created_at, "disabled_at",
	    (json_int_t)e->disabled_at, "provider_blocked", e->provider_blocked,
	    "totp", e->has_totp, "keys", e->keys);
}

json_t *
store_target_json(const struct store_target *t)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < t->naccounts; i++) {
		if (json_array_append_new(a, json_string(t->accounts[i])) !=
		    0) {
			json_decref(a);
			return NULL;
		}
	}
	if (a == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:o, s:I, s:s?}",
	    "name", t->name, "host", t->host, "port", (int)t->port,
	    "classification", t->classification, "hostkey", t->hostkey, "auth",
	    store_auth_name(t->auth), "accounts", a, "created_at",
	    (json_int_t)t->created_at, "region", t->region);
}

json_t *
store_grant_json(const struct store_grant *g)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s?, s:s?, "
			 "s:s?, s:s?, s:I, s:I, s:I, s:I, s:b}",
	    "id", g->id, "engineer", g->engineer, "target", g->target,
	    "account", g->account, "rule", g->rule, "state",
	    store_grant_state_name(g->state), "approvals", g->approvals,
	    "approvals_needed", g->approvals_needed, "group", g->group,
	    "ticket", g->ticket, "reason", g->reason, "requested_by",
	    g->requested_by, "requested_at", (json_int_t)g->requested_at,
	    "not_before", (json_int_t)g->not_before, "not_after",
	    (json_int_t)g->not_after, "duration", (json_int_t)g->duration,
	    "capped", g->capped);
}

json_t *
store_session_json(const struct store_session *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:I, "
			 "s:I, s:I, s:I, s:I}",
	    "id", s->id, "engineer", s->engineer, "target", s->target,
	    "account", s->account, "grant", s->grant_id, "client",
	    s->client_addr, "recording_sha256", s->recording_sha256,
	    "end_reason", s->end_reason, "start", (json_int_t)s->started_at,
	    "end", (json_int_t)s->ended_at, "bytes_in", (json_int_t)s->bytes_in,
	    "bytes_out", (json_int_t)s->bytes_out, "recording_size",
	    (json_int_t)s->recording_size);
}

/*
 * migrate.c: the store's schema, one migration per schema version (kept
 * by the engine), each applied in one transaction so a crash leaves the
 * old schema.
 */
#include "config.h"

#include <stdio.h>

#include "common/common.h"
#include "store/store-int.h"

/* Version 1: the tables of DESIGN.md "Governance store". */
static const char schema_v1[] =
    "CREATE TABLE providers("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " status TEXT NOT NULL DEFAULT 'active'"
    "  CHECK(status IN ('active','exiting','exited')),"
    " contract_start INTEGER, contract_end INTEGER,"
    " created_at INTEGER NOT NULL, revoked_at INTEGER);"
    "CREATE TABLE engineers("
    " id INTEGER PRIMARY KEY,"
    " login TEXT NOT NULL UNIQUE,"
    " provider_id INTEGER NOT NULL REFERENCES providers(id),"
    " clearance TEXT,"
    " created_at INTEGER NOT NULL, disabled_at INTEGER);"
    "CREATE INDEX engineers_provider ON engineers(provider_id);"
    "CREATE TABLE engineer_keys("
    " id INTEGER PRIMARY KEY,"
    " engineer_id INTEGER NOT NULL REFERENCES engineers(id),"
    " type TEXT NOT NULL, blob BLOB NOT NULL, fingerprint TEXT NOT NULL,"
    " comment TEXT, added_at INTEGER NOT NULL, revoked_at INTEGER,"
    " UNIQUE(engineer_id, fingerprint));"
    "CREATE TABLE totp("
    " engineer_id INTEGER PRIMARY KEY REFERENCES engineers(id),"
    " sealed BLOB NOT NULL, enrolled_at INTEGER NOT NULL,"
    " last_step INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER);"
    "CREATE TABLE approvers("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " engineer_id INTEGER REFERENCES engineers(id),"
    " created_at INTEGER NOT NULL, disabled_at INTEGER);"
    "CREATE TABLE approver_groups("
    " approver_id INTEGER NOT NULL REFERENCES approvers(id),"
    " grp TEXT NOT NULL, PRIMARY KEY(approver_id, grp));"
    "CREATE TABLE targets("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " host TEXT NOT NULL,"
    " port INTEGER NOT NULL CHECK(port BETWEEN 1 AND 65535),"
    " classification TEXT NOT NULL,"
    " hostkey TEXT NOT NULL,"
    " auth TEXT NOT NULL DEFAULT 'cert' CHECK(auth IN ('cert','pam-token')),"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE target_accounts("
    " target_id INTEGER NOT NULL REFERENCES targets(id),"
    " account TEXT NOT NULL, PRIMARY KEY(target_id, account));"
    "CREATE TABLE grants("
    " id TEXT PRIMARY KEY,"
    " engineer_id INTEGER NOT NULL REFERENCES engineers(id),"
    " target_id INTEGER NOT NULL REFERENCES targets(id),"
    " account TEXT NOT NULL,"
    " rule TEXT NOT NULL,"
    " approval TEXT NOT NULL CHECK(approval IN ('auto','group')),"
    " approvals_needed INTEGER NOT NULL DEFAULT 0"
    "  CHECK(approvals_needed >= 0),"
    " approval_group TEXT, ticket TEXT, reason TEXT,"
    " requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL,"
    " duration INTEGER NOT NULL CHECK(duration > 0),"
    " capped INTEGER NOT NULL DEFAULT 0,"
    " state TEXT NOT NULL CHECK(state IN"
    "  ('pending','active','denied','revoked','expired')),"
    " not_before INTEGER, not_after INTEGER, decided_at INTEGER,"
    " revoked_at INTEGER, revoked_by TEXT);"
    "CREATE INDEX grants_lookup ON grants(engineer_id, target_id, account,"
    " state);"
    "CREATE INDEX grants_due ON grants(state, not_after);"
    "CREATE TABLE grant_approvals("
    " grant_id TEXT NOT NULL REFERENCES grants(id),"
    " approver_id INTEGER NOT NULL REFERENCES approvers(id),"
    " decision TEXT NOT NULL CHECK(decision IN ('approve','deny')),"
    " reason TEXT, decided_at INTEGER NOT NULL,"
    " PRIMARY KEY(grant_id, approver_id));"
    "CREATE TABLE sessions("
    " id TEXT PRIMARY KEY,"
    " engineer_id INTEGER NOT NULL REFERENCES engineers(id),"
    " target_id INTEGER NOT NULL REFERENCES targets(id),"
    " account TEXT NOT NULL,"
    " grant_id TEXT REFERENCES grants(id),"
    " rule TEXT, client_addr TEXT,"
    " started_at INTEGER NOT NULL, ended_at INTEGER,"
    " state TEXT NOT NULL CHECK(state IN ('open','closed','aborted')),"
    " bytes_in INTEGER NOT NULL DEFAULT 0,"
    " bytes_out INTEGER NOT NULL DEFAULT 0,"
    " recording_path TEXT, recording_sha256 TEXT, recording_size INTEGER,"
    " end_reason TEXT);"
    "CREATE INDEX sessions_state ON sessions(state);"
    "CREATE TABLE credentials("
    " serial INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind TEXT NOT NULL CHECK(kind IN ('cert','token')),"
    " key_id TEXT NOT NULL, principals TEXT NOT NULL,"
    " valid_after INTEGER NOT NULL, valid_before INTEGER NOT NULL,"
    " engineer_id INTEGER NOT NULL REFERENCES engineers(id),"
    " target_id INTEGER REFERENCES targets(id),"
    " session_id TEXT REFERENCES sessions(id),"
    " issued_at INTEGER NOT NULL, revoked_at INTEGER,"
    " CHECK(valid_before > valid_after));"
    "CREATE INDEX credentials_engineer ON credentials(engineer_id);"
    "CREATE TABLE exposures("
    " id INTEGER PRIMARY KEY,"
    " provider_id INTEGER NOT NULL REFERENCES providers(id),"
    " engineer_id INTEGER REFERENCES engineers(id),"
    " target_id INTEGER REFERENCES targets(id),"
    " secret_ref TEXT NOT NULL, note TEXT,"
    " exposed_at INTEGER NOT NULL, rotated_at INTEGER);"
    "CREATE TABLE audit("
    " seq INTEGER PRIMARY KEY,"
    " ts INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL,"
    " details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_hash ON audit(hash);"
    "CREATE INDEX audit_ts ON audit(ts);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TABLE audit_checkpoints("
    " seq INTEGER PRIMARY KEY,"
    " hash TEXT NOT NULL, ts INTEGER NOT NULL,"
    " key_fp TEXT NOT NULL, sig TEXT NOT NULL);"
    "CREATE TRIGGER checkpoint_no_update BEFORE UPDATE ON audit_checkpoints"
    " BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;"
    "CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON audit_checkpoints"
    " BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;";

/* 2: wrong codes per engineer and their lockout; audit row form 2. */
static const char schema_v2[] =
    "ALTER TABLE engineers ADD COLUMN auth_failures INTEGER NOT NULL "
    "DEFAULT 0;"
    "ALTER TABLE engineers ADD COLUMN locked_until INTEGER NOT NULL "
    "DEFAULT 0;"
    /* rows from now on hash their seq too (form 2); older ones stay 1 */
    "ALTER TABLE audit ADD COLUMN form INTEGER NOT NULL DEFAULT 1;";

/*
 * 3: an exposure names a target's account or a system outside the
 * inventory, and a kind (the rotation hook that applies); rows from
 * before are kind 'secret'.
 */
static const char schema_v3[] =
    "ALTER TABLE exposures ADD COLUMN system TEXT;"
    "ALTER TABLE exposures ADD COLUMN account TEXT;"
    "ALTER TABLE exposures ADD COLUMN kind TEXT NOT NULL DEFAULT 'secret';"
    "CREATE INDEX exposures_provider ON exposures(provider_id);"
    "CREATE INDEX sessions_engineer ON sessions(engineer_id);";

/*
 * 4: a provider's exit (DESIGN.md "Exit at contract end"): one row per
 * provider, and one per item of each step as it finishes, so that a run
 * stopped anywhere resumes without repeating a finished item.  An item is
 * 'started' before anything outside the store is changed for it (with
 * what it will set, sealed), then 'done' or 'unresolved'.
 */
static const char schema_v4[] =
    "CREATE TABLE exits("
    " id TEXT PRIMARY KEY,"
    " provider_id INTEGER NOT NULL UNIQUE REFERENCES providers(id),"
    " started_at INTEGER NOT NULL, started_by TEXT NOT NULL,"
    " contract_end INTEGER, finished_at INTEGER,"
    " certificate_sha256 TEXT, bundle TEXT,"
    " legal_hold INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE exit_items("
    " exit_id TEXT NOT NULL REFERENCES exits(id),"
    " step TEXT NOT NULL, item TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('started','done','unresolved')),"
    " detail TEXT NOT NULL, updated_at INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 1,"
    " PRIMARY KEY(exit_id, step, item));";

/*
 * 5: the account and root provost's own connection to a target uses
 * (baselines, the exit's sweep), and the baselines it took.
 */
static const char schema_v5[] =
    "CREATE TABLE target_admin("
    " target_id INTEGER PRIMARY KEY REFERENCES targets(id),"
    " account TEXT NOT NULL, root TEXT NOT NULL DEFAULT '/', krl TEXT);"
    "CREATE TABLE target_baselines("
    " id INTEGER PRIMARY KEY,"
    " target_id INTEGER NOT NULL REFERENCES targets(id),"
    " taken_at INTEGER NOT NULL, taken_by TEXT NOT NULL,"
    " text TEXT NOT NULL, sha256 TEXT NOT NULL, recording TEXT);"
    "CREATE INDEX target_baselines_target ON target_baselines(target_id);";

/*
 * 6: incidents from the client's ticketing export and target outages
 * (the sla plugin), a target's region (the contract plugin's scope), and
 * the indexes that find the first session under a ticket.
 */
static const char schema_v6[] =
    "CREATE TABLE incidents("
    " id TEXT PRIMARY KEY,"
    " provider_id INTEGER NOT NULL REFERENCES providers(id),"
    " priority TEXT NOT NULL,"
    " opened_at INTEGER NOT NULL,"
    " acked_at INTEGER, resolved_at INTEGER, service TEXT,"
    " imported_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX incidents_provider ON incidents(provider_id, opened_at);"
    "CREATE TABLE outages("
    " id INTEGER PRIMARY KEY,"
    " target_id INTEGER NOT NULL REFERENCES targets(id),"
    " started_at INTEGER NOT NULL,"
    " ended_at INTEGER NOT NULL CHECK(ended_at > started_at),"
    " note TEXT, imported_at INTEGER NOT NULL,"
    " UNIQUE(target_id, started_at));"
    "ALTER TABLE targets ADD COLUMN region TEXT;"
    "CREATE INDEX grants_ticket ON grants(ticket);"
    "CREATE INDEX sessions_grant ON sessions(grant_id);";

/*
 * 7: approvers prove who they are (issue 18 item 8): their own keys and
 * TOTP (sealed as engineers' are, under another AAD) with the same count
 * of wrong codes and lock; an approval says whether the approver
 * authenticated to the broker (and from where) or was entered by root
 * with provostctl grant approve --as (break-glass), and a grant keeps
 * whether its rule lets break-glass approvals count.  Approvals from
 * before were all entered with --as: they stay, as not authenticated,
 * and count only under a rule that says break-glass (fail closed: a
 * grant approved so is approved again through the broker).
 */
static const char schema_v7[] =
    "CREATE TABLE approver_keys("
    " id INTEGER PRIMARY KEY,"
    " approver_id INTEGER NOT NULL REFERENCES approvers(id),"
    " type TEXT NOT NULL, blob BLOB NOT NULL, fingerprint TEXT NOT NULL,"
    " comment TEXT, added_at INTEGER NOT NULL, revoked_at INTEGER,"
    " UNIQUE(approver_id, fingerprint));"
    "CREATE TABLE approver_totp("
    " approver_id INTEGER PRIMARY KEY REFERENCES approvers(id),"
    " sealed BLOB NOT NULL, enrolled_at INTEGER NOT NULL,"
    " last_step INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER);"
    "ALTER TABLE approvers ADD COLUMN auth_failures INTEGER NOT NULL "
    "DEFAULT 0;"
    "ALTER TABLE approvers ADD COLUMN locked_until INTEGER NOT NULL "
    "DEFAULT 0;"
    "ALTER TABLE grant_approvals ADD COLUMN authenticated INTEGER NOT NULL "
    "DEFAULT 0;"
    "ALTER TABLE grant_approvals ADD COLUMN client_addr TEXT;"
    "ALTER TABLE grants ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0;";

/*
 * 8: MFAGrace in the store (issue 17 item 2), for every broker sharing
 * it: after a code, the same key from the same address skips the code for
 * MFAGrace.  tag is hex SHA-256(key blob | address), accepted_at the unix
 * time the code was accepted (store/mfagrace.c).  The files under
 * StateDirectory/mfagrace that held it before are not read any more.
 */
static const char schema_v8[] =
    "CREATE TABLE mfa_grace("
    " engineer_id INTEGER NOT NULL REFERENCES engineers(id),"
    " tag TEXT NOT NULL, accepted_at INTEGER NOT NULL,"
    " PRIMARY KEY(engineer_id, tag));";

/*
 * 9: brokers that share a store (issue 17 items 2 and 3).  Each broker
 * holds a lease by its BrokerName, renewed while it runs; a session row
 * names the broker that owns it, so that once that broker's lease has
 * expired another one marks its live rows aborted; a kill asked of a
 * session another broker owns waits in session_kills until the owner
 * ends it.  Times are unix milliseconds where named _ms.
 */
static const char schema_v9[] =
    "CREATE TABLE broker_leases("
    " name TEXT PRIMARY KEY,"
    " holder TEXT NOT NULL,"
    " host TEXT NOT NULL, pid INTEGER NOT NULL,"
    " taken_ms INTEGER NOT NULL, renewed_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL);"
    "ALTER TABLE sessions ADD COLUMN broker TEXT;"
    "CREATE INDEX sessions_broker ON sessions(broker, state);"
    "CREATE TABLE session_kills("
    " session_id TEXT PRIMARY KEY REFERENCES sessions(id),"
    " requested_by TEXT NOT NULL, reason TEXT NOT NULL,"
    " requested_at INTEGER NOT NULL, done_at INTEGER);";

static const char *const migrations[] = {
	schema_v1,
	schema_v2,
	schema_v3,
	schema_v4,
	schema_v5,
	schema_v6,
	schema_v7,
	schema_v8,
	schema_v9,
};

int
st_migrate(struct store *st)
{
	size_t i;
	int r, v = 0;

	/*
	 * Up to date (every open but the first): no write lock.  Each session
	 * process and provostd's once-a-second poll open the store, and 200
	 * of them queueing for the write lock only to find nothing to do
	 * starved the writers that had work (bench/load).
	 */
	if ((r = store_schema_version(st, &v)) != 0)
		return r;
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = store_schema_version(st, &v)) != 0)
		goto out;
	if (v > STORE_SCHEMA_VERSION) {
		r = st_fail(st, PV_ERR_UNSUPPORTED,
		    "store schema version %d is newer than this program (%d)",
		    v, STORE_SCHEMA_VERSION);
		pv_error("%s", st->err);
		goto out;
	}
	for (i = (size_t)v; i < sizeof(migrations) / sizeof(migrations[0]);
	     i++) {
		if (st->eng->migration(st, (int)i + 1, migrations[i]) != 0) {
			int unique;
			const char *msg = st->eng->errmsg(st, &unique);

			pv_error(
			    "store: migration to version %zu: %s", i + 1, msg);
			r = st_fail(
			    st, PV_ERR_STORE, "migration %zu: %s", i + 1, msg);
			goto out;
		}
		if (st->eng->set_version(st, (int)i + 1) != 0) {
			r = st_sqlerr(st, "schema version");
			goto out;
		}
	}
	return st_commit(st);
out:
	st_rollback(st);
	return r;
}

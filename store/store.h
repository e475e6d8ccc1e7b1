/*
 * store.h: the governance store in domain terms (providers, engineers,
 * targets, grants, sessions, credentials, the hash-chained audit log).
 */
#ifndef PROVOST_STORE_H
#define PROVOST_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "policy/policy.h"

/*
 * One open store: SQLite (WAL, foreign keys, synchronous=FULL,
 * busy_timeout) or PostgreSQL, each an engine behind store-int.h.
 * Every function returns 0 or a negative PV_ERR_*; a store failure is
 * PV_ERR_STORE with the engine's message logged once.  store_errmsg() gives
 * one line for the last failure ("engineer alice: not found").
 * Functions that change state take the acting principal (actor, e.g.
 * "admin:root", "engineer:alice", "broker") and append the audit row in
 * the same transaction.  Times are unix seconds unless named _ms.
 */
struct store;

#define STORE_SCHEMA_VERSION 9
#define STORE_NAME_MAX PV_NAME_MAX /* logins, target, provider, group names */
#define STORE_TEXT_MAX 1024        /* tickets, reasons, notes */
#define STORE_CHECKPOINT_EVERY 100

/* path is a file name or ":memory:"; creates and migrates the schema. */
int store_open(const char *path, struct store **out);
/*
 * store_open with every round trip to a PostgreSQL server (the connection
 * too) bounded by limit_ms: a server that does not answer in time fails
 * the query, and the connection is dropped (store_alive says 0).  0: no
 * bound but libpq's own connect_timeout.  SQLite ignores it.
 */
int store_open_bounded(const char *path, uint64_t limit_ms, struct store **out);
/*
 * SQLite's page cache in pages of its own (bytes of them, from an
 * anonymous mapping; more spills to the heap), set before SQLite is
 * first used in the process: a forked process that will never use the
 * store drops them with store_cache_forget instead of keeping a copy of
 * every page the parent reads after the fork.  base: where they are.
 */
int store_cache_private(size_t bytes, void **base);
void store_cache_forget(void);
void store_close(struct store *st);
/*
 * In a process forked from the store's owner, which must never use a
 * store again (SQLite's state of the file, in the process, would be
 * shared by a new connection to it there): its descriptors are closed and its shared mappings unmapped
 * without a call into SQLite or libpq (a close there would undo the
 * owner's locks or end its server session), and the keys wiped.  The
 * owner's handle goes on, its statements prepared once.  The memory of
 * st is left unfreed: st is not to be used again.
 */
void store_forget(struct store *st);
const char *store_errmsg(const struct store *st);
/*
 * Group commit: the transactions between these two are made durable by one
 * commit.  Act on none of them before store_batch_end returns 0.
 */
int store_batch_begin(struct store *st);
int store_batch_end(struct store *st);
int store_schema_version(struct store *st, int *version);
/* The Ed25519 key that signs audit checkpoints (a reference is taken). */
int store_set_audit_key(struct store *st, EVP_PKEY *key);
/* totp.key: 32 random bytes, 0600.  _create refuses to overwrite. */
int store_totp_key_create(const char *path);
int store_totp_key_load(struct store *st, const char *path);
/* Names allowed for logins, targets, providers, groups: [a-z0-9._-]. */
int store_name_valid(const char *s);

/* Lists call back once per record; a non-zero return stops the walk. */

/* Providers. */
enum store_provider_status {
	STORE_PROVIDER_ACTIVE = 0,
	STORE_PROVIDER_EXITING,
	STORE_PROVIDER_EXITED,
};
struct store_provider {
	int64_t id;
	char *name;
	enum store_provider_status status;
	int64_t contract_start; /* 0 = not set */
	int64_t contract_end;
	int64_t created_at;
	int64_t revoked_at; /* 0 = not revoked */
	int engineers;
};
typedef int (*store_provider_cb)(void *ctx, const struct store_provider *p);
int store_provider_add(struct store *st, const char *actor, const char *name,
    int64_t contract_start, int64_t contract_end);
int store_provider_get(
    struct store *st, const char *name, struct store_provider **out);
int store_provider_list(struct store *st, store_provider_cb cb, void *ctx);
int store_provider_set_status(struct store *st, const char *actor,
    const char *name, enum store_provider_status status);
/* Blocks the provider: its engineers' grants and credentials revoked. */
int store_provider_revoke(
    struct store *st, const char *actor, const char *name, const char *why);
void store_provider_free(struct store_provider *p);
const char *store_provider_status_name(enum store_provider_status s);

/* Engineers, their keys and TOTP. */
struct store_engineer {
	int64_t id;
	char *login;
	char *provider;
	char *clearance; /* NULL = none */
	int64_t created_at;
	int64_t disabled_at;  /* 0 = enabled */
	int provider_blocked; /* provider revoked or exited */
	int has_totp;
	int keys;
};
typedef int (*store_engineer_cb)(void *ctx, const struct store_engineer *e);
int store_engineer_add(struct store *st, const char *actor, const char *login,
    const char *provider, const char *clearance);
int store_engineer_get_by_login(
    struct store *st, const char *login, struct store_engineer **out);
int store_engineer_list(
    struct store *st, const char *provider, store_engineer_cb cb, void *ctx);
int store_engineer_disable(
    struct store *st, const char *actor, const char *login, const char *why);
/* Disable + revoke grants, keys, TOTP and credentials. */
int store_engineer_revoke(
    struct store *st, const char *actor, const char *login, const char *why);
void store_engineer_free(struct store_engineer *e);

struct store_key {
	int64_t id;
	const char *type;        /* "ssh-ed25519" */
	const char *fingerprint; /* "SHA256:..." as ssh-keygen -l */
	const char *comment;
	int64_t added_at;
};
typedef int (*store_key_cb)(void *ctx, const struct store_key *k);
/* line: "TYPE BASE64 [COMMENT]"; fingerprint (may be NULL) is malloc'd. */
int store_engineer_key_add(struct store *st, const char *actor,
    const char *login, const char *line, char **fingerprint);
int store_engineer_key_list(
    struct store *st, const char *login, store_key_cb cb, void *ctx);
/* PV_ALLOW if blob (SSH wire public key) is an active key of login. */
int store_engineer_key_match(
    struct store *st, const char *login, const uint8_t *blob, size_t len);

#define STORE_TOTP_SECRET_LEN 20
#define STORE_TOTP_STEP 30
/* Seals secret under totp.key; replaces any earlier enrolment. */
int store_totp_set(struct store *st, const char *actor, const char *login,
    const uint8_t *secret, size_t len);
/*
 * PV_ALLOW if code (6 digits) is valid at now within +-1 step AND its step
 * is later than every step accepted before (a code is used once, also
 * across restarts); PV_DENY otherwise.  Acceptance is audited.
 */
int store_totp_check(
    struct store *st, const char *login, const char *code, int64_t now);
/*
 * Wrong codes per engineer, across connections, sources and brokers: after
 * STORE_LOCK_AFTER in a row the engineer is locked out for a minute,
 * doubling with each further wrong one (at most an hour); at
 * STORE_LOCK_HARD in a row, until an admin unlocks.  A code is not even
 * checked while locked (that try counts as wrong too).  A good code
 * clears the count.  Each lock is audited (engineer.locked).
 */
#define STORE_LOCK_AFTER 5
#define STORE_LOCK_HARD 20
#define STORE_LOCK_FOREVER INT64_MAX
/* The count and the lock's end (0: none, STORE_LOCK_FOREVER: an admin's). */
int store_engineer_lock_state(struct store *st, const char *login,
    uint32_t *failures, int64_t *locked_until);
/* Clears the count and the lock; audited engineer.unlock. */
int store_engineer_unlock(
    struct store *st, const char *actor, const char *login, const char *why);

/* Approvers (the client's security team); engineer links a person. */
struct store_approver {
	const char *name;
	const char *group;
	const char *engineer; /* NULL if not linked */
};
typedef int (*store_approver_cb)(void *ctx, const struct store_approver *a);
/* Adds the approver, or the group membership of an existing one. */
int store_approver_add(struct store *st, const char *actor, const char *name,
    const char *group, const char *engineer);
int store_approver_list(struct store *st, store_approver_cb cb, void *ctx);
/*
 * Approvers' own keys and TOTP (approvers.c), as engineers' are: the
 * broker signs an approver in with both, and only such an approver's
 * decisions count without a rule's break-glass.  A key is removed by
 * its fingerprint.
 */
int store_approver_key_add(struct store *st, const char *actor,
    const char *name, const char *line, char **fingerprint);
int store_approver_key_list(
    struct store *st, const char *name, store_key_cb cb, void *ctx);
int store_approver_key_remove(struct store *st, const char *actor,
    const char *name, const char *fingerprint);
/* PV_ALLOW if blob is an active key of an enabled approver name. */
int store_approver_key_match(
    struct store *st, const char *name, const uint8_t *blob, size_t len);
int store_approver_totp_set(struct store *st, const char *actor,
    const char *name, const uint8_t *secret, size_t len);
/* As store_totp_check: once per step, wrong codes counted and locked. */
int store_approver_totp_check(
    struct store *st, const char *name, const char *code, int64_t now);
/* Clears the approver's wrong codes and lock; audited approver.unlock. */
int store_approver_unlock(
    struct store *st, const char *actor, const char *name, const char *why);
/* PV_ALLOW if name is an enabled approver in group. */
int store_approver_in_group(
    struct store *st, const char *name, const char *group);

/* Targets. */
enum store_auth {
	STORE_AUTH_CERT = 0,
	STORE_AUTH_PAM_TOKEN,
};
#define STORE_ACCOUNTS_MAX 64
struct store_target {
	int64_t id;
	char *name;
	char *host;
	unsigned int port;
	char *classification;
	char *hostkey; /* "TYPE BASE64", pinned */
	enum store_auth auth;
	int64_t created_at;
	size_t naccounts;
	char **accounts;
	char *region; /* NULL: none given */
};
struct store_target_spec {
	const char *name;
	const char *host;
	unsigned int port; /* 0 = 22 */
	const char *classification;
	const char *hostkey;
	enum store_auth auth;
	size_t naccounts;
	const char *const *accounts;
	const char *region; /* NULL: none */
};
typedef int (*store_target_cb)(void *ctx, const struct store_target *t);
int store_target_add(
    struct store *st, const char *actor, const struct store_target_spec *t);
int store_target_get(
    struct store *st, const char *name, struct store_target **out);
int store_target_list(struct store *st, store_target_cb cb, void *ctx);
/* Sets (region NULL: clears) a target's region; audited target.set. */
int store_target_set_region(
    struct store *st, const char *actor, const char *name, const char *region);
int store_target_has_account(const struct store_target *t, const char *acct);
void store_target_free(struct store_target *t);
const char *store_auth_name(enum store_auth a);
/*
 * Imports a JSON inventory: an array (or {"targets": [...]}) of objects
 * {name, host, port?, classification, accounts[], hostkey, auth?}.
 * Strict: unknown fields, wrong types and duplicates are errors naming the
 * entry index and field ("entry 3: port: must be 1..65535").  All or
 * nothing.  levels (NULL-terminated, may be NULL) limits classification.
 */
int store_target_import(struct store *st, const char *actor, const char *json,
    size_t len, const char *const *levels, size_t *count, char *err,
    size_t errlen);

/* Grants. */
enum store_grant_state {
	STORE_GRANT_PENDING = 0,
	STORE_GRANT_ACTIVE,
	STORE_GRANT_DENIED,
	STORE_GRANT_REVOKED,
	STORE_GRANT_EXPIRED,
};
struct store_grant {
	char id[40];
	char *engineer;
	char *target;
	char *account;
	char *rule;
	char *group; /* approval group, NULL for auto */
	char *ticket;
	char *reason;
	char *requested_by;
	enum store_grant_state state; /* as of the now passed in */
	int approvals;                /* distinct approvers so far */
	int approvals_needed;
	uint64_t duration; /* seconds, after any cap */
	int capped;        /* the duration asked for exceeded MaxDuration */
	int64_t requested_at;
	int64_t not_before; /* 0 until active */
	int64_t not_after;
	int64_t decided_at;
	/* Added with schema 7: approvals is those that count. */
	int approvals_auth; /* by approvers authenticated to the broker */
	int approvals_break_glass; /* entered with provostctl --as */
	int break_glass;           /* the rule let break-glass ones count */
};
/*
 * An approver who authenticated to the broker (key and code): where
 * from, and the broker session.
 */
struct store_approver_auth {
	const char *addr;
	const char *session; /* may be NULL */
};
struct store_grant_req {
	const char *engineer;
	const char *target;
	const char *account;
	uint64_t duration;
	const char *ticket; /* NULL = none */
	const char *reason;
};
typedef int (*store_grant_cb)(void *ctx, const struct store_grant *g);
/*
 * rule is the policy decision for the request (its approval mode, count,
 * group, RequireTicket, MaxDuration); Approval none refuses (no grant is
 * needed), auto grants at once, group waits for N distinct approvers.
 */
int store_grant_request(struct store *st, const char *actor,
    const struct store_grant_req *req, const struct policy_decision *rule,
    int64_t now, struct store_grant **out);
/*
 * By an approver of the grant's group, never the requester's own person.
 * These two are root's word for the approver (provostctl grant approve
 * --as): break-glass, recorded as not authenticated, and an approval
 * only of a grant whose rule says Approval N group G break-glass.
 */
int store_grant_approve(struct store *st, const char *approver, const char *id,
    int64_t now, struct store_grant **out);
int store_grant_deny(struct store *st, const char *approver, const char *id,
    const char *why, int64_t now);
/* The approver signed in to the broker: these count toward any rule. */
int store_grant_approve_auth(struct store *st, const char *approver,
    const struct store_approver_auth *how, const char *id, const char *why,
    int64_t now, struct store_grant **out);
int store_grant_deny_auth(struct store *st, const char *approver,
    const struct store_approver_auth *how, const char *id, const char *why,
    int64_t now);
int store_grant_revoke(struct store *st, const char *actor, const char *id,
    const char *why, int64_t now);
int store_grant_get(
    struct store *st, const char *id, int64_t now, struct store_grant **out);
#define STORE_GRANTS_PENDING 0x1 /* only pending */
#define STORE_GRANTS_CURRENT 0x2 /* only pending or active */
int store_grant_list(struct store *st, const char *engineer, unsigned int flags,
    int64_t now, store_grant_cb cb, void *ctx);
/*
 * The grant that best covers (engineer, target, account) at now: an
 * active one (the latest ending) else the newest pending one.
 * PV_ERR_NOT_FOUND if none.
 */
int store_grant_best_for(struct store *st, const char *engineer,
    const char *target, const char *account, int64_t now,
    struct store_grant **out);
/* Marks active grants past not_after expired (audited); count may be NULL */
int store_grant_expire_due(struct store *st, int64_t now, int *count);
/*
 * Fills what the policy evaluator needs (pointers into g); a pending grant
 * carries the window it asked for (requested_at + duration).
 */
void store_grant_to_policy(
    const struct store_grant *g, struct policy_grant *out);
void store_grant_free(struct store_grant *g);
const char *store_grant_state_name(enum store_grant_state s);

/*
 * The one decision path (decide.c): may ENGINEER use ACCOUNT of TARGET,
 * for CHANNEL, now?  Every caller -- the broker's login and channels, the
 * engineer's list and request, provostctl's grant request, token issue
 * and policy explain -- asks here, so none can drift from the others.
 * The engineer must be enabled (provider not blocked), the account must be
 * the target's, the best grant counts unless no_grant, the policy decides,
 * and veto, when set, is asked whenever the policy does not deny: it may
 * only take a yes away (PV_ALLOW: no objection; anything else denies,
 * with the reason it wrote).  What it writes with a PV_ALLOW is a notice
 * for the engineer (store_decision's notice), never a reason to refuse.
 */
struct store_veto {
	const char *engineer;
	const char *provider;
	const char *target;
	const char *classification;
	const char *account;
	const char *what;     /* "login", "shell", ..., "request", "token" */
	const char *grant_id; /* the grant the access rests on, or NULL */
	int64_t now;
	const char *source; /* the engineer's address, or NULL */
};
typedef int (*store_veto_fn)(
    void *ctx, const struct store_veto *v, char *reason, size_t reasonlen);
struct store_decide_req {
	const char *engineer; /* login */
	const char *target;   /* name */
	const char *account;
	unsigned int channel; /* one POLICY_CH_*, or 0: none yet */
	int64_t now;
	int no_grant;           /* a grant request: the policy alone */
	const char *what;       /* for the veto; NULL: from channel */
	const char *source;     /* for the veto: the client's address */
	struct pv_buf *explain; /* not NULL: policy_explain's text here */
	store_veto_fn veto;
	void *veto_ctx;
};
struct store_decision {
	struct policy_decision d; /* outcome DENY whenever refused */
	char
	    reason[POLICY_REASON_MAX]; /* the one line for engineer and audit */
	/* 0, PV_ERR_DENIED (engineer disabled, provider blocked), or
	 * PV_ERR_NOT_FOUND (account) */
	int refused;
	int vetoed; /* a veto took the yes away */
	/* On a yes, the veto's notice for the engineer (a banner), or "" */
	char notice[256];
	/* The rows it was decided on, freed by store_decision_clear. */
	struct store_engineer *e;
	struct store_target *t;
	struct store_grant *g; /* the best grant, or NULL */
};
/* PV_ALLOW, PV_DENY, or a PV_ERR_* (unknown engineer or target, store). */
int store_decide(struct store *st, const struct policy *pol,
    const struct store_decide_req *req, struct store_decision *out);
void store_decision_clear(struct store_decision *out);
/* A refusal by the veto is audited (plugin.deny); anything else is not. */
int store_decide_audit(struct store *st, const char *actor,
    const struct store_decide_req *req, const struct store_decision *sd);
/* The rows as JSON (json.c): provostctl --json and plugin queries. */
json_t *store_provider_json(const struct store_provider *p);
json_t *store_engineer_json(const struct store_engineer *e);
json_t *store_target_json(const struct store_target *t);
json_t *store_grant_json(const struct store_grant *g);
struct store_session;
json_t *store_session_json(const struct store_session *s);
/*
 * A plugin's read-only question (query.c): "providers", "engineers",
 * "targets", "grants", "sessions" or "audit SEQ"; *out a malloc'd JSON
 * array.  0, or a PV_ERR_* with err.
 */
int store_query(struct store *st, const char *what, int64_t now, char **out,
    char *err, size_t errlen);
/* "shell", "exec", ... for a POLICY_CH_*; "login" for 0. */
const char *store_decide_what(unsigned int channel);

/* Sessions. */
enum store_session_state {
	STORE_SESSION_OPEN = 0,
	STORE_SESSION_CLOSED,
	STORE_SESSION_ABORTED,
};
struct store_session_info {
	const char *id; /* NULL: the store makes a UUID */
	const char *engineer;
	const char *target;
	const char *account;
	const char *grant_id; /* NULL for standing access */
	const char *rule;
	const char *client_addr;
	const char *recording_path;
	const char *broker; /* the BrokerName that owns it (NULL: none) */
	/* hex; in the session.open audit row only (NULL: none) */
	const char *recording_header_sha256;
};
struct store_session_end {
	uint64_t bytes_in;            /* engineer -> target */
	uint64_t bytes_out;           /* target -> engineer */
	const char *recording_sha256; /* hex */
	uint64_t recording_size;
	const char *reason; /* "exit 0", "killed: ...", ... */
	int aborted;
};
struct store_session {
	char id[40];
	char *engineer;
	char *target;
	char *account;
	char *grant_id;
	char *client_addr;
	char *recording_path;
	char *recording_sha256;
	char *end_reason;
	char *broker; /* NULL: a row from before schema 9 */
	enum store_session_state state;
	int64_t started_at;
	int64_t ended_at;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t recording_size;
};
typedef int (*store_session_cb)(void *ctx, const struct store_session *s);
int store_session_open(struct store *st, const struct store_session_info *in,
    int64_t now, char id[PV_UUID_LEN + 1]);
int store_session_close(struct store *st, const char *id,
    const struct store_session_end *end, int64_t now);
int store_session_get(
    struct store *st, const char *id, struct store_session **out);
int store_session_list(
    struct store *st, int open_only, store_session_cb cb, void *ctx);
/*
 * At start-up: the sessions this broker left open (a crash) become
 * aborted, and those of no broker (rows from before schema 9).
 */
int store_session_mark_aborted_open(
    struct store *st, const char *broker, int64_t now, int *count);
/*
 * A kill asked of a session some broker owns: kept in the store until
 * the owner's monitor, which reads session.kill among the revocations
 * once a second, ends it.  Audited session.kill (actor who asked).
 * *owner: the owning broker's name (NULL: none), to free.
 */
int store_session_kill_request(struct store *st, const char *actor,
    const char *id, const char *reason, int64_t now, char **owner);

/*
 * Brokers sharing a store (leases.c, schema 9): each provostd holds a
 * lease under its BrokerName, renewed while it runs.  holder is the
 * running process's own random token.  Times in unix milliseconds.
 */
struct store_lease {
	char *name;
	char *holder;
	char *host;
	int64_t pid;
	int64_t taken_ms;
	int64_t renewed_ms;
	int64_t expires_ms;
};
struct store_lease_req {
	const char *name;
	const char *holder;
	const char *host;
	int64_t pid;
	int64_t duration_ms;
};
/*
 * Takes the lease of req->name for req->holder: PV_ERR_EXISTS while
 * another holder's lease runs (unless force: its process is known dead).
 * Audited broker.lease with the previous holder.
 */
int store_lease_take(struct store *st, const struct store_lease_req *req,
    int64_t now_ms, int force);
/* PV_ERR_NOT_FOUND when the lease is no longer holder's; pid: holder's now. */
int store_lease_renew(struct store *st, const char *name, const char *holder,
    int64_t pid, int64_t now_ms, int64_t duration_ms);
int store_lease_get(
    struct store *st, const char *name, struct store_lease **out);
/* *n: the other brokers whose lease runs at now_ms. */
int store_lease_others(
    struct store *st, const char *self, int64_t now_ms, int *n);
void store_lease_free(struct store_lease *l);
/*
 * Every open session of a broker other than self whose lease expired at
 * or before now_ms is marked aborted, each audited session.aborted (the
 * reason, the dead broker, the recording: incomplete).  Idempotent when
 * brokers race.  *count: the rows this call aborted.
 */
int store_lease_reap(
    struct store *st, const char *self, int64_t now_ms, int *count);
void store_session_free(struct store_session *s);

/* Credentials: every certificate and token ever issued. */
enum store_cred_kind {
	STORE_CRED_CERT = 0,
	STORE_CRED_TOKEN,
};
struct store_credential {
	uint64_t serial;
	enum store_cred_kind kind;
	const char *key_id;
	const char *principals; /* comma separated */
	const char *engineer;
	const char *target; /* NULL if none */
	const char *session_id;
	int64_t valid_after;
	int64_t valid_before;
	int64_t issued_at;
	int64_t revoked_at;
};
typedef int (*store_credential_cb)(void *ctx, const struct store_credential *c);
/* Records the credential before it is signed; the store assigns serial. */
int store_credential_record(struct store *st, const char *actor,
    enum store_cred_kind kind, const char *key_id, const char *principals,
    const char *engineer, const char *target, const char *session_id,
    int64_t valid_after, int64_t valid_before, uint64_t *serial);
int store_credential_revoke(
    struct store *st, const char *actor, uint64_t serial, int64_t now);
/* provider NULL = all: for KRLs and the exit. */
int store_credential_list(
    struct store *st, const char *provider, store_credential_cb cb, void *ctx);

/*
 * What an OpenSSH KRL revokes: every certificate serial (not tokens) and
 * every public key (SSH wire blob) ever registered, also revoked ones, of
 * provider's engineers; with provider NULL, of every engineer disabled or
 * whose provider is revoked or exited, and every certificate and key
 * revoked on its own.  A negative callback return stops the walk (and is
 * returned).  PV_ERR_NOT_FOUND for an unknown provider.
 */
typedef int (*store_krl_serial_cb)(void *ctx, uint64_t serial);
typedef int (*store_krl_key_cb)(void *ctx, const uint8_t *blob, size_t len);
int store_krl_list(struct store *st, const char *provider,
    store_krl_serial_cb serial_cb, store_krl_key_cb key_cb, void *ctx);

/*
 * Exposures: static secrets a provider was shown (DESIGN.md "Exit at
 * contract end"), each to be rotated at the exit.  One is on a target's
 * account (or the target as a whole) or on a system outside the inventory
 * (a network device, a cloud account), of a kind (the rotation hook that
 * applies: unix-password, api-key, ...), with a reference saying where the
 * secret lives (a vault path, a ticket), never the secret itself.  The
 * same provider, place, account, kind and reference is one exposure:
 * adding it again changes nothing.
 */
#define STORE_KIND_MAX PV_CONFIG_KIND_MAX
struct store_exposure_spec {
	const char *provider;
	const char *engineer; /* NULL: the provider as a whole */
	const char *target;   /* exactly one of target and system */
	const char *system;
	const char *account; /* NULL: none */
	const char *kind;    /* [a-z0-9-], at most STORE_KIND_MAX */
	const char *reference;
	const char *note; /* NULL: none */
};
/* *added (may be NULL) is 0 if it was recorded before. */
int store_exposure_add(struct store *st, const char *actor,
    const struct store_exposure_spec *e, int64_t now, int *added);
/* One line for what is wrong with e (NULL if nothing; no store lookups). */
const char *store_exposure_check(const struct store_exposure_spec *e);
/*
 * Import: CSV with a header row naming its columns (provider, engineer,
 * target, system, account, kind, reference, note; any order, the unknown
 * refused), or JSON lines (one object per line with those fields).  Blank
 * lines, lines starting with '#' and a UTF-8 byte order mark at the start
 * are skipped.  All or nothing: the first bad row is named as NAME:LINE:
 * what in err and nothing is stored.
 * Rows already recorded count in *present, not *added.  Audited once as
 * exposure.import.
 */
#define STORE_EXPOSURE_IMPORT_MAX 10000
int store_exposure_import(struct store *st, const char *actor, const char *name,
    const char *data, size_t len, int64_t now, size_t *added, size_t *present,
    char *err, size_t errlen);
/*
 * The provider's exposures (provider NULL: every provider's): those
 * recorded (source "recorded"), then one per target account its engineers
 * opened a session into (source "session", kind "account", reference
 * "sessions", id 0), derived from the sessions table when asked, so that
 * none is missed, also from before exposures were recorded.
 */
struct store_exposure {
	int64_t id;
	const char *source;
	const char *provider;
	const char *engineer; /* NULL: none; a session exposure: its logins */
	const char *target;
	const char *system;
	const char *account;
	const char *kind;
	const char *reference;
	const char *note;
	int64_t exposed_at; /* a session exposure: its first session */
	int64_t last_at;    /* its last session (recorded: exposed_at) */
	int64_t sessions;   /* sessions behind it (recorded: 0) */
	int64_t rotated_at; /* 0: not yet */
};
typedef int (*store_exposure_cb)(void *ctx, const struct store_exposure *e);
int store_exposure_list(
    struct store *st, const char *provider, store_exposure_cb cb, void *ctx);

/*
 * A provider's exit (exits.c): one per provider, its items recorded as
 * each finishes, so that a run stopped anywhere (kill -9, Ctrl-C, a lost
 * connection) resumes where it stopped.  An item that changes something
 * outside the store is put 'started' first, with everything it will set
 * (a new secret only sealed): a resumed run finds it and finishes the same
 * change, never a second one.  Each change of an item is audited
 * (exit.item); the exit's start and end too (exit.start, exit.finish).
 */
enum store_exit_state {
	STORE_EXIT_STARTED = 0,
	STORE_EXIT_DONE,
	STORE_EXIT_UNRESOLVED,
};
struct store_exit {
	char id[40];
	char *provider;
	char *started_by;
	int64_t started_at;
	int64_t contract_end; /* 0: not set */
	int64_t finished_at;  /* 0: not finished */
	char *certificate_sha256;
	char *bundle;
	int legal_hold;
};
struct store_exit_item {
	char *step;
	char *item;
	enum store_exit_state state;
	char *detail; /* canonical JSON object */
	int64_t updated_at;
	int attempts;
};
typedef int (*store_exit_item_cb)(void *ctx, const struct store_exit_item *i);
/*
 * The provider's exit, started now if there is none (*created 1; the
 * provider's status becomes 'exiting').  PV_ERR_NOT_FOUND: no provider.
 */
int store_exit_begin(struct store *st, const char *actor, const char *provider,
    int64_t contract_end, int64_t now, struct store_exit **out, int *created);
/* PV_ERR_NOT_FOUND if the provider has no exit. */
int store_exit_get(
    struct store *st, const char *provider, struct store_exit **out);
/* *out NULL (and 0) if the item was never recorded. */
int store_exit_item_get(struct store *st, const char *exit_id, const char *step,
    const char *item, struct store_exit_item **out);
/* Records (or moves on) an item; detail is stolen.  Audited exit.item. */
int store_exit_item_set(struct store *st, const char *actor,
    const char *exit_id, const char *step, const char *item,
    enum store_exit_state state, json_t *detail, int64_t now);
/* In the order recorded; step NULL: every step's. */
int store_exit_item_list(struct store *st, const char *exit_id,
    const char *step, store_exit_item_cb cb, void *ctx);
/* The end: certificate and bundle recorded, the provider 'exited'. */
int store_exit_finish(struct store *st, const char *actor, const char *exit_id,
    const char *bundle, const char *certificate_sha256, int64_t now);
/* Lifts (hold 0) or puts back the legal hold; audited exit.hold. */
int store_exit_hold(struct store *st, const char *actor, const char *provider,
    int hold, const char *why);
/* 1 if engineer's provider has an exit (started or finished), else 0. */
int store_exit_of_engineer(struct store *st, const char *login);
/*
 * Sweeps (sweep.c): store_sweep_script runs on a target ("sh -s -- ROOT")
 * over provost's own admin connection and prints where OpenSSH, PAM,
 * sudo, cron and systemd take credentials or programs from; _parse reads
 * that strictly into {files, links, users, keys, blobs, locked} ("NAME:LINE:
 * what" in err); _diff lists what a later look has that the baseline has
 * not: [{kind, what, where, changed_at?, detail?}], kind one of
 * file-added, file-changed, file-removed, link-added, account-added,
 * key-added ("USER:SHA256-of-line"), account-unlocked.
 */
extern const char store_sweep_script[];
int store_sweep_parse(const char *name, const char *text, size_t len,
    json_t **out, char *err, size_t errlen);
int store_sweep_diff(json_t *base, json_t *now, json_t **findings);
/*
 * The target's admin account, the root its sweep reads, and the path of
 * its sshd's RevokedKeys the exit pushes the KRL to (NULL: none); audited.
 */
int store_target_admin_set(struct store *st, const char *actor,
    const char *target, const char *account, const char *root, const char *krl);
/* Where the target's sshd reads RevokedKeys (*krl NULL: not set). */
int store_target_krl_get(struct store *st, const char *target, char **krl);
/* PV_ERR_NOT_FOUND if none was set; both malloc'd. */
int store_target_admin_get(
    struct store *st, const char *target, char **account, char **root);
/* A baseline: the script's output as taken (audited target.baseline). */
int store_baseline_put(struct store *st, const char *actor, const char *target,
    const char *text, size_t len, const char *recording, int64_t now);
/* The latest; PV_ERR_NOT_FOUND if none. */
int store_baseline_get(
    struct store *st, const char *target, char **text, int64_t *taken_at);

/*
 * A rotation hook's answer (hook.c): one JSON object.  To "rotate":
 * {"status": "rotated"|"failed", "fingerprint": F, "message": M,
 * "secret": S} (fingerprint needed with rotated; secret optional, sealed
 * to the client at once and never kept).  To "verify": {"status":
 * "ok"|"failed"|"unsupported", "message": M}.  Unknown fields, other
 * types, control characters are refused with one line in err.
 */
#define STORE_HOOK_ANSWER_MAX 65536
#define STORE_HOOK_SECRET_MAX 16384
enum store_hook_status {
	STORE_HOOK_ROTATED = 0,
	STORE_HOOK_FAILED,
	STORE_HOOK_OK,
	STORE_HOOK_UNSUPPORTED,
};
struct store_hook_answer {
	enum store_hook_status status;
	char *fingerprint; /* NULL: none */
	char *message;     /* NULL: none */
	uint8_t *secret;   /* NULL: none; wiped by _clear */
	size_t secret_len;
};
int store_hook_answer_parse(const char *data, size_t len, int verify,
    struct store_hook_answer *out, char *err, size_t errlen);
void store_hook_answer_clear(struct store_hook_answer *a);
const char *store_hook_status_name(enum store_hook_status s);

/*
 * The built-in unix-password rotation's look at a target (shadow.c), as
 * its script prints it: "H<TAB>FIELD" once (the account's password
 * field: crypt characters, '!', '*', or empty), "M<TAB>y|6" for the
 * methods other entries use (the first kept), and after a change
 * "S<TAB>set|same|changed".  Anything else is refused with one line.
 */
#define STORE_SHADOW_ANSWER_MAX 65536
#define STORE_SHADOW_FIELD_MAX 256
struct store_shadow_look {
	char field[STORE_SHADOW_FIELD_MAX + 1];
	char method[2]; /* "y", "6" or "" */
	char result[8]; /* "set", "same", "changed" or "" */
};
int store_shadow_parse(const char *text, size_t len,
    struct store_shadow_look *out, char *err, size_t errlen);
/* "y" (yescrypt) or "6" (SHA-512) for a field (maybe locked), or NULL. */
const char *store_shadow_method(const char *field);
void store_exit_free(struct store_exit *x);
void store_exit_item_free(struct store_exit_item *i);
const char *store_exit_state_name(enum store_exit_state s);

/*
 * Incidents from the client's ticketing export and target outages, for
 * the sla plugin (incidents.c).  Import reads CSV or JSON lines as
 * exposures do (the shared reader): incidents have the columns id,
 * provider, priority, opened, acknowledged, resolved, service; outages
 * target, start, end, note.  Times are YYYY-MM-DDTHH:MM[:SS] with Z or
 * an offset (none: UTC), or unix seconds.  All or nothing; idempotent by
 * the incident's id (an outage's target and start): the same row again is
 * present, a changed one is updated.  Audited once (incident.import,
 * outage.import).
 */
#define STORE_INCIDENT_ID_MAX 64
#define STORE_INCIDENT_IMPORT_MAX 1000000
struct store_import_counts {
	size_t added, updated, present;
};
int store_incident_import(struct store *st, const char *actor, const char *name,
    const char *data, size_t len, int64_t now, struct store_import_counts *c,
    char *err, size_t errlen);
int store_outage_import(struct store *st, const char *actor, const char *name,
    const char *data, size_t len, int64_t now, struct store_import_counts *c,
    char *err, size_t errlen);
/* 0 and unix seconds, or -1: the import's time forms. */
int store_time_parse(const char *s, int64_t *out);
/*
 * The provider's incidents opened in [from, to), each {id, priority,
 * opened, acknowledged?, resolved?, service?, engaged? (the first session
 * under a grant with the incident's id as ticket), grants}, appended to
 * arr; outages overlapping [from, to) as {target, region?, source, start,
 * end}: "imported" (outages import) and "observed" (runs of target.unreachable
 * rows with no session started between them, first to last failure).
 */
int store_incident_query(struct store *st, const char *provider, int64_t from,
    int64_t to, json_t *arr);
int store_outage_query(struct store *st, int64_t from, int64_t to, json_t *arr);

/*
 * Revocations for the daemon's 1-second poll: every audit row from seq >
 * *cursor whose action revokes or ends access (engineer.disable,
 * engineer.revoke, provider.revoke, provider.status, grant.revoke,
 * grant.deny, grant.expire, credential.revoke, session.kill).  *cursor
 * advances; start with store_audit_head().
 */
struct store_revocation {
	uint64_t seq;
	const char *action;
	const char *object; /* "engineer:alice", "grant:UUID", ... */
	const char *reason; /* the admin's --reason, or NULL */
	int64_t ts_ms;
	const char *actor; /* who asked ("admin:root", ...) */
};
typedef int (*store_revocation_cb)(void *ctx, const struct store_revocation *r);
int store_revoked_since(
    struct store *st, uint64_t *cursor, store_revocation_cb cb, void *ctx);
/*
 * Every audit row from seq > *cursor (at most 1000 a call), in order: what
 * provostd hands the plugins as events.  *cursor advances as for
 * store_revoked_since.
 */
struct store_audit_row {
	uint64_t seq;
	int64_t ts_ms;
	const char *actor;
	const char *action;
	const char *object;
	const char *details; /* canonical JSON */
};
typedef int (*store_audit_row_cb)(void *ctx, const struct store_audit_row *r);
int store_audit_since(
    struct store *st, uint64_t *cursor, store_audit_row_cb cb, void *ctx);
/* The same, for the rows of one action only (plugin.deny, ...). */
int store_audit_action_since(struct store *st, const char *action,
    uint64_t *cursor, store_audit_row_cb cb, void *ctx);
/* Each client address that opened a session since (unix seconds). */
typedef int (*store_source_cb)(void *ctx, const char *addr, int64_t last);
int store_recent_sources(
    struct store *st, int64_t since, store_source_cb cb, void *ctx);

/*
 * Audit: append-only, hash-chained rows.  details is canonical JSON
 * (sorted keys, compact); hash = SHA-256(prev_hash || canonical JSON of
 * {action, actor, details, object, ts}).  Every STORE_CHECKPOINT_EVERY rows
 * (and on demand) a checkpoint (seq, hash) signed with the audit key.
 */
int store_audit_append(struct store *st, const char *actor, const char *action,
    const char *object, json_t *details);
int store_audit_head(struct store *st, uint64_t *seq);
int store_audit_checkpoint(struct store *st, uint64_t *seq);
struct store_audit_report {
	uint64_t rows;
	uint64_t checkpoints;
	uint64_t bad_seq; /* the first bad row, 0 if none */
	char what[256];   /* "row 17 edited", "log truncated: ..." */
};
/* 0 if intact; PV_ERR_AUTH with rep filled if tampered. */
int store_audit_verify(
    struct store *st, EVP_PKEY *pub, struct store_audit_report *rep);
/* One JSON object per line, rows with ts >= since_ms. */
int store_audit_export(struct store *st, int64_t since_ms, FILE *out);
/*
 * An export (from its first row on) checked without a store: rows in
 * sequence, each hash recomputed; *rows and the last row's hash.  0, or
 * PV_ERR_INVALID with "NAME:LINE: what" in err.
 */
int store_audit_export_check(FILE *in, const char *name, uint64_t *rows,
    char last_hash[65], char *err, size_t errlen);
/*
 * Anchors: the signed checkpoints, to be kept off the host (provostd logs
 * each as it is made; provostctl audit anchors export).  An anchor's JSON
 * is {"hash","key","seq","sig","ts"}.
 */
struct store_anchor {
	uint64_t seq;
	const char *hash;
	int64_t ts;
	const char *key_fp;
	const char *sig;
};
typedef int (*store_anchor_cb)(void *ctx, const struct store_anchor *a);
int store_audit_anchors(
    struct store *st, uint64_t after_seq, store_anchor_cb cb, void *ctx);
/* malloc'd canonical JSON of a, or NULL. */
char *store_anchor_json(const struct store_anchor *a);
/*
 * Every anchor in in (one per line: the JSON, or a log line holding it) is
 * signed by pub and its row is in the store with that hash.  0 with
 * *checked; PV_ERR_AUTH naming the first that fails, PV_ERR_INVALID for a
 * line that is no anchor (name:line in rep->what).
 */
int store_audit_verify_anchors(struct store *st, EVP_PKEY *pub,
    const char *name, FILE *in, uint64_t *checked,
    struct store_audit_report *rep);

/*
 * Every row of the SQLite store from into the empty store to (PostgreSQL,
 * or a new SQLite file), in one transaction of to; *rows counts them.
 * The caller verifies to's audit chain after.
 */
int store_copy(struct store *from, struct store *to, uint64_t *rows);
/*
 * MFAGrace (schema 8): a code was accepted for engineer with the key blob
 * from addr at now (rows past STORE_MFA_GRACE_MAX are pruned); and
 * whether one was, less than grace seconds ago (PV_ALLOW, PV_DENY, or an
 * error).  The binding is the key and the address together.
 */
#define STORE_MFA_GRACE_MAX 86400
int store_mfa_grace_note(struct store *st, const char *engineer,
    const uint8_t *blob, size_t len, const char *addr, int64_t now);
int store_mfa_grace_recent(struct store *st, const char *engineer,
    const uint8_t *blob, size_t len, const char *addr, int64_t now,
    uint64_t grace);
/* 1 when store_open's argument names a file (SQLite), 0 for PostgreSQL. */
int store_where_is_file(const char *where);
/*
 * 0 when st's connection to its server is lost (PostgreSQL after the
 * server went away): close it and open the store again.  1 otherwise
 * (a SQLite store always).
 */
int store_alive(struct store *st);
/*
 * Revocations announced (PostgreSQL): every audit row store_revoked_since
 * reads is also a NOTIFY on one channel, sent as its transaction commits.
 * store_listen makes this handle hear them (again after each open: a new
 * connection listens to nothing); store_listen_fd is the socket to wait
 * on (-1: none, SQLite); store_heard takes what arrived (reading the
 * socket first when read is set) and says how many, < 0 when the
 * connection is lost.  SQLite: PV_ERR_UNSUPPORTED, the scan alone.
 */
int store_listen(struct store *st);
int store_listen_fd(struct store *st);
int store_heard(struct store *st, int read);

#endif /* PROVOST_STORE_H */

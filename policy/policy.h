/*
 * policy.h: the classification policy (policy.conf): parser and a pure
 * evaluator.  No I/O beyond reading the file; no clock: callers pass now.
 */
#ifndef PROVOST_POLICY_H
#define PROVOST_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* Channel kinds a rule may allow ("Channels shell exec sftp ..."). */
#define POLICY_CH_SHELL 0x01
#define POLICY_CH_EXEC 0x02
#define POLICY_CH_SFTP 0x04
#define POLICY_CH_SCP 0x08
#define POLICY_CH_FORWARD 0x10        /* direct-tcpip (ssh -L, -D) */
#define POLICY_CH_REMOTE_FORWARD 0x20 /* tcpip-forward (ssh -R) */
#define POLICY_CH_ALL 0x3f
/* Channels a rule allows when it has no Channels line. */
#define POLICY_CH_DEFAULT \
	(POLICY_CH_SHELL | POLICY_CH_EXEC | POLICY_CH_SFTP | POLICY_CH_SCP)

/* File transfer directions for sftp and scp ("Transfer upload|...|both"). */
#define POLICY_TRANSFER_UPLOAD 0x1   /* engineer -> target */
#define POLICY_TRANSFER_DOWNLOAD 0x2 /* target -> engineer */
#define POLICY_TRANSFER_BOTH 0x3

enum policy_outcome {
	POLICY_DENY = 0,       /* refused; reason says why */
	POLICY_ALLOW,          /* go ahead now */
	POLICY_NEEDS_GRANT,    /* a grant would allow it: request one */
	POLICY_NEEDS_APPROVAL, /* a grant exists but lacks approvals */
};

enum policy_approval {
	POLICY_APPROVAL_NONE = 0, /* standing access, no grant needed */
	POLICY_APPROVAL_AUTO,     /* a grant is needed, granted on request */
	POLICY_APPROVAL_GROUP,    /* N distinct approvers of a group */
};

struct policy;
struct pv_buf;

/* One "ForwardTo host:port" destination; host may be a glob. */
struct policy_forward {
	const char *host;
	unsigned int port; /* 0 = any port ("host:*") */
};

/* A grant as the store knows it, reduced to what the policy needs. */
struct policy_grant {
	const char *id;
	const char *engineer;
	const char *target;
	const char *account;
	int64_t not_before; /* unix seconds */
	int64_t not_after;
	int approvals; /* distinct approvers so far, requester excluded,
			  signed in to the broker (key and code) */
	int denied;
	int revoked;
	/* entered by root with provostctl --as: count under break-glass */
	int approvals_break_glass;
};

struct policy_request {
	const char *engineer;
	const char *provider;
	const char *clearance; /* the engineer's level; NULL = none */
	const char *target;
	const char *classification; /* the target's level */
	const char *account;
	/*
	 * Exactly one POLICY_CH_*, or 0 when no channel is being opened yet
	 * (at authentication, for a grant request, for explain without
	 * --channel): then the channel is not checked, and the decision's
	 * channels say what may be opened later.
	 */
	unsigned int channel;
	int64_t now;                      /* unix seconds */
	const struct policy_grant *grant; /* the best grant, or NULL */
};

#define POLICY_REASON_MAX 256

struct policy_decision {
	enum policy_outcome outcome;
	const char *rule; /* name of the deciding rule, NULL if none */
	char reason[POLICY_REASON_MAX]; /* one line for the engineer/audit */
	enum policy_approval approval;
	int approvals_needed; /* POLICY_APPROVAL_GROUP */
	const char *approval_group;
	int require_ticket;
	uint64_t max_duration; /* seconds; 0 = no cap */
	unsigned int channels; /* what the rule allows */
	int fresh_mfa;         /* the rule wants a TOTP code every time */
	int record_file_contents;
	/* Added after the first version: */
	unsigned int transfer; /* POLICY_TRANSFER_* for sftp and scp */
	const struct policy_forward *forward_to; /* owned by the policy */
	size_t nforward_to;
	/*
	 * When access must end (unix seconds), 0 = no end: the earlier of the
	 * grant's end (capped at not_before + MaxDuration) and the end of the
	 * current Hours window.  Set only with POLICY_ALLOW.
	 */
	int64_t valid_until;
	unsigned int rule_line; /* line of the deciding Rule, 0 if none */
	/* RemoteForwardListen: where ssh -R may listen on the target. */
	const struct policy_forward *remote_listen; /* owned by the policy */
	size_t nremote_listen;
	/*
	 * Moderated GROUP: the approver group one of whose members must
	 * watch the session for it to start and take input; NULL if none.
	 */
	const char *moderated;
	/*
	 * Approval N group G break-glass: approvals root enters with
	 * provostctl grant approve --as count too.  Without it only those
	 * of approvers signed in to the broker count.
	 */
	int approval_break_glass;
};

/* Parses a policy; errors are one line "FILE:LINE: what" in err. */
int policy_load_file(
    const char *path, struct policy **out, char *err, size_t errlen);
int policy_load_mem(const char *name, const char *data, size_t len,
    struct policy **out, char *err, size_t errlen);
void policy_free(struct policy *p);

/* Levels in order; a level's rank (0 = lowest), or -1 if unknown. */
int policy_level_rank(const struct policy *p, const char *level);
size_t policy_level_count(const struct policy *p);
const char *policy_level_name(const struct policy *p, size_t rank);

/*
 * Decides a request.  Returns PV_ALLOW when outcome is POLICY_ALLOW,
 * PV_DENY for every other outcome, a negative PV_ERR_* on error (which
 * callers must treat as deny).  The first rule whose selectors match
 * decides; no match is a deny.  An unknown classification counts as the
 * highest level.
 */
int policy_decide(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out);

/* "shell", "exec", ... <-> POLICY_CH_*; 0 / NULL when unknown. */
unsigned int policy_channel_parse(const char *name);
const char *policy_channel_name(unsigned int channel);

/* Added after the first version: */

/* "allow", "deny", "needs-grant", "needs-approval"; "none", "auto", "group". */
const char *policy_outcome_name(enum policy_outcome o);
const char *policy_approval_name(enum policy_approval a);
size_t policy_rule_count(const struct policy *p);

/*
 * May a forward channel allowed by d go to host:port?  PV_ALLOW or
 * PV_DENY (also when d does not allow POLICY_CH_FORWARD).  Host names
 * compare case-insensitively; patterns are globs.
 */
int policy_forward_allowed(
    const struct policy_decision *d, const char *host, unsigned int port);
/*
 * May ssh -R (tcpip-forward) listen on the target at addr:port, as the
 * client asks it?  addr "" (every address) matches only a pattern that
 * matches the empty string ("*"); port 0 (the target picks) only "*".
 * PV_DENY also when d does not allow POLICY_CH_REMOTE_FORWARD.
 */
int policy_remote_forward_allowed(
    const struct policy_decision *d, const char *addr, unsigned int port);

/*
 * Appends to out, as text for people: the request, each rule in order
 * with why it did or did not select the request, the checks of the
 * deciding rule, and the decision.  Returns what policy_decide returns
 * (PV_ALLOW, PV_DENY or < 0) and fills *dec when dec is not NULL.
 */
int policy_explain(const struct policy *p, const struct policy_request *req,
    struct pv_buf *out, struct policy_decision *dec);

/*
 * Appends a summary for "policy check": the levels in order, the number
 * of rules and one line per rule.  0 or a PV_ERR_*.
 */
int policy_summary(const struct policy *p, struct pv_buf *out);

#endif /* PROVOST_POLICY_H */

/*
 * exit-int.h: what the exit's run (exit_run.c) and its evidence and
 * certificate (exit_bundle.c) share.
 */
#ifndef PROVOST_CTL_EXIT_INT_H
#define PROVOST_CTL_EXIT_INT_H

#include "ctl/ctl.h"

struct rec_recipients;

/* STORE_FAIL where the run is x. */
#define XFAIL(r) ctl_fail((r), "%s", store_errmsg(x->c->st))

struct exit_run {
	struct ctl *c;
	const char *provider;
	struct store_exit *x;
	char dir[4096];   /* the evidence bundle: ExitDirectory/PROVIDER-ID */
	json_t *logins;   /* set of the provider's engineers */
	json_t *sessions; /* their sessions, as store_session_json */
	json_t *targets;  /* set of the targets they opened sessions on */
	json_t *steps;    /* step -> {done, unresolved} */
	struct rec_recipients *recipients; /* to seal new secrets to */
};

/* 1 if the item is finished (done or unresolved), 0 if not, -1 on error. */
int exit_item_done(struct exit_run *x, const char *step, const char *item);
/* Records an item (detail stolen); an exit code. */
int exit_item_put(struct exit_run *x, const char *step, const char *item,
    enum store_exit_state state, json_t *detail);
int exit_unresolved(
    struct exit_run *x, const char *step, const char *item, const char *why);
/* Recounts step's items into x->steps; an exit code. */
int exit_count(struct exit_run *x, const char *step);
/* Runs a RotationHook (action "rotate" or "verify"); 0 or -1 with why. */
int exit_hook_run(struct exit_run *x, const char *program, const char *action,
    json_t *req, struct store_hook_answer *ans, char *why, size_t whylen);

/*
 * The new secret of item (the n-th exposure) sealed to the
 * RecordingRecipient keys into the bundle's secrets/; rel is its path in
 * the bundle.  An exit code of PV_ERR_* (0 on success).
 */
int exit_seal_secret(struct exit_run *x, const char *item, size_t n,
    const uint8_t *secret, size_t len, char *rel, size_t rellen);

/*
 * exit_unixpw.c: RotationHook unix-password builtin.  prev is the detail
 * of the item a killed run left started (NULL if none); an exit code.
 */
int exit_unixpw_rotate(struct exit_run *x, const char *item, json_t *exp,
    size_t n, int attempt, json_t *prev);
/* 1 if the target's entry is still the one set, 0 with why if not. */
int exit_unixpw_verify(struct exit_run *x, const char *step, const char *item,
    json_t *detail, char *why, size_t whylen);

/* exit_sweep.c: each target touched against its baseline. */
int exit_step_sweep(struct exit_run *x);

/* exit_bundle.c */
int exit_bundle_dir(struct exit_run *x);
int exit_erasure(struct exit_run *x, const char *path);
int exit_step_verify(struct exit_run *x);
int exit_step_reverify(struct exit_run *x);
/* evidence, certificate, the store's record of the end; an exit code. */
int exit_finish(struct exit_run *x);
int exit_print_json(struct exit_run *x);

#endif /* PROVOST_CTL_EXIT_INT_H */

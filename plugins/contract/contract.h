/*
 * contract.h: the contract plugin's file (provost-contract(5)) and its
 * evaluator, pure: parse a file of Contract blocks, then ask whether an
 * access at a given time is inside the provider's contract.  Kept apart
 * from the plugin glue (plugin.c) so that the unit tests and the fuzz
 * target call it directly.
 */
#ifndef PROVOST_PLUGINS_CONTRACT_H
#define PROVOST_PLUGINS_CONTRACT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct contracts;

#define CONTRACT_ERR_MAX 512
#define CONTRACT_FILE_MAX (1024 * 1024)

/*
 * Parses text (a whole file, name for messages).  0, or -1 with one line
 * "NAME:LINE: what" in err.
 */
int contracts_parse(const char *name, const char *text, size_t len,
    struct contracts **out, char *err, size_t errlen);
int contracts_load(
    const char *path, struct contracts **out, char *err, size_t errlen);
void contracts_free(struct contracts *c);
size_t contracts_count(const struct contracts *c);

struct contract_ask {
	const char *provider;
	const char *target;
	const char *classification;
	const char *account;
	int64_t now;        /* unix seconds */
	const char *region; /* the target's; NULL: none or not asked */
	const char *source; /* the engineer's address; NULL: not known */
};

/* 1 if provider's contract has a Regions clause (the caller asks). */
int contracts_wants_region(const struct contracts *c, const char *provider);

/*
 * 1 inside the contract, 0 outside (why names the contract, the clause
 * and its line), -1 when it cannot tell (a time zone that cannot be read;
 * why says so; the caller denies).  *notice is set to the days left when
 * the contract is in its notice period, else -1.
 */
int contracts_check(const struct contracts *c, const struct contract_ask *a,
    char *why, size_t whylen, int *notice);

/*
 * The engineer's banner for provider's contract with days left:
 * "contract ID ends YYYY-MM-DD: N day(s) left".  0, or -1 (no contract).
 */
int contracts_banner(const struct contracts *c, const char *provider, int days,
    char *buf, size_t len);

/*
 * For each provider whose contract (one a provider) ended before now's
 * day in the contract's zone: each(ctx, provider, why), why
 * "contract ID (FILE:LINE, End) ended on YYYY-MM-DD".  0; each's non-zero
 * return; or -1 when a contract's local time cannot be read (the others
 * are still given).
 */
int contracts_ended(const struct contracts *c, int64_t now,
    int (*each)(void *ctx, const char *provider, const char *why), void *ctx);

/*
 * The terms of provider's contract (or every one when NULL), for people;
 * after each contract's terms, more(ctx, out, id) when more is not NULL
 * (a non-zero return stops and is returned).  0, or -1 (no contract).
 */
int contracts_print(const struct contracts *c, const char *provider, FILE *out,
    int (*more)(void *ctx, FILE *out, const char *id), void *ctx);

#endif /* PROVOST_PLUGINS_CONTRACT_H */

/*
 * hook.c: the answer of a rotation hook (RotationHook KIND PROGRAM, run by
 * the exit): one JSON object, checked strictly, since it decides whether
 * a secret counts as changed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/common.h"
#include "store/store.h"

#define HOOK_TEXT_MAX 1024

static const char *const hook_status_names[] = {
	[STORE_HOOK_ROTATED] = "rotated",
	[STORE_HOOK_FAILED] = "failed",
	[STORE_HOOK_OK] = "ok",
	[STORE_HOOK_UNSUPPORTED] = "unsupported",
};

const char *
store_hook_status_name(enum store_hook_status s)
{
	if ((unsigned int)s > STORE_HOOK_UNSUPPORTED)
		return "?";
	return hook_status_names[s];
}

/* Printable ASCII (a message may hold spaces), 1..max. */
static int
text_ok(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

void
store_hook_answer_clear(struct store_hook_answer *a)
{
	if (a->secret != NULL) {
		OPENSSL_cleanse(a->secret, a->secret_len);
		free(a->secret);
	}
	free(a->fingerprint);
	free(a->message);
	memset(a, 0, sizeof(*a));
}

int
store_hook_answer_parse(const char *data, size_t len, int verify,
    struct store_hook_answer *out, char *err, size_t errlen)
{
	json_t *j = NULL, *v;
	json_error_t jerr;
	const char *key, *st;
	size_t i;
	int r = PV_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (len == 0 || len > STORE_HOOK_ANSWER_MAX) {
		(void)snprintf(err, errlen,
		    len == 0 ? "no answer" : "answer longer than %d bytes",
		    STORE_HOOK_ANSWER_MAX);
		return PV_ERR_INVALID;
	}
	if (memchr(data, '\0', len) != NULL) {
		(void)snprintf(err, errlen, "a NUL byte in the answer");
		return PV_ERR_INVALID;
	}
	if ((j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)) ==
		NULL ||
	    !json_is_object(j)) {
		(void)snprintf(err, errlen, "not one JSON object%s%s",
		    j == NULL ? ": " : "", j == NULL ? jerr.text : "");
		goto out;
	}
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, "status") != 0 &&
		    strcmp(key, "fingerprint") != 0 &&
		    strcmp(key, "message") != 0 &&
		    (verify || strcmp(key, "secret") != 0)) {
			(void)snprintf(
			    err, errlen, "unknown field \"%.64s\"", key);
			goto out;
		}
		if (!json_is_string(v)) {
			(void)snprintf(
			    err, errlen, "%s: must be a string", key);
			goto out;
		}
	}
	if ((st = json_string_value(json_object_get(j, "status"))) == NULL) {
		(void)snprintf(err, errlen, "no status");
		goto out;
	}
	for (i = 0; i <= STORE_HOOK_UNSUPPORTED; i++)
		if (strcmp(st, hook_status_names[i]) == 0)
			break;
	/* rotate answers rotated or failed; verify ok, failed, unsupported */
	if (i > STORE_HOOK_UNSUPPORTED || (!verify && i > STORE_HOOK_FAILED) ||
	    (verify && i == STORE_HOOK_ROTATED)) {
		(void)snprintf(err, errlen, "status: %s",
		    verify ? "one of ok, failed, unsupported"
			   : "one of rotated, failed");
		goto out;
	}
	out->status = (enum store_hook_status)i;
	if ((v = json_object_get(j, "message")) != NULL) {
		if (!text_ok(json_string_value(v), HOOK_TEXT_MAX)) {
			(void)snprintf(err, errlen,
			    "message: 1..%d printable characters",
			    HOOK_TEXT_MAX);
			goto out;
		}
		if ((out->message = strdup(json_string_value(v))) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
	}
	if ((v = json_object_get(j, "fingerprint")) != NULL) {
		if (!text_ok(json_string_value(v), 256) ||
		    strchr(json_string_value(v), ' ') != NULL) {
			(void)snprintf(err, errlen,
			    "fingerprint: 1..256 printable characters, no "
			    "spaces");
			goto out;
		}
		if ((out->fingerprint = strdup(json_string_value(v))) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
	}
	if (out->status == STORE_HOOK_ROTATED && out->fingerprint == NULL) {
		(void)snprintf(
		    err, errlen, "rotated needs the new secret's fingerprint");
		goto out;
	}
	if ((v = json_object_get(j, "secret")) != NULL) {
		size_t n = json_string_length(v);

		if (out->status != STORE_HOOK_ROTATED || n == 0 ||
		    n > STORE_HOOK_SECRET_MAX) {
			(void)snprintf(err, errlen,
			    "secret: 1..%d bytes, with status rotated only",
			    STORE_HOOK_SECRET_MAX);
			goto out;
		}
		if ((out->secret = malloc(n)) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		memcpy(out->secret, json_string_value(v), n);
		out->secret_len = n;
	}
	r = 0;
out:
	if (j != NULL) {
		/* the secret's text in jansson's copy too */
		v = json_object_get(j, "secret");
		if (json_is_string(v)) {
			const char *cs = json_string_value(v);
			void *w;

			/* jansson owns it and frees it unwiped: wipe it here */
			memcpy(&w, &cs, sizeof(w));
			OPENSSL_cleanse(w, json_string_length(v));
		}
		json_decref(j);
	}
	if (r != 0) {
		store_hook_answer_clear(out);
		/* field names and jansson's quote of the input: one
		 * printable line whatever the hook wrote */
		pv_str_printable(err);
	}
	return r;
}

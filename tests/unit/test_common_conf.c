/*
 * test_common_conf.c: the config tokenizer: quoting, comments, argument
 * counts, case-insensitive keywords, and one FILE:LINE error per fault.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

/* Collects every line as "Keyword|arg|arg" for comparison. */
struct collect {
	char out[4096];
	int indented_lines;
};

static int
collect_line(
    void *ctx, const struct pv_conf_line *line, char *err, size_t errlen)
{
	struct collect *c = ctx;
	size_t o = strlen(c->out);
	int i, n;

	if (line->nargs > 0 && strcmp(line->args[0], "reject") == 0) {
		(void)snprintf(
		    err, errlen, "value \"%s\" is refused", line->args[0]);
		return PV_ERR_CONFIG;
	}
	n = snprintf(c->out + o, sizeof(c->out) - o, "%s%s", o ? "\n" : "",
	    line->keyword);
	assert_true(n > 0);
	for (i = 0; i < line->nargs; i++) {
		o = strlen(c->out);
		n = snprintf(
		    c->out + o, sizeof(c->out) - o, "|%s", line->args[i]);
		assert_true(n > 0);
	}
	if (line->indented)
		c->indented_lines++;
	return 0;
}

static const struct pv_conf_keyword table[] = {
	{ "Listen", 1, 1, collect_line },
	{ "Channels", 1, -1, collect_line },
	{ "Hours", 1, 2, collect_line },
	{ "Flag", 0, 0, collect_line },
	{ "Rule", 1, 1, collect_line },
	{ NULL, 0, 0, NULL },
};

static const struct {
	const char *in;
	const char *want; /* collected lines, or NULL if an error */
	const char *err;  /* the exact error, when want is NULL */
} cases[] = {
	{ "", "", NULL },
	{ "# only a comment\n\n   \n", "", NULL },
	{ "Listen 0.0.0.0:2222\n", "Listen|0.0.0.0:2222", NULL },
	{ "listen a\nLISTEN b", "listen|a\nLISTEN|b", NULL },
	{ "Channels shell exec  sftp # trailing\n", "Channels|shell|exec|sftp",
	    NULL },
	{ "Channels a#b\n", "Channels|a#b", NULL },
	{ "Rule \"two words\"\n", "Rule|two words", NULL },
	{ "Rule \"a # not a comment\"\n", "Rule|a # not a comment", NULL },
	{ "Rule \"q\\\"q\\\\\"\n", "Rule|q\"q\\", NULL },
	{ "Rule \"\"\n", "Rule|", NULL },
	{ "Rule ab\"c d\"e\n", "Rule|abc de", NULL },
	{ "Flag\r\nListen x\r\n", "Flag\nListen|x", NULL },
	{ "Rule x\n\tHours Mon 1\n", "Rule|x\nHours|Mon|1", NULL },
	{ "Bogus 1\n", NULL, "t.conf:1: unknown keyword \"Bogus\"" },
	{ "Flag\nListen\n", NULL, "t.conf:2: Listen takes 1 argument, not 0" },
	{ "Listen a b\n", NULL, "t.conf:1: Listen takes 1 argument, not 2" },
	{ "Flag x\n", NULL, "t.conf:1: Flag takes 0 arguments, not 1" },
	{ "Hours a b c\n", NULL,
	    "t.conf:1: Hours takes 1 to 2 arguments, not 3" },
	{ "Channels\n", NULL, "t.conf:1: Channels takes at least 1 argument" },
	{ "\n\nRule \"open\n", NULL, "t.conf:3: unterminated quoted string" },
	{ "Rule \"a\\nb\"\n", NULL,
	    "t.conf:1: bad escape in quoted string (only \\\" and \\\\)" },
	{ "Listen a\x01\n", NULL, "t.conf:1: control character 0x01" },
	{ "Listen\x7f\n", NULL, "t.conf:1: control character 0x7f" },
	{ "Flag\nRule reject\n", NULL,
	    "t.conf:2: value \"reject\" is refused" },
	{ "Bad\x1b[31m\n", NULL, "t.conf:1: control character 0x1b" },
};

static void
test_cases(void **state)
{
	char err[PV_CONF_ERR_MAX];
	struct collect c;
	size_t i, len;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&c, 0, sizeof(c));
		len = strlen(cases[i].in);
		r = pv_conf_parse_mem(
		    "t.conf", cases[i].in, len, table, &c, err, sizeof(err));
		if (cases[i].want != NULL) {
			if (r != 0)
				fail_msg(
				    "case %zu: unexpected error: %s", i, err);
			assert_string_equal(c.out, cases[i].want);
		} else {
			if (r == 0)
				fail_msg("case %zu: parsed, want error %s", i,
				    cases[i].err);
			assert_string_equal(err, cases[i].err);
		}
	}
}

static void
test_nul_byte(void **state)
{
	static const char in[] = "Listen a\0b\n";
	char err[PV_CONF_ERR_MAX];
	struct collect c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(pv_conf_parse_mem("t.conf", in, sizeof(in) - 1, table,
			     &c, err, sizeof(err)),
	    PV_ERR_INVALID);
	assert_string_equal(err, "t.conf:1: control character 0x00");
}

static void
test_indent_flag(void **state)
{
	char err[PV_CONF_ERR_MAX];
	struct collect c;
	const char *in = "Rule a\n  Hours x\n\tChannels y\nRule b\n";

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(
	    pv_conf_parse_mem("t", in, strlen(in), table, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.indented_lines, 2);
}

static void
test_limits(void **state)
{
	char err[PV_CONF_ERR_MAX], *in;
	struct collect c;
	size_t i, o = 0;

	(void)state;
	/* A line over the limit. */
	in = malloc(PV_CONF_MAX_LINE + 20);
	assert_non_null(in);
	memcpy(in, "Listen ", 7);
	memset(in + 7, 'a', PV_CONF_MAX_LINE);
	in[PV_CONF_MAX_LINE + 7] = '\n';
	memset(&c, 0, sizeof(c));
	assert_int_equal(pv_conf_parse_mem("t", in, PV_CONF_MAX_LINE + 8, table,
			     &c, err, sizeof(err)),
	    PV_ERR_LIMIT);
	assert_string_equal(err, "t:1: line longer than 4096 bytes");
	free(in);

	/* Too many arguments. */
	in = malloc(1024);
	assert_non_null(in);
	o = (size_t)snprintf(in, 1024, "Channels");
	for (i = 0; i < PV_CONF_MAX_ARGS + 1; i++)
		o += (size_t)snprintf(in + o, 1024 - o, " c%zu", i);
	assert_int_equal(
	    pv_conf_parse_mem("t", in, o, table, &c, err, sizeof(err)),
	    PV_ERR_INVALID);
	assert_string_equal(err, "t:1: too many arguments");
	free(in);

	/* Exactly the maximum is fine. */
	in = malloc(1024);
	assert_non_null(in);
	o = (size_t)snprintf(in, 1024, "Channels");
	for (i = 0; i < PV_CONF_MAX_ARGS; i++)
		o += (size_t)snprintf(in + o, 1024 - o, " c%zu", i);
	memset(&c, 0, sizeof(c));
	assert_int_equal(
	    pv_conf_parse_mem("t", in, o, table, &c, err, sizeof(err)), 0);
	free(in);
}

static void
test_file(void **state)
{
	char dir[] = "/tmp/pvconfXXXXXX", path[256], err[PV_CONF_ERR_MAX];
	static const char body[] = "Listen x\nNope\n";
	struct collect c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/p.conf", dir);
	assert_int_equal(pv_file_write_new(path, 0600, body, strlen(body)), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(pv_conf_parse_file(path, table, &c, err, sizeof(err)),
	    PV_ERR_CONFIG);
	assert_non_null(strstr(err, "/p.conf:2: unknown keyword \"Nope\""));
	assert_int_equal(unlink(path), 0);
	assert_int_not_equal(
	    pv_conf_parse_file(path, table, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "cannot read: not found"));
	assert_int_not_equal(
	    pv_conf_parse_file(dir, table, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(rmdir(dir), 0);
}

static void
test_yesno(void **state)
{
	int v = -1;

	(void)state;
	assert_int_equal(pv_conf_yesno("yes", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pv_conf_yesno("No", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pv_conf_yesno("true", &v), PV_ERR_INVALID);
	assert_int_equal(pv_conf_yesno("", &v), PV_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_indent_flag),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_yesno),
	};

	return cmocka_run_group_tests_name("common_conf", tests, NULL, NULL);
}

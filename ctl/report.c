/*
 * report.c: provostctl report KIND [ARGS...]: the reports the plugins
 * make (contract, sla, ...), written by the plugin host straight to our
 * standard output.  The arguments are the plugin's to parse: they reach
 * it as one line, "KIND ARG ...".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "plugins/plugins.h"

/* A report may read the whole store: minutes, not seconds. */
#define REPORT_TIMEOUT_MS (10 * 60 * 1000)

int
ctl_cmd_report(struct ctl *c, int argc, char **argv)
{
	const struct ctl_cmd *cmd = ctl_cmd_find(NULL, "report");
	struct pv_buf *b = NULL;
	char *what = NULL, err[512];
	int i, r, rc;

	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: provostctl %s\n", cmd->usage);
		return CTL_EXIT_OK;
	}
	if (argc < 2 || argv[1][0] == '-')
		return ctl_usage(cmd, "KIND first (contract, sla, ...)");
	if ((b = pv_buf_new(4096)) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	for (i = 1; i < argc; i++) {
		const char *p;

		for (p = argv[i]; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				pv_buf_free(b);
				return ctl_usage(
				    cmd, "control characters in an argument");
			}
		}
		if (pv_buf_putf(b, "%s%s", i > 1 ? " " : "", argv[i]) != 0) {
			pv_buf_free(b);
			return ctl_usage(cmd, "arguments too long");
		}
	}
	r = pv_buf_dup_cstring(b, &what);
	pv_buf_free(b);
	if (r != 0)
		return ctl_fail(r, "out of memory");
	if ((rc = ctl_plugins(c)) != 0)
		goto out;
	if (c->plugins == NULL) {
		rc = ctl_fail(PV_ERR_CONFIG,
		    "no Plugin lines in the configuration: no plugin makes "
		    "the report %s",
		    argv[1]);
		goto out;
	}
	/* What we printed so far goes first; the host writes to fd 1. */
	(void)fflush(stdout);
	r = plugin_host_report(c->plugins, what, STDOUT_FILENO,
	    REPORT_TIMEOUT_MS, err, sizeof(err));
	rc = r == 0 ? CTL_EXIT_OK
		    : ctl_fail(r, "report %s: %s", argv[1],
			  err[0] ? err : pv_err_str(r));
out:
	free(what);
	return rc;
}

/*
 * replay_html.c: export --format html: one self-contained page that works
 * offline, for one or many recordings, with asciinema-player inlined.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "recorder/recorder.h"
#include "recorder/replay-int.h"

/*
 * The page before its data.  Nothing from a recording goes into this
 * markup: the recordings are JSON in a data block that the page's script
 * turns into text nodes.  The Content-Security-Policy lets only the two
 * inlined scripts run (by hash) and the page fetch nothing.
 */
static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
    "'none'; script-src '%s' '%s' 'wasm-unsafe-eval'; style-src "
    "'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; "
    "form-action 'none'\">\n"
    "<meta name=\"referrer\" content=\"no-referrer\">\n"
    "<meta name=\"robots\" content=\"noindex\">\n"
    "<title>provost replay: %d recording%s</title>\n";

static const char page_body[] =
    "</head>\n<body>\n"
    "<div id=\"pv-warning\" role=\"alert\"><strong>Confidential: decrypted "
    "session recordings.</strong> This page holds what was typed and shown "
    "in the sessions below, in clear.  provost-replay wrote it readable by "
    "its owner only (mode 0600): do not copy, mail or publish it, and "
    "delete it when the review is done.</div>\n"
    "<header id=\"pv-top\"><h1>provost replay</h1>"
    "<input id=\"pv-search\" type=\"search\" autocomplete=\"off\" "
    "spellcheck=\"false\" placeholder=\"Search commands and output\" "
    "aria-label=\"Search commands and output\">"
    "<span id=\"pv-search-count\"></span></header>\n"
    "<ol id=\"pv-hits\" hidden></ol>\n"
    "<section id=\"pv-index\"><h2>Sessions</h2>\n"
    "<table id=\"pv-sessions\"><thead><tr><th>#</th><th>engineer</th>"
    "<th>provider</th><th>target</th><th>account</th><th>start</th>"
    "<th>end</th><th>duration</th><th>output</th><th>verify</th>"
    "<th>commands</th><th>transfers</th><th>file</th></tr></thead>"
    "<tbody></tbody></table></section>\n"
    "<section id=\"pv-session\" hidden><h2 id=\"pv-title\"></h2>\n"
    "<p id=\"pv-verify\"></p><dl id=\"pv-meta\"></dl>\n"
    "<div id=\"pv-player\"></div>\n"
    "<h3>Commands</h3><ol id=\"pv-commands\"></ol>\n"
    "<h3>File transfers</h3>\n"
    "<table id=\"pv-files\"><thead><tr><th>time</th><th>op</th>"
    "<th>direction</th><th>path</th><th>bytes</th><th>sha256</th>"
    "<th>result</th></tr></thead><tbody></tbody></table></section>\n"
    "<noscript>The player, the timeline and the search need JavaScript."
    "</noscript>\n";

/* 'sha256-BASE64' of an inline script's exact text, for the CSP. */
static int
csp_hash(const unsigned char *d, size_t len, char *out, size_t outlen)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *b64 = NULL;
	int r;

	if (EVP_Digest(d, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md))
		return PV_ERR_CRYPTO;
	if ((r = pv_b64_encode(md, sizeof(md), 0, &b64)) != 0)
		return r;
	r = snprintf(out, outlen, "sha256-%s", b64) < (int)outlen
	    ? 0
	    : PV_ERR_INTERNAL;
	free(b64);
	return r;
}

static int
put_bytes(FILE *f, const unsigned char *d, size_t len)
{
	return fwrite(d, 1, len, f) == len ? 0 : PV_ERR_IO;
}

static int
write_page(FILE *f, json_t *data, int n)
{
	char hp[64], hs[64];
	char *js = NULL;
	int r;

	if ((r = csp_hash(replay_player_js, replay_player_js_len, hp,
		 sizeof(hp))) != 0 ||
	    (r = csp_hash(
		 replay_page_js, replay_page_js_len, hs, sizeof(hs))) != 0)
		return r;
	if ((js = json_dumps(data, JSON_COMPACT)) == NULL)
		return PV_ERR_ALLOC;
	r = PV_ERR_IO;
	if (fprintf(f, page_head, hp, hs, n, n == 1 ? "" : "s") < 0 ||
	    fputs("<style>", f) == EOF ||
	    put_bytes(f, replay_player_css, replay_player_css_len) != 0 ||
	    fputs("</style>\n<style>", f) == EOF ||
	    put_bytes(f, replay_page_css, replay_page_css_len) != 0 ||
	    fputs("</style>\n", f) == EOF || fputs(page_body, f) == EOF ||
	    fprintf(f, "<!-- asciinema-player %s, Apache-2.0 -->\n",
		replay_player_version) < 0 ||
	    fputs("<script type=\"application/json\" id=\"pv-data\">", f) ==
		EOF ||
	    replay_json_html(f, js) != 0 ||
	    fputs("</script>\n<script>", f) == EOF ||
	    put_bytes(f, replay_player_js, replay_player_js_len) != 0 ||
	    fputs("</script>\n<script>", f) == EOF ||
	    put_bytes(f, replay_page_js, replay_page_js_len) != 0 ||
	    fputs("</script>\n</body>\n</html>\n", f) == EOF)
		goto out;
	r = 0;
out:
	free(js);
	return r;
}

int
replay_cmd_html(
    int nfiles, char **files, const char *page, const struct replay_keys *keys)
{
	json_t *data = NULL, *arr, *s;
	FILE *f = NULL;
	char now[32];
	int i, fd = -1, rc = 1, bad = 0, written = 0;

	if (page == NULL && isatty(STDOUT_FILENO)) {
		fprintf(stderr,
		    "provost-replay: the page holds decrypted content: give "
		    "-o PAGE or redirect standard output\n");
		return 2;
	}
	if (pv_time_format((int64_t)time(NULL), now, sizeof(now)) != 0)
		now[0] = '\0';
	if ((arr = json_array()) == NULL ||
	    (data = json_pack("{s:s,s:s,s:s,s:o}", "tool",
		 "provost-replay " PACKAGE_VERSION, "player",
		 replay_player_version, "generated", now, "sessions", arr)) ==
		NULL) {
		json_decref(data);
		fprintf(stderr, "provost-replay: out of memory\n");
		return 2;
	}
	for (i = 0; i < nfiles; i++) {
		if (replay_scan(files[i], keys, 1, &s) != 0) {
			fprintf(stderr, "provost-replay: %s: out of memory\n",
			    files[i]);
			goto out;
		}
		if (!json_is_true(json_object_get(s, "ok"))) {
			fprintf(stderr, "%s: %s\n", files[i],
			    json_string_value(json_object_get(s, "error")));
			bad = 1;
		}
		if (json_array_append_new(arr, s) != 0)
			goto out;
	}
	if (page != NULL) {
		fd = open(page,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
			fprintf(stderr, "provost-replay: %s: %s\n", page,
			    strerror(errno));
			goto out;
		}
	} else
		f = stdout;
	if (write_page(f, data, nfiles) != 0 || fflush(f) != 0 ||
	    (page != NULL && fsync(fd) != 0)) {
		fprintf(stderr, "provost-replay: %s: %s\n",
		    page != NULL ? page : "standard output", strerror(errno));
		goto out;
	}
	written = 1;
out:
	if (f != NULL && f != stdout) {
		if (fclose(f) != 0 && written) {
			fprintf(stderr, "provost-replay: %s: %s\n", page,
			    strerror(errno));
			written = 0;
		}
	} else if (f == NULL && fd >= 0)
		(void)close(fd);
	/* Never leave half a page behind. */
	if (page != NULL && fd >= 0 && !written)
		(void)unlink(page);
	if (written)
		rc = bad;
	json_decref(data);
	return rc;
}

/*
 * log.c: one-line logging to stderr or syslog.  Input reaches log lines
 * (logins, paths), so every control byte is escaped before it is written.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "common/common.h"

/*
 * The one process-wide state outside a main() file: a process logs in one
 * way, and threading a logger through every call would hide the code.
 */
static struct {
	const char *ident;
	enum pv_log_dest dest;
	enum pv_log_level level;
	pv_log_sink sink;
	void *sink_ctx;
} pv_logger = {
	.ident = "provost",
	.dest = PV_LOG_STDERR,
	.level = PV_LOG_INFO,
};

static const char *const pv_level_names[] = {
	[PV_LOG_ERROR] = "error",
	[PV_LOG_WARN] = "warning",
	[PV_LOG_INFO] = "info",
	[PV_LOG_VERBOSE] = "verbose",
	[PV_LOG_DEBUG] = "debug",
};

void
pv_log_init(const char *ident, enum pv_log_dest dest, enum pv_log_level level)
{
	pv_logger.ident = ident != NULL ? ident : "provost";
	pv_logger.dest = dest;
	pv_logger.level = level;
	if (dest == PV_LOG_SYSLOG)
		openlog(pv_logger.ident, LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
}

void
pv_log_set_level(enum pv_log_level level)
{
	pv_logger.level = level;
}

enum pv_log_level
pv_log_get_level(void)
{
	return pv_logger.level;
}

void
pv_log_set_sink(pv_log_sink sink, void *ctx)
{
	pv_logger.sink = sink;
	pv_logger.sink_ctx = ctx;
}

int
pv_log_level_parse(const char *s, enum pv_log_level *out)
{
	size_t i;

	/* the documented keyword; "warning" is what log lines print */
	if (strcasecmp(s, "warn") == 0) {
		*out = PV_LOG_WARN;
		return 0;
	}
	for (i = 0; i < sizeof(pv_level_names) / sizeof(pv_level_names[0]);
	     i++) {
		if (strcasecmp(s, pv_level_names[i]) == 0) {
			*out = (enum pv_log_level)i;
			return 0;
		}
	}
	return PV_ERR_INVALID;
}

const char *
pv_log_level_name(enum pv_log_level level)
{
	if ((size_t)level >= sizeof(pv_level_names) / sizeof(pv_level_names[0]))
		return "unknown";
	return pv_level_names[level];
}

int
pv_log_escape(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned char c;

	if (dstlen == 0)
		return PV_ERR_LIMIT;
	for (; (c = (unsigned char)*src) != '\0'; src++) {
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstlen)
				goto cut;
			dst[o++] = (char)c;
		} else if (c == '\\') {
			if (o + 2 >= dstlen)
				goto cut;
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			if (o + 4 >= dstlen)
				goto cut;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	dst[o] = '\0';
	return 0;
cut:
	dst[o] = '\0';
	return PV_ERR_LIMIT;
}

void
pv_str_printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void
pv_vlog(enum pv_log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = {
		[PV_LOG_ERROR] = LOG_ERR,
		[PV_LOG_WARN] = LOG_WARNING,
		[PV_LOG_INFO] = LOG_INFO,
		[PV_LOG_VERBOSE] = LOG_INFO,
		[PV_LOG_DEBUG] = LOG_DEBUG,
	};
	char raw[PV_LOG_LINE_MAX], line[PV_LOG_LINE_MAX];

	if (level > pv_logger.level ||
	    (size_t)level >= sizeof(prio) / sizeof(prio[0]))
		return;
	if (vsnprintf(raw, sizeof(raw), fmt, ap) < 0)
		return;
	(void)pv_log_escape(line, sizeof(line), raw);
	if (pv_logger.sink != NULL)
		pv_logger.sink(pv_logger.sink_ctx, level, line);
	else if (pv_logger.dest == PV_LOG_SYSLOG)
		syslog(prio[level], "%s", line);
	else
		(void)fprintf(stderr, "%s: %s%s%s\n", pv_logger.ident,
		    level <= PV_LOG_WARN ? pv_level_names[level] : "",
		    level <= PV_LOG_WARN ? ": " : "", line);
}

void
pv_log(enum pv_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pv_vlog(level, fmt, ap);
	va_end(ap);
}

/* log - one line per event on stderr, and syslog when asked. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *log_progname = "postern";
static bool log_syslog;

/* log_init - remember the program name; open syslog when asked. */
void log_init(const char *progname, bool use_syslog)
{
	log_progname = progname;
	if (use_syslog && !log_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_syslog = use_syslog;
}

static void log_vwrite(int priority, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec now;
	struct tm tm;
	char stamp[32];

	vsnprintf(line, sizeof(line), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, now.tv_nsec / 1000000, log_progname, line);
	if (log_syslog)
		syslog(priority, "%s", line);
}

/* log_msg - write one event line. */
void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(priority, fmt, ap);
	va_end(ap);
}

/* fatal - log a broken invariant and exit. */
void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

/* log_escape - make client text safe for one log line. */
const char *log_escape(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < buflen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
	}
	buf[o < buflen ? o : buflen - 1] = '\0';
	return buf;
}

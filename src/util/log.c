/* log - one line per event on stderr, and syslog when asked. */
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_HELD_MAX (16 * 1024)

static const char *log_progname = "postern";
static bool log_syslog;

/* Lines held by this thread between log_hold and log_release, written together. */
static _Thread_local struct {
	unsigned depth;
	size_t len;
	char buf[LOG_HELD_MAX];
} log_held;

/* log_flush_held - write the held lines with one write (stderr is unbuffered). */
static void log_flush_held(void)
{
	size_t off = 0;

	while (off < log_held.len) {
		ssize_t n = write(STDERR_FILENO, log_held.buf + off, log_held.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* nowhere to log to: the lines are dropped, as fprintf would */
		off += (size_t)n;
	}
	log_held.len = 0;
}

void log_hold(void)
{
	log_held.depth++;
}

void log_release(void)
{
	if (log_held.depth > 0 && --log_held.depth == 0)
		log_flush_held();
}

/* log_emit - one formatted line (with its newline) to stderr, or to the held lines. */
static void log_emit(const char *text, size_t len)
{
	if (log_held.depth == 0) {
		fwrite(text, 1, len, stderr);
		return;
	}
	if (log_held.len + len > sizeof(log_held.buf))
		log_flush_held();
	if (len > sizeof(log_held.buf)) {
		fwrite(text, 1, len, stderr);
		return;
	}
	memcpy(log_held.buf + log_held.len, text, len);
	log_held.len += len;
}

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
	char out[sizeof(line) + 128];
	int n = snprintf(out, sizeof(out), "%s.%03ldZ %s: %s\n", stamp, now.tv_nsec / 1000000,
			 log_progname, line);
	if (n > 0)
		log_emit(out, n < (int)sizeof(out) ? (size_t)n : sizeof(out) - 1);
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
	log_flush_held();
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

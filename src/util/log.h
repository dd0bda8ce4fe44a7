/*
 * log - one line per event, to stderr and optionally to syslog (facility
 * mail). Client-supplied text must go through log_escape() first. fatal()
 * is for broken invariants and allocation failure only.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/* log_init - set the program name and whether lines also go to syslog. */
void log_init(const char *progname, bool use_syslog);
/* log_msg - write one line at a syslog priority. */
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* fatal - log and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/*
 * log_hold, log_release - the lines this thread logs in between go out
 * with one write at the release (the outer one, when nested): for a batch
 * of answers logged within one callback. Syslog still gets each at once.
 */
void log_hold(void);
void log_release(void);
/* log_escape - copy client text into buf, printable ASCII only, truncated. */
const char *log_escape(const char *s, size_t len, char *buf, size_t buflen);

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)

#endif

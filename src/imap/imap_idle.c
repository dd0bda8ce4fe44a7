/*
 * imap_idle - IDLE (RFC 2177, RFC 9051 6.3.13). While a session idles in a
 * mailbox, the daemon's inotify watch of its new/ and cur/ (imap_notify.h)
 * starts a scan on any change; the scan's merge sends EXISTS, EXPUNGE and
 * FETCH FLAGS at once. inotify does not see what another host changes on a
 * shared (NFS) mail root, so when DATA_DIR/mail is another mount, every
 * 30 seconds, as Dovecot's mailbox_idle_check_interval, the session also
 * looks at the mtimes of new/ and cur/ (two stats) and scans when one
 * moved. "* OK Still here" every two minutes keeps NAT and firewall state
 * alive, as Dovecot does. Test hooks: POSTERN_IDLE_CHECK (check every so
 * many seconds, whatever the mount), POSTERN_IDLE_NO_INOTIFY (watch
 * nothing: another host's view).
 */
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_notify.h"
#include "store/store.h"

#define IMAP_IDLE_CHECK 30          /* seconds between checks of new/ and cur/ */
#define IMAP_IDLE_KEEPALIVE_TICKS 4 /* "* OK Still here" every 4 checks */
#define IMAP_IDLE_KEEPALIVE 120     /* seconds between them when nothing is checked */

static void imap_idle_refreshed(struct imap_session *s, int rc);
static bool imap_idle_moved(struct imap_session *s);

/* imap_idle_scan - scan the folder (once more after a scan in flight). */
static void imap_idle_scan(struct imap_session *s)
{
	if (s->mbox->scanning)
		s->mbox->rescan = true;
	else
		imap_mailbox_refresh(s, imap_idle_refreshed);
}

/* imap_idle_changed_cb - inotify saw a change: scan (the next check need not). */
static void imap_idle_changed_cb(void *arg)
{
	struct imap_session *s = arg;

	if (s->idle_poll)
		imap_idle_moved(s);
	imap_idle_scan(s);
}

/* imap_idle_refreshed - a scan is merged: scan again if more changed, or end a finished IDLE. */
static void imap_idle_refreshed(struct imap_session *s, int rc)
{
	(void)rc;
	if (atomic_load(&s->daemon->stopping)) {
		imap_idle_stop(s);
		imap_reply(s, "* BYE [UNAVAILABLE] Server shutting down");
		imap_close(s);
		return;
	}
	if (s->mode == IMAP_M_IDLE) {
		if (s->mbox->rescan) {
			s->mbox->rescan = false;
			imap_mailbox_refresh(s, imap_idle_refreshed);
		}
		return;
	}
	if (s->idle_bad) /* the line that ended IDLE during the scan */
		imap_bad(s, "Expected DONE");
	else
		imap_tagged(s, "OK IDLE terminated");
	s->idle_bad = false;
	imap_resume(s);
}

/* imap_idle_moved - whether new/ or cur/ has another mtime than at the last look. */
static bool imap_idle_moved(struct imap_session *s)
{
	static const char *const subs[2] = { "new", "cur" };
	bool moved = false;
	char path[PATH_MAX];
	struct stat st;

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", s->mbox->dir, subs[i]);
		if (stat(path, &st) < 0)
			memset(&st, 0, sizeof(st));
		moved |= st.st_mtim.tv_sec != s->idle_seen[i].tv_sec ||
			 st.st_mtim.tv_nsec != s->idle_seen[i].tv_nsec;
		s->idle_seen[i] = st.st_mtim;
	}
	return moved;
}

/* imap_idle_tick_cb - the periodic check; every fourth time, "* OK Still here". */
static void imap_idle_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;

	(void)fd;
	(void)what;
	if (!s->idle_poll || ++s->idle_ticks % IMAP_IDLE_KEEPALIVE_TICKS == 0)
		imap_reply(s, "* OK Still here");
	if (s->idle_poll && s->mbox != NULL && imap_idle_moved(s))
		imap_idle_scan(s);
}

/* imap_idle_env - a test hook's positive number, else def. */
static long imap_idle_env(const char *name, long def)
{
	const char *v = getenv(name);
	long n = v != NULL ? strtol(v, NULL, 10) : 0;

	return n > 0 ? n : def;
}

void imap_idle_stop(struct imap_session *s)
{
	imap_notify_remove(&s->idle_watch);
	if (s->idle_timer != NULL) {
		event_free(s->idle_timer);
		s->idle_timer = NULL;
	}
}

void imap_idle_cmd(struct imap_session *s, const struct imap_call *c)
{
	long hook = imap_idle_env("POSTERN_IDLE_CHECK", 0);
	struct timeval tv = { .tv_sec = IMAP_IDLE_KEEPALIVE };

	if (c->count != 0) {
		imap_bad(s, "IDLE takes no arguments");
		return;
	}
	s->idle_poll = hook > 0 || store_mail_elsewhere(s->daemon->store);
	if (s->idle_poll)
		tv.tv_sec = hook > 0 ? hook : IMAP_IDLE_CHECK;
	if (s->mbox != NULL) {
		if (s->idle_poll)
			imap_idle_moved(s); /* the mtimes the checks compare with */
		if (!imap_idle_env("POSTERN_IDLE_NO_INOTIFY", 0))
			s->idle_watch = imap_notify_add(imap_base(s), s->mbox->dir,
							imap_idle_changed_cb, s);
	}
	s->idle_ticks = 0;
	s->idle_timer = event_new(imap_base(s), -1, EV_PERSIST, imap_idle_tick_cb, s);
	if (s->idle_timer != NULL)
		event_add(s->idle_timer, &tv);
	s->mode = IMAP_M_IDLE;
	imap_reply(s, "+ idling");
	if (s->mbox != NULL) /* what changed since the last command */
		imap_idle_scan(s);
}

void imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	bool done = line != NULL && len == 4 && strncasecmp(line, "DONE", 4) == 0;

	imap_idle_stop(s);
	if (s->mbox != NULL && s->mbox->scanning) {
		imap_busy(s); /* the answer after the scan's news (imap_idle_refreshed) */
		s->idle_bad = !done;
		return;
	}
	s->mode = IMAP_M_COMMANDS;
	if (done)
		imap_tagged(s, "OK IDLE terminated");
	else
		imap_bad(s, "Expected DONE");
}

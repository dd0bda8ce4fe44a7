/*
 * imap_idle - IDLE (RFC 2177, RFC 9051 6.3.13). While a session idles in a
 * mailbox, the daemon's inotify watch of its new/ and cur/ (imap_notify.h)
 * starts a scan on any change; the scan's merge sends EXISTS, EXPUNGE and
 * FETCH FLAGS at once. Nothing is polled. "* OK Still here" every two
 * minutes keeps NAT and firewall state alive, as Dovecot does.
 */
#include <event2/event.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_notify.h"

#define IMAP_IDLE_KEEPALIVE 120 /* seconds */

static void imap_idle_refreshed(struct imap_session *s, int rc);

/* imap_idle_changed_cb - the folder changed: scan it (once more after a scan in flight). */
static void imap_idle_changed_cb(void *arg)
{
	struct imap_session *s = arg;

	if (s->mbox->scanning)
		s->mbox->rescan = true;
	else
		imap_mailbox_refresh(s, imap_idle_refreshed);
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

/* imap_idle_keepalive_cb - "* OK Still here". */
static void imap_idle_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	imap_reply(arg, "* OK Still here");
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
	struct timeval tv = { .tv_sec = IMAP_IDLE_KEEPALIVE, .tv_usec = 0 };

	if (c->count != 0) {
		imap_bad(s, "IDLE takes no arguments");
		return;
	}
	if (s->mbox != NULL)
		s->idle_watch = imap_notify_add(imap_base(s), s->mbox->dir, imap_idle_changed_cb, s);
	s->idle_timer = event_new(imap_base(s), -1, EV_PERSIST, imap_idle_keepalive_cb, s);
	if (s->idle_timer != NULL)
		event_add(s->idle_timer, &tv);
	s->mode = IMAP_M_IDLE;
	imap_reply(s, "+ idling");
	if (s->mbox != NULL) /* what changed since the last command */
		imap_idle_changed_cb(s);
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

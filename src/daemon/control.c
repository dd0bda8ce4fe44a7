/* control - the daemon's unix control socket: queue flush/delete, local submission, account reload. */
#include "daemon/control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "daemon/daemon.h"
#include "metrics/metrics.h"
#include "queue/queue.h"
#include "queue/queue_submit.h"
#include "util/log.h"
#include "util/xalloc.h"

#define CONTROL_LINE_MAX 1024

struct control {
	struct daemon_conn conn; /* the listener, stopped by SIGTERM */
	struct daemon *daemon;
	struct queue *queue;
	struct evconnlistener *listener;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool linked;
};

/* One client of the control socket. */
struct control_conn {
	struct daemon_conn conn; /* first */
	struct control *ctl;
	struct bufferevent *bev;
	struct queue_submit *submit;
	uid_t uid;
	bool data;       /* reading message text until EOF */
	bool waiting;    /* for the store (a message) or the account table */
	bool closing;    /* free once the answer is sent */
	bool gone;       /* stopped while waiting: free in the callback */
};

/* control_conn_free - close and unlink a client. */
static void control_conn_free(struct control_conn *c)
{
	queue_submit_free(&c->submit);
	bufferevent_free(c->bev);
	daemon_conn_remove(c->ctl->daemon, &c->conn);
	free(c);
}

/* control_answer - one answer line; with close, end the connection once it is sent. */
static void control_answer(struct control_conn *c, bool close_after, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void control_answer(struct control_conn *c, bool close_after, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
	va_end(ap);
	evbuffer_add(bufferevent_get_output(c->bev), "\n", 1);
	if (close_after) {
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
	}
}

/* control_commit_cb - the submitted message is durable (or not). */
static void control_commit_cb(void *arg, int err)
{
	struct control_conn *c = arg;

	if (err == 0)
		metrics_received(METRICS_SVC_SENDMAIL);
	c->waiting = false;
	if (c->gone) {
		control_conn_free(c);
		return;
	}
	if (err != 0)
		control_answer(c, true, "error cannot store the message: %s", strerror(err));
	else
		control_answer(c, true, "ok %s", queue_submit_id(c->submit));
	queue_submit_free(&c->submit);
}

/* control_commit - EOF after data: commit the submission. */
static void control_commit(struct control_conn *c)
{
	const char *error;

	c->waiting = true; /* before: control_commit_cb may run inside queue_submit_commit */
	bufferevent_disable(c->bev, EV_READ);
	if (queue_submit_commit(c->submit, control_commit_cb, c, &error) < 0) {
		c->waiting = false;
		control_answer(c, true, "error %s", error);
	}
}

/* control_submit_line - mail, rcpt, data. */
static void control_submit_line(struct control_conn *c, const char *line)
{
	const char *error = NULL;
	int rc = 0;

	if (c->submit == NULL)
		c->submit = queue_submit_new(c->ctl->daemon, c->uid);
	if (strncmp(line, "mail ", 5) == 0 || strcmp(line, "mail") == 0)
		rc = queue_submit_mail(c->submit, line[4] ? line + 5 : "", &error);
	else if (strncmp(line, "rcpt ", 5) == 0)
		rc = queue_submit_rcpt(c->submit, line + 5, &error);
	else if ((rc = queue_submit_data(c->submit, &error)) == 0)
		c->data = true;
	if (rc < 0)
		control_answer(c, true, "%s %s", strcmp(error, "unknown user") == 0 ? "nouser" : "error",
			       error);
}

static void control_read_cb(struct bufferevent *bev, void *arg);

/* control_users_cb - the account table is as new as the users file was at the request. */
static void control_users_cb(void *arg)
{
	struct control_conn *c = arg;

	c->waiting = false;
	if (c->gone) {
		control_conn_free(c);
		return;
	}
	control_answer(c, false, "ok");
	control_read_cb(c->bev, c); /* requests that came meanwhile */
}

/* control_dispatch - one request line. */
static void control_dispatch(struct control_conn *c, const char *line)
{
	struct queue *q = c->ctl->queue;

	if (strcmp(line, "flush") == 0) {
		queue_flush(q);
		control_answer(c, false, "ok");
	} else if (strncmp(line, "delete ", 7) == 0) {
		if (queue_delete(q, line + 7) == 0)
			control_answer(c, false, "ok");
		else
			control_answer(c, false, "error no such queue entry");
	} else if (strcmp(line, "users") == 0) {
		c->waiting = true;
		accounts_refresh(c->ctl->daemon->accounts, control_users_cb, c);
	} else if (strncmp(line, "mail", 4) == 0 || strncmp(line, "rcpt ", 5) == 0 ||
		   strcmp(line, "data") == 0) {
		control_submit_line(c, line);
	} else {
		control_answer(c, false, "error unknown request");
	}
}

/* control_data - message text to the submission. */
static void control_data(struct control_conn *c, struct evbuffer *in)
{
	const char *error;

	while (evbuffer_get_length(in) > 0 && !c->closing) {
		size_t n = evbuffer_get_contiguous_space(in);
		const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
		if (queue_submit_write(c->submit, buf, n, &error) < 0)
			control_answer(c, true, "error %s", error);
		evbuffer_drain(in, n);
	}
}

/* control_read_cb - request lines, or message text in data mode. */
static void control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[CONTROL_LINE_MAX + 1];

	while (!c->closing && !c->data && !c->waiting) { /* one request at a time */
		struct evbuffer_ptr p = evbuffer_search(in, "\n", 1, NULL);
		if (p.pos < 0 || p.pos > CONTROL_LINE_MAX) {
			if (p.pos > CONTROL_LINE_MAX || evbuffer_get_length(in) > CONTROL_LINE_MAX)
				control_answer(c, true, "error line too long");
			return;
		}
		evbuffer_remove(in, line, (size_t)p.pos + 1);
		line[p.pos] = '\0';
		control_dispatch(c, line);
	}
	if (c->data && !c->closing)
		control_data(c, in);
}

/* control_write_cb - the answer is sent: close when that was the last. */
static void control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn *c = arg;

	(void)bev;
	if (c->closing)
		control_conn_free(c);
}

static void control_conn_stop(struct daemon_conn *conn);

/* control_event_cb - EOF ends the message text; errors end the connection. */
static void control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_conn *c = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) && c->data && !c->closing && !c->waiting) {
		control_data(c, bufferevent_get_input(c->bev));
		if (!c->closing)
			control_commit(c);
		return;
	}
	control_conn_stop(&c->conn);
}

/* control_conn_stop - SIGTERM: drop the client (a message in commit finishes first). */
static void control_conn_stop(struct daemon_conn *conn)
{
	struct control_conn *c = (struct control_conn *)conn;

	if (c->waiting)
		c->gone = true;
	else
		control_conn_free(c);
}

/* control_accept_cb - a new client. */
static void control_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			      int salen, void *arg)
{
	struct control *ctl = arg;
	struct control_conn *c = xcalloc(1, sizeof(*c));
	struct ucred cred = { .uid = (uid_t)-1 };
	socklen_t len = sizeof(cred);

	(void)l;
	(void)sa;
	(void)salen;
	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	c->ctl = ctl;
	c->uid = cred.uid;
	c->conn.stop = control_conn_stop;
	daemon_conn_add(ctl->daemon, &c->conn);
	c->bev = bufferevent_socket_new(ctl->daemon->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, control_read_cb, control_write_cb, control_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* control_close - stop listening and remove the socket file. */
static void control_close(struct control *ctl)
{
	if (ctl->listener != NULL) {
		evconnlistener_free(ctl->listener);
		ctl->listener = NULL;
		unlink(ctl->path);
	}
	if (ctl->linked) {
		ctl->linked = false;
		daemon_conn_remove(ctl->daemon, &ctl->conn);
	}
}

/* control_stop - SIGTERM. */
static void control_stop(struct daemon_conn *conn)
{
	control_close((struct control *)conn);
}

/* control_bind - the listening socket at path, mode 0660. */
static int control_bind(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path); /* left by a run that did not stop cleanly */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0660) < 0 ||
	    listen(fd, 16) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

struct control *control_open(struct daemon *d, struct queue *q, char **error_r)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	int fd = -1;

	ctl->daemon = d;
	ctl->queue = q;
	if ((size_t)snprintf(ctl->path, sizeof(ctl->path), "%s/control", d->cfg->data_dir) >=
	    sizeof(ctl->path))
		errno = ENAMETOOLONG; /* a unix socket path has room for about 100 bytes */
	else
		fd = control_bind(ctl->path);
	if (fd < 0) {
		*error_r = xasprintf("%s: cannot listen: %s", ctl->path, strerror(errno));
		free(ctl);
		return NULL;
	}
	ctl->listener = evconnlistener_new(d->base, control_accept_cb, ctl,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	ctl->conn.stop = control_stop;
	daemon_conn_add(d, &ctl->conn);
	ctl->linked = true;
	return ctl;
}

void control_free(struct control **cp)
{
	struct control *ctl = *cp;

	if (ctl == NULL)
		return;
	control_close(ctl);
	free(ctl);
	*cp = NULL;
}

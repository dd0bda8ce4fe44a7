/* listen - bind listeners and hand accepted sockets to their service. */
#include "daemon/listen.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "metrics/metrics.h"
#include "util/log.h"
#include "util/xalloc.h"

/* How long a listener rests after accept() ran out of descriptors. */
#define LISTEN_EMFILE_PAUSE_MS 100

struct daemon_listener {
	struct evconnlistener *lev;
	struct event *resume; /* re-enables the listener after a pause */
	struct daemon *daemon;
	listen_start_fn *start;
	const char *name;
	int service; /* enum metrics_service; -1: not counted */
	struct daemon_listener *next;
};

/* listen_split - "host:port" or "[v6]:port" into host and port strings. */
int listen_split(const char *addr, char *host, size_t hsize, const char **port_r)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t hlen;

	if (colon == NULL)
		return -1;
	hlen = (size_t)(colon - addr);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen >= hsize)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port_r = colon + 1;
	return 0;
}

/* listen_accept_cb - a new connection: give it to the service. */
static void listen_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
			     int salen, void *arg)
{
	struct daemon_listener *l = arg;

	(void)lev;
	if (l->service >= 0)
		metrics_conn((enum metrics_service)l->service);
	evutil_make_socket_nonblocking(fd);
	l->start(l->daemon, fd, sa, (socklen_t)salen);
}

/* listen_resume_cb - the pause is over: accept again. */
static void listen_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

/*
 * listen_error_cb - accept failed. Out of descriptors, the pending
 * connection stays in the backlog and the socket stays readable: without a
 * pause the loop would spin on it; so the listener rests a moment.
 */
static void listen_error_cb(struct evconnlistener *lev, void *arg)
{
	struct daemon_listener *l = arg;
	int err = errno;
	struct timeval pause = { .tv_sec = 0, .tv_usec = LISTEN_EMFILE_PAUSE_MS * 1000 };

	log_err("%s listener: accept: %s", l->name, strerror(err));
	if (l->service >= 0)
		metrics_accept_error((enum metrics_service)l->service);
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		evconnlistener_disable(lev);
		evtimer_add(l->resume, &pause);
	}
}

/* listen_one - bind one address. */
static int listen_one(struct daemon *d, const char *addr, const char *name,
		      listen_start_fn *start, char **error_r)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	const char *port;
	char host[256];
	int err;

	if (listen_split(addr, host, sizeof(host), &port) < 0) {
		*error_r = xasprintf("%s: bad listen address '%s'", name, addr);
		return -1;
	}
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
		*error_r = xasprintf("%s: %s: %s", name, addr, gai_strerror(err));
		return -1;
	}
	struct daemon_listener *l = xcalloc(1, sizeof(*l));
	l->daemon = d;
	l->start = start;
	l->name = name;
	l->service = metrics_service_find(name);
	l->lev = evconnlistener_new_bind(d->base, listen_accept_cb, l,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						 LEV_OPT_CLOSE_ON_EXEC,
					 4096, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (l->lev == NULL) {
		*error_r = xasprintf("%s: cannot listen on %s: %s", name, addr, strerror(errno));
		free(l);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, listen_error_cb);
	l->resume = evtimer_new(d->base, listen_resume_cb, l);
	l->next = d->listeners;
	d->listeners = l;
	log_info("%s listening on %s", name, addr);
	return 0;
}

int listen_add(struct daemon *d, const struct cfg_list *list, const char *name,
	       listen_start_fn *start, char **error_r)
{
	for (size_t i = 0; i < list->n; i++) {
		if (listen_one(d, list->items[i], name, start, error_r) < 0)
			return -1;
	}
	return 0;
}

void listen_close_all(struct daemon *d)
{
	while (d->listeners != NULL) {
		struct daemon_listener *l = d->listeners;
		d->listeners = l->next;
		evconnlistener_free(l->lev);
		event_free(l->resume);
		free(l);
	}
}

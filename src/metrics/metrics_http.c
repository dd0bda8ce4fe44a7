/* metrics_http - serve GET /metrics with evhttp on the daemon's loop. */
#include "metrics/metrics_http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/listen.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xalloc.h"

/* How long the listeners rest after accept() ran out of descriptors. */
#define METRICS_HTTP_EMFILE_PAUSE_MS 100

struct metrics_http {
	struct daemon *daemon;
	struct evhttp *http;
	struct evhttp_bound_socket **bound; /* one per address; evhttp owns their listeners */
	size_t n_bound;
	struct event *resume; /* re-enables the listeners after a pause */
};

/*
 * The listeners' error callback gets the evhttp (evhttp_bind_listener sets
 * it as their argument), not this server: there is one per process.
 */
static struct metrics_http *metrics_http_self;

/* metrics_http_state - what only the loop may read: open sessions, the store's counters. */
static void metrics_http_state(const struct daemon *d, struct metrics_snapshot *snap)
{
	unsigned long open = d->n_conns;
	struct store_stats st;

	/* The queue manager and the control socket's listener keep an entry each, for SIGTERM. */
	open -= open > 0 && d->queue != NULL ? 1 : 0;
	open -= open > 0 && d->control != NULL ? 1 : 0;
	snap->state[METRICS_S_SESSIONS_OPEN] = open;
	snap->have_state[METRICS_S_SESSIONS_OPEN] = true;
	if (d->store == NULL)
		return;
	store_get_stats(d->store, &st);
	snap->state[METRICS_S_STORE_MESSAGES] = st.messages;
	snap->state[METRICS_S_STORE_BATCHES] = st.batches;
	snap->state[METRICS_S_STORE_SYNCS] = st.syncs;
	snap->have_state[METRICS_S_STORE_MESSAGES] = true;
	snap->have_state[METRICS_S_STORE_BATCHES] = true;
	snap->have_state[METRICS_S_STORE_SYNCS] = true;
}

/* metrics_http_serve_cb - GET or HEAD /metrics: the text of this moment. */
static void metrics_http_serve_cb(struct evhttp_request *req, void *arg)
{
	struct metrics_http *mh = arg;
	struct metrics_snapshot snap;
	struct evbuffer *body = evbuffer_new();

	metrics_snapshot_take(&snap);
	metrics_http_state(mh->daemon, &snap);
	if (body == NULL || metrics_render(&snap, body) < 0) {
		log_err("metrics: out of memory rendering /metrics");
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  METRICS_CONTENT_TYPE);
		evhttp_send_reply(req, HTTP_OK, "OK", body);
	}
	if (body != NULL)
		evbuffer_free(body);
}

/* metrics_http_other_cb - any other path: 404, without echoing it. */
static void metrics_http_other_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, HTTP_NOTFOUND, "Not Found");
}

/* metrics_http_resume_cb - the pause is over: accept again on every listener. */
static void metrics_http_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http *mh = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < mh->n_bound; i++)
		evconnlistener_enable(evhttp_bound_socket_get_listener(mh->bound[i]));
}

/*
 * metrics_http_error_cb - accept failed. Out of descriptors, the pending
 * connection stays in the backlog and the socket readable: the listener
 * rests a moment rather than spin (as daemon/listen.c does).
 */
static void metrics_http_error_cb(struct evconnlistener *lev, void *arg)
{
	struct metrics_http *mh = metrics_http_self;
	struct timeval pause = { .tv_sec = 0, .tv_usec = METRICS_HTTP_EMFILE_PAUSE_MS * 1000 };
	int err = errno;

	(void)arg;
	log_err("metrics listener: accept: %s", strerror(err));
	if (mh != NULL && (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)) {
		evconnlistener_disable(lev);
		evtimer_add(mh->resume, &pause);
	}
}

/* metrics_http_listener - a listening socket on addr, not yet accepting; NULL with *error_r. */
static struct evconnlistener *metrics_http_listener(struct metrics_http *mh, const char *addr,
						    char **error_r)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	struct evconnlistener *lev;
	const char *port;
	char host[256];
	int err;

	if (listen_split(addr, host, sizeof(host), &port) < 0) {
		*error_r = xasprintf("metrics: bad listen address '%s'", addr);
		return NULL;
	}
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
		*error_r = xasprintf("metrics: %s: %s", addr, gai_strerror(err));
		return NULL;
	}
	/* No callback yet: evhttp_bind_listener sets its own, which enables it. */
	lev = evconnlistener_new_bind(mh->daemon->base, NULL, NULL,
				      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
				      128, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (lev == NULL)
		*error_r = xasprintf("metrics: cannot listen on %s: %s", addr, strerror(errno));
	return lev;
}

/* metrics_http_bind - serve on addr; -1 with *error_r. */
static int metrics_http_bind(struct metrics_http *mh, const char *addr, char **error_r)
{
	struct evconnlistener *lev = metrics_http_listener(mh, addr, error_r);
	struct evhttp_bound_socket *bound;

	if (lev == NULL)
		return -1;
	evconnlistener_set_error_cb(lev, metrics_http_error_cb);
	if ((bound = evhttp_bind_listener(mh->http, lev)) == NULL) {
		evconnlistener_free(lev);
		*error_r = xasprintf("metrics: cannot serve HTTP on %s", addr);
		return -1;
	}
	mh->bound[mh->n_bound++] = bound;
	log_info("metrics listening on %s", addr);
	return 0;
}

/* metrics_http_new - the evhttp with its limits and its two handlers. */
static struct metrics_http *metrics_http_new(struct daemon *d, size_t n_addrs)
{
	struct metrics_http *mh = xcalloc(1, sizeof(*mh));

	mh->daemon = d;
	if ((mh->http = evhttp_new(d->base)) == NULL)
		fatal("evhttp_new failed");
	evhttp_set_max_headers_size(mh->http, METRICS_HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(mh->http, METRICS_HTTP_MAX_BODY);
	evhttp_set_timeout(mh->http, METRICS_HTTP_TIMEOUT);
	evhttp_set_allowed_methods(mh->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(mh->http, "/metrics", metrics_http_serve_cb, mh);
	evhttp_set_gencb(mh->http, metrics_http_other_cb, NULL);
	mh->resume = evtimer_new(d->base, metrics_http_resume_cb, mh);
	mh->bound = xcalloc(n_addrs, sizeof(*mh->bound));
	return mh;
}

/* metrics_http_open - the server on every address of list; NULL when the list is empty. */
int metrics_http_open(struct daemon *d, const struct cfg_list *list, struct metrics_http **mh_r,
		      char **error_r)
{
	struct metrics_http *mh;

	*mh_r = NULL;
	if (list->n == 0)
		return 0;
	if (metrics_http_self != NULL) {
		*error_r = xstrdup("metrics: already serving");
		return -1;
	}
	mh = metrics_http_new(d, list->n);
	metrics_http_self = mh;
	for (size_t i = 0; i < list->n; i++) {
		if (metrics_http_bind(mh, list->items[i], error_r) < 0) {
			metrics_http_free(&mh);
			return -1;
		}
	}
	*mh_r = mh;
	return 0;
}

/* metrics_http_close - stop accepting; connections under way are served. */
void metrics_http_close(struct metrics_http *mh)
{
	if (mh == NULL)
		return;
	for (size_t i = 0; i < mh->n_bound; i++)
		evhttp_del_accept_socket(mh->http, mh->bound[i]); /* frees the listener */
	mh->n_bound = 0;
	evtimer_del(mh->resume);
}

/* metrics_http_free - close everything, free *mhp. */
void metrics_http_free(struct metrics_http **mhp)
{
	struct metrics_http *mh = *mhp;

	if (mh == NULL)
		return;
	metrics_http_close(mh);
	evhttp_free(mh->http);
	event_free(mh->resume);
	free(mh->bound);
	free(mh);
	if (metrics_http_self == mh)
		metrics_http_self = NULL;
	*mhp = NULL;
}

/*
 * metrics_http - GET /metrics (metrics/metrics.h) for a Prometheus scraper,
 * on every address of metrics.listen, served by libevent's own HTTP server
 * (evhttp) on the daemon's loop, so that the gauges that live in the
 * daemon's state are read where they may be.
 *
 * Abuse, as on the mail listeners: request line and headers together at
 * most METRICS_HTTP_MAX_HEADERS bytes (413 past it), a body at most
 * METRICS_HTTP_MAX_BODY, METRICS_HTTP_TIMEOUT seconds of silence close a
 * connection, only GET and HEAD (501 otherwise), any path but /metrics is
 * 404, and accept() out of descriptors pauses the listener a moment
 * instead of spinning on it.
 *
 * Not bounded: how many connections are open at once. libevent 2.1
 * (Debian 12) has no evhttp_set_max_connections (2.2 has) and no public
 * way to hand evhttp a socket accepted elsewhere; each connection is held
 * at most METRICS_HTTP_TIMEOUT past its last byte, and the process's
 * descriptor limit does the rest. Keep metrics.listen on loopback or an
 * internal network.
 */
#ifndef POSTERN_METRICS_HTTP_H
#define POSTERN_METRICS_HTTP_H

#include "config/cfg.h"

struct daemon;
struct metrics_http;

#define METRICS_HTTP_MAX_HEADERS 8192
#define METRICS_HTTP_MAX_BODY 1024
#define METRICS_HTTP_TIMEOUT 10 /* seconds */

/*
 * metrics_http_open - listen on every address of list (NULL in *mh_r when
 * the list is empty: metrics are off). Run it where the other listeners
 * bind (as root, before the privilege drop). -1 with *error_r malloc'd.
 */
int metrics_http_open(struct daemon *d, const struct cfg_list *list, struct metrics_http **mh_r,
		      char **error_r);

/* metrics_http_close - stop accepting (SIGTERM); exchanges under way finish. mh may be NULL. */
void metrics_http_close(struct metrics_http *mh);

/* metrics_http_free - close every connection and free *mhp (before the event base). */
void metrics_http_free(struct metrics_http **mhp);

#endif

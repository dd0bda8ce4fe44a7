/*
 * listen - the listening sockets of every service, from "host:port" lists
 * of the configuration. Each accepted connection goes to its service's
 * start function.
 */
#ifndef POSTERN_LISTEN_H
#define POSTERN_LISTEN_H

#include <event2/util.h>
#include <sys/socket.h>

#include "config/cfg.h"

struct daemon;

typedef void listen_start_fn(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			     socklen_t salen);

/* listen_split - "host:port" or "[v6]:port" into host and port strings; -1 if malformed. */
int listen_split(const char *addr, char *host, size_t hsize, const char **port_r);

/* listen_add - listen on every address of list for service name; -1 with *error_r. */
int listen_add(struct daemon *d, const struct cfg_list *list, const char *name,
	       listen_start_fn *start, char **error_r);

/* listen_close_all - stop accepting on every listener. */
void listen_close_all(struct daemon *d);

#endif

/*
 * daemon - what every service of posternd shares: the event loop, the
 * configuration in force, the account database, the message store, the
 * worker pool for password checks, and the list of open connections (so
 * that SIGTERM can end them cleanly).
 */
#ifndef POSTERN_DAEMON_H
#define POSTERN_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/users.h"
#include "config/cfg.h"

struct event_base;
struct store;
struct daemon_listener;

/* A connection of any service, linked into the daemon's list. */
struct daemon_conn {
	struct daemon_conn *prev, *next;
	/* daemon_conn_stop - end the session soon (shutdown); it unlinks itself. */
	void (*stop)(struct daemon_conn *conn);
};

struct daemon {
	struct event_base *base;
	struct cfg *cfg;
	const char *cfg_path; /* NULL: embedded default */
	struct users_db users;
	struct store *store;
	struct daemon_listener *listeners;
	struct daemon_conn conns; /* list head */
	unsigned long n_conns;
	uint32_t next_id;
	bool stopping;
};

/* daemon_conn_add - link a new connection; returns its session id. */
uint32_t daemon_conn_add(struct daemon *d, struct daemon_conn *conn);

/* daemon_conn_remove - unlink a connection; ends the loop when stopping and none is left. */
void daemon_conn_remove(struct daemon *d, struct daemon_conn *conn);

/* daemon_find_account - the account for address, after a cheap check that the users file is current. */
const struct users_account *daemon_find_account(struct daemon *d, const char *address);

#endif

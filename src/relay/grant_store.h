/*
 * grant_store - where relay grants live, behind one asynchronous interface
 * with a backend per file: grant_lmdb.c ("lmdb:PATH", one host, every
 * process sees the same grants at once) and grant_redis.c
 * ("redis://HOST:PORT/DB", grants shared by several hosts).
 *
 * The daemon never blocks on a store. Every operation takes a completion
 * callback that runs later on the store's event loop, never inside the
 * call that started it; it gets RELAY_STORE_OK, RELAY_STORE_NOT_FOUND (get
 * and del) or RELAY_STORE_ERROR with a short error text. A store that is
 * down completes every operation promptly with RELAY_STORE_ERROR (the
 * caller answers 451 4.3.0 / DEFER_IF_PERMIT), and works again once the
 * backend is back. Data handed to a callback is borrowed for that call.
 *
 * Operations submitted before an earlier one completed may run in either
 * order; wait for a callback to order two of them (a grant is "in the
 * store" when put's callback says RELAY_STORE_OK: durable on LMDB,
 * acknowledged by Redis).
 *
 * Expired grants: get returns a grant that expired less than
 * RELAY_GRANT_KEEP ago (compare with relay_grant_live), so that "relay
 * check" can say when the last one expired; list returns live grants only.
 * Stores purge older records themselves.
 *
 * Usage (for "relay report"): record_use counts one message relayed on a
 * grant by login, in hourly buckets kept RELAY_USE_KEEP; report sums the
 * buckets from the hour holding "since" on.
 *
 * posternctl has no event loop: grant_sync.c runs a store on a private
 * event_base until the callback fires (relay_store_sync_*).
 */
#ifndef POSTERN_RELAY_GRANT_STORE_H
#define POSTERN_RELAY_GRANT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/grant.h"

struct event_base;
struct relay_store;

#define RELAY_USE_KEEP (400 * 24 * 3600)
#define RELAY_USE_BUCKET 3600

enum relay_store_status {
	RELAY_STORE_OK,
	RELAY_STORE_NOT_FOUND,
	RELAY_STORE_ERROR,
};

/* One line of "relay report": messages relayed on grants by login. */
struct relay_usage {
	char login[RELAY_LOGIN_MAX];
	uint64_t count;
	int64_t last; /* unix seconds of the last one */
};

/* done: put (renewed: it replaced a live grant), del, record_use (renewed unused). */
typedef void relay_store_done_cb(void *arg, enum relay_store_status st, bool renewed,
				 const char *error);
/* get: g is the grant (maybe expired) when st is RELAY_STORE_OK, else NULL. */
typedef void relay_store_get_cb(void *arg, enum relay_store_status st,
				const struct relay_grant *g, const char *error);
/* list: the live grants, sorted by address. */
typedef void relay_store_list_cb(void *arg, enum relay_store_status st,
				 const struct relay_grant *grants, size_t n, const char *error);
/* report: one entry per login, sorted by login. */
typedef void relay_store_report_cb(void *arg, enum relay_store_status st,
				   const struct relay_usage *usage, size_t n, const char *error);

/* A backend: the functions behind the relay_store_* calls below. */
struct relay_store_ops {
	const char *name;
	void (*put)(struct relay_store *s, const struct relay_grant *g, relay_store_done_cb *cb,
		    void *arg);
	void (*get)(struct relay_store *s, const char *key, relay_store_get_cb *cb, void *arg);
	void (*del)(struct relay_store *s, const char *key, relay_store_done_cb *cb, void *arg);
	void (*list)(struct relay_store *s, int64_t now, relay_store_list_cb *cb, void *arg);
	void (*record_use)(struct relay_store *s, const char *login, int64_t when,
			   relay_store_done_cb *cb, void *arg);
	void (*report)(struct relay_store *s, int64_t since, relay_store_report_cb *cb, void *arg);
	void (*close)(struct relay_store *s);
};

/* The part of every backend's handle that callers may read. */
struct relay_store {
	const struct relay_store_ops *ops;
	struct event_base *base;
	char *spec; /* as configured, for logs */
};

/*
 * relay_store_open - the backend for spec ("lmdb:PATH" or
 * "redis://HOST:PORT/DB"), running its callbacks on base. NULL with
 * *error_r malloc'd when spec is wrong or an LMDB file cannot be opened; a
 * Redis that is down is not an error here (it is retried on use).
 */
struct relay_store *relay_store_open(const char *spec, struct event_base *base, char **error_r);

/* relay_store_close - finish or fail pending operations (their callbacks run), free *sp. */
void relay_store_close(struct relay_store **sp);

/* relay_store_put - store g under g->addr, replacing any grant there. */
void relay_store_put(struct relay_store *s, const struct relay_grant *g, relay_store_done_cb *cb,
		     void *arg);

/* relay_store_get - the grant under key, live or recently expired; NOT_FOUND otherwise. */
void relay_store_get(struct relay_store *s, const char *key, relay_store_get_cb *cb, void *arg);

/* relay_store_del - remove the grant under key (revoke); NOT_FOUND when there was none. */
void relay_store_del(struct relay_store *s, const char *key, relay_store_done_cb *cb, void *arg);

/* relay_store_list - every grant live at now. */
void relay_store_list(struct relay_store *s, int64_t now, relay_store_list_cb *cb, void *arg);

/* relay_store_record_use - count one message relayed at when on a grant opened by login. */
void relay_store_record_use(struct relay_store *s, const char *login, int64_t when,
			    relay_store_done_cb *cb, void *arg);

/* relay_store_report - per login, messages relayed on grants since (0: all kept). */
void relay_store_report(struct relay_store *s, int64_t since, relay_store_report_cb *cb,
			void *arg);

/* Backends, for relay_store_open and the tests. */
struct relay_store *relay_lmdb_open(const char *path, struct event_base *base, char **error_r);
struct relay_store *relay_redis_open(const char *host, unsigned port, unsigned db,
				     struct event_base *base, char **error_r);

/* relay_store_parse_redis - "redis://HOST:PORT/DB" (port default 6379, db default 0); -1 on error. */
int relay_store_parse_redis(const char *spec, char *host, size_t hsize, unsigned *port_r,
			    unsigned *db_r);

/*
 * Synchronous calls for programs without an event loop (posternctl, tests):
 * each runs the operation on s's own base until its callback fired. s must
 * have been opened on a private base that nothing else dispatches. list and
 * report return malloc'd arrays the caller frees. *error_r is malloc'd on
 * RELAY_STORE_ERROR (free it).
 */
enum relay_store_status relay_store_sync_put(struct relay_store *s, const struct relay_grant *g,
					     bool *renewed_r, char **error_r);
enum relay_store_status relay_store_sync_get(struct relay_store *s, const char *key,
					     struct relay_grant *g_r, char **error_r);
enum relay_store_status relay_store_sync_del(struct relay_store *s, const char *key,
					     char **error_r);
enum relay_store_status relay_store_sync_list(struct relay_store *s, int64_t now,
					      struct relay_grant **grants_r, size_t *n_r,
					      char **error_r);
enum relay_store_status relay_store_sync_record_use(struct relay_store *s, const char *login,
						    int64_t when, char **error_r);
enum relay_store_status relay_store_sync_report(struct relay_store *s, int64_t since,
						struct relay_usage **usage_r, size_t *n_r,
						char **error_r);

#endif

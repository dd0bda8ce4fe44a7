/*
 * grant_sync - the store operations for programs without an event loop:
 * start the asynchronous operation, then run the store's private base
 * until its callback fired. One code path per backend serves both the
 * daemon and posternctl.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "relay/grant_store.h"
#include "util/xalloc.h"

/* What a callback hands back to the waiting caller. */
struct relay_sync {
	bool done;
	enum relay_store_status st;
	bool renewed;
	char *error;
	struct relay_grant grant;
	void *items; /* list / report: a malloc'd copy */
	size_t n;
};

/* relay_sync_finish - record status and error; mark done. */
static void relay_sync_finish(struct relay_sync *w, enum relay_store_status st, const char *error)
{
	w->st = st;
	if (st == RELAY_STORE_ERROR)
		w->error = xstrdup(error != NULL ? error : "grant store error");
	w->done = true;
}

/* relay_sync_wait - run s's base until w is done; hand over the error. */
static enum relay_store_status relay_sync_wait(struct relay_store *s, struct relay_sync *w,
					       char **error_r)
{
	while (!w->done)
		event_base_loop(s->base, EVLOOP_ONCE);
	*error_r = w->error;
	return w->st;
}

/* relay_sync_done_cb - put, del, record_use completed. */
static void relay_sync_done_cb(void *arg, enum relay_store_status st, bool renewed,
			       const char *error)
{
	struct relay_sync *w = arg;

	w->renewed = renewed;
	relay_sync_finish(w, st, error);
}

/* relay_sync_get_cb - get completed. */
static void relay_sync_get_cb(void *arg, enum relay_store_status st, const struct relay_grant *g,
			      const char *error)
{
	struct relay_sync *w = arg;

	if (g != NULL)
		w->grant = *g;
	relay_sync_finish(w, st, error);
}

/* relay_sync_copy - keep a malloc'd copy of n items of size each. */
static void relay_sync_copy(struct relay_sync *w, const void *items, size_t n, size_t size)
{
	w->n = n;
	w->items = xcalloc(n > 0 ? n : 1, size);
	if (n > 0)
		memcpy(w->items, items, n * size);
}

/* relay_sync_list_cb - list completed. */
static void relay_sync_list_cb(void *arg, enum relay_store_status st,
			       const struct relay_grant *grants, size_t n, const char *error)
{
	struct relay_sync *w = arg;

	if (st == RELAY_STORE_OK)
		relay_sync_copy(w, grants, n, sizeof(*grants));
	relay_sync_finish(w, st, error);
}

/* relay_sync_report_cb - report completed. */
static void relay_sync_report_cb(void *arg, enum relay_store_status st,
				 const struct relay_usage *usage, size_t n, const char *error)
{
	struct relay_sync *w = arg;

	if (st == RELAY_STORE_OK)
		relay_sync_copy(w, usage, n, sizeof(*usage));
	relay_sync_finish(w, st, error);
}

enum relay_store_status relay_store_sync_put(struct relay_store *s, const struct relay_grant *g,
					     bool *renewed_r, char **error_r)
{
	struct relay_sync w = { 0 };

	relay_store_put(s, g, relay_sync_done_cb, &w);
	relay_sync_wait(s, &w, error_r);
	if (renewed_r != NULL)
		*renewed_r = w.renewed;
	return w.st;
}

enum relay_store_status relay_store_sync_get(struct relay_store *s, const char *key,
					     struct relay_grant *g_r, char **error_r)
{
	struct relay_sync w = { 0 };

	relay_store_get(s, key, relay_sync_get_cb, &w);
	relay_sync_wait(s, &w, error_r);
	*g_r = w.grant;
	return w.st;
}

enum relay_store_status relay_store_sync_del(struct relay_store *s, const char *key,
					     char **error_r)
{
	struct relay_sync w = { 0 };

	relay_store_del(s, key, relay_sync_done_cb, &w);
	return relay_sync_wait(s, &w, error_r);
}

enum relay_store_status relay_store_sync_list(struct relay_store *s, int64_t now,
					      struct relay_grant **grants_r, size_t *n_r,
					      char **error_r)
{
	struct relay_sync w = { 0 };

	relay_store_list(s, now, relay_sync_list_cb, &w);
	relay_sync_wait(s, &w, error_r);
	*grants_r = w.items;
	*n_r = w.n;
	return w.st;
}

enum relay_store_status relay_store_sync_record_use(struct relay_store *s, const char *login,
						    int64_t when, char **error_r)
{
	struct relay_sync w = { 0 };

	relay_store_record_use(s, login, when, relay_sync_done_cb, &w);
	return relay_sync_wait(s, &w, error_r);
}

enum relay_store_status relay_store_sync_report(struct relay_store *s, int64_t since,
						struct relay_usage **usage_r, size_t *n_r,
						char **error_r)
{
	struct relay_sync w = { 0 };

	relay_store_report(s, since, relay_sync_report_cb, &w);
	relay_sync_wait(s, &w, error_r);
	*usage_r = w.items;
	*n_r = w.n;
	return w.st;
}

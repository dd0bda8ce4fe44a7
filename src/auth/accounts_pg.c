/* accounts_pg - accounts and aliases loaded whole from PostgreSQL (see accounts_pg.h). */
#include "auth/accounts_pg.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/pg.h"
#include "auth/pg_schema.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define ACCOUNTS_PG_RETRY_SECONDS 1 /* a load that failed while the connection stayed up */
#define ACCOUNTS_PG_BAD_MAX 100     /* rows a load leaves out, logged, before it gives up */
#define ACCOUNTS_PG_CHANGED_MAX 1000 /* rows waiting for a load; beyond: the whole tables */


/* A callback waiting for a load. */
struct accounts_pg_waiter {
	void (*done_cb)(void *arg);
	void *arg;
	struct accounts_pg_waiter *next;
};

/* Addresses whose rows a load left out as unreadable. */
struct accounts_pg_unsure {
	char **v;
	size_t n;
};

/* A row notified as changed, not loaded yet: its address answers temporarily meanwhile. */
struct accounts_pg_changed {
	char *address; /* or "@domain", a catch-all */
	unsigned long seq; /* the accounts_pg's notified count when it was heard */
};

/* One load: both tables' rows as file text, then parsed on a worker. */
struct accounts_pg_load {
	struct accounts_pg *p; /* NULL: closed meanwhile */
	unsigned long asked, conn, notified; /* the accounts_pg's counts when it started */
	char *users, *aliases; /* file text */
	size_t users_len, aliases_len;
	struct users_db db;
	struct aliases_table table;
	char *error;
	bool data_error; /* the rows, not the connection: no retry until they change */
	struct accounts_pg_unsure unsure; /* addresses of the rows left out */
	struct accounts_pg_waiter *waiters;
};

struct accounts_pg {
	struct pg *pg;
	struct workq *io;
	void (*loaded_cb)(void *arg, struct users_db *db, struct aliases_table *aliases);
	void *arg;
	struct accounts_pg_load *load;  /* in flight */
	struct accounts_pg_waiter *next; /* for the load after the one in flight */
	struct event *retry;            /* a failed load, while up: again in a second */
	/*
	 * Freshness: asked counts what may have changed the whole tables (a
	 * NOTIFY naming a table, a reload asked for, a connection come up),
	 * conn the connections come up, notified the rows notified by address;
	 * a finished load covers the counts it started with. The tables are
	 * current when the last good load covers asked and conn as they are
	 * now; a notified row's address is unsure until a load covers its seq.
	 */
	unsigned long asked, conn, notified;
	unsigned long covered_asked, covered_conn, covered_notified;
	struct accounts_pg_changed *changed; /* notified rows not covered yet */
	size_t n_changed;
	struct accounts_pg_unsure unsure; /* of the tables in force */
};

static void accounts_pg_start(struct accounts_pg *p);

/* accounts_pg_run_waiters - call and free a list of waiters. */
static void accounts_pg_run_waiters(struct accounts_pg_waiter *w)
{
	while (w != NULL) {
		struct accounts_pg_waiter *next = w->next;

		if (w->done_cb != NULL)
			w->done_cb(w->arg);
		free(w);
		w = next;
	}
}

/* accounts_pg_unsure_free - forget the addresses. */
static void accounts_pg_unsure_free(struct accounts_pg_unsure *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i]);
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

/* accounts_pg_load_free - free a load and answer its waiters. */
static void accounts_pg_load_free(struct accounts_pg_load *l)
{
	accounts_pg_unsure_free(&l->unsure);
	accounts_pg_run_waiters(l->waiters);
	users_free(&l->db);
	aliases_free(&l->table);
	if (l->users != NULL)
		OPENSSL_cleanse(l->users, l->users_len); /* hashes and APOP secrets */
	free(l->users);
	free(l->aliases);
	free(l->error);
	free(l);
}

/* accounts_pg_settle - on the loop: the load ended; the next one if asked for meanwhile. */
static void accounts_pg_settle(struct accounts_pg *p, struct accounts_pg_load *l)
{
	p->load = NULL;
	accounts_pg_load_free(l); /* its waiters may start the next load themselves */
	if (p->load == NULL && (p->asked != p->covered_asked || p->notified != p->covered_notified ||
				p->next != NULL))
		accounts_pg_start(p);
}

/* accounts_pg_fail - the load could not read the tables (the outage is logged by down_cb). */
static void accounts_pg_fail(struct accounts_pg_load *l, const char *error)
{
	if (l->p == NULL) {
		accounts_pg_load_free(l);
		return;
	}
	log_warn("auth: %s: cannot load accounts: %s", pg_name(l->p->pg), error);
	if (pg_is_up(l->p->pg) && !l->data_error) { /* not an outage (up_cb loads then), nor bad rows */
		struct timeval later = { .tv_sec = ACCOUNTS_PG_RETRY_SECONDS, .tv_usec = 0 };

		evtimer_add(l->p->retry, &later);
	}
	l->p->load = NULL;
	accounts_pg_load_free(l);
}

/* accounts_pg_text - a table's rows as its file's lines; a row the file cannot hold is logged, skipped. */
static char *accounts_pg_text(struct pg_result *res, const char *sep, int n_key, size_t *len_r)
{
	int bad;
	char *text = pg_schema_text(res, sep, n_key, len_r, &bad);

	if (bad >= 0)
		log_err("auth: rows skipped (a line break, or ':' in an address), the first: %.*s",
			(int)strcspn(PQgetvalue((PGresult *)res, bad, 0), "\r\n"),
			PQgetvalue((PGresult *)res, bad, 0));
	return text;
}

/* accounts_pg_users_parse_cb - users_parse for accounts_pg_parse. */
static int accounts_pg_users_parse_cb(void *obj, const char *text, size_t len, const char *name,
				      char **error_r)
{
	return users_parse(obj, text, len, name, error_r);
}

/* accounts_pg_aliases_parse_cb - aliases_parse for accounts_pg_parse. */
static int accounts_pg_aliases_parse_cb(void *obj, const char *text, size_t len, const char *name,
					char **error_r)
{
	return aliases_parse(obj, text, len, name, error_r);
}

/*
 * accounts_pg_drop_line - remove line n (from 1) of text (what it freed is
 * wiped: hashes); the line's address (before its ':') in a new string, or
 * NULL if there is no such line.
 */
static char *accounts_pg_drop_line(char *text, size_t *len, unsigned long n)
{
	char *start = text, *end, *address;
	size_t old = *len;

	while (--n > 0 && (start = memchr(start, '\n', *len - (size_t)(start - text))) != NULL)
		start++;
	if (start == NULL || start >= text + *len)
		return NULL;
	end = memchr(start, '\n', *len - (size_t)(start - text));
	end = end != NULL ? end + 1 : text + *len;
	address = xstrndup(start, strcspn(start, ":\n"));
	memmove(start, end, (size_t)(text + *len - end));
	*len -= (size_t)(end - start);
	OPENSSL_cleanse(text + *len, old - *len);
	text[*len] = '\0';
	return address;
}

/* accounts_pg_unsure_add - remember a left-out row's address (lower case, as the tables keep them). */
static void accounts_pg_unsure_add(struct accounts_pg_unsure *u, char *address)
{
	for (char *c = address; *c != '\0'; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	u->v = xrealloc(u->v, (u->n + 1) * sizeof(*u->v));
	u->v[u->n++] = address;
}

/*
 * accounts_pg_parse - parse as the file's parser does, but a row it
 * refuses ("NAME:LINE: why") is logged and left out, its address made
 * unsure, rather than costing every account: 0, or -1 with *error_r after
 * ACCOUNTS_PG_BAD_MAX of them (or an error of no row).
 */
static int accounts_pg_parse(int (*parse)(void *obj, const char *text, size_t len,
					  const char *name, char **error_r),
			     void *obj, char *text, size_t *len, const char *name,
			     struct accounts_pg_unsure *unsure, char **error_r)
{
	size_t nlen = strlen(name);

	for (int bad = 0; bad <= ACCOUNTS_PG_BAD_MAX; bad++) {
		char *err = NULL, *address = NULL, *why;
		unsigned long line = 0;

		if (parse(obj, text, *len, name, &err) == 0)
			return 0;
		if (strncmp(err, name, nlen) == 0 && err[nlen] == ':')
			line = strtoul(err + nlen + 1, &why, 10);
		if (line == 0 || (address = accounts_pg_drop_line(text, len, line)) == NULL) {
			*error_r = err;
			return -1;
		}
		log_err("auth: %s: the row of <%s> left out (%s): its address answers temporarily",
			name, address, why[0] == ':' ? why + 1 + (why[1] == ' ') : why);
		accounts_pg_unsure_add(unsure, address);
		free(err);
	}
	*error_r = xasprintf("%s: more than %d bad rows", name, ACCOUNTS_PG_BAD_MAX);
	return -1;
}

/* accounts_pg_parse_work - on a worker: the same parsers as the files'. */
static void accounts_pg_parse_work(void *arg)
{
	struct accounts_pg_load *l = arg;

	if (accounts_pg_parse(accounts_pg_users_parse_cb, &l->db, l->users, &l->users_len,
			      "postgresql accounts", &l->unsure, &l->error) == 0)
		accounts_pg_parse(accounts_pg_aliases_parse_cb, &l->table, l->aliases,
				  &l->aliases_len, "postgresql aliases", &l->unsure, &l->error);
	l->data_error = l->error != NULL;
}

/* accounts_pg_changed_drop - forget the changed rows that a load which began at notified covers. */
static void accounts_pg_changed_drop(struct accounts_pg *p, unsigned long notified)
{
	size_t kept = 0;

	for (size_t i = 0; i < p->n_changed; i++) {
		if (p->changed[i].seq <= notified)
			free(p->changed[i].address);
		else
			p->changed[kept++] = p->changed[i];
	}
	p->n_changed = kept;
}

/* accounts_pg_parsed_cb - on the loop: the new tables in force, or the last good ones kept. */
static void accounts_pg_parsed_cb(void *arg)
{
	struct accounts_pg_load *l = arg;
	struct accounts_pg *p = l->p;

	if (p == NULL) {
		accounts_pg_load_free(l);
		return;
	}
	if (l->error != NULL) {
		accounts_pg_fail(l, l->error); /* the tables stay, not current */
		return;
	}
	p->loaded_cb(p->arg, &l->db, &l->table);
	accounts_pg_unsure_free(&p->unsure);
	p->unsure = l->unsure;
	l->unsure = (struct accounts_pg_unsure){ NULL, 0 };
	p->covered_asked = l->asked;
	p->covered_conn = l->conn;
	p->covered_notified = l->notified;
	accounts_pg_changed_drop(p, l->notified);
	accounts_pg_settle(p, l);
}

/* accounts_pg_aliases_cb - the aliases' rows: on to the parsers. */
static void accounts_pg_aliases_cb(void *arg, struct pg_result *res, const char *error)
{
	struct accounts_pg_load *l = arg;

	if (error != NULL) {
		accounts_pg_fail(l, error);
		return;
	}
	l->aliases = accounts_pg_text(res, ": ", 1, &l->aliases_len);
	if (l->p == NULL) {
		accounts_pg_load_free(l);
		return;
	}
	workq_submit(l->p->io, accounts_pg_parse_work, accounts_pg_parsed_cb, l);
}

/* accounts_pg_users_cb - the accounts' rows: then the aliases'. */
static void accounts_pg_users_cb(void *arg, struct pg_result *res, const char *error)
{
	struct accounts_pg_load *l = arg;

	if (error != NULL) {
		accounts_pg_fail(l, error);
		return;
	}
	l->users = accounts_pg_text(res, ":", 2, &l->users_len);
	if (l->p == NULL || pg_query(l->p->pg, PG_SCHEMA_SELECT_ALIASES, 0, NULL, accounts_pg_aliases_cb,
				     l) < 0)
		accounts_pg_fail(l, "the connection is down");
}

/* accounts_pg_start - a new load, for everything notified and asked for until now. */
static void accounts_pg_start(struct accounts_pg *p)
{
	struct accounts_pg_load *l = xcalloc(1, sizeof(*l));

	l->p = p;
	l->asked = p->asked;
	l->conn = p->conn;
	l->notified = p->notified;
	users_init(&l->db);
	aliases_init(&l->table);
	l->waiters = p->next;
	p->next = NULL;
	p->load = l;
	evtimer_del(p->retry);
	if (pg_query(p->pg, PG_SCHEMA_SELECT_ACCOUNTS, 0, NULL, accounts_pg_users_cb, l) < 0) {
		p->load = NULL; /* down: down_cb said so; up_cb loads again */
		accounts_pg_load_free(l);
	}
}

/* accounts_pg_ask - something may have changed: load, now or after the load in flight. */
static void accounts_pg_ask(struct accounts_pg *p)
{
	p->asked++;
	if (p->load == NULL)
		accounts_pg_start(p);
}

/*
 * accounts_pg_retry_cb - the load that failed while up, again: what it
 * was to cover is still uncovered (a changed row stays unsure, nothing
 * more), so no count is raised.
 */
static void accounts_pg_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct accounts_pg *p = arg;

	(void)fd;
	(void)what;
	if (p->load == NULL)
		accounts_pg_start(p);
}

void accounts_pg_reload(struct accounts_pg *p, void (*done_cb)(void *arg), void *arg)
{
	struct accounts_pg_waiter *w = xmalloc(sizeof(*w));

	w->done_cb = done_cb;
	w->arg = arg;
	w->next = p->next;
	p->next = w;
	accounts_pg_ask(p);
}

/* accounts_pg_up_cb - connected and listening: load, since changes may have been missed. */
static void accounts_pg_up_cb(void *arg)
{
	struct accounts_pg *p = arg;

	log_info("auth: %s up: loading accounts and aliases", pg_name(p->pg));
	p->conn++;
	accounts_pg_ask(p);
}

/* accounts_pg_down_cb - an outage: temporary failures until it is back and loaded. */
static void accounts_pg_down_cb(void *arg, const char *why)
{
	struct accounts_pg *p = arg;

	log_err("auth: %s down: %s; logins fail temporarily and unknown recipients get 451 until "
		"it is back", pg_name(p->pg), why);
}

/*
 * accounts_pg_row_changed - a row of address changed: only that address
 * waits for the load (a mass change beyond ACCOUNTS_PG_CHANGED_MAX rows:
 * the whole tables).
 */
static void accounts_pg_row_changed(struct accounts_pg *p, const char *address)
{
	if (p->n_changed >= ACCOUNTS_PG_CHANGED_MAX) {
		accounts_pg_ask(p);
		return;
	}
	p->changed = xrealloc(p->changed, (p->n_changed + 1) * sizeof(*p->changed));
	p->changed[p->n_changed++] = (struct accounts_pg_changed){ xstrdup(address), ++p->notified };
	if (p->load == NULL)
		accounts_pg_start(p);
}

/* accounts_pg_notify_cb - a change was committed somewhere: load it. */
static void accounts_pg_notify_cb(void *arg, const char *channel, const char *payload)
{
	struct accounts_pg *p = arg;
	char address[PG_SCHEMA_NOTICE_MAX + 1];

	(void)channel;
	if (pg_schema_notice(payload, address, sizeof(address)))
		accounts_pg_row_changed(p, address);
	else
		accounts_pg_ask(p);
}

struct accounts_pg *accounts_pg_open(struct event_base *base, struct workq *io, const char *url,
				     void (*loaded_cb)(void *arg, struct users_db *db,
						       struct aliases_table *aliases),
				     void *arg, char **error_r)
{
	static const char *const channels[] = { PG_SCHEMA_CHANNEL, NULL };
	struct accounts_pg *p;
	struct pg_callbacks cb;
	const char *error;

	if (pg_url_check(url, &error) < 0) {
		*error_r = xasprintf("auth.store: %s", error);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->io = io;
	p->loaded_cb = loaded_cb;
	p->arg = arg;
	p->asked = 1; /* nothing loaded yet */
	p->retry = evtimer_new(base, accounts_pg_retry_cb, p);
	cb = (struct pg_callbacks){ .up_cb = accounts_pg_up_cb, .down_cb = accounts_pg_down_cb,
				    .notify_cb = accounts_pg_notify_cb, .arg = p };
	p->pg = pg_open(base, url, channels, &cb);
	pg_set_resolver(p->pg, io);
	return p;
}

/* accounts_pg_names - whether row address u (or a catch-all "@domain") is about address. */
static bool accounts_pg_names(const char *u, const char *address)
{
	const char *at = strrchr(address, '@');

	return strcasecmp(u, address) == 0 || (u[0] == '@' && at != NULL && strcasecmp(u, at) == 0);
}

bool accounts_pg_unsure(const struct accounts_pg *p, const char *address)
{
	for (size_t i = 0; i < p->unsure.n; i++) {
		if (accounts_pg_names(p->unsure.v[i], address))
			return true;
	}
	for (size_t i = 0; i < p->n_changed; i++) {
		if (accounts_pg_names(p->changed[i].address, address))
			return true;
	}
	return false;
}

bool accounts_pg_loading_rows(const struct accounts_pg *p)
{
	return p->n_changed > 0;
}

bool accounts_pg_current(const struct accounts_pg *p)
{
	return pg_is_up(p->pg) && p->covered_asked == p->asked && p->covered_conn == p->conn;
}

void accounts_pg_close(struct accounts_pg **pp)
{
	struct accounts_pg *p = *pp;

	if (p == NULL)
		return;
	if (p->load != NULL)
		p->load->p = NULL; /* its answer frees it */
	pg_close(&p->pg);
	event_free(p->retry);
	accounts_pg_unsure_free(&p->unsure);
	accounts_pg_changed_drop(p, ULONG_MAX);
	free(p->changed);
	accounts_pg_run_waiters(p->next);
	free(p);
	*pp = NULL;
}

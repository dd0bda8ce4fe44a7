/* accounts - the accounts and aliases, reloaded by a worker when their files change. */
#include "auth/accounts.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts_pg.h"
#include "config/cfg.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define ACCOUNTS_CHECK_SECONDS 1

/* A callback waiting for a check to finish. */
struct accounts_waiter {
	void (*done_cb)(void *arg);
	void *arg;
	struct accounts_waiter *next;
};

/* One check of the files on the worker. */
struct accounts_job {
	struct accounts *a;   /* NULL: the tables were freed meanwhile */
	char *path, *aliases_path;
	struct users_db db;   /* starts with the identity of the table in force */
	struct aliases_table aliases; /* likewise */
	int rc, aliases_rc;   /* *_refresh: 1 reloaded, 0 unchanged, -1 error */
	char *error, *aliases_error;
	struct accounts_waiter *waiters;
};

struct accounts {
	struct users_db db;
	struct aliases_table aliases;
	const struct cfg *cfg;
	char *path, *aliases_path;
	struct workq *io;
	struct event *timer;
	struct accounts_job *job;      /* in flight, or NULL */
	struct accounts_waiter *next;  /* waiting for the check after the one in flight */
	bool again;                    /* a check was asked for while one ran */
	struct accounts_pg *pg;        /* auth.store = postgresql://...: no files, no timer */
	char *store;                   /* auth.store at the start (a change takes a restart) */
};

static void accounts_check(struct accounts *a);

/* accounts_run_waiters - call and free a list of waiters. */
static void accounts_run_waiters(struct accounts_waiter *w)
{
	while (w != NULL) {
		struct accounts_waiter *next = w->next;
		w->done_cb(w->arg);
		free(w);
		w = next;
	}
}

/* accounts_work - on the worker: stat, and read and parse when the file changed. */
static void accounts_work(void *arg)
{
	struct accounts_job *j = arg;

	j->rc = users_refresh(&j->db, j->path, &j->error);
	j->aliases_rc = aliases_refresh(&j->aliases, j->aliases_path, &j->aliases_error);
}

/* accounts_take_users - on the loop: the users table of a finished check. */
static void accounts_take_users(struct accounts *a, struct accounts_job *j)
{
	if (j->rc == 1) {
		users_free(&a->db);
		a->db = j->db;
		users_init(&j->db);
		log_info("users: %s reloaded, %zu account(s)", j->path, a->db.n);
	} else if (j->rc < 0) {
		a->db.failed = j->db.failed; /* reported once, not again until it changes */
		if (j->error != NULL)
			log_err("users: %s; keeping the last good table", j->error);
	}
}

/* accounts_take_aliases - on the loop: the alias table of a finished check. */
static void accounts_take_aliases(struct accounts *a, struct accounts_job *j)
{
	if (j->aliases_rc == 1) {
		aliases_free(&a->aliases);
		a->aliases = j->aliases;
		aliases_init(&j->aliases);
		log_info("aliases: %s reloaded, %zu alias(es)", j->aliases_path, a->aliases.n);
	} else if (j->aliases_rc < 0) {
		a->aliases.failed = j->aliases.failed;
		if (j->aliases_error != NULL)
			log_err("aliases: %s; keeping the last good table", j->aliases_error);
	}
}

/* accounts_done_cb - on the loop: swap new tables in, or log why not. */
static void accounts_done_cb(void *arg)
{
	struct accounts_job *j = arg;
	struct accounts *a = j->a;

	if (a != NULL) {
		accounts_take_users(a, j);
		accounts_take_aliases(a, j);
	}
	users_free(&j->db);
	aliases_free(&j->aliases);
	free(j->error);
	free(j->aliases_error);
	free(j->path);
	free(j->aliases_path);
	accounts_run_waiters(j->waiters);
	free(j);
	if (a != NULL) {
		a->job = NULL;
		if (a->again || a->next != NULL)
			accounts_check(a);
	}
}

/* accounts_check - start a check on the worker, taking the waiters for it. */
static void accounts_check(struct accounts *a)
{
	struct accounts_job *j = xcalloc(1, sizeof(*j));

	j->a = a;
	j->path = xstrdup(a->path);
	j->aliases_path = xstrdup(a->aliases_path);
	users_init(&j->db);
	j->db.loaded = a->db.loaded;
	j->db.failed = a->db.failed;
	aliases_init(&j->aliases);
	j->aliases.loaded = a->aliases.loaded;
	j->aliases.failed = a->aliases.failed;
	j->waiters = a->next;
	a->next = NULL;
	a->again = false;
	a->job = j;
	workq_submit(a->io, accounts_work, accounts_done_cb, j);
}

/* accounts_timer_cb - the periodic check, for files edited by hand. */
static void accounts_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct accounts *a = arg;

	(void)fd;
	(void)what;
	if (a->job == NULL)
		accounts_check(a);
}

/* accounts_load - start-up: read both files now, before the loop runs. */
static void accounts_load(struct accounts *a)
{
	char *error = NULL;

	if (users_load(&a->db, a->path, &error) < 0) {
		log_err("users: %s", error);
		free(error);
		error = NULL;
	}
	if (aliases_load(&a->aliases, a->aliases_path, &error) < 0) {
		log_err("aliases: %s", error);
		free(error);
	}
}

/* accounts_pg_loaded_cb - new tables from PostgreSQL. */
static void accounts_pg_loaded_cb(void *arg, struct users_db *db, struct aliases_table *aliases)
{
	struct accounts *a = arg;

	users_free(&a->db);
	a->db = *db;
	users_init(db);
	aliases_free(&a->aliases);
	a->aliases = *aliases;
	aliases_init(aliases);
	log_info("auth: loaded %zu account(s) and %zu alias(es)", a->db.n, a->aliases.n);
}

struct accounts *accounts_open(struct event_base *base, struct workq *io, const struct cfg *cfg,
			       char **error_r)
{
	struct accounts *a = xcalloc(1, sizeof(*a));
	struct timeval every = { .tv_sec = ACCOUNTS_CHECK_SECONDS, .tv_usec = 0 };

	users_init(&a->db);
	aliases_init(&a->aliases);
	a->cfg = cfg;
	a->path = xstrdup(cfg->users_file);
	a->aliases_path = aliases_path(cfg->users_file);
	a->io = io;
	a->store = xstrdup(cfg->auth_store);
	a->timer = event_new(base, -1, EV_PERSIST, accounts_timer_cb, a);
	if (strcmp(cfg->auth_store, "file") != 0) {
		a->pg = accounts_pg_open(base, io, cfg->auth_store, accounts_pg_loaded_cb, a, error_r);
		if (a->pg == NULL)
			accounts_free(&a);
		return a;
	}
	accounts_load(a);
	event_add(a->timer, &every);
	return a;
}

void accounts_free(struct accounts **ap)
{
	struct accounts *a = *ap;

	if (a == NULL)
		return;
	if (a->job != NULL)
		a->job->a = NULL; /* its answer frees it */
	accounts_run_waiters(a->next);
	accounts_pg_close(&a->pg);
	event_free(a->timer);
	users_free(&a->db);
	aliases_free(&a->aliases);
	free(a->path);
	free(a->aliases_path);
	free(a->store);
	free(a);
	*ap = NULL;
}

void accounts_set_cfg(struct accounts *a, const struct cfg *cfg)
{
	if (strcmp(cfg->auth_store, a->store) != 0)
		log_err("auth.store changed: it takes a restart; the store in force stays");
	a->cfg = cfg;
	if (a->pg != NULL) {
		accounts_pg_reload(a->pg, NULL, NULL);
		return;
	}
	if (strcmp(cfg->users_file, a->path) != 0) { /* a new file: read it whatever it is */
		free(a->path);
		free(a->aliases_path);
		a->path = xstrdup(cfg->users_file);
		a->aliases_path = aliases_path(cfg->users_file);
		memset(&a->db.loaded, 0, sizeof(a->db.loaded));
		memset(&a->db.failed, 0, sizeof(a->db.failed));
		memset(&a->aliases.loaded, 0, sizeof(a->aliases.loaded));
		memset(&a->aliases.failed, 0, sizeof(a->aliases.failed));
	}
	accounts_refresh(a, NULL, NULL);
}

bool accounts_sure(const struct accounts *a, const char *address)
{
	return a->pg == NULL || (accounts_pg_current(a->pg) && !accounts_pg_unsure(a->pg, address));
}

bool accounts_sure_unknown(const struct accounts *a, const char *address)
{
	return accounts_sure(a, address) && (a->pg == NULL || !accounts_pg_loading_rows(a->pg));
}

const struct users_account *accounts_find(const struct accounts *a, const char *address)
{
	return users_find(&a->db, address);
}

const struct users_db *accounts_db(const struct accounts *a)
{
	return &a->db;
}

const struct aliases_table *accounts_aliases(const struct accounts *a)
{
	return &a->aliases;
}

/* accounts_is_account_cb - the resolver's account test. */
static bool accounts_is_account_cb(void *ctx, const char *address)
{
	return users_find(&((const struct accounts *)ctx)->db, address) != NULL;
}

/* accounts_is_local_domain_cb - the resolver's domain test: domains.local. */
static bool accounts_is_local_domain_cb(void *ctx, const char *domain)
{
	return cfg_is_local_domain(((const struct accounts *)ctx)->cfg, domain, strlen(domain));
}

/* accounts_first_cb - postmaster's last resort: the domain's first account in address order. */
static const char *accounts_first_cb(void *ctx, const char *domain)
{
	const struct users_db *db = &((const struct accounts *)ctx)->db;
	size_t dlen = strlen(domain);

	for (size_t i = 0; i < db->n; i++) { /* only for postmaster@ with no alias or account */
		const char *at = strrchr(db->accounts[i].address, '@');
		if (at != NULL && strlen(at + 1) == dlen && memcmp(at + 1, domain, dlen) == 0)
			return db->accounts[i].address;
	}
	return NULL;
}

enum aliases_status accounts_resolve(const struct accounts *a, const char *address,
				     struct aliases_result *r, bool *sure_r)
{
	struct aliases_resolver res;
	enum aliases_status st;

	*sure_r = accounts_sure_unknown(a, address);
	accounts_resolver(a, &res);
	st = aliases_resolve(accounts_aliases(a), &res, address, r);
	return st == ALIASES_OK && r->n_skipped > 0 && !*sure_r ? ALIASES_UNKNOWN : st;
}

void accounts_resolver(const struct accounts *a, struct aliases_resolver *res_r)
{
	const struct cfg *cfg = a->cfg;

	*res_r = (struct aliases_resolver){
		.is_account_cb = accounts_is_account_cb,
		.is_local_domain_cb = accounts_is_local_domain_cb,
		.domain_first_account_cb = accounts_first_cb,
		.ctx = (void *)a,
		.delimiter = cfg->recipient_delimiter != NULL ? cfg->recipient_delimiter : "",
		.default_domain = cfg->local_domains.n > 0 ? cfg->local_domains.items[0] : NULL,
	};
}

void accounts_refresh(struct accounts *a, void (*done_cb)(void *arg), void *arg)
{
	if (a->pg != NULL) {
		accounts_pg_reload(a->pg, done_cb, arg);
		return;
	}
	if (done_cb != NULL) {
		struct accounts_waiter *w = xmalloc(sizeof(*w));
		w->done_cb = done_cb;
		w->arg = arg;
		w->next = a->next;
		a->next = w;
	}
	if (a->job == NULL)
		accounts_check(a);
	else
		a->again = true;
}

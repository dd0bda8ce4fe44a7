/* posternd - the postern mail daemon: one main loop for every service, session loops per core. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr/aliases.h"
#include "addr/srs.h"
#include "auth/accounts.h"
#include "auth/auth_verify.h"
#include "auth/pg_url.h"
#include "config/cfg.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/listen.h"
#include "daemon/loops.h"
#include "daemon/privdrop.h"
#include "dkim/dkim.h"
#include "dkim/dkim_keys.h"
#include "dmarc/dmarc.h"
#include "dns/dns.h"
#include "metrics/metrics_http.h"
#include "imap/imap_cache.h"
#include "imap/imap_uidlist_cache.h"
#include "imap/imap_snapshot.h"
#include "imap/imap_session.h"
#include "pop3/pop3_session.h"
#include "queue/queue.h"
#include "relay/grant_store.h"
#include "relay/policy_server.h"
#include "smtp/smtp_session.h"
#include "store/store.h"
#include "tls/tls.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define POSTERND_IMAP_CACHE_BYTES ((size_t)64 << 20) /* ENVELOPEs of about 200,000 messages */
#define POSTERND_IMAP_CACHE_SHARDS 64

static void posternd_usage(void)
{
	fprintf(stderr, "usage: posternd [-c FILE] [--check]\n");
	exit(2);
}

/* posternd_raise_nofile - allow as many connections as the hard limit does. */
static void posternd_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	}
}

/* posternd_cores - how many session loop threads: one per online core. */
static unsigned posternd_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 1 ? (unsigned)(n < 64 ? n : 64) : 1;
}

/* posternd_load - read the configuration; NULL with the error printed. */
static struct cfg *posternd_load(const char *path)
{
	struct cfg *cfg = xcalloc(1, sizeof(*cfg));
	char *error = NULL;

	if (cfg_load(cfg, path, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		free(error);
		cfg_free(cfg);
		free(cfg);
		return NULL;
	}
	return cfg;
}

/*
 * posternd_check_store - --check: with the file store, the aliases file
 * beside the users file parses; with PostgreSQL, the URL is one postern
 * takes (the database itself is not asked). 0 or 1.
 */
static int posternd_check_store(const struct cfg *cfg)
{
	struct aliases_table table;
	char *path, *error = NULL;
	const char *why;
	int rc;

	if (strcmp(cfg->auth_store, "file") != 0) {
		if (pg_url_check(cfg->auth_store, &why) == 0)
			return 0;
		fprintf(stderr, "auth.store: %s\n", why);
		return 1;
	}
	path = aliases_path(cfg->users_file);
	aliases_init(&table);
	rc = aliases_load(&table, path, &error) < 0 ? 1 : 0;

	if (rc != 0)
		fprintf(stderr, "%s\n", error);
	free(error);
	aliases_free(&table);
	free(path);
	return rc;
}

/* posternd_abort_cb - the grace period is over: abort the sessions still open. */
static void posternd_abort_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	log_info("shutdown: aborting %lu session(s) still open", d->n_conns);
	for (struct daemon_conn *c = d->conns.next, *next; c != &d->conns; c = next) {
		next = c->next;
		if (c->abort != NULL)
			c->abort(c);
	}
	daemon_loops_stop_conns(d, true);
}

/* posternd_stop_cb - SIGTERM/SIGINT: stop accepting, end every session, exit. */
static void posternd_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	d->stopping = true;
	listen_close_all(d);
	metrics_http_close(d->metrics);
	for (struct daemon_conn *c = d->conns.next, *next; c != &d->conns; c = next) {
		next = c->next;
		c->stop(c);
	}
	daemon_loops_stop_conns(d, false);
	if (d->n_conns == 0) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	struct timeval grace = { .tv_sec = DAEMON_STOP_GRACE, .tv_usec = 0 };
	event_base_once(d->base, -1, EV_TIMEOUT, posternd_abort_cb, d, &grace);
}

/*
 * posternd_reload_refusal - what a reload cannot change (the store, the
 * queue and the SRS addresses hang on them): an error (malloc'd) or NULL.
 */
static char *posternd_reload_refusal(const struct cfg *old, const struct cfg *cfg)
{
	if (strcmp(cfg->data_dir, old->data_dir) != 0 || strcmp(cfg->hostname, old->hostname) != 0)
		return xstrdup("server.data_dir and server.hostname change only with a restart");
	return NULL;
}

/* posternd_keys_load - the DKIM keys in force; a keys_dir that cannot be read signs nothing. */
static void posternd_keys_load(struct daemon *d)
{
	char *error = NULL;
	struct dkim_keys *keys = dkim_keys_load(d->cfg->dkim_keys_dir, &error);

	if (keys == NULL) {
		log_err("%s; keeping the DKIM keys in force", error);
		free(error);
		return;
	}
	d->old_keys = xrealloc(d->old_keys, (d->n_old_keys + 1) * sizeof(*d->old_keys));
	d->old_keys[d->n_old_keys++] = d->dkim_keys;
	d->dkim_keys = keys;
	log_info("dkim: %zu signing key(s) from %s", dkim_keys_count(keys), d->cfg->dkim_keys_dir);
}

/* posternd_mailauth_set - what the inbound checks read from the configuration. */
static void posternd_mailauth_set(struct daemon *d)
{
	d->mailauth.hostname = d->cfg->hostname;
	d->mailauth.enforce = d->cfg->dmarc_enforce;
}

/* posternd_reload_cb - SIGHUP: new configuration and users file; the old one stays on error. */
static void posternd_reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct cfg *cfg;
	char *error = NULL;

	(void)sig;
	(void)what;
	if ((cfg = posternd_load(d->cfg_path)) == NULL) {
		log_err("reload failed, keeping the running configuration");
		return;
	}
	SSL_CTX *tls = NULL, *client = NULL;
	if ((error = posternd_reload_refusal(d->cfg, cfg)) != NULL ||
	    (tls = tls_server_ctx_new(cfg, &error)) == NULL ||
	    (client = tls_client_ctx_new(cfg, &error)) == NULL) {
		log_err("reload failed, keeping the running configuration: %s", error);
		free(error);
		SSL_CTX_free(tls);
		cfg_free(cfg);
		free(cfg);
		return;
	}
	SSL_CTX_free(d->tls); /* sessions hold their own references */
	d->tls = tls;
	SSL_CTX_free(d->tls_client); /* and so do outbound SMTP clients */
	d->tls_client = client;
	cfg_free(d->cfg);
	free(d->cfg);
	d->cfg = cfg;
	auth_set_limits(d->auth, cfg->auth_max_failures, cfg->auth_lockout);
	accounts_set_cfg(d->accounts, cfg);
	posternd_mailauth_set(d);
	posternd_keys_load(d);
	log_info("configuration reloaded");
}

/* posternd_banner - tell the person who started us what to do next. */
static void posternd_banner(const struct daemon *d)
{
	const struct cfg *cfg = d->cfg;

	log_info("postern ready: host %s, local domains %s, data in %s", cfg->hostname,
		 cfg->local_domains.n > 0 ? cfg->local_domains.items[0] : "(none)", cfg->data_dir);
	log_info("add a first user: echo 'secret' | posternctl%s%s user add alice@%s",
		 d->cfg_path ? " -c " : "", d->cfg_path ? d->cfg_path : "",
		 cfg->local_domains.n > 0 ? cfg->local_domains.items[0] : "example.test");
}

/*
 * posternd_relay_open - open the grant store. A store that cannot be
 * opened is logged, not fatal: local mail goes on, and relay checks answer
 * 451 4.3.0 until a restart.
 */
static void posternd_relay_open(struct daemon *d)
{
	char *error = NULL;

	if ((d->relay_store = relay_store_open(d->cfg->relay_store, d->base, &error)) == NULL) {
		log_err("%s; relaying on grants is unavailable", error);
		free(error);
	}
}

/*
 * posternd_srs_open - the SRS secret, made on first start. Without it mail
 * is still delivered and forwarded, with the sender unchanged, and bounces
 * to SRS addresses are refused; the log says so.
 */
static void posternd_srs_open(struct daemon *d)
{
	char *error = NULL;

	_Static_assert(sizeof(d->srs_secret) >= SRS_SECRET_MAX, "room for the SRS secret");
	if (srs_secret_load(d->cfg->data_dir, d->srs_secret, &d->srs_secret_len, &error) < 0) {
		log_err("%s; forwarding without SRS", error);
		free(error);
		d->srs_secret_len = 0;
	}
}

/*
 * posternd_mailauth_open - DNS for SPF/DKIM/DMARC, the Public Suffix List,
 * the DKIM keys and the signing workers. Without the list, DMARC treats
 * every From: domain as its own organizational domain (logged).
 */
static int posternd_mailauth_open(struct daemon *d, char **error_r)
{
	char *error = NULL;

	if ((d->dns = dns_new(d->base, &d->cfg->dns_servers, error_r)) == NULL)
		return -1;
	if ((d->psl = dmarc_psl_load(DMARC_PSL_PATH, &error)) == NULL) {
		log_err("%s; DMARC uses each From: domain as its organizational domain", error);
		free(error);
	}
	posternd_keys_load(d);
	d->crypto = workq_new(d->base, posternd_cores(), "crypto");
	d->mailauth.base = d->base;
	d->mailauth.dns = d->dns;
	d->mailauth.psl = d->psl;
	posternd_mailauth_set(d);
	return 0;
}

/* posternd_mailauth_close - after every session has ended. */
static void posternd_mailauth_close(struct daemon *d)
{
	workq_free(&d->crypto);
	dkim_keys_free(&d->dkim_keys);
	for (size_t i = 0; i < d->n_old_keys; i++)
		dkim_keys_free(&d->old_keys[i]);
	free(d->old_keys);
	dmarc_psl_free(&d->psl);
	dns_free(&d->dns);
	dkim_verify_forget_keys();
}

/*
 * posternd_bind - what may need root: the listeners (ports below 1024) and
 * a configured TLS key. A self-signed one lives in data_dir and is made
 * later, as server.user, so that a reload can read it.
 */
static int posternd_bind(struct daemon *d, char **error_r)
{
	const struct cfg *cfg = d->cfg;

	if (cfg->tls_cert != NULL && (d->tls = tls_server_ctx_new(cfg, error_r)) == NULL)
		return -1;
	if (listen_add(d, &cfg->smtp_listen, "smtp", smtp_session_start, error_r) < 0 ||
	    listen_add(d, &cfg->pop3_listen, "pop3", pop3_session_start, error_r) < 0 ||
	    listen_add(d, &cfg->pop3_listen_tls, "pop3s", pop3s_session_start, error_r) < 0 ||
	    listen_add(d, &cfg->imap_listen, "imap", imap_session_start, error_r) < 0 ||
	    listen_add(d, &cfg->imap_listen_tls, "imaps", imaps_session_start, error_r) < 0 ||
	    listen_add(d, &cfg->submission_listen, "submission", smtp_submission_start, error_r) < 0 ||
	    listen_add(d, &cfg->submission_listen_tls, "submissions", smtp_submissions_start,
		       error_r) < 0 ||
	    listen_add(d, &cfg->policy_listen, "policy", relay_policy_server_start, error_r) < 0 ||
	    metrics_http_open(d, &cfg->metrics_listen, &d->metrics, error_r) < 0)
		return -1;
	return 0;
}

/* posternd_open - as server.user: the users file, data_dir, the worker threads. */
static int posternd_open(struct daemon *d, char **error_r)
{
	d->auth = auth_new(d->base);
	auth_set_limits(d->auth, d->cfg->auth_max_failures, d->cfg->auth_lockout);
	d->io = workq_new(d->base, 2, "io");
	d->imap_cache = imap_cache_new(POSTERND_IMAP_CACHE_BYTES, POSTERND_IMAP_CACHE_SHARDS);
	if ((d->accounts = accounts_open(d->base, d->io, d->cfg, error_r)) == NULL)
		return -1;
	daemon_loops_start(d, posternd_cores());
	posternd_srs_open(d); /* before the queue: a DSN left by a crash goes out at its open */
	if ((d->store = store_open(d->base, d->cfg->data_dir, d->cfg->hostname, error_r)) == NULL ||
	    (d->tls == NULL && (d->tls = tls_server_ctx_new(d->cfg, error_r)) == NULL) ||
	    (d->tls_client = tls_client_ctx_new(d->cfg, error_r)) == NULL ||
	    posternd_mailauth_open(d, error_r) < 0 || /* the same DSN is signed */
	    (d->queue = queue_open(d, error_r)) == NULL ||
	    (d->control = control_open(d, d->queue, error_r)) == NULL)
		return -1;
	posternd_relay_open(d);
	return 0;
}

/*
 * posternd_setup - bind as root, become server.user (daemon/privdrop.h),
 * then open everything else: no thread starts and no file in data_dir is
 * made before the drop.
 */
static int posternd_setup(struct daemon *d)
{
	struct privdrop pd;
	char *error = NULL;
	int rc;

	rc = privdrop_prepare(&pd, d->cfg->user, d->cfg->data_dir, &error) < 0 ||
		     posternd_bind(d, &error) < 0 ||
		     privdrop_apply(&pd, d->cfg->data_dir, &error) < 0 || posternd_open(d, &error) < 0
	     ? -1
	     : 0;
	privdrop_free(&pd);
	if (rc < 0) {
		log_err("%s", error);
		free(error);
	}
	return rc;
}

/* posternd_teardown - free everything and log the store's counters. */
static void posternd_teardown(struct daemon *d)
{
	struct store_stats st = { 0 };

	listen_close_all(d);
	metrics_http_free(&d->metrics); /* it reads the queue, the store and the connection count */
	daemon_loops_stop(d); /* every session has ended: the loop threads go first */
	workq_free(&d->crypto); /* signatures in flight reach their (ended) sessions and the store */
	control_free(&d->control);
	queue_free(&d->queue); /* before the store: it takes the store's callbacks */
	if (d->store != NULL)
		store_get_stats(d->store, &st);
	store_close(&d->store);
	relay_store_close(&d->relay_store);
	posternd_mailauth_close(d);
	auth_free(&d->auth);
	accounts_free(&d->accounts);
	workq_free(&d->io);
	imap_cache_free(&d->imap_cache);
	imap_uidlist_cache_clear();
	imap_snapshot_clear_all();
	SSL_CTX_free(d->tls);
	SSL_CTX_free(d->tls_client);
	log_info("stopped: messages=%lu batches=%lu syncs=%lu", st.messages, st.batches, st.syncs);
	OPENSSL_cleanse(d->srs_secret, sizeof(d->srs_secret));
	cfg_free(d->cfg);
	free(d->cfg);
	event_base_free(d->base);
}

/* posternd_args - -c FILE and --check; true when --check was given. */
static bool posternd_args(int argc, char **argv, struct daemon *d)
{
	bool check = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			d->cfg_path = argv[++i];
		else if (strcmp(argv[i], "--check") == 0)
			check = true;
		else
			posternd_usage();
	}
	return check;
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	bool check = posternd_args(argc, argv, &d);

	if ((d.cfg = posternd_load(d.cfg_path)) == NULL)
		return 1;
	if (check) {
		int bad = posternd_check_store(d.cfg);
		cfg_free(d.cfg);
		free(d.cfg);
		return bad;
	}
	umask(077); /* nothing in data_dir is for other users */
	if (evthread_use_pthreads() < 0) /* before any event base: the loops post to each other */
		fatal("evthread_use_pthreads failed");
	log_init("posternd", d.cfg->syslog);
	signal(SIGPIPE, SIG_IGN);
	posternd_raise_nofile();
	d.base = event_base_new();
	d.conns.next = d.conns.prev = &d.conns;
	struct event *ev_term = evsignal_new(d.base, SIGTERM, posternd_stop_cb, &d);
	struct event *ev_int = evsignal_new(d.base, SIGINT, posternd_stop_cb, &d);
	struct event *ev_hup = evsignal_new(d.base, SIGHUP, posternd_reload_cb, &d);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);
	int rc = posternd_setup(&d);
	if (rc == 0) {
		posternd_banner(&d);
		event_base_dispatch(d.base);
	}
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	posternd_teardown(&d);
	return rc == 0 ? 0 : 1;
}

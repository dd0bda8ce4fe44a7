/* relay_check - trusted networks and grants: may a client relay; open a grant. */
#include "relay/relay_check.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/cfg.h"
#include "metrics/metrics.h"
#include "relay/cidr.h"
#include "util/log.h"
#include "util/xalloc.h"

/* One relay_check in progress. */
struct relay_check_job {
	struct relay_check_answer answer;
	int64_t now;
	relay_check_cb *cb;
	void *arg;
};

/* One relay_grant_open in progress. */
struct relay_grant_job {
	struct relay_grant grant;
	enum relay_store_status st;
	const char *error;
	relay_grant_open_cb *cb;
	void *arg;
	const char *via; /* "pop3" or "imap": static */
};

bool relay_check_allowed(const struct relay_check_answer *a)
{
	return a->result == RELAY_CHECK_TRUSTED || a->result == RELAY_CHECK_GRANT;
}

bool relay_check_trusted(const struct cfg *cfg, const char *ip, const char **network_r)
{
	uint8_t addr[16];

	return relay_cidr_ip(ip, addr) == 0 &&
	       relay_cidr_list_match(&cfg->trusted_networks, addr, network_r);
}

/* relay_check_count - count the answer on /metrics (metrics/metrics.h). */
static void relay_check_count(const struct relay_check_answer *a)
{
	if (a->result == RELAY_CHECK_TRUSTED)
		metrics_relay(METRICS_RELAY_TRUSTED);
	else if (a->result == RELAY_CHECK_GRANT)
		metrics_relay(METRICS_RELAY_GRANT);
	else if (a->result == RELAY_CHECK_ERROR)
		metrics_relay(METRICS_RELAY_ERROR);
	else
		metrics_relay(METRICS_RELAY_REFUSED);
}

/* relay_check_deliver_cb - answer a check that needed no store (deferred to the loop). */
static void relay_check_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_check_job *j = arg;

	(void)fd;
	(void)what;
	relay_check_count(&j->answer);
	j->cb(j->arg, &j->answer);
	free(j);
}

/* relay_check_defer - answer j on the next loop turn. */
static void relay_check_defer(struct event_base *base, struct relay_check_job *j)
{
	struct timeval zero = { 0, 0 };

	if (event_base_once(base, -1, EV_TIMEOUT, relay_check_deliver_cb, j, &zero) < 0)
		fatal("event_base_once failed");
}

/* relay_check_get_cb - the store's answer for the client's key. */
static void relay_check_get_cb(void *arg, enum relay_store_status st, const struct relay_grant *g,
			       const char *error)
{
	struct relay_check_job *j = arg;
	struct relay_check_answer *a = &j->answer;

	if (st == RELAY_STORE_OK) {
		a->grant = *g;
		a->result = relay_grant_live(g, j->now) ? RELAY_CHECK_GRANT : RELAY_CHECK_EXPIRED;
	} else if (st == RELAY_STORE_NOT_FOUND) {
		a->result = RELAY_CHECK_NONE;
	} else {
		a->result = RELAY_CHECK_ERROR;
		a->error = error;
	}
	relay_check_count(a);
	j->cb(j->arg, a);
	free(j);
}

/* relay_check_sync_answer - what can be answered without the store; false when it is needed. */
static bool relay_check_sync_answer(const struct cfg *cfg, struct relay_store *s, const char *ip,
				    struct relay_check_answer *a)
{
	const char *network;

	if (relay_grant_key(ip, cfg->ipv6_prefix, a->key, sizeof(a->key), &a->error) < 0)
		a->result = RELAY_CHECK_INVALID;
	else if (relay_check_trusted(cfg, ip, &network)) {
		a->result = RELAY_CHECK_TRUSTED;
		snprintf(a->network, sizeof(a->network), "%s", network);
	} else if (!cfg->pop_before_smtp && !cfg->imap_before_smtp)
		a->result = RELAY_CHECK_OFF;
	else if (s == NULL) {
		a->result = RELAY_CHECK_ERROR;
		a->error = "the grant store is not open";
	} else
		return false;
	return true;
}

void relay_check(struct event_base *base, struct relay_store *s, const struct cfg *cfg,
		 const char *ip, int64_t now, relay_check_cb *cb, void *arg)
{
	struct relay_check_job *j = xcalloc(1, sizeof(*j));

	j->now = now;
	j->cb = cb;
	j->arg = arg;
	if (relay_check_sync_answer(cfg, s, ip, &j->answer))
		relay_check_defer(base, j);
	else
		relay_store_get(s, j->answer.key, relay_check_get_cb, j);
}

const char *relay_check_describe(const struct relay_check_answer *a, char *buf, size_t size)
{
	const struct relay_grant *g = &a->grant;
	char t1[32], t2[32];

	switch (a->result) {
	case RELAY_CHECK_TRUSTED:
		snprintf(buf, size, "%s may relay: trusted network %s", a->key, a->network);
		break;
	case RELAY_CHECK_GRANT:
		snprintf(buf, size, "%s may relay: grant for %s%s%s%s since %s until %s", g->addr,
			 g->login, g->via[0] ? " (" : "", g->via, g->via[0] ? " login)" : "",
			 relay_time_format(g->granted, t1, sizeof(t1)),
			 relay_time_format(g->expires, t2, sizeof(t2)));
		break;
	case RELAY_CHECK_EXPIRED:
		snprintf(buf, size, "%s may not relay: the last grant (for %s) expired at %s",
			 g->addr, g->login, relay_time_format(g->expires, t1, sizeof(t1)));
		break;
	case RELAY_CHECK_NONE:
		snprintf(buf, size, "%s may not relay: no grant was ever made", a->key);
		break;
	case RELAY_CHECK_OFF:
		snprintf(buf, size, "%s may not relay: not a trusted network, and "
			 "relay.pop_before_smtp and relay.imap_before_smtp are off", a->key);
		break;
	case RELAY_CHECK_INVALID:
	case RELAY_CHECK_ERROR:
		snprintf(buf, size, "cannot tell: %s", a->error ? a->error : "error");
		break;
	}
	return buf;
}

/* relay_grant_done - log the outcome and answer the caller. */
static void relay_grant_done(struct relay_grant_job *j, bool renewed)
{
	char t[32];

	if (j->st == RELAY_STORE_OK && j->grant.addr[0] != '\0') {
		metrics_inc(METRICS_C_RELAY_GRANTS);
		log_info("relay grant %s: addr=%s login=%s via=%s until=%s",
			 renewed ? "renewed" : "opened", j->grant.addr, j->grant.login, j->via,
			 relay_time_format(j->grant.expires, t, sizeof(t)));
	} else if (j->st != RELAY_STORE_OK) {
		log_err("relay grant failed: addr=%s login=%s: %s", j->grant.addr, j->grant.login,
			j->error);
	}
	j->cb(j->arg, j->st, j->st == RELAY_STORE_OK ? NULL : j->error);
	free(j);
}

/* relay_grant_put_cb - the store wrote (or failed to write) the grant. */
static void relay_grant_put_cb(void *arg, enum relay_store_status st, bool renewed,
			       const char *error)
{
	struct relay_grant_job *j = arg;

	j->st = st == RELAY_STORE_NOT_FOUND ? RELAY_STORE_OK : st;
	j->error = error;
	relay_grant_done(j, renewed);
}

/* relay_grant_deliver_cb - a grant_open answered without the store (deferred). */
static void relay_grant_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	relay_grant_done(arg, false);
}

/* relay_grant_prepare - the grant for ip and login; false with j->st/error when impossible. */
static bool relay_grant_prepare(struct relay_grant_job *j, struct relay_store *s,
				const struct cfg *cfg, const char *ip, const char *login)
{
	int64_t now = (int64_t)time(NULL);

	j->st = RELAY_STORE_ERROR;
	snprintf(j->grant.login, sizeof(j->grant.login), "%s", login);
	snprintf(j->grant.via, sizeof(j->grant.via), "%s", j->via);
	if (relay_grant_key(ip, cfg->ipv6_prefix, j->grant.addr, sizeof(j->grant.addr),
			    &j->error) < 0)
		return false;
	if (!relay_grant_login_ok(login)) {
		j->error = "invalid login";
		return false;
	}
	if (!(strcmp(j->via, "imap") == 0 ? cfg->imap_before_smtp : cfg->pop_before_smtp)) {
		j->st = RELAY_STORE_OK;
		j->grant.addr[0] = '\0'; /* nothing written, nothing logged */
		return false;
	}
	if (s == NULL) {
		j->error = "the grant store is not open";
		return false;
	}
	j->grant.granted = now;
	j->grant.expires = now + cfg->relay_window;
	return true;
}

void relay_grant_open(struct event_base *base, struct relay_store *s, const struct cfg *cfg,
		      const char *ip, const char *login, const char *via, relay_grant_open_cb *cb,
		      void *arg)
{
	struct relay_grant_job *j = xcalloc(1, sizeof(*j));

	j->via = via;	struct timeval zero = { 0, 0 };

	j->cb = cb;
	j->arg = arg;
	if (relay_grant_prepare(j, s, cfg, ip, login))
		relay_store_put(s, &j->grant, relay_grant_put_cb, j);
	else if (event_base_once(base, -1, EV_TIMEOUT, relay_grant_deliver_cb, j, &zero) < 0)
		fatal("event_base_once failed");
}

/* relay_use_done_cb - log a failed usage count (the report is advisory). */
static void relay_use_done_cb(void *arg, enum relay_store_status st, bool renewed,
			      const char *error)
{
	char *login = arg;

	(void)renewed;
	if (st == RELAY_STORE_ERROR)
		log_warn("relay use of %s not counted: %s", login, error);
	free(login);
}

void relay_use_record(struct relay_store *s, const char *login, int64_t now)
{
	if (s == NULL || !relay_grant_login_ok(login))
		return;
	relay_store_record_use(s, login, now, relay_use_done_cb, xstrdup(login));
}

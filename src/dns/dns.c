/* dns - MX and address lookups with c-ares driven by libevent. */
#include "dns/dns.h"
#include "dns/dns_internal.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DNS_MAX_MX 10


struct dns_query {
	struct dns *dns;
	struct event *report_ev; /* hands the result to the caller from the loop */
	dns_done_fn *done_cb;
	void *arg;
	bool in_ares;   /* a c-ares callback is outstanding */
	bool cancelled; /* freed by that callback */
	unsigned port;
	char name[256];
	char mx_hosts[DNS_MAX_MX][256];
	size_t n_mx, next_mx;
	bool mx_fallback; /* resolving name itself because it has no MX */
	enum dns_status status;
	char error[320];
	struct dns_addr addrs[DNS_MAX_ADDRS];
	size_t n_addrs;
};

void dns_update_timer(struct dns *d)
{
	struct timeval tv, *t = ares_timeout(d->channel, NULL, &tv);

	if (t != NULL)
		evtimer_add(d->timer, t);
	else
		evtimer_del(d->timer);
}

/* dns_sock_cb - a c-ares socket is ready. */
static void dns_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = ((struct dns_sock *)arg)->dns;

	ares_process_fd(d->channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_update_timer(d);
}

/* dns_timer_cb - a c-ares timeout expired. */
static void dns_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	(void)fd;
	(void)what;
	ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_update_timer(d);
}

/* dns_sock_drop - stop watching s and free it. */
static void dns_sock_drop(struct dns *d, struct dns_sock *s)
{
	for (struct dns_sock **pp = &d->socks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (s->ev != NULL)
		event_free(s->ev);
	free(s);
}

/* dns_sock_state_cb - c-ares opens, closes, or changes interest in a socket. */
static void dns_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct dns_sock *s = d->socks;

	while (s != NULL && s->fd != fd)
		s = s->next;
	if (!readable && !writable) {
		if (s != NULL)
			dns_sock_drop(d, s);
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->dns = d;
		s->fd = fd;
		s->next = d->socks;
		d->socks = s;
	}
	if (s->ev != NULL)
		event_free(s->ev);
	s->ev = event_new(d->base, fd, EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0),
			  dns_sock_cb, s);
	event_add(s->ev, NULL);
}

/* dns_set_servers - dns.servers as c-ares' "addr:port,..." list. */
static int dns_set_servers(struct dns *d, const struct cfg_list *servers, char **error_r)
{
	size_t len = 1;
	char *csv;
	int rc;

	if (servers == NULL || servers->n == 0)
		return 0;
	for (size_t i = 0; i < servers->n; i++)
		len += strlen(servers->items[i]) + 1;
	csv = xcalloc(1, len);
	for (size_t i = 0; i < servers->n; i++) {
		if (i > 0)
			strcat(csv, ",");
		strcat(csv, servers->items[i]);
	}
	rc = ares_set_servers_ports_csv(d->channel, csv);
	if (rc != ARES_SUCCESS)
		*error_r = xasprintf("dns.servers '%s': %s", csv, ares_strerror(rc));
	free(csv);
	return rc == ARES_SUCCESS ? 0 : -1;
}

struct dns *dns_new(struct event_base *base, const struct cfg_list *servers, char **error_r)
{
	struct dns *d = xcalloc(1, sizeof(*d));
	struct ares_options opts = { 0 };
	int rc;

	ares_library_init(ARES_LIB_INIT_ALL);
	d->base = base;
	opts.sock_state_cb = dns_sock_state_cb;
	opts.sock_state_cb_data = d;
	opts.timeout = 2000;
	opts.tries = 2;
	rc = ares_init_options(&d->channel, &opts,
			       ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		*error_r = xasprintf("c-ares: %s", ares_strerror(rc));
		free(d);
		ares_library_cleanup();
		return NULL;
	}
	d->timer = evtimer_new(base, dns_timer_cb, d);
	d->cache = dns_cache_new();
	if (dns_set_servers(d, servers, error_r) < 0) {
		dns_free(&d);
		return NULL;
	}
	return d;
}

void dns_free(struct dns **dp)
{
	struct dns *d = *dp;

	if (d == NULL)
		return;
	ares_destroy(d->channel); /* outstanding callbacks run with ARES_EDESTRUCTION */
	dns_cache_free(&d->cache);
	while (d->socks != NULL)
		dns_sock_drop(d, d->socks);
	event_free(d->timer);
	free(d);
	ares_library_cleanup();
	*dp = NULL;
}

/* dns_query_free - release a finished or cancelled query. */
static void dns_query_free(struct dns_query *q)
{
	if (q->report_ev != NULL)
		event_free(q->report_ev);
	free(q);
}

/* dns_report_cb - on the loop: hand the result over, then free the query. */
static void dns_report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	(void)fd;
	(void)what;
	q->done_cb(q->arg, q->status, q->addrs, q->n_addrs, q->error);
	dns_query_free(q);
}

/* dns_finish - the lookup is over: report it from the loop (never from inside a call). */
static void dns_finish(struct dns_query *q, enum dns_status status, const char *error)
{
	q->status = status;
	if (q->n_addrs > 0)
		q->status = DNS_OK;
	snprintf(q->error, sizeof(q->error), "%s", error != NULL ? error : "");
	event_active(q->report_ev, EV_TIMEOUT, 0);
}

/* dns_add_addr - keep one address with the port set. */
static void dns_add_addr(struct dns_query *q, const char *host, const struct sockaddr *sa,
			 socklen_t len)
{
	struct dns_addr *a;

	if (q->n_addrs >= DNS_MAX_ADDRS || len > sizeof(a->sa))
		return;
	a = &q->addrs[q->n_addrs++];
	snprintf(a->host, sizeof(a->host), "%s", host);
	memcpy(&a->sa, sa, len);
	a->salen = len;
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)&a->sa)->sin_port = htons((uint16_t)q->port);
	else
		((struct sockaddr_in6 *)&a->sa)->sin6_port = htons((uint16_t)q->port);
}

static void dns_lookup_host(struct dns_query *q, const char *host);

/* dns_next_mx - resolve the next MX host, or finish when none is left. */
static void dns_next_mx(struct dns_query *q)
{
	if (q->next_mx < q->n_mx) {
		dns_lookup_host(q, q->mx_hosts[q->next_mx++]);
		return;
	}
	dns_finish(q, DNS_TEMP, "no address found for any MX host");
}

/* dns_addrinfo_cb - addresses of one host (an MX host, the domain, or a route's host). */
static void dns_addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct dns_query *q = arg;
	const char *host = q->n_mx > 0 ? q->mx_hosts[q->next_mx - 1] : q->name;
	char error[300];

	(void)timeouts;
	q->in_ares = false;
	for (struct ares_addrinfo_node *n = res ? res->nodes : NULL; n != NULL; n = n->ai_next) {
		if (!q->cancelled && status == ARES_SUCCESS)
			dns_add_addr(q, host, n->ai_addr, n->ai_addrlen);
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
	if (q->cancelled || status == ARES_EDESTRUCTION) {
		dns_query_free(q);
		return;
	}
	if (q->n_mx > 0) {
		dns_next_mx(q);
		return;
	}
	snprintf(error, sizeof(error), "%.200s: %s%s", q->name, ares_strerror(status),
		 q->mx_fallback ? " (no MX record either)" : "");
	dns_finish(q, status == ARES_ENOTFOUND || status == ARES_ENODATA ? DNS_PERM : DNS_TEMP,
		   error);
}

/* dns_lookup_host - A and AAAA records of host. */
static void dns_lookup_host(struct dns_query *q, const char *host)
{
	struct ares_addrinfo_hints hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };

	q->in_ares = true;
	ares_getaddrinfo(q->dns->channel, host, NULL, &hints, dns_addrinfo_cb, q);
	dns_update_timer(q->dns);
}

/* dns_mx_sort - keep MX hosts in preference order (RFC 5321 5.1); -1 on a null MX. */
static int dns_mx_sort(struct dns_query *q, struct ares_mx_reply *mx)
{
	unsigned prefs[DNS_MAX_MX];

	q->n_mx = 0;
	for (; mx != NULL; mx = mx->next) {
		if (mx->host[0] == '\0' || strcmp(mx->host, ".") == 0)
			return -1; /* RFC 7505: "0 ." - this domain accepts no mail */
		if (q->n_mx == DNS_MAX_MX)
			continue;
		size_t i = q->n_mx++;
		while (i > 0 && prefs[i - 1] > mx->priority) { /* stable insertion */
			prefs[i] = prefs[i - 1];
			memcpy(q->mx_hosts[i], q->mx_hosts[i - 1], sizeof(q->mx_hosts[i]));
			i--;
		}
		prefs[i] = mx->priority;
		snprintf(q->mx_hosts[i], sizeof(q->mx_hosts[i]), "%s", mx->host);
	}
	return 0;
}

/* dns_mx_answer - parse the MX answer; no MX: the domain's own address. */
static void dns_mx_answer(struct dns_query *q, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *mx = NULL;
	int rc = ares_parse_mx_reply(abuf, alen, &mx);
	char error[300];

	if (rc == ARES_SUCCESS && dns_mx_sort(q, mx) < 0) {
		ares_free_data(mx);
		snprintf(error, sizeof(error), "%.200s: null MX: the domain accepts no mail (RFC 7505)",
			 q->name);
		dns_finish(q, DNS_PERM, error);
		return;
	}
	ares_free_data(mx);
	if (rc == ARES_SUCCESS && q->n_mx > 0) {
		dns_next_mx(q);
		return;
	}
	q->mx_fallback = true;
	dns_lookup_host(q, q->name);
}

/* dns_mx_cb - the MX query answered (or failed). */
static void dns_mx_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	char error[300];

	(void)timeouts;
	q->in_ares = false;
	if (q->cancelled || status == ARES_EDESTRUCTION) {
		dns_query_free(q);
		return;
	}
	if (status == ARES_SUCCESS) {
		dns_mx_answer(q, abuf, alen);
		return;
	}
	if (status == ARES_ENODATA) {
		q->mx_fallback = true;
		dns_lookup_host(q, q->name);
		return;
	}
	snprintf(error, sizeof(error), "%.200s: MX lookup: %s", q->name, ares_strerror(status));
	dns_finish(q, status == ARES_ENOTFOUND ? DNS_PERM : DNS_TEMP, error);
}

/* dns_literal - an IP address given as a host: no lookup. */
static bool dns_literal(struct dns_query *q)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, q->name, &in.sin_addr) == 1)
		dns_add_addr(q, q->name, (struct sockaddr *)&in, sizeof(in));
	else if (inet_pton(AF_INET6, q->name, &in6.sin6_addr) == 1)
		dns_add_addr(q, q->name, (struct sockaddr *)&in6, sizeof(in6));
	else
		return false;
	dns_finish(q, DNS_OK, NULL);
	return true;
}

struct dns_query *dns_resolve(struct dns *d, const char *name, bool mx, unsigned port,
			      dns_done_fn *done_cb, void *arg)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));

	q->dns = d;
	q->done_cb = done_cb;
	q->arg = arg;
	q->port = port;
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->report_ev = evtimer_new(d->base, dns_report_cb, q);
	if (!mx && dns_literal(q))
		return q;
	if (!mx) {
		dns_lookup_host(q, name);
		return q;
	}
	q->in_ares = true;
	ares_query(d->channel, name, C_IN, T_MX, dns_mx_cb, q);
	dns_update_timer(d);
	return q;
}

void dns_cancel(struct dns_query **qp)
{
	struct dns_query *q = *qp;

	if (q == NULL)
		return;
	*qp = NULL;
	if (q->in_ares) {
		q->cancelled = true; /* the c-ares callback frees it */
		event_del(q->report_ev);
		return;
	}
	dns_query_free(q);
}

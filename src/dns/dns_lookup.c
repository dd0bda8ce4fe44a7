/* dns_lookup - records of one name and type, from a cache, with c-ares. */
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns.h"
#include "dns/dns_internal.h"
#include "util/xalloc.h"

#define DNS_CACHE_BUCKETS 4096

/* One name and type: an answer, or a query in flight with its waiters. */
struct dns_entry {
	struct dns_entry *next; /* in its bucket */
	struct dns *dns;
	char name[256]; /* lower case */
	enum dns_rrtype type;
	struct dns_answer answer;
	time_t expires;
	bool pending;               /* the query is in flight */
	unsigned refs;              /* lookups holding it */
	struct dns_lookup *waiters; /* while pending */
};

struct dns_lookup {
	struct dns_lookup *next; /* among the entry's waiters */
	struct dns_entry *entry;
	struct event *ev; /* reports from the loop, never from inside a call */
	dns_lookup_fn *done_cb;
	void *arg;
};

struct dns_cache {
	struct dns_entry *buckets[DNS_CACHE_BUCKETS];
	size_t n;
};

struct dns_cache *dns_cache_new(void)
{
	return xcalloc(1, sizeof(struct dns_cache));
}

/* dns_answer_clear - free the records of an answer. */
static void dns_answer_clear(struct dns_answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->rr[i]);
	free(a->rr);
	memset(a, 0, sizeof(*a));
}

/* dns_answer_add - keep one record (of at most len bytes), within the bounds. */
static void dns_answer_add(struct dns_answer *a, const char *text, size_t len)
{
	if (a->n >= DNS_ANSWER_MAX_RR || len > DNS_ANSWER_MAX_TXT || memchr(text, '\0', len) != NULL)
		return;
	a->rr = xrealloc(a->rr, (a->n + 1) * sizeof(*a->rr));
	a->rr[a->n++] = xstrndup(text, len);
}

void dns_cache_free(struct dns_cache **cp)
{
	struct dns_cache *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; i < DNS_CACHE_BUCKETS; i++) {
		for (struct dns_entry *e = c->buckets[i], *next; e != NULL; e = next) {
			next = e->next;
			dns_answer_clear(&e->answer);
			free(e);
		}
	}
	free(c);
	*cp = NULL;
}

/* dns_hash - FNV-1a of the name and type. */
static size_t dns_hash(const char *name, enum dns_rrtype type)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % DNS_CACHE_BUCKETS;
}

/* dns_cache_sweep - make room: expired answers go, then (still full) every unused one. */
static void dns_cache_sweep(struct dns_cache *c, time_t now, bool all)
{
	for (size_t i = 0; i < DNS_CACHE_BUCKETS; i++) {
		for (struct dns_entry **pp = &c->buckets[i]; *pp != NULL;) {
			struct dns_entry *e = *pp;
			if (e->pending || e->refs > 0 || (!all && e->expires > now)) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			dns_answer_clear(&e->answer);
			free(e);
			c->n--;
		}
	}
}

/* dns_cache_get - the entry of name and type, made (empty, expired) when missing. */
static struct dns_entry *dns_cache_get(struct dns *d, const char *name, enum dns_rrtype type,
				       time_t now)
{
	struct dns_cache *c = d->cache;
	size_t h = dns_hash(name, type);
	struct dns_entry *e;

	for (e = c->buckets[h]; e != NULL; e = e->next) {
		if (e->type == type && strcmp(e->name, name) == 0)
			return e;
	}
	if (c->n >= DNS_CACHE_MAX)
		dns_cache_sweep(c, now, false);
	if (c->n >= DNS_CACHE_MAX)
		dns_cache_sweep(c, now, true);
	e = xcalloc(1, sizeof(*e));
	e->dns = d;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->type = type;
	e->next = c->buckets[h];
	c->buckets[h] = e;
	c->n++;
	return e;
}

/* dns_parse_addrs - A or AAAA records in presentation form. */
static int dns_parse_addrs(struct dns_answer *a, enum dns_rrtype type, const unsigned char *abuf,
			   int alen)
{
	struct ares_addrttl v4[DNS_ANSWER_MAX_RR];
	struct ares_addr6ttl v6[DNS_ANSWER_MAX_RR];
	int n = DNS_ANSWER_MAX_RR, rc;
	char text[INET6_ADDRSTRLEN];

	if (type == DNS_RR_A)
		rc = ares_parse_a_reply(abuf, alen, NULL, v4, &n);
	else
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, v6, &n);
	for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
		if (type == DNS_RR_A)
			inet_ntop(AF_INET, &v4[i].ipaddr, text, sizeof(text));
		else
			inet_ntop(AF_INET6, &v6[i].ip6addr, text, sizeof(text));
		dns_answer_add(a, text, strlen(text));
	}
	return rc;
}

/*
 * dns_txt_keep - one TXT record: as it is, or, longer than
 * DNS_ANSWER_MAX_TXT, its start and a DEL byte: seen, and refused by every
 * parser, rather than taken for no record at all.
 */
static void dns_txt_keep(struct dns_answer *a, char *buf, size_t len, bool over)
{
	if (over) {
		len = len < DNS_ANSWER_TXT_STUB ? len : DNS_ANSWER_TXT_STUB;
		buf[len++] = '\x7f';
	}
	dns_answer_add(a, buf, len);
}

/* dns_parse_txt - TXT records, each record's strings joined (RFC 7208 3.3). */
static int dns_parse_txt(struct dns_answer *a, const unsigned char *abuf, int alen)
{
	struct ares_txt_ext *txt = NULL;
	int rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
	char *buf = xmalloc(DNS_ANSWER_MAX_TXT + 1);
	size_t len = 0;
	bool over = false;

	for (struct ares_txt_ext *t = txt; rc == ARES_SUCCESS && t != NULL; t = t->next) {
		if (t->record_start && t != txt)
			dns_txt_keep(a, buf, len, over);
		if (t->record_start) {
			len = 0;
			over = false;
		}
		if (len + t->length > DNS_ANSWER_MAX_TXT) {
			over = true;
		} else if (t->length > 0) {
			memcpy(buf + len, t->txt, t->length);
			len += t->length;
		}
	}
	if (rc == ARES_SUCCESS && txt != NULL)
		dns_txt_keep(a, buf, len, over);
	free(buf);
	ares_free_data(txt);
	return rc;
}

/* dns_parse_names - MX exchanges or PTR names. */
static int dns_parse_names(struct dns_answer *a, enum dns_rrtype type, const unsigned char *abuf,
			   int alen)
{
	struct ares_mx_reply *mx = NULL;
	struct hostent *he = NULL;
	unsigned char dummy[4] = { 0 };
	int rc;

	if (type == DNS_RR_MX) {
		rc = ares_parse_mx_reply(abuf, alen, &mx);
		for (struct ares_mx_reply *m = mx; rc == ARES_SUCCESS && m != NULL; m = m->next)
			dns_answer_add(a, m->host, strlen(m->host));
		ares_free_data(mx);
		return rc;
	}
	rc = ares_parse_ptr_reply(abuf, alen, dummy, sizeof(dummy), AF_INET, &he);
	for (size_t i = 0; rc == ARES_SUCCESS && he->h_aliases[i] != NULL; i++)
		dns_answer_add(a, he->h_aliases[i], strlen(he->h_aliases[i]));
	if (rc == ARES_SUCCESS && a->n == 0)
		dns_answer_add(a, he->h_name, strlen(he->h_name));
	if (he != NULL)
		ares_free_hostent(he);
	return rc;
}

/* dns_parse - fill a from a c-ares status and answer. */
static void dns_parse(struct dns_answer *a, enum dns_rrtype type, int status,
		      const unsigned char *abuf, int alen)
{
	int rc = status;

	if (status == ARES_SUCCESS && (type == DNS_RR_A || type == DNS_RR_AAAA))
		rc = dns_parse_addrs(a, type, abuf, alen);
	else if (status == ARES_SUCCESS && type == DNS_RR_TXT)
		rc = dns_parse_txt(a, abuf, alen);
	else if (status == ARES_SUCCESS)
		rc = dns_parse_names(a, type, abuf, alen);
	if (rc == ARES_SUCCESS || rc == ARES_ENODATA) {
		a->rcode = DNS_R_OK;
		return;
	}
	dns_answer_clear(a);
	a->rcode = rc == ARES_ENOTFOUND ? DNS_R_NXDOMAIN : DNS_R_TEMP;
}

/* dns_lookup_free - drop a lookup and its hold on the entry. */
static void dns_lookup_free(struct dns_lookup *l)
{
	l->entry->refs--;
	event_free(l->ev);
	free(l);
}

/* dns_answered_cb - c-ares answered the entry's query: wake its waiters. */
static void dns_answered_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_entry *e = arg;
	struct dns_lookup *l = e->waiters;

	(void)timeouts;
	e->pending = false;
	e->waiters = NULL;
	dns_answer_clear(&e->answer);
	dns_parse(&e->answer, e->type, status, abuf, alen);
	/* A temporary failure is reported but not kept. */
	e->expires = e->answer.rcode == DNS_R_TEMP ? 0 : time(NULL) + DNS_CACHE_TTL;
	for (struct dns_lookup *next; l != NULL; l = next) {
		next = l->next;
		if (status == ARES_EDESTRUCTION)
			dns_lookup_free(l); /* dns_free: callbacks never run */
		else
			event_active(l->ev, EV_TIMEOUT, 0);
	}
}

/* dns_report_cb - on the loop: hand the answer over, then free the lookup. */
static void dns_report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_lookup *l = arg;

	(void)fd;
	(void)what;
	l->done_cb(l->arg, &l->entry->answer);
	dns_lookup_free(l);
}

/* dns_name_ok - a name c-ares may be asked about: 1..253 octets, no empty label; lower-cased into out. */
static bool dns_name_ok(const char *name, char out[256])
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || name[0] == '.' || memmem(name, len, "..", 2) != NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[len] = '\0';
	return true;
}

struct dns_lookup *dns_lookup(struct dns *d, const char *name, enum dns_rrtype type,
			      dns_lookup_fn *done_cb, void *arg)
{
	static struct dns_entry invalid = { .answer = { .rcode = DNS_R_NXDOMAIN }, .refs = 1 };
	struct dns_lookup *l = xcalloc(1, sizeof(*l));
	char key[256];
	time_t now = time(NULL);

	l->done_cb = done_cb;
	l->arg = arg;
	l->ev = evtimer_new(d->base, dns_report_cb, l);
	l->entry = dns_name_ok(name, key) ? dns_cache_get(d, key, type, now) : &invalid;
	l->entry->refs++;
	if (l->entry->pending || (l->entry != &invalid && l->entry->expires <= now)) {
		l->next = l->entry->waiters;
		l->entry->waiters = l;
	} else {
		event_active(l->ev, EV_TIMEOUT, 0);
		return l;
	}
	if (!l->entry->pending) {
		l->entry->pending = true;
		ares_query(d->channel, key, C_IN, (int)type, dns_answered_cb, l->entry);
		dns_update_timer(d);
	}
	return l;
}

void dns_lookup_cancel(struct dns_lookup **lp)
{
	struct dns_lookup *l = *lp;

	if (l == NULL)
		return;
	*lp = NULL;
	for (struct dns_lookup **pp = &l->entry->waiters; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	dns_lookup_free(l); /* event_free also takes it off the loop */
}

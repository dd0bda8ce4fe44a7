/*
 * dns_internal - what the resolver (dns.c: the c-ares channel on the loop,
 * MX lookups) and the record lookups with their cache (dns_lookup.c) share.
 */
#ifndef POSTERN_DNS_INTERNAL_H
#define POSTERN_DNS_INTERNAL_H

#include <ares.h>

struct dns_cache;
struct event;
struct event_base;

/* A c-ares socket watched by the loop. */
struct dns_sock {
	struct dns_sock *next;
	struct dns *dns;
	ares_socket_t fd;
	struct event *ev;
};

struct dns {
	struct event_base *base;
	ares_channel channel;
	struct event *timer;
	struct dns_sock *socks;
	struct dns_cache *cache; /* dns_lookup.c */
};

/* dns_update_timer - arm the timer for c-ares' next timeout (after every query). */
void dns_update_timer(struct dns *d);

/* dns_cache_new - an empty answer cache. */
struct dns_cache *dns_cache_new(void);

/* dns_cache_free - free the cache and its answers; pending lookups must be gone. */
void dns_cache_free(struct dns_cache **cp);

#endif

/*
 * dns - DNS with c-ares on the event loop (its sockets are libevent
 * events, its timeouts a libevent timer). Two kinds of lookup:
 *   - dns_resolve, for outbound delivery: MX records in preference order,
 *     each MX host's A/AAAA addresses, the domain's own address when it
 *     has no MX (RFC 5321 5.1), and the null MX of RFC 7505 ("0 .")
 *     refused permanently;
 *   - dns_lookup, for SPF, DKIM and DMARC: the records of one name and
 *     type as a dns_answer (dns/dns_answer.h), bounded in count and size,
 *     from a cache shared by every session; simultaneous lookups of one
 *     name wait for one query.
 * dns.servers ("addr:port" list) replaces /etc/resolv.conf, so tests can
 * run a resolver on loopback.
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "dns/dns_answer.h"

struct cfg_list;
struct dns;
struct dns_query;
struct dns_lookup;
struct event_base;

#define DNS_MAX_ADDRS 16

enum dns_status {
	DNS_OK,   /* addrs holds at least one address */
	DNS_TEMP, /* try again later (timeout, SERVFAIL, no address yet) */
	DNS_PERM, /* the domain does not exist, or refuses mail (null MX) */
};

/* One address to connect to, with the host name it came from. */
struct dns_addr {
	char host[256];
	struct sockaddr_storage sa; /* port set */
	socklen_t salen;
};

typedef void dns_done_fn(void *arg, enum dns_status status, const struct dns_addr *addrs,
			 size_t n_addrs, const char *error);

/* dns_new - a resolver on base; servers empty: /etc/resolv.conf. NULL with *error_r. */
struct dns *dns_new(struct event_base *base, const struct cfg_list *servers, char **error_r);

/* dns_free - cancel every lookup (their callbacks never run) and free. */
void dns_free(struct dns **dp);

/*
 * dns_resolve - the addresses to deliver to: with mx, the MX hosts of name
 * in preference order (name itself when it has no MX); without, name as a
 * host (an IP literal is used as is). port goes into each address.
 * done_cb runs once, later, on the loop.
 */
struct dns_query *dns_resolve(struct dns *d, const char *name, bool mx, unsigned port,
			      dns_done_fn *done_cb, void *arg);

/* dns_cancel - forget a lookup; its callback never runs. */
void dns_cancel(struct dns_query **qp);

/* Answers are kept this long (c-ares 1.18 gives no TTL for TXT records). */
#define DNS_CACHE_TTL 60
#define DNS_CACHE_MAX 4096 /* answers kept; the oldest unused go first */

typedef void dns_lookup_fn(void *arg, const struct dns_answer *answer);

/*
 * dns_lookup - the type records of name. done_cb runs once, later, on the
 * loop, with an answer valid only during the call (DNS_R_TEMP on timeout,
 * SERVFAIL or a malformed answer; a name longer than 253 octets or with an
 * empty label is DNS_R_NXDOMAIN without a query).
 */
struct dns_lookup *dns_lookup(struct dns *d, const char *name, enum dns_rrtype type,
			      dns_lookup_fn *done_cb, void *arg);

/* dns_lookup_cancel - forget a lookup; its callback never runs. */
void dns_lookup_cancel(struct dns_lookup **lp);

#endif

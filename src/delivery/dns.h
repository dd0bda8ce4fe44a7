/*
 * dns - the address lookups of outbound delivery, with c-ares on the event
 * loop (its sockets are libevent events, its timeouts a libevent timer):
 * MX records in preference order, each MX host's A/AAAA addresses, the
 * domain's own address when it has no MX (RFC 5321 5.1), and the null MX
 * of RFC 7505 ("0 .") refused permanently. delivery.dns_servers
 * ("addr:port" list) replaces /etc/resolv.conf, so tests can run a
 * resolver on loopback.
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct cfg_list;
struct dns;
struct dns_query;
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

#endif

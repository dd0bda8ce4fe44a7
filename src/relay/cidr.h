/*
 * cidr - the networks of relay.trusted_networks: "addr" (one host) or
 * "addr/prefix", IPv4 or IPv6. Pure functions.
 *
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4 on both sides: a mapped client
 * matches an IPv4 network, and a mapped network with a prefix of 96 or more
 * is the IPv4 network it maps. An IPv4 client also matches an IPv6 network
 * that covers its mapped form, so "::/0" matches every client, and
 * "0.0.0.0/0" every IPv4 client.
 */
#ifndef POSTERN_RELAY_CIDR_H
#define POSTERN_RELAY_CIDR_H

#include <stdbool.h>
#include <stdint.h>

struct cfg_list;
struct sockaddr;

struct relay_cidr {
	uint8_t addr[16]; /* IPv6, or IPv4 mapped (::ffff:a.b.c.d) */
	unsigned prefix;  /* 0..128, counted on the 16-byte form */
};

/* relay_cidr_parse - "addr" or "addr/prefix" to *c_r; -1 with *error_r static. */
int relay_cidr_parse(const char *text, struct relay_cidr *c_r, const char **error_r);

/* relay_cidr_ip - a textual IP address to its 16-byte form (IPv4 mapped); -1 when not one. */
int relay_cidr_ip(const char *ip, uint8_t addr_r[16]);

/* relay_cidr_sa - an AF_INET / AF_INET6 socket address to its 16-byte form; -1 otherwise. */
int relay_cidr_sa(const struct sockaddr *sa, uint8_t addr_r[16]);

/* relay_cidr_match - whether addr (16-byte form) is inside c. */
bool relay_cidr_match(const struct relay_cidr *c, const uint8_t addr[16]);

/*
 * relay_cidr_list_match - whether addr is inside any network of list;
 * *match_r (when not NULL) is the item that matched. Items that do not
 * parse (the configuration checks them) never match.
 */
bool relay_cidr_list_match(const struct cfg_list *list, const uint8_t addr[16],
			   const char **match_r);

#endif

/*
 * relay_check - the questions the SMTP session, the POP3 login hook, the
 * policy service and posternctl ask about POP-before-SMTP, answered from
 * relay.trusted_networks and the grant store:
 *
 *   relay_check       may this client relay now, and why (or why not)?
 *   relay_grant_open  a POP3 or IMAP login from ip: write its grant, call back when
 *                     it is in the store (durable), so +OK can follow
 *   relay_use_record  a message was relayed on a grant: count it (report)
 *
 * All of them read cfg only during the call (a SIGHUP reload may free it
 * later) and call back on base's loop, never before they return. Like the
 * store's operations they cannot be cancelled: arg must stay valid until
 * the callback ran (a session that ends meanwhile marks itself closing and
 * frees itself in the callback). s may be NULL (the store failed to open):
 * the answer is then a store error.
 */
#ifndef POSTERN_RELAY_CHECK_H
#define POSTERN_RELAY_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/grant_store.h"

struct cfg;
struct event_base;

enum relay_check_result {
	RELAY_CHECK_TRUSTED, /* in relay.trusted_networks (network) */
	RELAY_CHECK_GRANT,   /* holds a live grant (grant) */
	RELAY_CHECK_EXPIRED, /* refused: the last grant expired at grant.expires */
	RELAY_CHECK_NONE,    /* refused: no grant (or none in RELAY_GRANT_KEEP) */
	RELAY_CHECK_OFF,     /* refused: relay.pop_before_smtp = no */
	RELAY_CHECK_INVALID, /* refused: not an IP address */
	RELAY_CHECK_ERROR,   /* unknown: the store failed; answer 451 4.3.0 */
};

struct relay_check_answer {
	enum relay_check_result result;
	char key[RELAY_ADDR_MAX]; /* the grant key of the client */
	char network[64];         /* TRUSTED: the item of relay.trusted_networks */
	struct relay_grant grant; /* GRANT, EXPIRED */
	const char *error;        /* ERROR, INVALID: why */
};

typedef void relay_check_cb(void *arg, const struct relay_check_answer *a);
typedef void relay_grant_open_cb(void *arg, enum relay_store_status st, const char *error);

/* relay_check_allowed - whether the answer allows relaying (TRUSTED or GRANT). */
bool relay_check_allowed(const struct relay_check_answer *a);

/*
 * relay_check_trusted - whether ip is in relay.trusted_networks (no store
 * involved; synchronous); *network_r is the matching item.
 */
bool relay_check_trusted(const struct cfg *cfg, const char *ip, const char **network_r);

/* relay_check - may the client at ip (text, IPv4 or IPv6) relay at now? */
void relay_check(struct event_base *base, struct relay_store *s, const struct cfg *cfg,
		 const char *ip, int64_t now, relay_check_cb *cb, void *arg);

/*
 * relay_check_describe - one line for logs and "relay check": "trusted
 * network 10.0.0.0/8", "grant for alice@example.test since ... until ...",
 * "the last grant (alice@...) expired at ...", "no grant was ever made", ...
 */
const char *relay_check_describe(const struct relay_check_answer *a, char *buf, size_t size);

/*
 * relay_grant_open - after a successful login by login from ip over via
 * ("pop3" or "imap", a static string): write the grant (now .. now +
 * relay.window) and call cb once it is in the store (RELAY_STORE_OK), or
 * failed. Logs the grant or renewal. With relay.pop_before_smtp (POP3) or
 * relay.imap_before_smtp (IMAP) off it writes nothing and calls back OK.
 */
void relay_grant_open(struct event_base *base, struct relay_store *s, const struct cfg *cfg,
		      const char *ip, const char *login, const char *via, relay_grant_open_cb *cb,
		      void *arg);

/* relay_use_record - count one message relayed at now on login's grant; errors are logged. */
void relay_use_record(struct relay_store *s, const char *login, int64_t now);

#endif

/*
 * grant - a POP-before-SMTP relay grant and the pure helpers around it: the
 * key an address is granted under, and the compact text a grant is stored
 * as in every backend (grant_store.h).
 *
 * The key: an IPv4 client is its dotted quad ("192.0.2.7"); an IPv4-mapped
 * IPv6 client (::ffff:192.0.2.7) is the same IPv4 key; any other IPv6
 * client is its network under relay.ipv6_prefix, written as inet_ntop
 * prints it, with "/N" unless N is 128 ("2001:db8:1:2::/64",
 * "2001:db8::7"). Keys are canonical: one address, one key.
 *
 * The stored text: "1 ADDR GRANTED EXPIRES LOGIN" (version, key, unix
 * seconds, unix seconds, login to the end), or "2 ADDR GRANTED EXPIRES
 * VIA LOGIN" when the login's service is known (VIA "pop3" or "imap"). A grant is live while
 * now < expires; stores keep an expired grant for a while (RELAY_GRANT_KEEP)
 * so that "relay check" can say when it expired.
 */
#ifndef POSTERN_RELAY_GRANT_H
#define POSTERN_RELAY_GRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#define RELAY_ADDR_MAX 64   /* key: an IPv6 text (45) and "/128", NUL */
#define RELAY_LOGIN_MAX 256 /* login, NUL included */
#define RELAY_VIA_MAX 8     /* "pop3", "imap", NUL included */
/* The longest stored text: version, key, two int64, login and separators. */
#define RELAY_GRANT_TEXT_MAX (2 + RELAY_ADDR_MAX + 2 * 21 + RELAY_VIA_MAX + RELAY_LOGIN_MAX + 5)
/* How long an expired grant stays in a store to answer "expired at". */
#define RELAY_GRANT_KEEP (30 * 24 * 3600)

struct relay_grant {
	char addr[RELAY_ADDR_MAX];   /* the key, see above */
	char login[RELAY_LOGIN_MAX]; /* who opened it: a POP3 or IMAP login, or "manual" */
	char via[RELAY_VIA_MAX];     /* "pop3", "imap", or "" (unknown: manual, version 1) */
	int64_t granted;             /* unix seconds */
	int64_t expires;             /* unix seconds; live while now < expires */
};

/*
 * relay_grant_key - the key for a textual client address ip ("192.0.2.7",
 * "::ffff:192.0.2.7", "2001:db8::7", or a key itself: "2001:db8::/64",
 * "192.0.2.7/32" when the prefix is exactly the one that applies).
 * Returns 0, or -1 with *error_r static.
 */
int relay_grant_key(const char *ip, unsigned ipv6_prefix, char *key_r, size_t size,
		    const char **error_r);

/* relay_grant_key_sa - the key for a socket address (AF_INET or AF_INET6); -1 with *error_r. */
int relay_grant_key_sa(const struct sockaddr *sa, unsigned ipv6_prefix, char *key_r,
		       size_t size, const char **error_r);

/* relay_grant_login_ok - a login that can be stored: 1..255 bytes, no blanks or controls. */
bool relay_grant_login_ok(const char *login);

/* relay_grant_live - whether g allows relaying at now. */
bool relay_grant_live(const struct relay_grant *g, int64_t now);

/* relay_grant_format - the stored text of g into buf; its length, or -1 when g is invalid. */
int relay_grant_format(const struct relay_grant *g, char *buf, size_t size);

/* relay_grant_parse - stored text (len bytes, no NUL needed) to *g_r; -1 with *error_r static. */
int relay_grant_parse(const char *text, size_t len, struct relay_grant *g_r,
		      const char **error_r);

/* relay_time_format - unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
const char *relay_time_format(int64_t t, char *buf, size_t size);

#endif

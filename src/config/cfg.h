/*
 * cfg - the configuration of SPEC.md: an INI file ([section], key = value,
 * # comments) over an embedded default. Parsing is a pure function over a
 * buffer so that unit tests and a fuzzer can drive it; unknown sections and
 * keys are errors reported as "FILE:LINE: message".
 *
 * Syntax, decided here:
 * - A line is blank, a comment, "[section]" or "key = value". Whitespace
 *   around names and values is trimmed; CRLF line ends are accepted.
 * - Comments are whole lines whose first non-blank character is '#'. There
 *   are no trailing comments: in "key = a # b" the value is "a # b" (as in
 *   Postfix), so a value may contain '#'. A stray "# ..." after a typed
 *   value (duration, size, list of addresses...) is therefore an error.
 * - Section and key names are lower case and case-sensitive. A section may
 *   appear more than once; a key set twice keeps the last value. A list
 *   replaces its default, it does not append to it.
 * - Values: bool yes/no/true/false/on/off/1/0 (any case); duration NUMBER
 *   with s/m/h/d (bare: seconds); size NUMBER with k/m/g (1024-based, any
 *   case; bare: bytes). Overflow is an error.
 * - [routes] takes any domain as key: "example.org = [mx.example.net]:2525",
 *   "host:port", "[host]" or "host" (port 25).
 * - An empty value clears tls.cert, tls.key, delivery.relayhost,
 *   delivery.relayhost_auth, domains.recipient_delimiter (NULL) and lists;
 *   other strings must not be empty.
 * - auth.users_file, relay.store and dkim.keys_dir not set in the file
 *   follow the final server.data_dir; tls.key not set follows tls.cert (as
 *   in Postfix).
 */
#ifndef POSTERN_CFG_H
#define POSTERN_CFG_H

#include <stdbool.h>
#include <stddef.h>

/* A comma separated list, each item trimmed, empty items dropped. */
struct cfg_list {
	char **items;
	size_t n;
};

enum cfg_plaintext {
	CFG_PLAINTEXT_NO,
	CFG_PLAINTEXT_LOOPBACK,
	CFG_PLAINTEXT_YES,
};

/* One [routes] entry: mail for domain goes to host:port. */
struct cfg_route {
	char *domain; /* lower case */
	char *host;   /* without brackets */
	unsigned port;
};

struct cfg {
	/* [server] */
	char *hostname;
	char *data_dir;
	char *user;
	bool syslog;
	/* [domains] */
	struct cfg_list local_domains; /* lower case */
	char *recipient_delimiter;     /* "alice+tag@" reaches alice@; NULL (empty value): off */
	/* [smtp] */
	struct cfg_list smtp_listen;
	size_t max_message_size;  /* bytes */
	unsigned max_recipients;
	unsigned smtp_timeout;    /* seconds; key smtp.timeout, default 300 */
	unsigned smtp_max_errors; /* key smtp.max_errors, default 20 */
	/* [submission] */
	struct cfg_list submission_listen;
	struct cfg_list submission_listen_tls;
	/* [pop3] */
	struct cfg_list pop3_listen;
	struct cfg_list pop3_listen_tls;
	unsigned pop3_timeout; /* seconds; key pop3.timeout, default 10m */
	/* [imap] */
	struct cfg_list imap_listen;
	struct cfg_list imap_listen_tls;
	unsigned imap_timeout; /* seconds; key imap.timeout, default 30m (RFC 9051 5.4) */
	/* [auth] */
	char *users_file; /* default DATA_DIR/users */
	char *auth_store; /* "file" (users_file and aliases), or postgresql://... */
	enum cfg_plaintext allow_plaintext;
	unsigned auth_max_failures; /* key auth.max_failures, default 10 */
	unsigned auth_lockout;      /* seconds; key auth.lockout, default 15m */
	/* [relay] */
	struct cfg_list trusted_networks;
	bool pop_before_smtp;
	bool imap_before_smtp; /* key relay.imap_before_smtp: IMAP logins open grants too */
	unsigned relay_window; /* seconds */
	unsigned ipv6_prefix;
	char *relay_store;     /* default lmdb:DATA_DIR/grants */
	/* [tls] */
	char *tls_cert; /* NULL: self-signed, made on first start */
	char *tls_key;
	/* [delivery] */
	char *relayhost;      /* NULL when empty */
	char *relayhost_auth; /* NULL when empty */
	char *relayhost_tls_ca;    /* PEM CA file or pinned self-signed cert; NULL: system store */
	bool relayhost_tls_verify; /* check the relayhost's certificate and name; default yes */
	struct cfg_list dns_servers;
	unsigned max_queue_lifetime; /* seconds */
	/* [routes] */
	struct cfg_route *routes;
	size_t n_routes;
	/* [policy] */
	struct cfg_list policy_listen;
	/* [metrics] */
	struct cfg_list metrics_listen; /* HTTP /metrics listeners; empty: off */
	/* [dkim] */
	char *dkim_keys_dir; /* DOMAIN/SELECTOR.key private keys; default DATA_DIR/dkim */
	/* [inbound] */
	bool inbound_verify; /* SPF, DKIM and DMARC checks on port 25; default yes */
	bool dmarc_enforce;  /* key inbound.dmarc_enforce: p=reject refused, p=quarantine to Junk; default yes */
	/* private to src/config: which derived keys were set explicitly */
	unsigned explicit_keys;
};

/* cfg_init - fill cfg with the embedded default. */
void cfg_init(struct cfg *cfg);

/*
 * cfg_parse - apply the INI text to cfg (which holds defaults). filename is
 * used in error messages only. Returns 0, or -1 with *error_r set to a
 * malloc'd "FILE:LINE: message" that the caller frees. Keys derived from
 * data_dir (users_file, relay_store, dkim_keys_dir) are resolved at the
 * end. On error cfg may be partly changed but is always safe to cfg_free (a
 * reload parses into a fresh struct and keeps the old one when this fails).
 */
int cfg_parse(struct cfg *cfg, const char *text, size_t len, const char *filename, char **error_r);

/*
 * cfg_load - cfg_init, then cfg_parse of the file at path (NULL: defaults
 * only). Do not cfg_init first (it would leak). Errors: "FILE: cannot read:
 * strerror" or cfg_parse's; cfg must be cfg_free'd in either case.
 */
int cfg_load(struct cfg *cfg, const char *path, char **error_r);

/* cfg_free - release everything cfg owns; cfg may be reused after cfg_init. */
void cfg_free(struct cfg *cfg);

/* cfg_parse_duration - "90", "30s", "15m", "2h", "5d" to seconds; -1 on error. */
int cfg_parse_duration(const char *s, unsigned *seconds_r);

/* cfg_parse_size - "1000", "10k", "25m", "1g" to bytes; -1 on error. */
int cfg_parse_size(const char *s, size_t *bytes_r);

/* cfg_is_local_domain - case-insensitive match of domain (len bytes) against domains.local. */
bool cfg_is_local_domain(const struct cfg *cfg, const char *domain, size_t len);

/* cfg_route_find - the [routes] entry for domain (len bytes, any case), or NULL. */
const struct cfg_route *cfg_route_find(const struct cfg *cfg, const char *domain, size_t len);

#endif

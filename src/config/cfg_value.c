/*
 * cfg_value - the key table of SPEC.md ({section, key, type, offset, min,
 * max}, as in Postfix's mail_params tables) and the value types it uses.
 * Adding a key is adding a row; nothing else dispatches on key names.
 */
#include "config/cfg_private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

#define CFG_DOMAIN_MAX 253
#define CFG_ROUTE_PORT 25

enum cfg_type {
	CFG_T_STRING,   /* char *, must not be empty */
	CFG_T_OPTSTR,   /* char *, empty value stores NULL */
	CFG_T_BOOL,     /* bool */
	CFG_T_LIST,     /* struct cfg_list, every item checked */
	CFG_T_UINT,     /* unsigned within [min, max] */
	CFG_T_DURATION, /* unsigned seconds within [min, max] */
	CFG_T_SIZE,     /* size_t bytes within [min, max] */
	CFG_T_ENUM,     /* an enum: index into names */
	CFG_T_COUNT
};

/* A check (and normalisation, in place) of one string or list item. */
struct cfg_check {
	const char *what; /* "listen address": for "bad listen address 'x'" */
	bool (*fix)(char *s);
};

struct cfg_key {
	const char *section;
	const char *key;
	enum cfg_type type;
	size_t offset;                 /* of the field in struct cfg */
	unsigned long long min, max;   /* UINT, DURATION, SIZE */
	const struct cfg_check *check; /* STRING, OPTSTR, LIST; NULL: any */
	const char *const *names;      /* ENUM, NULL terminated */
	const char *hint;              /* appended to a "bad value" message */
	unsigned set_bit;              /* CFG_SET_*: derived keys set explicitly */
};

typedef int cfg_apply_fn(const struct cfg_key *k, void *field, const char *value, char **msg_r);

/* cfg_is_blank - whitespace of a configuration line. */
static bool cfg_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n';
}

/* cfg_trimdup - copy of s[0..n) without surrounding whitespace. */
static char *cfg_trimdup(const char *s, size_t n)
{
	while (n > 0 && cfg_is_blank(*s)) {
		s++;
		n--;
	}
	while (n > 0 && cfg_is_blank(s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* cfg_parse_ull - decimal digits s[0..n) to *v_r; no sign, no overflow past max. */
static int cfg_parse_ull(const char *s, size_t n, unsigned long long max, unsigned long long *v_r)
{
	unsigned long long v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*v_r = v;
	return 0;
}

/* cfg_parse_scaled - NUMBER with an optional unit letter (any case) from units. */
static int cfg_parse_scaled(const char *s, const char *units, const unsigned long long *mult,
			    unsigned long long max, unsigned long long *v_r)
{
	size_t n = strlen(s);
	unsigned long long m = 1, v;

	if (n > 0 && !isdigit((unsigned char)s[n - 1])) {
		const char *u = strchr(units, tolower((unsigned char)s[n - 1]));
		if (u == NULL)
			return -1;
		m = mult[u - units];
		n--;
	}
	if (cfg_parse_ull(s, n, max, &v) < 0 || v > max / m)
		return -1;
	*v_r = v * m;
	return 0;
}

/* cfg_parse_duration - "90", "30s", "15m", "2h", "5d" to seconds. */
int cfg_parse_duration(const char *s, unsigned *seconds_r)
{
	static const unsigned long long mult[] = {1, 60, 3600, 86400};
	unsigned long long v;

	if (cfg_parse_scaled(s, "smhd", mult, UINT_MAX, &v) < 0)
		return -1;
	*seconds_r = (unsigned)v;
	return 0;
}

/* cfg_parse_size - "1000", "10k", "25m", "1g" (1024-based) to bytes. */
int cfg_parse_size(const char *s, size_t *bytes_r)
{
	static const unsigned long long mult[] = {1ull << 10, 1ull << 20, 1ull << 30};
	unsigned long long v;

	if (cfg_parse_scaled(s, "kmg", mult, SIZE_MAX, &v) < 0)
		return -1;
	*bytes_r = (size_t)v;
	return 0;
}

/* cfg_host_ok - a host name or address: not empty, no blanks or separators. */
static bool cfg_host_ok(const char *host, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)host[i];
		if (c <= 0x20 || c >= 0x7f || strchr("[]/,@", c) != NULL)
			return false;
	}
	return true;
}

/* cfg_is_ipv6 - whether s[0..n) is an IPv6 address literal. */
static bool cfg_is_ipv6(const char *s, size_t n)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];

	if (n >= sizeof(addr))
		return false;
	memcpy(addr, s, n);
	addr[n] = '\0';
	return inet_pton(AF_INET6, addr, bin) == 1;
}

/* cfg_hostport - split "[host]:port", "host:port", "[host]", "host" or a bare IPv6 address. */
static int cfg_hostport(const char *s, const char **host_r, size_t *hostlen_r, unsigned *port_r)
{
	const char *host = s, *end, *rest, *colon = strchr(s, ':');
	unsigned long long port = 0;

	if (*s == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL)
			return -1;
		rest = end + 1;
	} else if (colon == NULL || strchr(colon + 1, ':') == NULL) {
		end = rest = colon != NULL ? colon : s + strlen(s);
	} else {
		end = rest = s + strlen(s); /* two colons or more: a bare IPv6 address, no port */
		if (!cfg_is_ipv6(s, (size_t)(end - s)))
			return -1;
	}
	if (!cfg_host_ok(host, (size_t)(end - host)))
		return -1;
	if (*rest == ':' && (cfg_parse_ull(rest + 1, strlen(rest + 1), 65535, &port) < 0 || port == 0))
		return -1;
	if (*rest != ':' && *rest != '\0')
		return -1;
	*host_r = host;
	*hostlen_r = (size_t)(end - host);
	*port_r = (unsigned)port;
	return 0;
}

/* cfg_fix_listen - "host:port" or "[v6]:port" with port 1..65535. */
static bool cfg_fix_listen(char *s)
{
	const char *host;
	size_t n;
	unsigned port;

	return cfg_hostport(s, &host, &n, &port) == 0 && port != 0;
}

/* cfg_fix_hostport - like cfg_fix_listen, the port optional. */
static bool cfg_fix_hostport(char *s)
{
	const char *host;
	size_t n;
	unsigned port;

	return cfg_hostport(s, &host, &n, &port) == 0;
}

/* cfg_fix_domain - a DNS domain name, lowercased in place. */
static bool cfg_fix_domain(char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CFG_DOMAIN_MAX || s[0] == '.' || strstr(s, "..") != NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return false;
		s[i] = (char)tolower(c);
	}
	return true;
}

/* cfg_fix_cidr - "addr" or "addr/prefix", IPv4 or IPv6. */
static bool cfg_fix_cidr(char *s)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long long max, prefix;

	if (n == 0 || n >= sizeof(addr))
		return false;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		max = 128;
	else
		return false;
	return slash == NULL || cfg_parse_ull(slash + 1, strlen(slash + 1), max, &prefix) == 0;
}

/* cfg_fix_store - "lmdb:PATH" or "redis://HOST:PORT/DB". */
static bool cfg_fix_store(char *s)
{
	if (strncmp(s, "lmdb:", 5) == 0)
		return s[5] != '\0';
	return strncmp(s, "redis://", 8) == 0 && s[8] != '\0';
}

/* cfg_fix_auth_store - "file" or a PostgreSQL URL (its details are checked at start: auth/pg_url.h). */
static bool cfg_fix_auth_store(char *s)
{
	if (strcmp(s, "file") == 0)
		return true;
	return (strncmp(s, "postgresql://", 13) == 0 && s[13] != '\0') ||
	       (strncmp(s, "postgres://", 11) == 0 && s[11] != '\0');
}

/* cfg_fix_word - a name without blanks or control bytes, at most a DNS name long (host, user). */
static bool cfg_fix_word(char *s)
{
	size_t len = 0;

	for (; *s != '\0'; s++, len++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return len <= 253;
}

/* cfg_fix_delimiter - up to 8 punctuation characters that may stand in a local part ("+", "+-"). */
static bool cfg_fix_delimiter(char *s)
{
	size_t len = strlen(s);

	for (const char *p = s; *p != '\0'; p++)
		if (!ispunct((unsigned char)*p) || strchr("@\"\\<>(),;:[]", *p) != NULL)
			return false;
	return len <= 8;
}

static const struct cfg_check cfg_chk_listen = {"listen address", cfg_fix_listen};
static const struct cfg_check cfg_chk_resolver = {"resolver address", cfg_fix_hostport};
static const struct cfg_check cfg_chk_relayhost = {"relayhost", cfg_fix_hostport};
static const struct cfg_check cfg_chk_domain = {"domain", cfg_fix_domain};
static const struct cfg_check cfg_chk_delimiter = {"recipient delimiter", cfg_fix_delimiter};
static const struct cfg_check cfg_chk_cidr = {"network", cfg_fix_cidr};
static const struct cfg_check cfg_chk_store = {"store", cfg_fix_store};
static const struct cfg_check cfg_chk_auth_store = {"store", cfg_fix_auth_store};
static const struct cfg_check cfg_chk_word = {"name", cfg_fix_word};

static const char *const cfg_plaintext_names[] = {"no", "loopback", "yes", NULL};
_Static_assert(sizeof(enum cfg_plaintext) == sizeof(unsigned), "enum fields are stored as unsigned");

#define CFG_OFF(f) offsetof(struct cfg, f)
#define CFG_STR(s, k, f, chk) {.section = s, .key = k, .type = CFG_T_STRING, .offset = CFG_OFF(f), .check = chk}
#define CFG_OPT(s, k, f, chk) {.section = s, .key = k, .type = CFG_T_OPTSTR, .offset = CFG_OFF(f), .check = chk}
#define CFG_LIST(s, k, f, chk) {.section = s, .key = k, .type = CFG_T_LIST, .offset = CFG_OFF(f), .check = chk}
#define CFG_BOOL(s, k, f) {.section = s, .key = k, .type = CFG_T_BOOL, .offset = CFG_OFF(f)}
#define CFG_NUM(s, k, t, f, lo, hi) {.section = s, .key = k, .type = t, .offset = CFG_OFF(f), .min = lo, .max = hi}

/* The keys of SPEC.md "Configuration file"; [routes] is handled apart. */
static const struct cfg_key cfg_keys[] = {
	CFG_STR("server", "hostname", hostname, &cfg_chk_word),
	CFG_STR("server", "data_dir", data_dir, NULL),
	CFG_STR("server", "user", user, &cfg_chk_word),
	CFG_BOOL("server", "syslog", syslog),
	CFG_LIST("domains", "local", local_domains, &cfg_chk_domain),
	CFG_OPT("domains", "recipient_delimiter", recipient_delimiter, &cfg_chk_delimiter),
	CFG_LIST("smtp", "listen", smtp_listen, &cfg_chk_listen),
	CFG_NUM("smtp", "max_message_size", CFG_T_SIZE, max_message_size, 1, SIZE_MAX),
	CFG_NUM("smtp", "max_recipients", CFG_T_UINT, max_recipients, 1, UINT_MAX),
	CFG_NUM("smtp", "timeout", CFG_T_DURATION, smtp_timeout, 1, UINT_MAX),
	CFG_NUM("smtp", "max_errors", CFG_T_UINT, smtp_max_errors, 1, UINT_MAX),
	CFG_LIST("submission", "listen", submission_listen, &cfg_chk_listen),
	CFG_LIST("submission", "listen_tls", submission_listen_tls, &cfg_chk_listen),
	CFG_LIST("pop3", "listen", pop3_listen, &cfg_chk_listen),
	CFG_LIST("pop3", "listen_tls", pop3_listen_tls, &cfg_chk_listen),
	CFG_NUM("pop3", "timeout", CFG_T_DURATION, pop3_timeout, 1, UINT_MAX),
	CFG_LIST("imap", "listen", imap_listen, &cfg_chk_listen),
	CFG_LIST("imap", "listen_tls", imap_listen_tls, &cfg_chk_listen),
	CFG_NUM("imap", "timeout", CFG_T_DURATION, imap_timeout, 1, UINT_MAX),
	{.section = "auth", .key = "users_file", .type = CFG_T_STRING, .offset = CFG_OFF(users_file),
	 .set_bit = CFG_SET_USERS_FILE},
	{.section = "auth", .key = "store", .type = CFG_T_STRING, .offset = CFG_OFF(auth_store),
	 .check = &cfg_chk_auth_store, .hint = " (file or postgresql://USER@HOST:PORT/DB)"},
	{.section = "auth", .key = "allow_plaintext", .type = CFG_T_ENUM, .offset = CFG_OFF(allow_plaintext),
	 .names = cfg_plaintext_names, .hint = " (no, loopback or yes)"},
	CFG_NUM("auth", "max_failures", CFG_T_UINT, auth_max_failures, 1, 64),
	CFG_NUM("auth", "lockout", CFG_T_DURATION, auth_lockout, 1, UINT_MAX),
	CFG_LIST("relay", "trusted_networks", trusted_networks, &cfg_chk_cidr),
	CFG_BOOL("relay", "pop_before_smtp", pop_before_smtp),
	CFG_BOOL("relay", "imap_before_smtp", imap_before_smtp),
	CFG_NUM("relay", "window", CFG_T_DURATION, relay_window, 1, UINT_MAX),
	CFG_NUM("relay", "ipv6_prefix", CFG_T_UINT, ipv6_prefix, 0, 128),
	{.section = "relay", .key = "store", .type = CFG_T_STRING, .offset = CFG_OFF(relay_store),
	 .check = &cfg_chk_store, .hint = " (lmdb:PATH or redis://HOST:PORT/DB)", .set_bit = CFG_SET_RELAY_STORE},
	CFG_OPT("tls", "cert", tls_cert, NULL),
	{.section = "tls", .key = "key", .type = CFG_T_OPTSTR, .offset = CFG_OFF(tls_key),
	 .set_bit = CFG_SET_TLS_KEY},
	CFG_OPT("delivery", "relayhost", relayhost, &cfg_chk_relayhost),
	CFG_OPT("delivery", "relayhost_auth", relayhost_auth, NULL),
	CFG_OPT("delivery", "relayhost_tls_ca", relayhost_tls_ca, NULL),
	CFG_BOOL("delivery", "relayhost_tls_verify", relayhost_tls_verify),
	CFG_LIST("dns", "servers", dns_servers, &cfg_chk_resolver),
	CFG_LIST("delivery", "dns_servers", dns_servers, &cfg_chk_resolver),
	CFG_NUM("delivery", "max_queue_lifetime", CFG_T_DURATION, max_queue_lifetime, 1, UINT_MAX),
	CFG_LIST("policy", "listen", policy_listen, &cfg_chk_listen),
	CFG_LIST("metrics", "listen", metrics_listen, &cfg_chk_listen),
	{.section = "dkim", .key = "keys_dir", .type = CFG_T_STRING, .offset = CFG_OFF(dkim_keys_dir),
	 .set_bit = CFG_SET_DKIM_KEYS_DIR},
	CFG_BOOL("inbound", "verify", inbound_verify),
	CFG_BOOL("inbound", "dmarc_enforce", dmarc_enforce),
};

#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* cfg_key_find - the table row of [section] key, or NULL. */
static const struct cfg_key *cfg_key_find(const char *section, const char *key)
{
	for (size_t i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].key, key) == 0)
			return &cfg_keys[i];
	return NULL;
}

/* cfg_section_known - whether [name] is a section of the table (or routes). */
bool cfg_section_known(const char *name)
{
	if (strcmp(name, "routes") == 0)
		return true;
	for (size_t i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].section, name) == 0)
			return true;
	return false;
}

/* cfg_bad - "bad WHAT 'value' for section.key" plus the row's hint. */
static char *cfg_bad(const struct cfg_key *k, const char *what, const char *value)
{
	char esc[CFG_ESC_MAX];

	return xasprintf("bad %s '%s' for %s.%s%s", what, cfg_escape(value, esc, sizeof(esc)),
			 k->section, k->key, k->hint != NULL ? k->hint : "");
}

/* cfg_apply_string - STRING and OPTSTR: replace the old value, checked. */
static int cfg_apply_string(const struct cfg_key *k, void *field, const char *value, char **msg_r)
{
	char **slot = field;
	char *copy = NULL;

	if (*value == '\0' && k->type == CFG_T_STRING) {
		*msg_r = xasprintf("empty value for %s.%s", k->section, k->key);
		return -1;
	}
	if (*value != '\0') {
		copy = xstrdup(value);
		if (k->check != NULL && !k->check->fix(copy)) {
			free(copy);
			*msg_r = cfg_bad(k, k->check->what, value);
			return -1;
		}
	}
	free(*slot);
	*slot = copy;
	return 0;
}

/* cfg_apply_bool - yes/no/true/false/on/off/1/0, any case. */
static int cfg_apply_bool(const struct cfg_key *k, void *field, const char *value, char **msg_r)
{
	static const char *const names[] = {"no", "yes", "false", "true", "off", "on", "0", "1"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(value, names[i]) == 0) {
			*(bool *)field = (i % 2) == 1;
			return 0;
		}
	}
	*msg_r = cfg_bad(k, "boolean", value);
	return -1;
}

/* cfg_apply_list - a comma separated list replacing the old one; items trimmed and checked. */
static int cfg_apply_list(const struct cfg_key *k, void *field, const char *value, char **msg_r)
{
	struct cfg_list fresh = {NULL, 0};
	const char *p = value;

	for (;;) {
		const char *comma = strchr(p, ',');
		char *item = cfg_trimdup(p, comma != NULL ? (size_t)(comma - p) : strlen(p));
		if (*item != '\0' && k->check != NULL && !k->check->fix(item)) {
			*msg_r = cfg_bad(k, k->check->what, item);
			free(item);
			cfg_list_free(&fresh);
			return -1;
		}
		if (*item != '\0')
			cfg_list_add(&fresh, item);
		free(item);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	cfg_list_free(field);
	*(struct cfg_list *)field = fresh;
	return 0;
}

/* cfg_store_ranged - check v against the row's range and store it. */
static int cfg_store_ranged(const struct cfg_key *k, void *field, unsigned long long v, const char *value,
			    char **msg_r)
{
	char esc[CFG_ESC_MAX];

	if (v < k->min || v > k->max) {
		*msg_r = xasprintf("%s.%s: '%s' out of range (%llu..%llu%s)", k->section, k->key,
				   cfg_escape(value, esc, sizeof(esc)), k->min, k->max,
				   k->type == CFG_T_DURATION ? " seconds" : k->type == CFG_T_SIZE ? " bytes" : "");
		return -1;
	}
	if (k->type == CFG_T_SIZE)
		*(size_t *)field = (size_t)v;
	else
		*(unsigned *)field = (unsigned)v;
	return 0;
}

/* cfg_apply_number - UINT, DURATION and SIZE. */
static int cfg_apply_number(const struct cfg_key *k, void *field, const char *value, char **msg_r)
{
	unsigned long long v = 0;
	unsigned u = 0;
	size_t z = 0;
	int r;

	if (k->type == CFG_T_DURATION) {
		r = cfg_parse_duration(value, &u);
		v = u;
	} else if (k->type == CFG_T_SIZE) {
		r = cfg_parse_size(value, &z);
		v = z;
	} else {
		r = cfg_parse_ull(value, strlen(value), UINT_MAX, &v);
	}
	if (r < 0) {
		*msg_r = cfg_bad(k, k->type == CFG_T_DURATION ? "duration" : k->type == CFG_T_SIZE ? "size" : "number",
				 value);
		return -1;
	}
	return cfg_store_ranged(k, field, v, value, msg_r);
}

/* cfg_apply_enum - one of the row's names, any case. */
static int cfg_apply_enum(const struct cfg_key *k, void *field, const char *value, char **msg_r)
{
	for (unsigned i = 0; k->names[i] != NULL; i++) {
		if (strcasecmp(value, k->names[i]) == 0) {
			memcpy(field, &i, sizeof(i));
			return 0;
		}
	}
	*msg_r = cfg_bad(k, "value", value);
	return -1;
}

static cfg_apply_fn *const cfg_apply_by_type[CFG_T_COUNT] = {
	[CFG_T_STRING] = cfg_apply_string,   [CFG_T_OPTSTR] = cfg_apply_string,
	[CFG_T_BOOL] = cfg_apply_bool,       [CFG_T_LIST] = cfg_apply_list,
	[CFG_T_UINT] = cfg_apply_number,     [CFG_T_DURATION] = cfg_apply_number,
	[CFG_T_SIZE] = cfg_apply_number,     [CFG_T_ENUM] = cfg_apply_enum,
};

/* cfg_route_set - add or replace the route of a (lower case) domain. */
static void cfg_route_set(struct cfg *cfg, char *domain, const char *host, size_t hostlen, unsigned port)
{
	struct cfg_route *r = NULL;

	for (size_t i = 0; i < cfg->n_routes && r == NULL; i++)
		if (strcmp(cfg->routes[i].domain, domain) == 0)
			r = &cfg->routes[i];
	if (r != NULL) {
		free(domain);
		free(r->host);
	} else {
		cfg->routes = xrealloc(cfg->routes, (cfg->n_routes + 1) * sizeof(*cfg->routes));
		r = &cfg->routes[cfg->n_routes++];
		r->domain = domain;
	}
	r->host = xstrndup(host, hostlen);
	r->port = port != 0 ? port : CFG_ROUTE_PORT;
}

/* cfg_route_apply - [routes] DOMAIN = [host]:port. */
static int cfg_route_apply(struct cfg *cfg, const char *key, const char *value, char **msg_r)
{
	char esc[CFG_ESC_MAX], esc2[CFG_ESC_MAX];
	char *domain = xstrdup(key);
	const char *host;
	size_t hostlen;
	unsigned port;

	if (!cfg_fix_domain(domain)) {
		*msg_r = xasprintf("bad domain '%s' in [routes]", cfg_escape(key, esc, sizeof(esc)));
		free(domain);
		return -1;
	}
	if (cfg_hostport(value, &host, &hostlen, &port) < 0) {
		*msg_r = xasprintf("bad route '%s' for %s in [routes] (expected [host]:port)",
				   cfg_escape(value, esc, sizeof(esc)), cfg_escape(domain, esc2, sizeof(esc2)));
		free(domain);
		return -1;
	}
	cfg_route_set(cfg, domain, host, hostlen, port);
	return 0;
}

/* cfg_key_apply - set [section] key = value; 0, or -1 with *msg_r (no FILE:LINE prefix). */
int cfg_key_apply(struct cfg *cfg, const char *section, const char *key, const char *value, char **msg_r)
{
	char esc[CFG_ESC_MAX];
	const struct cfg_key *k;

	if (strcmp(section, "routes") == 0)
		return cfg_route_apply(cfg, key, value, msg_r);
	if ((k = cfg_key_find(section, key)) == NULL) {
		*msg_r = xasprintf("unknown key '%s' in [%s]", cfg_escape(key, esc, sizeof(esc)), section);
		return -1;
	}
	if (cfg_apply_by_type[k->type](k, (char *)cfg + k->offset, value, msg_r) < 0)
		return -1;
	cfg->explicit_keys |= k->set_bit;
	return 0;
}

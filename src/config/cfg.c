/*
 * cfg - the embedded default, the INI line parser and the file loader. The
 * keys and their value types live in cfg_value.c.
 */
#include "config/cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_private.h"
#include "util/log.h"
#include "util/xalloc.h"

#define CFG_FILE_MAX (16u << 20) /* a larger configuration file is a mistake */

/* State of one cfg_parse run. */
struct cfg_parser {
	struct cfg *cfg;
	const char *filename;
	size_t lineno;
	char *section; /* NULL before the first [section] */
};

/* cfg_escape - a printable, truncated copy of s for an error message. */
const char *cfg_escape(const char *s, char *buf, size_t buflen)
{
	return log_escape(s, strlen(s), buf, buflen);
}

/* cfg_list_add - append a copy of item. */
void cfg_list_add(struct cfg_list *list, const char *item)
{
	/* grow to the next power of two, so that long lists stay linear */
	if ((list->n & (list->n - 1)) == 0)
		list->items = xrealloc(list->items, (list->n ? 2 * list->n : 1) * sizeof(*list->items));
	list->items[list->n++] = xstrdup(item);
}

/* cfg_list_free - free the items of a list and empty it. */
void cfg_list_free(struct cfg_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

/* cfg_in_data_dir - "PREFIX" DATA_DIR "/" name, without doubling a trailing slash. */
static char *cfg_in_data_dir(const char *prefix, const char *data_dir, const char *name)
{
	size_t n = strlen(data_dir);

	while (n > 1 && data_dir[n - 1] == '/')
		n--;
	if (n == 1 && data_dir[0] == '/')
		return xasprintf("%s/%s", prefix, name);
	return xasprintf("%s%.*s/%s", prefix, (int)n, data_dir, name);
}

/* cfg_replace - free *slot and store value (owned) in it. */
static void cfg_replace(char **slot, char *value)
{
	free(*slot);
	*slot = value;
}

/* cfg_derive - resolve the keys that follow others unless set explicitly. */
static void cfg_derive(struct cfg *cfg)
{
	if (!(cfg->explicit_keys & CFG_SET_USERS_FILE))
		cfg_replace(&cfg->users_file, cfg_in_data_dir("", cfg->data_dir, "users"));
	if (!(cfg->explicit_keys & CFG_SET_RELAY_STORE))
		cfg_replace(&cfg->relay_store, cfg_in_data_dir("lmdb:", cfg->data_dir, "grants"));
	if (!(cfg->explicit_keys & CFG_SET_DKIM_KEYS_DIR))
		cfg_replace(&cfg->dkim_keys_dir, cfg_in_data_dir("", cfg->data_dir, "dkim"));
	if (!(cfg->explicit_keys & CFG_SET_TLS_KEY))
		cfg_replace(&cfg->tls_key, cfg->tls_cert != NULL ? xstrdup(cfg->tls_cert) : NULL);
}

/* cfg_init - fill cfg with the embedded default. */
void cfg_init(struct cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->hostname = xstrdup("localhost");
	cfg->data_dir = xstrdup("./var");
	cfg->user = xstrdup("postern");
	cfg->syslog = false;
	cfg_list_add(&cfg->local_domains, "example.test");
	cfg->recipient_delimiter = xstrdup("+");
	cfg->auth_store = xstrdup("file");
	cfg_list_add(&cfg->smtp_listen, "127.0.0.1:2525");
	cfg->max_message_size = (size_t)25 << 20;
	cfg->max_recipients = 100;
	cfg->smtp_timeout = 300;
	cfg->smtp_max_errors = 20;
	cfg_list_add(&cfg->submission_listen, "127.0.0.1:5587");
	cfg_list_add(&cfg->submission_listen_tls, "127.0.0.1:4465");
	cfg_list_add(&cfg->pop3_listen, "127.0.0.1:1110");
	cfg_list_add(&cfg->pop3_listen_tls, "127.0.0.1:9995");
	cfg->allow_plaintext = CFG_PLAINTEXT_LOOPBACK;
	cfg->auth_max_failures = 10;
	cfg->auth_lockout = 15 * 60;
	cfg->pop3_timeout = 10 * 60;
	cfg_list_add(&cfg->imap_listen, "127.0.0.1:1143");
	cfg_list_add(&cfg->imap_listen_tls, "127.0.0.1:9993");
	cfg->imap_timeout = 30 * 60;
	cfg->imap_before_smtp = true;
	cfg->pop_before_smtp = true;
	cfg->relay_window = 15 * 60;
	cfg->ipv6_prefix = 128;
	cfg->max_queue_lifetime = 5 * 86400;
	cfg->relayhost_tls_verify = true;
	cfg->inbound_verify = true;
	cfg->dmarc_enforce = true;
	cfg_derive(cfg);
}

/* cfg_free - release everything cfg owns; cfg may be reused after cfg_init. */
void cfg_free(struct cfg *cfg)
{
	char **strings[] = {&cfg->hostname,   &cfg->data_dir, &cfg->user,      &cfg->users_file, &cfg->auth_store,
			    &cfg->relay_store, &cfg->tls_cert, &cfg->tls_key,   &cfg->relayhost,
			    &cfg->relayhost_auth, &cfg->relayhost_tls_ca,
			    &cfg->recipient_delimiter, &cfg->dkim_keys_dir};
	struct cfg_list *lists[] = {&cfg->local_domains,	 &cfg->smtp_listen,	&cfg->submission_listen,
				    &cfg->submission_listen_tls, &cfg->pop3_listen,	&cfg->pop3_listen_tls,
				    &cfg->imap_listen,		 &cfg->imap_listen_tls,
				    &cfg->trusted_networks,	 &cfg->dns_servers,	&cfg->policy_listen,
				    &cfg->metrics_listen};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(*strings[i]);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		cfg_list_free(lists[i]);
	for (size_t i = 0; i < cfg->n_routes; i++) {
		free(cfg->routes[i].domain);
		free(cfg->routes[i].host);
	}
	free(cfg->routes);
	memset(cfg, 0, sizeof(*cfg));
}

/* cfg_fail - set *error_r to "FILE:LINE: msg"; takes msg; returns -1. */
static int cfg_fail(const struct cfg_parser *p, char *msg, char **error_r)
{
	*error_r = xasprintf("%s:%zu: %s", p->filename, p->lineno, msg);
	free(msg);
	return -1;
}

/* cfg_trim - strip surrounding blanks of s in place. */
static char *cfg_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')
		s++;
	n = strlen(s);
	while (n > 0 && strchr(" \t\r\v\f", s[n - 1]) != NULL)
		s[--n] = '\0';
	return s;
}

/* cfg_parse_section - a "[name]" line: switch to a known section. */
static int cfg_parse_section(struct cfg_parser *p, char *line, char **error_r)
{
	char esc[CFG_ESC_MAX];
	size_t n = strlen(line);
	char *name;

	if (line[n - 1] != ']')
		return cfg_fail(p, xasprintf("bad section header '%s'", cfg_escape(line, esc, sizeof(esc))),
				error_r);
	line[n - 1] = '\0';
	name = cfg_trim(line + 1);
	if (!cfg_section_known(name))
		return cfg_fail(p, xasprintf("unknown section [%s]", cfg_escape(name, esc, sizeof(esc))), error_r);
	free(p->section);
	p->section = xstrdup(name);
	return 0;
}

/* cfg_parse_assign - a "key = value" line inside a section. */
static int cfg_parse_assign(struct cfg_parser *p, char *line, char **error_r)
{
	char esc[CFG_ESC_MAX];
	char *eq = strchr(line, '='), *key, *value, *msg;

	if (eq == NULL)
		return cfg_fail(p, xasprintf("expected '[section]', 'key = value' or '# comment', not '%s'",
					     cfg_escape(line, esc, sizeof(esc))),
				error_r);
	*eq = '\0';
	key = cfg_trim(line);
	value = cfg_trim(eq + 1);
	if (*key == '\0')
		return cfg_fail(p, xstrdup("missing key before '='"), error_r);
	if (p->section == NULL)
		return cfg_fail(p, xasprintf("key '%s' outside any [section]", cfg_escape(key, esc, sizeof(esc))),
				error_r);
	if (cfg_key_apply(p->cfg, p->section, key, value, &msg) < 0)
		return cfg_fail(p, msg, error_r);
	return 0;
}

/* cfg_parse_line - one line (len bytes, no newline): blank, comment, section or key. */
static int cfg_parse_line(struct cfg_parser *p, const char *s, size_t len, char **error_r)
{
	char *copy, *line;
	int r = 0;

	if (memchr(s, '\0', len) != NULL)
		return cfg_fail(p, xstrdup("NUL byte in line"), error_r);
	copy = xstrndup(s, len);
	line = cfg_trim(copy);
	if (*line == '[')
		r = cfg_parse_section(p, line, error_r);
	else if (*line != '\0' && *line != '#')
		r = cfg_parse_assign(p, line, error_r);
	free(copy);
	return r;
}

/* cfg_parse - apply the INI text to cfg; "FILE:LINE: message" on error. */
int cfg_parse(struct cfg *cfg, const char *text, size_t len, const char *filename, char **error_r)
{
	struct cfg_parser p = {.cfg = cfg, .filename = filename != NULL ? filename : "-"};
	size_t off = 0;
	int r = 0;

	*error_r = NULL;
	while (r == 0 && off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		p.lineno++;
		r = cfg_parse_line(&p, text + off, n, error_r);
		off += n + 1;
	}
	free(p.section);
	if (r == 0)
		cfg_derive(cfg);
	return r;
}

/* cfg_read_file - the whole file at path in a new buffer. */
static int cfg_read_file(const char *path, char **text_r, size_t *len_r, char **error_r)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		*error_r = xasprintf("%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap)
			buf = xrealloc(buf, cap = cap ? 2 * cap : 8192);
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0 && len <= CFG_FILE_MAX);
	if (ferror(f) || len > CFG_FILE_MAX) {
		*error_r = xasprintf("%s: cannot read: %s", path, ferror(f) ? strerror(errno) : "file too large");
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	*text_r = buf;
	*len_r = len;
	return 0;
}

/* cfg_load - cfg_init, then cfg_parse of the file at path (NULL: defaults only). */
int cfg_load(struct cfg *cfg, const char *path, char **error_r)
{
	char *text;
	size_t len;
	int r;

	*error_r = NULL;
	cfg_init(cfg);
	if (path == NULL)
		return 0;
	if (cfg_read_file(path, &text, &len, error_r) < 0)
		return -1;
	r = cfg_parse(cfg, text, len, path, error_r);
	free(text);
	return r;
}

/* cfg_is_local_domain - case-insensitive match of domain (len bytes) against domains.local. */
bool cfg_is_local_domain(const struct cfg *cfg, const char *domain, size_t len)
{
	for (size_t i = 0; i < cfg->local_domains.n; i++) {
		const char *d = cfg->local_domains.items[i];
		if (strlen(d) == len && strncasecmp(d, domain, len) == 0)
			return true;
	}
	return false;
}

/* cfg_route_find - the [routes] entry for domain (len bytes, any case), or NULL. */
const struct cfg_route *cfg_route_find(const struct cfg *cfg, const char *domain, size_t len)
{
	for (size_t i = 0; i < cfg->n_routes; i++) {
		const struct cfg_route *r = &cfg->routes[i];
		if (strlen(r->domain) == len && strncasecmp(r->domain, domain, len) == 0)
			return r;
	}
	return NULL;
}

/* pg_url - the PostgreSQL URL of auth.store: parse, check, redact, scrub (pure). */
#include "auth/pg_url.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "util/hex.h"

/* The query keys postern passes on to libpq (libpq 15's connection parameters, less the URL's own). */
static const char *const pg_url_keys[] = {
	"hostaddr", "password", "passfile", "channel_binding", "connect_timeout",
	"client_encoding", "options", "application_name", "fallback_application_name",
	"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
	"tcp_user_timeout", "sslmode", "sslcompression", "sslcert", "sslkey", "sslpassword",
	"sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer", "ssl_min_protocol_version",
	"ssl_max_protocol_version", "gssencmode", "krbsrvname", "gsslib", "target_session_attrs",
	"service",
};
#define PG_URL_NKEYS (sizeof(pg_url_keys) / sizeof(pg_url_keys[0]))

/* A bounded output buffer: what does not fit is dropped, buf stays NUL-terminated. */
struct pg_url_out {
	char *buf;
	size_t size, len;
};

/* pg_url_fail - set *error_r, return -1. */
static int pg_url_fail(const char **error_r, const char *error)
{
	*error_r = error;
	return -1;
}

/* pg_url_span_of - the span [b, e). */
static struct pg_url_span pg_url_span_of(size_t b, size_t e)
{
	struct pg_url_span s = { b, e - b };
	return s;
}

/* pg_url_find - the first c in url[b, e), or e. */
static size_t pg_url_find(const char *url, size_t b, size_t e, char c)
{
	const char *p = memchr(url + b, c, e - b);
	return p != NULL ? (size_t)(p - url) : e;
}

/* pg_url_decode_into - decode span into buf (may be NULL: count only); -1 bad escape, -2 too long. */
static int pg_url_decode_into(const char *url, struct pg_url_span s, char *buf, size_t size)
{
	size_t n = 0;

	for (size_t i = s.off; i < s.off + s.len; i++, n++) {
		char c = url[i];
		if (c == '%') {
			int hi = i + 2 < s.off + s.len ? hex_digit(url[i + 1]) : -1;
			int lo = hi >= 0 ? hex_digit(url[i + 2]) : -1;
			if (lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (buf != NULL) {
			if (n + 1 >= size)
				return -2;
			buf[n] = c;
		}
	}
	if (buf != NULL)
		buf[n] = '\0';
	return (int)n;
}

int pg_url_decode(const char *url, struct pg_url_span span, char *buf, size_t size)
{
	int n = pg_url_decode_into(url, span, buf, size);
	return n < 0 ? -1 : n;
}

/* pg_url_text_ok - span has only bytes outside bad and good percent escapes. */
static bool pg_url_text_ok(const char *url, struct pg_url_span s, const char *bad)
{
	for (size_t i = s.off; i < s.off + s.len; i++)
		if (strchr(bad, url[i]) != NULL)
			return false;
	return pg_url_decode_into(url, s, NULL, 0) >= 0;
}

/* pg_url_userinfo - USER[:PASSWORD] in url[b, e). */
static int pg_url_userinfo(const char *url, size_t b, size_t e, struct pg_url *r,
			   const char **error_r)
{
	size_t colon = pg_url_find(url, b, e, ':');

	r->user = pg_url_span_of(b, colon);
	if (r->user.len == 0)
		return pg_url_fail(error_r, "no user (postgresql://USER@HOST/DB)");
	if (!pg_url_text_ok(url, r->user, ""))
		return pg_url_fail(error_r, "a bad percent escape in the user name");
	if (colon == e)
		return 0;
	r->has_password = true;
	r->password = pg_url_span_of(colon + 1, e);
	r->secrets[r->n_secrets++] = r->password;
	if (!pg_url_text_ok(url, r->password, ""))
		return pg_url_fail(error_r, "a bad percent escape in the password (write '%' as %25)");
	return 0;
}

/* pg_url_ip - the span is an address of family af. */
static bool pg_url_ip(const char *url, struct pg_url_span s, int af)
{
	char tmp[64];
	unsigned char addr[16];

	if (s.len >= sizeof(tmp))
		return false;
	memcpy(tmp, url + s.off, s.len);
	tmp[s.len] = '\0';
	return inet_pton(af, tmp, addr) == 1;
}

/* pg_url_host_name - a host name, an IPv4 address or a socket directory in r->host. */
static int pg_url_host_name(const char *url, struct pg_url *r, const char **error_r)
{
	struct pg_url_span h = r->host;
	char dir[128];

	if (h.len >= 3 && url[h.off] == '%' && url[h.off + 1] == '2' &&
	    (url[h.off + 2] == 'F' || url[h.off + 2] == 'f')) {
		r->host_kind = PG_URL_HOST_SOCKET;
		if (!pg_url_text_ok(url, h, "[],") || pg_url_decode(url, h, dir, sizeof(dir)) < 0)
			return pg_url_fail(error_r, "a bad socket directory (percent-encoded, "
						    "under 100 characters)");
		return 0;
	}
	if (h.len > 253)
		return pg_url_fail(error_r, "a host name longer than 253 characters");
	for (size_t i = h.off; i < h.off + h.len; i++) {
		char c = url[i];
		if (c == ',')
			return pg_url_fail(error_r, "more than one host (give one)");
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return pg_url_fail(error_r, "a bad character in the host name");
	}
	r->host_kind = pg_url_ip(url, h, AF_INET) ? PG_URL_HOST_IPV4 : PG_URL_HOST_NAME;
	return 0;
}

/* pg_url_port - PORT in url[b, e): 1-65535. */
static int pg_url_port(const char *url, size_t b, size_t e, struct pg_url *r, const char **error_r)
{
	unsigned v = 0;

	r->has_port = true;
	r->port = pg_url_span_of(b, e);
	if (e == b || e - b > 5)
		return pg_url_fail(error_r, "a bad port (1-65535)");
	for (size_t i = b; i < e; i++) {
		if (url[i] < '0' || url[i] > '9')
			return pg_url_fail(error_r, "a bad port (1-65535)");
		v = v * 10 + (unsigned)(url[i] - '0');
	}
	if (v == 0 || v > 65535)
		return pg_url_fail(error_r, "a bad port (1-65535)");
	r->port_number = v;
	return 0;
}

/* pg_url_hostport - HOST[:PORT] in url[b, e). */
static int pg_url_hostport(const char *url, size_t b, size_t e, struct pg_url *r,
			   const char **error_r)
{
	size_t p;

	r->port_number = 5432;
	if (b == e || url[b] == ':')
		return pg_url_fail(error_r, "no host (postgresql://USER@HOST/DB)");
	if (url[b] == '[') {
		size_t close = pg_url_find(url, b, e, ']');
		if (close == e)
			return pg_url_fail(error_r, "an IPv6 address without its ']'");
		r->host = pg_url_span_of(b + 1, close);
		r->host_kind = PG_URL_HOST_IPV6;
		if (!pg_url_ip(url, r->host, AF_INET6))
			return pg_url_fail(error_r, "a bad IPv6 address");
		p = close + 1;
		if (p < e && url[p] != ':')
			return pg_url_fail(error_r, "junk after the IPv6 address");
	} else {
		p = pg_url_find(url, b, e, ':');
		r->host = pg_url_span_of(b, p);
		if (pg_url_host_name(url, r, error_r) < 0)
			return -1;
	}
	return p < e ? pg_url_port(url, p + 1, e, r, error_r) : 0;
}

/* pg_url_key - the index of key url[b, e) among pg_url_keys, or -1. */
static int pg_url_key(const char *url, size_t b, size_t e)
{
	for (size_t i = 0; i < PG_URL_NKEYS; i++)
		if (strlen(pg_url_keys[i]) == e - b && memcmp(pg_url_keys[i], url + b, e - b) == 0)
			return (int)i;
	return -1;
}

/* pg_url_param - one KEY=VALUE in url[b, e); seen holds the keys met so far. */
static int pg_url_param(const char *url, size_t b, size_t e, uint64_t *seen, struct pg_url *r,
			const char **error_r)
{
	size_t eq = pg_url_find(url, b, e, '=');
	int k;

	if (b == e)
		return pg_url_fail(error_r, "an empty parameter in the query");
	if (eq == e)
		return pg_url_fail(error_r, "a parameter without '=' in the query");
	if ((k = pg_url_key(url, b, eq)) < 0)
		return pg_url_fail(error_r, "an unknown parameter in the query (host, port, dbname and "
					    "user belong in the URL itself; see libpq's connection "
					    "parameters for the others)");
	if (*seen & ((uint64_t)1 << k))
		return pg_url_fail(error_r, "a parameter given twice in the query");
	*seen |= (uint64_t)1 << k;
	if (!pg_url_text_ok(url, pg_url_span_of(eq + 1, e), "#"))
		return pg_url_fail(error_r, "a bad percent escape or '#' in a query value");
	if (strcmp(pg_url_keys[k], "password") == 0 || strcmp(pg_url_keys[k], "sslpassword") == 0)
		r->secrets[r->n_secrets++] = pg_url_span_of(eq + 1, e);
	if (strcmp(pg_url_keys[k], "hostaddr") == 0)
		r->has_hostaddr = true;
	return 0;
}

/* pg_url_path - DB[?QUERY] in url[b, e). */
static int pg_url_path(const char *url, size_t b, size_t e, struct pg_url *r, const char **error_r)
{
	size_t q = pg_url_find(url, b, e, '?');
	uint64_t seen = 0;

	r->dbname = pg_url_span_of(b, q);
	if (r->dbname.len == 0)
		return pg_url_fail(error_r, "no database (postgresql://USER@HOST/DB)");
	if (!pg_url_text_ok(url, r->dbname, "/#"))
		return pg_url_fail(error_r, "a bad character in the database name ('/' and '#' "
					    "must be percent-encoded)");
	if (q == e)
		return 0;
	r->query = pg_url_span_of(q + 1, e);
	if (r->query.len == 0)
		return pg_url_fail(error_r, "an empty query after '?'");
	for (size_t p = q + 1; p <= e;) {
		size_t amp = pg_url_find(url, p, e, '&');
		if (pg_url_param(url, p, amp, &seen, r, error_r) < 0)
			return -1;
		p = amp + 1;
	}
	return 0;
}

/* pg_url_scheme - the length of url's scheme and "//", or 0. */
static size_t pg_url_scheme(const char *url)
{
	if (strncmp(url, "postgresql://", 13) == 0)
		return 13;
	if (strncmp(url, "postgres://", 11) == 0)
		return 11;
	return 0;
}

int pg_url_parse(const char *url, struct pg_url *r, const char **error_r)
{
	size_t len = strnlen(url, PG_URL_MAX + 1), start, slash, at;

	memset(r, 0, sizeof(*r));
	if (len > PG_URL_MAX)
		return pg_url_fail(error_r, "a URL longer than 2048 characters");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return pg_url_fail(error_r, "a space, control character or non-ASCII byte "
						    "(percent-encode it)");
	if ((start = pg_url_scheme(url)) == 0)
		return pg_url_fail(error_r, "not a postgresql:// URL");
	slash = pg_url_find(url, start, len, '/');
	if (slash == len)
		return pg_url_fail(error_r, "no database (postgresql://USER@HOST/DB)");
	at = pg_url_find(url, start, slash, '@');
	if (at == slash)
		return pg_url_fail(error_r, "no user (postgresql://USER@HOST/DB)");
	if (pg_url_find(url, at + 1, slash, '@') != slash)
		return pg_url_fail(error_r, "more than one '@' (write '@' in a password as %40)");
	if (pg_url_userinfo(url, start, at, r, error_r) < 0 ||
	    pg_url_hostport(url, at + 1, slash, r, error_r) < 0)
		return -1;
	return pg_url_path(url, slash + 1, len, r, error_r);
}

int pg_url_check(const char *url, const char **error_r)
{
	struct pg_url r;
	return pg_url_parse(url, &r, error_r);
}

/* pg_url_guess - the secrets of a URL that does not parse, generously; their count. */
static size_t pg_url_guess(const char *url, struct pg_url_span *s)
{
	size_t len = strlen(url), n = 0, b, from;
	const char *rest = strstr(url, "://"), *at, *colon, *pw;

	if (rest == NULL) {
		s[n++] = pg_url_span_of(0, len);
		return n;
	}
	b = (size_t)(rest + 3 - url);
	at = strrchr(url + b, '@');
	colon = strchr(url + b, ':');
	if (at != NULL && colon != NULL && colon < at)
		s[n++] = pg_url_span_of((size_t)(colon + 1 - url), (size_t)(at - url));
	from = at != NULL ? (size_t)(at + 1 - url) : b;
	if ((pw = strstr(url + from, "password=")) != NULL)
		s[n++] = pg_url_span_of((size_t)(pw + 9 - url), len);
	return n;
}

/* pg_url_put - append n bytes of s to o, as far as they fit. */
static void pg_url_put(struct pg_url_out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && o->len + 1 < o->size; i++)
		o->buf[o->len++] = s[i];
	if (o->size > 0)
		o->buf[o->len] = '\0';
}

/* pg_url_secrets - the secret spans of url, in order, parsed or guessed; their count. */
static size_t pg_url_secrets(const char *url, struct pg_url_span *s)
{
	struct pg_url r;
	const char *error;

	if (pg_url_parse(url, &r, &error) < 0)
		return pg_url_guess(url, s);
	memcpy(s, r.secrets, r.n_secrets * sizeof(*s));
	return r.n_secrets;
}

const char *pg_url_redact(const char *url, char *buf, size_t size)
{
	struct pg_url_span s[PG_URL_SECRETS];
	struct pg_url_out o = { buf, size, 0 };
	size_t n = pg_url_secrets(url, s), pos = 0;

	pg_url_put(&o, "", 0);
	for (size_t i = 0; i < n; i++) {
		pg_url_put(&o, url + pos, s[i].off - pos);
		pg_url_put(&o, "***", 3);
		pos = s[i].off + s[i].len;
	}
	pg_url_put(&o, url + pos, strlen(url + pos));
	return buf;
}

/* The needles pg_url_scrub hides: each secret as written and decoded. */
struct pg_url_needles {
	char text[2 * PG_URL_SECRETS][PG_URL_MAX + 1];
	size_t len[2 * PG_URL_SECRETS];
	size_t n;
};

/* pg_url_needles_of - the non-empty secrets of url, as written and decoded. */
static void pg_url_needles_of(const char *url, struct pg_url_needles *nd)
{
	struct pg_url_span s[PG_URL_SECRETS];
	size_t n = pg_url_secrets(url, s);
	int d;

	nd->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i].len == 0 || s[i].len > PG_URL_MAX)
			continue;
		memcpy(nd->text[nd->n], url + s[i].off, s[i].len);
		nd->text[nd->n][s[i].len] = '\0';
		nd->len[nd->n] = s[i].len;
		nd->n++;
		d = pg_url_decode(url, s[i], nd->text[nd->n], sizeof(nd->text[nd->n]));
		if (d > 0 && ((size_t)d != s[i].len || memcmp(nd->text[nd->n], url + s[i].off, s[i].len)))
			nd->len[nd->n++] = (size_t)d;
	}
}

/* pg_url_match - the length of the longest needle at text, or 0. */
static size_t pg_url_match(const struct pg_url_needles *nd, const char *text)
{
	size_t best = 0;

	for (size_t i = 0; i < nd->n; i++)
		if (nd->len[i] > best && strncmp(text, nd->text[i], nd->len[i]) == 0)
			best = nd->len[i];
	return best;
}

const char *pg_url_scrub(const char *url, const char *text, char *buf, size_t size)
{
	struct pg_url_needles nd;
	struct pg_url_out o = { buf, size, 0 };
	bool space = true; /* drop leading blanks */

	pg_url_needles_of(url, &nd);
	pg_url_put(&o, "", 0);
	for (size_t i = 0; text[i] != '\0';) {
		size_t m = pg_url_match(&nd, text + i);
		unsigned char c = (unsigned char)text[i];
		if (m > 0) {
			pg_url_put(&o, "***", 3);
			space = false;
			i += m;
			continue;
		}
		if (c <= 0x20 || c == 0x7f) {
			if (!space)
				pg_url_put(&o, " ", 1);
			space = true;
		} else {
			pg_url_put(&o, (const char *)&c, 1);
			space = false;
		}
		i++;
	}
	while (o.len > 0 && o.buf[o.len - 1] == ' ')
		o.buf[--o.len] = '\0';
	return buf;
}

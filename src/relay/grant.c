/* grant - grant keys and the stored text of a grant; pure functions. */
#include "relay/grant.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* relay_grant_is_mapped - whether a 16-byte IPv6 address is IPv4-mapped (::ffff:a.b.c.d). */
static bool relay_grant_is_mapped(const uint8_t *v6)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(v6, prefix, sizeof(prefix)) == 0;
}

/* relay_grant_key_v4 - the key of an IPv4 address (4 bytes). */
static int relay_grant_key_v4(const uint8_t *v4, char *key_r, size_t size, const char **error_r)
{
	if (inet_ntop(AF_INET, v4, key_r, (socklen_t)size) == NULL) {
		*error_r = "key buffer too small";
		return -1;
	}
	return 0;
}

/* relay_grant_key_v6 - the key of an IPv6 address (16 bytes) under prefix. */
static int relay_grant_key_v6(const uint8_t *v6, unsigned prefix, char *key_r, size_t size,
			      const char **error_r)
{
	uint8_t net[16];
	char text[INET6_ADDRSTRLEN];

	if (relay_grant_is_mapped(v6))
		return relay_grant_key_v4(v6 + 12, key_r, size, error_r);
	if (prefix > 128) {
		*error_r = "IPv6 prefix over 128";
		return -1;
	}
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
		net[i] = bits >= 8 ? v6[i] : (uint8_t)(v6[i] & (0xff00u >> bits));
	}
	inet_ntop(AF_INET6, net, text, sizeof(text));
	int n = prefix == 128 ? snprintf(key_r, size, "%s", text)
			      : snprintf(key_r, size, "%s/%u", text, prefix);
	if (n < 0 || (size_t)n >= size) {
		*error_r = "key buffer too small";
		return -1;
	}
	return 0;
}

/* relay_grant_split - ip into its address text and optional "/N" prefix (-1: none). */
static int relay_grant_split(const char *ip, char *addr, size_t size, int *prefix_r)
{
	const char *slash = strchr(ip, '/');
	size_t n = slash != NULL ? (size_t)(slash - ip) : strlen(ip);
	unsigned v = 0;

	*prefix_r = -1;
	if (n == 0 || n >= size)
		return -1;
	memcpy(addr, ip, n);
	addr[n] = '\0';
	if (slash == NULL)
		return 0;
	if (slash[1] == '\0' || strlen(slash + 1) > 3)
		return -1;
	for (const char *p = slash + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	*prefix_r = (int)v;
	return 0;
}

int relay_grant_key(const char *ip, unsigned ipv6_prefix, char *key_r, size_t size,
		    const char **error_r)
{
	char addr[INET6_ADDRSTRLEN];
	uint8_t bin[16];
	int prefix;

	if (relay_grant_split(ip, addr, sizeof(addr), &prefix) < 0) {
		*error_r = "not an IP address";
		return -1;
	}
	if (inet_pton(AF_INET, addr, bin) == 1) {
		if (prefix != -1 && prefix != 32) {
			*error_r = "an IPv4 grant covers one address (/32)";
			return -1;
		}
		return relay_grant_key_v4(bin, key_r, size, error_r);
	}
	if (inet_pton(AF_INET6, addr, bin) != 1) {
		*error_r = "not an IP address";
		return -1;
	}
	if (prefix != -1 && (unsigned)prefix != (relay_grant_is_mapped(bin) ? 128 : ipv6_prefix)) {
		*error_r = "prefix differs from relay.ipv6_prefix";
		return -1;
	}
	return relay_grant_key_v6(bin, ipv6_prefix, key_r, size, error_r);
}

int relay_grant_key_sa(const struct sockaddr *sa, unsigned ipv6_prefix, char *key_r,
		       size_t size, const char **error_r)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
		return relay_grant_key_v4((const uint8_t *)&sin->sin_addr, key_r, size, error_r);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		return relay_grant_key_v6(sin6->sin6_addr.s6_addr, ipv6_prefix, key_r, size,
					  error_r);
	}
	*error_r = "not an IP socket address";
	return -1;
}

bool relay_grant_login_ok(const char *login)
{
	size_t n = strlen(login);

	if (n == 0 || n >= RELAY_LOGIN_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)login; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

bool relay_grant_live(const struct relay_grant *g, int64_t now)
{
	return now < g->expires;
}

/* relay_grant_addr_ok - a key as stored: non-empty, hex digits, dots, colons, slash. */
static bool relay_grant_addr_ok(const char *addr, size_t len)
{
	if (len == 0 || len >= RELAY_ADDR_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (strchr("0123456789abcdefABCDEF.:/", addr[i]) == NULL || addr[i] == '\0')
			return false;
	return true;
}

int relay_grant_format(const struct relay_grant *g, char *buf, size_t size)
{
	int n;

	if (!relay_grant_addr_ok(g->addr, strnlen(g->addr, RELAY_ADDR_MAX)) ||
	    !relay_grant_login_ok(g->login) || g->granted < 0 || g->expires < 0)
		return -1;
	if (g->via[0] != '\0' && strcmp(g->via, "pop3") != 0 && strcmp(g->via, "imap") != 0)
		return -1;
	if (g->via[0] != '\0')
		n = snprintf(buf, size, "2 %s %" PRId64 " %" PRId64 " %s %s", g->addr, g->granted,
			     g->expires, g->via, g->login);
	else
		n = snprintf(buf, size, "1 %s %" PRId64 " %" PRId64 " %s", g->addr, g->granted,
			     g->expires, g->login);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* relay_grant_field - the next space-terminated field of text[*pos..len). */
static int relay_grant_field(const char *text, size_t len, size_t *pos, const char **f_r,
			     size_t *flen_r)
{
	const char *sp = memchr(text + *pos, ' ', len - *pos);

	if (sp == NULL)
		return -1;
	*f_r = text + *pos;
	*flen_r = (size_t)(sp - *f_r);
	*pos += *flen_r + 1;
	return 0;
}

/* relay_grant_int - a decimal int64 >= 0 of len digits, no sign, no leading zeros. */
static int relay_grant_int(const char *s, size_t len, int64_t *v_r)
{
	int64_t v = 0;

	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*v_r = v;
	return 0;
}

int relay_grant_parse(const char *text, size_t len, struct relay_grant *g_r,
		      const char **error_r)
{
	const char *f[5];
	size_t flen[5], pos = 0;
	int fields = len > 0 && text[0] == '2' ? 5 : 4;

	memset(g_r, 0, sizeof(*g_r));
	for (int i = 0; i < fields; i++) {
		if (relay_grant_field(text, len, &pos, &f[i], &flen[i]) < 0) {
			*error_r = "missing field";
			return -1;
		}
	}
	if (flen[0] != 1 || (f[0][0] != '1' && f[0][0] != '2')) {
		*error_r = "unknown version";
		return -1;
	}
	if (fields == 5) {
		if (!((flen[4] == 4 && memcmp(f[4], "pop3", 4) == 0) ||
		      (flen[4] == 4 && memcmp(f[4], "imap", 4) == 0))) {
			*error_r = "bad service";
			return -1;
		}
		memcpy(g_r->via, f[4], flen[4]);
	}
	if (!relay_grant_addr_ok(f[1], flen[1]) || relay_grant_int(f[2], flen[2], &g_r->granted) < 0 ||
	    relay_grant_int(f[3], flen[3], &g_r->expires) < 0 || len - pos >= RELAY_LOGIN_MAX ||
	    memchr(text + pos, '\0', len - pos) != NULL) {
		*error_r = "bad field";
		return -1;
	}
	memcpy(g_r->addr, f[1], flen[1]);
	memcpy(g_r->login, text + pos, len - pos);
	if (!relay_grant_login_ok(g_r->login)) {
		*error_r = "bad login";
		return -1;
	}
	return 0;
}

const char *relay_time_format(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%" PRId64, t);
	return buf;
}

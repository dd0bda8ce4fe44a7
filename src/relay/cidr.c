/* cidr - network matching for relay.trusted_networks. */
#include "relay/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "config/cfg.h"

/* relay_cidr_map4 - an IPv4 address (4 bytes) to its mapped 16-byte form. */
static void relay_cidr_map4(const uint8_t *v4, uint8_t addr_r[16])
{
	memset(addr_r, 0, 10);
	addr_r[10] = addr_r[11] = 0xff;
	memcpy(addr_r + 12, v4, 4);
}

int relay_cidr_ip(const char *ip, uint8_t addr_r[16])
{
	uint8_t v4[4];

	if (inet_pton(AF_INET, ip, v4) == 1) {
		relay_cidr_map4(v4, addr_r);
		return 0;
	}
	return inet_pton(AF_INET6, ip, addr_r) == 1 ? 0 : -1;
}

int relay_cidr_sa(const struct sockaddr *sa, uint8_t addr_r[16])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
		relay_cidr_map4((const uint8_t *)&sin->sin_addr, addr_r);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(addr_r, sin6->sin6_addr.s6_addr, 16);
		return 0;
	}
	return -1;
}

/* relay_cidr_prefix - the decimal prefix of text (no sign, at most max); -1 otherwise. */
static int relay_cidr_prefix(const char *text, unsigned max)
{
	unsigned v = 0;

	if (*text == '\0')
		return -1;
	for (; *text != '\0'; text++) {
		if (*text < '0' || *text > '9' || v > max)
			return -1;
		v = v * 10 + (unsigned)(*text - '0');
	}
	return v <= max ? (int)v : -1;
}

int relay_cidr_parse(const char *text, struct relay_cidr *c_r, const char **error_r)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t n = slash != NULL ? (size_t)(slash - text) : strlen(text);
	bool v4 = memchr(text, ':', n) == NULL;
	int prefix = v4 ? 32 : 128;

	memset(c_r, 0, sizeof(*c_r));
	if (n == 0 || n >= sizeof(addr)) {
		*error_r = "not a network address";
		return -1;
	}
	memcpy(addr, text, n);
	addr[n] = '\0';
	if (relay_cidr_ip(addr, c_r->addr) < 0) {
		*error_r = "not a network address";
		return -1;
	}
	if (slash != NULL && (prefix = relay_cidr_prefix(slash + 1, (unsigned)prefix)) < 0) {
		*error_r = "bad prefix length";
		return -1;
	}
	c_r->prefix = v4 ? (unsigned)prefix + 96 : (unsigned)prefix;
	return 0;
}

bool relay_cidr_match(const struct relay_cidr *c, const uint8_t addr[16])
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (c->addr[full] & mask) == (addr[full] & mask);
}

bool relay_cidr_list_match(const struct cfg_list *list, const uint8_t addr[16],
			   const char **match_r)
{
	struct relay_cidr c;
	const char *error;

	for (size_t i = 0; i < list->n; i++) {
		if (relay_cidr_parse(list->items[i], &c, &error) == 0 && relay_cidr_match(&c, addr)) {
			if (match_r != NULL)
				*match_r = list->items[i];
			return true;
		}
	}
	return false;
}

/* test_relay_cidr - relay.trusted_networks matching: v4, v6, v4-mapped, /0, /32, bare hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "config/cfg.h"
#include "relay/cidr.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct test_cidr_case {
	const char *network;
	const char *ip;
	bool match;
};

static const struct test_cidr_case test_cidr_cases[] = {
	{ "10.0.0.0/8", "10.255.1.2", true },
	{ "10.0.0.0/8", "11.0.0.1", false },
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
	{ "192.0.2.7", "192.0.2.7", true },
	{ "192.0.2.7", "192.0.2.8", false },
	{ "192.0.2.7/32", "192.0.2.7", true },
	{ "192.0.2.7/32", "192.0.2.6", false },
	{ "192.0.2.7/032", "192.0.2.7", true }, /* as the configuration accepts it */
	{ "192.0.2.0/25", "192.0.2.127", true },
	{ "192.0.2.0/25", "192.0.2.128", false },
	{ "192.0.2.9/24", "192.0.2.200", true }, /* host bits in the network are ignored */
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "::ffff:203.0.113.9", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "203.0.113.9", true },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "2001:db8::1", "2001:db8::1", true },
	{ "2001:db8::1", "2001:db8::2", false },
	{ "2001:db8::1/128", "2001:db8::1", true },
	{ "2001:db8:0:8000::/49", "2001:db8:0:ffff::1", true },
	{ "2001:db8:0:8000::/49", "2001:db8:0:7fff::1", false },
	{ "::ffff:192.0.2.0/120", "192.0.2.55", true },
	{ "::ffff:192.0.2.0/120", "192.0.3.55", false },
	{ "::1", "::1", true },
	{ "::1", "127.0.0.1", false },
	{ "127.0.0.0/8", "::1", false },
};

/* test_cidr_table - parse each network and match each client. */
static void test_cidr_table(void **state)
{
	struct relay_cidr c;
	uint8_t addr[16];
	const char *error;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_cidr_cases); i++) {
		const struct test_cidr_case *t = &test_cidr_cases[i];
		if (relay_cidr_parse(t->network, &c, &error) < 0)
			fail_msg("%s: %s", t->network, error);
		assert_int_equal(relay_cidr_ip(t->ip, addr), 0);
		if (relay_cidr_match(&c, addr) != t->match)
			fail_msg("%s in %s: expected %d", t->ip, t->network, t->match);
	}
}

/* test_cidr_bad - networks that do not parse. */
static void test_cidr_bad(void **state)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/8x",
		"10.0.0/8", "host.example", "10.0.0.0/0033", "2001:db8::/ 32",
	};
	struct relay_cidr c;
	const char *error;
	uint8_t addr[16];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (relay_cidr_parse(bad[i], &c, &error) == 0)
			fail_msg("parsed: '%s'", bad[i]);
	assert_int_equal(relay_cidr_ip("999.1.1.1", addr), -1);
	assert_int_equal(relay_cidr_ip("", addr), -1);
}

/* test_cidr_list - the configured list, with the item that matched. */
static void test_cidr_list(void **state)
{
	char *items[] = { "192.0.2.0/24", "2001:db8::/32", "bogus" };
	struct cfg_list list = { .items = items, .n = 3 };
	struct cfg_list empty = { .items = NULL, .n = 0 };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	const char *match = NULL;
	uint8_t addr[16];

	(void)state;
	assert_int_equal(relay_cidr_ip("::ffff:192.0.2.4", addr), 0);
	assert_true(relay_cidr_list_match(&list, addr, &match));
	assert_string_equal(match, "192.0.2.0/24");
	inet_pton(AF_INET6, "2001:db8::99", &sin6.sin6_addr);
	assert_int_equal(relay_cidr_sa((struct sockaddr *)&sin6, addr), 0);
	assert_true(relay_cidr_list_match(&list, addr, &match));
	assert_string_equal(match, "2001:db8::/32");
	assert_int_equal(relay_cidr_ip("198.51.100.1", addr), 0);
	assert_false(relay_cidr_list_match(&list, addr, &match));
	assert_false(relay_cidr_list_match(&empty, addr, NULL));
}

/* main - run the CIDR tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_table),
		cmocka_unit_test(test_cidr_bad),
		cmocka_unit_test(test_cidr_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

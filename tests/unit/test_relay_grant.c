/* test_relay_grant - grant keys (v4, v6 /128 and /64, v4-mapped) and the stored text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "relay/grant.h"
#include "relay/grant_store.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct test_key_case {
	const char *ip;
	unsigned prefix;
	const char *key; /* NULL: an error */
};

static const struct test_key_case test_key_cases[] = {
	{ "192.0.2.7", 128, "192.0.2.7" },
	{ "192.0.2.7", 64, "192.0.2.7" },
	{ "192.0.2.7/32", 64, "192.0.2.7" },
	{ "::ffff:192.0.2.7", 128, "192.0.2.7" },
	{ "::FFFF:192.0.2.7", 64, "192.0.2.7" },
	{ "::ffff:c000:207", 48, "192.0.2.7" },
	{ "2001:DB8::7", 128, "2001:db8::7" },
	{ "2001:0db8:0000:0000:0000:0000:0000:0007", 128, "2001:db8::7" },
	{ "2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2::/64", 64, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2:ffff::1", 56, "2001:db8:1::/56" },
	{ "2001:db8:1:2ff::1", 60, "2001:db8:1:2f0::/60" },
	{ "2001:db8::1", 0, "::/0" },
	{ "::1", 128, "::1" },
	{ "2001:db8::7/128", 128, "2001:db8::7" },
	{ "2001:db8::7/64", 128, NULL },
	{ "2001:db8::7/48", 64, NULL },
	{ "192.0.2.7/24", 128, NULL },
	{ "192.0.2", 128, NULL },
	{ "host.example", 128, NULL },
	{ "", 128, NULL },
	{ "/64", 64, NULL },
	{ "2001:db8::7/", 64, NULL },
	{ "2001:db8::7/6x", 64, NULL },
	{ "fe80::1%eth0", 128, NULL },
	{ "2001:db8::1", 129, NULL },
};

/* test_relay_key_table - relay_grant_key over the table. */
static void test_relay_key_table(void **state)
{
	char key[RELAY_ADDR_MAX];
	const char *error;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_key_cases); i++) {
		const struct test_key_case *c = &test_key_cases[i];
		int r = relay_grant_key(c->ip, c->prefix, key, sizeof(key), &error);
		if (c->key == NULL && r == 0)
			fail_msg("%s /%u: expected an error, got %s", c->ip, c->prefix, key);
		if (c->key != NULL && (r != 0 || strcmp(key, c->key) != 0))
			fail_msg("%s /%u: expected %s, got %s", c->ip, c->prefix, c->key,
				 r == 0 ? key : error);
	}
}

/* test_relay_key_sockaddr - the same keys from socket addresses. */
static void test_relay_key_sockaddr(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr sa = { .sa_family = AF_UNIX };
	char key[RELAY_ADDR_MAX];
	const char *error;

	(void)state;
	inet_pton(AF_INET, "198.51.100.4", &sin.sin_addr);
	assert_int_equal(relay_grant_key_sa((struct sockaddr *)&sin, 64, key, sizeof(key), &error), 0);
	assert_string_equal(key, "198.51.100.4");
	inet_pton(AF_INET6, "::ffff:198.51.100.4", &sin6.sin6_addr);
	assert_int_equal(relay_grant_key_sa((struct sockaddr *)&sin6, 64, key, sizeof(key), &error), 0);
	assert_string_equal(key, "198.51.100.4");
	inet_pton(AF_INET6, "2001:db8:a:b:c:d:e:f", &sin6.sin6_addr);
	assert_int_equal(relay_grant_key_sa((struct sockaddr *)&sin6, 128, key, sizeof(key), &error), 0);
	assert_string_equal(key, "2001:db8:a:b:c:d:e:f");
	assert_int_equal(relay_grant_key_sa((struct sockaddr *)&sin6, 64, key, sizeof(key), &error), 0);
	assert_string_equal(key, "2001:db8:a:b::/64");
	assert_int_equal(relay_grant_key_sa(&sa, 64, key, sizeof(key), &error), -1);
	assert_int_equal(relay_grant_key_sa((struct sockaddr *)&sin6, 64, key, 8, &error), -1);
}

/* test_relay_text_round_trip - format then parse gives the grant back. */
static void test_relay_text_round_trip(void **state)
{
	struct relay_grant g = { .addr = "2001:db8:1:2::/64", .login = "alice@example.test",
				 .granted = 1763794000, .expires = 1763794900 };
	struct relay_grant back;
	char text[RELAY_GRANT_TEXT_MAX];
	const char *error;
	int n;

	(void)state;
	n = relay_grant_format(&g, text, sizeof(text));
	assert_string_equal(text, "1 2001:db8:1:2::/64 1763794000 1763794900 alice@example.test");
	assert_int_equal(relay_grant_parse(text, (size_t)n, &back, &error), 0);
	assert_memory_equal(&g, &back, sizeof(g));
	assert_true(relay_grant_live(&g, 1763794899));
	assert_false(relay_grant_live(&g, 1763794900));
	memset(g.login, 'x', sizeof(g.login) - 1); /* the longest login */
	g.login[sizeof(g.login) - 1] = '\0';
	n = relay_grant_format(&g, text, sizeof(text));
	assert_true(n > 0);
	assert_int_equal(relay_grant_parse(text, (size_t)n, &back, &error), 0);
	assert_memory_equal(&g, &back, sizeof(g));
	text[n] = 'x'; /* one byte more is too long */
	assert_int_equal(relay_grant_parse(text, (size_t)n + 1, &back, &error), -1);
	g.expires = -1;
	assert_int_equal(relay_grant_format(&g, text, sizeof(text)), -1);
	g.expires = 1;
	assert_int_equal(relay_grant_format(&g, text, 20), -1);
	memset(g.login, 0, sizeof(g.login)); /* version 2: the login's service */
	snprintf(g.login, sizeof(g.login), "bob@example.test");
	snprintf(g.via, sizeof(g.via), "imap");
	n = relay_grant_format(&g, text, sizeof(text));
	assert_string_equal(text, "2 2001:db8:1:2::/64 1763794000 1 imap bob@example.test");
	assert_int_equal(relay_grant_parse(text, (size_t)n, &back, &error), 0);
	assert_memory_equal(&g, &back, sizeof(g));
	snprintf(g.via, sizeof(g.via), "smtp");
	assert_int_equal(relay_grant_format(&g, text, sizeof(text)), -1);
}

/* test_relay_text_bad - texts that must not parse. */
static void test_relay_text_bad(void **state)
{
	static const char *const bad[] = {
		"", "1", "1 127.0.0.1 1 2", "2 127.0.0.1 1 2 x", "1 127.0.0.1 -1 2 x",
		"1 127.0.0.1 1 +2 x", "1 127.0.0.1 01 2 x", "1 127.0.0.1 1 2 ",
		"1 127.0.0.1 1 2 a b", "1 127.0.0.1 1 2 a\tb", "1 host 1 2 x",
		"1  1 2 x", "1 127.0.0.1 1 99999999999999999999 x", "1 127.0.0.1 1 2 x\n",
		"1 127.0.0.1  1 2 x", "11 127.0.0.1 1 2 x", "2 127.0.0.1 1 2 smtp x",
		"2 127.0.0.1 1 2 imap", "2 127.0.0.1 1 2 IMAP x", "3 127.0.0.1 1 2 imap x",
	};
	struct relay_grant g;
	const char *error;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (relay_grant_parse(bad[i], strlen(bad[i]), &g, &error) == 0)
			fail_msg("parsed: '%s'", bad[i]);
	assert_int_equal(relay_grant_parse("1 1.2.3.4 0 0 a\0b", 17, &g, &error), -1);
	assert_int_equal(relay_grant_parse("1 1.2.3.4 0 9223372036854775807 a", 33, &g, &error), 0);
	assert_true(g.expires == INT64_MAX);
}

/* test_relay_login_ok - what a login may be. */
static void test_relay_login_ok(void **state)
{
	(void)state;
	assert_true(relay_grant_login_ok("alice@example.test"));
	assert_true(relay_grant_login_ok("-"));
	assert_true(relay_grant_login_ok("j\xc3\xbcrgen@example.test"));
	assert_false(relay_grant_login_ok(""));
	assert_false(relay_grant_login_ok("a b"));
	assert_false(relay_grant_login_ok("a\nb"));
	assert_false(relay_grant_login_ok("a\x7f"));
}

/* test_relay_time_format - ISO 8601 UTC. */
static void test_relay_time_format(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(relay_time_format(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	assert_string_equal(relay_time_format(1763794900, buf, sizeof(buf)), "2025-11-22T07:01:40Z");
}

/* test_relay_store_spec - redis:// parsing. */
static void test_relay_store_spec(void **state)
{
	char host[64];
	unsigned port, db;

	(void)state;
	assert_int_equal(relay_store_parse_redis("redis://127.0.0.1:6380/2", host, sizeof(host), &port, &db), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 6380);
	assert_int_equal(db, 2);
	assert_int_equal(relay_store_parse_redis("redis://[::1]:7000/15", host, sizeof(host), &port, &db), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 7000);
	assert_int_equal(db, 15);
	assert_int_equal(relay_store_parse_redis("redis://cache", host, sizeof(host), &port, &db), 0);
	assert_string_equal(host, "cache");
	assert_int_equal(port, 6379);
	assert_int_equal(db, 0);
	assert_int_equal(relay_store_parse_redis("redis://h:0/1", host, sizeof(host), &port, &db), -1);
	assert_int_equal(relay_store_parse_redis("redis://h:99999/1", host, sizeof(host), &port, &db), -1);
	assert_int_equal(relay_store_parse_redis("redis://h:1/x", host, sizeof(host), &port, &db), -1);
	assert_int_equal(relay_store_parse_redis("redis://:1/1", host, sizeof(host), &port, &db), -1);
	assert_int_equal(relay_store_parse_redis("redis://h:/1", host, sizeof(host), &port, &db), -1);
	assert_int_equal(relay_store_parse_redis("redis://[::1/1", host, sizeof(host), &port, &db), -1);
	assert_int_equal(relay_store_parse_redis("lmdb:/x", host, sizeof(host), &port, &db), -1);
}

/* main - run the grant tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_key_table),
		cmocka_unit_test(test_relay_key_sockaddr),
		cmocka_unit_test(test_relay_text_round_trip),
		cmocka_unit_test(test_relay_text_bad),
		cmocka_unit_test(test_relay_login_ok),
		cmocka_unit_test(test_relay_time_format),
		cmocka_unit_test(test_relay_store_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_imap_cache - the ENVELOPE cache: hits, replacement, LRU eviction by bytes, growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "imap/imap_cache.h"

/* test_get - the value under key, as a string ("" when absent, for assert_string_equal). */
static const char *test_get(struct imap_cache *c, const char *key, char *buf, size_t size)
{
	struct evbuffer *out = evbuffer_new();
	int n = imap_cache_get(c, key, strlen(key), out) ? evbuffer_remove(out, buf, size - 1) : 0;

	buf[n > 0 ? n : 0] = '\0';
	evbuffer_free(out);
	return buf;
}

/* test_cache_hit_and_replace - a put is found by its key only, and a second put replaces it. */
static void test_cache_hit_and_replace(void **state)
{
	struct imap_cache *c = imap_cache_new(4096, 1);
	char buf[64];

	(void)state;
	imap_cache_put(c, "1.M1P2.host,S=5", 15, "(NIL \"a\")", 9);
	assert_string_equal(test_get(c, "1.M1P2.host,S=5", buf, sizeof(buf)), "(NIL \"a\")");
	assert_string_equal(test_get(c, "1.M1P2.host,S=6", buf, sizeof(buf)), "");
	assert_string_equal(test_get(c, "1.M1P2.host", buf, sizeof(buf)), ""); /* a prefix is no key */
	imap_cache_put(c, "1.M1P2.host,S=5", 15, "(NIL \"b\")", 9);
	assert_string_equal(test_get(c, "1.M1P2.host,S=5", buf, sizeof(buf)), "(NIL \"b\")");
	size_t one = imap_cache_bytes(c);

	imap_cache_put(c, "other", 5, "v", 1);
	assert_true(imap_cache_bytes(c) > one);
	imap_cache_free(&c);
	assert_null(c);
}

/* test_cache_evicts_least_recently_used - past the bound the oldest go, a hit keeps one young. */
static void test_cache_evicts_least_recently_used(void **state)
{
	struct imap_cache *c = imap_cache_new(1000, 1);
	char key[16], buf[64], value[100];

	(void)state;
	memset(value, 'x', sizeof(value));
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		imap_cache_put(c, key, strlen(key), value, sizeof(value));
	}
	assert_true(imap_cache_bytes(c) <= 1000);
	assert_string_not_equal(test_get(c, "k0", buf, sizeof(buf)), ""); /* k0 is now the newest */
	for (int i = 5; i < 12; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		imap_cache_put(c, key, strlen(key), value, sizeof(value));
		assert_true(imap_cache_bytes(c) <= 1000);
	}
	assert_string_equal(test_get(c, "k1", buf, sizeof(buf)), "");    /* the oldest went first */
	assert_string_not_equal(test_get(c, "k11", buf, sizeof(buf)), "");
	imap_cache_put(c, "huge", 4, value, sizeof(value)); /* fine; but one above the bound is not kept */
	char big[2000];

	memset(big, 'y', sizeof(big));
	imap_cache_put(c, "big", 3, big, sizeof(big));
	assert_string_equal(test_get(c, "big", buf, sizeof(buf)), "");
	assert_string_not_equal(test_get(c, "huge", buf, sizeof(buf)), "");
	imap_cache_free(&c);
}

/* test_cache_many - 100,000 entries: the table grows and every one is found. */
static void test_cache_many(void **state)
{
	struct imap_cache *c = imap_cache_new((size_t)64 << 20, 64);
	char key[32], buf[64];

	(void)state;
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "%d.M%dP1.host", 1700000000 + i, i);
		imap_cache_put(c, key, strlen(key), key, 10);
	}
	for (int i = 0; i < 100000; i += 997) {
		snprintf(key, sizeof(key), "%d.M%dP1.host", 1700000000 + i, i);
		assert_memory_equal(test_get(c, key, buf, sizeof(buf)), key, 10);
	}
	imap_cache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_hit_and_replace),
		cmocka_unit_test(test_cache_evicts_least_recently_used),
		cmocka_unit_test(test_cache_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

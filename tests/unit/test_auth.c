/* test_auth - login mechanisms, the credential cache, the failure table, off-loop verification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "auth/auth_cache.h"
#include "auth/auth_mech.h"
#include "auth/auth_penalty.h"
#include "auth/auth_verify.h"

static void test_base64(void **state)
{
	char out[64], enc[64];
	size_t len = 99;

	(void)state;
	assert_int_equal(auth_base64_decode("AGFsaWNlAHNlY3JldA==", 20, out, sizeof(out), &len), 0);
	assert_int_equal(len, 13);
	assert_memory_equal(out, "\0alice\0secret", 13);
	assert_int_equal(auth_base64_decode("", 0, out, sizeof(out), &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(auth_base64_decode("YQ==", 4, out, sizeof(out), &len), 0);
	assert_string_equal(out, "a");
	assert_int_equal(auth_base64_decode("YQ=", 3, out, sizeof(out), &len), -1);
	assert_int_equal(auth_base64_decode("Y Q=", 4, out, sizeof(out), &len), -1);
	assert_int_equal(auth_base64_decode("Y=Q=", 4, out, sizeof(out), &len), -1);
	assert_int_equal(auth_base64_decode("YQ==YQ==", 8, out, sizeof(out), &len), -1);
	assert_int_equal(auth_base64_decode("AAAAAAAA", 8, out, 6, &len), -1);
	assert_int_equal(auth_base64_encode("Password:", 9, enc, sizeof(enc)), 12);
	assert_string_equal(enc, "UGFzc3dvcmQ6");
	assert_int_equal(auth_base64_encode("Password:", 9, enc, 12), 0);
}

/* test_plain - auth_plain_split of len bytes; returns 0/-1 and the three parts. */
static int test_plain(const char *msg, size_t len, const char **z, const char **c, const char **p)
{
	static char buf[64];

	memcpy(buf, msg, len);
	buf[len] = '\0';
	return auth_plain_split(buf, len, z, c, p);
}

static void test_plain_split(void **state)
{
	const char *z, *c, *p;

	(void)state;
	assert_int_equal(test_plain("\0alice\0secret", 13, &z, &c, &p), 0);
	assert_string_equal(z, "");
	assert_string_equal(c, "alice");
	assert_string_equal(p, "secret");
	assert_int_equal(test_plain("bob\0alice\0pw", 12, &z, &c, &p), 0);
	assert_string_equal(z, "bob");
	assert_int_equal(test_plain("\0alice", 6, &z, &c, &p), -1);
	assert_int_equal(test_plain("\0\0pw", 4, &z, &c, &p), -1);
	assert_int_equal(test_plain("\0alice\0", 7, &z, &c, &p), -1);
	assert_int_equal(test_plain("\0a\0b\0c", 6, &z, &c, &p), -1);
	assert_int_equal(test_plain("", 0, &z, &c, &p), -1);
}

static void test_apop_and_cram(void **state)
{
	/* RFC 1939 section 7 and RFC 2195 section 2 examples */
	const char *ts = "<1896.697170952@dbc.mtview.ca.us>";
	const char *ch = "<1896.697170952@postoffice.reston.mci.net>";
	char buf[64] = "tim b913a602c7eda7a495b4e6e7334d3890";
	const char *name, *digest;
	size_t dlen;

	(void)state;
	assert_true(auth_apop_check(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22fb", 32));
	assert_true(auth_apop_check(ts, "tanstaaf", "C4C9334BAC560ECC979E58001B3E22FB", 32));
	assert_false(auth_apop_check(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22f", 31));
	assert_false(auth_apop_check(ts, "other", "c4c9334bac560ecc979e58001b3e22fb", 32));
	assert_false(auth_apop_check(ts, NULL, "c4c9334bac560ecc979e58001b3e22fb", 32));
	assert_int_equal(auth_cram_md5_split(buf, strlen(buf), &name, &digest, &dlen), 0);
	assert_string_equal(name, "tim");
	assert_true(auth_cram_md5_check(ch, "tanstaaftanstaaf", digest, dlen));
	assert_false(auth_cram_md5_check(ch, "tanstaaf", digest, dlen));
	assert_false(auth_cram_md5_check(ch, NULL, digest, dlen));
	strcpy(buf, "nospace");
	assert_int_equal(auth_cram_md5_split(buf, strlen(buf), &name, &digest, &dlen), -1);
}

/* test_key - a cache key or tag filled with byte b. */
static const unsigned char *test_key(unsigned char *buf, int b)
{
	memset(buf, b, AUTH_CACHE_KEY_LEN);
	buf[0] = (unsigned char)(b * 7);
	return buf;
}

static void test_cache(void **state)
{
	struct auth_cache *c = auth_cache_new(3, 100);
	unsigned char k[AUTH_CACHE_KEY_LEN], t[AUTH_CACHE_KEY_LEN], t2[AUTH_CACHE_KEY_LEN];

	(void)state;
	assert_false(auth_cache_lookup(c, test_key(k, 1), test_key(t, 9), 0));
	auth_cache_insert(c, test_key(k, 1), test_key(t, 9), 0);
	assert_true(auth_cache_lookup(c, test_key(k, 1), test_key(t, 9), 50));
	assert_false(auth_cache_lookup(c, test_key(k, 2), test_key(t, 9), 50));
	/* a changed account (other tag) drops the entry */
	assert_false(auth_cache_lookup(c, test_key(k, 1), test_key(t2, 8), 50));
	assert_false(auth_cache_lookup(c, test_key(k, 1), test_key(t, 9), 50));
	assert_int_equal(auth_cache_count(c), 0);
	/* expiry */
	auth_cache_insert(c, test_key(k, 1), test_key(t, 9), 0);
	assert_false(auth_cache_lookup(c, test_key(k, 1), test_key(t, 9), 100));
	/* the least recently used entry goes when full */
	for (int i = 1; i <= 3; i++)
		auth_cache_insert(c, test_key(k, i), test_key(t, 9), 10);
	assert_true(auth_cache_lookup(c, test_key(k, 1), test_key(t, 9), 11));
	auth_cache_insert(c, test_key(k, 4), test_key(t, 9), 12);
	assert_int_equal(auth_cache_count(c), 3);
	assert_false(auth_cache_lookup(c, test_key(k, 2), test_key(t, 9), 13));
	assert_true(auth_cache_lookup(c, test_key(k, 1), test_key(t, 9), 13));
	assert_true(auth_cache_lookup(c, test_key(k, 3), test_key(t, 9), 13));
	assert_true(auth_cache_lookup(c, test_key(k, 4), test_key(t, 9), 13));
	auth_cache_insert(c, test_key(k, 4), test_key(t, 9), 14); /* replaces */
	assert_int_equal(auth_cache_count(c), 3);
	auth_cache_free(&c);
	assert_null(c);
}

static void test_penalty(void **state)
{
	struct auth_penalty *p = auth_penalty_new(2);

	(void)state;
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", 100), 1000);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", 101), 2000);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", 102), 4000);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", 103), 8000);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", 104), AUTH_PENALTY_MAX_MS);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", 105), AUTH_PENALTY_MAX_MS);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.2", 105), 1000);
	auth_penalty_clear(p, "192.0.2.2");
	assert_int_equal(auth_penalty_fail(p, "192.0.2.2", 106), 1000);
	/* quiet long enough: forgotten */
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", 105 + AUTH_PENALTY_FORGET), 1000);
	/* full: the oldest address goes */
	assert_int_equal(auth_penalty_fail(p, "192.0.2.3", 1010), 1000);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", 1011), 2000);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.2", 1012), 1000);
	auth_penalty_free(&p);
}

static void test_penalty_lockout(void **state)
{
	struct auth_penalty *p = auth_penalty_new(4);

	(void)state;
	assert_false(auth_penalty_blocked(p, "192.0.2.9", 100, 3, 60));
	auth_penalty_fail(p, "192.0.2.9", 100);
	auth_penalty_fail(p, "192.0.2.9", 101);
	assert_false(auth_penalty_blocked(p, "192.0.2.9", 101, 3, 60));
	auth_penalty_fail(p, "192.0.2.9", 102);
	assert_true(auth_penalty_blocked(p, "192.0.2.9", 102, 3, 60));
	assert_true(auth_penalty_blocked(p, "192.0.2.9", 161, 3, 60));
	assert_false(auth_penalty_blocked(p, "192.0.2.9", 162, 3, 60)); /* lockout over */
	assert_false(auth_penalty_blocked(p, "192.0.2.8", 102, 3, 60)); /* another address */
	auth_penalty_clear(p, "192.0.2.9");
	assert_false(auth_penalty_blocked(p, "192.0.2.9", 103, 3, 60));
	auth_penalty_free(&p);
}

/* Answers collected from auth_verify_password. */
struct test_verify {
	int answers, ok;
};

/* test_verify_cb - record one answer. */
static void test_verify_cb(void *arg, int ok)
{
	struct test_verify *v = arg;

	v->answers++;
	v->ok = ok;
}

/* test_verify_run - one verification, run to its answer; returns ok. */
static int test_verify_run(struct event_base *base, struct auth *a,
			   const struct users_account *acct, const char *password)
{
	struct test_verify v = { 0, -1 };

	auth_verify_password(a, acct, "alice@example.test", password, test_verify_cb, &v);
	assert_int_equal(v.answers, 0); /* never before returning */
	while (v.answers == 0)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(v.answers, 1);
	return v.ok;
}

static void test_verify(void **state)
{
	struct event_base *base = event_base_new();
	struct auth *a = auth_new(base);
	struct users_account acct = { .address = "alice@example.test" };
	char *hash2 = NULL;

	(void)state;
	assert_int_equal(users_hash_password("pw", &acct.hash), 0);
	assert_int_equal(test_verify_run(base, a, &acct, "pw"), 1);
	assert_int_equal(test_verify_run(base, a, &acct, "pw"), 1); /* from the cache */
	assert_int_equal(test_verify_run(base, a, &acct, "other"), 0);
	assert_int_equal(test_verify_run(base, a, NULL, "pw"), 0);
	/* a new password (new hash) makes the cached entry useless */
	assert_int_equal(users_hash_password("new", &hash2), 0);
	free(acct.hash);
	acct.hash = hash2;
	assert_int_equal(test_verify_run(base, a, &acct, "pw"), 0);
	assert_int_equal(test_verify_run(base, a, &acct, "new"), 1);
	free(acct.hash);
	auth_free(&a);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_plain_split),
		cmocka_unit_test(test_apop_and_cram),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_penalty),
		cmocka_unit_test(test_penalty_lockout),
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

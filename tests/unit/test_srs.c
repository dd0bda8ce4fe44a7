/*
 * test_srs - the Sender Rewriting Scheme: vectors that match libsrs2 /
 * postsrsd, round trips, tampered hashes, expiry, case changes, SRS1 double
 * forwarding, garbage; and the secret file.
 *
 * The vectors at T (2020-01-01 00:01:00 UTC, stamp "2W") were produced by
 * postsrsd's libsrs2 copy (src/srs2.c at 2.4.0, hash length 4, faketime T)
 * and checked with this independent Python implementation:
 *
 *   import base64, hashlib, hmac
 *   def h(secret, *parts):  # HMAC-SHA1 over the lower-cased parts, 4 base64url chars
 *       msg = "".join(parts).lower().encode()
 *       return base64.urlsafe_b64encode(hmac.new(secret, msg, hashlib.sha1).digest())[:4].decode()
 *   def stamp(now):          # days since the epoch mod 1024, two base32 chars
 *       d = now // 86400 % 1024; a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; return a[d >> 5] + a[d & 31]
 *   # SRS0=h(s, TT, domain, local)=TT=domain=local@srsdomain
 *   # SRS1=h(s, hop1, opaque)=hop1=opaque@srsdomain, opaque = "=HHHH=TT=domain=local"
 *
 * The first vector is the one in postsrsd's own tests/unit/test_srs2.c.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr/srs.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TEST_T 1577836860 /* 2020-01-01 00:01:00 UTC: day 18262, slot 854, "2W" */
#define TEST_DAY 86400

/* test_params - params for secret and domain at now, default max age. */
static struct srs_params test_params(const char *secret, const char *domain, time_t now)
{
	struct srs_params p = {
		.secret = (const unsigned char *)secret,
		.secret_len = strlen(secret),
		.domain = domain,
		.now = now,
	};
	return p;
}

/* One forward: secret, our domain, sender; what comes out. */
struct test_fwd_case {
	const char *secret, *domain, *sender;
	enum srs_result rc;
	const char *out;
};

static const struct test_fwd_case test_fwd_cases[] = {
	/* libsrs2 / postsrsd vectors */
	{"tops3cr3t", "example.com", "test@otherdomain.com", SRS_OK,
	 "SRS0=vmyz=2W=otherdomain.com=test@example.com"},
	{"tops3cr3t", "a.example", "alice@origin.example", SRS_OK,
	 "SRS0=6zgO=2W=origin.example=alice@a.example"},
	{"b-secret-key", "b.example", "SRS0=6zgO=2W=origin.example=alice@a.example", SRS_OK,
	 "SRS1=bvWP=a.example==6zgO=2W=origin.example=alice@b.example"},
	{"c-secret", "c.example", "SRS1=bvWP=a.example==6zgO=2W=origin.example=alice@b.example",
	 SRS_OK, "SRS1=Vy_H=a.example==6zgO=2W=origin.example=alice@c.example"},
	{"tops3cr3t", "a.example", "user150@x.example", SRS_OK,
	 "SRS0=-Fkl=2W=x.example=user150@a.example"}, /* base64url, not '+' */
	{"tops3cr3t", "a.example", "Bob.Smith@Example.ORG", SRS_OK,
	 "SRS0=rW2q=2W=Example.ORG=Bob.Smith@a.example"}, /* case kept, hashed lower */
	{"c-secret", "c.example", "SRS0+lJQE=2W=y.example=x@b.example", SRS_OK,
	 "SRS1=p8xA=b.example=+lJQE=2W=y.example=x@c.example"}, /* '+' separator kept */
	/* quoting: hashed unquoted, the result quoted as a whole */
	{"tops3cr3t", "a.example", "\"john doe\"@x.example", SRS_OK,
	 "\"SRS0=K8XP=2W=x.example=john doe\"@a.example"},
	/* a malformed SRS1 / too short SRS0 sender is wrapped like any other (libsrs2: error) */
	{"tops3cr3t", "a.example", "SRS1=abc@x.example", SRS_OK,
	 "SRS0=FnRo=2W=x.example=SRS1=abc@a.example"},
	{"tops3cr3t", "a.example", "SRS0=@x.example", SRS_OK,
	 "SRS0=xKq9=2W=x.example=SRS0=@a.example"},
	/* not rewritten */
	{"tops3cr3t", "a.example", "", SRS_NULL_SENDER, ""},
	{"tops3cr3t", "a.example", "<>", SRS_NULL_SENDER, ""},
	{"tops3cr3t", "a.example", "bob@a.example", SRS_OWN_DOMAIN, "bob@a.example"},
	{"tops3cr3t", "a.example", "SRS0=x=y@A.Example", SRS_OWN_DOMAIN, "SRS0=x=y@A.Example"},
	/* refused */
	{"tops3cr3t", "a.example", "nodomain", SRS_BAD_SYNTAX, ""},
	{"tops3cr3t", "a.example", "@x.example", SRS_BAD_SYNTAX, ""},
	{"tops3cr3t", "a.example", "a@", SRS_BAD_SYNTAX, ""},
	{"tops3cr3t", "a.example", "a@b=c.example", SRS_BAD_SYNTAX, ""},
	{"tops3cr3t", "a.example", "a@b c", SRS_BAD_SYNTAX, ""},
	{"tops3cr3t", "a.example", "a\tb@x.example", SRS_BAD_SYNTAX, ""},
	{"tops3cr3t", "a.example", "\"\"@x.example", SRS_BAD_SYNTAX, ""},
	{"tops3cr3t", "a.example", "\"a\\\"@x.example", SRS_BAD_SYNTAX, ""},
	{"tops3cr3t", "a.example", "\"a\"b\"@x.example", SRS_BAD_SYNTAX, ""},
	{"", "a.example", "a@x.example", SRS_BAD_PARAMS, ""},
	{"tops3cr3t", "", "a@x.example", SRS_BAD_PARAMS, ""},
	{"tops3cr3t", "bad domain", "a@x.example", SRS_BAD_PARAMS, ""},
};

/* test_forward_table - every row of test_fwd_cases. */
static void test_forward_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_fwd_cases); i++) {
		const struct test_fwd_case *tc = &test_fwd_cases[i];
		struct srs_params p = test_params(tc->secret, tc->domain, TEST_T);
		char out[SRS_ADDRESS_MAX + 1];
		enum srs_result rc = srs_forward(&p, tc->sender, strlen(tc->sender), out);

		if (rc != tc->rc || strcmp(out, tc->out) != 0)
			fail_msg("case %zu <%s>: %d <%s>, want %d <%s>", i, tc->sender, rc, out,
				 tc->rc, tc->out);
	}
}

/* One reverse at TEST_T: secret, our domain, recipient; what comes out. */
struct test_rev_case {
	const char *secret, *domain, *rcpt;
	enum srs_result rc;
	const char *out;
};

#define TEST_S "tops3cr3t", "example.com"
#define TEST_V "vmyz=2W=otherdomain.com=test@example.com"

static const struct test_rev_case test_rev_cases[] = {
	{TEST_S, "SRS0=" TEST_V, SRS_OK, "test@otherdomain.com"},
	/* MTAs change case; libsrs2's separators; both base64 alphabets; a longer hash */
	{TEST_S, "SRS0=VMYZ=2W=OTHERDOMAIN.COM=TEST@EXAMPLE.COM", SRS_OK, "TEST@OTHERDOMAIN.COM"},
	{TEST_S, "srs0=vmyz=2w=otherdomain.com=test@example.com", SRS_OK, "test@otherdomain.com"},
	{TEST_S, "SRS0-" TEST_V, SRS_OK, "test@otherdomain.com"},
	{TEST_S, "SRS0+" TEST_V, SRS_OK, "test@otherdomain.com"},
	{"tops3cr3t", "a.example", "SRS0=+Fkl=2W=x.example=user150@a.example", SRS_OK,
	 "user150@x.example"},
	{"tops3cr3t", "a.example", "SRS0=-FKL=2W=x.example=user150@a.example", SRS_OK,
	 "user150@x.example"},
	{TEST_S, "SRS0=vmyzAb=2W=otherdomain.com=test@example.com", SRS_OK, "test@otherdomain.com"},
	{TEST_S, "\"SRS0=" TEST_V "\"", SRS_NOT_SRS, ""}, /* domain: example.com" */
	{TEST_S, "\"SRS0=vmyz=2W=otherdomain.com=test\"@example.com", SRS_OK,
	 "test@otherdomain.com"},
	{"tops3cr3t", "a.example", "\"SRS0=K8XP=2W=x.example=john doe\"@a.example", SRS_OK,
	 "\"john doe\"@x.example"},
	/* SRS1: to the first forwarder's SRS0 address */
	{"b-secret-key", "b.example", "SRS1=bvWP=a.example==6zgO=2W=origin.example=alice@b.example",
	 SRS_OK, "SRS0=6zgO=2W=origin.example=alice@a.example"},
	{"c-secret", "c.example", "srs1=VY_h=A.EXAMPLE==6ZGO=2W=ORIGIN.EXAMPLE=ALICE@C.EXAMPLE",
	 SRS_OK, "SRS0=6ZGO=2W=ORIGIN.EXAMPLE=ALICE@A.EXAMPLE"},
	{"c-secret", "c.example", "SRS1=p8xA=b.example=+lJQE=2W=y.example=x@c.example", SRS_OK,
	 "SRS0+lJQE=2W=y.example=x@b.example"},
	/* tampered: forged */
	{TEST_S, "SRS0=vmyA=2W=otherdomain.com=test@example.com", SRS_BAD_HASH, ""},
	{TEST_S, "SRS0=vmy=2W=otherdomain.com=test@example.com", SRS_BAD_HASH, ""},
	{TEST_S, "SRS0=vmy!=2W=otherdomain.com=test@example.com", SRS_BAD_HASH, ""},
	{TEST_S, "SRS0=vmyz!=2W=otherdomain.com=test@example.com", SRS_BAD_HASH, ""},
	{TEST_S, "SRS0=vmyz=2W=otherdomain.com=test2@example.com", SRS_BAD_HASH, ""},
	{TEST_S, "SRS0=vmyz=2W=otherdomain.org=test@example.com", SRS_BAD_HASH, ""},
	{TEST_S, "SRS0=vmyz=2X=otherdomain.com=test@example.com", SRS_BAD_HASH, ""},
	{TEST_S, "SRS0=vmyzvmyzvmyzvmyzvmyzvmyzvmyz=2W=otherdomain.com=test@example.com",
	 SRS_BAD_HASH, ""},
	{"tops3cr3u", "example.com", "SRS0=" TEST_V, SRS_BAD_HASH, ""},
	{"b-secret-key", "b.example", "SRS1=bvWP=a.example==6zgO=2W=origin.example=alicf@b.example",
	 SRS_BAD_HASH, ""},
	{"b-secret-key", "b.example", "SRS1=bvWP=x.example==6zgO=2W=origin.example=alice@b.example",
	 SRS_BAD_HASH, ""},
	/* not ours, not SRS */
	{TEST_S, "test@example.com", SRS_NOT_SRS, ""},
	{TEST_S, "SRS0=vmyz=2W=otherdomain.com=test@example.org", SRS_NOT_SRS, ""},
	{TEST_S, "SRS2=" TEST_V, SRS_NOT_SRS, ""},
	{TEST_S, "SRS0_" TEST_V, SRS_NOT_SRS, ""},
	{TEST_S, "SRS0@example.com", SRS_NOT_SRS, ""},
	{TEST_S, "SRS0=", SRS_NOT_SRS, ""},
	{TEST_S, "", SRS_NOT_SRS, ""},
	{TEST_S, "@", SRS_NOT_SRS, ""},
	/* malformed */
	{TEST_S, "SRS0=@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS0=vmyz=2W=otherdomain.com@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS0=vmyz=2W=otherdomain.com=@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS0=vmyz=2W==test@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS0==2W=otherdomain.com=test@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS0=vmyz=21=otherdomain.com=test@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS0=vmyz=2WW=otherdomain.com=test@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS0=vmyz=2W=other domain=test@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS0=vmyz=2W=otherdomain.com=te\001st@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS1=x@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS1=x=a.example@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS1=x=a.example=@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS1=x=a.example=x@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS1=x=a.example==@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "SRS1==a.example==x@example.com", SRS_BAD_SYNTAX, ""},
	{TEST_S, "\"SRS0=a\\\"@example.com", SRS_BAD_SYNTAX, ""},
	{"", "example.com", "SRS0=" TEST_V, SRS_BAD_PARAMS, ""},
};

/* test_reverse_table - every row of test_rev_cases. */
static void test_reverse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_rev_cases); i++) {
		const struct test_rev_case *tc = &test_rev_cases[i];
		struct srs_params p = test_params(tc->secret, tc->domain, TEST_T);
		char out[SRS_ADDRESS_MAX + 1];
		enum srs_result rc = srs_reverse(&p, tc->rcpt, strlen(tc->rcpt), out);

		if (rc != tc->rc || strcmp(out, tc->out) != 0)
			fail_msg("case %zu <%s>: %d (%s) <%s>, want %d <%s>", i, tc->rcpt, rc,
				 srs_strerror(rc), out, tc->rc, tc->out);
	}
}

/* test_round_trip_one - forward sender at `at`, reverse it `later` seconds after; want back. */
static enum srs_result test_round_trip_one(const char *sender, const char *want, time_t at,
					   time_t later, unsigned max_age)
{
	struct srs_params p = test_params("round-trip-secret", "fwd.example", at);
	char srs[SRS_ADDRESS_MAX + 1], back[SRS_ADDRESS_MAX + 1];
	enum srs_result rc;

	p.max_age_days = max_age;
	assert_int_equal(srs_forward(&p, sender, strlen(sender), srs), SRS_OK);
	assert_true(srs_is_srs_local(srs, strlen(srs)));
	p.now = at + later;
	rc = srs_reverse(&p, srs, strlen(srs), back);
	if (rc == SRS_OK && strcmp(back, want) != 0)
		fail_msg("<%s> via <%s>: back <%s>, want <%s>", sender, srs, back, want);
	if (rc != SRS_OK)
		assert_string_equal(back, "");
	return rc;
}

/* test_round_trip - whatever is forwarded reverses to the sender (quoting normalized). */
static void test_round_trip(void **state)
{
	static const char *const senders[][2] = {
		{"alice@origin.example", "alice@origin.example"},
		{"Alice.Smith+tag@Origin.Example", "Alice.Smith+tag@Origin.Example"},
		{"\"a b\"@x.example", "\"a b\"@x.example"},
		{"\"q\\\"uo\\\\te\"@x.example", "\"q\\\"uo\\\\te\"@x.example"},
		{"\"plain\"@x.example", "plain@x.example"},
		{"\"a@b\"@x.example", "\"a@b\"@x.example"},
		{"a..b@x.example", "\"a..b\"@x.example"},
		{"j\xc3\xbcrgen@m\xc3\xbcnchen.example", "j\xc3\xbcrgen@m\xc3\xbcnchen.example"},
		{"user@[192.0.2.1]", "user@[192.0.2.1]"},
		{"user@[IPv6:2001:db8::1]", "user@[IPv6:2001:db8::1]"},
		{"a=b=c@x.example", "a=b=c@x.example"},
		{"SRS0=x@x.example", "SRS0=x@x.example"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(senders); i++)
		assert_int_equal(test_round_trip_one(senders[i][0], senders[i][1], TEST_T, 3600, 0),
				 SRS_OK);
}

/* test_long_local - SRS local parts past 64 work up to 255; past that the forward is refused. */
static void test_long_local(void **state)
{
	struct srs_params p = test_params("k", "fwd.example", TEST_T);
	char sender[400], out[SRS_ADDRESS_MAX + 1], back[SRS_ADDRESS_MAX + 1];
	/* SRS0=HHHH=TT=x.example= is 23 characters: 232 more make 255 */
	size_t fit = SRS_LOCAL_MAX - 23;

	(void)state;
	memset(sender, 'u', fit);
	strcpy(sender + fit, "@x.example");
	assert_int_equal(srs_forward(&p, sender, strlen(sender), out), SRS_OK);
	assert_int_equal(strchr(out, '@') - out, SRS_LOCAL_MAX);
	assert_int_equal(srs_reverse(&p, out, strlen(out), back), SRS_OK);
	assert_string_equal(back, sender);
	memset(sender, 'u', fit + 1);
	strcpy(sender + fit + 1, "@x.example");
	assert_int_equal(srs_forward(&p, sender, strlen(sender), out), SRS_TOO_LONG);
	assert_string_equal(out, "");
	memset(sender, 'u', 300);
	strcpy(sender + 300, "@x.example");
	assert_int_equal(srs_forward(&p, sender, strlen(sender), out), SRS_TOO_LONG);
	/* an SRS local part of 256 is refused on the way back, whatever it holds */
	memcpy(sender, "SRS0=", 5);
	strcpy(sender + 256, "@fwd.example");
	assert_int_equal(srs_reverse(&p, sender, strlen(sender), back), SRS_TOO_LONG);
}

/* test_expiry - 21 days by default, max_age_days, a day ahead at most, across the wrap. */
static void test_expiry(void **state)
{
	const char *s = "alice@origin.example";

	(void)state;
	for (int d = 0; d <= 21; d++)
		assert_int_equal(test_round_trip_one(s, s, TEST_T, d * TEST_DAY, 0), SRS_OK);
	assert_int_equal(test_round_trip_one(s, s, TEST_T, 22 * TEST_DAY, 0), SRS_EXPIRED);
	assert_int_equal(test_round_trip_one(s, s, TEST_T, 500 * TEST_DAY, 0), SRS_EXPIRED);
	assert_int_equal(test_round_trip_one(s, s, TEST_T, 1023 * TEST_DAY, 0), SRS_OK); /* = -1 day */
	/* from the future: a day of clock skew is fine, more is not */
	assert_int_equal(test_round_trip_one(s, s, TEST_T, -1 * TEST_DAY, 0), SRS_OK);
	assert_int_equal(test_round_trip_one(s, s, TEST_T, -2 * TEST_DAY, 0), SRS_EXPIRED);
	assert_int_equal(test_round_trip_one(s, s, TEST_T, -30 * TEST_DAY, 0), SRS_EXPIRED);
	/* a shorter max age */
	assert_int_equal(test_round_trip_one(s, s, TEST_T, 5 * TEST_DAY, 5), SRS_OK);
	assert_int_equal(test_round_trip_one(s, s, TEST_T, 6 * TEST_DAY, 5), SRS_EXPIRED);
	/* slot 1020 ("7Y"): ten days later the day count has wrapped to 6 */
	time_t wrap = (time_t)(18262 - 854 + 1020) * TEST_DAY + 7;
	assert_int_equal(test_round_trip_one(s, s, wrap, 10 * TEST_DAY, 0), SRS_OK);
	assert_int_equal(test_round_trip_one(s, s, wrap, 30 * TEST_DAY, 0), SRS_EXPIRED);
	/* the postsrsd vector: valid on day 21, not on day 22 (libsrs2 agrees) */
	struct srs_params p = test_params(TEST_S, TEST_T + 21 * TEST_DAY);
	char out[SRS_ADDRESS_MAX + 1];
	assert_int_equal(srs_reverse(&p, "SRS0=" TEST_V, strlen("SRS0=" TEST_V), out), SRS_OK);
	p.now += TEST_DAY;
	assert_int_equal(srs_reverse(&p, "SRS0=" TEST_V, strlen("SRS0=" TEST_V), out), SRS_EXPIRED);
	/* a forged stamp with the wrong hash is forged, not expired */
	p.now = TEST_T;
	const char *forged = "SRS0=vmyz=AA=otherdomain.com=test@example.com";
	assert_int_equal(srs_reverse(&p, forged, strlen(forged), out), SRS_BAD_HASH);
}

/* test_recase - mode 1: s upper case; -1: lower case; 0: every third letter (from seed) flipped. */
static void test_recase(char *s, unsigned seed, int mode)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		int c = (unsigned char)s[i];
		if (mode > 0 || (mode == 0 && (i + seed) % 3 == 0 && islower(c)))
			s[i] = (char)toupper(c);
		else if (mode < 0 || (mode == 0 && (i + seed) % 3 == 0))
			s[i] = (char)tolower(c);
	}
}

/* test_case_changes - an MTA may change the case of the local part, or of everything. */
static void test_case_changes(void **state)
{
	struct srs_params p = test_params("case-secret", "fwd.example", TEST_T);
	const char *sender = "Alice.Smith@Origin.Example";
	char srs[SRS_ADDRESS_MAX + 1], mangled[SRS_ADDRESS_MAX + 1], back[SRS_ADDRESS_MAX + 1];

	(void)state;
	assert_int_equal(srs_forward(&p, sender, strlen(sender), srs), SRS_OK);
	for (int mode = -1; mode <= 1; mode++) {
		for (unsigned seed = 0; seed < (mode == 0 ? 3u : 1u); seed++) {
			strcpy(mangled, srs);
			test_recase(mangled, seed, mode);
			assert_int_equal(srs_reverse(&p, mangled, strlen(mangled), back), SRS_OK);
			assert_int_equal(strcasecmp(back, sender), 0);
		}
	}
	strcpy(mangled, srs);
	test_recase(mangled, 0, 1);
	srs_reverse(&p, mangled, strlen(mangled), back);
	assert_string_equal(back, "ALICE.SMITH@ORIGIN.EXAMPLE");
}

/* test_double_forwarding - A -> B -> C; bounces at C and B go to A, which goes to the sender. */
static void test_double_forwarding(void **state)
{
	struct srs_params a = test_params("secret-of-a", "a.example", TEST_T);
	struct srs_params b = test_params("secret-of-b", "b.example", TEST_T + 3600);
	struct srs_params c = test_params("secret-of-c", "c.example", TEST_T + 7200);
	const char *orig = "alice@origin.example";
	char at_a[SRS_ADDRESS_MAX + 1], at_b[SRS_ADDRESS_MAX + 1], at_c[SRS_ADDRESS_MAX + 1];
	char back[SRS_ADDRESS_MAX + 1], back2[SRS_ADDRESS_MAX + 1];

	(void)state;
	assert_int_equal(srs_forward(&a, orig, strlen(orig), at_a), SRS_OK);
	assert_int_equal(strncmp(at_a, "SRS0=", 5), 0);
	assert_int_equal(srs_forward(&b, at_a, strlen(at_a), at_b), SRS_OK);
	assert_int_equal(strncmp(at_b, "SRS1=", 5), 0);
	assert_non_null(strstr(at_b, "=a.example=="));
	assert_int_equal(srs_forward(&c, at_b, strlen(at_b), at_c), SRS_OK);
	assert_int_equal(strncmp(at_c, "SRS1=", 5), 0);
	assert_non_null(strstr(at_c, "=a.example==")); /* the first hop is kept, B is skipped */
	/* the bounce at B, then at A */
	assert_int_equal(srs_reverse(&b, at_b, strlen(at_b), back), SRS_OK);
	assert_string_equal(back, at_a);
	assert_int_equal(srs_reverse(&a, back, strlen(back), back2), SRS_OK);
	assert_string_equal(back2, orig);
	/* the bounce at C goes straight to A */
	assert_int_equal(srs_reverse(&c, at_c, strlen(at_c), back), SRS_OK);
	assert_string_equal(back, at_a);
	/* nobody else's address verifies */
	assert_int_equal(srs_reverse(&a, at_b, strlen(at_b), back), SRS_NOT_SRS);
	c.domain = "b.example";
	assert_int_equal(srs_reverse(&c, at_b, strlen(at_b), back), SRS_BAD_HASH);
	/* B refuses its SRS1 address once A's stamp inside is stale; A would too */
	b.now = TEST_T + 30 * TEST_DAY;
	assert_int_equal(srs_reverse(&b, at_b, strlen(at_b), back), SRS_EXPIRED);
	a.now = b.now;
	assert_int_equal(srs_reverse(&a, at_a, strlen(at_a), back), SRS_EXPIRED);
}

/* test_mutations - every single-byte change of a valid address is refused or means the same. */
static void test_mutations(void **state)
{
	static const char subst[] = { 'x', 'Q', '=', '@', '\0', ' ', '"', '\\', '-', '\x80' };
	struct srs_params p = test_params("mutation-secret", "fwd.example", TEST_T);
	const char *sender = "alice@origin.example";
	char srs[SRS_ADDRESS_MAX + 1], m[SRS_ADDRESS_MAX + 1], back[SRS_ADDRESS_MAX + 1];
	size_t n;

	(void)state;
	assert_int_equal(srs_forward(&p, sender, strlen(sender), srs), SRS_OK);
	n = strlen(srs);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sizeof(subst); k++) {
			memcpy(m, srs, n + 1);
			if (m[i] == subst[k])
				continue;
			m[i] = subst[k];
			enum srs_result rc = srs_reverse(&p, m, n, back);
			if (rc == SRS_OK && strcasecmp(back, sender) != 0)
				fail_msg("<%.*s> (byte %zu) reversed to <%s>", (int)n, m, i, back);
			/* the same: '=' -> '-' after the tag, or a change of case */
			bool same = i == 4 || tolower((unsigned char)srs[i]) == tolower((unsigned char)subst[k]);
			if (rc == SRS_OK && !same)
				fail_msg("<%.*s> (byte %zu) accepted", (int)n, m, i);
		}
	}
}

/* test_rand - a small deterministic generator (xorshift32). */
static uint32_t test_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* test_garbage - random inputs over an SRS-heavy alphabet: bounded, terminated, in range. */
static void test_garbage(void **state)
{
	static const char alpha[] = "SRS01=-+@\"\\.aZ2W \x01\xff";
	struct srs_params p = test_params("garbage", "fwd.example", TEST_T);
	char in[1100], out[SRS_ADDRESS_MAX + 1];
	uint32_t seed = 12345;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t len = test_rand(&seed) % (round < 10000 ? 40 : sizeof(in));
		for (size_t i = 0; i < len; i++)
			in[i] = alpha[test_rand(&seed) % (sizeof(alpha) - 1)];
		if (round % 3 == 0 && len > 17)
			memcpy(in + len - 12, "@fwd.example", 12);
		if (round % 2 == 0 && len > 5)
			memcpy(in, "SRS0=", 5);
		for (int dir = 0; dir < 2; dir++) {
			memset(out, 'X', sizeof(out));
			enum srs_result rc = dir ? srs_reverse(&p, in, len, out)
						 : srs_forward(&p, in, len, out);
			assert_true(rc >= SRS_OK && rc <= SRS_BAD_PARAMS);
			assert_non_null(memchr(out, '\0', sizeof(out)));
			assert_true(rc == SRS_OK || rc == SRS_OWN_DOMAIN || out[0] == '\0');
		}
	}
}

/* test_misc - srs_is_srs_local, srs_strerror, parameters. */
static void test_misc(void **state)
{
	struct srs_params p = test_params(TEST_S, TEST_T);
	char out[SRS_ADDRESS_MAX + 1];

	(void)state;
	assert_true(srs_is_srs_local("SRS0=x", 6));
	assert_true(srs_is_srs_local("srs1-", 5));
	assert_true(srs_is_srs_local("\"SRS0+a b\"", 10));
	assert_false(srs_is_srs_local("SRS0", 4));
	assert_false(srs_is_srs_local("SRS3=x", 6));
	assert_false(srs_is_srs_local("", 0));
	assert_false(srs_is_srs_local("\"", 1));
	for (int r = SRS_OK; r <= SRS_BAD_PARAMS; r++)
		assert_true(strlen(srs_strerror((enum srs_result)r)) > 0);
	assert_string_equal(srs_strerror(SRS_BAD_HASH), "forged SRS address (bad hash)");
	p.max_age_days = 1001;
	assert_int_equal(srs_forward(&p, "a@b.example", 11, out), SRS_BAD_PARAMS);
	p.max_age_days = 1000;
	assert_int_equal(srs_forward(&p, "a@b.example", 11, out), SRS_OK);
	p.secret = NULL;
	assert_int_equal(srs_reverse(&p, "SRS0=" TEST_V, strlen("SRS0=" TEST_V), out),
			 SRS_BAD_PARAMS);
	assert_int_equal(srs_forward(NULL, "a@b.example", 11, out), SRS_BAD_PARAMS);
}

/* test_tmpdir - a new empty directory under /tmp. */
static char *test_tmpdir(void)
{
	char *dir = strdup("/tmp/test_srs.XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

/* test_write_file - path := text. */
static void test_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* test_secret_created - made once (0600, 64 hex digits), then read back the same. */
static void test_secret_created(void **state)
{
	char *dir = test_tmpdir(), *error = NULL, path[300];
	unsigned char key[SRS_SECRET_MAX], key2[SRS_SECRET_MAX];
	size_t len = 0, len2 = 0;
	struct stat st;

	(void)state;
	assert_int_equal(srs_secret_load(dir, key, &len, &error), 0);
	assert_null(error);
	assert_int_equal(len, 64);
	for (size_t i = 0; i < len; i++)
		assert_non_null(strchr("0123456789abcdef", key[i]));
	snprintf(path, sizeof(path), "%s/srs.secret", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 65);
	assert_int_equal(srs_secret_load(dir, key2, &len2, &error), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(key, key2, len);
	/* nothing else was left behind */
	snprintf(path, sizeof(path), "rm %s/srs.secret && rmdir %s", dir, dir);
	assert_int_equal(system(path), 0);
	/* another directory, another secret */
	char *dir2 = test_tmpdir();
	assert_int_equal(srs_secret_load(dir2, key2, &len2, &error), 0);
	assert_memory_not_equal(key, key2, len);
	snprintf(path, sizeof(path), "rm -r %s", dir2);
	assert_int_equal(system(path), 0);
	free(dir);
	free(dir2);
}

/* test_secret_existing - a postsrsd-style file is used as it is; bad files are errors. */
static void test_secret_existing(void **state)
{
	char *dir = test_tmpdir(), *error = NULL, path[300];
	unsigned char key[SRS_SECRET_MAX];
	size_t len = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/srs.secret", dir);
	test_write_file(path, "my-postsrsd-secret-text\r\nsecond-line-ignored\n");
	assert_int_equal(srs_secret_load(dir, key, &len, &error), 0);
	assert_int_equal(len, 23);
	assert_memory_equal(key, "my-postsrsd-secret-text", 23);
	test_write_file(path, "short\n");
	assert_int_equal(srs_secret_load(dir, key, &len, &error), -1);
	assert_non_null(strstr(error, "srs.secret"));
	assert_null(strstr(error, "short")); /* never the secret in an error */
	free(error);
	error = NULL;
	char big[400];
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	test_write_file(path, big);
	assert_int_equal(srs_secret_load(dir, key, &len, &error), -1);
	free(error);
	error = NULL;
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/hostname", path), 0); /* never followed */
	assert_int_equal(srs_secret_load(dir, key, &len, &error), -1);
	assert_non_null(strstr(error, "open"));
	free(error);
	error = NULL;
	snprintf(path, sizeof(path), "rm -r %s", dir);
	assert_int_equal(system(path), 0);
	/* a missing data_dir is an error, not a crash */
	assert_int_equal(srs_secret_load(dir, key, &len, &error), -1);
	assert_non_null(strstr(error, dir));
	free(error);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_table),
		cmocka_unit_test(test_reverse_table),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_long_local),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_case_changes),
		cmocka_unit_test(test_double_forwarding),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_secret_created),
		cmocka_unit_test(test_secret_existing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_authres - writing the Authentication-Results field (RFC 8601) from
 * hostile values, and recognising one that claims our authserv-id.
 *
 * Every expected field in test_fmt_cases was read back by an independent
 * parser, Debian's python3-authres 1.2.0:
 *
 *   /usr/bin/python3 -c 'import authres, sys; h = authres.AuthenticationResultsHeader.parse(
 *       sys.stdin.read().rstrip("\n")); print(h.authserv_id,
 *       [(r.method, r.result, r.reason, [(p.type, p.name, p.value) for p in r.properties])
 *        for r in h.results])'
 *
 * which gives for them: (1) spf pass mailfrom user@example.com; dkim pass
 * d/s/b; dmarc pass policy none from example.com. (2) spf softfail mailfrom
 * '"john doe"@xn--bcher-kva.example'; dkim fail reason 'bad sig??' b
 * 'ab/c+d=e'; dkim pass d xn--bcher-kva.example s 's?'; dmarc fail policy
 * quarantine from 'x\"y; dmarc=pass' (the injected "dmarc=pass" stays
 * inside the value). (3) spf permerror helo 'helo.example?'; dkim none.
 * (4) spf neutral mailfrom '"john\" doe"@example.com'. (5) spf fail mailfrom
 * '???@example.com??'. (6) dkim permerror s 's'. python3-authres accepts a
 * quoted-string pvalue only as the last property of a resinfo, so it drops
 * the quoted header.d/header.s of (2) and (6) but parses the rest; RFC 8601
 * 2.2 allows them anywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dmarc/authres.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct authres_dkim test_dkim_plain[] = {
	{"pass", "example.com", "sel1", "Xm8Q7T6k", NULL},
};
static const struct authres_dkim test_dkim_hostile[] = {
	{"fail", "evil.example\r\nX-Injected: yes", "s\"2\\", "ab/c+d=e", "bad sig\r\n"},
	{"pass", "b\xc3\xbc" "cher.example", "s\x01", NULL, NULL},
};
#define TEST_A10 "aaaaaaaaaa"
#define TEST_A100 TEST_A10 TEST_A10 TEST_A10 TEST_A10 TEST_A10 TEST_A10 TEST_A10 TEST_A10 TEST_A10 TEST_A10
#define TEST_A256 TEST_A100 TEST_A100 TEST_A10 TEST_A10 TEST_A10 TEST_A10 TEST_A10 "aaaaaa"
#define TEST_A300 TEST_A100 TEST_A100 TEST_A100
static const struct authres_dkim test_dkim_long[] = {
	{"permerror", TEST_A300, "s", NULL, NULL},
};

/* One field: the verdicts and the exact text. */
struct test_fmt_case {
	struct authres ar;
	const char *want;
};

static const struct test_fmt_case test_fmt_cases[] = {
	{{.hostname = "mx.example.org", .spf = "pass", .spf_mailfrom = "user@example.com",
	  .dkim = test_dkim_plain, .n_dkim = 1, .dmarc = "pass", .dmarc_from = "example.com",
	  .dmarc_p = "reject", .dmarc_policy = "none"},
	 "Authentication-Results: mx.example.org;\n"
	 "\tspf=pass smtp.mailfrom=user@example.com;\n"
	 "\tdkim=pass header.d=example.com header.s=sel1 header.b=Xm8Q7T6k;\n"
	 "\tdmarc=pass (p=reject) policy.dmarc=none header.from=example.com\n"},
	{{.hostname = "mx.example.org", .spf = "softfail", .spf_mailfrom = "john doe@b\xc3\xbc" "cher.example",
	  .dkim = test_dkim_hostile, .n_dkim = 2, .dmarc = "fail", .dmarc_from = "x\"y; dmarc=pass",
	  .dmarc_p = "re ject", .dmarc_policy = "quarantine"},
	 "Authentication-Results: mx.example.org;\n"
	 "\tspf=softfail smtp.mailfrom=\"john doe\"@xn--bcher-kva.example;\n"
	 "\tdkim=fail reason=\"bad sig??\" header.d=\"evil.example??X-Injected: yes\"\n"
	 "\theader.s=\"s\\\"2\\\\\" header.b=\"ab/c+d=e\";\n"
	 "\tdkim=pass header.d=xn--bcher-kva.example header.s=\"s?\";\n"
	 "\tdmarc=fail policy.dmarc=quarantine header.from=\"x\\\"y; dmarc=pass\"\n"},
	{{.hostname = "mx.example.org", .spf = "pa ss", .spf_helo = "helo.example\n"},
	 "Authentication-Results: mx.example.org;\n"
	 "\tspf=permerror smtp.helo=\"helo.example?\";\n"
	 "\tdkim=none\n"},
	{{.hostname = "mx.example.org", .spf = "neutral", .spf_mailfrom = "\"john\\\" doe\"@example.com"},
	 "Authentication-Results: mx.example.org;\n"
	 "\tspf=neutral smtp.mailfrom=\"john\\\" doe\"@example.com;\n"
	 "\tdkim=none\n"},
	{{.hostname = "mx.example.org", .spf = "fail", .spf_mailfrom = "\xe7\x94\xa8@example.com\r\n"},
	 "Authentication-Results: mx.example.org;\n"
	 "\tspf=fail smtp.mailfrom=\"???@example.com??\";\n"
	 "\tdkim=none\n"},
	{{.hostname = "mx.example.org", .dkim = test_dkim_long, .n_dkim = 1},
	 "Authentication-Results: mx.example.org;\n"
	 "\tdkim=permerror\n"
	 "\theader.d=\"" TEST_A256 "\"\n"
	 "\theader.s=s\n"},
	/* not checked with python3-authres, which reads no quoted authserv-id (RFC 8601 allows it) */
	{{.hostname = "bad host;", .spf = "pass", .spf_mailfrom = "\"unclosed@example.com"},
	 "Authentication-Results: \"bad host;\";\n"
	 "\tspf=pass smtp.mailfrom=\"\\\"unclosed\"@example.com;\n"
	 "\tdkim=none\n"},
	{{.hostname = "mx.example.org", .spf = "pass", .spf_mailfrom = "\"a\\\"@example.com"},
	 "Authentication-Results: mx.example.org;\n"
	 "\tspf=pass smtp.mailfrom=\"\\\"a\\\\\\\"\"@example.com;\n"
	 "\tdkim=none\n"},
	{{.hostname = "mx.example.org", .spf = "none", .spf_mailfrom = "", .dmarc = "none", .dmarc_from = ""},
	 "Authentication-Results: mx.example.org;\n"
	 "\tspf=none smtp.mailfrom=\"\";\n"
	 "\tdkim=none;\n"
	 "\tdmarc=none header.from=\"\"\n"},
};

/* test_format - every row of test_fmt_cases, byte for byte. */
static void test_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_fmt_cases); i++) {
		char *got = authres_format(&test_fmt_cases[i].ar);

		printf("%s", got);
		assert_string_equal(got, test_fmt_cases[i].want);
		free(got);
	}
}

/* test_check_safe - only printable ASCII, "\n\t" folds, one final "\n", no line past 998 octets. */
static void test_check_safe(const char *s)
{
	size_t line = 0, n = strlen(s);

	assert_true(n > 0 && s[n - 1] == '\n');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			assert_true(i + 1 == n || s[i + 1] == '\t');
			line = 0;
			continue;
		}
		assert_true((c >= 0x20 && c < 0x7f) || (c == '\t' && line == 0));
		assert_true(++line <= 998);
	}
}

/* test_format_every_byte - each byte value, and runs of it, in every attacker-supplied field. */
static void test_format_every_byte(void **state)
{
	char v[600];

	(void)state;
	for (int c = 1; c < 256; c++) {
		for (size_t len = 1; len < sizeof(v); len = len * 3 + 1) {
			struct authres_dkim d = {v, v, v, v, v};
			struct authres ar = {"mx.example.org", v, v, v, &d, 1, v, v, v, v};
			char *got;

			memset(v, c, len);
			v[len] = '\0';
			if (len > 2) {
				v[len / 2] = '@';
				v[1] = '"';
			}
			got = authres_format(&ar);
			test_check_safe(got);
			free(got);
		}
	}
}

/* test_format_cut - a value past AUTHRES_VALUE_MAX is cut and quoted; a long token stays whole below it. */
static void test_format_cut(void **state)
{
	char d[AUTHRES_VALUE_MAX + 2];
	struct authres_dkim dk = {"pass", d, NULL, NULL, NULL};
	struct authres ar = {.hostname = "mx", .dkim = &dk, .n_dkim = 1};
	char *got;

	(void)state;
	memset(d, 'x', AUTHRES_VALUE_MAX);
	d[AUTHRES_VALUE_MAX] = '\0';
	got = authres_format(&ar);
	assert_non_null(strstr(got, "\theader.d=xxx"));
	free(got);
	d[AUTHRES_VALUE_MAX] = 'y';
	d[AUTHRES_VALUE_MAX + 1] = '\0';
	got = authres_format(&ar);
	assert_non_null(strstr(got, "\theader.d=\"xxx"));
	assert_null(strchr(got, 'y'));
	free(got);
}

/* One claim: field value (after the colon), our id, verdict. */
struct test_claim_case {
	const char *value, *id;
	bool claims;
};

static const struct test_claim_case test_claim_cases[] = {
	{"mx.example.org; spf=pass smtp.mailfrom=a@example.com", "mx.example.org", true},
	{" mx.example.org;\r\n\tdkim=pass header.d=example.com", "mx.example.org", true},
	{"MX.Example.ORG; none", "mx.example.org", true},
	{"mx.example.org", "MX.EXAMPLE.ORG", true},
	{"mx.example.org 1; spf=pass", "mx.example.org", true},           /* authres-version */
	{"mx.example.org (v1) 1 (x); spf=pass", "mx.example.org", true},
	{"(forged) mx.example.org; dmarc=pass", "mx.example.org", true},
	{"(a (nested \\) comment)) mx.example.org; dmarc=pass", "mx.example.org", true},
	{"mx.example.org(comment); dmarc=pass", "mx.example.org", true},
	{"\r\n mx.example.org; none", "mx.example.org", true},           /* folded first */
	{"\"mx.example.org\"; spf=pass", "mx.example.org", true},        /* quoted-string */
	{"\"mx.ex\\ample.org\"; spf=pass", "mx.example.org", true},      /* quoted-pair */
	{"mx.example.org.; spf=pass", "mx.example.org", true},           /* trailing dot */
	{"mx.example.org; spf=pass", "mx.example.org.", true},
	{"mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=20230601 header.b=Xm8Q7T6k;",
	 "mx.google.com", true},
	{"other.example.org; spf=pass", "mx.example.org", false},
	{"mx.example.org.evil; spf=pass", "mx.example.org", false},
	{"evil.mx.example.org; spf=pass", "mx.example.org", false},
	{"mx.example.or; spf=pass", "mx.example.org", false},
	{"mx.example.orgx; spf=pass", "mx.example.org", false},
	{"spf=pass; mx.example.org", "mx.example.org", false},
	{"(mx.example.org) other.example; none", "mx.example.org", false},
	{"(unclosed mx.example.org; none", "mx.example.org", false},
	{"\"mx.example.org; none", "mx.example.org", false},             /* unclosed quote */
	{"\"mx.example.org\\", "mx.example.org", false},
	{"", "mx.example.org", false},
	{"   ", "mx.example.org", false},
	{";", "mx.example.org", false},
	{"mx.example.org;", "", false},
	{"\"\"; none", "", false},
	{".; none", ".", false},
};

/* test_claims - every row of test_claim_cases. */
static void test_claims(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_claim_cases); i++) {
		const struct test_claim_case *c = &test_claim_cases[i];

		printf("  [%s] %s -> %d\n", c->id, c->value, c->claims);
		assert_int_equal(authres_claims(c->value, strlen(c->value), c->id), c->claims);
	}
}

/* test_claims_len - only len bytes are read, and a NULL id claims nothing. */
static void test_claims_len(void **state)
{
	(void)state;
	assert_true(authres_claims("mx.example.orgEXTRA", 14, "mx.example.org"));
	assert_false(authres_claims("mx.example.org", 13, "mx.example.org"));
	assert_false(authres_claims("(x) mx.example.org", 2, "mx.example.org"));
	assert_false(authres_claims("mx.example.org;", 15, NULL));
}

/* test_claims_own_output - what authres_format writes claims its host, and no other. */
static void test_claims_own_output(void **state)
{
	struct authres ar = {.hostname = "mx.example.org", .spf = "pass", .spf_mailfrom = "a@b.example"};
	char *got = authres_format(&ar);
	const char *value = got + strlen("Authentication-Results:");

	(void)state;
	assert_true(authres_claims(value, strlen(value), "mx.example.org"));
	assert_false(authres_claims(value, strlen(value), "b.example"));
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_every_byte),
		cmocka_unit_test(test_format_cut),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_claims_len),
		cmocka_unit_test(test_claims_own_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

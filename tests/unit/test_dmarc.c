/*
 * test_dmarc - the DMARC record parser (RFC 7489 6.3, 6.4, 6.6.3), the
 * organizational domain over Debian's Public Suffix List (3.2), and the
 * evaluation: alignment, sp=, pct= (6.6.2, 6.6.4).
 *
 * The organizational-domain rows were checked against python3-publicsuffix2
 * loaded with the same file (PublicSuffixList(open(path)).get_sld(name,
 * wildcard=True, strict=False)); over ~36,000 names made from every ASCII
 * rule with 0-2 labels in front, the only differences are names that are
 * the base of a wildcard rule ("compute.amazonaws.com" for
 * "*.compute.amazonaws.com"), which publicsuffix2 treats as a suffix and
 * the publicsuffix.org algorithm does not (no rule matches it, so "*"
 * applies): the row for it below follows the algorithm. The A-label forms
 * of all 466 UTF-8 rules match Python's "punycode" codec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dmarc/dmarc.h"
#include "dmarc/dmarc_idna.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* One record: text, 0 or -1, and on 0 what it says. */
struct test_rec_case {
	const char *txt;
	int rc;
	enum dmarc_policy p, sp;
	bool strict_dkim, strict_spf;
	int pct;
	bool fallback;
};

#define N DMARC_P_NONE
#define Q DMARC_P_QUARANTINE
#define R DMARC_P_REJECT

static const struct test_rec_case test_rec_cases[] = {
	{"v=DMARC1; p=none", 0, N, N, false, false, 100, false},
	{"v=DMARC1; p=reject;", 0, R, R, false, false, 100, false},
	{"v=DMARC1;p=quarantine;sp=none;adkim=s;aspf=s;pct=20", 0, Q, N, true, true, 20, false},
	{"  v = DMARC1 ;\tp = Reject ; sp=QUARANTINE ", 0, R, Q, false, false, 100, false},
	{"V=DMARC1; P=reject; ADKIM=S", 0, R, R, true, false, 100, false}, /* names: ABNF strings */
	{"v=DMARC1; rua=mailto:d@example.com; p=reject", 0, R, R, false, false, 100, false}, /* p later */
	{"v=DMARC1; p=reject; pct=0", 0, R, R, false, false, 0, false},
	{"v=DMARC1; p=reject; pct=100", 0, R, R, false, false, 100, false},
	{"v=DMARC1; p=reject; pct=101", 0, R, R, false, false, 100, false}, /* out of range: default */
	{"v=DMARC1; p=reject; pct=-5", 0, R, R, false, false, 100, false},
	{"v=DMARC1; p=reject; pct=0050", 0, R, R, false, false, 100, false}, /* 1*3DIGIT */
	{"v=DMARC1; p=reject; pct=", 0, R, R, false, false, 100, false},
	{"v=DMARC1; p=reject; adkim=x; aspf=strict", 0, R, R, false, false, 100, false},
	{"v=DMARC1; p=none; fo=1; rf=afrf; ri=86400; ruf=mailto:f@x.example; np=reject", 0, N, N, false,
	 false, 100, false},
	{"v=DMARC1; p=reject; future_tag=whatever", 0, R, R, false, false, 100, false},
	/* 6.6.3: bad or missing p= (or bad sp=) with a valid rua= acts as p=none */
	{"v=DMARC1; rua=mailto:d@example.com", 0, N, N, false, false, 100, true},
	{"v=DMARC1; p=bogus; rua=mailto:d@example.com", 0, N, N, false, false, 100, true},
	{"v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com, x", 0, N, N, false, false, 100, true},
	{"v=DMARC1; p=bogus; rua=mailto:d@example.com!10m,https://r.example/", 0, N, N, false, false, 100, true},
	{"v=DMARC1; p=bogus; rua=not a uri", -1, N, N, false, false, 0, false},
	{"v=DMARC1; p=bogus; rua=:nothing", -1, N, N, false, false, 0, false},
	{"v=DMARC1; p=bogus; rua=mailto:", -1, N, N, false, false, 0, false},
	{"v=DMARC1; p=bogus", -1, N, N, false, false, 0, false},
	{"v=DMARC1; p=reject; sp=bogus", -1, N, N, false, false, 0, false},
	{"v=DMARC1", -1, N, N, false, false, 0, false},
	{"v=DMARC1;", -1, N, N, false, false, 0, false},
	{"v=DMARC1; p=", -1, N, N, false, false, 0, false},
	/* not DMARC at all */
	{"", -1, N, N, false, false, 0, false},
	{"p=reject", -1, N, N, false, false, 0, false},                 /* v missing */
	{"p=reject; v=DMARC1", -1, N, N, false, false, 0, false},       /* v not first */
	{"v=dmarc1; p=reject", -1, N, N, false, false, 0, false},       /* %x: exact case */
	{"v=DMARC10; p=reject", -1, N, N, false, false, 0, false},
	{"v=DMARC1 p=reject", -1, N, N, false, false, 0, false},        /* no separator */
	{"v=spf1 -all", -1, N, N, false, false, 0, false},
	/* malformed tag-lists */
	{"v=DMARC1; p=reject; p=none", -1, N, N, false, false, 0, false},       /* duplicate */
	{"v=DMARC1; p=reject; P=none", -1, N, N, false, false, 0, false},       /* duplicate, case */
	{"v=DMARC1; p=reject; x=1; x=2", -1, N, N, false, false, 0, false},     /* duplicate unknown */
	{"v=DMARC1; p=reject; v=DMARC1", -1, N, N, false, false, 0, false},
	{"v=DMARC1; p=reject; garbage", -1, N, N, false, false, 0, false},
	{"v=DMARC1; p=reject; 1x=2", -1, N, N, false, false, 0, false},
	{"v=DMARC1; p=reject;;", 0, R, R, false, false, 100, false},
};

/* test_record_parse - every row of test_rec_cases. */
static void test_record_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_rec_cases); i++) {
		const struct test_rec_case *c = &test_rec_cases[i];
		struct dmarc_record r;
		const char *error = NULL;
		int rc = dmarc_record_parse(c->txt, strlen(c->txt), &r, &error);

		printf("  %s -> %d %s\n", c->txt, rc, rc < 0 ? error : "");
		assert_int_equal(rc, c->rc);
		if (rc < 0) {
			assert_non_null(error);
			continue;
		}
		assert_int_equal(r.p, c->p);
		assert_int_equal(r.sp, c->sp);
		assert_int_equal(r.strict_dkim, c->strict_dkim);
		assert_int_equal(r.strict_spf, c->strict_spf);
		assert_int_equal(r.pct, c->pct);
		assert_int_equal(r.p_fallback, c->fallback);
	}
}

/* test_record_len - only len bytes are read: a record cut short, a NUL inside. */
static void test_record_len(void **state)
{
	struct dmarc_record r;
	const char *error;

	(void)state;
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=rejectXYZ", 18, &r, &error), 0);
	assert_int_equal(r.p, DMARC_P_REJECT);
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=re\0ect", 18, &r, &error), -1);
	assert_int_equal(dmarc_record_parse("v=DMARC1", 7, &r, &error), -1);
}

/* test_record_select - one DMARC record among other TXT records, none, several, one broken (6.6.3). */
static void test_record_select(void **state)
{
	char *one[] = {"v=spf1 -all", "v=DMARC1; p=quarantine", "google-site-verification=x"};
	char *none[] = {"v=spf1 -all", "p=reject"};
	char *two[] = {"v=DMARC1; p=none", "v=DMARC1; p=reject"};
	char *broken[] = {"v=DMARC1; p=nope", "other"};
	struct dmarc_record r = {0};

	(void)state;
	assert_int_equal(dmarc_record_select(one, ARRAY_LEN(one), &r), 1);
	assert_int_equal(r.p, DMARC_P_QUARANTINE);
	assert_int_equal(dmarc_record_select(none, ARRAY_LEN(none), &r), 0);
	assert_int_equal(dmarc_record_select(none, 0, &r), 0);
	assert_int_equal(dmarc_record_select(two, ARRAY_LEN(two), &r), -1);
	assert_int_equal(dmarc_record_select(broken, ARRAY_LEN(broken), &r), -2);
	assert_true(dmarc_record_is_dmarc("v=DMARC1; p=nope", 16));
	assert_false(dmarc_record_is_dmarc("v=DMARC2; p=none", 16));
}

/* test_names - the result and policy words. */
static void test_names(void **state)
{
	(void)state;
	assert_string_equal(dmarc_result_name(DMARC_NONE), "none");
	assert_string_equal(dmarc_result_name(DMARC_PASS), "pass");
	assert_string_equal(dmarc_result_name(DMARC_FAIL), "fail");
	assert_string_equal(dmarc_result_name(DMARC_TEMPERROR), "temperror");
	assert_string_equal(dmarc_result_name(DMARC_PERMERROR), "permerror");
	assert_string_equal(dmarc_policy_name(DMARC_P_NONE), "none");
	assert_string_equal(dmarc_policy_name(DMARC_P_QUARANTINE), "quarantine");
	assert_string_equal(dmarc_policy_name(DMARC_P_REJECT), "reject");
}

/* One name and its organizational domain under the real list. */
struct test_org_case {
	const char *domain, *org;
};

static const struct test_org_case test_org_cases[] = {
	{"example.com", "example.com"},
	{"mail.example.com", "example.com"},
	{"a.b.example.co.uk", "example.co.uk"},
	{"co.uk", "co.uk"},                       /* a public suffix: itself */
	{"uk", "uk"},
	{"com", "com"},
	{"a.b.ck", "a.b.ck"},                     /* *.ck: b.ck is a suffix */
	{"b.ck", "b.ck"},
	{"www.ck", "www.ck"},                     /* !www.ck */
	{"mail.www.ck", "www.ck"},
	{"ck", "ck"},
	{"x.city.kawasaki.jp", "city.kawasaki.jp"}, /* !city.kawasaki.jp under *.kawasaki.jp */
	{"x.y.kawasaki.jp", "x.y.kawasaki.jp"},
	{"x.compute.amazonaws.com", "x.compute.amazonaws.com"}, /* *.compute.amazonaws.com */
	{"compute.amazonaws.com", "amazonaws.com"},             /* no rule matches it: "*" */
	{"alice.github.io", "alice.github.io"},   /* PRIVATE section */
	{"www.alice.github.io", "alice.github.io"},
	{"github.io", "github.io"},
	{"foo.blogspot.com", "foo.blogspot.com"},
	{"localhost", "localhost"},               /* single label */
	{"a.b.c.example", "c.example"},           /* unknown TLD: default rule "*" */
	{"Mail.EXAMPLE.Co.UK", "example.co.uk"},  /* upper case */
	{"mail.example.com.", "example.com"},     /* trailing dot */
	{"example.com.", "example.com"},
	{"a.xn--55qx5d.cn", "a.xn--55qx5d.cn"},   /* 公司.cn, written in UTF-8 in the list */
	{"b.a.xn--55qx5d.cn", "a.xn--55qx5d.cn"},
	{"b.a.公司.cn", "a.公司.cn"},
	{"", ""},
	{".", ""},
	{"example..com", ""},
	{".example.com", ""},
	{"example.com..", ""},
};

/* test_org_domain - every row of test_org_cases with the list from Debian's publicsuffix. */
static void test_org_domain(void **state)
{
	char *error = NULL;
	struct dmarc_psl *psl = dmarc_psl_load(DMARC_PSL_PATH, &error);
	char out[256];

	(void)state;
	if (psl == NULL)
		fail_msg("%s (install Debian's publicsuffix)", error);
	assert_true(dmarc_psl_count(psl) > 5000);
	for (size_t i = 0; i < ARRAY_LEN(test_org_cases); i++) {
		dmarc_org_domain(psl, test_org_cases[i].domain, out);
		printf("  %s -> %s\n", test_org_cases[i].domain, out);
		assert_string_equal(out, test_org_cases[i].org);
	}
	dmarc_psl_free(&psl);
	assert_null(psl);
}

/* test_org_domain_long - 253 characters is a name, 254 is not; NULL is nothing. */
static void test_org_domain_long(void **state)
{
	struct dmarc_psl *psl = dmarc_psl_parse("com\n", 4);
	char name[300], out[256];

	(void)state;
	memset(name, 'a', sizeof(name));
	for (size_t i = 1; i < 253; i += 2)
		name[i] = '.';
	memcpy(name + 253 - 12, ".example.com", 12);
	name[253] = '\0';
	dmarc_org_domain(psl, name, out);
	assert_string_equal(out, "example.com");
	name[253] = '.';
	name[254] = '\0';
	dmarc_org_domain(psl, name, out); /* a trailing dot does not count */
	assert_string_equal(out, "example.com");
	memset(name, 'a', 254); /* 254 characters, no trailing dot */
	name[60] = name[120] = name[180] = '.';
	memcpy(name + 254 - 12, ".example.com", 13);
	dmarc_org_domain(psl, name, out);
	assert_string_equal(out, "");
	dmarc_org_domain(psl, NULL, out);
	assert_string_equal(out, "");
	dmarc_psl_free(&psl);
}

/* test_psl_parse - the list syntax: comments, first word only, CRLF, kinds, bad rules skipped. */
static void test_psl_parse(void **state)
{
	static const char text[] = "// comment\n\nexample\r\n*.wild.example trailing words\n"
	                           "!keep.wild.example\n  indented.example\na.*.bad\n*\n..\nUPPER.Example\n"
	                           "bücher.example\n";
	struct dmarc_psl *psl = dmarc_psl_parse(text, sizeof(text) - 1);
	char out[256];

	(void)state;
	/* example, wild.example, keep.wild.example, upper.example, bücher.example and its A-label */
	assert_int_equal(dmarc_psl_count(psl), 6);
	dmarc_org_domain(psl, "x.y.example", out);
	assert_string_equal(out, "y.example");
	dmarc_org_domain(psl, "x.y.wild.example", out);
	assert_string_equal(out, "x.y.wild.example");
	dmarc_org_domain(psl, "x.keep.wild.example", out);
	assert_string_equal(out, "keep.wild.example");
	dmarc_org_domain(psl, "x.y.upper.example", out);
	assert_string_equal(out, "y.upper.example");
	dmarc_org_domain(psl, "x.y.xn--bcher-kva.example", out);
	assert_string_equal(out, "y.xn--bcher-kva.example");
	dmarc_org_domain(psl, "x.y.indented.example", out); /* "  indented" is no rule */
	assert_string_equal(out, "indented.example");
	dmarc_psl_free(&psl);
	psl = dmarc_psl_parse("", 0);
	dmarc_org_domain(psl, "a.b.example.co.uk", out); /* empty list: "*" only */
	assert_string_equal(out, "co.uk");
	dmarc_psl_free(&psl);
}

/* test_psl_load_missing - a missing file is an error with the path in it. */
static void test_psl_load_missing(void **state)
{
	char *error = NULL;

	(void)state;
	assert_null(dmarc_psl_load("/nonexistent/psl.dat", &error));
	assert_non_null(strstr(error, "/nonexistent/psl.dat"));
	free(error);
	error = NULL;
	assert_null(dmarc_psl_load("/dev/null", &error));
	assert_non_null(strstr(error, "no rules"));
	free(error);
}

/* One name and its A-label form; NULL when it is refused. Expected values from Python's "punycode" codec. */
struct test_idna_case {
	const char *name, *ascii;
};

static const struct test_idna_case test_idna_cases[] = {
	{"example.com", "example.com"},
	{"b\xc3\xbc" "cher.example", "xn--bcher-kva.example"},
	{"\xe5\x85\xac\xe5\x8f\xb8.cn", "xn--55qx5d.cn"},
	{"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd0\xb8\xd1\x81\xd0\xbf\xd1\x8b\xd1\x82"
	 "\xd0\xb0\xd0\xbd\xd0\xb8\xd0\xb5", "xn--e1afmkfd.xn--80akhbyknj4f"},     /* пример.испытание */
	{"her\xc3\xb8y.m\xc3\xb8re-og-romsdal.no", "xn--hery-ira.xn--mre-og-romsdal-qqb.no"},
	{"\xe0\xb2\xad\xe0\xb2\xbe\xe0\xb2\xb0\xe0\xb2\xa4", "xn--2scrj9c"},     /* ಭಾರತ */
	{"\xe3\x83\x89\xe3\x83\xa1\xe3\x82\xa4\xe3\x83\xb3\xe5\x90\x8d\xe4\xbe\x8b.jp",
	 "xn--eckwd4c7cu47r2wf.jp"},                                                     /* ドメイン名例.jp */
	{"a.\xc3\xbc.b", "a.xn--tda.b"},
	{"\xf0\x9f\x98\x80.example", "xn--e28h.example"},                            /* U+1F600 */
	{"bad.\xc3", NULL},                  /* cut sequence */
	{"bad.\xc0\xaf", NULL},              /* overlong */
	{"bad.\xed\xa0\x80", NULL},          /* surrogate */
	{"bad.\xf4\x90\x80\x80", NULL},      /* above U+10FFFF */
	{"bad.\xff", NULL},
};

/* test_idna - A-labels of UTF-8 names, and refusal of bad UTF-8. */
static void test_idna(void **state)
{
	char out[256], label[300];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_idna_cases); i++) {
		const struct test_idna_case *c = &test_idna_cases[i];
		int rc = dmarc_idna_to_ascii(c->name, strlen(c->name), out);

		printf("  %s -> %s\n", c->name, rc == 0 ? out : "(refused)");
		if (c->ascii == NULL) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(out, c->ascii);
	}
	memset(label, 'a', 64); /* a label of 64 is refused, 63 passes */
	assert_int_equal(dmarc_idna_to_ascii(label, 64, out), -1);
	assert_int_equal(dmarc_idna_to_ascii(label, 63, out), 0);
	/* 20 scattered BMP code points, 60 bytes: 74 as an A-label (Python), too long; 15 of them: 57 */
	memcpy(label,
	       "\xe1\x80\x80\xe2\xbb\xaf\xe4\xb7\x9e\xe6\xb3\x8d\xe8\xae\xbc\xea\xaa\xab\xec\xa6"
	       "\x9a\xee\xa2\x89\xe1\x9d\xb8\xe3\x99\xa7\xe5\x95\x96\xe7\x91\x85\xe9\x8c\xb4\xeb"
	       "\x88\xa3\xed\x84\x92\xef\x80\x81\xe1\xbb\xb0\xe3\xb7\x9f\xe5\xb3\x8e\xe7\xae\xbd",
	       60);
	assert_int_equal(dmarc_idna_to_ascii(label, 60, out), -1);
	assert_int_equal(dmarc_idna_to_ascii(label, 45, out), 0);
	assert_int_equal(strlen(out), 57);
}

/* One evaluation. */
struct test_eval_case {
	const char *name;
	const char *record, *from;
	bool spf_pass;
	const char *spf_domain;
	const char *dkim[2];
	bool at_org;
	int roll;
	enum dmarc_result result;
	enum dmarc_policy apply;
};

static const struct test_eval_case test_eval_cases[] = {
	{"spf relaxed same", "v=DMARC1; p=reject", "example.com", true, "example.com", {0}, false, 0, DMARC_PASS, N},
	{"spf relaxed sub", "v=DMARC1; p=reject", "example.com", true, "bounce.example.com", {0}, false, 0,
	 DMARC_PASS, N},
	{"spf relaxed parent", "v=DMARC1; p=reject", "news.example.com", true, "example.com", {0}, false, 0,
	 DMARC_PASS, N},
	{"spf strict sub", "v=DMARC1; p=reject; aspf=s", "example.com", true, "bounce.example.com", {0}, false,
	 0, DMARC_FAIL, R},
	{"spf strict same, case, dot", "v=DMARC1; p=reject; aspf=s", "example.com", true, "EXAMPLE.com.", {0},
	 false, 0, DMARC_PASS, N},
	{"spf not pass", "v=DMARC1; p=reject", "example.com", false, "example.com", {0}, false, 0, DMARC_FAIL, R},
	{"spf other org", "v=DMARC1; p=quarantine", "example.com", true, "example.net", {0}, false, 0, DMARC_FAIL,
	 Q},
	{"spf co.uk siblings", "v=DMARC1; p=reject", "a.co.uk", true, "b.co.uk", {0}, false, 0, DMARC_FAIL, R},
	{"spf github.io siblings", "v=DMARC1; p=reject", "alice.github.io", true, "mallory.github.io", {0}, false,
	 0, DMARC_FAIL, R},
	{"dkim relaxed", "v=DMARC1; p=reject", "example.com", false, NULL, {"mail.example.com"}, false, 0,
	 DMARC_PASS, N},
	{"dkim strict sub", "v=DMARC1; p=reject; adkim=s", "example.com", false, NULL, {"mail.example.com"},
	 false, 0, DMARC_FAIL, R},
	{"dkim strict, second sig", "v=DMARC1; p=reject; adkim=s", "example.com", false, NULL,
	 {"esp.example", "example.com"}, false, 0, DMARC_PASS, N},
	{"dkim third party only", "v=DMARC1; p=reject", "example.com", true, "esp.example", {"esp.example"},
	 false, 0, DMARC_FAIL, R},
	{"strict spf, relaxed dkim", "v=DMARC1; p=reject; aspf=s", "example.com", true, "b.example.com",
	 {"d.example.com"}, false, 0, DMARC_PASS, N},
	{"sp for subdomain", "v=DMARC1; p=reject; sp=quarantine", "news.example.com", false, NULL, {0}, true, 0,
	 DMARC_FAIL, Q},
	{"sp unset: p", "v=DMARC1; p=reject", "news.example.com", false, NULL, {0}, true, 0, DMARC_FAIL, R},
	{"sp, record at from", "v=DMARC1; p=reject; sp=none", "news.example.com", false, NULL, {0}, false, 0,
	 DMARC_FAIL, R},
	{"sp, org itself", "v=DMARC1; p=reject; sp=none", "example.com", false, NULL, {0}, true, 0, DMARC_FAIL, R},
	{"pct in", "v=DMARC1; p=reject; pct=30", "example.com", false, NULL, {0}, false, 29, DMARC_FAIL, R},
	{"pct out: quarantine", "v=DMARC1; p=reject; pct=30", "example.com", false, NULL, {0}, false, 30,
	 DMARC_FAIL, Q},
	{"pct out: none", "v=DMARC1; p=quarantine; pct=30", "example.com", false, NULL, {0}, false, 99,
	 DMARC_FAIL, N},
	{"pct 0", "v=DMARC1; p=reject; pct=0", "example.com", false, NULL, {0}, false, 0, DMARC_FAIL, Q},
	{"pct 100, roll 99", "v=DMARC1; p=reject", "example.com", false, NULL, {0}, false, 99, DMARC_FAIL, R},
	{"pct 100, roll past 99", "v=DMARC1; p=reject", "example.com", false, NULL, {0}, false, 500, DMARC_FAIL,
	 R},
	{"pct on sp", "v=DMARC1; p=reject; sp=quarantine; pct=50", "a.example.com", false, NULL, {0}, true, 50,
	 DMARC_FAIL, N},
	{"p=none fail", "v=DMARC1; p=none", "example.com", false, NULL, {0}, false, 0, DMARC_FAIL, N},
	{"no record", NULL, "example.com", true, "example.com", {0}, false, 0, DMARC_NONE, N},
	{"empty from", "v=DMARC1; p=reject", "", true, "", {""}, false, 0, DMARC_NONE, N},
	{"garbage names", "v=DMARC1; p=reject", "a..b", true, "a..b", {"a..b"}, false, 0, DMARC_FAIL, R},
};

/* test_evaluate - every row of test_eval_cases, with the real list. */
static void test_evaluate(void **state)
{
	char *error = NULL;
	struct dmarc_psl *psl = dmarc_psl_load(DMARC_PSL_PATH, &error);

	(void)state;
	assert_non_null(psl);
	for (size_t i = 0; i < ARRAY_LEN(test_eval_cases); i++) {
		const struct test_eval_case *c = &test_eval_cases[i];
		struct dmarc_record rec;
		const char *err;
		struct dmarc_input in = {c->from, c->spf_pass, c->spf_domain, c->dkim,
		                         c->dkim[1] ? 2 : c->dkim[0] ? 1 : 0};
		enum dmarc_policy apply = DMARC_P_REJECT;
		enum dmarc_result res;

		if (c->record != NULL)
			assert_int_equal(dmarc_record_parse(c->record, strlen(c->record), &rec, &err), 0);
		res = dmarc_evaluate(psl, &in, c->record ? &rec : NULL, c->at_org, c->roll, &apply);
		printf("  %s: %s %s\n", c->name, dmarc_result_name(res), dmarc_policy_name(apply));
		assert_int_equal(res, c->result);
		assert_int_equal(apply, c->apply);
	}
	dmarc_psl_free(&psl);
}

/* test_aligned - the alignment helper on its own. */
static void test_aligned(void **state)
{
	struct dmarc_psl *psl = dmarc_psl_parse("uk\nco.uk\n", 9);

	(void)state;
	assert_true(dmarc_aligned(psl, "a.example.co.uk", "example.co.uk", false));
	assert_false(dmarc_aligned(psl, "a.example.co.uk", "example.co.uk", true));
	assert_false(dmarc_aligned(psl, "a.co.uk", "b.co.uk", false));
	assert_false(dmarc_aligned(psl, NULL, "example.com", false));
	assert_false(dmarc_aligned(psl, "", "", true));
	assert_false(dmarc_aligned(psl, "", "", false));
	dmarc_psl_free(&psl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_parse),
		cmocka_unit_test(test_record_len),
		cmocka_unit_test(test_record_select),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_org_domain_long),
		cmocka_unit_test(test_psl_parse),
		cmocka_unit_test(test_psl_load_missing),
		cmocka_unit_test(test_idna),
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_aligned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

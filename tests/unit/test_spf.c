/*
 * test_spf - the SPF record parser and macro expander from tables (RFC 7208
 * 7.4's examples among them), the check_host() state machine against small
 * zones (limits, errors, %{p}, exp=), and the whole RFC 7208 test suite
 * (Debian's python3-spf: rfc7208-tests.yml.gz, 203 cases), converted by
 * tests/unit/spf_suite.py and run through spf_eval_* with a fake resolver.
 * Prints "RFC 7208 suite: N cases, P passed, K known differences: ...";
 * any other difference fails the test.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "spf/spf.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TEST_SPF_SUITE_CMD "/usr/bin/python3 tests/unit/spf_suite.py"
#define TEST_SPF_MAX_QUERIES 200

/* ---- a fake resolver: answers by (scenario, name, type) ---- */

struct test_rrset {
	int scen;
	char *name;
	enum dns_rrtype type;
	enum dns_rcode rcode;
	size_t n;
	char **rr;
};

struct test_zone {
	struct test_rrset *sets;
	size_t n, cap;
};

/* test_zone_add - one answer: rcode and n values, for the name and type in scenario scen. */
static void test_zone_add(struct test_zone *z, int scen, const char *name, enum dns_rrtype type, enum dns_rcode rc,
			  size_t n, char **vals)
{
	struct test_rrset *s;

	if (z->n == z->cap) {
		z->cap = z->cap ? z->cap * 2 : 64;
		z->sets = realloc(z->sets, z->cap * sizeof(*z->sets));
		assert_non_null(z->sets);
	}
	s = &z->sets[z->n++];
	*s = (struct test_rrset){ scen, strdup(name), type, rc, n, calloc(n + 1, sizeof(char *)) };
	for (size_t i = 0; i < n; i++)
		s->rr[i] = strdup(vals[i]);
}

/* test_zone_set - like test_zone_add, the values as arguments (NULL-terminated), rcode OK. */
static void test_zone_set(struct test_zone *z, const char *name, enum dns_rrtype type, ...)
{
	char *vals[80];
	size_t n = 0;
	va_list ap;

	va_start(ap, type);
	while (n < ARRAY_LEN(vals) && (vals[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	test_zone_add(z, 0, name, type, DNS_R_OK, n, vals);
}

/* test_zone_free - release the zone. */
static void test_zone_free(struct test_zone *z)
{
	for (size_t i = 0; i < z->n; i++) {
		for (size_t j = 0; j < z->sets[i].n; j++)
			free(z->sets[i].rr[j]);
		free(z->sets[i].rr);
		free(z->sets[i].name);
	}
	free(z->sets);
	memset(z, 0, sizeof(*z));
}

/* test_zone_answer - the answer for name/type; NXDOMAIN when the name has nothing. */
static struct dns_answer test_zone_answer(const struct test_zone *z, int scen, const char *name, enum dns_rrtype type)
{
	struct dns_answer a = { DNS_R_NXDOMAIN, 0, NULL };

	for (size_t i = 0; i < z->n; i++) {
		const struct test_rrset *s = &z->sets[i];

		if (s->scen != scen || strcasecmp(s->name, name) != 0)
			continue;
		a.rcode = DNS_R_OK; /* the name exists */
		if (s->type == type)
			return (struct dns_answer){ s->rcode, s->n, s->rr };
	}
	return a;
}

/* The outcome of one evaluation. */
struct test_outcome {
	enum spf_result result;
	char explanation[512];
	bool has_explanation;
	unsigned queries;
	char problem[300];
};

/* test_eval - run one evaluation against zone scenario scen, at most TEST_SPF_MAX_QUERIES questions. */
static struct test_outcome test_eval(const struct test_zone *z, int scen, const struct spf_input *in)
{
	struct spf_eval *e = spf_eval_new(in);
	struct test_outcome o = { 0 };
	const struct dns_answer *ap = NULL;
	struct dns_answer a;
	const char *name, *s;
	enum dns_rrtype type;

	while (spf_eval_next(e, ap, &name, &type) == SPF_STEP_QUERY) {
		assert_true(++o.queries <= TEST_SPF_MAX_QUERIES);
		a = test_zone_answer(z, scen, name, type);
		ap = &a;
	}
	o.result = spf_eval_result(e);
	if ((s = spf_eval_explanation(e)) != NULL) {
		o.has_explanation = true;
		snprintf(o.explanation, sizeof(o.explanation), "%s", s);
	}
	if ((s = spf_eval_problem(e)) != NULL)
		snprintf(o.problem, sizeof(o.problem), "%s", s);
	assert_int_equal(spf_eval_queries(e), o.queries);
	spf_eval_free(&e);
	assert_null(e);
	return o;
}

/* test_input - an spf_input for a textual address. */
static struct spf_input test_input(const char *ip, const char *sender, const char *helo)
{
	struct spf_input in = { .sender = sender, .helo = helo, .receiver = "mx.test.example", .now = 1700000000 };

	in.family = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(in.family, ip, in.ip), 1);
	return in;
}

/* ---- the record parser ---- */

struct test_rec_case {
	const char *txt;
	int rc;
	size_t n_terms;
	const char *first; /* first mechanism: "<qualifier><mech> spec cidr4 cidr6", or NULL */
};

static const struct test_rec_case test_rec_cases[] = {
	{ "v=spf1", 0, 0, NULL },
	{ "V=SPF1 -ALL", 0, 1, "3all - 32 128" },
	{ "v=spf1 a/24//64 -all", 0, 2, "2a - 24 64" },
	{ "v=spf1 ~mx:%{d}/0", 0, 1, "4mx %{d} 0 128" },
	{ "v=spf1 ?a:foo:bar/baz.example.com", 0, 1, "1a foo:bar/baz.example.com 32 128" },
	{ "v=spf1 a//0", 0, 1, "2a - 32 0" },
	{ "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all", 0, 3, "2ip4 - 24 128" },
	{ "v=spf1 include:_spf.example.com ptr exists:%{ir}.%{l1r+-}._spf.%{d}", 0, 3, "2include _spf.example.com 32 128" },
	{ "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", 0, 2, "2ip4 - 32 128" },
	{ "v=spf1  a  -all ", 0, 2, "2a - 32 128" },
	{ "v=spf1 default=+", 0, 0, NULL },
	{ "v=spf1 a:foo.example.xn--zckzah", 0, 1, "2a foo.example.xn--zckzah 32 128" },
	{ "v=spf10", -1, 0, NULL },
	{ "spf1 -all", -1, 0, NULL },
	{ "v=spf1 -all moo", -1, 0, NULL },
	{ "v=spf1 -all.", -1, 0, NULL },
	{ "v=spf1 -all:foo", -1, 0, NULL },
	{ "v=spf1 -all/8", -1, 0, NULL },
	{ "v=spf1 a/33", -1, 0, NULL },
	{ "v=spf1 a//129", -1, 0, NULL },
	{ "v=spf1 a/24/64", -1, 0, NULL },
	{ "v=spf1 ip4:1.2.3.4/032", -1, 0, NULL },
	{ "v=spf1 ip4:1.2.3", -1, 0, NULL },
	{ "v=spf1 ip4:01.2.3.4", -1, 0, NULL },
	{ "v=spf1 ip4:1.2.3.4:8080", -1, 0, NULL },
	{ "v=spf1 ip4:1.2.3.4//32", -1, 0, NULL },
	{ "v=spf1 ip4", -1, 0, NULL },
	{ "v=spf1 ip6::CAFE::BABE", -1, 0, NULL },
	{ "v=spf1 ip6:::1/129", -1, 0, NULL },
	{ "v=spf1 ptr/0", -1, 0, NULL },
	{ "v=spf1 ptr:", -1, 0, NULL },
	{ "v=spf1 include", -1, 0, NULL },
	{ "v=spf1 include:ip5.example.com/24", -1, 0, NULL },
	{ "v=spf1 exists:foo.example.com/24", -1, 0, NULL },
	{ "v=spf1 a:foo-bar", -1, 0, NULL },
	{ "v=spf1 a:museum.", -1, 0, NULL },
	{ "v=spf1 a:111.222.33.44", -1, 0, NULL },
	{ "v=spf1 a:example.-com", -1, 0, NULL },
	{ "v=spf1 a:example.com:8080", -1, 0, NULL },
	{ "v=spf1 redirect:t2.example.com", -1, 0, NULL },
	{ "v=spf1 redirect=a.example redirect=b.example", -1, 0, NULL },
	{ "v=spf1 exp=", -1, 0, NULL },
	{ "v=spf1 exp=%{r}.example.com", -1, 0, NULL },
	{ "v=spf1 1up=foo", -1, 0, NULL },
	{ "v=spf1 =all", -1, 0, NULL },
	{ "v=spf1 foo=%abc", -1, 0, NULL },
	{ "v=spf1 exists:%(ir).sbl.example.com", -1, 0, NULL },
	{ "v=spf1 a:%{d0}.example.com", -1, 0, NULL },
	{ "v=spf1 a:ctrl.example.com\rptr -all", -1, 0, NULL },
	{ "v=spf1 \x80" "a -all", -1, 0, NULL },
};

/* test_term_string - a term as in test_rec_case.first. */
static void test_term_string(const struct spf_term *t, char *buf, size_t size)
{
	static const char *const mechs[] = { "all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists" };

	snprintf(buf, size, "%d%s %.*s %u %u", (int)t->qualifier, mechs[t->mech], t->spec ? (int)t->spec_len : 1,
		 t->spec ? t->spec : "-", t->cidr4, t->cidr6);
}

/* test_record_table - every record parses or fails as the table says. */
static void test_record_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_rec_cases); i++) {
		const struct test_rec_case *c = &test_rec_cases[i];
		struct spf_record r;
		const char *err = NULL;
		char got[300];
		int rc = spf_record_parse(c->txt, strlen(c->txt), &r, &err);

		if (rc != c->rc)
			fail_msg("\"%s\": rc %d, want %d (%s)", c->txt, rc, c->rc, err ? err : "");
		if (rc < 0) {
			assert_non_null(err);
			continue;
		}
		assert_int_equal(r.n_terms, c->n_terms);
		if (c->first != NULL) {
			test_term_string(&r.terms[0], got, sizeof(got));
			assert_string_equal(got, c->first);
		}
		spf_record_free(&r);
	}
}

/* test_record_fields - modifiers, ip networks and selection. */
static void test_record_fields(void **state)
{
	const char *txt = "v=spf1 ip6:2001:db8::1/64 exp=explain.%{d} -ip4:192.0.2.1 redirect=_spf.example.com";
	uint8_t want[16];
	struct spf_record r;
	const char *err;

	(void)state;
	assert_int_equal(spf_record_parse(txt, strlen(txt), &r, &err), 0);
	assert_int_equal(r.n_terms, 2);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", want), 1);
	assert_memory_equal(r.terms[0].ip, want, 16);
	assert_int_equal(r.terms[0].cidr6, 64);
	assert_int_equal(r.terms[1].qualifier, SPF_FAIL);
	assert_memory_equal(r.terms[1].ip, "\xc0\x00\x02\x01", 4);
	assert_int_equal(r.exp_len, strlen("explain.%{d}"));
	assert_memory_equal(r.exp, "explain.%{d}", r.exp_len);
	assert_memory_equal(r.redirect, "_spf.example.com", r.redirect_len);
	spf_record_free(&r);
	assert_null(r.terms);
	assert_true(spf_record_is_spf1("v=spf1", 6));
	assert_true(spf_record_is_spf1("V=Spf1 a", 8));
	assert_false(spf_record_is_spf1("v=spf1a", 7));
	assert_false(spf_record_is_spf1("v=spf", 5));
	assert_string_equal(spf_result_name(SPF_SOFTFAIL), "softfail");
	assert_string_equal(spf_result_name(SPF_PERMERROR), "permerror");
}

/* ---- macro expansion ---- */

struct test_macro_case {
	const char *in, *out; /* out NULL: a syntax error */
	bool explain, v6;
};

/* RFC 7208 7.4, with <sender> strong-bad@email.example.com, 192.0.2.3 or 2001:db8::cb01. */
static const struct test_macro_case test_macro_cases[] = {
	{ "%{s}", "strong-bad@email.example.com", false, false },
	{ "%{o}", "email.example.com", false, false },
	{ "%{d}", "email.example.com", false, false },
	{ "%{d4}", "email.example.com", false, false },
	{ "%{d3}", "email.example.com", false, false },
	{ "%{d2}", "example.com", false, false },
	{ "%{d1}", "com", false, false },
	{ "%{dr}", "com.example.email", false, false },
	{ "%{d2r}", "example.email", false, false },
	{ "%{l}", "strong-bad", false, false },
	{ "%{l-}", "strong.bad", false, false },
	{ "%{lr}", "strong-bad", false, false },
	{ "%{lr-}", "bad.strong", false, false },
	{ "%{l1r-}", "strong", false, false },
	{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com", false, false },
	{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com", false, false },
	{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com", false, false },
	{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com", false, false },
	{ "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net", false, false },
	{ "%{ir}.%{v}._spf.%{d2}", "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com",
	  false, true },
	{ "%{c} %{i}", "192.0.2.3 192.0.2.3", true, false },
	{ "%{c}", "2001:db8::cb01", true, true },
	{ "%{h} %{r} %{t} %{p}", "mx.example.org mx.test.example 1700000000 unknown", true, false },
	{ "%{L}=%{S}", "strong-bad=strong-bad%40email.example.com", true, false },
	{ "a%%b%_c%-d", "a%b c%20d", false, false },
	{ "%{d2r+-.}", "example.email", false, false },
	{ "%{l99}", "strong-bad", false, false },
	{ "%{L9999999999}", "strong-bad", false, false },
	{ "%{c}", NULL, false, false },
	{ "%{t}", NULL, false, false },
	{ "%{d0}", NULL, false, false },
	{ "%{x}", NULL, true, false },
	{ "%{d", NULL, false, false },
	{ "%{d2!}", NULL, false, false },
	{ "%", NULL, false, false },
	{ "%a", NULL, false, false },
	{ "a b", NULL, false, false },
	{ "a b", "a b", true, false },
	{ "caf\xc3\xa9", NULL, true, false },
};

/* test_macro_ctx - RFC 7208 7.4's values. */
static struct spf_macro_ctx test_macro_ctx(bool v6, uint8_t *ip)
{
	struct spf_macro_ctx ctx = {
		.sender = "strong-bad@email.example.com",
		.local = "strong-bad",
		.sender_domain = "email.example.com",
		.domain = "email.example.com",
		.helo = "mx.example.org",
		.receiver = "mx.test.example",
		.family = v6 ? AF_INET6 : AF_INET,
		.ip = ip,
		.now = 1700000000,
	};

	assert_int_equal(inet_pton(ctx.family, v6 ? "2001:db8::cb01" : "192.0.2.3", ip), 1);
	return ctx;
}

/* test_macro_table - the expansions of the table. */
static void test_macro_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_macro_cases); i++) {
		const struct test_macro_case *c = &test_macro_cases[i];
		uint8_t ip[16];
		struct spf_macro_ctx ctx = test_macro_ctx(c->v6, ip);
		char out[SPF_EXPAND_MAX];
		const char *err = NULL;
		size_t n = 0;
		int rc = spf_macro_expand(c->in, strlen(c->in), c->explain, &ctx, out, sizeof(out), &n, &err);

		if (c->out == NULL) {
			if (rc != -1 || err == NULL)
				fail_msg("\"%s\" expanded, want a syntax error", c->in);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\": %s", c->in, err);
		assert_string_equal(out, c->out);
		assert_int_equal(n, strlen(c->out));
	}
}

/* test_macro_misc - overflow, %{p} detection, domain-spec ends, truncation. */
static void test_macro_misc(void **state)
{
	uint8_t ip[16];
	struct spf_macro_ctx ctx = test_macro_ctx(false, ip);
	char out[16], name[600];
	const char *err;
	size_t n;

	(void)state;
	assert_int_equal(spf_macro_expand("%{s}", 4, false, &ctx, out, sizeof(out), &n, &err), -1);
	assert_int_equal(spf_macro_expand("%{d1}", 5, false, &ctx, out, sizeof(out), &n, &err), 0);
	assert_true(spf_macro_uses_p("x.%{p2}", 7));
	assert_true(spf_macro_uses_p("%{P}", 4));
	assert_false(spf_macro_uses_p("%%{p}", 5));
	assert_int_equal(spf_macro_domain_spec_check("%{d}", 4, &err), 0);
	assert_int_equal(spf_macro_domain_spec_check("a.%{d}.example.com.", 19, &err), 0);
	assert_int_equal(spf_macro_domain_spec_check("museum", 6, &err), -1);
	assert_int_equal(spf_macro_domain_spec_check("%{d}.", 5, &err), -1);
	assert_int_equal(spf_macro_domain_spec_check("x.123", 5, &err), -1);
	assert_int_equal(spf_macro_domain_spec_check("x.1-2", 5, &err), 0);
	memset(name, 'a', sizeof(name));
	for (size_t i = 10; i < 590; i += 11)
		name[i] = '.';
	snprintf(name + 590, 10, ".example.");
	assert_int_equal(spf_domain_truncate(name), 0);
	assert_true(strlen(name) <= 253 && strlen(name) > 240);
	assert_string_equal(name + strlen(name) - 8, ".example");
	assert_int_not_equal(name[0], '.');
	snprintf(name, sizeof(name), "a..b");
	assert_int_equal(spf_domain_truncate(name), -1);
	snprintf(name, sizeof(name), "%064d.example", 0);
	assert_int_equal(spf_domain_truncate(name), -1);
}

/* ---- the state machine against small zones ---- */

/* test_eval_basics - pass, fail with explanation, none, the domain checked, <> and IPv4-mapped input. */
static void test_eval_basics(void **state)
{
	struct test_zone z = { 0 };
	struct spf_input in = test_input("::ffff:192.0.2.10", "user@example.com", "helo.example.net");
	struct test_outcome o;

	(void)state;
	test_zone_set(&z, "example.com", DNS_RR_TXT, "google-site-verification=x",
		      "v=spf1 ip4:192.0.2.0/28 -all exp=why.example.com", NULL);
	test_zone_set(&z, "why.example.com", DNS_RR_TXT, "%{i} is not one of %{d}'s", NULL);
	test_zone_set(&z, "helo.example.net", DNS_RR_TXT, "v=spf1 a:%{h} -all", NULL);
	test_zone_set(&z, "helo.example.net", DNS_RR_A, "192.0.2.77", NULL);
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_PASS);
	in = test_input("192.0.2.99", "user@example.com", "helo.example.net");
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_FAIL);
	assert_string_equal(o.explanation, "192.0.2.99 is not one of example.com's");
	in = test_input("192.0.2.77", "", "helo.example.net");
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_PASS);
	in = test_input("2001:db8::1", "user@nothing.example", "helo.example.net");
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_NONE);
	assert_false(o.has_explanation);
	in = test_input("192.0.2.1", "user@localhost", "x");
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_NONE);
	assert_int_equal(o.queries, 0);
	test_zone_free(&z);
}

/* test_eval_domain - spf_eval_domain says which identity was checked. */
static void test_eval_domain(void **state)
{
	struct spf_input in = test_input("192.0.2.1", "", "Helo.Example.net.");
	struct spf_eval *e = spf_eval_new(&in);

	(void)state;
	assert_string_equal(spf_eval_domain(e), "Helo.Example.net");
	spf_eval_free(&e);
	in.sender = "a@b@mail.example.org";
	e = spf_eval_new(&in);
	assert_string_equal(spf_eval_domain(e), "mail.example.org");
	spf_eval_free(&e);
	spf_eval_free(&e); /* NULL is fine */
}

/* test_eval_limits - 10 DNS terms, 2 void lookups, include loops, >10 MX: permerror with a reason. */
static void test_eval_limits(void **state)
{
	struct test_zone z = { 0 };
	struct spf_input in = test_input("192.0.2.1", "x@loop.example", "h.example");
	struct test_outcome o;

	(void)state;
	test_zone_set(&z, "loop.example", DNS_RR_TXT, "v=spf1 include:loop2.example -all", NULL);
	test_zone_set(&z, "loop2.example", DNS_RR_TXT, "v=spf1 include:loop.example", NULL);
	test_zone_set(&z, "voids.example", DNS_RR_TXT, "v=spf1 a:n1.example mx:n2.example exists:n3.example +all", NULL);
	test_zone_set(&z, "mx.example", DNS_RR_TXT, "v=spf1 mx -all", NULL);
	test_zone_set(&z, "mx.example", DNS_RR_MX, "a.x", "b.x", "c.x", "d.x", "e.x", "f.x", "g.x", "h.x", "i.x",
		      "j.x", "k.x", NULL);
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_PERMERROR);
	assert_non_null(strstr(o.problem, "DNS-querying terms"));
	assert_true(o.queries <= 11);
	in.sender = "x@voids.example";
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_PERMERROR);
	assert_non_null(strstr(o.problem, "void"));
	in.sender = "x@mx.example";
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_PERMERROR);
	assert_non_null(strstr(o.problem, "MX names"));
	test_zone_free(&z);
}

/* test_eval_errors - a timeout anywhere in a mechanism is temperror; NULL answers count as one; include of none. */
static void test_eval_errors(void **state)
{
	struct test_zone z = { 0 };
	struct spf_input in = test_input("192.0.2.1", "x@t.example", "h.example");
	struct spf_eval *e;
	const char *name;
	enum dns_rrtype type;
	struct test_outcome o;

	(void)state;
	test_zone_set(&z, "t.example", DNS_RR_TXT, "v=spf1 include:slow.example -all", NULL);
	test_zone_add(&z, 0, "slow.example", DNS_RR_TXT, DNS_R_TEMP, 0, NULL);
	test_zone_set(&z, "n.example", DNS_RR_TXT, "v=spf1 include:nothing.example -all", NULL);
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_TEMPERROR);
	assert_non_null(strstr(o.problem, "slow.example"));
	in.sender = "x@n.example";
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_PERMERROR);
	e = spf_eval_new(&in);
	assert_int_equal(spf_eval_next(e, NULL, &name, &type), SPF_STEP_QUERY);
	assert_string_equal(name, "n.example");
	assert_int_equal(type, DNS_RR_TXT);
	assert_int_equal(spf_eval_next(e, NULL, &name, &type), SPF_STEP_DONE);
	assert_int_equal(spf_eval_result(e), SPF_TEMPERROR);
	assert_int_equal(spf_eval_next(e, NULL, &name, &type), SPF_STEP_DONE);
	spf_eval_free(&e);
	test_zone_free(&z);
}

/* test_eval_ptr - ptr and %{p} share the validated names; the one under <domain> is preferred. */
static void test_eval_ptr(void **state)
{
	struct test_zone z = { 0 };
	struct spf_input in = test_input("2001:db8::5", "x@p.example", "h.example");
	struct test_outcome o;

	(void)state;
	test_zone_set(&z, "p.example", DNS_RR_TXT, "v=spf1 ?exists:%{p}.ok.example ptr:good.example -all exp=e.p.example",
		      NULL);
	test_zone_set(&z, "e.p.example", DNS_RR_TXT, "%{p} and %{p2}", NULL);
	test_zone_set(&z, "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", DNS_RR_PTR,
		      "bad.example", "mail.p.example", "host.good.example.", NULL);
	test_zone_set(&z, "mail.p.example", DNS_RR_AAAA, "2001:db8::5", NULL);
	test_zone_set(&z, "host.good.example", DNS_RR_AAAA, "2001:db8::5", NULL);
	test_zone_set(&z, "bad.example", DNS_RR_AAAA, "2001:db8::6", NULL);
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_PASS); /* exists misses (no such name), ptr:good.example matches */
	assert_true(o.queries <= 6);
	test_zone_set(&z, "mail.p.example.ok.example", DNS_RR_A, "127.0.0.2", NULL);
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_NEUTRAL); /* %{p} is mail.p.example, the name under p.example */
	in = test_input("2001:db8::7", "x@p.example", "h.example");
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_FAIL);
	assert_string_equal(o.explanation, "unknown and unknown");
	test_zone_free(&z);
}

/* test_eval_bounded - the worst records: 10 mx of 10 names each plus %{p}, an 8 KB record, 64 includes. */
static void test_eval_bounded(void **state)
{
	struct test_zone z = { 0 };
	struct spf_input in = test_input("192.0.2.1", "x@big.example", "h.example");
	char big[8192], *names[10];
	struct test_outcome o;
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(big, sizeof(big), "v=spf1");
	for (int i = 0; i < 10; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, " mx:m%d.example", i);
	snprintf(big + n, sizeof(big) - n, " exp=%%{p}.e.example -all");
	test_zone_set(&z, "big.example", DNS_RR_TXT, big, NULL);
	for (int i = 0; i < 10; i++)
		names[i] = "mx.example";
	for (int i = 0; i < 10; i++) {
		char name[32];

		snprintf(name, sizeof(name), "m%d.example", i);
		test_zone_add(&z, 0, name, DNS_RR_MX, DNS_R_OK, 10, names);
	}
	test_zone_set(&z, "1.2.0.192.in-addr.arpa", DNS_RR_PTR, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
		      NULL);
	test_zone_set(&z, "mx.example", DNS_RR_A, "192.0.2.2", NULL);
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_FAIL);
	assert_true(o.queries <= 1 + 10 * 11 + 11 + 1);
	for (n = snprintf(big, sizeof(big), "v=spf1"); n + 3 < sizeof(big) - 1;)
		n += (size_t)snprintf(big + n, sizeof(big) - n, " a");
	in.sender = "x@huge.example";
	test_zone_set(&z, "huge.example", DNS_RR_TXT, big, NULL);
	o = test_eval(&z, 0, &in);
	assert_int_equal(o.result, SPF_PERMERROR);
	assert_true(o.queries <= 11);
	test_zone_free(&z);
}

/* ---- the RFC 7208 suite ---- */

/* Cases where this implementation answers otherwise, and why. */
struct test_known_diff {
	const char *id, *why;
};

static const struct test_known_diff test_known_diffs[] = {
	{ "a-null", "dns_answer drops a TXT record holding a NUL byte (dns_answer.h), so none, not permerror" },
	{ "mx-null", "dns_answer drops a TXT record holding a NUL byte (dns_answer.h), so none, not permerror" },
};

/* test_unescape - a "="-prefixed, %XX-escaped field, in place. */
static char *test_unescape(char *f)
{
	char *r = f + 1, *w = f;

	assert_int_equal(f[0], '=');
	while (*r != '\0') {
		if (*r == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
			char hex[3] = { r[1], r[2], '\0' };

			*w++ = (char)strtol(hex, NULL, 16);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return f;
}

/* test_rrtype - "A", "MX", ... */
static enum dns_rrtype test_rrtype(const char *s)
{
	static const struct { const char *name; enum dns_rrtype t; } types[] = {
		{ "A", DNS_RR_A }, { "AAAA", DNS_RR_AAAA }, { "MX", DNS_RR_MX }, { "TXT", DNS_RR_TXT }, { "PTR", DNS_RR_PTR },
	};

	for (size_t i = 0; i < ARRAY_LEN(types); i++)
		if (strcmp(types[i].name, s) == 0)
			return types[i].t;
	fail_msg("unknown type %s", s);
	return DNS_RR_A;
}

/* test_split - the space-separated fields of a line, in place. */
static size_t test_split(char *line, char **f, size_t max)
{
	size_t n = 0;

	for (char *tok = strtok(line, " \n"); tok != NULL && n < max; tok = strtok(NULL, " \n"))
		f[n++] = tok;
	return n;
}

/* test_suite_zone_line - "Z SCENARIO =NAME TYPE RCODE =VALUE..." */
static void test_suite_zone_line(struct test_zone *z, char **f, size_t n)
{
	enum dns_rcode rc = strcmp(f[4], "TEMP") == 0 ? DNS_R_TEMP : DNS_R_OK;

	assert_true(n >= 5);
	for (size_t i = 5; i < n; i++)
		test_unescape(f[i]);
	test_zone_add(z, atoi(f[1]), test_unescape(f[2]), test_rrtype(f[3]), rc, n - 5, f + 5);
}

/* test_result_by_name - the enum for "pass", ... */
static enum spf_result test_result_by_name(const char *s)
{
	for (int r = SPF_NONE; r <= SPF_PERMERROR; r++)
		if (strcmp(spf_result_name(r), s) == 0)
			return r;
	fail_msg("unknown result %s", s);
	return SPF_NONE;
}

/* test_suite_case_ok - does the outcome match the case's results and explanation? */
static bool test_suite_case_ok(const struct test_outcome *o, char *results, char *exp)
{
	bool ok = false;

	for (char *save, *r = strtok_r(results, ",", &save); r != NULL; r = strtok_r(NULL, ",", &save))
		ok |= test_result_by_name(r) == o->result;
	if (!ok || strcmp(exp, "-") == 0)
		return ok;
	if (strcmp(exp, "*") == 0)
		return !o->has_explanation;
	return o->has_explanation && strcmp(o->explanation, test_unescape(exp)) == 0;
}

/* test_known_diff - the reason when id is a listed difference, or NULL. */
static const char *test_known_diff(const char *id)
{
	for (size_t i = 0; i < ARRAY_LEN(test_known_diffs); i++)
		if (strcmp(test_known_diffs[i].id, id) == 0)
			return test_known_diffs[i].why;
	return NULL;
}

/* The suite's tally. */
struct test_tally {
	unsigned cases, passed, unexpected;
	char known[512];
};

/* test_suite_case_line - "C SCENARIO ID =HOST =MAILFROM =HELO RESULTS EXPLANATION": run it. */
static void test_suite_case_line(const struct test_zone *z, char **f, size_t n, struct test_tally *t)
{
	struct spf_input in;
	struct test_outcome o;
	char results[128];
	const char *why;
	bool ok;

	assert_int_equal(n, 8);
	in = test_input(test_unescape(f[3]), test_unescape(f[4]), test_unescape(f[5]));
	snprintf(results, sizeof(results), "%s", f[6]);
	o = test_eval(z, atoi(f[1]), &in);
	ok = test_suite_case_ok(&o, results, f[7]);
	t->cases++;
	why = test_known_diff(f[2]);
	if (ok && why != NULL)
		fail_msg("%s passes now: take it off the known differences", f[2]);
	if (ok) {
		t->passed++;
	} else if (why != NULL) {
		snprintf(t->known + strlen(t->known), sizeof(t->known) - strlen(t->known), "%s%s", t->known[0] ? ", " : "",
			 f[2]);
		printf("  %s: %s (%s)\n", f[2], spf_result_name(o.result), why);
	} else {
		t->unexpected++;
		printf("  UNEXPECTED %s: got %s%s%s [%s], want %s %s\n", f[2], spf_result_name(o.result),
		       o.has_explanation ? " exp=" : "", o.has_explanation ? o.explanation : "", o.problem, f[6], f[7]);
	}
}

/* test_rfc7208_suite - every case of the suite, through spf_eval_* and the fake resolver. */
static void test_rfc7208_suite(void **state)
{
	struct test_zone z = { 0 };
	struct test_tally t = { 0 };
	FILE *p = popen(TEST_SPF_SUITE_CMD, "r");
	char line[16384], *f[80];
	size_t n;

	(void)state;
	assert_non_null(p);
	while (fgets(line, sizeof(line), p) != NULL) {
		if ((n = test_split(line, f, ARRAY_LEN(f))) == 0)
			continue;
		if (strcmp(f[0], "Z") == 0)
			test_suite_zone_line(&z, f, n);
		else if (strcmp(f[0], "C") == 0)
			test_suite_case_line(&z, f, n, &t);
	}
	assert_int_equal(pclose(p), 0);
	printf("RFC 7208 suite: %u cases, %u passed, %zu known differences: %s\n", t.cases, t.passed,
	       ARRAY_LEN(test_known_diffs), t.known[0] ? t.known : "none");
	test_zone_free(&z);
	assert_int_equal(t.cases, 203);
	assert_int_equal(t.unexpected, 0);
	assert_int_equal(t.cases, t.passed + ARRAY_LEN(test_known_diffs));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_table),
		cmocka_unit_test(test_record_fields),
		cmocka_unit_test(test_macro_table),
		cmocka_unit_test(test_macro_misc),
		cmocka_unit_test(test_eval_basics),
		cmocka_unit_test(test_eval_domain),
		cmocka_unit_test(test_eval_limits),
		cmocka_unit_test(test_eval_errors),
		cmocka_unit_test(test_eval_ptr),
		cmocka_unit_test(test_eval_bounded),
		cmocka_unit_test(test_rfc7208_suite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_aliases - the alias table: parser, lookups, resolution, ownership, loop check, file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr/aliases.h"
#include "util/xalloc.h"

/* The accounts of every test, sorted as the users file is. */
static const char *const test_accounts[] = {
	"alice@example.test", "bob@example.test", "carol@other.test",
	"postmaster@pm.test", "zed@pm.test",
};
static const char *const test_domains[] = {
	"example.test", "other.test", "pm.test", "empty.test",
};

#define TEST_N(a) (sizeof(a) / sizeof((a)[0]))

/* test_is_account_cb - one of test_accounts. */
static bool test_is_account_cb(void *ctx, const char *address)
{
	(void)ctx;
	for (size_t i = 0; i < TEST_N(test_accounts); i++) {
		if (strcmp(test_accounts[i], address) == 0)
			return true;
	}
	return false;
}

/* test_is_local_domain_cb - one of test_domains. */
static bool test_is_local_domain_cb(void *ctx, const char *domain)
{
	(void)ctx;
	for (size_t i = 0; i < TEST_N(test_domains); i++) {
		if (strcmp(test_domains[i], domain) == 0)
			return true;
	}
	return false;
}

/* test_first_account_cb - the first of test_accounts in domain. */
static const char *test_first_account_cb(void *ctx, const char *domain)
{
	(void)ctx;
	for (size_t i = 0; i < TEST_N(test_accounts); i++) {
		const char *at = strchr(test_accounts[i], '@');
		if (strcmp(at + 1, domain) == 0)
			return test_accounts[i];
	}
	return NULL;
}

/* test_resolver - the callbacks above with delimiter (NULL: default). */
static struct aliases_resolver test_resolver(const char *delimiter)
{
	struct aliases_resolver res = {
		.is_account_cb = test_is_account_cb,
		.is_local_domain_cb = test_is_local_domain_cb,
		.domain_first_account_cb = test_first_account_cb,
		.delimiter = delimiter,
		.default_domain = "example.test",
	};
	return res;
}

/* test_parse - parse text (a C string) into a fresh table; the table must parse. */
static void test_parse(struct aliases_table *t, const char *text)
{
	char *error = NULL;

	aliases_init(t);
	if (aliases_parse(t, text, strlen(text), "aliases", &error) < 0)
		fail_msg("parse failed: %s", error);
}

/* test_targets_text - "a b >remote" for a result (remote targets after '>'). */
static char *test_targets_text(const struct aliases_result *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	for (size_t i = 0; i < r->n; i++)
		fprintf(f, "%s%s%s", i ? " " : "", r->targets[i].remote ? ">" : "",
			r->targets[i].address);
	fclose(f);
	return text;
}

/* test_skipped_text - "a:reason b:reason" of a result's skips. */
static char *test_skipped_text(const struct aliases_result *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	for (size_t i = 0; i < r->n_skipped; i++)
		fprintf(f, "%s%s:%s", i ? " " : "", r->skipped[i].address, r->skipped[i].reason);
	fclose(f);
	return text;
}

/* test_aliases_parse_good - comments, blanks, CR LF, case, duplicate targets, catch-all. */
static void test_aliases_parse_good(void **state)
{
	static const char text[] =
		"# aliases\n"
		"\n"
		"  \t\n"
		"  # indented comment\n"
		"Info@Example.TEST :  alice@example.test,Bob@EXAMPLE.test , alice@EXAMPLE.test\r\n"
		"@Other.test: carol@other.test\n"
		"fwd@example.test: Dave@Remote.Example"; /* no final LF */
	struct aliases_table t;
	const struct aliases_entry *e;

	(void)state;
	test_parse(&t, text);
	assert_int_equal(t.n, 3);
	e = aliases_find(&t, "INFO@example.test");
	assert_non_null(e);
	assert_string_equal(e->address, "info@example.test");
	assert_int_equal(e->n_targets, 2); /* the second alice (domain case aside) is dropped */
	assert_string_equal(e->targets[0], "alice@example.test");
	assert_string_equal(e->targets[1], "Bob@example.test"); /* local part as written */
	e = aliases_find_catchall(&t, "OTHER.test");
	assert_non_null(e);
	assert_string_equal(e->address, "@other.test");
	assert_ptr_equal(aliases_find(&t, "@other.test"), e);
	assert_string_equal(aliases_find(&t, "fwd@example.test")->targets[0], "Dave@remote.example");
	assert_null(aliases_find(&t, "nobody@example.test"));
	assert_null(aliases_find_catchall(&t, "example.test"));
	aliases_free(&t);
}

/* test_aliases_parse_bad - each malformed file is an error naming its line; the table is kept. */
static void test_aliases_parse_bad(void **state)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "noat: alice@example.test\n", "aliases:1: address has no '@'" },
		{ "# c\ninfo@example.test alice@example.test\n",
		  "aliases:2: expected ADDRESS: TARGET, TARGET, ..." },
		{ "info@example.test:\n", "aliases:1: an alias needs at least one target" },
		{ "info@example.test:  \t\n", "aliases:1: an alias needs at least one target" },
		{ "info@example.test: a@example.test,, b@example.test\n",
		  "aliases:1: empty target (two ',' in a row, or one at an end)" },
		{ "info@example.test: a@example.test,\n",
		  "aliases:1: empty target (two ',' in a row, or one at an end)" },
		{ "info@example.test: @example.test\n",
		  "aliases:1: a target needs a local part (a catch-all is no target)" },
		{ "# c\n\ninfo@example.test: a b@example.test\n",
		  "aliases:3: address contains ':', ',', white space or a control character" },
		{ "info@example.test: a@example.test\nINFO@example.test: b@example.test\n",
		  "aliases:2: duplicate alias" },
		{ "a@b@example.test: x@example.test\n", "aliases:1: address has more than one '@'" },
		{ "info@exa_mple.test: x@example.test\n", "aliases:1: invalid domain" },
		{ "info@-x.test: x@example.test\n", "aliases:1: invalid domain" },
		{ "info@x..test: x@example.test\n", "aliases:1: invalid domain" },
		{ "info@example.test.: x@example.test\n", "aliases:1: invalid domain" },
		{ "info@[192.0.2.1]: x@example.test\n", "aliases:1: invalid domain" },
		{ "info@: x@example.test\n", "aliases:1: address needs a domain" },
		{ ": x@example.test\n", "aliases:1: empty address" },
		{ "info@example.test: x@\n", "aliases:1: address needs a domain" },
		{ "x@example.test: a\x01@example.test\n",
		  "aliases:1: address contains ':', ',', white space or a control character" },
		{ "x@example.test: a@example.test\nb@example.test: c@example.test\x7f\n",
		  "aliases:2: address contains ':', ',', white space or a control character" },
		{ "x@example.test: a@example.test: b@example.test\n",
		  "aliases:1: address contains ':', ',', white space or a control character" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test: "
		  "x@example.test\n",
		  "aliases:1: local part too long" },
	};
	struct aliases_table t;
	char *error;

	(void)state;
	for (size_t i = 0; i < TEST_N(cases); i++) {
		test_parse(&t, "keep@example.test: alice@example.test\n");
		error = NULL;
		assert_int_equal(aliases_parse(&t, cases[i].text, strlen(cases[i].text), "aliases",
					       &error), -1);
		assert_non_null(error);
		if (strcmp(error, cases[i].error) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, error, cases[i].error);
		free(error);
		assert_int_equal(t.n, 1); /* unchanged */
		assert_non_null(aliases_find(&t, "keep@example.test"));
		aliases_free(&t);
	}
}

/* test_aliases_parse_limits - NUL bytes, long lines, too many targets. */
static void test_aliases_parse_limits(void **state)
{
	static const char nul[] = "x@example.test: a@example.test\0b\n";
	size_t n = 1001, len = 0;
	char *text = xmalloc(ALIASES_LINE_MAX + 64), *error = NULL;
	struct aliases_table t;

	(void)state;
	aliases_init(&t);
	assert_int_equal(aliases_parse(&t, nul, sizeof(nul) - 1, "aliases", &error), -1);
	assert_string_equal(error, "aliases:1: NUL byte");
	free(error);
	len = (size_t)sprintf(text, "x@example.test: ");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%st%zu@remote.example", i ? "," : "", i);
	assert_int_equal(aliases_parse(&t, text, len, "aliases", &error), -1);
	assert_string_equal(error, "aliases:1: too many targets (at most 1000)");
	free(error);
	memset(text, ' ', ALIASES_LINE_MAX + 1);
	memcpy(text, "x@example.test: a@example.test", 30);
	assert_int_equal(aliases_parse(&t, text, ALIASES_LINE_MAX + 1, "aliases", &error), -1);
	assert_string_equal(error, "aliases:1: line too long");
	free(error);
	free(text);
	aliases_free(&t);
}

/* test_aliases_format - sorted, and parsed again to the same table. */
static void test_aliases_format(void **state)
{
	struct aliases_table t, again;
	size_t len;
	char *text;

	(void)state;
	test_parse(&t, "z@example.test: Bob@Remote.Example, alice@example.test\n"
		       "@other.test: carol@other.test\n");
	text = aliases_format(&t, &len);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "\n@other.test: carol@other.test\n"
				     "z@example.test: Bob@remote.example, alice@example.test\n"));
	assert_int_equal(text[0], '#');
	test_parse(&again, text);
	assert_int_equal(again.n, 2);
	assert_int_equal(aliases_find(&again, "z@example.test")->n_targets, 2);
	free(text);
	aliases_free(&t);
	aliases_free(&again);
}

/* test_aliases_set_del - add, replace, refuse bad input, delete; many entries stay findable. */
static void test_aliases_set_del(void **state)
{
	char *one[] = { "alice@example.test" }, *two[] = { "bob@example.test", "BOB@example.test" };
	char *bad[] = { "alice@example.test", "not an address" };
	struct aliases_table t;
	const char *error, *which;
	bool replaced;
	char name[64];

	(void)state;
	aliases_init(&t);
	assert_int_equal(aliases_set(&t, "Info@Example.test", one, 1, &replaced, &which, &error), 0);
	assert_false(replaced);
	assert_int_equal(aliases_set(&t, "info@example.test", two, 2, &replaced, &which, &error), 0);
	assert_true(replaced);
	assert_int_equal(t.n, 1);
	assert_int_equal(aliases_find(&t, "info@example.test")->n_targets, 2); /* BOB kept: case */
	assert_int_equal(aliases_set(&t, "x@example.test", bad, 2, NULL, &which, &error), -1);
	assert_string_equal(which, "not an address");
	assert_int_equal(aliases_set(&t, "x@example.test", one, 0, NULL, &which, &error), -1);
	assert_string_equal(error, "an alias needs at least one target");
	assert_int_equal(aliases_set(&t, "x", one, 1, NULL, &which, &error), -1);
	assert_string_equal(which, "x");
	assert_null(aliases_find(&t, "x@example.test"));
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "a%d@example.test", i);
		assert_int_equal(aliases_set(&t, name, one, 1, NULL, NULL, &error), 0);
	}
	assert_int_equal(aliases_del(&t, "A5000@example.test"), 0);
	assert_int_equal(aliases_del(&t, "a5000@example.test"), -1);
	assert_null(aliases_find(&t, "a5000@example.test"));
	assert_non_null(aliases_find(&t, "a9999@example.test"));
	assert_non_null(aliases_find(&t, "A0@EXAMPLE.TEST"));
	assert_non_null(aliases_find(&t, "info@example.test"));
	assert_int_equal(t.n, 10000);
	aliases_free(&t);
}

/* One resolution: the table, the delimiter, the recipient and what must come out. */
struct test_resolve_case {
	const char *name;
	const char *aliases;
	const char *delimiter; /* NULL: default "+" */
	const char *recipient;
	enum aliases_status status;
	enum aliases_via via;
	const char *targets; /* test_targets_text */
	const char *skipped; /* test_skipped_text */
};

#define A "@example.test"
static const struct test_resolve_case test_resolve_cases[] = {
	{ "account", "", NULL, "alice" A, ALIASES_OK, ALIASES_VIA_ACCOUNT, "alice" A, "" },
	{ "account any case", "", NULL, "ALICE@Example.TEST", ALIASES_OK, ALIASES_VIA_ACCOUNT,
	  "alice" A, "" },
	{ "one target", "info" A ": alice" A, NULL, "info" A, ALIASES_OK, ALIASES_VIA_ALIAS,
	  "alice" A, "" },
	{ "two targets", "info" A ": alice" A ", bob" A, NULL, "Info" A, ALIASES_OK,
	  ALIASES_VIA_ALIAS, "alice" A " bob" A, "" },
	{ "alice reached twice: once", "team" A ": alice" A ", info" A "\ninfo" A ": bob" A
	  ", alice" A, NULL, "team" A, ALIASES_OK, ALIASES_VIA_ALIAS, "alice" A " bob" A, "" },
	{ "nested", "a" A ": b" A "\nb" A ": c" A "\nc" A ": alice" A, NULL, "a" A, ALIASES_OK,
	  ALIASES_VIA_ALIAS, "alice" A, "" },
	{ "diamond is no loop", "a" A ": b" A ", c" A "\nb" A ": d" A "\nc" A ": d" A "\nd" A
	  ": bob" A, NULL, "a" A, ALIASES_OK, ALIASES_VIA_ALIAS, "bob" A, "" },
	{ "hand-made loop: skipped", "a" A ": b" A ", alice" A "\nb" A ": a" A, NULL, "a" A,
	  ALIASES_OK, ALIASES_VIA_ALIAS, "alice" A, "a" A ":alias loop" },
	{ "loop only: empty", "a" A ": b" A "\nb" A ": a" A, NULL, "b" A, ALIASES_EMPTY,
	  ALIASES_VIA_ALIAS, "", "b" A ":alias loop" },
	{ "catch-all", "@example.test: bob" A, NULL, "nobody" A, ALIASES_OK,
	  ALIASES_VIA_CATCHALL, "bob" A, "" },
	{ "account beats catch-all", "@example.test: bob" A, NULL, "alice" A, ALIASES_OK,
	  ALIASES_VIA_ACCOUNT, "alice" A, "" },
	{ "alias beats catch-all", "@example.test: bob" A "\ninfo" A ": carol@other.test", NULL,
	  "info" A, ALIASES_OK, ALIASES_VIA_ALIAS, "carol@other.test", "" },
	{ "catch-all of another domain", "@other.test: bob" A, NULL, "nobody" A, ALIASES_UNKNOWN,
	  ALIASES_VIA_NONE, "", "" },
	{ "subaddress", "", NULL, "alice+tag" A, ALIASES_OK, ALIASES_VIA_ACCOUNT, "alice" A, "" },
	{ "subaddress beats catch-all", "@example.test: bob" A, NULL, "alice+tag" A, ALIASES_OK,
	  ALIASES_VIA_ACCOUNT, "alice" A, "" },
	{ "subaddress of an alias", "info" A ": bob" A, NULL, "info+x+y" A, ALIASES_OK,
	  ALIASES_VIA_ALIAS, "bob" A, "" },
	{ "exact alias beats subaddress", "alice+x" A ": bob" A, NULL, "alice+x" A, ALIASES_OK,
	  ALIASES_VIA_ALIAS, "bob" A, "" },
	{ "subaddress of nothing: catch-all", "@example.test: bob" A, NULL, "ghost+x" A,
	  ALIASES_OK, ALIASES_VIA_CATCHALL, "bob" A, "" },
	{ "leading delimiter is no subaddress", "", NULL, "+alice" A, ALIASES_UNKNOWN,
	  ALIASES_VIA_NONE, "", "" },
	{ "delimiter off", "", "", "alice+tag" A, ALIASES_UNKNOWN, ALIASES_VIA_NONE, "", "" },
	{ "delimiter off: catch-all", "@example.test: bob" A, "", "alice+tag" A, ALIASES_OK,
	  ALIASES_VIA_CATCHALL, "bob" A, "" },
	{ "delimiter -", "", "-", "alice-tag" A, ALIASES_OK, ALIASES_VIA_ACCOUNT, "alice" A, "" },
	{ "delimiter - is not +", "", "-", "alice+tag" A, ALIASES_UNKNOWN, ALIASES_VIA_NONE, "",
	  "" },
	{ "delimiters +-", "", "+-", "alice-a+b" A, ALIASES_OK, ALIASES_VIA_ACCOUNT, "alice" A,
	  "" },
	{ "postmaster: first account", "", NULL, "postmaster" A, ALIASES_OK,
	  ALIASES_VIA_FIRST_ACCOUNT, "alice" A, "" },
	{ "postmaster any case", "", NULL, "PostMaster@OTHER.test", ALIASES_OK,
	  ALIASES_VIA_FIRST_ACCOUNT, "carol@other.test", "" },
	{ "postmaster alias", "postmaster" A ": bob" A, NULL, "postmaster" A, ALIASES_OK,
	  ALIASES_VIA_ALIAS, "bob" A, "" },
	{ "postmaster account", "", NULL, "postmaster@pm.test", ALIASES_OK, ALIASES_VIA_ACCOUNT,
	  "postmaster@pm.test", "" },
	{ "postmaster beats catch-all", "@example.test: bob" A, NULL, "postmaster" A, ALIASES_OK,
	  ALIASES_VIA_FIRST_ACCOUNT, "alice" A, "" },
	{ "postmaster, no account", "", NULL, "postmaster@empty.test", ALIASES_UNKNOWN,
	  ALIASES_VIA_NONE, "", "" },
	{ "postmaster, no account, catch-all", "@empty.test: bob" A, NULL,
	  "postmaster@empty.test", ALIASES_OK, ALIASES_VIA_CATCHALL, "bob" A, "" },
	{ "postmaster+x", "", NULL, "postmaster+x@other.test", ALIASES_OK,
	  ALIASES_VIA_FIRST_ACCOUNT, "carol@other.test", "" },
	{ "bare postmaster", "", NULL, "Postmaster", ALIASES_OK, ALIASES_VIA_FIRST_ACCOUNT,
	  "alice" A, "" },
	{ "bare postmaster@", "", NULL, "postmaster@", ALIASES_OK, ALIASES_VIA_FIRST_ACCOUNT,
	  "alice" A, "" },
	{ "bare postmaster alias", "postmaster" A ": carol@other.test", NULL, "POSTMASTER",
	  ALIASES_OK, ALIASES_VIA_ALIAS, "carol@other.test", "" },
	{ "unknown", "info" A ": bob" A, NULL, "nobody" A, ALIASES_UNKNOWN, ALIASES_VIA_NONE, "",
	  "" },
	{ "not local", "", NULL, "alice@remote.example", ALIASES_NOT_LOCAL, ALIASES_VIA_NONE, "",
	  "" },
	{ "no domain", "", NULL, "alice", ALIASES_INVALID, ALIASES_VIA_NONE, "", "" },
	{ "catch-all is no recipient", "@example.test: bob" A, NULL, "@example.test",
	  ALIASES_INVALID, ALIASES_VIA_NONE, "", "" },
	{ "remote targets", "fwd" A ": Dave@Remote.Example, alice" A ", dave@remote.example",
	  NULL, "fwd" A, ALIASES_OK, ALIASES_VIA_ALIAS,
	  ">Dave@remote.example alice" A " >dave@remote.example", "" },
	{ "unknown target skipped", "info" A ": ghost" A ", alice" A, NULL, "info" A, ALIASES_OK,
	  ALIASES_VIA_ALIAS, "alice" A, "ghost" A ":no such account or alias" },
	{ "only unknown targets: empty", "info" A ": ghost" A, NULL, "info" A, ALIASES_EMPTY,
	  ALIASES_VIA_ALIAS, "", "ghost" A ":no such account or alias" },
	{ "no catch-all inside an alias", "info" A ": ghost" A "\n@example.test: bob" A, NULL,
	  "info" A, ALIASES_EMPTY, ALIASES_VIA_ALIAS, "", "ghost" A ":no such account or alias" },
	{ "subaddress target", "info" A ": alice+lists" A, NULL, "info" A, ALIASES_OK,
	  ALIASES_VIA_ALIAS, "alice" A, "" },
	{ "postmaster target", "info" A ": postmaster@other.test", NULL, "info" A, ALIASES_OK,
	  ALIASES_VIA_ALIAS, "carol@other.test", "" },
	{ "account shadows an alias", "alice" A ": bob" A, NULL, "alice" A, ALIASES_OK,
	  ALIASES_VIA_ACCOUNT, "alice" A, "" },
};
#undef A

/* test_aliases_resolve - the table of cases above. */
static void test_aliases_resolve(void **state)
{
	struct aliases_result r;

	(void)state;
	aliases_result_init(&r);
	for (size_t i = 0; i < TEST_N(test_resolve_cases); i++) {
		const struct test_resolve_case *c = &test_resolve_cases[i];
		struct aliases_resolver res = test_resolver(c->delimiter);
		struct aliases_table t;
		enum aliases_status st;
		char *targets, *skipped;

		test_parse(&t, c->aliases);
		st = aliases_resolve(&t, &res, c->recipient, &r);
		targets = test_targets_text(&r);
		skipped = test_skipped_text(&r);
		if (st != c->status || (st == ALIASES_OK && r.via != c->via) ||
		    strcmp(targets, c->targets) != 0 || strcmp(skipped, c->skipped) != 0)
			fail_msg("%s: status %d via %d targets \"%s\" skipped \"%s\"", c->name, st,
				 r.via, targets, skipped);
		for (size_t k = 0; k < r.n; k++)
			assert_string_equal(r.targets[k].orig, c->recipient);
		free(targets);
		free(skipped);
		aliases_free(&t);
	}
	aliases_result_free(&r);
}

/* test_chain - a file of n aliases c1 -> c2 -> ... -> cn -> alice. */
static char *test_chain(int n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	for (int i = 1; i <= n; i++) {
		if (i < n)
			fprintf(f, "c%d@example.test: c%d@example.test\n", i, i + 1);
		else
			fprintf(f, "c%d@example.test: alice@example.test\n", i);
	}
	fclose(f);
	return text;
}

/* test_aliases_depth - ALIASES_DEPTH_MAX aliases deep resolve; one more is skipped. */
static void test_aliases_depth(void **state)
{
	struct aliases_resolver res = test_resolver(NULL);
	struct aliases_result r;
	struct aliases_table t;
	char *text;

	(void)state;
	aliases_result_init(&r);
	text = test_chain(ALIASES_DEPTH_MAX);
	test_parse(&t, text);
	assert_int_equal(aliases_resolve(&t, &res, "c1@example.test", &r), ALIASES_OK);
	assert_string_equal(r.targets[0].address, "alice@example.test");
	aliases_free(&t);
	free(text);
	text = test_chain(ALIASES_DEPTH_MAX + 1);
	test_parse(&t, text);
	assert_int_equal(aliases_resolve(&t, &res, "c1@example.test", &r), ALIASES_EMPTY);
	assert_int_equal(r.n_skipped, 1);
	assert_string_equal(r.skipped[0].address, "c11@example.test");
	assert_string_equal(r.skipped[0].reason, "aliases nested too deep");
	assert_int_equal(aliases_resolve(&t, &res, "c2@example.test", &r), ALIASES_OK);
	aliases_free(&t);
	free(text);
	aliases_result_free(&r);
}

/* test_aliases_too_many - more than ALIASES_EXPANSION_MAX final targets is refused whole. */
static void test_aliases_too_many(void **state)
{
	struct aliases_resolver res = test_resolver(NULL);
	struct aliases_result r;
	struct aliases_table t;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	fputs("big@example.test: a@example.test, b@example.test\n", f);
	for (int a = 0; a < 2; a++) {
		fprintf(f, "%c@example.test: ", 'a' + a);
		for (int i = 0; i < 600; i++)
			fprintf(f, "%sr%d-%d@remote.example", i ? "," : "", a, i);
		fputc('\n', f);
	}
	fclose(f);
	test_parse(&t, text);
	aliases_result_init(&r);
	assert_int_equal(aliases_resolve(&t, &res, "a@example.test", &r), ALIASES_OK);
	assert_int_equal(r.n, 600);
	assert_int_equal(aliases_resolve(&t, &res, "big@example.test", &r), ALIASES_TOO_MANY);
	assert_int_equal(r.n, 0);
	aliases_result_free(&r);
	aliases_free(&t);
	free(text);
}

/* test_aliases_merge - two recipients reaching alice store one copy; the first orig stays. */
static void test_aliases_merge(void **state)
{
	struct aliases_resolver res = test_resolver(NULL);
	struct aliases_result tx, r;
	struct aliases_table t;

	(void)state;
	test_parse(&t, "info@example.test: alice@example.test, bob@example.test\n");
	aliases_result_init(&tx);
	aliases_result_init(&r);
	assert_int_equal(aliases_resolve(&t, &res, "alice+x@example.test", &r), ALIASES_OK);
	assert_int_equal(aliases_result_merge(&tx, &r), 1);
	assert_int_equal(aliases_resolve(&t, &res, "info@example.test", &r), ALIASES_OK);
	assert_int_equal(aliases_result_merge(&tx, &r), 1);
	assert_int_equal(aliases_result_merge(&tx, &r), 0);
	assert_int_equal(tx.n, 2);
	assert_string_equal(tx.targets[0].address, "alice@example.test");
	assert_string_equal(tx.targets[0].orig, "alice+x@example.test");
	assert_string_equal(tx.targets[1].address, "bob@example.test");
	assert_string_equal(tx.targets[1].orig, "info@example.test");
	aliases_result_free(&tx);
	aliases_result_free(&r);
	aliases_free(&t);
}

/* test_aliases_owns - who may send as whom. */
static void test_aliases_owns(void **state)
{
	static const struct {
		const char *login, *address;
		bool owns;
	} cases[] = {
		{ "alice@example.test", "alice@example.test", true },
		{ "alice@example.test", "ALICE@Example.TEST", true },
		{ "Alice@example.test", "alice@example.test", true },
		{ "alice@example.test", "alice+tag@example.test", true },
		{ "alice@example.test", "info@example.test", true },  /* own alias */
		{ "bob@example.test", "info@example.test", true },
		{ "alice@example.test", "info+x@example.test", true },
		{ "alice@example.test", "team@example.test", true },  /* nested */
		{ "alice@example.test", "sales@example.test", false }, /* another's alias */
		{ "alice@example.test", "bob@example.test", false },   /* another's address */
		{ "alice@example.test", "bob+x@example.test", false },
		{ "alice@example.test", "nobody@example.test", false }, /* catch-all: no */
		{ "carol@other.test", "postmaster@other.test", false }, /* first account: no */
		{ "bob@example.test", "postmaster@example.test", true }, /* alias */
		{ "alice@example.test", "alice@remote.example", false },
		{ "alice@example.test", "fwd@example.test", false },
		{ "alice@example.test", "loop@example.test", true },
		{ "alice@example.test", "", false },
		{ "alice@example.test", "@example.test", false },
	};
	struct aliases_resolver res = test_resolver(NULL);
	struct aliases_table t;

	(void)state;
	test_parse(&t, "info@example.test: alice@example.test, bob@example.test\n"
		       "team@example.test: info@example.test\n"
		       "sales@example.test: bob@example.test\n"
		       "@example.test: alice@example.test\n"
		       "postmaster@example.test: bob@example.test\n"
		       "fwd@example.test: alice@remote.example\n"
		       "loop@example.test: loop2@example.test, alice@example.test\n"
		       "loop2@example.test: loop@example.test\n");
	for (size_t i = 0; i < TEST_N(cases); i++) {
		if (aliases_owns(&t, &res, cases[i].login, cases[i].address) != cases[i].owns)
			fail_msg("%s as %s: want %d", cases[i].login, cases[i].address,
				 cases[i].owns);
	}
	aliases_free(&t);
}

/* test_check_set - set address -> one target in t, then the loop check's answer. */
static int test_check_set(struct aliases_table *t, const char *address, const char *target,
			  char **error_r)
{
	struct aliases_resolver res = test_resolver(NULL);
	char *targets[] = { (char *)target };
	const char *error;

	*error_r = NULL;
	assert_int_equal(aliases_set(t, address, targets, 1, NULL, NULL, &error), 0);
	return aliases_check_loops(t, &res, address, error_r);
}

/* test_aliases_loops - a loop or a too deep chain is refused when added, naming it. */
static void test_aliases_loops(void **state)
{
	struct aliases_table t;
	char *error, *text;

	(void)state;
	test_parse(&t, "a@example.test: b@example.test\nb@example.test: alice@example.test\n");
	assert_int_equal(test_check_set(&t, "b@example.test", "a@example.test", &error), -1);
	assert_string_equal(error, "alias loop: b@example.test -> a@example.test -> b@example.test");
	free(error);
	assert_int_equal(test_check_set(&t, "c@example.test", "c@example.test", &error), -1);
	assert_string_equal(error, "alias loop: c@example.test -> c@example.test");
	free(error);
	/* through a subaddress: b -> a+x@ is a -> b */
	assert_int_equal(test_check_set(&t, "b@example.test", "a+x@example.test", &error), -1);
	assert_string_equal(error, "alias loop: b@example.test -> a@example.test -> b@example.test");
	free(error);
	assert_int_equal(test_check_set(&t, "b@example.test", "alice@example.test", &error), 0);
	assert_int_equal(test_check_set(&t, "d@example.test", "a@example.test", &error), 0);
	aliases_free(&t);

	text = test_chain(ALIASES_DEPTH_MAX);
	test_parse(&t, text);
	free(text);
	assert_int_equal(test_check_set(&t, "c0@example.test", "c1@example.test", &error), -1);
	assert_non_null(strstr(error, "aliases nested deeper than 10 levels: c0@example.test -> "));
	free(error);
	assert_int_equal(test_check_set(&t, "c0@example.test", "c2@example.test", &error), 0);
	aliases_free(&t);
}

/* test_aliases_routes - what posternctl accepts as a target. */
static void test_aliases_routes(void **state)
{
	struct aliases_resolver res = test_resolver(NULL);
	struct aliases_table t;

	(void)state;
	test_parse(&t, "info@example.test: alice@example.test\n@example.test: bob@example.test\n");
	assert_true(aliases_routes(&t, &res, "alice@example.test"));
	assert_true(aliases_routes(&t, &res, "Alice+x@example.test"));
	assert_true(aliases_routes(&t, &res, "info@example.test"));
	assert_true(aliases_routes(&t, &res, "postmaster@other.test"));
	assert_true(aliases_routes(&t, &res, "anyone@remote.example"));
	assert_false(aliases_routes(&t, &res, "ghost@example.test")); /* the catch-all does not count */
	assert_false(aliases_routes(&t, &res, "postmaster@empty.test"));
	assert_ptr_equal(aliases_target_alias(&t, &res, "info+x@example.test"),
			 aliases_find(&t, "info@example.test"));
	assert_null(aliases_target_alias(&t, &res, "alice@example.test"));
	aliases_free(&t);
}

/* test_aliases_file - path, missing file, save, load, refresh, a bad file kept out. */
static void test_aliases_file(void **state)
{
	char dir[] = "/tmp/test_aliases.XXXXXX", *path, *error = NULL, *users;
	char *one[] = { "alice@example.test" };
	const char *why;
	struct aliases_table t, u;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	users = xasprintf("%s/users", dir);
	path = aliases_path(users);
	assert_string_equal(path + strlen(dir), "/aliases");
	free(users);
	users = aliases_path("users");
	assert_string_equal(users, "aliases");
	free(users);
	aliases_init(&t);
	aliases_init(&u);
	assert_int_equal(aliases_load(&t, path, &error), 0); /* missing: empty */
	assert_int_equal(t.n, 0);
	assert_int_equal(aliases_set(&t, "info@example.test", one, 1, NULL, NULL, &why), 0);
	assert_int_equal(aliases_save(&t, path, &error), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(aliases_refresh(&u, path, &error), 1);
	assert_non_null(aliases_find(&u, "info@example.test"));
	assert_int_equal(aliases_refresh(&u, path, &error), 0);
	f = fopen(path, "a");
	fputs("broken line\n", f);
	fclose(f);
	assert_int_equal(aliases_refresh(&u, path, &error), -1);
	assert_non_null(strstr(error, "aliases:3: expected ADDRESS: TARGET"));
	free(error);
	assert_non_null(aliases_find(&u, "info@example.test")); /* the last good table stays */
	assert_int_equal(aliases_refresh(&u, path, NULL), 0);    /* reported once */
	unlink(path);
	rmdir(dir);
	free(path);
	aliases_free(&t);
	aliases_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aliases_parse_good),
		cmocka_unit_test(test_aliases_parse_bad),
		cmocka_unit_test(test_aliases_parse_limits),
		cmocka_unit_test(test_aliases_format),
		cmocka_unit_test(test_aliases_set_del),
		cmocka_unit_test(test_aliases_resolve),
		cmocka_unit_test(test_aliases_depth),
		cmocka_unit_test(test_aliases_too_many),
		cmocka_unit_test(test_aliases_merge),
		cmocka_unit_test(test_aliases_owns),
		cmocka_unit_test(test_aliases_loops),
		cmocka_unit_test(test_aliases_routes),
		cmocka_unit_test(test_aliases_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

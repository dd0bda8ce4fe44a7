/*
 * test_imap_fetch_search - IMAP FETCH items, SEARCH parsing and matching
 * (sequence sets: test_imap_seqset.c, dates: test_imap_date.c). The
 * argument trees are built here from a compact text (test_tree_build),
 * not by the command parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "imap/imap_fetch_items.h"
#include "imap/imap_search.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- argument trees from text: atoms, "quoted", (lists); [...] stays in its atom ---- */

struct test_tree {
	struct imap_arg pool[512];
	size_t used;
	char text[8192];
	size_t text_used;
	const struct imap_arg *args;
	size_t count;
};

/* test_tree_str - copy len bytes into the tree's text storage. */
static const char *test_tree_str(struct test_tree *t, const char *s, size_t len)
{
	char *d = t->text + t->text_used;

	assert_true(t->text_used + len + 1 <= sizeof(t->text));
	memcpy(d, s, len);
	d[len] = '\0';
	t->text_used += len + 1;
	return d;
}

/* test_tree_atom - an atom at *p; '[' runs to its matching ']'. */
static void test_tree_atom(struct test_tree *t, const char **p, struct imap_arg *a)
{
	const char *s = *p;
	int depth = 0;

	while (**p != '\0' && (depth > 0 || (**p != ' ' && **p != '(' && **p != ')'))) {
		depth += **p == '[' ? 1 : **p == ']' ? -1 : 0;
		(*p)++;
	}
	a->type = (size_t)(*p - s) == 3 && strncmp(s, "NIL", 3) == 0 ? IMAP_ARG_NIL : IMAP_ARG_ATOM;
	a->u.str.data = test_tree_str(t, s, (size_t)(*p - s));
	a->u.str.len = (size_t)(*p - s);
}

/* test_tree_quoted - a quoted string at *p (backslash escapes). */
static void test_tree_quoted(struct test_tree *t, const char **p, struct imap_arg *a)
{
	char buf[1024];
	size_t n = 0;

	for ((*p)++; **p != '"'; (*p)++) {
		assert_true(**p != '\0' && n < sizeof(buf));
		if (**p == '\\')
			(*p)++;
		buf[n++] = **p;
	}
	(*p)++;
	a->type = IMAP_ARG_STRING;
	a->u.str.data = test_tree_str(t, buf, n);
	a->u.str.len = n;
}

/* test_tree_level - the arguments up to ')' or the end, as one contiguous block. */
static size_t test_tree_level(struct test_tree *t, const char **p, const struct imap_arg **args_r)
{
	struct imap_arg level[64];
	size_t n = 0;

	for (;;) {
		while (**p == ' ')
			(*p)++;
		if (**p == '\0' || **p == ')')
			break;
		assert_true(n < ARRAY_LEN(level));
		struct imap_arg *a = &level[n++];
		memset(a, 0, sizeof(*a));
		if (**p == '(') {
			(*p)++;
			a->type = IMAP_ARG_LIST;
			a->u.list.count = test_tree_level(t, p, &a->u.list.args);
			assert_int_equal(**p, ')');
			(*p)++;
		} else if (**p == '"') {
			test_tree_quoted(t, p, a);
		} else {
			test_tree_atom(t, p, a);
		}
	}
	assert_true(t->used + n <= ARRAY_LEN(t->pool));
	memcpy(t->pool + t->used, level, n * sizeof(level[0]));
	*args_r = t->pool + t->used;
	t->used += n;
	return n;
}

/* test_tree_build - the tree of text (reset first). */
static void test_tree_build(struct test_tree *t, const char *text)
{
	const char *p = text;

	t->used = t->text_used = 0;
	t->count = test_tree_level(t, &p, &t->args);
	assert_int_equal(*p, '\0');
}

/* ---- FETCH items ---- */

#define L_SIZE IMAP_FETCH_LOAD_SIZE
#define L_DATE IMAP_FETCH_LOAD_DATE
#define L_HDR IMAP_FETCH_LOAD_HEADER
#define L_MSG IMAP_FETCH_LOAD_MESSAGE
#define L_MIME (IMAP_FETCH_LOAD_MIME | IMAP_FETCH_LOAD_MESSAGE)
#define L_MODSEQ IMAP_FETCH_LOAD_MODSEQ

static const struct {
	bool uid;
	const char *in;
	const char *names; /* response names joined by '|'; NULL: parse error */
	unsigned load;
	bool seen;
} test_fetch_cases[] = {
	{ false, "FLAGS", "FLAGS", 0, false },
	{ false, "(flags uid)", "FLAGS|UID", 0, false },
	{ true, "(UID FLAGS RFC822.SIZE ENVELOPE)", "UID|FLAGS|RFC822.SIZE|ENVELOPE", L_SIZE | L_HDR,
	  false },
	{ true, "(FLAGS)", "UID|FLAGS", 0, false },
	{ false, "ALL", "FLAGS|INTERNALDATE|RFC822.SIZE|ENVELOPE", L_SIZE | L_DATE | L_HDR, false },
	{ false, "fast", "FLAGS|INTERNALDATE|RFC822.SIZE", L_SIZE | L_DATE, false },
	{ false, "FULL", "FLAGS|INTERNALDATE|RFC822.SIZE|ENVELOPE|BODY",
	  L_SIZE | L_DATE | L_HDR | L_MIME, false },
	{ false, "RFC822", "RFC822", L_MSG, true },
	{ false, "RFC822.HEADER", "RFC822.HEADER", L_HDR, false },
	{ false, "RFC822.TEXT", "RFC822.TEXT", L_MSG, true },
	{ false, "(BODY BODYSTRUCTURE)", "BODY|BODYSTRUCTURE", L_MIME, false },
	{ false, "INTERNALDATE", "INTERNALDATE", L_DATE, false },
	{ false, "MODSEQ", "MODSEQ", L_MODSEQ, false },
	{ false, "BODY[]", "BODY[]", L_MSG, true },
	{ false, "BODY.PEEK[]", "BODY[]", L_MSG, false },
	{ false, "body.peek[text]", "BODY[TEXT]", L_MSG, false },
	{ false, "BODY[HEADER]", "BODY[HEADER]", L_HDR, true },
	{ false, "BODY.PEEK[HEADER.FIELDS (From To)]", "BODY[HEADER.FIELDS (From To)]", L_HDR, false },
	{ false, "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>", "BODY[HEADER.FIELDS (From To)]<0>", L_HDR,
	  false },
	{ false, "BODY[header.fields.not (X-Spam  \"Subject\")]<10.5>",
	  "BODY[HEADER.FIELDS.NOT (X-Spam Subject)]<10>", L_HDR, true },
	{ false, "BODY[HEADER.FIELDS (\"a b\")]", "BODY[HEADER.FIELDS (\"a b\")]", L_HDR, true },
	{ false, "BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100>", "BODY[1.2.HEADER.FIELDS (From To)]<0>",
	  L_MIME, false },
	{ false, "BODY[1]", "BODY[1]", L_MIME, true },
	{ false, "BODY[1.2.3]", "BODY[1.2.3]", L_MIME, true },
	{ false, "BODY[1.MIME]", "BODY[1.MIME]", L_MIME, true },
	{ false, "BODY[2.text]", "BODY[2.TEXT]", L_MIME, true },
	{ false, "BODY[2.HEADER]", "BODY[2.HEADER]", L_MIME, true },
	{ false, "BODY[]<0.1024>", "BODY[]<0>", L_MSG, true },
	{ false, "(BODY.PEEK[] BODY[])", "BODY[]", L_MSG, true },
	{ false, "(FLAGS FLAGS)", "FLAGS", 0, false },
	{ false, "BINARY[1]", "BINARY[1]", L_MIME, true },
	{ false, "BINARY.PEEK[1.2]<5.10>", "BINARY[1.2]<5>", L_MIME, false },
	{ false, "BINARY[]", "BINARY[]", L_MIME, true },
	{ false, "BINARY.SIZE[1]", "BINARY.SIZE[1]", L_MIME, false },
	{ false, "(FLAGS) (CHANGEDSINCE 12345)", "FLAGS|MODSEQ", L_MODSEQ, false },
	{ true, "(FLAGS) (CHANGEDSINCE 1 VANISHED)", "UID|FLAGS|MODSEQ", L_MODSEQ, false },
	{ true, "(FLAGS) (VANISHED CHANGEDSINCE 1)", "UID|FLAGS|MODSEQ", L_MODSEQ, false },
	/* errors */
	{ false, "", NULL, 0, false },
	{ false, "()", NULL, 0, false },
	{ false, "FOO", NULL, 0, false },
	{ false, "(FLAGS ALL)", NULL, 0, false },
	{ false, "(FLAGS (UID))", NULL, 0, false },
	{ false, "\"FLAGS\"", NULL, 0, false },
	{ false, "BODY[", NULL, 0, false },
	{ false, "BODY[]x", NULL, 0, false },
	{ false, "BODY[0]", NULL, 0, false },
	{ false, "BODY[1.]", NULL, 0, false },
	{ false, "BODY[.1]", NULL, 0, false },
	{ false, "BODY[MIME]", NULL, 0, false },
	{ false, "BODY[FOO]", NULL, 0, false },
	{ false, "BODY[HEADER.FIELDS]", NULL, 0, false },
	{ false, "BODY[HEADER.FIELDS ()]", NULL, 0, false },
	{ false, "BODY[HEADER.FIELDS (From]", NULL, 0, false },
	{ false, "BODY[HEADER.FIELDS(From)]", NULL, 0, false },
	{ false, "BODY[HEADER.FIELDS (\"\")]", NULL, 0, false },
	{ false, "BODY[TEXT.HEADER]", NULL, 0, false },
	{ false, "BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17]", NULL, 0, false },
	{ false, "BODY[4294967296]", NULL, 0, false },
	{ false, "BODY[]<0>", NULL, 0, false },
	{ false, "BODY[]<0.0>", NULL, 0, false },
	{ false, "BODY[]<.5>", NULL, 0, false },
	{ false, "BODY[]<1.5", NULL, 0, false },
	{ false, "BODY[]<99999999999999999999.5>", NULL, 0, false },
	{ false, "BODY.PEEK", NULL, 0, false },
	{ false, "BINARY[TEXT]", NULL, 0, false },
	{ false, "BINARY[1.MIME]", NULL, 0, false },
	{ false, "BINARY.SIZE[1]<0.5>", NULL, 0, false },
	{ false, "RFC822.SIZEX", NULL, 0, false },
	{ false, "(FLAGS) (VANISHED CHANGEDSINCE 1)", NULL, 0, false }, /* not UID FETCH */
	{ true, "(FLAGS) (VANISHED)", NULL, 0, false },
	{ true, "(FLAGS) (CHANGEDSINCE)", NULL, 0, false },
	{ true, "(FLAGS) (CHANGEDSINCE x)", NULL, 0, false },
	{ true, "(FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)", NULL, 0, false },
	{ true, "(FLAGS) (FOO)", NULL, 0, false },
	{ true, "(FLAGS) CHANGEDSINCE", NULL, 0, false },
	{ true, "(FLAGS) (CHANGEDSINCE 1) x", NULL, 0, false },
	{ true, "(FLAGS UID RFC822.SIZE ENVELOPE INTERNALDATE BODY BODYSTRUCTURE MODSEQ RFC822)",
	  NULL, 0, false }, /* more than 8 */
};

/* test_fetch_names - the response names joined by '|'. */
static void test_fetch_names(const struct imap_fetch_items *r, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->count; i++) {
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "|" : "", r->items[i].name);
		assert_true(o < size);
	}
}

static void test_fetch_table(void **state)
{
	struct test_tree t;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_fetch_cases); i++) {
		struct imap_fetch_items r;
		const char *error = NULL;
		char names[512];
		test_tree_build(&t, test_fetch_cases[i].in);
		int rc = imap_fetch_items_parse(t.args, t.count, test_fetch_cases[i].uid, 8, &r, &error);
		if (test_fetch_cases[i].names == NULL) {
			if (rc != -1 || error == NULL)
				fail_msg("case %zu (%s) should fail", i, test_fetch_cases[i].in);
			assert_int_equal(r.count, 0);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu (%s): %s", i, test_fetch_cases[i].in, error);
		test_fetch_names(&r, names, sizeof(names));
		if (strcmp(names, test_fetch_cases[i].names) != 0)
			fail_msg("case %zu (%s): %s", i, test_fetch_cases[i].in, names);
		if (r.load != test_fetch_cases[i].load || r.sets_seen != test_fetch_cases[i].seen)
			fail_msg("case %zu (%s): load %x seen %d", i, test_fetch_cases[i].in, r.load,
				 r.sets_seen);
		imap_fetch_items_free(&r);
	}
}

/* The section of one item, as the MIME reader will see it. */
static void test_fetch_section(void **state)
{
	const char *atom = "BODY.PEEK[1.2.HEADER.FIELDS (From \"X-My Header\" to)]<7.100>";
	struct imap_fetch_item item;
	const char *error;

	(void)state;
	assert_int_equal(imap_fetch_item_parse(atom, strlen(atom), &item, &error), 0);
	assert_int_equal(item.attr, IMAP_FETCH_BODY_SECTION);
	assert_true(item.peek);
	assert_false(item.sets_seen);
	assert_int_equal(item.section.nparts, 2);
	assert_int_equal(item.section.part[0], 1);
	assert_int_equal(item.section.part[1], 2);
	assert_int_equal(item.section.text, IMAP_SECTION_FIELDS_IN);
	assert_int_equal(item.section.nfields, 3);
	assert_string_equal(item.section.fields[0], "From");
	assert_string_equal(item.section.fields[1], "X-My Header");
	assert_string_equal(item.section.fields[2], "to");
	assert_true(item.section.partial);
	assert_int_equal(item.section.offset, 7);
	assert_int_equal(item.section.count, 100);
	assert_string_equal(item.name, "BODY[1.2.HEADER.FIELDS (From \"X-My Header\" to)]<7>");
	imap_fetch_item_free(&item);
	assert_int_equal(imap_fetch_item_parse("BODY[]", 6, &item, &error), 0);
	assert_int_equal(item.section.nparts, 0);
	assert_int_equal(item.section.text, IMAP_SECTION_ALL);
	assert_false(item.section.partial);
	imap_fetch_item_free(&item);
}

/* The modifiers come out as numbers; MODSEQ is implied by CHANGEDSINCE. */
static void test_fetch_modifiers(void **state)
{
	struct test_tree t;
	struct imap_fetch_items r;
	const char *error;

	(void)state;
	test_tree_build(&t, "(FLAGS MODSEQ) (CHANGEDSINCE 9223372036854775807 VANISHED)");
	assert_int_equal(imap_fetch_items_parse(t.args, t.count, true, 64, &r, &error), 0);
	assert_true(r.changedsince);
	assert_true(r.vanished);
	assert_true(r.modseq);
	assert_true(r.changedsince_modseq == 9223372036854775807ULL);
	assert_int_equal(r.count, 3);
	imap_fetch_items_free(&r);
	test_tree_build(&t, "(FLAGS) (CHANGEDSINCE 9223372036854775808)");
	assert_int_equal(imap_fetch_items_parse(t.args, t.count, true, 64, &r, &error), -1);
	test_tree_build(&t, "FLAGS");
	assert_int_equal(imap_fetch_items_parse(t.args, t.count, false, 64, &r, &error), 0);
	assert_false(r.modseq);
	assert_false(r.changedsince);
	imap_fetch_items_free(&r);
}

/* ---- SEARCH parsing ---- */

static const struct {
	const char *in;
	int rc;
	unsigned load;
} test_search_parse_cases[] = {
	{ "ALL", 0, 0 },
	{ "SEEN UNSEEN NEW OLD RECENT ANSWERED DELETED DRAFT FLAGGED", 0, 0 },
	{ "UNANSWERED UNDELETED UNDRAFT UNFLAGGED", 0, 0 },
	{ "from alice TO \"bob\" CC c BCC d SUBJECT \"x y\"", 0, IMAP_SEARCH_LOAD_HEADER },
	{ "HEADER X-Spam yes", 0, IMAP_SEARCH_LOAD_HEADER },
	{ "BODY x", 0, IMAP_SEARCH_LOAD_BODY },
	{ "TEXT x", 0, IMAP_SEARCH_LOAD_HEADER | IMAP_SEARCH_LOAD_BODY },
	{ "SENTON 1-Feb-1994", 0, IMAP_SEARCH_LOAD_HEADER },
	{ "BEFORE \"1-Feb-1994\" ON 1-Feb-1994 SINCE 1-Feb-1994", 0, 0 },
	{ "SENTBEFORE 1-Feb-1994 SENTSINCE 1-Feb-1994", 0, IMAP_SEARCH_LOAD_HEADER },
	{ "LARGER 10 SMALLER 4294967296", 0, 0 },
	{ "KEYWORD $Forwarded UNKEYWORD $Junk", 0, 0 },
	{ "1:5,7 UID 2:* *", 0, 0 },
	{ "OR SEEN (FLAGGED NOT DELETED)", 0, 0 },
	{ "NOT OR SEEN FLAGGED", 0, 0 },
	{ "MODSEQ 0", 0, 0 },
	{ "MODSEQ \"/flags/\\\\Seen\" all 5", 0, 0 },
	{ "CHARSET UTF-8 ALL", 0, 0 },
	{ "charset us-ascii ALL", 0, 0 },
	{ "RETURN (MIN MAX) ALL", 0, 0 },
	{ "RETURN () CHARSET UTF-8 ALL", 0, 0 },
	{ "", -1, 0 },
	{ "FOO", -1, 0 },
	{ "FROM", -1, 0 },
	{ "FROM (a)", -1, 0 },
	{ "NOT", -1, 0 },
	{ "OR SEEN", -1, 0 },
	{ "()", -1, 0 },
	{ "\"ALL\"", -1, 0 },
	{ "LARGER x", -1, 0 },
	{ "LARGER -1", -1, 0 },
	{ "LARGER 99999999999999999999", -1, 0 },
	{ "LARGER \"5\"", -1, 0 },
	{ "BEFORE 1-Feb", -1, 0 },
	{ "SENTON", -1, 0 },
	{ "UID", -1, 0 },
	{ "UID 0", -1, 0 },
	{ "UID x", -1, 0 },
	{ "UID $", -1, 0 },
	{ "0", -1, 0 },
	{ "1:0", -1, 0 },
	{ "CHARSET", -1, 0 },
	{ "CHARSET UTF-8", -1, 0 },
	{ "CHARSET ISO-8859-1 ALL", IMAP_SEARCH_BADCHARSET, 0 },
	{ "RETURN (SAVE) ALL", -1, 0 },
	{ "RETURN (FOO) ALL", -1, 0 },
	{ "RETURN (MIN)", -1, 0 },
	{ "CHARSET UTF-8 RETURN (ALL) ALL", -1, 0 },
	{ "HEADER \"\" x", -1, 0 },
	{ "HEADER a:b x", -1, 0 },
	{ "HEADER x", -1, 0 },
	{ "KEYWORD", -1, 0 },
	{ "KEYWORD \"x\"", -1, 0 },
	{ "MODSEQ", -1, 0 },
	{ "MODSEQ x", -1, 0 },
	{ "MODSEQ \"/flags/x\" foo 5", -1, 0 },
	{ "MODSEQ \"/flags/x\" priv", -1, 0 },
	{ "NIL", -1, 0 },
};

static void test_search_parse_table(void **state)
{
	struct test_tree t;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_search_parse_cases); i++) {
		struct imap_search *s = NULL;
		const char *error = NULL;
		test_tree_build(&t, test_search_parse_cases[i].in);
		int rc = imap_search_parse(t.args, t.count, &imap_search_default_limits, &s, &error);
		if (rc != test_search_parse_cases[i].rc)
			fail_msg("case %zu (%s): rc %d (%s)", i, test_search_parse_cases[i].in, rc,
				 error != NULL ? error : "");
		if (rc < 0) {
			assert_non_null(error);
			assert_null(s);
			continue;
		}
		assert_int_equal(s->load, test_search_parse_cases[i].load);
		imap_search_free(&s);
		assert_null(s);
	}
}

/* The RETURN options, MODSEQ, and the shape of the tree. */
static void test_search_parse_tree(void **state)
{
	struct test_tree t;
	struct imap_search *s;
	const char *error;

	(void)state;
	test_tree_build(&t, "RETURN (MIN COUNT) OR FROM Alice (SEEN NOT DELETED)");
	assert_int_equal(imap_search_parse(t.args, t.count, &imap_search_default_limits, &s, &error), 0);
	assert_true(s->esearch);
	assert_int_equal(s->return_opts, IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_COUNT);
	assert_false(s->modseq);
	const struct imap_search_node *or = s->nodes[0].first;
	assert_int_equal(or->key, IMAP_SEARCH_OR);
	assert_null(or->next);
	assert_int_equal(or->first->key, IMAP_SEARCH_HEADER);
	assert_string_equal(or->first->name, "from");
	assert_string_equal(or->first->value, "alice");
	assert_int_equal(or->first->next->key, IMAP_SEARCH_AND);
	assert_int_equal(or->first->next->first->next->key, IMAP_SEARCH_NOT);
	imap_search_free(&s);
	test_tree_build(&t, "RETURN () MODSEQ 5");
	assert_int_equal(imap_search_parse(t.args, t.count, &imap_search_default_limits, &s, &error), 0);
	assert_int_equal(s->return_opts, IMAP_SEARCH_RETURN_ALL);
	assert_true(s->modseq);
	imap_search_free(&s);
	test_tree_build(&t, "ALL");
	assert_int_equal(imap_search_parse(t.args, t.count, &imap_search_default_limits, &s, &error), 0);
	assert_false(s->esearch);
	imap_search_free(&s);
}

/* Depth and size are bounded. */
static void test_search_parse_limits(void **state)
{
	const struct imap_search_limits small = { .nodes_max = 10, .depth_max = 4, .ranges_max = 3 };
	struct test_tree t;
	struct imap_search *s;
	const char *error;
	static const struct {
		const char *in;
		int rc;
	} cases[] = {
		{ "SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN", 0 },
		{ "SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN", -1 },
		{ "(SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN)", -1 },
		{ "NOT NOT NOT NOT SEEN", -1 },
		{ "NOT NOT NOT SEEN", 0 },
		{ "(((SEEN)))", 0 },
		{ "((((SEEN))))", -1 },
		{ "1,2,3", 0 },
		{ "1,2,3,4", -1 },
		{ "UID 1,2,3,4", -1 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		s = NULL;
		test_tree_build(&t, cases[i].in);
		int rc = imap_search_parse(t.args, t.count, &small, &s, &error);
		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): rc %d", i, cases[i].in, rc);
		imap_search_free(&s);
	}
}

/* ---- SEARCH matching ---- */

/* The message the match sees, and how often its parts were asked for. */
struct test_msg {
	const char *header, *body;
	int header_calls, body_calls;
	bool fail;
};

/* test_header_cb - the raw header block. */
static int test_header_cb(void *ctx, const char **data_r, size_t *len_r)
{
	struct test_msg *t = ctx;

	t->header_calls++;
	if (t->fail)
		return -1;
	*data_r = t->header;
	*len_r = strlen(t->header);
	return 0;
}

/* test_body_cb - the raw body. */
static int test_body_cb(void *ctx, const char **data_r, size_t *len_r)
{
	struct test_msg *t = ctx;

	t->body_calls++;
	if (t->fail)
		return -1;
	*data_r = t->body;
	*len_r = strlen(t->body);
	return 0;
}

/* test_keyword_cb - $Forwarded is keyword 2, $MDNSent 3; others unknown. */
static int test_keyword_cb(void *ctx, const char *name)
{
	(void)ctx;
	if (strcasecmp(name, "$Forwarded") == 0)
		return 2;
	return strcasecmp(name, "$MDNSent") == 0 ? 3 : -1;
}

static const char test_header_crlf[] =
	"Return-Path: <alice@example.org>\r\n"
	"From: Alice Example <alice@example.org>\r\n"
	"To: bob@example.net,\r\n"
	" carol@example.com\r\n"
	"Cc: dave@example.com\r\n"
	"Subject: Quarterly Report =?utf-8?q?x?=\r\n"
	"Date: Sat, 5 Dec 2026 00:30:00 +0100\r\n"
	"X-Thing: Gr\xc3\xbc\xc3\x9f" "e\r\n"
	"Message-ID: <1@x>\r\n"
	"\r\n"
	"Trailer: not a header field\r\n";

static const char test_body[] = "Hello Bob,\r\nthe numbers are in. \xc3\x84\r\n";

/* test_msg_init - message 5 of 10, UID 50 of 100, \Seen \Flagged $Forwarded. */
static void test_msg_init(struct imap_search_msg *m, struct test_msg *t)
{
	memset(m, 0, sizeof(*m));
	m->seq = 5;
	m->seq_max = 10;
	m->uid = 50;
	m->uid_max = 100;
	m->flags = IMAP_FLAG_SEEN | IMAP_FLAG_FLAGGED;
	m->keywords = 1u << 2;
	m->size = 1234;
	m->internal_date = 1796599800; /* 06-Dec-2026 23:30:00 UTC: 7 Dec at +0100 */
	m->internal_tzoff = 3600;
	m->modseq = 77;
	m->header_cb = test_header_cb;
	m->body_cb = test_body_cb;
	m->ctx = t;
}

static const struct {
	const char *in;
	int want;
} test_match_cases[] = {
	{ "ALL", 1 },
	{ "SEEN", 1 }, { "UNSEEN", 0 }, { "FLAGGED", 1 }, { "UNFLAGGED", 0 },
	{ "ANSWERED", 0 }, { "UNANSWERED", 1 }, { "DELETED", 0 }, { "UNDELETED", 1 },
	{ "DRAFT", 0 }, { "UNDRAFT", 1 }, { "RECENT", 0 }, { "OLD", 1 }, { "NEW", 0 },
	{ "KEYWORD $Forwarded", 1 }, { "KEYWORD $forwarded", 1 }, { "KEYWORD $Junk", 0 },
	{ "UNKEYWORD $Forwarded", 0 }, { "UNKEYWORD $Junk", 1 },
	{ "KEYWORD $MDNSent", 0 }, { "UNKEYWORD $MDNSent", 1 },
	{ "5", 1 }, { "1:4", 0 }, { "4:*", 1 }, { "*", 0 }, { "1,3,5,7", 1 }, { "11:*", 0 },
	{ "UID 50", 1 }, { "UID 1:49,51:*", 0 }, { "UID *", 0 }, { "UID 50:*", 1 },
	{ "UID 200:*", 0 },
	{ "FROM alice", 1 }, { "FROM ALICE@EXAMPLE.ORG", 1 }, { "FROM bob", 0 },
	{ "FROM \"\"", 1 }, { "TO carol", 1 }, { "TO \"example.net, carol\"", 1 },
	{ "TO \"net,carol\"", 0 }, { "TO dave", 0 }, { "CC dave", 1 }, { "BCC dave", 0 },
	{ "BCC \"\"", 0 }, { "SUBJECT \"quarterly report\"", 1 },
	{ "SUBJECT \"report =?utf-8\"", 1 }, { "SUBJECT Subject", 0 },
	{ "HEADER Message-ID <1@x>", 1 }, { "HEADER message-id \"\"", 1 },
	{ "HEADER X-Missing \"\"", 0 }, { "HEADER X-Thing \"Gr\xc3\xbc\xc3\x9f" "e\"", 1 },
	{ "HEADER X-Thing \"gr\xc3\xbc\"", 1 }, { "HEADER X-Thing \"GR\xc3\x9c\"", 0 },
	{ "HEADER Trailer not", 0 }, { "HEADER Return-Path alice", 1 },
	{ "BODY numbers", 1 }, { "BODY \"HELLO BOB\"", 1 }, { "BODY alice", 0 },
	{ "BODY \"\xc3\x84\"", 1 }, { "BODY \"\xc3\xa4\"", 0 },
	{ "TEXT alice", 1 }, { "TEXT numbers", 1 }, { "TEXT zzz", 0 },
	{ "LARGER 1233", 1 }, { "LARGER 1234", 0 }, { "SMALLER 1235", 1 }, { "SMALLER 1234", 0 },
	{ "BEFORE 8-Dec-2026", 1 }, { "BEFORE 7-Dec-2026", 0 }, { "ON 7-Dec-2026", 1 },
	{ "ON 6-Dec-2026", 0 }, { "SINCE 7-Dec-2026", 1 }, { "SINCE 8-Dec-2026", 0 },
	{ "SENTON 5-Dec-2026", 1 }, { "SENTON 4-Dec-2026", 0 }, { "SENTBEFORE 5-Dec-2026", 0 },
	{ "SENTBEFORE 6-Dec-2026", 1 }, { "SENTSINCE 5-Dec-2026", 1 },
	{ "SENTSINCE 6-Dec-2026", 0 },
	{ "MODSEQ 77", 1 }, { "MODSEQ 78", 0 }, { "MODSEQ \"/flags/\\\\seen\" all 70", 1 },
	{ "NOT SEEN", 0 }, { "NOT NOT SEEN", 1 }, { "OR SEEN DELETED", 1 },
	{ "OR DELETED DRAFT", 0 }, { "OR DELETED (FROM alice)", 1 }, { "(SEEN FLAGGED)", 1 },
	{ "(SEEN DRAFT)", 0 }, { "SEEN FLAGGED FROM alice", 1 }, { "NOT (FROM bob)", 1 },
	{ "NOT (FROM alice)", 0 }, { "OR (NOT SEEN) (OR DRAFT TO carol)", 1 },
	{ "CHARSET UTF-8 FROM alice", 1 }, { "RETURN (COUNT) ALL", 1 }, { "RETURN () DELETED", 0 },
};

/* test_lf - s with every CRLF turned into LF (Maildir files as stored). */
static void test_lf(const char *s, char *out)
{
	for (; *s != '\0'; s++)
		if (!(s[0] == '\r' && s[1] == '\n'))
			*out++ = *s;
	*out = '\0';
}

/* test_match_one - the search in text against the test message; its result. */
static int test_match_one(const char *text, struct test_msg *t)
{
	struct test_tree tree;
	struct imap_search *s;
	struct imap_search_msg m;
	const char *error;

	test_tree_build(&tree, text);
	if (imap_search_parse(tree.args, tree.count, &imap_search_default_limits, &s, &error) != 0)
		fail_msg("%s: %s", text, error);
	imap_search_resolve_keywords(s, test_keyword_cb, NULL);
	test_msg_init(&m, t);
	int rc = imap_search_match(s, &m);
	imap_search_free(&s);
	return rc;
}

static void test_search_match_table(void **state)
{
	char header_lf[sizeof(test_header_crlf)], body_lf[sizeof(test_body)];

	(void)state;
	test_lf(test_header_crlf, header_lf);
	test_lf(test_body, body_lf);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ARRAY_LEN(test_match_cases); i++) {
			struct test_msg t = { pass == 0 ? test_header_crlf : header_lf,
					      pass == 0 ? test_body : body_lf, 0, 0, false };
			int rc = test_match_one(test_match_cases[i].in, &t);
			if (rc != test_match_cases[i].want)
				fail_msg("case %zu (%s), %s: %d", i, test_match_cases[i].in,
					 pass == 0 ? "CRLF" : "LF", rc);
			assert_true(t.header_calls <= 1 && t.body_calls <= 1);
		}
	}
}

/* The header and body are asked for only when a key needs them, once. */
static void test_search_match_lazy(void **state)
{
	static const struct {
		const char *in;
		int header_calls, body_calls;
	} cases[] = {
		{ "SEEN UID 1:* LARGER 5 KEYWORD $Forwarded MODSEQ 1 SINCE 1-Jan-2000", 0, 0 },
		{ "FROM alice SUBJECT report TO bob", 1, 0 },
		{ "DELETED FROM alice", 0, 0 },    /* the cheap key fails first */
		{ "FROM alice DELETED", 0, 0 },
		{ "(FROM alice) DELETED", 0, 0 },
		{ "OR SEEN FROM alice", 0, 0 },    /* OR stops at the first match */
		{ "BODY bob BODY numbers", 0, 1 },
		{ "TEXT zzz", 1, 1 },
		{ "SENTON 5-Dec-2026 FROM alice", 1, 0 },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct test_msg t = { test_header_crlf, test_body, 0, 0, false };
		test_match_one(cases[i].in, &t);
		if (t.header_calls != cases[i].header_calls || t.body_calls != cases[i].body_calls)
			fail_msg("case %zu (%s): %d %d", i, cases[i].in, t.header_calls, t.body_calls);
	}
}

/* A callback that fails makes the match fail, not silently miss. */
static void test_search_match_failure(void **state)
{
	struct test_msg t = { test_header_crlf, test_body, 0, 0, true };

	(void)state;
	assert_int_equal(test_match_one("FROM alice", &t), -1);
	assert_int_equal(test_match_one("BODY x", &t), -1);
	assert_int_equal(test_match_one("NOT SENTON 1-Jan-2000", &t), -1);
	assert_int_equal(test_match_one("SEEN", &t), 1);
}

/* Without a Date: (or with a broken one) SENT* use the internal date's day. */
static void test_search_match_no_date(void **state)
{
	static const char *const headers[] = { "From: a\r\n\r\n", "Date: yesterday\r\n\r\n", "" };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(headers); i++) {
		struct test_msg t = { headers[i], "", 0, 0, false };
		assert_int_equal(test_match_one("SENTON 7-Dec-2026", &t), 1);
		assert_int_equal(test_match_one("SENTBEFORE 7-Dec-2026", &t), 0);
		assert_int_equal(test_match_one("HEADER From \"\"", &t), i == 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_table),
		cmocka_unit_test(test_fetch_section),
		cmocka_unit_test(test_fetch_modifiers),
		cmocka_unit_test(test_search_parse_table),
		cmocka_unit_test(test_search_parse_tree),
		cmocka_unit_test(test_search_parse_limits),
		cmocka_unit_test(test_search_match_table),
		cmocka_unit_test(test_search_match_lazy),
		cmocka_unit_test(test_search_match_failure),
		cmocka_unit_test(test_search_match_no_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_imap_parser - IMAP commands through the incremental parser: the
 * argument tree of good commands, the errors of bad ones and the recovery
 * for the next command, each input fed whole, byte by byte and in random
 * chunks (the results must not depend on the chunking).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_parser.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TEST_OUT_MAX 8192
#define TEST_SEEDS 40

static const struct imap_parser_limits test_limits = {
	.line_max = 8192, .literal_max = 65536, .total_max = 1 << 20,
	.depth_max = 16, .args_max = 1000, .stream_append = false,
};
static const struct imap_parser_limits test_small = {
	.line_max = 64, .literal_max = 16, .total_max = 128,
	.depth_max = 3, .args_max = 8, .stream_append = false,
};
static const struct imap_parser_limits test_total = {
	.line_max = 64, .literal_max = 16, .total_max = 40,
	.depth_max = 3, .args_max = 8, .stream_append = false,
};
static const struct imap_parser_limits test_stream = {
	.line_max = 128, .literal_max = 16, .total_max = 256,
	.depth_max = 3, .args_max = 16, .stream_append = true,
};

/* One input and the events it gives, joined by " | ". */
struct test_case {
	const char *in;
	size_t len;
	const char *want;
	const struct imap_parser_limits *limits; /* NULL: test_limits */
	bool refuse;                             /* refuse streamed literals */
};

#define T(s, w) { s, sizeof(s) - 1, w, NULL, false }
#define TL(s, w, l) { s, sizeof(s) - 1, w, l, false }
#define TR(s, w) { s, sizeof(s) - 1, w, &test_stream, true }

static const struct test_case test_cases[] = {
	/* good commands */
	T("a1 NOOP\r\n", "DONE a1 NOOP"),
	T("a1 noop\r\n", "DONE a1 NOOP"),
	T("a] Noop\r\n", "DONE a] NOOP"),
	T("a NOOP\r\nb CAPABILITY\r\n", "DONE a NOOP | DONE b CAPABILITY"),
	T("A001 LOGIN alice \"p\\\"a\\\\ss\"\r\n", "DONE A001 LOGIN: alice, \"p\"a\\ss\""),
	T("a2 UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)\r\n",
	  "DONE a2 UID: FETCH, 1:*, (UID, FLAGS, RFC822.SIZE, ENVELOPE)"),
	T("a3 FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.100> BODY[])\r\n",
	  "DONE a3 FETCH: 1, (BODY.PEEK[HEADER.FIELDS (From To)]<0.100>, BODY[])"),
	T("a3 FETCH 1 BODY[HEADER.FIELDS (\"a]b\" [x])]\r\n",
	  "DONE a3 FETCH: 1, BODY[HEADER.FIELDS (\"a]b\" [x])]"),
	T("a3 FETCH 1 BINARY.PEEK[1.2]<0.10> RFC822.HEADER\r\n",
	  "DONE a3 FETCH: 1, BINARY.PEEK[1.2]<0.10>, RFC822.HEADER"),
	T("a4 X NIL nil \"NIL\" NILS (NIL) {3+}\r\nNIL\r\n",
	  "DONE a4 X: <NIL>, <NIL>, \"NIL\", NILS, (<NIL>), {3}NIL"),
	T("a5 X (a (b (c)) () d)\r\n", "DONE a5 X: (a, (b, (c)), (), d)"),
	T("a5 X ((a)(b))\r\n", "ERR a5: expected a space after an argument"),
	T("a6 LOGIN {5}\r\nalice {3+}\r\npw!\r\n", "+ | DONE a6 LOGIN: {5}alice, {3}pw!"),
	T("a7 X ~{3}\r\na\0b ~{2+}\r\nxy\r\n", "+ | DONE a7 X: ~{3}a\\x00b, ~{2}xy"),
	T("a8 X (a {2+}\r\nxy b)\r\n", "DONE a8 X: (a, {2}xy, b)"),
	T("a9 X {4+}\r\n\r\n\r\n\r\n", "DONE a9 X: {4}\\x0d\\x0a\\x0d\\x0a"),
	T("b1 X {0}\r\n\r\n", "+ | DONE b1 X: {0}"),
	T("b1 X {0+}\r\n {1}\r\n)\r\n", "+ | DONE b1 X: {0}, {1})"),
	T("b2  X a  b \r\n", "DONE b2 X: a, b"),
	T("b3 LIST \"\" %/*\r\n", "DONE b3 LIST: \"\", %/*"),
	T("b4 STORE 1 +FLAGS.SILENT (\\Seen \\Deleted)\r\n",
	  "DONE b4 STORE: 1, +FLAGS.SILENT, (\\Seen, \\Deleted)"),
	T("b5 X ~abc ~ ~(\r\n", "ERR b5: expected a space after an argument"),
	T("b5 X ~abc ~\r\n", "DONE b5 X: ~abc, ~"),
	T("c1 X \"\xc3\xa9\t\"\r\n", "DONE c1 X: \"\\xc3\\xa9\\x09\""),
	T("c2 SEARCH CHARSET UTF-8 SUBJECT {2+}\r\n\xc3\xa9\r\n",
	  "DONE c2 SEARCH: CHARSET, UTF-8, SUBJECT, {2}\\xc3\\xa9"),
	T("c3 APPEND INBOX (\\Seen) {3+}\r\nabc\r\n", "DONE c3 APPEND: INBOX, (\\Seen), {3}abc"),
	/* streamed APPEND literals */
	TL("s1 APPEND INBOX (\\Seen) \"01-Jan-2024 00:00:00 +0000\" {5}\r\nhello\r\n",
	   "LIT 5 sync: s1 APPEND: INBOX, (\\Seen), \"01-Jan-2024 00:00:00 +0000\" | "
	   "DONE s1 APPEND: INBOX, (\\Seen), \"01-Jan-2024 00:00:00 +0000\", {5*}",
	   &test_stream),
	TL("s2 APPEND INBOX {3+}\r\nabc (\\Seen) ~{2+}\r\nxy\r\ns3 NOOP\r\n",
	   "LIT 3 nosync: s2 APPEND: INBOX | LIT 2 nosync: s2 APPEND: INBOX, {3*}, (\\Seen) | "
	   "DONE s2 APPEND: INBOX, {3*}, (\\Seen), ~{2*} | DONE s3 NOOP",
	   &test_stream),
	TL("s4 APPEND {5}\r\nINBOX {3}\r\nabc\r\n",
	   "+ | LIT 3 sync: s4 APPEND: {5}INBOX | DONE s4 APPEND: {5}INBOX, {3*}", &test_stream),
	TL("s5 APPEND INBOX {100+}\r\n"
	   "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	   "\r\n",
	   "LIT 100 nosync: s5 APPEND: INBOX | DONE s5 APPEND: INBOX, {100*}", &test_stream),
	TL("s6 FETCH INBOX {3+}\r\nabc\r\n", "DONE s6 FETCH: INBOX, {3}abc", &test_stream),
	TL("s7 APPEND INBOX {3+}\r\nabc {3+}\r\nabc\r\n",
	   "LIT 3 nosync: s7 APPEND: INBOX | LIT 3 nosync: s7 APPEND: INBOX, {3*} | "
	   "DONE s7 APPEND: INBOX, {3*}, {3*}",
	   &test_stream),
	TL("s8 APPEND INBOX {3+}\r\nabcx\r\ns9 NOOP\r\n",
	   "LIT 3 nosync: s8 APPEND: INBOX | ERR s8: expected a space after an argument | DONE s9 NOOP",
	   &test_stream),
	TR("r1 APPEND INBOX {300}\r\nr2 NOOP\r\n", "LIT 300 sync: r1 APPEND: INBOX | DONE r2 NOOP"),
	TR("r3 APPEND INBOX {5+}\r\nhello\r\nr4 NOOP\r\n",
	   "LIT 5 nosync: r3 APPEND: INBOX | DONE r4 NOOP"),
	TR("r5 APPEND INBOX {2+}\r\nab {3+}\r\nx\r\n\r\nr6 NOOP\r\n",
	   "LIT 2 nosync: r5 APPEND: INBOX | DONE r6 NOOP"),
	/* bad commands, each followed by a good one */
	T("a1 X \"abc\r\nb1 NOOP\r\n", "ERR a1: unterminated quoted string | DONE b1 NOOP"),
	T("a1 X \"a\\b\"\r\nb1 NOOP\r\n", "ERR a1: invalid escape in a quoted string | DONE b1 NOOP"),
	T("a1 X \"a\0b\"\r\nb1 NOOP\r\n", "ERR a1: NUL in a quoted string | DONE b1 NOOP"),
	T("a1 X a\0b\r\nb1 NOOP\r\n", "ERR a1: expected a space after an argument | DONE b1 NOOP"),
	T("a1 NOOP\nb1 NOOP\r\n", "ERR a1: LF without CR | DONE b1 NOOP"),
	T("a1 X a\nb1 NOOP\r\n", "ERR a1: LF without CR | DONE b1 NOOP"),
	T("a1 X \nb1 NOOP\r\n", "ERR a1: LF without CR | DONE b1 NOOP"),
	T("a1\nb1 NOOP\r\n", "ERR -: LF without CR | DONE b1 NOOP"),
	T("a1 NOOP\rb1 NOOP\r\nc1 NOOP\r\n", "ERR a1: CR without LF | DONE c1 NOOP"),
	T("a1 X {3}\rb1 NOOP\r\nc1 NOOP\r\n", "ERR a1: CR without LF | DONE c1 NOOP"),
	T(" NOOP\r\nb1 NOOP\r\n", "ERR -: missing tag | DONE b1 NOOP"),
	T("\r\nb1 NOOP\r\n", "ERR -: missing tag | DONE b1 NOOP"),
	T("a+ NOOP\r\nb1 NOOP\r\n", "ERR -: '+' in the tag | DONE b1 NOOP"),
	T("+ NOOP\r\nb1 NOOP\r\n", "ERR -: '+' in the tag | DONE b1 NOOP"),
	T("a* NOOP\r\nb1 NOOP\r\n", "ERR -: invalid character in the tag | DONE b1 NOOP"),
	T("a1\r\nb1 NOOP\r\n", "ERR a1: missing command name | DONE b1 NOOP"),
	T("a1 \r\nb1 NOOP\r\n", "ERR a1: missing command name | DONE b1 NOOP"),
	T("a1 NO\"OP\r\nb1 NOOP\r\n", "ERR a1: invalid character in the command name | DONE b1 NOOP"),
	T("a1 {4}\r\nb1 NOOP\r\n", "ERR a1: missing command name | DONE b1 NOOP"),
	T("a1 X a)\r\nb1 NOOP\r\n", "ERR a1: ')' without '(' | DONE b1 NOOP"),
	T("a1 X )\r\nb1 NOOP\r\n", "ERR a1: ')' without '(' | DONE b1 NOOP"),
	T("a1 X (a\r\nb1 NOOP\r\n", "ERR a1: missing ')' | DONE b1 NOOP"),
	T("a1 X (a)b\r\nb1 NOOP\r\n", "ERR a1: expected a space after an argument | DONE b1 NOOP"),
	T("a1 X \"a\"b\r\nb1 NOOP\r\n", "ERR a1: expected a space after an argument | DONE b1 NOOP"),
	T("a1 X {3+}\r\nabcd\r\nb1 NOOP\r\n",
	  "ERR a1: expected a space after an argument | DONE b1 NOOP"),
	T("a1 X {3}\r\nabcd\r\nb1 NOOP\r\n",
	  "+ | ERR a1: expected a space after an argument | DONE b1 NOOP"),
	T("a1 X {a}\r\nb1 NOOP\r\n", "ERR a1: invalid literal size | DONE b1 NOOP"),
	T("a1 X {}\r\nb1 NOOP\r\n", "ERR a1: invalid literal size | DONE b1 NOOP"),
	T("a1 X {3+x\r\nb1 NOOP\r\n", "ERR a1: invalid literal size | DONE b1 NOOP"),
	T("a1 X {3} \r\nb1 NOOP\r\n", "ERR a1: a literal's size must end the line | DONE b1 NOOP"),
	T("a1 X \xc3\xa9\r\nb1 NOOP\r\n", "ERR a1: invalid character | DONE b1 NOOP"),
	T("a1 X \x01\r\nb1 NOOP\r\n", "ERR a1: invalid character | DONE b1 NOOP"),
	T("a1 FETCH 1 BODY[HEADER\r\nb1 NOOP\r\n", "ERR a1: unterminated '[' in an atom | DONE b1 NOOP"),
	T("a1 FETCH 1 BODY[\"]\r\nb1 NOOP\r\n", "ERR a1: unterminated '[' in an atom | DONE b1 NOOP"),
	/* the skipped rest of a bad command: {n+} bytes skipped, {n} not waited for */
	T("a1 X ) {5+}\r\n)\r\n\r\n\r\nb1 NOOP\r\n", "ERR a1: ')' without '(' | DONE b1 NOOP"),
	T("a1 X ) {5+}\r\nc1 X \r\nb1 NOOP\r\n", "ERR a1: ')' without '(' | DONE b1 NOOP"),
	T("a1 X ) ~{2+}\r\n\r\n {1+}\r\n\n\r\nb1 NOOP\r\n", "ERR a1: ')' without '(' | DONE b1 NOOP"),
	T("a1 X ) {5}\r\nb1 NOOP\r\n", "ERR a1: ')' without '(' | DONE b1 NOOP"),
	T("a1 X ){5+}\r\nc1 X \r\nb1 NOOP\r\n", "ERR a1: ')' without '(' | DONE b1 NOOP"),
	/* limits */
	TL("d1 X (((a)))\r\n", "DONE d1 X: (((a)))", &test_small),
	TL("d1 X ((((a))))\r\nb1 NOOP\r\n",
	   "ERR d1: lists nested too deeply [TOOBIG] | DONE b1 NOOP", &test_small),
	TL("d2 X 1 2 3 (5 6) 7\r\n", "DONE d2 X: 1, 2, 3, (5, 6), 7", &test_small),
	TL("d2 X 1 2 3 4 5 6 7 8 9\r\nb1 NOOP\r\n",
	   "ERR d2: too many arguments [TOOBIG] | DONE b1 NOOP", &test_small),
	TL("d2 X 1 2 3 4 5 6 7 8 {1+}\r\n\n\r\nb1 NOOP\r\n",
	   "ERR d2: too many arguments [TOOBIG] | DONE b1 NOOP", &test_small),
	TL("d3 X 012345678901234567890123456789012345678901234567890123456\r\n",
	   "DONE d3 X: 012345678901234567890123456789012345678901234567890123456", &test_small),
	TL("d3 X 0123456789012345678901234567890123456789012345678901234567\r\nb1 NOOP\r\n",
	   "ERR d3: command line too long [TOOBIG] | DONE b1 NOOP", &test_small),
	TL("d3 X 0123456789012345678901234567890123456789 {16+}\r\n0123456789abcdef\r\n",
	   "DONE d3 X: 0123456789012345678901234567890123456789, {16}0123456789abcdef", &test_small),
	TL("d4 X {16}\r\n0123456789abcdef\r\n", "+ | DONE d4 X: {16}0123456789abcdef", &test_small),
	TL("d4 X {17}\r\nb1 NOOP\r\n", "ERR d4: literal too big [TOOBIG] | DONE b1 NOOP",
	   &test_small),
	TL("d5 X {17+}\r\nx\r\nc1 NOOP\r\nyyyyy tail\r\nb1 NOOP\r\n",
	   "ERR d5: literal too big [TOOBIG] | DONE b1 NOOP", &test_small),
	TL("d6 X {16+}\r\n0123456789abcdef {16+}\r\n0123456789abcdef {16+}\r\n0123456789abcdef\r\n"
	   "b1 NOOP\r\n",
	   "ERR d6: command too big [TOOBIG] | DONE b1 NOOP", &test_total),
	/* a limit passed inside a run: the same byte fails however the input is chunked */
	TL("e1 X \"0123456789012345678901234567890123456789 {5+}\r\nhello\r\nb1 NOOP\r\n",
	   "ERR e1: command too big [TOOBIG] | DONE b1 NOOP", &test_total),
	TL("e2 FETCH 1 BODY[HEADER.FIELDS 012345678901234567890123456789\x01\r\nb1 NOOP\r\n",
	   "ERR e2: command too big [TOOBIG] | DONE b1 NOOP", &test_total),
	TL("d7 X {99999999999999999999}\r\nb1 NOOP\r\n",
	   "ERR d7: literal too big [TOOBIG] | DONE b1 NOOP", &test_small),
	TL("d8 X {9999999999999999999+}\r\n", "ERR d8: literal too big [TOOBIG]", &test_small),
};

/* test_put - append printf output to out. */
static void test_put(char *out, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + used, TEST_OUT_MAX - used, fmt, ap);
	va_end(ap);
}

/* test_put_bytes - bytes, printable as they are, others as \xNN; checks the NUL after them. */
static void test_put_bytes(char *out, const char *s, size_t len)
{
	assert_non_null(s);
	assert_int_equal(s[len], '\0');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f)
			test_put(out, "%c", c);
		else
			test_put(out, "\\x%02x", c);
	}
}

/* test_put_args - the tree: "a, (b, c), \"d\", {n}lit, {n*} for a streamed one". */
static void test_put_args(char *out, const struct imap_arg *args, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		test_put(out, "%s%s", i > 0 ? ", " : "", a->literal8 ? "~" : "");
		switch (a->type) {
		case IMAP_ARG_NIL:
			test_put(out, "<NIL>");
			break;
		case IMAP_ARG_ATOM:
			test_put_bytes(out, a->u.str.data, a->u.str.len);
			break;
		case IMAP_ARG_STRING:
			test_put(out, "\"");
			test_put_bytes(out, a->u.str.data, a->u.str.len);
			test_put(out, "\"");
			break;
		case IMAP_ARG_LITERAL:
			test_put(out, "{%zu}", a->u.str.len);
			test_put_bytes(out, a->u.str.data, a->u.str.len);
			break;
		case IMAP_ARG_LITERAL_SIZE:
			test_put(out, "{%llu*}", (unsigned long long)a->u.size);
			break;
		case IMAP_ARG_LIST:
			test_put(out, "(");
			test_put_args(out, a->u.list.args, a->u.list.count);
			test_put(out, ")");
			break;
		}
	}
}

/* test_put_command - "tag NAME: args". */
static void test_put_command(char *out, const struct imap_command *cmd)
{
	assert_non_null(cmd->tag);
	assert_non_null(cmd->name);
	test_put(out, "%s %s", cmd->tag, cmd->name);
	if (cmd->count > 0) {
		test_put(out, ": ");
		test_put_args(out, cmd->args, cmd->count);
	}
}

/* test_event - record one result; a streamed literal is read (skip_r) or refused. */
static void test_event(struct imap_parser *p, enum imap_parse_result r, bool refuse, char *out,
		       uint64_t *skip_r)
{
	struct imap_command cmd;
	struct imap_parse_error err;
	uint64_t size;
	bool sync;

	*skip_r = 0;
	if (r != IMAP_PARSE_MORE && out[0] != '\0')
		test_put(out, " | ");
	if (r == IMAP_PARSE_DONE) {
		imap_parser_command(p, &cmd);
		test_put(out, "DONE ");
		test_put_command(out, &cmd);
		imap_parser_reset(p);
	} else if (r == IMAP_PARSE_CONTINUE) {
		test_put(out, "+");
	} else if (r == IMAP_PARSE_ERROR) {
		imap_parser_error(p, &err);
		test_put(out, "ERR %s: %s%s", err.tag != NULL ? err.tag : "-", err.text,
			 err.toobig ? " [TOOBIG]" : "");
	} else if (r == IMAP_PARSE_LITERAL) {
		imap_parser_literal(p, &size, &sync);
		imap_parser_partial(p, &cmd);
		test_put(out, "LIT %llu %s: ", (unsigned long long)size, sync ? "sync" : "nosync");
		test_put_command(out, &cmd);
		if (refuse)
			imap_parser_literal_refuse(p);
		else
			*skip_r = size;
	}
}

/* test_chunk - the next chunk size: 0 whole, 1 byte by byte, else pseudo-random from *seed. */
static size_t test_chunk(unsigned mode, unsigned *seed)
{
	if (mode == 0)
		return SIZE_MAX;
	if (mode == 1)
		return 1;
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) % 4 == 0 ? 1 + (*seed >> 8) % 64 : 1 + (*seed >> 8) % 5;
}

/* test_run - feed tc in chunks chosen by mode; the events in out. */
static void test_run(const struct test_case *tc, unsigned mode, char *out)
{
	struct imap_parser *p = imap_parser_new(tc->limits != NULL ? tc->limits : &test_limits);
	unsigned seed = mode;
	size_t pos = 0;

	out[0] = '\0';
	while (pos < tc->len) {
		size_t n = test_chunk(mode, &seed), end = n < tc->len - pos ? pos + n : tc->len;
		while (pos < end) {
			size_t used;
			uint64_t skip;
			enum imap_parse_result r = imap_parser_feed(p, tc->in + pos, end - pos, &used);

			assert_true(used <= end - pos);
			assert_true(used > 0 || r != IMAP_PARSE_MORE);
			assert_true(r == IMAP_PARSE_MORE || used > 0);
			assert_true(r != IMAP_PARSE_MORE || used == end - pos);
			pos += used;
			test_event(p, r, tc->refuse, out, &skip);
			skip = skip < tc->len - pos ? skip : tc->len - pos;
			pos += (size_t)skip;
			end = end > pos ? end : pos;
			if (r == IMAP_PARSE_LITERAL && !tc->refuse)
				imap_parser_literal_done(p);
		}
	}
	imap_parser_free(&p);
	assert_null(p);
}

/* test_table - every case gives its events, however it is chunked. */
static void test_table(void **state)
{
	static char out[TEST_OUT_MAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_cases); i++) {
		for (unsigned mode = 0; mode < 2 + TEST_SEEDS; mode++) {
			test_run(&test_cases[i], mode, out);
			if (strcmp(out, test_cases[i].want) != 0) {
				print_error("case %zu (mode %u): %s\n  got:  %s\n  want: %s\n", i, mode,
					    test_cases[i].in, out, test_cases[i].want);
				fail();
			}
		}
	}
}

/* test_used - each result stops right after its bytes; DONE needs no reset before the next feed. */
static void test_used(void **state)
{
	static const char in[] = "a NOOP\r\nb X {2}\r\nxy\r\nc ) d\r\n";
	struct imap_parser *p = imap_parser_new(&test_limits);
	struct imap_command cmd;
	struct imap_parse_error err;
	size_t used;

	(void)state;
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used), IMAP_PARSE_DONE);
	assert_int_equal(used, 8);
	assert_int_equal(imap_parser_feed(p, in + 8, sizeof(in) - 9, &used), IMAP_PARSE_CONTINUE);
	assert_int_equal(used, 9);
	assert_int_equal(imap_parser_feed(p, in + 17, sizeof(in) - 18, &used), IMAP_PARSE_DONE);
	assert_int_equal(used, 4);
	imap_parser_command(p, &cmd);
	assert_string_equal(cmd.tag, "b");
	assert_int_equal(cmd.count, 1);
	assert_int_equal(cmd.args[0].type, IMAP_ARG_LITERAL);
	assert_string_equal(cmd.args[0].u.str.data, "xy");
	assert_int_equal(imap_parser_feed(p, in + 21, sizeof(in) - 22, &used), IMAP_PARSE_ERROR);
	assert_int_equal(used, 3);
	assert_true(imap_parser_skipping(p));
	imap_parser_error(p, &err);
	assert_string_equal(err.tag, "c");
	assert_false(err.toobig);
	imap_parser_reset(p); /* does not stop the skipping */
	assert_true(imap_parser_skipping(p));
	assert_int_equal(imap_parser_feed(p, in + 24, sizeof(in) - 25, &used), IMAP_PARSE_MORE);
	assert_false(imap_parser_skipping(p));
	imap_parser_free(&p);
}

/* test_endless_line - a client that never sends CRLF: one ERROR, then everything skipped. */
static void test_endless_line(void **state)
{
	struct imap_parser *p = imap_parser_new(&test_small);
	char chunk[1000];
	size_t used, errors = 0;

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	chunk[1] = ' ';
	for (int i = 0; i < 1000; i++) {
		size_t off = 0;
		while (off < sizeof(chunk)) {
			enum imap_parse_result r = imap_parser_feed(p, chunk + off, sizeof(chunk) - off, &used);
			assert_true(r == IMAP_PARSE_MORE || r == IMAP_PARSE_ERROR);
			errors += r == IMAP_PARSE_ERROR;
			off += used;
		}
	}
	assert_int_equal(errors, 1);
	assert_true(imap_parser_skipping(p));
	assert_int_equal(imap_parser_feed(p, "\r\nb NOOP\r\n", 10, &used), IMAP_PARSE_DONE);
	imap_parser_free(&p);
}

/* test_set_limits - new limits hold from the next command on. */
static void test_set_limits(void **state)
{
	static const char big[] = "a X 1 2 3 4 5 6 7 8 9 10\r\n";
	struct imap_parser *p = imap_parser_new(&test_small);
	size_t used;

	(void)state;
	assert_int_equal(imap_parser_feed(p, big, 10, &used), IMAP_PARSE_MORE);
	imap_parser_set_limits(p, &test_limits);
	assert_int_equal(imap_parser_feed(p, big + 10, sizeof(big) - 11, &used), IMAP_PARSE_ERROR);
	assert_int_equal(imap_parser_feed(p, big + 10 + used, sizeof(big) - 11 - used, &used),
			 IMAP_PARSE_MORE);
	assert_int_equal(imap_parser_feed(p, big, sizeof(big) - 1, &used), IMAP_PARSE_DONE);
	imap_parser_reset(p);
	imap_parser_set_limits(p, &test_small);
	assert_int_equal(imap_parser_feed(p, big, sizeof(big) - 1, &used), IMAP_PARSE_ERROR);
	imap_parser_free(&p);
}

/* test_pipelined_big - many commands and a big literal in one feed, buffers reused between them. */
static void test_pipelined_big(void **state)
{
	struct imap_parser *p = imap_parser_new(&test_limits);
	char *in = malloc(200000), *lit = malloc(60000);
	struct imap_command cmd;
	size_t len = 0, used, done = 0, pos = 0;

	(void)state;
	memset(lit, 'x', 60000);
	for (int i = 0; i < 20; i++) {
		len += (size_t)sprintf(in + len, "t%d APPEND INBOX {60000+}\r\n", i);
		memcpy(in + len, lit, 60000);
		len += 60000;
		len += (size_t)sprintf(in + len, "\r\nu%d NOOP\r\n", i);
		if (len > 100000)
			break;
	}
	while (pos < len) {
		assert_int_equal(imap_parser_feed(p, in + pos, len - pos, &used), IMAP_PARSE_DONE);
		pos += used;
		imap_parser_command(p, &cmd);
		if (cmd.name[0] == 'A') {
			assert_int_equal(cmd.args[1].u.str.len, 60000);
			assert_memory_equal(cmd.args[1].u.str.data, lit, 60000);
		}
		done++;
		imap_parser_reset(p);
	}
	assert_int_equal(done, 4);
	free(in);
	free(lit);
	imap_parser_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_used),
		cmocka_unit_test(test_endless_line),
		cmocka_unit_test(test_set_limits),
		cmocka_unit_test(test_pipelined_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

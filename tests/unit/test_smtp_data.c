/* test_smtp_data - the DATA state machine: end of data, smuggling, dot-unstuffing, limits, splits, 8-bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_data.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define OK SMTP_DATA_OK
#define BARE_LF SMTP_DATA_BARE_LF
#define BARE_CR SMTP_DATA_BARE_CR
#define NUL SMTP_DATA_NUL
#define TOO_LONG SMTP_DATA_LINE_TOO_LONG
#define TOO_BIG SMTP_DATA_TOO_BIG

/* The outcome of feeding one input, however it was split. */
struct test_data_result {
	char out[16384];
	size_t out_len;
	size_t consumed;
	size_t size;
	size_t lines;
	enum smtp_data_error error;
	bool done;
	bool eightbit;
};

/* One DATA input and what the reader must make of it. */
struct test_data_case {
	const char *in;
	size_t in_len; /* 0: strlen(in) */
	size_t max_size, max_line;
	enum smtp_data_error error;
	bool done;
	size_t rest; /* bytes left unconsumed after the terminator */
	const char *out; /* checked when error is OK */
};

static const struct test_data_case test_data_cases[] = {
	/* the end of data and dot-unstuffing (RFC 5321 4.5.2) */
	{".\r\n", 0, 0, 0, OK, true, 0, ""},
	{"\r\n.\r\n", 0, 0, 0, OK, true, 0, "\n"},
	{"Hello\r\n.\r\n", 0, 0, 0, OK, true, 0, "Hello\n"},
	{"a\r\nb\r\n\r\nc\r\n.\r\n", 0, 0, 0, OK, true, 0, "a\nb\n\nc\n"},
	{"a\r\n..b\r\n.\r\n", 0, 0, 0, OK, true, 0, "a\n.b\n"},
	{"..\r\n.\r\n", 0, 0, 0, OK, true, 0, ".\n"},
	{"...\r\n.\r\n", 0, 0, 0, OK, true, 0, "..\n"},
	{".x\r\n.\r\n", 0, 0, 0, OK, true, 0, "x\n"},
	{"a.\r\n. \r\n.\r\n", 0, 0, 0, OK, true, 0, "a.\n \n"},
	{"Subject: \xc3\xa4\r\n\r\n\x01\x7f\xff\t\r\n.\r\n", 0, 0, 0, OK, true, 0,
	 "Subject: \xc3\xa4\n\n\x01\x7f\xff\t\n"},
	{"\xe9t\xe9\r\n.\xff\r\n.\r\n", 0, 0, 0, OK, true, 0, "\xe9t\xe9\n\xff\n"},
	{"plain\r\n.\r\n\xff", 0, 0, 0, OK, true, 1, "plain\n"}, /* 8-bit after the end */
	/* not finished yet */
	{"", 0, 0, 0, OK, false, 0, ""},
	{"Hello\r\n", 0, 0, 0, OK, false, 0, "Hello\n"},
	{"Hello\r\n.", 0, 0, 0, OK, false, 0, "Hello\n"},
	{"Hello\r\n.\r", 0, 0, 0, OK, false, 0, "Hello\n"},
	{"Hello", 0, 0, 0, OK, false, 0, "Hello"},
	/* pipelined bytes after the terminator stay for the next command */
	{"a\r\n.\r\nQUIT\r\n", 0, 0, 0, OK, true, 6, "a\n"},
	{".\r\nRSET\r\n", 0, 0, 0, OK, true, 6, ""},
	{"a\r\n.\r\n.\r\n", 0, 0, 0, OK, true, 3, "a\n"},
	{"a\r\n.\r\n\r\n.\r\n", 0, 0, 0, OK, true, 5, "a\n"},
	/* SMTP smuggling: only CRLF.CRLF ends the message */
	{"a\n.\nb\r\n.\r\n", 0, 0, 0, BARE_LF, true, 0, NULL},
	{"a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n", 0, 0, 0, BARE_LF, true, 0, NULL},
	{"a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n", 0, 0, 0, BARE_LF, true, 0, NULL},
	{"a\r.\rMAIL FROM:<x@y>\r\n.\r\n", 0, 0, 0, BARE_CR, true, 0, NULL},
	{"a\r.\r\nb\r\n.\r\n", 0, 0, 0, BARE_CR, true, 0, NULL},
	{"a\r\n.\rMAIL FROM:<x@y>\r\n.\r\n", 0, 0, 0, BARE_CR, true, 0, NULL},
	{"a\r\n.\r.\r\n.\r\n", 0, 0, 0, BARE_CR, true, 0, NULL},
	{"a\r\n.\r\r\n.\r\n", 0, 0, 0, BARE_CR, true, 0, NULL},
	{"a\r\r\n.\r\n", 0, 0, 0, BARE_CR, true, 0, NULL},
	{"\n.\r\n", 0, 0, 0, BARE_LF, false, 0, NULL},
	{"a\n.\n", 0, 0, 0, BARE_LF, false, 0, NULL},
	{"a\r.\r", 0, 0, 0, BARE_CR, false, 0, NULL},
	{"a\n.\r\n", 0, 0, 0, BARE_LF, false, 0, NULL},
	{"a\r\n.\n", 0, 0, 0, BARE_LF, false, 0, NULL},
	{"a\r\n.\rX", 0, 0, 0, BARE_CR, false, 0, NULL},
	{"a\r\n\n.\r\n", 0, 0, 0, BARE_LF, false, 0, NULL},
	{"a\r\n\r.\r\n", 0, 0, 0, BARE_CR, false, 0, NULL},
	{"a\r\n.\r\n", 0, 0, 0, OK, true, 0, "a\n"},
	/* NUL bytes; only the first error counts */
	{"a\0b\r\n.\r\n", 8, 0, 0, NUL, true, 0, NULL},
	{"\0\r\n.\r\n", 6, 0, 0, NUL, true, 0, NULL},
	{".\0\r\n.\r\n", 7, 0, 0, NUL, true, 0, NULL},
	{"a\nb\0\r\n.\r\n", 9, 0, 0, BARE_LF, true, 0, NULL},
	{"a\0b\nc\r\n.\r\n", 10, 0, 0, NUL, true, 0, NULL},
	{"a\rb\nc\r\n.\r\n", 0, 0, 0, BARE_CR, true, 0, NULL},
	/* line length: octets with CRLF, the stuffed dot not counted */
	{"12345678\r\n.\r\n", 0, 0, 10, OK, true, 0, "12345678\n"},
	{"123456789\r\n.\r\n", 0, 0, 10, TOO_LONG, true, 0, NULL},
	{"..2345678\r\n.\r\n", 0, 0, 10, OK, true, 0, ".2345678\n"},
	{"..23456789\r\n.\r\n", 0, 0, 10, TOO_LONG, true, 0, NULL},
	{"a\r\n123456789012345\r\nb\r\n.\r\n", 0, 0, 10, TOO_LONG, true, 0, NULL},
	{"123456789012\n\r\n.\r\n", 0, 0, 10, TOO_LONG, true, 0, NULL},
	{"1234567\n123\r\n.\r\n", 0, 0, 10, BARE_LF, true, 0, NULL},
	{"123456789\n\r\n.\r\n", 0, 0, 10, TOO_LONG, true, 0, NULL},
	{"12345678\n\r\n.\r\n", 0, 0, 10, BARE_LF, true, 0, NULL},
	{"\r\n.\r\n", 0, 0, 1, TOO_LONG, true, 0, NULL},
	{"\r\n.\r\n", 0, 0, 2, OK, true, 0, "\n"},
	{".\r\n", 0, 0, 1, OK, true, 0, ""},
	/* size: CRLF counted as 2, unstuffed, terminator excluded */
	{"Hello\r\n.\r\n", 0, 7, 0, OK, true, 0, "Hello\n"},
	{"Hello\r\n.\r\n", 0, 6, 0, TOO_BIG, true, 0, NULL},
	{"Hello\r\n.\r\n", 0, 5, 0, TOO_BIG, true, 0, NULL},
	{"Hello\r\n.\r\n", 0, 4, 0, TOO_BIG, true, 0, NULL},
	{"..\r\n.\r\n", 0, 3, 0, OK, true, 0, ".\n"},
	{"Hello\r\nabc\r\n.\r\n", 0, 7, 0, TOO_BIG, true, 0, NULL},
	{"Hello\0\r\n.\r\n", 11, 4, 0, TOO_BIG, true, 0, NULL},
	{"Hell\0\r\n.\r\n", 10, 4, 0, NUL, true, 0, NULL},
	{"Hello\r\nabc\r\n.\r\n", 0, 12, 0, OK, true, 0, "Hello\nabc\n"},
	{"Hello\r\nabc\r\n.\r\nQUIT\r\n", 0, 7, 0, TOO_BIG, true, 6, NULL},
	{"Hello world\r\n.\r\n", 0, 5, 8, TOO_BIG, true, 0, NULL},
	{"Hello world\r\n.\r\n", 0, 7, 5, TOO_LONG, true, 0, NULL},
	{"Hello\r\n.\r\n", 0, 5, 7, TOO_BIG, true, 0, NULL},
	{"Hello\r\n.\r\n", 0, 6, 6, TOO_LONG, true, 0, NULL},
};

/* test_data_feed_split - feed in, cut at the given chunk sizes (cycled), into *res. */
static void test_data_feed_split(const struct test_data_case *c, const char *in, size_t len,
				 const size_t *chunks, size_t nchunks, struct test_data_result *res)
{
	struct smtp_data_reader r;
	size_t k = 0, n, used, out_len;

	memset(res, 0, sizeof(*res));
	smtp_data_init(&r, c->max_size, c->max_line);
	while (res->consumed < len && !r.done) {
		n = nchunks > 0 ? chunks[k++ % nchunks] : len;
		if (n > len - res->consumed)
			n = len - res->consumed;
		used = smtp_data_feed(&r, in + res->consumed, n, res->out + res->out_len, &out_len);
		assert_true(used <= n);
		assert_true(out_len <= used);
		assert_true(used == n || r.done);
		res->consumed += used;
		res->out_len += out_len;
	}
	assert_int_equal(smtp_data_feed(&r, in + res->consumed, len - res->consumed,
					res->out + res->out_len, &out_len), r.done ? 0 : len - res->consumed);
	res->size = r.size;
	res->lines = r.lines;
	res->error = r.error;
	res->done = r.done;
	res->eightbit = r.eightbit;
}

/* test_data_same - two results are identical. */
static void test_data_same(const struct test_data_result *a, const struct test_data_result *b,
			   size_t row, const char *how)
{
	if (a->out_len != b->out_len || memcmp(a->out, b->out, a->out_len) != 0 ||
	    a->consumed != b->consumed || a->size != b->size || a->lines != b->lines ||
	    a->error != b->error || a->done != b->done || a->eightbit != b->eightbit)
		fail_msg("row %zu: %s differs from one-shot feeding", row, how);
}

/* test_data_check_expected - the one-shot result is what the row says. */
static void test_data_check_expected(const struct test_data_case *c, size_t len,
				     const struct test_data_result *res, size_t row)
{
	size_t i, nl = 0;
	bool high = false;

	if (res->error != c->error || res->done != c->done || res->consumed != len - c->rest)
		fail_msg("row %zu: error %d done %d consumed %zu, want %d %d %zu", row,
			 res->error, res->done, res->consumed, c->error, c->done, len - c->rest);
	if (c->error != OK)
		return;
	if (res->out_len != strlen(c->out) || memcmp(res->out, c->out, res->out_len) != 0)
		fail_msg("row %zu: out <%.*s>, want <%s>", row, (int)res->out_len, res->out, c->out);
	for (i = 0; i < res->out_len; i++) {
		nl += res->out[i] == '\n';
		high = high || (unsigned char)res->out[i] >= 0x80;
	}
	assert_int_equal(res->lines, nl);
	if (res->eightbit != high)
		fail_msg("row %zu: eightbit %d, want %d", row, res->eightbit, high);
	assert_int_equal(res->size, res->out_len + nl);
}

/* test_data_row - one row: one-shot, every split point, one byte at a time. */
static void test_data_row(const struct test_data_case *c, size_t row)
{
	static struct test_data_result one, other;
	size_t len = c->in_len != 0 ? c->in_len : strlen(c->in), k, ones = 1;
	size_t split[2];

	test_data_feed_split(c, c->in, len, NULL, 0, &one);
	test_data_check_expected(c, len, &one, row);
	for (k = 0; k <= len; k++) {
		split[0] = k;
		split[1] = len;
		test_data_feed_split(c, c->in, len, split, 2, &other);
		test_data_same(&one, &other, row, "a split");
	}
	test_data_feed_split(c, c->in, len, &ones, 1, &other);
	test_data_same(&one, &other, row, "one byte at a time");
}

/* test_data_table - every row of test_data_cases. */
static void test_data_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(test_data_cases); i++)
		test_data_row(&test_data_cases[i], i);
}

/* test_data_make_message - a dot-stuffed message of lines up to 120 octets, and its expected text. */
static size_t test_data_make_message(char *in, char *want, size_t *want_len_r)
{
	size_t n = 0, w = 0, line, i, len;

	for (line = 0; line < 90; line++) {
		len = (line * 37) % 120;
		/* stuff every 7th line, and every line that starts with a dot */
		if (len > 0 && (line % 7 == 0 || '!' + line % 90 == '.'))
			in[n++] = '.';
		for (i = 0; i < len; i++) {
			char ch = (char)('!' + (line + i) % 90);

			in[n++] = ch;
			want[w++] = ch;
		}
		memcpy(in + n, "\r\n", 2);
		n += 2;
		want[w++] = '\n';
	}
	memcpy(in + n, ".\r\nQUIT\r\n", 9);
	*want_len_r = w;
	return n + 9;
}

/* test_data_big_message - a 5 KB message, fed whole and in odd chunks. */
static void test_data_big_message(void **state)
{
	static char in[16384], want[16384];
	static struct test_data_result one, other;
	static const size_t chunks[] = {1, 2, 3, 5, 7, 64, 1000, 4096};
	struct test_data_case c = {in, 0, 0, 1000, OK, true, 6, NULL};
	size_t want_len, len = test_data_make_message(in, want, &want_len), i;

	(void)state;
	c.in_len = len;
	test_data_feed_split(&c, in, len, NULL, 0, &one);
	assert_int_equal(one.error, OK);
	assert_true(one.done);
	assert_int_equal(one.consumed, len - 6);
	assert_int_equal(one.out_len, want_len);
	assert_memory_equal(one.out, want, want_len);
	assert_int_equal(one.lines, 90);
	assert_int_equal(one.size, want_len + 90);
	for (i = 0; i < ARRAY_LEN(chunks); i++) {
		test_data_feed_split(&c, in, len, &chunks[i], 1, &other);
		test_data_same(&one, &other, i, "chunked");
	}
	test_data_feed_split(&c, in, len, chunks, ARRAY_LEN(chunks), &other);
	test_data_same(&one, &other, 99, "mixed chunks");
}

/* test_data_limit_boundaries - size and line limits at every value near the message. */
static void test_data_limit_boundaries(void **state)
{
	static const char msg[] = "ab\r\n..cd\r\n\r\nefg\r\n.\r\n";
	static struct test_data_result res;
	struct test_data_case c = {msg, 0, 0, 0, OK, true, 0, NULL};
	size_t limit;

	(void)state;
	/* size 4 + 5 + 2 + 5 = 16, longest line ".cd" or "efg" = 5 */
	for (limit = 1; limit <= 20; limit++) {
		c.max_size = limit;
		c.max_line = 0;
		test_data_feed_split(&c, msg, strlen(msg), NULL, 0, &res);
		assert_int_equal(res.error, limit >= 16 ? OK : TOO_BIG);
		assert_true(res.done);
		c.max_size = 0;
		c.max_line = limit;
		test_data_feed_split(&c, msg, strlen(msg), NULL, 0, &res);
		assert_int_equal(res.error, limit >= 5 ? OK : TOO_LONG);
		assert_true(res.done);
	}
}

/* test_data_rfc_line_limit - 1000 octets with CRLF pass, 1001 do not. */
static void test_data_rfc_line_limit(void **state)
{
	static char in[1100];
	static struct test_data_result res;
	struct test_data_case c = {in, 0, 0, 1000, OK, true, 0, NULL};

	(void)state;
	in[0] = '.';
	memset(in + 1, 'x', 998);
	memcpy(in + 999, "\r\n.\r\n", 5);
	in[1] = '.'; /* "..xxx": 998 octets after unstuffing */
	test_data_feed_split(&c, in, 1004, NULL, 0, &res);
	assert_int_equal(res.error, OK);
	assert_int_equal(res.size, 1000);
	memset(in, 'x', 999);
	memcpy(in + 999, "\r\n.\r\n", 5);
	test_data_feed_split(&c, in, 1004, NULL, 0, &res);
	assert_int_equal(res.error, TOO_LONG);
	assert_true(res.done);
}

/* test_data_error_replies - each error has a reply with the right code, no CRLF. */
static void test_data_error_replies(void **state)
{
	static const struct {
		enum smtp_data_error error;
		const char *prefix;
	} replies[] = {
		{BARE_LF, "554 5.6.0 "}, {BARE_CR, "554 5.6.0 "}, {NUL, "554 5.6.0 "},
		{TOO_LONG, "500 5.5.2 "}, {TOO_BIG, "552 5.3.4 "},
	};
	size_t i;

	(void)state;
	assert_null(smtp_data_error_reply(OK));
	for (i = 0; i < ARRAY_LEN(replies); i++) {
		const char *reply = smtp_data_error_reply(replies[i].error);

		assert_non_null(reply);
		assert_true(strncmp(reply, replies[i].prefix, strlen(replies[i].prefix)) == 0);
		assert_null(strpbrk(reply, "\r\n"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_table),
		cmocka_unit_test(test_data_big_message),
		cmocka_unit_test(test_data_limit_boundaries),
		cmocka_unit_test(test_data_rfc_line_limit),
		cmocka_unit_test(test_data_error_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

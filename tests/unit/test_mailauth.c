/*
 * test_mailauth - the pure parts of the mail-authentication glue: forged
 * Authentication-Results: fields out of a header section, and the stream
 * that splits a message into its header section and body whatever the
 * write sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dkim/dkim.h"
#include "mailauth/mailauth_stream.h"
#include "mailauth/mailauth_verify.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct strip_row {
	const char *head, *want;
};

static const struct strip_row strip_rows[] = {
	/* ours goes, with its folded lines */
	{ "From: a@b\nAuthentication-Results: mx.example.test; spf=pass\nSubject: x\n\n",
	  "From: a@b\nSubject: x\n\n" },
	{ "Authentication-Results: mx.example.test;\n\tdkim=pass\n header.d=b\nTo: c@d\n\n",
	  "To: c@d\n\n" },
	/* case, spaces before the colon, a comment, a version */
	{ "authentication-results : (c) MX.Example.Test 1; none\n\n", "\n" },
	/* another host's stays; a name that only starts like ours stays */
	{ "Authentication-Results: other.example; spf=pass\n\n",
	  "Authentication-Results: other.example; spf=pass\n\n" },
	{ "Authentication-Results: mx.example.test.evil; spf=pass\n\n",
	  "Authentication-Results: mx.example.test.evil; spf=pass\n\n" },
	/* a look-alike field name stays */
	{ "Authentication-Results-X: mx.example.test; x\n\n",
	  "Authentication-Results-X: mx.example.test; x\n\n" },
	/* several, and a section cut short (no final LF) */
	{ "Authentication-Results: mx.example.test; a\nAuthentication-Results: mx.example.test; b",
	  "" },
	/* lines that are no field at all are kept as they are */
	{ "garbage line\nAuthentication-Results: mx.example.test; a\n\n", "garbage line\n\n" },
	{ "", "" },
};

/* test_strip_rows - each row's section comes out as wanted. */
static void test_strip_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(strip_rows); i++) {
		const char *head = strip_rows[i].head;
		char *out = malloc(strlen(head) + 1);
		size_t n = mailauth_strip_authres(head, strlen(head), "mx.example.test", out);
		out[n] = '\0';
		assert_string_equal(out, strip_rows[i].want);
		free(out);
	}
}

static const char stream_msg[] = "From: a@b\nSubject: split\n folded\n\nbody line\n\nlast\n";

/* stream_split - feed msg in pieces of step bytes; the header section must be the same. */
static void stream_split(size_t step)
{
	struct mailauth_stream st;
	size_t len = strlen(stream_msg), head = strlen("From: a@b\nSubject: split\n folded\n\n");
	uint8_t want[DKIM_MAX_DIGEST], got[DKIM_MAX_DIGEST];
	struct dkim_body *ref = dkim_body_new(DKIM_CANON_RELAXED, DKIM_ALG_RSA_SHA256, -1);

	dkim_body_feed(ref, stream_msg + head, len - head);
	dkim_body_final(ref, want);
	dkim_body_free(&ref);
	mailauth_stream_init(&st);
	mailauth_stream_add_body(&st, dkim_body_new(DKIM_CANON_RELAXED, DKIM_ALG_RSA_SHA256, -1));
	for (size_t off = 0; off < len; off += step)
		mailauth_stream_feed(&st, stream_msg + off, off + step <= len ? step : len - off);
	assert_true(st.in_body);
	assert_int_equal(st.head_len, head);
	assert_memory_equal(st.head, stream_msg, head);
	assert_int_equal(dkim_body_final(st.bodies[0], got), 32);
	assert_memory_equal(got, want, 32);
	mailauth_stream_clear(&st);
}

/* test_stream_splits - every split size, down to one byte at a time. */
static void test_stream_splits(void **state)
{
	(void)state;
	for (size_t step = 1; step <= sizeof(stream_msg); step++)
		stream_split(step);
}

/* test_stream_no_headers - a message starting with its empty line has an empty section. */
static void test_stream_no_headers(void **state)
{
	struct mailauth_stream st;

	(void)state;
	mailauth_stream_init(&st);
	assert_int_equal(mailauth_stream_head(&st, "\nbody\n", 6), 1);
	assert_true(st.in_body);
	mailauth_stream_clear(&st);
}

/* test_stream_over - a section past MAILAUTH_HEAD_MAX is marked, kept only up to the limit. */
static void test_stream_over(void **state)
{
	struct mailauth_stream st;
	char line[100];

	(void)state;
	memset(line, 'x', sizeof(line));
	memcpy(line, "X-Pad: ", 7);
	line[sizeof(line) - 1] = '\n';
	mailauth_stream_init(&st);
	for (size_t i = 0; i < MAILAUTH_HEAD_MAX / sizeof(line) + 2; i++)
		assert_int_equal(mailauth_stream_head(&st, line, sizeof(line)), sizeof(line));
	assert_true(st.head_over);
	assert_false(st.in_body);
	assert_int_equal(st.head_len, MAILAUTH_HEAD_MAX);
	assert_int_equal(mailauth_stream_head(&st, "\nbody", 5), 1);
	assert_true(st.in_body);
	mailauth_stream_clear(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strip_rows),
		cmocka_unit_test(test_stream_splits),
		cmocka_unit_test(test_stream_no_headers),
		cmocka_unit_test(test_stream_over),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

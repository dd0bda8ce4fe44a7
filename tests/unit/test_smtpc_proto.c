/* test_smtpc_proto - the outbound client's reply parser, EHLO capabilities and dot-stuffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delivery/smtpc_proto.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* One reply, as lines, and what the parser makes of it. */
struct test_reply_case {
	const char *lines[4];
	int rc; /* of the last line fed */
	int code;
	const char *status;
	const char *text;
};

static const struct test_reply_case test_reply_cases[] = {
	{{"220 mx.test ESMTP"}, 1, 220, "", "mx.test ESMTP"},
	{{"250-mx.test", "250-PIPELINING", "250 SIZE 100"}, 1, 250, "", "mx.test\nPIPELINING\nSIZE 100"},
	{{"550 5.1.1 <a@b>: User unknown"}, 1, 550, "5.1.1", "5.1.1 <a@b>: User unknown"},
	{{"451 4.3.0"}, 1, 451, "4.3.0", "4.3.0"},
	{{"250 2.0.0 Ok: queued as X"}, 1, 250, "2.0.0", "2.0.0 Ok: queued as X"},
	{{"550 4.1.1 wrong class"}, 1, 550, "", "4.1.1 wrong class"},
	{{"550 5.1.1234 too long detail"}, 1, 550, "", "5.1.1234 too long detail"},
	{{"550 5.1 short"}, 1, 550, "", "5.1 short"},
	{{"354"}, 1, 354, "", ""},
	{{"250-first", "250 "}, 1, 250, "", "first\n"},
	{{"221 bye\x01\x7f"}, 1, 221, "", "bye??"},
	{{"250-a", "251 b"}, -1, 0, NULL, NULL},
	{{"25"}, -1, 0, NULL, NULL},
	{{"2500 x"}, -1, 0, NULL, NULL},
	{{"250x"}, -1, 0, NULL, NULL},
	{{"650 x"}, -1, 0, NULL, NULL},
	{{"160 x"}, -1, 0, NULL, NULL},
	{{"270 x"}, -1, 0, NULL, NULL},
	{{"abc def"}, -1, 0, NULL, NULL},
	{{""}, -1, 0, NULL, NULL},
	{{"250-a"}, 0, 250, "", "a"},
};

/* test_reply_table - every row of test_reply_cases. */
static void test_reply_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_reply_cases); i++) {
		const struct test_reply_case *tc = &test_reply_cases[i];
		struct smtpc_reply r;
		const char *error = NULL;
		int rc = 0;

		smtpc_reply_init(&r);
		for (size_t l = 0; l < 4 && tc->lines[l] != NULL; l++)
			rc = smtpc_reply_feed(&r, tc->lines[l], strlen(tc->lines[l]), &error);
		if (rc != tc->rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, tc->rc);
		if (rc < 0) {
			assert_non_null(error);
			continue;
		}
		assert_int_equal(r.code, tc->code);
		assert_string_equal(r.status, tc->status);
		assert_string_equal(r.text, tc->text);
	}
}

/* test_reply_limits - long texts are cut, too many lines are an error, a done reply restarts. */
static void test_reply_limits(void **state)
{
	struct smtpc_reply r;
	const char *error;
	char line[3000];
	int rc = 0;

	(void)state;
	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	smtpc_reply_init(&r);
	assert_int_equal(smtpc_reply_feed(&r, line, sizeof(line), &error), 1);
	assert_int_equal(r.text_len, SMTPC_REPLY_TEXT_MAX - 1);
	assert_int_equal(smtpc_reply_feed(&r, "220 again", 9, &error), 1);
	assert_int_equal(r.code, 220);
	assert_string_equal(r.text, "again");
	smtpc_reply_init(&r);
	for (int i = 0; i <= SMTPC_REPLY_LINES_MAX && rc == 0; i++)
		rc = smtpc_reply_feed(&r, "250-x", 5, &error);
	assert_int_equal(rc, -1);
}

/* test_caps - EHLO keywords in any case, SIZE values, AUTH mechanisms (also AUTH=). */
static void test_caps(void **state)
{
	static const char text[] = "mx.test greets you\nPIPELINING\nsize 1048576\n8bitmime\n"
				   "STARTTLS\nAUTH LOGIN CRAM-MD5\nENHANCEDSTATUSCODES";
	struct smtpc_caps c;

	(void)state;
	smtpc_caps_parse(text, strlen(text), &c);
	assert_true(c.pipelining && c.eightbitmime && c.starttls && c.enhanced);
	assert_true(c.size_set);
	assert_int_equal(c.size_max, 1048576);
	assert_true(c.auth_login);
	assert_false(c.auth_plain);
	smtpc_caps_parse("mx PIPELINING\nAUTH=PLAIN\nSIZE", 29, &c);
	assert_false(c.pipelining); /* the greeting line is not a keyword */
	assert_true(c.auth_plain && c.size_set);
	assert_int_equal(c.size_max, 0);
	smtpc_caps_parse("just a greeting", 15, &c);
	assert_false(c.pipelining || c.size_set || c.auth_plain || c.smtputf8);
	smtpc_caps_parse("mx\nSmtpUtf8\nSMTPUTF8X", 21, &c);
	assert_true(c.smtputf8);
	smtpc_caps_parse("mx\nSMTPUTF8X", 12, &c);
	assert_false(c.smtputf8);
}

/* test_envelope_utf8 - one non-ASCII byte in the sender or any recipient. */
static void test_envelope_utf8(void **state)
{
	char *ascii[] = {"bob@remote.test", "carol@remote.test"};
	char *mixed[] = {"bob@remote.test", "j\xc3\xb6rg@remote.test"};

	(void)state;
	assert_false(smtpc_envelope_utf8("", ascii, 2));
	assert_false(smtpc_envelope_utf8("alice@example.test", ascii, 2));
	assert_true(smtpc_envelope_utf8("al\xc3\xaf" "ce@example.test", ascii, 2));
	assert_true(smtpc_envelope_utf8("alice@example.test", mixed, 2));
	assert_false(smtpc_envelope_utf8("alice@example.test", mixed, 1));
	assert_true(smtpc_envelope_utf8("alice@\xe4\xbe\x8b.test", NULL, 0));
}

/* test_stuff - CRLF, dot-stuffing across chunk boundaries, CR dropped, the terminator. */
static void test_stuff(void **state)
{
	static const char in[] = "a\n.b\n..\n.\nlast";
	static const char want[] = "a\r\n..b\r\n...\r\n..\r\nlast\r\n.\r\n";
	char out[128];

	(void)state;
	for (size_t split = 0; split <= sizeof(in) - 1; split++) {
		struct smtpc_stuffer st = { 0 };
		size_t n = smtpc_stuff(&st, in, split, out);
		n += smtpc_stuff(&st, in + split, sizeof(in) - 1 - split, out + n);
		n += smtpc_stuff_end(&st, out + n);
		assert_int_equal(n, strlen(want));
		assert_memory_equal(out, want, n);
	}
	struct smtpc_stuffer st = { 0 };
	size_t n = smtpc_stuff(&st, "x\r\ny\rz\n", 7, out);
	n += smtpc_stuff_end(&st, out + n);
	assert_int_equal(n, strlen("x\r\nyz\r\n.\r\n"));
	assert_memory_equal(out, "x\r\nyz\r\n.\r\n", n);
	st.midline = false;
	assert_int_equal(smtpc_stuff_end(&st, out), 3); /* empty message: just the dot */
}

/* test_status_valid - RFC 3463 codes. */
static void test_status_valid(void **state)
{
	(void)state;
	assert_true(smtpc_status_valid("5.1.1", 5, '5'));
	assert_true(smtpc_status_valid("4.123.456", 9, '4'));
	assert_false(smtpc_status_valid("5.1.1", 5, '4'));
	assert_false(smtpc_status_valid("5.1", 3, '5'));
	assert_false(smtpc_status_valid("5.1.", 4, '5'));
	assert_false(smtpc_status_valid("5..1", 4, '5'));
	assert_false(smtpc_status_valid("5.1.1.1", 7, '5'));
	assert_false(smtpc_status_valid("5.1234.1", 8, '5'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_table), cmocka_unit_test(test_reply_limits),
		cmocka_unit_test(test_caps),	    cmocka_unit_test(test_envelope_utf8),
		cmocka_unit_test(test_stuff),
		cmocka_unit_test(test_status_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

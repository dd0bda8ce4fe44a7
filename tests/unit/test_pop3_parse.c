/* test_pop3_parse - POP3 command lines, message numbers, and the RETR/TOP dot-stuffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pop3/pop3_dotstuff.h"
#include "pop3/pop3_maildrop.h"
#include "pop3/pop3_parse.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* One command line and what pop3_command_parse makes of it. */
struct test_cmd_case {
	const char *line;
	int rc;
	enum pop3_verb verb;
	size_t argc;
	const char *arg0, *arg1;
};

static const struct test_cmd_case test_cmd_cases[] = {
	{ "USER alice@example.test", 0, POP3_VERB_USER, 1, "alice@example.test", NULL },
	{ "user alice", 0, POP3_VERB_USER, 1, "alice", NULL },
	{ "PASS secret", 0, POP3_VERB_PASS, 1, "secret", NULL },
	{ "PASS with spaces  inside ", 0, POP3_VERB_PASS, 1, "with spaces  inside ", NULL },
	{ "PASS  leading", 0, POP3_VERB_PASS, 1, " leading", NULL },
	{ "APOP bob c4c9334bac560ecc979e58001b3e22fb", 0, POP3_VERB_APOP, 2, "bob",
	  "c4c9334bac560ecc979e58001b3e22fb" },
	{ "AUTH", 0, POP3_VERB_AUTH, 0, NULL, NULL },
	{ "AUTH PLAIN", 0, POP3_VERB_AUTH, 1, "PLAIN", NULL },
	{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==", 0, POP3_VERB_AUTH, 2, "PLAIN", "AGFsaWNlAHNlY3JldA==" },
	{ "CAPA", 0, POP3_VERB_CAPA, 0, NULL, NULL },
	{ "STLS", 0, POP3_VERB_STLS, 0, NULL, NULL },
	{ "quit", 0, POP3_VERB_QUIT, 0, NULL, NULL },
	{ "STAT", 0, POP3_VERB_STAT, 0, NULL, NULL },
	{ "LIST", 0, POP3_VERB_LIST, 0, NULL, NULL },
	{ "LIST 3", 0, POP3_VERB_LIST, 1, "3", NULL },
	{ "LIST 3 ", 0, POP3_VERB_LIST, 1, "3", NULL },
	{ "RETR 1", 0, POP3_VERB_RETR, 1, "1", NULL },
	{ "DELE 12", 0, POP3_VERB_DELE, 1, "12", NULL },
	{ "NOOP", 0, POP3_VERB_NOOP, 0, NULL, NULL },
	{ "RSET", 0, POP3_VERB_RSET, 0, NULL, NULL },
	{ "TOP 1 10", 0, POP3_VERB_TOP, 2, "1", "10" },
	{ "TOP  1  10", 0, POP3_VERB_TOP, 2, "1", "10" },
	{ "UIDL", 0, POP3_VERB_UIDL, 0, NULL, NULL },
	{ "UIDL 7", 0, POP3_VERB_UIDL, 1, "7", NULL },
	{ "XTND XMIT", 0, POP3_VERB_UNKNOWN, 0, NULL, NULL },
	{ "STATS", 0, POP3_VERB_UNKNOWN, 0, NULL, NULL },
	/* errors */
	{ "", -1, POP3_VERB_UNKNOWN, 0, NULL, NULL },
	{ "USER", -1, POP3_VERB_USER, 0, NULL, NULL },
	{ "PASS", -1, POP3_VERB_PASS, 0, NULL, NULL },
	{ "RETR", -1, POP3_VERB_RETR, 0, NULL, NULL },
	{ "TOP 1", -1, POP3_VERB_TOP, 1, NULL, NULL },
	{ "TOP 1 2 3", -1, POP3_VERB_TOP, 2, NULL, NULL },
	{ "STAT 1", -1, POP3_VERB_STAT, 0, NULL, NULL },
	{ "QUIT now", -1, POP3_VERB_QUIT, 0, NULL, NULL },
	{ "APOP bob", -1, POP3_VERB_APOP, 1, NULL, NULL },
	{ "LIST 12345678901234567890123456789012345678901", -1, POP3_VERB_LIST, 0, NULL, NULL },
	{ "USER a\tb", -1, POP3_VERB_UNKNOWN, 0, NULL, NULL },
	{ "PASS a\x7f", -1, POP3_VERB_UNKNOWN, 0, NULL, NULL },
};

/* test_arg_is - argument i equals want. */
static void test_arg_is(const struct pop3_command *cmd, size_t i, const char *want)
{
	if (want == NULL)
		return;
	assert_true(i < cmd->argc);
	assert_int_equal(cmd->argv[i].len, strlen(want));
	assert_memory_equal(cmd->argv[i].p, want, strlen(want));
}

static void test_command_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_cmd_cases); i++) {
		const struct test_cmd_case *c = &test_cmd_cases[i];
		struct pop3_command cmd;
		const char *error = NULL;
		int rc = pop3_command_parse(c->line, strlen(c->line), &pop3_default_limits, &cmd,
					    &error);
		if (rc != c->rc)
			fail_msg("<<%s>>: rc %d, want %d (%s)", c->line, rc, c->rc, error);
		if (rc < 0) {
			assert_non_null(error);
			continue;
		}
		assert_int_equal(cmd.verb, c->verb);
		assert_int_equal(cmd.argc, c->argc);
		test_arg_is(&cmd, 0, c->arg0);
		test_arg_is(&cmd, 1, c->arg1);
	}
}

static void test_line_and_arg_limits(void **state)
{
	char line[512];
	struct pop3_command cmd;
	const char *error;

	(void)state;
	/* 253 octets plus CRLF is the longest command line (RFC 2449 4) */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PASS ", 5);
	assert_int_equal(pop3_command_parse(line, 253, &pop3_default_limits, &cmd, &error), 0);
	assert_int_equal(cmd.argv[0].len, 248);
	assert_int_equal(pop3_command_parse(line, 254, &pop3_default_limits, &cmd, &error), -1);
	assert_string_equal(error, "Line too long");
	/* ordinary arguments: 40 octets; login names may be longer */
	memcpy(line, "DELE ", 5);
	assert_int_equal(pop3_command_parse(line, 45, &pop3_default_limits, &cmd, &error), 0);
	assert_int_equal(pop3_command_parse(line, 46, &pop3_default_limits, &cmd, &error), -1);
	memcpy(line, "USER ", 5);
	assert_int_equal(pop3_command_parse(line, 200, &pop3_default_limits, &cmd, &error), 0);
	/* a NUL inside the line */
	assert_int_equal(pop3_command_parse("USER a\0b", 8, &pop3_default_limits, &cmd, &error), -1);
}

static void test_verb_names(void **state)
{
	(void)state;
	assert_string_equal(pop3_verb_name(POP3_VERB_RETR), "RETR");
	assert_string_equal(pop3_verb_name(POP3_VERB_TOP), "TOP");
	assert_string_equal(pop3_verb_name(POP3_VERB_UNKNOWN), "?");
	assert_string_equal(pop3_verb_name(POP3_VERB_COUNT), "?");
}

/* test_number - pop3_number_parse of a C string; -2 encodes failure. */
static long long test_number(const char *s, unsigned long max)
{
	struct pop3_arg arg = { s, strlen(s) };
	unsigned long n;

	return pop3_number_parse(&arg, max, &n) < 0 ? -2 : (long long)n;
}

static void test_numbers(void **state)
{
	(void)state;
	assert_int_equal(test_number("1", 10), 1);
	assert_int_equal(test_number("10", 10), 10);
	assert_int_equal(test_number("007", 10), 7);
	assert_int_equal(test_number("0", 10), 0);
	assert_int_equal(test_number("11", 10), -2);
	assert_int_equal(test_number("", 10), -2);
	assert_int_equal(test_number("-1", 10), -2);
	assert_int_equal(test_number("+1", 10), -2);
	assert_int_equal(test_number("1x", 10), -2);
	assert_int_equal(test_number("18446744073709551615", (unsigned long)-1), -1LL);
	assert_int_equal(test_number("18446744073709551616", (unsigned long)-1), -2);
	assert_int_equal(test_number("5", 0), -2);
}

/* test_stuff - run the dot-stuffer over in, fed in pieces of step bytes. */
static char *test_stuff(const char *in, bool top, unsigned long lines, size_t step)
{
	size_t len = strlen(in), o = 0;
	char *out = malloc(2 * len + 16);
	struct pop3_dotstuff st;

	pop3_dotstuff_init(&st, top, lines);
	for (size_t i = 0; i < len && !st.done; i += step) {
		size_t n = len - i < step ? len - i : step, out_len;
		size_t used = pop3_dotstuff_feed(&st, in + i, n, out + o, &out_len);
		assert_true(used == n || st.done);
		o += out_len;
	}
	o += pop3_dotstuff_end(&st, out + o);
	out[o] = '\0';
	return out;
}

/* One dot-stuffer case: input, TOP or not, its line count, expected output. */
struct test_stuff_case {
	const char *in;
	bool top;
	unsigned long lines;
	const char *out;
};

static const struct test_stuff_case test_stuff_cases[] = {
	{ "a\nb\n", false, 0, "a\r\nb\r\n.\r\n" },
	{ "", false, 0, ".\r\n" },
	{ "no newline", false, 0, "no newline\r\n.\r\n" },
	{ ".\n..\n.x\nx.\n", false, 0, "..\r\n...\r\n..x\r\nx.\r\n.\r\n" },
	{ "crlf\r\nkept\r\n", false, 0, "crlf\r\nkept\r\n.\r\n" },
	{ "bare\rcr\n", false, 0, "bare\rcr\r\n.\r\n" },
	{ "ends in cr\r", false, 0, "ends in cr\r\n.\r\n" },
	{ "H: 1\nH: 2\n\nb1\nb2\nb3\n", true, 0, "H: 1\r\nH: 2\r\n\r\n.\r\n" },
	{ "H: 1\nH: 2\n\nb1\nb2\nb3\n", true, 2, "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n.\r\n" },
	{ "H: 1\n\n.b1\nb2\n", true, 9, "H: 1\r\n\r\n..b1\r\nb2\r\n.\r\n" },
	{ "H: 1\r\n\r\nb1\r\nb2\r\n", true, 1, "H: 1\r\n\r\nb1\r\n.\r\n" },
	{ "H: only header\n", true, 3, "H: only header\r\n.\r\n" },
	{ "H: 1\n\nlast", true, 5, "H: 1\r\n\r\nlast\r\n.\r\n" },
};

static void test_dotstuff_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_stuff_cases); i++) {
		const struct test_stuff_case *c = &test_stuff_cases[i];
		for (size_t step = 1; step <= 7; step += 3) {
			char *out = test_stuff(c->in, c->top, c->lines, step);
			if (strcmp(out, c->out) != 0)
				fail_msg("case %zu step %zu: got <<%s>>", i, step, out);
			free(out);
		}
	}
}

static void test_uid(void **state)
{
	char uid[POP3_UID_MAX + 1], long_name[200];

	(void)state;
	pop3_maildrop_uid("1700000000.M1P2Q3.host,S=10,W=12", 32, uid);
	assert_string_equal(uid, "1700000000.M1P2Q3.host,S=10,W=12");
	memset(long_name, 'a', sizeof(long_name));
	pop3_maildrop_uid(long_name, sizeof(long_name), uid);
	assert_int_equal(strlen(uid), 64); /* hex SHA-256 */
	pop3_maildrop_uid("with space", 10, uid);
	assert_int_equal(strlen(uid), 64);
	for (size_t i = 0; uid[i] != '\0'; i++)
		assert_true(uid[i] >= 0x21 && uid[i] <= 0x7e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_table),
		cmocka_unit_test(test_line_and_arg_limits),
		cmocka_unit_test(test_verb_names),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_dotstuff_table),
		cmocka_unit_test(test_uid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

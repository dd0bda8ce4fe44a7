/* test_relay_policy - the Postfix policy delegation request parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "relay/policy_parse.h"

/* The request of SMTPD_POLICY_README.html, as Postfix 3.8 sends it. */
static const char test_policy_postfix[] =
	"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=SMTP\n"
	"helo_name=some.domain.tld\nqueue_id=8045F2AB23\nsender=foo@bar.tld\n"
	"recipient=bar@foo.tld\nrecipient_count=0\nclient_address=1.2.3.4\n"
	"client_name=another.domain.tld\nreverse_client_name=another.domain.tld\n"
	"instance=123.456.7\nsasl_method=plain\nsasl_username=you\nsasl_sender=\nsize=12345\n"
	"ccert_subject=solaris9.porcupine.org\nccert_issuer=Wietse+20Venema\n"
	"ccert_fingerprint=C2:9D:F4:87:71:73:73:D9:18:E7:C2:F3:C1:DA:6E:04\n"
	"encryption_protocol=TLSv1/SSLv3\nencryption_cipher=DHE-RSA-AES256-SHA\n"
	"encryption_keysize=256\netrn_domain=\nstress=\n"
	"ccert_pubkey_fingerprint=68:B3:29:DA:98:93:E3:40:99:C7:D8:AD:5C:B9:C9:40\n"
	"client_port=1234\npolicy_context=submission\nserver_address=10.3.2.1\n"
	"server_port=54321\ncompatibility_level=major.minor.patch\nmail_version=3.8.0\n\n";

static struct relay_policy_parser test_policy_parser;

/* test_policy_feed - feed text in pieces of step bytes; the result of the last call. */
static int test_policy_feed(struct relay_policy_parser *p, const char *text, size_t len,
			    size_t step, size_t *consumed_r, const char **error_r)
{
	size_t pos = 0, used;
	int r = 0;

	while (pos < len && r == 0) {
		size_t n = len - pos < step ? len - pos : step;
		r = relay_policy_parse(p, text + pos, n, &used, error_r);
		pos += used;
	}
	*consumed_r = pos;
	return r;
}

/* test_policy_postfix_request - the exact request, whole and byte by byte. */
static void test_policy_postfix_request(void **state)
{
	struct relay_policy_parser *p = &test_policy_parser;
	size_t len = strlen(test_policy_postfix), used;
	const char *error;

	(void)state;
	for (size_t step = 1; step <= len; step = step * 3 + 1) {
		relay_policy_parser_init(p, NULL);
		assert_int_equal(test_policy_feed(p, test_policy_postfix, len, step, &used, &error), 1);
		assert_int_equal(used, len);
		assert_string_equal(relay_policy_attr(p, "request"), "smtpd_access_policy");
		assert_string_equal(relay_policy_attr(p, "client_address"), "1.2.3.4");
		assert_string_equal(relay_policy_attr(p, "instance"), "123.456.7");
		assert_string_equal(relay_policy_attr(p, "sasl_sender"), "");
		assert_string_equal(relay_policy_attr(p, "mail_version"), "3.8.0");
		assert_null(relay_policy_attr(p, "nonexistent"));
	}
}

/* test_policy_two_requests - two pipelined requests, CRLF tolerated, last value wins. */
static void test_policy_two_requests(void **state)
{
	static const char text[] = "request=smtpd_access_policy\r\nclient_address=192.0.2.1\n"
				   "client_address=192.0.2.2\n\nrequest=smtpd_access_policy\n"
				   "client_address=2001:db8::1\n\n";
	struct relay_policy_parser *p = &test_policy_parser;
	size_t used;
	const char *error;

	(void)state;
	relay_policy_parser_init(p, NULL);
	assert_int_equal(relay_policy_parse(p, text, sizeof(text) - 1, &used, &error), 1);
	assert_string_equal(relay_policy_attr(p, "client_address"), "192.0.2.2");
	assert_int_equal(relay_policy_parse(p, text + used, 1, &used, &error), -1); /* not reset */
	relay_policy_parser_init(p, NULL);
	assert_int_equal(relay_policy_parse(p, text, sizeof(text) - 1, &used, &error), 1);
	relay_policy_parser_reset(p);
	size_t rest = sizeof(text) - 1 - used;
	assert_int_equal(relay_policy_parse(p, text + used, rest, &used, &error), 1);
	assert_int_equal(used, rest);
	assert_string_equal(relay_policy_attr(p, "client_address"), "2001:db8::1");
	relay_policy_parser_reset(p);
	assert_int_equal(relay_policy_parse(p, "request=x", 9, &used, &error), 0);
	assert_int_equal(used, 9);
}

/* test_policy_errors - malformed input and limits. */
static void test_policy_errors(void **state)
{
	static const char *const bad[] = {
		"\n", "novalue\n", "=value\n", "bad name=x\n", "a\0b=c\n", "na/me=x\n",
		"a234567890123456789012345678901234567890123456789012345678901234=x\n",
	};
	static const size_t bad_len[] = { 1, 8, 7, 11, 6, 9, 67 };
	struct relay_policy_parser *p = &test_policy_parser;
	struct relay_policy_limits limits = { .line_max = 16, .attrs_max = 2 };
	size_t used;
	const char *error;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		relay_policy_parser_init(p, NULL);
		if (relay_policy_parse(p, bad[i], bad_len[i], &used, &error) != -1)
			fail_msg("accepted case %zu", i);
	}
	relay_policy_parser_init(p, &limits);
	assert_int_equal(relay_policy_parse(p, "a=0123456789abcd\n\n", 18, &used, &error), 1);
	relay_policy_parser_init(p, &limits);
	assert_int_equal(relay_policy_parse(p, "a=0123456789abcde\n", 18, &used, &error), -1);
	assert_string_equal(error, "line too long");
	relay_policy_parser_init(p, &limits);
	assert_int_equal(relay_policy_parse(p, "a=1\nb=2\nc=3\n\n", 13, &used, &error), -1);
	assert_string_equal(error, "too many attributes");
	assert_int_equal(relay_policy_parse(p, "\n", 1, &used, &error), -1); /* stays failed */
}

/* test_policy_arena - many long values overflow the arena, not memory. */
static void test_policy_arena(void **state)
{
	struct relay_policy_parser *p = &test_policy_parser;
	char line[RELAY_POLICY_LINE_MAX + 1];
	const char *error;
	size_t used;
	int r = 0;

	(void)state;
	relay_policy_parser_init(p, NULL);
	memset(line, 'v', sizeof(line));
	memcpy(line, "name=", 5);
	line[RELAY_POLICY_LINE_MAX - 1] = '\n';
	for (int i = 0; i < RELAY_POLICY_ATTRS_MAX && r == 0; i++)
		r = relay_policy_parse(p, line, RELAY_POLICY_LINE_MAX, &used, &error);
	assert_int_equal(r, -1);
	assert_string_equal(error, "request too large");
}

/* main - run the policy parser tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_postfix_request),
		cmocka_unit_test(test_policy_two_requests),
		cmocka_unit_test(test_policy_errors),
		cmocka_unit_test(test_policy_arena),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

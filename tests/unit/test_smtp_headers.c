/* test_smtp_headers - the header-section scan, whole and split at every byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_headers.h"

struct case_row {
	const char *text;
	long end; /* offset of the blank line, -1 when none */
	bool date, message_id;
};

static const struct case_row rows[] = {
	{ "Subject: x\n\nbody\n", 11, false, false },
	{ "Date: now\nMessage-ID: <a@b>\n\nDate: body\n", 28, true, true },
	{ "DATE : now\nmessage-id:<x>\n\n", 26, true, true },
	{ "Subject: x\n Date: folded\n\n", 25, false, false },
	{ "X-Date: no\nDated: no\n\n", 21, false, false },
	{ "\nDate: body only\n", 0, false, false },
	{ "Subject: only headers\n", -1, false, false },
	{ "Subject: x\nMessage-ID: <a>\n", -1, false, true },
	{ "Averyveryverylongheadername: x\nDate: y\n\n", 39, true, false },
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *t = rows[i].text;
		size_t len = strlen(t);
		for (size_t split = 0; split <= len; split++) {
			struct smtp_header_scan h;
			smtp_headers_init(&h);
			size_t end = smtp_headers_feed(&h, t, split);
			if (!h.done && split < len)
				end = split + smtp_headers_feed(&h, t + split, len - split);
			assert_int_equal(h.done ? (long)end : -1, rows[i].end);
			assert_int_equal(h.saw_date, rows[i].date);
			assert_int_equal(h.saw_message_id, rows[i].message_id);
		}
	}
}

/* The From: field kept by the scan: unfolded, the first one only, counted. */
static void test_from_capture(void **state)
{
	const char *t = "Subject: x\nFrom: Alice\n <alice@example.test>\nTo: b\nfrom: c@d\n\n";
	struct smtp_header_scan h;

	(void)state;
	smtp_headers_init(&h);
	smtp_headers_feed(&h, t, strlen(t));
	assert_true(h.done);
	assert_int_equal(h.n_from, 2);
	assert_int_equal(h.from_len, strlen(" Alice <alice@example.test>"));
	assert_memory_equal(h.from, " Alice <alice@example.test>", h.from_len);
}

struct from_row {
	const char *value;
	int n;             /* addresses, or -1 */
	const char *first, *second;
};

static const struct from_row from_rows[] = {
	{ "alice@example.test", 1, "alice@example.test", NULL },
	{ " Alice Smith <alice@example.test>", 1, "alice@example.test", NULL },
	{ "\"Smith, Alice <x@y>\" <alice@example.test>", 1, "alice@example.test", NULL },
	{ "alice@example.test (Alice, <evil@x>)", 1, "alice@example.test", NULL },
	{ "a@x, \"B\" <b@y>", 2, "a@x", "b@y" },
	{ "<@relay.test:alice@example.test>", 1, "alice@example.test", NULL },
	{ "friends: a@x, b@y;", 2, "a@x", "b@y" },
	{ "\"quoted local\"@example.test", 1, "\"quoted local\"@example.test", NULL },
	{ "", 0, NULL, NULL },
	{ "Alice <alice@example.test", -1, NULL, NULL },
	{ "Alice alice@example.test>", -1, NULL, NULL },
	{ "\"unterminated <a@b>", -1, NULL, NULL },
	{ "(unterminated a@b", -1, NULL, NULL },
	{ "<a@b> <c@d>", -1, NULL, NULL },
	{ "a@b, c@d, e@f", -1, NULL, NULL }, /* more than max (2) */
	/* what other parsers read as bob must not pass as alice */
	{ "<bob@example.test:alice@example.test>", -1, NULL, NULL },
	{ "bob@example.test: alice@example.test;", -1, NULL, NULL },
	{ "<alice@example.test> bob@example.test", -1, NULL, NULL },
	{ "<alice@example.test> \"x\"", -1, NULL, NULL },
	{ "bob@example.test <alice@example.test>", -1, NULL, NULL },
	{ "\"bob@example.test\": alice@example.test;", -1, NULL, NULL },
	{ "<alice@example.test> (a comment), b@y", 2, "alice@example.test", "b@y" },
};

static void test_from_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(from_rows) / sizeof(from_rows[0]); i++) {
		const struct from_row *r = &from_rows[i];
		char out[2][SMTP_FROM_ADDR_MAX];
		int n = smtp_headers_from_addresses(r->value, strlen(r->value), out, 2);
		assert_int_equal(n, r->n);
		if (r->first != NULL)
			assert_string_equal(out[0], r->first);
		if (r->second != NULL)
			assert_string_equal(out[1], r->second);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_from_capture),
		cmocka_unit_test(test_from_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

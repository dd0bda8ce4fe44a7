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

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_rows) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}

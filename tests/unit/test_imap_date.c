/* test_imap_date - IMAP search dates, date-times both ways, RFC 5322 Date: values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_date.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_date_search(void **state)
{
	static const struct {
		const char *in;
		bool ok;
		int64_t day;
	} cases[] = {
		{ "1-Jan-1970", true, 0 },        { "2-Jan-1970", true, 1 },
		{ "\"1-Feb-1994\"", true, 8797 }, { "01-feb-1994", true, 8797 },
		{ "29-Feb-2024", true, 19782 },   { "31-Dec-1969", true, -1 },
		{ "29-Feb-2023", false, 0 },      { "1-Foo-1994", false, 0 },
		{ "1-Feb-94", false, 0 },         { "1 Feb 1994", false, 0 },
		{ "", false, 0 },                 { "123-Feb-1994", false, 0 },
		{ "0-Feb-1994", false, 0 },       { "32-Jan-1994", false, 0 },
		{ "1-Feb-1994 ", false, 0 },      { " 1-Feb-1994", false, 0 },
		{ "\"1-Feb-1994", false, 0 },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t day = 12345;
		const char *error = NULL;
		int rc = imap_date_parse_search(cases[i].in, strlen(cases[i].in), &day, &error);
		if (!cases[i].ok) {
			if (rc != -1 || error == NULL)
				fail_msg("case %zu (%s) should fail", i, cases[i].in);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu (%s): %s", i, cases[i].in, error);
		assert_int_equal(day, cases[i].day);
	}
}

static const struct {
	const char *in;
	int64_t t;
	int tzoff;
	const char *out; /* formatted in its own zone; NULL: parse error */
} test_datetime_cases[] = {
	{ "05-Dec-2026 00:10:17 +0000", 1796429417, 0, "05-Dec-2026 00:10:17 +0000" },
	{ "\" 5-Dec-2026 01:10:17 +0100\"", 1796429417, 3600, "05-Dec-2026 01:10:17 +0100" },
	{ "04-Dec-2026 16:40:17 -0730", 1796429417, -27000, "04-Dec-2026 16:40:17 -0730" },
	{ "17-Jul-1996 02:44:25 -0700", 837596665, -25200, "17-Jul-1996 02:44:25 -0700" },
	{ "01-Jan-1970 00:00:00 +0000", 0, 0, "01-Jan-1970 00:00:00 +0000" },
	{ "05-Dec-2026 00:10:17", 0, 0, NULL },
	{ "05-Dec-2026 24:10:17 +0000", 0, 0, NULL },
	{ "05-Dec-2026 00:10:17 0000", 0, 0, NULL },
	{ "05-Dec-2026 00:10 +0000", 0, 0, NULL },
	{ "05-Dec-2026  00:10:17 +0000", 0, 0, NULL },
	{ "31-Nov-2026 00:10:17 +0000", 0, 0, NULL },
	{ "05-Dec-2026 00:10:17 +0000x", 0, 0, NULL },
	{ "05-Dec-2026 00:10:17 +2400", 0, 0, NULL },
};

static void test_date_datetime(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_datetime_cases); i++) {
		time_t t;
		int tzoff;
		const char *error = NULL;
		char buf[IMAP_DATETIME_LEN + 1];
		const char *in = test_datetime_cases[i].in;
		int rc = imap_date_parse_datetime(in, strlen(in), &t, &tzoff, &error);
		if (test_datetime_cases[i].out == NULL) {
			if (rc != -1 || error == NULL)
				fail_msg("case %zu (%s) should fail", i, test_datetime_cases[i].in);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu (%s): %s", i, test_datetime_cases[i].in, error);
		assert_int_equal(t, test_datetime_cases[i].t);
		assert_int_equal(tzoff, test_datetime_cases[i].tzoff);
		imap_date_format_datetime(t, tzoff, buf);
		assert_string_equal(buf, test_datetime_cases[i].out);
	}
}

static void test_date_format(void **state)
{
	char buf[IMAP_DATETIME_LEN + 1];

	(void)state;
	imap_date_format_datetime(951782400, 0, buf); /* a leap day */
	assert_string_equal(buf, "29-Feb-2000 00:00:00 +0000");
	imap_date_format_datetime(951782399, 0, buf);
	assert_string_equal(buf, "28-Feb-2000 23:59:59 +0000");
	imap_date_format_datetime(-1, 0, buf);
	assert_string_equal(buf, "31-Dec-1969 23:59:59 +0000");
	imap_date_format_datetime(951782400, -3600, buf);
	assert_string_equal(buf, "28-Feb-2000 23:00:00 -0100");
	imap_date_format_datetime(951782400, 19800, buf);
	assert_string_equal(buf, "29-Feb-2000 05:30:00 +0530");
	assert_int_equal(imap_date_day(951782400, 0), 11016);
	assert_int_equal(imap_date_day(951782400, -1), 11015);
	assert_int_equal(imap_date_day(-1, 0), -1);
	assert_int_equal(imap_date_day_from_civil(2000, 2, 29), 11016);
}

static const struct {
	const char *in;
	const char *utc; /* NULL: error */
	int tzoff;
} test_rfc5322_cases[] = {
	{ "Sat, 5 Dec 2026 01:10:17 +0100", "05-Dec-2026 00:10:17 +0000", 3600 },
	{ "5 Dec 2026 01:10:17 +0100", "05-Dec-2026 00:10:17 +0000", 3600 },
	{ "Sat, 05 Dec 2026 01:10 +0100", "05-Dec-2026 00:10:00 +0000", 3600 },
	{ "Sat, 5 Dec 2026 01:10:17 +0100 (CET)", "05-Dec-2026 00:10:17 +0000", 3600 },
	{ "(comment) Sat,(x (nested)) 5 Dec 2026 01:10:17 +0100", "05-Dec-2026 00:10:17 +0000",
	  3600 },
	{ "Sat, 5 Dec 26 00:10:17 GMT", "05-Dec-2026 00:10:17 +0000", 0 },
	{ "Sat, 5 Dec 96 00:10:17 EST", "05-Dec-1996 05:10:17 +0000", -18000 },
	{ "5 Dec 126 00:10:17 PDT", "05-Dec-2026 07:10:17 +0000", -25200 },
	{ "Sat Dec  5 00:10:17 2026", "05-Dec-2026 00:10:17 +0000", 0 }, /* asctime */
	{ "5 December 2026 00:10:17 -0000", "05-Dec-2026 00:10:17 +0000", 0 },
	{ "5 Dec 2026", "05-Dec-2026 00:00:00 +0000", 0 },
	{ "5-Dec-2026 00:10:17 +0000", "05-Dec-2026 00:10:17 +0000", 0 },
	{ "Sat,5 Dec 2026 00:10:17 -0830", "05-Dec-2026 08:40:17 +0000", -30600 },
	{ " 5 Dec 2026 00:10:17 UT ", "05-Dec-2026 00:10:17 +0000", 0 },
	{ "5 Dec 2026 01:10:17+0100", "05-Dec-2026 00:10:17 +0000", 3600 },
	{ "5-Dec-2026 01:10:17 +0100", "05-Dec-2026 00:10:17 +0000", 3600 },
	{ "5 Dec 2026 00:10:60 +0000", "05-Dec-2026 00:10:59 +0000", 0 },
	{ "", NULL, 0 },
	{ "Sat, Dec 2026", NULL, 0 },
	{ "31 Feb 2026 00:00:00 +0000", NULL, 0 },
	{ "5 Dec 2026 25:00:00 +0000", NULL, 0 },
	{ "5 Dec 20266 00:00:00 +0000", NULL, 0 },
	{ "5 Foo 2026", NULL, 0 },
	{ "garbage", NULL, 0 },
};

static void test_date_rfc5322(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_rfc5322_cases); i++) {
		time_t t;
		int tzoff = 12345;
		char buf[IMAP_DATETIME_LEN + 1];
		const char *in = test_rfc5322_cases[i].in;
		int rc = imap_date_parse_rfc5322(in, strlen(in), &t, &tzoff);
		if (test_rfc5322_cases[i].utc == NULL) {
			if (rc != -1)
				fail_msg("case %zu (%s) should fail", i, test_rfc5322_cases[i].in);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu (%s) failed", i, test_rfc5322_cases[i].in);
		imap_date_format_datetime(t, 0, buf);
		if (strcmp(buf, test_rfc5322_cases[i].utc) != 0)
			fail_msg("case %zu (%s): %s", i, test_rfc5322_cases[i].in, buf);
		assert_int_equal(tzoff, test_rfc5322_cases[i].tzoff);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_search),
		cmocka_unit_test(test_date_datetime),
		cmocka_unit_test(test_date_format),
		cmocka_unit_test(test_date_rfc5322),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

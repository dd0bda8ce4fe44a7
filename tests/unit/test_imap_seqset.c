/* test_imap_seqset - IMAP sequence sets: parsing, normalizing, "*" resolved late, iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_seqset.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* test_seqset_render - the resolved set as "a:b,c", via the iterator. */
static void test_seqset_render(const struct imap_seqset *set, uint32_t max, bool clamp, char *buf,
			       size_t size)
{
	struct imap_seqset_iter it;
	struct imap_seq_range r;
	size_t o = 0;

	buf[0] = '\0';
	imap_seqset_iter_init(&it, set, max, clamp);
	while (imap_seqset_iter_next(&it, &r)) {
		assert_true(r.lo >= 1 && r.lo <= r.hi);
		if (r.lo == r.hi)
			o += (size_t)snprintf(buf + o, size - o, "%s%u", o ? "," : "", r.lo);
		else
			o += (size_t)snprintf(buf + o, size - o, "%s%u:%u", o ? "," : "", r.lo, r.hi);
		assert_true(o < size);
	}
}

static const struct {
	const char *in;
	uint32_t max;
	const char *want;         /* resolved, unclamped; NULL: parse error */
	const char *want_clamped; /* resolved and cut at max */
} test_seqset_cases[] = {
	{ "1", 10, "1", "1" },
	{ "1:5", 10, "1:5", "1:5" },
	{ "5:1", 10, "1:5", "1:5" },
	{ "*", 7, "7", "7" },
	{ "1:*", 7, "1:7", "1:7" },
	{ "*:3", 7, "3:7", "3:7" },
	{ "5:*", 3, "3:5", "3" }, /* RFC 9051 6.4.8: n:* with n > max still includes max */
	{ "2,4:7,9", 10, "2,4:7,9", "2,4:7,9" },
	{ "9,1:3,2:5,*", 20, "1:5,9,20", "1:5,9,20" },
	{ "3:*,10:*", 5, "3:10", "3:5" },
	{ "1:4,5:8", 100, "1:8", "1:8" },
	{ "6,*", 6, "6", "6" },
	{ "1:10,20", 5, "1:10,20", "1:5" },
	{ "4294967295", 1, "4294967295", "" },
	{ "1:4294967295", 3, "1:4294967295", "1:3" },
	{ "*", 0, "", "" },   /* an empty mailbox */
	{ "1:*", 0, "1", "" },
	{ "", 1, NULL, NULL },
	{ "0", 1, NULL, NULL },
	{ "1:0", 1, NULL, NULL },
	{ "01", 1, NULL, NULL },
	{ "4294967296", 1, NULL, NULL },
	{ "99999999999999999999", 1, NULL, NULL },
	{ "1,", 1, NULL, NULL },
	{ ",1", 1, NULL, NULL },
	{ "1::2", 1, NULL, NULL },
	{ "1:2:3", 1, NULL, NULL },
	{ "a", 1, NULL, NULL },
	{ "1 2", 1, NULL, NULL },
	{ "$", 1, NULL, NULL },
	{ "1,2,3,4,5", 1, NULL, NULL }, /* more than max_ranges (4) */
	{ "-1", 1, NULL, NULL },
};

static void test_seqset_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_seqset_cases); i++) {
		struct imap_seqset set;
		const char *error = NULL;
		char buf[256];
		int rc = imap_seqset_parse(test_seqset_cases[i].in, strlen(test_seqset_cases[i].in), 4,
					   &set, &error);
		if (test_seqset_cases[i].want == NULL) {
			if (rc != -1 || error == NULL)
				fail_msg("case %zu (%s) should fail", i, test_seqset_cases[i].in);
			assert_null(set.ranges);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu (%s): %s", i, test_seqset_cases[i].in, error);
		test_seqset_render(&set, test_seqset_cases[i].max, false, buf, sizeof(buf));
		assert_string_equal(buf, test_seqset_cases[i].want);
		test_seqset_render(&set, test_seqset_cases[i].max, true, buf, sizeof(buf));
		assert_string_equal(buf, test_seqset_cases[i].want_clamped);
		imap_seqset_clear(&set);
	}
}

static void test_seqset_contains(void **state)
{
	struct imap_seqset set;
	const char *error;

	(void)state;
	assert_int_equal(imap_seqset_parse("2,4:7,9,12:*", 12, 10, &set, &error), 0);
	static const uint32_t in[] = { 2, 4, 5, 7, 9, 12, 13, 30 }, out[] = { 0, 1, 3, 8, 10, 11 };
	for (size_t i = 0; i < ARRAY_LEN(in); i++)
		assert_true(imap_seqset_contains(&set, in[i], 30));
	for (size_t i = 0; i < ARRAY_LEN(out); i++)
		assert_false(imap_seqset_contains(&set, out[i], 30));
	assert_false(imap_seqset_contains(&set, 31, 30));
	assert_true(imap_seqset_contains(&set, 10, 10)); /* 12:* with max 10 is 10:12 */
	assert_false(imap_seqset_contains(&set, 13, 10));
	assert_int_equal(imap_seqset_highest(&set, 30), 30);
	assert_int_equal(imap_seqset_highest(&set, 5), 12);
	imap_seqset_clear(&set);
	assert_int_equal(imap_seqset_parse("3,1", 3, 10, &set, &error), 0);
	assert_int_equal(imap_seqset_highest(&set, 100), 3);
	assert_false(imap_seqset_contains(&set, 2, 100));
	imap_seqset_clear(&set);
}

/* A large set merges into few ranges and stays within its limit. */
static void test_seqset_many(void **state)
{
	char buf[8000];
	size_t o = 0;
	struct imap_seqset set;
	const char *error;

	(void)state;
	for (unsigned i = 1000; i >= 1; i--)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u", o ? "," : "", i);
	assert_int_equal(imap_seqset_parse(buf, o, 1000, &set, &error), 0);
	assert_int_equal(set.count, 1);
	assert_int_equal(set.ranges[0].lo, 1);
	assert_int_equal(set.ranges[0].hi, 1000);
	imap_seqset_clear(&set);
	assert_int_equal(imap_seqset_parse(buf, o, 999, &set, &error), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seqset_table),
		cmocka_unit_test(test_seqset_contains),
		cmocka_unit_test(test_seqset_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

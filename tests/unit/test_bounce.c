/* test_bounce - the DSN text (RFC 3464) and the header scan of local submissions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue/bounce.h"
#include "queue/queue_submit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* test_status_table - the status code a last error yields. */
static void test_status_table(void **state)
{
	static const char *const cases[][2] = {
		{"mx[1.2.3.4]:25 said: 550 5.1.1 <a@b>: unknown", "5.1.1"},
		{"mx[1.2.3.4]:25 said: 554 transaction failed", "5.0.0"},
		{"mx[1.2.3.4]:25 said: 452 4.2.2 mailbox full", "4.2.2"},
		{"mx[1.2.3.4]:25 said: 452 full", "4.0.0"},
		{"5.4.7 delivery time expired; last error: x", "5.4.7"},
		{"5.1.10 nullmx.test: null MX", "5.1.10"},
		{"no code at all", "5.0.0"},
		{"", "5.0.0"},
	};
	char buf[16];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		bounce_status(cases[i][0], buf, sizeof(buf));
		assert_string_equal(buf, cases[i][1]);
	}
}

/* test_format - the parts and fields of the report. */
static void test_format(void **state)
{
	static const char headers[] = "From: a@example.test\nSubject: hello\n\n";
	const struct bounce_rcpt rcpts[] = {
		{"bob@remote.test", "mx.remote.test[1.2.3.4]:25 said: 550 5.1.1 unknown"},
		{"carol@slow.test", "5.4.7 delivery time expired; last error: 4.4.1 refused"},
	};
	struct bounce_info b = { .hostname = "mx.example.test", .queue_id = "ABC", .sender = "a@example.test",
				 .arrival = 1000, .now = 2000, .rcpts = rcpts, .n_rcpts = 2,
				 .headers = headers, .headers_len = sizeof(headers) - 1 };
	size_t len;
	char *text = bounce_format(&b, &len);

	(void)state;
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "From: MAILER-DAEMON@mx.example.test"));
	assert_non_null(strstr(text, "To: <a@example.test>\n"));
	assert_non_null(strstr(text, "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"ABC.2000/mx.example.test\""));
	assert_non_null(strstr(text, "\n--ABC.2000/mx.example.test\nContent-Description: Notification"));
	assert_non_null(strstr(text, "Reporting-MTA: dns; mx.example.test\n"));
	assert_non_null(strstr(text, "Final-Recipient: rfc822; bob@remote.test\n"
				     "Original-Recipient: rfc822; bob@remote.test\n"
				     "Action: failed\nStatus: 5.1.1\n"
				     "Remote-MTA: dns; mx.remote.test\n"
				     "Diagnostic-Code: smtp; 550 5.1.1 unknown\n"));
	assert_non_null(strstr(text, "Status: 5.4.7\nDiagnostic-Code: X-Postern; 5.4.7 delivery"));
	assert_non_null(strstr(text, "Content-Type: text/rfc822-headers\n\nFrom: a@example.test\nSubject: hello\n"));
	assert_non_null(strstr(text, "\n--ABC.2000/mx.example.test--\n"));
	assert_null(strchr(text, '\r'));
	free(text);
}

/* test_submit_scan - header block end and the headers a submission already has. */
static void test_submit_scan(void **state)
{
	struct queue_submit_headers h;
	static const char full[] = "FROM: a\nSubject: x\nmessage-id: <1@x>\n\nDate: not a header\n";

	(void)state;
	assert_true(queue_submit_scan(full, strlen(full), &h));
	assert_int_equal(h.end, strlen("FROM: a\nSubject: x\nmessage-id: <1@x>\n\n"));
	assert_true(h.from && h.message_id);
	assert_false(h.date);
	assert_false(queue_submit_scan("Subject: x\nDate: y", 18, &h));
	assert_true(queue_submit_scan("\nbody", 5, &h));
	assert_int_equal(h.end, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_submit_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

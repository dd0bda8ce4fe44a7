/* test_log - held log lines: written together at the release, in order, none lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"

/* stderr goes to a pipe for each test; the test reads what arrived so far. */
static int test_saved_stderr = -1, test_pipe_rd = -1;

static int test_stderr_to_pipe(void **state)
{
	int fds[2];

	(void)state;
	if (pipe(fds) < 0)
		return -1;
	test_saved_stderr = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	close(fds[1]);
	test_pipe_rd = fds[0];
	log_init("test", false);
	return 0;
}

static int test_stderr_back(void **state)
{
	(void)state;
	dup2(test_saved_stderr, STDERR_FILENO);
	close(test_saved_stderr);
	close(test_pipe_rd);
	return 0;
}

/* test_read_pipe - what the pipe holds now (non-blocking), NUL-terminated, in buf. */
static size_t test_read_pipe(char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	fflush(stderr);
	while (len + 1 < size) {
		struct timeval tv = { 0, 0 };
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(test_pipe_rd, &rd);
		if (select(test_pipe_rd + 1, &rd, NULL, NULL, &tv) <= 0)
			break;
		if ((n = read(test_pipe_rd, buf + len, size - 1 - len)) <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

/* Held lines wait for the outer release, then come out in the order logged. */
static void test_hold_and_release(void **state)
{
	static char buf[4096];

	(void)state;
	log_hold();
	log_info("first %d", 1);
	log_hold(); /* nested: only the outer release writes */
	log_info("second");
	log_release();
	assert_int_equal(test_read_pipe(buf, sizeof(buf)), 0);
	log_err("third");
	log_release();
	test_read_pipe(buf, sizeof(buf));
	char *a = strstr(buf, "test: first 1\n"), *b = strstr(buf, "test: second\n");
	char *c = strstr(buf, "test: third\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	log_info("not held");
	test_read_pipe(buf, sizeof(buf));
	assert_non_null(strstr(buf, "test: not held\n"));
}

/* More than the hold buffer: the overflow is written early, and nothing is lost. */
static void test_hold_overflow(void **state)
{
	static char buf[64 * 1024];
	char want[64];

	(void)state;
	log_hold();
	for (int i = 0; i < 100; i++)
		log_info("line %03d %0300d", i, 0);
	assert_true(test_read_pipe(buf, sizeof(buf)) > 0); /* over 16 KB went out already */
	log_release();
	size_t len = strlen(buf);
	test_read_pipe(buf + len, sizeof(buf) - len);
	const char *p = buf;
	for (int i = 0; i < 100; i++) {
		snprintf(want, sizeof(want), "test: line %03d ", i);
		p = strstr(p, want);
		assert_non_null(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hold_and_release, test_stderr_to_pipe,
						test_stderr_back),
		cmocka_unit_test_setup_teardown(test_hold_overflow, test_stderr_to_pipe,
						test_stderr_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_queue_env - the queue envelope file: round trips, states, errors, unknown keys, body size. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue/queue_env.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* test_round_trip - format then parse gives the same envelope; errors lose their line breaks. */
static void test_round_trip(void **state)
{
	struct queue_env env = { .id = "ABC123", .created = 1795329090, .from = (char *)"a@b.test" };
	struct queue_env back;
	const char *error;
	size_t len;

	(void)state;
	queue_env_add_rcpt(&env, "one@remote.test");
	queue_env_add_rcpt(&env, "two@remote.test");
	queue_env_add_rcpt(&env, "three@remote.test");
	env.rcpts[0].state = QUEUE_RCPT_DELIVERED;
	env.rcpts[1].state = QUEUE_RCPT_FAILED;
	env.rcpts[1].attempts = 3;
	env.rcpts[1].last_error = strdup("mx[1.2.3.4]:25 said: 550 5.1.1 no\nsuch\ruser");
	env.rcpts[2].next_try = 1795330000;
	char *text = queue_env_format(&env, &len);
	assert_int_equal(queue_env_parse(&back, text, len, &error), 0);
	assert_string_equal(back.id, "ABC123");
	assert_int_equal(back.created, 1795329090);
	assert_string_equal(back.from, "a@b.test");
	assert_int_equal(back.n_rcpts, 3);
	assert_int_equal(back.rcpts[0].state, QUEUE_RCPT_DELIVERED);
	assert_int_equal(back.rcpts[1].state, QUEUE_RCPT_FAILED);
	assert_int_equal(back.rcpts[1].attempts, 3);
	assert_string_equal(back.rcpts[1].last_error, "mx[1.2.3.4]:25 said: 550 5.1.1 no such user");
	assert_null(back.rcpts[2].last_error);
	assert_int_equal(back.rcpts[2].next_try, 1795330000);
	free(text);
	env.from = NULL;
	queue_env_clear(&env);
	queue_env_clear(&back);
}

/* test_null_sender_and_unknown_keys - "from" alone is <>; newer keys are skipped. */
static void test_null_sender_and_unknown_keys(void **state)
{
	static const char text[] = "postern-queue 1\nid X1\ncreated 5\nfrom\nwarned 1\n"
				   "rcpt B 1 0 a@b.test\n";
	struct queue_env env;
	const char *error;

	(void)state;
	assert_int_equal(queue_env_parse(&env, text, strlen(text), &error), 0);
	assert_string_equal(env.from, "");
	assert_int_equal(env.rcpts[0].state, QUEUE_RCPT_BOUNCED);
	queue_env_clear(&env);
}

/* test_body_round_trip - the body line keeps the size and the 8-bit flag. */
static void test_body_round_trip(void **state)
{
	struct queue_env env = { .id = "B1", .from = (char *)"", .sized = true,
				 .size = 18446744073709551615ULL, .eightbit = true };
	struct queue_env back;
	const char *error;
	size_t len;

	(void)state;
	queue_env_add_rcpt(&env, "one@remote.test");
	char *text = queue_env_format(&env, &len);
	assert_non_null(strstr(text, "\nbody 18446744073709551615 8bit\n"));
	assert_int_equal(queue_env_parse(&back, text, len, &error), 0);
	assert_true(back.sized);
	assert_true(back.eightbit);
	assert_true(back.size == 18446744073709551615ULL);
	free(text);
	queue_env_clear(&back);
	env.size = 0;
	env.eightbit = false;
	text = queue_env_format(&env, &len);
	assert_non_null(strstr(text, "\nbody 0 7bit\n"));
	assert_int_equal(queue_env_parse(&back, text, len, &error), 0);
	assert_true(back.sized && !back.eightbit && back.size == 0);
	free(text);
	queue_env_clear(&back);
	env.from = NULL;
	queue_env_clear(&env);
}

/* test_old_file_has_no_body - an envelope from before the body line loads unsized, and stays so. */
static void test_old_file_has_no_body(void **state)
{
	static const char text[] = "postern-queue 1\nid X1\ncreated 5\nfrom a@b\nrcpt P 0 0 c@d\n";
	struct queue_env env;
	const char *error;
	size_t len;

	(void)state;
	assert_int_equal(queue_env_parse(&env, text, strlen(text), &error), 0);
	assert_false(env.sized);
	char *again = queue_env_format(&env, &len);
	assert_null(strstr(again, "body"));
	free(again);
	queue_env_clear(&env);
}

/* test_measure - CRLF size and 8-bit flag, the same in one piece or byte by byte. */
static void test_measure(void **state)
{
	static const char text[] = "Subject: x\n\nplain\nline\n";
	struct queue_env whole = { 0 }, bytes = { 0 };

	(void)state;
	queue_env_measure(&whole, text, strlen(text));
	assert_true(whole.sized);
	assert_int_equal(whole.size, strlen(text) + 4);
	assert_false(whole.eightbit);
	for (size_t i = 0; i < strlen(text); i++)
		queue_env_measure(&bytes, text + i, 1);
	assert_int_equal(bytes.size, whole.size);
	queue_env_measure(&bytes, "caf\xc3\xa9", 5);
	assert_true(bytes.eightbit);
	queue_env_measure(&bytes, "ascii again\n", 12);
	assert_true(bytes.eightbit); /* stays set */
	/* an 8-bit byte at every offset of a word and in the tail */
	char buf[24];
	for (size_t at = 0; at < sizeof(buf); at++) {
		memset(buf, 'a', sizeof(buf));
		assert_false(queue_env_has_8bit(buf, sizeof(buf)));
		buf[at] = (char)0x80;
		assert_true(queue_env_has_8bit(buf, sizeof(buf)));
		assert_false(queue_env_has_8bit(buf, at));
	}
}

/* test_measure_file - a queued text measured from its file; a missing one is an error. */
static void test_measure_file(void **state)
{
	char path[] = "/tmp/test_queue_env.XXXXXX";
	int fd = mkstemp(path);
	struct queue_env env = { 0 };
	static const char text[] = "a\nb\xff\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	assert_int_equal(queue_env_measure_file(&env, path), 0);
	assert_true(env.sized && env.eightbit);
	assert_int_equal(env.size, strlen(text) + 2);
	unlink(path);
	memset(&env, 0, sizeof(env));
	assert_int_equal(queue_env_measure_file(&env, path), -1);
	assert_int_equal(errno, ENOENT);
	assert_false(env.sized);
}

static const char *const test_bad_files[] = {
	"",
	"postern-queue 2\nid X\nfrom a\nrcpt P 0 0 b\n",
	"postern-queue 1\nfrom a\nrcpt P 0 0 b\n",       /* no id */
	"postern-queue 1\nid X\nrcpt P 0 0 b\n",         /* no from */
	"postern-queue 1\nid X\nfrom a\n",               /* no recipient */
	"postern-queue 1\nid X\nfrom a\nrcpt Q 0 0 b\n", /* unknown state */
	"postern-queue 1\nid X\nfrom a\nrcpt P x 0 b\n",
	"postern-queue 1\nid X\nfrom a\nrcpt P 0 0\n",
	"postern-queue 1\nid X\ncreated soon\nfrom a\nrcpt P 0 0 b\n",
	"postern-queue 1\nid X\nfrom a\nbody x 8bit\nrcpt P 0 0 b\n",
	"postern-queue 1\nid X\nfrom a\nbody -1 8bit\nrcpt P 0 0 b\n",
	"postern-queue 1\nid X\nfrom a\nbody 12\nrcpt P 0 0 b\n",
	"postern-queue 1\nid X\nfrom a\nbody 12 9bit\nrcpt P 0 0 b\n",
	"postern-queue 1\nid X\nfrom a\nbody 12 8bitx\nrcpt P 0 0 b\n",
	"postern-queue 1\nid X\nfrom a\nbody 18446744073709551616 8bit\nrcpt P 0 0 b\n",
};

/* test_bad_files_table - every malformed file is refused with a reason. */
static void test_bad_files_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_bad_files); i++) {
		struct queue_env env;
		const char *error = NULL;
		if (queue_env_parse(&env, test_bad_files[i], strlen(test_bad_files[i]), &error) != -1)
			fail_msg("case %zu parsed", i);
		assert_non_null(error);
		assert_int_equal(env.n_rcpts, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_null_sender_and_unknown_keys),
		cmocka_unit_test(test_bad_files_table),
		cmocka_unit_test(test_body_round_trip),
		cmocka_unit_test(test_old_file_has_no_body),
		cmocka_unit_test(test_measure),
		cmocka_unit_test(test_measure_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

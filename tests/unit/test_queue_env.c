/* test_queue_env - the queue envelope file: round trips, states, errors, unknown keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

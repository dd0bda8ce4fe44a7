// FUZZ_SOURCES: src/queue/queue_env.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_queue_env - the queue envelope parser on hostile files: whatever
 * parses must format and parse again to the same envelope (abort()
 * otherwise); whatever does not parse must leave nothing allocated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_env_same - two envelopes are equal. */
static int fuzz_env_same(const struct queue_env *a, const struct queue_env *b)
{
	if (strcmp(a->id, b->id) != 0 || a->created != b->created || strcmp(a->from, b->from) != 0 ||
	    a->n_rcpts != b->n_rcpts)
		return 0;
	for (size_t i = 0; i < a->n_rcpts; i++) {
		const struct queue_rcpt *x = &a->rcpts[i], *y = &b->rcpts[i];
		if (strcmp(x->address, y->address) != 0 || x->state != y->state ||
		    x->attempts != y->attempts || x->next_try != y->next_try ||
		    (x->last_error == NULL) != (y->last_error == NULL))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_env env, again;
	const char *error;
	size_t len;

	if (queue_env_parse(&env, (const char *)data, size, &error) < 0) {
		if (env.rcpts != NULL || env.from != NULL || error == NULL)
			abort();
		return 0;
	}
	char *text = queue_env_format(&env, &len);
	if (queue_env_parse(&again, text, len, &error) < 0 || !fuzz_env_same(&env, &again))
		abort();
	free(text);
	queue_env_clear(&env);
	queue_env_clear(&again);
	return 0;
}

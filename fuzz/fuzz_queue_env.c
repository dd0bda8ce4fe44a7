// FUZZ_SOURCES: src/queue/queue_env.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_queue_env - the queue envelope parser on hostile files: whatever
 * parses must format and parse again to the same envelope, body size and
 * 8-bit flag included (abort() otherwise); whatever does not parse must
 * leave nothing allocated. The input, as message text, must measure the
 * same in one piece and in two.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_env_same - two envelopes are equal. */
static int fuzz_env_same(const struct queue_env *a, const struct queue_env *b)
{
	if (strcmp(a->id, b->id) != 0 || a->created != b->created || strcmp(a->from, b->from) != 0 ||
	    a->n_rcpts != b->n_rcpts || a->sized != b->sized ||
	    (a->sized && (a->size != b->size || a->eightbit != b->eightbit)))
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

/* fuzz_measure - queue_env_measure split anywhere gives the same size and flag as in one go. */
static void fuzz_measure(const uint8_t *data, size_t size)
{
	struct queue_env one = { 0 }, two = { 0 };
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;
	uint64_t lf = 0;
	bool high = false;

	queue_env_measure(&one, (const char *)data, size);
	queue_env_measure(&two, (const char *)data, cut);
	queue_env_measure(&two, (const char *)data + cut, size - cut);
	for (size_t i = 0; i < size; i++) {
		lf += data[i] == '\n';
		high = high || data[i] >= 0x80;
	}
	if (one.size != size + lf || two.size != one.size || one.eightbit != high ||
	    two.eightbit != high)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_env env, again;
	const char *error;
	size_t len;

	fuzz_measure(data, size);
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

/*
 * queue_env - the envelope of a message waiting for outbound delivery:
 * DATA_DIR/queue/env/ID beside the message text in DATA_DIR/queue/msg/ID.
 * A small versioned text format, one field per line:
 *
 *   postern-queue 1
 *   id 65F2A1B2C3D4E5F6
 *   created 1795329090
 *   from alice@example.test         (empty for the null sender)
 *   rcpt P 0 0 bob@remote.test       (state attempts next-try address [last error])
 *
 * States: P pending, D delivered, F failed (permanently; the DSN to the
 * sender is not yet durable), B bounced (the DSN is queued, or the sender
 * was <>). A restart sends the DSN of F recipients again, so a crash loses
 * no bounce. last error is free text: "RELAY said: CODE TEXT" for a
 * server's reply, "X.Y.Z reason" for our own. Formatting and parsing are
 * pure functions; writing the file durably is the caller's job.
 */
#ifndef POSTERN_QUEUE_ENV_H
#define POSTERN_QUEUE_ENV_H

#include <stddef.h>
#include <stdint.h>

enum queue_rcpt_state {
	QUEUE_RCPT_PENDING = 'P',
	QUEUE_RCPT_DELIVERED = 'D',
	QUEUE_RCPT_FAILED = 'F',
	QUEUE_RCPT_BOUNCED = 'B',
};

struct queue_rcpt {
	char *address;
	enum queue_rcpt_state state;
	unsigned attempts;
	int64_t next_try; /* unix seconds; 0 = now */
	char *last_error; /* NULL when none */
};

struct queue_env {
	char id[32];
	int64_t created;
	char *from; /* "" for <> */
	struct queue_rcpt *rcpts;
	size_t n_rcpts;
};

/* queue_env_format - the file text for env (malloc'd, *len_r bytes). */
char *queue_env_format(const struct queue_env *env, size_t *len_r);

/* queue_env_parse - read the file text; -1 with *error_r (static) on a bad file. */
int queue_env_parse(struct queue_env *env_r, const char *text, size_t len, const char **error_r);

/* queue_env_add_rcpt - append a pending recipient. */
void queue_env_add_rcpt(struct queue_env *env, const char *address);

/* queue_env_clear - free what env owns and zero it. */
void queue_env_clear(struct queue_env *env);

#endif

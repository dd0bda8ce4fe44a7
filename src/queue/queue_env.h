/*
 * queue_env - the envelope of a message waiting for outbound delivery:
 * DATA_DIR/queue/env/ID beside the message text in DATA_DIR/queue/msg/ID.
 * A small versioned text format, one field per line:
 *
 *   postern-queue 1
 *   id 65F2A1B2C3D4E5F6
 *   created 1795329090
 *   from alice@example.test         (empty for the null sender)
 *   body 4242 8bit                   (the text's size with CRLF line ends; 7bit or 8bit)
 *   rcpt P 0 0 bob@remote.test       (state attempts next-try address [last error])
 *
 * The body line is written when the message is queued, so that the SMTP
 * client can announce SIZE= (RFC 1870) and BODY=8BITMIME (RFC 6152)
 * without reading the text on every attempt. Files written before it
 * existed lack it: the queue measures their text once when it loads them
 * (queue_env_measure_file) and writes the line with the next rewrite.
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

#include <stdbool.h>
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
	uint64_t size; /* the text with CRLF line ends, as SIZE= announces it */
	bool eightbit; /* the text has bytes >= 0x80 (BODY=8BITMIME) */
	bool sized;    /* size and eightbit are known (the "body" line) */
};

/* queue_env_format - the file text for env (malloc'd, *len_r bytes). */
char *queue_env_format(const struct queue_env *env, size_t *len_r);

/* queue_env_parse - read the file text; -1 with *error_r (static) on a bad file. */
int queue_env_parse(struct queue_env *env_r, const char *text, size_t len, const char **error_r);

/* queue_env_has_8bit - whether text has a byte >= 0x80. */
bool queue_env_has_8bit(const char *text, size_t len);

/* queue_env_measure - count len more bytes of LF text into size and eightbit; sets sized. */
void queue_env_measure(struct queue_env *env, const char *text, size_t len);

/*
 * queue_env_measure_file - measure the whole text at path (for files from
 * before the body line). This one reads a file: call it where blocking is
 * acceptable (the queue loads old entries at start, before serving). -1
 * with errno when the file cannot be read (env is left unsized).
 */
int queue_env_measure_file(struct queue_env *env, const char *path);

/* queue_env_add_rcpt - append a pending recipient. */
void queue_env_add_rcpt(struct queue_env *env, const char *address);

/* queue_env_clear - free what env owns and zero it. */
void queue_env_clear(struct queue_env *env);

#endif

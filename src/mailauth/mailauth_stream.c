/* mailauth_stream - header section kept, body hashed. */
#include "mailauth/mailauth_stream.h"

#include <string.h>

#include "dkim/dkim.h"
#include "util/xalloc.h"

void mailauth_stream_init(struct mailauth_stream *st)
{
	memset(st, 0, sizeof(*st));
	st->last_lf = true;
}

void mailauth_stream_clear(struct mailauth_stream *st)
{
	free(st->head);
	for (size_t i = 0; i < st->n_bodies; i++)
		dkim_body_free(&st->bodies[i]);
	mailauth_stream_init(st);
}

/* mailauth_stream_keep - append header bytes, up to MAILAUTH_HEAD_MAX. */
static void mailauth_stream_keep(struct mailauth_stream *st, const char *text, size_t len)
{
	if (st->head_len + len > MAILAUTH_HEAD_MAX) {
		st->head_over = true;
		len = MAILAUTH_HEAD_MAX - st->head_len;
	}
	if (len == 0)
		return;
	if (st->head_len + len > st->head_cap) { /* most header sections are a few KB */
		while (st->head_len + len > st->head_cap)
			st->head_cap = st->head_cap == 0 ? 4096 : st->head_cap * 2;
		if (st->head_cap > MAILAUTH_HEAD_MAX)
			st->head_cap = MAILAUTH_HEAD_MAX;
		st->head = xrealloc(st->head, st->head_cap);
	}
	memcpy(st->head + st->head_len, text, len);
	st->head_len += len;
}

size_t mailauth_stream_head(struct mailauth_stream *st, const char *text, size_t len)
{
	size_t n = 0;

	while (!st->in_body && n < len) {
		const char *lf = memchr(text + n, '\n', len - n);
		size_t end = lf != NULL ? (size_t)(lf - text) + 1 : len;
		/* an LF right after an LF (or at the start) is the empty line */
		if (st->last_lf && text[n] == '\n')
			st->in_body = true;
		mailauth_stream_keep(st, text + n, st->in_body ? 1 : end - n);
		n = st->in_body ? n + 1 : end;
		st->last_lf = lf != NULL;
	}
	return n;
}

void mailauth_stream_body(struct mailauth_stream *st, const char *text, size_t len)
{
	for (size_t i = 0; i < st->n_bodies; i++)
		dkim_body_feed(st->bodies[i], text, len);
}

void mailauth_stream_feed(struct mailauth_stream *st, const char *text, size_t len)
{
	size_t n = mailauth_stream_head(st, text, len);

	if (n < len)
		mailauth_stream_body(st, text + n, len - n);
}

bool mailauth_stream_add_body(struct mailauth_stream *st, struct dkim_body *b)
{
	if (st->n_bodies == MAILAUTH_MAX_BODIES)
		return false;
	st->bodies[st->n_bodies++] = b;
	return true;
}

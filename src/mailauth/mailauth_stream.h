/*
 * mailauth_stream - a message's text as DKIM needs it, taken in as it is
 * written to the store (LF line ends): the header section kept in memory
 * (up to MAILAUTH_HEAD_MAX), then the body run through body hashers.
 * Signing registers its one relaxed SHA-256 hasher at the start;
 * verification registers one per signature once the header section is in.
 */
#ifndef POSTERN_MAILAUTH_STREAM_H
#define POSTERN_MAILAUTH_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#define MAILAUTH_HEAD_MAX (64 * 1024) /* header section kept; a longer one is not signed or checked */
#define MAILAUTH_MAX_BODIES 8

struct dkim_body;

struct mailauth_stream {
	char *head; /* the header section with its empty line */
	size_t head_len, head_cap;
	bool head_over; /* longer than MAILAUTH_HEAD_MAX: head holds only its start */
	bool in_body;   /* the empty line (or the end of the text) was seen */
	bool last_lf;   /* the last header byte was LF (true at the start) */
	struct dkim_body *bodies[MAILAUTH_MAX_BODIES];
	size_t n_bodies;
};

/* mailauth_stream_init - an empty stream. */
void mailauth_stream_init(struct mailauth_stream *st);

/* mailauth_stream_clear - free what it holds (the body hashers too). */
void mailauth_stream_clear(struct mailauth_stream *st);

/* mailauth_stream_head - take header bytes from text; returns how many were header (the rest is body). */
size_t mailauth_stream_head(struct mailauth_stream *st, const char *text, size_t len);

/* mailauth_stream_body - run body text through every hasher. */
void mailauth_stream_body(struct mailauth_stream *st, const char *text, size_t len);

/* mailauth_stream_feed - head, then body, for callers that need no pause between. */
void mailauth_stream_feed(struct mailauth_stream *st, const char *text, size_t len);

/* mailauth_stream_add_body - one more hasher (owned by the stream from here); false when full. */
bool mailauth_stream_add_body(struct mailauth_stream *st, struct dkim_body *b);

#endif

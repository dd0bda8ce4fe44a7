/* pop3_dotstuff - LF to CRLF, dot-stuffing and TOP's line limit, incrementally. */
#include "pop3/pop3_dotstuff.h"

#include <string.h>

void pop3_dotstuff_init(struct pop3_dotstuff *st, bool top, unsigned long body_lines)
{
	memset(st, 0, sizeof(*st));
	st->line_start = true;
	st->line_empty = true;
	st->top = top;
	st->body_lines = body_lines;
}

/* pop3_dotstuff_eol - a line ended: find the header's end, count TOP's body lines. */
static void pop3_dotstuff_eol(struct pop3_dotstuff *st)
{
	if (!st->in_body) {
		if (st->line_empty) {
			st->in_body = true;
			st->done = st->top && st->body_lines == 0;
		}
	} else if (st->top && --st->body_lines == 0) {
		st->done = true;
	}
	st->line_start = true;
	st->line_empty = true;
	st->prev_cr = false;
}

size_t pop3_dotstuff_feed(struct pop3_dotstuff *st, const char *in, size_t len, char *out,
			  size_t *out_len_r)
{
	size_t i, o = 0;

	for (i = 0; i < len && !st->done; i++) {
		char c = in[i];
		if (c == '\n') {
			if (!st->prev_cr)
				out[o++] = '\r';
			out[o++] = '\n';
			pop3_dotstuff_eol(st);
			continue;
		}
		if (st->line_start && c == '.')
			out[o++] = '.';
		if (c != '\r' || st->prev_cr)
			st->line_empty = false;
		out[o++] = c;
		st->prev_cr = c == '\r';
		st->line_start = false;
	}
	*out_len_r = o;
	return i;
}

size_t pop3_dotstuff_end(struct pop3_dotstuff *st, char *out)
{
	size_t o = 0;

	if (!st->line_start) {
		if (!st->prev_cr)
			out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	st->done = true;
	return o + 3;
}

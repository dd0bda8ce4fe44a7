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

/* pop3_dotstuff_text - copy seg bytes of one line's text (no LF), stuffing a leading dot. */
static size_t pop3_dotstuff_text(struct pop3_dotstuff *st, const char *seg, size_t n, char *out)
{
	size_t o = 0;

	if (st->line_start && seg[0] == '.')
		out[o++] = '.';
	memcpy(out + o, seg, n);
	/* a line is empty while it holds at most one CR (the CR of its CRLF) */
	st->line_empty = st->line_empty && n == 1 && seg[0] == '\r' && !st->prev_cr;
	st->prev_cr = seg[n - 1] == '\r';
	st->line_start = false;
	return o + n;
}

size_t pop3_dotstuff_feed(struct pop3_dotstuff *st, const char *in, size_t len, char *out,
			  size_t *out_len_r)
{
	size_t i = 0, o = 0;

	while (i < len && !st->done) {
		const char *lf = memchr(in + i, '\n', len - i);
		size_t n = lf != NULL ? (size_t)(lf - (in + i)) : len - i;
		if (n > 0)
			o += pop3_dotstuff_text(st, in + i, n, out + o);
		i += n;
		if (lf == NULL)
			break;
		if (!st->prev_cr)
			out[o++] = '\r';
		out[o++] = '\n';
		i++;
		pop3_dotstuff_eol(st);
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

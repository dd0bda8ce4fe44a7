/*
 * smtp_data - the DATA byte state machine (RFC 5321 4.1.1.4, 4.5.2, 2.3.8).
 * Only CRLF "." CRLF ends a message: any bare CR or LF is an error and can
 * never form or hide the terminator (SMTP smuggling). Runs of plain text
 * are found with memchr and copied with memcpy; every other byte goes
 * through smtp_data_byte(), which defines the behaviour, so a feed split
 * at any byte gives the same result as one call.
 */
#include "smtp/smtp_data.h"

#include <stdint.h>
#include <string.h>

enum smtp_data_state {
	SMTP_DATA_S_BOL = 0, /* at a line start: after CRLF, or the first byte */
	SMTP_DATA_S_TEXT,    /* inside a line */
	SMTP_DATA_S_CR,      /* CR inside a line */
	SMTP_DATA_S_DOT,     /* "." at a line start */
	SMTP_DATA_S_DOT_CR,  /* "." CR at a line start */
	SMTP_DATA_S_DONE,    /* CRLF "." CRLF seen */
};

/* smtp_data_init - start reading a message with these limits. */
void smtp_data_init(struct smtp_data_reader *r, size_t max_size, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->max_size = max_size;
	r->max_line = max_line;
	r->state = SMTP_DATA_S_BOL;
}

/* smtp_data_fail - keep the first error; nothing is emitted after it. */
static void smtp_data_fail(struct smtp_data_reader *r, enum smtp_data_error error)
{
	if (r->error == SMTP_DATA_OK)
		r->error = error;
}

/* smtp_data_room - how many more text octets fit in this line and message. */
static size_t smtp_data_room(const struct smtp_data_reader *r)
{
	size_t room = (size_t)-1;

	if (r->max_line != 0)
		room = r->max_line >= r->line_len + 2 ? r->max_line - 2 - r->line_len : 0;
	if (r->max_size != 0 && r->max_size - r->size < room)
		room = r->max_size - r->size;
	return room;
}

/* smtp_data_text - one byte inside a line (state TEXT). */
static void smtp_data_text(struct smtp_data_reader *r, unsigned char c,
			   char *out, size_t *o)
{
	if (c == '\r') {
		r->state = SMTP_DATA_S_CR;
		return;
	}
	if (c == '\n' || c == '\0') {
		smtp_data_fail(r, c == '\n' ? SMTP_DATA_BARE_LF : SMTP_DATA_NUL);
		return;
	}
	if (r->error != SMTP_DATA_OK)
		return;
	if (smtp_data_room(r) == 0) {
		/* RFC 5321 4.5.3.1.6: 1000 octets with CRLF, stuffing excluded */
		if (r->max_line != 0 && r->line_len + 3 > r->max_line)
			smtp_data_fail(r, SMTP_DATA_LINE_TOO_LONG);
		else
			smtp_data_fail(r, SMTP_DATA_TOO_BIG);
		return;
	}
	out[(*o)++] = (char)c;
	r->eightbit = r->eightbit || c >= 0x80;
	r->line_len++;
	r->size++;
}

/* smtp_data_eol - a CRLF ended the line: emit LF. */
static void smtp_data_eol(struct smtp_data_reader *r, char *out, size_t *o)
{
	size_t line_len = r->line_len;

	r->line_len = 0;
	r->state = SMTP_DATA_S_BOL;
	if (r->error != SMTP_DATA_OK)
		return;
	if (r->max_line != 0 && line_len + 2 > r->max_line) {
		smtp_data_fail(r, SMTP_DATA_LINE_TOO_LONG);
	} else if (r->max_size != 0 && r->size + 2 > r->max_size) {
		smtp_data_fail(r, SMTP_DATA_TOO_BIG);
	} else {
		out[(*o)++] = '\n';
		r->size += 2;
		r->lines++;
	}
}

/* smtp_data_bare_cr - the CR before c was not part of a CRLF. */
static void smtp_data_bare_cr(struct smtp_data_reader *r, unsigned char c,
			      char *out, size_t *o)
{
	smtp_data_fail(r, SMTP_DATA_BARE_CR);
	r->state = SMTP_DATA_S_TEXT;
	smtp_data_text(r, c, out, o);
}

/* smtp_data_byte - advance the state machine by one byte. */
static void smtp_data_byte(struct smtp_data_reader *r, unsigned char c,
			   char *out, size_t *o)
{
	switch (r->state) {
	case SMTP_DATA_S_BOL:
		r->state = c == '.' ? SMTP_DATA_S_DOT : SMTP_DATA_S_TEXT;
		if (c != '.')
			smtp_data_text(r, c, out, o);
		break;
	case SMTP_DATA_S_DOT: /* the first dot goes (RFC 5321 4.5.2) */
		r->state = SMTP_DATA_S_TEXT;
		if (c == '\r')
			r->state = SMTP_DATA_S_DOT_CR;
		else
			smtp_data_text(r, c, out, o);
		break;
	case SMTP_DATA_S_DOT_CR:
		if (c != '\n') {
			smtp_data_bare_cr(r, c, out, o);
			break;
		}
		r->state = SMTP_DATA_S_DONE;
		r->done = true;
		break;
	case SMTP_DATA_S_CR:
		if (c == '\n')
			smtp_data_eol(r, out, o);
		else
			smtp_data_bare_cr(r, c, out, o);
		break;
	default:
		smtp_data_text(r, c, out, o);
		break;
	}
}

/* smtp_data_8bit - whether in has a byte >= 0x80 (a word at a time: it sees every byte). */
static bool smtp_data_8bit(const char *in, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, in + i, 8);
		if (w & 0x8080808080808080ULL)
			return true;
	}
	for (; i < len; i++) {
		if ((unsigned char)in[i] >= 0x80)
			return true;
	}
	return false;
}

/*
 * smtp_data_run - in state TEXT, take the plain bytes at in (no CR, LF or
 * NUL) that fit the limits in one go; returns how many (maybe 0).
 */
static size_t smtp_data_run(struct smtp_data_reader *r, const char *in,
			    size_t len, char *out, size_t *o)
{
	const char *stop = memchr(in, '\r', len);
	size_t n = stop != NULL ? (size_t)(stop - in) : len, room;

	if (r->error != SMTP_DATA_OK)
		return n; /* only a CR can change the state now */
	if ((stop = memchr(in, '\n', n)) != NULL)
		n = stop - in;
	if ((stop = memchr(in, '\0', n)) != NULL)
		n = stop - in;
	if (n > (room = smtp_data_room(r)))
		n = room;
	memcpy(out + *o, in, n);
	*o += n;
	r->eightbit = r->eightbit || smtp_data_8bit(in, n);
	r->line_len += n;
	r->size += n;
	return n;
}

/* smtp_data_feed - consume message bytes up to the end of data. */
size_t smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len,
		      char *out, size_t *out_len_r)
{
	size_t i = 0, o = 0, n;

	while (i < len && !r->done) {
		if (r->state == SMTP_DATA_S_TEXT &&
		    (n = smtp_data_run(r, in + i, len - i, out, &o)) > 0) {
			i += n;
			continue;
		}
		smtp_data_byte(r, (unsigned char)in[i++], out, &o);
	}
	*out_len_r = o;
	return i;
}

/* smtp_data_error_reply - the SMTP reply for an error; NULL for OK. */
const char *smtp_data_error_reply(enum smtp_data_error error)
{
	switch (error) {
	case SMTP_DATA_OK:
		return NULL;
	case SMTP_DATA_BARE_LF:
	case SMTP_DATA_BARE_CR:
		return "554 5.6.0 Message contains bare LF or CR; lines must end "
		       "with CRLF (RFC 5321 2.3.8)";
	case SMTP_DATA_NUL:
		return "554 5.6.0 Message contains NUL bytes";
	case SMTP_DATA_LINE_TOO_LONG:
		return "500 5.5.2 Line too long (RFC 5321 limit is 1000 octets)";
	case SMTP_DATA_TOO_BIG:
		return "552 5.3.4 Message size exceeds fixed maximum message size";
	}
	return "451 4.3.0 Internal error reading message";
}

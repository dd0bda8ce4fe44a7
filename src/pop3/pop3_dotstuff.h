/*
 * pop3_dotstuff - turns a Maildir file (LF line ends) into the body of a
 * POP3 multi-line response (RFC 1939 section 3): LF becomes CRLF (a CRLF
 * already there stays), a line starting with '.' gets one more '.', and
 * the end is "CRLF.CRLF". Incremental: the file is fed in chunks, so a big
 * message is never held whole. For TOP it stops after the header, the
 * blank line and the requested number of body lines. Pure: no I/O.
 */
#ifndef POSTERN_POP3_DOTSTUFF_H
#define POSTERN_POP3_DOTSTUFF_H

#include <stdbool.h>
#include <stddef.h>

/* Output room pop3_dotstuff_feed needs for len input bytes. */
#define POP3_DOTSTUFF_ROOM(len) (2 * (len))
/* Output room pop3_dotstuff_end needs. */
#define POP3_DOTSTUFF_END_ROOM 5

struct pop3_dotstuff {
	bool line_start;          /* nothing of the current line sent yet */
	bool line_empty;          /* the current line has no text (a CR at most) */
	bool prev_cr;             /* the last byte sent was a CR */
	bool in_body;             /* past the blank line that ends the header */
	bool top;                 /* TOP: stop after body_lines body lines */
	bool done;                /* TOP's limit reached: feed takes no more */
	unsigned long body_lines; /* TOP: body lines still to send */
};

/* pop3_dotstuff_init - start a message; top with body_lines for TOP, false for RETR. */
void pop3_dotstuff_init(struct pop3_dotstuff *st, bool top, unsigned long body_lines);

/*
 * pop3_dotstuff_feed - convert up to len bytes of in into out (room for
 * POP3_DOTSTUFF_ROOM(len) bytes). Returns the bytes consumed: less than
 * len only when TOP's limit was reached (st->done). *out_len_r is set.
 */
size_t pop3_dotstuff_feed(struct pop3_dotstuff *st, const char *in, size_t len, char *out,
			  size_t *out_len_r);

/* pop3_dotstuff_end - the final CRLF (when the last line lacks one) and ".CRLF"; returns its length. */
size_t pop3_dotstuff_end(struct pop3_dotstuff *st, char *out);

#endif

/*
 * smtp_data - the DATA reader: an incremental byte state machine over the
 * message text (RFC 5321 4.1.1.4, 4.5.2). It ends only at CRLF "." CRLF,
 * undoes dot-stuffing, turns CRLF into LF for the Maildir, and flags bare
 * LF or CR (SMTP smuggling), NUL bytes, overlong lines and oversize
 * messages. After an error it keeps looking for the end and emits nothing
 * more, so the session can answer once the client has finished.
 */
#ifndef POSTERN_SMTP_DATA_H
#define POSTERN_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>

enum smtp_data_error {
	SMTP_DATA_OK = 0,
	SMTP_DATA_BARE_LF,
	SMTP_DATA_BARE_CR,
	SMTP_DATA_NUL,
	SMTP_DATA_LINE_TOO_LONG,
	SMTP_DATA_TOO_BIG,
};

struct smtp_data_reader {
	/* limits */
	size_t max_size; /* message octets (CRLF counted as 2), 0 = no limit */
	size_t max_line; /* text line octets including CRLF, 0 = no limit */
	/* state */
	int state;
	size_t line_len;
	/* results */
	size_t size;  /* message size as received: CRLF line ends, unstuffed */
	size_t lines; /* complete lines emitted */
	bool eightbit; /* a byte >= 0x80 was emitted (BODY=8BITMIME when relayed) */
	enum smtp_data_error error; /* first error seen */
	bool done;
};

/* smtp_data_init - start reading a message with these limits. */
void smtp_data_init(struct smtp_data_reader *r, size_t max_size, size_t max_line);

/*
 * smtp_data_feed - consume up to len bytes of in. Unstuffed message text
 * with LF line ends is written to out, which has room for len bytes;
 * *out_len_r gets its length. Returns the number of bytes consumed: fewer
 * than len only when the end of data was reached (r->done), so the rest is
 * the next command.
 */
size_t smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len,
		      char *out, size_t *out_len_r);

/* smtp_data_error_reply - the SMTP reply for an error ("554 5.6.0 ..."). */
const char *smtp_data_error_reply(enum smtp_data_error error);

#endif

/*
 * smtp_headers - a streaming scan of the header section of a message (LF
 * line ends, as the DATA reader emits it) that notes whether Date: and
 * Message-ID: are present and where the section ends, so that submission
 * can add the missing ones (RFC 6409 8.2, 8.3) without holding the message.
 */
#ifndef POSTERN_SMTP_HEADERS_H
#define POSTERN_SMTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_header_scan {
	bool done;          /* the blank line ending the headers was seen */
	bool mid_line;      /* inside a line */
	bool name_over;     /* the current line's name is complete (or not a name) */
	bool saw_date;
	bool saw_message_id;
	size_t name_len;
	char name[12];
};

/* smtp_headers_init - before the first byte of a message. */
void smtp_headers_init(struct smtp_header_scan *h);

/*
 * smtp_headers_feed - scan len bytes; returns the offset of the blank line
 * that ends the header section when it is in buf (h->done is then set),
 * else len.
 */
size_t smtp_headers_feed(struct smtp_header_scan *h, const char *buf, size_t len);

#endif

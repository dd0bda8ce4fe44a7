/*
 * smtp_headers - a streaming scan of the header section of a message (LF
 * line ends, as the DATA reader emits it) that notes whether Date: and
 * Message-ID: are present and where the section ends, so that submission
 * can add the missing ones (RFC 6409 8.2, 8.3) without holding the message,
 * and keeps the From: field (unfolded, bounded) so that an authenticated
 * session can be held to the addresses it owns. smtp_headers_from_addresses
 * takes the addresses out of that field (RFC 5322 3.4).
 */
#ifndef POSTERN_SMTP_HEADERS_H
#define POSTERN_SMTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_HEADER_FROM_MAX 2048 /* bytes of the From: field kept */
#define SMTP_FROM_ADDR_MAX 512    /* one address taken out of it */

struct smtp_header_scan {
	bool done;          /* the blank line ending the headers was seen */
	bool mid_line;      /* inside a line */
	bool name_over;     /* the current line's name is complete (or not a name) */
	bool saw_date;
	bool saw_message_id;
	size_t name_len;
	char name[12];
	bool in_from;       /* inside the From: field (its first line or a folded one) */
	bool from_long;     /* the field was longer than SMTP_HEADER_FROM_MAX */
	unsigned n_from;    /* From: fields seen (RFC 5322 3.6: exactly one) */
	size_t from_len;
	char from[SMTP_HEADER_FROM_MAX]; /* the field's value, folds turned into blanks */
};

/* smtp_headers_init - before the first byte of a message. */
void smtp_headers_init(struct smtp_header_scan *h);

/*
 * smtp_headers_feed - scan len bytes; returns the offset of the blank line
 * that ends the header section when it is in buf (h->done is then set),
 * else len.
 */
size_t smtp_headers_feed(struct smtp_header_scan *h, const char *buf, size_t len);

/*
 * smtp_headers_from_addresses - the addr-specs of a From: value (len
 * bytes): "Name <a@b>", "a@b (comment)", "a@b, c@d", quoted names with any
 * character. Pure. Returns how many (at most max, each NUL terminated in
 * out), or -1 when the value is malformed (unbalanced quotes, comments or
 * angle brackets), has more than max addresses or one longer than
 * SMTP_FROM_ADDR_MAX.
 */
int smtp_headers_from_addresses(const char *value, size_t len, char (*out)[SMTP_FROM_ADDR_MAX],
				size_t max);

#endif

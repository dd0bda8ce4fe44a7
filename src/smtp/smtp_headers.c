/* smtp_headers - find Date:, Message-ID: and the end of the header section. */
#include "smtp/smtp_headers.h"

#include <string.h>
#include <strings.h>

void smtp_headers_init(struct smtp_header_scan *h)
{
	memset(h, 0, sizeof(*h));
}

/* smtp_headers_name - a header name is complete: is it one we look for? */
static void smtp_headers_name(struct smtp_header_scan *h)
{
	if (h->name_len == 4 && strncasecmp(h->name, "date", 4) == 0)
		h->saw_date = true;
	else if (h->name_len == 10 && strncasecmp(h->name, "message-id", 10) == 0)
		h->saw_message_id = true;
	h->name_over = true;
}

/* smtp_headers_byte - one byte inside a line. */
static void smtp_headers_byte(struct smtp_header_scan *h, char c)
{
	if (h->name_over)
		return;
	if (c == ':')
		smtp_headers_name(h);
	else if (h->name_len < sizeof(h->name) && c != ' ' && c != '\t')
		h->name[h->name_len++] = c;
	else if (c != ' ' && c != '\t')
		h->name_over = true; /* longer than any name we look for */
}

size_t smtp_headers_feed(struct smtp_header_scan *h, const char *buf, size_t len)
{
	for (size_t i = 0; i < len && !h->done; i++) {
		if (buf[i] == '\n' && !h->mid_line) {
			h->done = true;
			return i;
		}
		if (buf[i] == '\n') {
			h->mid_line = false;
			continue;
		}
		if (!h->mid_line) {
			h->mid_line = true;
			h->name_len = 0;
			h->name_over = buf[i] == ' ' || buf[i] == '\t'; /* a folded line */
		}
		smtp_headers_byte(h, buf[i]);
	}
	return len;
}

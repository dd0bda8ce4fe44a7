/* smtp_headers - find Date:, Message-ID:, From: and the end of the header section. */
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
	else if (h->name_len == 4 && strncasecmp(h->name, "from", 4) == 0)
		h->in_from = ++h->n_from == 1;
	h->name_over = true;
}

/* smtp_headers_from_byte - one byte of the (first) From: field's value. */
static void smtp_headers_from_byte(struct smtp_header_scan *h, char c)
{
	if (h->from_len < sizeof(h->from))
		h->from[h->from_len++] = c;
	else
		h->from_long = true;
}

/* smtp_headers_byte - one byte inside a line. */
static void smtp_headers_byte(struct smtp_header_scan *h, char c)
{
	if (h->name_over) {
		if (h->in_from)
			smtp_headers_from_byte(h, c);
		return;
	}
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
			h->in_from = h->in_from && h->name_over;
		}
		smtp_headers_byte(h, buf[i]);
	}
	return len;
}

/* The state of smtp_headers_from_addresses: the mailbox being read. */
struct smtp_from_parse {
	char (*out)[SMTP_FROM_ADDR_MAX];
	size_t max, n;
	char bare[SMTP_FROM_ADDR_MAX];  /* text outside <>, quotes kept, blanks dropped */
	char angle[SMTP_FROM_ADDR_MAX]; /* inside <> */
	size_t bare_len, angle_len;
	bool in_angle, had_angle, quoted, escaped, bad;
	bool bare_at; /* an '@' outside quotes and <> in the current mailbox */
	unsigned comment; /* nesting depth of ( ) */
};

/* smtp_from_put - one character into the part being read. */
static void smtp_from_put(struct smtp_from_parse *p, char c)
{
	char *buf = p->in_angle ? p->angle : p->bare;
	size_t *len = p->in_angle ? &p->angle_len : &p->bare_len;

	if (*len + 1 >= SMTP_FROM_ADDR_MAX || ((unsigned char)c < 0x20 && c != '\t') || c == 0x7f)
		p->bad = true; /* too long, or a control character (a NUL among them) */
	else
		buf[(*len)++] = c;
}

/* smtp_from_end - a mailbox ends (',' or the end): keep its address, if any. */
static void smtp_from_end(struct smtp_from_parse *p)
{
	const char *addr = p->had_angle ? p->angle : p->bare;
	size_t len = p->had_angle ? p->angle_len : p->bare_len;

	if (p->in_angle)
		p->bad = true;
	else if (len > 0 && p->n >= p->max)
		p->bad = true;
	else if (len > 0) {
		memcpy(p->out[p->n], addr, len);
		p->out[p->n++][len] = '\0';
	}
	p->bare_len = p->angle_len = 0;
	p->had_angle = p->bare_at = false;
}

/* smtp_from_quoted - a character inside a quoted string or a comment; true when it was one. */
static bool smtp_from_quoted(struct smtp_from_parse *p, char c)
{
	if (p->escaped) {
		p->escaped = false;
		if (p->quoted)
			smtp_from_put(p, c);
		return true;
	}
	if (p->quoted) {
		p->escaped = c == '\\';
		p->quoted = c != '"';
		smtp_from_put(p, c);
		return true;
	}
	if (p->comment > 0) {
		p->escaped = c == '\\';
		p->comment += c == '(' ? 1 : c == ')' ? -1 : 0;
		return true;
	}
	return false;
}

/* smtp_from_has - whether the text outside <> read so far (quotes included) holds c. */
static bool smtp_from_has(const struct smtp_from_parse *p, char c)
{
	return memchr(p->bare, c, p->bare_len) != NULL;
}

/*
 * smtp_from_colon - a source route's end inside <> ("<@relay:a@b>"), or a
 * group's name outside; anything else that a colon could hide an address
 * behind ("<bob@x:alice@y>", "bob@x: alice@y;") makes the field bad.
 */
static void smtp_from_colon(struct smtp_from_parse *p)
{
	if (p->in_angle) {
		p->bad |= p->angle_len == 0 || p->angle[0] != '@';
		p->angle_len = 0;
	} else {
		p->bad |= p->had_angle || p->bare_at || smtp_from_has(p, '"');
		p->bare_len = 0;
	}
}

/*
 * smtp_from_char - one character of the value outside quotes and comments.
 * It fails closed: a display name with '@' outside quotes, or text after
 * the <address>, makes the field bad rather than guess which one counts.
 */
static void smtp_from_char(struct smtp_from_parse *p, char c)
{
	bool after_angle = p->had_angle && !p->in_angle;

	switch (c) {
	case '(': p->comment++; break;
	case '<':
		p->bad |= p->had_angle || p->bare_at;
		p->in_angle = p->had_angle = true;
		break;
	case '>': p->bad |= !p->in_angle; p->in_angle = false; break;
	case ',': case ';': if (!p->in_angle) smtp_from_end(p); break;
	case ':': smtp_from_colon(p); break;
	case ' ': case '\t': case '\r': case '\n': break;
	case '"':
		p->quoted = true;
		/* fall through */
	default:
		p->bad |= after_angle;
		p->bare_at |= c == '@' && !p->in_angle;
		smtp_from_put(p, c);
	}
}

int smtp_headers_from_addresses(const char *value, size_t len, char (*out)[SMTP_FROM_ADDR_MAX],
				size_t max)
{
	struct smtp_from_parse p = { .out = out, .max = max };

	for (size_t i = 0; i < len && !p.bad; i++) {
		if (!smtp_from_quoted(&p, value[i]))
			smtp_from_char(&p, value[i]);
	}
	if (p.quoted || p.comment > 0 || p.escaped)
		p.bad = true;
	if (!p.bad)
		smtp_from_end(&p);
	return p.bad ? -1 : (int)p.n;
}

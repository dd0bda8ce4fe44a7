/* smtpc_proto - reply parser, EHLO capabilities, dot-stuffing. */
#include "delivery/smtpc_proto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void smtpc_reply_init(struct smtpc_reply *r)
{
	memset(r, 0, sizeof(*r));
}

/* smtpc_digits - count of leading decimal digits in s[0..len), at most max+1. */
static size_t smtpc_digits(const char *s, size_t len, size_t max)
{
	size_t n = 0;

	while (n < len && n <= max && s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

bool smtpc_status_valid(const char *s, size_t len, char cls)
{
	size_t n;

	if (len < 5 || s[0] != cls || s[1] != '.')
		return false;
	s += 2;
	len -= 2;
	n = smtpc_digits(s, len, 3);
	if (n < 1 || n > 3 || n >= len || s[n] != '.')
		return false;
	s += n + 1;
	len -= n + 1;
	n = smtpc_digits(s, len, 3);
	return n >= 1 && n <= 3 && n == len;
}

/* smtpc_reply_status - take the enhanced status code that starts the first line's text. */
static void smtpc_reply_status(struct smtpc_reply *r, const char *text, size_t len)
{
	const char *sp = memchr(text, ' ', len);
	size_t n = sp != NULL ? (size_t)(sp - text) : len;

	if (n < sizeof(r->status) && smtpc_status_valid(text, n, (char)('0' + r->code / 100))) {
		memcpy(r->status, text, n);
		r->status[n] = '\0';
	}
}

/* smtpc_reply_append - add a line's text, printable ASCII only, truncated. */
static void smtpc_reply_append(struct smtpc_reply *r, const char *text, size_t len)
{
	if (r->lines > 0 && r->text_len + 1 < sizeof(r->text))
		r->text[r->text_len++] = '\n';
	for (size_t i = 0; i < len && r->text_len + 1 < sizeof(r->text); i++) {
		unsigned char c = (unsigned char)text[i];
		r->text[r->text_len++] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
	}
	r->text[r->text_len] = '\0';
}

/* smtpc_reply_code - the 3-digit code of a line (RFC 5321 4.2: 2yz..5yz); -1 if none. */
static int smtpc_reply_code(const char *line, size_t len)
{
	if (len < 3 || smtpc_digits(line, len, 3) < 3 || line[0] < '2' || line[0] > '5' ||
	    line[1] > '5')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

int smtpc_reply_feed(struct smtpc_reply *r, const char *line, size_t len, const char **error_r)
{
	int code = smtpc_reply_code(line, len);

	if (r->done)
		smtpc_reply_init(r);
	if (code < 0) {
		*error_r = "malformed reply line";
		return -1;
	}
	if (r->lines > 0 && code != r->code) {
		*error_r = "reply code changed inside a multi-line reply";
		return -1;
	}
	if (r->lines >= SMTPC_REPLY_LINES_MAX) {
		*error_r = "too many lines in one reply";
		return -1;
	}
	r->code = code;
	const char *text = len > 4 ? line + 4 : "";
	size_t tlen = len > 4 ? len - 4 : 0;
	if (r->lines == 0)
		smtpc_reply_status(r, text, tlen);
	smtpc_reply_append(r, text, tlen);
	r->lines++;
	r->done = len == 3 || line[3] == ' ';
	return r->done ? 1 : 0;
}

/* smtpc_word_is - whether the word s[0..n) is kw, in any case. */
static bool smtpc_word_is(const char *s, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(s, kw, n) == 0;
}

/* smtpc_caps_auth - the mechanisms after "AUTH " (or the old "AUTH="). */
static void smtpc_caps_auth(const char *s, size_t len, struct smtpc_caps *caps)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && s[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (smtpc_word_is(s + start, i - start, "PLAIN"))
			caps->auth_plain = true;
		else if (smtpc_word_is(s + start, i - start, "LOGIN"))
			caps->auth_login = true;
	}
}

/* smtpc_caps_size - "SIZE [max]". */
static void smtpc_caps_size(const char *s, size_t len, struct smtpc_caps *caps)
{
	unsigned long long v = 0;
	size_t i = 0;

	caps->size_set = true;
	while (i < len && s[i] == ' ')
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9' && v < 1000000000000ULL; i++)
		v = v * 10 + (unsigned long long)(s[i] - '0');
	caps->size_max = v;
}

/* smtpc_caps_line - one capability line: keyword, then parameters. */
static void smtpc_caps_line(const char *s, size_t len, struct smtpc_caps *caps)
{
	size_t kw = 0;

	while (kw < len && s[kw] != ' ' && s[kw] != '=')
		kw++;
	if (smtpc_word_is(s, kw, "PIPELINING"))
		caps->pipelining = true;
	else if (smtpc_word_is(s, kw, "8BITMIME"))
		caps->eightbitmime = true;
	else if (smtpc_word_is(s, kw, "SMTPUTF8"))
		caps->smtputf8 = true;
	else if (smtpc_word_is(s, kw, "STARTTLS"))
		caps->starttls = true;
	else if (smtpc_word_is(s, kw, "ENHANCEDSTATUSCODES"))
		caps->enhanced = true;
	else if (smtpc_word_is(s, kw, "SIZE"))
		smtpc_caps_size(s + kw, len - kw, caps);
	else if (smtpc_word_is(s, kw, "AUTH") && kw < len)
		smtpc_caps_auth(s + kw + 1, len - kw - 1, caps);
}

void smtpc_caps_parse(const char *text, size_t len, struct smtpc_caps *caps_r)
{
	const char *nl = memchr(text, '\n', len);

	memset(caps_r, 0, sizeof(*caps_r));
	while (nl != NULL) {
		size_t off = (size_t)(nl - text) + 1;
		text += off;
		len -= off;
		nl = memchr(text, '\n', len);
		smtpc_caps_line(text, nl != NULL ? (size_t)(nl - text) : len, caps_r);
	}
}

/* smtpc_ascii - no byte of s is above 127. */
static bool smtpc_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s > 127)
			return false;
	}
	return true;
}

bool smtpc_envelope_utf8(const char *from, char *const *rcpts, size_t n_rcpts)
{
	if (!smtpc_ascii(from))
		return true;
	for (size_t i = 0; i < n_rcpts; i++) {
		if (!smtpc_ascii(rcpts[i]))
			return true;
	}
	return false;
}

size_t smtpc_stuff(struct smtpc_stuffer *st, const char *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '\r')
			continue;
		if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			st->midline = false;
			continue;
		}
		if (c == '.' && !st->midline)
			out[o++] = '.';
		out[o++] = c;
		st->midline = true;
	}
	return o;
}

size_t smtpc_stuff_end(struct smtpc_stuffer *st, char *out)
{
	size_t o = 0;

	if (st->midline) {
		memcpy(out, "\r\n", 2);
		o = 2;
		st->midline = false;
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

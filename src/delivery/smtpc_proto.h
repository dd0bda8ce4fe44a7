/*
 * smtpc_proto - the pure parts of the outbound SMTP client: the reply
 * parser (multi-line replies, RFC 5321 4.2; enhanced status codes, RFC
 * 3463), the EHLO capability parser and the dot-stuffer that turns our LF
 * message text into the CRLF wire form (RFC 5321 4.5.2). No sockets, no
 * globals, no allocation: unit tests and a fuzzer call them directly.
 */
#ifndef POSTERN_SMTPC_PROTO_H
#define POSTERN_SMTPC_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#define SMTPC_REPLY_TEXT_MAX 1024 /* kept of a reply's text; the rest is dropped */
#define SMTPC_REPLY_LINES_MAX 100 /* more lines in one reply is an error */
#define SMTPC_LINE_MAX 2048       /* longest reply line read (RFC: 512) */

/* One reply, built line by line. */
struct smtpc_reply {
	int code;          /* 200..599 */
	char status[16];   /* enhanced status code of the first line ("5.1.1"), or "" */
	char text[SMTPC_REPLY_TEXT_MAX]; /* the lines' texts joined with '\n', printable ASCII */
	size_t text_len;
	unsigned lines;
	bool done;
};

/* smtpc_reply_init - start a new reply. */
void smtpc_reply_init(struct smtpc_reply *r);

/*
 * smtpc_reply_feed - one reply line without its CRLF. Returns 1 when it was
 * the last line of the reply (r->done), 0 when more lines follow, -1 with
 * *error_r (static) on a malformed line (no code, code changed mid-reply,
 * too many lines).
 */
int smtpc_reply_feed(struct smtpc_reply *r, const char *line, size_t len, const char **error_r);

/* What a server offers in its EHLO reply. */
struct smtpc_caps {
	bool pipelining;   /* RFC 2920 */
	bool eightbitmime; /* RFC 6152 */
	bool smtputf8;     /* RFC 6531 */
	bool starttls;     /* RFC 3207 */
	bool enhanced;     /* RFC 2034 */
	bool auth_plain;   /* RFC 4954 / 4616 */
	bool auth_login;
	bool size_set;     /* RFC 1870 */
	unsigned long long size_max; /* 0: no limit announced */
};

/* smtpc_caps_parse - read the EHLO reply text (lines joined by '\n'; the first is the greeting). */
void smtpc_caps_parse(const char *text, size_t len, struct smtpc_caps *caps_r);

/*
 * smtpc_envelope_utf8 - whether the sender or a recipient has a non-ASCII
 * byte: such a transaction needs SMTPUTF8 (RFC 6531 3.4), and cannot go to
 * a server that does not offer it.
 */
bool smtpc_envelope_utf8(const char *from, char *const *rcpts, size_t n_rcpts);

/* The dot-stuffer's state between chunks. */
struct smtpc_stuffer {
	bool midline; /* the last byte written was not the end of a line */
};

/*
 * smtpc_stuff - convert len bytes of LF text into out (room for 2 * len
 * bytes): LF becomes CRLF, a '.' that starts a line is doubled, CR bytes
 * are dropped (stored text has none; a bare CR must never reach the wire).
 * Returns the bytes written.
 */
size_t smtpc_stuff(struct smtpc_stuffer *st, const char *in, size_t len, char *out);

/* smtpc_stuff_end - the end of data: CRLF if a line is open, then ".\r\n" (out: 5 bytes). */
size_t smtpc_stuff_end(struct smtpc_stuffer *st, char *out);

/* smtpc_status_valid - whether s (len bytes) is an enhanced status code "c.s.d" of class cls. */
bool smtpc_status_valid(const char *s, size_t len, char cls);

#endif

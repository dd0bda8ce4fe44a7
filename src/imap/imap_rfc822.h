/*
 * imap_rfc822 - the RFC 5322 / RFC 2045 lexical layer under the MIME,
 * ENVELOPE and BODYSTRUCTURE code: comments and folding white space,
 * atoms, dot-atoms, MIME tokens, quoted strings, phrases, domains, and a
 * small growable string to collect what they read. Pure functions over a
 * byte range; the only allocation is the string the caller owns.
 *
 * Like Dovecot's rfc822-parser, each reader skips the white space and
 * comments after what it read and returns 1 when input remains, 0 at the
 * end, -1 on a syntax error (the cursor then stays where it stopped).
 */
#ifndef POSTERN_IMAP_RFC822_H
#define POSTERN_IMAP_RFC822_H

#include <stdbool.h>
#include <stddef.h>

/* A growable byte string, always NUL-terminated once anything was added. */
struct imap_rfc822_str {
	char *s;
	size_t len, cap;
};

/* The cursor of one parse. */
struct imap_rfc822 {
	const unsigned char *p, *end;
	struct imap_rfc822_str *comment; /* when set: the last comment read */
};

/* U+FFFD, put where a NUL byte was (as Dovecot does). */
#define IMAP_RFC822_NUL_REPLACEMENT "\xef\xbf\xbd"

void imap_rfc822_str_add(struct imap_rfc822_str *s, const void *p, size_t n);
void imap_rfc822_str_addc(struct imap_rfc822_str *s, char c);
void imap_rfc822_str_trunc(struct imap_rfc822_str *s, size_t len);
const char *imap_rfc822_str_c(struct imap_rfc822_str *s);
void imap_rfc822_str_free(struct imap_rfc822_str *s);

void imap_rfc822_init(struct imap_rfc822 *r, const char *p, size_t len);
bool imap_rfc822_is_atext(unsigned char c);
bool imap_rfc822_is_token(unsigned char c);
int imap_rfc822_skip_lwsp(struct imap_rfc822 *r);
int imap_rfc822_atom(struct imap_rfc822 *r, struct imap_rfc822_str *out);
int imap_rfc822_dot_atom(struct imap_rfc822 *r, struct imap_rfc822_str *out);
int imap_rfc822_token(struct imap_rfc822 *r, struct imap_rfc822_str *out);
int imap_rfc822_quoted(struct imap_rfc822 *r, struct imap_rfc822_str *out);
int imap_rfc822_phrase(struct imap_rfc822 *r, struct imap_rfc822_str *out);
int imap_rfc822_domain(struct imap_rfc822 *r, struct imap_rfc822_str *out);

#endif

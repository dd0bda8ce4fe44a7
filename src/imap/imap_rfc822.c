/* imap_rfc822 - RFC 5322 / RFC 2045 lexical readers (see imap_rfc822.h). */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_rfc822.h"
#include "util/xalloc.h"

/* imap_rfc822_str_add - append n bytes, keeping a NUL after them. */
void imap_rfc822_str_add(struct imap_rfc822_str *s, const void *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap < 32 ? 32 : s->cap;
		while (cap < s->len + n + 1)
			cap *= 2;
		s->s = xrealloc(s->s, cap);
		s->cap = cap;
	}
	if (n > 0)
		memcpy(s->s + s->len, p, n);
	s->len += n;
	s->s[s->len] = '\0';
}

/* imap_rfc822_str_addc - append one byte. */
void imap_rfc822_str_addc(struct imap_rfc822_str *s, char c)
{
	imap_rfc822_str_add(s, &c, 1);
}

/* imap_rfc822_str_trunc - cut the string back to len bytes. */
void imap_rfc822_str_trunc(struct imap_rfc822_str *s, size_t len)
{
	if (len < s->len) {
		s->len = len;
		s->s[len] = '\0';
	}
}

/* imap_rfc822_str_c - the string as a C string ("" when empty). */
const char *imap_rfc822_str_c(struct imap_rfc822_str *s)
{
	return s->s != NULL ? s->s : "";
}

/* imap_rfc822_str_free - release the string's storage. */
void imap_rfc822_str_free(struct imap_rfc822_str *s)
{
	free(s->s);
	memset(s, 0, sizeof(*s));
}

/* imap_rfc822_init - a cursor over len bytes at p. */
void imap_rfc822_init(struct imap_rfc822 *r, const char *p, size_t len)
{
	r->p = (const unsigned char *)p;
	r->end = r->p + len;
	r->comment = NULL;
}

/* imap_rfc822_is_atext - RFC 5322 atext; 8-bit bytes count as atext. */
bool imap_rfc822_is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if (c <= ' ' || c == 0x7f)
		return false;
	return strchr("()<>[]:;@\\,.\"", c) == NULL;
}

/* imap_rfc822_is_token - a MIME token byte (RFC 2045), '.' included. */
bool imap_rfc822_is_token(unsigned char c)
{
	if (c == '.')
		return true;
	return imap_rfc822_is_atext(c) && c != '/' && c != '?' && c != '=';
}

/* imap_rfc822_text_byte - append one byte of quoted text or comment: NUL
 * becomes U+FFFD, a (CR)LF of folding is dropped. */
static void imap_rfc822_text_byte(struct imap_rfc822 *r, struct imap_rfc822_str *out)
{
	unsigned char c = *r->p;

	if (out == NULL)
		return;
	if (c == '\0')
		imap_rfc822_str_add(out, IMAP_RFC822_NUL_REPLACEMENT, 3);
	else if (c == '\r' && r->p + 1 < r->end && r->p[1] == '\n')
		return;
	else if (c != '\n')
		imap_rfc822_str_addc(out, (char)c);
}

/* imap_rfc822_text_escape - a backslash in quoted text or a comment: keep
 * the next byte and drop the backslash (unless CR, LF or NUL follows). */
static int imap_rfc822_text_escape(struct imap_rfc822 *r, struct imap_rfc822_str *out)
{
	if (r->p + 1 >= r->end)
		return -1;
	unsigned char n = r->p[1];
	if (n == '\r' || n == '\n' || n == '\0') {
		if (out != NULL)
			imap_rfc822_str_addc(out, '\\');
		r->p++;
		return 0;
	}
	r->p++;
	if (out != NULL)
		imap_rfc822_str_addc(out, (char)n);
	r->p++;
	return 0;
}

/* imap_rfc822_comment - skip one (nested) comment, keeping its text in
 * r->comment when set; -1 when it is not closed. */
static int imap_rfc822_comment(struct imap_rfc822 *r)
{
	int level = 1;

	if (r->comment != NULL)
		imap_rfc822_str_trunc(r->comment, 0);
	r->p++;
	while (r->p < r->end) {
		if (*r->p == '\\') {
			if (imap_rfc822_text_escape(r, r->comment) < 0)
				return -1;
			continue;
		}
		if (*r->p == '(')
			level++;
		else if (*r->p == ')' && --level == 0) {
			r->p++;
			return r->p < r->end ? 1 : 0;
		}
		imap_rfc822_text_byte(r, r->comment);
		r->p++;
	}
	return -1;
}

/* imap_rfc822_skip_lwsp - skip white space, line ends and comments. */
int imap_rfc822_skip_lwsp(struct imap_rfc822 *r)
{
	while (r->p < r->end) {
		unsigned char c = *r->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			r->p++;
			continue;
		}
		if (c != '(')
			break;
		if (imap_rfc822_comment(r) < 0)
			return -1;
	}
	return r->p < r->end ? 1 : 0;
}

/* imap_rfc822_atom - one atom (at least one atext byte). */
int imap_rfc822_atom(struct imap_rfc822 *r, struct imap_rfc822_str *out)
{
	const unsigned char *start = r->p;

	if (r->p >= r->end || !imap_rfc822_is_atext(*r->p))
		return -1;
	while (r->p < r->end && imap_rfc822_is_atext(*r->p))
		r->p++;
	imap_rfc822_str_add(out, start, (size_t)(r->p - start));
	return imap_rfc822_skip_lwsp(r);
}

/* imap_rfc822_dot_atom - atoms joined by '.', white space allowed around
 * the dots (RFC 822 compatibility). */
int imap_rfc822_dot_atom(struct imap_rfc822 *r, struct imap_rfc822_str *out)
{
	int ret;

	for (;;) {
		if ((ret = imap_rfc822_atom(r, out)) <= 0)
			return ret;
		if (*r->p != '.')
			return 1;
		r->p++;
		imap_rfc822_str_addc(out, '.');
		if (imap_rfc822_skip_lwsp(r) <= 0)
			return -1;
	}
}

/* imap_rfc822_token - a MIME token, possibly empty. */
int imap_rfc822_token(struct imap_rfc822 *r, struct imap_rfc822_str *out)
{
	const unsigned char *start = r->p;

	while (r->p < r->end && imap_rfc822_is_token(*r->p))
		r->p++;
	imap_rfc822_str_add(out, start, (size_t)(r->p - start));
	return imap_rfc822_skip_lwsp(r);
}

/* imap_rfc822_quoted - a quoted string at '"', unescaped and unfolded. */
int imap_rfc822_quoted(struct imap_rfc822 *r, struct imap_rfc822_str *out)
{
	imap_rfc822_str_add(out, "", 0);
	r->p++;
	while (r->p < r->end) {
		if (*r->p == '"') {
			r->p++;
			return imap_rfc822_skip_lwsp(r);
		}
		if (*r->p == '\\') {
			if (imap_rfc822_text_escape(r, out) < 0)
				return -1;
			continue;
		}
		imap_rfc822_text_byte(r, out);
		r->p++;
	}
	return -1;
}

/* imap_rfc822_atom_or_dot - a run of atext and dots, possibly empty. */
static int imap_rfc822_atom_or_dot(struct imap_rfc822 *r, struct imap_rfc822_str *out)
{
	const unsigned char *start = r->p;

	while (r->p < r->end && (imap_rfc822_is_atext(*r->p) || *r->p == '.'))
		r->p++;
	imap_rfc822_str_add(out, start, (size_t)(r->p - start));
	return imap_rfc822_skip_lwsp(r);
}

/* imap_rfc822_phrase - words (atoms, quoted strings, obsolete dots)
 * joined by one space. */
int imap_rfc822_phrase(struct imap_rfc822 *r, struct imap_rfc822_str *out)
{
	int ret;

	if (r->p >= r->end)
		return 0;
	if (*r->p == '.')
		return -1;
	for (;;) {
		if (*r->p == '"')
			ret = imap_rfc822_quoted(r, out);
		else
			ret = imap_rfc822_atom_or_dot(r, out);
		if (ret <= 0)
			return ret;
		if (!imap_rfc822_is_atext(*r->p) && *r->p != '"' && *r->p != '.')
			break;
		imap_rfc822_str_addc(out, ' ');
	}
	return imap_rfc822_skip_lwsp(r);
}

/* imap_rfc822_domain_literal - "[...]" kept with its brackets. */
static int imap_rfc822_domain_literal(struct imap_rfc822 *r, struct imap_rfc822_str *out)
{
	imap_rfc822_str_addc(out, '[');
	r->p++;
	while (r->p < r->end) {
		unsigned char c = *r->p;
		if (c == '[')
			return -1;
		if (c == ']') {
			imap_rfc822_str_addc(out, ']');
			r->p++;
			return imap_rfc822_skip_lwsp(r);
		}
		if (c == '\\' && r->p + 1 < r->end && r->p[1] != '\r' && r->p[1] != '\n') {
			imap_rfc822_str_add(out, r->p, 2);
			r->p += 2;
			continue;
		}
		imap_rfc822_text_byte(r, out);
		r->p++;
	}
	return -1;
}

/* imap_rfc822_domain - the domain after '@': a dot-atom or a literal. */
int imap_rfc822_domain(struct imap_rfc822 *r, struct imap_rfc822_str *out)
{
	r->p++;
	if (imap_rfc822_skip_lwsp(r) <= 0)
		return -1;
	if (*r->p == '[')
		return imap_rfc822_domain_literal(r, out);
	return imap_rfc822_dot_atom(r, out);
}

/* authres - writing and recognising the Authentication-Results header field (RFC 8601). */
#include "dmarc/authres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc/dmarc.h"
#include "dmarc/dmarc_idna.h"
#include "util/xalloc.h"

#define AUTHRES_FOLD_COLUMN 78
#define AUTHRES_OUT_MAX (3 * AUTHRES_VALUE_MAX + 8) /* a quoted, escaped local part, "@", a domain token, NUL */

/* How a value is written. */
enum authres_kind { AUTHRES_PLAIN, AUTHRES_DOMAIN, AUTHRES_ADDRESS };

/* The field being written, and the column the current line has reached. */
struct authres_buf {
	char *s;
	size_t len, cap, col;
};

/* authres_add - append n bytes; the column restarts after a newline. */
static void authres_add(struct authres_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	for (size_t i = 0; i < n; i++)
		b->col = s[i] == '\n' ? 0 : b->col + (s[i] == '\t' ? 8 : 1);
}

/* authres_adds - append a C string. */
static void authres_adds(struct authres_buf *b, const char *s)
{
	authres_add(b, s, strlen(s));
}

/* authres_item - a space, or a fold when the line would pass the column, then the item. */
static void authres_item(struct authres_buf *b, const char *item)
{
	size_t n = strlen(item);

	authres_adds(b, b->col + 1 + n > AUTHRES_FOLD_COLUMN ? "\n\t" : " ");
	authres_add(b, item, n);
}

/* authres_is_token_char - RFC 2045 token: US-ASCII printable, not SPACE or a tspecial. */
static bool authres_is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* authres_is_atext - RFC 5322 atext. */
static bool authres_is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* authres_is_token - is s[0..n) a non-empty token? */
static bool authres_is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!authres_is_token_char((unsigned char)s[i]))
			return false;
	return true;
}

/* authres_is_dot_atom - RFC 5322 dot-atom-text: atext runs joined by single dots. */
static bool authres_is_dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.' ? s[i + 1] == '.' : !authres_is_atext((unsigned char)s[i]))
			return false;
	return true;
}

/* authres_is_quoted - is s[0..n) one RFC 5322 quoted-string of printable ASCII ('"' and '\\' escaped)? */
static bool authres_is_quoted(const char *s, size_t n)
{
	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			if (i + 2 >= n)
				return false; /* the closing quote escaped */
			c = (unsigned char)s[++i];
		} else if (c == '"')
			return false;
		if (c < 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

/* authres_quote - s[0..n) as a quoted-string at out: '"' and '\' escaped, bytes not printable ASCII '?'. */
static size_t authres_quote(const char *s, size_t n, char *out)
{
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			out[o++] = '\\';
		out[o++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

/* authres_plain - s[0..n) bare when a token of at most AUTHRES_VALUE_MAX bytes, else quoted (and cut). */
static void authres_plain(const char *s, size_t n, char out[AUTHRES_OUT_MAX])
{
	if (n <= AUTHRES_VALUE_MAX && authres_is_token(s, n)) {
		memcpy(out, s, n);
		out[n] = '\0';
	} else
		authres_quote(s, n < AUTHRES_VALUE_MAX ? n : AUTHRES_VALUE_MAX, out);
}

/* authres_domain - a domain: a UTF-8 one as its A-labels (ASCII everywhere), then as authres_plain. */
static void authres_domain(const char *s, size_t n, char out[AUTHRES_OUT_MAX])
{
	char alabel[256];

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80) {
			if (n <= DMARC_DOMAIN_MAX && memchr(s, '\0', n) == NULL && dmarc_idna_to_ascii(s, n, alabel) == 0) {
				s = alabel;
				n = strlen(alabel);
			}
			break;
		}
	authres_plain(s, n, out);
}

/*
 * authres_address - an address as pvalue = [local-part "@"] domain-name
 * (RFC 8601 2.2): the domain as authres_domain; the local part bare when a
 * dot-atom or already a quoted-string, else quoted. Not of that shape: as
 * authres_plain.
 */
static void authres_address(const char *s, size_t n, char out[AUTHRES_OUT_MAX])
{
	const char *at = memrchr(s, '@', n);
	char domain[AUTHRES_OUT_MAX];
	size_t local = at != NULL ? (size_t)(at - s) : 0, o;

	if (at != NULL && local > 0 && local <= AUTHRES_VALUE_MAX)
		authres_domain(at + 1, n - local - 1, domain);
	if (at == NULL || local == 0 || local > AUTHRES_VALUE_MAX || domain[0] == '"') {
		authres_plain(s, n, out);
		return;
	}
	if (authres_is_dot_atom(s, local) || authres_is_quoted(s, local)) {
		memcpy(out, s, local);
		o = local;
	} else
		o = authres_quote(s, local, out);
	out[o++] = '@';
	strcpy(out + o, domain);
}

/* authres_prop - " ptype.property=value", the value written as kind says; nothing when value is NULL. */
static void authres_prop(struct authres_buf *b, const char *name, const char *value, enum authres_kind kind)
{
	char v[AUTHRES_OUT_MAX], item[AUTHRES_OUT_MAX + 32];
	size_t n;

	if (value == NULL)
		return;
	n = strlen(value);
	if (kind == AUTHRES_ADDRESS)
		authres_address(value, n, v);
	else if (kind == AUTHRES_DOMAIN)
		authres_domain(value, n, v);
	else
		authres_plain(value, n, v);
	snprintf(item, sizeof(item), "%s=%s", name, v);
	authres_item(b, item);
}

/* authres_keyword - the result word when it is a keyword (letters, digits, '-'), else "permerror". */
static const char *authres_keyword(const char *r)
{
	size_t n = r != NULL ? strlen(r) : 0;

	if (n == 0 || n > 32)
		return "permerror";
	for (size_t i = 0; i < n; i++)
		if (!((r[i] | 0x20) >= 'a' && (r[i] | 0x20) <= 'z') && !(r[i] >= '0' && r[i] <= '9') && r[i] != '-')
			return "permerror";
	return r;
}

/* authres_method - the start of one resinfo on its own line: "method=result". */
static void authres_method(struct authres_buf *b, const char *method, const char *result)
{
	authres_adds(b, ";\n\t");
	authres_adds(b, method);
	authres_adds(b, "=");
	authres_adds(b, authres_keyword(result));
}

/* authres_dkim_one - one "dkim=" resinfo. */
static void authres_dkim_one(struct authres_buf *b, const struct authres_dkim *d)
{
	authres_method(b, "dkim", d->result);
	authres_prop(b, "reason", d->reason, AUTHRES_PLAIN);
	authres_prop(b, "header.d", d->d, AUTHRES_DOMAIN);
	authres_prop(b, "header.s", d->s, AUTHRES_PLAIN);
	authres_prop(b, "header.b", d->b8, AUTHRES_PLAIN);
}

/* authres_dmarc - the "dmarc=" resinfo, with the record's p= as a comment. */
static void authres_dmarc(struct authres_buf *b, const struct authres *ar)
{
	char comment[48];

	authres_method(b, "dmarc", ar->dmarc);
	if (ar->dmarc_p != NULL && strcmp(authres_keyword(ar->dmarc_p), ar->dmarc_p) == 0) {
		strcpy(comment, "(p=");
		strcat(comment, ar->dmarc_p);
		strcat(comment, ")");
		authres_item(b, comment);
	}
	authres_prop(b, "policy.dmarc", ar->dmarc_policy, AUTHRES_PLAIN);
	authres_prop(b, "header.from", ar->dmarc_from, AUTHRES_DOMAIN);
}

char *authres_format(const struct authres *ar)
{
	struct authres_buf b = {0};
	char host[AUTHRES_OUT_MAX];
	struct authres_dkim none = {.result = "none"};

	authres_plain(ar->hostname != NULL ? ar->hostname : "", ar->hostname != NULL ? strlen(ar->hostname) : 0, host);
	authres_adds(&b, "Authentication-Results: ");
	authres_adds(&b, host);
	if (ar->spf != NULL) {
		authres_method(&b, "spf", ar->spf);
		if (ar->spf_mailfrom != NULL)
			authres_prop(&b, "smtp.mailfrom", ar->spf_mailfrom, AUTHRES_ADDRESS);
		else
			authres_prop(&b, "smtp.helo", ar->spf_helo, AUTHRES_DOMAIN);
	}
	if (ar->n_dkim == 0)
		authres_dkim_one(&b, &none);
	for (size_t i = 0; i < ar->n_dkim; i++)
		authres_dkim_one(&b, &ar->dkim[i]);
	if (ar->dmarc != NULL)
		authres_dmarc(&b, ar);
	authres_adds(&b, "\n");
	return b.s;
}

/* authres_skip_cfws - past white space, line breaks and (nested) comments; false on an unclosed comment. */
static bool authres_skip_cfws(const char *s, size_t n, size_t *pos)
{
	size_t depth = 0;

	for (; *pos < n; (*pos)++) {
		char c = s[*pos];
		if (c == '\\' && depth > 0)
			(*pos)++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
	}
	return depth == 0 && *pos <= n;
}

/* authres_read_id - the authserv-id at s[pos]: a token or an unescaped quoted-string into out; its length or -1. */
static int authres_read_id(const char *s, size_t n, size_t pos, char out[AUTHRES_VALUE_MAX + 1])
{
	size_t o = 0;

	if (pos < n && s[pos] != '"') {
		while (pos < n && authres_is_token_char((unsigned char)s[pos]) && o < AUTHRES_VALUE_MAX)
			out[o++] = s[pos++];
		return o > 0 && (pos == n || !authres_is_token_char((unsigned char)s[pos])) ? (int)o : -1;
	}
	for (pos++; pos < n && s[pos] != '"' && o < AUTHRES_VALUE_MAX; pos++) {
		if (s[pos] == '\\' && ++pos == n)
			return -1;
		out[o++] = s[pos];
	}
	return pos < n && s[pos] == '"' ? (int)o : -1;
}

/* authres_same_id - equal ignoring ASCII case and one trailing dot on each side. */
static bool authres_same_id(const char *a, size_t na, const char *b)
{
	size_t nb = strlen(b);

	if (na > 0 && a[na - 1] == '.')
		na--;
	if (nb > 0 && b[nb - 1] == '.')
		nb--;
	return na > 0 && na == nb && strncasecmp(a, b, na) == 0;
}

bool authres_claims(const char *value, size_t len, const char *authserv_id)
{
	char id[AUTHRES_VALUE_MAX + 1];
	size_t pos = 0;
	int n;

	if (authserv_id == NULL || !authres_skip_cfws(value, len, &pos))
		return false;
	n = authres_read_id(value, len, pos, id);
	return n > 0 && authres_same_id(id, (size_t)n, authserv_id);
}

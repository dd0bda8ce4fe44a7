/*
 * spf_macro - RFC 7208 section 7: macro-string syntax, domain-spec ends,
 * and expansion with transformers, delimiters and URL escaping. Pure: the
 * values come in a struct spf_macro_ctx, the output goes to the caller's
 * buffer, and the work is linear in the input and output sizes.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "spf/spf.h"

#define SPF_MACRO_DELIMS ".-+,/_="
#define SPF_MACRO_MAX_PARTS 255

/* One "%..." item of a macro-string. */
struct spf_macro_tok {
	char letter;     /* lower-case macro letter; 0 for "%%", "%_", "%-" */
	const char *lit; /* for "%%", "%_", "%-": what it stands for */
	bool upper;      /* an upper-case letter: URL-escape the value */
	bool reverse;    /* the "r" transformer */
	unsigned parts;  /* the DIGIT transformer; 0: all parts */
	char delims[sizeof(SPF_MACRO_DELIMS)]; /* the delimiters; "" means "." */
};

/* The output buffer of an expansion. */
struct spf_macro_out {
	char *buf;
	size_t size, len;
	bool overflow;
};

/* spf_macro_literal_ok - may c stand literally in a macro-string (macro-literal, or SP in explain-string)? */
static bool spf_macro_literal_ok(unsigned char c, bool explain)
{
	if (c == ' ')
		return explain;
	return c >= 0x21 && c <= 0x7e && c != '%';
}

/* spf_macro_letter_ok - is c (lower case) a macro letter here (7.2: c, r, t only in exp text)? */
static bool spf_macro_letter_ok(char c, bool explain)
{
	if (c != '\0' && strchr("slodiphv", c) != NULL)
		return true;
	return explain && c != '\0' && strchr("crt", c) != NULL;
}

/* spf_macro_transformers - digits, "r", delimiters after the letter; returns where "}" should be. */
static size_t spf_macro_transformers(const char *s, size_t len, size_t i, struct spf_macro_tok *t, bool *zero_r)
{
	size_t nd = 0;

	*zero_r = false;
	if (i < len && isdigit((unsigned char)s[i])) {
		for (; i < len && isdigit((unsigned char)s[i]); i++)
			if (t->parts < SPF_MACRO_MAX_PARTS)
				t->parts = t->parts * 10 + (unsigned)(s[i] - '0');
		if (t->parts > SPF_MACRO_MAX_PARTS)
			t->parts = SPF_MACRO_MAX_PARTS;
		*zero_r = t->parts == 0;
	}
	if (i < len && (s[i] == 'r' || s[i] == 'R')) {
		t->reverse = true;
		i++;
	}
	for (; i < len && strchr(SPF_MACRO_DELIMS, s[i]) != NULL && s[i] != '\0'; i++)
		if (strchr(t->delims, s[i]) == NULL)
			t->delims[nd++] = s[i];
	return i;
}

/* spf_macro_brace - parse "{" letter transformers *delimiter "}" at s[i] (just past "%{"). */
static int spf_macro_brace(const char *s, size_t len, size_t i, bool explain, struct spf_macro_tok *t,
			   const char **error_r)
{
	bool zero;
	char c;

	if (i >= len) {
		*error_r = "unterminated macro";
		return -1;
	}
	c = (char)tolower((unsigned char)s[i]);
	if (!spf_macro_letter_ok(c, explain)) {
		*error_r = "unknown macro letter";
		return -1;
	}
	t->letter = c;
	t->upper = isupper((unsigned char)s[i]) != 0;
	i = spf_macro_transformers(s, len, i + 1, t, &zero);
	if (zero) {
		*error_r = "macro digit transformer 0";
		return -1;
	}
	if (i >= len || s[i] != '}') {
		*error_r = "bad macro syntax";
		return -1;
	}
	return (int)(i + 1);
}

/* spf_macro_token - parse the "%..." at s[i]; the index just past it, or -1. */
static int spf_macro_token(const char *s, size_t len, size_t i, bool explain, struct spf_macro_tok *t,
			   const char **error_r)
{
	memset(t, 0, sizeof(*t));
	if (i + 1 >= len) {
		*error_r = "\"%\" at the end";
		return -1;
	}
	switch (s[i + 1]) {
	case '%': t->lit = "%"; return (int)(i + 2);
	case '_': t->lit = " "; return (int)(i + 2);
	case '-': t->lit = "%20"; return (int)(i + 2);
	case '{': return spf_macro_brace(s, len, i + 2, explain, t, error_r);
	default:
		*error_r = "\"%\" not followed by \"{\", \"%\", \"-\" or \"_\"";
		return -1;
	}
}

/* spf_macro_scan - syntax check; *tail_r: where the literal text after the last macro starts. */
static int spf_macro_scan(const char *s, size_t len, bool explain, size_t *tail_r, const char **error_r)
{
	struct spf_macro_tok t;
	size_t i = 0;
	int next;

	*tail_r = 0;
	while (i < len) {
		if (s[i] != '%') {
			if (!spf_macro_literal_ok((unsigned char)s[i], explain)) {
				*error_r = "invalid character in macro-string";
				return -1;
			}
			i++;
			continue;
		}
		if ((next = spf_macro_token(s, len, i, explain, &t, error_r)) < 0)
			return -1;
		i = (size_t)next;
		*tail_r = i;
	}
	return 0;
}

int spf_macro_check(const char *s, size_t len, bool explain, const char **error_r)
{
	size_t tail;

	return spf_macro_scan(s, len, explain, &tail, error_r);
}

/* spf_macro_toplabel_ok - toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool spf_macro_toplabel_ok(const char *s, size_t n)
{
	bool alpha = false, dash = false;

	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			dash = true;
		else if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return alpha || dash;
}

int spf_macro_domain_spec_check(const char *s, size_t len, const char **error_r)
{
	size_t tail, end;
	const char *dot;

	if (len == 0) {
		*error_r = "empty domain-spec";
		return -1;
	}
	if (spf_macro_scan(s, len, false, &tail, error_r) < 0)
		return -1;
	if (tail == len)
		return 0; /* ends in a macro-expand */
	end = len;
	if (s[end - 1] == '.')
		end--;
	dot = end > tail ? memrchr(s + tail, '.', end - tail) : NULL;
	if (dot == NULL || !spf_macro_toplabel_ok(dot + 1, (size_t)(s + end - dot - 1))) {
		*error_r = "domain-spec does not end in a macro or a valid top label";
		return -1;
	}
	return 0;
}

bool spf_macro_uses_p(const char *s, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++) {
		if (s[i] != '%')
			continue;
		if (s[i + 1] == '{' && (s[i + 2] == 'p' || s[i + 2] == 'P'))
			return true;
		i++; /* "%%" must not make the next "%" look literal */
	}
	return false;
}

/* spf_macro_putc - append c, URL-escaped when asked and not unreserved (7.3). */
static void spf_macro_putc(struct spf_macro_out *w, char c, bool escape)
{
	char hex[4];
	size_t n = 1;

	if (escape && !isalnum((unsigned char)c) && strchr("-._~", c) == NULL) {
		snprintf(hex, sizeof(hex), "%%%02X", (unsigned char)c);
		n = 3;
	} else {
		hex[0] = c;
	}
	if (w->len + n >= w->size) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, hex, n);
	w->len += n;
}

/* spf_macro_is_delim - is c one of the token's delimiters? */
static bool spf_macro_is_delim(const struct spf_macro_tok *t, char c)
{
	const char *d = t->delims[0] != '\0' ? t->delims : ".";

	return c != '\0' && strchr(d, c) != NULL;
}

/* spf_macro_put_part - v[from, to) with delimiters written as "." */
static void spf_macro_put_part(struct spf_macro_out *w, const struct spf_macro_tok *t, const char *v, size_t from,
			       size_t to)
{
	for (size_t i = from; i < to && !w->overflow; i++)
		spf_macro_putc(w, spf_macro_is_delim(t, v[i]) ? '.' : v[i], t->upper);
}

/* spf_macro_put_reversed - parts m-1 .. 0 of v (those up to end), joined by "." */
static void spf_macro_put_reversed(struct spf_macro_out *w, const struct spf_macro_tok *t, const char *v, size_t end)
{
	size_t to = end, from;

	for (;;) {
		from = to;
		while (from > 0 && !spf_macro_is_delim(t, v[from - 1]))
			from--;
		spf_macro_put_part(w, t, v, from, to);
		if (from == 0 || w->overflow)
			return;
		spf_macro_putc(w, '.', false);
		to = from - 1;
	}
}

/* spf_macro_put_value - v transformed (7.3): split on delimiters, maybe reversed, the rightmost parts, "."-joined. */
static void spf_macro_put_value(struct spf_macro_out *w, const struct spf_macro_tok *t, const char *v)
{
	size_t len = strlen(v), k = 1, m, skip, i;

	for (i = 0; i < len; i++)
		k += spf_macro_is_delim(t, v[i]);
	m = t->parts != 0 && t->parts < k ? t->parts : k;
	skip = t->reverse ? m : k - m; /* reversed: parts 0..m-1 (the end of part m-1); else from part k-m */
	for (i = 0; i < len && skip > 0; i++)
		if (spf_macro_is_delim(t, v[i]) && --skip == 0)
			break;
	if (t->reverse)
		spf_macro_put_reversed(w, t, v, skip == 0 && i < len ? i : len);
	else
		spf_macro_put_part(w, t, v, k == m ? 0 : i + 1, len);
}

/* spf_macro_ip_dotted - %{i}: dotted quad, or 32 dot-separated upper-case nibbles for IPv6 (7.3). */
static void spf_macro_ip_dotted(const struct spf_macro_ctx *ctx, char *buf, size_t size)
{
	size_t n = 0;

	if (ctx->family != AF_INET6) {
		snprintf(buf, size, "%u.%u.%u.%u", ctx->ip[0], ctx->ip[1], ctx->ip[2], ctx->ip[3]);
		return;
	}
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%X.%X", i ? "." : "", ctx->ip[i] >> 4, ctx->ip[i] & 15);
}

/* spf_macro_value - the value of a macro letter; buf holds formatted ones. */
static const char *spf_macro_value(const struct spf_macro_ctx *ctx, char letter, char *buf, size_t size)
{
	switch (letter) {
	case 's': return ctx->sender;
	case 'l': return ctx->local;
	case 'o': return ctx->sender_domain;
	case 'd': return ctx->domain;
	case 'h': return ctx->helo;
	case 'p': return ctx->ptr_name != NULL ? ctx->ptr_name : "unknown";
	case 'r': return ctx->receiver != NULL ? ctx->receiver : "unknown";
	case 'v': return ctx->family == AF_INET6 ? "ip6" : "in-addr";
	case 'i': spf_macro_ip_dotted(ctx, buf, size); return buf;
	case 'c':
		if (inet_ntop(ctx->family == AF_INET6 ? AF_INET6 : AF_INET, ctx->ip, buf, (socklen_t)size) == NULL)
			buf[0] = '\0';
		return buf;
	case 't': snprintf(buf, size, "%lld", (long long)ctx->now); return buf;
	default: return "";
	}
}

/* spf_macro_put_token - one "%..." item's expansion. */
static void spf_macro_put_token(struct spf_macro_out *w, const struct spf_macro_tok *t, const struct spf_macro_ctx *ctx)
{
	char buf[80];
	const char *v;

	if (t->lit != NULL) {
		for (v = t->lit; *v != '\0'; v++)
			spf_macro_putc(w, *v, false);
		return;
	}
	v = spf_macro_value(ctx, t->letter, buf, sizeof(buf));
	spf_macro_put_value(w, t, v != NULL ? v : "");
}

int spf_macro_expand(const char *s, size_t len, bool explain, const struct spf_macro_ctx *ctx, char *out,
		     size_t outsize, size_t *len_r, const char **error_r)
{
	struct spf_macro_out w = { out, outsize, 0, outsize == 0 };
	struct spf_macro_tok t;
	size_t i = 0;
	int next;

	if (spf_macro_check(s, len, explain, error_r) < 0)
		return -1;
	while (i < len && !w.overflow) {
		if (s[i] != '%') {
			spf_macro_putc(&w, s[i++], false);
			continue;
		}
		next = spf_macro_token(s, len, i, explain, &t, error_r);
		spf_macro_put_token(&w, &t, ctx);
		i = (size_t)next;
	}
	if (w.overflow) {
		*error_r = "macro expansion too long";
		return -1;
	}
	out[w.len] = '\0';
	*len_r = w.len;
	return 0;
}

int spf_domain_truncate(char *name)
{
	size_t len = strlen(name), label = 0;
	char *dot;

	if (len > 0 && name[len - 1] == '.')
		name[--len] = '\0';
	while (len > SPF_DOMAIN_MAX && (dot = strchr(name, '.')) != NULL) {
		len -= (size_t)(dot + 1 - name);
		memmove(name, dot + 1, len + 1);
	}
	if (len == 0 || len > SPF_DOMAIN_MAX)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (name[i] == '.' || name[i] == '\0') {
			if (label == 0 || label > 63)
				return -1;
			label = 0;
		} else if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
			return -1;
		} else {
			label++;
		}
	}
	return 0;
}

/* dkim_sig - the DKIM-Signature tag list (RFC 6376 3.5) parsed into struct dkim_sig. */
#include "dkim/dkim.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define DKIM_SIG_MAX_DIGITS 76 /* l=: "76 digits"; t=, x=: "at least 12"; longer is refused */

/* dkim_sig_is(tag, s) - the tag's value is exactly s. */
static bool dkim_sig_is(const struct dkim_tag *tag, const char *s)
{
	return tag->value_len == strlen(s) && memcmp(tag->value, s, tag->value_len) == 0;
}

/* dkim_sig_number - unsigned decimal, values past LLONG_MAX clamped to it; -1 when not 1-76 digits. */
static int dkim_sig_number(const struct dkim_tag *tag, long long *n_r)
{
	long long n = 0;
	if (tag->value_len == 0 || tag->value_len > DKIM_SIG_MAX_DIGITS)
		return -1;
	for (size_t k = 0; k < tag->value_len; k++) {
		int d = tag->value[k] - '0';
		if (d < 0 || d > 9)
			return -1;
		n = n > (LLONG_MAX - d) / 10 ? LLONG_MAX : n * 10 + d;
	}
	*n_r = n;
	return 0;
}

/* dkim_sig_alg - a= value. */
static int dkim_sig_alg(const struct dkim_tag *tag, enum dkim_alg *alg_r)
{
	if (dkim_sig_is(tag, "rsa-sha256"))
		*alg_r = DKIM_ALG_RSA_SHA256;
	else if (dkim_sig_is(tag, "ed25519-sha256"))
		*alg_r = DKIM_ALG_ED25519_SHA256;
	else if (dkim_sig_is(tag, "rsa-sha1"))
		*alg_r = DKIM_ALG_RSA_SHA1;
	else
		return -1;
	return 0;
}

/* dkim_sig_canon_word - "simple" or "relaxed" of length n at s. */
static int dkim_sig_canon_word(const char *s, size_t n, enum dkim_canon *c_r)
{
	if (n == 6 && memcmp(s, "simple", 6) == 0)
		*c_r = DKIM_CANON_SIMPLE;
	else if (n == 7 && memcmp(s, "relaxed", 7) == 0)
		*c_r = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* dkim_sig_canon - c= header[/body]; the body defaults to simple. */
static int dkim_sig_canon(const struct dkim_tag *tag, struct dkim_sig *sig)
{
	const char *slash = memchr(tag->value, '/', tag->value_len);
	size_t hn = slash ? (size_t)(slash - tag->value) : tag->value_len;

	if (dkim_sig_canon_word(tag->value, hn, &sig->hcanon) < 0)
		return -1;
	if (slash == NULL) {
		sig->bcanon = DKIM_CANON_SIMPLE;
		return 0;
	}
	return dkim_sig_canon_word(slash + 1, tag->value_len - hn - 1, &sig->bcanon);
}

/* dkim_sig_trim - [s, e) without whitespace at either end; its length. */
static size_t dkim_sig_trim(const char **s, const char *e)
{
	while (*s < e && strchr(" \t\r\n", **s) != NULL)
		(*s)++;
	while (e > *s && strchr(" \t\r\n", e[-1]) != NULL)
		e--;
	return (size_t)(e - *s);
}

/* dkim_sig_h - h= colon-separated field names (FWS around colons); none empty, none with ';', at most DKIM_MAX_H. */
static int dkim_sig_h(const struct dkim_tag *tag, struct dkim_sig *sig, const char **error_r)
{
	const char *p = tag->value, *end = p + tag->value_len;

	sig->h = xcalloc(DKIM_MAX_H, sizeof(*sig->h));
	for (;;) {
		const char *colon = memchr(p, ':', (size_t)(end - p)), *e = colon ? colon : end, *s = p;
		size_t n = dkim_sig_trim(&s, e);
		if (n == 0 || memchr(s, ' ', n) || memchr(s, '\t', n) || memchr(s, '\n', n)) {
			*error_r = "bad h= field name";
			return -1;
		}
		if (sig->n_h == DKIM_MAX_H) {
			*error_r = "too many h= field names";
			return -1;
		}
		sig->h[sig->n_h++] = xstrndup(s, n);
		if (colon == NULL)
			return 0;
		p = colon + 1;
	}
}

/* dkim_sig_b64 - a base64 tag decoded into out (1..max bytes). */
static int dkim_sig_b64(const struct dkim_tag *tag, size_t max, uint8_t **out_r, size_t *len_r)
{
	if (dkim_base64_decode(tag->value, tag->value_len, max, out_r, len_r) < 0)
		return -1;
	return *len_r > 0 ? 0 : -1;
}

/* dkim_sig_q - q= a colon list that must hold "dns/txt". */
static int dkim_sig_q(const struct dkim_tag *tag)
{
	const char *p = tag->value, *end = p + tag->value_len;
	while (p <= end) {
		const char *colon = memchr(p, ':', (size_t)(end - p)), *e = colon ? colon : end, *s = p;
		size_t n = dkim_sig_trim(&s, e);
		if (n == 7 && memcmp(s, "dns/txt", 7) == 0)
			return 0;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	return -1;
}

/* dkim_sig_str - a required plain tag as a string: non-empty, no whitespace. */
static int dkim_sig_str(const struct dkim_tag *tag, char **out_r)
{
	if (tag->value_len == 0 || memchr(tag->value, ' ', tag->value_len) ||
	    memchr(tag->value, '\t', tag->value_len) || memchr(tag->value, '\n', tag->value_len))
		return -1;
	*out_r = xstrndup(tag->value, tag->value_len);
	return 0;
}

/* dkim_sig_required - v=1 and the required a=, b=, bh=, d=, h=, s=. */
static int dkim_sig_required(const struct dkim_tags *t, struct dkim_sig *sig, const char **error_r)
{
	const struct dkim_tag *v = dkim_tags_get(t, "v"), *a = dkim_tags_get(t, "a"),
			      *b = dkim_tags_get(t, "b"), *bh = dkim_tags_get(t, "bh"),
			      *d = dkim_tags_get(t, "d"), *h = dkim_tags_get(t, "h"), *s = dkim_tags_get(t, "s");

	if (!v || !a || !b || !bh || !d || !h || !s)
		*error_r = "missing required tag";
	else if (!dkim_sig_is(v, "1"))
		*error_r = "v= is not 1";
	else if (dkim_sig_alg(a, &sig->alg) < 0)
		*error_r = "unknown a= algorithm";
	else if (dkim_sig_b64(b, DKIM_MAX_SIG_B, &sig->b, &sig->b_len) < 0)
		*error_r = "bad b=";
	else if (dkim_sig_b64(bh, DKIM_MAX_DIGEST, &sig->bh, &sig->bh_len) < 0)
		*error_r = "bad bh=";
	else if (dkim_sig_str(d, &sig->d) < 0 || dkim_sig_str(s, &sig->s) < 0)
		*error_r = "bad d= or s=";
	else
		return dkim_sig_h(h, sig, error_r);
	return -1;
}

/* dkim_sig_optional - c=, i=, l=, q=, t=, x= when present. */
static int dkim_sig_optional(const struct dkim_tags *t, struct dkim_sig *sig, const char **error_r)
{
	const struct dkim_tag *c = dkim_tags_get(t, "c"), *i = dkim_tags_get(t, "i"),
			      *l = dkim_tags_get(t, "l"), *q = dkim_tags_get(t, "q"),
			      *tt = dkim_tags_get(t, "t"), *x = dkim_tags_get(t, "x");

	if (c && dkim_sig_canon(c, sig) < 0)
		*error_r = "bad c=";
	else if (i && (dkim_sig_str(i, &sig->i) < 0 || strchr(sig->i, '@') == NULL))
		*error_r = "bad i=";
	else if ((l && dkim_sig_number(l, &sig->l) < 0) || (tt && dkim_sig_number(tt, &sig->t) < 0) ||
		 (x && dkim_sig_number(x, &sig->x) < 0))
		*error_r = "bad l=, t= or x=";
	else if (q && dkim_sig_q(q) < 0)
		*error_r = "q= without dns/txt";
	else if (sig->t >= 0 && sig->x >= 0 && sig->x < sig->t)
		*error_r = "x= before t=";
	else
		return 0;
	return -1;
}

/* dkim_sig_parse - parse a signature's tag list into sig_r. */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig_r, const char **error_r)
{
	struct dkim_tags tags;

	memset(sig_r, 0, sizeof(*sig_r));
	sig_r->l = sig_r->t = sig_r->x = -1;
	if (dkim_tags_parse(value, len, &tags, error_r) < 0)
		return -1;
	if (dkim_sig_required(&tags, sig_r, error_r) < 0 || dkim_sig_optional(&tags, sig_r, error_r) < 0) {
		dkim_sig_clear(sig_r);
		return -1;
	}
	if (sig_r->i == NULL)
		sig_r->i = xasprintf("@%s", sig_r->d);
	return 0;
}

/* dkim_sig_clear - free what the signature owns and zero it. */
void dkim_sig_clear(struct dkim_sig *sig)
{
	for (size_t k = 0; k < sig->n_h; k++)
		free(sig->h[k]);
	free(sig->h);
	free(sig->d);
	free(sig->s);
	free(sig->i);
	free(sig->b);
	free(sig->bh);
	memset(sig, 0, sizeof(*sig));
	sig->l = sig->t = sig->x = -1;
}

/* dmarc_idna - punycode (RFC 3492) encoding of UTF-8 labels into A-labels. */
#include "dmarc/dmarc_idna.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define DMARC_IDNA_LABEL_MAX 63
enum { DMARC_IDNA_BASE = 36, DMARC_IDNA_TMIN = 1, DMARC_IDNA_TMAX = 26, DMARC_IDNA_SKEW = 38,
       DMARC_IDNA_DAMP = 700, DMARC_IDNA_BIAS = 72, DMARC_IDNA_N = 128 };

/* A label being written: at most 63 bytes. */
struct dmarc_idna_out {
	char buf[DMARC_IDNA_LABEL_MAX + 1];
	size_t len;
	bool overflow;
};

/* dmarc_idna_put - append one byte, noting overflow. */
static void dmarc_idna_put(struct dmarc_idna_out *o, char c)
{
	if (o->len < DMARC_IDNA_LABEL_MAX)
		o->buf[o->len++] = c;
	else
		o->overflow = true;
}

/* dmarc_idna_utf8 - decode len bytes of UTF-8 into cps (at most max); count, or -1 if invalid. */
static int dmarc_idna_utf8(const unsigned char *s, size_t len, uint32_t *cps, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		uint32_t c = s[i], min;
		size_t more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 9;

		if (more == 9 || len - i <= more || n == max)
			return -1;
		c &= more == 0 ? 0x7f : 0x3f >> more;
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return -1;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		min = more == 0 ? 0 : more == 1 ? 0x80 : more == 2 ? 0x800 : 0x10000;
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return -1;
		cps[n++] = c;
		i += more + 1;
	}
	return (int)n;
}

/* dmarc_idna_adapt - the bias adaptation of RFC 3492 6.1. */
static uint32_t dmarc_idna_adapt(uint32_t delta, uint32_t numpoints, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / DMARC_IDNA_DAMP : delta / 2;
	delta += delta / numpoints;
	while (delta > ((DMARC_IDNA_BASE - DMARC_IDNA_TMIN) * DMARC_IDNA_TMAX) / 2) {
		delta /= DMARC_IDNA_BASE - DMARC_IDNA_TMIN;
		k += DMARC_IDNA_BASE;
	}
	return k + (DMARC_IDNA_BASE - DMARC_IDNA_TMIN + 1) * delta / (delta + DMARC_IDNA_SKEW);
}

/* dmarc_idna_digit - the basic code point for digit d (0..35): a..z, 0..9. */
static char dmarc_idna_digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + d - 26);
}

/* dmarc_idna_varint - write q as the generalized variable-length integer of RFC 3492 3.3. */
static void dmarc_idna_varint(struct dmarc_idna_out *o, uint32_t q, uint32_t bias)
{
	for (uint32_t k = DMARC_IDNA_BASE;; k += DMARC_IDNA_BASE) {
		uint32_t t = k <= bias ? DMARC_IDNA_TMIN : k >= bias + DMARC_IDNA_TMAX ? DMARC_IDNA_TMAX : k - bias;
		if (q < t)
			break;
		dmarc_idna_put(o, dmarc_idna_digit(t + (q - t) % (DMARC_IDNA_BASE - t)));
		q = (q - t) / (DMARC_IDNA_BASE - t);
	}
	dmarc_idna_put(o, dmarc_idna_digit(q));
}

/* dmarc_idna_encode - the punycode of the n code points (RFC 3492 6.3), after what o holds. */
static void dmarc_idna_encode(struct dmarc_idna_out *o, const uint32_t *cps, size_t n)
{
	uint32_t code = DMARC_IDNA_N, bias = DMARC_IDNA_BIAS, h, b = 0;
	uint64_t delta = 0;

	for (size_t i = 0; i < n; i++)
		if (cps[i] < 0x80) {
			dmarc_idna_put(o, (char)cps[i]);
			b++;
		}
	if (b > 0)
		dmarc_idna_put(o, '-');
	for (h = b; h < n && !o->overflow; delta++, code++) {
		uint32_t m = UINT32_MAX;
		for (size_t i = 0; i < n; i++)
			if (cps[i] >= code && cps[i] < m)
				m = cps[i];
		delta += (uint64_t)(m - code) * (h + 1);
		code = m;
		for (size_t i = 0; i < n; i++) {
			if (cps[i] < code)
				delta++;
			if (cps[i] != code)
				continue;
			dmarc_idna_varint(o, (uint32_t)delta, bias);
			bias = dmarc_idna_adapt((uint32_t)delta, h + 1, h == b);
			delta = 0;
			h++;
		}
	}
}

/* dmarc_idna_label - one label, as is if ASCII, else "xn--" and its punycode; false if it cannot be. */
static bool dmarc_idna_label(const char *s, size_t len, struct dmarc_idna_out *o)
{
	uint32_t cps[DMARC_IDNA_LABEL_MAX + 1];
	int n;
	bool ascii = true;

	for (size_t i = 0; i < len; i++)
		ascii = ascii && (unsigned char)s[i] < 0x80;
	o->len = 0;
	o->overflow = false;
	if (ascii) {
		for (size_t i = 0; i < len; i++)
			dmarc_idna_put(o, s[i]);
		return !o->overflow;
	}
	n = dmarc_idna_utf8((const unsigned char *)s, len, cps, DMARC_IDNA_LABEL_MAX + 1);
	if (n < 0)
		return false;
	memcpy(o->buf, "xn--", 4);
	o->len = 4;
	dmarc_idna_encode(o, cps, (size_t)n);
	return !o->overflow;
}

int dmarc_idna_to_ascii(const char *name, size_t len, char out[256])
{
	struct dmarc_idna_out label;
	size_t olen = 0, pos = 0;

	while (pos <= len) {
		const char *dot = memchr(name + pos, '.', len - pos);
		size_t n = dot ? (size_t)(dot - (name + pos)) : len - pos;

		if (!dmarc_idna_label(name + pos, n, &label) || olen + label.len + 1 > 254)
			return -1;
		memcpy(out + olen, label.buf, label.len);
		olen += label.len;
		out[olen++] = '.';
		pos += n + 1;
	}
	out[olen - 1] = '\0';
	return 0;
}

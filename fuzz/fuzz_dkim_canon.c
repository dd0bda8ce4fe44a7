// FUZZ_SOURCES: src/dkim/dkim_canon.c src/dkim/dkim_body.c src/dkim/dkim_tags.c src/util/xalloc.c src/util/log.c
// FUZZ_LIBS: -lcrypto
/*
 * fuzz_dkim_canon - the header section split, header canonicalization, the
 * header hash's field selection, and the incremental body hash. The first
 * byte picks the canonicalization and an l= limit, the next two seed the
 * split points; the rest is a message (header section, empty line, body).
 * Invariants, abort() on a broken one: fields lie inside the input and
 * cover their names; relaxed output has no WSP run, no TAB, no SP before its CRLF
 * and no line end but the last; the body digest and length do not depend
 * on where the text was split (one piece, random pieces, byte by byte).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_dkim_relaxed_ok - a relaxed field: "name:value\r\n", no line end inside, no double or trailing WSP. */
static void fuzz_dkim_relaxed_ok(const struct dkim_buf *b)
{
	if (b->len < 3 || b->p[b->len - 2] != '\r' || b->p[b->len - 1] != '\n' || b->p[b->len - 3] == ' ')
		abort();
	for (size_t k = 0; k + 2 < b->len; k++) {
		char c = b->p[k], n = b->p[k + 1];
		if (c == '\n' || c == '\t' || (c == ' ' && n == ' ') || (c == '\r' && n == '\n'))
			abort();
	}
}

/* fuzz_dkim_headers - split, canonicalize each field both ways, hash with the field names as h=. */
static void fuzz_dkim_headers(const char *text, size_t len, enum dkim_canon c)
{
	struct dkim_headers h;
	const char *err = NULL;
	char *names[8];
	size_t n = 0;
	uint8_t out[DKIM_MAX_DIGEST];

	if (dkim_headers_parse(text, len, &h, &err) < 0) {
		if (err == NULL || h.fields != NULL || h.n != 0)
			abort();
		return;
	}
	for (size_t k = 0; k < h.n; k++) {
		const struct dkim_field *f = &h.fields[k];
		struct dkim_buf b = {0};
		if (f->raw < text || f->raw + f->raw_len > text + len || f->name != f->raw || f->name_len == 0 ||
		    f->name_len >= f->raw_len || h.n > DKIM_MAX_FIELDS)
			abort();
		dkim_canon_header(&b, f->raw, f->raw_len, DKIM_CANON_RELAXED, true);
		fuzz_dkim_relaxed_ok(&b);
		b.len = 0;
		dkim_canon_header(&b, f->raw, f->raw_len, DKIM_CANON_SIMPLE, true);
		dkim_buf_free(&b);
		if (n < 8)
			names[n++] = strndup(f->name, f->name_len);
	}
	if (dkim_header_hash(&h, 0, names, n, "DKIM-Signature: b=", 18, c, false, out) != 32)
		abort();
	while (n > 0)
		free(names[--n]);
	dkim_headers_clear(&h);
}

/* fuzz_dkim_body_pieces - the body digest fed in pieces cut by seed (1: byte by byte, 0: whole). */
static size_t fuzz_dkim_body_pieces(const char *body, size_t len, enum dkim_canon c, long long l, unsigned seed,
				    uint8_t out[DKIM_MAX_DIGEST], long long *total_r)
{
	struct dkim_body *b = dkim_body_new(c, DKIM_ALG_RSA_SHA256, l);
	size_t pos = 0, n;

	while (pos < len) {
		size_t step = seed == 0 ? len - pos : seed == 1 ? 1 : 1 + (seed = seed * 1103515245u + 12345u) % 97;
		if (step > len - pos)
			step = len - pos;
		dkim_body_feed(b, body + pos, step);
		pos += step;
	}
	n = dkim_body_final(b, out);
	*total_r = dkim_body_length(b);
	dkim_body_free(&b);
	return n;
}

/* fuzz_dkim_body - the digest must not depend on the split. */
static void fuzz_dkim_body(const char *body, size_t len, enum dkim_canon c, long long l, unsigned seed)
{
	uint8_t a[DKIM_MAX_DIGEST], b[DKIM_MAX_DIGEST], d[DKIM_MAX_DIGEST];
	long long ta, tb, td;
	size_t na = fuzz_dkim_body_pieces(body, len, c, l, 0, a, &ta);
	size_t nb = fuzz_dkim_body_pieces(body, len, c, l, seed | 2, b, &tb);
	size_t nd = len <= 4096 ? fuzz_dkim_body_pieces(body, len, c, l, 1, d, &td) : na;

	if (na != nb || ta != tb || memcmp(a, b, 32) != 0)
		abort();
	if (len <= 4096 && (nd != na || td != ta || memcmp(a, d, 32) != 0))
		abort();
	if ((na == 0) != (l >= 0 && l > ta))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 3, *sep;
	size_t len, hlen;
	enum dkim_canon c;
	long long l;

	if (size < 3)
		return 0;
	c = (data[0] & 1) ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	l = (data[0] & 2) ? (long long)(data[0] >> 2) * 7 : -1;
	len = size - 3;
	sep = len ? memmem(text, len, "\n\n", 2) : NULL;
	hlen = sep ? (size_t)(sep - text) + 1 : len;
	fuzz_dkim_headers(text, hlen, c);
	fuzz_dkim_body(text + hlen, len - hlen, c, l, (unsigned)data[1] << 8 | data[2]);
	return 0;
}

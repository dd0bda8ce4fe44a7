/* dkim_canon - the header section split into fields, header canonicalization (RFC 6376 3.4.1/3.4.2)
   and the header hash with bottom-up field selection (5.4.2). The body is in dkim_body.c. */
#include "dkim/dkim.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

/* dkim_canon_line - the line at pos: its content end (without CR LF / LF) in *end_r; returns the next line's start. */
static size_t dkim_canon_line(const char *text, size_t len, size_t pos, size_t *end_r)
{
	const char *nl = memchr(text + pos, '\n', len - pos);
	size_t e = nl ? (size_t)(nl - text) : len;
	*end_r = (nl && e > pos && text[e - 1] == '\r') ? e - 1 : e;
	return nl ? e + 1 : len;
}

/* dkim_canon_new_field - start a field at line [pos, end): name up to ':' without trailing WSP. */
static int dkim_canon_new_field(struct dkim_headers *h, size_t *cap, const char *text, size_t pos,
				size_t end, const char **error_r)
{
	const char *colon = memchr(text + pos, ':', end - pos);
	struct dkim_field *f;
	size_t nlen;

	if (colon == NULL) {
		*error_r = "header line without a colon";
		return -1;
	}
	nlen = (size_t)(colon - (text + pos));
	while (nlen > 0 && (text[pos + nlen - 1] == ' ' || text[pos + nlen - 1] == '\t'))
		nlen--;
	if (nlen == 0 || h->n == DKIM_MAX_FIELDS) {
		*error_r = nlen == 0 ? "empty header field name" : "too many header fields";
		return -1;
	}
	if (h->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		h->fields = xrealloc(h->fields, *cap * sizeof(*h->fields));
	}
	f = &h->fields[h->n++];
	f->name = f->raw = text + pos;
	f->name_len = nlen;
	f->raw_len = end - pos;
	return 0;
}

/* dkim_headers_parse - split the header section into fields (borrowed pointers into text). */
int dkim_headers_parse(const char *text, size_t len, struct dkim_headers *h_r, const char **error_r)
{
	size_t pos = 0, cap = 0, end, next;

	h_r->fields = NULL;
	h_r->n = 0;
	while (pos < len) {
		next = dkim_canon_line(text, len, pos, &end);
		if (end == pos)
			break; /* the empty line: end of the header section */
		if (text[pos] == ' ' || text[pos] == '\t') {
			if (h_r->n == 0) {
				*error_r = "continuation line before any header field";
				goto bad;
			}
			h_r->fields[h_r->n - 1].raw_len = end - (size_t)(h_r->fields[h_r->n - 1].raw - text);
		} else if (dkim_canon_new_field(h_r, &cap, text, pos, end, error_r) < 0) {
			goto bad;
		}
		pos = next;
	}
	return 0;
bad:
	dkim_headers_clear(h_r);
	return -1;
}

/* dkim_headers_clear - free the field array. */
void dkim_headers_clear(struct dkim_headers *h)
{
	free(h->fields);
	h->fields = NULL;
	h->n = 0;
}

/* dkim_field_is - the field is called name (case-insensitive). */
bool dkim_field_is(const struct dkim_field *f, const char *name)
{
	return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

/* dkim_field_value - the field's value: what follows the colon, folds included. */
const char *dkim_field_value(const struct dkim_field *f, size_t *len_r)
{
	const char *colon = memchr(f->raw, ':', f->raw_len);
	*len_r = f->raw_len - (size_t)(colon + 1 - f->raw);
	return colon + 1;
}

/* dkim_buf_add - append n bytes. */
void dkim_buf_add(struct dkim_buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* dkim_buf_free - release the buffer's storage. */
void dkim_buf_free(struct dkim_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* dkim_canon_simple - the field as it is, each line end written CRLF (3.4.1). */
static void dkim_canon_simple(struct dkim_buf *out, const char *raw, size_t len)
{
	size_t start = 0;
	for (size_t k = 0; k < len; k++) {
		if (raw[k] != '\n' || (k > 0 && raw[k - 1] == '\r'))
			continue;
		dkim_buf_add(out, raw + start, k - start);
		dkim_buf_add(out, "\r\n", 2);
		start = k + 1;
	}
	dkim_buf_add(out, raw + start, len - start);
}

/* dkim_canon_relaxed_value - unfold, WSP runs to one SP, no WSP at either end (3.4.2). */
static void dkim_canon_relaxed_value(struct dkim_buf *out, const char *v, size_t len)
{
	bool sp = false, started = false;
	for (size_t k = 0; k < len; k++) {
		char c = v[k];
		if (c == '\n' || (c == '\r' && k + 1 < len && v[k + 1] == '\n'))
			continue;
		if (c == ' ' || c == '\t') {
			sp = started;
			continue;
		}
		if (sp)
			dkim_buf_add(out, " ", 1);
		dkim_buf_add(out, &c, 1);
		sp = false;
		started = true;
	}
}

/* dkim_canon_relaxed - lower-case name without WSP, ':', the relaxed value (3.4.2). */
static void dkim_canon_relaxed(struct dkim_buf *out, const char *raw, size_t len)
{
	const char *colon = memchr(raw, ':', len);
	size_t nlen = colon ? (size_t)(colon - raw) : 0;

	for (size_t k = 0; k < nlen; k++) {
		char c = raw[k];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		dkim_buf_add(out, &c, 1);
	}
	if (colon != NULL) {
		dkim_buf_add(out, ":", 1);
		nlen++;
	}
	dkim_canon_relaxed_value(out, raw + nlen, len - nlen);
}

/* dkim_canon_header - append the canonicalized field, ending in CRLF when crlf. */
void dkim_canon_header(struct dkim_buf *out, const char *raw, size_t len, enum dkim_canon c, bool crlf)
{
	if (c == DKIM_CANON_SIMPLE)
		dkim_canon_simple(out, raw, len);
	else
		dkim_canon_relaxed(out, raw, len);
	if (crlf)
		dkim_buf_add(out, "\r\n", 2);
}

/* dkim_canon_select - the bottom-most unused field called name (not skip), or SIZE_MAX. */
static size_t dkim_canon_select(const struct dkim_headers *h, const uint8_t *used, size_t skip,
				const char *name)
{
	size_t nlen = strlen(name);
	for (size_t k = h->n; k-- > 0;) {
		const struct dkim_field *f = &h->fields[k];
		if (!used[k] && k != skip && f->name_len == nlen && strncasecmp(f->name, name, nlen) == 0)
			return k;
	}
	return SIZE_MAX;
}

/* dkim_canon_hash_field - canonicalize one field into buf and hash it; 0/-1. */
static int dkim_canon_hash_field(EVP_MD_CTX *md, struct dkim_buf *buf, const char *raw, size_t len,
				 enum dkim_canon c, bool crlf)
{
	buf->len = 0;
	dkim_canon_header(buf, raw, len, c, crlf);
	return EVP_DigestUpdate(md, buf->p, buf->len) == 1 ? 0 : -1;
}

/* dkim_header_hash - digest of the selected h= fields then the signature field without its CRLF. */
size_t dkim_header_hash(const struct dkim_headers *h, size_t skip, char *const *names, size_t n_names,
			const char *sig_raw, size_t sig_len, enum dkim_canon c, bool sha1,
			uint8_t out[DKIM_MAX_DIGEST])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *used = xcalloc(h->n + 1, 1);
	struct dkim_buf buf = {0};
	unsigned int dlen = 0;
	int rc = md && EVP_DigestInit_ex(md, sha1 ? EVP_sha1() : EVP_sha256(), NULL) == 1 ? 0 : -1;

	for (size_t k = 0; rc == 0 && k < n_names; k++) {
		size_t idx = dkim_canon_select(h, used, skip, names[k]);
		if (idx == SIZE_MAX)
			continue; /* listed more often than present: contributes nothing */
		used[idx] = 1;
		rc = dkim_canon_hash_field(md, &buf, h->fields[idx].raw, h->fields[idx].raw_len, c, true);
	}
	if (rc == 0)
		rc = dkim_canon_hash_field(md, &buf, sig_raw, sig_len, c, false);
	if (rc == 0 && EVP_DigestFinal_ex(md, out, &dlen) != 1)
		dlen = 0;
	EVP_MD_CTX_free(md);
	dkim_buf_free(&buf);
	free(used);
	return rc == 0 ? dlen : 0;
}

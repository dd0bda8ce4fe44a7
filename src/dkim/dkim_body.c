/* dkim_body - incremental body canonicalization (RFC 6376 3.4.3 simple, 3.4.4 relaxed) and hash with the
   l= limit (3.5). A small state machine, so the text may arrive split anywhere (even inside CR LF):
   empty lines are counted and written only when content follows (trailing ones vanish), a WSP run
   (relaxed) is held until content follows on the same line, a CR until the next byte shows if it ends a line. */
#include "dkim/dkim.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define DKIM_BODY_BUF 4096

struct dkim_body {
	EVP_MD_CTX *md;
	enum dkim_canon c;
	long long limit;  /* -1: none */
	long long hashed; /* octets given to the digest */
	long long total;  /* canonicalized octets */
	long long empty;  /* empty lines held back */
	bool cr;          /* a CR held back */
	bool wsp;         /* relaxed: a WSP run held back */
	bool line_has;    /* the current line has content written */
	bool done, broken;
	size_t blen;
	char buf[DKIM_BODY_BUF];
};

/* dkim_body_new - a body hasher for canonicalization c, the digest of alg, and limit. */
struct dkim_body *dkim_body_new(enum dkim_canon c, enum dkim_alg alg, long long limit)
{
	struct dkim_body *b = xcalloc(1, sizeof(*b));
	b->md = EVP_MD_CTX_new();
	b->c = c;
	b->limit = limit < 0 ? -1 : limit;
	if (b->md == NULL ||
	    EVP_DigestInit_ex(b->md, alg == DKIM_ALG_RSA_SHA1 ? EVP_sha1() : EVP_sha256(), NULL) != 1)
		b->broken = true;
	return b;
}

/* dkim_body_flush - give the buffer to the digest, at most up to the limit. */
static void dkim_body_flush(struct dkim_body *b)
{
	long long k = (long long)b->blen;
	if (b->limit >= 0 && b->hashed + k > b->limit)
		k = b->limit - b->hashed;
	if (k > 0 && !b->broken && EVP_DigestUpdate(b->md, b->buf, (size_t)k) != 1)
		b->broken = true;
	if (k > 0)
		b->hashed += k;
	b->total += (long long)b->blen;
	b->blen = 0;
}

/* dkim_body_emit - write canonicalized octets. */
static void dkim_body_emit(struct dkim_body *b, const char *s, size_t n)
{
	while (n > 0) {
		size_t k = DKIM_BODY_BUF - b->blen;
		if (k > n)
			k = n;
		memcpy(b->buf + b->blen, s, k);
		b->blen += k;
		s += k;
		n -= k;
		if (b->blen == DKIM_BODY_BUF)
			dkim_body_flush(b);
	}
}

/* dkim_body_content - one content byte: held-back empty lines and WSP first. */
static void dkim_body_content(struct dkim_body *b, char c)
{
	if (b->c == DKIM_CANON_RELAXED && (c == ' ' || c == '\t')) {
		b->wsp = true;
		return;
	}
	if (!b->line_has) {
		for (; b->empty > 0; b->empty--)
			dkim_body_emit(b, "\r\n", 2);
		b->line_has = true;
	}
	if (b->wsp)
		dkim_body_emit(b, " ", 1);
	b->wsp = false;
	dkim_body_emit(b, &c, 1);
}

/* dkim_body_eol - a line end: CRLF after content, else one more empty line held back. */
static void dkim_body_eol(struct dkim_body *b)
{
	if (b->line_has)
		dkim_body_emit(b, "\r\n", 2);
	else
		b->empty++;
	b->line_has = false;
	b->wsp = false;
}

/* dkim_body_byte - one input byte through the state machine. */
static void dkim_body_byte(struct dkim_body *b, char c)
{
	if (b->cr) {
		b->cr = false;
		if (c == '\n') {
			dkim_body_eol(b);
			return;
		}
		dkim_body_content(b, '\r'); /* a bare CR is content */
	}
	if (c == '\r')
		b->cr = true;
	else if (c == '\n')
		dkim_body_eol(b);
	else
		dkim_body_content(b, c);
}

/* dkim_body_run - length of the run of plain bytes at s (no line end, no WSP when relaxed). */
static size_t dkim_body_run(const struct dkim_body *b, const char *s, size_t len)
{
	size_t k = 0;
	bool relaxed = b->c == DKIM_CANON_RELAXED;
	while (k < len && s[k] != '\r' && s[k] != '\n' && !(relaxed && (s[k] == ' ' || s[k] == '\t')))
		k++;
	return k;
}

/* dkim_body_feed - canonicalize and hash more body text. */
void dkim_body_feed(struct dkim_body *b, const char *text, size_t len)
{
	size_t k = 0;
	if (b->done)
		return;
	while (k < len) {
		if (b->line_has && !b->wsp && !b->cr) { /* fast path: copy plain runs */
			size_t n = dkim_body_run(b, text + k, len - k);
			dkim_body_emit(b, text + k, n);
			k += n;
			if (k == len)
				break;
		}
		dkim_body_byte(b, text[k++]);
	}
}

/* dkim_body_final - end the body (3.4.3: simple is at least CRLF; a last line gets its CRLF) and digest it. */
size_t dkim_body_final(struct dkim_body *b, uint8_t out[DKIM_MAX_DIGEST])
{
	unsigned int dlen = 0;

	if (b->done)
		return 0;
	b->done = true;
	if (b->cr) {
		b->cr = false;
		dkim_body_content(b, '\r');
	}
	if (b->line_has)
		dkim_body_emit(b, "\r\n", 2);
	if (b->c == DKIM_CANON_SIMPLE && b->total + (long long)b->blen == 0)
		dkim_body_emit(b, "\r\n", 2);
	dkim_body_flush(b);
	if (b->broken || EVP_DigestFinal_ex(b->md, out, &dlen) != 1)
		memset(out, 0, (dlen = 32));
	if (b->broken || (b->limit >= 0 && b->limit > b->total))
		return 0;
	return dlen;
}

/* dkim_body_length - canonicalized body octets seen so far. */
long long dkim_body_length(const struct dkim_body *b)
{
	return b->total + (long long)b->blen;
}

/* dkim_body_free - free and set *bp to NULL. */
void dkim_body_free(struct dkim_body **bp)
{
	if (*bp == NULL)
		return;
	EVP_MD_CTX_free((*bp)->md);
	free(*bp);
	*bp = NULL;
}

// FUZZ_SOURCES: src/imap/imap_rfc822.c src/imap/imap_mime.c src/imap/imap_mime_content.c src/imap/imap_envelope.c src/imap/imap_bodystructure.c src/imap/imap_section.c src/util/xalloc.c src/util/log.c
// FUZZ_LIBS: -levent
/*
 * fuzz_imap_mime - arbitrary bytes as a message: the MIME tree's ranges
 * must nest inside the message and their sizes be the CRLF sizes; BODY,
 * BODYSTRUCTURE and ENVELOPE must be well-formed IMAP (balanced lists,
 * quoted strings without CR, LF, NUL or 8-bit bytes, literals of the
 * length they announce); BODY[] must be the CRLF form (no bare LF, no
 * NUL) of RFC822.SIZE octets, HEADER + TEXT must add up to it, each
 * part's BODY[n] and BODY[n.MIME] must have the tree's sizes, and a
 * partial must be the slice of the whole. abort() on any failure.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "imap/imap_bodystructure.h"
#include "imap/imap_envelope.h"
#include "imap/imap_mime.h"
#include "imap/imap_section.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_mime_string - a quoted string or literal at *p; false when invalid. */
static bool fuzz_mime_string(const char **p, const char *end)
{
	const char *s = *p;

	if (*s == '{') {
		char *e;
		unsigned long n = strtoul(s + 1, &e, 10);
		if (e >= end || *e != '}' || end - e < 3 || e[1] != '\r' || e[2] != '\n' ||
		    (unsigned long)(end - e - 3) < n || memchr(e + 3, '\0', n) != NULL)
			return false;
		*p = e + 3 + n;
		return true;
	}
	for (s++; s < end && *s != '"'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\\' && s + 1 < end && (s[1] == '"' || s[1] == '\\'))
			s++;
		else if (c == '\\' || c == '\r' || c == '\n' || c == '\0' || c >= 0x80)
			return false;
	}
	if (s >= end)
		return false;
	*p = s + 1;
	return true;
}

/* fuzz_mime_wellformed - balanced lists, valid strings, one top list. */
static void fuzz_mime_wellformed(const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	int depth = 0;

	if (len < 2 || s[0] != '(' || s[len - 1] != ')')
		abort();
	while (p < end) {
		if (*p == '"' || *p == '{') {
			if (!fuzz_mime_string(&p, end))
				abort();
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth < 0)
			abort();
		else if (*p == ')' && depth == 0 && p + 1 != end)
			abort();
		else if ((unsigned char)*p >= 0x80 || *p == '\r' || *p == '\n')
			abort();
		p++;
	}
	if (depth != 0)
		abort();
}

/* fuzz_mime_check_part - a part's ranges nest and its sizes are right. */
static void fuzz_mime_check_part(const char *msg, size_t len, const struct imap_mime_part *p,
				 size_t lo, size_t hi)
{
	if (p->hdr_off < lo || p->hdr_off + p->hdr_len > p->body_off || p->body_off + p->body_len > hi ||
	    hi > len)
		abort();
	if (p->hdr_size != imap_mime_crlf_size(msg + p->hdr_off, p->hdr_len, NULL) ||
	    p->body_size != imap_mime_crlf_size(msg + p->body_off, p->body_len, NULL))
		abort();
	for (const struct imap_mime_part *c = p->children; c != NULL; c = c->next) {
		if (c->parent != p)
			abort();
		fuzz_mime_check_part(msg, len, c, p->body_off, p->body_off + p->body_len);
	}
}

/* fuzz_mime_section - a section's bytes; the size is returned. */
static uint64_t fuzz_mime_section(struct evbuffer *b, const char *msg, size_t len,
				  const struct imap_section *sec)
{
	uint64_t n;

	evbuffer_drain(b, evbuffer_get_length(b));
	if (imap_section_write(b, msg, len, sec, &n) != 0 || n != evbuffer_get_length(b))
		abort();
	return n;
}

/* fuzz_mime_top_parts - BODY[n] and BODY[n.MIME] of the first parts. */
static void fuzz_mime_top_parts(struct evbuffer *b, const char *msg, size_t len,
				const struct imap_mime *m)
{
	struct imap_section sec;
	const struct imap_mime_part *p = m->root;
	uint32_t n = 1;

	if ((p->flags & IMAP_MIME_MULTIPART) == 0)
		return;
	for (p = p->children; p != NULL && n <= 8; p = p->next, n++) {
		memset(&sec, 0, sizeof(sec));
		sec.nparts = 1;
		sec.part[0] = n;
		if (fuzz_mime_section(b, msg, len, &sec) != p->body_size)
			abort();
		sec.text = IMAP_SECTION_MIME;
		if (fuzz_mime_section(b, msg, len, &sec) != p->hdr_size)
			abort();
	}
}

/* fuzz_mime_whole - BODY[], HEADER, TEXT, a partial and HEADER.FIELDS. */
static void fuzz_mime_whole(struct evbuffer *b, const char *msg, size_t len, uint64_t off, uint64_t cnt)
{
	struct imap_section sec;
	uint64_t total = imap_section_size(msg, len), h, t;

	memset(&sec, 0, sizeof(sec));
	if (fuzz_mime_section(b, msg, len, &sec) != total)
		abort();
	size_t n = evbuffer_get_length(b);
	char *full = malloc(n + 1);
	evbuffer_copyout(b, full, n);
	for (size_t i = 0; i < n; i++)
		if (full[i] == '\0' || (full[i] == '\n' && (i == 0 || full[i - 1] != '\r')))
			abort();
	sec.partial = true;
	sec.offset = off;
	sec.count = cnt;
	uint64_t w = fuzz_mime_section(b, msg, len, &sec);
	uint64_t want = off >= n ? 0 : (cnt < n - off ? cnt : n - off);
	char *win = malloc(w + 1);
	evbuffer_copyout(b, win, w);
	if (w != want || (w > 0 && memcmp(win, full + off, w) != 0))
		abort();
	free(win);
	free(full);
	memset(&sec, 0, sizeof(sec));
	sec.text = IMAP_SECTION_HEADER;
	h = fuzz_mime_section(b, msg, len, &sec);
	sec.text = IMAP_SECTION_TEXT;
	t = fuzz_mime_section(b, msg, len, &sec);
	if (h + t != total || h != imap_section_header_size(msg, len))
		abort();
	sec.text = IMAP_SECTION_FIELDS_NOT;
	sec.fields[0] = "subject";
	sec.nfields = 1;
	if (fuzz_mime_section(b, msg, len, &sec) > h)
		abort();
}

/* fuzz_mime_structure - BODY, BODYSTRUCTURE and ENVELOPE are well formed. */
static void fuzz_mime_structure(struct evbuffer *b, const char *msg, size_t len)
{
	for (int ext = 0; ext < 3; ext++) {
		evbuffer_drain(b, evbuffer_get_length(b));
		if (ext < 2 && imap_bodystructure_write(b, msg, len, ext == 1) != 0)
			abort();
		if (ext == 2 && imap_envelope_write(b, msg, imap_mime_header_end(msg, len)) != 0)
			abort();
		size_t n = evbuffer_get_length(b);
		fuzz_mime_wellformed((const char *)evbuffer_pullup(b, -1), n);
	}
}

/* LLVMFuzzerTestOneInput - [0] partial offset, [1] count, then the message. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint64_t off = data[0], cnt = data[1];
	const char *msg = (const char *)data + 2;
	size_t len = size - 2;
	struct evbuffer *b = evbuffer_new();
	struct imap_mime *m = imap_mime_parse(msg, len);

	if (m->root->parent != NULL || m->nparts < 1 || m->nparts > IMAP_MIME_MAX_PARTS)
		abort();
	fuzz_mime_check_part(msg, len, m->root, 0, len);
	fuzz_mime_top_parts(b, msg, len, m);
	imap_mime_free(&m);
	fuzz_mime_whole(b, msg, len, off, cnt);
	fuzz_mime_structure(b, msg, len);
	evbuffer_free(b);
	return 0;
}

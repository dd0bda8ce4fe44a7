/* imap_section - FETCH body sections (see imap_section.h). */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "imap/imap_mime.h"
#include "imap/imap_section.h"

/* Raw bytes converted per evbuffer reservation. */
#define IMAP_SECTION_BLOCK 65536

/* What a section resolved to: a raw range, filtered or not. */
struct imap_section_src {
	const char *p;
	size_t len;
	bool found;
};

/* imap_section_size - the CRLF size of the whole message. */
uint64_t imap_section_size(const char *msg, size_t len)
{
	return imap_mime_crlf_size(msg, len, NULL);
}

/* imap_section_header_size - the CRLF size of its header. */
uint64_t imap_section_header_size(const char *msg, size_t len)
{
	return imap_mime_crlf_size(msg, imap_mime_header_end(msg, len), NULL);
}

/* imap_section_convert - copy raw bytes to dst adding CR before bare LFs
 * and making NUL 0x80; prev_cr: the byte before p is a CR. Returns the
 * bytes written. */
static size_t imap_section_convert(char *dst, const char *p, size_t len, bool prev_cr)
{
	const char *s = p, *end = p + len, *lf;
	char *o = dst;

	while (s < end && (lf = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		size_t n = (size_t)(lf - s);
		memcpy(o, s, n);
		o += n;
		if (lf == p ? !prev_cr : lf[-1] != '\r')
			*o++ = '\r';
		*o++ = '\n';
		s = lf + 1;
	}
	memcpy(o, s, (size_t)(end - s));
	o += end - s;
	/* NUL may not appear in a literal (RFC 9051 4.3): Dovecot sends 0x80 */
	for (char *z = dst; (z = memchr(z, '\0', (size_t)(o - z))) != NULL;)
		*z++ = (char)0x80;
	return (size_t)(o - dst);
}

/* imap_section_crlf - the CRLF form of raw bytes, block by block into
 * reserved evbuffer space (one pass, one copy). */
static int imap_section_crlf(struct evbuffer *out, const char *p, size_t len, bool prev_cr)
{
	struct evbuffer_iovec v;

	while (len > 0) {
		size_t n = len < IMAP_SECTION_BLOCK ? len : IMAP_SECTION_BLOCK;
		if (evbuffer_reserve_space(out, (ev_ssize_t)(2 * n), &v, 1) < 1)
			return -1;
		v.iov_len = imap_section_convert(v.iov_base, p, n, prev_cr);
		if (evbuffer_commit_space(out, &v, 1) < 0)
			return -1;
		prev_cr = p[n - 1] == '\r';
		p += n;
		len -= n;
	}
	return 0;
}

/* imap_section_append_crlf - the CRLF form of len raw bytes. */
int imap_section_append_crlf(struct evbuffer *out, const char *p, size_t len)
{
	if (len == 0)
		return 0;
	if (memchr(p, '\n', len) == NULL && memchr(p, '\0', len) == NULL)
		return evbuffer_add(out, p, len);
	return imap_section_crlf(out, p, len, false);
}

/* imap_section_locate - the raw offset of CRLF offset voff; *mid_r: voff
 * is the LF of a CRLF made from a bare LF (whose CR is before it). */
static size_t imap_section_locate(const char *p, size_t len, uint64_t voff, bool *mid_r)
{
	uint64_t v = 0;
	size_t pos = 0;

	*mid_r = false;
	while (pos < len) {
		const char *lf = memchr(p + pos, '\n', len - pos);
		size_t q = lf != NULL ? (size_t)(lf - p) : len;
		if (voff < v + (q - pos))
			return pos + (size_t)(voff - v);
		v += q - pos;
		if (lf == NULL || voff == v)
			return q;
		if (q == 0 || p[q - 1] != '\r') {
			if (voff == v + 1) {
				*mid_r = true;
				return q;
			}
			v++;
		}
		v++;
		pos = q + 1;
	}
	return len;
}

/* imap_section_append_window - octets [offset, offset+count) of the CRLF form. */
int imap_section_append_window(struct evbuffer *out, const char *p, size_t len,
			       uint64_t offset, uint64_t count)
{
	bool mid_s, mid_e;
	uint64_t end = count > UINT64_MAX - offset ? UINT64_MAX : offset + count;
	size_t rs, re;

	if (count == 0)
		return 0;
	rs = imap_section_locate(p, len, offset, &mid_s);
	re = imap_section_locate(p, len, end, &mid_e);
	if (mid_s) {
		if (evbuffer_add(out, "\n", 1) < 0)
			return -1;
		rs++;
	}
	if (re > rs && imap_section_crlf(out, p + rs, re - rs, rs > 0 && p[rs - 1] == '\r') < 0)
		return -1;
	return mid_e ? evbuffer_add(out, "\r", 1) : 0;
}

/* imap_section_find - the part a section's numbers name (RFC 9051 6.4.5:
 * a non-multipart has only part 1; numbers go on inside message/rfc822). */
static const struct imap_mime_part *imap_section_find(const struct imap_mime *m,
						      const struct imap_section *sec)
{
	const struct imap_mime_part *part = m->root;

	for (size_t i = 0; i < sec->nparts && part != NULL; i++) {
		uint32_t num = sec->part[i];
		bool more = i + 1 < sec->nparts;
		if (num == 0)
			return NULL;
		if ((part->flags & IMAP_MIME_MULTIPART) != 0) {
			for (part = part->children; num > 1 && part != NULL; num--)
				part = part->next;
		} else if (num != 1 || (more && (part->flags & IMAP_MIME_RFC822) == 0)) {
			part = NULL;
		}
		if (part != NULL && more && (part->flags & IMAP_MIME_RFC822) != 0)
			part = part->children;
	}
	return part;
}

/* imap_section_of_part - the raw range a numbered section names. */
static struct imap_section_src imap_section_of_part(const char *msg, const struct imap_mime *m,
						    const struct imap_section *sec)
{
	struct imap_section_src src = { msg, 0, false };
	const struct imap_mime_part *part = imap_section_find(m, sec);

	if (part == NULL)
		return src;
	if (sec->text == IMAP_SECTION_ALL) {
		src.p = msg + part->body_off;
		src.len = part->body_len;
	} else if (sec->text == IMAP_SECTION_MIME) {
		src.p = msg + part->hdr_off;
		src.len = part->hdr_len;
	} else if ((part->flags & IMAP_MIME_RFC822) != 0 && part->children != NULL) {
		part = part->children;
		bool text = sec->text == IMAP_SECTION_TEXT;
		src.p = msg + (text ? part->body_off : part->hdr_off);
		src.len = text ? part->body_len : part->hdr_len;
	} else {
		return src;
	}
	src.found = true;
	return src;
}

/* imap_section_resolve - the raw range of a section (for HEADER.FIELDS
 * the header it filters); a tree is built (when tree is NULL) only for
 * part numbers. */
static struct imap_section_src imap_section_resolve(const char *msg, size_t len,
						    const struct imap_mime *tree,
						    const struct imap_section *sec)
{
	struct imap_section_src src = { msg, len, true };

	if (sec->nparts > 0 && tree != NULL)
		return imap_section_of_part(msg, tree, sec);
	if (sec->nparts > 0) {
		struct imap_mime *m = imap_mime_parse(msg, len);
		src = imap_section_of_part(msg, m, sec);
		imap_mime_free(&m);
		return src;
	}
	if (sec->text == IMAP_SECTION_ALL)
		return src;
	size_t hdr = imap_mime_header_end(msg, len);
	if (sec->text == IMAP_SECTION_TEXT) {
		src.p = msg + hdr;
		src.len = len - hdr;
	} else if (sec->text == IMAP_SECTION_MIME) {
		src.found = false;
		src.len = 0;
	} else {
		src.len = hdr;
	}
	return src;
}

/* imap_section_field_wanted - the field is one of the section's names. */
static bool imap_section_field_wanted(const struct imap_section *sec, const struct imap_mime_field *f)
{
	for (size_t i = 0; i < sec->nfields && i < IMAP_SECTION_FIELDS; i++) {
		if (sec->fields[i] != NULL && imap_mime_field_is(f, sec->fields[i], strlen(sec->fields[i])))
			return true;
	}
	return false;
}

/* imap_section_fields - HEADER.FIELDS: the wanted fields, each ending in
 * CRLF, and a blank line; .NOT: the others and the header's own end. */
static int imap_section_fields(struct evbuffer *out, const struct imap_section_src *src,
			       const struct imap_section *sec)
{
	bool not = sec->text == IMAP_SECTION_FIELDS_NOT;
	struct imap_mime_field f;
	size_t pos = 0;

	while (imap_mime_field_next(src->p, src->len, &pos, &f)) {
		if (imap_section_field_wanted(sec, &f) == not)
			continue;
		if (imap_section_append_crlf(out, src->p + f.start, f.end - f.start) < 0)
			return -1;
		if (!not && src->p[f.end - 1] != '\n' && evbuffer_add(out, "\r\n", 2) < 0)
			return -1;
	}
	if (not)
		return imap_section_append_crlf(out, src->p + pos, src->len - pos);
	return evbuffer_add(out, "\r\n", 2);
}

/* imap_section_filtered - a HEADER.FIELDS[.NOT] section with its partial. */
static int imap_section_filtered(struct evbuffer *out, const struct imap_section_src *src,
				 const struct imap_section *sec)
{
	struct evbuffer *tmp;
	int ret = -1;

	if (!sec->partial)
		return imap_section_fields(out, src, sec);
	if ((tmp = evbuffer_new()) == NULL)
		return -1;
	if (imap_section_fields(tmp, src, sec) == 0) {
		size_t n = evbuffer_get_length(tmp);
		size_t off = sec->offset < n ? (size_t)sec->offset : n;
		size_t cnt = sec->count < n - off ? (size_t)sec->count : n - off;
		ret = evbuffer_drain(tmp, off) == 0 && evbuffer_remove_buffer(tmp, out, cnt) == (int)cnt ? 0 : -1;
	}
	evbuffer_free(tmp);
	return ret;
}

/* imap_section_write - append the section's bytes, partial applied. */
int imap_section_write(struct evbuffer *out, const char *msg, size_t len,
		       const struct imap_section *sec, uint64_t *size_r)
{
	return imap_section_write_tree(out, msg, len, NULL, sec, size_r);
}

/* imap_section_write_tree - the same with the message's tree, if parsed. */
int imap_section_write_tree(struct evbuffer *out, const char *msg, size_t len,
			    const struct imap_mime *tree, const struct imap_section *sec, uint64_t *size_r)
{
	size_t before = evbuffer_get_length(out);
	struct imap_section_src src = imap_section_resolve(msg, len, tree, sec);
	int ret = 0;

	if (!src.found)
		ret = 0;
	else if (sec->text == IMAP_SECTION_FIELDS_IN || sec->text == IMAP_SECTION_FIELDS_NOT)
		ret = imap_section_filtered(out, &src, sec);
	else if (sec->partial)
		ret = imap_section_append_window(out, src.p, src.len, sec->offset, sec->count);
	else
		ret = imap_section_append_crlf(out, src.p, src.len);
	if (size_r != NULL)
		*size_r = evbuffer_get_length(out) - before;
	return ret;
}

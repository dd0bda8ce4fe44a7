/* imap_mime - the MIME part tree of a message in memory (see imap_mime.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_mime_internal.h"
#include "imap/imap_rfc822.h"
#include "util/xalloc.h"

/* A block of the tree's storage; parts and strings never move. */
struct imap_mime_chunk {
	struct imap_mime_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

/* An active boundary and the multipart it belongs to. */
struct imap_mime_bound {
	const char *s;
	size_t len;
	struct imap_mime_part *owner;
};

/* The state of one parse. */
struct imap_mime_ctx {
	const char *msg;
	size_t len;
	struct imap_mime *m;
	struct imap_mime_bound bound[IMAP_MIME_MAX_DEPTH + 1];
	size_t nbound;
};

/* Where a part stopped: at a boundary line, or at the end of the message. */
struct imap_mime_hit {
	size_t pos;   /* start of the boundary line, or len */
	size_t bound; /* index into ctx->bound; SIZE_MAX at the end */
	bool close;   /* "--boundary--" */
	bool first;   /* on the first line read: no [CR]LF before it to give back */
};

#define IMAP_MIME_CHUNK 8192

/* imap_mime_alloc - n zeroed bytes from the tree's storage. */
void *imap_mime_alloc(struct imap_mime *m, size_t n)
{
	struct imap_mime_chunk *c = m->chunks;

	n = (n + 15) & ~(size_t)15;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > IMAP_MIME_CHUNK ? n : IMAP_MIME_CHUNK;
		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = m->chunks;
		m->chunks = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

/* imap_mime_strdup - a NUL-terminated copy, NUL bytes made U+FFFD. */
const char *imap_mime_strdup(struct imap_mime *m, const char *s, size_t len)
{
	size_t nuls = 0;

	for (size_t i = 0; i < len; i++)
		nuls += s[i] == '\0';
	char *d = imap_mime_alloc(m, len + 2 * nuls + 1), *o = d;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\0') {
			*o++ = s[i];
			continue;
		}
		memcpy(o, IMAP_RFC822_NUL_REPLACEMENT, 3);
		o += 3;
	}
	*o = '\0';
	return d;
}

/* imap_mime_free - release a tree and set *m to NULL. */
void imap_mime_free(struct imap_mime **m)
{
	if (*m == NULL)
		return;
	struct imap_mime_chunk *c = (*m)->chunks;
	while (c != NULL) {
		struct imap_mime_chunk *next = c->next;
		free(c);
		c = next;
	}
	free(*m);
	*m = NULL;
}

/* imap_mime_crlf_size - CRLF octets of len raw bytes, and the LF count. */
uint64_t imap_mime_crlf_size(const char *p, size_t len, uint32_t *lines_r)
{
	uint64_t size = len;
	uint32_t lines = 0;
	const char *s = p, *end = p + len, *lf;

	while (s < end && (lf = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		if (lf == p || lf[-1] != '\r')
			size++;
		lines++;
		s = lf + 1;
	}
	if (lines_r != NULL)
		*lines_r = lines;
	return size;
}

/* imap_mime_line_end - the offset just past the line at pos (its LF). */
static size_t imap_mime_line_end(const char *p, size_t len, size_t pos)
{
	const char *lf = memchr(p + pos, '\n', len - pos);

	return lf != NULL ? (size_t)(lf - p) + 1 : len;
}

/* imap_mime_is_blank - the line at pos is empty (LF or CRLF). */
static bool imap_mime_is_blank(const char *p, size_t len, size_t pos)
{
	return pos < len && (p[pos] == '\n' || (p[pos] == '\r' && pos + 1 < len && p[pos + 1] == '\n'));
}

/* imap_mime_header_end - the length of the header block (blank line included). */
size_t imap_mime_header_end(const char *msg, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t next = imap_mime_line_end(msg, len, pos);
		if (imap_mime_is_blank(msg, len, pos))
			return next;
		pos = next;
	}
	return len;
}

/* imap_mime_field_name - set the field's name from its first line: up to
 * ':' (blanks before it dropped), or the whole line when it has none. */
static size_t imap_mime_field_name(const char *p, size_t pos, size_t line_end,
				   struct imap_mime_field *r)
{
	const char *colon = memchr(p + pos, ':', line_end - pos);
	size_t n = (colon != NULL ? (size_t)(colon - p) : line_end) - pos;

	while (n > 0 && (p[pos + n - 1] == ' ' || p[pos + n - 1] == '\t' ||
			 p[pos + n - 1] == '\r' || p[pos + n - 1] == '\n'))
		n--;
	r->name = p + pos;
	r->name_len = n;
	return colon != NULL ? (size_t)(colon - p) + 1 : line_end;
}

/* imap_mime_field_at - the field starting at pos, with its continuations. */
static void imap_mime_field_at(const char *p, size_t len, size_t pos, struct imap_mime_field *r)
{
	size_t first = imap_mime_line_end(p, len, pos), end = first, v, vend;

	while (end < len && (p[end] == ' ' || p[end] == '\t'))
		end = imap_mime_line_end(p, len, end);
	vend = end;
	if (vend > pos && p[vend - 1] == '\n')
		vend--;
	if (vend > pos && p[vend - 1] == '\r')
		vend--;
	v = imap_mime_field_name(p, pos, first, r);
	if (v > vend)
		v = vend;
	while (v < vend && (p[v] == ' ' || p[v] == '\t'))
		v++;
	r->value = p + v;
	r->value_len = vend - v;
	r->start = pos;
	r->end = end;
}

/* imap_mime_field_next - the field at *pos in a header block, advancing *pos. */
bool imap_mime_field_next(const char *hdr, size_t len, size_t *pos, struct imap_mime_field *r)
{
	if (*pos >= len || imap_mime_is_blank(hdr, len, *pos))
		return false;
	imap_mime_field_at(hdr, len, *pos, r);
	*pos = r->end;
	return true;
}

/* imap_mime_field_is - the field's name is name (case-insensitive). */
bool imap_mime_field_is(const struct imap_mime_field *f, const char *name, size_t name_len)
{
	return f->name_len == name_len && strncasecmp(f->name, name, name_len) == 0;
}

/* imap_mime_field_find - the next field named name (case-insensitive). */
bool imap_mime_field_find(const char *hdr, size_t len, size_t *pos, const char *name,
			  struct imap_mime_field *r)
{
	size_t n = strlen(name);

	while (imap_mime_field_next(hdr, len, pos, r)) {
		if (imap_mime_field_is(r, name, n))
			return true;
	}
	return false;
}

/* imap_mime_unfold - copy a raw value without its CR and LF bytes. */
size_t imap_mime_unfold(const char *value, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (value[i] != '\r' && value[i] != '\n')
			out[n++] = value[i];
	}
	return n;
}

/* imap_mime_bound_match - the active boundary the line at pos opens with
 * "--" (the newest longest prefix, as RFC 2046 5.1.1 and Dovecot). */
static size_t imap_mime_bound_match(const struct imap_mime_ctx *ctx, size_t pos, bool *close_r)
{
	const char *d = ctx->msg + pos + 2;
	size_t best = SIZE_MAX, find;

	if (ctx->nbound == 0 || ctx->m->nparts >= IMAP_MIME_MAX_PARTS || pos + 2 > ctx->len ||
	    ctx->msg[pos] != '-' || ctx->msg[pos + 1] != '-')
		return SIZE_MAX;
	find = imap_mime_line_end(ctx->msg, ctx->len, pos) - pos - 2;
	if (find > 0 && d[find - 1] == '\n')
		find--;
	if (find > 0 && d[find - 1] == '\r')
		find--;
	bool dashes = find > 2 && d[find - 1] == '-' && d[find - 2] == '-';
	for (size_t i = ctx->nbound; i-- > 0;) {
		const struct imap_mime_bound *b = &ctx->bound[i];
		if (b->len > find || memcmp(b->s, d, b->len) != 0 ||
		    (best != SIZE_MAX && ctx->bound[best].len >= b->len))
			continue;
		best = i;
		if (b->len == find || (dashes && b->len + 2 == find))
			break;
	}
	if (best != SIZE_MAX) {
		size_t bl = ctx->bound[best].len;
		*close_r = find >= bl + 2 && d[bl] == '-' && d[bl + 1] == '-';
	}
	return best;
}

/* imap_mime_scan - the first boundary line at or after the line at pos. */
static struct imap_mime_hit imap_mime_scan(const struct imap_mime_ctx *ctx, size_t pos)
{
	struct imap_mime_hit hit = { ctx->len, SIZE_MAX, false, false };
	size_t start = pos;

	if (ctx->nbound == 0)
		return hit;
	while (pos < ctx->len) {
		size_t b = imap_mime_bound_match(ctx, pos, &hit.close);
		if (b != SIZE_MAX) {
			hit.pos = pos;
			hit.bound = b;
			hit.first = pos == start;
			return hit;
		}
		pos = imap_mime_line_end(ctx->msg, ctx->len, pos);
	}
	return hit;
}

/* imap_mime_content_end - where content from start ends before a hit: the
 * [CR]LF before a boundary line belongs to the boundary (RFC 2046 5.1.1). */
static size_t imap_mime_content_end(const struct imap_mime_ctx *ctx, size_t start,
				    const struct imap_mime_hit *hit)
{
	size_t e = hit->pos;

	if (hit->bound == SIZE_MAX || hit->first || e <= start)
		return e;
	e--;
	if (e > start && ctx->msg[e - 1] == '\r')
		e--;
	return e;
}

/* imap_mime_new_part - a part starting at pos under parent. */
static struct imap_mime_part *imap_mime_new_part(struct imap_mime_ctx *ctx,
						 struct imap_mime_part *parent, size_t pos)
{
	struct imap_mime_part *part = imap_mime_alloc(ctx->m, sizeof(*part));

	part->parent = parent;
	part->hdr_off = pos;
	if (parent != NULL && (parent->flags & IMAP_MIME_MULTIPART) != 0)
		part->flags |= IMAP_MIME_IS_MIME; /* a body part is MIME (RFC 2046 5.1) */
	ctx->m->nparts++;
	return part;
}

/* imap_mime_header - read a part's header; true when a boundary line cut
 * it short (then *hit says where). */
static bool imap_mime_header(struct imap_mime_ctx *ctx, struct imap_mime_part *part,
			     struct imap_mime_hdr_state *st, struct imap_mime_hit *hit)
{
	struct imap_mime_field f;
	size_t pos = part->hdr_off;

	while (pos < ctx->len) {
		if (ctx->msg[pos] == '-' &&
		    (hit->bound = imap_mime_bound_match(ctx, pos, &hit->close)) != SIZE_MAX) {
			hit->pos = pos;
			hit->first = pos == part->hdr_off;
			part->hdr_len = imap_mime_content_end(ctx, part->hdr_off, hit) - part->hdr_off;
			part->body_off = part->hdr_off + part->hdr_len;
			return true;
		}
		if (imap_mime_is_blank(ctx->msg, ctx->len, pos)) {
			pos = imap_mime_line_end(ctx->msg, ctx->len, pos);
			break;
		}
		imap_mime_field_at(ctx->msg, ctx->len, pos, &f);
		imap_mime_content_field(ctx->m, part, &f, st);
		pos = f.end;
	}
	part->hdr_len = pos - part->hdr_off;
	part->body_off = pos;
	return false;
}

/* imap_mime_kind - the part's kind from its Content-Type (RFC 2045 5.2:
 * none, or not MIME, is text/plain; under multipart/digest message/rfc822). */
static void imap_mime_kind(struct imap_mime_ctx *ctx, struct imap_mime_part *part,
			   struct imap_mime_hdr_state *st, size_t depth)
{
	bool deep = depth + 1 >= IMAP_MIME_MAX_DEPTH;

	if ((part->flags & IMAP_MIME_IS_MIME) == 0) {
		imap_mime_content_reset(part);
		st->seen_type = st->has_boundary = false;
	}
	if (!st->seen_type) {
		if (part->parent != NULL && (part->parent->flags & IMAP_MIME_DIGEST) != 0)
			part->flags |= IMAP_MIME_RFC822;
		else
			part->flags |= IMAP_MIME_TEXT;
	} else if (strcasecmp(part->type, "text") == 0) {
		part->flags |= IMAP_MIME_TEXT;
	} else if (strcasecmp(part->type, "message") == 0 && strcasecmp(part->subtype, "rfc822") == 0) {
		part->flags |= IMAP_MIME_RFC822;
	} else if (strcasecmp(part->type, "multipart") == 0 && part->subtype[0] != '\0') {
		part->flags |= IMAP_MIME_MULTIPART;
		if (strcasecmp(part->subtype, "digest") == 0)
			part->flags |= IMAP_MIME_DIGEST;
		if (deep && st->has_boundary)
			part->flags &= ~(unsigned)(IMAP_MIME_MULTIPART | IMAP_MIME_DIGEST);
	}
	if ((part->flags & IMAP_MIME_RFC822) != 0 && (deep || ctx->m->nparts >= IMAP_MIME_MAX_PARTS))
		part->flags &= ~(unsigned)IMAP_MIME_RFC822;
}

static struct imap_mime_hit imap_mime_part_parse(struct imap_mime_ctx *ctx,
						 struct imap_mime_part *part, size_t depth);

/* imap_mime_multipart - the body parts of a multipart, between its
 * delimiter lines; the preamble and epilogue are skipped. */
static struct imap_mime_hit imap_mime_multipart(struct imap_mime_ctx *ctx, struct imap_mime_part *part,
						const struct imap_mime_hdr_state *st, size_t depth)
{
	size_t own = ctx->nbound;
	struct imap_mime_part **tail = &part->children;
	struct imap_mime_hit hit;

	ctx->bound[own].s = imap_mime_strdup(ctx->m, st->boundary, st->boundary_len);
	ctx->bound[own].len = st->boundary_len;
	ctx->bound[own].owner = part;
	ctx->nbound++;
	hit = imap_mime_scan(ctx, part->body_off);
	while (hit.bound == own) {
		size_t next = imap_mime_line_end(ctx->msg, ctx->len, hit.pos);
		if (hit.close) {
			ctx->nbound = own;
			return imap_mime_scan(ctx, next);
		}
		struct imap_mime_part *child = imap_mime_new_part(ctx, part, next);
		*tail = child;
		tail = &child->next;
		hit = imap_mime_part_parse(ctx, child, depth + 1);
	}
	ctx->nbound = own;
	return hit;
}

/* imap_mime_part_parse - one part (header, then body or children), with
 * its sizes; returns the boundary line (or end) that ended it. */
static struct imap_mime_hit imap_mime_part_parse(struct imap_mime_ctx *ctx,
						 struct imap_mime_part *part, size_t depth)
{
	struct imap_mime_hdr_state st = { 0 };
	struct imap_mime_hit hit;
	bool cut = imap_mime_header(ctx, part, &st, &hit);

	imap_mime_kind(ctx, part, &st, depth);
	if (cut) {
		part->flags &= ~(unsigned)IMAP_MIME_RFC822;
	} else if ((part->flags & IMAP_MIME_MULTIPART) != 0 && st.has_boundary) {
		hit = imap_mime_multipart(ctx, part, &st, depth);
	} else if ((part->flags & IMAP_MIME_RFC822) != 0) {
		part->children = imap_mime_new_part(ctx, part, part->body_off);
		hit = imap_mime_part_parse(ctx, part->children, depth + 1);
	} else {
		hit = imap_mime_scan(ctx, part->body_off);
	}
	part->body_len = imap_mime_content_end(ctx, part->body_off, &hit) - part->body_off;
	part->hdr_size = imap_mime_crlf_size(ctx->msg + part->hdr_off, part->hdr_len, &part->hdr_lines);
	part->body_size = imap_mime_crlf_size(ctx->msg + part->body_off, part->body_len, &part->body_lines);
	return hit;
}

/* imap_mime_parse - the part tree of len bytes at msg (never NULL). */
struct imap_mime *imap_mime_parse(const char *msg, size_t len)
{
	struct imap_mime_ctx ctx;
	struct imap_mime *m = xmalloc(sizeof(*m));

	memset(m, 0, sizeof(*m));
	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = msg;
	ctx.len = len;
	ctx.m = m;
	m->root = imap_mime_new_part(&ctx, NULL, 0);
	imap_mime_part_parse(&ctx, m->root, 0);
	return m;
}

/* imap_search_match - a parsed SEARCH tree against one message, purely; see imap_search.h. */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_date.h"
#include "imap/imap_search.h"
#include "util/xalloc.h"

/* One match in progress: the header and body, lower-cased, fetched at most once. */
struct imap_search_eval {
	const struct imap_search_msg *m;
	char *header, *body, *scratch; /* scratch: one unfolded field value */
	size_t header_len, body_len;
	bool have_header, have_body;
	bool failed; /* a callback failed: the answer is -1 */
};

/* One header field inside the lower-cased header block. */
struct imap_search_field {
	const char *name, *value;
	size_t name_len, value_len;
};

/* imap_search_lower - a lower-cased (ASCII) copy of len bytes. */
static char *imap_search_lower(const char *s, size_t len)
{
	char *d = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		d[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	d[len] = '\0';
	return d;
}

/* imap_search_header_end - the length of the header block up to its empty line. */
static size_t imap_search_header_end(const char *h, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		if (h[pos] == '\n' || (h[pos] == '\r' && pos + 1 < len && h[pos + 1] == '\n'))
			return pos;
		const char *nl = memchr(h + pos, '\n', len - pos);
		pos = nl == NULL ? len : (size_t)(nl - h) + 1;
	}
	return len;
}

/* imap_search_load_header - fetch the header through the callback, once. */
static bool imap_search_load_header(struct imap_search_eval *ev)
{
	const char *data;
	size_t len;

	if (ev->have_header)
		return true;
	if (ev->failed || ev->m->header_cb == NULL || ev->m->header_cb(ev->m->ctx, &data, &len) < 0) {
		ev->failed = true;
		return false;
	}
	ev->header_len = imap_search_header_end(data, len);
	ev->header = imap_search_lower(data, ev->header_len);
	ev->scratch = xmalloc(ev->header_len + 1);
	ev->have_header = true;
	return true;
}

/* imap_search_load_body - fetch the body through the callback, once. */
static bool imap_search_load_body(struct imap_search_eval *ev)
{
	const char *data;
	size_t len;

	if (ev->have_body)
		return true;
	if (ev->failed || ev->m->body_cb == NULL || ev->m->body_cb(ev->m->ctx, &data, &len) < 0) {
		ev->failed = true;
		return false;
	}
	ev->body = imap_search_lower(data, len);
	ev->body_len = len;
	ev->have_body = true;
	return true;
}

/* imap_search_field_next - the field at *pos (continuation lines included); false at the end. */
static bool imap_search_field_next(const char *h, size_t len, size_t *pos,
				   struct imap_search_field *f)
{
	while (*pos < len) {
		size_t start = *pos, end = start;
		const char *nl;
		do {
			nl = memchr(h + end, '\n', len - end);
			end = nl == NULL ? len : (size_t)(nl - h) + 1;
		} while (end < len && (h[end] == ' ' || h[end] == '\t'));
		*pos = end;
		const char *colon = memchr(h + start, ':', end - start);
		nl = memchr(h + start, '\n', end - start);
		if (colon == NULL || (nl != NULL && colon > nl) || h[start] == ' ' || h[start] == '\t')
			continue; /* not a field: a stray line */
		f->name = h + start;
		f->name_len = (size_t)(colon - f->name);
		while (f->name_len > 0 && (f->name[f->name_len - 1] == ' ' || f->name[f->name_len - 1] == '\t'))
			f->name_len--;
		f->value = colon + 1;
		f->value_len = (size_t)(h + end - f->value);
		return true;
	}
	return false;
}

/* imap_search_unfold - the field value without its CRs and LFs (RFC 5322 2.2.3), in scratch. */
static size_t imap_search_unfold(struct imap_search_eval *ev, const struct imap_search_field *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->value_len; i++)
		if (f->value[i] != '\r' && f->value[i] != '\n')
			ev->scratch[n++] = f->value[i];
	return n;
}

/* imap_search_field_value - the first field named name (lower-case), unfolded into scratch. */
static bool imap_search_field_value(struct imap_search_eval *ev, const char *name, size_t *len_r)
{
	struct imap_search_field f;
	size_t pos = 0, name_len = strlen(name);

	while (imap_search_field_next(ev->header, ev->header_len, &pos, &f)) {
		if (f.name_len == name_len && memcmp(f.name, name, name_len) == 0) {
			*len_r = imap_search_unfold(ev, &f);
			return true;
		}
	}
	return false;
}

/* imap_search_header - some field named n->name contains n->value. */
static bool imap_search_header(struct imap_search_eval *ev, const struct imap_search_node *n)
{
	struct imap_search_field f;
	size_t pos = 0, name_len = strlen(n->name);

	if (!imap_search_load_header(ev))
		return false;
	while (imap_search_field_next(ev->header, ev->header_len, &pos, &f)) {
		if (f.name_len != name_len || memcmp(f.name, n->name, name_len) != 0)
			continue;
		size_t len = imap_search_unfold(ev, &f);
		if (memmem(ev->scratch, len, n->value, n->value_len) != NULL)
			return true;
	}
	return false;
}

/* imap_search_text - BODY: in the body; TEXT: in the header or the body. */
static bool imap_search_text(struct imap_search_eval *ev, const struct imap_search_node *n)
{
	if (n->key == IMAP_SEARCH_TEXT) {
		if (!imap_search_load_header(ev))
			return false;
		if (memmem(ev->header, ev->header_len, n->value, n->value_len) != NULL)
			return true;
	}
	if (!imap_search_load_body(ev))
		return false;
	return memmem(ev->body, ev->body_len, n->value, n->value_len) != NULL;
}

/* imap_search_sent_day - the day written in Date:, or the internal date's. */
static int64_t imap_search_sent_day(struct imap_search_eval *ev)
{
	const struct imap_search_msg *m = ev->m;
	size_t len;
	time_t t;
	int tzoff;

	if (imap_search_load_header(ev) && imap_search_field_value(ev, "date", &len) &&
	    imap_date_parse_rfc5322(ev->scratch, len, &t, &tzoff) == 0)
		return imap_date_day(t, tzoff);
	return imap_date_day(m->internal_date, m->internal_tzoff);
}

/* imap_search_date - the date keys: compare calendar days. */
static bool imap_search_date(struct imap_search_eval *ev, const struct imap_search_node *n)
{
	int64_t day;

	switch (n->key) {
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
		day = imap_date_day(ev->m->internal_date, ev->m->internal_tzoff);
		break;
	default:
		day = imap_search_sent_day(ev);
	}
	if (n->key == IMAP_SEARCH_BEFORE || n->key == IMAP_SEARCH_SENTBEFORE)
		return day < n->day;
	if (n->key == IMAP_SEARCH_ON || n->key == IMAP_SEARCH_SENTON)
		return day == n->day;
	return day >= n->day;
}

static bool imap_search_node(struct imap_search_eval *ev, const struct imap_search_node *n);

/* imap_search_cheap - a key answered from the index alone (no header, no body, no children). */
static bool imap_search_cheap(const struct imap_search_node *n)
{
	switch (n->key) {
	case IMAP_SEARCH_AND:
	case IMAP_SEARCH_OR:
	case IMAP_SEARCH_NOT:
	case IMAP_SEARCH_HEADER:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		return false;
	default:
		return true;
	}
}

/* imap_search_and - every child matches; the cheap ones are tried first. */
static bool imap_search_and(struct imap_search_eval *ev, const struct imap_search_node *n)
{
	for (const struct imap_search_node *c = n->first; c != NULL; c = c->next)
		if (imap_search_cheap(c) && !imap_search_node(ev, c))
			return false;
	for (const struct imap_search_node *c = n->first; c != NULL; c = c->next)
		if (!imap_search_cheap(c) && !imap_search_node(ev, c))
			return false;
	return true;
}

/* imap_search_keyword - KEYWORD / UNKEYWORD against the message's keyword bits. */
static bool imap_search_keyword(const struct imap_search_msg *m, const struct imap_search_node *n)
{
	bool has = n->keyword >= 0 && (m->keywords >> n->keyword & 1) != 0;

	return n->key == IMAP_SEARCH_KEYWORD ? has : !has;
}

/* imap_search_node - one key (and its subtree) against the message. */
static bool imap_search_node(struct imap_search_eval *ev, const struct imap_search_node *n)
{
	const struct imap_search_msg *m = ev->m;

	switch (n->key) {
	case IMAP_SEARCH_AND:
		return imap_search_and(ev, n);
	case IMAP_SEARCH_OR:
		return imap_search_node(ev, n->first) || imap_search_node(ev, n->first->next);
	case IMAP_SEARCH_NOT:
		return !imap_search_node(ev, n->first);
	case IMAP_SEARCH_FLAGS:
		return (m->flags & n->set_mask) == n->set_mask && (m->flags & n->clear_mask) == 0;
	case IMAP_SEARCH_KEYWORD:
	case IMAP_SEARCH_UNKEYWORD:
		return imap_search_keyword(m, n);
	case IMAP_SEARCH_SEQSET:
		return imap_seqset_contains(&n->set, m->seq, m->seq_max);
	case IMAP_SEARCH_UIDSET:
		return imap_seqset_contains(&n->set, m->uid, m->uid_max);
	case IMAP_SEARCH_HEADER:
		return imap_search_header(ev, n);
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		return imap_search_text(ev, n);
	case IMAP_SEARCH_LARGER:
		return m->size > n->number;
	case IMAP_SEARCH_SMALLER:
		return m->size < n->number;
	case IMAP_SEARCH_MODSEQ:
		return m->modseq >= n->number;
	default:
		return imap_search_date(ev, n);
	}
}

/* imap_search_match - evaluate the tree; free what the evaluation fetched. */
int imap_search_match(const struct imap_search *s, const struct imap_search_msg *m)
{
	struct imap_search_eval ev = { .m = m };
	bool match = imap_search_node(&ev, &s->nodes[0]);

	free(ev.header);
	free(ev.body);
	free(ev.scratch);
	if (ev.failed)
		return -1;
	return match ? 1 : 0;
}

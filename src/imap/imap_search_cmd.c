/*
 * imap_search_cmd - SEARCH and UID SEARCH (RFC 9051 6.4.4), with ESEARCH
 * answers (RFC 4731) when RETURN is given. The match runs on a worker:
 * header and body keys read the files. The session is busy meanwhile, so
 * the worker may read its view of the mailbox.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_mime.h"
#include "imap/imap_msgfile.h"
#include "imap/imap_search.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

struct imap_search_job {
	struct imap_session *s;
	const struct imap_mailbox *m; /* the session's: it is busy until the answer */
	struct imap_search *search;
	bool uid;
	bool need_size, need_date;
	uint32_t *hits; /* sequence numbers or UIDs, ascending */
	size_t nhits;
	uint64_t modseq; /* the highest MODSEQ of the hits (a MODSEQ key: RFC 7162 3.1.5) */
	int rc;
};

/* One message being matched, with its file loaded as the keys ask. */
struct imap_search_ctx {
	struct imap_search_job *j;
	size_t i;
	struct imap_msgfile *f;
	int loaded; /* 0 nothing, 1 header, 2 whole */
};

/* imap_search_load - the message's file, at least header (1) or whole (2); -1 on failure. */
static int imap_search_load(struct imap_search_ctx *c, int want)
{
	const struct imap_msg *m = &c->j->m->st.msgs[c->i];

	if (c->loaded >= want)
		return 0;
	if (imap_msgfile_load(c->f, c->j->m->dir, m->file, m->in_new, want == 1) < 0)
		return -1;
	c->loaded = want;
	return 0;
}

/* imap_search_header_cb - the raw header block of the message. */
static int imap_search_header_cb(void *ctx, const char **data_r, size_t *len_r)
{
	struct imap_search_ctx *c = ctx;

	if (imap_search_load(c, 1) < 0)
		return -1;
	*data_r = c->f->data;
	*len_r = imap_mime_header_end(c->f->data, c->f->len);
	return 0;
}

/* imap_search_body_cb - the raw body of the message. */
static int imap_search_body_cb(void *ctx, const char **data_r, size_t *len_r)
{
	struct imap_search_ctx *c = ctx;
	size_t hdr;

	if (imap_search_load(c, 2) < 0)
		return -1;
	hdr = imap_mime_header_end(c->f->data, c->f->len);
	*data_r = c->f->data + hdr;
	*len_r = c->f->len - hdr;
	return 0;
}

/* imap_search_msg_fill - what the match knows of message i without its file, plus size and date. */
static int imap_search_msg_fill(struct imap_search_ctx *c, struct imap_search_msg *sm)
{
	const struct imap_folder_state *st = &c->j->m->st;
	const struct imap_msg *m = &st->msgs[c->i];

	memset(sm, 0, sizeof(*sm));
	sm->seq = (uint32_t)c->i + 1;
	sm->uid = m->uid;
	sm->seq_max = (uint32_t)st->n;
	sm->uid_max = st->n ? st->msgs[st->n - 1].uid : 0;
	sm->flags = m->flags;
	sm->keywords = m->keywords;
	sm->modseq = m->modseq;
	sm->size = m->size;
	sm->internal_date = (time_t)m->date;
	sm->header_cb = imap_search_header_cb;
	sm->body_cb = imap_search_body_cb;
	sm->ctx = c;
	if ((c->j->need_size && m->size == 0) || (c->j->need_date && m->date < 0)) {
		if (imap_search_load(c, c->j->need_size && m->size == 0 ? 2 : 1) < 0)
			return -1;
		if (m->size == 0)
			sm->size = imap_msgfile_wire_size(c->f);
		sm->internal_date = (time_t)c->f->mtime;
	}
	return 0;
}

/* imap_search_work - on a worker: match every message. */
static void imap_search_work(void *arg)
{
	struct imap_search_job *j = arg;
	const struct imap_folder_state *st = &j->m->st;
	struct imap_msgfile f = { 0 };

	j->hits = xcalloc(st->n + 1, sizeof(*j->hits));
	for (size_t i = 0; i < st->n; i++) {
		struct imap_search_ctx c = { .j = j, .i = i, .f = &f };
		struct imap_search_msg sm;
		int r = imap_search_msg_fill(&c, &sm) < 0 ? 0 : imap_search_match(j->search, &sm);

		if (r > 0) {
			j->hits[j->nhits++] = j->uid ? st->msgs[i].uid : (uint32_t)i + 1;
			if (st->msgs[i].modseq > j->modseq)
				j->modseq = st->msgs[i].modseq;
		}
	}
	imap_msgfile_free(&f);
}

/* imap_search_set - the hits as a compact sequence set ("1:3,7") into out. */
static void imap_search_set(struct evbuffer *out, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = i;

		while (k + 1 < n && v[k + 1] == v[k] + 1)
			k++;
		evbuffer_add_printf(out, "%s%u", i ? "," : "", v[i]);
		if (k > i)
			evbuffer_add_printf(out, ":%u", v[k]);
		i = k + 1;
	}
}

/* imap_search_esearch - "* ESEARCH (TAG "t") [UID] MIN MAX COUNT ALL" (RFC 4731 3.1). */
static void imap_search_esearch(struct imap_session *s, const struct imap_search_job *j)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	unsigned opts = j->search->return_opts ? j->search->return_opts : IMAP_SEARCH_RETURN_ALL;

	evbuffer_add_printf(out, "* ESEARCH (TAG \"%s\")%s", s->tag, j->uid ? " UID" : "");
	if ((opts & IMAP_SEARCH_RETURN_MIN) && j->nhits)
		evbuffer_add_printf(out, " MIN %u", j->hits[0]);
	if ((opts & IMAP_SEARCH_RETURN_MAX) && j->nhits)
		evbuffer_add_printf(out, " MAX %u", j->hits[j->nhits - 1]);
	if (opts & IMAP_SEARCH_RETURN_COUNT)
		evbuffer_add_printf(out, " COUNT %zu", j->nhits);
	if ((opts & IMAP_SEARCH_RETURN_ALL) && j->nhits) {
		evbuffer_add(out, " ALL ", 5);
		imap_search_set(out, j->hits, j->nhits);
	}
	if (j->search->modseq && j->nhits)
		evbuffer_add_printf(out, " MODSEQ %llu", (unsigned long long)j->modseq);
	evbuffer_add(out, "\r\n", 2);
}

/* imap_search_done_cb - on the loop: the answer. */
static void imap_search_done_cb(void *arg)
{
	struct imap_search_job *j = arg;
	struct imap_session *s = j->s;

	if (imap_wait_done(s)) {
		if (j->search->esearch || (s->enabled & IMAP_EN_REV2)) { /* RFC 9051 7.3.4: ESEARCH only */
			imap_search_esearch(s, j);
		} else {
			struct evbuffer *out = bufferevent_get_output(s->bev);

			evbuffer_add(out, "* SEARCH", 8);
			for (size_t i = 0; i < j->nhits; i++)
				evbuffer_add_printf(out, " %u", j->hits[i]);
			if (j->search->modseq && j->nhits)
				evbuffer_add_printf(out, " (MODSEQ %llu)", (unsigned long long)j->modseq);
			evbuffer_add(out, "\r\n", 2);
		}
		imap_tagged(s, "OK %sSEARCH completed", j->uid ? "UID " : "");
		imap_resume(s);
	}
	imap_search_free(&j->search);
	free(j->hits);
	free(j);
}

/* imap_search_keyword_cb - a keyword name's index in the folder, or -1. */
static int imap_search_keyword_cb(void *ctx, const char *name)
{
	const struct imap_folder_state *st = ctx;

	return imap_keywords_find(&st->kw, name);
}

/* imap_search_needs - which of the message's size and date the keys compare. */
static void imap_search_needs(struct imap_search_job *j)
{
	for (size_t i = 0; i < j->search->count; i++) {
		enum imap_search_key k = j->search->nodes[i].key;

		j->need_size |= k == IMAP_SEARCH_LARGER || k == IMAP_SEARCH_SMALLER;
		j->need_date |= k >= IMAP_SEARCH_BEFORE && k <= IMAP_SEARCH_SENTSINCE;
	}
}

void imap_search_cmd(struct imap_session *s, const struct imap_call *c)
{
	struct imap_search *search = NULL;
	const char *error = "Invalid search";
	int r = imap_search_parse(c->args, c->count, &imap_search_default_limits, &search, &error);

	if (r == IMAP_SEARCH_BADCHARSET) {
		imap_tagged(s, "NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
		return;
	}
	if (r < 0) {
		imap_bad(s, "%s", error);
		return;
	}
	struct imap_search_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->m = s->mbox;
	j->search = search;
	j->uid = c->uid;
	if (search->modseq)
		s->enabled |= IMAP_EN_CONDSTORE; /* RFC 7162 3.1 */
	imap_search_resolve_keywords(search, imap_search_keyword_cb, &s->mbox->st);
	imap_search_needs(j);
	imap_busy(s);
	s->waiting = true;
	imap_submit(s, imap_search_work, imap_search_done_cb, j);
}

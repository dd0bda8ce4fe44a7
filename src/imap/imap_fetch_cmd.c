/*
 * imap_fetch_cmd - FETCH and UID FETCH (RFC 9051 6.4.5, 7.5.2). The answer
 * is produced message by message as the client reads it (IMAP_M_STREAM):
 * a FETCH 1:* BODY[] of a large mailbox holds no other session up and
 * never more than IMAP_OUTPUT_MAX of output in memory. A message's file is
 * read only when an item needs it, and only its header for ENVELOPE and
 * header sections.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_bodystructure.h"
#include "imap/imap_cache.h"
#include "imap/imap_date.h"
#include "imap/imap_envelope.h"
#include "imap/imap_fetch_items.h"
#include "imap/imap_folder.h"
#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_mime.h"
#include "imap/imap_msgfile.h"
#include "imap/imap_qresync.h"
#include "imap/imap_section.h"
#include "imap/imap_seqset.h"
#include "util/log.h"
#include "util/xalloc.h"

/*
 * Answers gather in the stream's line buffer and move to the output this
 * many bytes at a time: moving each message's answer on its own cost a
 * buffer chain (a malloc and a free) per message, a tenth of a login's CPU.
 */
#define IMAP_FETCH_BATCH 8192

struct imap_stream {
	struct imap_fetch_items items;
	uint32_t *uids; /* the messages to answer, by UID (stable if flags change meanwhile) */
	size_t n, next;
	bool uid;
	bool missing; /* some message's file was gone */
	struct imap_msgfile file;
	int loaded; /* for the current message: 0 nothing, 1 header, 2 whole */
	struct evbuffer *tmp;
	struct evbuffer *line; /* whole answers, moved to the output by the batch (IMAP_FETCH_BATCH) */
};

void imap_stream_free(struct imap_stream **stp)
{
	struct imap_stream *st = *stp;

	if (st == NULL)
		return;
	imap_fetch_items_free(&st->items);
	imap_msgfile_free(&st->file);
	if (st->tmp != NULL)
		evbuffer_free(st->tmp);
	if (st->line != NULL)
		evbuffer_free(st->line);
	free(st->uids);
	free(st);
	*stp = NULL;
}

/* imap_fetch_load - the current message's file, at least its header (1) or whole (2). */
static int imap_fetch_load(struct imap_session *s, size_t i, int want)
{
	struct imap_stream *st = s->stream;
	struct imap_msg *m = &s->mbox->st.msgs[i];

	if (st->loaded >= want)
		return 0;
	if (imap_msgfile_load(&st->file, s->mbox->dir, m->file, m->in_new, want == 1) < 0)
		return -1;
	st->loaded = want;
	m->date = st->file.mtime;
	if (want == 2 && m->size == 0)
		m->size = imap_section_size(st->file.data, st->file.len);
	return 0;
}

/* imap_fetch_literal - " NAME {n}\r\n" and the bytes of a section of the loaded message. */
static void imap_fetch_literal(struct imap_session *s, struct evbuffer *out, const char *name,
			       const struct imap_section *sec)
{
	struct imap_stream *st = s->stream;
	uint64_t size = 0;

	imap_section_write(st->tmp, st->file.data, st->file.len, sec, &size);
	evbuffer_add_printf(out, "%s {%llu}\r\n", name, (unsigned long long)size);
	evbuffer_add_buffer(out, st->tmp);
}

/* imap_fetch_section - a section item (BODY[...], RFC822, RFC822.HEADER, RFC822.TEXT). */
static int imap_fetch_section(struct imap_session *s, struct evbuffer *out, size_t i,
			      const struct imap_fetch_item *it)
{
	struct imap_section sec = it->section;
	bool header = false;

	if (it->attr == IMAP_FETCH_RFC822_HEADER || it->attr == IMAP_FETCH_RFC822_TEXT) {
		memset(&sec, 0, sizeof(sec));
		sec.text = it->attr == IMAP_FETCH_RFC822_HEADER ? IMAP_SECTION_HEADER : IMAP_SECTION_TEXT;
	} else if (it->attr == IMAP_FETCH_RFC822) {
		memset(&sec, 0, sizeof(sec));
	}
	header = sec.nparts == 0 && !sec.partial &&
		 (sec.text == IMAP_SECTION_HEADER || sec.text == IMAP_SECTION_FIELDS_IN ||
		  sec.text == IMAP_SECTION_FIELDS_NOT);
	if (imap_fetch_load(s, i, header ? 1 : 2) < 0)
		return -1;
	imap_fetch_literal(s, out, it->name, &sec);
	return 0;
}

/* imap_fetch_envelope - "ENVELOPE (...)": from the cache, or from the header (then cached). */
static int imap_fetch_envelope(struct imap_session *s, struct evbuffer *out, size_t i)
{
	struct imap_stream *st = s->stream;
	struct imap_cache *cache = s->daemon->imap_cache;
	const char *file = s->mbox->st.msgs[i].file;
	char key[IMAP_FOLDER_PATH_MAX + 512]; /* folder and base name: one account's file */
	size_t dlen = strlen(s->mbox->dir), blen = strcspn(file, ":"), klen = dlen + 1 + blen;

	if (klen >= sizeof(key)) {
		cache = NULL;
	} else {
		memcpy(key, s->mbox->dir, dlen);
		key[dlen] = '/';
		memcpy(key + dlen + 1, file, blen);
	}
	evbuffer_add(out, "ENVELOPE ", 9);
	if (cache != NULL && imap_cache_get(cache, key, klen, out))
		return 0;
	if (imap_fetch_load(s, i, 1) < 0 ||
	    imap_envelope_write(st->tmp, st->file.data,
				imap_mime_header_end(st->file.data, st->file.len)) < 0)
		return -1;
	if (cache != NULL)
		imap_cache_put(cache, key, klen, (const char *)evbuffer_pullup(st->tmp, -1),
			       evbuffer_get_length(st->tmp));
	return evbuffer_add_buffer(out, st->tmp);
}

/* imap_fetch_number - "NAME n" without printf (the items every message of a FETCH 1:* has). */
static void imap_fetch_number(struct evbuffer *out, const char *name, size_t name_len,
			      unsigned long long n)
{
	char buf[48], *p = buf + sizeof(buf);

	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	p -= name_len;
	memcpy(p, name, name_len);
	evbuffer_add(out, p, (size_t)(buf + sizeof(buf) - p));
}

/* imap_fetch_flags - "FLAGS (...)" of message i after prefix. */
static void imap_fetch_flags(struct imap_session *s, struct evbuffer *out, size_t i,
			     const char *prefix)
{
	char buf[1024];
	const char *flags = imap_mailbox_flags(s->mbox, i, buf, sizeof(buf));

	evbuffer_add(out, prefix, strlen(prefix));
	evbuffer_add(out, flags, strlen(flags));
	evbuffer_add(out, ")", 1);
}

/* imap_fetch_item - one item of message i into out; -1 when its file is gone. */
static int imap_fetch_item(struct imap_session *s, struct evbuffer *out, size_t i,
			   const struct imap_fetch_item *it)
{
	struct imap_msg *m = &s->mbox->st.msgs[i];
	struct imap_stream *st = s->stream;
	char buf[1024];

	switch (it->attr) {
	case IMAP_FETCH_UID:
		imap_fetch_number(out, "UID ", 4, m->uid);
		return 0;
	case IMAP_FETCH_MODSEQ:
		evbuffer_add_printf(out, "MODSEQ (%llu)", (unsigned long long)m->modseq);
		return 0;
	case IMAP_FETCH_FLAGS:
		imap_fetch_flags(s, out, i, "FLAGS (");
		return 0;
	case IMAP_FETCH_RFC822_SIZE:
		if (m->size == 0 && imap_fetch_load(s, i, 2) < 0)
			return -1;
		imap_fetch_number(out, "RFC822.SIZE ", 12, m->size);
		return 0;
	case IMAP_FETCH_INTERNALDATE:
		if (m->date < 0 && imap_fetch_load(s, i, 1) < 0)
			return -1;
		imap_date_format_datetime((time_t)m->date, 0, buf);
		evbuffer_add_printf(out, "INTERNALDATE \"%s\"", buf);
		return 0;
	case IMAP_FETCH_ENVELOPE:
		return imap_fetch_envelope(s, out, i);
	case IMAP_FETCH_BODY:
	case IMAP_FETCH_BODYSTRUCTURE:
		if (imap_fetch_load(s, i, 2) < 0)
			return -1;
		evbuffer_add_printf(out, "%s ", it->attr == IMAP_FETCH_BODY ? "BODY" : "BODYSTRUCTURE");
		return imap_bodystructure_write(out, st->file.data, st->file.len,
						it->attr == IMAP_FETCH_BODYSTRUCTURE);
	default:
		return imap_fetch_section(s, out, i, it);
	}
}

/* imap_fetch_seen - a non-PEEK body item on a writable mailbox sets \Seen; true if it changed. */
static bool imap_fetch_seen(struct imap_session *s, size_t i)
{
	struct imap_msg *m = &s->mbox->st.msgs[i];

	if (!s->stream->items.sets_seen || s->mbox->readonly || (m->flags & IMAP_FLAG_SEEN))
		return false;
	if (imap_mailbox_set_flags(s->mbox, i, m->flags | IMAP_FLAG_SEEN, m->keywords) < 0) {
		log_err("%08x imap cannot set \\Seen on %s: %s", s->id, m->file, strerror(errno));
		return false;
	}
	return true;
}

/* imap_fetch_one - "* n FETCH (...)" of message i; false when its file is gone. */
static bool imap_fetch_one(struct imap_session *s, size_t i)
{
	struct imap_stream *st = s->stream;
	struct evbuffer *line = st->line;
	bool seen = imap_fetch_seen(s, i), ok = true, flags = false;
	size_t before = evbuffer_get_length(line);

	st->loaded = 0;
	imap_fetch_number(line, "* ", 2, i + 1);
	evbuffer_add(line, " FETCH (", 8);
	for (size_t k = 0; k < st->items.count && ok; k++) {
		flags |= st->items.items[k].attr == IMAP_FETCH_FLAGS;
		if (k > 0)
			evbuffer_add(line, " ", 1);
		ok = imap_fetch_item(s, line, i, &st->items.items[k]) == 0;
	}
	if (ok && seen && !flags) /* RFC 9051 6.4.5: the changed flags come with the answer */
		imap_fetch_flags(s, line, i, " FLAGS (");
	evbuffer_add(line, ")\r\n", 3);
	if (!ok) { /* the answers before this one go, this one's start is dropped */
		evbuffer_remove_buffer(line, bufferevent_get_output(s->bev), before);
		evbuffer_drain(line, evbuffer_get_length(line));
	} else if (evbuffer_get_length(line) >= IMAP_FETCH_BATCH) {
		evbuffer_add_buffer(bufferevent_get_output(s->bev), line);
	}
	return ok;
}

void imap_stream_pump(struct imap_session *s)
{
	struct imap_stream *st = s->stream;
	struct evbuffer *out = bufferevent_get_output(s->bev);

	while (st->next < st->n && evbuffer_get_length(out) < IMAP_OUTPUT_MAX) {
		long i = imap_mailbox_find_uid(s->mbox, st->uids[st->next++]);

		if (i >= 0 && !imap_fetch_one(s, (size_t)i))
			st->missing = true;
	}
	evbuffer_add_buffer(out, st->line); /* the batch's rest */
	if (st->next < st->n)
		return; /* on when the output drains (imap_session_write_cb) */
	bool missing = st->missing, uid = st->uid;

	imap_stream_free(&s->stream);
	if (missing)
		imap_tagged(s, "NO [EXPUNGEISSUED] Some messages were expunged meanwhile");
	else
		imap_tagged(s, "OK %sFETCH completed", uid ? "UID " : "");
	imap_resume(s);
}

/* imap_fetch_select - the UIDs of the messages the set names (changed since CHANGEDSINCE); -1 on
 * a sequence number too high. */
static int imap_fetch_select(struct imap_session *s, const struct imap_seqset *set, bool uid,
			     struct imap_stream *st)
{
	uint64_t since = st->items.changedsince ? st->items.changedsince_modseq : 0;
	const struct imap_folder_state *fs = &s->mbox->st;
	uint32_t max = uid ? (fs->n ? fs->msgs[fs->n - 1].uid : 0) : (uint32_t)fs->n;

	if (!uid && imap_seqset_highest(set, max) > fs->n)
		return -1;
	st->uids = xcalloc(fs->n + 1, sizeof(*st->uids));
	for (size_t i = 0; i < fs->n; i++) {
		if (imap_seqset_contains(set, uid ? fs->msgs[i].uid : (uint32_t)i + 1, max) &&
		    (since == 0 || fs->msgs[i].modseq > since))
			st->uids[st->n++] = fs->msgs[i].uid;
	}
	return 0;
}

/* imap_fetch_unsupported - what this session cannot answer (BINARY; VANISHED without QRESYNC). */
static const char *imap_fetch_unsupported(const struct imap_session *s,
					  const struct imap_fetch_items *items)
{
	for (size_t k = 0; k < items->count; k++) {
		enum imap_fetch_attr a = items->items[k].attr;

		if (a == IMAP_FETCH_BINARY || a == IMAP_FETCH_BINARY_SIZE)
			return "BINARY is not supported";
	}
	if (items->vanished && !(s->enabled & IMAP_EN_QRESYNC))
		return "VANISHED needs ENABLE QRESYNC";
	return NULL;
}

/* imap_fetch_vanished - UID FETCH (CHANGEDSINCE n VANISHED): "* VANISHED (EARLIER) uids" first. */
static void imap_fetch_vanished(struct imap_session *s, const struct imap_seqset *set,
				const struct imap_fetch_items *items)
{
	const struct imap_folder_state *st = &s->mbox->st;
	char *uids;

	if (!items->vanished || st->highestmodseq == 0)
		return;
	uids = imap_qresync_vanished(s->mbox->dir, st->uidvalidity, items->changedsince_modseq,
				     set, st->uidnext);
	if (uids != NULL)
		imap_reply(s, "* VANISHED (EARLIER) %s", uids);
	free(uids);
}

void imap_fetch_cmd(struct imap_session *s, const struct imap_call *c)
{
	struct imap_stream *st = xcalloc(1, sizeof(*st));
	struct imap_seqset set;
	const char *error = "FETCH needs a message set and items";

	if (c->count < 2 || c->args[0].type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(c->args[0].u.str.data, c->args[0].u.str.len, IMAP_SEQSET_RANGES_MAX,
			      &set, &error) < 0) {
		free(st);
		imap_bad(s, "%s", error);
		return;
	}
	if (imap_fetch_items_parse(c->args + 1, c->count - 1, c->uid, IMAP_FETCH_ITEMS_MAX, &st->items,
				   &error) < 0 ||
	    (error = imap_fetch_unsupported(s, &st->items)) != NULL ||
	    (error = "Invalid message sequence number", imap_fetch_select(s, &set, c->uid, st) < 0)) {
		imap_seqset_clear(&set);
		imap_stream_free(&st);
		imap_bad(s, "%s", error);
		return;
	}
	if (st->items.modseq)
		s->enabled |= IMAP_EN_CONDSTORE; /* RFC 7162 3.1: MODSEQ and CHANGEDSINCE enable it */
	imap_fetch_vanished(s, &set, &st->items);
	imap_seqset_clear(&set);
	st->uid = c->uid;
	st->tmp = evbuffer_new();
	st->line = evbuffer_new();
	s->stream = st;
	s->mode = IMAP_M_STREAM;
	imap_stream_pump(s);
}

/* imap_mailbox - the session's view of its selected folder, refreshed from worker scans. */
#include "imap/imap_mailbox.h"

#include <errno.h>
#include <event2/buffer.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_internal.h"
#include "imap/imap_mflags.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* A scan on a worker for a session. */
struct imap_mailbox_job {
	struct imap_session *s;
	char *home, *dir;
	struct imap_folder_state st;
	int rc;
	char error[256];
	imap_mailbox_done_fn *done;
};

void imap_folder_state_clear(struct imap_folder_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->msgs[i].file);
	free(st->msgs);
	imap_keywords_clear(&st->kw);
	memset(st, 0, sizeof(*st));
}

void imap_mailbox_close(struct imap_mailbox **mp)
{
	struct imap_mailbox *m = *mp;

	if (m == NULL)
		return;
	imap_folder_state_clear(&m->st);
	free(m->dir);
	free(m->name);
	free(m);
	*mp = NULL;
}

long imap_mailbox_find_uid(const struct imap_mailbox *m, uint32_t uid)
{
	size_t lo = 0, hi = m->st.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->st.msgs[mid].uid == uid)
			return (long)mid;
		if (m->st.msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int imap_mailbox_path(const struct imap_mailbox *m, size_t i, char *buf, size_t size)
{
	const struct imap_msg *msg = &m->st.msgs[i];
	int n = snprintf(buf, size, "%s/%s/%s", m->dir, msg->in_new ? "new" : "cur", msg->file);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int imap_mailbox_set_flags(struct imap_mailbox *m, size_t i, unsigned flags, uint32_t keywords)
{
	struct imap_msg *msg = &m->st.msgs[i];
	char name[NAME_MAX + 1], from[PATH_MAX], to[PATH_MAX];

	flags &= ~(unsigned)IMAP_FLAG_RECENT;
	if (imap_mflags_set(msg->file, flags, keywords, name, sizeof(name)) < 0 ||
	    imap_mailbox_path(m, i, from, sizeof(from)) < 0 ||
	    snprintf(to, sizeof(to), "%s/cur/%s", m->dir, name) >= (int)sizeof(to)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (strcmp(from, to) != 0 && rename(from, to) < 0)
		return -1;
	free(msg->file);
	msg->file = xstrdup(name);
	msg->in_new = false;
	msg->flags = (uint8_t)flags;
	msg->keywords = keywords;
	return 0;
}

/* imap_mailbox_add - append word to buf with a space (bounded). */
static void imap_mailbox_add(char *buf, size_t size, const char *word)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? " " : "", word);
}

const char *imap_mailbox_flags(const struct imap_mailbox *m, size_t i, char *buf, size_t size)
{
	static const char *const names[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
					     "\\Draft", "\\Recent" };
	const struct imap_msg *msg = &m->st.msgs[i];

	buf[0] = '\0';
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		if (msg->flags & (1u << f))
			imap_mailbox_add(buf, size, names[f]);
	}
	for (size_t k = 0; k < IMAP_KEYWORDS_MAX; k++) {
		if ((msg->keywords & (1u << k)) && m->st.kw.names[k] != NULL)
			imap_mailbox_add(buf, size, m->st.kw.names[k]);
	}
	return buf;
}

/* imap_mailbox_expunged - "* n EXPUNGE" for old messages missing from st, highest first; how many. */
static size_t imap_mailbox_expunged(struct imap_session *s, const struct imap_folder_state *st)
{
	const struct imap_folder_state *old = &s->mbox->st;
	struct evbuffer *vanished = evbuffer_new(); /* UIDs, highest first: still a valid set */
	size_t gone = 0;

	for (size_t i = old->n; i-- > 0;) {
		uint32_t uid = old->msgs[i].uid;
		size_t lo = 0, hi = st->n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (st->msgs[mid].uid < uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == st->n || st->msgs[lo].uid != uid) {
			if (s->enabled & IMAP_EN_QRESYNC) /* RFC 7162 3.2.10: VANISHED, not EXPUNGE */
				evbuffer_add_printf(vanished, "%s%u", gone ? "," : "", uid);
			else
				imap_reply(s, "* %zu EXPUNGE", i + 1);
			gone++;
		}
	}
	if (evbuffer_get_length(vanished) > 0) {
		evbuffer_add(vanished, "", 1);
		imap_reply(s, "* VANISHED %s", (const char *)evbuffer_pullup(vanished, -1));
	}
	evbuffer_free(vanished);
	return gone;
}

/* imap_mailbox_keywords_same - every letter a names keeps its name in b. */
static bool imap_mailbox_keywords_same(const struct imap_folder_state *a,
				       const struct imap_folder_state *b)
{
	for (size_t k = 0; k < IMAP_KEYWORDS_MAX; k++) {
		if (a->kw.names[k] != NULL &&
		    (b->kw.names[k] == NULL || strcmp(a->kw.names[k], b->kw.names[k]) != 0))
			return false;
	}
	return true;
}

/* imap_mailbox_changed - "* n FETCH (FLAGS (...))" for messages whose flags changed. */
static void imap_mailbox_changed(struct imap_session *s, const struct imap_folder_state *old)
{
	const struct imap_folder_state *st = &s->mbox->st;
	bool same_keywords = imap_mailbox_keywords_same(old, st);
	bool condstore = (s->enabled & IMAP_EN_CONDSTORE) != 0; /* RFC 7162 3.1.4: with MODSEQ */
	size_t j = 0;
	char flags[1024], modseq[48];

	for (size_t i = 0; i < st->n; i++) {
		while (j < old->n && old->msgs[j].uid < st->msgs[i].uid)
			j++;
		if (j == old->n || old->msgs[j].uid != st->msgs[i].uid)
			continue;
		if (old->msgs[j].flags == st->msgs[i].flags && same_keywords &&
		    old->msgs[j].keywords == st->msgs[i].keywords &&
		    (!condstore || old->msgs[j].modseq == st->msgs[i].modseq))
			continue;
		snprintf(modseq, sizeof(modseq), " MODSEQ (%llu)", (unsigned long long)st->msgs[i].modseq);
		imap_reply(s, "* %zu FETCH (UID %u FLAGS (%s)%s)", i + 1, st->msgs[i].uid,
			   imap_mailbox_flags(s->mbox, i, flags, sizeof(flags)), condstore ? modseq : "");
	}
}

void imap_mailbox_merge(struct imap_session *s, struct imap_folder_state *st)
{
	if (st->uidvalidity != s->mbox->st.uidvalidity) {
		/* the folder was made anew (its uidlist lost): nothing the client knows holds */
		imap_folder_state_clear(st);
		imap_reply(s, "* BYE [UNAVAILABLE] The mailbox was recreated (UIDVALIDITY changed)");
		imap_close(s);
		return;
	}
	struct imap_folder_state old = s->mbox->st;
	size_t left = old.n - imap_mailbox_expunged(s, st);

	s->mbox->st = *st;
	memset(st, 0, sizeof(*st));
	imap_mailbox_changed(s, &old);
	if (s->mbox->st.n != left)
		imap_reply(s, "* %zu EXISTS", s->mbox->st.n);
	imap_folder_state_clear(&old);
}

/* imap_mailbox_work - on a worker: scan the folder. */
static void imap_mailbox_work(void *arg)
{
	struct imap_mailbox_job *j = arg;

	j->rc = imap_mailbox_scan(j->home, j->dir, &j->st, j->error, sizeof(j->error));
}

/* imap_mailbox_job_free - the job and what it still holds. */
static void imap_mailbox_job_free(struct imap_mailbox_job *j)
{
	imap_folder_state_clear(&j->st);
	free(j->home);
	free(j->dir);
	free(j);
}

/* imap_mailbox_scanned_cb - on the loop: merge the snapshot, then the caller goes on. */
static void imap_mailbox_scanned_cb(void *arg)
{
	struct imap_mailbox_job *j = arg;
	struct imap_session *s = j->s;

	if (!imap_wait_done(s)) {
		imap_mailbox_job_free(j);
		return;
	}
	s->mbox->scanning = false;
	if (j->rc < 0)
		log_err("%08x imap cannot read %s: %s", s->id, j->dir, j->error);
	else
		imap_mailbox_merge(s, &j->st);
	if (j->done != NULL)
		j->done(s, j->rc);
	imap_mailbox_job_free(j);
}

void imap_mailbox_refresh(struct imap_session *s, imap_mailbox_done_fn *done)
{
	struct imap_mailbox_job *j;

	if (s->mbox->scanning) {
		s->mbox->rescan = true;
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->home = xstrdup(s->home);
	j->dir = xstrdup(s->mbox->dir);
	j->done = done;
	s->mbox->scanning = true;
	s->waiting = true;
	imap_submit(s, imap_mailbox_work, imap_mailbox_scanned_cb, j);
}

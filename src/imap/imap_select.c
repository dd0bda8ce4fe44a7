/*
 * imap_select - SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE and
 * CHECK (RFC 9051 6.3.2, 6.3.3, 6.4.1-6.4.3, RFC 4315 2.1). Reading the
 * folder and removing files run on a worker; the session waits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_folder.h"
#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_qresync.h"
#include "imap/imap_seqset.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* A SELECT's scan on a worker. */
struct imap_select_job {
	struct imap_session *s;
	struct imap_mailbox *m;
	char *home;
	struct imap_qresync q; /* RFC 7162 parameters */
	int rc; /* 0, -1 error, -2 no such folder */
	char error[256];
};

/* Files EXPUNGE removes on a worker. */
struct imap_expunge_job {
	struct imap_session *s;
	char **paths;
	size_t n;
	bool quiet; /* CLOSE: no untagged EXPUNGE, deselect after */
};

/* imap_select_work - on a worker: does the folder exist, and what is in it. */
static void imap_select_work(void *arg)
{
	struct imap_select_job *j = arg;
	char cur[IMAP_FOLDER_PATH_MAX + 8];
	struct stat st;

	snprintf(cur, sizeof(cur), "%s/cur", j->m->dir);
	if (stat(cur, &st) < 0 || !S_ISDIR(st.st_mode)) {
		j->rc = -2;
		return;
	}
	j->rc = imap_mailbox_scan(j->home, j->m->dir, &j->m->st, j->error, sizeof(j->error));
	if (j->rc == 0)
		imap_qresync_work(&j->q, j->m->dir, &j->m->st);
}

/* imap_select_first_unseen - the sequence number of the first message without \Seen, or 0. */
static size_t imap_select_first_unseen(const struct imap_mailbox *m)
{
	for (size_t i = 0; i < m->st.n; i++) {
		if (!(m->st.msgs[i].flags & IMAP_FLAG_SEEN))
			return i + 1;
	}
	return 0;
}

/* imap_select_answer - the untagged data of SELECT / EXAMINE (RFC 9051 6.3.2, RFC 3501 6.3.1). */
static void imap_select_answer(struct imap_session *s)
{
	const struct imap_mailbox *m = s->mbox;
	char keywords[1024] = "";
	size_t unseen = imap_select_first_unseen(m);

	for (size_t k = 0; k < IMAP_KEYWORDS_MAX; k++) {
		if (m->st.kw.names[k] != NULL)
			snprintf(keywords + strlen(keywords), sizeof(keywords) - strlen(keywords),
				 " %s", m->st.kw.names[k]);
	}
	imap_reply(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s)", keywords);
	imap_reply(s, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s)] "
		      "Flags permitted", keywords, m->readonly ? "" : " \\*");
	imap_reply(s, "* %zu EXISTS", m->st.n);
	if (!(s->enabled & IMAP_EN_REV2)) {
		imap_reply(s, "* 0 RECENT");
		if (unseen != 0)
			imap_reply(s, "* OK [UNSEEN %zu] First unseen", unseen);
	}
	imap_reply(s, "* OK [UIDVALIDITY %u] UIDs valid", m->st.uidvalidity);
	imap_reply(s, "* OK [UIDNEXT %u] Predicted next UID", m->st.uidnext);
	if ((s->enabled & IMAP_EN_CONDSTORE) && m->st.highestmodseq != 0)
		imap_reply(s, "* OK [HIGHESTMODSEQ %llu] Highest",
			   (unsigned long long)m->st.highestmodseq);
	else if (s->enabled & IMAP_EN_CONDSTORE)
		imap_reply(s, "* OK [NOMODSEQ] No permanent modsequences");
}

/* imap_select_done_cb - on the loop: the folder is selected, or NO. */
static void imap_select_done_cb(void *arg)
{
	struct imap_select_job *j = arg;
	struct imap_session *s = j->s;

	free(j->home);
	if (!imap_wait_done(s)) {
		imap_mailbox_close(&j->m);
		imap_qresync_clear(&j->q);
		free(j);
		return;
	}
	if (j->rc < 0) {
		if (j->rc == -1)
			log_err("%08x imap cannot read %s: %s", s->id, j->m->dir, j->error);
		imap_mailbox_close(&j->m);
		imap_set_state(s, IMAP_S_AUTH);
		imap_tagged(s, j->rc == -2 ? "NO [NONEXISTENT] Mailbox does not exist"
					   : "NO [UNAVAILABLE] Cannot open the mailbox, try again later");
	} else {
		s->mbox = j->m;
		imap_set_state(s, IMAP_S_SELECTED);
		imap_select_answer(s);
		imap_qresync_answer(s, &j->q);
		imap_tagged(s, "OK [%s] %s completed", s->mbox->readonly ? "READ-ONLY" : "READ-WRITE",
			    s->mbox->readonly ? "EXAMINE" : "SELECT");
	}
	imap_qresync_clear(&j->q);
	free(j);
	imap_resume(s);
}

void imap_select_select(struct imap_session *s, const struct imap_call *c)
{
	char name[IMAP_FOLDER_NAME_MAX], dir[IMAP_FOLDER_PATH_MAX];
	const char *error;

	if (c->count < 1 || c->count > 2 || (c->count == 2 && c->args[1].type != IMAP_ARG_LIST)) {
		imap_bad(s, "%s needs a mailbox name", c->name);
		return;
	}
	if (s->mbox != NULL) { /* RFC 9051 6.3.2: the old one is closed, without expunging */
		imap_mailbox_close(&s->mbox);
		imap_set_state(s, IMAP_S_AUTH);
		imap_reply(s, "* OK [CLOSED] Previous mailbox closed");
	}
	if (imap_folder_resolve(s, &c->args[0], name, sizeof(name), dir, sizeof(dir), &error) < 0) {
		imap_tagged(s, "NO %s", error);
		return;
	}
	struct imap_select_job *j = xcalloc(1, sizeof(*j));

	if (c->count == 2 && imap_qresync_parse(s, &c->args[1], &j->q, &error) < 0) {
		imap_qresync_clear(&j->q);
		free(j);
		imap_bad(s, "%s", error);
		return;
	}
	if (j->q.condstore)
		s->enabled |= IMAP_EN_CONDSTORE; /* RFC 7162 3.1.8 */

	j->s = s;
	j->home = xstrdup(s->home);
	j->m = xcalloc(1, sizeof(*j->m));
	j->m->dir = xstrdup(dir);
	j->m->name = xstrdup(name);
	j->m->readonly = strcmp(c->name, "EXAMINE") == 0;
	imap_busy(s);
	s->waiting = true;
	imap_submit(s, imap_select_work, imap_select_done_cb, j);
}

/* imap_select_check_done - CHECK's refresh is merged. */
static void imap_select_check_done(struct imap_session *s, int rc)
{
	(void)rc;
	imap_tagged(s, "OK CHECK completed");
	imap_resume(s);
}

void imap_select_check(struct imap_session *s, const struct imap_call *c)
{
	(void)c;
	imap_busy(s);
	imap_mailbox_refresh(s, imap_select_check_done);
}

/* imap_expunge_work - on a worker: remove the files (one renamed meanwhile stays: a scan tells). */
static void imap_expunge_work(void *arg)
{
	struct imap_expunge_job *j = arg;

	for (size_t i = 0; i < j->n; i++) {
		if (unlink(j->paths[i]) < 0 && errno != ENOENT)
			log_err("imap expunge: unlink %s: %s", j->paths[i], strerror(errno));
	}
}

/* imap_expunge_refreshed - the removals are merged (untagged EXPUNGEs sent): complete. */
static void imap_expunge_refreshed(struct imap_session *s, int rc)
{
	(void)rc;
	imap_tagged(s, "OK EXPUNGE completed");
	imap_resume(s);
}

/* imap_expunge_done_cb - on the loop: CLOSE deselects; EXPUNGE tells what went. */
static void imap_expunge_done_cb(void *arg)
{
	struct imap_expunge_job *j = arg;
	struct imap_session *s = j->s;

	for (size_t i = 0; i < j->n; i++)
		free(j->paths[i]);
	free(j->paths);
	if (imap_wait_done(s)) {
		if (j->quiet) {
			imap_mailbox_close(&s->mbox);
			imap_set_state(s, IMAP_S_AUTH);
			imap_tagged(s, "OK CLOSE completed");
			imap_resume(s);
		} else {
			imap_mailbox_refresh(s, imap_expunge_refreshed);
		}
	}
	free(j);
}

/* imap_expunge_start - remove the \Deleted messages (those in set, when given) on a worker. */
static void imap_expunge_start(struct imap_session *s, const struct imap_seqset *set, bool quiet)
{
	struct imap_expunge_job *j = xcalloc(1, sizeof(*j));
	const struct imap_folder_state *st = &s->mbox->st;
	uint32_t max = st->n ? st->msgs[st->n - 1].uid : 0;
	char path[IMAP_FOLDER_PATH_MAX + 512];

	j->s = s;
	j->quiet = quiet;
	j->paths = xcalloc(st->n + 1, sizeof(*j->paths));
	for (size_t i = 0; i < st->n; i++) {
		if (!(st->msgs[i].flags & IMAP_FLAG_DELETED) ||
		    (set != NULL && !imap_seqset_contains(set, st->msgs[i].uid, max)) ||
		    imap_mailbox_path(s->mbox, i, path, sizeof(path)) < 0)
			continue;
		j->paths[j->n++] = xstrdup(path);
	}
	imap_busy(s);
	s->waiting = true;
	imap_submit(s, imap_expunge_work, imap_expunge_done_cb, j);
}

void imap_select_expunge(struct imap_session *s, const struct imap_call *c)
{
	struct imap_seqset set;
	const char *error;

	if (c->count != (c->uid ? 1u : 0u) ||
	    (c->uid && (c->args[0].type != IMAP_ARG_ATOM ||
			imap_seqset_parse(c->args[0].u.str.data, c->args[0].u.str.len,
					  IMAP_SEQSET_RANGES_MAX, &set, &error) < 0))) {
		imap_bad(s, c->uid ? "UID EXPUNGE needs a UID set" : "EXPUNGE takes no arguments");
		return;
	}
	if (s->mbox->readonly) {
		if (c->uid)
			imap_seqset_clear(&set);
		imap_tagged(s, "NO [READ-ONLY] The mailbox is read-only");
		return;
	}
	imap_expunge_start(s, c->uid ? &set : NULL, false);
	if (c->uid)
		imap_seqset_clear(&set);
}

void imap_select_close(struct imap_session *s, const struct imap_call *c)
{
	if (c->count != 0) {
		imap_bad(s, "%s takes no arguments", c->name);
		return;
	}
	if (strcmp(c->name, "CLOSE") == 0 && !s->mbox->readonly) {
		imap_expunge_start(s, NULL, true);
		return;
	}
	imap_mailbox_close(&s->mbox);
	imap_set_state(s, IMAP_S_AUTH);
	imap_tagged(s, "OK %s completed", c->name);
}

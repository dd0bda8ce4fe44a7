/*
 * imap_store_cmd - STORE, COPY and MOVE with their UID forms (RFC 9051
 * 6.4.6-6.4.8, RFC 6851 MOVE, RFC 4315 COPYUID). The file work (renames,
 * links, the uidlist) runs on a worker, which may change the session's
 * view of the mailbox: the session is busy until the answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "imap/imap_add.h"
#include "imap/imap_flaglist.h"
#include "imap/imap_folder.h"
#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_mflags.h"
#include "imap/imap_modseq.h"
#include "imap/imap_seqset.h"
#include "imap/imap_uidlist.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

enum imap_store_mode { IMAP_STORE_SET, IMAP_STORE_ADD, IMAP_STORE_REMOVE };

struct imap_store_job {
	struct imap_session *s;
	size_t *idx; /* the messages, as indexes of the (busy) session's view */
	size_t n;
	bool uid;
	/* STORE */
	enum imap_store_mode mode;
	bool silent;
	struct imap_flaglist fl;
	bool missing;
	bool unchanged;          /* (UNCHANGEDSINCE n), RFC 7162 3.1.3 */
	uint64_t unchangedsince;
	size_t *modified;        /* indexes it kept from changing: [MODIFIED ...] */
	size_t nmodified;
	bool condstore;          /* answers carry MODSEQ */
	/* COPY / MOVE */
	bool move;
	char *home, *host;
	char dir[IMAP_FOLDER_PATH_MAX];
	struct imap_add_item *items;
	uint32_t uidvalidity;
	char *error;
};

/* imap_store_job_free - the job and what it holds. */
static void imap_store_job_free(struct imap_store_job *j)
{
	free(j->modified);
	free(j->idx);
	free(j->items);
	free(j->home);
	free(j->host);
	free(j->error);
	free(j);
}

/* imap_store_targets - the indexes the set names into j; -1 on a sequence number too high. */
static int imap_store_targets(struct imap_session *s, const struct imap_arg *arg, bool uid,
			      struct imap_store_job *j, const char **error_r)
{
	const struct imap_folder_state *st = &s->mbox->st;
	uint32_t max = uid ? (st->n ? st->msgs[st->n - 1].uid : 0) : (uint32_t)st->n;
	struct imap_seqset set;

	if (arg->type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(arg->u.str.data, arg->u.str.len, IMAP_SEQSET_RANGES_MAX, &set, error_r) < 0)
		return -1;
	if (!uid && imap_seqset_highest(&set, max) > st->n) {
		imap_seqset_clear(&set);
		*error_r = "Invalid message sequence number";
		return -1;
	}
	j->idx = xcalloc(st->n + 1, sizeof(*j->idx));
	for (size_t i = 0; i < st->n; i++) {
		if (imap_seqset_contains(&set, uid ? st->msgs[i].uid : (uint32_t)i + 1, max))
			j->idx[j->n++] = i;
	}
	imap_seqset_clear(&set);
	return 0;
}

/* imap_store_new_flags - what message m's flags and keywords become. */
static void imap_store_new_flags(const struct imap_store_job *j, const struct imap_msg *m,
				 uint32_t kw, unsigned *flags_r, uint32_t *kw_r)
{
	switch (j->mode) {
	case IMAP_STORE_SET:
		*flags_r = j->fl.flags;
		*kw_r = kw;
		break;
	case IMAP_STORE_ADD:
		*flags_r = m->flags | j->fl.flags;
		*kw_r = m->keywords | kw;
		break;
	default:
		*flags_r = m->flags & ~j->fl.flags;
		*kw_r = m->keywords & ~kw;
	}
}

/* imap_store_modseq - new MODSEQs for the messages whose flags changed (changed[0..n)). */
static void imap_store_modseq(struct imap_store_job *j, const size_t *changed, size_t n)
{
	struct imap_mailbox *m = j->s->mbox;
	struct imap_msg *copy = xcalloc(n + 1, sizeof(*copy));
	char *error = NULL;

	for (size_t k = 0; k < n; k++)
		copy[k] = m->st.msgs[changed[k]];
	if (imap_modseq_update(m->dir, m->st.uidvalidity, copy, n, imap_modseq_now_us(),
			       IMAP_MODSEQ_SUBSET, &m->st.highestmodseq, NULL, &error) < 0) {
		log_err("imap store: %s", error);
		free(error);
	}
	for (size_t k = 0; k < n; k++)
		m->st.msgs[changed[k]].modseq = copy[k].modseq;
	free(copy);
}

/* imap_store_work - on a worker: new keywords into the folder's file, the renames, MODSEQs. */
static void imap_store_work(void *arg)
{
	struct imap_store_job *j = arg;
	struct imap_mailbox *m = j->s->mbox;
	size_t *changed = xcalloc(j->n + 1, sizeof(*changed)), nchanged = 0;
	uint32_t kw = 0;

	j->modified = xcalloc(j->n + 1, sizeof(*j->modified));
	if (imap_flaglist_keywords(&j->fl, m->dir, &m->st.kw, j->mode != IMAP_STORE_REMOVE, &kw,
				   &j->error) == 0) {
		for (size_t k = 0; k < j->n; k++) {
			struct imap_msg *msg = &m->st.msgs[j->idx[k]];
			unsigned flags;
			uint32_t keywords;

			if (j->unchanged && msg->modseq > j->unchangedsince) {
				j->modified[j->nmodified++] = j->idx[k];
				continue;
			}
			imap_store_new_flags(j, msg, kw, &flags, &keywords);
			if (flags == msg->flags && keywords == msg->keywords)
				continue;
			if (imap_mailbox_set_flags(m, j->idx[k], flags, keywords) < 0)
				j->missing = true;
			else
				changed[nchanged++] = j->idx[k];
		}
		if (nchanged > 0 && m->st.highestmodseq != 0)
			imap_store_modseq(j, changed, nchanged);
	}
	free(changed);
}

/* imap_store_modified - "OK [MODIFIED set]": what UNCHANGEDSINCE kept from changing. */
static void imap_store_modified(struct imap_session *s, const struct imap_store_job *j)
{
	struct evbuffer *set = evbuffer_new();

	for (size_t k = 0; k < j->nmodified; k++)
		evbuffer_add_printf(set, "%s%u", k ? "," : "",
				    j->uid ? s->mbox->st.msgs[j->modified[k]].uid
					   : (uint32_t)j->modified[k] + 1);
	evbuffer_add(set, "", 1);
	imap_tagged(s, "OK [MODIFIED %s] Conditional STORE failed for some messages",
		    (const char *)evbuffer_pullup(set, -1));
	evbuffer_free(set);
}

/* imap_store_extra - " UID u" (UID STORE) and " MODSEQ (m)" (CONDSTORE) of message i. */
static void imap_store_extra(const struct imap_session *s, const struct imap_store_job *j, size_t i,
			     char *buf, size_t size)
{
	const struct imap_msg *m = &s->mbox->st.msgs[i];
	int n = j->uid ? snprintf(buf, size, " UID %u", m->uid) : 0;

	buf[n] = '\0';
	if (j->condstore)
		snprintf(buf + n, size - (size_t)n, " MODSEQ (%llu)", (unsigned long long)m->modseq);
}

/* imap_store_done_cb - on the loop: the new flags (unless .SILENT), then the tagged answer. */
static void imap_store_done_cb(void *arg)
{
	struct imap_store_job *j = arg;
	struct imap_session *s = j->s;
	char flags[1024];

	if (imap_wait_done(s)) {
		for (size_t k = 0; k < j->n && !j->silent && j->error == NULL; k++) {
			size_t i = j->idx[k];
			char extra[64];

			imap_store_extra(s, j, i, extra, sizeof(extra));
			imap_reply(s, "* %zu FETCH (FLAGS (%s)%s)", i + 1,
				   imap_mailbox_flags(s->mbox, i, flags, sizeof(flags)), extra);
		}
		if (j->error != NULL)
			imap_tagged(s, "NO [SERVERBUG] %s", j->error);
		else if (j->nmodified > 0)
			imap_store_modified(s, j);
		else if (j->missing)
			imap_tagged(s, "NO [EXPUNGEISSUED] Some messages were changed elsewhere, try again");
		else
			imap_tagged(s, "OK %sSTORE completed", j->uid ? "UID " : "");
		imap_resume(s);
	}
	imap_flaglist_clear(&j->fl);
	imap_store_job_free(j);
}

/* imap_store_unchanged - "(UNCHANGEDSINCE n)" into the job; -1 if malformed. */
static int imap_store_unchanged(const struct imap_arg *a, struct imap_store_job *j)
{
	const struct imap_arg *v = a->u.list.args;
	char *end;

	if (a->u.list.count != 2 || v[0].type != IMAP_ARG_ATOM || v[1].type != IMAP_ARG_ATOM ||
	    strcasecmp(v[0].u.str.data, "UNCHANGEDSINCE") != 0 || v[1].u.str.data[0] < '0' ||
	    v[1].u.str.data[0] > '9')
		return -1;
	j->unchangedsince = strtoull(v[1].u.str.data, &end, 10);
	j->unchanged = true;
	return *end == '\0' ? 0 : -1;
}

/* imap_store_item - "FLAGS", "+FLAGS.SILENT", ... into the job; -1 if unknown. */
static int imap_store_item(const struct imap_arg *a, struct imap_store_job *j)
{
	const char *p = a->type == IMAP_ARG_ATOM ? a->u.str.data : "";

	j->mode = *p == '+' ? IMAP_STORE_ADD : *p == '-' ? IMAP_STORE_REMOVE : IMAP_STORE_SET;
	p += j->mode != IMAP_STORE_SET;
	if (strcasecmp(p, "FLAGS.SILENT") == 0)
		j->silent = true;
	else if (strcasecmp(p, "FLAGS") != 0)
		return -1;
	return 0;
}

void imap_store_cmd(struct imap_session *s, const struct imap_call *c)
{
	struct imap_store_job *j = xcalloc(1, sizeof(*j));
	const char *error = "STORE needs a message set, FLAGS, +FLAGS or -FLAGS, and flags";

	const struct imap_arg *a = c->args;
	size_t n = c->count;

	j->s = s;
	j->uid = c->uid;
	bool bad = false;

	if (n > 1 && a[1].type == IMAP_ARG_LIST) { /* STORE set (UNCHANGEDSINCE n) item flags */
		bad = imap_store_unchanged(&a[1], j) < 0;
		a++, n--;
		s->enabled |= IMAP_EN_CONDSTORE; /* RFC 7162 3.1 */
	}
	j->condstore = (s->enabled & IMAP_EN_CONDSTORE) != 0;
	if (bad || n < 3 || imap_store_item(&a[1], j) < 0 ||
	    imap_flaglist_parse(a + 2, n - 2, &j->fl, &error) < 0 ||
	    imap_store_targets(s, &c->args[0], c->uid, j, &error) < 0) {
		imap_flaglist_clear(&j->fl);
		imap_store_job_free(j);
		imap_bad(s, "%s", error);
		return;
	}
	if (s->mbox->readonly) {
		imap_flaglist_clear(&j->fl);
		imap_store_job_free(j);
		imap_tagged(s, "NO [READ-ONLY] The mailbox is read-only");
		return;
	}
	imap_busy(s);
	s->waiting = true;
	imap_submit(s, imap_store_work, imap_store_done_cb, j);
}

/* imap_copy_items - the add items of the messages to copy, from the session's view. */
static void imap_copy_items(struct imap_session *s, struct imap_store_job *j)
{
	const struct imap_mailbox *m = s->mbox;
	char path[IMAP_FOLDER_PATH_MAX + 512];

	j->items = xcalloc(j->n + 1, sizeof(*j->items));
	for (size_t k = 0; k < j->n; k++) {
		const struct imap_msg *msg = &m->st.msgs[j->idx[k]];
		struct imap_add_item *it = &j->items[k];
		size_t kw = 0;

		imap_mailbox_path(m, j->idx[k], path, sizeof(path));
		it->src = xstrdup(path);
		it->flags = msg->flags;
		it->mtime = -1;
		for (size_t b = 0; b < IMAP_KEYWORDS_MAX; b++) {
			if ((msg->keywords & (1u << b)) && m->st.kw.names[b] != NULL)
				it->keywords[kw++] = m->st.kw.names[b];
		}
		if (!imap_mflags_size(msg->file, 'S', &it->stored_size))
			it->stored_size = 0;
		it->wire_size = msg->size;
	}
}

/* imap_copy_sizes - sizes a name did not carry, from the file (stat; W= by reading). */
static void imap_copy_sizes(struct imap_add_item *it)
{
	struct stat st;

	if (it->stored_size == 0 && stat(it->src, &st) == 0)
		it->stored_size = (uint64_t)st.st_size;
	if (it->wire_size == 0)
		it->wire_size = it->stored_size; /* a lower bound; the next reader measures */
}

/* imap_copy_work - on a worker: link into the destination, UIDs (MOVE: imap_move_unlink after). */
static int imap_copy_work(void *arg, bool wait)
{
	struct imap_store_job *j = arg;
	struct stat st;
	char cur[IMAP_FOLDER_PATH_MAX + 8];

	snprintf(cur, sizeof(cur), "%s/cur", j->dir);
	(void)wait; /* always true: no sync first (imap_submit_durable) */
	if (stat(cur, &st) < 0) {
		j->error = xstrdup("[TRYCREATE] Mailbox does not exist");
		return 0;
	}
	for (size_t k = 0; k < j->n; k++)
		imap_copy_sizes(&j->items[k]);
	imap_add_messages(j->home, j->dir, j->host, j->items, j->n, true, &j->uidvalidity, &j->error);
	return 0;
}

/* imap_move_unlink - on a worker, the copies durable: MOVE removes the sources. */
static void imap_move_unlink(void *arg)
{
	struct imap_store_job *j = arg;

	for (size_t k = 0; k < j->n && j->move && j->error == NULL; k++) {
		if (unlink(j->items[k].src) < 0 && errno != ENOENT)
			log_err("imap move: unlink %s: %s", j->items[k].src, strerror(errno));
	}
}

/* imap_copy_uids - the COPYUID sets: source UIDs and destination UIDs, in the same order. */
static void imap_copy_uids(struct imap_session *s, const struct imap_store_job *j,
			   struct evbuffer *out)
{
	for (int dst = 0; dst < 2; dst++) {
		evbuffer_add(out, " ", 1);
		for (size_t k = 0; k < j->n; k++) {
			uint32_t uid = dst ? j->items[k].uid : s->mbox->st.msgs[j->idx[k]].uid;

			evbuffer_add_printf(out, "%s%u", k ? "," : "", uid);
		}
	}
}

/* imap_copy_moved - MOVE's expunges are merged: complete. */
static void imap_copy_moved(struct imap_session *s, int rc)
{
	(void)rc;
	imap_tagged(s, "OK MOVE completed");
	imap_resume(s);
}

/* imap_copy_done_cb - on the loop, the links durable: COPYUID, and for MOVE the EXPUNGEs. */
static void imap_copy_done_cb(void *arg, int err)
{
	struct imap_store_job *j = arg;
	struct imap_session *s = j->s;

	if (err != 0 && j->error == NULL)
		j->error = xasprintf("[SERVERBUG] sync: %s", strerror(err));
	if (imap_wait_done(s)) {
		struct evbuffer *code = evbuffer_new();

		evbuffer_add_printf(code, "[COPYUID %u", j->uidvalidity);
		imap_copy_uids(s, j, code);
		evbuffer_add(code, "]", 2);
		if (j->error != NULL) {
			imap_tagged(s, "NO %s", j->error);
			imap_resume(s);
		} else if (j->move) {
			imap_reply(s, "* OK %s Moved", (const char *)evbuffer_pullup(code, -1));
			imap_mailbox_refresh(s, imap_copy_moved);
		} else {
			imap_tagged(s, "OK %s COPY completed", (const char *)evbuffer_pullup(code, -1));
			imap_resume(s);
		}
		evbuffer_free(code);
	}
	for (size_t k = 0; k < j->n; k++)
		free((char *)j->items[k].src);
	imap_store_job_free(j);
}

void imap_copy_cmd(struct imap_session *s, const struct imap_call *c)
{
	struct imap_store_job *j = xcalloc(1, sizeof(*j));
	char name[IMAP_FOLDER_NAME_MAX];
	const char *error = "COPY needs a message set and a mailbox";

	j->s = s;
	j->uid = c->uid;
	j->move = strcmp(c->name, "MOVE") == 0;
	if (c->count != 2 || imap_store_targets(s, &c->args[0], c->uid, j, &error) < 0) {
		imap_store_job_free(j);
		imap_bad(s, "%s", error);
		return;
	}
	if (j->move && s->mbox->readonly)
		error = "[READ-ONLY] The mailbox is read-only";
	else if (imap_folder_resolve(s, &c->args[1], name, sizeof(name), j->dir, sizeof(j->dir),
				     &error) == 0)
		error = NULL;
	if (error != NULL) {
		imap_store_job_free(j);
		imap_tagged(s, "NO %s", error);
		return;
	}
	if (j->n == 0) { /* nothing matched: no COPYUID, whose sets cannot be empty */
		imap_store_job_free(j);
		imap_tagged(s, "OK %s completed", c->name);
		return;
	}
	j->home = xstrdup(s->home);
	j->host = xstrdup(s->hostname);
	imap_copy_items(s, j);
	imap_busy(s);
	s->waiting = true;
	imap_submit_durable(s, false, imap_copy_work, imap_move_unlink, imap_copy_done_cb, j);
}

/* imap_qresync - SELECT's CONDSTORE and QRESYNC parameters and their answers (RFC 7162). */
#include "imap/imap_qresync.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_modseq.h"
#include "util/log.h"

/* imap_qresync_number - an atom of decimal digits, no more than max; -1 if not. */
static int imap_qresync_number(const struct imap_arg *a, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;

	if (a->type != IMAP_ARG_ATOM || a->u.str.len == 0 || a->u.str.len > 20)
		return -1;
	for (size_t i = 0; i < a->u.str.len; i++) {
		unsigned d = (unsigned)(a->u.str.data[i] - '0');

		if (d > 9 || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*v_r = v;
	return 0;
}

/* imap_qresync_values - "(uidvalidity modseq [known-uids [seq-match]])"; -1 if malformed. */
static int imap_qresync_values(const struct imap_arg *list, struct imap_qresync *q,
			       const char **error_r)
{
	const struct imap_arg *v = list->u.list.args;
	size_t n = list->type == IMAP_ARG_LIST ? list->u.list.count : 0;
	uint64_t uidvalidity;

	*error_r = "QRESYNC needs (uidvalidity modseq [known-uids])";
	if (n < 2 || n > 4 || imap_qresync_number(&v[0], UINT32_MAX, &uidvalidity) < 0 ||
	    uidvalidity == 0 || imap_qresync_number(&v[1], IMAP_MODSEQ_MAX, &q->modseq) < 0 ||
	    q->modseq == 0)
		return -1;
	q->uidvalidity = (uint32_t)uidvalidity;
	if (n >= 3 && v[2].type != IMAP_ARG_LIST) { /* a seq-match list alone comes third */
		if (v[2].type != IMAP_ARG_ATOM ||
		    imap_seqset_parse(v[2].u.str.data, v[2].u.str.len, IMAP_SEQSET_RANGES_MAX,
				      &q->known, error_r) < 0)
			return -1;
		q->have_known = true;
	}
	q->on = true;
	return 0;
}

int imap_qresync_parse(const struct imap_session *s, const struct imap_arg *params,
		       struct imap_qresync *q, const char **error_r)
{
	for (size_t i = 0; i < params->u.list.count; i++) {
		const struct imap_arg *a = &params->u.list.args[i];

		if (a->type == IMAP_ARG_ATOM && strcasecmp(a->u.str.data, "CONDSTORE") == 0) {
			q->condstore = true;
		} else if (a->type == IMAP_ARG_ATOM && strcasecmp(a->u.str.data, "QRESYNC") == 0 &&
			   i + 1 < params->u.list.count && !q->on) {
			if (!(s->enabled & IMAP_EN_QRESYNC)) {
				*error_r = "QRESYNC must be enabled first (ENABLE QRESYNC)";
				return -1;
			}
			if (imap_qresync_values(&params->u.list.args[++i], q, error_r) < 0)
				return -1;
		} else {
			*error_r = "Unknown SELECT parameter";
			return -1;
		}
	}
	return 0;
}

char *imap_qresync_vanished(const char *dir, uint32_t uidvalidity, uint64_t modseq,
			    const struct imap_seqset *known, uint32_t uidnext)
{
	struct imap_modseq ms;
	char *error = NULL, *out = NULL;

	imap_modseq_init(&ms);
	if (imap_modseq_read(dir, &ms, &error) == 1 && ms.uidvalidity == uidvalidity)
		out = imap_modseq_vanished(&ms, modseq, known, uidnext, NULL);
	else if (error != NULL)
		log_err("imap: %s", error);
	free(error);
	imap_modseq_clear(&ms);
	return out;
}

void imap_qresync_work(struct imap_qresync *q, const char *dir, const struct imap_folder_state *st)
{
	if (q->on && q->uidvalidity == st->uidvalidity && st->highestmodseq != 0)
		q->vanished = imap_qresync_vanished(dir, st->uidvalidity, q->modseq,
						    q->have_known ? &q->known : NULL, st->uidnext);
}

void imap_qresync_answer(struct imap_session *s, const struct imap_qresync *q)
{
	const struct imap_folder_state *st = &s->mbox->st;
	uint32_t max = st->n ? st->msgs[st->n - 1].uid : 0;
	char flags[1024];

	if (!q->on || q->uidvalidity != st->uidvalidity || st->highestmodseq == 0)
		return; /* RFC 7162 3.2.5.1: another UIDVALIDITY: a full resync, no VANISHED */
	if (q->vanished != NULL)
		imap_reply(s, "* VANISHED (EARLIER) %s", q->vanished);
	for (size_t i = 0; i < st->n; i++) {
		const struct imap_msg *m = &st->msgs[i];

		if (m->modseq <= q->modseq || (q->have_known && !imap_seqset_contains(&q->known, m->uid, max)))
			continue;
		imap_reply(s, "* %zu FETCH (UID %u FLAGS (%s) MODSEQ (%llu))", i + 1, m->uid,
			   imap_mailbox_flags(s->mbox, i, flags, sizeof(flags)),
			   (unsigned long long)m->modseq);
	}
}

void imap_qresync_clear(struct imap_qresync *q)
{
	if (q->have_known)
		imap_seqset_clear(&q->known);
	free(q->vanished);
	memset(q, 0, sizeof(*q));
}

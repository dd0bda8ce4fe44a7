/*
 * imap_qresync - the CONDSTORE/QRESYNC parts of SELECT and EXAMINE (RFC
 * 7162 3.1.8, 3.2.5): "(CONDSTORE)" and "(QRESYNC (uidvalidity modseq
 * [known-uids [seq-match]]))" parameters; on the worker, the UIDs expunged
 * since the client's MODSEQ (postern-modseq); on the loop, "* VANISHED
 * (EARLIER)" and a FETCH of every message changed since.
 */
#ifndef POSTERN_IMAP_QRESYNC_H
#define POSTERN_IMAP_QRESYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap_arg.h"
#include "imap/imap_seqset.h"

struct imap_session;
struct imap_folder_state;

struct imap_qresync {
	bool condstore;        /* (CONDSTORE) given */
	bool on;               /* (QRESYNC (...)) given */
	uint32_t uidvalidity;  /* the client's */
	uint64_t modseq;       /* the client's HIGHESTMODSEQ */
	bool have_known;
	struct imap_seqset known; /* known-uids */
	char *vanished;        /* (worker) UIDs expunged since modseq; NULL: none */
};

/*
 * imap_qresync_parse - SELECT's parameter list into q; -1 with *error_r
 * for BAD (QRESYNC without ENABLE QRESYNC, malformed values).
 */
int imap_qresync_parse(const struct imap_session *s, const struct imap_arg *params,
		       struct imap_qresync *q, const char **error_r);

/* imap_qresync_work - on a worker, after the scan: what vanished since the client's MODSEQ. */
void imap_qresync_work(struct imap_qresync *q, const char *dir, const struct imap_folder_state *st);

/* imap_qresync_answer - on the loop, after SELECT's own data: VANISHED (EARLIER), changed FETCHes. */
void imap_qresync_answer(struct imap_session *s, const struct imap_qresync *q);

/* imap_qresync_clear - free what q holds. */
void imap_qresync_clear(struct imap_qresync *q);

/*
 * imap_qresync_vanished - UIDs of dir expunged since modseq, within known
 * (NULL: all), as a compact set (NULL: none or unknown). Blocking (reads
 * postern-modseq): UID FETCH (CHANGEDSINCE n VANISHED) calls it.
 */
char *imap_qresync_vanished(const char *dir, uint32_t uidvalidity, uint64_t modseq,
			    const struct imap_seqset *known, uint32_t uidnext);

#endif

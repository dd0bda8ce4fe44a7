/*
 * imap_fetch_items - what a FETCH asks for (RFC 9051 6.4.5, RFC 3501
 * 6.4.5, BINARY of RFC 3516, MODSEQ and the CHANGEDSINCE / VANISHED
 * modifiers of RFC 7162): the arguments after the sequence set become a
 * list of items, each with the name its response must carry, whether it
 * sets \Seen, and a summary of what the session must load to answer them
 * all, so that FLAGS / UID / RFC822.SIZE / ENVELOPE never open more than
 * the header. Pure: the result owns copies of every string it keeps.
 */
#ifndef POSTERN_IMAP_FETCH_ITEMS_H
#define POSTERN_IMAP_FETCH_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_arg.h"
#include "imap/imap_types.h"

#define IMAP_FETCH_ITEMS_MAX 64 /* a sensible items_max */

enum imap_fetch_attr {
	IMAP_FETCH_UID,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,          /* BODY without section: the non-extensible BODYSTRUCTURE */
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_RFC822,        /* = BODY[], sets \Seen */
	IMAP_FETCH_RFC822_HEADER, /* = BODY.PEEK[HEADER] */
	IMAP_FETCH_RFC822_TEXT,   /* = BODY[TEXT], sets \Seen */
	IMAP_FETCH_BODY_SECTION,  /* BODY[section]<partial>, BODY.PEEK[...] */
	IMAP_FETCH_BINARY,        /* BINARY[part]<partial>, BINARY.PEEK[...] (RFC 3516) */
	IMAP_FETCH_BINARY_SIZE,   /* BINARY.SIZE[part] */
	IMAP_FETCH_MODSEQ,        /* RFC 7162 */
};

/* What the session must have at hand to answer (bits of imap_fetch_items.load). */
enum imap_fetch_load {
	IMAP_FETCH_LOAD_SIZE = 1 << 0,    /* RFC822.SIZE */
	IMAP_FETCH_LOAD_DATE = 1 << 1,    /* INTERNALDATE */
	IMAP_FETCH_LOAD_MODSEQ = 1 << 2,  /* MODSEQ */
	IMAP_FETCH_LOAD_HEADER = 1 << 3,  /* the header block: ENVELOPE, RFC822.HEADER, BODY[HEADER...] */
	IMAP_FETCH_LOAD_MESSAGE = 1 << 4, /* the whole message: RFC822, BODY[], BODY[TEXT] */
	IMAP_FETCH_LOAD_MIME = 1 << 5,    /* its MIME structure (implies MESSAGE): BODY,
					     BODYSTRUCTURE, numbered parts, BINARY */
};
/* FLAGS and UID need none of these: load == 0 means the index is enough. */

struct imap_fetch_item {
	enum imap_fetch_attr attr;
	struct imap_section section; /* BODY_SECTION, BINARY, BINARY_SIZE; fields point into
					this item's storage */
	bool peek;                   /* .PEEK was given */
	bool sets_seen;              /* answering it sets \Seen (RFC 9051 6.4.5) */
	char *name;                  /* the response item name, e.g. "BODY[HEADER.FIELDS (From
					To)]<0>" (upper-case, .PEEK dropped, partial origin only) */
	char *storage;               /* owns section.fields */
};

struct imap_fetch_items {
	struct imap_fetch_item *items; /* in request order, duplicates dropped */
	size_t count;
	unsigned load;     /* enum imap_fetch_load bits, for all items together */
	bool sets_seen;    /* some item sets \Seen */
	bool changedsince; /* (CHANGEDSINCE n): only messages with modseq > n */
	uint64_t changedsince_modseq;
	bool vanished;     /* (VANISHED): UID FETCH reports expunged UIDs (RFC 7162 3.2.6) */
	bool modseq;       /* MODSEQ was asked for or implied: the session enables CONDSTORE */
};

/*
 * imap_fetch_items_parse - args[0] is an item atom, a macro (ALL, FAST,
 * FULL) or a parenthesized list of items; an optional args[1] is the
 * modifier list "(CHANGEDSINCE n [VANISHED])". uid_fetch: this is UID
 * FETCH, so UID is added when missing and VANISHED is allowed;
 * CHANGEDSINCE adds MODSEQ. At most items_max items. 0, or -1 with
 * *error_r (for a BAD reply; nothing to free).
 */
int imap_fetch_items_parse(const struct imap_arg *args, size_t count, bool uid_fetch,
			   size_t items_max, struct imap_fetch_items *r, const char **error_r);

/* imap_fetch_items_free - free what the parse allocated; *r becomes empty. */
void imap_fetch_items_free(struct imap_fetch_items *r);

/*
 * imap_fetch_item_parse - one item atom "BODY.PEEK[1.2.HEADER.FIELDS
 * (From To)]<0.100>" (any case) into *item_r: exposed for tests and for
 * callers that have one item only. 0 or -1 with *error_r.
 */
int imap_fetch_item_parse(const char *atom, size_t len, struct imap_fetch_item *item_r,
			  const char **error_r);

/* imap_fetch_item_free - free one item's strings. */
void imap_fetch_item_free(struct imap_fetch_item *item);

#endif

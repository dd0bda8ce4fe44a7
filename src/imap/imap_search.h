/*
 * imap_search - SEARCH criteria (RFC 9051 6.4.4, RFC 3501 6.4.4, MODSEQ of
 * RFC 7162 3.1.5, the RETURN options of ESEARCH, RFC 4731): parsed once
 * into a bounded tree, then matched, purely, against one message at a
 * time. The message is described by struct imap_search_msg: what the
 * index knows (numbers, flags, keywords, size, dates, modseq) plus two
 * callbacks for the raw header block and body, called only when a key
 * needs them, so a flags-only search never opens a file.
 *
 * Matching: header keys are a case-insensitive substring (ASCII folding,
 * other bytes as they are) of the unfolded value of the named field;
 * BODY a substring of the raw body, TEXT of the header or the body. Not
 * done: RFC 2047 decoding of encoded words and Content-Transfer-Encoding
 * decoding of bodies (a search finds the bytes as stored). Date keys
 * compare calendar days, "disregarding time and timezone" (RFC 9051):
 * SINCE / BEFORE / ON take the internal date's day in the zone the session
 * shows INTERNALDATE in; SENT* the day written in the Date: header (the
 * internal date when it is missing or unreadable).
 */
#ifndef POSTERN_IMAP_SEARCH_H
#define POSTERN_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap/imap_arg.h"
#include "imap/imap_seqset.h"
#include "imap/imap_types.h"

enum imap_search_key {
	IMAP_SEARCH_AND,         /* children, all must match (a group, or the whole program) */
	IMAP_SEARCH_OR,          /* two children */
	IMAP_SEARCH_NOT,         /* one child */
	IMAP_SEARCH_FLAGS,       /* ALL, ANSWERED ... UNSEEN, NEW, OLD, RECENT: set_mask / clear_mask */
	IMAP_SEARCH_KEYWORD,     /* KEYWORD name */
	IMAP_SEARCH_UNKEYWORD,   /* UNKEYWORD name */
	IMAP_SEARCH_SEQSET,      /* a bare sequence set */
	IMAP_SEARCH_UIDSET,      /* UID set */
	IMAP_SEARCH_HEADER,      /* FROM, TO, CC, BCC, SUBJECT, HEADER name value */
	IMAP_SEARCH_BODY,        /* BODY string */
	IMAP_SEARCH_TEXT,        /* TEXT string */
	IMAP_SEARCH_LARGER,      /* RFC822.SIZE > number */
	IMAP_SEARCH_SMALLER,     /* RFC822.SIZE < number */
	IMAP_SEARCH_BEFORE,      /* internal date */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE,  /* Date: header */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_MODSEQ,      /* modseq >= number (RFC 7162 3.1.5) */
};

struct imap_search_node {
	enum imap_search_key key;
	struct imap_search_node *first, *next; /* children of AND / OR / NOT; siblings */
	unsigned set_mask, clear_mask;         /* FLAGS: enum imap_flag bits set, clear */
	char *name;                            /* HEADER field name; KEYWORD name */
	char *value;                           /* HEADER / BODY / TEXT substring, lower-cased */
	size_t value_len;
	int keyword;                           /* KEYWORD: bit index after resolution, -1 unknown */
	uint64_t number;                       /* LARGER / SMALLER / MODSEQ */
	int64_t day;                           /* date keys: days since 1970-01-01 */
	struct imap_seqset set;                /* SEQSET / UIDSET */
};

/* ESEARCH RETURN options (RFC 4731), bits of imap_search.return_opts. */
enum imap_search_return {
	IMAP_SEARCH_RETURN_MIN = 1 << 0,
	IMAP_SEARCH_RETURN_MAX = 1 << 1,
	IMAP_SEARCH_RETURN_ALL = 1 << 2,
	IMAP_SEARCH_RETURN_COUNT = 1 << 3,
};

/* What the match may ask for (bits of imap_search.load). */
enum imap_search_load {
	IMAP_SEARCH_LOAD_HEADER = 1 << 0,
	IMAP_SEARCH_LOAD_BODY = 1 << 1,
};

struct imap_search {
	struct imap_search_node *nodes; /* nodes[0] is the root, an AND */
	size_t count;
	bool esearch;         /* RETURN (...) was given: answer with ESEARCH */
	unsigned return_opts; /* enum imap_search_return; RETURN () means ALL */
	bool modseq;          /* a MODSEQ key: the answer carries (MODSEQ n), RFC 7162 3.1.5 */
	unsigned load;        /* enum imap_search_load */
};

struct imap_search_limits {
	size_t nodes_max;  /* search keys in the tree, groups included */
	unsigned depth_max; /* nesting of NOT / OR / (...) */
	size_t ranges_max; /* per sequence set */
};

extern const struct imap_search_limits imap_search_default_limits;

/* imap_search_parse results besides 0 and -1 (BAD). */
#define IMAP_SEARCH_BADCHARSET (-2) /* answer NO [BADCHARSET (US-ASCII UTF-8)] */

/*
 * imap_search_parse - the arguments after SEARCH: [RETURN (...)] [CHARSET
 * x] key... Returns 0 with *search_r (free with imap_search_free), -1 with
 * *error_r for a BAD reply, or IMAP_SEARCH_BADCHARSET (a charset other
 * than US-ASCII and UTF-8). RETURN (SAVE) is refused (no SEARCHRES).
 */
int imap_search_parse(const struct imap_arg *args, size_t count,
		      const struct imap_search_limits *limits, struct imap_search **search_r,
		      const char **error_r);

/* imap_search_free - free the tree; *sp becomes NULL. */
void imap_search_free(struct imap_search **sp);

/*
 * imap_search_resolve_keywords - give every KEYWORD / UNKEYWORD node its
 * bit index: lookup_cb(ctx, name) returns 0..IMAP_KEYWORDS_MAX-1 or -1
 * (unknown: KEYWORD then matches nothing, UNKEYWORD everything).
 */
void imap_search_resolve_keywords(struct imap_search *s,
				  int (*lookup_cb)(void *ctx, const char *name), void *ctx);

/* One message as the match sees it. */
struct imap_search_msg {
	uint32_t seq, uid;
	uint32_t seq_max, uid_max; /* "*" in sequence and UID sets: messages, highest UID */
	unsigned flags;            /* enum imap_flag bits, \Recent included */
	uint32_t keywords;         /* bit i: keyword index i */
	uint64_t size;             /* RFC822.SIZE */
	time_t internal_date;
	int internal_tzoff;        /* seconds east of UTC of INTERNALDATE as the session shows it */
	uint64_t modseq;
	/* The raw header block (up to the empty line) and the raw body, CRLF or
	 * LF line ends; 0, or -1 on failure; the data lives until the match returns. */
	int (*header_cb)(void *ctx, const char **data_r, size_t *len_r);
	int (*body_cb)(void *ctx, const char **data_r, size_t *len_r);
	void *ctx;
};

/* imap_search_match - 1 if m matches, 0 if not, -1 if a callback failed. */
int imap_search_match(const struct imap_search *s, const struct imap_search_msg *m);

#endif

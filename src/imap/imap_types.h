/*
 * imap_types - the small types the IMAP modules share: the system flags of
 * a message, and a FETCH body section (RFC 9051 section 6.4.5, "section"
 * and "partial"), which the FETCH item parser fills in and the MIME
 * section reader resolves against a message.
 */
#ifndef POSTERN_IMAP_TYPES_H
#define POSTERN_IMAP_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The system flags (RFC 9051 2.3.2); keywords are kept apart, as indexes. */
enum imap_flag {
	IMAP_FLAG_SEEN = 1 << 0,
	IMAP_FLAG_ANSWERED = 1 << 1,
	IMAP_FLAG_FLAGGED = 1 << 2,
	IMAP_FLAG_DELETED = 1 << 3,
	IMAP_FLAG_DRAFT = 1 << 4,
	IMAP_FLAG_RECENT = 1 << 5, /* session state, never stored (IMAP4rev1 only) */
};

#define IMAP_KEYWORDS_MAX 26   /* Maildir keyword letters a-z (Dovecot) */
#define IMAP_SECTION_DEPTH 16  /* part numbers in one section: "1.2.3..." */
#define IMAP_SECTION_FIELDS 64 /* field names in HEADER.FIELDS (...) */

enum imap_section_text {
	IMAP_SECTION_ALL,        /* BODY[] or BODY[1.2]: the whole message or part */
	IMAP_SECTION_HEADER,     /* HEADER */
	IMAP_SECTION_FIELDS_IN,  /* HEADER.FIELDS (...) */
	IMAP_SECTION_FIELDS_NOT, /* HEADER.FIELDS.NOT (...) */
	IMAP_SECTION_TEXT,       /* TEXT */
	IMAP_SECTION_MIME,       /* MIME (a part number is required) */
};

/* One section: BODY[1.2.HEADER.FIELDS (From To)]<0.100>. */
struct imap_section {
	uint32_t part[IMAP_SECTION_DEPTH]; /* part numbers, each >= 1 */
	size_t nparts;                     /* 0: the top-level message */
	enum imap_section_text text;
	const char *fields[IMAP_SECTION_FIELDS]; /* FIELDS_IN / FIELDS_NOT: names as sent */
	size_t nfields;
	bool partial;   /* <offset.count> given */
	uint64_t offset; /* in octets of the CRLF form */
	uint64_t count;
};

#endif

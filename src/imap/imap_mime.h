/*
 * imap_mime - a message held in memory parsed into its MIME part tree
 * (RFC 2045, RFC 2046), for FETCH BODY / BODYSTRUCTURE and body sections.
 *
 * The message may have LF or CRLF line ends, or a mix; every size here is
 * in octets of the CRLF form IMAP sends (a bare LF counts as CRLF, a CRLF
 * once), every line count counts LFs. Offsets are raw offsets in the
 * message as given.
 *
 * The parse follows Dovecot's message-parser so that clients see the same
 * structure from both servers: a boundary line only has to begin with
 * "--boundary" (the longest active boundary wins, trailing white space or
 * junk is ignored); the [CR]LF before a boundary line belongs to the
 * boundary; a missing close delimiter ends the part at the end of its
 * parent; a header cut short by a boundary line ends there. It never
 * fails: beyond IMAP_MIME_MAX_DEPTH nesting or IMAP_MIME_MAX_PARTS parts
 * the rest is a leaf.
 */
#ifndef POSTERN_IMAP_MIME_H
#define POSTERN_IMAP_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_MIME_MAX_DEPTH 20    /* nested multiparts and message/rfc822 */
#define IMAP_MIME_MAX_PARTS 1000  /* parts in one message */
#define IMAP_MIME_MAX_PARAMS 64   /* parameters of one Content-Type / -Disposition */
#define IMAP_MIME_MAX_LANGUAGES 32
#define IMAP_MIME_BOUNDARY_MAX 80 /* longer boundaries are cut (as Dovecot) */

enum imap_mime_flag {
	IMAP_MIME_MULTIPART = 1 << 0, /* children are the body parts */
	IMAP_MIME_RFC822 = 1 << 1,    /* one child: the enclosed message */
	IMAP_MIME_TEXT = 1 << 2,      /* text/...: BODYSTRUCTURE has a line count */
	IMAP_MIME_DIGEST = 1 << 3,    /* multipart/digest: children default to message/rfc822 */
	IMAP_MIME_IS_MIME = 1 << 4,   /* MIME-Version or Content-Type seen, or a body part */
};

struct imap_mime_param {
	const char *name, *value;
};

struct imap_mime_part {
	struct imap_mime_part *parent, *children, *next;
	unsigned flags; /* enum imap_mime_flag */
	size_t hdr_off, hdr_len;      /* raw header bytes, its blank line included */
	size_t body_off, body_len;    /* raw body bytes */
	uint64_t hdr_size, body_size; /* the same in CRLF octets */
	uint32_t hdr_lines, body_lines;
	/* Content-Type: NULL when absent (text/plain; charset=us-ascii); ""
	 * when unparsable, as Dovecot reports it. */
	const char *type, *subtype;
	const struct imap_mime_param *params;
	size_t nparams;
	/* The raw (folded) values of Content-Id, -Description, -MD5, -Location,
	 * NULs replaced; the parsed Content-Transfer-Encoding token. */
	const char *id, *description, *md5, *location, *encoding;
	const char *disposition; /* the token, possibly "" */
	const struct imap_mime_param *disp_params;
	size_t ndisp_params;
	const char *const *language;
	size_t nlanguage;
};

struct imap_mime_chunk;

struct imap_mime {
	struct imap_mime_part *root;
	size_t nparts;
	struct imap_mime_chunk *chunks; /* storage of parts and strings */
};

/* One header field of a header block. */
struct imap_mime_field {
	const char *name; /* not NUL-terminated; white space before ':' dropped */
	size_t name_len;
	const char *value; /* raw: after ':' and leading blanks, folding kept, */
	size_t value_len;  /* the last line end excluded */
	size_t start, end; /* the whole field in the block, its line end included */
};

/* imap_mime_parse - the part tree of len bytes at msg (never NULL). */
struct imap_mime *imap_mime_parse(const char *msg, size_t len);
/* imap_mime_free - release a tree and set *m to NULL. */
void imap_mime_free(struct imap_mime **m);

/* imap_mime_crlf_size - CRLF octets of len raw bytes; *lines_r (may be
 * NULL) gets the number of LFs. A leading LF counts as bare. */
uint64_t imap_mime_crlf_size(const char *p, size_t len, uint32_t *lines_r);

/* imap_mime_header_end - the length of the header block at msg (through
 * its blank line, or all of len when there is none). */
size_t imap_mime_header_end(const char *msg, size_t len);

/* imap_mime_field_next - the field at *pos in a header block (which ends
 * at len or at its blank line), advancing *pos; false at the end. */
bool imap_mime_field_next(const char *hdr, size_t len, size_t *pos, struct imap_mime_field *r);
/* imap_mime_field_find - the next field named name (case-insensitive). */
bool imap_mime_field_find(const char *hdr, size_t len, size_t *pos, const char *name,
			  struct imap_mime_field *r);
/* imap_mime_field_is - the field's name is name (case-insensitive). */
bool imap_mime_field_is(const struct imap_mime_field *f, const char *name, size_t name_len);
/* imap_mime_unfold - copy a raw value to out (room for len bytes) without
 * its CR and LF bytes; returns the length written. */
size_t imap_mime_unfold(const char *value, size_t len, char *out);

#endif

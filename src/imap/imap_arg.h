/*
 * imap_arg - the typed argument tree of one IMAP command (RFC 9051 section
 * 9 "command"), as the parser (imap_parser.c) hands it to the command
 * handlers and to the FETCH / SEARCH / sequence-set parsers.
 *
 * Strings point into the parser's own storage and live until the parser is
 * reset for the next command; they are NUL-terminated for convenience, but
 * a quoted string or literal may hold NUL bytes only where len says so
 * (the parser refuses NUL in atoms and quoted strings; literals may carry
 * any byte).
 *
 * An atom that contains '[' runs to its matching ']' whatever lies between
 * (spaces and parentheses included), then goes on with atom characters:
 * "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>" is one atom, as FETCH needs.
 */
#ifndef POSTERN_IMAP_ARG_H
#define POSTERN_IMAP_ARG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_NIL,          /* the atom NIL, unquoted */
	IMAP_ARG_ATOM,         /* any other atom (including numbers, "*", "1:*", "\Seen") */
	IMAP_ARG_STRING,       /* a quoted string, unescaped */
	IMAP_ARG_LITERAL,      /* {n} or {n+} and its n bytes, in memory */
	IMAP_ARG_LITERAL_SIZE, /* a streamed literal: its bytes went to the caller, not here */
	IMAP_ARG_LIST,         /* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type type;
	union {
		struct {
			const char *data; /* NUL-terminated; len excludes the NUL */
			size_t len;
		} str; /* ATOM, STRING, LITERAL */
		struct {
			const struct imap_arg *args;
			size_t count;
		} list;           /* LIST */
		uint64_t size; /* LITERAL_SIZE */
	} u;
	bool literal8; /* ~{n}: a binary literal (RFC 3516), LITERAL and LITERAL_SIZE only */
};

/* imap_arg_is_astring - an atom, quoted string or in-memory literal (RFC 9051 "astring"). */
static inline bool imap_arg_is_astring(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_STRING || a->type == IMAP_ARG_LITERAL;
}

/* imap_arg_is_string - a quoted string or in-memory literal (RFC 9051 "string"). */
static inline bool imap_arg_is_string(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_STRING || a->type == IMAP_ARG_LITERAL;
}

#endif

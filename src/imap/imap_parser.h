/*
 * imap_parser - an incremental, pure parser of IMAP commands (RFC 9051
 * section 9, RFC 3501, LITERAL+ / LITERAL- of RFC 7888), in the manner of
 * Dovecot's imap-parser: it never reads a socket. The session hands it the
 * bytes it has; the parser takes what it can and says what it needs:
 *
 *   MORE      every byte given was consumed; give more when it comes
 *   DONE      one whole command: imap_parser_command(); then imap_parser_reset()
 *   CONTINUE  a synchronizing literal {n} fits the limits: send "+ ..." and
 *             go on feeding (the client waits for it)
 *   LITERAL   (APPEND only, limits.stream_append) a literal whose bytes the
 *             caller reads itself, straight to a file: imap_parser_literal()
 *             says how many and whether the client waits for "+"; then
 *             imap_parser_literal_done() and go on feeding
 *   ERROR     malformed: imap_parser_error(); the parser skips the rest of
 *             the command by itself on the following feeds (the bytes of a
 *             non-synchronizing literal included), then parses the next one
 *
 * Everything it keeps is bounded by the limits, which the session makes
 * smaller before login (RFC 9051 section 11: bound what an unauthenticated
 * client can make the server hold).
 */
#ifndef POSTERN_IMAP_PARSER_H
#define POSTERN_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_arg.h"

struct imap_parser_limits {
	size_t line_max;    /* bytes of the command outside its literals, CRLFs included */
	size_t literal_max; /* bytes of one in-memory literal; more: ERROR with toobig */
	size_t total_max;   /* bytes held for the whole command: line parts + in-memory literals */
	unsigned depth_max; /* nesting of parenthesized lists */
	unsigned args_max;  /* arguments in the whole tree, lists counted */
	bool stream_append; /* literals of an APPEND command are LITERAL, not kept */
};

enum imap_parse_result {
	IMAP_PARSE_MORE,
	IMAP_PARSE_DONE,
	IMAP_PARSE_CONTINUE,
	IMAP_PARSE_LITERAL,
	IMAP_PARSE_ERROR,
};

/* One parsed command; every pointer lives until imap_parser_reset(). */
struct imap_command {
	const char *tag;  /* NULL when the line had no valid tag */
	const char *name; /* upper-cased ("UID" for UID FETCH: "FETCH" is then args[0]) */
	const struct imap_arg *args;
	size_t count;
};

/* What was wrong, for a "tag BAD text" or "* BAD text" answer. */
struct imap_parse_error {
	const char *tag;  /* NULL when the line had no valid tag */
	const char *text; /* human-readable, no CRLF */
	bool toobig;      /* a limit was passed: answer with [TOOBIG] */
};

struct imap_parser;

/* imap_parser_new - a parser with these limits (copied). */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);

/* imap_parser_free - free it; *pp becomes NULL. */
void imap_parser_free(struct imap_parser **pp);

/* imap_parser_set_limits - new limits, from the next command on (after login). */
void imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *limits);

/*
 * imap_parser_feed - parse from data[0..len); *used_r is how many bytes
 * were consumed (all of them on MORE, possibly fewer otherwise: feed the
 * rest again after acting on the result).
 */
enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
					size_t *used_r);

/* imap_parser_command - the command after DONE. */
void imap_parser_command(const struct imap_parser *p, struct imap_command *cmd_r);

/* imap_parser_error - what went wrong after ERROR. */
void imap_parser_error(const struct imap_parser *p, struct imap_parse_error *error_r);

/*
 * imap_parser_partial - after LITERAL: the command so far (tag, name and
 * the arguments before the literal, at the top level and in open lists).
 */
void imap_parser_partial(const struct imap_parser *p, struct imap_command *cmd_r);

/* imap_parser_literal - after LITERAL: its size, and whether the client waits for "+". */
void imap_parser_literal(const struct imap_parser *p, uint64_t *size_r, bool *sync_r);

/* imap_parser_literal_done - the caller has read the streamed literal's bytes: parse on. */
void imap_parser_literal_done(struct imap_parser *p);

/*
 * imap_parser_literal_refuse - the caller will not take the streamed
 * literal (it answered NO [TOOBIG]): a synchronizing one is never sent, so
 * the next byte starts a new command; a non-synchronizing one is skipped,
 * with the rest of its command, on the following feeds.
 */
void imap_parser_literal_refuse(struct imap_parser *p);

/* imap_parser_reset - forget the command; the next byte starts a new one. */
void imap_parser_reset(struct imap_parser *p);

/* imap_parser_skipping - true while the rest of a bad command is being skipped. */
bool imap_parser_skipping(const struct imap_parser *p);

#endif

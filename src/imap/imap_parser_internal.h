/*
 * imap_parser_internal - what the two halves of the IMAP command parser
 * share: imap_parser.c (storage, the argument tree, skipping bad commands,
 * the public API) and imap_parser_step.c (the states that read a command's
 * line: tag, name, atoms, quoted strings, lists, literal headers).
 * Nothing else includes it.
 */
#ifndef POSTERN_IMAP_PARSER_INTERNAL_H
#define POSTERN_IMAP_PARSER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parser.h"

#define IMAP_PARSER_SIZE_DIGITS 19 /* a literal size below 10^19 fits in 64 bits */

enum imap_parser_state {
	IMAP_PARSER_TAG,        /* reading the tag */
	IMAP_PARSER_TAG_SP,     /* after the tag's SP */
	IMAP_PARSER_NAME,       /* reading the command name */
	IMAP_PARSER_ARG_START,  /* where an argument may start */
	IMAP_PARSER_ARG_SEP,    /* after an argument: SP, ')' or CR */
	IMAP_PARSER_ATOM,       /* in an atom */
	IMAP_PARSER_BRACKET,    /* in an atom, between '[' and its ']' */
	IMAP_PARSER_TILDE,      /* '~' at an argument's start: literal8 or atom */
	IMAP_PARSER_QUOTED,     /* in a quoted string */
	IMAP_PARSER_QUOTED_ESC, /* after a backslash in a quoted string */
	IMAP_PARSER_LIT_DIGITS, /* after '{' */
	IMAP_PARSER_LIT_PLUS,   /* after "{n+" */
	IMAP_PARSER_LIT_CR,     /* after "{n}" */
	IMAP_PARSER_LIT_LF,     /* after "{n}\r" */
	IMAP_PARSER_LIT_DATA,   /* reading an in-memory literal's bytes */
	IMAP_PARSER_LIT_STREAM, /* LITERAL returned: the caller reads the bytes */
	IMAP_PARSER_CR,         /* after the command's final CR */
	IMAP_PARSER_DONE,       /* DONE returned */
	IMAP_PARSER_SKIP,       /* skipping the rest of a bad command */
	IMAP_PARSER_SKIP_LIT,   /* skipping a non-synchronizing literal's bytes */
};

/* What the end of a skipped line looked like, to see a "{n+}\r\n" in it. */
enum imap_parser_track {
	IMAP_PARSER_TRK_NONE,
	IMAP_PARSER_TRK_DIGITS,     /* "{" and digits */
	IMAP_PARSER_TRK_PLUS,       /* "{n+" */
	IMAP_PARSER_TRK_CLOSE,      /* "{n}" */
	IMAP_PARSER_TRK_CLOSE_PLUS, /* "{n+}" */
	IMAP_PARSER_TRK_CR_PLUS,    /* "{n+}\r" */
};

/* One argument while the command is read: strings by offset, lists by count. */
struct imap_parser_node {
	enum imap_arg_type type;
	bool literal8;
	size_t parent; /* 1 + index of the enclosing list's node; 0 at the top level */
	size_t idx;    /* position among its siblings */
	size_t off;    /* a string's offset in buf; a list's first element in out (layout) */
	uint64_t len;  /* a string's length, a list's element count, a streamed literal's size */
};

struct imap_parser {
	struct imap_parser_limits limits, limits_next;
	enum imap_parser_state state;
	enum imap_parse_result res;
	bool reset_pending; /* the command (or its error) goes at the next feed */

	char *buf; /* tag, name, then the strings, each NUL-terminated */
	size_t buf_used, buf_cap;
	struct imap_parser_node *nodes;
	struct imap_arg *out; /* the tree as handed out, node_count entries */
	size_t node_count, node_cap;

	size_t line_len; /* bytes of the command outside its literals */
	bool have_tag, have_name, is_append;
	size_t name_off;
	size_t cur;       /* 1 + node index of the innermost open list; 0: top level */
	unsigned depth;   /* lists open */
	size_t top_count; /* top-level arguments */
	size_t str_node;  /* the node of the string being read */

	size_t br_depth; /* '[' open in an atom */
	bool br_quote, br_esc;

	uint64_t lit_n; /* the literal announced */
	unsigned lit_digits;
	bool lit_sync, lit8;
	uint64_t lit_left;

	enum imap_parser_track trk;
	uint64_t trk_n;
	unsigned trk_digits;
	uint64_t skip_left;

	struct imap_command cmd;
	const char *err_text;
	bool err_toobig, err_tag;
};


/* imap_parser_fail - the command is bad, found at byte c (consumed): ERROR, skip its rest. */
void imap_parser_fail(struct imap_parser *p, const char *text, bool toobig, unsigned char c);

/* imap_parser_reserve - room for n more bytes and a NUL, within total_max; else ERROR at c. */
bool imap_parser_reserve(struct imap_parser *p, uint64_t n, unsigned char c);

/* imap_parser_put - append a run to the string being read; *used_r: bytes consumed. */
bool imap_parser_put(struct imap_parser *p, const char *s, size_t n, size_t *used_r);

/* imap_parser_node_new - a new argument in the open list (ERROR at c past args_max). */
bool imap_parser_node_new(struct imap_parser *p, enum imap_arg_type type, unsigned char c);

/* imap_parser_str_end - NUL-terminate the string being read; an argument ends. */
void imap_parser_str_end(struct imap_parser *p);

/* imap_parser_layout - the imap_arg tree and the command, from the nodes. */
void imap_parser_layout(struct imap_parser *p);

/* imap_parser_step_line - one step in a state that reads the command's line (not past n). */
size_t imap_parser_step_line(struct imap_parser *p, const char *d, size_t n);

#endif

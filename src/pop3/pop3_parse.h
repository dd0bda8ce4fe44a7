/*
 * pop3_parse - the pure POP3 command-line parser (RFC 1939 section 3,
 * RFC 2449 section 4): a verb and its arguments, each borrowed from the
 * line. No sockets, no globals, no allocation: unit tests and a fuzzer
 * call it directly. Message numbers have their own strict parser.
 */
#ifndef POSTERN_POP3_PARSE_H
#define POSTERN_POP3_PARSE_H

#include <stddef.h>

#define POP3_LINE_MAX 255 /* a command line with its CRLF, RFC 2449 section 4 */
#define POP3_ARG_MAX 40   /* one argument, RFC 2449 section 4 */
#define POP3_NAME_MAX 254 /* a login name: addresses are often longer than 40 */
#define POP3_ARGV_MAX 2

/* Every limit the parser enforces, in one place. */
struct pop3_limits {
	size_t line_max; /* command line without its CRLF */
	size_t arg_max;  /* an ordinary argument (numbers, mechanism names, digests) */
	size_t name_max; /* the login name of USER and APOP */
};

/* The limits of RFC 2449, widened only for login names. */
extern const struct pop3_limits pop3_default_limits;

enum pop3_verb {
	POP3_VERB_UNKNOWN = 0,
	POP3_VERB_USER,
	POP3_VERB_PASS,
	POP3_VERB_APOP,
	POP3_VERB_AUTH,
	POP3_VERB_CAPA,
	POP3_VERB_STLS,
	POP3_VERB_QUIT,
	POP3_VERB_STAT,
	POP3_VERB_LIST,
	POP3_VERB_RETR,
	POP3_VERB_DELE,
	POP3_VERB_NOOP,
	POP3_VERB_RSET,
	POP3_VERB_TOP,
	POP3_VERB_UIDL,
	POP3_VERB_COUNT
};

/* One argument: len bytes at p, inside the parsed line (not NUL-terminated). */
struct pop3_arg {
	const char *p;
	size_t len;
};

struct pop3_command {
	enum pop3_verb verb;
	size_t argc;
	struct pop3_arg argv[POP3_ARGV_MAX];
};

/*
 * pop3_command_parse - split a command line (without CRLF) into a verb
 * (case-insensitive) and its arguments, checking their number and length
 * for that verb. Arguments are separated by spaces; PASS takes the whole
 * rest of the line as one argument (RFC 1939 section 7: a password may hold
 * spaces), and so does the initial response of AUTH. Returns 0, or -1 with
 * *error_r a static reason. An unknown verb is not an error: it parses as
 * POP3_VERB_UNKNOWN with no arguments.
 */
int pop3_command_parse(const char *line, size_t len, const struct pop3_limits *limits,
		       struct pop3_command *cmd_r, const char **error_r);

/* pop3_verb_name - "RETR" for POP3_VERB_RETR, ...; "?" when unknown. */
const char *pop3_verb_name(enum pop3_verb verb);

/*
 * pop3_number_parse - a message number or line count: decimal digits only,
 * at most max. Returns 0 with *n_r set, or -1.
 */
int pop3_number_parse(const struct pop3_arg *arg, unsigned long max, unsigned long *n_r);

#endif

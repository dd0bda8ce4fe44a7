/*
 * smtp_parse - pure parsers for SMTP command lines (RFC 5321 section 4.1),
 * envelope paths and ESMTP parameters. No sockets, no globals, no
 * allocation: a unit test and a fuzzer call them directly.
 */
#ifndef POSTERN_SMTP_PARSE_H
#define POSTERN_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_LOCAL_MAX 64   /* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX 255 /* RFC 5321 4.5.3.1.2 */
#define SMTP_AUTH_PARAM_MAX 512

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_COUNT
};

/* One command line, its arguments borrowed from the input line. */
struct smtp_command {
	enum smtp_verb verb;
	const char *args; /* after the verb and one space; "" when none */
	size_t args_len;
};

/*
 * smtp_command_parse - split a command line (without its CRLF) into verb
 * and arguments. The verb is case-insensitive. Returns 0, or -1 with
 * *error_r set to a static reason (NUL byte, 8-bit byte in the verb, ...).
 * An unknown verb is not an error: verb is SMTP_VERB_UNKNOWN.
 */
int smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd_r,
		       const char **error_r);

/* smtp_verb_name - "MAIL" for SMTP_VERB_MAIL, ... */
const char *smtp_verb_name(enum smtp_verb verb);

enum smtp_body {
	SMTP_BODY_UNSET = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

/* A parsed MAIL FROM / RCPT TO: mailbox and ESMTP parameters. */
struct smtp_path {
	bool null_path;                    /* <> (MAIL only) */
	char local[SMTP_LOCAL_MAX * 2 + 3]; /* as sent, quotes removed where harmless */
	char domain[SMTP_DOMAIN_MAX + 1];  /* lower case, no trailing dot */
	bool size_set;
	unsigned long long size;           /* SIZE= (RFC 1870) */
	enum smtp_body body;               /* BODY= (RFC 6152) */
	bool smtputf8;                     /* SMTPUTF8 (RFC 6531) */
	bool auth_set;
	char auth[SMTP_AUTH_PARAM_MAX + 1]; /* AUTH= (RFC 4954), xtext decoded */
};

enum smtp_path_kind {
	SMTP_PATH_MAIL, /* "FROM:" reverse-path, <> allowed */
	SMTP_PATH_RCPT, /* "TO:" forward-path, <Postmaster> allowed */
};

/*
 * smtp_path_parse - parse the arguments of MAIL ("FROM:<path> params") or
 * RCPT ("TO:<path> params"). A source route (@a,@b:) is accepted and
 * dropped (RFC 5321 4.1.1.3). Returns 0; or -1 with *error_r set and
 * *code_r the SMTP reply: 501 syntax (error_r starts "5.5.4 ..." or
 * "5.1.7 ..." / "5.1.3 ..."), 555 unknown parameter.
 */
int smtp_path_parse(const char *args, size_t len, enum smtp_path_kind kind,
		    struct smtp_path *path_r, int *code_r, const char **error_r);

/*
 * smtp_path_has_utf8 - whether local or domain has 8-bit (UTF-8) bytes:
 * such a path needs SMTPUTF8 on the transaction's MAIL, else the session
 * answers "553 5.6.7 ..." (RFC 6531 3.5). The parser itself accepts it.
 */
bool smtp_path_has_utf8(const struct smtp_path *path);

#endif

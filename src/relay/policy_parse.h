/*
 * policy_parse - Postfix's SMTPD access policy delegation protocol
 * (https://www.postfix.org/SMTPD_POLICY_README.html), the request side: a
 * pure, incremental parser of "name=value" lines, LF terminated (a CR
 * before the LF is tolerated), ended by an empty line. Several requests
 * may follow each other on one connection; the parser stops at the end of
 * each one and is reset for the next.
 *
 * Limits: a line of at most line_max bytes, at most attrs_max attributes,
 * and all of them within RELAY_POLICY_ARENA bytes. An attribute name is
 * 1..63 characters of [A-Za-z0-9_.-]; a value is any bytes but NUL and LF.
 * An attribute given twice keeps its last value. An empty request (an
 * empty line first) is an error.
 */
#ifndef POSTERN_RELAY_POLICY_PARSE_H
#define POSTERN_RELAY_POLICY_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_POLICY_LINE_MAX 2048
#define RELAY_POLICY_ATTRS_MAX 64
#define RELAY_POLICY_NAME_MAX 63
#define RELAY_POLICY_ARENA 16384

struct relay_policy_limits {
	size_t line_max;  /* <= RELAY_POLICY_LINE_MAX */
	size_t attrs_max; /* <= RELAY_POLICY_ATTRS_MAX */
};

struct relay_policy_parser {
	struct relay_policy_limits limits;
	char line[RELAY_POLICY_LINE_MAX + 1];
	size_t line_len;
	size_t n; /* attributes so far */
	struct {
		uint16_t name, value; /* offsets into arena, NUL terminated */
	} attrs[RELAY_POLICY_ATTRS_MAX];
	char arena[RELAY_POLICY_ARENA];
	size_t arena_len;
	int state; /* 0 reading, 1 request complete, -1 failed */
};

/* relay_policy_parser_init - an empty parser; limits NULL: the maxima. */
void relay_policy_parser_init(struct relay_policy_parser *p,
			      const struct relay_policy_limits *limits);

/*
 * relay_policy_parse - feed len bytes of data. Returns 1 when a request is
 * complete (*used_r bytes consumed; read it with relay_policy_attr, then
 * relay_policy_parser_reset), 0 when all bytes were consumed and more are
 * needed, -1 on a protocol error with *error_r static (the connection
 * should be closed; the parser stays failed).
 */
int relay_policy_parse(struct relay_policy_parser *p, const char *data, size_t len,
		       size_t *used_r, const char **error_r);

/* relay_policy_attr - the value of attribute name in the request, or NULL. */
const char *relay_policy_attr(const struct relay_policy_parser *p, const char *name);

/* relay_policy_parser_reset - forget the request, ready for the next one. */
void relay_policy_parser_reset(struct relay_policy_parser *p);

#endif

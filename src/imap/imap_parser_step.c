/*
 * imap_parser_step - the states of the IMAP command parser that read a
 * command's line (RFC 9051 section 9): the tag, the command name, atoms
 * (with the "[...]" rule of imap_arg.h), quoted strings, lists and the
 * headers of literals. Each takes the bytes it can and says how many.
 */
#include <string.h>
#include <strings.h>

#include "imap/imap_parser_internal.h"

/* Character classes of the bytes below 0x80 (RFC 9051 section 9). */
#define IMAP_PARSER_C_ATOM 1 /* atom as we take it: printable, not SP ( ) { " */
#define IMAP_PARSER_C_TAG 2  /* tag: ASTRING-CHAR except '+' */
#define IMAP_PARSER_C_NAME 4 /* command name: ATOM-CHAR */

static const unsigned char imap_parser_class[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 7, 0, 7, 7, 1, 7, 7, 0, 0, 1, 5, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 1, 3, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 7, 7, 7, 0,
};

/* imap_parser_is - byte c is in character class cls. */
static inline bool imap_parser_is(unsigned char c, unsigned cls)
{
	return (imap_parser_class[c] & cls) != 0;
}

/* imap_parser_quoted_plain - a byte a quoted string holds as it is. */
static inline bool imap_parser_quoted_plain(unsigned char c)
{
	return c != '"' && c != '\\' && c != '\r' && c != '\n' && c != '\0';
}

/* imap_parser_tag - the tag, up to its SP (RFC 9051: tag = 1*<ASTRING-CHAR except "+">). */
static size_t imap_parser_tag(struct imap_parser *p, const char *d, size_t n)
{
	size_t j = 0;
	unsigned char c;

	while (j < n && imap_parser_is((unsigned char)d[j], IMAP_PARSER_C_TAG))
		j++;
	if (j > 0 && !imap_parser_put(p, d, j, &j))
		return j;
	if (j == n)
		return j;
	c = (unsigned char)d[j];
	if ((c == ' ' || c == '\r') && p->buf_used > 0) {
		p->buf[p->buf_used++] = '\0';
		p->have_tag = true;
		p->state = IMAP_PARSER_TAG_SP;
		if (c == '\r')
			imap_parser_fail(p, "missing command name", false, c);
		return j + 1;
	}
	if (c == '+' || c == '\n')
		imap_parser_fail(p, c == '+' ? "'+' in the tag" : "LF without CR", false, c);
	else
		imap_parser_fail(p, p->buf_used == 0 ? "missing tag" : "invalid character in the tag",
				 false, c);
	return j + 1;
}

/* imap_parser_tag_sp - between the tag and the command name. */
static size_t imap_parser_tag_sp(struct imap_parser *p, unsigned char c)
{
	if (c == ' ')
		return 1;
	if (imap_parser_is(c, IMAP_PARSER_C_NAME)) {
		p->name_off = p->buf_used;
		p->state = IMAP_PARSER_NAME;
		return 0;
	}
	imap_parser_fail(p, c == '\n' ? "LF without CR" : "missing command name", false, c);
	return 1;
}

/* imap_parser_name - the command name, upper-cased, up to SP or CR. */
static size_t imap_parser_name(struct imap_parser *p, const char *d, size_t n)
{
	size_t j = 0;
	unsigned char c;

	while (j < n && imap_parser_is((unsigned char)d[j], IMAP_PARSER_C_NAME))
		j++;
	if (j > 0 && !imap_parser_put(p, d, j, &j))
		return j;
	for (char *s = p->buf + p->buf_used - j; s < p->buf + p->buf_used; s++)
		*s = (char)(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
	if (j == n)
		return j;
	c = (unsigned char)d[j];
	if (c != ' ' && c != '\r') {
		imap_parser_fail(p, c == '\n' ? "LF without CR" : "invalid character in the command name",
				 false, c);
		return j + 1;
	}
	p->buf[p->buf_used++] = '\0';
	p->have_name = true;
	p->is_append = strcmp(p->buf + p->name_off, "APPEND") == 0;
	p->state = c == ' ' ? IMAP_PARSER_ARG_START : IMAP_PARSER_CR;
	return j + 1;
}

/* imap_parser_line_end - the CR that ends the command (all lists closed). */
static size_t imap_parser_line_end(struct imap_parser *p, unsigned char c)
{
	if (p->depth > 0)
		imap_parser_fail(p, "missing ')'", false, c);
	else
		p->state = IMAP_PARSER_CR;
	return 1;
}

/* imap_parser_list_open - '(' starts a list. */
static size_t imap_parser_list_open(struct imap_parser *p, unsigned char c)
{
	if (p->depth >= p->limits.depth_max) {
		imap_parser_fail(p, "lists nested too deeply", true, c);
		return 1;
	}
	if (!imap_parser_node_new(p, IMAP_ARG_LIST, c))
		return 1;
	p->cur = p->str_node + 1;
	p->depth++;
	return 1;
}

/* imap_parser_list_close - ')' ends the innermost list. */
static size_t imap_parser_list_close(struct imap_parser *p, unsigned char c)
{
	if (p->depth == 0) {
		imap_parser_fail(p, "')' without '('", false, c);
		return 1;
	}
	p->cur = p->nodes[p->cur - 1].parent;
	p->depth--;
	p->state = IMAP_PARSER_ARG_SEP;
	return 1;
}

/* imap_parser_lit_open - '{' (or "~{") starts a literal's size. */
static size_t imap_parser_lit_open(struct imap_parser *p, bool lit8)
{
	p->lit8 = lit8;
	p->lit_n = 0;
	p->lit_digits = 0;
	p->state = IMAP_PARSER_LIT_DIGITS;
	return 1;
}

/* imap_parser_arg_start - what may start an argument, or end a list or the line. */
static size_t imap_parser_arg_start(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		return 1; /* be lenient with doubled and trailing spaces */
	case '\r':
		return imap_parser_line_end(p, c);
	case '(':
		return imap_parser_list_open(p, c);
	case ')':
		return imap_parser_list_close(p, c);
	case '"':
		if (imap_parser_node_new(p, IMAP_ARG_STRING, c))
			p->state = IMAP_PARSER_QUOTED;
		return 1;
	case '{':
		return imap_parser_lit_open(p, false);
	case '~':
		p->state = IMAP_PARSER_TILDE;
		return 1;
	}
	if (!imap_parser_is(c, IMAP_PARSER_C_ATOM)) {
		imap_parser_fail(p, c == '\n' ? "LF without CR" : "invalid character", false, c);
		return 1;
	}
	if (!imap_parser_node_new(p, IMAP_ARG_ATOM, c))
		return 1;
	p->state = IMAP_PARSER_ATOM;
	return 0;
}

/* imap_parser_arg_sep - after an argument: SP, ')' or the line's CR. */
static size_t imap_parser_arg_sep(struct imap_parser *p, unsigned char c)
{
	if (c == ' ') {
		p->state = IMAP_PARSER_ARG_START;
		return 1;
	}
	if (c == ')')
		return imap_parser_list_close(p, c);
	if (c == '\r')
		return imap_parser_line_end(p, c);
	imap_parser_fail(p, c == '\n' ? "LF without CR" : "expected a space after an argument",
			 false, c);
	return 1;
}

/* imap_parser_atom_end - the atom ends (not consuming the byte after it); NIL is NIL. */
static size_t imap_parser_atom_end(struct imap_parser *p)
{
	struct imap_parser_node *nd = &p->nodes[p->str_node];

	imap_parser_str_end(p);
	if (nd->len == 3 && strncasecmp(p->buf + nd->off, "NIL", 3) == 0)
		nd->type = IMAP_ARG_NIL;
	return 0;
}

/* imap_parser_atom - atom characters, up to a '[' or the atom's end. */
static size_t imap_parser_atom(struct imap_parser *p, const char *d, size_t n)
{
	size_t j = 0;

	while (j < n && d[j] != '[' && imap_parser_is((unsigned char)d[j], IMAP_PARSER_C_ATOM))
		j++;
	if (j > 0 && !imap_parser_put(p, d, j, &j))
		return j;
	if (j == n)
		return j;
	if (d[j] != '[')
		return j + imap_parser_atom_end(p);
	if (imap_parser_put(p, d + j, 1, &n)) {
		p->br_depth = 1;
		p->br_quote = p->br_esc = false;
		p->state = IMAP_PARSER_BRACKET;
	}
	return j + 1;
}

/* imap_parser_bracket_scan - bytes up to the ']' that closes the first '[', or a bad one. */
static size_t imap_parser_bracket_scan(struct imap_parser *p, const char *d, size_t n)
{
	size_t j;

	for (j = 0; j < n; j++) {
		unsigned char c = (unsigned char)d[j];

		if (c < 0x20 || c > 0x7e)
			return j;
		if (p->br_quote) {
			if (p->br_esc)
				p->br_esc = false;
			else if (c == '\\')
				p->br_esc = true;
			else if (c == '"')
				p->br_quote = false;
		} else if (c == '"') {
			p->br_quote = true;
		} else if (c == '[') {
			p->br_depth++;
		} else if (c == ']' && --p->br_depth == 0) {
			return j;
		}
	}
	return n;
}

/* imap_parser_bracket - inside "[...]" of an atom: anything printable, quoted strings too. */
static size_t imap_parser_bracket(struct imap_parser *p, const char *d, size_t n)
{
	size_t j = imap_parser_bracket_scan(p, d, n);

	if (j == n || d[j] != ']') {
		if (j > 0 && !imap_parser_put(p, d, j, &j))
			return j;
		if (j < n)
			imap_parser_fail(p, "unterminated '[' in an atom", false, (unsigned char)d[j]);
		return j < n ? j + 1 : j;
	}
	if (imap_parser_put(p, d, j + 1, &n))
		p->state = IMAP_PARSER_ATOM;
	return n;
}

/* imap_parser_tilde - "~{" starts a literal8 (RFC 3516); any other '~' starts an atom. */
static size_t imap_parser_tilde(struct imap_parser *p, unsigned char c)
{
	if (c == '{')
		return imap_parser_lit_open(p, true);
	if (!imap_parser_node_new(p, IMAP_ARG_ATOM, c) || !imap_parser_reserve(p, 1, c))
		return 1;
	p->buf[p->buf_used++] = '~';
	p->state = IMAP_PARSER_ATOM;
	return 0;
}

/* imap_parser_quoted - a quoted string's plain bytes, its end or a backslash. */
static size_t imap_parser_quoted(struct imap_parser *p, const char *d, size_t n)
{
	size_t j = 0;

	while (j < n && imap_parser_quoted_plain((unsigned char)d[j]))
		j++;
	if (j > 0 && !imap_parser_put(p, d, j, &j))
		return j;
	if (j == n)
		return j;
	if (d[j] == '"') {
		imap_parser_str_end(p);
	} else if (d[j] == '\\') {
		p->state = IMAP_PARSER_QUOTED_ESC;
	} else {
		imap_parser_fail(p, d[j] == '\0' ? "NUL in a quoted string" : "unterminated quoted string",
				 false, (unsigned char)d[j]);
	}
	return j + 1;
}

/* imap_parser_quoted_esc - after a backslash: only \" and \\ (RFC 9051 quoted-specials). */
static size_t imap_parser_quoted_esc(struct imap_parser *p, const char *d)
{
	size_t used;

	if (*d != '"' && *d != '\\') {
		imap_parser_fail(p, "invalid escape in a quoted string", false, (unsigned char)*d);
		return 1;
	}
	if (imap_parser_put(p, d, 1, &used))
		p->state = IMAP_PARSER_QUOTED;
	return 1;
}

/* imap_parser_lit_digits - the digits of "{n}", "{n+}", then '+' or '}'. */
static size_t imap_parser_lit_digits(struct imap_parser *p, unsigned char c)
{
	if (c >= '0' && c <= '9') {
		if (p->lit_digits == IMAP_PARSER_SIZE_DIGITS) {
			imap_parser_fail(p, "literal too big", true, c);
			return 1;
		}
		p->lit_n = p->lit_n * 10 + (c - '0');
		p->lit_digits++;
	} else if ((c == '+' || c == '}') && p->lit_digits > 0) {
		p->lit_sync = c == '}';
		p->state = c == '}' ? IMAP_PARSER_LIT_CR : IMAP_PARSER_LIT_PLUS;
	} else {
		imap_parser_fail(p, "invalid literal size", false, c);
	}
	return 1;
}

/* imap_parser_lit_refused - a literal header passed a limit: ERROR, skip the bytes if they come. */
static void imap_parser_lit_refused(struct imap_parser *p, const char *text)
{
	imap_parser_fail(p, text, true, '\0');
	if (p->lit_sync) {
		p->state = IMAP_PARSER_TAG; /* the client waits for a "+" that never comes */
	} else {
		p->state = IMAP_PARSER_SKIP_LIT;
		p->skip_left = p->lit_n;
	}
}

/* imap_parser_lit_check - why a literal of lit_n bytes cannot be kept in memory, or NULL. */
static const char *imap_parser_lit_check(const struct imap_parser *p)
{
	if (p->node_count >= p->limits.args_max)
		return "too many arguments";
	if (p->lit_n > p->limits.literal_max)
		return "literal too big";
	if (p->lit_n >= p->limits.total_max || p->buf_used + p->lit_n + 1 > p->limits.total_max)
		return "command too big";
	return NULL;
}

/* imap_parser_lit_header - "{n}\r\n" read: stream it, or keep it in memory. */
static void imap_parser_lit_header(struct imap_parser *p)
{
	bool stream = p->limits.stream_append && p->is_append && p->depth == 0 && p->top_count > 0;
	const char *refused = imap_parser_lit_check(p);

	if (stream && p->node_count < p->limits.args_max)
		refused = NULL; /* its size is the caller's business */
	if (refused != NULL) {
		imap_parser_lit_refused(p, refused);
	} else if (stream) {
		imap_parser_layout(p);
		p->res = IMAP_PARSE_LITERAL;
		p->state = IMAP_PARSER_LIT_STREAM;
	} else if (imap_parser_node_new(p, IMAP_ARG_LITERAL, '\0') &&
		   imap_parser_reserve(p, p->lit_n, '\0')) { /* cannot fail: checked */
		p->nodes[p->str_node].literal8 = p->lit8;
		p->lit_left = p->lit_n;
		p->state = IMAP_PARSER_LIT_DATA;
		if (p->lit_n == 0)
			imap_parser_str_end(p);
		if (p->lit_sync)
			p->res = IMAP_PARSE_CONTINUE;
	}
}

/* imap_parser_lit_end - "+}" then CR LF after a literal's size. */
static size_t imap_parser_lit_end(struct imap_parser *p, unsigned char c)
{
	if (p->state == IMAP_PARSER_LIT_PLUS && c == '}')
		p->state = IMAP_PARSER_LIT_CR;
	else if (p->state == IMAP_PARSER_LIT_CR && c == '\r')
		p->state = IMAP_PARSER_LIT_LF;
	else if (p->state == IMAP_PARSER_LIT_LF && c == '\n')
		imap_parser_lit_header(p);
	else
		imap_parser_fail(p, p->state == IMAP_PARSER_LIT_PLUS ? "invalid literal size"
				    : p->state == IMAP_PARSER_LIT_CR ? "a literal's size must end the line"
								     : "CR without LF",
				 false, c);
	return 1;
}

/* imap_parser_cr - the LF after the command's CR: DONE. */
static size_t imap_parser_cr(struct imap_parser *p, unsigned char c)
{
	if (c != '\n') {
		imap_parser_fail(p, "CR without LF", false, c);
		return 1;
	}
	imap_parser_layout(p);
	p->res = IMAP_PARSE_DONE;
	p->state = IMAP_PARSER_DONE;
	p->reset_pending = true;
	return 1;
}

/* imap_parser_step_line - one step in the states that read the command's line. */
size_t imap_parser_step_line(struct imap_parser *p, const char *d, size_t n)
{
	unsigned char c = (unsigned char)d[0];

	switch (p->state) {
	case IMAP_PARSER_TAG:
		return imap_parser_tag(p, d, n);
	case IMAP_PARSER_TAG_SP:
		return imap_parser_tag_sp(p, c);
	case IMAP_PARSER_NAME:
		return imap_parser_name(p, d, n);
	case IMAP_PARSER_ARG_START:
		return imap_parser_arg_start(p, c);
	case IMAP_PARSER_ARG_SEP:
		return imap_parser_arg_sep(p, c);
	case IMAP_PARSER_ATOM:
		return imap_parser_atom(p, d, n);
	case IMAP_PARSER_BRACKET:
		return imap_parser_bracket(p, d, n);
	case IMAP_PARSER_TILDE:
		return imap_parser_tilde(p, c);
	case IMAP_PARSER_QUOTED:
		return imap_parser_quoted(p, d, n);
	case IMAP_PARSER_QUOTED_ESC:
		return imap_parser_quoted_esc(p, d);
	case IMAP_PARSER_LIT_DIGITS:
		return imap_parser_lit_digits(p, c);
	case IMAP_PARSER_CR:
		return imap_parser_cr(p, c);
	default:
		return imap_parser_lit_end(p, c);
	}
}

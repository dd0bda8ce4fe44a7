/*
 * imap_parser - the incremental IMAP command parser (see imap_parser.h):
 * its storage, the argument tree, the feed loop and the skipping of bad
 * commands; the states that read a command's line are in
 * imap_parser_step.c.
 *
 * A byte state machine over the input; runs of atom, quoted and literal
 * bytes are copied in one go. Strings go to one growable buffer and the
 * arguments to a flat array of nodes, both addressed by index while the
 * command is read (the buffer may move when it grows); the imap_arg tree,
 * with every list's elements side by side, is laid out from the nodes at
 * DONE and at LITERAL.
 */
#include "imap/imap_parser.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser_internal.h"
#include "util/xalloc.h"

#define IMAP_PARSER_BUF_MIN 256    /* first string buffer */
#define IMAP_PARSER_BUF_KEEP 2048  /* a bigger one is freed between commands */
#define IMAP_PARSER_NODES_MIN 16   /* first node array */
#define IMAP_PARSER_NODES_KEEP 32  /* (an idle session holds little) */

static void imap_parser_cmd_reset(struct imap_parser *p)
{
	p->limits = p->limits_next;
	if (p->buf_cap > IMAP_PARSER_BUF_KEEP) {
		free(p->buf);
		p->buf = NULL;
		p->buf_cap = 0;
	}
	if (p->node_cap > IMAP_PARSER_NODES_KEEP) {
		free(p->nodes);
		free(p->out);
		p->nodes = NULL;
		p->out = NULL;
		p->node_cap = 0;
	}
	p->buf_used = p->node_count = p->line_len = 0;
	p->have_tag = p->have_name = p->is_append = false;
	p->cur = p->top_count = 0;
	p->depth = 0;
	p->reset_pending = false;
	p->err_text = NULL;
	p->err_toobig = p->err_tag = false;
	memset(&p->cmd, 0, sizeof(p->cmd));
}

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	p->limits = p->limits_next = *limits;
	p->state = IMAP_PARSER_TAG;
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	free(p->buf);
	free(p->nodes);
	free(p->out);
	free(p);
	*pp = NULL;
}

void imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *limits)
{
	p->limits_next = *limits;
}

/* imap_parser_track - one skipped byte; at the line's end, a "{n+}" literal is skipped too. */
static void imap_parser_track(struct imap_parser *p, unsigned char c)
{
	enum imap_parser_track t = p->trk;

	p->trk = IMAP_PARSER_TRK_NONE;
	if (c == '\n') {
		p->state = t == IMAP_PARSER_TRK_CR_PLUS ? IMAP_PARSER_SKIP_LIT : IMAP_PARSER_TAG;
		p->skip_left = p->trk_n;
	} else if (c == '{') {
		p->trk = IMAP_PARSER_TRK_DIGITS;
		p->trk_n = p->trk_digits = 0;
	} else if (t == IMAP_PARSER_TRK_DIGITS && c >= '0' && c <= '9' &&
		   p->trk_digits < IMAP_PARSER_SIZE_DIGITS) {
		p->trk = t;
		p->trk_n = p->trk_n * 10 + (c - '0');
		p->trk_digits++;
	} else if (t == IMAP_PARSER_TRK_DIGITS && p->trk_digits > 0 && (c == '+' || c == '}')) {
		p->trk = c == '+' ? IMAP_PARSER_TRK_PLUS : IMAP_PARSER_TRK_CLOSE;
	} else if (t == IMAP_PARSER_TRK_PLUS && c == '}') {
		p->trk = IMAP_PARSER_TRK_CLOSE_PLUS;
	} else if (t == IMAP_PARSER_TRK_CLOSE_PLUS && c == '\r') {
		p->trk = IMAP_PARSER_TRK_CR_PLUS;
	}
}

/*
 * imap_parser_fail - the command is bad, found at byte c (already
 * consumed): ERROR, then skip the rest of it (nothing if c was its LF).
 */
void imap_parser_fail(struct imap_parser *p, const char *text, bool toobig, unsigned char c)
{
	p->err_text = text;
	p->err_toobig = toobig;
	p->err_tag = p->have_tag;
	p->res = IMAP_PARSE_ERROR;
	p->reset_pending = true;
	p->state = IMAP_PARSER_SKIP;
	p->trk = IMAP_PARSER_TRK_NONE;
	imap_parser_track(p, c);
}

/* imap_parser_reserve - room for n more bytes and a NUL, within total_max; else ERROR at c. */
bool imap_parser_reserve(struct imap_parser *p, uint64_t n, unsigned char c)
{
	size_t need, cap;

	if (n >= p->limits.total_max || p->buf_used + n + 1 > p->limits.total_max) {
		imap_parser_fail(p, "command too big", true, c);
		return false;
	}
	need = p->buf_used + (size_t)n + 1;
	if (need <= p->buf_cap)
		return true;
	cap = p->buf_cap > 0 ? p->buf_cap : IMAP_PARSER_BUF_MIN;
	while (cap < need && cap <= p->limits.total_max / 2)
		cap *= 2;
	if (cap < need || cap > p->limits.total_max)
		cap = need > p->limits.total_max ? need : p->limits.total_max;
	p->buf = xrealloc(p->buf, cap);
	p->buf_cap = cap;
	return true;
}

/*
 * imap_parser_put - append the run s[0..n) to the string being read;
 * past total_max, ERROR at the first byte that does not fit (the same
 * byte however the input is chunked). *used_r: the bytes consumed.
 */
bool imap_parser_put(struct imap_parser *p, const char *s, size_t n, size_t *used_r)
{
	size_t room = p->buf_used < p->limits.total_max ? p->limits.total_max - p->buf_used - 1 : 0;

	if (n > room) {
		imap_parser_fail(p, "command too big", true, (unsigned char)s[room]);
		*used_r = room + 1;
		return false;
	}
	imap_parser_reserve(p, n, '\0'); /* fits */
	memcpy(p->buf + p->buf_used, s, n);
	p->buf_used += n;
	*used_r = n;
	return true;
}

/* imap_parser_node_new - a new argument in the open list (ERROR at c past args_max). */
bool imap_parser_node_new(struct imap_parser *p, enum imap_arg_type type, unsigned char c)
{
	struct imap_parser_node *nd;

	if (p->node_count >= p->limits.args_max) {
		imap_parser_fail(p, "too many arguments", true, c);
		return false;
	}
	if (type != IMAP_ARG_LIST && type != IMAP_ARG_LITERAL_SIZE && !imap_parser_reserve(p, 0, c))
		return false;
	if (p->node_count == p->node_cap) {
		size_t cap = p->node_cap > 0 ? p->node_cap * 2 : IMAP_PARSER_NODES_MIN;
		cap = cap < p->limits.args_max ? cap : p->limits.args_max;
		p->nodes = xrealloc(p->nodes, cap * sizeof(*p->nodes));
		p->out = xrealloc(p->out, cap * sizeof(*p->out));
		p->node_cap = cap;
	}
	nd = &p->nodes[p->node_count];
	nd->type = type;
	nd->literal8 = false;
	nd->parent = p->cur;
	nd->idx = p->cur > 0 ? p->nodes[p->cur - 1].len++ : p->top_count++;
	nd->off = p->buf_used;
	nd->len = 0;
	p->str_node = p->node_count++;
	return true;
}

/* imap_parser_str_end - NUL-terminate the string being read; an argument ends. */
void imap_parser_str_end(struct imap_parser *p)
{
	struct imap_parser_node *nd = &p->nodes[p->str_node];

	nd->len = p->buf_used - nd->off;
	p->buf[p->buf_used++] = '\0'; /* room reserved with the string's bytes */
	p->state = IMAP_PARSER_ARG_SEP;
}

/* imap_parser_layout - the imap_arg tree and the command, from the nodes. */
void imap_parser_layout(struct imap_parser *p)
{
	size_t next = p->top_count;

	for (size_t i = 0; i < p->node_count; i++) {
		struct imap_parser_node *nd = &p->nodes[i];
		size_t start = nd->parent > 0 ? p->nodes[nd->parent - 1].off : 0;
		struct imap_arg *a = &p->out[start + nd->idx];

		a->type = nd->type;
		a->literal8 = nd->literal8;
		if (nd->type == IMAP_ARG_LIST) {
			nd->off = next;
			a->u.list.args = p->out + next;
			a->u.list.count = (size_t)nd->len;
			next += (size_t)nd->len;
		} else if (nd->type == IMAP_ARG_LITERAL_SIZE) {
			a->u.size = nd->len;
		} else {
			a->u.str.data = p->buf + nd->off;
			a->u.str.len = (size_t)nd->len;
		}
	}
	p->cmd.tag = p->have_tag ? p->buf : NULL;
	p->cmd.name = p->have_name ? p->buf + p->name_off : NULL;
	p->cmd.args = p->node_count > 0 ? p->out : NULL;
	p->cmd.count = p->top_count;
}

/* imap_parser_lit_data - an in-memory literal's bytes, in one copy. */
static size_t imap_parser_lit_data(struct imap_parser *p, const char *d, size_t n)
{
	size_t k = n < p->lit_left ? n : (size_t)p->lit_left;

	memcpy(p->buf + p->buf_used, d, k);
	p->buf_used += k;
	p->lit_left -= k;
	if (p->lit_left == 0)
		imap_parser_str_end(p);
	return k;
}

/* imap_parser_skip - the rest of a bad command's line; a new command after its LF. */
static size_t imap_parser_skip(struct imap_parser *p, const char *d, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		imap_parser_track(p, (unsigned char)d[j]);
		if (p->state == IMAP_PARSER_TAG)
			imap_parser_cmd_reset(p);
		if (p->state != IMAP_PARSER_SKIP)
			return j + 1;
	}
	return n;
}

/* imap_parser_skip_lit - the bytes of a non-synchronizing literal of a bad command. */
static size_t imap_parser_skip_lit(struct imap_parser *p, size_t n)
{
	size_t k = n < p->skip_left ? n : (size_t)p->skip_left;

	p->skip_left -= k;
	if (p->skip_left == 0) {
		p->state = IMAP_PARSER_SKIP;
		p->trk = IMAP_PARSER_TRK_NONE;
	}
	return k;
}

/* imap_parser_counted - the state reads bytes that count toward line_max. */
static bool imap_parser_counted(enum imap_parser_state s)
{
	return s != IMAP_PARSER_LIT_DATA && s != IMAP_PARSER_LIT_STREAM && s != IMAP_PARSER_DONE &&
	       s != IMAP_PARSER_SKIP && s != IMAP_PARSER_SKIP_LIT;
}

/* imap_parser_step - one step: consumes some bytes, or changes state, or ends the feed. */
static size_t imap_parser_step(struct imap_parser *p, const char *d, size_t n)
{
	size_t used;

	if (imap_parser_counted(p->state)) {
		size_t room = p->limits.line_max - p->line_len;

		if (room == 0) {
			imap_parser_fail(p, "command line too long", true, (unsigned char)d[0]);
			return 1;
		}
		used = imap_parser_step_line(p, d, n < room ? n : room);
		p->line_len += used;
		return used;
	}
	switch (p->state) {
	case IMAP_PARSER_LIT_DATA:
		return imap_parser_lit_data(p, d, n);
	case IMAP_PARSER_SKIP:
		return imap_parser_skip(p, d, n);
	case IMAP_PARSER_SKIP_LIT:
		return imap_parser_skip_lit(p, n);
	default: /* LIT_STREAM: the caller fed before imap_parser_literal_done() */
		imap_parser_fail(p, "a streamed literal was not read", false, '\0');
		return 0;
	}
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
					size_t *used_r)
{
	size_t i = 0;

	p->res = IMAP_PARSE_MORE;
	if (p->state == IMAP_PARSER_DONE)
		p->state = IMAP_PARSER_TAG;
	if (p->reset_pending || (p->state == IMAP_PARSER_TAG && p->line_len == 0))
		imap_parser_cmd_reset(p);
	while (i < len && p->res == IMAP_PARSE_MORE)
		i += imap_parser_step(p, data + i, len - i);
	*used_r = i;
	return p->res;
}

void imap_parser_command(const struct imap_parser *p, struct imap_command *cmd_r)
{
	*cmd_r = p->cmd;
}

void imap_parser_error(const struct imap_parser *p, struct imap_parse_error *error_r)
{
	error_r->tag = p->err_tag ? p->buf : NULL;
	error_r->text = p->err_text != NULL ? p->err_text : "no error";
	error_r->toobig = p->err_toobig;
}

void imap_parser_partial(const struct imap_parser *p, struct imap_command *cmd_r)
{
	*cmd_r = p->cmd;
}

void imap_parser_literal(const struct imap_parser *p, uint64_t *size_r, bool *sync_r)
{
	*size_r = p->lit_n;
	*sync_r = p->lit_sync;
}

void imap_parser_literal_done(struct imap_parser *p)
{
	if (p->state != IMAP_PARSER_LIT_STREAM)
		return;
	if (imap_parser_node_new(p, IMAP_ARG_LITERAL_SIZE, '\0')) { /* room checked at the header */
		p->nodes[p->str_node].len = p->lit_n;
		p->nodes[p->str_node].literal8 = p->lit8;
		p->state = IMAP_PARSER_ARG_SEP;
	}
}

void imap_parser_literal_refuse(struct imap_parser *p)
{
	if (p->state != IMAP_PARSER_LIT_STREAM)
		return;
	p->reset_pending = true;
	if (p->lit_sync) {
		p->state = IMAP_PARSER_TAG;
	} else {
		p->state = IMAP_PARSER_SKIP_LIT;
		p->skip_left = p->lit_n;
	}
}

void imap_parser_reset(struct imap_parser *p)
{
	imap_parser_cmd_reset(p);
	if (p->state != IMAP_PARSER_SKIP && p->state != IMAP_PARSER_SKIP_LIT)
		p->state = IMAP_PARSER_TAG;
}

bool imap_parser_skipping(const struct imap_parser *p)
{
	return p->state == IMAP_PARSER_SKIP || p->state == IMAP_PARSER_SKIP_LIT;
}

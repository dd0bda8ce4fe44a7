/* imap_search - SEARCH criteria into a bounded tree (matching: imap_search_match.c). */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_date.h"
#include "util/xalloc.h"

const struct imap_search_limits imap_search_default_limits = {
	.nodes_max = 1000,
	.depth_max = 32,
	.ranges_max = IMAP_SEQSET_RANGES_MAX,
};

/* What follows a search key's name. */
enum imap_search_argkind {
	IMAP_SEARCH_ARG_NONE,
	IMAP_SEARCH_ARG_STRING,  /* one astring: the substring */
	IMAP_SEARCH_ARG_HEADER,  /* field name and substring */
	IMAP_SEARCH_ARG_NUMBER,
	IMAP_SEARCH_ARG_DATE,
	IMAP_SEARCH_ARG_SEQSET,
	IMAP_SEARCH_ARG_KEYWORD,
	IMAP_SEARCH_ARG_MODSEQ,  /* [entry-name entry-type] number */
	IMAP_SEARCH_ARG_KEYS,    /* NOT: one key; OR: two */
};

#define IMAP_SEARCH_F(x) IMAP_FLAG_##x

/* The search keys (RFC 9051 6.4.4, RFC 3501 6.4.4, RFC 7162 3.1.5). */
static const struct {
	const char *name;
	enum imap_search_key key;
	enum imap_search_argkind arg;
	unsigned set_mask, clear_mask;
	const char *field; /* the header field of FROM, TO, CC, BCC, SUBJECT */
} imap_search_keys[] = {
	{ "ALL", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, 0, 0, NULL },
	{ "ANSWERED", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, IMAP_SEARCH_F(ANSWERED), 0, NULL },
	{ "BCC", IMAP_SEARCH_HEADER, IMAP_SEARCH_ARG_STRING, 0, 0, "bcc" },
	{ "BEFORE", IMAP_SEARCH_BEFORE, IMAP_SEARCH_ARG_DATE, 0, 0, NULL },
	{ "BODY", IMAP_SEARCH_BODY, IMAP_SEARCH_ARG_STRING, 0, 0, NULL },
	{ "CC", IMAP_SEARCH_HEADER, IMAP_SEARCH_ARG_STRING, 0, 0, "cc" },
	{ "DELETED", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, IMAP_SEARCH_F(DELETED), 0, NULL },
	{ "DRAFT", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, IMAP_SEARCH_F(DRAFT), 0, NULL },
	{ "FLAGGED", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, IMAP_SEARCH_F(FLAGGED), 0, NULL },
	{ "FROM", IMAP_SEARCH_HEADER, IMAP_SEARCH_ARG_STRING, 0, 0, "from" },
	{ "HEADER", IMAP_SEARCH_HEADER, IMAP_SEARCH_ARG_HEADER, 0, 0, NULL },
	{ "KEYWORD", IMAP_SEARCH_KEYWORD, IMAP_SEARCH_ARG_KEYWORD, 0, 0, NULL },
	{ "LARGER", IMAP_SEARCH_LARGER, IMAP_SEARCH_ARG_NUMBER, 0, 0, NULL },
	{ "MODSEQ", IMAP_SEARCH_MODSEQ, IMAP_SEARCH_ARG_MODSEQ, 0, 0, NULL },
	{ "NEW", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, IMAP_SEARCH_F(RECENT),
	  IMAP_SEARCH_F(SEEN), NULL },
	{ "NOT", IMAP_SEARCH_NOT, IMAP_SEARCH_ARG_KEYS, 0, 0, NULL },
	{ "OLD", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, 0, IMAP_SEARCH_F(RECENT), NULL },
	{ "ON", IMAP_SEARCH_ON, IMAP_SEARCH_ARG_DATE, 0, 0, NULL },
	{ "OR", IMAP_SEARCH_OR, IMAP_SEARCH_ARG_KEYS, 0, 0, NULL },
	{ "RECENT", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, IMAP_SEARCH_F(RECENT), 0, NULL },
	{ "SEEN", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, IMAP_SEARCH_F(SEEN), 0, NULL },
	{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE, IMAP_SEARCH_ARG_DATE, 0, 0, NULL },
	{ "SENTON", IMAP_SEARCH_SENTON, IMAP_SEARCH_ARG_DATE, 0, 0, NULL },
	{ "SENTSINCE", IMAP_SEARCH_SENTSINCE, IMAP_SEARCH_ARG_DATE, 0, 0, NULL },
	{ "SINCE", IMAP_SEARCH_SINCE, IMAP_SEARCH_ARG_DATE, 0, 0, NULL },
	{ "SMALLER", IMAP_SEARCH_SMALLER, IMAP_SEARCH_ARG_NUMBER, 0, 0, NULL },
	{ "SUBJECT", IMAP_SEARCH_HEADER, IMAP_SEARCH_ARG_STRING, 0, 0, "subject" },
	{ "TEXT", IMAP_SEARCH_TEXT, IMAP_SEARCH_ARG_STRING, 0, 0, NULL },
	{ "TO", IMAP_SEARCH_HEADER, IMAP_SEARCH_ARG_STRING, 0, 0, "to" },
	{ "UID", IMAP_SEARCH_UIDSET, IMAP_SEARCH_ARG_SEQSET, 0, 0, NULL },
	{ "UNANSWERED", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, 0, IMAP_SEARCH_F(ANSWERED), NULL },
	{ "UNDELETED", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, 0, IMAP_SEARCH_F(DELETED), NULL },
	{ "UNDRAFT", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, 0, IMAP_SEARCH_F(DRAFT), NULL },
	{ "UNFLAGGED", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, 0, IMAP_SEARCH_F(FLAGGED), NULL },
	{ "UNKEYWORD", IMAP_SEARCH_UNKEYWORD, IMAP_SEARCH_ARG_KEYWORD, 0, 0, NULL },
	{ "UNSEEN", IMAP_SEARCH_FLAGS, IMAP_SEARCH_ARG_NONE, 0, IMAP_SEARCH_F(SEEN), NULL },
};

/* The parse in progress. */
struct imap_search_parser {
	struct imap_search *s;
	size_t cap;
	const struct imap_search_limits *limits;
	const struct imap_arg *args; /* the arguments of the level being parsed */
	size_t count, i;
	const char *error;
};

/* imap_search_lower_dup - a NUL-terminated, ASCII-lower-cased copy of len bytes. */
static char *imap_search_lower_dup(const char *s, size_t len)
{
	char *d = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		d[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	d[len] = '\0';
	return d;
}

/* imap_search_node_new - the next free node; NULL when the limit is reached. */
static struct imap_search_node *imap_search_node_new(struct imap_search_parser *p,
						     enum imap_search_key key)
{
	struct imap_search_node *n;

	if (p->s->count == p->cap) {
		p->error = "too many search keys";
		return NULL;
	}
	n = &p->s->nodes[p->s->count++];
	memset(n, 0, sizeof(*n));
	n->key = key;
	n->keyword = -1;
	return n;
}

/* imap_search_next_arg - the next argument of this level, or NULL with an error. */
static const struct imap_arg *imap_search_next_arg(struct imap_search_parser *p)
{
	if (p->i >= p->count) {
		p->error = "missing argument to search key";
		return NULL;
	}
	return &p->args[p->i++];
}

/* imap_search_astring - the next argument as an astring. */
static const struct imap_arg *imap_search_astring(struct imap_search_parser *p)
{
	const struct imap_arg *a = imap_search_next_arg(p);

	if (a != NULL && !imap_arg_is_astring(a)) {
		p->error = "search key needs a string";
		return NULL;
	}
	return a;
}

/* imap_search_number - a decimal number up to 2^63-1 in atom a. */
static int imap_search_number(const struct imap_arg *a, uint64_t *v_r)
{
	uint64_t v = 0;

	if (a == NULL || a->type != IMAP_ARG_ATOM || a->u.str.len == 0 || a->u.str.len > 19)
		return -1;
	for (size_t i = 0; i < a->u.str.len; i++) {
		if (a->u.str.data[i] < '0' || a->u.str.data[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(a->u.str.data[i] - '0');
	}
	*v_r = v;
	return 0;
}

/* imap_search_modseq - MODSEQ [entry-name entry-type-req] mod-sequence-valzer. */
static int imap_search_modseq(struct imap_search_parser *p, struct imap_search_node *n)
{
	const struct imap_arg *a = imap_search_next_arg(p);

	if (a != NULL && imap_arg_is_string(a)) {
		/* the entry name and type (RFC 7162 3.1.5): we keep one modseq per message */
		a = imap_search_next_arg(p);
		if (a == NULL || a->type != IMAP_ARG_ATOM ||
		    (strcasecmp(a->u.str.data, "priv") != 0 && strcasecmp(a->u.str.data, "shared") != 0 &&
		     strcasecmp(a->u.str.data, "all") != 0)) {
			p->error = "invalid MODSEQ entry type";
			return -1;
		}
		a = imap_search_next_arg(p);
	}
	if (imap_search_number(a, &n->number) < 0) {
		p->error = "invalid MODSEQ value";
		return -1;
	}
	p->s->modseq = true;
	return 0;
}

/* imap_search_string_arg - the substring of BODY / TEXT / FROM ..., lower-cased. */
static int imap_search_string_arg(struct imap_search_parser *p, struct imap_search_node *n,
				  const char *field)
{
	const struct imap_arg *a;

	if (field == NULL && n->key == IMAP_SEARCH_HEADER) {
		if ((a = imap_search_astring(p)) == NULL)
			return -1;
		if (a->u.str.len == 0 || memchr(a->u.str.data, ':', a->u.str.len) != NULL) {
			p->error = "invalid HEADER field name";
			return -1;
		}
		n->name = imap_search_lower_dup(a->u.str.data, a->u.str.len);
	} else if (field != NULL) {
		n->name = xstrdup(field);
	}
	if ((a = imap_search_astring(p)) == NULL)
		return -1;
	n->value = imap_search_lower_dup(a->u.str.data, a->u.str.len);
	n->value_len = a->u.str.len;
	p->s->load |= n->key == IMAP_SEARCH_BODY ? IMAP_SEARCH_LOAD_BODY : IMAP_SEARCH_LOAD_HEADER;
	if (n->key == IMAP_SEARCH_TEXT)
		p->s->load |= IMAP_SEARCH_LOAD_BODY;
	return 0;
}

/* imap_search_date_arg - a search date; SENT* keys read the header. */
static int imap_search_date_arg(struct imap_search_parser *p, struct imap_search_node *n)
{
	const struct imap_arg *a = imap_search_astring(p);

	if (a == NULL || imap_date_parse_search(a->u.str.data, a->u.str.len, &n->day, &p->error) < 0)
		return -1;
	if (n->key == IMAP_SEARCH_SENTBEFORE || n->key == IMAP_SEARCH_SENTON ||
	    n->key == IMAP_SEARCH_SENTSINCE)
		p->s->load |= IMAP_SEARCH_LOAD_HEADER;
	return 0;
}

/* imap_search_seqset_arg - the set of UID, or a bare set in atom a. */
static int imap_search_seqset_arg(struct imap_search_parser *p, struct imap_search_node *n,
				  const struct imap_arg *a)
{
	if (a == NULL || a->type != IMAP_ARG_ATOM) {
		p->error = a == NULL ? p->error : "invalid sequence set";
		return -1;
	}
	return imap_seqset_parse(a->u.str.data, a->u.str.len, p->limits->ranges_max, &n->set,
				 &p->error);
}

/* imap_search_keyword_arg - the flag-keyword of KEYWORD / UNKEYWORD. */
static int imap_search_keyword_arg(struct imap_search_parser *p, struct imap_search_node *n)
{
	const struct imap_arg *a = imap_search_next_arg(p);

	if (a == NULL || a->type != IMAP_ARG_ATOM) {
		p->error = a == NULL ? p->error : "KEYWORD needs a flag keyword";
		return -1;
	}
	n->name = xstrdup(a->u.str.data);
	return 0;
}

static struct imap_search_node *imap_search_key(struct imap_search_parser *p, unsigned depth);

/* imap_search_children - n's children: the next nkeys keys. */
static int imap_search_children(struct imap_search_parser *p, struct imap_search_node *n,
				size_t nkeys, unsigned depth)
{
	struct imap_search_node **link = &n->first;

	for (size_t k = 0; k < nkeys; k++) {
		if (p->i >= p->count) {
			p->error = "missing search key after NOT or OR";
			return -1;
		}
		if ((*link = imap_search_key(p, depth + 1)) == NULL)
			return -1;
		link = &(*link)->next;
	}
	return 0;
}

/* imap_search_key_args - what follows the name of key k. */
static int imap_search_key_args(struct imap_search_parser *p, size_t k, struct imap_search_node *n,
				unsigned depth)
{
	switch (imap_search_keys[k].arg) {
	case IMAP_SEARCH_ARG_NONE:
		n->set_mask = imap_search_keys[k].set_mask;
		n->clear_mask = imap_search_keys[k].clear_mask;
		return 0;
	case IMAP_SEARCH_ARG_STRING:
	case IMAP_SEARCH_ARG_HEADER:
		return imap_search_string_arg(p, n, imap_search_keys[k].field);
	case IMAP_SEARCH_ARG_NUMBER:
		if (imap_search_number(imap_search_next_arg(p), &n->number) < 0) {
			p->error = "LARGER and SMALLER need a number";
			return -1;
		}
		return 0;
	case IMAP_SEARCH_ARG_DATE:
		return imap_search_date_arg(p, n);
	case IMAP_SEARCH_ARG_SEQSET:
		return imap_search_seqset_arg(p, n, imap_search_next_arg(p));
	case IMAP_SEARCH_ARG_KEYWORD:
		return imap_search_keyword_arg(p, n);
	case IMAP_SEARCH_ARG_MODSEQ:
		return imap_search_modseq(p, n);
	case IMAP_SEARCH_ARG_KEYS:
		return imap_search_children(p, n, n->key == IMAP_SEARCH_OR ? 2 : 1, depth);
	}
	return -1;
}

/* imap_search_group - a parenthesized list of keys, as an AND node. */
static struct imap_search_node *imap_search_group(struct imap_search_parser *p,
						  const struct imap_arg *list, unsigned depth)
{
	struct imap_search_node *n = imap_search_node_new(p, IMAP_SEARCH_AND);
	const struct imap_arg *args = p->args;
	size_t count = p->count, i = p->i;
	struct imap_search_node **link;

	if (n == NULL)
		return NULL;
	if (list->u.list.count == 0) {
		p->error = "empty search key list";
		return NULL;
	}
	p->args = list->u.list.args;
	p->count = list->u.list.count;
	p->i = 0;
	for (link = &n->first; p->i < p->count; link = &(*link)->next)
		if ((*link = imap_search_key(p, depth + 1)) == NULL)
			return NULL;
	p->args = args;
	p->count = count;
	p->i = i;
	return n;
}

/* imap_search_key - one search key at p->i, with its arguments. */
static struct imap_search_node *imap_search_key(struct imap_search_parser *p, unsigned depth)
{
	const struct imap_arg *a = &p->args[p->i++];
	struct imap_search_node *n;

	if (depth > p->limits->depth_max) {
		p->error = "search keys nested too deeply";
		return NULL;
	}
	if (a->type == IMAP_ARG_LIST)
		return imap_search_group(p, a, depth);
	if (a->type != IMAP_ARG_ATOM) {
		p->error = "expected a search key";
		return NULL;
	}
	if (a->u.str.len > 0 && strchr("0123456789*$", a->u.str.data[0]) != NULL) {
		n = imap_search_node_new(p, IMAP_SEARCH_SEQSET);
		return n != NULL && imap_search_seqset_arg(p, n, a) == 0 ? n : NULL;
	}
	for (size_t k = 0; k < sizeof(imap_search_keys) / sizeof(imap_search_keys[0]); k++) {
		if (strcasecmp(a->u.str.data, imap_search_keys[k].name) != 0)
			continue;
		n = imap_search_node_new(p, imap_search_keys[k].key);
		return n != NULL && imap_search_key_args(p, k, n, depth) == 0 ? n : NULL;
	}
	p->error = "unknown search key";
	return NULL;
}

/* imap_search_return_opts - RETURN (MIN MAX ALL COUNT) of ESEARCH (RFC 4731 3.1). */
static int imap_search_return_opts(struct imap_search_parser *p, const struct imap_arg *list)
{
	static const char *const names[] = { "MIN", "MAX", "ALL", "COUNT" };
	size_t i, k;

	p->s->esearch = true;
	for (i = 0; i < list->u.list.count; i++) {
		const struct imap_arg *a = &list->u.list.args[i];
		for (k = 0; a->type == IMAP_ARG_ATOM && k < 4; k++)
			if (strcasecmp(a->u.str.data, names[k]) == 0)
				break;
		if (a->type != IMAP_ARG_ATOM || k == 4) {
			p->error = a->type == IMAP_ARG_ATOM && strcasecmp(a->u.str.data, "SAVE") == 0
					   ? "RETURN (SAVE) is not supported"
					   : "unknown SEARCH RETURN option";
			return -1;
		}
		p->s->return_opts |= 1u << k;
	}
	if (p->s->return_opts == 0)
		p->s->return_opts = IMAP_SEARCH_RETURN_ALL; /* RETURN () */
	return 0;
}

/* imap_search_count_args - arguments in the tree (lists counted), to size the nodes. */
static size_t imap_search_count_args(const struct imap_arg *args, size_t count, unsigned depth)
{
	size_t n = count;

	for (size_t i = 0; i < count && depth < 64; i++)
		if (args[i].type == IMAP_ARG_LIST)
			n += imap_search_count_args(args[i].u.list.args, args[i].u.list.count,
						    depth + 1);
	return n;
}

/* imap_search_charset - CHARSET x: US-ASCII and UTF-8 only (RFC 9051 6.4.4). */
static int imap_search_charset(struct imap_search_parser *p)
{
	const struct imap_arg *a;

	if (p->i >= p->count || p->args[p->i].type != IMAP_ARG_ATOM ||
	    strcasecmp(p->args[p->i].u.str.data, "CHARSET") != 0)
		return 0;
	p->i++;
	if ((a = imap_search_astring(p)) == NULL)
		return -1;
	if (strlen(a->u.str.data) != a->u.str.len ||
	    (strcasecmp(a->u.str.data, "UTF-8") != 0 && strcasecmp(a->u.str.data, "US-ASCII") != 0)) {
		p->error = "unsupported charset";
		return IMAP_SEARCH_BADCHARSET;
	}
	return 0;
}

/* imap_search_program - [RETURN (...)] [CHARSET x] key... into the root AND. */
static int imap_search_program(struct imap_search_parser *p)
{
	struct imap_search_node *root = imap_search_node_new(p, IMAP_SEARCH_AND);
	struct imap_search_node **link = &root->first;
	int rc;

	if (p->count >= 2 && p->args[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(p->args[0].u.str.data, "RETURN") == 0 && p->args[1].type == IMAP_ARG_LIST) {
		if (imap_search_return_opts(p, &p->args[1]) < 0)
			return -1;
		p->i = 2;
	}
	if ((rc = imap_search_charset(p)) < 0)
		return rc;
	if (p->i >= p->count) {
		p->error = "missing search keys";
		return -1;
	}
	for (; p->i < p->count; link = &(*link)->next)
		if ((*link = imap_search_key(p, 1)) == NULL)
			return -1;
	return 0;
}

/* imap_search_parse - the whole SEARCH program into a new tree. */
int imap_search_parse(const struct imap_arg *args, size_t count,
		      const struct imap_search_limits *limits, struct imap_search **search_r,
		      const char **error_r)
{
	struct imap_search_parser p = { .limits = limits, .args = args, .count = count };
	int rc;

	p.cap = imap_search_count_args(args, count, 0) + 1;
	p.cap = p.cap < limits->nodes_max + 1 ? p.cap : limits->nodes_max + 1;
	p.s = xcalloc(1, sizeof(*p.s));
	p.s->nodes = xcalloc(p.cap, sizeof(p.s->nodes[0]));
	if ((rc = imap_search_program(&p)) < 0) {
		*error_r = p.error != NULL ? p.error : "invalid SEARCH";
		imap_search_free(&p.s);
		return rc;
	}
	*search_r = p.s;
	return 0;
}

/* imap_search_free - free every node's strings and sets, then the tree. */
void imap_search_free(struct imap_search **sp)
{
	struct imap_search *s = *sp;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->count; i++) {
		free(s->nodes[i].name);
		free(s->nodes[i].value);
		imap_seqset_clear(&s->nodes[i].set);
	}
	free(s->nodes);
	free(s);
	*sp = NULL;
}

/* imap_search_resolve_keywords - bit indexes for KEYWORD / UNKEYWORD names. */
void imap_search_resolve_keywords(struct imap_search *s,
				  int (*lookup_cb)(void *ctx, const char *name), void *ctx)
{
	for (size_t i = 0; i < s->count; i++) {
		struct imap_search_node *n = &s->nodes[i];
		if (n->key != IMAP_SEARCH_KEYWORD && n->key != IMAP_SEARCH_UNKEYWORD)
			continue;
		n->keyword = lookup_cb(ctx, n->name);
		if (n->keyword >= IMAP_KEYWORDS_MAX)
			n->keyword = -1;
	}
}

/* imap_fetch_items - FETCH data items and modifiers; see imap_fetch_items.h. */
#include "imap/imap_fetch_items.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

/* The items that are a bare name. */
static const struct {
	const char *name;
	enum imap_fetch_attr attr;
} imap_fetch_simple[] = {
	{ "UID", IMAP_FETCH_UID },
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "RFC822", IMAP_FETCH_RFC822 },
	{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
	{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
};

/* The items that take a section, longest prefix first where they share one. */
static const struct {
	const char *prefix; /* up to and including '[' */
	const char *name;   /* the response's name, before '[' */
	enum imap_fetch_attr attr;
	bool peek;
} imap_fetch_sectioned[] = {
	{ "BODY.PEEK[", "BODY", IMAP_FETCH_BODY_SECTION, true },
	{ "BODY[", "BODY", IMAP_FETCH_BODY_SECTION, false },
	{ "BINARY.PEEK[", "BINARY", IMAP_FETCH_BINARY, true },
	{ "BINARY.SIZE[", "BINARY.SIZE", IMAP_FETCH_BINARY_SIZE, true },
	{ "BINARY[", "BINARY", IMAP_FETCH_BINARY, false },
};

/* The section keywords after the part numbers (RFC 9051 "section-text"). */
static const struct {
	const char *word;
	enum imap_section_text text;
} imap_fetch_texts[] = {
	{ "HEADER.FIELDS.NOT", IMAP_SECTION_FIELDS_NOT },
	{ "HEADER.FIELDS", IMAP_SECTION_FIELDS_IN },
	{ "HEADER", IMAP_SECTION_HEADER },
	{ "TEXT", IMAP_SECTION_TEXT },
	{ "MIME", IMAP_SECTION_MIME },
};

/* A cursor over an item atom, and where its field names are copied. */
struct imap_fetch_cur {
	const char *p, *end;
	char *out; /* the item's storage, filled forwards */
	const char *error;
};

/* imap_fetch_is_digit - an ASCII digit. */
static bool imap_fetch_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* imap_fetch_number - decimal digits as a number up to max; false if none or too large. */
static bool imap_fetch_number(struct imap_fetch_cur *c, uint64_t max, uint64_t *v_r)
{
	const char *start = c->p;
	uint64_t v = 0;

	while (c->p < c->end && imap_fetch_is_digit(*c->p)) {
		uint64_t d = (uint64_t)(*c->p++ - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*v_r = v;
	return c->p > start;
}

/* imap_fetch_word - consume word (any case) at the cursor if it is there. */
static bool imap_fetch_word(struct imap_fetch_cur *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* imap_fetch_is_atom_char - an ASTRING-CHAR that may stand in a field name inside [...]. */
static bool imap_fetch_is_atom_char(char ch)
{
	unsigned char c = (unsigned char)ch;

	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\[]", c) == NULL;
}

/* imap_fetch_field_name - one header-fld-name (atom or quoted), copied to c->out. */
static const char *imap_fetch_field_name(struct imap_fetch_cur *c)
{
	char *start = c->out;

	if (c->p < c->end && *c->p == '"') {
		for (c->p++; c->p < c->end && *c->p != '"'; c->p++) {
			if (*c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			if (*c->p == '\r' || *c->p == '\n' || *c->p == '\0')
				return NULL;
			*c->out++ = *c->p;
		}
		if (c->p++ >= c->end)
			return NULL;
	} else {
		while (c->p < c->end && imap_fetch_is_atom_char(*c->p))
			*c->out++ = *c->p++;
	}
	if (c->out == start)
		return NULL;
	*c->out++ = '\0';
	return start;
}

/* imap_fetch_field_list - " (name name ...)" of HEADER.FIELDS [.NOT]. */
static int imap_fetch_field_list(struct imap_fetch_cur *c, struct imap_section *sec)
{
	c->error = "invalid header field list in FETCH section";
	if (!imap_fetch_word(c, " ("))
		return -1;
	while (c->p < c->end && *c->p != ')') {
		if (sec->nfields == IMAP_SECTION_FIELDS) {
			c->error = "too many header fields in FETCH section";
			return -1;
		}
		const char *name = imap_fetch_field_name(c);
		if (name == NULL)
			return -1;
		sec->fields[sec->nfields++] = name;
		while (c->p < c->end && *c->p == ' ')
			c->p++;
	}
	if (c->p >= c->end || sec->nfields == 0)
		return -1;
	c->p++;
	return 0;
}

/* imap_fetch_section_text - HEADER / HEADER.FIELDS [.NOT] (...) / TEXT / MIME. */
static int imap_fetch_section_text(struct imap_fetch_cur *c, struct imap_section *sec)
{
	for (size_t i = 0; i < sizeof(imap_fetch_texts) / sizeof(imap_fetch_texts[0]); i++) {
		if (!imap_fetch_word(c, imap_fetch_texts[i].word))
			continue;
		sec->text = imap_fetch_texts[i].text;
		if (sec->text == IMAP_SECTION_MIME && sec->nparts == 0) {
			c->error = "MIME needs a part number in FETCH section";
			return -1;
		}
		if (sec->text == IMAP_SECTION_FIELDS_IN || sec->text == IMAP_SECTION_FIELDS_NOT)
			return imap_fetch_field_list(c, sec);
		return 0;
	}
	c->error = "unknown FETCH section";
	return -1;
}

/* imap_fetch_section - "part.part.TEXT]" after '['; binary: part numbers only. */
static int imap_fetch_section(struct imap_fetch_cur *c, struct imap_section *sec, bool binary)
{
	uint64_t n;

	c->error = "invalid part number in FETCH section";
	while (c->p < c->end && imap_fetch_is_digit(*c->p)) {
		if (!imap_fetch_number(c, UINT32_MAX, &n) || n == 0)
			return -1;
		if (sec->nparts == IMAP_SECTION_DEPTH) {
			c->error = "FETCH section nested too deeply";
			return -1;
		}
		sec->part[sec->nparts++] = (uint32_t)n;
		if (c->p >= c->end || *c->p != '.')
			break;
		c->p++;
		if (c->p < c->end && !imap_fetch_is_digit(*c->p)) {
			if (binary || imap_fetch_section_text(c, sec) < 0)
				return -1;
			break;
		}
	}
	if (sec->nparts == 0 && c->p < c->end && *c->p != ']' &&
	    (binary || imap_fetch_section_text(c, sec) < 0))
		return -1;
	if (c->p >= c->end || *c->p++ != ']') {
		c->error = "invalid FETCH section";
		return -1;
	}
	return 0;
}

/* imap_fetch_partial - "<offset.count>" at the end of the atom, if any. */
static int imap_fetch_partial(struct imap_fetch_cur *c, struct imap_section *sec)
{
	c->error = "invalid partial <offset.count> in FETCH item";
	if (c->p == c->end)
		return 0;
	if (*c->p++ != '<' || !imap_fetch_number(c, INT64_MAX, &sec->offset) ||
	    !imap_fetch_word(c, ".") || !imap_fetch_number(c, INT64_MAX, &sec->count) ||
	    sec->count == 0 || !imap_fetch_word(c, ">") || c->p != c->end)
		return -1;
	sec->partial = true;
	return 0;
}

/* imap_fetch_put - append text to the name being built (sized for the worst case). */
static char *imap_fetch_put(char *o, const char *text)
{
	size_t n = strlen(text);

	memcpy(o, text, n);
	return o + n;
}

/* imap_fetch_put_field - a field name, as an atom when it can be one, else quoted. */
static char *imap_fetch_put_field(char *o, const char *name)
{
	bool atom = true;

	for (const char *p = name; *p != '\0'; p++)
		atom = atom && imap_fetch_is_atom_char(*p);
	if (atom)
		return imap_fetch_put(o, name);
	*o++ = '"';
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			*o++ = '\\';
		*o++ = *p;
	}
	*o++ = '"';
	return o;
}

/* imap_fetch_put_section - "1.2.HEADER.FIELDS (From To)", canonical, into o. */
static char *imap_fetch_put_section(char *o, const struct imap_section *sec)
{
	static const char *const words[] = { "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
					     "TEXT", "MIME" };

	for (size_t i = 0; i < sec->nparts; i++)
		o += sprintf(o, i > 0 ? ".%u" : "%u", (unsigned)sec->part[i]);
	if (sec->text != IMAP_SECTION_ALL && sec->nparts > 0)
		*o++ = '.';
	o = imap_fetch_put(o, words[sec->text]);
	for (size_t i = 0; i < sec->nfields; i++) {
		o = imap_fetch_put(o, i == 0 ? " (" : " ");
		o = imap_fetch_put_field(o, sec->fields[i]);
	}
	if (sec->nfields > 0)
		*o++ = ')';
	return o;
}

/* imap_fetch_sectioned_name - "BODY[section]<offset>" for the response (RFC 9051 7.5.2). */
static char *imap_fetch_sectioned_name(const char *base, const struct imap_section *sec,
				       size_t atom_len)
{
	char *name = xmalloc(strlen(base) + 2 * atom_len + IMAP_SECTION_DEPTH * 11 + 48);
	char *o = imap_fetch_put(name, base);

	*o++ = '[';
	o = imap_fetch_put_section(o, sec);
	*o++ = ']';
	if (sec->partial)
		o += sprintf(o, "<%llu>", (unsigned long long)sec->offset);
	*o = '\0';
	return name;
}

/* imap_fetch_item_set_effects - whether the item sets \Seen (RFC 9051 6.4.5). */
static void imap_fetch_item_set_effects(struct imap_fetch_item *item)
{
	switch (item->attr) {
	case IMAP_FETCH_RFC822:
	case IMAP_FETCH_RFC822_TEXT:
		item->sets_seen = true;
		break;
	case IMAP_FETCH_BODY_SECTION:
	case IMAP_FETCH_BINARY:
		item->sets_seen = !item->peek;
		break;
	default:
		item->sets_seen = false;
	}
}

/* imap_fetch_item_sectioned - BODY[...], BODY.PEEK[...], BINARY[...] and kin. */
static int imap_fetch_item_sectioned(const char *atom, size_t len, size_t k,
				     struct imap_fetch_item *item, const char **error_r)
{
	struct imap_fetch_cur c;

	c.p = atom + strlen(imap_fetch_sectioned[k].prefix);
	c.end = atom + len;
	c.out = item->storage = xmalloc(len + 1);
	c.error = NULL;
	item->attr = imap_fetch_sectioned[k].attr;
	item->peek = imap_fetch_sectioned[k].peek;
	if (imap_fetch_section(&c, &item->section, item->attr != IMAP_FETCH_BODY_SECTION) < 0 ||
	    (item->attr != IMAP_FETCH_BINARY_SIZE && imap_fetch_partial(&c, &item->section) < 0) ||
	    (c.p != c.end && (c.error = "invalid FETCH item") != NULL)) {
		*error_r = c.error;
		imap_fetch_item_free(item);
		return -1;
	}
	item->name = imap_fetch_sectioned_name(imap_fetch_sectioned[k].name, &item->section, len);
	imap_fetch_item_set_effects(item);
	return 0;
}

/* imap_fetch_item_parse - one FETCH item atom. */
int imap_fetch_item_parse(const char *atom, size_t len, struct imap_fetch_item *item_r,
			  const char **error_r)
{
	memset(item_r, 0, sizeof(*item_r));
	for (size_t i = 0; i < sizeof(imap_fetch_simple) / sizeof(imap_fetch_simple[0]); i++) {
		if (strlen(imap_fetch_simple[i].name) == len &&
		    strncasecmp(atom, imap_fetch_simple[i].name, len) == 0) {
			item_r->attr = imap_fetch_simple[i].attr;
			item_r->name = xstrdup(imap_fetch_simple[i].name);
			imap_fetch_item_set_effects(item_r);
			return 0;
		}
	}
	for (size_t k = 0; k < sizeof(imap_fetch_sectioned) / sizeof(imap_fetch_sectioned[0]); k++) {
		const char *prefix = imap_fetch_sectioned[k].prefix;
		if (len >= strlen(prefix) && strncasecmp(atom, prefix, strlen(prefix)) == 0)
			return imap_fetch_item_sectioned(atom, len, k, item_r, error_r);
	}
	*error_r = "unknown FETCH item";
	return -1;
}

/* imap_fetch_item_free - free the item's name and field storage. */
void imap_fetch_item_free(struct imap_fetch_item *item)
{
	free(item->name);
	free(item->storage);
	item->name = item->storage = NULL;
	item->section.nfields = 0;
}

/* imap_fetch_item_load - what the session must load to answer this item. */
static unsigned imap_fetch_item_load(const struct imap_fetch_item *item)
{
	const unsigned mime = IMAP_FETCH_LOAD_MIME | IMAP_FETCH_LOAD_MESSAGE;

	switch (item->attr) {
	case IMAP_FETCH_UID:
	case IMAP_FETCH_FLAGS:
		return 0;
	case IMAP_FETCH_INTERNALDATE:
		return IMAP_FETCH_LOAD_DATE;
	case IMAP_FETCH_RFC822_SIZE:
		return IMAP_FETCH_LOAD_SIZE;
	case IMAP_FETCH_MODSEQ:
		return IMAP_FETCH_LOAD_MODSEQ;
	case IMAP_FETCH_ENVELOPE:
	case IMAP_FETCH_RFC822_HEADER:
		return IMAP_FETCH_LOAD_HEADER;
	case IMAP_FETCH_RFC822:
	case IMAP_FETCH_RFC822_TEXT:
		return IMAP_FETCH_LOAD_MESSAGE;
	case IMAP_FETCH_BODY_SECTION:
		if (item->section.nparts > 0)
			return mime;
		if (item->section.text == IMAP_SECTION_ALL || item->section.text == IMAP_SECTION_TEXT)
			return IMAP_FETCH_LOAD_MESSAGE;
		return IMAP_FETCH_LOAD_HEADER;
	default: /* BODY, BODYSTRUCTURE, BINARY, BINARY.SIZE */
		return mime;
	}
}

/* imap_fetch_items_add - append item unless one of the same name is there (then free it). */
static void imap_fetch_items_add(struct imap_fetch_items *r, struct imap_fetch_item *item,
				 bool at_front)
{
	for (size_t i = 0; i < r->count; i++) {
		if (strcmp(r->items[i].name, item->name) == 0) {
			/* BODY.PEEK[] and BODY[] answer as one BODY[], which sets \Seen */
			r->items[i].sets_seen = r->items[i].sets_seen || item->sets_seen;
			r->items[i].peek = r->items[i].peek && item->peek;
			r->sets_seen = r->sets_seen || item->sets_seen;
			imap_fetch_item_free(item);
			return;
		}
	}
	r->items = xrealloc(r->items, (r->count + 1) * sizeof(r->items[0]));
	if (at_front)
		memmove(r->items + 1, r->items, r->count * sizeof(r->items[0]));
	r->items[at_front ? 0 : r->count] = *item;
	r->count++;
	r->load |= imap_fetch_item_load(item);
	r->sets_seen = r->sets_seen || item->sets_seen;
	r->modseq = r->modseq || item->attr == IMAP_FETCH_MODSEQ;
}

/* imap_fetch_items_add_atom - parse one item atom and add it; -1 if bad or too many. */
static int imap_fetch_items_add_atom(struct imap_fetch_items *r, const struct imap_arg *a,
				     size_t items_max, const char **error_r)
{
	struct imap_fetch_item item;

	if (a->type != IMAP_ARG_ATOM) {
		*error_r = "FETCH items must be atoms";
		return -1;
	}
	if (r->count >= items_max) {
		*error_r = "too many FETCH items";
		return -1;
	}
	if (imap_fetch_item_parse(a->u.str.data, a->u.str.len, &item, error_r) < 0)
		return -1;
	imap_fetch_items_add(r, &item, false);
	return 0;
}

/* imap_fetch_items_macro - ALL, FAST or FULL (RFC 9051 6.4.5); true if the atom was one. */
static bool imap_fetch_items_macro(struct imap_fetch_items *r, const struct imap_arg *a)
{
	static const char *const expand[3][6] = {
		{ "ALL", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", NULL },
		{ "FAST", "FLAGS", "INTERNALDATE", "RFC822.SIZE", NULL, NULL },
		{ "FULL", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY" },
	};
	struct imap_fetch_item item;
	const char *error;

	for (size_t m = 0; m < 3; m++) {
		if (strcasecmp(a->u.str.data, expand[m][0]) != 0)
			continue;
		for (size_t i = 1; i < 6 && expand[m][i] != NULL; i++)
			if (imap_fetch_item_parse(expand[m][i], strlen(expand[m][i]), &item, &error) == 0)
				imap_fetch_items_add(r, &item, false);
		return true;
	}
	return false;
}

/* imap_fetch_modifiers - "(CHANGEDSINCE n [VANISHED])" (RFC 7162 3.1.4, 3.2.6). */
static int imap_fetch_modifiers(struct imap_fetch_items *r, const struct imap_arg *a,
				bool uid_fetch, const char **error_r)
{
	const struct imap_arg *m = a->u.list.args;
	size_t n = a->u.list.count;
	struct imap_fetch_cur c;

	*error_r = "invalid FETCH modifier";
	for (size_t i = 0; i < n; i++) {
		if (m[i].type != IMAP_ARG_ATOM)
			return -1;
		if (strcasecmp(m[i].u.str.data, "VANISHED") == 0 && !r->vanished) {
			r->vanished = true;
			continue;
		}
		if (strcasecmp(m[i].u.str.data, "CHANGEDSINCE") != 0 || r->changedsince ||
		    i + 1 == n || m[i + 1].type != IMAP_ARG_ATOM)
			return -1;
		c.p = m[++i].u.str.data;
		c.end = c.p + m[i].u.str.len;
		if (!imap_fetch_number(&c, INT64_MAX, &r->changedsince_modseq) || c.p != c.end)
			return -1;
		r->changedsince = true;
	}
	if (r->vanished && (!uid_fetch || !r->changedsince)) {
		*error_r = "VANISHED needs UID FETCH and CHANGEDSINCE";
		return -1;
	}
	return 0;
}

/* imap_fetch_items_list - the items: one atom, a macro, or a list of atoms. */
static int imap_fetch_items_list(struct imap_fetch_items *r, const struct imap_arg *a,
				 size_t items_max, const char **error_r)
{
	if (a->type == IMAP_ARG_ATOM) {
		if (imap_fetch_items_macro(r, a))
			return 0;
		return imap_fetch_items_add_atom(r, a, items_max, error_r);
	}
	if (a->type != IMAP_ARG_LIST || a->u.list.count == 0) {
		*error_r = "expected FETCH items";
		return -1;
	}
	for (size_t i = 0; i < a->u.list.count; i++)
		if (imap_fetch_items_add_atom(r, &a->u.list.args[i], items_max, error_r) < 0)
			return -1;
	return 0;
}

/* imap_fetch_items_implied - UID for UID FETCH, MODSEQ for CHANGEDSINCE. */
static void imap_fetch_items_implied(struct imap_fetch_items *r, bool uid_fetch)
{
	struct imap_fetch_item item;
	const char *error;

	if (uid_fetch && imap_fetch_item_parse("UID", 3, &item, &error) == 0)
		imap_fetch_items_add(r, &item, true);
	if (r->changedsince && imap_fetch_item_parse("MODSEQ", 6, &item, &error) == 0)
		imap_fetch_items_add(r, &item, false);
	r->modseq = r->modseq || r->changedsince;
}

/* imap_fetch_items_parse - the items and the optional modifiers of FETCH. */
int imap_fetch_items_parse(const struct imap_arg *args, size_t count, bool uid_fetch,
			   size_t items_max, struct imap_fetch_items *r, const char **error_r)
{
	memset(r, 0, sizeof(*r));
	if (count < 1 || count > 2) {
		*error_r = count < 1 ? "FETCH needs items" : "too many FETCH arguments";
		return -1;
	}
	if (count == 2 && args[1].type != IMAP_ARG_LIST) {
		*error_r = "invalid FETCH modifier";
		return -1;
	}
	if (imap_fetch_items_list(r, &args[0], items_max, error_r) < 0 ||
	    (count == 2 && imap_fetch_modifiers(r, &args[1], uid_fetch, error_r) < 0)) {
		imap_fetch_items_free(r);
		return -1;
	}
	imap_fetch_items_implied(r, uid_fetch);
	return 0;
}

/* imap_fetch_items_free - free every item. */
void imap_fetch_items_free(struct imap_fetch_items *r)
{
	for (size_t i = 0; i < r->count; i++)
		imap_fetch_item_free(&r->items[i]);
	free(r->items);
	memset(r, 0, sizeof(*r));
}

// FUZZ_SOURCES: src/imap/imap_parser*.c src/imap/imap_seqset.c src/imap/imap_fetch_items.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_imap_fetch - "t FETCH <input>" through the real command parser,
 * then its first argument through the sequence-set parser and the rest
 * through the FETCH item parser (UID FETCH when the input's first byte is
 * odd); the same bytes also go raw to both. A set must be sorted, disjoint
 * and agree between iteration, contains() and highest(); every item's
 * response name must parse back to itself (when it has no partial), and
 * the load summary must cover what the items need.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_fetch_items.h"
#include "imap/imap_parser.h"
#include "imap/imap_seqset.h"

#define FUZZ_ITEMS_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check_iter - the iterated ranges are increasing and agree with contains(). */
static void fuzz_check_iter(const struct imap_seqset *set, uint32_t max, bool clamp)
{
	struct imap_seqset_iter it;
	struct imap_seq_range r;
	uint64_t prev_hi = 0, last = 0;
	unsigned n = 0;

	imap_seqset_iter_init(&it, set, max, clamp);
	while (imap_seqset_iter_next(&it, &r)) {
		if (r.lo < 1 || r.lo > r.hi || (n > 0 && (uint64_t)r.lo <= prev_hi + 1) ||
		    (clamp && r.hi > max) || ++n > set->count + 1)
			abort();
		if (!imap_seqset_contains(set, r.lo, max) || !imap_seqset_contains(set, r.hi, max))
			abort();
		if (r.lo > 1 && n == 1 && imap_seqset_contains(set, r.lo - 1, max))
			abort();
		if (r.hi < UINT32_MAX && !(clamp && r.hi == max) &&
		    imap_seqset_contains(set, r.hi + 1, max))
			abort();
		prev_hi = last = r.hi;
	}
	if (!clamp && last != imap_seqset_highest(set, max))
		abort();
}

/* fuzz_check_seqset - parse s as a set; if it parses, check it against a few maxes. */
static void fuzz_check_seqset(const char *s, size_t len)
{
	static const uint32_t maxes[] = { 0, 1, 7, 1000, UINT32_MAX };
	struct imap_seqset set;
	const char *error = NULL;

	if (imap_seqset_parse(s, len, 64, &set, &error) < 0) {
		if (error == NULL || set.ranges != NULL || set.count != 0)
			abort();
		return;
	}
	for (size_t i = 0; i < set.count; i++)
		if (set.ranges[i].lo < 1 || set.ranges[i].lo > set.ranges[i].hi ||
		    (i > 0 && (uint64_t)set.ranges[i].lo <= (uint64_t)set.ranges[i - 1].hi + 1))
			abort();
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		fuzz_check_iter(&set, maxes[i], false);
		fuzz_check_iter(&set, maxes[i], true);
	}
	imap_seqset_clear(&set);
}

/* fuzz_check_item - an item's section and name are sane; the name parses back to itself. */
static void fuzz_check_item(const struct imap_fetch_item *item)
{
	struct imap_fetch_item again;
	const char *error;

	if (item->name == NULL || item->section.nparts > IMAP_SECTION_DEPTH ||
	    item->section.nfields > IMAP_SECTION_FIELDS ||
	    (item->section.partial && item->section.count == 0))
		abort();
	for (size_t i = 0; i < item->section.nparts; i++)
		if (item->section.part[i] == 0)
			abort();
	for (size_t i = 0; i < item->section.nfields; i++)
		if (item->section.fields[i] == NULL || item->section.fields[i][0] == '\0')
			abort();
	if (strchr(item->name, '<') != NULL)
		return;
	if (imap_fetch_item_parse(item->name, strlen(item->name), &again, &error) < 0 ||
	    strcmp(again.name, item->name) != 0 || again.attr != item->attr)
		abort();
	imap_fetch_item_free(&again);
}

/* fuzz_check_items - a parsed FETCH: items, names, load summary. */
static void fuzz_check_items(const struct imap_fetch_items *r, bool uid_fetch)
{
	bool seen = false, has_uid = false;

	if (r->count == 0 || r->count > FUZZ_ITEMS_MAX + 2 || (r->vanished && !r->changedsince))
		abort();
	for (size_t i = 0; i < r->count; i++) {
		const struct imap_fetch_item *it = &r->items[i];
		fuzz_check_item(it);
		seen = seen || it->sets_seen;
		has_uid = has_uid || it->attr == IMAP_FETCH_UID;
		if (it->section.nparts > 0 && !(r->load & IMAP_FETCH_LOAD_MIME))
			abort();
		for (size_t k = 0; k < i; k++)
			if (strcmp(r->items[k].name, it->name) == 0)
				abort();
	}
	if (seen != r->sets_seen || (uid_fetch && !has_uid) ||
	    ((r->load & IMAP_FETCH_LOAD_MIME) && !(r->load & IMAP_FETCH_LOAD_MESSAGE)))
		abort();
}

/* fuzz_fetch_args - the FETCH arguments after the set, parsed and checked. */
static void fuzz_fetch_args(const struct imap_arg *args, size_t count, bool uid_fetch)
{
	struct imap_fetch_items r;
	const char *error = NULL;

	if (imap_fetch_items_parse(args, count, uid_fetch, FUZZ_ITEMS_MAX, &r, &error) < 0) {
		if (error == NULL || r.count != 0 || r.items != NULL)
			abort();
		return;
	}
	fuzz_check_items(&r, uid_fetch);
	imap_fetch_items_free(&r);
}

/* fuzz_command - "t FETCH <in>\r\n" through the command parser; the FETCH checks on DONE. */
static void fuzz_command(const char *in, size_t len, bool uid_fetch)
{
	static const struct imap_parser_limits limits = { 16384, 4096, 65536, 16, 512, false };
	struct imap_parser *p = imap_parser_new(&limits);
	char *line = malloc(len + 11);
	size_t pos = 0, used, total = len + 10;
	enum imap_parse_result r = IMAP_PARSE_MORE;
	struct imap_command cmd;

	memcpy(line, "t FETCH ", 8);
	memcpy(line + 8, in, len);
	memcpy(line + 8 + len, "\r\n", 2);
	while (pos < total) {
		r = imap_parser_feed(p, line + pos, total - pos, &used);
		pos += used;
		if (r != IMAP_PARSE_MORE && r != IMAP_PARSE_CONTINUE)
			break;
	}
	if (r == IMAP_PARSE_DONE) {
		imap_parser_command(p, &cmd);
		if (cmd.count >= 1 && cmd.args[0].type == IMAP_ARG_ATOM)
			fuzz_check_seqset(cmd.args[0].u.str.data, cmd.args[0].u.str.len);
		if (cmd.count >= 1)
			fuzz_fetch_args(cmd.args + 1, cmd.count - 1, uid_fetch);
	}
	imap_parser_free(&p);
	free(line);
}

/* LLVMFuzzerTestOneInput - the input as a FETCH command line, and raw as a set and an item. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size > 0 ? size : 1);
	struct imap_fetch_item item;
	const char *error = NULL;

	memcpy(copy, data, size); /* exact size: ASan sees overreads */
	fuzz_check_seqset(copy, size);
	if (imap_fetch_item_parse(copy, size, &item, &error) == 0) {
		fuzz_check_item(&item);
		imap_fetch_item_free(&item);
	} else if (error == NULL || item.name != NULL || item.storage != NULL) {
		abort();
	}
	fuzz_command(copy, size, size > 0 && (data[0] & 1));
	free(copy);
	return 0;
}

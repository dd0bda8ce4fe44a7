/* imap_seqset - IMAP sequence sets, parsed once and applied lazily; see imap_seqset.h. */
#include "imap/imap_seqset.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define IMAP_SEQSET_STAR 0 /* a parsed "*" before it is sorted out */

/* imap_seqset_number - one seq-number: nz-number or "*" (as IMAP_SEQSET_STAR). */
static int imap_seqset_number(const char **p, const char *end, uint32_t *v_r, const char **error_r)
{
	uint64_t v = 0;
	const char *start = *p;

	if (*p < end && **p == '*') {
		(*p)++;
		*v_r = IMAP_SEQSET_STAR;
		return 0;
	}
	if (*p < end && **p == '$') {
		*error_r = "the saved search result $ (SEARCHRES) is not supported";
		return -1;
	}
	while (*p < end && **p >= '0' && **p <= '9') {
		v = v * 10 + (uint64_t)(**p - '0');
		if (v > UINT32_MAX) {
			*error_r = "number in sequence set too large";
			return -1;
		}
		(*p)++;
	}
	if (*p == start || *start == '0') {
		*error_r = *p == start ? "invalid sequence set" : "0 is not a valid message number";
		return -1;
	}
	*v_r = (uint32_t)v;
	return 0;
}

/* imap_seqset_add_star - fold "*" or "n:*" into the set's star range. */
static void imap_seqset_add_star(struct imap_seqset *set, uint32_t n)
{
	if (!set->star) {
		set->star = true;
		set->star_lo = UINT32_MAX;
		set->star_hi = 0;
	}
	if (n == IMAP_SEQSET_STAR)
		return;
	set->star_lo = n < set->star_lo ? n : set->star_lo;
	set->star_hi = n > set->star_hi ? n : set->star_hi;
}

/* imap_seqset_range_cmp_cb - order ranges by their start, for qsort. */
static int imap_seqset_range_cmp_cb(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* imap_seqset_normalize - sort the ranges and merge those that overlap or touch. */
static void imap_seqset_normalize(struct imap_seqset *set)
{
	size_t out = 0;

	if (set->count == 0)
		return;
	qsort(set->ranges, set->count, sizeof(set->ranges[0]), imap_seqset_range_cmp_cb);
	for (size_t i = 1; i < set->count; i++) {
		struct imap_seq_range *cur = &set->ranges[out], *r = &set->ranges[i];
		if ((uint64_t)r->lo <= (uint64_t)cur->hi + 1) {
			cur->hi = r->hi > cur->hi ? r->hi : cur->hi;
			continue;
		}
		set->ranges[++out] = *r;
	}
	set->count = out + 1;
}

/* imap_seqset_add - one element "a" or "a:b" (star or not) into the set. */
static void imap_seqset_add(struct imap_seqset *set, size_t *cap, uint32_t a, uint32_t b)
{
	if (a == IMAP_SEQSET_STAR || b == IMAP_SEQSET_STAR) {
		imap_seqset_add_star(set, a == IMAP_SEQSET_STAR ? b : a);
		return;
	}
	if (set->count == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		set->ranges = xrealloc(set->ranges, *cap * sizeof(set->ranges[0]));
	}
	set->ranges[set->count].lo = a < b ? a : b;
	set->ranges[set->count].hi = a < b ? b : a;
	set->count++;
}

/* imap_seqset_parse - a sequence set, elements separated by commas. */
int imap_seqset_parse(const char *s, size_t len, size_t max_ranges, struct imap_seqset *set_r,
		      const char **error_r)
{
	const char *p = s, *end = s + len;
	size_t cap = 0, elements = 0;
	uint32_t a, b;

	memset(set_r, 0, sizeof(*set_r));
	for (;;) {
		if (++elements > max_ranges) {
			*error_r = "too many ranges in sequence set";
			break;
		}
		if (imap_seqset_number(&p, end, &a, error_r) < 0)
			break;
		b = a;
		if (p < end && *p == ':' && (++p, imap_seqset_number(&p, end, &b, error_r) < 0))
			break;
		imap_seqset_add(set_r, &cap, a, b);
		if (p == end) {
			imap_seqset_normalize(set_r);
			return 0;
		}
		if (*p++ != ',') {
			*error_r = "invalid sequence set";
			break;
		}
	}
	imap_seqset_clear(set_r);
	return -1;
}

/* imap_seqset_clear - free the ranges. */
void imap_seqset_clear(struct imap_seqset *set)
{
	free(set->ranges);
	memset(set, 0, sizeof(*set));
}

/* imap_seqset_star_range - the resolved union of the "*" ranges; false if empty (max 0). */
static bool imap_seqset_star_range(const struct imap_seqset *set, uint32_t max,
				   struct imap_seq_range *r)
{
	if (!set->star)
		return false;
	r->lo = set->star_lo < max ? set->star_lo : max;
	r->hi = set->star_hi > max ? set->star_hi : max;
	if (r->lo == 0)
		r->lo = 1; /* an empty mailbox: "n:*" is still n, "*" is nothing */
	return r->hi >= r->lo;
}

/* imap_seqset_contains - binary search over the ranges, then the star range. */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t value, uint32_t max)
{
	size_t lo = 0, hi = set->count;
	struct imap_seq_range r;

	if (imap_seqset_star_range(set, max, &r) && value >= r.lo && value <= r.hi)
		return true;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (value < set->ranges[mid].lo)
			hi = mid;
		else if (value > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* imap_seqset_highest - the last range's end, or the star range's. */
uint32_t imap_seqset_highest(const struct imap_seqset *set, uint32_t max)
{
	uint32_t h = set->count > 0 ? set->ranges[set->count - 1].hi : 0;
	struct imap_seq_range r;

	if (imap_seqset_star_range(set, max, &r))
		h = r.hi > h ? r.hi : h;
	return h;
}

/* imap_seqset_iter_init - start at the lowest range. */
void imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set, uint32_t max,
			   bool clamp_to_max)
{
	memset(it, 0, sizeof(*it));
	it->set = set;
	it->star_pending = imap_seqset_star_range(set, max, &it->star);
	it->clamp = clamp_to_max;
	it->max = max;
}

/* imap_seqset_iter_absorb - extend *r with what touches it; true if anything did. */
static bool imap_seqset_iter_absorb(struct imap_seqset_iter *it, struct imap_seq_range *r)
{
	const struct imap_seqset *set = it->set;

	if (it->next < set->count && (uint64_t)set->ranges[it->next].lo <= (uint64_t)r->hi + 1) {
		uint32_t hi = set->ranges[it->next++].hi;
		r->hi = hi > r->hi ? hi : r->hi;
		return true;
	}
	if (it->star_pending && (uint64_t)it->star.lo <= (uint64_t)r->hi + 1) {
		it->star_pending = false;
		r->hi = it->star.hi > r->hi ? it->star.hi : r->hi;
		return true;
	}
	return false;
}

/* imap_seqset_iter_next - the lowest unvisited range, merged with all it touches. */
bool imap_seqset_iter_next(struct imap_seqset_iter *it, struct imap_seq_range *range_r)
{
	const struct imap_seqset *set = it->set;
	bool have = it->next < set->count;

	if (!have && !it->star_pending)
		return false;
	if (it->star_pending && (!have || it->star.lo < set->ranges[it->next].lo)) {
		*range_r = it->star;
		it->star_pending = false;
	} else {
		*range_r = set->ranges[it->next++];
	}
	while (imap_seqset_iter_absorb(it, range_r))
		;
	if (it->clamp && range_r->lo > it->max) {
		it->next = set->count; /* sorted: nothing further is below max either */
		it->star_pending = false;
		return false;
	}
	if (it->clamp && range_r->hi > it->max)
		range_r->hi = it->max;
	return true;
}

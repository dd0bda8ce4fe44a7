/*
 * imap_seqset - IMAP sequence sets (RFC 9051 section 9 "sequence-set"):
 * "1", "1:5", "5:1", "*", "1:*", "2,4:7,9". Parsed once into a sorted list
 * of disjoint ranges; "*" (the highest sequence number, or the highest UID
 * in use for a UID set) is kept apart and resolved only when the set is
 * applied, against the max the session gives: "n:*" is the range between n
 * and max whichever is larger (RFC 9051 6.4.8 and 9), so "5:*" with max 3
 * contains 3. Pure; the ranges are the only allocation, freed with
 * imap_seqset_clear(). SEARCHRES "$" (RFC 5182) is not supported: refused.
 */
#ifndef POSTERN_IMAP_SEQSET_H
#define POSTERN_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_SEQSET_RANGES_MAX 100000 /* a sensible max_ranges for the parser */

/* lo <= hi, both >= 1. */
struct imap_seq_range {
	uint32_t lo, hi;
};

struct imap_seqset {
	struct imap_seq_range *ranges; /* sorted, disjoint, not adjacent */
	size_t count;
	/* "*", "n:*": the union of their ranges is [min(star_lo, max), max(star_hi, max)] */
	bool star;
	uint32_t star_lo, star_hi; /* UINT32_MAX / 0 when only a bare "*" */
};

/*
 * imap_seqset_parse - s[0..len) (no NUL needed) into *set_r; refuses 0,
 * numbers past 2^32-1, "$", and more than max_ranges comma-separated
 * elements. 0, or -1 with *error_r (set_r then holds nothing to free).
 */
int imap_seqset_parse(const char *s, size_t len, size_t max_ranges, struct imap_seqset *set_r,
		      const char **error_r);

/* imap_seqset_clear - free the ranges; the set becomes empty. */
void imap_seqset_clear(struct imap_seqset *set);

/* imap_seqset_contains - value is in the set, "*" standing for max. */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t value, uint32_t max);

/* imap_seqset_highest - the largest value in the set, "*" standing for max (0: empty). */
uint32_t imap_seqset_highest(const struct imap_seqset *set, uint32_t max);

/* An iteration over the resolved set: sorted disjoint ranges, "*" merged in. */
struct imap_seqset_iter {
	const struct imap_seqset *set;
	size_t next;           /* index into set->ranges */
	struct imap_seq_range star; /* the resolved "*" range */
	bool star_pending;
	bool clamp;   /* ranges are cut at max */
	uint32_t max;
};

/*
 * imap_seqset_iter_init - iterate over set with "*" = max; clamp_to_max
 * cuts every range at max (for sequence numbers, or to skip UIDs above the
 * highest in use).
 */
void imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set, uint32_t max,
			   bool clamp_to_max);

/* imap_seqset_iter_next - the next range, in increasing order; false at the end. */
bool imap_seqset_iter_next(struct imap_seqset_iter *it, struct imap_seq_range *range_r);

#endif

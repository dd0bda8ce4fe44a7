/*
 * aliases_private - helpers shared by the files of src/addr/aliases*: an
 * open-addressing hash index over an array of items with a string key (the
 * table's entries, a result's targets, a resolution's visited aliases).
 * Slots hold item number + 1 (0 = free); the slot count is a power of two
 * at least twice the item count, so a probe always ends.
 */
#ifndef POSTERN_ALIASES_PRIVATE_H
#define POSTERN_ALIASES_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The key of item i of items. */
typedef const char *aliases_key_fn(const void *items, size_t i);

/* aliases_lower - ASCII lower case, whatever the locale. */
static inline unsigned char aliases_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* aliases_hash - FNV-1a over the lower-cased bytes of s (len bytes). */
uint64_t aliases_hash(const char *s, size_t len);

/*
 * aliases_index_probe - the slot of key (len bytes, any case when fold,
 * against lower-case keys; else exact): the slot holding it, or the free
 * slot where it would go. n_slots must be non-zero.
 */
size_t aliases_index_probe(const uint32_t *slots, size_t n_slots, const char *key, size_t len,
			   bool fold, aliases_key_fn *key_cb, const void *items);

/*
 * aliases_index_fit - make the index fit n + 1 items: when it would be more
 * than half full, a bigger one with items 0..n-1 hashed in again.
 */
void aliases_index_fit(uint32_t **slots, size_t *n_slots, size_t n, aliases_key_fn *key_cb,
		       const void *items);

/* aliases_index_rebuild - a fresh index of items 0..n-1 (after a removal). */
void aliases_index_rebuild(uint32_t **slots, size_t *n_slots, size_t n, aliases_key_fn *key_cb,
			   const void *items);

/* aliases_split - the '@' of a "local@domain" address (the last one), or NULL. */
const char *aliases_split(const char *address);

#endif

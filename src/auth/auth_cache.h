/*
 * auth_cache - a bounded cache of recently verified credentials, so that
 * clients polling every few minutes do not pay a slow password hash each
 * time (Dovecot's auth cache does the same). Pure data structure: the
 * caller supplies keyed hashes, never a password, and the time.
 *
 * key identifies (login, password): a keyed hash with a per-process secret
 * key, so the table holds nothing an attacker could test passwords against.
 * tag identifies the account's stored hash: when the account changes (new
 * password, new salt, deleted) the tag no longer matches and the entry is
 * dropped at the next lookup. Only successful verifications are stored;
 * entries expire ttl seconds after they were stored; when the table is
 * full the least recently used entry goes.
 */
#ifndef POSTERN_AUTH_CACHE_H
#define POSTERN_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AUTH_CACHE_KEY_LEN 32

struct auth_cache;

/* auth_cache_new - an empty cache of at most max_entries (>= 1) entries. */
struct auth_cache *auth_cache_new(size_t max_entries, unsigned ttl);

/* auth_cache_free - wipe and release; *cp becomes NULL. */
void auth_cache_free(struct auth_cache **cp);

/* auth_cache_lookup - true when key is cached with this tag and not expired; stale entries go. */
bool auth_cache_lookup(struct auth_cache *c, const unsigned char *key, const unsigned char *tag,
		       time_t now);

/* auth_cache_insert - remember a successful verification (replaces an entry with the same key). */
void auth_cache_insert(struct auth_cache *c, const unsigned char *key, const unsigned char *tag,
		       time_t now);

/* auth_cache_count - the number of entries (for tests). */
size_t auth_cache_count(const struct auth_cache *c);

#endif

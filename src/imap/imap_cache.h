/*
 * imap_cache - what FETCH learned from message files, kept in memory for
 * the next session: a message's ENVELOPE, keyed by its folder and Maildir
 * base name (the name before ":2,", which never changes while the file
 * lives). Dovecot keeps the
 * same in dovecot.index.cache; a mail program that opens a mailbox of
 * 1,000 messages asks for 1,000 envelopes every time, and without this
 * each is an open, a read and a parse.
 *
 * Bounded by bytes, the oldest first out unless hit since (CLOCK). Shared by every loop
 * thread: it is split by key hash into shards, each with its own mutex,
 * eviction list and share of the bound (one lock for all cost loop threads a
 * tenth of a login's CPU in contention); a hit is copied out under it.
 */
#ifndef POSTERN_IMAP_CACHE_H
#define POSTERN_IMAP_CACHE_H

#include <stdbool.h>
#include <stddef.h>

struct imap_cache;

/*
 * imap_cache_new - an empty cache of at most max_bytes (keys, values and
 * overhead) in shards parts (a power of two; 1: one exact LRU order).
 */
struct imap_cache *imap_cache_new(size_t max_bytes, size_t shards);

/* imap_cache_free - free it all; *cp becomes NULL. */
void imap_cache_free(struct imap_cache **cp);

struct evbuffer;

/* imap_cache_get - append key's value to out; false if none. A hit is spared by the next eviction. */
bool imap_cache_get(struct imap_cache *c, const char *key, size_t key_len, struct evbuffer *out);

/* imap_cache_put - remember value under key (replacing), evicting the oldest past the bound. */
void imap_cache_put(struct imap_cache *c, const char *key, size_t key_len, const char *value,
		    size_t len);

/* imap_cache_bytes - what it holds now (for tests and metrics). */
size_t imap_cache_bytes(struct imap_cache *c);

#endif

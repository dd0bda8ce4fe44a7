/* auth_cache - hash table with chaining and an LRU list, all by index. */
#include "auth/auth_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/xalloc.h"

#define AUTH_CACHE_NONE UINT32_MAX

struct auth_cache_entry {
	unsigned char key[AUTH_CACHE_KEY_LEN];
	unsigned char tag[AUTH_CACHE_KEY_LEN];
	time_t expires;
	uint32_t hnext;        /* next in the bucket chain, or in the free list */
	uint32_t prev, next;   /* LRU list: head is the most recently used */
};

struct auth_cache {
	struct auth_cache_entry *entries;
	uint32_t *buckets;
	size_t max, count, nbuckets; /* nbuckets: a power of two */
	uint32_t head, tail, free;
	unsigned ttl;
};

struct auth_cache *auth_cache_new(size_t max_entries, unsigned ttl)
{
	struct auth_cache *c = xcalloc(1, sizeof(*c));

	c->max = max_entries > 0 && max_entries < (1u << 24) ? max_entries : 1;
	c->ttl = ttl;
	for (c->nbuckets = 1; c->nbuckets < 2 * c->max; c->nbuckets <<= 1)
		;
	c->entries = xcalloc(c->max, sizeof(*c->entries));
	c->buckets = xmalloc(c->nbuckets * sizeof(*c->buckets));
	for (size_t i = 0; i < c->nbuckets; i++)
		c->buckets[i] = AUTH_CACHE_NONE;
	for (size_t i = 0; i < c->max; i++)
		c->entries[i].hnext = i + 1 < c->max ? (uint32_t)(i + 1) : AUTH_CACHE_NONE;
	c->free = 0;
	c->head = c->tail = AUTH_CACHE_NONE;
	return c;
}

void auth_cache_free(struct auth_cache **cp)
{
	struct auth_cache *c = *cp;

	if (c == NULL)
		return;
	OPENSSL_cleanse(c->entries, c->max * sizeof(*c->entries));
	free(c->entries);
	free(c->buckets);
	free(c);
	*cp = NULL;
}

/* auth_cache_bucket - the chain head for key (keys are uniformly random). */
static uint32_t *auth_cache_bucket(struct auth_cache *c, const unsigned char *key)
{
	uint32_t h;

	memcpy(&h, key, sizeof(h));
	return &c->buckets[h & (c->nbuckets - 1)];
}

/* auth_cache_lru_unlink - take entry i out of the LRU list. */
static void auth_cache_lru_unlink(struct auth_cache *c, uint32_t i)
{
	struct auth_cache_entry *e = &c->entries[i];

	if (e->prev != AUTH_CACHE_NONE)
		c->entries[e->prev].next = e->next;
	else
		c->head = e->next;
	if (e->next != AUTH_CACHE_NONE)
		c->entries[e->next].prev = e->prev;
	else
		c->tail = e->prev;
}

/* auth_cache_lru_push - make entry i the most recently used. */
static void auth_cache_lru_push(struct auth_cache *c, uint32_t i)
{
	struct auth_cache_entry *e = &c->entries[i];

	e->prev = AUTH_CACHE_NONE;
	e->next = c->head;
	if (c->head != AUTH_CACHE_NONE)
		c->entries[c->head].prev = i;
	c->head = i;
	if (c->tail == AUTH_CACHE_NONE)
		c->tail = i;
}

/* auth_cache_find - the slot that points at key's entry (its index is *slot), or NULL. */
static uint32_t *auth_cache_find(struct auth_cache *c, const unsigned char *key)
{
	uint32_t *slot = auth_cache_bucket(c, key);

	while (*slot != AUTH_CACHE_NONE) {
		if (CRYPTO_memcmp(c->entries[*slot].key, key, AUTH_CACHE_KEY_LEN) == 0)
			return slot;
		slot = &c->entries[*slot].hnext;
	}
	return NULL;
}

/* auth_cache_remove - drop the entry *slot points at; it joins the free list. */
static void auth_cache_remove(struct auth_cache *c, uint32_t *slot)
{
	uint32_t i = *slot;
	struct auth_cache_entry *e = &c->entries[i];

	*slot = e->hnext;
	auth_cache_lru_unlink(c, i);
	OPENSSL_cleanse(e, sizeof(*e));
	e->hnext = c->free;
	c->free = i;
	c->count--;
}

bool auth_cache_lookup(struct auth_cache *c, const unsigned char *key, const unsigned char *tag,
		       time_t now)
{
	uint32_t *slot = auth_cache_find(c, key);
	struct auth_cache_entry *e;

	if (slot == NULL)
		return false;
	e = &c->entries[*slot];
	if (now >= e->expires || CRYPTO_memcmp(e->tag, tag, AUTH_CACHE_KEY_LEN) != 0) {
		auth_cache_remove(c, slot);
		return false;
	}
	auth_cache_lru_unlink(c, *slot);
	auth_cache_lru_push(c, *slot);
	return true;
}

void auth_cache_insert(struct auth_cache *c, const unsigned char *key, const unsigned char *tag,
		       time_t now)
{
	uint32_t *slot = auth_cache_find(c, key), i;

	if (slot != NULL)
		auth_cache_remove(c, slot);
	if (c->free == AUTH_CACHE_NONE) {
		struct auth_cache_entry *old = &c->entries[c->tail];
		auth_cache_remove(c, auth_cache_find(c, old->key));
	}
	i = c->free;
	c->free = c->entries[i].hnext;
	memcpy(c->entries[i].key, key, AUTH_CACHE_KEY_LEN);
	memcpy(c->entries[i].tag, tag, AUTH_CACHE_KEY_LEN);
	c->entries[i].expires = now + (time_t)c->ttl;
	slot = auth_cache_bucket(c, key);
	c->entries[i].hnext = *slot;
	*slot = i;
	auth_cache_lru_push(c, i);
	c->count++;
}

size_t auth_cache_count(const struct auth_cache *c)
{
	return c->count;
}

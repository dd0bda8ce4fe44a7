/*
 * imap_cache - a byte-bounded map from message base names to what FETCH
 * computed, evicted in CLOCK order (second chance): a hit only marks its
 * entry, so a FETCH 1:* of 1,000 cached envelopes touches no list links.
 */
#include "imap/imap_cache.h"

#include <event2/buffer.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* One entry: key and value stored after the struct. */
struct imap_cache_entry {
	struct imap_cache_entry *chain;      /* hash bucket */
	struct imap_cache_entry *prev, *next; /* head: the newest (or newly spared) */
	uint32_t hash;
	bool referenced; /* hit since it was put or last spared */
	size_t key_len, len;
	char data[]; /* key, then value */
};

/* One part of the cache: its own lock, buckets, LRU list and share of the bound. */
struct imap_cache_shard {
	pthread_mutex_t lock;
	struct imap_cache_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	struct imap_cache_entry *head, *tail;
	size_t bytes, max_bytes;
};

struct imap_cache {
	size_t nshards; /* a power of two */
	struct imap_cache_shard shards[];
};

/*
 * imap_cache_hash - a hash of the key's last 64 bytes, 8 at a time: keys
 * are "folder/base name", and the base names, which tell messages apart,
 * are at the end; a byte-wise hash of the whole path cost a tenth of a
 * login's CPU.
 */
static uint32_t imap_cache_hash(const char *key, size_t len)
{
	uint64_t h = len * 0x9e3779b97f4a7c15u, w;
	size_t i = len > 64 ? len - 64 : 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, key + i, 8);
		h = ((h << 5) | (h >> 59)) ^ w;
		h *= 0x517cc1b727220a95u;
	}
	for (; i < len; i++)
		h = (((h << 5) | (h >> 59)) ^ (unsigned char)key[i]) * 0x517cc1b727220a95u;
	return (uint32_t)(h ^ (h >> 32));
}

/* imap_cache_size - what an entry costs against the bound. */
static size_t imap_cache_size(const struct imap_cache_entry *e)
{
	return sizeof(*e) + e->key_len + e->len + sizeof(void *);
}

struct imap_cache *imap_cache_new(size_t max_bytes, size_t shards)
{
	struct imap_cache *c = xcalloc(1, sizeof(*c) + shards * sizeof(c->shards[0]));

	c->nshards = shards;
	for (size_t i = 0; i < shards; i++) {
		struct imap_cache_shard *sh = &c->shards[i];

		pthread_mutex_init(&sh->lock, NULL);
		sh->nbuckets = 1024;
		sh->buckets = xcalloc(sh->nbuckets, sizeof(*sh->buckets));
		sh->max_bytes = max_bytes / shards;
	}
	return c;
}

void imap_cache_free(struct imap_cache **cp)
{
	struct imap_cache *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nshards; i++) {
		struct imap_cache_shard *sh = &c->shards[i];

		for (struct imap_cache_entry *e = sh->head, *next; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		free(sh->buckets);
		pthread_mutex_destroy(&sh->lock);
	}
	free(c);
	*cp = NULL;
}

/* imap_cache_shard - the part a hash belongs to (its top bits; the buckets use the low ones). */
static struct imap_cache_shard *imap_cache_shard(struct imap_cache *c, uint32_t hash)
{
	return &c->shards[(size_t)(hash >> 16) & (c->nshards - 1)];
}

/* imap_cache_slot - the link that points at key's entry, or at the NULL ending its chain. */
static struct imap_cache_entry **imap_cache_slot(struct imap_cache_shard *c, const char *key,
						 size_t key_len, uint32_t hash)
{
	struct imap_cache_entry **pp = &c->buckets[hash & (c->nbuckets - 1)];

	while (*pp != NULL && ((*pp)->hash != hash || (*pp)->key_len != key_len ||
			       memcmp((*pp)->data, key, key_len) != 0))
		pp = &(*pp)->chain;
	return pp;
}

/* imap_cache_unlink - take e off the LRU list. */
static void imap_cache_unlink(struct imap_cache_shard *c, struct imap_cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
}

/* imap_cache_front - put e at the head of the LRU list. */
static void imap_cache_front(struct imap_cache_shard *c, struct imap_cache_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

/* imap_cache_remove - drop the entry that *pp points at. */
static void imap_cache_remove(struct imap_cache_shard *c, struct imap_cache_entry **pp)
{
	struct imap_cache_entry *e = *pp;

	*pp = e->chain;
	imap_cache_unlink(c, e);
	c->bytes -= imap_cache_size(e);
	c->count--;
	free(e);
}

/* imap_cache_grow - twice the buckets when chains get long. */
static void imap_cache_grow(struct imap_cache_shard *c)
{
	size_t n = c->nbuckets * 2;
	struct imap_cache_entry **b = xcalloc(n, sizeof(*b));

	for (struct imap_cache_entry *e = c->head; e != NULL; e = e->next) {
		e->chain = b[e->hash & (n - 1)];
		b[e->hash & (n - 1)] = e;
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

bool imap_cache_get(struct imap_cache *cache, const char *key, size_t key_len,
		    struct evbuffer *out)
{
	uint32_t hash = imap_cache_hash(key, key_len);
	struct imap_cache_shard *c = imap_cache_shard(cache, hash);
	struct imap_cache_entry *e;

	pthread_mutex_lock(&c->lock);
	if ((e = *imap_cache_slot(c, key, key_len, hash)) != NULL) {
		e->referenced = true;
		evbuffer_add(out, e->data + e->key_len, e->len);
	}
	pthread_mutex_unlock(&c->lock);
	return e != NULL;
}

/* imap_cache_evict - make room for need more bytes: the oldest go, unless hit since (spared once). */
static void imap_cache_evict(struct imap_cache_shard *c, size_t need)
{
	size_t spared = 0;

	while (c->bytes + need > c->max_bytes && c->tail != NULL) {
		struct imap_cache_entry *t = c->tail;

		if (t->referenced && spared++ < c->count) {
			t->referenced = false;
			imap_cache_unlink(c, t);
			imap_cache_front(c, t);
			continue;
		}
		imap_cache_remove(c, imap_cache_slot(c, t->data, t->key_len, t->hash));
	}
}

/* imap_cache_insert - put under the lock. */
static void imap_cache_insert(struct imap_cache_shard *c, const char *key, size_t key_len,
			      uint32_t hash, const char *value, size_t len)
{
	struct imap_cache_entry **pp = imap_cache_slot(c, key, key_len, hash), *e;

	if (*pp != NULL)
		imap_cache_remove(c, pp);
	e = xmalloc(sizeof(*e) + key_len + len);
	e->hash = hash;
	e->referenced = false;
	e->key_len = key_len;
	e->len = len;
	memcpy(e->data, key, key_len);
	memcpy(e->data + key_len, value, len);
	if (imap_cache_size(e) > c->max_bytes) {
		free(e);
		return;
	}
	imap_cache_evict(c, imap_cache_size(e));
	if (c->count >= c->nbuckets)
		imap_cache_grow(c);
	pp = &c->buckets[hash & (c->nbuckets - 1)];
	e->chain = *pp;
	*pp = e;
	imap_cache_front(c, e);
	c->bytes += imap_cache_size(e);
	c->count++;
}

void imap_cache_put(struct imap_cache *cache, const char *key, size_t key_len, const char *value,
		    size_t len)
{
	uint32_t hash = imap_cache_hash(key, key_len);
	struct imap_cache_shard *c = imap_cache_shard(cache, hash);

	pthread_mutex_lock(&c->lock);
	imap_cache_insert(c, key, key_len, hash, value, len);
	pthread_mutex_unlock(&c->lock);
}

size_t imap_cache_bytes(struct imap_cache *c)
{
	size_t bytes = 0;

	for (size_t i = 0; i < c->nshards; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		bytes += c->shards[i].bytes;
		pthread_mutex_unlock(&c->shards[i].lock);
	}
	return bytes;
}

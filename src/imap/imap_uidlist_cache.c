/* imap_uidlist_cache - parsed uidlists kept between adds (see imap_uidlist_cache.h). */
#include "imap/imap_uidlist_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* One kept list; dir NULL when the slot is free. */
struct imap_uidlist_cache_slot {
	char *dir;
	struct imap_uidlist ul;
	unsigned long used; /* when it was put back, by imap_uidlist_cache_clock */
};

static pthread_mutex_t imap_uidlist_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct imap_uidlist_cache_slot imap_uidlist_cache_slots[IMAP_UIDLIST_CACHE_MAX];
static unsigned long imap_uidlist_cache_clock;

/* imap_uidlist_cache_drop - free a slot's list (the lock held). */
static void imap_uidlist_cache_drop(struct imap_uidlist_cache_slot *sl)
{
	free(sl->dir);
	sl->dir = NULL;
	imap_uidlist_clear(&sl->ul);
}

bool imap_uidlist_cache_take(const char *dir, struct imap_uidlist *ul)
{
	bool found = false;

	pthread_mutex_lock(&imap_uidlist_cache_lock);
	for (size_t i = 0; i < IMAP_UIDLIST_CACHE_MAX && !found; i++) {
		struct imap_uidlist_cache_slot *sl = &imap_uidlist_cache_slots[i];

		if (sl->dir != NULL && strcmp(sl->dir, dir) == 0) {
			imap_uidlist_clear(ul);
			*ul = sl->ul;
			imap_uidlist_init(&sl->ul);
			free(sl->dir);
			sl->dir = NULL;
			found = true;
		}
	}
	pthread_mutex_unlock(&imap_uidlist_cache_lock);
	return found;
}

/* imap_uidlist_cache_room - drop the least recently used lists until n more records fit (the lock held). */
static void imap_uidlist_cache_room(size_t n)
{
	for (;;) {
		struct imap_uidlist_cache_slot *oldest = NULL;
		size_t total = n;

		for (size_t i = 0; i < IMAP_UIDLIST_CACHE_MAX; i++) {
			struct imap_uidlist_cache_slot *sl = &imap_uidlist_cache_slots[i];

			if (sl->dir == NULL)
				continue;
			total += sl->ul.count;
			if (oldest == NULL || sl->used < oldest->used)
				oldest = sl;
		}
		if (total <= IMAP_UIDLIST_CACHE_TOTAL || oldest == NULL)
			return;
		imap_uidlist_cache_drop(oldest);
	}
}

void imap_uidlist_cache_put(const char *dir, struct imap_uidlist *ul)
{
	struct imap_uidlist_cache_slot *victim = &imap_uidlist_cache_slots[0];

	if (ul->count > IMAP_UIDLIST_CACHE_RECS) {
		imap_uidlist_clear(ul);
		return;
	}
	pthread_mutex_lock(&imap_uidlist_cache_lock);
	imap_uidlist_cache_room(ul->count);
	for (size_t i = 0; i < IMAP_UIDLIST_CACHE_MAX; i++) {
		struct imap_uidlist_cache_slot *sl = &imap_uidlist_cache_slots[i];

		if (sl->dir != NULL && strcmp(sl->dir, dir) == 0) {
			victim = sl; /* kept twice (two takers): the newer wins */
			break;
		}
		if (sl->dir == NULL || (victim->dir != NULL && sl->used < victim->used))
			victim = sl;
	}
	if (victim->dir != NULL)
		imap_uidlist_cache_drop(victim);
	victim->dir = xstrdup(dir);
	victim->ul = *ul;
	victim->used = ++imap_uidlist_cache_clock;
	imap_uidlist_init(ul);
	pthread_mutex_unlock(&imap_uidlist_cache_lock);
}

void imap_uidlist_cache_clear(void)
{
	pthread_mutex_lock(&imap_uidlist_cache_lock);
	for (size_t i = 0; i < IMAP_UIDLIST_CACHE_MAX; i++) {
		if (imap_uidlist_cache_slots[i].dir != NULL)
			imap_uidlist_cache_drop(&imap_uidlist_cache_slots[i]);
	}
	pthread_mutex_unlock(&imap_uidlist_cache_lock);
}

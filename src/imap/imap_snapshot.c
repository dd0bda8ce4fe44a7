/* imap_snapshot - folder scans remembered while the folder's files stay the same. */
#include "imap/imap_snapshot.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imap/imap_mailbox.h"
#include "util/xalloc.h"

#define IMAP_SNAPSHOT_BUCKETS 4096

static const char *const imap_snapshot_files[IMAP_SNAPSHOT_FILES] = {
	"new", "cur", "dovecot-uidlist", "dovecot-keywords", "postern-modseq",
};

struct imap_snapshot_entry {
	struct imap_snapshot_entry *chain, *prev, *next; /* bucket; LRU (head newest) */
	char *dir;
	struct imap_snapshot_stamp stamp;
	struct imap_folder_state st;
	size_t bytes;
};

static pthread_mutex_t imap_snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static struct imap_snapshot_entry *imap_snapshot_buckets[IMAP_SNAPSHOT_BUCKETS];
static struct imap_snapshot_entry *imap_snapshot_head, *imap_snapshot_tail;
static size_t imap_snapshot_bytes;

void imap_snapshot_stamp(const char *dir, struct imap_snapshot_stamp *stamp_r)
{
	time_t now = time(NULL);
	char path[4096];
	struct stat st;

	memset(stamp_r, 0, sizeof(*stamp_r));
	stamp_r->settled = true;
	for (int i = 0; i < IMAP_SNAPSHOT_FILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, imap_snapshot_files[i]);
		if (stat(path, &st) < 0)
			continue; /* absent: all zero */
		stamp_r->mtime[i] = st.st_mtim;
		stamp_r->size[i] = st.st_size;
		stamp_r->ino[i] = st.st_ino;
		if (st.st_mtim.tv_sec + IMAP_SNAPSHOT_SETTLE > now)
			stamp_r->settled = false;
	}
}

/* imap_snapshot_same - two stamps of the same files. */
static bool imap_snapshot_same(const struct imap_snapshot_stamp *a,
			       const struct imap_snapshot_stamp *b)
{
	for (int i = 0; i < IMAP_SNAPSHOT_FILES; i++) {
		if (a->mtime[i].tv_sec != b->mtime[i].tv_sec ||
		    a->mtime[i].tv_nsec != b->mtime[i].tv_nsec || a->size[i] != b->size[i] ||
		    a->ino[i] != b->ino[i])
			return false;
	}
	return true;
}

/* imap_snapshot_copy - a deep copy of src into dst; the bytes it holds. */
static size_t imap_snapshot_copy(struct imap_folder_state *dst, const struct imap_folder_state *src)
{
	size_t bytes = sizeof(*dst) + (src->n + 1) * sizeof(*src->msgs);

	*dst = *src;
	dst->msgs = xcalloc(src->n + 1, sizeof(*dst->msgs));
	for (size_t i = 0; i < src->n; i++) {
		dst->msgs[i] = src->msgs[i];
		dst->msgs[i].file = xstrdup(src->msgs[i].file);
		bytes += strlen(src->msgs[i].file) + 1;
	}
	for (size_t k = 0; k < IMAP_KEYWORDS_MAX; k++) {
		if (src->kw.names[k] != NULL) {
			dst->kw.names[k] = xstrdup(src->kw.names[k]);
			bytes += strlen(src->kw.names[k]) + 1;
		}
	}
	return bytes;
}

/* imap_snapshot_bucket - the chain of dir. */
static struct imap_snapshot_entry **imap_snapshot_bucket(const char *dir)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)dir; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return &imap_snapshot_buckets[h % IMAP_SNAPSHOT_BUCKETS];
}

/* imap_snapshot_find - the link to dir's entry, or to the NULL ending its chain (lock held). */
static struct imap_snapshot_entry **imap_snapshot_find(const char *dir)
{
	struct imap_snapshot_entry **pp = imap_snapshot_bucket(dir);

	while (*pp != NULL && strcmp((*pp)->dir, dir) != 0)
		pp = &(*pp)->chain;
	return pp;
}

/* imap_snapshot_unlink - take e off the LRU list (lock held). */
static void imap_snapshot_unlink(struct imap_snapshot_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		imap_snapshot_head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		imap_snapshot_tail = e->prev;
}

/* imap_snapshot_drop - remove the entry *pp points at (lock held). */
static void imap_snapshot_drop(struct imap_snapshot_entry **pp)
{
	struct imap_snapshot_entry *e = *pp;

	*pp = e->chain;
	imap_snapshot_unlink(e);
	imap_snapshot_bytes -= e->bytes;
	imap_folder_state_clear(&e->st);
	free(e->dir);
	free(e);
}

bool imap_snapshot_get(const char *dir, const struct imap_snapshot_stamp *stamp,
		       struct imap_folder_state *st_r)
{
	struct imap_snapshot_entry *e;
	bool hit = false;

	if (!stamp->settled)
		return false;
	pthread_mutex_lock(&imap_snapshot_lock);
	e = *imap_snapshot_find(dir);
	if (e != NULL && imap_snapshot_same(&e->stamp, stamp)) {
		imap_snapshot_copy(st_r, &e->st);
		imap_snapshot_unlink(e); /* the newest now */
		e->prev = NULL;
		e->next = imap_snapshot_head;
		if (imap_snapshot_head != NULL)
			imap_snapshot_head->prev = e;
		imap_snapshot_head = e;
		if (imap_snapshot_tail == NULL)
			imap_snapshot_tail = e;
		hit = true;
	}
	pthread_mutex_unlock(&imap_snapshot_lock);
	return hit;
}

void imap_snapshot_put(const char *dir, const struct imap_snapshot_stamp *stamp,
		       const struct imap_folder_state *st)
{
	struct imap_snapshot_entry *e, **pp;

	if (!stamp->settled)
		return;
	e = xcalloc(1, sizeof(*e));
	e->dir = xstrdup(dir);
	e->stamp = *stamp;
	e->bytes = imap_snapshot_copy(&e->st, st) + sizeof(*e) + strlen(dir) + 1;
	pthread_mutex_lock(&imap_snapshot_lock);
	if (*(pp = imap_snapshot_find(dir)) != NULL)
		imap_snapshot_drop(pp);
	while (imap_snapshot_tail != NULL && imap_snapshot_bytes + e->bytes > IMAP_SNAPSHOT_MAX_BYTES)
		imap_snapshot_drop(imap_snapshot_find(imap_snapshot_tail->dir));
	pp = imap_snapshot_bucket(dir);
	e->chain = *pp;
	*pp = e;
	e->next = imap_snapshot_head;
	if (imap_snapshot_head != NULL)
		imap_snapshot_head->prev = e;
	imap_snapshot_head = e;
	if (imap_snapshot_tail == NULL)
		imap_snapshot_tail = e;
	imap_snapshot_bytes += e->bytes;
	pthread_mutex_unlock(&imap_snapshot_lock);
}

void imap_snapshot_clear_all(void)
{
	pthread_mutex_lock(&imap_snapshot_lock);
	while (imap_snapshot_head != NULL)
		imap_snapshot_drop(imap_snapshot_find(imap_snapshot_head->dir));
	pthread_mutex_unlock(&imap_snapshot_lock);
}

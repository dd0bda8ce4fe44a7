/* imap_add - messages linked into a folder with new names, UIDs given under the uidlist lock. */
#include "imap/imap_add.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_keywords.h"
#include "imap/imap_mflags.h"
#include "imap/imap_types.h"
#include "imap/imap_uidlist.h"
#include "imap/imap_uidlist_cache.h"
#include "store/maildir.h"
#include "util/xalloc.h"

/* The Q field of IMAP's file names: a process-wide counter above the store's (which counts from 0). */
static atomic_ulong imap_add_seq = 1UL << 32;

/* One folder being added to. */
struct imap_add {
	const char *home, *dir, *host;
	struct imap_uidlist ul;
	struct imap_keywords kw;
	bool kw_changed;
	bool append; /* the uidlist read is intact: new records can be appended */
	size_t from; /* the first new record */
	char **linked; /* the links made, undone if any item fails */
	size_t nlinked;
};

/* imap_add_new_keyword - does an item bring a keyword the folder has not got yet? */
static bool imap_add_new_keyword(const struct imap_add *a, const struct imap_add_item *items,
				 size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 32 && items[i].keywords[k] != NULL; k++)
			if (imap_keywords_find(&a->kw, items[i].keywords[k]) < 0)
				return true;
	return false;
}

/*
 * imap_add_open - read the locked folder's uidlist (made when missing;
 * kept from the last add) and keywords. Without wait, 1 when more than an
 * append to the uidlist is needed (a new or broken list, a new keyword:
 * files written and synced one by one, not for the sync worker).
 */
static int imap_add_open(struct imap_add *a, const struct imap_add_item *items, size_t n,
			 bool wait, char **error_r)
{
	char *broken = NULL;
	int r = imap_uidlist_cache_take(a->dir, &a->ul) ? imap_uidlist_reread(a->dir, &a->ul, &broken)
						       : imap_uidlist_read(a->dir, &a->ul, &broken);

	if (r == -2) {
		*error_r = broken; /* unreadable: never replaced */
		return -1;
	}
	free(broken); /* a broken file: what was salvaged is rewritten */
	if (!wait && (r != 1 || a->ul.repaired || a->ul.count == 0 || a->ul.uidvalidity == 0))
		return 1;
	if (r <= 0 || a->ul.uidvalidity == 0) {
		uint32_t uidvalidity;
		uint8_t guid[16];

		if (imap_uidvalidity_next(a->home, &uidvalidity, error_r) < 0)
			return -1;
		if (imap_uidlist_guid_generate(guid) < 0) {
			*error_r = xstrdup("no random bytes for the folder GUID");
			return -1;
		}
		imap_uidlist_clear(&a->ul);
		imap_uidlist_init_new(&a->ul, uidvalidity, guid);
	}
	a->append = r == 1 && !a->ul.repaired && a->ul.count > 0;
	a->from = a->ul.count;
	if (imap_keywords_read(a->dir, &a->kw, error_r) < 0)
		return -1;
	return !wait && imap_add_new_keyword(a, items, n) ? 1 : 0;
}

/* imap_add_keywords - the folder's keyword bits of the item's names (new ones added). */
static uint32_t imap_add_keywords(struct imap_add *a, const struct imap_add_item *it)
{
	uint32_t bits = 0;

	for (size_t k = 0; k < 32 && it->keywords[k] != NULL; k++) {
		int had = imap_keywords_find(&a->kw, it->keywords[k]);
		int idx = had >= 0 ? had : imap_keywords_add(&a->kw, it->keywords[k]);

		if (idx >= 0)
			bits |= 1u << idx;
		a->kw_changed |= had < 0 && idx >= 0;
	}
	return bits;
}

/* imap_add_one - link one item into cur/ under a new name and give it a UID. */
static int imap_add_one(struct imap_add *a, struct imap_add_item *it, char **error_r)
{
	char base[512], name[600], path[4096];
	uint32_t keywords = imap_add_keywords(a, it);

	if (maildir_name(base, sizeof(base), a->host, atomic_fetch_add(&imap_add_seq, 1),
			 (size_t)it->stored_size, (size_t)it->wire_size) < 0 ||
	    imap_mflags_set(base, it->flags & ~(unsigned)IMAP_FLAG_RECENT, keywords, name,
			    sizeof(name)) < 0 ||
	    snprintf(path, sizeof(path), "%s/cur/%s", a->dir, name) >= (int)sizeof(path)) {
		*error_r = xstrdup("file name too long");
		return -1;
	}
	if (link(it->src, path) < 0) {
		*error_r = xasprintf("link %s: %s", it->src, strerror(errno));
		return -1;
	}
	a->linked[a->nlinked++] = xstrdup(path);
	if (it->mtime >= 0) {
		struct timespec t[2] = { { .tv_sec = it->mtime }, { .tv_sec = it->mtime } };

		utimensat(AT_FDCWD, path, t, 0);
	}
	if (imap_uidlist_add(&a->ul, name, &it->uid) < 0) {
		*error_r = xasprintf("no UID for %s", name);
		return -1;
	}
	return 0;
}

/* imap_add_commit - the keywords and the UIDs written (the caller syncs). */
static int imap_add_commit(struct imap_add *a, char **error_r)
{
	if (a->kw_changed && imap_keywords_write(a->dir, &a->kw, error_r) < 0)
		return -1;
	if (a->append)
		return imap_uidlist_append(a->dir, &a->ul, a->from, error_r);
	return imap_uidlist_write(a->dir, &a->ul, error_r);
}

/*
 * imap_add_finish - forget the links; after a failure, undo them first: a
 * COPY or APPEND that fails leaves the folder as it was (RFC 9051 6.4.7,
 * RFC 3502 6), and the UIDs it took are simply never used.
 */
static void imap_add_finish(struct imap_add *a, struct imap_add_item *items, size_t n, bool ok)
{
	for (size_t i = 0; i < a->nlinked; i++) {
		if (!ok)
			unlink(a->linked[i]);
		free(a->linked[i]);
	}
	free(a->linked);
	for (size_t i = 0; i < n && !ok; i++)
		items[i].uid = 0;
}

int imap_add_messages(const char *home, const char *dir, const char *host,
		      struct imap_add_item *items, size_t n, bool wait, uint32_t *uidvalidity_r,
		      char **error_r)
{
	struct imap_add a = { .home = home, .dir = dir, .host = host };
	struct imap_dotlock *lock = NULL;
	int rc = imap_uidlist_lock(dir, wait ? IMAP_UIDLIST_LOCK_TIMEOUT : 0, &lock, error_r);

	if (rc == 0 && !wait)
		return 1;
	if (rc <= 0) {
		if (rc == 0)
			*error_r = xstrdup("dovecot-uidlist is locked by someone else");
		return -1;
	}
	imap_uidlist_init(&a.ul);
	a.linked = xcalloc(n + 1, sizeof(*a.linked));
	rc = imap_add_open(&a, items, n, wait, error_r);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = imap_add_one(&a, &items[i], error_r);
	if (rc == 0 && a.ul.count > a.from)
		rc = imap_add_commit(&a, error_r);
	imap_add_finish(&a, items, n, rc == 0);
	*uidvalidity_r = a.ul.uidvalidity;
	imap_uidlist_unlock(&lock);
	if (rc == 0 || (rc == 1 && a.append)) /* as on disk now (1: a new keyword, the list intact) */
		imap_uidlist_cache_put(dir, &a.ul);
	imap_uidlist_clear(&a.ul);
	imap_keywords_clear(&a.kw);
	return rc;
}

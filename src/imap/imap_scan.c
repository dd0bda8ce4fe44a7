/*
 * imap_scan - a folder read on a worker (imap_mailbox_scan): new/ and cur/
 * listed, every file matched with its UID in dovecot-uidlist, new files
 * given UIDs under the uidlist's dotlock (Dovecot's own way, so both can
 * serve the tree at once), records of files gone dropped when the file is
 * rewritten anyway.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_keywords.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_mflags.h"
#include "imap/imap_modseq.h"
#include "imap/imap_snapshot.h"
#include "imap/imap_uidlist.h"
#include "util/log.h"
#include "util/xalloc.h"

/* One file of new/ or cur/. */
struct imap_scan_file {
	char *name;
	size_t base_len; /* the name before ':' */
	bool in_new;
};

struct imap_scan {
	const char *home, *dir;
	struct imap_scan_file *files;
	size_t n, cap;
	struct imap_uidlist ul;
	char *error;
};

static void imap_scan_dedup(struct imap_scan *sc);
static int imap_scan_base_cmp(const void *a, const void *b);

/* imap_scan_list - add the files of dir/sub; -1 with errno. */
static int imap_scan_list(struct imap_scan *sc, const char *sub)
{
	char path[4096];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/%s", sc->dir, sub);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (sc->n == sc->cap) {
			sc->cap = sc->cap ? 2 * sc->cap : 256;
			sc->files = xrealloc(sc->files, sc->cap * sizeof(*sc->files));
		}
		struct imap_scan_file *f = &sc->files[sc->n++];

		f->name = xstrdup(e->d_name);
		f->base_len = strcspn(f->name, ":");
		f->in_new = sub[0] == 'n';
	}
	closedir(d);
	return 0;
}

static int imap_scan_key_cmp(const void *a, const void *b);

/* imap_scan_base_cmp - qsort: by base name, a file in cur/ before the same base in new/. */
static int imap_scan_base_cmp(const void *a, const void *b)
{
	const struct imap_scan_file *x = a, *y = b;
	int c = imap_scan_key_cmp(a, b);

	return c != 0 ? c : (int)x->in_new - (int)y->in_new;
}

/* imap_scan_key_cmp - by base name only (bsearch, duplicates). */
static int imap_scan_key_cmp(const void *a, const void *b)
{
	const struct imap_scan_file *x = a, *y = b;
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->name, y->name, n);

	if (c != 0 || x->base_len == y->base_len)
		return c;
	return x->base_len < y->base_len ? -1 : 1;
}

/* imap_scan_dedup - sorted: of two files with one base (a rename racing), keep the one in cur/. */
static void imap_scan_dedup(struct imap_scan *sc)
{
	size_t out = 0;

	for (size_t i = 0; i < sc->n; i++) {
		if (out > 0 && imap_scan_key_cmp(&sc->files[out - 1], &sc->files[i]) == 0) {
			free(sc->files[i].name);
			continue;
		}
		sc->files[out++] = sc->files[i];
	}
	sc->n = out;
}

/* imap_scan_exists_cb - retain: does the record's file still exist? */
static bool imap_scan_exists_cb(const struct imap_uidlist_rec *rec, void *ctx)
{
	struct imap_scan *sc = ctx;
	struct imap_scan_file key = { .name = rec->name, .base_len = strlen(rec->name) };

	return sc->n > 0 &&
	       bsearch(&key, sc->files, sc->n, sizeof(*sc->files), imap_scan_key_cmp) != NULL;
}

/* imap_scan_files - (again) the files of new/ and cur/, sorted by base name; -1 with sc->error. */
static int imap_scan_files(struct imap_scan *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->files[i].name);
	sc->n = 0;
	if (imap_scan_list(sc, "new") < 0 || imap_scan_list(sc, "cur") < 0) {
		sc->error = xasprintf("cannot list %s: %s", sc->dir, strerror(errno));
		return -1;
	}
	if (sc->n > 0)
		qsort(sc->files, sc->n, sizeof(*sc->files), imap_scan_base_cmp);
	imap_scan_dedup(sc);
	return 0;
}

/* imap_scan_unknown - how many files the uidlist does not list. */
static size_t imap_scan_unknown(const struct imap_scan *sc)
{
	size_t n = 0;

	for (size_t i = 0; i < sc->n; i++)
		n += imap_uidlist_find(&sc->ul, sc->files[i].name) == NULL;
	return n;
}

/* imap_scan_new_list - a folder without uidlist: UIDVALIDITY from the account, a new GUID. */
static int imap_scan_new_list(struct imap_scan *sc)
{
	uint32_t uidvalidity;
	uint8_t guid[16];

	if (imap_uidvalidity_next(sc->home, &uidvalidity, &sc->error) < 0)
		return -1;
	if (imap_uidlist_guid_generate(guid) < 0) {
		sc->error = xstrdup("no random bytes for the folder GUID");
		return -1;
	}
	imap_uidlist_clear(&sc->ul);
	imap_uidlist_init_new(&sc->ul, uidvalidity, guid);
	return 0;
}

/* imap_scan_name_cmp_cb - qsort of new files as Dovecot orders them before giving UIDs. */
static int imap_scan_name_cmp_cb(const void *a, const void *b)
{
	const struct imap_scan_file *const *x = a, *const *y = b;

	return imap_mflags_sort_cmp((*x)->name, (*y)->name);
}

/* imap_scan_add_new - UIDs for the files the (locked, fresh) uidlist does not know. */
static void imap_scan_add_new(struct imap_scan *sc)
{
	struct imap_scan_file **todo = xcalloc(sc->n + 1, sizeof(*todo));
	size_t n = 0;
	uint32_t uid;

	for (size_t i = 0; i < sc->n; i++) {
		if (imap_uidlist_find(&sc->ul, sc->files[i].name) == NULL)
			todo[n++] = &sc->files[i];
	}
	qsort(todo, n, sizeof(*todo), imap_scan_name_cmp_cb);
	for (size_t i = 0; i < n; i++)
		(void)imap_uidlist_add(&sc->ul, todo[i]->name, &uid);
	free(todo);
}

/* imap_scan_update - under the lock: read again if changed, give UIDs, rewrite. */
static int imap_scan_update(struct imap_scan *sc)
{
	struct imap_dotlock *lock = NULL;
	int r = imap_uidlist_lock(sc->dir, IMAP_UIDLIST_LOCK_TIMEOUT, &lock, &sc->error);

	if (r <= 0) {
		if (r == 0)
			sc->error = xstrdup("dovecot-uidlist is locked by someone else");
		return -1;
	}
	/* What others did before we had the lock: their files and their UIDs (Dovecot does the same). */
	r = imap_scan_files(sc);
	if (r == 0 && imap_uidlist_changed(sc->dir, &sc->ul) != 0) {
		char *broken = NULL;

		if (imap_uidlist_read(sc->dir, &sc->ul, &broken) == -2) {
			sc->error = broken; /* unreadable: never replaced */
			r = -1;
		} else {
			free(broken); /* a broken file is rewritten with what was salvaged */
		}
	}
	if (r == 0 && sc->ul.uidvalidity == 0)
		r = imap_scan_new_list(sc);
	if (r == 0) {
		imap_uidlist_retain(&sc->ul, imap_scan_exists_cb, sc);
		imap_scan_add_new(sc);
		r = imap_uidlist_write(sc->dir, &sc->ul, &sc->error);
	}
	imap_uidlist_unlock(&lock);
	return r;
}

/* imap_scan_msg_cmp - qsort of messages by UID. */
static int imap_scan_msg_cmp(const void *a, const void *b)
{
	const struct imap_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* imap_scan_flags - a message's flags, keywords and RFC822.SIZE from its file name. */
static void imap_scan_flags(struct imap_msg *m)
{
	unsigned flags = 0;

	if (!imap_mflags_size(m->file, 'W', &m->size))
		m->size = 0;
	if (!m->in_new)
		imap_mflags_get(m->file, &flags, &m->keywords);
	m->flags = (uint8_t)flags;
}

/* imap_scan_state - the snapshot: every listed file with its UID, flags and size. */
static void imap_scan_state(struct imap_scan *sc, struct imap_folder_state *st)
{
	st->uidvalidity = sc->ul.uidvalidity;
	st->uidnext = sc->ul.next_uid;
	st->msgs = xcalloc(sc->n + 1, sizeof(*st->msgs));
	for (size_t i = 0; i < sc->n; i++) {
		const struct imap_uidlist_rec *rec = imap_uidlist_find(&sc->ul, sc->files[i].name);
		struct imap_msg *m = &st->msgs[st->n];

		if (rec == NULL)
			continue; /* came after the lock was released: the next scan */
		m->uid = rec->uid;
		m->in_new = sc->files[i].in_new;
		m->file = sc->files[i].name;
		sc->files[i].name = NULL;
		m->date = -1;
		imap_scan_flags(m);
		st->n++;
	}
	qsort(st->msgs, st->n, sizeof(*st->msgs), imap_scan_msg_cmp);
}

/* imap_scan_modseq - the messages' MODSEQs from postern-modseq, changes given new ones. */
static void imap_scan_modseq(const char *dir, struct imap_folder_state *st)
{
	char *error = NULL;

	if (imap_modseq_update(dir, st->uidvalidity, st->msgs, st->n, imap_modseq_now_us(),
			       IMAP_MODSEQ_ALL, &st->highestmodseq, NULL, &error) < 0) {
		log_err("imap: %s: %s (the folder is NOMODSEQ)", dir, error);
		st->highestmodseq = 0;
		free(error);
	} else if (st->highestmodseq == 0) {
		st->highestmodseq = 1; /* an empty folder: later changes are all above it */
	}
}

/* imap_scan_free - what a scan holds. */
static void imap_scan_free(struct imap_scan *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->files[i].name);
	free(sc->files);
	imap_uidlist_clear(&sc->ul);
	free(sc->error);
}

int imap_mailbox_scan(const char *home, const char *dir, struct imap_folder_state *st_r,
		      char *error_r, size_t size)
{
	struct imap_scan sc = { .home = home, .dir = dir };
	struct imap_snapshot_stamp stamp;
	int r, rc = -1;

	memset(st_r, 0, sizeof(*st_r));
	imap_snapshot_stamp(dir, &stamp); /* before anything is read: a later change shows */
	if (imap_snapshot_get(dir, &stamp, st_r))
		return 0;
	imap_uidlist_init(&sc.ul);
	if (imap_scan_files(&sc) < 0)
		r = -2;
	else if ((r = imap_uidlist_read(dir, &sc.ul, &sc.error)) != -2) {
		free(sc.error); /* a broken file: rewritten under the lock */
		sc.error = NULL;
	}
	if (r != -2 && ((r == 1 && !sc.ul.repaired && sc.ul.uidvalidity != 0 &&
			 imap_scan_unknown(&sc) == 0) || imap_scan_update(&sc) == 0)) {
		imap_scan_state(&sc, st_r);
		if (imap_keywords_read(dir, &st_r->kw, &sc.error) == 0)
			rc = 0;
		if (rc == 0)
			imap_scan_modseq(dir, st_r);
	}
	if (rc < 0)
		snprintf(error_r, size, "%s", sc.error ? sc.error : "error");
	else
		imap_snapshot_put(dir, &stamp, st_r);
	imap_scan_free(&sc);
	return rc;
}

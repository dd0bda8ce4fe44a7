/*
 * imap_folder_cmd - CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and
 * STATUS (RFC 9051 6.3.4-6.3.7, 6.3.11), on Maildir++ folders of the
 * account, their file work on a worker (imap_folder_job.h).
 */
#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_folder_job.h"
#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_subs.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* STATUS items, bits of job->opts. */
enum imap_status_item {
	IMAP_STATUS_MESSAGES = 1 << 0,
	IMAP_STATUS_UIDNEXT = 1 << 1,
	IMAP_STATUS_UIDVALIDITY = 1 << 2,
	IMAP_STATUS_UNSEEN = 1 << 3,
	IMAP_STATUS_RECENT = 1 << 4,
	IMAP_STATUS_SIZE = 1 << 5,
	IMAP_STATUS_DELETED = 1 << 6,
	IMAP_STATUS_HIGHESTMODSEQ = 1 << 7,
};
#define IMAP_STATUS_N 8

static const char *const imap_status_names[IMAP_STATUS_N] = {
	"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT", "SIZE", "DELETED", "HIGHESTMODSEQ",
};

struct imap_folder_job *imap_folder_job_new(struct imap_session *s, imap_folder_work_fn *work)
{
	struct imap_folder_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->work = work;
	j->home = xstrdup(s->home);
	j->utf8 = imap_folder_utf8(s);
	j->out = evbuffer_new();
	return j;
}

int imap_folder_job_quote(const struct imap_folder_job *j, const char *name, char *out,
			  size_t size)
{
	return imap_folder_quote(j->utf8, name, out, size);
}

/* imap_folder_job_work - on a worker: the command's work. */
static void imap_folder_job_work(void *arg)
{
	struct imap_folder_job *j = arg;

	j->work(j);
}

void imap_folder_job_discard(struct imap_folder_job *j)
{
	if (j->free_data != NULL)
		j->free_data(j->data);
	evbuffer_free(j->out);
	free(j->home);
	free(j);
}

/* imap_folder_job_done_cb - on the loop: the untagged lines, the tagged reply. */
static void imap_folder_job_done_cb(void *arg)
{
	struct imap_folder_job *j = arg;
	struct imap_session *s = j->s;

	if (imap_wait_done(s)) {
		evbuffer_add_buffer(bufferevent_get_output(s->bev), j->out);
		if (j->deselect && strncmp(j->reply, "OK", 2) == 0 && s->mbox != NULL) {
			imap_mailbox_close(&s->mbox); /* the selected one is gone (RFC 9051 6.3.5) */
			imap_set_state(s, IMAP_S_AUTH);
			imap_reply(s, "* OK [CLOSED] The selected mailbox was deleted");
		}
		imap_tagged(s, "%s", j->reply);
		imap_resume(s);
	}
	imap_folder_job_discard(j);
}

void imap_folder_job_run(struct imap_folder_job *j)
{
	imap_busy(j->s);
	j->s->waiting = true;
	imap_submit(j->s, imap_folder_job_work, imap_folder_job_done_cb, j);
}

/* imap_folder_arg - the job for a command whose first argument names a folder; NULL: answered. */
static struct imap_folder_job *imap_folder_arg(struct imap_session *s, const struct imap_call *c,
					       size_t nargs, imap_folder_work_fn *work)
{
	struct imap_folder_job *j;
	const char *error;

	if (c->count != nargs) {
		imap_bad(s, "%s needs %s", c->name, nargs == 1 ? "a mailbox name" : "two arguments");
		return NULL;
	}
	j = imap_folder_job_new(s, work);
	if (imap_folder_resolve(s, &c->args[0], j->name, sizeof(j->name), j->dir, sizeof(j->dir),
				&error) < 0) {
		imap_tagged(s, "NO %s", error);
		imap_folder_job_discard(j);
		return NULL;
	}
	return j;
}

/* imap_folder_create_work - mkdir the Maildir++ folder. */
static void imap_folder_create_work(struct imap_folder_job *j)
{
	struct stat st;

	if (strcmp(j->name, "INBOX") == 0 || stat(j->dir, &st) == 0)
		snprintf(j->reply, sizeof(j->reply), "NO [ALREADYEXISTS] Mailbox already exists");
	else if (maildir_create(j->dir) < 0)
		snprintf(j->reply, sizeof(j->reply), "NO [SERVERBUG] Cannot create: %s", strerror(errno));
	else
		snprintf(j->reply, sizeof(j->reply), "OK CREATE completed");
}

void imap_folder_create(struct imap_session *s, const struct imap_call *c)
{
	struct imap_call c2 = *c;
	struct imap_arg arg;
	char name[IMAP_FOLDER_NAME_MAX];
	struct imap_folder_job *j;

	if (c->count == 1 && imap_arg_is_astring(&c->args[0]) && c->args[0].u.str.len > 1 &&
	    c->args[0].u.str.len < sizeof(name) &&
	    c->args[0].u.str.data[c->args[0].u.str.len - 1] == '/') {
		/* RFC 9051 6.3.4: "a/" announces a parent; the folder "a" is made */
		memcpy(name, c->args[0].u.str.data, c->args[0].u.str.len - 1);
		name[c->args[0].u.str.len - 1] = '\0';
		arg = c->args[0];
		arg.u.str.data = name;
		arg.u.str.len--;
		c2.args = &arg;
	}
	if ((j = imap_folder_arg(s, &c2, 1, imap_folder_create_work)) != NULL)
		imap_folder_job_run(j);
}

/* imap_folder_rmdir - remove a folder's directory and the files in it and its tmp/new/cur. */
static int imap_folder_rmdir(const char *dir)
{
	static const char *const subs[] = { "tmp", "new", "cur", "." };
	char path[IMAP_FOLDER_PATH_MAX + 512];

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		DIR *d;
		struct dirent *e;

		snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, subs[i], e->d_name);
			if (e->d_type != DT_DIR)
				unlink(path);
		}
		closedir(d);
		if (i < 3) {
			snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
			rmdir(path);
		}
	}
	return rmdir(dir);
}

/* imap_folder_delete_work - remove the folder (its subfolders are other directories and stay). */
static void imap_folder_delete_work(struct imap_folder_job *j)
{
	struct stat st;

	if (strcmp(j->name, "INBOX") == 0)
		snprintf(j->reply, sizeof(j->reply), "NO [CANNOT] INBOX cannot be deleted");
	else if (stat(j->dir, &st) < 0)
		snprintf(j->reply, sizeof(j->reply), "NO [NONEXISTENT] Mailbox does not exist");
	else if (imap_folder_rmdir(j->dir) < 0)
		snprintf(j->reply, sizeof(j->reply), "NO [SERVERBUG] Cannot delete: %s", strerror(errno));
	else
		snprintf(j->reply, sizeof(j->reply), "OK DELETE completed");
}

void imap_folder_delete(struct imap_session *s, const struct imap_call *c)
{
	struct imap_folder_job *j = imap_folder_arg(s, c, 1, imap_folder_delete_work);

	if (j == NULL)
		return;
	j->deselect = s->mbox != NULL && strcmp(s->mbox->dir, j->dir) == 0;
	imap_folder_job_run(j);
}

/* imap_folder_rename_children - ".old.x" -> ".new.x" for every subfolder of the renamed one. */
static void imap_folder_rename_children(const char *home, const char *old, const char *new)
{
	size_t olen = strlen(old);
	DIR *d = opendir(home);
	struct dirent *e;
	char from[IMAP_FOLDER_PATH_MAX], to[IMAP_FOLDER_PATH_MAX];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, old, olen) != 0 || e->d_name[olen] != '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", home, e->d_name);
		snprintf(to, sizeof(to), "%s/%s%s", home, new, e->d_name + olen);
		if (rename(from, to) < 0)
			log_err("imap rename %s: %s", from, strerror(errno));
	}
	closedir(d);
}

/* imap_folder_rename_work - rename the folder and its subfolders. */
static void imap_folder_rename_work(struct imap_folder_job *j)
{
	struct stat st;
	const char *old = strrchr(j->dir, '/') + 1, *new = strrchr(j->dir2, '/') + 1;

	size_t len = strlen(j->name);

	if (strcmp(j->name, "INBOX") == 0 || strcmp(j->name2, "INBOX") == 0)
		snprintf(j->reply, sizeof(j->reply), "NO [CANNOT] INBOX cannot be renamed");
	else if (strncmp(j->name2, j->name, len) == 0 && j->name2[len] == '/')
		snprintf(j->reply, sizeof(j->reply), "NO [CANNOT] A mailbox cannot move into itself");
	else if (stat(j->dir, &st) < 0)
		snprintf(j->reply, sizeof(j->reply), "NO [NONEXISTENT] Mailbox does not exist");
	else if (stat(j->dir2, &st) == 0)
		snprintf(j->reply, sizeof(j->reply), "NO [ALREADYEXISTS] Target mailbox exists");
	else if (rename(j->dir, j->dir2) < 0)
		snprintf(j->reply, sizeof(j->reply), "NO [SERVERBUG] Cannot rename: %s", strerror(errno));
	else {
		imap_folder_rename_children(j->home, old, new);
		snprintf(j->reply, sizeof(j->reply), "OK RENAME completed");
	}
}

void imap_folder_rename(struct imap_session *s, const struct imap_call *c)
{
	struct imap_folder_job *j = imap_folder_arg(s, c, 2, imap_folder_rename_work);
	const char *error;

	if (j == NULL)
		return;
	if (imap_folder_resolve(s, &c->args[1], j->name2, sizeof(j->name2), j->dir2, sizeof(j->dir2),
				&error) < 0) {
		imap_tagged(s, "NO %s", error);
		imap_folder_job_discard(j);
		return;
	}
	imap_folder_job_run(j);
}

/* imap_folder_subscribe_work - add to or remove from the subscriptions file. */
static void imap_folder_subscribe_work(struct imap_folder_job *j)
{
	struct imap_subs subs = { 0 };
	char *error = NULL;

	if (imap_subs_read(j->home, &subs, &error) == 0) {
		if (j->opts ? imap_subs_add(&subs, j->name) : imap_subs_remove(&subs, j->name))
			(void)imap_subs_write(j->home, &subs, &error);
	}
	if (error != NULL)
		snprintf(j->reply, sizeof(j->reply), "NO [SERVERBUG] %s", error);
	else
		snprintf(j->reply, sizeof(j->reply), "OK %s completed",
			 j->opts ? "SUBSCRIBE" : "UNSUBSCRIBE");
	free(error);
	imap_subs_clear(&subs);
}

void imap_folder_subscribe(struct imap_session *s, const struct imap_call *c)
{
	struct imap_folder_job *j = imap_folder_arg(s, c, 1, imap_folder_subscribe_work);

	if (j == NULL)
		return;
	j->opts = strcmp(c->name, "SUBSCRIBE") == 0;
	imap_folder_job_run(j);
}

/* imap_folder_status_line - "* STATUS name (...)" of a scanned folder into out. */
void imap_folder_status_line(struct evbuffer *out, const char *quoted, unsigned items,
			     const struct imap_folder_state *st)
{
	uint64_t v[IMAP_STATUS_N] = { st->n, st->uidnext, st->uidvalidity, 0, 0, 0, 0,
				      st->highestmodseq };
	const char *sep = "";

	for (size_t i = 0; i < st->n; i++) {
		v[3] += !(st->msgs[i].flags & IMAP_FLAG_SEEN);
		v[5] += st->msgs[i].size;
		v[6] += (st->msgs[i].flags & IMAP_FLAG_DELETED) != 0;
	}
	evbuffer_add_printf(out, "* STATUS %s (", quoted);
	for (size_t i = 0; i < IMAP_STATUS_N; i++) {
		if (items & (1u << i)) {
			evbuffer_add_printf(out, "%s%s %llu", sep, imap_status_names[i],
					    (unsigned long long)v[i]);
			sep = " ";
		}
	}
	evbuffer_add(out, ")\r\n", 3);
}

/* imap_folder_status_work - scan the folder and answer its STATUS. */
static void imap_folder_status_work(struct imap_folder_job *j)
{
	struct imap_folder_state st;
	char error[256], quoted[IMAP_FOLDER_NAME_MAX * 2 + 8];
	struct stat sb;
	char cur[IMAP_FOLDER_PATH_MAX + 8];

	snprintf(cur, sizeof(cur), "%s/cur", j->dir);
	if (stat(cur, &sb) < 0) {
		snprintf(j->reply, sizeof(j->reply), "NO [NONEXISTENT] Mailbox does not exist");
		return;
	}
	if (imap_mailbox_scan(j->home, j->dir, &st, error, sizeof(error)) < 0 ||
	    imap_folder_job_quote(j, j->name, quoted, sizeof(quoted)) < 0) {
		snprintf(j->reply, sizeof(j->reply), "NO [UNAVAILABLE] Cannot read the mailbox");
		imap_folder_state_clear(&st);
		return;
	}
	imap_folder_status_line(j->out, quoted, j->opts, &st);
	imap_folder_state_clear(&st);
	snprintf(j->reply, sizeof(j->reply), "OK STATUS completed");
}

/* imap_folder_status_items - the bits of a STATUS item list; 0 when malformed. */
unsigned imap_folder_status_items(const struct imap_arg *list)
{
	unsigned items = 0;

	if (list->type != IMAP_ARG_LIST || list->u.list.count == 0)
		return 0;
	for (size_t i = 0; i < list->u.list.count; i++) {
		const struct imap_arg *a = &list->u.list.args[i];
		size_t k = 0;

		while (k < IMAP_STATUS_N &&
		       (a->type != IMAP_ARG_ATOM || strcasecmp(a->u.str.data, imap_status_names[k]) != 0))
			k++;
		if (k == IMAP_STATUS_N)
			return 0;
		items |= 1u << k;
	}
	return items;
}

void imap_folder_status(struct imap_session *s, const struct imap_call *c)
{
	unsigned items = c->count == 2 ? imap_folder_status_items(&c->args[1]) : 0;
	struct imap_call c1 = *c;
	struct imap_folder_job *j;

	if (items == 0) {
		imap_bad(s, "STATUS needs a mailbox and a list of status items");
		return;
	}
	c1.count = 1;
	if ((j = imap_folder_arg(s, &c1, 1, imap_folder_status_work)) == NULL)
		return;
	j->opts = items;
	imap_folder_job_run(j);
}

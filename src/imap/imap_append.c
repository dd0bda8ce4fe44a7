/*
 * imap_append - APPEND with MULTIAPPEND (RFC 9051 6.3.12, RFC 3502) and
 * APPENDUID (RFC 4315). Each message literal streams from the socket
 * straight into a file in the folder's tmp/, with CRLF stored as LF (as
 * Dovecot and postern's delivery store mail); it is never held in memory.
 * A literal over smtp.max_message_size is refused with [TOOBIG] before a
 * byte of it is read. At the end of the command the files are made
 * durable with the store's next sync, then linked into cur/ with their
 * UIDs, and the OK waits for the sync after that (imap_submit_durable:
 * APPENDs of every session commit in groups, with the SMTP deliveries).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_add.h"
#include "imap/imap_date.h"
#include "imap/imap_flaglist.h"
#include "imap/imap_folder.h"
#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define IMAP_APPEND_MAX 1000 /* messages in one MULTIAPPEND */

struct imap_append {
	struct imap_session *s;
	char dir[IMAP_FOLDER_PATH_MAX];
	char *home, *host;
	struct imap_add_item items[IMAP_APPEND_MAX];
	struct imap_flaglist fl[IMAP_APPEND_MAX];
	size_t n;
	int fd;              /* the literal being written, -1 between literals */
	uint64_t remaining;  /* its bytes still to come */
	bool cr;             /* the last byte written was a CR held back */
	int err;             /* a write failed: the rest is read and dropped */
	uint32_t uidvalidity;
	char *error;
};

static unsigned long imap_append_seq;

/* imap_append_unlink - remove the tmp/ files (after linking, or when aborted). */
static void imap_append_unlink(struct imap_append *a)
{
	for (size_t i = 0; i < a->n; i++) {
		unlink(a->items[i].src);
		free((char *)a->items[i].src);
		imap_flaglist_clear(&a->fl[i]);
	}
	a->n = 0;
}

/* imap_append_free - close and remove everything. */
static void imap_append_free(struct imap_append *a)
{
	if (a->fd >= 0)
		close(a->fd);
	imap_append_unlink(a);
	free(a->home);
	free(a->host);
	free(a->error);
	free(a);
}

void imap_append_abort(struct imap_session *s)
{
	if (s->append != NULL) {
		imap_append_free(s->append);
		s->append = NULL;
	}
}

/* imap_append_refuse - NO the command now and let the parser skip or forget the literal. */
static void imap_append_refuse(struct imap_session *s, const char *text)
{
	imap_append_abort(s);
	imap_tagged(s, "NO %s", text);
	imap_parser_literal_refuse(s->parser);
}

/* imap_append_begin - the first literal: the target folder must exist. */
static struct imap_append *imap_append_begin(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_append *a;
	char name[IMAP_FOLDER_NAME_MAX], cur[IMAP_FOLDER_PATH_MAX + 8];
	const char *error;
	struct stat st;

	a = xcalloc(1, sizeof(*a));
	a->s = s;
	a->fd = -1;
	if (cmd->count < 1 ||
	    imap_folder_resolve(s, &cmd->args[0], name, sizeof(name), a->dir, sizeof(a->dir),
				&error) < 0 ||
	    snprintf(cur, sizeof(cur), "%s/cur", a->dir) >= (int)sizeof(cur) || stat(cur, &st) < 0) {
		free(a);
		imap_append_refuse(s, "[TRYCREATE] Mailbox does not exist");
		return NULL;
	}
	a->home = xstrdup(s->home);
	a->host = xstrdup(s->hostname);
	return a;
}

/* imap_append_options - the flag list and date before message n's literal; -1 if malformed. */
static int imap_append_options(struct imap_append *a, const struct imap_command *cmd)
{
	size_t start = cmd->count;
	const char *error;
	time_t t;
	int tz;

	while (start > 1 && cmd->args[start - 1].type != IMAP_ARG_LITERAL_SIZE)
		start--; /* the options since the mailbox name or the last message */
	a->items[a->n].mtime = -1;
	if (cmd->count - start > 2)
		return -1;
	for (size_t i = start; i < cmd->count; i++) {
		const struct imap_arg *o = &cmd->args[i];

		if (o->type == IMAP_ARG_LIST && i == start) {
			if (imap_flaglist_parse(o, 1, &a->fl[a->n], &error) < 0)
				return -1;
		} else if (imap_arg_is_string(o) &&
			   imap_date_parse_datetime(o->u.str.data, o->u.str.len, &t, &tz, &error) == 0) {
			a->items[a->n].mtime = (int64_t)t;
		} else {
			return -1;
		}
	}
	return 0;
}

/* imap_append_open - a new file in the folder's tmp/ for the next literal. */
static int imap_append_open(struct imap_append *a)
{
	char path[IMAP_FOLDER_PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/tmp/%ld.P%ldQ%lu.imap-append", a->dir, (long)time(NULL),
		 (long)getpid(), imap_append_seq++);
	a->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (a->fd < 0)
		return -1;
	a->items[a->n].src = xstrdup(path);
	return 0;
}

void imap_append_literal(struct imap_session *s)
{
	struct imap_command cmd;
	uint64_t size;
	bool sync;

	imap_parser_partial(s->parser, &cmd);
	imap_parser_literal(s->parser, &size, &sync);
	snprintf(s->tag, sizeof(s->tag), "%s", cmd.tag != NULL ? cmd.tag : "*");
	if (!(s->state & (IMAP_S_AUTH | IMAP_S_SELECTED))) {
		imap_append_refuse(s, "APPEND is not valid before login");
		return;
	}
	if (size > s->max_message_size) {
		imap_append_refuse(s, "[TOOBIG] Message too large");
		return;
	}
	if (s->append == NULL && (s->append = imap_append_begin(s, &cmd)) == NULL)
		return;
	if (s->append->n == IMAP_APPEND_MAX || imap_append_options(s->append, &cmd) < 0) {
		imap_append_refuse(s, s->append->n == IMAP_APPEND_MAX ? "[LIMIT] Too many messages"
								      : "Invalid flags or date");
		return;
	}
	if (imap_append_open(s->append) < 0) {
		log_err("%08x imap append: %s: %s", s->id, s->append->dir, strerror(errno));
		imap_append_refuse(s, "[SERVERBUG] Cannot store the message");
		return;
	}
	s->append->remaining = size;
	s->append->cr = false;
	s->mode = IMAP_M_LITERAL;
	if (sync)
		imap_reply(s, "+ Ready for literal data");
}

/* imap_append_write - write buf to the file with CRLF as LF; counts sizes. */
static void imap_append_write(struct imap_append *a, const char *buf, size_t len)
{
	struct imap_add_item *it = &a->items[a->n];
	char out[16384 + 1];
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (a->cr && buf[i] != '\n')
			out[o++] = '\r'; /* a CR not before LF is kept */
		a->cr = buf[i] == '\r';
		if (!a->cr)
			out[o++] = buf[i];
		it->wire_size += buf[i] == '\n'; /* each stored LF is CRLF on the wire */
	}
	if (a->err == 0 && o > 0 && write(a->fd, out, o) != (ssize_t)o)
		a->err = errno ? errno : EIO;
	it->stored_size += o;
}

/* imap_append_end - the literal's last byte: the file is complete. */
static void imap_append_end(struct imap_session *s)
{
	struct imap_append *a = s->append;
	struct imap_add_item *it = &a->items[a->n];

	if (a->cr && a->err == 0 && write(a->fd, "\r", 1) != 1)
		a->err = errno ? errno : EIO;
	it->stored_size += a->cr;
	it->wire_size += it->stored_size;
	it->flags = a->fl[a->n].flags;
	memcpy(it->keywords, a->fl[a->n].keywords, sizeof(char *) * a->fl[a->n].nkeywords);
	close(a->fd);
	a->fd = -1;
	a->n++;
	s->mode = IMAP_M_COMMANDS;
	imap_parser_literal_done(s->parser);
}

bool imap_append_feed(struct imap_session *s)
{
	struct imap_append *a = s->append;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	char buf[16384];
	size_t want = evbuffer_get_length(in);

	if (want > sizeof(buf))
		want = sizeof(buf);
	if ((uint64_t)want > a->remaining)
		want = (size_t)a->remaining;
	if (want == 0 && a->remaining > 0)
		return false;
	evbuffer_remove(in, buf, want);
	imap_append_write(a, buf, want);
	a->remaining -= want;
	if (a->remaining == 0)
		imap_append_end(s);
	return true;
}

/* imap_append_work - the files durable: linked into cur/, their UIDs (1: the lock is busy). */
static int imap_append_work(void *arg, bool wait)
{
	struct imap_append *a = arg;

	return imap_add_messages(a->home, a->dir, a->host, a->items, a->n, wait, &a->uidvalidity,
				 &a->error) == 1;
}

/* imap_append_done_cb - on the loop, the links durable: APPENDUID, or NO. */
static void imap_append_done_cb(void *arg, int err)
{
	struct imap_append *a = arg;
	struct imap_session *s = a->s;

	if (err != 0 && a->error == NULL)
		a->error = xasprintf("sync: %s", strerror(err));
	if (imap_wait_done(s)) {
		if (a->error != NULL) {
			log_err("%08x imap append: %s", s->id, a->error);
			imap_tagged(s, "NO [SERVERBUG] Cannot store the message");
		} else {
			char uids[64];

			snprintf(uids, sizeof(uids), "%u", a->items[0].uid);
			if (a->n > 1)
				snprintf(uids, sizeof(uids), "%u:%u", a->items[0].uid, a->items[a->n - 1].uid);
			imap_tagged(s, "OK [APPENDUID %u %s] APPEND completed", a->uidvalidity, uids);
		}
		imap_resume(s);
	}
	imap_append_free(a);
}

void imap_append_cmd(struct imap_session *s, const struct imap_call *c)
{
	struct imap_append *a = s->append;

	s->append = NULL;
	if (a == NULL || c->count < 2 || c->args[c->count - 1].type != IMAP_ARG_LITERAL_SIZE) {
		if (a != NULL)
			imap_append_free(a);
		imap_bad(s, "APPEND needs a mailbox and a message literal");
		return;
	}
	if (a->err != 0) {
		log_err("%08x imap append: write: %s", s->id, strerror(a->err));
		imap_append_free(a);
		imap_tagged(s, "NO [SERVERBUG] Cannot store the message");
		return;
	}
	imap_busy(s);
	s->waiting = true;
	imap_submit_durable(s, true, imap_append_work, NULL, imap_append_done_cb, a);
}

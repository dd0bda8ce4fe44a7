/*
 * pop3_retr - multi-line responses produced as the client reads them:
 * RETR and TOP stream the file in chunks through pop3_dotstuff, LIST and
 * UIDL emit their lines in slices, so neither a big message nor a big
 * mailbox is ever put into the output buffer whole.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pop3/pop3_dotstuff.h"
#include "pop3/pop3_internal.h"
#include "util/log.h"
#include "util/xalloc.h"

#define POP3_READ_CHUNK (64 * 1024)
#define POP3_LIST_SLICE 512 /* listing lines per pump step */

struct pop3_stream {
	int fd;       /* RETR / TOP: the message; -1 for a listing */
	size_t index; /* the message, or the listing's next message */
	size_t left;  /* RETR / TOP: octets still to read by the name's S=, or POP3_SIZE_UNKNOWN */
	bool uidl;
	struct pop3_dotstuff stuff;
};

/*
 * The read buffer of every stream on a loop thread: pop3_stream_file is done
 * with it when it returns (dot-stuffing copies all it keeps into the
 * output), so one per thread is enough and no RETR allocates (and faults
 * in) 64 KB.
 */
static _Thread_local char pop3_stream_in[POP3_READ_CHUNK];

void pop3_stream_free(struct pop3_stream **stp)
{
	struct pop3_stream *st = *stp;

	if (st == NULL)
		return;
	if (st->fd >= 0)
		close(st->fd);
	free(st);
	*stp = NULL;
}

/*
 * pop3_stream_at_size - after a read of n octets (want asked): the end, by
 * the name's S=? Only when one octet more than S= leaves was asked for and
 * exactly S= came; a file that turns out longer is read to its end.
 */
static bool pop3_stream_at_size(struct pop3_stream *st, size_t want, size_t n)
{
	if (st->left == POP3_SIZE_UNKNOWN)
		return false;
	if (n > st->left) {
		st->left = POP3_SIZE_UNKNOWN;
		return false;
	}
	bool end = n == st->left && want > st->left;
	st->left -= n;
	return end;
}

/* pop3_stream_file - one chunk of the message; 1 at the end, 0 more to come, -1 read error. */
static int pop3_stream_file(struct pop3_session *s, struct pop3_stream *st, struct evbuffer *out)
{
	struct evbuffer_iovec vec;
	size_t want = st->left < sizeof(pop3_stream_in) ? st->left + 1 : sizeof(pop3_stream_in);
	ssize_t n = st->stuff.done ? 0 : read(st->fd, pop3_stream_in, want);
	size_t out_len = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (evbuffer_reserve_space(out, POP3_DOTSTUFF_ROOM((size_t)n) + POP3_DOTSTUFF_END_ROOM,
				   &vec, 1) < 1)
		fatal("evbuffer_reserve_space failed");
	/* Not a short read: on NFS that need not be the end. The S= size saves the read of the EOF. */
	bool end = n == 0 || st->stuff.done || pop3_stream_at_size(st, want, (size_t)n);

	pop3_dotstuff_feed(&st->stuff, pop3_stream_in, (size_t)n, vec.iov_base, &out_len);
	if (end)
		out_len += pop3_dotstuff_end(&st->stuff, (char *)vec.iov_base + out_len);
	vec.iov_len = out_len;
	evbuffer_commit_space(out, &vec, 1);
	s->bytes_retr += out_len;
	return end;
}

/* pop3_stream_lines - a slice of the LIST or UIDL lines; 1 after the final ".". */
static int pop3_stream_lines(struct pop3_session *s, struct pop3_stream *st, struct evbuffer *out)
{
	const struct pop3_maildrop *md = s->md;

	for (size_t k = 0; k < POP3_LIST_SLICE && st->index < md->n; k++, st->index++) {
		const struct pop3_msg *m = &md->msgs[st->index];
		if (m->deleted)
			continue;
		if (st->uidl)
			evbuffer_add_printf(out, "%zu %s\r\n", st->index + 1, m->uid);
		else
			evbuffer_add_printf(out, "%zu %zu\r\n", st->index + 1, m->size);
	}
	if (st->index < md->n)
		return 0;
	evbuffer_add(out, ".\r\n", 3);
	return 1;
}

void pop3_stream_pump(struct pop3_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct pop3_stream *st = s->stream;
	int rc = 0;

	while (rc == 0 && evbuffer_get_length(out) <= POP3_OUTPUT_MAX)
		rc = st->fd >= 0 ? pop3_stream_file(s, st, out) : pop3_stream_lines(s, st, out);
	if (rc == 0)
		return; /* pop3_session_write_cb calls again */
	if (rc < 0) {
		/* a multi-line response cannot turn into -ERR halfway: drop the client */
		log_err("%08x pop3 read failed ip=%s: %s", s->id, s->ip, strerror(errno));
		pop3_stream_free(&s->stream);
		pop3_close(s);
		return;
	}
	pop3_stream_free(&s->stream);
	pop3_resume(s, POP3_S_TRANS);
}

int pop3_stream_message(struct pop3_session *s, size_t i, bool top, unsigned long lines)
{
	int fd = pop3_maildrop_msg_open(s->md, i);
	struct pop3_stream *st;

	if (fd < 0) {
		log_err("%08x pop3 cannot open message %s: %s", s->id, s->md->msgs[i].name,
			strerror(errno));
		if (errno == ENOENT)
			pop3_reply(s, "-ERR Message %zu is no longer there", i + 1);
		else
			pop3_reply(s, "-ERR [SYS/TEMP] Cannot read message %zu", i + 1);
		return -1;
	}
	st = xcalloc(1, sizeof(*st));
	st->fd = fd;
	st->index = i;
	st->left = s->md->msgs[i].stored;
	pop3_dotstuff_init(&st->stuff, top, lines);
	if (top)
		pop3_reply(s, "+OK Top of message %zu follows", i + 1);
	else
		pop3_reply(s, "+OK %zu octets", s->md->msgs[i].size);
	s->stream = st;
	pop3_set_state(s, POP3_S_STREAM);
	pop3_stream_pump(s);
	return 0;
}

void pop3_stream_listing(struct pop3_session *s, bool uidl)
{
	struct pop3_stream *st = xcalloc(1, sizeof(*st));

	st->fd = -1;
	st->uidl = uidl;
	s->stream = st;
	pop3_set_state(s, POP3_S_STREAM);
	pop3_stream_pump(s);
}

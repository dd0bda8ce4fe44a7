/* imap_session - connection I/O: the parser fed from the socket, answers, timeouts, waiting, close. */
#include "imap/imap_session.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "imap/imap_compress.h"
#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "daemon/directout.h"
#include "daemon/loops.h"
#include "metrics/metrics.h"
#include "tls/tls.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* Before login a client may make the server hold little (RFC 9051 11.1). */
static const struct imap_parser_limits imap_limits_noauth = {
	.line_max = 8192, .literal_max = 8192, .total_max = 16384, .depth_max = 4, .args_max = 16,
};

static void imap_session_drain(struct imap_session *s);

/* imap_vline - append prefix, the formatted text and CRLF to the output. */
static void imap_vline(struct imap_session *s, const char *prefix, const char *fmt, va_list ap)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (prefix != NULL)
		evbuffer_add_printf(out, "%s ", prefix);
	evbuffer_add_vprintf(out, fmt, ap);
	evbuffer_add(out, "\r\n", 2);
}

void imap_reply(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_vline(s, NULL, fmt, ap);
	va_end(ap);
}

void imap_tagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_vline(s, s->tag[0] ? s->tag : "*", fmt, ap);
	va_end(ap);
	s->tag[0] = '\0';
}

void imap_bad(struct imap_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;

	if (s->errors < UINT8_MAX)
		s->errors++;
	evbuffer_add_printf(out, "%s BAD ", s->tag[0] ? s->tag : "*");
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	s->tag[0] = '\0';
}

void imap_set_state(struct imap_session *s, enum imap_state state)
{
	s->state = (uint8_t)state;
}

void imap_session_wipe(char **p)
{
	if (*p != NULL) {
		OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

static void imap_session_setup(struct imap_session *s);

/* imap_session_unwrap - end DEFLATE: what it produced waits in the socket's own bufferevent. */
static void imap_session_unwrap(struct imap_session *s)
{
	struct bufferevent *under;

	if (!s->compressed)
		return;
	under = bufferevent_get_underlying(s->bev);
	bufferevent_flush(s->bev, EV_WRITE, BEV_FLUSH);
	bufferevent_free(s->bev);
	s->bev = under;
	s->compressed = false;
	imap_session_setup(s);
}

/* imap_session_free - tear the session down: socket, mailbox, APPEND file, list entry. */
static void imap_session_free(struct imap_session *s)
{
	log_info("%08x imap disconnect ip=%s", s->id, s->ip);
	imap_append_abort(s);
	imap_stream_free(&s->stream);
	imap_mailbox_close(&s->mbox);
	imap_idle_stop(s);
	if (s->delay != NULL)
		event_free(s->delay);
	imap_session_unwrap(s);
	directout_free(&s->out);
	bufferevent_free(s->bev);
	if (s->loop != NULL)
		daemon_loop_release(s->loop, &s->conn);
	else
		daemon_conn_remove(s->daemon, &s->conn);
	imap_parser_free(&s->parser);
	free(s->user);
	free(s->home);
	free(s->hostname);
	imap_session_wipe(&s->sasl_data);
	free(s);
}

/* imap_session_end - the last answer left: free now, or when the worker holding s answers. */
static void imap_session_end(struct imap_session *s)
{
	if (s->waiting) {
		s->gone = true; /* imap_wait_done frees it */
		directout_gone(&s->out, s->bev);
		return;
	}
	imap_session_free(s);
}

void imap_close(struct imap_session *s)
{
	imap_idle_stop(s); /* no new scan may start from here */
	imap_session_unwrap(s); /* the last answers are compressed already */
	imap_set_state(s, IMAP_S_LOGOUT);
	bufferevent_disable(s->bev, EV_READ);
	if (!s->draining && evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		imap_session_end(s);
}

void imap_busy(struct imap_session *s)
{
	s->mode = IMAP_M_BUSY;
}

void imap_resume(struct imap_session *s)
{
	s->mode = IMAP_M_COMMANDS;
	if (atomic_load(&s->daemon->stopping)) {
		imap_reply(s, "* BYE [UNAVAILABLE] Server shutting down");
		imap_close(s);
		return;
	}
	bufferevent_enable(s->bev, EV_READ); /* the client's silence counts from here */
	if (!s->draining)
		imap_session_drain(s);
}

bool imap_wait_done(struct imap_session *s)
{
	s->waiting = false;
	if (s->gone) {
		imap_session_free(s);
		return false;
	}
	return true;
}

/* imap_session_parse_error - the parser refused a command: BAD, or BYE when it was huge. */
static void imap_session_parse_error(struct imap_session *s)
{
	struct imap_parse_error e;

	imap_parser_error(s->parser, &e);
	if (e.tag != NULL && strlen(e.tag) <= IMAP_TAG_MAX)
		snprintf(s->tag, sizeof(s->tag), "%s", e.tag);
	else
		s->tag[0] = '\0';
	imap_bad(s, "%s%s", e.toobig ? "[TOOBIG] " : "", e.text);
}

/* imap_session_command - a whole command from the parser: run it, then forget it. */
static void imap_session_command(struct imap_session *s)
{
	struct imap_command cmd;

	imap_parser_command(s->parser, &cmd);
	if (cmd.tag == NULL || strlen(cmd.tag) > IMAP_TAG_MAX) {
		s->tag[0] = '\0';
		imap_bad(s, "Invalid tag");
	} else {
		snprintf(s->tag, sizeof(s->tag), "%s", cmd.tag);
		imap_dispatch(s, &cmd);
	}
	imap_parser_reset(s->parser);
}

/* imap_session_parse - feed the first chunk of input to the parser; false when there is none. */
static bool imap_session_parse(struct imap_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec v;
	size_t used = 0;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
		return false;
	enum imap_parse_result r = imap_parser_feed(s->parser, v.iov_base, v.iov_len, &used);

	evbuffer_drain(in, used);
	if (r == IMAP_PARSE_CONTINUE)
		imap_reply(s, "+ Ready for literal data");
	else if (r == IMAP_PARSE_LITERAL)
		imap_append_literal(s);
	else if (r == IMAP_PARSE_ERROR)
		imap_session_parse_error(s);
	else if (r == IMAP_PARSE_DONE)
		imap_session_command(s);
	return true;
}

/* imap_session_line - one CRLF line for AUTHENTICATE or IDLE; false when none is complete. */
static bool imap_session_line(struct imap_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t avail = evbuffer_get_length(in), want = avail < IMAP_SASL_LINE_MAX ? avail : IMAP_SASL_LINE_MAX;
	char *buf = (char *)evbuffer_pullup(in, (ev_ssize_t)want);
	char *lf = buf != NULL ? memchr(buf, '\n', want) : NULL;

	if (lf == NULL) {
		if (avail < IMAP_SASL_LINE_MAX)
			return false;
		s->skipping_sasl = true; /* answered as a bad line once it ends */
		evbuffer_drain(in, want);
		return true;
	}
	size_t len = (size_t)(lf - buf);
	bool crlf = len > 0 && buf[len - 1] == '\r', bad = !crlf || s->skipping_sasl;
	char line[IMAP_SASL_LINE_MAX];

	if (crlf)
		memcpy(line, buf, len - 1);
	OPENSSL_cleanse(buf, len); /* it may hold a password */
	evbuffer_drain(in, len + 1);
	s->skipping_sasl = false;
	if (s->mode == IMAP_M_SASL)
		imap_sasl_line(s, bad ? NULL : line, bad ? 0 : len - 1);
	else
		imap_idle_line(s, bad ? NULL : line, bad ? 0 : len - 1);
	OPENSSL_cleanse(line, sizeof(line));
	return true;
}

/* imap_session_step - one unit of input work for the mode; false when the input ran out. */
static bool imap_session_step(struct imap_session *s)
{
	switch (s->mode) {
	case IMAP_M_SASL:
	case IMAP_M_IDLE:
		return imap_session_line(s);
	case IMAP_M_LITERAL:
		return imap_append_feed(s);
	default:
		return imap_session_parse(s);
	}
}

/* imap_session_drain - process buffered input until it runs out or the session must wait. */
static void imap_session_drain(struct imap_session *s)
{
	s->draining = true; /* s->bev may change below: STARTTLS, COMPRESS, LOGOUT's unwrap */
	while (s->state != IMAP_S_LOGOUT && s->mode != IMAP_M_BUSY && s->mode != IMAP_M_STREAM) {
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > IMAP_OUTPUT_MAX) {
			s->paused = true; /* resumed by imap_session_write_cb */
			break;
		}
		if (s->errors >= IMAP_MAX_ERRORS) {
			log_info("%08x imap too many errors ip=%s", s->id, s->ip);
			imap_reply(s, "* BYE Too many invalid commands");
			imap_close(s);
			break;
		}
		if (!imap_session_step(s))
			break;
	}
	s->draining = false;
	if (s->state == IMAP_S_LOGOUT && evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		imap_session_end(s);
}

/* imap_session_read_cb - input arrived. */
static void imap_session_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	imap_session_drain(arg);
}

/* imap_session_write_cb - output went below the low-water mark: close, stream on, or resume. */
static void imap_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct imap_session *s = arg;

	directout_written(s->out);
	if (s->state == IMAP_S_LOGOUT) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 && !s->gone)
			imap_session_end(s);
	} else if (s->mode == IMAP_M_STREAM) {
		imap_stream_pump(s);
	} else if (s->paused) {
		s->paused = false;
		imap_session_drain(s);
	}
}

/* imap_session_event_cb - EOF, error or timeout. */
static void imap_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct imap_session *s = arg;

	(void)bev;
	if (what == BEV_EVENT_CONNECTED) /* the TLS handshake is done */
		return;
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
		log_info("%08x imap write timeout ip=%s", s->id, s->ip);
	} else if ((what & BEV_EVENT_TIMEOUT) && (s->waiting || s->mode == IMAP_M_BUSY)) {
		return; /* the client waits for us: not its silence */
	} else if ((what & BEV_EVENT_TIMEOUT) && s->state != IMAP_S_LOGOUT) {
		log_info("%08x imap timeout ip=%s", s->id, s->ip);
		imap_reply(s, "* BYE Disconnected for inactivity");
		imap_close(s);
		return;
	}
	if (s->waiting) {
		s->gone = true; /* freed when the worker or the hook answers */
		directout_gone(&s->out, s->bev);
		return;
	}
	imap_session_free(s);
}

/* imap_session_abort - shutdown grace over: free now, or when the worker or hook answers. */
static void imap_session_abort(struct daemon_conn *conn)
{
	struct imap_session *s = (struct imap_session *)conn;

	if (s->waiting) {
		s->gone = true;
		directout_gone(&s->out, s->bev);
		return;
	}
	imap_session_free(s);
}

/* imap_session_stop - daemon shutdown: BYE now, or as soon as the pending answer comes. */
static void imap_session_stop(struct daemon_conn *conn)
{
	struct imap_session *s = (struct imap_session *)conn;

	if (s->state == IMAP_S_LOGOUT || s->waiting)
		return; /* imap_resume closes it after the answer */
	if (s->mode == IMAP_M_BUSY && s->delay != NULL) {
		event_active(s->delay, EV_TIMEOUT, 0); /* the failed-login delay ends now */
		return;
	}
	imap_reply(s, "* BYE [UNAVAILABLE] Server shutting down");
	imap_close(s);
}

/* imap_session_setup - callbacks, limits and timeouts of the session's bufferevent. */
static void imap_session_setup(struct imap_session *s)
{
	struct timeval tv = { .tv_sec = s->timeout, .tv_usec = 0 };
	bool direct = !s->tls && !s->compressed;

	bufferevent_setcb(s->bev, imap_session_read_cb, imap_session_write_cb, imap_session_event_cb,
			  s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, IMAP_INPUT_MAX);
	bufferevent_setwatermark(s->bev, EV_WRITE, IMAP_OUTPUT_MAX / 4, 0);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, direct ? EV_READ : EV_READ | EV_WRITE);
	if (direct)
		s->out = directout_new(s->bev);
}

int imap_start_tls(struct imap_session *s)
{
	directout_release(&s->out);
	struct bufferevent *bev = tls_bev_starttls(s->bev, s->daemon->tls);

	if (bev == NULL)
		return -1;
	s->bev = bev;
	s->tls = true;
	imap_session_setup(s);
	s->plaintext_ok = true;
	imap_parser_reset(s->parser); /* RFC 9051 6.2.1: nothing sent before TLS counts */
	log_info("%08x imap starttls ip=%s", s->id, s->ip);
	return 0;
}

int imap_start_compress(struct imap_session *s)
{
	directout_release(&s->out); /* the filter writes into the socket's bufferevent now */
	struct bufferevent *under = s->bev, *bev = imap_compress_wrap(under);

	if (bev == NULL)
		return -1;
	s->bev = bev;
	s->compressed = true;
	imap_session_setup(s);
	if (evbuffer_get_length(bufferevent_get_input(under)) > 0) /* pipelined after COMPRESS */
		bufferevent_trigger(under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
	log_info("%08x imap compress ip=%s", s->id, s->ip);
	return 0;
}

struct event_base *imap_base(const struct imap_session *s)
{
	return s->loop != NULL ? daemon_loop_base(s->loop) : s->daemon->base;
}

/* A worker's answer on its way back to a session that lives on a loop thread. */
struct imap_session_hop {
	struct daemon_loop *loop;
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

/* imap_session_hop_work - on a worker: the real work. */
static void imap_session_hop_work(void *p)
{
	struct imap_session_hop *h = p;

	h->work(h->arg);
}

/* imap_session_hop_done - on the daemon's loop: on to the session's loop thread. */
static void imap_session_hop_done(void *p)
{
	struct imap_session_hop *h = p;

	daemon_loop_post(h->loop, h->done, h->arg);
	free(h);
}

void imap_submit(struct imap_session *s, void (*work)(void *arg), void (*done)(void *arg),
		 void *arg)
{
	struct imap_session_hop *h;

	if (s->loop == NULL) {
		workq_submit(s->daemon->io, work, done, arg);
		return;
	}
	h = xmalloc(sizeof(*h));
	h->loop = s->loop;
	h->work = work;
	h->done = done;
	h->arg = arg;
	workq_submit(s->daemon->io, imap_session_hop_work, imap_session_hop_done, h);
}

/* imap_session_arrive_cb - on the session's loop thread: a new bufferevent, and on with the input. */
static void imap_session_arrive_cb(void *arg)
{
	struct imap_session *s = arg;

	s->bev = daemon_move_in(s->loop, &s->move);
	imap_session_setup(s);
	daemon_loop_adopt(s->loop, &s->conn);
	if (atomic_load(&s->daemon->stopping))
		imap_session_stop(&s->conn); /* SIGTERM came while it moved */
	else
		imap_resume(s);
}

/*
 * imap_enter_auth - what a logged-in session does is its own (its Maildir,
 * its socket): a plaintext one moves to the loop thread with the fewest
 * connections, with what it read and did not send. A TLS session stays,
 * as POP3's do (pop3_enter_trans: libevent frees an OpenSSL bufferevent
 * later, on its own loop, so its SSL cannot go to another thread).
 */
void imap_enter_auth(struct imap_session *s)
{
	struct daemon_loop *l = s->tls ? NULL : daemon_loop_pick(s->daemon);

	if (l == NULL || atomic_load(&s->daemon->stopping)) {
		imap_resume(s);
		return;
	}
	directout_free(&s->out);
	daemon_move_out(&s->bev, &s->move);
	daemon_conn_detach(&s->conn);
	s->loop = l;
	s->mode = IMAP_M_BUSY; /* nothing is read before it arrives */
	daemon_loop_post(l, imap_session_arrive_cb, s);
}

/* imap_session_open - a new session on fd, TLS from the first byte when tls. */
static void imap_session_open(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			      bool tls)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	char caps[512];
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->daemon = d;
	s->conn.stop = imap_session_stop;
	s->conn.abort = imap_session_abort;
	s->id = daemon_conn_add(d, &s->conn);
	s->timeout = d->cfg->imap_timeout;
	s->tls = s->imaps = tls;
	s->loopback = daemon_peer(sa, s->ip, sizeof(s->ip));
	s->plaintext_ok = daemon_plaintext_ok(d->cfg, s->loopback, tls);
	s->parser = imap_parser_new(&imap_limits_noauth);
	s->bev = tls_bev_new(d->base, tls ? d->tls : NULL, fd);
	imap_session_setup(s);
	imap_set_state(s, IMAP_S_NOAUTH);
	log_info("%08x imap connect ip=%s%s", s->id, s->ip, tls ? " tls" : "");
	imap_reply(s, "* OK [CAPABILITY %s] postern IMAP server ready",
		   imap_capabilities(s, caps, sizeof(caps)));
}

void imap_session_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			socklen_t salen)
{
	(void)salen;
	imap_session_open(d, fd, sa, false);
}

void imaps_session_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			 socklen_t salen)
{
	(void)salen;
	imap_session_open(d, fd, sa, true);
}

/* pop3_session - connection I/O: lines, replies, timeouts, waiting, close. */
#include "pop3/pop3_session.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth/accounts.h"
#include "auth/auth_verify.h"
#include "daemon/directout.h"
#include "daemon/loops.h"
#include "pop3/pop3_internal.h"
#include "tls/tls.h"
#include "util/log.h"
#include "util/xalloc.h"

static void pop3_session_drain(struct pop3_session *s);

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

void pop3_error(struct pop3_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;

	if (s->errors < UINT8_MAX)
		s->errors++;
	evbuffer_add(out, "-ERR ", 5);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

void pop3_set_state(struct pop3_session *s, enum pop3_state state)
{
	s->state = (uint8_t)state;
}

/* pop3_wipe_free - wipe a secret string and free it. */
static void pop3_wipe_free(char **p)
{
	if (*p != NULL) {
		OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

/* pop3_session_free - tear the session down: socket, maildrop (and its lock), list entry. */
static void pop3_session_free(struct pop3_session *s)
{
	log_info("%08x pop3 disconnect ip=%s retr=%lu bytes=%zu", s->id, s->ip, s->n_retr,
		 s->bytes_retr);
	pop3_stream_free(&s->stream);
	pop3_maildrop_close(&s->md);
	if (s->delay != NULL)
		event_free(s->delay);
	directout_free(&s->out);
	bufferevent_free(s->bev);
	if (s->loop != NULL)
		daemon_loop_release(s->loop, &s->conn);
	else
		daemon_conn_remove(s->daemon, &s->conn);
	free(s->user);
	pop3_wipe_free(&s->sasl_data);
	free(s);
}

void pop3_close(struct pop3_session *s)
{
	pop3_set_state(s, POP3_S_CLOSING);
	bufferevent_disable(s->bev, EV_READ);
	if (!s->draining && evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		pop3_session_free(s);
}

void pop3_resume(struct pop3_session *s, enum pop3_state state)
{
	pop3_set_state(s, state);
	if (s->daemon->stopping) {
		pop3_close(s);
		return;
	}
	bufferevent_enable(s->bev, EV_READ); /* the client's silence counts from here */
	if (!s->draining)
		pop3_session_drain(s);
}

bool pop3_wait_done(struct pop3_session *s)
{
	s->waiting = false;
	if (s->gone) {
		pop3_session_free(s);
		return false;
	}
	return true;
}

/* pop3_session_bad_line - an overlong or bare-LF line: -ERR, and any AUTH exchange ends. */
static void pop3_session_bad_line(struct pop3_session *s, const char *why)
{
	if (s->state == POP3_S_SASL) {
		pop3_wipe_free(&s->sasl_data);
		pop3_set_state(s, POP3_S_AUTH);
	}
	pop3_error(s, "%s", why);
}

/* pop3_session_handle - one complete line (without CRLF) to the dispatcher or the AUTH exchange. */
static void pop3_session_handle(struct pop3_session *s, char *line, size_t len)
{
	bool secret = s->state & (POP3_S_AUTH | POP3_S_USER | POP3_S_SASL);

	if (s->state == POP3_S_SASL)
		pop3_sasl_line(s, line, len);
	else
		pop3_dispatch(s, line, len);
	if (secret)
		OPENSSL_cleanse(line, len); /* it may have held a password */
}

/* pop3_session_line - take one CRLF line from the input; 1 done, 0 need more. */
static int pop3_session_line(struct pop3_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t max = s->state == POP3_S_SASL ? POP3_SASL_LINE_MAX : POP3_LINE_MAX;
	size_t avail = evbuffer_get_length(in), want = avail < max ? avail : max;
	char *buf = (char *)evbuffer_pullup(in, (ev_ssize_t)want);
	char *lf = buf != NULL ? memchr(buf, '\n', want) : NULL;

	if (lf == NULL) {
		if (avail < max && !s->skipping_line)
			return 0;
		if (!s->skipping_line)
			pop3_session_bad_line(s, "Line too long");
		s->skipping_line = true;
		evbuffer_drain(in, want);
		return want > 0;
	}
	size_t len = (size_t)(lf - buf);
	bool skipped = s->skipping_line, crlf = len > 0 && buf[len - 1] == '\r';
	char line[POP3_SASL_LINE_MAX];

	/* The line leaves the buffer before it runs: STLS swaps the bufferevent. */
	if (crlf)
		memcpy(line, buf, len - 1);
	if (s->state & (POP3_S_AUTH | POP3_S_USER | POP3_S_SASL))
		OPENSSL_cleanse(buf, len); /* it may hold a password */
	evbuffer_drain(in, len + 1);
	s->skipping_line = false;
	if (skipped)
		return 1;
	if (!crlf)
		pop3_session_bad_line(s, "Lines must end with CRLF");
	else
		pop3_session_handle(s, line, len - 1);
	return 1;
}

/* pop3_session_drain - process buffered input until it runs out or the session must wait. */
static void pop3_session_drain(struct pop3_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	s->draining = true;
	while (!(s->state & (POP3_S_BUSY | POP3_S_STREAM | POP3_S_CLOSING))) {
		if (evbuffer_get_length(out) > POP3_OUTPUT_MAX) {
			s->paused = true; /* resumed by pop3_session_write_cb */
			break;
		}
		if (s->errors >= POP3_MAX_ERRORS) {
			log_info("%08x pop3 too many errors ip=%s", s->id, s->ip);
			pop3_reply(s, "-ERR Too many errors, closing connection");
			pop3_close(s);
			break;
		}
		if (!pop3_session_line(s))
			break;
	}
	s->draining = false;
	if (s->state == POP3_S_CLOSING && evbuffer_get_length(out) == 0)
		pop3_session_free(s);
}

/* pop3_session_read_cb - input arrived. */
static void pop3_session_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	pop3_session_drain(arg);
}

/* pop3_session_write_cb - output went below the low-water mark: close, stream on, or resume. */
static void pop3_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct pop3_session *s = arg;

	directout_written(s->out);
	if (s->state == POP3_S_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			pop3_session_free(s);
	} else if (s->state == POP3_S_STREAM) {
		pop3_stream_pump(s);
	} else if (s->paused) {
		s->paused = false;
		pop3_session_drain(s);
	}
}

/* pop3_session_event_cb - EOF, error or timeout: nothing is deleted (no UPDATE). */
static void pop3_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pop3_session *s = arg;

	(void)bev;
	if (what == BEV_EVENT_CONNECTED) /* the TLS handshake is done */
		return;
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
		/* The client stopped reading: a reply would never leave, and writing is off now. */
		log_info("%08x pop3 write timeout ip=%s", s->id, s->ip);
	} else if ((what & BEV_EVENT_TIMEOUT) &&
		   (s->waiting || (s->state & (POP3_S_BUSY | POP3_S_STREAM)))) {
		/* The client waits for us (login check, maildrop, grant hook, a long RETR): not its silence. */
		return; /* reading resumes in pop3_resume */
	} else if ((what & BEV_EVENT_TIMEOUT) && s->state != POP3_S_CLOSING) {
		log_info("%08x pop3 timeout ip=%s", s->id, s->ip);
		pop3_reply(s, "-ERR Disconnected for inactivity");
		pop3_close(s);
		return;
	}
	if (s->waiting) {
		s->gone = true; /* freed when the worker or the hook answers */
		directout_gone(&s->out, s->bev);
		return;
	}
	pop3_session_free(s);
}

/* pop3_session_abort - shutdown grace over: free now, or when the worker or hook answers. */
static void pop3_session_abort(struct daemon_conn *conn)
{
	struct pop3_session *s = (struct pop3_session *)conn;

	if (s->waiting) {
		s->gone = true;
		directout_gone(&s->out, s->bev);
		return;
	}
	pop3_session_free(s);
}

/* pop3_session_stop - daemon shutdown: end now, or as soon as the pending answer comes. */
static void pop3_session_stop(struct daemon_conn *conn)
{
	struct pop3_session *s = (struct pop3_session *)conn;

	if (s->state == POP3_S_CLOSING || s->waiting)
		return; /* pop3_resume closes it after the answer */
	if (s->state == POP3_S_BUSY) {
		if (s->delay != NULL) /* not waiting for a worker: the failed-login delay ends now */
			event_active(s->delay, EV_TIMEOUT, 0);
		return;
	}
	if (s->state == POP3_S_STREAM) {
		pop3_session_free(s);
		return;
	}
	pop3_reply(s, "-ERR [SYS/TEMP] Server shutting down");
	pop3_close(s);
}

/* pop3_session_greet - the greeting, with an APOP timestamp when some account has a secret. */
static void pop3_session_greet(struct pop3_session *s)
{
	struct daemon *d = s->daemon;

	if (auth_have_secrets(d->auth, accounts_db(d->accounts)))
		snprintf(s->timestamp, sizeof(s->timestamp), "<%ld.%u.%lld@%.80s>", (long)getpid(),
			 s->id, (long long)time(NULL), d->cfg->hostname);
	pop3_reply(s, "+OK postern POP3 server ready%s%s", s->timestamp[0] ? " " : "",
		   s->timestamp);
}

/* pop3_session_setup - callbacks, limits and timeouts of the session's bufferevent. */
static void pop3_session_setup(struct pop3_session *s)
{
	struct timeval tv = { .tv_sec = s->timeout, .tv_usec = 0 };

	bufferevent_setcb(s->bev, pop3_session_read_cb, pop3_session_write_cb,
			  pop3_session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, POP3_INPUT_MAX);
	bufferevent_setwatermark(s->bev, EV_WRITE, POP3_OUTPUT_MAX / 4, 0);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, s->tls ? EV_READ | EV_WRITE : EV_READ);
	if (!s->tls)
		s->out = directout_new(s->bev);
}

int pop3_start_tls(struct pop3_session *s)
{
	directout_release(&s->out);
	struct bufferevent *bev = tls_bev_starttls(s->bev, s->daemon->tls);

	if (bev == NULL)
		return -1;
	s->bev = bev;
	s->tls = true;
	pop3_session_setup(s);
	s->plaintext_ok = true;
	free(s->user); /* RFC 2595 4: a USER given in clear does not carry over */
	s->user = NULL;
	pop3_set_state(s, POP3_S_AUTH);
	log_info("%08x pop3 stls ip=%s", s->id, s->ip);
	return 0;
}

/* pop3_session_arrive_cb - on the session's loop thread: a new bufferevent, and on with the input. */
static void pop3_session_arrive_cb(void *arg)
{
	struct pop3_session *s = arg;

	s->bev = daemon_move_in(s->loop, &s->move);
	pop3_session_setup(s);
	daemon_loop_adopt(s->loop, &s->conn);
	if (atomic_load(&s->daemon->stopping))
		pop3_session_stop(&s->conn); /* SIGTERM came while it moved */
	else
		pop3_resume(s, POP3_S_TRANS);
}

/*
 * pop3_enter_trans - what a session does in TRANSACTION is its own (its
 * maildrop, its files, its socket): a plaintext session moves to the loop
 * thread with the fewest connections, with what it has read and not yet
 * sent. A TLS session stays: libevent frees an OpenSSL bufferevent later,
 * on its own loop, closing whatever socket the SSL's BIO then holds, so its
 * SSL cannot safely be handed to a new bufferevent on another thread.
 */
void pop3_enter_trans(struct pop3_session *s)
{
	struct daemon_loop *l = s->tls ? NULL : daemon_loop_pick(s->daemon);

	if (l == NULL || atomic_load(&s->daemon->stopping)) {
		pop3_resume(s, POP3_S_TRANS);
		return;
	}
	directout_free(&s->out);
	daemon_move_out(&s->bev, &s->move);
	daemon_conn_detach(&s->conn);
	s->loop = l;
	pop3_set_state(s, POP3_S_TRANS);
	daemon_loop_post(l, pop3_session_arrive_cb, s);
}

/* pop3_session_open - a new session on fd, TLS from the first byte when tls. */
static void pop3_session_open(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			      bool tls)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->daemon = d;
	s->conn.stop = pop3_session_stop;
	s->conn.abort = pop3_session_abort;
	s->id = daemon_conn_add(d, &s->conn);
	s->timeout = d->cfg->pop3_timeout;
	s->tls = tls;
	s->loopback = daemon_peer(sa, s->ip, sizeof(s->ip));
	s->plaintext_ok = daemon_plaintext_ok(d->cfg, s->loopback, tls);
	s->bev = tls_bev_new(d->base, tls ? d->tls : NULL, fd);
	pop3_session_setup(s);
	pop3_set_state(s, POP3_S_AUTH);
	log_info("%08x pop3 connect ip=%s%s", s->id, s->ip, tls ? " tls" : "");
	pop3_session_greet(s);
}

void pop3_session_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			socklen_t salen)
{
	(void)salen;
	pop3_session_open(d, fd, sa, false);
}

void pop3s_session_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			 socklen_t salen)
{
	(void)salen;
	pop3_session_open(d, fd, sa, true);
}

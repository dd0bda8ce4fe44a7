/* smtp_session - connection I/O: lines, DATA, replies, timeouts, close. */
#include "smtp/smtp_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon/directout.h"
#include "metrics/metrics.h"
#include "relay/relay_check.h"
#include "mailauth/mailauth_stream.h"
#include "mailauth/mailauth_verify.h"
#include "smtp/smtp_internal.h"
#include "store/store.h"
#include "tls/tls.h"
#include "util/log.h"
#include "util/xalloc.h"

static void smtp_session_drain(struct smtp_session *s);

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;

	if (fmt[0] == '5')
		s->errors++;
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

void smtp_set_state(struct smtp_session *s, enum smtp_state state)
{
	s->state = (uint8_t)state;
}

void smtp_txn_free(struct smtp_txn **txnp)
{
	struct smtp_txn *txn = *txnp;

	if (txn == NULL)
		return;
	store_msg_abort(&txn->msg);
	for (size_t i = 0; i < txn->n_rcpts; i++) {
		free(txn->rcpts[i].local);
		free(txn->rcpts[i].domain);
	}
	free(txn->rcpts);
	aliases_result_free(&txn->targets);
	free(txn->refusal);
	free(txn->from);
	free(txn->grant_login);
	free(txn->pending_rcpt);
	free(txn->chunk);
	mailauth_verify_free(&txn->verify);
	if (txn->sign != NULL)
		mailauth_stream_clear(txn->sign);
	free(txn->sign);
	free(txn);
	*txnp = NULL;
}

/* smtp_session_free - tear the session down: socket, transaction, list entry. */
static void smtp_session_free(struct smtp_session *s)
{
	log_info("%08x smtp disconnect ip=%s", s->id, s->ip);
	smtp_txn_free(&s->txn);
	smtp_auth_free(&s->auth);
	directout_free(&s->out);
	bufferevent_free(s->bev);
	daemon_conn_remove(s->daemon, &s->conn);
	free(s->helo);
	free(s->auth_login);
	free(s);
}

void smtp_close(struct smtp_session *s)
{
	smtp_set_state(s, SMTP_S_CLOSING);
	bufferevent_disable(s->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		smtp_session_free(s);
}

/* smtp_session_line - take one CRLF line from the input; 1 done, 0 need more. */
static int smtp_session_line(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t avail = evbuffer_get_length(in);
	size_t want = avail < SMTP_LINE_MAX ? avail : SMTP_LINE_MAX;
	const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
	const char *lf = buf != NULL ? memchr(buf, '\n', want) : NULL;

	if (lf == NULL) {
		if (avail < SMTP_LINE_MAX && !s->skipping_line)
			return 0;
		if (!s->skipping_line)
			smtp_reply(s, "500 5.5.2 Line too long (limit %d octets)", SMTP_LINE_MAX);
		s->skipping_line = true;
		evbuffer_drain(in, want);
		return want > 0;
	}
	size_t len = (size_t)(lf - buf);
	char line[SMTP_LINE_MAX];
	bool skipped = s->skipping_line, crlf = len > 0 && buf[len - 1] == '\r';

	/* The line leaves the buffer before it runs: a handler may swap the bufferevent. */
	if (crlf)
		memcpy(line, buf, len - 1);
	if (s->state == SMTP_S_AUTH || (len >= 5 && strncasecmp(buf, "AUTH ", 5) == 0))
		OPENSSL_cleanse((char *)buf, len); /* it may hold a password */
	evbuffer_drain(in, len + 1);
	s->skipping_line = false;
	if (skipped)
		return 1;
	if (!crlf)
		smtp_reply(s, "500 5.5.2 Lines must end with CRLF (RFC 5321 2.3.8)");
	else if (s->state == SMTP_S_AUTH)
		smtp_auth_response(s, line, len - 1);
	else
		smtp_dispatch(s, line, len - 1);
	OPENSSL_cleanse(line, len); /* it may have been a password */
	return 1;
}

/* smtp_session_data - feed DATA input to the reader; 1 at the end, 0 need more. */
static int smtp_session_data(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct smtp_txn *txn = s->txn;

	while (evbuffer_get_length(in) > 0) {
		size_t n = evbuffer_get_contiguous_space(in);
		if (n > SMTP_DATA_CHUNK)
			n = SMTP_DATA_CHUNK;
		const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
		size_t out_len = 0;
		size_t used = smtp_data_feed(&txn->reader, buf, n, txn->chunk, &out_len);
		if (out_len > 0 && txn->reader.error == SMTP_DATA_OK && txn->store_errno == 0 &&
		    smtp_data_write(s, txn->chunk, out_len) < 0)
			txn->store_errno = errno;
		evbuffer_drain(in, used);
		if (txn->reader.done) {
			smtp_data_end(s);
			return 1;
		}
	}
	return 0;
}

/* smtp_session_drain - process buffered input until it runs out or the session must wait. */
static void smtp_session_drain(struct smtp_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	unsigned max_errors = s->daemon->cfg->smtp_max_errors;

	while (!(s->state & (SMTP_S_BUSY | SMTP_S_CLOSING))) {
		if (evbuffer_get_length(out) > SMTP_OUTPUT_MAX) {
			s->paused = true; /* resumed by smtp_session_write_cb */
			return;
		}
		if (s->errors >= max_errors) {
			log_info("%08x smtp too many errors ip=%s", s->id, s->ip);
			smtp_reply(s, "421 4.7.0 %s Error: too many errors", s->daemon->cfg->hostname);
			smtp_close(s);
			return;
		}
		int progress = s->state == SMTP_S_DATA ? smtp_session_data(s) : smtp_session_line(s);
		if (!progress)
			return;
	}
}

/* smtp_session_read_cb - input arrived. */
static void smtp_session_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	smtp_session_drain(arg);
}

/* smtp_session_write_cb - output drained: finish a close or resume reading. */
static void smtp_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	directout_written(s->out);
	if (s->state == SMTP_S_CLOSING) {
		smtp_session_free(s);
	} else if (s->paused) {
		s->paused = false;
		smtp_session_drain(s);
	}
}

/*
 * smtp_session_waits - must the session outlive its client, for a callback
 * that will come (store, grant store, password check, signing)? Checks in
 * DNS are cancelled instead.
 */
static bool smtp_session_waits(const struct smtp_session *s)
{
	return s->state == SMTP_S_BUSY && !(s->txn != NULL && s->txn->verifying);
}

/* smtp_session_event_cb - EOF, error or timeout. */
static void smtp_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
		/* The client stopped reading: a 421 would never leave, and writing is off now. */
		log_info("%08x smtp write timeout ip=%s", s->id, s->ip);
	} else if ((what & BEV_EVENT_TIMEOUT) && s->state == SMTP_S_BUSY) {
		/* The client waits for us (store, grant lookup, login check): not its silence. */
		return; /* reading resumes in smtp_resume */
	} else if ((what & BEV_EVENT_TIMEOUT) && s->state != SMTP_S_CLOSING) {
		log_info("%08x smtp timeout ip=%s", s->id, s->ip);
		smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->daemon->cfg->hostname);
		smtp_close(s);
		return;
	}
	if (what == BEV_EVENT_CONNECTED) /* the TLS handshake is done */
		return;
	if ((what & BEV_EVENT_ERROR) && s->tls) {
		unsigned long e = bufferevent_get_openssl_error(s->bev);
		log_info("%08x smtp tls error ip=%s: %s", s->id, s->ip,
			 e ? ERR_reason_error_string(e) : strerror(EVUTIL_SOCKET_ERROR()));
	}
	if (smtp_session_waits(s)) {
		s->gone = true; /* freed when the store answers */
		directout_gone(&s->out, s->bev);
		return;
	}
	smtp_session_free(s);
}

/* smtp_session_stop - daemon shutdown: idle sessions end now, busy ones after their reply. */
static void smtp_session_stop(struct daemon_conn *conn)
{
	struct smtp_session *s = (struct smtp_session *)conn;

	if (s->state & (SMTP_S_BUSY | SMTP_S_CLOSING))
		return;
	smtp_reply(s, "421 4.3.2 %s Service shutting down", s->daemon->cfg->hostname);
	smtp_close(s);
}

/* smtp_session_abort - shutdown grace over: free now, or when the worker answers. */
static void smtp_session_abort(struct daemon_conn *conn)
{
	struct smtp_session *s = (struct smtp_session *)conn;

	if (smtp_session_waits(s)) {
		s->gone = true;
		directout_gone(&s->out, s->bev);
		return;
	}
	smtp_session_free(s);
}

/* smtp_session_commit_cb - the store answered for the message after DATA. */
static void smtp_session_commit_cb(void *arg, int err)
{
	struct smtp_session *s = arg;
	const char *id = store_msg_id(s->txn->msg);

	if (err == 0) {
		log_info("%08x smtp queued id=%s from=<%s> nrcpt=%zu size=%zu", s->id, id,
			 s->txn->from, s->txn->n_rcpts, s->txn->reader.size);
		metrics_received(s->service == SMTP_SERVICE_MTA ? METRICS_SVC_SMTP
								 : METRICS_SVC_SUBMISSION);
		if (s->txn->grant_login != NULL)
			relay_use_record(s->daemon->relay_store, s->txn->grant_login, time(NULL));
		if (!s->gone)
			smtp_reply(s, "250 2.0.0 Ok: queued as %s", id);
	} else {
		log_err("%08x smtp store failed id=%s: %s", s->id, id, strerror(err));
		if (!s->gone && (err == ENOSPC || err == EDQUOT))
			smtp_reply(s, "452 4.3.1 Insufficient system storage");
		else if (!s->gone)
			smtp_reply(s, "451 4.3.0 Local error in processing, try again later");
	}
	s->txn->msg = NULL; /* the store owned and freed it */
	smtp_txn_free(&s->txn);
	smtp_resume(s, SMTP_S_READY);
}

void smtp_resume(struct smtp_session *s, enum smtp_state state)
{
	if (s->gone) {
		smtp_session_free(s);
	} else if (s->daemon->stopping) {
		smtp_close(s);
	} else {
		/* Pipelined input is read from the loop, never from inside a handler. */
		smtp_set_state(s, state);
		bufferevent_enable(s->bev, EV_READ); /* the client's silence counts from here */
		bufferevent_trigger(s->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
}

void smtp_data_end(struct smtp_session *s)
{
	struct smtp_txn *txn = s->txn;

	if (txn->reader.error == SMTP_DATA_OK && txn->store_errno == 0 && smtp_data_complete(s) < 0)
		txn->store_errno = errno;
	if (txn->reader.error != SMTP_DATA_OK) {
		log_info("%08x smtp rejected data ip=%s: %s", s->id, s->ip,
			 smtp_data_error_reply(txn->reader.error));
		smtp_reply(s, "%s", smtp_data_error_reply(txn->reader.error));
	} else if (txn->refusal != NULL) {
		log_info("%08x smtp rejected data ip=%s user=%s: %s", s->id, s->ip, s->auth_login,
			 txn->refusal);
		smtp_reply(s, "%s", txn->refusal);
	} else if (txn->store_errno != 0) {
		log_err("%08x smtp write failed: %s", s->id, strerror(txn->store_errno));
		smtp_reply(s, txn->store_errno == ENOSPC || txn->store_errno == EDQUOT
				      ? "452 4.3.1 Insufficient system storage"
				      : "451 4.3.0 Local error in processing, try again later");
	} else {
		smtp_set_state(s, SMTP_S_BUSY);
		smtp_mailauth_finish(s);
		return;
	}
	smtp_txn_free(&s->txn);
	smtp_set_state(s, SMTP_S_READY);
}

void smtp_data_commit(struct smtp_session *s)
{
	struct smtp_txn *txn = s->txn;

	smtp_queue_remote(s);
	store_msg_commit(txn->msg, txn->header_wire + txn->reader.size, smtp_session_commit_cb, s);
}

/* smtp_session_setup - callbacks, limits and timeouts of the session's bufferevent. */
static void smtp_session_setup(struct smtp_session *s)
{
	struct timeval tv = { .tv_sec = s->daemon->cfg->smtp_timeout, .tv_usec = 0 };

	bufferevent_setcb(s->bev, smtp_session_read_cb, smtp_session_write_cb,
			  smtp_session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTP_INPUT_MAX);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, s->tls ? EV_READ | EV_WRITE : EV_READ);
	if (!s->tls)
		s->out = directout_new(s->bev);
}

bool smtp_plaintext_ok(const struct smtp_session *s)
{
	return daemon_plaintext_ok(s->daemon->cfg, s->loopback, s->tls);
}

void smtp_start_tls(struct smtp_session *s)
{
	directout_release(&s->out);
	struct bufferevent *bev = tls_bev_starttls(s->bev, s->daemon->tls);

	if (bev == NULL) {
		log_info("%08x smtp starttls: cannot flush the reply, closing", s->id);
		smtp_close(s);
		return;
	}
	s->bev = bev;
	s->tls = true;
	smtp_session_setup(s);
	s->esmtp = false;
	free(s->helo);
	s->helo = NULL;
	free(s->auth_login); /* RFC 3207 4.2: nothing learned before TLS counts */
	s->auth_login = NULL;
	smtp_txn_free(&s->txn);
	smtp_set_state(s, SMTP_S_CONNECTED);
	log_info("%08x smtp starttls ip=%s", s->id, s->ip);
}

/* smtp_session_open - a new session of service on fd, TLS from the start when tls. */
static void smtp_session_open(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			      enum smtp_service service, bool tls)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->daemon = d;
	s->conn.stop = smtp_session_stop;
	s->conn.abort = smtp_session_abort;
	s->id = daemon_conn_add(d, &s->conn);
	s->service = (uint8_t)service;
	s->tls = tls;
	s->loopback = daemon_peer(sa, s->ip, sizeof(s->ip));
	memcpy(&s->peer, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							: sizeof(struct sockaddr_in));
	s->bev = tls_bev_new(d->base, tls ? d->tls : NULL, fd);
	smtp_session_setup(s);
	smtp_set_state(s, SMTP_S_CONNECTED);
	log_info("%08x %s connect ip=%s%s", s->id,
		 service == SMTP_SERVICE_MTA ? "smtp" : "submission", s->ip, tls ? " tls" : "");
	smtp_reply(s, "220 %s ESMTP postern", d->cfg->hostname);
}

void smtp_session_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			socklen_t salen)
{
	(void)salen;
	smtp_session_open(d, fd, sa, SMTP_SERVICE_MTA, false);
}

void smtp_submission_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			   socklen_t salen)
{
	(void)salen;
	smtp_session_open(d, fd, sa, SMTP_SERVICE_SUBMISSION, false);
}

void smtp_submissions_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			    socklen_t salen)
{
	(void)salen;
	smtp_session_open(d, fd, sa, SMTP_SERVICE_SUBMISSION, true);
}

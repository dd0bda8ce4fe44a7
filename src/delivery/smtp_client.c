/* smtp_client - the outbound SMTP client: one transaction to one server. */
#include "delivery/smtp_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery/smtpc_proto.h"
#include "tls/tls.h"
#include "util/log.h"
#include "util/xalloc.h"

/* RFC 5321 4.5.3.2 timeouts, seconds; connect is Postfix's smtp_connect_timeout. */
#define SMTPC_T_CONNECT 30
#define SMTPC_T_GREETING 300
#define SMTPC_T_CMD 300   /* EHLO, AUTH, MAIL, RCPT */
#define SMTPC_T_DATA 120  /* DATA initiation */
#define SMTPC_T_BLOCK 180 /* each data block */
#define SMTPC_T_DOT 600   /* DATA termination */
#define SMTPC_CHUNK (64 * 1024)
#define SMTPC_OUT_HIGH (256 * 1024)

enum smtpc_state {
	SMTPC_S_CONNECT,
	SMTPC_S_GREETING,
	SMTPC_S_EHLO,
	SMTPC_S_HELO,
	SMTPC_S_AUTH,      /* waiting for 235 */
	SMTPC_S_STARTTLS,  /* waiting for the 220 to STARTTLS, then the handshake */
	SMTPC_S_AUTH_USER, /* AUTH LOGIN: waiting for the user name challenge */
	SMTPC_S_AUTH_PASS, /* AUTH LOGIN: waiting for the password challenge */
	SMTPC_S_TXN,       /* MAIL, RCPT..., DATA replies */
	SMTPC_S_BODY,      /* sending the message */
	SMTPC_S_DOT,       /* waiting for the reply to the end of data */
	SMTPC_S_DONE,
};

static const char *const smtpc_state_names[] = {
	"connecting", "waiting for the greeting", "after EHLO", "after HELO", "after AUTH",
	"after STARTTLS", "after AUTH", "after AUTH", "in the transaction", "sending the message",
	"after the end of data", "done",
};

struct smtpc {
	struct event_base *base;
	struct bufferevent *bev;
	struct event *defer_ev; /* reports a failure that happened inside smtpc_start */
	struct smtpc_request req;
	char *helo;         /* our copy: a SIGHUP may free the configuration it came from */
	smtpc_done_fn *done_cb;
	void *done_arg;
	enum smtpc_state state;
	struct smtpc_reply reply;
	struct smtpc_caps caps;
	struct smtpc_stuffer stuffer;
	struct smtpc_result result;
	bool *accepted;     /* per recipient: RCPT got 2xx */
	size_t n_accepted;
	size_t reply_idx;   /* in TXN: 0 MAIL, 1..n RCPT, n+1 DATA */
	size_t sent_idx;
	int fd;             /* the message file */
	bool tls;           /* the session went on in TLS after STARTTLS */
	bool starttls_refused; /* the server answered STARTTLS with an error: not again */
	bool handshake;     /* the TLS handshake after STARTTLS's 220 is under way */
	char *chunk;        /* stuffing output, 2 * SMTPC_CHUNK bytes */
};

/* smtpc_set_timeout - read timeout for the reply we wait for; write timeout per block. */
static void smtpc_set_timeout(struct smtpc *c, int read_s)
{
	struct timeval r = { .tv_sec = read_s }, w = { .tv_sec = SMTPC_T_BLOCK };

	bufferevent_set_timeouts(c->bev, read_s > 0 ? &r : NULL, &w);
}

/* smtpc_send - queue one command line and wait read_s for its reply. */
static void smtpc_send(struct smtpc *c, int read_s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void smtpc_send(struct smtpc *c, int read_s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	smtpc_set_timeout(c, read_s);
}

/*
 * smtpc_quit_now - best effort QUIT without waiting for 221 (the result is
 * already known); written straight to the socket, so only in plain text.
 */
static void smtpc_quit_now(struct smtpc *c)
{
	evutil_socket_t fd = c->bev != NULL ? bufferevent_getfd(c->bev) : -1;

	if (fd >= 0 && c->state > SMTPC_S_GREETING && c->state != SMTPC_S_STARTTLS && !c->tls &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		(void)send(fd, "QUIT\r\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* smtpc_finish - the result is complete: say goodbye and hand it over (last action). */
static bool smtpc_finish(struct smtpc *c)
{
	smtpc_quit_now(c);
	c->state = SMTPC_S_DONE;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	c->done_cb(c->done_arg, &c->result);
	return true;
}

/* smtpc_set_rcpt - record a recipient's outcome. */
static void smtpc_set_rcpt(struct smtpc_rcpt_result *r, int code, const char *status, bool remote,
			   const char *text)
{
	r->code = code;
	r->remote = remote;
	snprintf(r->status, sizeof(r->status), "%s", status);
	snprintf(r->text, sizeof(r->text), "%s", text);
}

/* smtpc_fail - every undecided recipient gets this outcome; then finish. */
static bool smtpc_fail(struct smtpc *c, int code, const char *status, bool remote, bool next_host,
		       const char *text)
{
	for (size_t i = 0; i < c->req.n_rcpts; i++) {
		if (c->result.rcpts[i].code == 0)
			smtpc_set_rcpt(&c->result.rcpts[i], code, status, remote, text);
	}
	c->result.next_host = next_host;
	return smtpc_finish(c);
}

/* smtpc_reply_text - "PREFIXcode text" of the current reply on one line. */
static void smtpc_reply_text(const struct smtpc *c, const char *prefix, char *buf, size_t size)
{
	snprintf(buf, size, "%s%d %.450s", prefix, c->reply.code, c->reply.text);
	for (char *p = buf; *p != '\0'; p++)
		*p = *p == '\n' ? ' ' : *p;
}

/* smtpc_fail_reply - fail undecided recipients with the server's reply. */
static bool smtpc_fail_reply(struct smtpc *c, bool next_host)
{
	char text[sizeof(c->result.rcpts[0].text)];

	smtpc_reply_text(c, "", text, sizeof(text));
	return smtpc_fail(c, c->reply.code, c->reply.status, true, next_host, text);
}

/* smtpc_vfail - fail undecided recipients with a temporary reason of ours and its status. */
static bool smtpc_vfail(struct smtpc *c, bool next_host, const char *status, const char *fmt,
			va_list ap) __attribute__((format(printf, 4, 0)));
static bool smtpc_vfail(struct smtpc *c, bool next_host, const char *status, const char *fmt,
			va_list ap)
{
	char text[sizeof(c->result.rcpts[0].text)];

	vsnprintf(text, sizeof(text), fmt, ap);
	return smtpc_fail(c, 451, status, false, next_host, text);
}

/* smtpc_fail_local - fail undecided recipients with a temporary reason of ours (4.4.2). */
static bool smtpc_fail_local(struct smtpc *c, bool next_host, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool smtpc_fail_local(struct smtpc *c, bool next_host, const char *fmt, ...)
{
	va_list ap;
	bool rc;

	va_start(ap, fmt);
	rc = smtpc_vfail(c, next_host, "4.4.2", fmt, ap);
	va_end(ap);
	return rc;
}

/* smtpc_fail_status - the same with another enhanced status (4.7.x: TLS). */
static bool smtpc_fail_status(struct smtpc *c, bool next_host, const char *status,
			      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool smtpc_fail_status(struct smtpc *c, bool next_host, const char *status,
			      const char *fmt, ...)
{
	va_list ap;
	bool rc;

	va_start(ap, fmt);
	rc = smtpc_vfail(c, next_host, status, fmt, ap);
	va_end(ap);
	return rc;
}

/* smtpc_b64 - base64 of len bytes, malloc'd; the caller wipes and frees it. */
static char *smtpc_b64(const void *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/* smtpc_send_secret - send base64 of a secret; wiped from our memory (never logged). */
static void smtpc_send_secret(struct smtpc *c, const char *prefix, const void *data, size_t len)
{
	char *b64 = smtpc_b64(data, len);

	smtpc_send(c, SMTPC_T_CMD, "%s%s", prefix, b64);
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
}

/* smtpc_auth_plain - AUTH PLAIN with the initial response (RFC 4616). */
static void smtpc_auth_plain(struct smtpc *c)
{
	size_t ul = strlen(c->req.auth_user), pl = strlen(c->req.auth_pass);
	char *buf = xmalloc(ul + pl + 2);

	buf[0] = '\0';
	memcpy(buf + 1, c->req.auth_user, ul);
	buf[ul + 1] = '\0';
	memcpy(buf + ul + 2, c->req.auth_pass, pl);
	smtpc_send_secret(c, "AUTH PLAIN ", buf, ul + pl + 2);
	OPENSSL_cleanse(buf, ul + pl + 2);
	free(buf);
	c->state = SMTPC_S_AUTH;
}

/* smtpc_start_txn - MAIL, RCPT..., DATA: all at once when pipelining, else MAIL. */
static bool smtpc_start_txn(struct smtpc *c)
{
	bool utf8 = smtpc_envelope_utf8(c->req.from, c->req.rcpts, c->req.n_rcpts);
	char params[64] = "";
	size_t n = 0;

	if (c->caps.size_max > 0 && c->req.size > c->caps.size_max)
		return smtpc_fail(c, 552, "5.3.4", false, false,
				  "message size exceeds the limit the server announced");
	if (utf8 && !c->caps.smtputf8) /* Postfix says 5.6.7 too; no downgrade */
		return smtpc_fail(c, 553, "5.6.7", false, false,
				  "SMTPUTF8 is required, but the server does not offer it");
	if (c->caps.size_set && c->req.size > 0)
		n = (size_t)snprintf(params, sizeof(params), " SIZE=%llu", c->req.size);
	if (c->caps.eightbitmime && c->req.eightbit)
		n += (size_t)snprintf(params + n, sizeof(params) - n, " BODY=8BITMIME");
	if (utf8)
		snprintf(params + n, sizeof(params) - n, " SMTPUTF8");
	c->state = SMTPC_S_TXN;
	c->reply_idx = 0;
	smtpc_send(c, SMTPC_T_CMD, "MAIL FROM:<%s>%s", c->req.from, params);
	c->sent_idx = 1;
	if (c->caps.pipelining) {
		for (size_t i = 0; i < c->req.n_rcpts; i++)
			smtpc_send(c, SMTPC_T_CMD, "RCPT TO:<%s>", c->req.rcpts[i]);
		smtpc_send(c, SMTPC_T_DATA, "DATA");
		c->sent_idx = c->req.n_rcpts + 2;
	}
	return false;
}

/* smtpc_after_ehlo - the greeting exchange is done: STARTTLS, AUTH, then the transaction. */
static bool smtpc_after_ehlo(struct smtpc *c)
{
	if (c->caps.starttls && c->req.tls != NULL && !c->tls && !c->starttls_refused) {
		smtpc_send(c, SMTPC_T_CMD, "STARTTLS");
		c->state = SMTPC_S_STARTTLS;
		return false;
	}
	if (c->req.tls_verify && !c->tls) /* Postfix says 4.7.4 too */
		return smtpc_fail_status(c, true, "4.7.4",
					 "%s offers no STARTTLS: TLS is required to verify the "
					 "relayhost (delivery.relayhost_tls_verify)", c->result.relay);
	if (c->req.auth_user == NULL)
		return smtpc_start_txn(c);
	if (c->req.auth_needs_tls && !c->tls)
		return smtpc_fail_local(c, true, "%s %s: the password stays unsent", c->result.relay,
					c->starttls_refused ? "refused STARTTLS" : "offers no STARTTLS");
	if (c->caps.auth_plain) {
		smtpc_auth_plain(c);
		return false;
	}
	if (c->caps.auth_login) {
		smtpc_send(c, SMTPC_T_CMD, "AUTH LOGIN");
		c->state = SMTPC_S_AUTH_USER;
		return false;
	}
	return smtpc_fail_local(c, true, "%s offers no AUTH PLAIN or LOGIN", c->result.relay);
}

static void smtpc_read_cb(struct bufferevent *bev, void *arg);
static void smtpc_write_cb(struct bufferevent *bev, void *arg);
static void smtpc_event_cb(struct bufferevent *bev, short what, void *arg);

/* smtpc_on_starttls - 220: the handshake starts (EHLO again once it is done); else plain text. */
static bool smtpc_on_starttls(struct smtpc *c)
{
	struct bufferevent *bev;
	char text[sizeof(c->result.rcpts[0].text)];

	if (c->reply.code != 220 && c->req.tls_verify) {
		smtpc_reply_text(c, "", text, sizeof(text));
		return smtpc_fail_status(c, true, "4.7.4", "%s refused STARTTLS (%s): TLS is required "
					 "to verify the relayhost", c->result.relay, text);
	}
	if (c->reply.code != 220) {
		c->starttls_refused = true; /* do not ask again, go on in plain text */
		return smtpc_after_ehlo(c);
	}
	if ((bev = tls_bev_connect(c->bev, c->req.tls, c->req.host, c->req.tls_verify)) == NULL)
		return smtpc_fail_local(c, true, "cannot start TLS with %s: %s", c->result.relay,
					tls_error_string());
	c->bev = bev;
	c->handshake = true;
	bufferevent_setcb(c->bev, smtpc_read_cb, smtpc_write_cb, smtpc_event_cb, c);
	smtpc_set_timeout(c, SMTPC_T_CMD);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return false;
}

/* smtpc_on_greeting - 220 opens the session; anything else: try another server. */
static bool smtpc_on_greeting(struct smtpc *c)
{
	if (c->reply.code / 100 != 2)
		return smtpc_fail_reply(c, true);
	smtpc_send(c, SMTPC_T_CMD, "EHLO %s", c->req.helo);
	c->state = SMTPC_S_EHLO;
	return false;
}

/* smtpc_on_ehlo - read the capabilities; a 5xx means an old server: HELO. */
static bool smtpc_on_ehlo(struct smtpc *c)
{
	if (c->reply.code / 100 == 2) {
		smtpc_caps_parse(c->reply.text, c->reply.text_len, &c->caps);
		return smtpc_after_ehlo(c);
	}
	if (c->reply.code / 100 != 5)
		return smtpc_fail_reply(c, true);
	smtpc_send(c, SMTPC_T_CMD, "HELO %s", c->req.helo);
	c->state = SMTPC_S_HELO;
	return false;
}

/* smtpc_on_helo - the RFC 821 greeting. */
static bool smtpc_on_helo(struct smtpc *c)
{
	if (c->reply.code / 100 != 2)
		return smtpc_fail_reply(c, true);
	memset(&c->caps, 0, sizeof(c->caps));
	return smtpc_after_ehlo(c);
}

/* smtpc_on_auth - 235 authenticated; a refusal is deferred so a fixed password gets through. */
static bool smtpc_on_auth(struct smtpc *c)
{
	char text[sizeof(c->result.rcpts[0].text)];

	if (c->state == SMTPC_S_AUTH && c->reply.code == 235)
		return smtpc_start_txn(c);
	if (c->state != SMTPC_S_AUTH && c->reply.code == 334) {
		const char *v = c->state == SMTPC_S_AUTH_USER ? c->req.auth_user : c->req.auth_pass;
		smtpc_send_secret(c, "", v, strlen(v));
		c->state = c->state == SMTPC_S_AUTH_USER ? SMTPC_S_AUTH_PASS : SMTPC_S_AUTH;
		return false;
	}
	smtpc_reply_text(c, "authentication failed: ", text, sizeof(text));
	return smtpc_fail(c, 454, "4.7.0", true, true, text);
}

/* smtpc_send_next - without pipelining: the command after the one just answered. */
static bool smtpc_send_next(struct smtpc *c)
{
	size_t n = c->req.n_rcpts;

	if (c->caps.pipelining || c->sent_idx > c->reply_idx)
		return false;
	if (c->sent_idx <= n) {
		smtpc_send(c, SMTPC_T_CMD, "RCPT TO:<%s>", c->req.rcpts[c->sent_idx - 1]);
	} else {
		if (c->n_accepted == 0)
			return smtpc_finish(c); /* every recipient refused: no DATA */
		smtpc_send(c, SMTPC_T_DATA, "DATA");
	}
	c->sent_idx++;
	return false;
}

/* smtpc_send_body - refill the output with the next chunks of the message. */
static bool smtpc_send_body(struct smtpc *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char in[SMTPC_CHUNK];

	while (c->state == SMTPC_S_BODY && evbuffer_get_length(out) < SMTPC_OUT_HIGH) {
		ssize_t n = read(c->fd, in, sizeof(in));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return smtpc_fail_local(c, false, "cannot read the queue file: %s",
						strerror(errno));
		if (n == 0) {
			size_t len = smtpc_stuff_end(&c->stuffer, c->chunk);
			evbuffer_add(out, c->chunk, len);
			c->state = SMTPC_S_DOT;
			smtpc_set_timeout(c, SMTPC_T_DOT);
			break;
		}
		evbuffer_add(out, c->chunk, smtpc_stuff(&c->stuffer, in, (size_t)n, c->chunk));
	}
	return false;
}

/* smtpc_on_data - 354: send the message (or only the end if every RCPT failed, RFC 2920 3.1). */
static bool smtpc_on_data(struct smtpc *c)
{
	if (c->reply.code != 354)
		return smtpc_fail_reply(c, false);
	if (c->n_accepted == 0) {
		evbuffer_add(bufferevent_get_output(c->bev), ".\r\n", 3);
		return smtpc_finish(c);
	}
	if (lseek(c->fd, 0, SEEK_SET) < 0)
		return smtpc_fail_local(c, false, "cannot read the queue file: %s", strerror(errno));
	c->chunk = xmalloc(2 * SMTPC_CHUNK);
	c->state = SMTPC_S_BODY;
	smtpc_set_timeout(c, 0);
	bufferevent_setwatermark(c->bev, EV_WRITE, SMTPC_OUT_HIGH / 4, 0);
	return smtpc_send_body(c);
}

/* smtpc_on_txn - the reply to MAIL, one RCPT, or DATA, in order. */
static bool smtpc_on_txn(struct smtpc *c)
{
	size_t idx = c->reply_idx++, n = c->req.n_rcpts;

	if (idx == 0 && c->reply.code / 100 != 2)
		return smtpc_fail_reply(c, false);
	if (idx >= 1 && idx <= n) {
		struct smtpc_rcpt_result *r = &c->result.rcpts[idx - 1];
		if (c->reply.code / 100 == 2) {
			c->accepted[idx - 1] = true;
			c->n_accepted++;
		} else {
			char text[sizeof(r->text)];
			smtpc_reply_text(c, "", text, sizeof(text));
			smtpc_set_rcpt(r, c->reply.code, c->reply.status, true, text);
		}
	}
	if (idx == n + 1)
		return smtpc_on_data(c);
	return smtpc_send_next(c);
}

/* smtpc_on_dot - the server took (or refused) the message for every accepted recipient. */
static bool smtpc_on_dot(struct smtpc *c)
{
	/* a 2xx is the outcome of every accepted recipient, an error too */
	return smtpc_fail_reply(c, false);
}

/* smtpc_dispatch - one complete reply; true when the client finished (may be freed). */
static bool smtpc_dispatch(struct smtpc *c)
{
	switch (c->state) {
	case SMTPC_S_GREETING:
		return smtpc_on_greeting(c);
	case SMTPC_S_EHLO:
		return smtpc_on_ehlo(c);
	case SMTPC_S_HELO:
		return smtpc_on_helo(c);
	case SMTPC_S_STARTTLS:
		return smtpc_on_starttls(c);
	case SMTPC_S_AUTH:
	case SMTPC_S_AUTH_USER:
	case SMTPC_S_AUTH_PASS:
		return smtpc_on_auth(c);
	case SMTPC_S_TXN:
		return smtpc_on_txn(c);
	case SMTPC_S_DOT:
		return smtpc_on_dot(c);
	default:
		return smtpc_fail_local(c, false, "unexpected reply from %s while %s",
					c->result.relay, smtpc_state_names[c->state]);
	}
}

/* smtpc_read_line - take one reply line into line (NUL terminated); 1 got, 0 need more, -1 too long. */
static int smtpc_read_line(struct evbuffer *in, char *line, size_t size, size_t *len_r)
{
	size_t eol_len;
	struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);

	if (p.pos < 0)
		return evbuffer_get_length(in) >= size ? -1 : 0;
	if ((size_t)p.pos >= size)
		return -1;
	evbuffer_remove(in, line, (size_t)p.pos);
	evbuffer_drain(in, eol_len);
	line[p.pos] = '\0';
	*len_r = (size_t)p.pos;
	return 1;
}

/* smtpc_read_cb - parse reply lines and act on each complete reply. */
static void smtpc_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtpc *c = arg;
	char line[SMTPC_LINE_MAX + 1];
	const char *error;
	size_t len;
	int rc;

	(void)bev;
	while (c->state != SMTPC_S_DONE && c->state != SMTPC_S_BODY) {
		/* c->bev, not bev: STARTTLS replaces the bufferevent between two replies */
		rc = smtpc_read_line(bufferevent_get_input(c->bev), line, sizeof(line), &len);
		if (rc == 0)
			return;
		if (rc < 0) {
			smtpc_fail_local(c, c->state < SMTPC_S_TXN, "reply line too long from %s",
					 c->result.relay);
			return;
		}
		rc = smtpc_reply_feed(&c->reply, line, len, &error);
		if (rc < 0) {
			smtpc_fail_local(c, c->state < SMTPC_S_TXN, "%s from %s", error,
					 c->result.relay);
			return;
		}
		if (rc == 1 && smtpc_dispatch(c))
			return; /* finished: c may be gone */
	}
}

/* smtpc_write_cb - the output drained below the low watermark: more of the message. */
static void smtpc_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtpc *c = arg;

	(void)bev;
	if (c->state == SMTPC_S_BODY)
		smtpc_send_body(c);
}

/*
 * smtpc_tls_failed - the handshake after STARTTLS failed: say why. Nothing
 * was sent, so the next address may do better; the certificate's failure
 * is 4.7.5 (RFC 3463 cryptographic failure), like Postfix's.
 */
static bool smtpc_tls_failed(struct smtpc *c)
{
	const char *why = c->req.tls_verify ? tls_bev_verify_error(c->bev) : NULL;

	if (why != NULL)
		return smtpc_fail_status(c, true, "4.7.5",
					 "TLS certificate verification failed: %s, for %s", why,
					 c->req.host);
	return smtpc_fail_status(c, true, c->req.tls_verify ? "4.7.5" : "4.4.2",
				 "TLS handshake with %s failed: %s", c->result.relay,
				 tls_bev_error(c->bev));
}

/* smtpc_event_cb - connected, or the connection failed, closed or timed out. */
static void smtpc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtpc *c = arg;
	int err = EVUTIL_SOCKET_ERROR();
	bool early = c->state < SMTPC_S_TXN;

	if ((what & BEV_EVENT_CONNECTED) && c->state == SMTPC_S_STARTTLS) {
		c->tls = true; /* RFC 3207 4.2: forget what the server said, EHLO again */
		c->handshake = false;
		memset(&c->caps, 0, sizeof(c->caps));
		smtpc_send(c, SMTPC_T_CMD, "EHLO %s", c->req.helo);
		c->state = SMTPC_S_EHLO;
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		c->state = SMTPC_S_GREETING;
		smtpc_set_timeout(c, SMTPC_T_GREETING);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		return;
	}
	if (c->handshake && (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))) {
		smtpc_tls_failed(c);
		return;
	}
	if (c->state == SMTPC_S_CONNECT) {
		char text[sizeof(c->result.rcpts[0].text)];
		snprintf(text, sizeof(text), "connect to %s: %s", c->result.relay,
			 (what & BEV_EVENT_TIMEOUT) ? "Connection timed out" : strerror(err));
		smtpc_fail(c, 451, "4.4.1", false, true, text); /* RFC 3463: no answer from host */
	} else if (what & BEV_EVENT_TIMEOUT)
		smtpc_fail_local(c, early, "conversation with %s timed out while %s",
				 c->result.relay, smtpc_state_names[c->state]);
	else
		smtpc_fail_local(c, early, "lost connection with %s while %s", c->result.relay,
				 smtpc_state_names[c->state]);
}

/* smtpc_defer_cb - report a failure of smtpc_start from the loop. */
static void smtpc_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;

	(void)fd;
	(void)what;
	smtpc_fail_local(c, c->state == SMTPC_S_CONNECT, "%s", c->result.rcpts[0].text);
}

/* smtpc_relay_name - "host[ip]:port" for logs. */
static void smtpc_relay_name(struct smtpc *c, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
	}
	snprintf(c->result.relay, sizeof(c->result.relay), "%s[%s]:%u", c->req.host, ip, port);
}

/* smtpc_connect - open the file and start connecting; -1 with the reason in rcpts[0]. */
static int smtpc_connect(struct smtpc *c, const struct sockaddr *sa, socklen_t salen)
{
	struct timeval t = { .tv_sec = SMTPC_T_CONNECT };

	if ((c->fd = open(c->req.msg_path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(c->result.rcpts[0].text, sizeof(c->result.rcpts[0].text),
			 "cannot read the queue file: %s", strerror(errno));
		c->state = SMTPC_S_DONE; /* not next_host: no server will help */
		return -1;
	}
	c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, smtpc_read_cb, smtpc_write_cb, smtpc_event_cb, c);
	bufferevent_set_timeouts(c->bev, &t, &t);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, sa, (int)salen) < 0) {
		snprintf(c->result.rcpts[0].text, sizeof(c->result.rcpts[0].text),
			 "connect to %s: %s", c->result.relay, strerror(errno));
		return -1;
	}
	return 0;
}

struct smtpc *smtpc_start(struct event_base *base, const struct sockaddr *sa, socklen_t salen,
			  const struct smtpc_request *req, smtpc_done_fn *done_cb, void *arg)
{
	struct smtpc *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->req = *req;
	c->helo = xstrdup(req->helo);
	c->req.helo = c->helo;
	c->done_cb = done_cb;
	c->done_arg = arg;
	c->fd = -1;
	if (c->req.tls != NULL)
		SSL_CTX_up_ref(c->req.tls); /* a SIGHUP may replace the daemon's */
	c->result.rcpts = xcalloc(req->n_rcpts, sizeof(*c->result.rcpts));
	c->accepted = xcalloc(req->n_rcpts, sizeof(*c->accepted));
	smtpc_relay_name(c, sa);
	if (smtpc_connect(c, sa, salen) < 0) {
		if (c->state == SMTPC_S_DONE)
			c->state = SMTPC_S_TXN; /* a local failure: no next host */
		c->defer_ev = evtimer_new(base, smtpc_defer_cb, c);
		event_active(c->defer_ev, EV_TIMEOUT, 0);
	}
	return c;
}

void smtpc_free(struct smtpc **cp)
{
	struct smtpc *c = *cp;

	if (c == NULL)
		return;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->defer_ev != NULL)
		event_free(c->defer_ev);
	if (c->fd >= 0)
		close(c->fd);
	free(c->result.rcpts);
	free(c->accepted);
	free(c->chunk);
	free(c->helo);
	SSL_CTX_free(c->req.tls);
	free(c);
	*cp = NULL;
}

/*
 * smtp_client - one outbound SMTP transaction on the event loop, to one
 * address: greeting, EHLO (HELO fallback), optional AUTH PLAIN/LOGIN (the
 * relayhost), MAIL/RCPT/DATA (pipelined when the server offers PIPELINING,
 * RFC 2920), the message streamed from its queue file with CRLF line ends
 * and dot-stuffing, then QUIT. Timeouts follow RFC 5321 4.5.3.2. The
 * result is per recipient.
 *
 * When the server offers STARTTLS (RFC 3207) and a client TLS context is
 * given, the session goes on in TLS. By default that is opportunistic (the
 * certificate is not checked, like Postfix's smtp_tls_security_level =
 * may): a server that does not offer or refuses STARTTLS gets the mail in
 * plain text, but never the password unless auth_needs_tls allows it.
 * With tls_verify (the relayhost) TLS is required and the server's
 * certificate must verify against the context's trust store and match
 * host (Postfix's "secure"): otherwise no AUTH and no MAIL is sent, and
 * every recipient gets a 4.7.x temporary failure.
 *
 * The message's size and 8-bit flag come from the queue envelope: the text
 * is read only to send it.
 */
#ifndef POSTERN_SMTP_CLIENT_H
#define POSTERN_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct smtpc;
struct ssl_ctx_st;

/* What to send. Strings are borrowed until the done callback (helo is copied). */
struct smtpc_request {
	const char *helo;       /* our host name */
	const char *from;       /* "" for the null sender */
	char *const *rcpts;
	size_t n_rcpts;
	const char *msg_path;   /* LF text, read while sending */
	unsigned long long size; /* its size with CRLF line ends, for SIZE=; 0: unknown, not sent */
	bool eightbit;          /* it has 8-bit bytes: BODY=8BITMIME when the server offers it */
	const char *host;       /* the server's name, for logs, results and TLS verification */
	const char *auth_user;  /* NULL: no AUTH */
	const char *auth_pass;
	struct ssl_ctx_st *tls; /* client TLS context (tls/tls.h), NULL: plain text only */
	bool tls_verify;        /* require TLS and verify the certificate and host (needs tls) */
	bool auth_needs_tls;    /* never send the password in clear (auth.allow_plaintext) */
};

/* The outcome for one recipient. */
struct smtpc_rcpt_result {
	int code;        /* 250 accepted by the server, 4xx retry, 5xx bounce */
	char status[16]; /* enhanced status code, "" when unknown */
	char text[512];  /* for logs and the DSN: the server's reply, or our reason */
	bool remote;     /* text is the server's reply (Diagnostic-Code: smtp;) */
};

struct smtpc_result {
	bool next_host; /* nothing was tried at this server (connect, greeting, EHLO, AUTH): try the next */
	char relay[320]; /* "host[ip]:port" */
	struct smtpc_rcpt_result *rcpts; /* n_rcpts entries */
};

typedef void smtpc_done_fn(void *arg, const struct smtpc_result *result);

/*
 * smtpc_start - connect to sa and run the transaction; done_cb runs once,
 * on the loop, never from inside smtpc_start. done_cb may smtpc_free the
 * client; after done_cb nothing else happens until it is freed.
 */
struct smtpc *smtpc_start(struct event_base *base, const struct sockaddr *sa, socklen_t salen,
			  const struct smtpc_request *req, smtpc_done_fn *done_cb, void *arg);

/* smtpc_free - close and free; if the transaction was still running, done_cb never runs. */
void smtpc_free(struct smtpc **cp);

#endif

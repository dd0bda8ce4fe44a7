/*
 * smtp_internal - the session structure shared by the session I/O
 * (smtp_session.c) and the command handlers (smtp_cmd.c).
 */
#ifndef POSTERN_SMTP_INTERNAL_H
#define POSTERN_SMTP_INTERNAL_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr/aliases.h"
#include "daemon/daemon.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_headers.h"
#include "smtp/smtp_parse.h"

#define SMTP_LINE_MAX 512          /* command line with CRLF, RFC 5321 4.5.3.1.4 */
#define SMTP_TEXT_LINE_MAX 1000    /* text line with CRLF, RFC 5321 4.5.3.1.6 */
#define SMTP_OUTPUT_MAX (16 * 1024) /* stop reading commands past this much unsent output */
#define SMTP_INPUT_MAX (64 * 1024)  /* stop reading the socket past this much unread input */
#define SMTP_DATA_CHUNK (16 * 1024)

/* Session states; the command table lists the states each verb is allowed in. */
enum smtp_state {
	SMTP_S_CONNECTED = 1 << 0, /* no HELO/EHLO yet */
	SMTP_S_READY = 1 << 1,     /* greeted, no transaction */
	SMTP_S_MAIL = 1 << 2,      /* MAIL accepted, no recipient yet */
	SMTP_S_RCPT = 1 << 3,      /* at least one recipient */
	SMTP_S_DATA = 1 << 4,      /* reading the message */
	SMTP_S_BUSY = 1 << 5,      /* waiting for the store */
	SMTP_S_CLOSING = 1 << 6,   /* flushing the last reply */
	SMTP_S_AUTH = 1 << 7,      /* the next line answers an AUTH challenge */
};

enum smtp_service {
	SMTP_SERVICE_MTA,        /* port 25: mail for local domains, relaying by policy */
	SMTP_SERVICE_SUBMISSION, /* ports 587/465: AUTH before MAIL (RFC 6409) */
};

struct smtp_auth;
struct mailauth_stream;
struct mailauth_verify;

struct smtp_rcpt {
	char *local;  /* lower case when local; as sent when remote */
	char *domain; /* lower case */
	bool remote;  /* relayed: goes to the outbound queue */
};

struct smtp_txn {
	char *from; /* "" for the null sender */
	struct smtp_rcpt *rcpts;   /* as given: local ones resolved, remote ones relayed */
	size_t n_rcpts;
	struct aliases_result targets; /* the local recipients' final targets, one per Maildir */
	bool smtputf8;
	char relay_note[320]; /* why relaying was allowed, for Received: */
	char *grant_login;    /* relayed on this login's POP-before-SMTP grant */
	struct smtp_path *pending_rcpt; /* waiting for the grant store */
	struct store_msg *msg;
	struct smtp_data_reader reader;
	char *chunk;        /* DATA output scratch, SMTP_DATA_CHUNK bytes */
	size_t header_wire; /* added headers' size with CRLF line ends */
	bool header_8bit;   /* Received: has 8-bit bytes (an SMTPUTF8 address, a UTF-8 login) */
	bool fix_headers;   /* submission: add a missing Date: / Message-ID: */
	bool scan_headers;  /* fix_headers, or an authenticated session: its From: is checked */
	char *refusal;      /* the 5.7.1 reply to the final dot when From: is not the login's */
	struct smtp_header_scan headers;
	int store_errno;    /* first write error while reading DATA */
	struct mailauth_verify *verify; /* SPF/DKIM/DMARC checks (smtp_mailauth.c), or NULL */
	struct mailauth_stream *sign;   /* DKIM signing: the text taken in, or NULL */
	size_t client_off;  /* where the client's text starts in the stored message */
	bool verifying;     /* BUSY waiting for the checks: ending the session cancels them */
};

struct smtp_session {
	struct daemon_conn conn; /* first: the daemon's list links it */
	struct daemon *daemon;
	struct bufferevent *bev;
	struct directout *out;   /* writes a plaintext session's output (daemon/directout.h) */
	uint32_t id;
	uint8_t state;
	uint8_t service; /* enum smtp_service */
	unsigned errors; /* 5xx replies so far, against smtp.max_errors */
	bool tls;
	bool loopback; /* the client connects from 127/8 or ::1 */
	bool esmtp;
	bool skipping_line; /* discarding the rest of an overlong line */
	bool paused;        /* output over SMTP_OUTPUT_MAX */
	bool gone;          /* the client left while the store was busy */
	char ip[INET6_ADDRSTRLEN];
	struct sockaddr_storage peer;
	char *helo;
	char *auth_login;        /* after a successful AUTH */
	struct smtp_auth *auth;  /* an AUTH exchange in progress */
	struct smtp_txn *txn;
};

/* smtp_reply - queue one reply line (without CRLF); counts 5xx toward the error limit. */
void smtp_reply(struct smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* smtp_set_state - the only place the state changes. */
void smtp_set_state(struct smtp_session *s, enum smtp_state state);

/* smtp_close - send what is queued, then end the session. */
void smtp_close(struct smtp_session *s);

/* smtp_txn_free - drop the transaction and any message being received. */
void smtp_txn_free(struct smtp_txn **txnp);

/* smtp_cmd_rcpt - RCPT TO (smtp_rcpt.c). */
void smtp_cmd_rcpt(struct smtp_session *s, const char *args, size_t len);

/* smtp_dispatch - run one command line (without CRLF) through the command table. */
void smtp_dispatch(struct smtp_session *s, const char *line, size_t len);

/* smtp_data_begin - after 354: open the message and write the Received: header. */
int smtp_data_begin(struct smtp_session *s);

/* smtp_data_write - store message text (LF line ends) read from DATA; -1 with errno. */
int smtp_data_write(struct smtp_session *s, const char *buf, size_t len);

/* smtp_data_complete - the text is in: headers submission adds, the queue envelope; -1 with errno. */
int smtp_data_complete(struct smtp_session *s);

/* smtp_data_end - the end of DATA was read: answer an error or commit. */
void smtp_data_end(struct smtp_session *s);

/* smtp_queue_remote - give the store a queue envelope for the remote recipients (smtp_cmd.c). */
void smtp_queue_remote(struct smtp_session *s);

/* smtp_data_commit - the message is complete and checked: queue envelope, then the store's commit. */
void smtp_data_commit(struct smtp_session *s);

/* smtp_mailauth_mail - after MAIL FROM on port 25 from an untrusted client: start the checks. */
void smtp_mailauth_mail(struct smtp_session *s);

/* smtp_mailauth_begin - at DATA: sign (a trusted client) or check (the rest), or neither. */
void smtp_mailauth_begin(struct smtp_session *s);

/* smtp_mailauth_text - the client's text (and added headers) as they go to the store. */
void smtp_mailauth_text(struct smtp_session *s, const char *buf, size_t len);

/* smtp_mailauth_finish - the text is in (state BUSY): sign or check, then smtp_data_commit or a reply. */
void smtp_mailauth_finish(struct smtp_session *s);

/* smtp_start_tls - after "220 Ready to start TLS": drop pending plaintext, wrap in TLS, reset. */
void smtp_start_tls(struct smtp_session *s);

/* smtp_resume - a session that waited (BUSY) goes on in state: read pipelined input. */
void smtp_resume(struct smtp_session *s, enum smtp_state state);

/* smtp_plaintext_ok - may passwords cross this connection (TLS, or auth.allow_plaintext)? */
bool smtp_plaintext_ok(const struct smtp_session *s);

/* smtp_cmd_auth - the AUTH command (smtp_auth.c). */
void smtp_cmd_auth(struct smtp_session *s, const char *args, size_t len);

/* smtp_auth_response - a line answering an AUTH challenge (smtp_auth.c). */
void smtp_auth_response(struct smtp_session *s, const char *line, size_t len);

/* smtp_auth_free - drop an AUTH exchange, wiping what it held. */
void smtp_auth_free(struct smtp_auth **authp);

#endif

/*
 * pop3_internal - the session structure shared by the connection I/O
 * (pop3_session.c), the command table (pop3_cmd.c), the logins
 * (pop3_auth.c) and the multi-line responses (pop3_retr.c).
 */
#ifndef POSTERN_POP3_INTERNAL_H
#define POSTERN_POP3_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "daemon/daemon.h"
#include "daemon/loops.h"
#include "pop3/pop3_maildrop.h"
#include "pop3/pop3_parse.h"

#define POP3_SASL_LINE_MAX 2048      /* a SASL response line with CRLF (RFC 5034 4) */
#define POP3_OUTPUT_MAX (256 * 1024) /* stop producing output past this much unsent */
#define POP3_INPUT_MAX (64 * 1024)   /* stop reading the socket past this much unread */
#define POP3_MAX_ERRORS 20           /* protocol errors before disconnect */
#define POP3_CHALLENGE_MAX 128       /* "<digits.digits@hostname>" */

/* Session states; the command table lists where each verb is allowed. */
enum pop3_state {
	POP3_S_AUTH = 1 << 0,    /* AUTHORIZATION, no USER yet */
	POP3_S_USER = 1 << 1,    /* AUTHORIZATION after USER: PASS may follow */
	POP3_S_SASL = 1 << 2,    /* an AUTH exchange: lines are SASL responses */
	POP3_S_BUSY = 1 << 3,    /* waiting: verification, maildrop, hook, delay, UPDATE */
	POP3_S_TRANS = 1 << 4,   /* TRANSACTION */
	POP3_S_STREAM = 1 << 5,  /* sending a multi-line response */
	POP3_S_CLOSING = 1 << 6, /* flushing the last reply */
};

/* The SASL mechanisms of AUTH (RFC 5034). */
enum pop3_mech {
	POP3_MECH_PLAIN,
	POP3_MECH_LOGIN,
	POP3_MECH_CRAM_MD5,
};

struct daemon_loop;
struct evbuffer;
struct pop3_stream;

struct pop3_session {
	struct daemon_conn conn; /* first: the daemon's list links it */
	struct daemon *daemon;
	struct daemon_loop *loop; /* in TRANSACTION on a loop thread; NULL: the daemon's loop */
	struct bufferevent *bev;
	struct directout *out;   /* writes a plaintext session's output (daemon/directout.h) */
	struct daemon_move move; /* its connection on the way to its loop (daemon/loops.h) */
	unsigned timeout; /* pop3.timeout, read once: a loop thread never reads the configuration */
	uint32_t id;
	uint8_t state;
	uint8_t errors;
	bool skipping_line;  /* discarding the rest of an overlong line */
	bool paused;         /* output over POP3_OUTPUT_MAX */
	bool draining;       /* inside pop3_session_drain: resumes need not call it */
	bool waiting;        /* a worker or the hook holds a pointer to the session */
	bool gone;           /* the client left while waiting: free when it answers */
	bool plaintext_ok;   /* USER/PASS, PLAIN and LOGIN allowed on this connection */
	bool tls;            /* POP3S, or after STLS */
	bool loopback;       /* the client connects from 127/8 or ::1 */
	char ip[INET6_ADDRSTRLEN];
	char timestamp[POP3_CHALLENGE_MAX]; /* APOP greeting timestamp; "" when not offered */
	char *user;           /* USER's name; the login once authenticated */
	const char *method;   /* the login method in progress */
	enum pop3_mech mech;  /* AUTH: the mechanism in progress */
	char *sasl_data;      /* AUTH: LOGIN's user name, CRAM-MD5's challenge */
	struct event *delay;  /* the timer before a failed login's -ERR */
	struct pop3_maildrop *md;
	struct pop3_stream *stream;
	unsigned long n_retr, n_dele;
	size_t bytes_retr;
};

/* pop3_reply - queue one reply line (without CRLF). */
void pop3_reply(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pop3_error - queue an -ERR line and count it toward the error limit. */
void pop3_error(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pop3_set_state - the only place the state changes. */
void pop3_set_state(struct pop3_session *s, enum pop3_state state);

/* pop3_close - send what is queued, then end the session. */
void pop3_close(struct pop3_session *s);

/* pop3_resume - leave BUSY or STREAM for state and go on with buffered commands. */
void pop3_resume(struct pop3_session *s, enum pop3_state state);

/* pop3_enter_trans - logged in: TRANSACTION, on a loop thread of its own when there is one. */
void pop3_enter_trans(struct pop3_session *s);

/* pop3_wait_done - a worker or the hook answered: false when the session is gone (it was freed). */
bool pop3_wait_done(struct pop3_session *s);

/* pop3_start_tls - after "+OK Begin TLS": drop pipelined plaintext, wrap in TLS; -1 if stuck. */
int pop3_start_tls(struct pop3_session *s);

/* pop3_dispatch - run one command line (without CRLF) through the command table. */
void pop3_dispatch(struct pop3_session *s, const char *line, size_t len);

/* pop3_capa_sasl - the SASL mechanisms offered on this connection ("" when none). */
const char *pop3_capa_sasl(const struct pop3_session *s);

/* pop3_auth_user, ... - the AUTHORIZATION commands (pop3_auth.c). */
void pop3_auth_user(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_auth_pass(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_auth_apop(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_auth_auth(struct pop3_session *s, const struct pop3_command *cmd);

/* pop3_sasl_line - one client line during an AUTH exchange. */
void pop3_sasl_line(struct pop3_session *s, const char *line, size_t len);

/* pop3_stream_message - RETR / TOP: send message i, or its header and lines body lines. */
int pop3_stream_message(struct pop3_session *s, size_t i, bool top, unsigned long lines);

/* pop3_stream_listing - LIST / UIDL without argument: one line per message. */
void pop3_stream_listing(struct pop3_session *s, bool uidl);

/* pop3_stream_pump - produce output until POP3_OUTPUT_MAX or the end; back to TRANS at the end. */
void pop3_stream_pump(struct pop3_session *s);

/* pop3_stream_free - drop a multi-line response in progress. */
void pop3_stream_free(struct pop3_stream **stp);

/* pop3_update - QUIT in TRANSACTION: the UPDATE state on a worker, then the reply and close. */
void pop3_update(struct pop3_session *s);

#endif

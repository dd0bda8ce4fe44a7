/*
 * imap_internal - the session structure shared by the connection I/O
 * (imap_session.c), the command table (imap_cmd.c), the logins
 * (imap_auth.c), the folders (imap_folder_cmd.c), the selected mailbox's
 * commands (imap_select.c, imap_fetch_cmd.c, imap_store_cmd.c,
 * imap_search_cmd.c), APPEND (imap_append.c) and IDLE (imap_idle.c).
 */
#ifndef POSTERN_IMAP_INTERNAL_H
#define POSTERN_IMAP_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "daemon/daemon.h"
#include "daemon/loops.h"
#include "imap/imap_parser.h"

#define IMAP_OUTPUT_MAX (256 * 1024) /* stop producing output past this much unsent */
#define IMAP_INPUT_MAX (64 * 1024)   /* stop reading the socket past this much unread */
#define IMAP_MAX_ERRORS 20           /* BADs in a row before BYE */
#define IMAP_TAG_MAX 128             /* longer tags are refused */
#define IMAP_SASL_LINE_MAX 8192      /* an AUTHENTICATE response line */

/* Session states (RFC 9051 3); the command table lists where each command may run. */
enum imap_state {
	IMAP_S_NOAUTH = 1 << 0,   /* not authenticated */
	IMAP_S_AUTH = 1 << 1,     /* authenticated, nothing selected */
	IMAP_S_SELECTED = 1 << 2, /* a mailbox selected */
	IMAP_S_LOGOUT = 1 << 3,   /* closing: the last answers are leaving */
};

/* What the session is doing besides waiting for the next command. */
enum imap_mode {
	IMAP_M_COMMANDS, /* reading commands */
	IMAP_M_BUSY,     /* a command waits for a worker, a hook or a delay */
	IMAP_M_SASL,     /* AUTHENTICATE: lines are SASL responses */
	IMAP_M_IDLE,     /* IDLE: only "DONE" is read */
	IMAP_M_LITERAL,  /* APPEND: a literal's bytes go to a file */
	IMAP_M_STREAM,   /* a long answer is produced as the output drains */
};

/* The capabilities RFC 9051 ENABLE can switch on. */
enum imap_enabled {
	IMAP_EN_REV2 = 1 << 0,
	IMAP_EN_CONDSTORE = 1 << 1,
	IMAP_EN_QRESYNC = 1 << 2,
	IMAP_EN_UTF8 = 1 << 3,
};

struct imap_mailbox;
struct imap_append;
struct imap_stream;

struct daemon_loop;
struct evbuffer;

struct imap_session {
	struct daemon_conn conn; /* first: the daemon's list links it */
	struct daemon *daemon;
	struct daemon_loop *loop; /* after login on a loop thread; NULL: the daemon's loop */
	struct bufferevent *bev;
	struct directout *out;   /* writes a plaintext session's output (daemon/directout.h) */
	struct daemon_move move; /* its connection on the way to its loop (daemon/loops.h) */
	struct imap_parser *parser;
	uint32_t id;
	unsigned timeout;
	uint8_t state;   /* enum imap_state */
	uint8_t mode;    /* enum imap_mode */
	uint8_t enabled; /* enum imap_enabled */
	uint8_t errors;
	bool tls;          /* IMAPS, or after STARTTLS */
	bool imaps;        /* accepted on an IMAPS listener */
	bool compressed;   /* COMPRESS=DEFLATE is active */
	bool loopback;     /* the client connects from 127/8 or ::1 */
	bool plaintext_ok; /* LOGIN, PLAIN and LOGIN SASL allowed on this connection */
	bool draining;     /* inside imap_session_drain: resumes need not call it */
	bool paused;       /* output over IMAP_OUTPUT_MAX */
	bool waiting;      /* a worker, a hook or a timer holds a pointer to the session */
	bool gone;         /* the client left while waiting: free when it answers */
	bool skipping_sasl; /* discarding the rest of an overlong SASL line */
	bool idle_bad;      /* IDLE ended by a line other than DONE while a scan ran */
	char ip[INET6_ADDRSTRLEN];
	char tag[IMAP_TAG_MAX + 1]; /* the tag of the command in progress */
	char *user;                 /* the login, once authenticated (or being verified) */
	char *home;                 /* the account's Maildir root, once authenticated */
	char *hostname;             /* server.hostname at login: a loop thread never reads cfg */
	size_t max_message_size;    /* smtp.max_message_size at login */
	const char *method;         /* the login method in progress */
	char *sasl_data;            /* AUTHENTICATE LOGIN: the user name */
	int sasl_mech;              /* AUTHENTICATE: the mechanism in progress */
	struct event *delay;        /* the timer before a failed login's NO */
	struct imap_mailbox *mbox;  /* the selected mailbox */
	struct imap_append *append; /* an APPEND in progress */
	struct imap_stream *stream; /* a long answer in progress */
	struct event *idle_timer;   /* IDLE: the periodic check, and "* OK Still here" */
	struct imap_notify_watch *idle_watch; /* IDLE: changes of the selected folder */
	struct timespec idle_seen[2]; /* IDLE: new/ and cur/ mtimes at the last check */
	unsigned idle_ticks;        /* IDLE: timer ticks so far */
	bool idle_poll;             /* IDLE: the ticks check new/ and cur/ (a shared mail root) */
};

/* One command as its handler sees it: the arguments after the name (after "UID NAME" for UID). */
struct imap_call {
	const char *name; /* upper case: "FETCH" also for UID FETCH */
	const struct imap_arg *args;
	size_t count;
	bool uid; /* UID FETCH, UID STORE, ...: numbers are UIDs */
};

/* imap_reply - queue one line (without CRLF): untagged "* ..." or continuation "+ ...". */
void imap_reply(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* imap_tagged - the tagged completion of the command in progress: "TAG OK ...", NO, BAD. */
void imap_tagged(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* imap_bad - "TAG BAD text" (or "* BAD" without a tag), counted toward the error limit. */
void imap_bad(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* imap_set_state - the only place the state changes. */
void imap_set_state(struct imap_session *s, enum imap_state state);

/* imap_busy - the command goes on asynchronously: read nothing more until imap_resume. */
void imap_busy(struct imap_session *s);

/* imap_resume - back to reading commands (the async command has answered). */
void imap_resume(struct imap_session *s);

/* imap_close - send what is queued, then end the session. */
void imap_close(struct imap_session *s);

/* imap_wait_done - a worker or hook answered: false when the session is gone (it was freed). */
bool imap_wait_done(struct imap_session *s);

/* imap_start_tls - after "OK Begin TLS": drop pipelined plaintext, wrap in TLS; -1 if stuck. */
int imap_start_tls(struct imap_session *s);

/* imap_base - the event base the session lives on (the daemon's, or its loop's). */
struct event_base *imap_base(const struct imap_session *s);

/*
 * imap_submit - work(arg) on the io workers, then done(arg) on the
 * session's own thread (through the daemon's loop when it lives on a loop).
 */
void imap_submit(struct imap_session *s, void (*work)(void *arg), void (*done)(void *arg),
		 void *arg);

/*
 * imap_submit_durable - for files the session wrote or links (APPEND,
 * COPY), committed with the store's syncs (imap_durable.c). With
 * sync_first (the files' text is not durable yet), work(arg, false) runs
 * on the sync worker after a sync and must return 1 rather than wait for
 * a lock (it then runs again as below); otherwise work(arg, true) runs on
 * an io worker. After the work, a sync; then after(arg) on an io worker
 * when given (what may only follow the durable work: MOVE removes its
 * sources); then done(arg, err) on the session's own thread, err a failed
 * sync's errno (the work did not run if the first sync failed, after not
 * if the second did).
 */
void imap_submit_durable(struct imap_session *s, bool sync_first, int (*work)(void *arg, bool wait),
			 void (*after)(void *arg), void (*done)(void *arg, int err), void *arg);

/* imap_enter_auth - logged in: on a loop thread of its own when there is one (plaintext only). */
void imap_enter_auth(struct imap_session *s);

/* imap_start_compress - after "OK DEFLATE active": both directions DEFLATE from here; -1 if not. */
int imap_start_compress(struct imap_session *s);

/* imap_dispatch - run one parsed command through the command table. */
void imap_dispatch(struct imap_session *s, const struct imap_command *cmd);

/* imap_capabilities - the CAPABILITY list for the session's state (no "* CAPABILITY" prefix). */
const char *imap_capabilities(const struct imap_session *s, char *buf, size_t size);

/* The command handlers, by file; each answers with imap_tagged/imap_bad or goes busy. */
typedef void imap_handler_fn(struct imap_session *s, const struct imap_call *c);
imap_handler_fn imap_auth_login, imap_auth_authenticate;                   /* imap_auth.c */
imap_handler_fn imap_folder_list, imap_folder_create, imap_folder_delete,  /* imap_folder_cmd.c */
	imap_folder_rename, imap_folder_subscribe, imap_folder_status;
imap_handler_fn imap_select_select, imap_select_close, imap_select_expunge, /* imap_select.c */
	imap_select_check;
imap_handler_fn imap_fetch_cmd;                                            /* imap_fetch_cmd.c */
imap_handler_fn imap_store_cmd, imap_copy_cmd;                             /* imap_store_cmd.c */
imap_handler_fn imap_search_cmd;                                           /* imap_search_cmd.c */
imap_handler_fn imap_append_cmd;                                           /* imap_append.c */
imap_handler_fn imap_idle_cmd;                                             /* imap_idle.c */

/* imap_append_literal - the parser stopped at an APPEND literal: take it to a file or refuse it. */
void imap_append_literal(struct imap_session *s);

/* imap_append_feed - IMAP_M_LITERAL: move input to the file; false when the input ran out. */
bool imap_append_feed(struct imap_session *s);

/* imap_append_abort - drop an APPEND in progress (its files are removed). */
void imap_append_abort(struct imap_session *s);

/* imap_stream_pump - IMAP_M_STREAM: produce output until IMAP_OUTPUT_MAX or the end. */
void imap_stream_pump(struct imap_session *s);

/* imap_stream_free - drop a long answer in progress. */
void imap_stream_free(struct imap_stream **stp);

/* imap_idle_line - IMAP_M_IDLE: a client line ("DONE"; NULL: a bad line). */
void imap_idle_line(struct imap_session *s, const char *line, size_t len);

/* imap_idle_stop - leave IDLE's watch (session end or DONE). */
void imap_idle_stop(struct imap_session *s);

/* imap_sasl_line - one client line during AUTHENTICATE (without CRLF; NULL: a bad line). */
void imap_sasl_line(struct imap_session *s, char *line, size_t len);

/* imap_session_wipe - wipe and free a secret string. */
void imap_session_wipe(char **p);

#endif

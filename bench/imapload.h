/*
 * imapload - what the two halves of the IMAP load generator share:
 * imapload.c (the client state machine, parsing, arguments, main loop) and
 * imapload_push.c (idle mode's push-latency measurement: deliveries over
 * SMTP or as Maildir files, and the latency report). See imapload.c.
 */
#ifndef POSTERN_BENCH_IMAPLOAD_H
#define POSTERN_BENCH_IMAPLOAD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "loadconn.h"

#define IL_MAX_CLIENTS 20000
#define IL_STALL_S 30.0          /* a session silent this long is an error */
#define IL_GRACE_S 30.0          /* sessions still open this long after the end are errors */
#define IL_PUSH_WAIT_S 10.0      /* an EXISTS later than this after its delivery is lost */
#define IL_ERRORS_SHOWN 5

enum il_mode { IL_LOGIN, IL_FULL, IL_APPEND, IL_IDLE };
enum il_phase { IL_OFF, IL_TALK, IL_IDLING, IL_CLOSING };

struct il_client {
	struct lc_conn conn;
	int num;
	enum il_phase phase;
	int resp;           /* step of the next tagged answer expected (0 = greeting) */
	int sent;           /* last step sent */
	long exists;        /* from SELECT */
	long fetched;       /* FETCH answers in this session */
	bool logout;        /* LOGOUT sent */
	bool first;         /* the next line starts a new response */
	bool untagged;      /* the current response is untagged */
	unsigned long long lit; /* literal bytes still to skip */
	double t_push, t_exists; /* idle: delivery time, first EXISTS time (0: none) */
	char user[256];
};

/* The SMTP client of the push measurement. */
struct il_smtp {
	int fd;
	int step;    /* 0 greeting, 1 EHLO, 2 MAIL, 3 RCPT, 4 DATA, 5 data sent */
	int target;  /* the client the current message is for */
	char in[4096];
	size_t len;
};

struct il {
	const char *host, *user_fmt, *password, *folder, *maildir_fmt;
	int port, smtp_port, nclients, ramp, deliveries, gap_ms;
	enum il_mode mode;
	double seconds;
	long max_count;
	bool pipeline;
	int ep;
	struct sockaddr_in addr;
	char *msg;
	size_t msg_len;
	double t0, deadline;
	long started, sessions, errors, appends, fetched, count_started;
	unsigned long long bytes;
	int active, idling, next_start;
	bool ending;             /* idle: DONE sent to everyone */
	int pushed;              /* idle: deliveries made */
	double push_next;        /* idle: time of the next delivery */
	double push_end;         /* idle: last delivery's time */
	int stage;               /* idle: 0 ramping, 1 stdin, 2 delivering, 3 waiting, 4 ending */
	struct il_smtp smtp;
	struct il_client *clients;
};

/* imapload.c */
/* il_error - count an error; describe the first few on stderr. */
void il_error(struct il *l, const struct il_client *c, const char *what, const char *line,
	      size_t n);
/* il_close - end the client's session; counted as done or as an error. */
void il_close(struct il *l, struct il_client *c, bool ok);

/* imapload_push.c */
/* il_push_event - an event of stdin or of the SMTP socket: handled here (true), else false. */
bool il_push_event(struct il *l, void *ptr);
/* il_push_timeout - how long epoll may wait, in ms. */
int il_push_timeout(const struct il *l);
/* il_push_step - idle mode: announce, wait for stdin, deliver, wait, end. */
void il_push_step(struct il *l);
/* il_push_report - the latencies from delivery to EXISTS; a lost one is an error. */
void il_push_report(struct il *l);

#endif

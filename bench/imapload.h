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

#define IL_BUF (64 * 1024)       /* per client; answers are scanned, not kept */
#define IL_MAX_CLIENTS 20000
#define IL_STALL_S 30.0          /* a session silent this long is an error */
#define IL_GRACE_S 30.0          /* sessions still open this long after the end are errors */
#define IL_PUSH_WAIT_S 10.0      /* an EXISTS later than this after its delivery is lost */
#define IL_ERRORS_SHOWN 5

enum il_mode { IL_LOGIN, IL_FULL, IL_APPEND, IL_IDLE };
enum il_phase { IL_OFF, IL_TALK, IL_IDLING, IL_CLOSING };

struct il_client {
	int fd;
	int num;
	enum il_phase phase;
	int resp;           /* step of the next tagged answer expected (0 = greeting) */
	int sent;           /* last step sent */
	long exists;        /* from SELECT */
	long fetched;       /* FETCH answers in this session */
	bool logout;        /* LOGOUT sent */
	bool first;         /* the next line starts a new response */
	bool untagged;      /* the current response is untagged */
	bool watch_out;     /* EPOLLOUT is in the epoll set */
	unsigned long long lit; /* literal bytes still to skip */
	double last;
	double t_push, t_exists; /* idle: delivery time, first EXISTS time (0: none) */
	char user[256];
	char *in;
	size_t off, len;
	char *out;
	size_t out_off, out_len, out_cap;
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
/* il_now - monotonic seconds (the clock Python's time.monotonic reads). */
double il_now(void);
/* il_die - print and exit; only for bad arguments and setup failures. */
void il_die(const char *what);
/* il_error - count an error; describe the first few on stderr. */
void il_error(struct il *l, const struct il_client *c, const char *what, const char *line,
	      size_t n);
/* il_queue - append bytes to the client's output. */
void il_queue(struct il_client *c, const char *data, size_t n);
/* il_flush - write what is queued; 0, or -1 on a socket error. */
int il_flush(struct il *l, struct il_client *c);
/* il_close - end the client's session; counted as done or as an error. */
void il_close(struct il *l, struct il_client *c, bool ok);
/* il_fmt - fmt with "%d" replaced by num. */
void il_fmt(const char *fmt, int num, char *out, size_t size);

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

/* pop3load - a POP3 load generator cheap enough to measure fast servers.
 *
 * make bench compares postern with Dovecot; a client in Python costs about
 * as much CPU per session as the server it measures (../shared/PEERS.md), so
 * this one is a single thread on non-blocking sockets and epoll. Each of the
 * -c clients runs sessions back to back:
 *
 *   connect, greeting, USER, PASS, STAT, then
 *     poll (default):  UIDL, QUIT
 *     full (-f):       LIST, UIDL, RETR 1..n (n from STAT), QUIT
 *
 * Commands go in lock-step (one answer before the next command, as most mail
 * clients do) or, with -p, pipelined in two writes (USER PASS STAT, then all
 * the rest: RFC 2449 PIPELINING). After QUIT's +OK the client waits for the
 * server to close, so TIME_WAIT stays on the server side. Any -ERR, reset or
 * stall ends that session as an error; the client then starts a new one.
 *
 * Usage: pop3load [-H addr] -P port [-c clients] (-t seconds | -n sessions)
 *                 [-u user] [-w password] [-f] [-p]
 * "%d" in the user is replaced by the client's number (0..clients-1), so each
 * client can have its own maildrop. Prints one line of key=value figures:
 * sessions, errors, seconds, sessions_per_s, bytes (all octets received),
 * mb_per_s, client_cpu_s. Exit 0, or 1 when any session failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loadconn.h"

#define LOAD_MAX_CLIENTS 10000
#define LOAD_MAX_MESSAGES 1000000
#define LOAD_STALL_S 30.0        /* a session silent this long is an error */
#define LOAD_GRACE_S 30.0        /* sessions still open this long after the end are errors */

enum load_phase { LOAD_IDLE, LOAD_TALK, LOAD_CLOSING };

struct load_client {
	struct lc_conn conn;
	int num;
	enum load_phase phase;
	int resp;            /* index of the next reply expected (0 = greeting) */
	int sent;            /* commands sent so far (index of the next one + 1) */
	long nmsg;           /* from STAT */
	bool body;           /* inside a multi-line reply */
	char user[256];
};

struct load {
	const char *host;
	int port;
	int nclients;
	double seconds;
	long max_sessions;
	const char *user_fmt;
	const char *password;
	bool full, pipeline;
	int ep;
	struct sockaddr_in addr;
	double t0, deadline;
	long started, sessions, errors;
	unsigned long long bytes;
	int active;
};

/* load_nreplies - replies in a whole session, once STAT told n. */
static long load_nreplies(const struct load *l, const struct load_client *c)
{
	/* greeting USER PASS STAT + (LIST UIDL RETR*n | UIDL) + QUIT */
	return 4 + (l->full ? 2 + c->nmsg : 1) + 1;
}

/* load_multiline - whether reply number r is a multi-line one (after +OK). */
static bool load_multiline(const struct load *l, const struct load_client *c, long r)
{
	return r >= 4 && r < load_nreplies(l, c) - 1;
}

/* load_queue_cmd - append command number i (1 = USER) of this session. */
static void load_queue_cmd(const struct load *l, struct load_client *c, long i)
{
	char line[300];
	int n;

	if (i == 1)
		n = snprintf(line, sizeof line, "USER %s\r\n", c->user);
	else if (i == 2)
		n = snprintf(line, sizeof line, "PASS %s\r\n", l->password);
	else if (i == 3)
		n = snprintf(line, sizeof line, "STAT\r\n");
	else if (i == load_nreplies(l, c) - 1)
		n = snprintf(line, sizeof line, "QUIT\r\n");
	else if (!l->full || i == 5)
		n = snprintf(line, sizeof line, "UIDL\r\n");
	else if (i == 4)
		n = snprintf(line, sizeof line, "LIST\r\n");
	else
		n = snprintf(line, sizeof line, "RETR %ld\r\n", i - 5);
	lc_queue(&c->conn, line, (size_t)n);
	c->sent = (int)i;
}

/* load_next_commands - after reply r, queue what the mode sends next. */
static void load_next_commands(const struct load *l, struct load_client *c, long r)
{
	long last = r == 3 ? load_nreplies(l, c) - 1 : 3;

	if (!l->pipeline) {
		load_queue_cmd(l, c, r + 1);
		return;
	}
	if (r != 0 && r != 3)
		return;
	for (long i = r + 1; i <= last; i++)
		load_queue_cmd(l, c, i);
}

/* load_close - end the client's session; counted as done or as an error. */
static void load_close(struct load *l, struct load_client *c, bool ok)
{
	lc_shut(l->ep, &c->conn);
	c->phase = LOAD_IDLE;
	l->active--;
	if (ok)
		l->sessions++;
	else
		l->errors++;
}

/* load_start - open a new session for the client, if the run goes on. */
static void load_start(struct load *l, struct load_client *c)
{
	if (l->max_sessions > 0 ? l->started >= l->max_sessions : lc_now() >= l->deadline)
		return;
	if (l->errors > 1000)
		return; /* a server that refuses everything: do not spin */
	l->started++;
	l->active++;
	c->phase = LOAD_TALK;
	c->resp = 0;
	c->sent = 0;
	c->nmsg = 0;
	c->body = false;
	if (lc_open(l->ep, &l->addr, &c->conn, c) < 0)
		load_close(l, c, false);
}

/* load_reply_done - reply c->resp is complete; 0 to go on, 1 when QUIT's came, -1 on error. */
static int load_reply_done(struct load *l, struct load_client *c)
{
	long r = c->resp++;

	if (r == load_nreplies(l, c) - 1)
		return 1;
	load_next_commands(l, c, r);
	return 0;
}

/* load_status - one status line ("+OK ..."); -1 on -ERR or nonsense. */
static int load_status(struct load *l, struct load_client *c, const char *line, size_t n)
{
	if (n < 3 || memcmp(line, "+OK", 3) != 0)
		return -1;
	if (c->resp == 3) {
		char tmp[64];
		size_t k = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
		memcpy(tmp, line, k);
		tmp[k] = '\0';
		if (sscanf(tmp, "+OK %ld", &c->nmsg) != 1 || c->nmsg < 0 ||
		    c->nmsg > LOAD_MAX_MESSAGES)
			return -1;
	}
	(void)l;
	return 0;
}

/* load_body_end - the "\r\n.\r\n" that ends a multi-line reply in p[0..n), or NULL;
 * memchr for the dot: glibc's memmem took a fifth of the client's CPU. */
static char *load_body_end(char *p, size_t n)
{
	for (char *d = p; n >= 5 && (d = memchr(d, '.', n - (size_t)(d - p))) != NULL; d++) {
		if (d - p >= 2 && (size_t)(d - p) + 3 <= n && memcmp(d - 2, "\r\n.\r\n", 5) == 0)
			return d - 2;
	}
	return NULL;
}

/* load_parse - consume complete replies in the input; 0, 1 when QUIT's +OK came, -1 on error. */
static int load_parse(struct load *l, struct load_client *c)
{
	for (int guard = 0; guard < 1000000; guard++) {
		char *p = c->conn.in + c->conn.off;
		size_t n = c->conn.len - c->conn.off;
		if (!c->body) {
			char *e = memmem(p, n, "\r\n", 2);
			if (e == NULL)
				return n >= LC_BUF / 2 ? -1 : 0;
			size_t ll = (size_t)(e - p);
			if (load_status(l, c, p, ll) < 0)
				return -1;
			if (load_multiline(l, c, c->resp)) {
				c->conn.off += ll; /* keep the CRLF: an empty body is "\r\n.\r\n" */
				c->body = true;
				continue;
			}
			c->conn.off += ll + 2;
		} else {
			char *e = load_body_end(p, n);
			if (e == NULL) {
				if (n > 4)
					c->conn.off += n - 4; /* scanned: keep only what may start the end */
				return 0;
			}
			c->conn.off += (size_t)(e - p) + 5;
			c->body = false;
		}
		int rc = load_reply_done(l, c);
		if (rc != 0)
			return rc;
	}
	return -1;
}

/* load_readable - read and parse; ends the session when done or broken. */
static void load_readable(struct load *l, struct load_client *c)
{
	for (int i = 0; i < 64; i++) {
		ssize_t n = lc_recv(&c->conn);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* after QUIT's +OK the server's close is the end of a good session */
			load_close(l, c, n == 0 && c->phase == LOAD_CLOSING);
			return;
		}
		l->bytes += (unsigned long long)n;
		if (c->phase == LOAD_CLOSING)
			continue; /* nothing more is expected; wait for the close */
		int rc = load_parse(l, c);
		if (rc < 0) {
			load_close(l, c, false);
			return;
		}
		if (rc == 1)
			c->phase = LOAD_CLOSING; /* wait for the server to close first */
		else if (c->conn.out_len > c->conn.out_off && lc_flush(l->ep, &c->conn, c) < 0) {
			load_close(l, c, false);
			return;
		}
		if ((size_t)n < LC_BUF / 4)
			break; /* drained, most likely: back to epoll rather than an EAGAIN */
	}
}

/* load_usage - print the usage line and exit 2. */
static void load_usage(void)
{
	fprintf(stderr, "usage: pop3load [-H addr] -P port [-c clients] (-t seconds | -n sessions)\n"
	                "                [-u user] [-w password] [-f] [-p]\n");
	exit(2);
}

/* load_args - parse the command line into l. */
static void load_args(struct load *l, int argc, char **argv)
{
	int opt;

	l->host = "127.0.0.1";
	l->nclients = 20;
	l->user_fmt = "u%d@example.test";
	l->password = "secret";
	while ((opt = getopt(argc, argv, "H:P:c:t:n:u:w:fp")) != -1) {
		switch (opt) {
		case 'H': l->host = optarg; break;
		case 'P': l->port = atoi(optarg); break;
		case 'c': l->nclients = atoi(optarg); break;
		case 't': l->seconds = atof(optarg); break;
		case 'n': l->max_sessions = atol(optarg); break;
		case 'u': l->user_fmt = optarg; break;
		case 'w': l->password = optarg; break;
		case 'f': l->full = true; break;
		case 'p': l->pipeline = true; break;
		default: load_usage();
		}
	}
	if (l->port <= 0 || l->port > 65535 || l->nclients <= 0 ||
	    l->nclients > LOAD_MAX_CLIENTS || (l->seconds <= 0) == (l->max_sessions <= 0) ||
	    strlen(l->user_fmt) > 200 || strlen(l->password) > 200)
		load_usage();
	l->addr.sin_family = AF_INET;
	l->addr.sin_port = htons((uint16_t)l->port);
	if (inet_pton(AF_INET, l->host, &l->addr.sin_addr) != 1)
		load_usage();
}

/* load_sweep - sessions that stalled, or outlived the grace period, are errors. */
static void load_sweep(struct load *l, struct load_client *clients, double now)
{
	bool late = now > l->deadline + LOAD_GRACE_S;

	for (int i = 0; i < l->nclients; i++) {
		struct load_client *c = &clients[i];
		if (c->phase != LOAD_IDLE && (late || now - c->conn.last > LOAD_STALL_S))
			load_close(l, c, false);
	}
}

int main(int argc, char **argv)
{
	struct load l = {0};
	struct epoll_event evs[256];

	load_args(&l, argc, argv);
	l.ep = epoll_create1(EPOLL_CLOEXEC);
	if (l.ep < 0)
		lc_die("epoll_create1");
	struct load_client *clients = calloc((size_t)l.nclients, sizeof *clients);
	if (clients == NULL)
		lc_die("calloc");
	double cpu0 = lc_cpu();
	l.t0 = lc_now();
	/* -n: sessions are bounded by count; the deadline only bounds a stuck run */
	l.deadline = l.t0 + (l.seconds > 0 ? l.seconds : 3600);
	for (int i = 0; i < l.nclients; i++) {
		struct load_client *c = &clients[i];
		c->conn.fd = -1;
		c->num = i;
		c->conn.in = malloc(LC_BUF);
		if (c->conn.in == NULL)
			lc_die("malloc");
		lc_fmt(l.user_fmt, i, c->user, sizeof c->user);
		load_start(&l, c);
	}
	double swept = l.t0;
	while (l.active > 0) {
		int n = epoll_wait(l.ep, evs, (int)(sizeof evs / sizeof evs[0]), 100);
		if (n < 0 && errno != EINTR)
			lc_die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct load_client *c = evs[i].data.ptr;
			if (c->phase == LOAD_IDLE)
				continue; /* closed earlier in this batch */
			if (evs[i].events & EPOLLOUT && lc_flush(l.ep, &c->conn, c) < 0)
				load_close(&l, c, false);
			else if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				load_readable(&l, c);
			if (c->phase == LOAD_IDLE)
				load_start(&l, c);
		}
		double now = lc_now();
		if (now - swept >= 1.0) {
			load_sweep(&l, clients, now);
			for (int i = 0; i < l.nclients; i++)
				if (clients[i].phase == LOAD_IDLE)
					load_start(&l, &clients[i]);
			swept = now;
		}
	}
	double elapsed = lc_now() - l.t0;
	printf("sessions=%ld errors=%ld seconds=%.3f sessions_per_s=%.1f bytes=%llu "
	       "mb_per_s=%.1f client_cpu_s=%.3f\n",
	       l.sessions, l.errors, elapsed, (double)l.sessions / elapsed, l.bytes,
	       (double)l.bytes / elapsed / 1e6, lc_cpu() - cpu0);
	for (int i = 0; i < l.nclients; i++) {
		free(clients[i].conn.in);
		free(clients[i].conn.out);
	}
	free(clients);
	close(l.ep);
	return l.errors > 0 ? 1 : 0;
}

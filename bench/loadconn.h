/*
 * loadconn - what the epoll load generators (pop3load, imapload) share: a
 * client connection with its input and output buffers on a non-blocking
 * loopback socket, and the clock, CPU and error helpers around it. The
 * protocols (what to send, how to parse) stay in each generator.
 */
#ifndef POSTERN_BENCH_LOADCONN_H
#define POSTERN_BENCH_LOADCONN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LC_BUF (64 * 1024) /* input per connection; replies are scanned, not kept */

struct lc_conn {
	int fd;            /* -1: closed */
	bool watch_out;    /* EPOLLOUT is in the epoll set */
	char *in;          /* LC_BUF bytes */
	size_t off, len;   /* in[off..len): read and not yet parsed */
	char *out;
	size_t out_off, out_len, out_cap;
	double last;       /* the time of the last progress */
};

/* lc_now - monotonic seconds (the clock Python's time.monotonic reads). */
double lc_now(void);

/* lc_die - print and exit 2; only for bad arguments and setup failures. */
void lc_die(const char *what) __attribute__((noreturn));

/* lc_cpu - this process's user + system CPU seconds. */
double lc_cpu(void);

/* lc_fmt - fmt with "%d" replaced by num. */
void lc_fmt(const char *fmt, int num, char *out, size_t size);

/* lc_queue - append bytes to the output. */
void lc_queue(struct lc_conn *c, const char *data, size_t n);

/* lc_flush - send what is queued; EPOLLOUT only while some is left. 0, or -1 on a socket error. */
int lc_flush(int ep, struct lc_conn *c, void *ptr);

/* lc_open - a new connection to addr, watched for input with ptr; -1 when connect fails at once. */
int lc_open(int ep, const struct sockaddr_in *addr, struct lc_conn *c, void *ptr);

/* lc_shut - stop watching and close (a closed connection: nothing). */
void lc_shut(int ep, struct lc_conn *c);

/* lc_recv - move unparsed input to the front and read more; recv's result. */
ssize_t lc_recv(struct lc_conn *c);

#endif

/* loadconn - the connections, clock and CPU of the epoll load generators. */
#include "loadconn.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double lc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lc_die(const char *what)
{
	perror(what);
	exit(2);
}

double lc_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void lc_fmt(const char *fmt, int num, char *out, size_t size)
{
	const char *d = strstr(fmt, "%d");

	if (d == NULL)
		snprintf(out, size, "%s", fmt);
	else
		snprintf(out, size, "%.*s%d%s", (int)(d - fmt), fmt, num, d + 2);
}

void lc_queue(struct lc_conn *c, const char *data, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 512;
		while (cap < c->out_len + n)
			cap *= 2;
		char *p = realloc(c->out, cap);
		if (p == NULL)
			lc_die("realloc");
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
}

int lc_flush(int ep, struct lc_conn *c, void *ptr)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -1;
		c->out_off += (size_t)n;
	}
	bool more = c->out_off < c->out_len;
	if (!more)
		c->out_off = c->out_len = 0;
	if (more == c->watch_out)
		return 0; /* an epoll_ctl per command would be the client's own overhead */
	c->watch_out = more;
	struct epoll_event ev = {.events = EPOLLIN | (more ? EPOLLOUT : 0), .data.ptr = ptr};
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

int lc_open(int ep, const struct sockaddr_in *addr, struct lc_conn *c, void *ptr)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		lc_die("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	c->watch_out = false;
	c->off = c->len = c->out_off = c->out_len = 0;
	c->last = lc_now();
	if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS)
		return -1;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ptr};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		lc_die("epoll_ctl");
	return 0;
}

void lc_shut(int ep, struct lc_conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

ssize_t lc_recv(struct lc_conn *c)
{
	if (c->off > 0) {
		memmove(c->in, c->in + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	ssize_t n = recv(c->fd, c->in + c->len, LC_BUF - c->len, 0);
	if (n > 0) {
		c->len += (size_t)n;
		c->last = lc_now();
	}
	return n;
}

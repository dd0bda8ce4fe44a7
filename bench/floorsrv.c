/* floorsrv - a bare POP3 or SMTP responder for make bench: the floor under
 * any server's cost on this machine.
 *
 * make bench compares postern with Dovecot and Postfix. This program says
 * how far postern is from what the kernel and the disk allow, with the same
 * load generator in the same run: it makes the system calls a server must
 * make for the load and nothing else (no parsing beyond a command's first
 * four letters, no logins, no checks, no logs). It is a floor, not a server.
 *
 *   pop3: any USER and PASS get +OK; STAT, LIST and UIDL come from a table;
 *         RETR n opens, reads and closes message n and sends "+OK", its text
 *         and "." in one writev. The -n messages of -s octets (CRLF lines,
 *         none starting with '.') are written into DIR at start.
 *   smtp: every command gets 250, DATA 354. A message's text goes into
 *         DIR/tmp/ID (open, write, close) and to the syncer thread, which
 *         commits as postern's store does (see bench/diskprobe.c): one
 *         syncfs makes a batch's text durable, each file is linked into
 *         DIR/new/ and its tmp name unlinked, and the next syncfs makes the
 *         links durable; then the syncer writes the message's 250.
 *
 * -T threads (default 2), each with its own epoll loop and its own
 * SO_REUSEPORT listener on 127.0.0.1:port. Output the socket does not take
 * at once waits for EPOLLOUT, and no more input is read meanwhile. An SMTP
 * client must wait for the 250 after its text (smtp-source does): input
 * that comes before it is answered out of order.
 *
 * Usage: floorsrv -m pop3|smtp -d DIR -P port [-T threads] [-n messages] [-s size]
 * Runs until killed. Exit 1 on a setup error, 2 on bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define FLOOR_IN_MAX (1 << 20)   /* an SMTP message's text, at most */
#define FLOOR_MAX_MSGS 100000
#define FLOOR_MAX_THREADS 64

struct floor_conn {
	int fd;
	int ep;               /* its loop's epoll */
	uint32_t events;      /* what ep waits for on fd */
	bool data;            /* SMTP: reading a message's text */
	bool committing;      /* SMTP: with the syncer until its 250 */
	bool gone;            /* SMTP: closed by the client while committing */
	char *in, *out;
	size_t n_in, cap_in, n_out, cap_out;
	long id;
	struct floor_conn *next;
};

static struct {
	bool smtp;
	const char *dir;
	int port;
	long nmsg;
	size_t size;
	char *list, *uidl; /* POP3's multi-line answers */
	size_t list_len, uidl_len;
	int dir_fd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct floor_conn *pending; /* SMTP: written, not yet synced */
	long seq;
} F = {.nmsg = 100, .size = 10240, .mu = PTHREAD_MUTEX_INITIALIZER,
       .cv = PTHREAD_COND_INITIALIZER};

/* floor_die - report a setup error and exit 1. */
static void floor_die(const char *what)
{
	fprintf(stderr, "floorsrv: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* floor_grow - make *buf hold at least need octets. */
static void floor_grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	*cap = need > 2 * *cap ? need : 2 * *cap;
	*buf = realloc(*buf, *cap);
	if (!*buf)
		floor_die("realloc");
}

/* floor_events - what the connection waits for: input, or room for its output. */
static void floor_events(struct floor_conn *c)
{
	struct epoll_event ev = {.events = c->n_out ? EPOLLOUT : EPOLLIN, .data.ptr = c};

	if (ev.events != c->events && epoll_ctl(c->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = ev.events;
}

/* floor_send - write iov now; keep what the socket did not take. -1 when the peer is gone. */
static int floor_send(struct floor_conn *c, struct iovec *iov, int n)
{
	ssize_t w = c->n_out ? 0 : writev(c->fd, iov, n);

	if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return -1;
	for (int i = 0; i < n; i++) {
		size_t skip = w > 0 ? ((size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len) : 0;
		w -= (ssize_t)skip;
		floor_grow(&c->out, &c->cap_out, c->n_out + iov[i].iov_len - skip);
		memcpy(c->out + c->n_out, (char *)iov[i].iov_base + skip, iov[i].iov_len - skip);
		c->n_out += iov[i].iov_len - skip;
	}
	return 0;
}

/* floor_reply - send a short reply. */
static int floor_reply(struct floor_conn *c, const char *s)
{
	struct iovec iov = {(void *)s, strlen(s)};

	return floor_send(c, &iov, 1);
}

/* floor_flush - on EPOLLOUT: write what waits; -1 when the peer is gone. */
static int floor_flush(struct floor_conn *c)
{
	ssize_t w = write(c->fd, c->out, c->n_out);

	if (w < 0)
		return errno == EAGAIN ? 0 : -1;
	memmove(c->out, c->out + w, c->n_out - (size_t)w);
	c->n_out -= (size_t)w;
	return 0;
}

/* floor_msg_path - DIR/mN. */
static void floor_msg_path(long n, char *buf, size_t size)
{
	snprintf(buf, size, "%s/m%ld", F.dir, n);
}

/* floor_retr - RETR n: open, read, close, one writev. */
static int floor_retr(struct floor_conn *c, long n)
{
	char path[PATH_MAX], head[64], text[65536];

	floor_msg_path(n, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return floor_reply(c, "-ERR no such message\r\n");
	ssize_t len = read(fd, text, sizeof(text));
	close(fd);
	if (len < 0)
		return -1;
	struct iovec iov[3] = {{head, (size_t)snprintf(head, sizeof(head), "+OK %zd octets\r\n", len)},
			       {text, (size_t)len}, {".\r\n", 3}};
	return floor_send(c, iov, 3);
}

/* floor_pop3_line - answer one POP3 command; 1 after QUIT, -1 when the peer is gone. */
static int floor_pop3_line(struct floor_conn *c, const char *line)
{
	char stat[64];
	struct iovec iov;

	if (!strncasecmp(line, "RETR", 4))
		return floor_retr(c, atol(line + 4));
	if (!strncasecmp(line, "LIST", 4) || !strncasecmp(line, "UIDL", 4)) {
		bool list = !strncasecmp(line, "LIST", 4);
		iov = (struct iovec){list ? F.list : F.uidl, list ? F.list_len : F.uidl_len};
		return floor_send(c, &iov, 1);
	}
	if (!strncasecmp(line, "STAT", 4)) {
		snprintf(stat, sizeof(stat), "+OK %ld %zu\r\n", F.nmsg, (size_t)F.nmsg * F.size);
		return floor_reply(c, stat);
	}
	if (!strncasecmp(line, "QUIT", 4))
		return floor_reply(c, "+OK bye\r\n") < 0 ? -1 : 1;
	return floor_reply(c, "+OK\r\n");
}

/* floor_store - SMTP: the text into DIR/tmp/ID, then to the syncer. */
static int floor_store(struct floor_conn *c)
{
	char path[PATH_MAX];

	pthread_mutex_lock(&F.mu);
	c->id = ++F.seq;
	pthread_mutex_unlock(&F.mu);
	snprintf(path, sizeof(path), "%s/tmp/%ld", F.dir, c->id);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, c->in, c->n_in) != (ssize_t)c->n_in || close(fd) < 0)
		floor_die(path);
	pthread_mutex_lock(&F.mu);
	c->committing = true;
	c->next = F.pending;
	F.pending = c;
	pthread_cond_signal(&F.cv);
	pthread_mutex_unlock(&F.mu);
	return 0;
}

/* floor_smtp_line - answer one SMTP command; 1 after QUIT, -1 when the peer is gone. */
static int floor_smtp_line(struct floor_conn *c, const char *line)
{
	if (!strncasecmp(line, "DATA", 4)) {
		c->data = true;
		return floor_reply(c, "354 go ahead\r\n");
	}
	if (!strncasecmp(line, "QUIT", 4))
		return floor_reply(c, "221 bye\r\n") < 0 ? -1 : 1;
	return floor_reply(c, "250 ok\r\n");
}

/* floor_smtp_text - the input is a message's text: store it once it ends with "\r\n.\r\n". */
static int floor_smtp_text(struct floor_conn *c)
{
	if (c->n_in < 5 || memcmp(c->in + c->n_in - 5, "\r\n.\r\n", 5) != 0)
		return c->n_in < FLOOR_IN_MAX ? 0 : -1;
	c->data = false;
	int r = floor_store(c);
	c->n_in = 0;
	return r;
}

/* floor_input - answer the complete lines read; 1 after QUIT, -1 when the peer is gone. */
static int floor_input(struct floor_conn *c)
{
	size_t off = 0;
	int r = 0;

	if (c->data)
		return floor_smtp_text(c);
	while (r == 0 && c->n_out == 0 && !c->data) {
		char *eol = memchr(c->in + off, '\n', c->n_in - off);
		if (!eol)
			break;
		*eol = '\0';
		r = F.smtp ? floor_smtp_line(c, c->in + off) : floor_pop3_line(c, c->in + off);
		off = (size_t)(eol + 1 - c->in);
	}
	memmove(c->in, c->in + off, c->n_in - off);
	c->n_in -= off;
	if (r == 0 && c->data && c->n_in > 0)
		return floor_smtp_text(c);
	return r;
}

/* floor_close - the connection ends; one with the syncer is freed by it. */
static void floor_close(struct floor_conn *c)
{
	pthread_mutex_lock(&F.mu); /* the syncer writes its 250 under the lock: never to a reused fd */
	close(c->fd);
	bool syncer_frees = c->committing;
	c->gone = true;
	pthread_mutex_unlock(&F.mu);
	if (syncer_frees)
		return;
	free(c->in);
	free(c->out);
	free(c);
}

/* floor_ready - the socket is readable or writable. */
static void floor_ready(struct floor_conn *c)
{
	int r;

	if (c->n_out) {
		r = floor_flush(c);
	} else {
		floor_grow(&c->in, &c->cap_in, c->n_in + 65536);
		ssize_t n = read(c->fd, c->in + c->n_in, c->cap_in - c->n_in);
		if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
			floor_close(c);
			return;
		}
		c->n_in += n > 0 ? (size_t)n : 0;
		r = floor_input(c);
	}
	if (r == 0 && c->n_out == 0 && c->n_in > 0 && !F.smtp)
		r = floor_input(c); /* POP3 lines held back while output waited */
	if (r != 0)
		floor_close(c);
	else
		floor_events(c);
}

/* floor_accept - a new connection on this loop, greeted at once. */
static void floor_accept(int ls, int ep)
{
	int one = 1, fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct floor_conn *c = calloc(1, sizeof(*c));
	if (!c)
		floor_die("calloc");
	c->fd = fd;
	c->ep = ep;
	c->events = EPOLLIN;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	if (floor_reply(c, F.smtp ? "220 floor ESMTP\r\n" : "+OK floor\r\n") < 0)
		floor_close(c);
	else
		floor_events(c);
}

/* floor_listen - this thread's own listener on 127.0.0.1:port. */
static int floor_listen(void)
{
	int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)F.port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1024) < 0)
		floor_die("listen");
	return ls;
}

/* floor_loop_cb - thread: one epoll loop with its own listener. */
static void *floor_loop_cb(void *arg)
{
	int ls = *(int *)arg, ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[64];

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0)
		floor_die("epoll");
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr)
				floor_ready(evs[i].data.ptr);
			else
				floor_accept(ls, ep);
		}
	}
	return NULL;
}

/* floor_answer - after the sync that made its link durable: the message's 250. */
static void floor_answer(struct floor_conn *c)
{
	pthread_mutex_lock(&F.mu);
	bool gone = c->gone;
	c->committing = false;
	if (!gone && write(c->fd, "250 ok\r\n", 8) != 8)
		shutdown(c->fd, SHUT_RDWR); /* its loop sees the end and closes it */
	pthread_mutex_unlock(&F.mu);
	if (gone) {
		free(c->in);
		free(c->out);
		free(c);
	}
}

/* floor_link - after the sync that made its text durable: into new/, out of tmp/. */
static void floor_link(const struct floor_conn *c)
{
	char tmp[PATH_MAX], dst[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s/tmp/%ld", F.dir, c->id);
	snprintf(dst, sizeof(dst), "%s/new/%ld.floorsrv,S=%ld", F.dir, c->id, c->id);
	if (link(tmp, dst) < 0 || unlink(tmp) < 0)
		floor_die(dst);
}

/* floor_syncer_cb - thread: each syncfs makes a batch's text and the last batch's links durable. */
static void *floor_syncer_cb(void *arg)
{
	struct floor_conn *linked = NULL;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&F.mu);
		while (!F.pending && !linked)
			pthread_cond_wait(&F.cv, &F.mu);
		struct floor_conn *batch = F.pending;
		F.pending = NULL;
		pthread_mutex_unlock(&F.mu);
		if (syncfs(F.dir_fd) < 0)
			floor_die("syncfs");
		while (linked) {
			struct floor_conn *next = linked->next;
			floor_answer(linked);
			linked = next;
		}
		for (struct floor_conn *c = batch, *next; c; c = next) {
			next = c->next;
			floor_link(c);
			c->next = linked;
			linked = c;
		}
	}
	return NULL;
}

/* floor_write_msg - POP3 message n: CRLF lines of 'x', exactly F.size octets. */
static void floor_write_msg(long n, char *text)
{
	char path[PATH_MAX];

	floor_msg_path(n, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, F.size) != (ssize_t)F.size || close(fd) < 0)
		floor_die(path);
}

/* floor_pop3_setup - the messages, LIST and UIDL. */
static void floor_pop3_setup(void)
{
	char *text = malloc(F.size);
	size_t cap = 64 + 48 * (size_t)F.nmsg;

	F.list = malloc(cap);
	F.uidl = malloc(cap);
	if (!text || !F.list || !F.uidl)
		floor_die("malloc");
	memset(text, 'x', F.size);
	for (size_t i = 78; i + 4 < F.size; i += 80)
		memcpy(text + i, "\r\n", 2);
	memcpy(text + F.size - 2, "\r\n", 2);
	F.list_len = (size_t)snprintf(F.list, cap, "+OK\r\n");
	F.uidl_len = (size_t)snprintf(F.uidl, cap, "+OK\r\n");
	for (long n = 1; n <= F.nmsg; n++) {
		floor_write_msg(n, text);
		F.list_len += (size_t)snprintf(F.list + F.list_len, cap - F.list_len, "%ld %zu\r\n", n, F.size);
		F.uidl_len += (size_t)snprintf(F.uidl + F.uidl_len, cap - F.uidl_len, "%ld floor-%ld\r\n", n, n);
	}
	F.list_len += (size_t)snprintf(F.list + F.list_len, cap - F.list_len, ".\r\n");
	F.uidl_len += (size_t)snprintf(F.uidl + F.uidl_len, cap - F.uidl_len, ".\r\n");
	free(text);
}

/* floor_smtp_setup - DIR/tmp, DIR/new and the syncer. */
static void floor_smtp_setup(void)
{
	char path[PATH_MAX];
	pthread_t t;

	snprintf(path, sizeof(path), "%s/tmp", F.dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		floor_die(path);
	snprintf(path, sizeof(path), "%s/new", F.dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		floor_die(path);
	F.dir_fd = open(F.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (F.dir_fd < 0 || pthread_create(&t, NULL, floor_syncer_cb, NULL) != 0)
		floor_die("syncer");
}

/* floor_usage - bad arguments: exit 2. */
static void floor_usage(void)
{
	fprintf(stderr, "usage: floorsrv -m pop3|smtp -d DIR -P port [-T threads] [-n messages] [-s size]\n");
	exit(2);
}

/* main - the options, the setup of the mode, then a loop per thread until killed. */
int main(int argc, char **argv)
{
	const char *mode = NULL;
	long threads = 2;
	int opt;

	while ((opt = getopt(argc, argv, "m:d:P:T:n:s:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'd': F.dir = optarg; break;
		case 'P': F.port = atoi(optarg); break;
		case 'T': threads = atol(optarg); break;
		case 'n': F.nmsg = atol(optarg); break;
		case 's': F.size = (size_t)atol(optarg); break;
		default: floor_usage();
		}
	}
	if (!mode || !F.dir || F.port <= 0 || F.port > 65535 || threads < 1 ||
	    threads > FLOOR_MAX_THREADS || F.nmsg < 1 || F.nmsg > FLOOR_MAX_MSGS ||
	    F.size < 2 || F.size > 65536 - 64 || (strcmp(mode, "pop3") && strcmp(mode, "smtp")))
		floor_usage();
	F.smtp = !strcmp(mode, "smtp");
	if (F.smtp)
		floor_smtp_setup();
	else
		floor_pop3_setup();
	int ls[FLOOR_MAX_THREADS];
	pthread_t t;
	for (long i = 0; i < threads; i++)
		ls[i] = floor_listen();
	for (long i = 1; i < threads; i++)
		if (pthread_create(&t, NULL, floor_loop_cb, &ls[i]) != 0)
			floor_die("thread");
	floor_loop_cb(&ls[0]);
	return 0;
}

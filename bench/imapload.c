/* imapload - an IMAP load generator cheap enough to measure fast servers.
 *
 * make bench compares postern's IMAP with Dovecot's (bench/imap_bench.py).
 * Like pop3load it is one thread on non-blocking sockets and epoll; each of
 * the -c clients logs in to its own account ("%d" in -u is its number) and
 * runs sessions back to back, one of these workloads (-m):
 *
 *   login:  LOGIN, SELECT INBOX, UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE), LOGOUT
 *   full:   LOGIN, SELECT INBOX, UID FETCH 1:* BODY.PEEK[], LOGOUT
 *   append: LOGIN, then APPEND of -s bytes to folder -F (a LITERAL+ literal)
 *           one after the other, each waiting for its tagged OK, then LOGOUT
 *           when the run ends (one session per client; -n counts APPENDs)
 *   idle:   LOGIN, SELECT INBOX, IDLE; the client stays idling (see below)
 *
 * login and full send their commands in lock-step, or with -p all four in
 * one write. A FETCH must answer for every message SELECT counted. After
 * LOGOUT's OK the client waits for the server to close. Any NO, BAD,
 * unexpected tag, reset or stall (30 s) is an error; the first few are
 * described on stderr. Literals ({n} and {n+}) are skipped by count.
 *
 * Idle mode: at most -C clients log in at a time until all -c idle; then
 * "idling=K connect_s=T" is printed and flushed, and imapload waits for a
 * line on stdin (its measurement point, e.g. for the server's memory). Then
 * with -D N it delivers N messages, each to a different idling client's
 * account, one at a time (-g ms apart): over SMTP to port -S (MAIL, RCPT,
 * DATA: the time is taken at the 250 after the data) or, with -M FMT, as a
 * file written into FMT/tmp and renamed into FMT/new ("%d" in FMT is the
 * client's number; the time is taken after the rename). The latency is
 * from that time to the client's "* n EXISTS" (negative if the EXISTS came
 * first); a delivery whose EXISTS does not come within 10 s is lost (an
 * error). It prints "push=N lost=L p50_ms= p99_ms= max_ms=", then ends
 * every IDLE (DONE) and logs out.
 *
 * Usage: imapload [-H addr] -P port -m login|full|append|idle [-c clients]
 *                 (-t seconds | -n count) [-u user] [-w password] [-p]
 *                 [-F folder] [-s size] [-C ramp] [-D n (-S port | -M fmt)] [-g ms]
 * The last line printed: sessions, errors, seconds, sessions_per_s, appends,
 * appends_per_s, fetched (messages), bytes (all octets received), mb_per_s,
 * client_cpu_s. Exit 0, or 1 when anything failed.
 *
 * The push deliveries and their latency report are in imapload_push.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "imapload.h"

/* il_error - count an error; describe the first few on stderr. */
void il_error(struct il *l, const struct il_client *c, const char *what, const char *line,
	      size_t n)
{
	if (l->errors++ < IL_ERRORS_SHOWN)
		fprintf(stderr, "imapload: client %d step %d: %s: %.*s\n", c ? c->num : -1,
			c ? c->resp : -1, what, (int)(n > 200 ? 200 : n), line ? line : "");
}

/* il_fetch_items - what the FETCH of the workload asks for. */
static const char *il_fetch_items(const struct il *l)
{
	return l->mode == IL_FULL ? "BODY.PEEK[]" : "(UID FLAGS RFC822.SIZE ENVELOPE)";
}

/* il_queue_cmd - append the command of step i (1 = LOGIN) of this session. */
static void il_queue_cmd(const struct il *l, struct il_client *c, int i)
{
	char line[600];
	int n;

	if (i == 1)
		n = snprintf(line, sizeof line, "a1 LOGIN \"%s\" \"%s\"\r\n", c->user, l->password);
	else if (c->logout)
		n = snprintf(line, sizeof line, "a%d LOGOUT\r\n", i);
	else if (l->mode == IL_APPEND)
		n = snprintf(line, sizeof line, "a%d APPEND \"%s\" (\\Seen) {%zu+}\r\n", i, l->folder,
			     l->msg_len);
	else if (i == 2)
		n = snprintf(line, sizeof line, "a2 SELECT INBOX\r\n");
	else if (i == 3 && l->mode == IL_IDLE)
		n = snprintf(line, sizeof line, "a3 IDLE\r\n");
	else
		n = snprintf(line, sizeof line, "a3 UID FETCH 1:* %s\r\n", il_fetch_items(l));
	lc_queue(&c->conn, line, (size_t)n);
	if (l->mode == IL_APPEND && i > 1 && !c->logout) {
		lc_queue(&c->conn, l->msg, l->msg_len);
		lc_queue(&c->conn, "\r\n", 2);
	}
	c->sent = i;
}

/* il_run_over - whether the run's time or count is used up. */
static bool il_run_over(const struct il *l)
{
	if (l->max_count > 0)
		return l->count_started >= l->max_count;
	return lc_now() >= l->deadline;
}

/* il_close - end the client's session; counted as done or as an error. */
void il_close(struct il *l, struct il_client *c, bool ok)
{
	lc_shut(l->ep, &c->conn);
	if (c->phase == IL_IDLING)
		l->idling--;
	c->phase = IL_OFF;
	l->active--;
	if (ok)
		l->sessions++;
	else
		il_error(l, c, "session failed", NULL, 0);
}

/* il_may_start - whether a new session may begin now. */
static bool il_may_start(struct il *l, struct il_client *c)
{
	if (l->errors > 1000)
		return false; /* a server that refuses everything: do not spin */
	if (l->mode == IL_IDLE)
		return l->active - l->idling < l->ramp;
	if (l->mode == IL_APPEND)
		return c->sent == 0 && !il_run_over(l);
	if (il_run_over(l))
		return false;
	l->count_started++;
	return true;
}

/* il_start - open a new session for the client, if the run goes on. */
static void il_start(struct il *l, struct il_client *c)
{
	if (!il_may_start(l, c))
		return;
	l->started++;
	l->active++;
	c->phase = IL_TALK;
	c->resp = c->sent = 0;
	c->exists = c->fetched = 0;
	c->logout = false;
	c->first = true;
	c->lit = 0;
	if (lc_open(l->ep, &l->addr, &c->conn, c) < 0)
		il_close(l, c, false);
}

/* il_next - after the tagged answer of step r (0: greeting), queue what comes next. */
static void il_next(struct il *l, struct il_client *c, int r)
{
	if (l->mode == IL_APPEND && r >= 1 && !c->logout) {
		l->appends += r >= 2;
		if (il_run_over(l))
			c->logout = true;
		else
			l->count_started++;
	}
	if (l->mode == IL_IDLE && r == 3)
		c->logout = true; /* IDLE ended with DONE */
	if (l->pipeline && (l->mode == IL_LOGIN || l->mode == IL_FULL)) {
		if (r == 0) {
			for (int i = 1; i <= 3; i++)
				il_queue_cmd(l, c, i);
			c->logout = true;
			il_queue_cmd(l, c, 4);
		}
		return;
	}
	if (l->mode != IL_APPEND && l->mode != IL_IDLE && r == 3)
		c->logout = true;
	il_queue_cmd(l, c, r + 1);
}

/* il_tagged - a tagged answer; 0 to go on, 1 when LOGOUT's came, -1 on error. */
static int il_tagged(struct il *l, struct il_client *c, const char *p, size_t n)
{
	char tag[16];
	int tl = snprintf(tag, sizeof tag, "a%d OK", c->resp);

	if (n < (size_t)tl || memcmp(p, tag, (size_t)tl) != 0) {
		il_error(l, c, "unexpected answer", p, n);
		return -1;
	}
	if (c->resp == 3 && l->mode != IL_APPEND && l->mode != IL_IDLE && c->fetched != c->exists) {
		il_error(l, c, "FETCH answered for fewer messages than EXISTS", p, n);
		return -1;
	}
	int r = c->resp++;
	if (c->logout && r == c->sent)
		return 1;
	il_next(l, c, r);
	return 0;
}

/* il_untagged - an untagged line (after "* "): EXISTS, FETCH counted; BYE checked. */
static int il_untagged(struct il *l, struct il_client *c, const char *p, size_t n)
{
	char tmp[64];
	size_t k = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
	long num;
	char word[16];

	memcpy(tmp, p, k);
	tmp[k] = '\0';
	if (strncmp(tmp, "BYE", 3) == 0 && !c->logout) {
		il_error(l, c, "BYE before LOGOUT", p, n);
		return -1;
	}
	if (sscanf(tmp, "%ld %15s", &num, word) != 2)
		return 0;
	if (strcmp(word, "FETCH") == 0) {
		c->fetched++;
		l->fetched++;
	} else if (strcmp(word, "EXISTS") == 0) {
		if (c->phase == IL_IDLING && c->t_exists == 0 && num > c->exists)
			c->t_exists = lc_now();
		c->exists = num;
	}
	return 0;
}

/* il_idle_begun - the "+ idling" of IDLE: the client now waits. */
static int il_idle_begun(struct il *l, struct il_client *c)
{
	if (l->mode != IL_IDLE || c->sent != 3 || c->phase != IL_TALK) {
		il_error(l, c, "unexpected continuation", NULL, 0);
		return -1;
	}
	c->phase = IL_IDLING;
	l->idling++;
	return 0;
}

/* il_line - the first line of one response (a literal may follow it); 0, 1 at the end, -1. */
static int il_line(struct il *l, struct il_client *c, const char *p, size_t n)
{
	if (c->resp == 0) {
		if (n < 4 || memcmp(p, "* OK", 4) != 0) {
			il_error(l, c, "bad greeting", p, n);
			return -1;
		}
		c->resp = 1;
		il_next(l, c, 0);
		return 0;
	}
	if (n >= 2 && memcmp(p, "* ", 2) == 0)
		return il_untagged(l, c, p + 2, n - 2);
	if (n >= 1 && p[0] == '+')
		return il_idle_begun(l, c);
	return il_tagged(l, c, p, n);
}

/* il_literal_size - the n of a line ending in "{n}" or "{n+}", or -1. */
static long long il_literal_size(const char *p, size_t n)
{
	if (n < 3 || p[n - 1] != '}')
		return -1;
	size_t i = n - 1;
	if (p[i - 1] == '+')
		i--;
	size_t end = i;
	while (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9')
		i--;
	if (i == 0 || p[i - 1] != '{' || i == end || end - i > 12)
		return -1;
	return strtoll(p + i, NULL, 10);
}

/* il_parse - consume what is complete in the input; 0, 1 when LOGOUT's OK came, -1. */
static int il_parse(struct il *l, struct il_client *c)
{
	for (;;) {
		if (c->lit > 0) {
			size_t k = c->conn.len - c->conn.off < c->lit ? c->conn.len - c->conn.off
								      : (size_t)c->lit;
			c->conn.off += k;
			c->lit -= k;
			if (c->lit > 0)
				return 0;
		}
		char *p = c->conn.in + c->conn.off;
		size_t n = c->conn.len - c->conn.off;
		char *e = memmem(p, n, "\r\n", 2);
		if (e == NULL)
			return n >= LC_BUF / 2 ? -1 : 0;
		size_t ll = (size_t)(e - p);
		c->conn.off += ll + 2;
		long long lit = il_literal_size(p, ll);
		int rc = c->first ? il_line(l, c, p, ll) : 0;
		if (rc != 0)
			return rc;
		c->first = lit < 0;
		c->lit = lit > 0 ? (unsigned long long)lit : 0;
	}
}

/* il_readable - read and parse; ends the session when done or broken. */
static void il_readable(struct il *l, struct il_client *c)
{
	for (int i = 0; i < 64; i++) {
		ssize_t n = lc_recv(&c->conn);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* after LOGOUT's OK the server's close is the end of a good session */
			il_close(l, c, n == 0 && c->phase == IL_CLOSING);
			return;
		}
		l->bytes += (unsigned long long)n;
		if (c->phase == IL_CLOSING) {
			c->conn.off = c->conn.len;
			continue; /* nothing more is expected; wait for the close */
		}
		int rc = il_parse(l, c);
		if (rc < 0) {
			il_close(l, c, false);
			return;
		}
		if (rc == 1)
			c->phase = IL_CLOSING;
		else if (c->conn.out_len > c->conn.out_off && lc_flush(l->ep, &c->conn, c) < 0) {
			il_close(l, c, false);
			return;
		}
		if ((size_t)n < LC_BUF / 4)
			break;
	}
}

/* il_message - the message APPEND and the push deliveries send: headers, then lines of x, CRLF. */
static void il_message(struct il *l, size_t size)
{
	static const char head[] =
		"From: Bench <bench@remote.test>\r\nTo: <user@example.test>\r\n"
		"Subject: imap bench\r\nDate: Sat, 05 Dec 2026 00:00:00 +0000\r\n"
		"Message-ID: <imapload@remote.test>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain\r\n\r\n";
	size_t hl = sizeof head - 1;

	if (size < hl + 2)
		size = hl + 2;
	l->msg = malloc(size);
	if (l->msg == NULL)
		lc_die("malloc");
	memcpy(l->msg, head, hl);
	for (size_t i = hl; i < size; i++)
		l->msg[i] = (i - hl) % 78 == 76 ? '\r' : (i - hl) % 78 == 77 ? '\n' : 'x';
	l->msg[size - 2] = '\r';
	l->msg[size - 1] = '\n';
	l->msg_len = size;
}

/* il_usage - print the usage and exit 2. */
static void il_usage(void)
{
	fprintf(stderr, "usage: imapload [-H addr] -P port -m login|full|append|idle [-c clients]\n"
	                "                (-t seconds | -n count) [-u user] [-w password] [-p]\n"
	                "                [-F folder] [-s size] [-C ramp] [-D n (-S port | -M fmt)] [-g ms]\n");
	exit(2);
}

/* il_mode_arg - the workload named by -m. */
static enum il_mode il_mode_arg(const char *s)
{
	static const char *names[] = {"login", "full", "append", "idle"};

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0)
			return (enum il_mode)i;
	}
	il_usage();
	return IL_LOGIN;
}

/* il_check_args - refuse settings that make no sense. */
static void il_check_args(struct il *l)
{
	if (l->port <= 0 || l->port > 65535 || l->nclients <= 0 || l->nclients > IL_MAX_CLIENTS ||
	    (l->seconds <= 0) == (l->max_count <= 0) || strlen(l->user_fmt) > 200 ||
	    strlen(l->password) > 200 || strlen(l->folder) > 200 || l->ramp <= 0 ||
	    l->deliveries < 0 || (l->deliveries > 0 && (l->smtp_port > 0) == (l->maildir_fmt != NULL)))
		il_usage();
	if (l->deliveries > l->nclients)
		l->deliveries = l->nclients; /* each idling client gets at most one */
	l->addr.sin_family = AF_INET;
	l->addr.sin_port = htons((uint16_t)l->port);
	if (inet_pton(AF_INET, l->host, &l->addr.sin_addr) != 1)
		il_usage();
}

/* il_args - parse the command line into l. */
static void il_args(struct il *l, int argc, char **argv)
{
	int opt;
	long size = 10240;

	l->host = "127.0.0.1";
	l->nclients = 20;
	l->ramp = 100;
	l->gap_ms = 10;
	l->user_fmt = "u%d@example.test";
	l->password = "secret";
	l->folder = "Sent";
	while ((opt = getopt(argc, argv, "H:P:m:c:t:n:u:w:pF:s:C:D:S:M:g:")) != -1) {
		switch (opt) {
		case 'H': l->host = optarg; break;
		case 'P': l->port = atoi(optarg); break;
		case 'm': l->mode = il_mode_arg(optarg); break;
		case 'c': l->nclients = atoi(optarg); break;
		case 't': l->seconds = atof(optarg); break;
		case 'n': l->max_count = atol(optarg); break;
		case 'u': l->user_fmt = optarg; break;
		case 'w': l->password = optarg; break;
		case 'p': l->pipeline = true; break;
		case 'F': l->folder = optarg; break;
		case 's': size = atol(optarg); break;
		case 'C': l->ramp = atoi(optarg); break;
		case 'D': l->deliveries = atoi(optarg); break;
		case 'S': l->smtp_port = atoi(optarg); break;
		case 'M': l->maildir_fmt = optarg; break;
		case 'g': l->gap_ms = atoi(optarg); break;
		default: il_usage();
		}
	}
	if (size <= 0 || size > 64L * 1024 * 1024)
		il_usage();
	il_check_args(l);
	il_message(l, (size_t)size);
}

/* il_sweep - sessions that stalled, or outlived the grace period, are errors. */
static void il_sweep(struct il *l, double now)
{
	bool late = l->mode != IL_IDLE && now > l->deadline + IL_GRACE_S;

	if (l->mode == IL_IDLE && now > l->deadline)
		late = true; /* -t bounds the whole idle run */
	for (int i = 0; i < l->nclients; i++) {
		struct il_client *c = &l->clients[i];
		if (c->phase == IL_OFF || (c->phase == IL_IDLING && !late))
			continue;
		if (late || now - c->conn.last > IL_STALL_S)
			il_close(l, c, false);
	}
}

/* il_event - one epoll event of a client. */
static void il_event(struct il *l, struct il_client *c, unsigned events)
{
	if (c->phase == IL_OFF)
		return; /* closed earlier in this batch */
	if (events & EPOLLOUT && lc_flush(l->ep, &c->conn, c) < 0)
		il_close(l, c, false);
	else if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		il_readable(l, c);
}

/* il_start_more - start whatever sessions may start now. */
static void il_start_more(struct il *l)
{
	if (l->mode == IL_IDLE) {
		while (l->next_start < l->nclients && l->active - l->idling < l->ramp &&
		       l->errors <= 1000)
			il_start(l, &l->clients[l->next_start++]);
		return;
	}
	for (int i = 0; i < l->nclients; i++)
		if (l->clients[i].phase == IL_OFF)
			il_start(l, &l->clients[i]);
}

/* il_loop - run until no session is left. */
static void il_loop(struct il *l)
{
	struct epoll_event evs[256];
	double swept = l->t0;

	il_start_more(l);
	while (l->active > 0) {
		int n = epoll_wait(l->ep, evs, (int)(sizeof evs / sizeof evs[0]), il_push_timeout(l));
		if (n < 0 && errno != EINTR)
			lc_die("epoll_wait");
		for (int i = 0; i < n; i++) {
			if (il_push_event(l, evs[i].data.ptr))
				continue;
			struct il_client *c = evs[i].data.ptr;
			il_event(l, c, evs[i].events);
			if (c->phase == IL_OFF && l->mode != IL_IDLE)
				il_start(l, c);
		}
		if (l->mode == IL_IDLE) {
			il_start_more(l);
			il_push_step(l);
		}
		double now = lc_now();
		if (now - swept >= 1.0) {
			il_sweep(l, now);
			il_start_more(l);
			swept = now;
		}
	}
}

int main(int argc, char **argv)
{
	struct il l = {0};

	il_args(&l, argc, argv);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	l.ep = epoll_create1(EPOLL_CLOEXEC);
	if (l.ep < 0)
		lc_die("epoll_create1");
	l.clients = calloc((size_t)l.nclients, sizeof *l.clients);
	if (l.clients == NULL)
		lc_die("calloc");
	l.smtp.fd = -1;
	double cpu0 = lc_cpu();
	l.t0 = lc_now();
	/* -n: bounded by count; the deadline only bounds a stuck run */
	l.deadline = l.t0 + (l.seconds > 0 ? l.seconds : 3600);
	for (int i = 0; i < l.nclients; i++) {
		struct il_client *c = &l.clients[i];
		c->conn.fd = -1;
		c->num = i;
		c->conn.in = malloc(LC_BUF);
		if (c->conn.in == NULL)
			lc_die("malloc");
		lc_fmt(l.user_fmt, i, c->user, sizeof c->user);
	}
	il_loop(&l);
	il_push_report(&l);
	double elapsed = lc_now() - l.t0;
	printf("sessions=%ld errors=%ld seconds=%.3f sessions_per_s=%.1f appends=%ld "
	       "appends_per_s=%.1f fetched=%ld bytes=%llu mb_per_s=%.1f client_cpu_s=%.3f\n",
	       l.sessions, l.errors, elapsed, (double)l.sessions / elapsed, l.appends,
	       (double)l.appends / elapsed, l.fetched, l.bytes, (double)l.bytes / elapsed / 1e6,
	       lc_cpu() - cpu0);
	for (int i = 0; i < l.nclients; i++) {
		free(l.clients[i].conn.in);
		free(l.clients[i].conn.out);
	}
	free(l.clients);
	free(l.msg);
	close(l.ep);
	return l.errors > 0 ? 1 : 0;
}

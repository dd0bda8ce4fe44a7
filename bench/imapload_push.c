/* imapload_push - idle mode's push-latency measurement for imapload.
 *
 * Once every client idles and stdin gives the go, -D messages are delivered,
 * each to a different idling client's account, -g ms apart: over SMTP (a
 * small blocking-connect client driven by the same epoll loop) or as files
 * renamed into a Maildir's new/. The latency from each delivery to its
 * client's "* n EXISTS" is reported at the end; see imapload.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "imapload.h"

/* il_push_target - the client delivery d goes to (each a different one). */
static int il_push_target(const struct il *l, int d)
{
	return (int)((long)d * l->nclients / l->deliveries);
}

/* il_smtp_send - write a whole command or message to the SMTP socket; -1 on error. */
static int il_smtp_send(struct il *l, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(l->smtp.fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* il_smtp_open - connect to the SMTP port (blocking: loopback) and watch it. */
static int il_smtp_open(struct il *l)
{
	struct sockaddr_in a = l->addr;

	a.sin_port = htons((uint16_t)l->smtp_port);
	l->smtp.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->smtp.fd < 0 || connect(l->smtp.fd, (struct sockaddr *)&a, sizeof a) < 0)
		return -1;
	int one = 1;
	setsockopt(l->smtp.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->smtp};
	return epoll_ctl(l->ep, EPOLL_CTL_ADD, l->smtp.fd, &ev);
}

/* il_smtp_close - QUIT and close the SMTP connection. */
static void il_smtp_close(struct il *l)
{
	if (l->smtp.fd < 0)
		return;
	il_smtp_send(l, "QUIT\r\n", 6);
	epoll_ctl(l->ep, EPOLL_CTL_DEL, l->smtp.fd, NULL);
	close(l->smtp.fd);
	l->smtp.fd = -1;
}

/* il_smtp_mail - start the next delivery: MAIL FROM. */
static int il_smtp_mail(struct il *l)
{
	static const char mail[] = "MAIL FROM:<bench@remote.test>\r\n";

	l->smtp.target = il_push_target(l, l->pushed);
	l->smtp.step = 2;
	return il_smtp_send(l, mail, sizeof mail - 1);
}

/* il_smtp_reply - the SMTP server answered code to the current step; -1 on error. */
static int il_smtp_reply(struct il *l, int code)
{
	static const int want[] = {220, 250, 250, 250, 354, 250};
	char line[400];
	struct il_smtp *s = &l->smtp;

	if (s->step > 5 || code != want[s->step])
		return -1;
	switch (s->step++) {
	case 0:
		return il_smtp_send(l, "EHLO bench.test\r\n", 17);
	case 1:
		return il_smtp_mail(l);
	case 2:
		snprintf(line, sizeof line, "RCPT TO:<%s>\r\n", l->clients[s->target].user);
		return il_smtp_send(l, line, strlen(line));
	case 3:
		return il_smtp_send(l, "DATA\r\n", 6);
	case 4:
		if (il_smtp_send(l, l->msg, l->msg_len) < 0)
			return -1;
		return il_smtp_send(l, ".\r\n", 3);
	default:
		l->clients[s->target].t_push = lc_now();
		l->push_next = lc_now() + l->gap_ms / 1000.0;
		l->pushed++;
		return 0;
	}
}

/* il_smtp_readable - read SMTP replies (the last line of each: "ddd "). */
static void il_smtp_readable(struct il *l)
{
	struct il_smtp *s = &l->smtp;
	ssize_t n = recv(s->fd, s->in + s->len, sizeof s->in - 1 - s->len, MSG_DONTWAIT);

	if (n <= 0) {
		il_error(l, NULL, "SMTP connection closed", NULL, 0);
		il_smtp_close(l);
		return;
	}
	s->len += (size_t)n;
	char *e;
	while ((e = memmem(s->in, s->len, "\r\n", 2)) != NULL) {
		size_t ll = (size_t)(e - s->in);
		if (ll >= 4 && s->in[3] == ' ' && il_smtp_reply(l, atoi(s->in)) < 0) {
			il_error(l, NULL, "SMTP", s->in, ll);
			il_smtp_close(l);
			return;
		}
		memmove(s->in, e + 2, s->len - ll - 2);
		s->len -= ll + 2;
	}
}

/* il_drop - deliver the next message as a file renamed from tmp/ into new/; -1 on error. */
static int il_drop(struct il *l)
{
	int target = il_push_target(l, l->pushed);
	char dir[400], name[200], from[700], to[700];
	size_t lf = 0;

	lc_fmt(l->maildir_fmt, target, dir, sizeof dir);
	for (size_t i = 0; i < l->msg_len; i++)
		lf += l->msg[i] != '\r';
	snprintf(name, sizeof name, "%ld.M%dP%dQ%d.imapload,S=%zu,W=%zu", (long)time(NULL),
		 l->pushed, (int)getpid(), target, lf, l->msg_len);
	snprintf(from, sizeof from, "%s/tmp/%s", dir, name);
	snprintf(to, sizeof to, "%s/new/%s", dir, name);
	FILE *f = fopen(from, "w");
	if (f == NULL)
		return -1;
	for (size_t i = 0; i < l->msg_len; i++)
		if (l->msg[i] != '\r')
			fputc(l->msg[i], f);
	if (fclose(f) != 0 || rename(from, to) < 0)
		return -1;
	l->clients[target].t_push = lc_now();
	l->push_next = lc_now() + l->gap_ms / 1000.0;
	l->pushed++;
	return 0;
}

/* il_push_event - an event of stdin or of the SMTP socket: handled here (true), else false. */
bool il_push_event(struct il *l, void *ptr)
{
	char buf[256];

	if (ptr == &l->smtp) {
		il_smtp_readable(l);
		return true;
	}
	if (ptr != l)
		return false;
	ssize_t n = read(0, buf, sizeof buf);
	(void)n;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, 0, NULL);
	l->stage = 2;
	if (l->smtp_port > 0 && l->deliveries > 0 && il_smtp_open(l) < 0) {
		il_error(l, NULL, "cannot connect to the SMTP port", NULL, 0);
		l->stage = 4;
	}
	return true;
}

/* il_push_timeout - how long epoll may wait, in ms. */
int il_push_timeout(const struct il *l)
{
	if (l->stage == 2) {
		double ms = (l->push_next - lc_now()) * 1000;
		return ms < 0 ? 0 : ms > 100 ? 100 : (int)ms;
	}
	return 100;
}

/* il_push_waited - stage 3: every delivered client has its EXISTS, or the wait is over. */
static bool il_push_waited(const struct il *l)
{
	if (lc_now() > l->push_end + IL_PUSH_WAIT_S)
		return true;
	for (int d = 0; d < l->pushed; d++) {
		const struct il_client *c = &l->clients[il_push_target(l, d)];
		if (c->t_exists == 0 && c->phase == IL_IDLING)
			return false;
	}
	return true;
}

/* il_push_deliver - stage 2: the next delivery when its time has come. */
static void il_push_deliver(struct il *l)
{
	if (l->pushed >= l->deliveries || (l->smtp_port > 0 && l->smtp.fd < 0)) {
		il_smtp_close(l);
		l->push_end = lc_now();
		l->stage = 3;
		return;
	}
	if (lc_now() < l->push_next)
		return;
	if (l->maildir_fmt != NULL) {
		if (il_drop(l) < 0) {
			il_error(l, NULL, "cannot drop a message into the Maildir", NULL, 0);
			l->stage = 3;
		}
	} else if (l->smtp.step == 6 && il_smtp_mail(l) < 0) {
		il_smtp_close(l);
	}
}

/* il_push_end - stage 4: every idling client sends DONE (then LOGOUT after its OK). */
static void il_push_end(struct il *l)
{
	for (int i = 0; i < l->nclients; i++) {
		struct il_client *c = &l->clients[i];
		if (c->phase != IL_IDLING)
			continue;
		c->phase = IL_TALK;
		l->idling--;
		c->conn.last = lc_now();
		lc_queue(&c->conn, "DONE\r\n", 6);
		if (lc_flush(l->ep, &c->conn, c) < 0)
			il_close(l, c, false);
	}
	l->stage = 5;
}

/* il_push_step - idle mode: announce, wait for stdin, deliver, wait, end. */
void il_push_step(struct il *l)
{
	if (l->stage == 0 && l->next_start == l->nclients && l->active == l->idling) {
		printf("idling=%d connect_s=%.3f errors=%ld\n", l->idling, lc_now() - l->t0, l->errors);
		fflush(stdout);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, 0, &ev) < 0)
			lc_die("epoll_ctl stdin");
		l->stage = 1;
	}
	if (l->stage == 2)
		il_push_deliver(l);
	if (l->stage == 3 && il_push_waited(l))
		l->stage = 4;
	if (l->stage == 4)
		il_push_end(l);
}

/* il_cmp - qsort order of doubles. */
static int il_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* il_push_report - the latencies from delivery to EXISTS; a lost one is an error. */
void il_push_report(struct il *l)
{
	double *v = calloc((size_t)l->pushed + 1, sizeof *v);
	int n = 0, lost = 0;

	if (l->mode != IL_IDLE || l->deliveries == 0 || v == NULL) {
		free(v);
		return;
	}
	for (int d = 0; d < l->pushed; d++) {
		const struct il_client *c = &l->clients[il_push_target(l, d)];
		if (c->t_exists > 0)
			v[n++] = (c->t_exists - c->t_push) * 1000;
		else
			lost++;
	}
	l->errors += lost + (l->deliveries - l->pushed);
	qsort(v, (size_t)n, sizeof *v, il_cmp);
	size_t p99 = n > 0 ? (size_t)((n * 99 + 99) / 100) - 1 : 0;
	printf("push=%d lost=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f min_ms=%.2f\n", l->pushed, lost,
	       n ? v[(n - 1) / 2] : 0.0, n ? v[p99] : 0.0, n ? v[n - 1] : 0.0, n ? v[0] : 0.0);
	free(v);
}

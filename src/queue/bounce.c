/* bounce - format and inject RFC 3464 delivery status notifications. */
#include "auth/accounts.h"
#include "queue/bounce.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "mailauth/mailauth_sign.h"
#include "mailauth/mailauth_stream.h"
#include "delivery/smtpc_proto.h"
#include "queue/queue_env.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xalloc.h"

#define BOUNCE_HEADERS_MAX (64 * 1024)

/* bounce_date - an RFC 5322 date. */
static void bounce_date(int64_t when, char *buf, size_t size)
{
	time_t t = (time_t)when;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* bounce_split - "RELAY said: REPLY" into relay host and reply; false for our own reasons. */
static int bounce_split(const char *error, char *relay, size_t rsize, const char **reply_r)
{
	const char *said = strstr(error, " said: ");
	const char *bracket;

	if (said == NULL)
		return -1;
	bracket = memchr(error, '[', (size_t)(said - error));
	size_t n = (size_t)((bracket != NULL ? bracket : said) - error);
	snprintf(relay, rsize, "%.*s", (int)n, error);
	*reply_r = said + 7;
	return 0;
}

void bounce_status(const char *error, char *buf, size_t size)
{
	char relay[256];
	const char *reply, *sp;

	snprintf(buf, size, "5.0.0");
	if (bounce_split(error, relay, sizeof(relay), &reply) == 0 && strlen(reply) > 4) {
		buf[0] = reply[0] == '4' ? '4' : '5';
		error = reply + 4;
	}
	sp = strchr(error, ' ');
	size_t n = sp != NULL ? (size_t)(sp - error) : strlen(error);
	if (n < size && (smtpc_status_valid(error, n, '5') || smtpc_status_valid(error, n, '4')))
		snprintf(buf, size, "%.*s", (int)n, error);
}

/* bounce_rcpt_report - the per-recipient fields of the delivery-status part. */
static void bounce_rcpt_report(FILE *f, const struct bounce_rcpt *r)
{
	char relay[256], status[16];
	const char *reply;

	bounce_status(r->error, status, sizeof(status));
	if (status[0] == '4')
		status[0] = '5'; /* Action: failed takes a permanent status */
	fprintf(f, "\nFinal-Recipient: rfc822; %s\nOriginal-Recipient: rfc822; %s\n"
		   "Action: failed\nStatus: %s\n", r->address, r->address, status);
	if (bounce_split(r->error, relay, sizeof(relay), &reply) == 0)
		fprintf(f, "Remote-MTA: dns; %s\nDiagnostic-Code: smtp; %s\n", relay, reply);
	else
		fprintf(f, "Diagnostic-Code: X-Postern; %s\n", r->error);
}

/* bounce_human - the text/plain part. */
static void bounce_human(FILE *f, const struct bounce_info *b)
{
	fprintf(f, "This is the mail system at host %s.\n\n"
		   "I'm sorry to have to inform you that your message could not\n"
		   "be delivered to one or more recipients. It's attached below.\n\n"
		   "For further assistance, please send mail to postmaster.\n\n"
		   "                   The mail system\n",
		b->hostname);
	for (size_t i = 0; i < b->n_rcpts; i++)
		fprintf(f, "\n<%s>: %s\n", b->rcpts[i].address, b->rcpts[i].error);
}

/* bounce_top - the DSN's own header and the MIME preamble. */
static void bounce_top(FILE *f, const struct bounce_info *b, const char *boundary)
{
	char date[64];

	bounce_date(b->now, date, sizeof(date));
	fprintf(f, "From: MAILER-DAEMON@%s (Mail Delivery System)\nTo: <%s>\n"
		   "Subject: Undelivered Mail Returned to Sender\nDate: %s\n"
		   "Message-ID: <%s.bounce@%s>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
		   "Content-Type: multipart/report; report-type=delivery-status;\n"
		   "\tboundary=\"%s\"\n\nThis is a MIME-encapsulated message.\n\n",
		b->hostname, b->sender, date, b->queue_id, b->hostname, boundary);
}

char *bounce_format(const struct bounce_info *b, size_t *len_r)
{
	char boundary[128], date[64], *text = NULL;
	FILE *f = open_memstream(&text, len_r);

	if (f == NULL)
		fatal("open_memstream: out of memory");
	snprintf(boundary, sizeof(boundary), "%s.%" PRId64 "/%s", b->queue_id, b->now, b->hostname);
	bounce_top(f, b, boundary);
	fprintf(f, "--%s\nContent-Description: Notification\n"
		   "Content-Type: text/plain; charset=us-ascii\n\n", boundary);
	bounce_human(f, b);
	bounce_date(b->arrival, date, sizeof(date));
	fprintf(f, "\n--%s\nContent-Description: Delivery report\n"
		   "Content-Type: message/delivery-status\n\nReporting-MTA: dns; %s\n"
		   "X-Postern-Queue-ID: %s\nArrival-Date: %s\n", boundary, b->hostname, b->queue_id,
		date);
	for (size_t i = 0; i < b->n_rcpts; i++)
		bounce_rcpt_report(f, &b->rcpts[i]);
	fprintf(f, "\n--%s\nContent-Description: Undelivered Message Headers\n"
		   "Content-Type: text/rfc822-headers\n\n", boundary);
	if (b->headers != NULL)
		fwrite(b->headers, 1, b->headers_len, f);
	fprintf(f, "\n--%s--\n", boundary);
	if (fclose(f) != 0)
		fatal("open_memstream: out of memory");
	return text;
}

/* bounce_read_headers - the original's header block (up to the blank line), bounded. */
static char *bounce_read_headers(const char *path, size_t *len_r)
{
	char *buf = xmalloc(BOUNCE_HEADERS_MAX + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, BOUNCE_HEADERS_MAX) : -1;
	char *end;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	if ((end = strstr(buf, "\n\n")) != NULL)
		n = end - buf + 1;
	else if (n > 0 && (end = memrchr(buf, '\n', (size_t)n)) != NULL)
		n = end - buf + 1; /* cut at a line end */
	*len_r = (size_t)n;
	return buf;
}

/* bounce_mailboxes - the local targets of a resolved sender into m; how many. */
static size_t bounce_mailboxes(struct store_msg *m, const struct aliases_result *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		char *at = strrchr(r->targets[i].address, '@');
		if (r->targets[i].remote || at == NULL)
			continue; /* a DSN is not forwarded on */
		*at = '\0';
		n += store_msg_add_mailbox(m, at + 1, r->targets[i].address, r->targets[i].orig) == 0;
		*at = '@';
	}
	return n;
}

/*
 * bounce_local - where the DSN goes: 0 into local Maildirs (the sender's
 * account, or the accounts of an alias it sent as), 2 to a remote sender,
 * 1 nowhere (no sender, or a local one that leads to no account), 3 not
 * now (no account known, but auth.store is not sure: it may exist).
 */
static int bounce_local(struct daemon *d, struct store_msg *m, const char *sender,
			const char *queue_id)
{
	const char *at = strrchr(sender, '@');
	struct aliases_result r;
	size_t n = 0;
	bool sure;

	if (sender[0] == '\0')
		return 1;
	if (at == NULL || !cfg_is_local_domain(d->cfg, at + 1, strlen(at + 1)))
		return 2;
	aliases_result_init(&r);
	if (accounts_resolve(d->accounts, sender, &r, &sure) == ALIASES_OK)
		n = bounce_mailboxes(m, &r);
	aliases_result_free(&r);
	if (n > 0)
		return 0;
	if (!sure)
		return 3;
	log_warn("queue id=%s bounce to <%s> dropped: no such local account", queue_id, sender);
	return 1;
}

/* bounce_enqueue - a remote sender: the outbound queue, with the DSN's size and 8-bit flag. */
static void bounce_enqueue(struct store_msg *m, const char *sender, const char *text, size_t len)
{
	struct queue_env env = { .created = time(NULL), .from = (char *)"" };
	size_t env_len;

	snprintf(env.id, sizeof(env.id), "%s", store_msg_id(m));
	queue_env_add_rcpt(&env, sender);
	queue_env_measure(&env, text, len);
	char *env_text = queue_env_format(&env, &env_len);
	store_msg_set_envelope(m, env_text, env_len);
	env.from = NULL;
	queue_env_clear(&env);
}

/* A DSN on its way: formatted, being signed on a crypto worker, then stored. */
struct bounce_job {
	struct store_msg *m;
	bool remote;  /* for the outbound queue, not a local Maildir */
	char *sender, *queue_id;
	char *text;   /* LF line ends */
	size_t len;
	void (*done_cb)(void *arg, int err);
	void *arg;
};

/* bounce_store - the text into the message, and the commit; -1 with errno. */
static int bounce_store(struct bounce_job *j)
{
	size_t lines = 0;

	if (j->remote)
		bounce_enqueue(j->m, j->sender, j->text, j->len);
	for (size_t i = 0; i < j->len; i++)
		lines += j->text[i] == '\n';
	if (store_msg_write(j->m, j->text, j->len) < 0)
		return -1;
	log_info("queue id=%s bounce id=%s to=<%s>", j->queue_id, store_msg_id(j->m), j->sender);
	store_msg_commit(j->m, j->len + lines, j->done_cb, j->arg);
	j->m = NULL;
	return 0;
}

/*
 * bounce_signed_cb - the DKIM signatures of the DSN's From: domain (our
 * host name's, or a parent's) go on top; then the store.
 */
static void bounce_signed_cb(void *arg, char *fields)
{
	struct bounce_job *j = arg;

	if (fields != NULL) {
		char *signed_text = xasprintf("%s%.*s", fields, (int)j->len, j->text);
		j->len += strlen(fields);
		free(j->text);
		j->text = signed_text;
		free(fields);
	}
	if (bounce_store(j) < 0) {
		int err = errno != 0 ? errno : EIO;
		store_msg_abort(&j->m);
		j->done_cb(j->arg, err);
	}
	free(j->sender);
	free(j->queue_id);
	free(j->text);
	free(j);
}

/* bounce_sign_start - hand the job's text to a crypto worker for its signatures. */
static void bounce_sign_start(struct daemon *d, struct bounce_job *j)
{
	struct mailauth_stream st;

	mailauth_stream_init(&st);
	mailauth_sign_prepare(&st);
	mailauth_stream_feed(&st, j->text, j->len);
	mailauth_sign_start(d->crypto, d->dkim_keys, &st, store_msg_id(j->m), bounce_signed_cb, j);
	mailauth_stream_clear(&st);
}

int bounce_inject(struct daemon *d, struct bounce_info *b, const char *msg_path,
		  void (*done_cb)(void *arg, int err), void *arg)
{
	struct store_msg *m = store_msg_new(d->store);
	int where;

	if (m == NULL)
		return -1;
	if ((where = bounce_local(d, m, b->sender, b->queue_id)) == 1 || where == 3) {
		store_msg_abort(&m);
		errno = EAGAIN; /* 3: the queue tries again later */
		return where == 1 ? 1 : -1;
	}
	struct bounce_job *j = xcalloc(1, sizeof(*j));
	*j = (struct bounce_job){ .m = m, .remote = where == 2, .sender = xstrdup(b->sender),
				  .queue_id = xstrdup(b->queue_id), .done_cb = done_cb, .arg = arg };
	char *headers = bounce_read_headers(msg_path, &b->headers_len);
	b->headers = headers;
	j->text = bounce_format(b, &j->len);
	free(headers);
	b->headers = NULL;
	bounce_sign_start(d, j);
	return 0;
}

/* queue_submit - local submissions (sendmail) into the store. */
#include "auth/accounts.h"
#include "queue/queue_submit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon/daemon.h"
#include "mailauth/mailauth_sign.h"
#include "mailauth/mailauth_stream.h"
#include "queue/queue_env.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xalloc.h"

#define QUEUE_SUBMIT_HEAD_MAX (256 * 1024)

struct queue_submit {
	struct daemon *daemon;
	uid_t uid;
	char *from;
	struct queue_env env; /* remote recipients, and the remote targets of aliases */
	struct aliases_result targets; /* of the local recipients: one copy per Maildir */
	size_t n_local;
	struct store_msg *msg;
	char id[32];
	char *head; /* text kept until the end of the header block */
	size_t head_len;
	bool head_done;
	size_t size, lines;
	char last;  /* last byte written */
	struct mailauth_stream sign; /* the text, for its DKIM signatures */
	void (*done_cb)(void *arg, int err); /* queue_submit_commit's, once signed */
	void *done_arg;
};

/* queue_submit_is - whether the line at p starts with header name (with colon). */
static bool queue_submit_is(const char *p, size_t avail, const char *name)
{
	size_t n = strlen(name);

	return avail >= n && strncasecmp(p, name, n) == 0;
}

bool queue_submit_scan(const char *text, size_t len, struct queue_submit_headers *h_r)
{
	size_t i = 0;

	memset(h_r, 0, sizeof(*h_r));
	while (i < len) {
		if (text[i] == '\n') {
			h_r->end = i + 1;
			return true;
		}
		h_r->from |= queue_submit_is(text + i, len - i, "from:");
		h_r->date |= queue_submit_is(text + i, len - i, "date:");
		h_r->message_id |= queue_submit_is(text + i, len - i, "message-id:");
		const char *nl = memchr(text + i, '\n', len - i);
		if (nl == NULL)
			return false;
		i = (size_t)(nl - text) + 1;
	}
	return false;
}

struct queue_submit *queue_submit_new(struct daemon *d, uid_t uid)
{
	struct queue_submit *s = xcalloc(1, sizeof(*s));

	s->daemon = d;
	s->uid = uid;
	s->last = '\n';
	aliases_result_init(&s->targets);
	mailauth_stream_init(&s->sign);
	mailauth_sign_prepare(&s->sign);
	return s;
}

/* queue_submit_qualify - address with the first local domain added when it has none. */
static char *queue_submit_qualify(const struct queue_submit *s, const char *address)
{
	const struct cfg *cfg = s->daemon->cfg;

	if (address[0] == '\0' || strchr(address, '@') != NULL || cfg->local_domains.n == 0)
		return xstrdup(address);
	return xasprintf("%s@%s", address, cfg->local_domains.items[0]);
}

/* queue_submit_address_ok - printable, no blanks or brackets, at most one domain. */
static bool queue_submit_address_ok(const char *a)
{
	const char *at = strrchr(a, '@');

	if (strlen(a) > 320 || (at != NULL && (at == a || at[1] == '\0')))
		return false;
	for (; *a != '\0'; a++) {
		if ((unsigned char)*a <= 0x20 || *a == 0x7f || *a == '<' || *a == '>')
			return false;
	}
	return true;
}

int queue_submit_mail(struct queue_submit *s, const char *address, const char **error_r)
{
	char *a = queue_submit_qualify(s, address);

	if (a[0] != '\0' && !queue_submit_address_ok(a)) {
		free(a);
		*error_r = "bad sender address";
		return -1;
	}
	free(s->from);
	s->from = a;
	return 0;
}

/* queue_submit_targets - the targets merged from first on: Maildirs and forwards; -1 on a bad path. */
static int queue_submit_targets(struct queue_submit *s, size_t first)
{
	for (size_t i = first; i < s->targets.n; i++) {
		struct aliases_target *t = &s->targets.targets[i];
		char *at = strrchr(t->address, '@');
		if (t->remote) {
			queue_env_add_rcpt(&s->env, t->address);
			continue;
		}
		*at = '\0';
		int rc = store_msg_add_mailbox(s->msg, at + 1, t->address, t->orig);
		*at = '@';
		if (rc < 0)
			return -1;
		s->n_local++;
	}
	return 0;
}

/* queue_submit_local - a recipient in a local domain: through the accounts and aliases. */
static int queue_submit_local(struct queue_submit *s, const char *a, const char **error_r)
{
	struct aliases_result r;
	size_t first = s->targets.n;
	enum aliases_status st;
	bool sure;

	aliases_result_init(&r);
	st = accounts_resolve(s->daemon->accounts, a, &r, &sure);
	if (st == ALIASES_OK)
		aliases_result_merge(&s->targets, &r);
	aliases_result_free(&r);
	if (st != ALIASES_OK) { /* with auth.store down it may be a new account: try again later */
		*error_r = sure ? "unknown user" : "account database unavailable";
		return -1;
	}
	if (s->msg == NULL && (s->msg = store_msg_new(s->daemon->store)) == NULL) {
		*error_r = "cannot store the message";
		return -1;
	}
	if (queue_submit_targets(s, first) < 0) {
		*error_r = "bad recipient address";
		return -1;
	}
	return 0;
}

int queue_submit_rcpt(struct queue_submit *s, const char *address, const char **error_r)
{
	char *a = queue_submit_qualify(s, address), *at;
	int rc = 0;

	if (!queue_submit_address_ok(a) || (at = strrchr(a, '@')) == NULL) {
		*error_r = "bad recipient address";
		rc = -1;
	} else {
		for (char *p = at + 1; *p != '\0'; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		if (cfg_is_local_domain(s->daemon->cfg, at + 1, strlen(at + 1)))
			rc = queue_submit_local(s, a, error_r);
		else
			queue_env_add_rcpt(&s->env, a);
	}
	free(a);
	return rc;
}

int queue_submit_data(struct queue_submit *s, const char **error_r)
{
	if (s->from == NULL || (s->n_local == 0 && s->env.n_rcpts == 0)) {
		*error_r = s->from == NULL ? "no sender" : "no recipients";
		return -1;
	}
	if (s->msg == NULL && (s->msg = store_msg_new(s->daemon->store)) == NULL) {
		*error_r = "cannot store the message";
		return -1;
	}
	snprintf(s->id, sizeof(s->id), "%s", store_msg_id(s->msg));
	snprintf(s->env.id, sizeof(s->env.id), "%s", s->id);
	s->env.created = time(NULL);
	return 0;
}

/* queue_submit_enqueue - the remote recipients' envelope, with the text's size and 8-bit flag. */
static void queue_submit_enqueue(struct queue_submit *s)
{
	size_t len;

	if (s->env.n_rcpts == 0)
		return;
	s->env.from = s->from;
	s->env.size = (size_t)((long long)(s->size + s->lines) + store_msg_wire_delta(s->msg));
	s->env.sized = true;
	char *text = queue_env_format(&s->env, &len);
	s->env.from = NULL;
	store_msg_set_envelope(s->msg, text, len);
}

/* queue_submit_put - write text to the store, counting its size and lines. */
static int queue_submit_put(struct queue_submit *s, const char *buf, size_t len)
{
	if (len == 0)
		return 0;
	s->size += len;
	for (size_t i = 0; i < len; i++)
		s->lines += buf[i] == '\n';
	s->env.eightbit = s->env.eightbit || queue_env_has_8bit(buf, len);
	s->last = buf[len - 1];
	mailauth_stream_feed(&s->sign, buf, len);
	return store_msg_write(s->msg, buf, len);
}

/* queue_submit_head - Received: and the missing headers, then the kept header block. */
static int queue_submit_head(struct queue_submit *s, const struct queue_submit_headers *h)
{
	const struct cfg *cfg = s->daemon->cfg;
	char date[64], top[1024];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	n = snprintf(top, sizeof(top), "Received: by %s (postern) with local id %s\n\t(uid %u);\n\t%s\n",
		     cfg->hostname, s->id, (unsigned)s->uid, date);
	if (!h->from && s->from[0] != '\0')
		n += snprintf(top + n, sizeof(top) - (size_t)n, "From: <%.320s>\n", s->from);
	if (!h->date)
		n += snprintf(top + n, sizeof(top) - (size_t)n, "Date: %s\n", date);
	if (!h->message_id)
		n += snprintf(top + n, sizeof(top) - (size_t)n, "Message-ID: <%s@%s>\n", s->id,
			      cfg->hostname);
	s->head_done = true;
	if (queue_submit_put(s, top, strlen(top)) < 0 ||
	    queue_submit_put(s, s->head, s->head_len) < 0)
		return -1;
	free(s->head);
	s->head = NULL;
	s->head_len = 0;
	return 0;
}

/* queue_submit_keep - hold text until the header block is complete. */
static int queue_submit_keep(struct queue_submit *s, const char *buf, size_t len, bool end)
{
	struct queue_submit_headers h;

	s->head = xrealloc(s->head, s->head_len + len + 1);
	memcpy(s->head + s->head_len, buf, len);
	s->head_len += len;
	if (queue_submit_scan(s->head, s->head_len, &h) || end ||
	    s->head_len > QUEUE_SUBMIT_HEAD_MAX)
		return queue_submit_head(s, &h);
	return 0;
}

int queue_submit_write(struct queue_submit *s, const char *buf, size_t len, const char **error_r)
{
	char *lf = xmalloc(len + 1);
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\r')
			lf[n++] = buf[i];
	}
	if (s->size + s->head_len + n > s->daemon->cfg->max_message_size) {
		free(lf);
		*error_r = "message too big";
		return -1;
	}
	rc = s->head_done ? queue_submit_put(s, lf, n) : queue_submit_keep(s, lf, n, false);
	free(lf);
	if (rc < 0)
		*error_r = "cannot store the message";
	return rc;
}

/*
 * queue_submit_signed_cb - the DKIM signatures of the From: domain (made on
 * a crypto worker, as SMTP's) go on top; then the commit.
 */
static void queue_submit_signed_cb(void *arg, char *fields)
{
	struct queue_submit *s = arg;
	int rc = fields != NULL ? store_msg_prepend(s->msg, fields, strlen(fields)) : 0;

	free(fields);
	if (rc < 0) {
		int err = errno != 0 ? errno : EIO;
		store_msg_abort(&s->msg);
		s->done_cb(s->done_arg, err);
		return;
	}
	log_info("queue id=%s submit uid=%u from=<%s> nrcpt=%zu size=%zu", s->id, (unsigned)s->uid,
		 s->from, s->n_local + s->env.n_rcpts, s->size);
	queue_submit_enqueue(s);
	store_msg_commit(s->msg, s->size + s->lines, s->done_cb, s->done_arg);
	s->msg = NULL;
}

int queue_submit_commit(struct queue_submit *s, void (*done_cb)(void *arg, int err), void *arg,
			const char **error_r)
{
	if (s->msg == NULL || s->id[0] == '\0') {
		*error_r = "no message";
		return -1;
	}
	if ((!s->head_done && queue_submit_keep(s, "", 0, true) < 0) ||
	    (s->last != '\n' && queue_submit_put(s, "\n", 1) < 0)) {
		*error_r = "cannot store the message";
		return -1;
	}
	s->done_cb = done_cb;
	s->done_arg = arg;
	mailauth_sign_start(s->daemon->crypto, s->daemon->dkim_keys, &s->sign, s->id,
			    queue_submit_signed_cb, s);
	return 0;
}

const char *queue_submit_id(const struct queue_submit *s)
{
	return s->id;
}

void queue_submit_free(struct queue_submit **sp)
{
	struct queue_submit *s = *sp;

	if (s == NULL)
		return;
	store_msg_abort(&s->msg);
	queue_env_clear(&s->env);
	aliases_result_free(&s->targets);
	free(s->from);
	free(s->head);
	mailauth_stream_clear(&s->sign);
	free(s);
	*sp = NULL;
}

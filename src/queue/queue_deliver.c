/* queue_deliver - one delivery job: route lookup, SMTP to each address in turn, results. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg.h"
#include "delivery/delivery_log.h"
#include "dns/dns.h"
#include "delivery/smtp_client.h"
#include "queue/queue_internal.h"
#include "util/log.h"
#include "util/xalloc.h"

#define QUEUE_AUTH_MAX 1024

struct queue_job {
	struct queue_job *next;
	struct queue *q;
	struct queue_entry *entry;
	struct queue_dest *dest;
	uint32_t id;
	struct queue_route route;
	size_t *idx; /* recipients of entry */
	size_t n;
	char **rcpts; /* their addresses, borrowed from the entry */
	struct dns_query *dnsq;
	struct smtpc *client;
	struct dns_addr *addrs;
	size_t n_addrs, next_addr;
	char *auth;  /* "user:password" from delivery.relayhost_auth, split at the first ':' */
	size_t auth_len;
	const char *auth_pass; /* inside auth, once split */
	char msg_path[PATH_MAX];
};

/* queue_job_free - unlink, release the recipients and the connection slot. */
static void queue_job_free(struct queue_job *j)
{
	struct queue *q = j->q;

	for (struct queue_job **pp = &q->jobs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	for (size_t i = 0; i < j->n; i++)
		j->entry->busy[j->idx[i]] = false;
	j->entry->active--;
	j->dest->active--;
	q->active--;
	dns_cancel(&j->dnsq);
	smtpc_free(&j->client);
	if (j->auth != NULL) {
		OPENSSL_cleanse(j->auth, j->auth_len);
		free(j->auth);
	}
	free(j->addrs);
	free(j->rcpts);
	free(j->idx);
	free(j);
}

/* queue_log - the line an administrator greps for, per recipient (delivery/delivery_log.h). */
static void queue_log(const struct queue_job *j, const char *rcpt, const char *relay,
		      enum delivery_status status, const char *reason)
{
	char who[32];

	snprintf(who, sizeof(who), "%08x queue", j->id);
	delivery_log(who, j->entry->env.id, j->entry->env.from, rcpt, NULL, relay, status, reason);
}

/* queue_set_error - replace a recipient's last error. */
static void queue_set_error(struct queue_rcpt *r, const char *text)
{
	free(r->last_error);
	r->last_error = xstrdup(text);
}

/* queue_defer - a temporary failure: retry later, or give up past max_queue_lifetime. */
static void queue_defer(struct queue_job *j, struct queue_rcpt *r, const char *relay,
			const char *error)
{
	struct queue *q = j->q;
	time_t now = time(NULL);
	char text[768];

	r->attempts++;
	if (now - j->entry->env.created >= (time_t)q->daemon->cfg->max_queue_lifetime) {
		snprintf(text, sizeof(text), "5.4.7 delivery time expired; last error: %s", error);
		queue_set_error(r, text);
		r->state = QUEUE_RCPT_FAILED;
		queue_log(j, r->address, relay, DELIVERY_BOUNCED, text);
		return;
	}
	r->next_try = now + queue_backoff(q, r->attempts);
	queue_set_error(r, error);
	queue_log(j, r->address, relay, DELIVERY_DEFERRED, error);
}

/* queue_apply - record one recipient's outcome. */
static void queue_apply(struct queue_job *j, size_t k, int code, const char *relay,
			const char *error)
{
	struct queue_rcpt *r = &j->entry->env.rcpts[j->idx[k]];

	if (code / 100 == 2) {
		r->state = QUEUE_RCPT_DELIVERED;
		free(r->last_error);
		r->last_error = NULL;
		queue_log(j, r->address, relay, DELIVERY_SENT, error);
	} else if (code / 100 == 5) {
		r->attempts++;
		r->state = QUEUE_RCPT_FAILED;
		queue_set_error(r, error);
		queue_log(j, r->address, relay, DELIVERY_BOUNCED, error);
	} else {
		queue_defer(j, r, relay, error);
	}
}

/* queue_job_end - the job is over: make its outcome durable first, then schedule more. */
static void queue_job_end(struct queue_job *j)
{
	struct queue_entry *e = j->entry;
	struct queue *q = j->q;

	queue_job_free(j);
	queue_save(e);
	queue_kick(q);
}

/* queue_job_fail - every recipient of the job gets the same local outcome. */
static void queue_job_fail(struct queue_job *j, int code, const char *error)
{
	for (size_t k = 0; k < j->n; k++)
		queue_apply(j, k, code, "", error);
	queue_job_end(j);
}

static void queue_job_connect(struct queue_job *j);

/* queue_smtp_done_cb - the SMTP transaction ended; maybe try the next address. */
static void queue_smtp_done_cb(void *arg, const struct smtpc_result *res)
{
	struct queue_job *j = arg;
	char error[900];

	if (res->next_host && j->next_addr < j->n_addrs) {
		log_info("%08x queue id=%s relay=%s: %s; trying the next address", j->id,
			 j->entry->env.id, res->relay, res->rcpts[0].text);
		smtpc_free(&j->client);
		queue_job_connect(j);
		return;
	}
	if (res->next_host && res->rcpts[0].code / 100 == 4)
		queue_dest_dead(j->q, j->dest, res->rcpts[0].text);
	else
		queue_dest_alive(j->dest);
	for (size_t k = 0; k < j->n; k++) {
		const struct smtpc_rcpt_result *r = &res->rcpts[k];
		if (r->remote && r->code / 100 != 2)
			snprintf(error, sizeof(error), "%s said: %s", res->relay, r->text);
		else if (r->remote)
			snprintf(error, sizeof(error), "%s", r->text);
		else
			snprintf(error, sizeof(error), "%s %s", r->status[0] ? r->status : "4.4.2",
				 r->text);
		queue_apply(j, k, r->code, res->relay, error);
	}
	queue_job_end(j);
}

/* queue_job_connect - start the SMTP client on the next address. */
static void queue_job_connect(struct queue_job *j)
{
	const struct dns_addr *a = &j->addrs[j->next_addr++];
	char ip[INET6_ADDRSTRLEN];
	char *colon = j->auth != NULL ? strchr(j->auth, ':') : NULL;

	if (colon != NULL)
		*colon = '\0'; /* j->auth is "user\0password" from here on */
	struct smtpc_request req = {
		.helo = j->q->daemon->cfg->hostname,
		.from = j->entry->env.from,
		.rcpts = j->rcpts,
		.n_rcpts = j->n,
		.msg_path = j->msg_path,
		.size = j->entry->env.sized ? j->entry->env.size : 0,
		.eightbit = !j->entry->env.sized || j->entry->env.eightbit,
		/* the relayhost's certificate must name it as configured, never a name DNS gave */
		.host = j->route.relayhost ? j->route.host : a->host,
		.auth_user = j->auth,
		.auth_pass = colon != NULL ? colon + 1 : j->auth_pass,
		.tls = j->q->daemon->tls_client,
		.tls_verify = j->route.relayhost && j->q->daemon->cfg->relayhost_tls_verify,
		.auth_needs_tls = !daemon_plaintext_ok(j->q->daemon->cfg,
						       daemon_peer((const struct sockaddr *)&a->sa,
								   ip, sizeof(ip)),
						       false),
	};

	if (colon != NULL)
		j->auth_pass = colon + 1;
	j->client = smtpc_start(j->q->daemon->base, (const struct sockaddr *)&a->sa, a->salen, &req,
				queue_smtp_done_cb, j);
}

/* queue_dns_done_cb - the addresses of the destination. */
static void queue_dns_done_cb(void *arg, enum dns_status status, const struct dns_addr *addrs,
			      size_t n_addrs, const char *error)
{
	struct queue_job *j = arg;
	char text[400];

	j->dnsq = NULL;
	if (status != DNS_OK) {
		const char *st = status == DNS_TEMP		   ? "4.4.3"
				 : strstr(error, "null MX") != NULL ? "5.1.10" /* RFC 7505 */
								    : "5.1.2";
		snprintf(text, sizeof(text), "%s %s", st, error);
		queue_job_fail(j, status == DNS_PERM ? 550 : 451, text);
		return;
	}
	j->addrs = xcalloc(n_addrs, sizeof(*addrs));
	memcpy(j->addrs, addrs, n_addrs * sizeof(*addrs));
	j->n_addrs = n_addrs;
	queue_job_connect(j);
}

/* queue_read_auth - delivery.relayhost_auth: one "user:password" line; NULL on error. */
static char *queue_read_auth(const char *path, size_t *len_r)
{
	char buf[QUEUE_AUTH_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	char *auth = NULL;

	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		if (strchr(buf, ':') != NULL && buf[0] != ':') {
			auth = xstrdup(buf);
			*len_r = strlen(buf);
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return auth;
}

/* queue_job_new - claim the recipients and a connection slot. */
static struct queue_job *queue_job_new(struct queue *q, struct queue_entry *e,
				       struct queue_dest *dest, const struct queue_route *route,
				       size_t *idx, size_t n)
{
	struct queue_job *j = xcalloc(1, sizeof(*j));

	j->q = q;
	j->entry = e;
	j->dest = dest;
	j->id = ++q->next_job_id;
	j->route = *route;
	j->idx = idx;
	j->n = n;
	j->rcpts = xcalloc(n, sizeof(*j->rcpts));
	for (size_t k = 0; k < n; k++) {
		j->rcpts[k] = e->env.rcpts[idx[k]].address;
		e->busy[idx[k]] = true;
	}
	queue_path(q, "msg", e->env.id, j->msg_path, sizeof(j->msg_path));
	e->active++;
	dest->active++;
	q->active++;
	j->next = q->jobs;
	q->jobs = j;
	return j;
}

void queue_job_start(struct queue *q, struct queue_entry *e, struct queue_dest *dest,
		     const struct queue_route *route, size_t *idx, size_t n)
{
	struct queue_job *j;
	const char *auth_file = q->daemon->cfg->relayhost_auth;

	if (n == 0) {
		free(idx);
		return;
	}
	j = queue_job_new(q, e, dest, route, idx, n);
	if (dest->dead_until > time(NULL)) {
		queue_job_fail(j, 451, dest->dead_error);
		return;
	}
	if (route->auth && (j->auth = queue_read_auth(auth_file, &j->auth_len)) == NULL) {
		log_err("queue: delivery.relayhost_auth %s: no \"user:password\" line", auth_file);
		queue_job_fail(j, 451, "4.7.0 cannot read delivery.relayhost_auth");
		return;
	}
	j->dnsq = dns_resolve(q->dns, route->host, route->mx, route->port, queue_dns_done_cb, j);
}

void queue_job_abort_entry(struct queue *q, struct queue_entry *e)
{
	struct queue_job *j = q->jobs, *next;

	for (; j != NULL; j = next) {
		next = j->next;
		if (j->entry == e) {
			log_info("%08x queue id=%s: delivery to %s aborted", j->id, e->env.id,
				 j->dest->name);
			queue_job_free(j);
		}
	}
}

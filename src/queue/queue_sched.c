/* queue_sched - when and where: backoff, routes, destinations, the scheduler. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/cfg.h"
#include "queue/queue_internal.h"
#include "util/log.h"
#include "util/xalloc.h"

#define QUEUE_IDLE_WAKE 300 /* look at the queue at least this often (seconds) */

/* queue_env_uint - a positive number from the environment (test hooks), or def. */
static unsigned queue_env_uint(const char *name, unsigned def, unsigned max)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtoul(v, &end, 10);
	return *end == '\0' && n > 0 && n <= max ? (unsigned)n : def;
}

unsigned queue_backoff(const struct queue *q, unsigned attempts)
{
	unsigned long long d = q->backoff;
	unsigned max = q->backoff > QUEUE_BACKOFF_MAX ? q->backoff : QUEUE_BACKOFF_MAX;

	for (unsigned i = 1; i < attempts && d < max; i++)
		d *= 2;
	return d < max ? (unsigned)d : max;
}

/* queue_relayhost - parse "[host]:port", "[host]", "host:port" or "host" (brackets: no MX). */
static void queue_relayhost(const char *s, struct queue_route *r)
{
	const char *end = NULL, *colon;

	r->port = 25;
	r->mx = s[0] != '[';
	if (!r->mx && (end = strchr(s, ']')) != NULL) {
		snprintf(r->host, sizeof(r->host), "%.*s", (int)(end - s - 1), s + 1);
		if (end[1] == ':')
			r->port = (unsigned)atoi(end + 2);
	} else {
		colon = strrchr(s, ':');
		snprintf(r->host, sizeof(r->host), "%.*s",
			 (int)(colon != NULL ? (size_t)(colon - s) : strlen(s)), s);
		if (colon != NULL)
			r->port = (unsigned)atoi(colon + 1);
	}
	if (r->port == 0 || r->port > 65535)
		r->port = 25;
}

void queue_route(const struct queue *q, const char *address, struct queue_route *route_r)
{
	const struct cfg *cfg = q->daemon->cfg;
	const char *at = strrchr(address, '@');
	const char *domain = at != NULL ? at + 1 : address;
	const struct cfg_route *rt = cfg_route_find(cfg, domain, strlen(domain));

	memset(route_r, 0, sizeof(*route_r));
	if (rt != NULL) {
		snprintf(route_r->host, sizeof(route_r->host), "%s", rt->host);
		route_r->port = rt->port;
		snprintf(route_r->key, sizeof(route_r->key), "[%s]:%u", rt->host, rt->port);
		return;
	}
	if (cfg->relayhost != NULL) {
		queue_relayhost(cfg->relayhost, route_r);
		route_r->auth = cfg->relayhost_auth != NULL;
		route_r->relayhost = true;
		snprintf(route_r->key, sizeof(route_r->key), "%s", cfg->relayhost);
		return;
	}
	snprintf(route_r->host, sizeof(route_r->host), "%s", domain);
	for (char *p = route_r->host; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	snprintf(route_r->key, sizeof(route_r->key), "%s", route_r->host);
	route_r->port = q->smtp_port;
	route_r->mx = true;
}

struct queue_dest *queue_dest_get(struct queue *q, const char *name)
{
	struct queue_dest *d;

	for (d = q->dests; d != NULL; d = d->next) {
		if (strcmp(d->name, name) == 0)
			return d;
	}
	d = xcalloc(1, sizeof(*d));
	d->name = xstrdup(name);
	d->next = q->dests;
	q->dests = d;
	return d;
}

void queue_dest_dead(struct queue *q, struct queue_dest *dest, const char *error)
{
	if (dest->dead_until <= time(NULL)) /* not already suspended: a new outage, or the next */
		log_info("queue: %s is unreachable (%s): its deliveries are suspended for %u s",
			 dest->name, error, q->backoff);
	dest->dead_until = time(NULL) + q->backoff;
	free(dest->dead_error);
	dest->dead_error = xasprintf("4.4.1 delivery temporarily suspended: %s", error);
}

void queue_dest_alive(struct queue_dest *dest)
{
	dest->dead_until = 0;
	free(dest->dead_error);
	dest->dead_error = NULL;
}

/* queue_due - whether recipient i of e may be tried now. */
static bool queue_due(const struct queue_entry *e, size_t i, time_t now)
{
	const struct queue_rcpt *r = &e->env.rcpts[i];

	return r->state == QUEUE_RCPT_PENDING && !e->busy[i] && r->next_try <= now;
}

/* queue_group - start one job for recipient i of e and every due recipient with its route. */
static void queue_group(struct queue *q, struct queue_entry *e, size_t i, time_t now)
{
	struct queue_route route, other;
	struct queue_dest *dest;
	size_t *idx, n = 0;

	queue_route(q, e->env.rcpts[i].address, &route);
	dest = queue_dest_get(q, route.key);
	if (dest->active >= QUEUE_DEST_MAX_CONN)
		return;
	idx = xcalloc(e->env.n_rcpts, sizeof(*idx));
	for (size_t j = i; j < e->env.n_rcpts; j++) {
		if (!queue_due(e, j, now))
			continue;
		queue_route(q, e->env.rcpts[j].address, &other);
		if (strcmp(other.key, route.key) == 0)
			idx[n++] = j;
	}
	queue_job_start(q, e, dest, &route, idx, n);
}

/* queue_entry_next - the earliest retry time of e's waiting recipients (0: none). */
static time_t queue_entry_next(const struct queue_entry *e)
{
	time_t next = 0;

	for (size_t i = 0; i < e->env.n_rcpts; i++) {
		const struct queue_rcpt *r = &e->env.rcpts[i];
		if (r->state == QUEUE_RCPT_PENDING && !e->busy[i] && (next == 0 || r->next_try < next))
			next = (time_t)r->next_try;
	}
	return next;
}

/* queue_run - start every delivery that is due and allowed; rearm the timer. */
static void queue_run(struct queue *q)
{
	time_t now = time(NULL), wake = now + QUEUE_IDLE_WAKE;

	for (struct queue_entry *e = q->entries; e != NULL; e = e->next) {
		if (e->unsettled && !e->writing && !e->bouncing && !e->removing) {
			e->unsettled = false;
			queue_settle(e);
		}
		if (e->bounce_retry != 0 && e->bounce_retry <= now && e->active == 0 &&
		    !e->writing && !e->bouncing && !e->removing) {
			e->bounce_retry = 0;
			queue_settle(e); /* the DSN that could not be stored; may fail again at once */
		}
		if (e->bounce_retry != 0 && e->bounce_retry < wake)
			wake = e->bounce_retry;
		if (e->writing || e->bouncing || e->removing || e->deleted)
			continue;
		for (size_t i = 0; i < e->env.n_rcpts && q->active < QUEUE_TOTAL_MAX_CONN; i++) {
			if (queue_due(e, i, now))
				queue_group(q, e, i, now);
		}
		time_t next = queue_entry_next(e);
		if (next != 0 && next < wake)
			wake = next;
	}
	struct timeval tv = { .tv_sec = wake > now ? wake - now : 1 };
	evtimer_add(q->timer, &tv);
}

/* queue_timer_cb - the scheduler's timer. */
static void queue_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;

	(void)fd;
	(void)what;
	if (!q->stopping)
		queue_run(q);
}

void queue_kick(struct queue *q)
{
	struct timeval now = { 0, 0 };

	if (!q->stopping)
		evtimer_add(q->timer, &now);
}

void queue_sched_init(struct queue *q)
{
	q->timer = evtimer_new(q->daemon->base, queue_timer_cb, q);
	q->backoff = queue_env_uint("POSTERN_QUEUE_BACKOFF", QUEUE_BACKOFF_BASE, 86400);
	q->smtp_port = queue_env_uint("POSTERN_SMTP_PORT", 25, 65535);
	if (q->backoff != QUEUE_BACKOFF_BASE || q->smtp_port != 25)
		log_warn("queue: test hooks in effect: backoff %us, MX port %u", q->backoff,
			 q->smtp_port);
}

void queue_sched_free(struct queue *q)
{
	while (q->dests != NULL) {
		struct queue_dest *d = q->dests;
		q->dests = d->next;
		free(d->name);
		free(d->dead_error);
		free(d);
	}
	if (q->timer != NULL)
		event_free(q->timer);
	q->timer = NULL;
}

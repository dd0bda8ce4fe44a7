/* policy_server - Postfix's policy delegation service over the relay grants. */
#include "relay/policy_server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "relay/policy_parse.h"
#include "relay/relay_check.h"
#include "util/log.h"
#include "util/xalloc.h"

#define RELAY_POLICY_INPUT_MAX (64 * 1024)
#define RELAY_POLICY_IDLE_TIMEOUT 600 /* Postfix closes idle ones after 300 s */
#define RELAY_POLICY_INSTANCE_MAX 64

static const char relay_policy_ok[] = "action=OK\n\n";
static const char relay_policy_dunno[] = "action=DUNNO\n\n";
static const char relay_policy_defer[] = "action=DEFER_IF_PERMIT Service temporarily unavailable\n\n";

/* One connection from Postfix. */
struct relay_policy_conn {
	struct daemon_conn link; /* first: the daemon's list */
	struct daemon *d;
	struct bufferevent *bev;
	uint32_t id;
	bool busy;    /* a relay_check is pending: parsing waits */
	bool closing; /* free when the pending check answers */
	char instance[RELAY_POLICY_INSTANCE_MAX]; /* of the request being answered */
	char counted[RELAY_POLICY_INSTANCE_MAX];  /* last instance counted for the report */
	struct relay_policy_parser parser;
};

static void relay_policy_process(struct relay_policy_conn *c);

/* relay_policy_free - unlink and free the connection. */
static void relay_policy_free(struct relay_policy_conn *c)
{
	daemon_conn_remove(c->d, &c->link);
	bufferevent_free(c->bev);
	free(c);
}

/* relay_policy_close - end the connection now, or once its pending check answered. */
static void relay_policy_close(struct relay_policy_conn *c)
{
	if (c->busy) {
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	relay_policy_free(c);
}

/* relay_policy_stop - daemon shutdown: close (a pending answer is still awaited). */
static void relay_policy_stop(struct daemon_conn *link)
{
	relay_policy_close((struct relay_policy_conn *)link);
}

/* relay_policy_count - count a relayed message once per Postfix instance. */
static void relay_policy_count(struct relay_policy_conn *c, const struct relay_check_answer *a)
{
	if (c->instance[0] != '\0' && strcmp(c->instance, c->counted) == 0)
		return;
	memcpy(c->counted, c->instance, sizeof(c->counted));
	relay_use_record(c->d->relay_store, a->grant.login, (int64_t)time(NULL));
}

/* relay_policy_action - the reply for an answer. */
static const char *relay_policy_action(const struct relay_check_answer *a)
{
	if (relay_check_allowed(a))
		return relay_policy_ok;
	return a->result == RELAY_CHECK_ERROR ? relay_policy_defer : relay_policy_dunno;
}

/* relay_policy_check_cb - the relay check answered: reply, then go on with the input. */
static void relay_policy_check_cb(void *arg, const struct relay_check_answer *a)
{
	struct relay_policy_conn *c = arg;
	const char *action = relay_policy_action(a);
	char why[512];

	c->busy = false;
	if (c->closing) {
		relay_policy_free(c);
		return;
	}
	log_info("policy %08x: %.*s (%s)", c->id, (int)strcspn(action, "\n"), action,
		 relay_check_describe(a, why, sizeof(why)));
	if (a->result == RELAY_CHECK_GRANT)
		relay_policy_count(c, a);
	bufferevent_write(c->bev, action, strlen(action));
	relay_policy_parser_reset(&c->parser);
	relay_policy_process(c);
}

/* relay_policy_request - a complete request: answer it (maybe later). */
static void relay_policy_request(struct relay_policy_conn *c)
{
	const char *request = relay_policy_attr(&c->parser, "request");
	const char *ip = relay_policy_attr(&c->parser, "client_address");
	const char *instance = relay_policy_attr(&c->parser, "instance");
	char esc[80];

	if (request == NULL || strcmp(request, "smtpd_access_policy") != 0 || ip == NULL ||
	    ip[0] == '\0') {
		log_warn("policy %08x: request=%s without a client_address: DUNNO", c->id,
			 request ? log_escape(request, strlen(request), esc, sizeof(esc)) : "(none)");
		bufferevent_write(c->bev, relay_policy_dunno, strlen(relay_policy_dunno));
		relay_policy_parser_reset(&c->parser);
		return;
	}
	snprintf(c->instance, sizeof(c->instance), "%s", instance ? instance : "");
	c->busy = true;
	relay_check(c->d->base, c->d->relay_store, c->d->cfg, ip, (int64_t)time(NULL),
		    relay_policy_check_cb, c);
}

/*
 * relay_policy_process - parse buffered input until a request is complete
 * (then answer it; parsing resumes after the answer), input runs out, or
 * the client breaks the protocol (then close).
 */
static void relay_policy_process(struct relay_policy_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	const char *error;
	size_t used;
	int r;

	while (!c->busy && evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		r = relay_policy_parse(&c->parser, v.iov_base, v.iov_len, &used, &error);
		evbuffer_drain(in, used);
		if (r < 0) {
			log_warn("policy %08x: protocol error: %s; closing", c->id, error);
			relay_policy_close(c);
			return;
		}
		if (r == 1)
			relay_policy_request(c);
	}
}

/* relay_policy_read_cb - input arrived. */
static void relay_policy_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	relay_policy_process(arg);
}

/* relay_policy_event_cb - EOF, error or idle timeout: close. */
static void relay_policy_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_policy_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_info("policy %08x: idle timeout", c->id);
	relay_policy_close(c);
}

void relay_policy_server_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			       socklen_t salen)
{
	struct relay_policy_conn *c = xcalloc(1, sizeof(*c));
	struct timeval tv = { .tv_sec = RELAY_POLICY_IDLE_TIMEOUT };

	(void)sa;
	(void)salen;
	c->d = d;
	c->link.stop = relay_policy_stop;
	c->id = daemon_conn_add(d, &c->link);
	relay_policy_parser_init(&c->parser, NULL);
	c->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, relay_policy_read_cb, NULL, relay_policy_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, RELAY_POLICY_INPUT_MAX);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* pg_conn - connecting a pg: name lookup, PQconnectPoll, schema and LISTEN, failure and retry; pg_connect_sync. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "auth/pg.h"
#include "auth/pg_internal.h"
#include "auth/pg_schema.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* A host name lookup on the resolver's worker; outlives its pg when that closes first. */
struct pg_lookup {
	struct pg *p; /* NULL once p closed */
	char host[256];
	char hosts[PG_LOOKUP_MAX * 254];    /* host, once per address found */
	char hostaddrs[PG_LOOKUP_MAX * 46]; /* the addresses found, or "" */
	char error[320];
};

void pg_conn_params(const char *url, const char *hosts, const char *hostaddrs, const char **kw,
		    const char **val)
{
	/* Before dbname: the URL may override them. keepalives and tcp_user_timeout notice a dead peer. */
	static const char *const fixed[][2] = {
		{ "keepalives", "1" },		{ "keepalives_idle", "10" },
		{ "keepalives_interval", "3" }, { "keepalives_count", "3" },
		{ "tcp_user_timeout", "10000" }, { "application_name", "postern" },
		{ "client_encoding", "UTF8" },	{ "gssencmode", "disable" },
		{ "connect_timeout", "5" }, /* pg_connect_sync; the loop has its own timer */
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++, n++) {
		kw[n] = fixed[i][0];
		val[n] = fixed[i][1];
	}
	kw[n] = "dbname";
	val[n++] = url;
	if (hostaddrs[0] != '\0') { /* after dbname: replace the URL's host */
		kw[n] = "host";
		val[n++] = hosts;
		kw[n] = "hostaddr";
		val[n++] = hostaddrs;
	}
	kw[n] = val[n] = NULL;
}

/* pg_up - setup is done: the connection is up. */
static void pg_up(struct pg *p)
{
	p->state = PG_UP;
	p->retry_ms = 0;
	p->reported_down = false;
	log_info("postgresql %s: up (schema version %d)", p->name, PG_SCHEMA_VERSION);
	if (p->cb.up_cb != NULL)
		p->cb.up_cb(p->cb.arg);
}

/* pg_setup_done_cb - the answer to the schema statement or a LISTEN. */
static void pg_setup_done_cb(void *arg, PGresult *res, const char *error)
{
	struct pg *p = arg;

	(void)res;
	if (p->state != PG_SETUP)
		return; /* the connection failed: already dealt with */
	if (error != NULL)
		pg_fail(p, error);
	else if (--p->setup_left == 0)
		pg_up(p);
}

/* pg_setup - connected: queue the schema statement and the LISTENs. */
static void pg_setup(struct pg *p)
{
	char *sql = pg_schema_sql();

	p->state = PG_SETUP;
	pg_enqueue(p, sql, 0, NULL, pg_setup_done_cb, p);
	free(sql);
	p->setup_left = 1;
	for (char **l = p->listen; *l != NULL; l++) {
		char *id = PQescapeIdentifier(p->conn, *l, strlen(*l));
		if (id == NULL) {
			pg_fail(p, PQerrorMessage(p->conn));
			return;
		}
		sql = xasprintf("LISTEN %s", id);
		PQfreemem(id);
		pg_enqueue(p, sql, 0, NULL, pg_setup_done_cb, p);
		free(sql);
		p->setup_left++;
	}
	pg_send_next(p);
}

/* pg_conn_ready - PQconnectPoll is done: go non-blocking, watch the socket, set up. */
static void pg_conn_ready(struct pg *p)
{
	event_free(p->conn_ev);
	p->conn_ev = NULL;
	evtimer_del(p->timer);
	if (PQsetnonblocking(p->conn, 1) != 0) {
		pg_fail(p, PQerrorMessage(p->conn));
		return;
	}
	pg_io_start(p);
	pg_setup(p);
}

static void pg_conn_io_cb(evutil_socket_t fd, short what, void *arg);

/* pg_conn_watch - wait until the connection's socket is ready for what (EV_READ or EV_WRITE). */
static void pg_conn_watch(struct pg *p, short what)
{
	int fd = PQsocket(p->conn);

	if (p->conn_ev != NULL)
		event_free(p->conn_ev);
	p->conn_ev = NULL;
	if (fd < 0) {
		pg_fail(p, "no socket");
		return;
	}
	if ((p->conn_ev = event_new(p->base, fd, what, pg_conn_io_cb, p)) == NULL)
		fatal("pg: out of memory");
	event_add(p->conn_ev, NULL);
}

/* pg_conn_poll - one step of PQconnectPoll. */
static void pg_conn_poll(struct pg *p)
{
	switch (PQconnectPoll(p->conn)) {
	case PGRES_POLLING_READING:
		pg_conn_watch(p, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		pg_conn_watch(p, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		pg_conn_ready(p);
		break;
	default:
		pg_fail(p, PQerrorMessage(p->conn));
		break;
	}
}

/* pg_conn_io_cb - libevent: the socket is ready for the next step of connecting. */
static void pg_conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *p = arg;

	(void)fd;
	(void)what;
	pg_enter(p);
	pg_conn_poll(p);
	pg_leave(p);
}

/* pg_conn_notice_cb - a server NOTICE or WARNING: to the log, scrubbed of the password (not stderr). */
static void pg_conn_notice_cb(void *arg, const char *message)
{
	const struct pg *p = arg;
	char msg[512];

	log_warn("%s: %.*s", p->name, (int)strcspn(pg_url_scrub(p->url, message, msg, sizeof(msg)), "\n"),
		 msg);
}

/* pg_conn_start - start libpq's connection (to p->hostaddrs when looked up). */
static void pg_conn_start(struct pg *p)
{
	const char *kw[PG_CONN_PARAMS], *val[PG_CONN_PARAMS];

	pg_conn_params(p->url, p->hosts, p->hostaddrs, kw, val);
	p->state = PG_CONNECTING;
	if ((p->conn = PQconnectStartParams(kw, val, 1)) == NULL)
		fatal("pg: out of memory");
	PQsetNoticeProcessor(p->conn, pg_conn_notice_cb, p);
	if (PQstatus(p->conn) == CONNECTION_BAD) {
		pg_fail(p, PQerrorMessage(p->conn));
		return;
	}
	pg_conn_watch(p, EV_WRITE); /* libpq: behave as if PQconnectPoll said WRITING */
}

/* pg_lookup_add - append one address found to l's lists. */
static void pg_lookup_add(struct pg_lookup *l, const struct addrinfo *ai)
{
	char addr[INET6_ADDRSTRLEN];
	const void *a = ai->ai_family == AF_INET6
				? (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
				: (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
	bool first = l->hostaddrs[0] == '\0';

	if (inet_ntop(ai->ai_family, a, addr, sizeof(addr)) == NULL)
		return;
	snprintf(l->hostaddrs + strlen(l->hostaddrs), sizeof(l->hostaddrs) - strlen(l->hostaddrs),
		 "%s%s", first ? "" : ",", addr);
	snprintf(l->hosts + strlen(l->hosts), sizeof(l->hosts) - strlen(l->hosts), "%s%s",
		 first ? "" : ",", l->host);
}

/* pg_lookup_work - on a worker: the addresses of the host name (libpq tries them in turn). */
static void pg_lookup_work(void *arg)
{
	struct pg_lookup *l = arg;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(l->host, NULL, &hints, &res), n = 0;

	for (const struct addrinfo *ai = res; ai != NULL && n < PG_LOOKUP_MAX; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) {
			pg_lookup_add(l, ai);
			n++;
		}
	if (l->hostaddrs[0] == '\0')
		snprintf(l->error, sizeof(l->error), "cannot look up %s: %s", l->host,
			 rc != 0 ? gai_strerror(rc) : "no address");
	if (res != NULL)
		freeaddrinfo(res);
}

/* pg_lookup_done_cb - on the loop: connect to the address found, or fail the attempt. */
static void pg_lookup_done_cb(void *arg)
{
	struct pg_lookup *l = arg;
	struct pg *p = l->p;

	if (p != NULL) {
		p->lookup = NULL;
		if (p->state == PG_RESOLVING) {
			pg_enter(p);
			snprintf(p->hosts, sizeof(p->hosts), "%s", l->hosts);
			snprintf(p->hostaddrs, sizeof(p->hostaddrs), "%s", l->hostaddrs);
			if (l->hostaddrs[0] != '\0')
				pg_conn_start(p);
			else
				pg_fail(p, l->error);
			pg_leave(p);
		}
	}
	free(l);
}

/* pg_lookup_start - look the host name up on the resolver. */
static void pg_lookup_start(struct pg *p)
{
	struct pg_lookup *l = xcalloc(1, sizeof(*l));
	size_t n = p->parsed.host.len < sizeof(l->host) ? p->parsed.host.len : sizeof(l->host) - 1;

	l->p = p;
	memcpy(l->host, p->url + p->parsed.host.off, n);
	p->lookup = l;
	p->state = PG_RESOLVING;
	workq_submit(p->resolver, pg_lookup_work, pg_lookup_done_cb, l);
}

void pg_lookup_forget(struct pg *p)
{
	if (p->lookup != NULL)
		p->lookup->p = NULL;
	p->lookup = NULL;
}

void pg_attempt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *p = arg;
	struct timeval tv = pg_tv(p->to.connect_ms);

	(void)fd;
	(void)what;
	pg_enter(p);
	p->hosts[0] = p->hostaddrs[0] = '\0';
	evtimer_add(p->timer, &tv);
	if (p->lookup != NULL)
		p->state = PG_RESOLVING; /* the last attempt's lookup still runs: wait for it */
	else if (p->resolver != NULL && p->parsed.host_kind == PG_URL_HOST_NAME &&
		 !p->parsed.has_hostaddr)
		pg_lookup_start(p);
	else
		pg_conn_start(p);
	pg_leave(p);
}

void pg_timeout(struct pg *p)
{
	char why[80];

	if (p->state == PG_RESOLVING || p->state == PG_CONNECTING)
		snprintf(why, sizeof(why), "no connection within %u ms", p->to.connect_ms);
	else
		snprintf(why, sizeof(why), "no answer within %u ms", p->to.query_ms);
	pg_fail(p, why);
}

void pg_fail(struct pg *p, const char *why)
{
	char msg[512], error[600];
	bool report = !p->reported_down;
	struct timeval tv = pg_tv(p->retry_ms);

	/* why may be libpq's buffer: scrub it before PQfinish */
	pg_url_scrub(p->url, why != NULL && why[0] != '\0' ? why : "connection lost", msg, sizeof(msg));
	p->gen++;
	pg_io_stop(p);
	PQfinish(p->conn);
	p->conn = NULL;
	p->state = PG_WAIT;
	p->setup_left = 0;
	evtimer_add(p->retry_ev, &tv);
	p->retry_ms = p->retry_ms == 0 ? PG_RETRY_FIRST_MS : p->retry_ms * 2;
	if (p->retry_ms > PG_RETRY_MAX_MS)
		p->retry_ms = PG_RETRY_MAX_MS;
	if (report)
		log_warn("postgresql %s: unavailable: %s", p->name, msg);
	p->reported_down = true;
	snprintf(error, sizeof(error), "postgresql unavailable: %s", msg);
	pg_fail_queue(p, error);
	if (report && !p->closed && p->cb.down_cb != NULL)
		p->cb.down_cb(p->cb.arg, msg);
}

struct pg_conn *pg_connect_sync(const char *url, char **error_r)
{
	const char *kw[PG_CONN_PARAMS], *val[PG_CONN_PARAMS], *error;
	char name[PG_URL_MAX], msg[512], *merr = NULL;
	PGconn *conn;

	if (pg_url_check(url, &error) < 0) {
		*error_r = xasprintf("%s: bad PostgreSQL URL: %s", pg_url_redact(url, name, sizeof(name)),
				     error);
		return NULL;
	}
	pg_url_redact(url, name, sizeof(name));
	pg_conn_params(url, "", "", kw, val);
	if ((conn = PQconnectdbParams(kw, val, 1)) == NULL)
		fatal("pg: out of memory");
	if (PQstatus(conn) != CONNECTION_OK) {
		*error_r = xasprintf("%s: %s", name, pg_url_scrub(url, PQerrorMessage(conn), msg, sizeof(msg)));
		PQfinish(conn);
		return NULL;
	}
	if (pg_schema_migrate_sync(conn, &merr) < 0) {
		*error_r = xasprintf("%s: %s", name, pg_url_scrub(url, merr, msg, sizeof(msg)));
		free(merr);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

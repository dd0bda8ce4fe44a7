/*
 * metrics - the counters and gauges that GET /metrics reports
 * (metrics/metrics_http.h) in the Prometheus text exposition format, every
 * name prefixed "postern_".
 *
 * Any thread may count. Each value is one C11 atomic cell in fixed arrays
 * indexed by the enums below, added to with relaxed ordering: a scrape
 * needs no order between two cells, so counting takes no lock, allocates
 * nothing and costs one locked add.
 *
 * A scrape copies the cells into a plain struct metrics_snapshot, adds what
 * only the daemon's loop may read (open sessions, the store's counters),
 * and metrics_render() turns that into text: a pure function, so that a
 * unit test can pin the output.
 */
#ifndef POSTERN_METRICS_H
#define POSTERN_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct evbuffer;

/* The label service="...": listeners, and "sendmail" (posternctl sendmail). */
enum metrics_service {
	METRICS_SVC_SMTP,
	METRICS_SVC_SUBMISSION,
	METRICS_SVC_SUBMISSIONS,
	METRICS_SVC_POP3,
	METRICS_SVC_POP3S,
	METRICS_SVC_IMAP,
	METRICS_SVC_IMAPS,
	METRICS_SVC_POLICY,
	METRICS_SVC_SENDMAIL,
	METRICS_SVC_N,
};

/* The label result="..." of a login. */
enum metrics_login_result {
	METRICS_LOGIN_OK,     /* credentials good, maildrop open (POP3) */
	METRICS_LOGIN_FAIL,   /* bad credentials (or unknown user) */
	METRICS_LOGIN_LOCKED, /* refused unchecked: the address is locked out (auth.max_failures) */
	METRICS_LOGIN_ERROR,  /* good credentials, temporary failure: maildrop in use, store down */
	METRICS_LOGIN_N,
};

/* The label status="..." of a delivery attempt (the order of enum delivery_status). */
enum metrics_dlv_status {
	METRICS_DLV_SENT,
	METRICS_DLV_DEFERRED,
	METRICS_DLV_BOUNCED,
	METRICS_DLV_N,
};

/* The label relay="..." of a delivery attempt. */
enum metrics_dest {
	METRICS_DEST_LOCAL, /* a Maildir */
	METRICS_DEST_REMOTE,
	METRICS_DEST_N,
};

/* The label result="..." of a relay decision for a remote recipient or a policy query. */
enum metrics_relay_result {
	METRICS_RELAY_GRANT,   /* a live POP-before-SMTP grant */
	METRICS_RELAY_TRUSTED, /* relay.trusted_networks */
	METRICS_RELAY_AUTH,    /* SMTP AUTH */
	METRICS_RELAY_REFUSED,
	METRICS_RELAY_ERROR, /* the grant store failed: 451 / DEFER_IF_PERMIT */
	METRICS_RELAY_N,
};

/* Counters without labels. */
enum metrics_counter {
	METRICS_C_RELAY_GRANTS, /* grants written (opened or renewed) after POP3 logins */
	METRICS_C_N,
};

/* Gauges kept by the code that changes them. */
enum metrics_gauge {
	METRICS_G_QUEUE_MESSAGES, /* entries of the outbound queue */
	METRICS_G_N,
};

/*
 * Values a scrape reads on the daemon's loop (metrics_http.c), not counted
 * here: they live in state that only the loop may touch.
 */
enum metrics_state {
	METRICS_S_SESSIONS_OPEN,
	METRICS_S_STORE_MESSAGES,
	METRICS_S_STORE_BATCHES,
	METRICS_S_STORE_SYNCS,
	METRICS_S_N,
};

/*
 * The SPF, DKIM and DMARC verdicts of received mail, one family each:
 * postern_<check>_verdicts_total{result="..."} (a message with several
 * DKIM signatures counts once: pass when one passed).
 */
enum metrics_check {
	METRICS_AUTH_SPF,
	METRICS_AUTH_DKIM,
	METRICS_AUTH_DMARC,
	METRICS_CHECK_N,
};

/* Results of RFC 8601 (Authentication-Results) common to the three checks. */
enum metrics_verdict {
	METRICS_VERDICT_PASS,
	METRICS_VERDICT_FAIL,
	METRICS_VERDICT_SOFTFAIL, /* SPF only */
	METRICS_VERDICT_NEUTRAL,
	METRICS_VERDICT_NONE,
	METRICS_VERDICT_TEMPERROR,
	METRICS_VERDICT_PERMERROR,
	METRICS_VERDICT_N,
};

/* Where each labelled family starts in the cells. */
enum {
	METRICS_CELL_CONNECTIONS = 0,
	METRICS_CELL_ACCEPT_ERRORS = METRICS_CELL_CONNECTIONS + METRICS_SVC_N,
	METRICS_CELL_LOGINS = METRICS_CELL_ACCEPT_ERRORS + METRICS_SVC_N,
	METRICS_CELL_RECEIVED = METRICS_CELL_LOGINS + METRICS_SVC_N * METRICS_LOGIN_N,
	METRICS_CELL_DELIVERIES = METRICS_CELL_RECEIVED + METRICS_SVC_N,
	METRICS_CELL_RELAY = METRICS_CELL_DELIVERIES + METRICS_DLV_N * METRICS_DEST_N,
	METRICS_CELL_COUNTERS = METRICS_CELL_RELAY + METRICS_RELAY_N,
	METRICS_CELL_VERDICTS = METRICS_CELL_COUNTERS + METRICS_C_N,
	METRICS_CELL_N = METRICS_CELL_VERDICTS + METRICS_CHECK_N * METRICS_VERDICT_N,
};

extern _Atomic uint64_t metrics_cells[METRICS_CELL_N];
extern _Atomic int64_t metrics_gauges[METRICS_G_N];

/* metrics_cell_add - add n to one cell; any thread. */
static inline void metrics_cell_add(unsigned cell, uint64_t n)
{
	atomic_fetch_add_explicit(&metrics_cells[cell], n, memory_order_relaxed);
}

/* metrics_conn - a listener of service accepted a connection. */
static inline void metrics_conn(enum metrics_service service)
{
	metrics_cell_add(METRICS_CELL_CONNECTIONS + (unsigned)service, 1);
}

/* metrics_accept_error - accept() failed on a listener of service (out of descriptors...). */
static inline void metrics_accept_error(enum metrics_service service)
{
	metrics_cell_add(METRICS_CELL_ACCEPT_ERRORS + (unsigned)service, 1);
}

/* metrics_login - a login (SMTP AUTH, POP3 USER/PASS, APOP, AUTH) ended with result. */
static inline void metrics_login(enum metrics_service service, enum metrics_login_result result)
{
	metrics_cell_add(METRICS_CELL_LOGINS + (unsigned)service * METRICS_LOGIN_N + (unsigned)result,
			 1);
}

/* metrics_received - a message was accepted (and is durable). */
static inline void metrics_received(enum metrics_service service)
{
	metrics_cell_add(METRICS_CELL_RECEIVED + (unsigned)service, 1);
}

/* metrics_delivery - one recipient's delivery attempt ended with status. */
static inline void metrics_delivery(enum metrics_dlv_status status, enum metrics_dest dest)
{
	metrics_cell_add(METRICS_CELL_DELIVERIES + (unsigned)status * METRICS_DEST_N + (unsigned)dest,
			 1);
}

/* metrics_relay - a relay decision was made. */
static inline void metrics_relay(enum metrics_relay_result result)
{
	metrics_cell_add(METRICS_CELL_RELAY + (unsigned)result, 1);
}

/* metrics_inc - one more of a counter without labels. */
static inline void metrics_inc(enum metrics_counter c)
{
	metrics_cell_add(METRICS_CELL_COUNTERS + (unsigned)c, 1);
}

/* metrics_verdict - count one check's result, by its RFC 8601 name ("pass", ...); others are ignored. */
void metrics_verdict(enum metrics_check check, const char *result);

/* metrics_service_find - the service of a listener's name ("smtp", "pop3s"...); -1 if none. */
int metrics_service_find(const char *name);

/* metrics_gauge_add - move a gauge by delta (negative: down); any thread. */
static inline void metrics_gauge_add(enum metrics_gauge g, int64_t delta)
{
	atomic_fetch_add_explicit(&metrics_gauges[g], delta, memory_order_relaxed);
}

/* Every value of one scrape, as plain numbers. */
struct metrics_snapshot {
	uint64_t cells[METRICS_CELL_N];
	int64_t gauges[METRICS_G_N];
	uint64_t state[METRICS_S_N];
	bool have_state[METRICS_S_N]; /* false: the family is left out (no store open...) */
};

/* metrics_snapshot_take - copy the cells and gauges; the state is left unset. */
void metrics_snapshot_take(struct metrics_snapshot *snap_r);

/* metrics_render - the Prometheus text of snap, appended to out; -1 when out cannot grow. */
int metrics_render(const struct metrics_snapshot *snap, struct evbuffer *out);

/* The Content-Type of metrics_render's text (Prometheus text format 0.0.4). */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif

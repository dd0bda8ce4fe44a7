/* metrics - the cells every thread counts in, and their Prometheus text. */
#include "metrics/metrics.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

_Atomic uint64_t metrics_cells[METRICS_CELL_N];
_Atomic int64_t metrics_gauges[METRICS_G_N];

/* Where a family's numbers come from. */
enum metrics_source {
	METRICS_SRC_CELLS,
	METRICS_SRC_GAUGES,
	METRICS_SRC_STATE,
};

/* A label and its values; mask says which are emitted (bit i: values[i]; 0: all). */
struct metrics_label {
	const char *name;
	const char *const *values;
	unsigned n;
	unsigned mask;
};

/* One metric family: a HELP and a TYPE line, then a sample per label value (pair). */
struct metrics_family {
	const char *name;
	const char *type;
	const char *help;
	enum metrics_source src;
	unsigned base; /* first cell, gauge or state; samples follow in l1-major order */
	const struct metrics_label *l1, *l2;
};

#define METRICS_BIT(v) (1u << (v))

static const char *const metrics_service_names[METRICS_SVC_N] = {
	"smtp", "submission", "submissions", "pop3", "pop3s", "imap", "imaps", "policy", "sendmail",
};
static const char *const metrics_login_names[METRICS_LOGIN_N] = {
	"ok", "fail", "locked", "error",
};
static const char *const metrics_dlv_names[METRICS_DLV_N] = { "sent", "deferred", "bounced" };
static const char *const metrics_dest_names[METRICS_DEST_N] = { "local", "remote" };
static const char *const metrics_relay_names[METRICS_RELAY_N] = {
	"grant", "trusted", "auth", "refused", "error",
};

static const char *const metrics_verdict_names[METRICS_VERDICT_N] = {
	"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror",
};

/* Listeners: every service but sendmail. */
static const struct metrics_label metrics_l_listener = {
	"service", metrics_service_names, METRICS_SVC_N,
	(METRICS_BIT(METRICS_SVC_N) - 1) & ~METRICS_BIT(METRICS_SVC_SENDMAIL),
};
/* Logins count by protocol: smtp (port 25), submission (both ports), pop3 (both ports). */
static const struct metrics_label metrics_l_login_service = {
	"service", metrics_service_names, METRICS_SVC_N,
	METRICS_BIT(METRICS_SVC_SMTP) | METRICS_BIT(METRICS_SVC_SUBMISSION) |
		METRICS_BIT(METRICS_SVC_POP3),
};
/* Messages arrive by SMTP (port 25), submission (both ports) and posternctl sendmail. */
static const struct metrics_label metrics_l_received_service = {
	"service", metrics_service_names, METRICS_SVC_N,
	METRICS_BIT(METRICS_SVC_SMTP) | METRICS_BIT(METRICS_SVC_SUBMISSION) |
		METRICS_BIT(METRICS_SVC_SENDMAIL),
};
static const struct metrics_label metrics_l_login = {
	"result", metrics_login_names, METRICS_LOGIN_N, 0,
};
static const struct metrics_label metrics_l_dlv = {
	"status", metrics_dlv_names, METRICS_DLV_N, 0,
};
static const struct metrics_label metrics_l_dest = {
	"relay", metrics_dest_names, METRICS_DEST_N, 0,
};
static const struct metrics_label metrics_l_relay = {
	"result", metrics_relay_names, METRICS_RELAY_N, 0,
};
static const struct metrics_label metrics_l_verdict = {
	"result", metrics_verdict_names, METRICS_VERDICT_N, 0,
};

static const struct metrics_family metrics_families[] = {
	{ "postern_connections_total", "counter", "Connections accepted, by listener.",
	  METRICS_SRC_CELLS, METRICS_CELL_CONNECTIONS, &metrics_l_listener, NULL },
	{ "postern_accept_errors_total", "counter",
	  "Failed accept() calls (out of descriptors...), by listener.", METRICS_SRC_CELLS,
	  METRICS_CELL_ACCEPT_ERRORS, &metrics_l_listener, NULL },
	{ "postern_logins_total", "counter",
	  "SMTP AUTH and POP3 logins by protocol and result (locked: refused unchecked "
	  "after auth.max_failures; error: good credentials, temporary failure).",
	  METRICS_SRC_CELLS, METRICS_CELL_LOGINS, &metrics_l_login_service, &metrics_l_login },
	{ "postern_messages_received_total", "counter",
	  "Messages accepted and stored, by how they came in.", METRICS_SRC_CELLS,
	  METRICS_CELL_RECEIVED, &metrics_l_received_service, NULL },
	{ "postern_deliveries_total", "counter",
	  "Delivery attempts, one per recipient and attempt, by outcome and by local (Maildir) "
	  "or remote.", METRICS_SRC_CELLS, METRICS_CELL_DELIVERIES, &metrics_l_dlv, &metrics_l_dest },
	{ "postern_relay_checks_total", "counter",
	  "Relay decisions for remote recipients and policy queries, by reason.",
	  METRICS_SRC_CELLS, METRICS_CELL_RELAY, &metrics_l_relay, NULL },
	{ "postern_relay_grants_total", "counter",
	  "POP-before-SMTP grants written (opened or renewed) after POP3 logins.",
	  METRICS_SRC_CELLS, METRICS_CELL_COUNTERS + METRICS_C_RELAY_GRANTS, NULL, NULL },
	{ "postern_spf_verdicts_total", "counter", "SPF results of mail checked on port 25.",
	  METRICS_SRC_CELLS, METRICS_CELL_VERDICTS + METRICS_AUTH_SPF * METRICS_VERDICT_N,
	  &metrics_l_verdict, NULL },
	{ "postern_dkim_verdicts_total", "counter",
	  "DKIM results of mail checked on port 25 (pass when one signature passed).",
	  METRICS_SRC_CELLS, METRICS_CELL_VERDICTS + METRICS_AUTH_DKIM * METRICS_VERDICT_N,
	  &metrics_l_verdict, NULL },
	{ "postern_dmarc_verdicts_total", "counter", "DMARC results of mail checked on port 25.",
	  METRICS_SRC_CELLS, METRICS_CELL_VERDICTS + METRICS_AUTH_DMARC * METRICS_VERDICT_N,
	  &metrics_l_verdict, NULL },
	{ "postern_queue_messages", "gauge", "Messages in the outbound queue.",
	  METRICS_SRC_GAUGES, METRICS_G_QUEUE_MESSAGES, NULL, NULL },
	{ "postern_sessions_open", "gauge",
	  "Open sessions: SMTP, submission, POP3, policy and posternctl connections.",
	  METRICS_SRC_STATE, METRICS_S_SESSIONS_OPEN, NULL, NULL },
	{ "postern_store_messages_total", "counter", "Messages the store committed.",
	  METRICS_SRC_STATE, METRICS_S_STORE_MESSAGES, NULL, NULL },
	{ "postern_store_batches_total", "counter", "Group commits of the store.",
	  METRICS_SRC_STATE, METRICS_S_STORE_BATCHES, NULL, NULL },
	{ "postern_store_syncs_total", "counter", "fsync calls of the store.",
	  METRICS_SRC_STATE, METRICS_S_STORE_SYNCS, NULL, NULL },
};

void metrics_verdict(enum metrics_check check, const char *result)
{
	for (unsigned i = 0; i < METRICS_VERDICT_N; i++) {
		if (strcmp(metrics_verdict_names[i], result) == 0) {
			metrics_cell_add(METRICS_CELL_VERDICTS + (unsigned)check * METRICS_VERDICT_N + i, 1);
			return;
		}
	}
}

/* metrics_service_find - the service of a listener's name; -1 if none. */
int metrics_service_find(const char *name)
{
	for (int i = 0; i < METRICS_SVC_N; i++) {
		if (strcmp(metrics_service_names[i], name) == 0)
			return i;
	}
	return -1;
}

/* metrics_snapshot_take - copy the cells and gauges; the state is left unset. */
void metrics_snapshot_take(struct metrics_snapshot *snap_r)
{
	for (unsigned i = 0; i < METRICS_CELL_N; i++)
		snap_r->cells[i] = atomic_load_explicit(&metrics_cells[i], memory_order_relaxed);
	for (unsigned i = 0; i < METRICS_G_N; i++)
		snap_r->gauges[i] = atomic_load_explicit(&metrics_gauges[i], memory_order_relaxed);
	for (unsigned i = 0; i < METRICS_S_N; i++) {
		snap_r->state[i] = 0;
		snap_r->have_state[i] = false;
	}
}

/* metrics_label_on - whether value i of label l is emitted. */
static bool metrics_label_on(const struct metrics_label *l, unsigned i)
{
	return l == NULL || l->mask == 0 || (l->mask & METRICS_BIT(i)) != 0;
}

/* metrics_value - the number of sample k of family f, as text. */
static void metrics_value(const struct metrics_family *f, const struct metrics_snapshot *snap,
			  unsigned k, char *buf, size_t size)
{
	if (f->src == METRICS_SRC_CELLS)
		snprintf(buf, size, "%" PRIu64, snap->cells[f->base + k]);
	else if (f->src == METRICS_SRC_GAUGES)
		snprintf(buf, size, "%" PRId64, snap->gauges[f->base + k]);
	else
		snprintf(buf, size, "%" PRIu64, snap->state[f->base + k]);
}

/* metrics_render_sample - "name{l1="v1",l2="v2"} value" for label values i and j. */
static int metrics_render_sample(const struct metrics_family *f,
				 const struct metrics_snapshot *snap, unsigned i, unsigned j,
				 struct evbuffer *out)
{
	unsigned n2 = f->l2 != NULL ? f->l2->n : 1;
	char value[32], labels[128] = "";

	metrics_value(f, snap, i * n2 + j, value, sizeof(value));
	if (f->l1 != NULL && f->l2 != NULL)
		snprintf(labels, sizeof(labels), "{%s=\"%s\",%s=\"%s\"}", f->l1->name,
			 f->l1->values[i], f->l2->name, f->l2->values[j]);
	else if (f->l1 != NULL)
		snprintf(labels, sizeof(labels), "{%s=\"%s\"}", f->l1->name, f->l1->values[i]);
	return evbuffer_add_printf(out, "%s%s %s\n", f->name, labels, value) < 0 ? -1 : 0;
}

/* metrics_render_family - HELP, TYPE and the samples of f; nothing for state not read. */
static int metrics_render_family(const struct metrics_family *f,
				 const struct metrics_snapshot *snap, struct evbuffer *out)
{
	unsigned n1 = f->l1 != NULL ? f->l1->n : 1, n2 = f->l2 != NULL ? f->l2->n : 1;

	if (f->src == METRICS_SRC_STATE && !snap->have_state[f->base])
		return 0;
	if (evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
				f->type) < 0)
		return -1;
	for (unsigned i = 0; i < n1; i++) {
		for (unsigned j = 0; j < n2; j++) {
			if (!metrics_label_on(f->l1, i) || !metrics_label_on(f->l2, j))
				continue;
			if (metrics_render_sample(f, snap, i, j, out) < 0)
				return -1;
		}
	}
	return 0;
}

/* metrics_render - every family of the table, in order. */
int metrics_render(const struct metrics_snapshot *snap, struct evbuffer *out)
{
	for (size_t i = 0; i < sizeof(metrics_families) / sizeof(metrics_families[0]); i++) {
		if (metrics_render_family(&metrics_families[i], snap, out) < 0)
			return -1;
	}
	return 0;
}

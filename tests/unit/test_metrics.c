/* test_metrics - the counters of /metrics and their Prometheus text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <pthread.h>

#include "metrics/metrics.h"

#define TEST_METRICS_THREADS 4
#define TEST_METRICS_PER_THREAD 100000

/* test_metrics_text - render snap into a malloc'd string. */
static char *test_metrics_text(const struct metrics_snapshot *snap)
{
	struct evbuffer *out = evbuffer_new();
	size_t len;
	char *text;

	assert_non_null(out);
	assert_int_equal(metrics_render(snap, out), 0);
	len = evbuffer_get_length(out);
	text = malloc(len + 1);
	assert_non_null(text);
	evbuffer_remove(out, text, len);
	text[len] = '\0';
	evbuffer_free(out);
	return text;
}

/* test_metrics_has_line - whether text holds line as a whole line. */
static bool test_metrics_has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	}
	return false;
}

/* test_metrics_snapshot - a snapshot of the given values, every state read. */
static void test_metrics_snapshot(struct metrics_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	snap->cells[METRICS_CELL_CONNECTIONS + METRICS_SVC_POP3S] = 7;
	snap->cells[METRICS_CELL_LOGINS + METRICS_SVC_SUBMISSION * METRICS_LOGIN_N +
		    METRICS_LOGIN_FAIL] = 3;
	snap->cells[METRICS_CELL_DELIVERIES + METRICS_DLV_BOUNCED * METRICS_DEST_N +
		    METRICS_DEST_REMOTE] = 2;
	snap->cells[METRICS_CELL_RECEIVED + METRICS_SVC_SENDMAIL] = 18446744073709551615u;
	snap->cells[METRICS_CELL_COUNTERS + METRICS_C_RELAY_GRANTS] = 5;
	snap->gauges[METRICS_G_QUEUE_MESSAGES] = 12;
	for (int i = 0; i < METRICS_S_N; i++) {
		snap->state[i] = 100 + (uint64_t)i;
		snap->have_state[i] = true;
	}
}

/* test_metrics_render_values - each value lands on its own series, with HELP and TYPE. */
static void test_metrics_render_values(void **state)
{
	struct metrics_snapshot snap;
	char *text;

	(void)state;
	test_metrics_snapshot(&snap);
	text = test_metrics_text(&snap);
	static const char *const want[] = {
		"# HELP postern_connections_total Connections accepted, by listener.",
		"# TYPE postern_connections_total counter",
		"postern_connections_total{service=\"pop3s\"} 7",
		"postern_connections_total{service=\"smtp\"} 0",
		"postern_logins_total{service=\"submission\",result=\"fail\"} 3",
		"postern_logins_total{service=\"submission\",result=\"ok\"} 0",
		"postern_deliveries_total{status=\"bounced\",relay=\"remote\"} 2",
		"postern_deliveries_total{status=\"bounced\",relay=\"local\"} 0",
		"postern_messages_received_total{service=\"sendmail\"} 18446744073709551615",
		"# TYPE postern_relay_grants_total counter",
		"postern_relay_grants_total 5",
		"# TYPE postern_queue_messages gauge",
		"postern_queue_messages 12",
		"# TYPE postern_sessions_open gauge",
		"postern_sessions_open 100",
		"postern_store_messages_total 101",
		"postern_store_batches_total 102",
		"postern_store_syncs_total 103",
		"postern_relay_checks_total{result=\"auth\"} 0",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!test_metrics_has_line(text, want[i]))
			fail_msg("missing line: %s\n---\n%s", want[i], text);
	}
	free(text);
}

/* test_metrics_render_masks - series that cannot happen are not emitted. */
static void test_metrics_render_masks(void **state)
{
	struct metrics_snapshot snap;
	char *text;

	(void)state;
	test_metrics_snapshot(&snap);
	text = test_metrics_text(&snap);
	assert_null(strstr(text, "postern_connections_total{service=\"sendmail\"}"));
	assert_null(strstr(text, "postern_logins_total{service=\"pop3s\""));
	assert_null(strstr(text, "postern_logins_total{service=\"policy\""));
	assert_null(strstr(text, "postern_messages_received_total{service=\"pop3\"}"));
	assert_non_null(strstr(text, "postern_dmarc_verdicts_total{result=\"pass\"} "));
	free(text);
}

/* test_metrics_render_state_missing - without a store its families are left out, not zero. */
static void test_metrics_render_state_missing(void **state)
{
	struct metrics_snapshot snap;
	char *text;

	(void)state;
	test_metrics_snapshot(&snap);
	snap.have_state[METRICS_S_STORE_MESSAGES] = false;
	snap.have_state[METRICS_S_STORE_BATCHES] = false;
	snap.have_state[METRICS_S_STORE_SYNCS] = false;
	text = test_metrics_text(&snap);
	assert_null(strstr(text, "postern_store_"));
	assert_non_null(strstr(text, "\npostern_sessions_open 100\n"));
	free(text);
}

/* test_metrics_family_of - the family a sample line belongs to (name up to '{' or ' '). */
static size_t test_metrics_family_of(const char *line, char *name, size_t size)
{
	size_t n = strcspn(line, "{ ");

	assert_true(n > 0 && n < size);
	memcpy(name, line, n);
	name[n] = '\0';
	return n;
}

/* test_metrics_check_sample - "name{k="v",...} NUMBER" after its family's HELP and TYPE. */
static void test_metrics_check_sample(const char *line, const char *family)
{
	char name[128];
	size_t n = test_metrics_family_of(line, name, sizeof(name));
	const char *rest = line + n;
	char *end;

	assert_string_equal(name, family);
	if (*rest == '{') {
		rest = strchr(rest, '}');
		assert_non_null(rest);
		rest++;
	}
	assert_int_equal(rest[0], ' ');
	strtoll(rest + 1, &end, 10);
	assert_true(end > rest + 1 && *end == '\0');
}

/* test_metrics_render_format - every line is a comment of its family or a well-formed sample. */
static void test_metrics_render_format(void **state)
{
	struct metrics_snapshot snap;
	char family[128] = "", *text, *save = NULL;
	int families = 0;

	(void)state;
	test_metrics_snapshot(&snap);
	text = test_metrics_text(&snap);
	assert_true(text[strlen(text) - 1] == '\n');
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			test_metrics_family_of(line + 7, family, sizeof(family));
			assert_int_equal(strncmp(family, "postern_", 8), 0);
			families++;
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(strncmp(line + 7, family, strlen(family)), 0);
			const char *type = line + 7 + strlen(family);
			assert_true(strcmp(type, " counter") == 0 || strcmp(type, " gauge") == 0);
			assert_true(strcmp(type, " counter") != 0 ||
				    strcmp(family + strlen(family) - 6, "_total") == 0);
		} else {
			test_metrics_check_sample(line, family);
		}
	}
	assert_int_equal(families, 15);
	free(text);
}

/* test_metrics_count - the counting functions move the cells they name. */
static void test_metrics_count(void **state)
{
	struct metrics_snapshot before, after;

	(void)state;
	metrics_snapshot_take(&before);
	metrics_conn(METRICS_SVC_POLICY);
	metrics_login(METRICS_SVC_POP3, METRICS_LOGIN_LOCKED);
	metrics_login(METRICS_SVC_POP3, METRICS_LOGIN_LOCKED);
	metrics_delivery(METRICS_DLV_SENT, METRICS_DEST_LOCAL);
	metrics_relay(METRICS_RELAY_ERROR);
	metrics_inc(METRICS_C_RELAY_GRANTS);
	metrics_gauge_add(METRICS_G_QUEUE_MESSAGES, 3);
	metrics_gauge_add(METRICS_G_QUEUE_MESSAGES, -1);
	metrics_snapshot_take(&after);
	assert_int_equal(after.cells[METRICS_CELL_CONNECTIONS + METRICS_SVC_POLICY] -
				 before.cells[METRICS_CELL_CONNECTIONS + METRICS_SVC_POLICY], 1);
	unsigned locked = METRICS_CELL_LOGINS + METRICS_SVC_POP3 * METRICS_LOGIN_N +
			  METRICS_LOGIN_LOCKED;
	assert_int_equal(after.cells[locked] - before.cells[locked], 2);
	assert_int_equal(after.cells[METRICS_CELL_DELIVERIES] - before.cells[METRICS_CELL_DELIVERIES],
			 1);
	assert_int_equal(after.cells[METRICS_CELL_RELAY + METRICS_RELAY_ERROR] -
				 before.cells[METRICS_CELL_RELAY + METRICS_RELAY_ERROR], 1);
	assert_int_equal(after.gauges[METRICS_G_QUEUE_MESSAGES] -
				 before.gauges[METRICS_G_QUEUE_MESSAGES], 2);
	assert_false(after.have_state[METRICS_S_SESSIONS_OPEN]);
	char *text = test_metrics_text(&after);
	assert_true(test_metrics_has_line(text, "postern_logins_total{service=\"pop3\",result=\"locked\"} 2"));
	free(text);
}

/* test_metrics_thread_cb - count TEST_METRICS_PER_THREAD deliveries and logins. */
static void *test_metrics_thread_cb(void *arg)
{
	(void)arg;
	for (int i = 0; i < TEST_METRICS_PER_THREAD; i++) {
		metrics_delivery(METRICS_DLV_DEFERRED, METRICS_DEST_REMOTE);
		metrics_gauge_add(METRICS_G_QUEUE_MESSAGES, (i & 1) ? -1 : 1);
	}
	return NULL;
}

/* test_metrics_threads - increments from several threads at once are none of them lost. */
static void test_metrics_threads(void **state)
{
	unsigned cell = METRICS_CELL_DELIVERIES + METRICS_DLV_DEFERRED * METRICS_DEST_N +
			METRICS_DEST_REMOTE;
	struct metrics_snapshot before, after;
	pthread_t t[TEST_METRICS_THREADS];

	(void)state;
	metrics_snapshot_take(&before);
	for (int i = 0; i < TEST_METRICS_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, test_metrics_thread_cb, NULL), 0);
	for (int i = 0; i < TEST_METRICS_THREADS; i++)
		pthread_join(t[i], NULL);
	metrics_snapshot_take(&after);
	assert_int_equal(after.cells[cell] - before.cells[cell],
			 TEST_METRICS_THREADS * TEST_METRICS_PER_THREAD);
	assert_int_equal(after.gauges[METRICS_G_QUEUE_MESSAGES],
			 before.gauges[METRICS_G_QUEUE_MESSAGES]);
}

/* test_metrics_service_find - listener names to services. */
static void test_metrics_service_find(void **state)
{
	(void)state;
	assert_int_equal(metrics_service_find("smtp"), METRICS_SVC_SMTP);
	assert_int_equal(metrics_service_find("submissions"), METRICS_SVC_SUBMISSIONS);
	assert_int_equal(metrics_service_find("pop3s"), METRICS_SVC_POP3S);
	assert_int_equal(metrics_service_find("policy"), METRICS_SVC_POLICY);
	assert_int_equal(metrics_service_find("metrics"), -1);
	assert_int_equal(metrics_service_find(""), -1);
}

/* main - run the metrics tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_render_values),
		cmocka_unit_test(test_metrics_render_masks),
		cmocka_unit_test(test_metrics_render_state_missing),
		cmocka_unit_test(test_metrics_render_format),
		cmocka_unit_test(test_metrics_count),
		cmocka_unit_test(test_metrics_threads),
		cmocka_unit_test(test_metrics_service_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

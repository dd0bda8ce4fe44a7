/*
 * test_relay_lmdb - the LMDB grant store end to end in a temporary
 * directory: put, get, renew, expire, del, list, usage report, the
 * asynchronous contract, and two processes (this binary re-executed with
 * --child) seeing each other's grants at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <lmdb.h>

#include <cmocka.h>

#include "relay/grant_store.h"
#include "relay/relay_check.h"
#include "config/cfg.h"

static char test_lmdb_dir[] = "/tmp/test_relay_lmdb.XXXXXX";
static char test_lmdb_path[256];

/* An open store on its own loop. */
struct test_lmdb {
	struct event_base *base;
	struct relay_store *s;
};

/* test_lmdb_open - open the store at spec (lmdb:...) on a new loop. */
static void test_lmdb_open(struct test_lmdb *t, const char *spec)
{
	char *error = NULL;

	t->base = event_base_new();
	t->s = relay_store_open(spec, t->base, &error);
	if (t->s == NULL)
		fail_msg("%s: %s", spec, error);
}

/* test_lmdb_close - close the store and its loop. */
static void test_lmdb_close(struct test_lmdb *t)
{
	relay_store_close(&t->s);
	assert_null(t->s);
	event_base_free(t->base);
}

/* test_lmdb_spec - "lmdb:" and the test's store file. */
static const char *test_lmdb_spec(void)
{
	static char spec[300];

	snprintf(spec, sizeof(spec), "lmdb:%s", test_lmdb_path);
	return spec;
}

/* test_lmdb_put - put a grant for addr/login expiring at expires; whether it renewed one. */
static bool test_lmdb_put(struct test_lmdb *t, const char *addr, const char *login,
			  int64_t granted, int64_t expires)
{
	struct relay_grant g = { .granted = granted, .expires = expires };
	char *error = NULL;
	bool renewed = true;

	snprintf(g.addr, sizeof(g.addr), "%s", addr);
	snprintf(g.login, sizeof(g.login), "%s", login);
	if (relay_store_sync_put(t->s, &g, &renewed, &error) != RELAY_STORE_OK)
		fail_msg("put %s: %s", addr, error);
	return renewed;
}

/* test_lmdb_crud - put, get, renew, list, del. */
static void test_lmdb_crud(void **state)
{
	struct test_lmdb t;
	struct relay_grant g, *grants;
	int64_t now = (int64_t)time(NULL);
	char *error = NULL;
	size_t n;

	(void)state;
	test_lmdb_open(&t, test_lmdb_spec());
	assert_int_equal(relay_store_sync_get(t.s, "127.0.0.5", &g, &error), RELAY_STORE_NOT_FOUND);
	assert_false(test_lmdb_put(&t, "127.0.0.5", "alice@example.test", now, now + 900));
	assert_true(test_lmdb_put(&t, "127.0.0.5", "bob@example.test", now, now + 600));
	assert_false(test_lmdb_put(&t, "2001:db8::/64", "carol@example.test", now, now + 60));
	assert_false(test_lmdb_put(&t, "127.0.0.6", "dave@example.test", now - 100, now - 10));
	assert_false(test_lmdb_put(&t, "127.0.0.6", "dave@example.test", now, now + 10)); /* expired one */
	assert_int_equal(relay_store_sync_get(t.s, "127.0.0.5", &g, &error), RELAY_STORE_OK);
	assert_string_equal(g.login, "bob@example.test");
	assert_int_equal(g.expires, now + 600);
	assert_int_equal(relay_store_sync_list(t.s, now, &grants, &n, &error), RELAY_STORE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(grants[0].addr, "127.0.0.5");
	assert_string_equal(grants[1].addr, "127.0.0.6");
	assert_string_equal(grants[2].addr, "2001:db8::/64");
	free(grants);
	assert_int_equal(relay_store_sync_list(t.s, now + 100, &grants, &n, &error), RELAY_STORE_OK);
	assert_int_equal(n, 1); /* only bob's is still live then */
	free(grants);
	assert_int_equal(relay_store_sync_del(t.s, "127.0.0.5", &error), RELAY_STORE_OK);
	assert_int_equal(relay_store_sync_del(t.s, "127.0.0.5", &error), RELAY_STORE_NOT_FOUND);
	assert_int_equal(relay_store_sync_get(t.s, "127.0.0.5", &g, &error), RELAY_STORE_NOT_FOUND);
	test_lmdb_close(&t);
}

/* test_lmdb_expired - get returns an expired grant (for "expired at"), until it is too old. */
static void test_lmdb_expired(void **state)
{
	struct test_lmdb t;
	struct relay_grant g, *grants;
	int64_t now = (int64_t)time(NULL);
	char *error = NULL;
	size_t n;

	(void)state;
	test_lmdb_open(&t, test_lmdb_spec());
	test_lmdb_put(&t, "192.0.2.1", "erin", now - 1000, now - 100);
	test_lmdb_put(&t, "192.0.2.2", "frank", now - RELAY_GRANT_KEEP - 1000,
		      now - RELAY_GRANT_KEEP - 100);
	assert_int_equal(relay_store_sync_get(t.s, "192.0.2.1", &g, &error), RELAY_STORE_OK);
	assert_false(relay_grant_live(&g, now));
	assert_int_equal(g.expires, now - 100);
	assert_int_equal(relay_store_sync_get(t.s, "192.0.2.2", &g, &error), RELAY_STORE_NOT_FOUND);
	assert_int_equal(relay_store_sync_list(t.s, now, &grants, &n, &error), RELAY_STORE_OK);
	for (size_t i = 0; i < n; i++)
		assert_true(strcmp(grants[i].addr, "192.0.2.1") != 0 && strcmp(grants[i].addr, "192.0.2.2") != 0);
	free(grants);
	test_lmdb_close(&t);
}

/* test_lmdb_report - usage counted per login, filtered by --since at hour granularity. */
static void test_lmdb_report(void **state)
{
	struct test_lmdb t;
	struct relay_usage *u;
	int64_t now = (int64_t)time(NULL);
	char *error = NULL;
	size_t n;

	(void)state;
	test_lmdb_open(&t, test_lmdb_spec());
	for (int i = 0; i < 3; i++)
		assert_int_equal(relay_store_sync_record_use(t.s, "alice@example.test", now - i, &error),
				 RELAY_STORE_OK);
	assert_int_equal(relay_store_sync_record_use(t.s, "bob@example.test", now - 3 * 86400, &error),
			 RELAY_STORE_OK);
	assert_int_equal(relay_store_sync_record_use(t.s, "bad login", now, &error), RELAY_STORE_ERROR);
	free(error);
	error = NULL;
	assert_int_equal(relay_store_sync_report(t.s, 0, &u, &n, &error), RELAY_STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(u[0].login, "alice@example.test");
	assert_int_equal(u[0].count, 3);
	assert_int_equal(u[0].last, now);
	assert_string_equal(u[1].login, "bob@example.test");
	assert_int_equal(u[1].count, 1);
	assert_int_equal(u[1].last, now - 3 * 86400);
	free(u);
	assert_int_equal(relay_store_sync_report(t.s, now - 86400, &u, &n, &error), RELAY_STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(u[0].login, "alice@example.test");
	free(u);
	test_lmdb_close(&t);
}

/* What an asynchronous callback saw. */
struct test_lmdb_async {
	int calls;
	bool returned; /* the starting call had returned when the callback ran */
};

/* test_lmdb_async_cb - count a completion. */
static void test_lmdb_async_cb(void *arg, enum relay_store_status st, bool renewed,
			       const char *error)
{
	struct test_lmdb_async *a = arg;

	(void)renewed;
	(void)error;
	assert_int_equal(st, RELAY_STORE_OK);
	assert_true(a->returned);
	a->calls++;
}

/* test_lmdb_async - callbacks run on the loop, after the call, once each. */
static void test_lmdb_async(void **state)
{
	struct test_lmdb_async a = { 0 };
	struct relay_grant g = { .addr = "198.51.100.1", .login = "x", .granted = 1 };
	struct test_lmdb t;

	(void)state;
	test_lmdb_open(&t, test_lmdb_spec());
	g.expires = (int64_t)time(NULL) + 60;
	for (int i = 0; i < 50; i++)
		relay_store_put(t.s, &g, test_lmdb_async_cb, &a);
	a.returned = true;
	while (a.calls < 50)
		event_base_loop(t.base, EVLOOP_ONCE);
	assert_int_equal(a.calls, 50);
	test_lmdb_close(&t);
}

#define TEST_LMDB_BATCH 200

/* The completions of one burst of writes submitted at once. */
struct test_lmdb_burst {
	int calls[TEST_LMDB_BATCH + 3];
	enum relay_store_status st[TEST_LMDB_BATCH + 3];
	bool renewed[TEST_LMDB_BATCH + 3];
	int order[TEST_LMDB_BATCH + 3]; /* completion rank of each write */
	int done;
};

/* One write of the burst: its slot. */
struct test_lmdb_slot {
	struct test_lmdb_burst *b;
	int i;
};

/* test_lmdb_burst_cb - note one completion of slot i. */
static void test_lmdb_burst_cb(void *arg, enum relay_store_status st, bool renewed,
			       const char *error)
{
	struct test_lmdb_slot *slot = arg;
	struct test_lmdb_burst *b = slot->b;

	(void)error;
	b->calls[slot->i]++;
	b->st[slot->i] = st;
	b->renewed[slot->i] = renewed;
	b->order[slot->i] = b->done++;
}

/* test_lmdb_txnid - the id of the last committed write transaction of the store file. */
static size_t test_lmdb_txnid(void)
{
	MDB_env *env;
	MDB_envinfo info;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 2), 0);
	assert_int_equal(mdb_env_open(env, test_lmdb_path, MDB_NOSUBDIR | MDB_RDONLY, 0660), 0);
	assert_int_equal(mdb_env_info(env, &info), 0);
	mdb_env_close(env);
	return info.me_last_txnid;
}

/* test_lmdb_burst_submit - TEST_LMDB_BATCH puts, one of them twice, a use and two dels. */
static void test_lmdb_burst_submit(struct test_lmdb *t, struct test_lmdb_slot *slots,
				   int64_t now)
{
	struct relay_grant g = { .login = "burst", .granted = 1, .expires = now + 60 };
	int i;

	for (i = 0; i < TEST_LMDB_BATCH; i++) {
		snprintf(g.addr, sizeof(g.addr), "198.18.%d.%d", i / 256, i % 256);
		relay_store_put(t->s, &g, test_lmdb_burst_cb, &slots[i]);
	}
	relay_store_put(t->s, &g, test_lmdb_burst_cb, &slots[i++]); /* the last one again */
	relay_store_record_use(t->s, "burst", now, test_lmdb_burst_cb, &slots[i++]);
	relay_store_del(t->s, "198.18.99.99", test_lmdb_burst_cb, &slots[i++]);
}

/* test_lmdb_group_commit - many writes at once: all land, in order, each callback once. */
static void test_lmdb_group_commit(void **state)
{
	struct test_lmdb_slot slots[TEST_LMDB_BATCH + 3];
	struct test_lmdb_burst b = { .done = 0 };
	int64_t now = (int64_t)time(NULL);
	struct relay_grant g;
	struct test_lmdb t;
	char *error = NULL;
	size_t before;

	(void)state;
	test_lmdb_open(&t, test_lmdb_spec());
	before = test_lmdb_txnid();
	for (int i = 0; i < TEST_LMDB_BATCH + 3; i++)
		slots[i] = (struct test_lmdb_slot){ .b = &b, .i = i };
	test_lmdb_burst_submit(&t, slots, now);
	assert_int_equal(b.done, 0); /* never inside the call */
	while (b.done < TEST_LMDB_BATCH + 3)
		event_base_loop(t.base, EVLOOP_ONCE);
	for (int i = 0; i < TEST_LMDB_BATCH + 3; i++) {
		assert_int_equal(b.calls[i], 1);
		assert_int_equal(b.order[i], i); /* callbacks in submission order */
		assert_int_equal(b.st[i], i == TEST_LMDB_BATCH + 2 ? RELAY_STORE_NOT_FOUND : RELAY_STORE_OK);
		assert_int_equal(b.renewed[i], i == TEST_LMDB_BATCH); /* the repeated put renews */
	}
	/* Grouped: far fewer write transactions than writes. */
	assert_true(test_lmdb_txnid() - before < TEST_LMDB_BATCH / 4);
	for (int i = 0; i < TEST_LMDB_BATCH; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "198.18.%d.%d", i / 256, i % 256);
		assert_int_equal(relay_store_sync_get(t.s, addr, &g, &error), RELAY_STORE_OK);
		assert_string_equal(g.login, "burst");
	}
	test_lmdb_close(&t);
}

/* A relay_check or relay_grant_open that completed. */
struct test_lmdb_wait {
	bool done;
	struct relay_check_answer a;
	enum relay_store_status st;
};

/* test_lmdb_check_cb - keep the relay_check answer. */
static void test_lmdb_check_cb(void *arg, const struct relay_check_answer *a)
{
	struct test_lmdb_wait *w = arg;

	w->a = *a;
	w->a.error = NULL; /* borrowed for the call only */
	w->done = true;
}

/* test_lmdb_open_cb - keep the relay_grant_open status. */
static void test_lmdb_open_cb(void *arg, enum relay_store_status st, const char *error)
{
	struct test_lmdb_wait *w = arg;

	(void)error;
	w->st = st;
	w->done = true;
}

/* test_lmdb_check - relay_check ip on s; the result. */
static enum relay_check_result test_lmdb_check(struct event_base *base, struct relay_store *s,
					       const struct cfg *cfg, const char *ip,
					       struct relay_check_answer *a_r)
{
	struct test_lmdb_wait w = { .done = false };

	relay_check(base, s, cfg, ip, (int64_t)time(NULL), test_lmdb_check_cb, &w);
	assert_false(w.done);
	while (!w.done)
		event_base_loop(base, EVLOOP_ONCE);
	*a_r = w.a;
	return w.a.result;
}

/* test_lmdb_relay_check - relay_grant_open, then relay_check's answers. */
static void test_lmdb_relay_check(void **state)
{
	char *trusted[] = { "10.0.0.0/8" };
	struct cfg cfg = { .pop_before_smtp = true, .relay_window = 60, .ipv6_prefix = 64,
			   .trusted_networks = { .items = trusted, .n = 1 } };
	struct test_lmdb_wait w = { .done = false };
	struct relay_check_answer a;
	struct test_lmdb t;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	test_lmdb_open(&t, test_lmdb_spec());
	relay_grant_open(t.base, t.s, &cfg, "::ffff:203.0.113.7", "gina@example.test", "pop3",
			 test_lmdb_open_cb, &w);
	assert_false(w.done);
	while (!w.done)
		event_base_loop(t.base, EVLOOP_ONCE);
	assert_int_equal(w.st, RELAY_STORE_OK);
	assert_int_equal(test_lmdb_check(t.base, t.s, &cfg, "203.0.113.7", &a), RELAY_CHECK_GRANT);
	assert_string_equal(a.grant.login, "gina@example.test");
	assert_true(a.grant.expires >= now + 60 && a.grant.expires <= now + 62);
	assert_true(relay_check_allowed(&a));
	assert_int_equal(test_lmdb_check(t.base, t.s, &cfg, "10.9.8.7", &a), RELAY_CHECK_TRUSTED);
	assert_string_equal(a.network, "10.0.0.0/8");
	assert_int_equal(test_lmdb_check(t.base, t.s, &cfg, "203.0.113.8", &a), RELAY_CHECK_NONE);
	assert_false(relay_check_allowed(&a));
	test_lmdb_put(&t, "203.0.113.9", "hal", now - 20, now - 10);
	assert_int_equal(test_lmdb_check(t.base, t.s, &cfg, "203.0.113.9", &a), RELAY_CHECK_EXPIRED);
	assert_int_equal(a.grant.expires, now - 10);
	assert_int_equal(test_lmdb_check(t.base, t.s, &cfg, "nonsense", &a), RELAY_CHECK_INVALID);
	assert_int_equal(test_lmdb_check(t.base, NULL, &cfg, "203.0.113.7", &a), RELAY_CHECK_ERROR);
	assert_int_equal(test_lmdb_check(t.base, NULL, &cfg, "10.0.0.1", &a), RELAY_CHECK_TRUSTED);
	cfg.pop_before_smtp = false;
	assert_int_equal(test_lmdb_check(t.base, t.s, &cfg, "203.0.113.7", &a), RELAY_CHECK_OFF);
	test_lmdb_close(&t);
}

/* test_lmdb_child - the --child side: "put ADDR" or "get ADDR" (exit 0 when found). */
static int test_lmdb_child(const char *path, const char *action, const char *addr)
{
	struct test_lmdb t;
	struct relay_grant g;
	char spec[300], *error = NULL;
	int64_t now = (int64_t)time(NULL);
	enum relay_store_status st;

	snprintf(test_lmdb_path, sizeof(test_lmdb_path), "%s", path);
	snprintf(spec, sizeof(spec), "lmdb:%s", path);
	t.base = event_base_new();
	if ((t.s = relay_store_open(spec, t.base, &error)) == NULL)
		return 2;
	if (strcmp(action, "put") == 0) {
		g = (struct relay_grant){ .granted = now, .expires = now + 60 };
		snprintf(g.addr, sizeof(g.addr), "%s", addr);
		snprintf(g.login, sizeof(g.login), "child");
		st = relay_store_sync_put(t.s, &g, NULL, &error);
	} else {
		st = relay_store_sync_get(t.s, addr, &g, &error);
	}
	relay_store_close(&t.s);
	event_base_free(t.base);
	return st == RELAY_STORE_OK ? 0 : 1;
}

/* test_lmdb_spawn - run this binary as a child process; its exit status. */
static int test_lmdb_spawn(const char *action, const char *addr)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_relay_lmdb", "--child", test_lmdb_path, action, addr,
		      (char *)NULL);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* test_lmdb_two_processes - another process sees our grant at once, and we see its. */
static void test_lmdb_two_processes(void **state)
{
	struct test_lmdb t;
	struct relay_grant g;
	int64_t now = (int64_t)time(NULL);
	char *error = NULL;

	(void)state;
	test_lmdb_open(&t, test_lmdb_spec());
	test_lmdb_put(&t, "203.0.113.1", "henry", now, now + 60);
	assert_int_equal(test_lmdb_spawn("get", "203.0.113.1"), 0);
	assert_int_equal(test_lmdb_spawn("get", "203.0.113.2"), 1);
	assert_int_equal(relay_store_sync_get(t.s, "203.0.113.2", &g, &error), RELAY_STORE_NOT_FOUND);
	assert_int_equal(test_lmdb_spawn("put", "203.0.113.2"), 0);
	assert_int_equal(relay_store_sync_get(t.s, "203.0.113.2", &g, &error), RELAY_STORE_OK);
	assert_string_equal(g.login, "child");
	test_lmdb_close(&t);
}

/* test_lmdb_open_errors - a path that cannot hold a store, and a directory that can. */
static void test_lmdb_open_errors(void **state)
{
	struct event_base *base = event_base_new();
	char *error = NULL, spec[300];
	struct test_lmdb t;

	(void)state;
	assert_null(relay_store_open("lmdb:/proc/no/such/dir/grants", base, &error));
	assert_non_null(strstr(error, "lmdb:/proc/no/such/dir/grants"));
	free(error);
	error = NULL;
	assert_null(relay_store_open("memcache://x", base, &error));
	free(error);
	event_base_free(base);
	snprintf(spec, sizeof(spec), "lmdb:%s", test_lmdb_dir); /* an existing directory */
	test_lmdb_open(&t, spec);
	test_lmdb_put(&t, "192.0.2.99", "ivan", 1, (int64_t)time(NULL) + 5);
	test_lmdb_close(&t);
}

/* test_lmdb_setup - a fresh temporary directory for the group. */
static int test_lmdb_setup(void **state)
{
	(void)state;
	if (mkdtemp(test_lmdb_dir) == NULL)
		return -1;
	snprintf(test_lmdb_path, sizeof(test_lmdb_path), "%s/sub/grants", test_lmdb_dir);
	return 0;
}

/* test_lmdb_teardown - remove the directory. */
static int test_lmdb_teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_lmdb_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* main - run the LMDB store tests, or be the child of test_lmdb_two_processes. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lmdb_crud),
		cmocka_unit_test(test_lmdb_expired),
		cmocka_unit_test(test_lmdb_report),
		cmocka_unit_test(test_lmdb_async),
		cmocka_unit_test(test_lmdb_group_commit),
		cmocka_unit_test(test_lmdb_relay_check),
		cmocka_unit_test(test_lmdb_two_processes),
		cmocka_unit_test(test_lmdb_open_errors),
	};

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return test_lmdb_child(argv[2], argv[3], argv[4]);
	return cmocka_run_group_tests(tests, test_lmdb_setup, test_lmdb_teardown);
}

/* test_store - store_sync: a barrier that rides the store's group commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "store/store.h"
#include "test_tmpdir.h"

/* What the barriers reported. */
struct waits {
	int called;
	int err;
	unsigned long syncs_seen; /* the store's sync count when the first call came */
	struct store *s;
};

static void sync_cb(void *arg, int err)
{
	struct waits *w = arg;
	struct store_stats st = { 0 };

	if (w->s != NULL)
		store_get_stats(w->s, &st);
	if (w->called++ == 0)
		w->syncs_seen = st.syncs;
	w->err |= err;
}

/* run_until - run the loop until want callbacks came (bounded). */
static void run_until(struct event_base *base, const struct waits *w, int want)
{
	for (int i = 0; i < 5000 && w->called < want; i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* open_store - a store in the test's directory. */
static struct store *open_store(struct event_base *base, const char *dir)
{
	char *error = NULL;
	struct store *s = store_open(base, dir, "host.test", &error);

	assert_null(error);
	assert_non_null(s);
	return s;
}

/* test_sync_barrier - each caller is called back once, after a sync that began after its call. */
static void test_sync_barrier(void **state)
{
	struct event_base *base = event_base_new();
	struct store *s = open_store(base, *state);
	struct waits a = { .s = s }, b = { .s = s };
	struct store_stats st;

	store_sync(s, sync_cb, &a);
	store_sync(s, sync_cb, &a);
	run_until(base, &a, 2);
	assert_int_equal(a.called, 2);
	assert_int_equal(a.err, 0);
	assert_true(a.syncs_seen >= 1);
	store_sync(s, sync_cb, &b); /* a later caller waits for a later sync */
	run_until(base, &b, 1);
	assert_int_equal(b.called, 1);
	assert_true(b.syncs_seen > a.syncs_seen);
	store_get_stats(s, &st);
	assert_int_equal(st.messages, 0);
	store_close(&s);
	event_base_free(base);
}

/* The order of events for store_sync_link. */
struct linked {
	struct store *s;
	int linked, called, err;
	unsigned long syncs_at_cb;
};

static void link_step(void *arg)
{
	struct linked *l = arg;

	l->linked++;
}

static void linked_cb(void *arg, int err)
{
	struct linked *l = arg;
	struct store_stats st;

	store_get_stats(l->s, &st);
	l->called++;
	l->err = err;
	l->syncs_at_cb = st.syncs;
}

/* test_sync_link - linked on the worker after one sync, called back after the next one. */
static void test_sync_link(void **state)
{
	struct event_base *base = event_base_new();
	struct store *s = open_store(base, *state);
	struct linked l = { .s = s };
	struct waits before = { .s = s };
	struct store_stats st;

	store_sync(s, sync_cb, &before); /* a sync in flight, so the counts are known */
	run_until(base, &before, 1);
	store_get_stats(s, &st);
	store_sync_link(s, link_step, linked_cb, &l);
	for (int i = 0; i < 5000 && l.called == 0; i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(1000);
	}
	assert_int_equal(l.linked, 1);
	assert_int_equal(l.called, 1);
	assert_int_equal(l.err, 0);
	assert_true(l.syncs_at_cb >= st.syncs + 2); /* one before the link, one after */
	store_close(&s);
	event_base_free(base);
}

/* test_sync_at_close - a barrier still waiting when the store closes is synced and called. */
static void test_sync_at_close(void **state)
{
	struct event_base *base = event_base_new();
	struct store *s = open_store(base, *state);
	struct waits a = { .s = s };

	store_sync(s, sync_cb, &a);
	store_sync(s, sync_cb, &a);
	a.s = NULL; /* the store is gone when they run: sync_cb must not look */
	store_close(&s);
	assert_int_equal(a.called, 2);
	assert_int_equal(a.err, 0);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sync_barrier, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_sync_link, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_sync_at_close, test_tmpdir_setup, test_tmpdir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_directout - a socket bufferevent's output written straight, over a socketpair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "daemon/directout.h"

#define BIG (1024 * 1024)

struct test_conn {
	struct event_base *base;
	struct bufferevent *bev;
	struct directout *out;
	int peer;          /* the other end: the test reads what was sent here */
	int writecbs;      /* write callbacks so far */
	bool free_in_cb;   /* the write callback ends the session (as QUIT does) */
	const char *more;  /* the write callback queues this once (a stream's next chunk) */
};

/* test_writecb - the session's write callback. */
static void test_writecb(struct bufferevent *bev, void *arg)
{
	struct test_conn *c = arg;

	directout_written(c->out);
	c->writecbs++;
	if (c->more != NULL) {
		evbuffer_add(bufferevent_get_output(bev), c->more, strlen(c->more));
		c->more = NULL;
	}
	if (c->free_in_cb) {
		directout_free(&c->out);
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

/* test_open - a bufferevent on one end of a socketpair whose send buffer is small. */
static void test_open(struct test_conn *c)
{
	int sv[2], small = 4096;

	memset(c, 0, sizeof(*c));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	c->base = event_base_new();
	c->bev = bufferevent_socket_new(c->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	c->peer = sv[1];
	bufferevent_setcb(c->bev, NULL, test_writecb, NULL, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->out = directout_new(c->bev);
}

static void test_close(struct test_conn *c)
{
	directout_free(&c->out);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	close(c->peer);
	event_base_free(c->base);
}

/* test_read_all - read from the peer until n bytes came, turning the loop meanwhile. */
static size_t test_read_all(struct test_conn *c, char *buf, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 100000 && got < n; i++) {
		ssize_t r = recv(c->peer, buf + got, n - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
		event_base_loop(c->base, EVLOOP_NONBLOCK);
	}
	return got;
}

/* A reply goes out when the callback that queued it returns, with EV_WRITE never enabled. */
static void test_reply_written_at_once(void **state)
{
	struct test_conn c;
	char buf[64];

	(void)state;
	test_open(&c);
	assert_false(bufferevent_get_enabled(c.bev) & EV_WRITE);
	evbuffer_add(bufferevent_get_output(c.bev), "+OK one\r\n", 9);
	evbuffer_add(bufferevent_get_output(c.bev), "+OK two\r\n", 9);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), MSG_DONTWAIT), -1); /* not yet */
	event_base_loop(c.base, EVLOOP_NONBLOCK);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), MSG_DONTWAIT), 18);
	assert_memory_equal(buf, "+OK one\r\n+OK two\r\n", 18);
	assert_int_equal(c.writecbs, 1);
	assert_false(bufferevent_get_enabled(c.bev) & EV_WRITE);
	test_close(&c);
}

/* What a full socket does not take waits for it, then EV_WRITE goes off again. */
static void test_full_socket_goes_libevents_way(void **state)
{
	struct test_conn c;
	char *data = malloc(BIG), *got = malloc(BIG);

	(void)state;
	for (size_t i = 0; i < BIG; i++)
		data[i] = (char)('a' + i % 26);
	test_open(&c);
	evbuffer_add(bufferevent_get_output(c.bev), data, BIG);
	event_base_loop(c.base, EVLOOP_NONBLOCK);
	assert_true(evbuffer_get_length(bufferevent_get_output(c.bev)) > 0);
	assert_true(bufferevent_get_enabled(c.bev) & EV_WRITE);
	assert_int_equal(c.writecbs, 0);
	assert_int_equal(test_read_all(&c, got, BIG), BIG);
	assert_memory_equal(got, data, BIG);
	event_base_loop(c.base, EVLOOP_NONBLOCK);
	assert_true(c.writecbs > 0);
	assert_false(bufferevent_get_enabled(c.bev) & EV_WRITE);
	test_close(&c);
	free(data);
	free(got);
}

/* What the write callback queues goes libevent's way, and still arrives, in order. */
static void test_writecb_output_follows(void **state)
{
	struct test_conn c;
	char buf[64];

	(void)state;
	test_open(&c);
	c.more = "chunk two\r\n";
	evbuffer_add(bufferevent_get_output(c.bev), "chunk one\r\n", 11);
	assert_int_equal(test_read_all(&c, buf, 22), 22);
	assert_memory_equal(buf, "chunk one\r\nchunk two\r\n", 22);
	assert_int_equal(c.writecbs, 2);
	assert_false(bufferevent_get_enabled(c.bev) & EV_WRITE);
	test_close(&c);
}

/* The write callback may end the session (and directout with it): no use after free. */
static void test_free_in_writecb(void **state)
{
	struct test_conn c;
	char buf[16];

	(void)state;
	test_open(&c);
	c.free_in_cb = true;
	evbuffer_add(bufferevent_get_output(c.bev), "+OK bye\r\n", 9);
	event_base_loop(c.base, EVLOOP_NONBLOCK);
	assert_null(c.bev);
	assert_null(c.out);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), MSG_DONTWAIT), 9);
	test_close(&c);
}

/* A session whose client is gone: after directout_free nothing more is written. */
static void test_free_stops_writing(void **state)
{
	struct test_conn c;
	char buf[16];

	(void)state;
	test_open(&c);
	evbuffer_add(bufferevent_get_output(c.bev), "+OK late\r\n", 10);
	directout_free(&c.out); /* before the direct write ran */
	evbuffer_add(bufferevent_get_output(c.bev), "* later\r\n", 9);
	event_base_loop(c.base, EVLOOP_NONBLOCK);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_false(bufferevent_get_enabled(c.bev) & EV_WRITE);
	assert_int_equal(c.writecbs, 0);
	test_close(&c);
}

/* Handing the bufferevent back (STLS that could not flush): libevent writes what is left. */
static void test_release_hands_back_what_is_left(void **state)
{
	struct test_conn c;
	char *got = malloc(BIG);

	(void)state;
	test_open(&c);
	evbuffer_add(bufferevent_get_output(c.bev), memset(got, 'x', BIG), BIG);
	directout_release(&c.out);
	assert_true(bufferevent_get_enabled(c.bev) & EV_WRITE);
	assert_int_equal(test_read_all(&c, got, BIG), BIG);
	test_close(&c);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_written_at_once),
		cmocka_unit_test(test_full_socket_goes_libevents_way),
		cmocka_unit_test(test_writecb_output_follows),
		cmocka_unit_test(test_free_in_writecb),
		cmocka_unit_test(test_free_stops_writing),
		cmocka_unit_test(test_release_hands_back_what_is_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

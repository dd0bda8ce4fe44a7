/*
 * loops - more event loops, one thread each, so that posternd uses every
 * core. The daemon's own loop stays the single writer of everything shared
 * (accounts, grants, the store, the queue, logins); a session whose work
 * from then on is its own (a POP3 session in TRANSACTION: its maildrop, its
 * files, its socket) moves to one of these loops and comes back to the
 * daemon's loop only through messages.
 *
 * Messages: daemon_loop_post() queues a function for a loop's thread and
 * wakes it; they run in the order they were posted. A connection living on
 * a loop is linked into that loop's own list (SIGTERM reaches it through
 * daemon_loops_stop_conns) and stays counted in the daemon's n_conns until
 * daemon_loop_release() tells the daemon's loop that it is gone.
 */
#ifndef POSTERN_LOOPS_H
#define POSTERN_LOOPS_H

#include <event2/util.h>

#include <stdbool.h>

struct bufferevent;
struct daemon;
struct daemon_conn;
struct evbuffer;
struct daemon_loop;
struct event_base;

/* daemon_loops_start - n loop threads (0: none, sessions stay on the daemon's loop). */
void daemon_loops_start(struct daemon *d, unsigned n);

/* daemon_loops_stop - after the daemon's loop ended: end the threads and free the loops. */
void daemon_loops_stop(struct daemon *d);

/* daemon_loop_pick - the loop with the fewest connections, or NULL when there are none. */
struct daemon_loop *daemon_loop_pick(struct daemon *d);

/* daemon_loop_base - the loop's event base (for its thread only). */
struct event_base *daemon_loop_base(const struct daemon_loop *l);

/* daemon_loop_post - run fn(arg) on the loop's thread soon (any thread may call it). */
void daemon_loop_post(struct daemon_loop *l, void (*fn)(void *arg), void *arg);

/* daemon_post - run fn(arg) on the daemon's own loop soon (any thread may call it). */
void daemon_post(struct daemon *d, void (*fn)(void *arg), void *arg);

/*
 * daemon_loop_adopt - on l's thread: a connection moved here. A stop sent
 * to the loops before it arrived has missed it: the caller checks
 * daemon->stopping after this.
 */
void daemon_loop_adopt(struct daemon_loop *l, struct daemon_conn *conn);

/* daemon_loop_release - on l's thread: the connection ended; the daemon's count goes down. */
void daemon_loop_release(struct daemon_loop *l, struct daemon_conn *conn);

/*
 * A session's connection on its way to a loop thread: the socket, what was
 * read and not yet handled, what was queued and not yet sent. Only a plain
 * socket bufferevent can move (an OpenSSL one is freed later, on its own
 * loop, with whatever socket its SSL then points to).
 */
struct daemon_move {
	struct evbuffer *in, *out;
	evutil_socket_t fd;
};

/* daemon_move_out - take the connection out of *bevp (freed, NULL; the socket stays open). */
void daemon_move_out(struct bufferevent **bevp, struct daemon_move *m);

/* daemon_move_in - on l's thread: a new bufferevent with the socket and both buffers back. */
struct bufferevent *daemon_move_in(struct daemon_loop *l, struct daemon_move *m);

/* daemon_loops_stop_conns - SIGTERM (abort false) or end of grace (true): reach every loop's connections. */
void daemon_loops_stop_conns(struct daemon *d, bool abort);

#endif

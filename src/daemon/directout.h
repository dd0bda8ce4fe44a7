/*
 * directout - a plain socket bufferevent's output written at the end of the
 * callback that queued it, rather than one loop turn later.
 *
 * libevent arms EPOLLOUT whenever output is added to an idle socket and
 * disarms it once the output is written: two epoll_ctl calls and one more
 * epoll_wait turn for every reply, although the socket almost always takes
 * a reply at once. With directout the bufferevent's EV_WRITE stays disabled
 * while the output is empty. Adding output schedules one write
 * (event_active: no system call) that runs as soon as the current callback
 * returns, so a reply and whatever else the same callback queued leave in
 * one write. What the socket does not take (its send buffer is full) goes
 * libevent's way, with EV_WRITE enabled until the output is empty again; so
 * does whatever the write callback queues (a stream's next chunk), so that
 * one fast reader cannot keep the loop from its other sessions.
 *
 * After a write that emptied the output, the bufferevent's write callback
 * is called, as libevent would. That callback must call directout_written
 * first. Not for TLS bufferevents: their output is not the socket's.
 */
#ifndef POSTERN_DIRECTOUT_H
#define POSTERN_DIRECTOUT_H

struct bufferevent;
struct directout;

/* directout_new - take over the writing of bev (a socket bufferevent with its callbacks set). */
struct directout *directout_new(struct bufferevent *bev);

/* directout_written - from the write callback: EV_WRITE goes off again once the output is empty. */
void directout_written(struct directout *d);

/*
 * directout_free - nothing more is written (NULL: nothing): before the
 * bufferevent is freed or moved, or when the session stops writing (its
 * client is gone).
 */
void directout_free(struct directout **dp);

/*
 * directout_gone - the client is gone while a worker still holds the
 * session: nothing more is read or written (directout_free, and reading
 * and writing off).
 */
void directout_gone(struct directout **dp, struct bufferevent *bev);

/*
 * directout_release - the bufferevent's writing is libevent's again, with
 * EV_WRITE on (NULL: nothing): before it is wrapped in TLS or DEFLATE.
 */
void directout_release(struct directout **dp);

#endif

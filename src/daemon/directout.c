/* directout - a socket bufferevent's output written once the queuing callback returns. */
#include "daemon/directout.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/xalloc.h"

/* libevent's own writes stop at 16 KB each: a full socket would take 16 writes per 256 KB */
#define DIRECTOUT_MAX_WRITE (256 * 1024)

struct directout {
	struct bufferevent *bev;
	struct event *write;          /* active: a direct write is due */
	struct evbuffer_cb_entry *cb; /* on the output: data was added */
	bool in_writecb;              /* what the write callback adds goes libevent's way */
	bool freed;                   /* directout_free came during the write callback */
};

/* directout_run_cb - write the output; the rest, or an error, is left to libevent's EV_WRITE. */
static void directout_run_cb(evutil_socket_t fd, short what, void *arg)
{
	struct directout *d = arg;
	struct bufferevent *bev = d->bev;
	struct evbuffer *out = bufferevent_get_output(bev);
	bufferevent_data_cb writecb;
	void *cbarg;

	(void)what;
	if ((bufferevent_get_enabled(bev) & EV_WRITE) || evbuffer_get_length(out) == 0)
		return; /* libevent is already waiting for the socket */
	evbuffer_unfreeze(out, 1); /* a socket bufferevent keeps its output's front frozen */
	evbuffer_write(out, fd);
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) > 0) {
		bufferevent_enable(bev, EV_WRITE); /* a full socket, or an error libevent reports */
		return;
	}
	bufferevent_getcb(bev, NULL, &writecb, NULL, &cbarg);
	if (writecb == NULL)
		return;
	d->in_writecb = true;
	writecb(bev, cbarg); /* may end the session: directout_free leaves d to us */
	d->in_writecb = false;
	if (d->freed)
		free(d);
}

/* directout_added_cb - output was added: write it once the current callback returns. */
static void directout_added_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
			       void *arg)
{
	struct directout *d = arg;

	(void)buf;
	if (info->n_added == 0 || (bufferevent_get_enabled(d->bev) & EV_WRITE))
		return;
	if (d->in_writecb)
		bufferevent_enable(d->bev, EV_WRITE);
	else
		event_active(d->write, EV_WRITE, 0);
}

struct directout *directout_new(struct bufferevent *bev)
{
	struct directout *d = xcalloc(1, sizeof(*d));
	struct evbuffer *out = bufferevent_get_output(bev);

	d->bev = bev;
	d->write = event_new(bufferevent_get_base(bev), bufferevent_getfd(bev), 0,
			     directout_run_cb, d);
	d->cb = evbuffer_add_cb(out, directout_added_cb, d);
	if (d->write == NULL || d->cb == NULL)
		fatal("directout: out of memory");
	bufferevent_set_max_single_write(bev, DIRECTOUT_MAX_WRITE);
	bufferevent_disable(bev, EV_WRITE);
	if (evbuffer_get_length(out) > 0)
		event_active(d->write, EV_WRITE, 0);
	return d;
}

void directout_written(struct directout *d)
{
	if (d != NULL && evbuffer_get_length(bufferevent_get_output(d->bev)) == 0)
		bufferevent_disable(d->bev, EV_WRITE);
}

/* directout_end - stop writing; with hand_back, EV_WRITE goes on for libevent to write. */
static void directout_end(struct directout **dp, bool hand_back)
{
	struct directout *d = *dp;

	if (d == NULL)
		return;
	evbuffer_remove_cb_entry(bufferevent_get_output(d->bev), d->cb);
	event_free(d->write);
	if (hand_back)
		bufferevent_enable(d->bev, EV_WRITE);
	if (d->in_writecb)
		d->freed = true; /* directout_run_cb frees it when the callback returns */
	else
		free(d);
	*dp = NULL;
}

void directout_free(struct directout **dp)
{
	directout_end(dp, false);
}

void directout_gone(struct directout **dp, struct bufferevent *bev)
{
	directout_free(dp);
	bufferevent_disable(bev, EV_READ | EV_WRITE);
}

void directout_release(struct directout **dp)
{
	directout_end(dp, true);
}

/* pop3_update - the UPDATE state (RFC 1939 6): deletions and moves on a worker, then close. */
#include <stdlib.h>
#include <string.h>

#include "daemon/loops.h"
#include "pop3/pop3_internal.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* An UPDATE in progress; the session keeps owning the maildrop. */
struct pop3_update_job {
	struct pop3_session *s;
	struct pop3_maildrop *md;
	size_t deleted;
	int rc, err;
};

/* pop3_update_work - on a worker: unlink, move, fsync. */
static void pop3_update_work(void *arg)
{
	struct pop3_update_job *j = arg;

	j->rc = pop3_maildrop_update(j->md, &j->deleted, &j->err);
}

/* pop3_update_done_cb - on the loop: the final reply, the lock released, close. */
static void pop3_update_done_cb(void *arg)
{
	struct pop3_update_job *j = arg;
	struct pop3_session *s = j->s;
	size_t left = j->md->n - j->deleted;

	log_info("%08x pop3 logout user=%s ip=%s retr=%lu dele=%zu left=%zu%s", s->id, s->user,
		 s->ip, s->n_retr, j->deleted, left, j->rc < 0 ? " update failed" : "");
	if (j->rc < 0)
		log_err("%08x pop3 update %s: %s", s->id, j->md->path, strerror(j->err));
	if (pop3_wait_done(s)) {
		if (j->rc == 0)
			pop3_reply(s, "+OK postern POP3 server signing off (%zu messages left)", left);
		else
			pop3_reply(s, "-ERR [SYS/TEMP] Some deleted messages not removed");
		pop3_maildrop_close(&s->md); /* unlock before the client can log in again */
		pop3_close(s);
	}
	free(j);
}

/* pop3_update_back_cb - on the daemon's loop: hand the answer to the session's loop thread. */
static void pop3_update_back_cb(void *arg)
{
	struct pop3_update_job *j = arg;

	daemon_loop_post(j->s->loop, pop3_update_done_cb, j);
}

void pop3_update(struct pop3_session *s)
{
	struct pop3_update_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->md = s->md;
	pop3_set_state(s, POP3_S_BUSY);
	s->waiting = true;
	workq_submit(s->daemon->io, pop3_update_work,
		     s->loop != NULL ? pop3_update_back_cb : pop3_update_done_cb, j);
}

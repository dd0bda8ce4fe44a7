/*
 * queue_submit - a trusted local submission (sendmail, through the control
 * socket): envelope, then the message text, into the store like mail from
 * SMTP: local recipients to their Maildir, remote ones to the outbound
 * queue. The text gets a Received: header, and a From:, Date: or
 * Message-ID: header when it has none (as Postfix's cleanup does). CR
 * bytes are dropped: stored text has LF line ends.
 */
#ifndef POSTERN_QUEUE_SUBMIT_H
#define POSTERN_QUEUE_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct daemon;
struct queue_submit;

/* Which headers a header block has (matched case-insensitively). */
struct queue_submit_headers {
	size_t end;  /* length of the header block with its blank line; 0: not found yet */
	bool from, date, message_id;
};

/*
 * queue_submit_scan - look for the end of the header block (an empty line)
 * in LF text and for From:, Date:, Message-ID:. Returns true when the end
 * was found within len (or the text has no header at all: end is 0 and the
 * text starts with a body line).
 */
bool queue_submit_scan(const char *text, size_t len, struct queue_submit_headers *h_r);

/* queue_submit_new - start a submission by local user uid. */
struct queue_submit *queue_submit_new(struct daemon *d, uid_t uid);

/* queue_submit_mail - the envelope sender ("" for <>); an address without domain gets the first local domain. */
int queue_submit_mail(struct queue_submit *s, const char *address, const char **error_r);

/* queue_submit_rcpt - one recipient; -1 with *error_r ("unknown user ..." for a local one). */
int queue_submit_rcpt(struct queue_submit *s, const char *address, const char **error_r);

/* queue_submit_data - the text follows; -1 when there is no recipient or the store fails. */
int queue_submit_data(struct queue_submit *s, const char **error_r);

/* queue_submit_write - more message text (CRLF or LF); -1 with *error_r (too big, I/O). */
int queue_submit_write(struct queue_submit *s, const char *buf, size_t len, const char **error_r);

/*
 * queue_submit_commit - the text is complete: sign it (DKIM, on a crypto
 * worker) and commit it; done_cb(arg, 0) once durable, done_cb(arg, errno)
 * otherwise. -1 with *error_r when it could not even be committed (done_cb
 * never runs). s lives until done_cb.
 */
int queue_submit_commit(struct queue_submit *s, void (*done_cb)(void *arg, int err), void *arg,
			const char **error_r);

/* queue_submit_id - the queue id once data has started ("" before). */
const char *queue_submit_id(const struct queue_submit *s);

/* queue_submit_free - drop the submission and any uncommitted text. */
void queue_submit_free(struct queue_submit **sp);

#endif

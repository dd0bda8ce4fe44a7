/*
 * bounce - delivery status notifications (RFC 3464) for recipients the
 * queue gave up on: a multipart/report; report-type=delivery-status with a
 * human-readable part, the message/delivery-status part and the original
 * headers as text/rfc822-headers (RFC 6522), from MAILER-DAEMON and sent
 * with the null sender <> (RFC 5321 4.5.5). Never a bounce for a bounce:
 * the caller does not call this for the null sender.
 *
 * bounce_format is pure (unit tested); bounce_inject hands the text to the
 * store like any other message: the sender's Maildir when it is local, the
 * outbound queue when it is not.
 */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

struct daemon;

/* One failed recipient. */
struct bounce_rcpt {
	const char *address;
	const char *error; /* the queue's last error: "RELAY said: CODE TEXT" or "X.Y.Z reason" */
};

struct bounce_info {
	const char *hostname;  /* Reporting-MTA, From: MAILER-DAEMON@hostname */
	const char *queue_id;  /* of the original message */
	const char *sender;    /* the original sender: the DSN's recipient */
	int64_t arrival;       /* the original's arrival, unix seconds */
	int64_t now;           /* Date: */
	const struct bounce_rcpt *rcpts;
	size_t n_rcpts;
	const char *headers;   /* the original header block (LF line ends), may be NULL */
	size_t headers_len;
};

/* bounce_format - the DSN text with LF line ends (malloc'd, *len_r bytes). */
char *bounce_format(const struct bounce_info *b, size_t *len_r);

/*
 * bounce_status - the RFC 3463 status of a last error: the reply's
 * enhanced code, or the leading "X.Y.Z" of our own reason, else "5.0.0".
 * Written into buf (16 bytes is enough).
 */
void bounce_status(const char *error, char *buf, size_t size);

/*
 * bounce_inject - store the DSN for b->sender, with the original headers
 * read from msg_path (its queue file), DKIM-signed on a crypto worker.
 * Returns 0 when it is on its way: done_cb(arg, 0) runs once it is
 * durable, done_cb(arg, errno) if it failed (maybe before this returns,
 * when there is no key to sign with). Returns 1 when nobody can receive
 * it (a local sender without an account; logged) and -1 with errno when
 * it could not be started; in both cases done_cb never runs.
 */
int bounce_inject(struct daemon *d, struct bounce_info *b, const char *msg_path,
		  void (*done_cb)(void *arg, int err), void *arg);

#endif

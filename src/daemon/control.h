/*
 * control - the control socket of the running daemon: a unix stream socket
 * at DATA_DIR/control (mode 0660: the daemon's user and group), one text
 * line per request, one line per answer ("ok ..." or "error ...").
 *
 *   flush              -> ok             retry every deferred recipient now
 *   delete ID          -> ok | error ... forget a queue entry, remove its files
 *   mail ADDRESS       -> (no answer)    start a local submission (sendmail)
 *   rcpt ADDRESS       -> (no answer; an error answers "error ..." or "nouser ...")
 *   data               -> then the message bytes until the client shuts down
 *                         its writing side; then "ok ID" once it is durable
 *
 * Anyone who can connect is trusted like the local user it is (the peer's
 * uid goes into the Received: header).
 */
#ifndef POSTERN_CONTROL_H
#define POSTERN_CONTROL_H

struct daemon;
struct queue;
struct control;

/* control_open - listen on DATA_DIR/control; NULL with *error_r. */
struct control *control_open(struct daemon *d, struct queue *q, char **error_r);

/* control_free - after the loop ended (SIGTERM closes the socket like a connection). */
void control_free(struct control **cp);

#endif

/*
 * smtp_session - one SMTP connection on the event loop: reads command
 * lines (strict CRLF, bounded), dispatches them through the command table,
 * streams DATA into the store and answers once the message is durable.
 */
#ifndef POSTERN_SMTP_SESSION_H
#define POSTERN_SMTP_SESSION_H

#include <event2/util.h>
#include <sys/socket.h>

struct daemon;

/* smtp_session_start - serve a connection accepted on an SMTP (port 25) listener. */
void smtp_session_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			socklen_t salen);

/* smtp_submission_start - serve a submission (587, STARTTLS) connection. */
void smtp_submission_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			   socklen_t salen);

/* smtp_submissions_start - serve a submissions (465, implicit TLS) connection. */
void smtp_submissions_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			    socklen_t salen);

#endif

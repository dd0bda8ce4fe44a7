/*
 * pop3_session - one POP3 connection on the event loop (RFC 1939, RFC
 * 2449, RFC 5034): reads command lines (strict CRLF, bounded), dispatches
 * them through the command table, verifies logins off the loop, streams
 * messages without loading them whole, and carries out deletions only on
 * QUIT from TRANSACTION.
 */
#ifndef POSTERN_POP3_SESSION_H
#define POSTERN_POP3_SESSION_H

#include <event2/util.h>
#include <sys/socket.h>

struct daemon;

/* pop3_session_start - serve a connection accepted on a POP3 listener. */
void pop3_session_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			socklen_t salen);

/* pop3s_session_start - serve a connection accepted on a POP3S (implicit TLS) listener. */
void pop3s_session_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			 socklen_t salen);

#endif

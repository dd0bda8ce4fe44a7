/*
 * imap_session - one IMAP connection on the event loop (RFC 9051, RFC
 * 3501): bytes go through the incremental command parser, commands through
 * the command table; logins are verified off the loop, APPEND literals
 * stream to a file, long FETCH answers are produced as the client reads.
 */
#ifndef POSTERN_IMAP_SESSION_H
#define POSTERN_IMAP_SESSION_H

#include <sys/socket.h>

#include <event2/util.h>

struct daemon;

/* imap_session_start - serve a connection accepted on an IMAP listener (STARTTLS offered). */
void imap_session_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			socklen_t salen);

/* imaps_session_start - serve a connection accepted on an IMAPS (implicit TLS) listener. */
void imaps_session_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			 socklen_t salen);

#endif

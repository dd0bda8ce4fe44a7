/*
 * policy_server - the Postfix policy delegation service ([policy] listen):
 * an existing Postfix asks it, with check_policy_service, whether a client
 * may relay; it answers from the same trusted networks and grants as
 * postern's own SMTP service:
 *
 *   action=OK                          trusted network, or a live grant
 *   action=DUNNO                       anything else (Postfix decides)
 *   action=DEFER_IF_PERMIT Service temporarily unavailable
 *                                      the grant store is down
 *
 * Several requests per connection, answered in order. A message relayed on
 * a grant is counted for "relay report" once per Postfix "instance".
 */
#ifndef POSTERN_RELAY_POLICY_SERVER_H
#define POSTERN_RELAY_POLICY_SERVER_H

#include <event2/util.h>
#include <sys/socket.h>

struct daemon;

/* relay_policy_server_start - serve an accepted connection (a listen_start_fn). */
void relay_policy_server_start(struct daemon *d, evutil_socket_t fd, const struct sockaddr *sa,
			       socklen_t salen);

#endif

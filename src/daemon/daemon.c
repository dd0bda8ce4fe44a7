/* daemon - the connection list and the shared account lookup. */
#include "daemon/daemon.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/log.h"

void daemon_conn_link(struct daemon_conn *head, struct daemon_conn *conn)
{
	conn->next = head->next;
	conn->prev = head;
	head->next->prev = conn;
	head->next = conn;
}

uint32_t daemon_conn_add(struct daemon *d, struct daemon_conn *conn)
{
	daemon_conn_link(&d->conns, conn);
	d->n_conns++;
	return ++d->next_id;
}

void daemon_conn_detach(struct daemon_conn *conn)
{
	conn->prev->next = conn->next;
	conn->next->prev = conn->prev;
	conn->prev = conn->next = NULL;
}

void daemon_conn_remove(struct daemon *d, struct daemon_conn *conn)
{
	daemon_conn_detach(conn);
	d->n_conns--;
	if (d->stopping && d->n_conns == 0)
		event_base_loopexit(d->base, NULL);
}

bool daemon_peer(const struct sockaddr *sa, char *buf, size_t size)
{
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	const struct in_addr *a4 = &((const struct sockaddr_in *)sa)->sin_addr;
	const void *addr = sa->sa_family == AF_INET6 ? (const void *)a6 : (const void *)a4;

	if (inet_ntop(sa->sa_family, addr, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "unknown");
	if (sa->sa_family == AF_INET)
		return (ntohl(a4->s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return false;
	return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}

bool daemon_plaintext_ok(const struct cfg *cfg, bool loopback, bool tls)
{
	switch (cfg->allow_plaintext) {
	case CFG_PLAINTEXT_YES:
		return true;
	case CFG_PLAINTEXT_LOOPBACK:
		return tls || loopback;
	case CFG_PLAINTEXT_NO:
		break;
	}
	return tls;
}

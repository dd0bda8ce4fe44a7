/* daemon - the connection list and the shared account lookup. */
#include "daemon/daemon.h"

#include <event2/event.h>
#include <stdlib.h>

#include "util/log.h"

uint32_t daemon_conn_add(struct daemon *d, struct daemon_conn *conn)
{
	conn->next = d->conns.next;
	conn->prev = &d->conns;
	d->conns.next->prev = conn;
	d->conns.next = conn;
	d->n_conns++;
	return ++d->next_id;
}

void daemon_conn_remove(struct daemon *d, struct daemon_conn *conn)
{
	conn->prev->next = conn->next;
	conn->next->prev = conn->prev;
	conn->prev = conn->next = NULL;
	d->n_conns--;
	if (d->stopping && d->n_conns == 0)
		event_base_loopexit(d->base, NULL);
}

const struct users_account *daemon_find_account(struct daemon *d, const char *address)
{
	char *error = NULL;

	if (users_refresh(&d->users, d->cfg->users_file, &error) < 0 && error != NULL) {
		log_err("users: %s", error);
		free(error);
	}
	return users_find(&d->users, address);
}

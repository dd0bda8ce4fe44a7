/*
 * pop3_hook - after a verified POP3 login and before its +OK: open the
 * POP-before-SMTP grant, so that a client relaying the instant it sees +OK
 * already finds it in the store.
 */
#include "pop3/pop3_hook.h"

#include <stdlib.h>

#include "daemon/daemon.h"
#include "relay/relay_check.h"
#include "util/log.h"
#include "util/xalloc.h"

struct pop3_hook_call {
	pop3_login_hook_cb *cb;
	void *arg;
	uint32_t session_id;
};

/* pop3_hook_granted_cb - the grant is in the store (or the store failed). */
static void pop3_hook_granted_cb(void *arg, enum relay_store_status st, const char *error)
{
	struct pop3_hook_call *call = arg;

	if (st != RELAY_STORE_OK)
		log_err("%08x pop3 grant failed: %s", call->session_id, error ? error : "store error");
	/* A store that is down must not lock users out of their mail: the login proceeds. */
	call->cb(call->arg, 0);
	free(call);
}

void pop3_login_succeeded(struct daemon *d, const struct pop3_login_info *info,
			  pop3_login_hook_cb *cb, void *arg)
{
	struct pop3_hook_call *call = xmalloc(sizeof(*call));

	call->cb = cb;
	call->arg = arg;
	call->session_id = info->session_id;
	relay_grant_open(d->base, d->relay_store, d->cfg, info->ip, info->login, "pop3",
			 pop3_hook_granted_cb, call);
}

/* pop3_hook - the post-login hook; POP-before-SMTP grants will be written here. */
#include "pop3/pop3_hook.h"

#include "daemon/daemon.h"

void pop3_login_succeeded(struct daemon *d, const struct pop3_login_info *info,
			  pop3_login_hook_cb *cb, void *arg)
{
	(void)d;
	(void)info;
	/* TODO(pop-before-smtp): write the relay grant for info->ip here (when
	 * d->cfg->pop_before_smtp) and call cb from the store's completion. */
	cb(arg, 0);
}

/* relay_policy - local or relayed, and whether relaying is allowed. */
#include "relay/relay_policy.h"

#include <stdio.h>
#include <string.h>

#include "metrics/metrics.h"
#include "relay/relay_check.h"

enum relay_decision relay_decide(const struct cfg *cfg, const struct relay_client *client,
				 const char *domain, char *note_r, size_t size)
{
	const char *net;

	note_r[0] = '\0';
	if (domain[0] == '\0' || cfg_is_local_domain(cfg, domain, strlen(domain)))
		return RELAY_LOCAL;
	if (client->auth_login != NULL) {
		snprintf(note_r, size, "authenticated as %s", client->auth_login);
		metrics_relay(METRICS_RELAY_AUTH);
		return RELAY_ALLOWED;
	}
	if (relay_check_trusted(cfg, client->ip, &net)) {
		snprintf(note_r, size, "trusted network %s", net);
		metrics_relay(METRICS_RELAY_TRUSTED);
		return RELAY_ALLOWED;
	}
	if (cfg->pop_before_smtp || cfg->imap_before_smtp)
		return RELAY_NEED_GRANT; /* relay_check counts the store's answer */
	metrics_relay(METRICS_RELAY_REFUSED);
	return RELAY_REFUSED;
}

const char *relay_refusal_text(void)
{
	return "554 5.7.1 Relay access denied: log in with POP3 first, "
	       "or send through authenticated submission on port 587";
}

/* relay_policy - local or relayed, and whether relaying is allowed. */
#include "relay/relay_policy.h"

#include <string.h>

enum relay_decision relay_decide(const struct cfg *cfg, const struct relay_client *client,
				 const char *domain, const char **reason_r)
{
	(void)client;
	if (domain[0] == '\0' || cfg_is_local_domain(cfg, domain, strlen(domain))) {
		*reason_r = "local domain";
		return RELAY_LOCAL;
	}
	*reason_r = "relay not permitted";
	return RELAY_REFUSED;
}

const char *relay_refusal_text(void)
{
	return "554 5.7.1 Relay access denied: log in with POP3 first, "
	       "or send through authenticated submission on port 587";
}

/*
 * relay_policy - the one place that decides whether a recipient may be
 * accepted from a client (SPEC.md, "Relaying rules"). A recipient in
 * domains.local is local; any other domain is relaying, which is refused
 * unless a rule allows it. Later rules (SMTP AUTH, trusted networks,
 * POP-before-SMTP grants) are added here and nowhere else.
 */
#ifndef POSTERN_RELAY_POLICY_H
#define POSTERN_RELAY_POLICY_H

#include <stddef.h>

#include "config/cfg.h"

enum relay_decision {
	RELAY_LOCAL,   /* the domain is ours: deliver locally */
	RELAY_REFUSED, /* 554 5.7.1 */
};

/* What the policy knows about the client. */
struct relay_client {
	const char *ip; /* printable address */
};

/*
 * relay_decide - may client send to a recipient in domain? An empty domain
 * (RCPT TO:<Postmaster>) is local. *reason_r is a short reason for logs.
 */
enum relay_decision relay_decide(const struct cfg *cfg, const struct relay_client *client,
				 const char *domain, const char **reason_r);

/* relay_refusal_text - the text of the 554 5.7.1 reply, saying how to fix it. */
const char *relay_refusal_text(void);

#endif

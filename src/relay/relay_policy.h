/*
 * relay_policy - the one place that decides whether a recipient may be
 * accepted from a client (SPEC.md, "Relaying rules"). A recipient in
 * domains.local is local; any other domain is relaying, allowed only for a
 * client that authenticated with SMTP AUTH or connects from
 * relay.trusted_networks, or (answered by the grant store, asynchronously)
 * one that holds a POP-before-SMTP grant.
 */
#ifndef POSTERN_RELAY_POLICY_H
#define POSTERN_RELAY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "config/cfg.h"

enum relay_decision {
	RELAY_LOCAL,      /* the domain is ours: deliver locally */
	RELAY_ALLOWED,    /* relaying allowed; the note says why */
	RELAY_NEED_GRANT, /* ask the grant store (POP before SMTP) */
	RELAY_REFUSED,    /* 554 5.7.1 */
};

/* What the policy knows about the client. */
struct relay_client {
	const char *ip;         /* printable address */
	const char *auth_login; /* SMTP AUTH login of this session, or NULL */
};

/*
 * relay_decide - may client send to a recipient in domain? An empty domain
 * (RCPT TO:<Postmaster>) is local. note_r (size bytes) says why relaying
 * was allowed, for the Received: header and the log.
 */
enum relay_decision relay_decide(const struct cfg *cfg, const struct relay_client *client,
				 const char *domain, char *note_r, size_t size);

/* relay_refusal_text - the text of the 554 5.7.1 reply, saying how to fix it. */
const char *relay_refusal_text(void);

#endif

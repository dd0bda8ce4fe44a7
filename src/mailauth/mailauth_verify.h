/*
 * mailauth_verify - the checks of mail from a client that did not
 * authenticate and holds no grant or trusted network (SPEC.md "Mail
 * authentication"): SPF on MAIL FROM (the HELO name for <>), every DKIM
 * signature (up to MAILAUTH_MAX_SIGS), DMARC on the From: domain, with
 * every lookup through the shared DNS cache on the loop. The outcome is
 * one Authentication-Results: field and what to do with the message.
 *
 * SPF starts at MAIL FROM and runs while the client sends RCPT and DATA;
 * the DKIM key and DMARC lookups start once the header section is in.
 * A DNS failure is temperror and never a refusal.
 */
#ifndef POSTERN_MAILAUTH_VERIFY_H
#define POSTERN_MAILAUTH_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define MAILAUTH_MAX_SIGS 8  /* DKIM signatures checked per message; more are ignored */
#define MAILAUTH_TIMEOUT 20  /* seconds the end of DATA waits for lookups at most */

struct dmarc_psl;
struct dns;
struct event_base;
struct mailauth_verify;

/* What every check shares (the daemon owns it). */
struct mailauth_env {
	struct event_base *base;
	struct dns *dns;
	const struct dmarc_psl *psl;
	const char *hostname; /* authserv-id, %{r} */
	bool enforce;         /* inbound.dmarc_enforce */
};

enum mailauth_action {
	MAILAUTH_DELIVER,
	MAILAUTH_JUNK,   /* DMARC p=quarantine failed: the recipients' Junk folders */
	MAILAUTH_REJECT, /* DMARC p=reject failed: 550 5.7.1 */
};

struct mailauth_verdict {
	enum mailauth_action action;
	char *header;     /* "Authentication-Results: ...\n" (owned by the check) */
	char reply[384];  /* MAILAUTH_REJECT: the reply */
	const char *spf, *dkim, *dmarc; /* result names, for the log line and metrics */
};

/* mailauth_verify_new - start checking a transaction: SPF begins now. */
struct mailauth_verify *mailauth_verify_new(const struct mailauth_env *env, const struct sockaddr *client,
					    const char *helo, const char *mail_from);

/* mailauth_verify_text - message text as stored (the client's, LF line ends), in order. */
void mailauth_verify_text(struct mailauth_verify *v, const char *text, size_t len);

/*
 * mailauth_verify_finish - the text is complete: done_cb runs on the loop
 * (never inside this call) once every lookup answered or MAILAUTH_TIMEOUT
 * passed. The verdict lives until mailauth_verify_free.
 */
void mailauth_verify_finish(struct mailauth_verify *v,
			    void (*done_cb)(void *arg, const struct mailauth_verdict *verdict), void *arg);

/*
 * mailauth_verify_forged - the header section without Authentication-Results:
 * fields that claim our host name: *text_r (valid until free) and *len_r,
 * or false when there was none to remove. *head_r and *head_len_r: the section as written.
 */
bool mailauth_verify_forged(const struct mailauth_verify *v, const char **head_r, size_t *head_len_r,
			    const char **text_r, size_t *len_r);

/* mailauth_verify_free - cancel what is in flight (no callback runs) and free. */
void mailauth_verify_free(struct mailauth_verify **vp);

/*
 * mailauth_strip_authres - copy the header section head into out (len
 * bytes of room) without the Authentication-Results: fields whose
 * authserv-id is hostname; returns the length written. Pure.
 */
size_t mailauth_strip_authres(const char *head, size_t len, const char *hostname, char *out);

#endif

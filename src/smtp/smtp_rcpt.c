/*
 * smtp_rcpt - RCPT TO (RFC 5321 4.1.1.3): a recipient in a local domain
 * goes through the accounts and aliases (addr/aliases.h: account, alias,
 * +detail, postmaster, catch-all) into final targets, one per Maildir; a
 * bounce to one of our SRS addresses goes back to the original sender;
 * anything else is relayed by the policy (relay/relay_policy.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr/srs.h"
#include "auth/accounts.h"
#include "relay/relay_check.h"
#include "relay/relay_policy.h"
#include "smtp/smtp_internal.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SMTP_SRS_HOPS 2 /* an SRS1 address of ours reverses to an SRS0 address of ours */

/* smtp_has_rcpt - true when the transaction already has this recipient. */
static bool smtp_has_rcpt(const struct smtp_txn *txn, const char *local, const char *domain)
{
	for (size_t i = 0; i < txn->n_rcpts; i++) {
		if (strcmp(txn->rcpts[i].local, local) == 0 &&
		    strcmp(txn->rcpts[i].domain, domain) == 0)
			return true;
	}
	return false;
}

/* smtp_add_rcpt - accept a recipient (once, however often it is given). */
static void smtp_add_rcpt(struct smtp_session *s, const struct smtp_path *path, bool remote)
{
	struct smtp_txn *txn = s->txn;

	if (!smtp_has_rcpt(txn, path->local, path->domain)) {
		txn->rcpts = xrealloc(txn->rcpts, (txn->n_rcpts + 1) * sizeof(*txn->rcpts));
		txn->rcpts[txn->n_rcpts].local = xstrdup(path->local);
		txn->rcpts[txn->n_rcpts].domain = xstrdup(path->domain);
		txn->rcpts[txn->n_rcpts].remote = remote;
		txn->n_rcpts++;
	}
	smtp_set_state(s, SMTP_S_RCPT);
	smtp_reply(s, "250 2.1.5 Ok");
}

/* smtp_log_skipped - the alias targets that led nowhere, for the administrator. */
static void smtp_log_skipped(const struct smtp_session *s, const char *address,
			     const struct aliases_result *r)
{
	for (size_t i = 0; i < r->n_skipped; i++)
		log_warn("%08x smtp alias <%s>: target <%s> skipped: %s", s->id, address,
			 r->skipped[i].address, r->skipped[i].reason);
}

/*
 * smtp_resolve - the final targets of a local recipient join the
 * transaction's (a Maildir reached twice gets one copy); -1 after a 4xx
 * or 550.
 */
static int smtp_resolve(struct smtp_session *s, const char *address)
{
	struct aliases_result r;
	enum aliases_status st;
	bool sure;

	aliases_result_init(&r);
	st = accounts_resolve(s->daemon->accounts, address, &r, &sure);
	smtp_log_skipped(s, address, &r);
	if (st == ALIASES_OK)
		aliases_result_merge(&s->txn->targets, &r);
	aliases_result_free(&r);
	if (st == ALIASES_OK)
		return 0;
	log_info("%08x smtp reject rcpt=<%s> ip=%s: %s%s", s->id, address, s->ip,
		 aliases_status_text(st), sure ? "" : " (auth.store unsure)");
	if (st == ALIASES_TOO_MANY) /* our configuration, not the sender's error: let it retry */
		smtp_reply(s, "451 4.3.0 <%s>: Alias expansion too large, try again later", address);
	else if (!sure) /* it may have been added: never a bounce */
		smtp_reply(s, "451 4.3.0 <%s>: Recipient lookup unavailable, try again later", address);
	else
		smtp_reply(s, "550 5.1.1 <%s>: Recipient address rejected: %s", address,
			   st == ALIASES_UNKNOWN ? "User unknown" : aliases_status_text(st));
	return -1;
}

/* smtp_local_rcpt - a recipient in a local domain (or <Postmaster>); lower-cases its local part. */
static void smtp_local_rcpt(struct smtp_session *s, struct smtp_path *path)
{
	const struct cfg *cfg = s->daemon->cfg;
	char address[SMTP_LOCAL_MAX * 2 + SMTP_DOMAIN_MAX + 8];

	if (path->domain[0] == '\0' && cfg->local_domains.n > 0) /* <Postmaster> */
		snprintf(path->domain, sizeof(path->domain), "%s", cfg->local_domains.items[0]);
	for (char *p = path->local; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	snprintf(address, sizeof(address), "%s@%s", path->local, path->domain);
	if (smtp_resolve(s, address) == 0)
		smtp_add_rcpt(s, path, false);
}

/* smtp_relay_rcpt - a remote recipient the policy allowed. */
static void smtp_relay_rcpt(struct smtp_session *s, const struct smtp_path *path, const char *note)
{
	if (strpbrk(path->local, " \t") != NULL) { /* the queue envelope is blank-separated */
		smtp_reply(s, "553 5.1.3 <%s@%s>: Quoted local parts with blanks are not relayed",
			   path->local, path->domain);
		return;
	}
	log_info("%08x smtp relay rcpt=<%s@%s> ip=%s: %s", s->id, path->local, path->domain, s->ip,
		 note);
	if (s->txn->relay_note[0] == '\0')
		snprintf(s->txn->relay_note, sizeof(s->txn->relay_note), "%s", note);
	smtp_add_rcpt(s, path, true);
}

/* smtp_srs_split - address into path's local part and domain; -1 when it does not fit. */
static int smtp_srs_split(const char *address, struct smtp_path *path)
{
	const char *at = strrchr(address, '@');

	if (at == NULL || (size_t)(at - address) >= sizeof(path->local) ||
	    strlen(at + 1) >= sizeof(path->domain))
		return -1;
	snprintf(path->local, sizeof(path->local), "%.*s", (int)(at - address), address);
	snprintf(path->domain, sizeof(path->domain), "%s", at + 1);
	for (char *p = path->domain; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	return 0;
}

/* smtp_srs_reverse - the sender behind an SRS address of ours, into out; the srs_result. */
static enum srs_result smtp_srs_reverse(const struct smtp_session *s, const char *address,
					char out[SRS_ADDRESS_MAX + 1])
{
	const struct daemon *d = s->daemon;
	struct srs_params p = { .secret = d->srs_secret, .secret_len = d->srs_secret_len,
				.domain = d->cfg->hostname, .now = time(NULL) };
	char buf[SRS_ADDRESS_MAX + 1];

	snprintf(buf, sizeof(buf), "%s", address);
	for (int hop = 0; hop < SMTP_SRS_HOPS; hop++) {
		enum srs_result r = srs_reverse(&p, buf, strlen(buf), out);
		if (r == SRS_NOT_SRS && hop > 0) { /* buf is the original sender */
			snprintf(out, SRS_ADDRESS_MAX + 1, "%s", buf);
			return SRS_OK;
		}
		if (r != SRS_OK)
			return r;
		snprintf(buf, sizeof(buf), "%s", out);
	}
	return SRS_OK;
}

/*
 * smtp_srs_rcpt - a bounce to one of our SRS addresses (at server.hostname):
 * checked (hash, age) and sent on to the original sender, so that SRS is
 * never a way to relay. False when path is no SRS address of ours.
 */
static bool smtp_srs_rcpt(struct smtp_session *s, const struct smtp_path *path)
{
	char address[sizeof(path->local) + sizeof(path->domain) + 1], orig[SRS_ADDRESS_MAX + 1];
	struct smtp_path back;
	enum srs_result r;

	if (s->daemon->srs_secret_len == 0 || strcasecmp(path->domain, s->daemon->cfg->hostname) ||
	    !srs_is_srs_local(path->local, strlen(path->local)))
		return false;
	snprintf(address, sizeof(address), "%s@%s", path->local, path->domain);
	if ((r = smtp_srs_reverse(s, address, orig)) != SRS_OK || smtp_srs_split(orig, &back) < 0) {
		log_info("%08x smtp reject rcpt=<%s> ip=%s: %s", s->id, address, s->ip,
			 srs_strerror(r));
		smtp_reply(s, "550 5.1.1 <%s>: Recipient address rejected: %s", address,
			   r != SRS_OK ? srs_strerror(r) : "address too long");
		return true;
	}
	if (cfg_is_local_domain(s->daemon->cfg, back.domain, strlen(back.domain)))
		smtp_local_rcpt(s, &back);
	else
		smtp_relay_rcpt(s, &back, "SRS return path");
	return true;
}

/* smtp_rcpt_grant_cb - the grant store answered for a recipient waiting in RCPT. */
static void smtp_rcpt_grant_cb(void *arg, const struct relay_check_answer *a)
{
	struct smtp_session *s = arg;
	struct smtp_txn *txn = s->txn;
	struct smtp_path *path = txn->pending_rcpt;
	char why[256], note[320];

	txn->pending_rcpt = NULL;
	relay_check_describe(a, why, sizeof(why));
	if (s->gone) {
		/* nothing to answer */
	} else if (a->result == RELAY_CHECK_GRANT) {
		snprintf(note, sizeof(note), "%s-before-SMTP grant of %s",
			 strcmp(a->grant.via, "imap") == 0 ? "IMAP" : "POP", a->grant.login);
		if (txn->grant_login == NULL)
			txn->grant_login = xstrdup(a->grant.login);
		smtp_relay_rcpt(s, path, note);
	} else if (a->result == RELAY_CHECK_ERROR) {
		log_err("%08x smtp relay check failed ip=%s: %s", s->id, s->ip, why);
		smtp_reply(s, "451 4.3.0 Relay check temporarily unavailable, try again later");
	} else {
		log_info("%08x smtp reject rcpt=<%s@%s> ip=%s: %s", s->id, path->local,
			 path->domain, s->ip, why);
		smtp_reply(s, "%s", relay_refusal_text());
	}
	free(path);
	smtp_resume(s, txn->n_rcpts > 0 ? SMTP_S_RCPT : SMTP_S_MAIL);
}

/* smtp_rcpt_ask_grant - ask the grant store; the session waits (pipelined input stays queued). */
static void smtp_rcpt_ask_grant(struct smtp_session *s, const struct smtp_path *path)
{
	struct daemon *d = s->daemon;

	s->txn->pending_rcpt = xmalloc(sizeof(*path));
	*s->txn->pending_rcpt = *path;
	smtp_set_state(s, SMTP_S_BUSY);
	relay_check(d->base, d->relay_store, d->cfg, s->ip, time(NULL), smtp_rcpt_grant_cb, s);
}

/* smtp_rcpt_parse - the forward-path, checked for SMTPUTF8 and the recipient limit; -1 after a reply. */
static int smtp_rcpt_parse(struct smtp_session *s, const char *args, size_t len,
			   struct smtp_path *path)
{
	const char *error;
	int code;

	if (smtp_path_parse(args, len, SMTP_PATH_RCPT, path, &code, &error) < 0) {
		smtp_reply(s, "%d %s", code, error);
		return -1;
	}
	if (smtp_path_has_utf8(path) && !s->txn->smtputf8) {
		smtp_reply(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8 on MAIL FROM (RFC 6531)");
		return -1;
	}
	if (s->txn->n_rcpts >= s->daemon->cfg->max_recipients) {
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return -1;
	}
	return 0;
}

void smtp_cmd_rcpt(struct smtp_session *s, const char *args, size_t len)
{
	struct relay_client client = { .ip = s->ip, .auth_login = s->auth_login };
	struct smtp_path path;
	char note[128];

	if (smtp_rcpt_parse(s, args, len, &path) < 0 || smtp_srs_rcpt(s, &path))
		return;
	switch (relay_decide(s->daemon->cfg, &client, path.domain, note, sizeof(note))) {
	case RELAY_LOCAL:
		smtp_local_rcpt(s, &path);
		return;
	case RELAY_ALLOWED:
		smtp_relay_rcpt(s, &path, note);
		return;
	case RELAY_NEED_GRANT:
		smtp_rcpt_ask_grant(s, &path);
		return;
	case RELAY_REFUSED:
		break;
	}
	log_info("%08x smtp reject rcpt=<%s@%s> ip=%s: relay not permitted", s->id, path.local,
		 path.domain, s->ip);
	smtp_reply(s, "%s", relay_refusal_text());
}

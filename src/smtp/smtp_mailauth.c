/*
 * smtp_mailauth - DKIM signing and the SPF/DKIM/DMARC checks in an SMTP
 * transaction (SPEC.md "Mail authentication"). A client that
 * authenticated, holds a grant or sits in a trusted network sends our
 * users' mail: it is signed. Any other client on port 25 is checked: SPF
 * starts at MAIL FROM, the rest once the header section is in, and the
 * verdict decides at the end of DATA.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"
#include "mailauth/mailauth_sign.h"
#include "mailauth/mailauth_stream.h"
#include "mailauth/mailauth_verify.h"
#include "metrics/metrics.h"
#include "queue/queue_env.h"
#include "relay/relay_check.h"
#include "smtp/smtp_internal.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xalloc.h"

/* smtp_mailauth_trusted - does this transaction carry our users' mail? */
static bool smtp_mailauth_trusted(const struct smtp_session *s)
{
	const char *network;

	return s->auth_login != NULL || s->txn->grant_login != NULL ||
	       s->txn->relay_note[0] != '\0' || relay_check_trusted(s->daemon->cfg, s->ip, &network);
}

void smtp_mailauth_mail(struct smtp_session *s)
{
	const struct daemon *d = s->daemon;

	if (s->service != SMTP_SERVICE_MTA || !d->cfg->inbound_verify || smtp_mailauth_trusted(s))
		return;
	s->txn->verify = mailauth_verify_new(&s->daemon->mailauth, (const struct sockaddr *)&s->peer,
					     s->helo, s->txn->from);
}

void smtp_mailauth_begin(struct smtp_session *s)
{
	struct smtp_txn *txn = s->txn;

	if (smtp_mailauth_trusted(s)) {
		mailauth_verify_free(&txn->verify); /* a grant showed up at RCPT */
		txn->sign = xmalloc(sizeof(*txn->sign));
		mailauth_stream_init(txn->sign);
		mailauth_sign_prepare(txn->sign);
	}
}

void smtp_mailauth_text(struct smtp_session *s, const char *buf, size_t len)
{
	if (s->txn->verify != NULL)
		mailauth_verify_text(s->txn->verify, buf, len);
	else if (s->txn->sign != NULL)
		mailauth_stream_feed(s->txn->sign, buf, len);
}

/* smtp_mailauth_fail - the stored message could not be changed: 451, nothing delivered. */
static void smtp_mailauth_fail(struct smtp_session *s)
{
	log_err("%08x smtp write failed: %s", s->id, strerror(errno));
	if (!s->gone)
		smtp_reply(s, "451 4.3.0 Local error in processing, try again later");
	smtp_txn_free(&s->txn);
	smtp_resume(s, SMTP_S_READY);
}

/* smtp_mailauth_prepend - put header fields at the top of the stored message; false on failure (replied). */
static bool smtp_mailauth_prepend(struct smtp_session *s, const char *fields)
{
	if (store_msg_prepend(s->txn->msg, fields, strlen(fields)) == 0)
		return true;
	smtp_mailauth_fail(s);
	return false;
}

/* smtp_mailauth_signed_cb - the signatures are made (or not): commit. */
static void smtp_mailauth_signed_cb(void *arg, char *fields)
{
	struct smtp_session *s = arg;
	bool ok = fields == NULL || smtp_mailauth_prepend(s, fields);

	free(fields);
	if (ok)
		smtp_data_commit(s);
}

/* smtp_mailauth_count - the verdicts, as counters. */
static void smtp_mailauth_count(const struct mailauth_verdict *vd)
{
	metrics_verdict(METRICS_AUTH_SPF, vd->spf);
	metrics_verdict(METRICS_AUTH_DKIM, vd->dkim);
	metrics_verdict(METRICS_AUTH_DMARC, vd->dmarc);
}

/* smtp_mailauth_unforge - drop Authentication-Results: fields that claim our host name. */
static int smtp_mailauth_unforge(struct smtp_session *s)
{
	const char *head, *text;
	size_t head_len, len;

	if (!mailauth_verify_forged(s->txn->verify, &head, &head_len, &text, &len))
		return 0;
	log_info("%08x smtp removed a forged Authentication-Results: header", s->id);
	return store_msg_splice(s->txn->msg, s->txn->client_off, head, head_len, text, len);
}

/* smtp_mailauth_checked_cb - the verdict: refuse, or commit (to Junk) with its header on top. */
static void smtp_mailauth_checked_cb(void *arg, const struct mailauth_verdict *vd)
{
	struct smtp_session *s = arg;
	struct smtp_txn *txn = s->txn;

	smtp_mailauth_count(vd);
	log_info("%08x smtp checked id=%s spf=%s dkim=%s dmarc=%s%s", s->id, store_msg_id(txn->msg),
		 vd->spf, vd->dkim, vd->dmarc,
		 vd->action == MAILAUTH_REJECT ? " action=reject"
		 : vd->action == MAILAUTH_JUNK ? " action=junk" : "");
	if (s->gone) {
		smtp_resume(s, SMTP_S_READY); /* frees the session */
		return;
	}
	if (vd->action == MAILAUTH_REJECT) {
		smtp_reply(s, "%s", vd->reply);
		smtp_txn_free(&s->txn);
		smtp_resume(s, SMTP_S_READY);
		return;
	}
	txn->verifying = false;
	if (vd->action == MAILAUTH_JUNK)
		store_msg_junk(txn->msg);
	if (smtp_mailauth_unforge(s) < 0)
		smtp_mailauth_fail(s);
	else if (smtp_mailauth_prepend(s, vd->header))
		smtp_data_commit(s);
}

void smtp_mailauth_finish(struct smtp_session *s)
{
	struct smtp_txn *txn = s->txn;

	if (txn->verify != NULL) {
		txn->verifying = true;
		mailauth_verify_finish(txn->verify, smtp_mailauth_checked_cb, s);
	} else if (txn->sign != NULL) {
		mailauth_sign_start(s->daemon->crypto, s->daemon->dkim_keys, txn->sign,
				    store_msg_id(txn->msg), smtp_mailauth_signed_cb, s);
	} else {
		smtp_data_commit(s);
	}
}

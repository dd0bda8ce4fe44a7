/* smtp_cmd - the SMTP command table and its handlers (RFC 5321 4.1). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr/srs.h"
#include "auth/accounts.h"
#include "auth/auth_verify.h"
#include "queue/queue_env.h"
#include "relay/relay_check.h"
#include "relay/relay_policy.h"
#include "smtp/smtp_internal.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SMTP_S_GREETED (SMTP_S_READY | SMTP_S_MAIL | SMTP_S_RCPT)
#define SMTP_S_ANY (SMTP_S_CONNECTED | SMTP_S_GREETED)

struct smtp_cmd_def {
	enum smtp_verb verb;
	void (*handler)(struct smtp_session *s, const char *args, size_t len);
	unsigned states; /* where the verb is allowed; elsewhere 503 */
};

/* smtp_reset - drop the transaction; keep the greeting. */
static void smtp_reset(struct smtp_session *s)
{
	smtp_txn_free(&s->txn);
	if (s->state != SMTP_S_CONNECTED)
		smtp_set_state(s, SMTP_S_READY);
}

/* smtp_set_helo - remember the client's HELO/EHLO name (printable only). */
static int smtp_set_helo(struct smtp_session *s, const char *args, size_t len)
{
	char buf[256];

	if (len == 0) {
		smtp_reply(s, "501 5.5.4 Syntax: %s hostname", s->esmtp ? "EHLO" : "HELO");
		return -1;
	}
	free(s->helo);
	s->helo = xstrdup(log_escape(args, len, buf, sizeof(buf)));
	smtp_txn_free(&s->txn);
	smtp_set_state(s, SMTP_S_READY);
	return 0;
}

/*
 * smtp_auth_offer - the mechanisms this connection may use: no passwords in
 * clear (RFC 4954 4), and CRAM-MD5 only when some account has the shared
 * secret it needs (clients that see it prefer it, with their password).
 */
static const char *smtp_auth_offer(struct smtp_session *s)
{
	bool cram = auth_have_secrets(s->daemon->auth, accounts_db(s->daemon->accounts));

	if (smtp_plaintext_ok(s))
		return cram ? "PLAIN LOGIN CRAM-MD5" : "PLAIN LOGIN";
	return cram ? "CRAM-MD5" : NULL;
}

static void smtp_cmd_ehlo(struct smtp_session *s, const char *args, size_t len)
{
	const struct cfg *cfg = s->daemon->cfg;

	s->esmtp = true;
	if (smtp_set_helo(s, args, len) < 0)
		return;
	smtp_reply(s, "250-%s", cfg->hostname);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %zu", cfg->max_message_size);
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	if (!s->tls && s->daemon->tls != NULL)
		smtp_reply(s, "250-STARTTLS");
	const char *mechs = s->auth_login == NULL ? smtp_auth_offer(s) : NULL;
	if (mechs != NULL)
		smtp_reply(s, "250-AUTH %s", mechs);
	smtp_reply(s, "250 SMTPUTF8");
}

static void smtp_cmd_helo(struct smtp_session *s, const char *args, size_t len)
{
	s->esmtp = false;
	if (smtp_set_helo(s, args, len) == 0)
		smtp_reply(s, "250 %s", s->daemon->cfg->hostname);
}

/* smtp_owns - may the logged-in user send as address (addr/aliases.h aliases_owns)? */
static bool smtp_owns(const struct smtp_session *s, const char *address)
{
	struct aliases_resolver res;

	accounts_resolver(s->daemon->accounts, &res);
	return aliases_owns(accounts_aliases(s->daemon->accounts), &res, s->auth_login, address);
}

/*
 * smtp_sender_ok - an authenticated client sends as its login or an alias
 * whose targets include it (or <>); smtp_owns does the same for From:.
 */
static bool smtp_sender_ok(const struct smtp_session *s, const struct smtp_path *path)
{
	char address[SMTP_LOCAL_MAX * 2 + SMTP_DOMAIN_MAX + 8];

	if (s->auth_login == NULL || path->null_path)
		return true;
	snprintf(address, sizeof(address), "%s@%s", path->local, path->domain);
	return smtp_owns(s, address);
}

static void smtp_cmd_mail(struct smtp_session *s, const char *args, size_t len)
{
	const struct cfg *cfg = s->daemon->cfg;
	struct smtp_path path;
	const char *error;
	int code;

	if (s->service == SMTP_SERVICE_SUBMISSION && s->auth_login == NULL) {
		smtp_reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if (smtp_path_parse(args, len, SMTP_PATH_MAIL, &path, &code, &error) < 0) {
		smtp_reply(s, "%d %s", code, error);
		return;
	}
	if (smtp_path_has_utf8(&path) && !path.smtputf8) {
		smtp_reply(s, "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter (RFC 6531)");
		return;
	}
	if (!smtp_sender_ok(s, &path)) {
		smtp_reply(s, "553 5.7.1 <%s@%s>: Sender address rejected: not owned by user %s",
			   path.local, path.domain, s->auth_login);
		return;
	}
	if (path.size_set && path.size > cfg->max_message_size) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		return;
	}
	s->txn = xcalloc(1, sizeof(*s->txn));
	aliases_result_init(&s->txn->targets);
	s->txn->from = path.null_path ? xstrdup("")
				      : xasprintf("%s@%s", path.local, path.domain);
	s->txn->smtputf8 = path.smtputf8;
	smtp_mailauth_mail(s);
	smtp_set_state(s, SMTP_S_MAIL);
	smtp_reply(s, "250 2.1.0 Ok");
}

static void smtp_cmd_data(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (len > 0) {
		smtp_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->state == SMTP_S_MAIL) {
		smtp_reply(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	if (smtp_data_begin(s) < 0) {
		smtp_reply(s, errno == ENOSPC || errno == EDQUOT
				      ? "452 4.3.1 Insufficient system storage"
				      : "451 4.3.0 Local error in processing, try again later");
		return;
	}
	smtp_set_state(s, SMTP_S_DATA);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void smtp_cmd_rset(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reset(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

static void smtp_cmd_noop(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(s, "250 2.0.0 Ok");
}

static void smtp_cmd_quit(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(s, "221 2.0.0 Bye");
	smtp_close(s);
}

static void smtp_cmd_vrfy(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
}

static void smtp_cmd_help(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
}

static void smtp_cmd_starttls(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (len > 0) {
		smtp_reply(s, "501 5.5.4 Syntax: STARTTLS");
	} else if (s->tls) {
		smtp_reply(s, "503 5.5.1 Error: TLS already active");
	} else if (s->daemon->tls == NULL) {
		smtp_reply(s, "454 4.7.0 TLS not available");
	} else {
		smtp_reply(s, "220 2.0.0 Ready to start TLS");
		smtp_start_tls(s);
	}
}

static void smtp_cmd_unavailable(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(s, "502 5.5.1 Error: command not implemented");
}

static const struct smtp_cmd_def smtp_cmd_table[] = {
	{ SMTP_VERB_EHLO, smtp_cmd_ehlo, SMTP_S_ANY },
	{ SMTP_VERB_HELO, smtp_cmd_helo, SMTP_S_ANY },
	{ SMTP_VERB_MAIL, smtp_cmd_mail, SMTP_S_READY },
	{ SMTP_VERB_RCPT, smtp_cmd_rcpt, SMTP_S_MAIL | SMTP_S_RCPT },
	{ SMTP_VERB_DATA, smtp_cmd_data, SMTP_S_MAIL | SMTP_S_RCPT },
	{ SMTP_VERB_RSET, smtp_cmd_rset, SMTP_S_ANY },
	{ SMTP_VERB_NOOP, smtp_cmd_noop, SMTP_S_ANY },
	{ SMTP_VERB_QUIT, smtp_cmd_quit, SMTP_S_ANY },
	{ SMTP_VERB_VRFY, smtp_cmd_vrfy, SMTP_S_ANY },
	{ SMTP_VERB_HELP, smtp_cmd_help, SMTP_S_ANY },
	{ SMTP_VERB_EXPN, smtp_cmd_unavailable, SMTP_S_ANY },
	{ SMTP_VERB_STARTTLS, smtp_cmd_starttls, SMTP_S_CONNECTED | SMTP_S_READY },
	{ SMTP_VERB_AUTH, smtp_cmd_auth, SMTP_S_READY },
};

/* smtp_cmd_refusal - the 503 for a verb sent in the wrong state. */
static const char *smtp_cmd_refusal(const struct smtp_session *s, enum smtp_verb verb)
{
	if (s->state == SMTP_S_CONNECTED)
		return "503 5.5.1 Error: send HELO/EHLO first";
	if (verb == SMTP_VERB_MAIL)
		return "503 5.5.1 Error: nested MAIL command";
	if (verb == SMTP_VERB_RCPT)
		return "503 5.5.1 Error: need MAIL command";
	if (verb == SMTP_VERB_DATA)
		return "503 5.5.1 Error: need RCPT command";
	return "503 5.5.1 Error: bad sequence of commands";
}

void smtp_dispatch(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_command cmd;
	const char *error;

	if (smtp_command_parse(line, len, &cmd, &error) < 0) {
		smtp_reply(s, "500 5.5.2 Error: %s", error);
		return;
	}
	for (size_t i = 0; i < sizeof(smtp_cmd_table) / sizeof(smtp_cmd_table[0]); i++) {
		const struct smtp_cmd_def *def = &smtp_cmd_table[i];
		if (def->verb != cmd.verb)
			continue;
		if (!(def->states & s->state))
			smtp_reply(s, "%s", smtp_cmd_refusal(s, cmd.verb));
		else
			def->handler(s, cmd.args, cmd.args_len);
		return;
	}
	smtp_reply(s, "500 5.5.2 Error: command not recognized");
}

/* smtp_protocol - the "with" of Received: (RFC 3848). */
static const char *smtp_protocol(const struct smtp_session *s)
{
	static const char *const names[2][2][2] = {
		{ { "SMTP", "SMTP" }, { "SMTPS", "SMTPS" } },
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
	};

	if (s->txn->smtputf8)
		return s->auth_login ? "UTF8SMTPA" : "UTF8SMTP";
	return names[s->esmtp][s->tls][s->auth_login != NULL];
}

/* smtp_received - the Received: header (RFC 5321 4.4) with LF line ends. */
static int smtp_received(struct smtp_session *s, char *buf, size_t size, size_t *lines_r)
{
	const struct smtp_txn *txn = s->txn;
	char date[64], rcpt[SMTP_LOCAL_MAX * 2 + SMTP_DOMAIN_MAX + 16] = "";
	time_t now = time(NULL);
	struct tm tm;
	int n;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (txn->n_rcpts == 1)
		snprintf(rcpt, sizeof(rcpt), "\n\tfor <%s@%s>", txn->rcpts[0].local,
			 txn->rcpts[0].domain);
	n = snprintf(buf, size,
		     "Received: from %s ([%s])%s%s%s\n\tby %s (postern) with %s id %s%s;\n\t%s\n",
		     s->helo, s->ip, txn->relay_note[0] ? "\n\t(" : "", txn->relay_note,
		     txn->relay_note[0] ? ")" : "", s->daemon->cfg->hostname, smtp_protocol(s),
		     store_msg_id(txn->msg), rcpt, date);
	*lines_r = (txn->n_rcpts == 1 ? 4 : 3) + (txn->relay_note[0] ? 1 : 0);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/*
 * smtp_forward_sender - the envelope sender for a message that is also
 * forwarded by an alias: a sender outside our domains is rewritten with
 * SRS (addr/srs.h), so that SPF passes at the destination and a bounce
 * comes back through smtp_rcpt.c; <> and our own senders stay as they are.
 */
static void smtp_forward_sender(const struct smtp_session *s, char out[SRS_ADDRESS_MAX + 1])
{
	const struct daemon *d = s->daemon;
	const char *from = s->txn->from, *at = strrchr(from, '@');
	struct srs_params p = { .secret = d->srs_secret, .secret_len = d->srs_secret_len,
				.domain = d->cfg->hostname, .now = time(NULL) };

	snprintf(out, SRS_ADDRESS_MAX + 1, "%s", from);
	if (from[0] == '\0' || at == NULL || d->srs_secret_len == 0 ||
	    cfg_is_local_domain(d->cfg, at + 1, strlen(at + 1)))
		return;
	enum srs_result r = srs_forward(&p, from, strlen(from), out);
	if (r != SRS_OK && r != SRS_OWN_DOMAIN) {
		log_warn("%08x smtp cannot rewrite <%s> with SRS; forwarding it unchanged", s->id,
			 from);
		snprintf(out, SRS_ADDRESS_MAX + 1, "%s", from);
	}
}

/* smtp_queue_rcpts - the relayed recipients and the forwarded alias targets; true when forwarding. */
static bool smtp_queue_rcpts(const struct smtp_txn *txn, struct queue_env *env)
{
	bool forwarding = false;

	for (size_t i = 0; i < txn->n_rcpts; i++) {
		if (!txn->rcpts[i].remote)
			continue;
		char *address = xasprintf("%s@%s", txn->rcpts[i].local, txn->rcpts[i].domain);
		queue_env_add_rcpt(env, address);
		free(address);
	}
	for (size_t i = 0; i < txn->targets.n; i++) {
		if (txn->targets.targets[i].remote) {
			queue_env_add_rcpt(env, txn->targets.targets[i].address);
			forwarding = true;
		}
	}
	return forwarding;
}

/* smtp_queue_remote - give the store a queue envelope for the remote recipients (text complete). */
void smtp_queue_remote(struct smtp_session *s)
{
	struct smtp_txn *txn = s->txn;
	char from[SRS_ADDRESS_MAX + 1];
	struct queue_env env = { .created = time(NULL), .from = txn->from, .sized = true,
				 .size = (size_t)((long long)(txn->header_wire + txn->reader.size) +
						  store_msg_wire_delta(txn->msg)),
				 .eightbit = txn->header_8bit || txn->reader.eightbit ||
					     store_msg_prepended_8bit(txn->msg) };
	size_t len;

	snprintf(env.id, sizeof(env.id), "%s", store_msg_id(txn->msg));
	if (smtp_queue_rcpts(txn, &env)) {
		smtp_forward_sender(s, from);
		env.from = from;
	}
	if (env.n_rcpts > 0) {
		char *text = queue_env_format(&env, &len);
		store_msg_set_envelope(txn->msg, text, len);
	}
	env.from = NULL; /* borrowed */
	queue_env_clear(&env);
}

/* smtp_data_put - message text to the store, and to the checks or the signer. */
static int smtp_data_put(struct smtp_session *s, const char *buf, size_t len)
{
	smtp_mailauth_text(s, buf, len);
	return store_msg_write(s->txn->msg, buf, len);
}

/* smtp_add_missing_headers - Date: and Message-ID: where the client left them out. */
static int smtp_add_missing_headers(struct smtp_session *s)
{
	struct smtp_txn *txn = s->txn;
	char buf[512], date[64];
	size_t n = 0, lines = 0;
	time_t now = time(NULL);
	struct tm tm;

	if (!txn->headers.saw_date) {
		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "Date: %s\n", date);
		lines++;
	}
	if (!txn->headers.saw_message_id) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "Message-ID: <%s@%s>\n",
				      store_msg_id(txn->msg), s->daemon->cfg->hostname);
		lines++;
	}
	txn->header_wire += n + lines;
	return n > 0 ? smtp_data_put(s, buf, n) : 0;
}

int smtp_data_write(struct smtp_session *s, const char *buf, size_t len)
{
	struct smtp_txn *txn = s->txn;

	if (txn->scan_headers && !txn->headers.done) {
		size_t end = smtp_headers_feed(&txn->headers, buf, len);
		if (txn->headers.done && txn->fix_headers) {
			if (smtp_data_put(s, buf, end) < 0 || smtp_add_missing_headers(s) < 0)
				return -1;
			buf += end;
			len -= end;
		}
	}
	return smtp_data_put(s, buf, len);
}

/*
 * smtp_from_refusal - an authenticated session's From: must name only
 * addresses the login owns (as MAIL FROM, smtp_sender_ok): NULL, or the
 * 550 5.7.1 reply (malloc'd). A message without From: is let through.
 */
static char *smtp_from_refusal(const struct smtp_session *s)
{
	const struct smtp_header_scan *h = &s->txn->headers;
	char addrs[8][SMTP_FROM_ADDR_MAX];
	int n;

	if (h->n_from == 0)
		return NULL;
	if (h->n_from > 1 || h->from_long ||
	    (n = smtp_headers_from_addresses(h->from, h->from_len, addrs, 8)) <= 0)
		return xstrdup("550 5.7.1 Message rejected: malformed From: header");
	for (int i = 0; i < n; i++) {
		if (!smtp_owns(s, addrs[i]))
			return xasprintf("550 5.7.1 <%.256s>: From: address not owned by user %s",
					 addrs[i], s->auth_login);
	}
	return NULL;
}

int smtp_data_complete(struct smtp_session *s)
{
	struct smtp_txn *txn = s->txn;

	if (txn->scan_headers && !txn->headers.done) {
		txn->headers.done = true; /* a message of headers only */
		if (txn->fix_headers && smtp_add_missing_headers(s) < 0)
			return -1;
	}
	if (s->auth_login != NULL)
		txn->refusal = smtp_from_refusal(s);
	return 0;
}

/* smtp_add_mailboxes - the Maildirs of the local targets; -1 when one is unsafe as a path. */
static int smtp_add_mailboxes(struct smtp_txn *txn)
{
	for (size_t i = 0; i < txn->targets.n; i++) {
		const struct aliases_target *t = &txn->targets.targets[i];
		char *at = strrchr(t->address, '@');
		if (t->remote || at == NULL)
			continue;
		*at = '\0';
		int rc = store_msg_add_mailbox(txn->msg, at + 1, t->address, t->orig);
		*at = '@';
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* smtp_data_fail - drop the message that DATA could not start; -1 with errno set. */
static int smtp_data_fail(struct smtp_txn *txn, int err)
{
	store_msg_abort(&txn->msg);
	errno = err;
	return -1;
}

int smtp_data_begin(struct smtp_session *s)
{
	struct smtp_txn *txn = s->txn;
	char header[2048]; /* the longest HELO, note, host and recipient fit */
	size_t lines;
	int n;

	if ((txn->msg = store_msg_new(s->daemon->store)) == NULL)
		return -1;
	if (smtp_add_mailboxes(txn) < 0)
		return smtp_data_fail(txn, EINVAL);
	if (s->auth_login != NULL && txn->relay_note[0] == '\0')
		snprintf(txn->relay_note, sizeof(txn->relay_note), "authenticated as %s",
			 s->auth_login);
	if ((n = smtp_received(s, header, sizeof(header), &lines)) < 0)
		return smtp_data_fail(txn, ENAMETOOLONG);
	if (store_msg_write(txn->msg, header, (size_t)n) < 0)
		return smtp_data_fail(txn, errno);
	txn->header_wire = (size_t)n + lines;
	txn->client_off = (size_t)n;
	txn->header_8bit = queue_env_has_8bit(header, (size_t)n);
	txn->fix_headers = s->service == SMTP_SERVICE_SUBMISSION;
	txn->scan_headers = txn->fix_headers || s->auth_login != NULL;
	smtp_headers_init(&txn->headers);
	txn->chunk = xmalloc(SMTP_DATA_CHUNK);
	smtp_data_init(&txn->reader, s->daemon->cfg->max_message_size, SMTP_TEXT_LINE_MAX);
	smtp_mailauth_begin(s);
	return 0;
}

/*
 * imap_auth - LOGIN and AUTHENTICATE PLAIN / LOGIN with SASL-IR (RFC 9051
 * 6.2, RFC 4959), and the path every IMAP login takes, as POP3's does:
 *
 *	credentials verified (passwords on a worker, auth/auth_verify.h)
 *	  -> the account's Maildir and special folders made (on a worker)
 *	  -> the relay grant written (relay.imap_before_smtp)
 *	  -> "OK [CAPABILITY ...] Logged in", authenticated state
 *
 * A failure waits for the address's penalty delay before its NO
 * [AUTHENTICATIONFAILED] and never says whether the account exists.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth/accounts.h"
#include "auth/auth_mech.h"
#include "auth/auth_verify.h"
#include "imap/imap_account.h"
#include "imap/imap_internal.h"
#include "metrics/metrics.h"
#include "relay/relay_check.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* After login the client may send what a busy mailbox needs: long UID sets, big SEARCHes. */
static const struct imap_parser_limits imap_auth_limits = {
	.line_max = 65536, .literal_max = 65536, .total_max = 262144, .depth_max = 16,
	.args_max = 8192, .stream_append = true,
};

enum imap_auth_mech {
	IMAP_MECH_PLAIN,
	IMAP_MECH_LOGIN,
};

/* The account's folders being prepared on a worker. */
struct imap_auth_job {
	struct imap_session *s;
	char *home;
	int rc;
	char *error;
};

static void imap_auth_fail(struct imap_session *s);

/* imap_auth_log - "login user=... ip=... method=... ok|failed..." */
static void imap_auth_log(const struct imap_session *s, const char *outcome)
{
	char user[128];

	log_escape(s->user != NULL ? s->user : "", s->user != NULL ? strlen(s->user) : 0, user,
		   sizeof(user));
	log_info("%08x imap login user=%s ip=%s method=%s %s", s->id, user, s->ip, s->method,
		 outcome);
}

/* imap_auth_metric - count a login outcome for the listener's service. */
static void imap_auth_metric(const struct imap_session *s, enum metrics_login_result r)
{
	metrics_login(s->imaps ? METRICS_SVC_IMAPS : METRICS_SVC_IMAP, r);
}

/* imap_auth_begin - remember who is logging in, how; the session waits from now on. */
static void imap_auth_begin(struct imap_session *s, const char *login, const char *method)
{
	char *copy = xstrdup(login);

	free(s->user);
	s->user = copy;
	s->method = method;
	imap_session_wipe(&s->sasl_data);
	imap_busy(s);
}

/* imap_auth_granted_cb - the grant is written (or the store failed: the login goes on). */
static void imap_auth_granted_cb(void *arg, enum relay_store_status st, const char *error)
{
	struct imap_session *s = arg;
	char caps[512];

	if (!imap_wait_done(s))
		return;
	if (st != RELAY_STORE_OK)
		log_err("%08x imap grant failed: %s", s->id, error ? error : "store error");
	imap_auth_log(s, "ok");
	imap_auth_metric(s, METRICS_LOGIN_OK);
	imap_set_state(s, IMAP_S_AUTH);
	imap_parser_set_limits(s->parser, &imap_auth_limits);
	s->hostname = xstrdup(s->daemon->cfg->hostname);
	s->max_message_size = s->daemon->cfg->max_message_size;
	imap_tagged(s, "OK [CAPABILITY %s] Logged in", imap_capabilities(s, caps, sizeof(caps)));
	imap_enter_auth(s);
}

/* imap_auth_prepare_work - on a worker: the Maildir, Sent, Drafts, Trash and Junk. */
static void imap_auth_prepare_work(void *arg)
{
	struct imap_auth_job *j = arg;

	j->rc = imap_account_prepare(j->home, &j->error);
}

/* imap_auth_prepared_cb - on the loop: write the grant, or answer NO [UNAVAILABLE]. */
static void imap_auth_prepared_cb(void *arg)
{
	struct imap_auth_job *j = arg;
	struct imap_session *s = j->s;

	if (!imap_wait_done(s)) {
		free(j->home);
		free(j->error);
		free(j);
		return;
	}
	if (j->rc < 0) {
		log_err("%08x imap cannot prepare %s: %s", s->id, j->home, j->error);
		imap_auth_log(s, "failed error");
		imap_auth_metric(s, METRICS_LOGIN_ERROR);
		free(j->home);
		imap_tagged(s, "NO [UNAVAILABLE] Cannot open the mailbox, try again later");
		imap_resume(s);
	} else {
		s->home = j->home;
		auth_login_succeeded(s->daemon->auth, s->ip);
		s->waiting = true;
		relay_grant_open(s->daemon->base, s->daemon->relay_store, s->daemon->cfg, s->ip,
				 s->user, "imap", imap_auth_granted_cb, s);
	}
	free(j->error);
	free(j);
}

/* imap_auth_open - credentials are good: prepare the account's Maildir on a worker. */
static void imap_auth_open(struct imap_session *s)
{
	const struct users_account *acct = accounts_find(s->daemon->accounts, s->user);
	char home[4096];

	if (acct == NULL || maildir_account_path(home, sizeof(home), s->daemon->cfg->data_dir,
						 acct->address) < 0) {
		imap_auth_fail(s); /* the account went away meanwhile, or its address is unusable */
		return;
	}
	struct imap_auth_job *j = xcalloc(1, sizeof(*j));

	free(s->user);
	s->user = xstrdup(acct->address); /* the canonical, lower-case login */
	j->s = s;
	j->home = xstrdup(home);
	s->waiting = true;
	workq_submit(s->daemon->io, imap_auth_prepare_work, imap_auth_prepared_cb, j);
}

/* imap_auth_delay_cb - the failed login's delay is over: NO [AUTHENTICATIONFAILED]. */
static void imap_auth_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;

	(void)fd;
	(void)what;
	free(s->user);
	s->user = NULL;
	imap_tagged(s, "NO [AUTHENTICATIONFAILED] Authentication failed");
	imap_resume(s);
}

/* imap_auth_fail - log, then answer after the address's penalty delay. */
static void imap_auth_fail(struct imap_session *s)
{
	unsigned ms = auth_login_failed(s->daemon->auth, s->ip);
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	imap_auth_log(s, "failed");
	imap_auth_metric(s, METRICS_LOGIN_FAIL);
	if (s->delay == NULL)
		s->delay = evtimer_new(s->daemon->base, imap_auth_delay_cb, s);
	imap_busy(s);
	evtimer_add(s->delay, &tv);
}

/* imap_auth_verified_cb - the password check answered. */
static void imap_auth_verified_cb(void *arg, int ok)
{
	struct imap_session *s = arg;

	if (!imap_wait_done(s))
		return;
	if (ok)
		imap_auth_open(s);
	else
		imap_auth_fail(s);
}

/*
 * imap_auth_refused - refuse without checking: the address is locked out
 * (auth.max_failures), or the accounts are not current (auth.store down).
 */
static bool imap_auth_refused(struct imap_session *s, const char *login, const char *method)
{
	bool locked = auth_login_blocked(s->daemon->auth, s->ip);

	if (!locked && accounts_sure(s->daemon->accounts, login))
		return false;
	s->mode = IMAP_M_COMMANDS; /* an AUTHENTICATE exchange ends here */
	imap_session_wipe(&s->sasl_data);
	free(s->user);
	s->user = xstrdup(login);
	s->method = method;
	imap_auth_log(s, locked ? "locked-out" : "failed unavailable");
	imap_auth_metric(s, locked ? METRICS_LOGIN_LOCKED : METRICS_LOGIN_ERROR);
	free(s->user);
	s->user = NULL;
	imap_tagged(s, locked ? "NO [UNAVAILABLE] Too many failed logins from your address, try again later"
			      : "NO [UNAVAILABLE] The account database is unavailable, try again later");
	return true;
}

/* imap_auth_password - verify login / password on a worker (LOGIN, PLAIN, SASL LOGIN). */
static void imap_auth_password(struct imap_session *s, const char *login, const char *password,
			       const char *method)
{
	const struct users_account *acct = accounts_find(s->daemon->accounts, login);

	if (imap_auth_refused(s, login, method))
		return;
	imap_auth_begin(s, login, method);
	s->waiting = true;
	auth_verify_password(s->daemon->auth, acct, login, password, imap_auth_verified_cb, s);
}

/* imap_auth_plaintext_refused - a password on a connection that must not carry one. */
static bool imap_auth_plaintext_refused(struct imap_session *s)
{
	if (s->plaintext_ok)
		return false;
	imap_tagged(s, "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
		       "connections");
	return true;
}

void imap_auth_login(struct imap_session *s, const struct imap_call *c)
{
	if (c->count != 2 || !imap_arg_is_astring(&c->args[0]) ||
	    !imap_arg_is_astring(&c->args[1])) {
		imap_bad(s, "LOGIN needs a user name and a password");
		return;
	}
	if (imap_auth_plaintext_refused(s))
		return;
	imap_auth_password(s, c->args[0].u.str.data, c->args[1].u.str.data, "login");
}

/* imap_sasl_plain - a decoded PLAIN message: authzid NUL authcid NUL password. */
static void imap_sasl_plain(struct imap_session *s, char *msg, size_t len)
{
	const char *authzid, *authcid, *password;

	if (auth_plain_split(msg, len, &authzid, &authcid, &password) < 0) {
		imap_bad(s, "Malformed PLAIN response");
		s->mode = IMAP_M_COMMANDS;
		return;
	}
	if (authzid[0] != '\0' && strcasecmp(authzid, authcid) != 0) {
		imap_tagged(s, "NO [AUTHORIZATIONFAILED] Cannot act as another user");
		s->mode = IMAP_M_COMMANDS;
		return;
	}
	imap_auth_password(s, authcid, password, "plain");
}

/* imap_sasl_login - LOGIN: first the user name, then the password. */
static void imap_sasl_login(struct imap_session *s, const char *msg)
{
	if (s->sasl_data == NULL) {
		s->sasl_data = xstrdup(msg);
		imap_reply(s, "+ UGFzc3dvcmQ6"); /* "Password:" */
		return;
	}
	char *user = s->sasl_data;

	s->sasl_data = NULL;
	imap_auth_password(s, user, msg, "login");
	imap_session_wipe(&user);
}

/* imap_sasl_step - one decoded response for the mechanism in progress. */
static void imap_sasl_step(struct imap_session *s, char *msg, size_t len)
{
	if (memchr(msg, '\0', len) != NULL && s->sasl_mech == IMAP_MECH_LOGIN) {
		imap_bad(s, "Malformed LOGIN response");
		s->mode = IMAP_M_COMMANDS;
		return;
	}
	if (s->sasl_mech == IMAP_MECH_PLAIN)
		imap_sasl_plain(s, msg, len);
	else
		imap_sasl_login(s, msg);
}

/* imap_sasl_response - base64 text of a response ("=" is empty, RFC 4959); false if malformed. */
static bool imap_sasl_response(struct imap_session *s, const char *text, size_t len)
{
	char msg[IMAP_SASL_LINE_MAX];
	size_t n = 0;

	if (!(len == 1 && text[0] == '=') &&
	    auth_base64_decode(text, len, msg, sizeof(msg) - 1, &n) < 0)
		return false;
	msg[n] = '\0';
	imap_sasl_step(s, msg, n);
	OPENSSL_cleanse(msg, sizeof(msg));
	return true;
}

void imap_sasl_line(struct imap_session *s, char *line, size_t len)
{
	if (line != NULL && len == 1 && line[0] == '*') {
		imap_session_wipe(&s->sasl_data);
		s->mode = IMAP_M_COMMANDS;
		imap_bad(s, "Authentication cancelled");
		return;
	}
	if (line == NULL || len == 0 || !imap_sasl_response(s, line, len)) {
		imap_session_wipe(&s->sasl_data);
		s->mode = IMAP_M_COMMANDS;
		imap_bad(s, "Malformed SASL response");
	}
}

/* imap_auth_mech - the mechanism named by arg; -1 if not offered. */
static int imap_auth_mech(const struct imap_arg *arg)
{
	if (arg->type != IMAP_ARG_ATOM)
		return -1;
	if (strcasecmp(arg->u.str.data, "PLAIN") == 0)
		return IMAP_MECH_PLAIN;
	if (strcasecmp(arg->u.str.data, "LOGIN") == 0)
		return IMAP_MECH_LOGIN;
	return -1;
}

void imap_auth_authenticate(struct imap_session *s, const struct imap_call *c)
{
	int mech = c->count >= 1 && c->count <= 2 ? imap_auth_mech(&c->args[0]) : -1;

	if (c->count < 1 || c->count > 2 || (c->count == 2 && c->args[1].type != IMAP_ARG_ATOM)) {
		imap_bad(s, "AUTHENTICATE needs a mechanism and at most an initial response");
		return;
	}
	if (mech < 0) {
		imap_tagged(s, "NO Unsupported authentication mechanism");
		return;
	}
	if (imap_auth_plaintext_refused(s))
		return;
	s->sasl_mech = mech;
	s->mode = IMAP_M_SASL;
	if (c->count == 2) {
		if (!imap_sasl_response(s, c->args[1].u.str.data, c->args[1].u.str.len)) {
			s->mode = IMAP_M_COMMANDS;
			imap_bad(s, "Malformed initial response");
		}
		return;
	}
	imap_reply(s, mech == IMAP_MECH_PLAIN ? "+ " : "+ VXNlcm5hbWU6"); /* "Username:" */
}

/*
 * pop3_auth - the AUTHORIZATION state: USER/PASS, APOP and AUTH (RFC 1939
 * 7, RFC 5034), and the path every login takes:
 *
 *	credentials verified (passwords on a worker)
 *	  -> maildrop locked and listed (on a worker)
 *	  -> pop3_login_succeeded() hook (POP-before-SMTP grant; may be async)
 *	  -> +OK, TRANSACTION
 *
 * A failure waits for the address's penalty delay before its -ERR [AUTH]
 * and never says whether the account exists.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/accounts.h"
#include "auth/auth_mech.h"
#include "auth/auth_verify.h"
#include "metrics/metrics.h"
#include "pop3/pop3_hook.h"
#include "pop3/pop3_internal.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* A maildrop being opened on a worker. */
struct pop3_open_job {
	struct pop3_session *s;
	char path[4096];
	struct pop3_maildrop *md;
	enum pop3_maildrop_status status;
	int err;
};

static void pop3_login_fail(struct pop3_session *s);

/* pop3_wipe_str - wipe and free a secret string. */
static void pop3_wipe_str(char **p)
{
	if (*p != NULL) {
		OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

/* pop3_login_log - "login user=... ip=... method=... ok|failed..." */
static void pop3_login_log(const struct pop3_session *s, const char *outcome)
{
	char user[128];

	log_escape(s->user != NULL ? s->user : "", s->user != NULL ? strlen(s->user) : 0, user,
		   sizeof(user));
	log_info("%08x pop3 login user=%s ip=%s method=%s %s", s->id, user, s->ip, s->method,
		 outcome);
}

/* pop3_login_begin - remember who is logging in, how; the session waits from now on. */
static void pop3_login_begin(struct pop3_session *s, const char *login, const char *method)
{
	char *copy = xstrdup(login);

	free(s->user);
	s->user = copy;
	s->method = method;
	pop3_wipe_str(&s->sasl_data);
	pop3_set_state(s, POP3_S_BUSY);
}

/* pop3_login_granted_cb - the hook answered: +OK and TRANSACTION, or a temporary error. */
static void pop3_login_granted_cb(void *arg, int err)
{
	struct pop3_session *s = arg;
	size_t n = 0, size = 0;

	if (!pop3_wait_done(s))
		return;
	if (err != 0) {
		log_err("%08x pop3 post-login hook failed user=%s: %s", s->id, s->user, strerror(err));
		pop3_maildrop_close(&s->md);
		metrics_login(METRICS_SVC_POP3, METRICS_LOGIN_ERROR);
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary server failure, try again later");
		pop3_resume(s, POP3_S_AUTH);
		return;
	}
	pop3_login_log(s, "ok");
	metrics_login(METRICS_SVC_POP3, METRICS_LOGIN_OK);
	for (size_t i = 0; i < s->md->n; i++) {
		n++;
		size += s->md->msgs[i].size;
	}
	pop3_reply(s, "+OK Logged in, maildrop has %zu messages (%zu octets)", n, size);
	pop3_enter_trans(s);
}

/* pop3_login_opened - the maildrop is locked and listed: run the post-login hook. */
static void pop3_login_opened(struct pop3_session *s, struct pop3_maildrop *md)
{
	struct pop3_login_info info = {
		.session_id = s->id, .login = s->user, .ip = s->ip, .method = s->method,
	};

	s->md = md;
	auth_login_succeeded(s->daemon->auth, s->ip);
	s->waiting = true;
	pop3_login_succeeded(s->daemon, &info, pop3_login_granted_cb, s);
}

/* pop3_open_work - on a worker: lock and list the maildrop. */
static void pop3_open_work(void *arg)
{
	struct pop3_open_job *j = arg;

	j->status = pop3_maildrop_open(j->path, &j->md, &j->err);
}

/* pop3_open_done_cb - on the loop: go on to the hook, or answer [IN-USE] / [SYS/TEMP]. */
static void pop3_open_done_cb(void *arg)
{
	struct pop3_open_job *j = arg;
	struct pop3_session *s = j->s;

	if (!pop3_wait_done(s)) {
		pop3_maildrop_close(&j->md);
	} else if (j->status == POP3_MAILDROP_OK) {
		pop3_login_opened(s, j->md);
	} else if (j->status == POP3_MAILDROP_IN_USE) {
		pop3_login_log(s, "failed in-use");
		metrics_login(METRICS_SVC_POP3, METRICS_LOGIN_ERROR);
		pop3_reply(s, "-ERR [IN-USE] Maildrop is locked by another POP3 session");
		pop3_resume(s, POP3_S_AUTH);
	} else {
		log_err("%08x pop3 cannot open maildrop %s: %s", s->id, j->path, strerror(j->err));
		pop3_login_log(s, "failed error");
		metrics_login(METRICS_SVC_POP3, METRICS_LOGIN_ERROR);
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the maildrop, try again later");
		pop3_resume(s, POP3_S_AUTH);
	}
	free(j);
}

/* pop3_login_open - credentials are good: lock and list the account's Maildir on a worker. */
static void pop3_login_open(struct pop3_session *s)
{
	const struct users_account *acct = accounts_find(s->daemon->accounts, s->user);
	struct pop3_open_job *j = xcalloc(1, sizeof(*j));

	if (acct == NULL ||
	    maildir_account_path(j->path, sizeof(j->path), s->daemon->cfg->data_dir, acct->address) < 0) {
		free(j); /* the account went away meanwhile, or its address is unusable */
		pop3_login_fail(s);
		return;
	}
	free(s->user);
	s->user = xstrdup(acct->address); /* the canonical, lower-case login */
	j->s = s;
	s->waiting = true;
	workq_submit(s->daemon->io, pop3_open_work, pop3_open_done_cb, j);
}

/* pop3_login_delay_cb - the failed login's delay is over: -ERR [AUTH]. */
static void pop3_login_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_session *s = arg;

	(void)fd;
	(void)what;
	free(s->user);
	s->user = NULL;
	pop3_error(s, "[AUTH] Authentication failed");
	pop3_resume(s, POP3_S_AUTH);
}

/* pop3_login_fail - log, then answer after the address's penalty delay. */
static void pop3_login_fail(struct pop3_session *s)
{
	unsigned ms = auth_login_failed(s->daemon->auth, s->ip);
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	pop3_login_log(s, "failed");
	metrics_login(METRICS_SVC_POP3, METRICS_LOGIN_FAIL);
	if (s->delay == NULL)
		s->delay = evtimer_new(s->daemon->base, pop3_login_delay_cb, s);
	pop3_set_state(s, POP3_S_BUSY);
	evtimer_add(s->delay, &tv);
}

/* pop3_login_verified_cb - the password check answered. */
static void pop3_login_verified_cb(void *arg, int ok)
{
	struct pop3_session *s = arg;

	if (!pop3_wait_done(s))
		return;
	if (ok)
		pop3_login_open(s);
	else
		pop3_login_fail(s);
}

/*
 * pop3_login_refused - refuse without checking: the address is locked out
 * (auth.max_failures), or the accounts are not current (auth.store down).
 */
static bool pop3_login_refused(struct pop3_session *s, const char *login, const char *method)
{
	bool locked = auth_login_blocked(s->daemon->auth, s->ip);

	if (!locked && accounts_sure(s->daemon->accounts, login))
		return false;
	pop3_login_begin(s, login, method);
	pop3_login_log(s, locked ? "locked-out" : "failed unavailable");
	metrics_login(METRICS_SVC_POP3, locked ? METRICS_LOGIN_LOCKED : METRICS_LOGIN_ERROR);
	free(s->user);
	s->user = NULL;
	pop3_error(s, locked ? "[AUTH] Too many failed logins from your address, try again later"
			     : "[SYS/TEMP] The account database is unavailable, try again later");
	pop3_resume(s, POP3_S_AUTH);
	return true;
}

/* pop3_login_password - verify login / password on a worker (USER/PASS, PLAIN, LOGIN). */
static void pop3_login_password(struct pop3_session *s, const char *login, const char *password,
				const char *method)
{
	const struct users_account *acct = accounts_find(s->daemon->accounts, login);

	if (pop3_login_refused(s, login, method))
		return;
	pop3_login_begin(s, login, method);
	s->waiting = true;
	auth_verify_password(s->daemon->auth, acct, login, password, pop3_login_verified_cb, s);
}

/* pop3_login_digest - APOP / CRAM-MD5: check the digest against the account's secret now. */
static void pop3_login_digest(struct pop3_session *s, const char *login, const char *challenge,
			      const char *digest, size_t len, const char *method)
{
	const struct users_account *acct = accounts_find(s->daemon->accounts, login);
	const char *secret = acct != NULL ? acct->secret : NULL;
	bool ok = strcmp(method, "apop") == 0 ? auth_apop_check(challenge, secret, digest, len)
				   : auth_cram_md5_check(challenge, secret, digest, len);

	if (pop3_login_refused(s, login, method))
		return;
	pop3_login_begin(s, login, method);
	if (ok)
		pop3_login_open(s);
	else
		pop3_login_fail(s);
}

/* pop3_plaintext_refused - USER/PASS, PLAIN, LOGIN on a connection that must not carry them. */
static bool pop3_plaintext_refused(struct pop3_session *s)
{
	if (s->plaintext_ok)
		return false;
	pop3_error(s, "[AUTH] Plaintext authentication disallowed on non-secure connections");
	return true;
}

void pop3_auth_user(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (pop3_plaintext_refused(s))
		return;
	free(s->user);
	s->user = xstrndup(cmd->argv[0].p, cmd->argv[0].len);
	pop3_set_state(s, POP3_S_USER);
	pop3_reply(s, "+OK");
}

void pop3_auth_pass(struct pop3_session *s, const struct pop3_command *cmd)
{
	char *password = xstrndup(cmd->argv[0].p, cmd->argv[0].len);
	char *login = s->user;

	s->user = NULL;
	pop3_login_password(s, login, password, "user");
	pop3_wipe_str(&password);
	free(login);
}

void pop3_auth_apop(struct pop3_session *s, const struct pop3_command *cmd)
{
	char *login;

	if (s->timestamp[0] == '\0') {
		pop3_error(s, "APOP not available");
		return;
	}
	login = xstrndup(cmd->argv[0].p, cmd->argv[0].len);
	pop3_login_digest(s, login, s->timestamp, cmd->argv[1].p, cmd->argv[1].len, "apop");
	free(login);
}

/* pop3_sasl_plain - a decoded PLAIN message (RFC 4616): no authorization as someone else. */
static void pop3_sasl_plain(struct pop3_session *s, char *msg, size_t len)
{
	const char *authzid, *authcid, *passwd;

	if (auth_plain_split(msg, len, &authzid, &authcid, &passwd) < 0) {
		pop3_error(s, "Invalid PLAIN response");
		pop3_resume(s, POP3_S_AUTH);
		return;
	}
	if (authzid[0] != '\0' && strcasecmp(authzid, authcid) != 0) {
		pop3_login_begin(s, authcid, "plain");
		pop3_login_fail(s);
		return;
	}
	pop3_login_password(s, authcid, passwd, "plain");
}

/* pop3_sasl_login - LOGIN: the user name, then the password, each in its own response. */
static void pop3_sasl_login(struct pop3_session *s, const char *msg)
{
	char *login;

	if (s->sasl_data == NULL) {
		s->sasl_data = xstrdup(msg);
		pop3_set_state(s, POP3_S_SASL);
		pop3_reply(s, "+ UGFzc3dvcmQ6"); /* "Password:" */
		return;
	}
	login = s->sasl_data;
	s->sasl_data = NULL;
	pop3_login_password(s, login, msg, "login");
	pop3_wipe_str(&login);
}

/* pop3_sasl_cram - CRAM-MD5 (RFC 2195): "name digest" against the challenge sent. */
static void pop3_sasl_cram(struct pop3_session *s, char *msg, size_t len)
{
	const char *name, *digest;
	size_t digest_len;
	char *challenge = s->sasl_data;

	if (auth_cram_md5_split(msg, len, &name, &digest, &digest_len) < 0) {
		pop3_error(s, "Invalid CRAM-MD5 response");
		pop3_wipe_str(&s->sasl_data);
		pop3_resume(s, POP3_S_AUTH);
		return;
	}
	s->sasl_data = NULL;
	pop3_login_digest(s, name, challenge, digest, digest_len, "cram-md5");
	pop3_wipe_str(&challenge);
}

/* pop3_sasl_step - one decoded client response of the mechanism in progress. */
static void pop3_sasl_step(struct pop3_session *s, char *msg, size_t len)
{
	if (s->mech == POP3_MECH_PLAIN)
		pop3_sasl_plain(s, msg, len);
	else if (s->mech == POP3_MECH_LOGIN)
		pop3_sasl_login(s, msg);
	else
		pop3_sasl_cram(s, msg, len);
}

/* pop3_sasl_response - decode a response ("=" is an empty one) and run the step. */
static void pop3_sasl_response(struct pop3_session *s, const char *line, size_t len)
{
	char msg[POP3_SASL_LINE_MAX];
	size_t msg_len = 0;
	bool empty = len == 1 && line[0] == '=';

	if (!empty && auth_base64_decode(line, len, msg, sizeof(msg), &msg_len) < 0) {
		pop3_wipe_str(&s->sasl_data);
		pop3_error(s, "Invalid base64 data in AUTH response");
		pop3_resume(s, POP3_S_AUTH);
		return;
	}
	msg[msg_len] = '\0';
	pop3_sasl_step(s, msg, msg_len);
	OPENSSL_cleanse(msg, sizeof(msg));
}

void pop3_sasl_line(struct pop3_session *s, const char *line, size_t len)
{
	if (len == 1 && line[0] == '*') { /* RFC 5034 4: the client cancels */
		pop3_wipe_str(&s->sasl_data);
		pop3_set_state(s, POP3_S_AUTH);
		pop3_reply(s, "-ERR Authentication cancelled");
		return;
	}
	pop3_sasl_response(s, line, len);
}

/* pop3_auth_challenge - CRAM-MD5: a fresh "<random.time@hostname>" challenge, sent base64. */
static void pop3_auth_challenge(struct pop3_session *s)
{
	char challenge[POP3_CHALLENGE_MAX], b64[2 * POP3_CHALLENGE_MAX];
	unsigned long long r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		fatal("RAND_bytes failed");
	snprintf(challenge, sizeof(challenge), "<%llu.%lld@%.80s>", r, (long long)time(NULL),
		 s->daemon->cfg->hostname);
	s->sasl_data = xstrdup(challenge);
	auth_base64_encode(challenge, strlen(challenge), b64, sizeof(b64));
	pop3_set_state(s, POP3_S_SASL);
	pop3_reply(s, "+ %s", b64);
}

/* pop3_auth_mech - the mechanism named by arg when offered on this connection; -1 if not. */
static int pop3_auth_mech(const struct pop3_session *s, const struct pop3_arg *arg)
{
	static const char *const names[] = { "PLAIN", "LOGIN", "CRAM-MD5" };
	bool offered[] = { s->plaintext_ok, s->plaintext_ok, s->timestamp[0] != '\0' };

	for (int i = 0; i < 3; i++) {
		if (strlen(names[i]) == arg->len && strncasecmp(names[i], arg->p, arg->len) == 0)
			return offered[i] ? i : -1;
	}
	return -1;
}

/* pop3_auth_list - AUTH without arguments: the mechanisms, one a line (as RFC 1734 clients expect). */
static void pop3_auth_list(struct pop3_session *s)
{
	char list[64];

	snprintf(list, sizeof(list), "%s", pop3_capa_sasl(s));
	pop3_reply(s, "+OK");
	for (char *save = NULL, *m = strtok_r(list, " ", &save); m; m = strtok_r(NULL, " ", &save))
		pop3_reply(s, "%s", m);
	pop3_reply(s, ".");
}

void pop3_auth_auth(struct pop3_session *s, const struct pop3_command *cmd)
{
	int mech = cmd->argc > 0 ? pop3_auth_mech(s, &cmd->argv[0]) : -1;

	if (cmd->argc == 0) {
		pop3_auth_list(s);
		return;
	}
	if (mech < 0) {
		pop3_error(s, "Unsupported authentication mechanism");
		return;
	}
	s->mech = (enum pop3_mech)mech;
	pop3_wipe_str(&s->sasl_data);
	if (s->mech == POP3_MECH_CRAM_MD5) {
		if (cmd->argc > 1)
			pop3_error(s, "CRAM-MD5 takes no initial response");
		else
			pop3_auth_challenge(s);
		return;
	}
	pop3_set_state(s, POP3_S_SASL);
	if (cmd->argc > 1)
		pop3_sasl_response(s, cmd->argv[1].p, cmd->argv[1].len);
	else
		pop3_reply(s, s->mech == POP3_MECH_LOGIN ? "+ VXNlcm5hbWU6" : "+ ");
}

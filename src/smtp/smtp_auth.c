/* smtp_auth - SMTP AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195). */
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/auth_mech.h"
#include "auth/auth_verify.h"
#include "metrics/metrics.h"
#include "smtp/smtp_internal.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SMTP_AUTH_MAX 1024 /* decoded octets of one response */

enum smtp_auth_mech {
	SMTP_AUTH_PLAIN,
	SMTP_AUTH_LOGIN,
	SMTP_AUTH_CRAM_MD5,
};

/* An exchange in progress; the session waits in SMTP_S_AUTH or SMTP_S_BUSY. */
struct smtp_auth {
	enum smtp_auth_mech mech;
	char *login;          /* LOGIN: the user name, once given */
	char challenge[256];  /* CRAM-MD5 */
	struct event *delay;  /* the pause before a 535 */
};

static const struct {
	const char *name;
	enum smtp_auth_mech mech;
	bool sends_password;
} smtp_auth_mechs[] = {
	{ "PLAIN", SMTP_AUTH_PLAIN, true },
	{ "LOGIN", SMTP_AUTH_LOGIN, true },
	{ "CRAM-MD5", SMTP_AUTH_CRAM_MD5, false },
};

void smtp_auth_free(struct smtp_auth **authp)
{
	struct smtp_auth *a = *authp;

	if (a == NULL)
		return;
	if (a->delay != NULL)
		event_free(a->delay);
	free(a->login);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
	*authp = NULL;
}

/* smtp_auth_end - the exchange is over: back to READY and on with the input. */
static void smtp_auth_end(struct smtp_session *s)
{
	smtp_auth_free(&s->auth);
	smtp_resume(s, SMTP_S_READY);
}

/* smtp_auth_fail_cb - the failure delay is over: answer 535. */
static void smtp_auth_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)fd;
	(void)what;
	if (!s->gone)
		smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
	smtp_auth_end(s);
}

/* smtp_auth_count - count a login of this session's service (metrics/metrics.h). */
static void smtp_auth_count(const struct smtp_session *s, enum metrics_login_result result)
{
	metrics_login(s->service == SMTP_SERVICE_MTA ? METRICS_SVC_SMTP : METRICS_SVC_SUBMISSION,
		      result);
}

/* smtp_auth_result - success now; failure after the address's penalty delay. */
static void smtp_auth_result(struct smtp_session *s, const char *login, int ok)
{
	struct auth *a = s->daemon->auth;
	char user[256];

	log_info("%08x smtp auth user=%s ip=%s method=%s %s", s->id,
		 log_escape(login, strlen(login), user, sizeof(user)), s->ip,
		 smtp_auth_mechs[s->auth->mech].name, ok ? "ok" : "failed");
	smtp_auth_count(s, ok ? METRICS_LOGIN_OK : METRICS_LOGIN_FAIL);
	if (ok) {
		auth_login_succeeded(a, s->ip);
		s->auth_login = xstrdup(login);
		if (!s->gone)
			smtp_reply(s, "235 2.7.0 Authentication successful");
		smtp_auth_end(s);
		return;
	}
	unsigned ms = auth_login_failed(a, s->ip);
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	s->auth->delay = evtimer_new(s->daemon->base, smtp_auth_fail_cb, s);
	evtimer_add(s->auth->delay, &tv);
}

/* smtp_auth_verified_cb - the worker pool answered for a password. */
static void smtp_auth_verified_cb(void *arg, int ok)
{
	struct smtp_session *s = arg;
	char *login = s->auth->login;

	s->auth->login = NULL;
	smtp_auth_result(s, login, ok);
	free(login);
}

/*
 * smtp_auth_refused - 454 without checking: the address is locked out
 * (auth.max_failures), or the accounts are not current (auth.store down).
 */
static bool smtp_auth_refused(struct smtp_session *s, const char *login)
{
	bool locked = auth_login_blocked(s->daemon->auth, s->ip);
	char user[256];

	if (!locked && accounts_sure(s->daemon->accounts, login))
		return false;
	log_info("%08x smtp auth user=%s ip=%s method=%s %s", s->id,
		 log_escape(login, strlen(login), user, sizeof(user)), s->ip,
		 smtp_auth_mechs[s->auth->mech].name, locked ? "locked-out" : "failed unavailable");
	smtp_auth_count(s, locked ? METRICS_LOGIN_LOCKED : METRICS_LOGIN_ERROR);
	smtp_reply(s, locked ? "454 4.7.0 Too many failed authentication attempts, try again later"
			     : "454 4.7.0 Temporary authentication failure, try again later");
	smtp_auth_end(s);
	return true;
}

/* smtp_auth_password - check login/password off the loop; the session waits. */
static void smtp_auth_password(struct smtp_session *s, const char *login, const char *password)
{
	const struct users_account *acct = accounts_find(s->daemon->accounts, login);

	if (smtp_auth_refused(s, login))
		return;
	free(s->auth->login);
	s->auth->login = xstrdup(login);
	smtp_set_state(s, SMTP_S_BUSY);
	auth_verify_password(s->daemon->auth, acct, login, password, smtp_auth_verified_cb, s);
}

/* smtp_auth_decode - base64 response into buf; -1 (after a 501) when malformed. */
static int smtp_auth_decode(struct smtp_session *s, const char *in, size_t len, char *buf,
			    size_t *out_len_r)
{
	if (auth_base64_decode(in, len, buf, SMTP_AUTH_MAX + 1, out_len_r) == 0)
		return 0;
	smtp_reply(s, "501 5.5.2 Cannot decode response");
	smtp_auth_end(s);
	return -1;
}

/* smtp_auth_plain - "authzid NUL authcid NUL passwd"; authzid must be empty or authcid. */
static void smtp_auth_plain(struct smtp_session *s, char *buf, size_t len)
{
	const char *authzid, *authcid, *passwd;

	if (auth_plain_split(buf, len, &authzid, &authcid, &passwd) < 0 ||
	    (authzid[0] != '\0' && strcasecmp(authzid, authcid) != 0)) {
		smtp_reply(s, "501 5.5.2 Malformed PLAIN response");
		smtp_auth_end(s);
		return;
	}
	smtp_auth_password(s, authcid, passwd);
}

/* smtp_auth_cram - "name digest" against the account's shared secret. */
static void smtp_auth_cram(struct smtp_session *s, char *buf, size_t len)
{
	const char *name, *digest;
	size_t digest_len;

	if (auth_cram_md5_split(buf, len, &name, &digest, &digest_len) < 0) {
		smtp_reply(s, "501 5.5.2 Malformed CRAM-MD5 response");
		smtp_auth_end(s);
		return;
	}
	const struct users_account *acct = accounts_find(s->daemon->accounts, name);
	bool ok = auth_cram_md5_check(s->auth->challenge, acct ? acct->secret : NULL, digest,
				      digest_len);
	if (smtp_auth_refused(s, name))
		return;
	smtp_set_state(s, SMTP_S_BUSY);
	smtp_auth_result(s, name, ok);
}

/* smtp_auth_step - one decoded client message for the mechanism in progress. */
static void smtp_auth_step(struct smtp_session *s, char *buf, size_t len)
{
	struct smtp_auth *a = s->auth;

	if (a->mech == SMTP_AUTH_PLAIN) {
		smtp_auth_plain(s, buf, len);
	} else if (a->mech == SMTP_AUTH_CRAM_MD5) {
		smtp_auth_cram(s, buf, len);
	} else if (a->login == NULL) {
		a->login = xstrndup(buf, len);
		smtp_reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
	} else {
		char *login = xstrdup(a->login);
		smtp_auth_password(s, login, buf);
		free(login);
	}
}

void smtp_auth_response(struct smtp_session *s, const char *line, size_t len)
{
	char buf[SMTP_AUTH_MAX + 1];
	size_t n;

	if (len == 1 && line[0] == '*') {
		smtp_reply(s, "501 5.7.0 Authentication cancelled");
		smtp_auth_end(s);
		return;
	}
	if (smtp_auth_decode(s, line, len, buf, &n) < 0)
		return;
	smtp_auth_step(s, buf, n);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* smtp_auth_challenge - the first 334 of a mechanism that needs one. */
static void smtp_auth_challenge(struct smtp_session *s)
{
	struct smtp_auth *a = s->auth;
	char b64[sizeof(a->challenge) * 2];
	uint64_t nonce;

	smtp_set_state(s, SMTP_S_AUTH);
	if (a->mech == SMTP_AUTH_PLAIN) {
		smtp_reply(s, "334 ");
		return;
	}
	if (a->mech == SMTP_AUTH_LOGIN) {
		smtp_reply(s, "334 VXNlcm5hbWU6"); /* "Username:" */
		return;
	}
	RAND_bytes((unsigned char *)&nonce, sizeof(nonce));
	snprintf(a->challenge, sizeof(a->challenge), "<%ld.%016llx@%s>", (long)getpid(),
		 (unsigned long long)nonce, s->daemon->cfg->hostname);
	auth_base64_encode(a->challenge, strlen(a->challenge), b64, sizeof(b64));
	smtp_reply(s, "334 %s", b64);
}

/* smtp_auth_mech_find - the mechanism named by the first len bytes of name. */
static int smtp_auth_mech_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(smtp_auth_mechs) / sizeof(smtp_auth_mechs[0]); i++) {
		if (strlen(smtp_auth_mechs[i].name) == len &&
		    strncasecmp(smtp_auth_mechs[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}

void smtp_cmd_auth(struct smtp_session *s, const char *args, size_t len)
{
	const char *sp = memchr(args, ' ', len);
	size_t name_len = sp != NULL ? (size_t)(sp - args) : len;
	int i = smtp_auth_mech_find(args, name_len);

	if (s->auth_login != NULL) {
		smtp_reply(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (i < 0) {
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
		return;
	}
	if (smtp_auth_mechs[i].sends_password && !smtp_plaintext_ok(s)) {
		smtp_reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return;
	}
	s->auth = xcalloc(1, sizeof(*s->auth));
	s->auth->mech = smtp_auth_mechs[i].mech;
	if (sp == NULL || s->auth->mech == SMTP_AUTH_CRAM_MD5) {
		smtp_auth_challenge(s);
		return;
	}
	size_t ir_len = len - name_len - 1; /* initial response (RFC 4954 4): "=" is empty */
	smtp_set_state(s, SMTP_S_AUTH);
	smtp_auth_response(s, sp + 1, ir_len == 1 && sp[1] == '=' ? 0 : ir_len);
}

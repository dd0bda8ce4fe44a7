/*
 * pop3_hook - what runs between a verified POP3 login and its +OK.
 *
 * THIS IS THE POP-BEFORE-SMTP HOOK. SPEC.md: "a grant is in the store
 * before the login's +OK is sent". Every successful login (USER/PASS,
 * APOP, AUTH PLAIN/LOGIN/CRAM-MD5) calls pop3_login_succeeded() once the
 * credentials are verified and the maildrop is locked, and sends +OK only
 * when the hook calls back. The hook may finish later (e.g. after an
 * asynchronous grant-store write): the session waits, and survives its
 * client disconnecting meanwhile.
 */
#ifndef POSTERN_POP3_HOOK_H
#define POSTERN_POP3_HOOK_H

#include <stdint.h>

struct daemon;

/* Who logged in; the strings live only for the call (copy them to keep them). */
struct pop3_login_info {
	uint32_t session_id; /* for log lines: "%08x" */
	const char *login;   /* the account's address, lower case */
	const char *ip;      /* the client's address, as text */
	const char *method;  /* "user", "apop", "plain", "login", "cram-md5" */
};

/*
 * The hook's answer: err 0 lets the login proceed to +OK; any other value
 * (an errno) refuses it with "-ERR [SYS/TEMP]" and unlocks the maildrop.
 */
typedef void pop3_login_hook_cb(void *arg, int err);

/*
 * pop3_login_succeeded - the post-login hook. Must call cb(arg, err)
 * exactly once, on the loop thread, now or later.
 */
void pop3_login_succeeded(struct daemon *d, const struct pop3_login_info *info,
			  pop3_login_hook_cb *cb, void *arg);

#endif

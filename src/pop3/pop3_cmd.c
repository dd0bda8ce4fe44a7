/* pop3_cmd - the POP3 command table, CAPA and the TRANSACTION commands (RFC 1939 5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_verify.h"
#include "pop3/pop3_internal.h"
#include "util/log.h"

#define POP3_S_AUTHZ (POP3_S_AUTH | POP3_S_USER)
#define POP3_S_ANY (POP3_S_AUTHZ | POP3_S_TRANS)

struct pop3_cmd_def {
	enum pop3_verb verb;
	void (*handler)(struct pop3_session *s, const struct pop3_command *cmd);
	unsigned states; /* where the verb is allowed; elsewhere -ERR */
};

const char *pop3_capa_sasl(const struct pop3_session *s)
{
	bool cram = s->timestamp[0] != '\0'; /* some account has a secret */

	if (s->plaintext_ok)
		return cram ? "PLAIN LOGIN CRAM-MD5" : "PLAIN LOGIN";
	return cram ? "CRAM-MD5" : "";
}

/*
 * pop3_cmd_capa - RFC 2449 section 5; login capabilities only before
 * login. EXPIRE NEVER: no message is ever deleted but by the client (no
 * LOGIN-DELAY: none is enforced).
 */
static void pop3_cmd_capa(struct pop3_session *s, const struct pop3_command *cmd)
{
	const char *sasl = pop3_capa_sasl(s);

	(void)cmd;
	pop3_reply(s, "+OK Capability list follows");
	pop3_reply(s, "TOP");
	pop3_reply(s, "UIDL");
	pop3_reply(s, "RESP-CODES");
	pop3_reply(s, "AUTH-RESP-CODE");
	pop3_reply(s, "PIPELINING");
	pop3_reply(s, "EXPIRE NEVER");
	if (s->state != POP3_S_TRANS && !s->tls && s->daemon->tls != NULL)
		pop3_reply(s, "STLS");
	if (s->state != POP3_S_TRANS && s->plaintext_ok)
		pop3_reply(s, "USER");
	if (s->state != POP3_S_TRANS && sasl[0] != '\0')
		pop3_reply(s, "SASL %s", sasl);
	pop3_reply(s, "IMPLEMENTATION postern");
	pop3_reply(s, ".");
}

/* pop3_cmd_stls - RFC 2595 4: TLS from here on; pipelined plaintext is dropped. */
static void pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	if (s->tls) {
		pop3_reply(s, "-ERR Command not permitted when TLS active");
	} else if (s->daemon->tls == NULL) {
		pop3_reply(s, "-ERR TLS not available");
	} else {
		pop3_reply(s, "+OK Begin TLS negotiation");
		if (pop3_start_tls(s) < 0)
			pop3_close(s);
	}
}

/* pop3_cmd_quit - RFC 1939 4 and 6: in TRANSACTION, the UPDATE state first. */
static void pop3_cmd_quit(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	if (s->state == POP3_S_TRANS) {
		pop3_update(s);
		return;
	}
	pop3_reply(s, "+OK postern POP3 server signing off");
	pop3_close(s);
}

/* pop3_maildrop_totals - messages and octets not marked deleted. */
static void pop3_maildrop_totals(const struct pop3_maildrop *md, size_t *n_r, size_t *size_r)
{
	size_t n = 0, size = 0;

	for (size_t i = 0; i < md->n; i++) {
		if (!md->msgs[i].deleted) {
			n++;
			size += md->msgs[i].size;
		}
	}
	*n_r = n;
	*size_r = size;
}

/* pop3_cmd_stat - RFC 1939 5: messages and octets, deleted ones not counted. */
static void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t n, size;

	(void)cmd;
	pop3_maildrop_totals(s->md, &n, &size);
	pop3_reply(s, "+OK %zu %zu", n, size);
}

/* pop3_msg_arg - the message an argument names (0-based), or -1 after an -ERR. */
static long pop3_msg_arg(struct pop3_session *s, const struct pop3_arg *arg)
{
	unsigned long n;

	if (pop3_number_parse(arg, s->md->n, &n) < 0 || n == 0) {
		pop3_error(s, "There is no message %.*s", (int)arg->len, arg->p);
		return -1;
	}
	if (s->md->msgs[n - 1].deleted) {
		pop3_reply(s, "-ERR Message %lu already deleted", n);
		return -1;
	}
	return (long)(n - 1);
}

/* pop3_cmd_list - RFC 1939 5: one scan listing, or all of them as a multi-line response. */
static void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t n, size;
	long i;

	if (cmd->argc == 0) {
		pop3_maildrop_totals(s->md, &n, &size);
		pop3_reply(s, "+OK %zu messages (%zu octets)", n, size);
		pop3_stream_listing(s, false);
	} else if ((i = pop3_msg_arg(s, &cmd->argv[0])) >= 0) {
		pop3_reply(s, "+OK %ld %zu", i + 1, s->md->msgs[i].size);
	}
}

/* pop3_cmd_uidl - RFC 1939 7: one unique-id listing, or all of them. */
static void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd)
{
	long i;

	if (cmd->argc == 0) {
		pop3_reply(s, "+OK Unique-ID listing follows");
		pop3_stream_listing(s, true);
	} else if ((i = pop3_msg_arg(s, &cmd->argv[0])) >= 0) {
		pop3_reply(s, "+OK %ld %s", i + 1, s->md->msgs[i].uid);
	}
}

/* pop3_cmd_retr - RFC 1939 5: the whole message, streamed; marks it seen for UPDATE. */
static void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd)
{
	long i = pop3_msg_arg(s, &cmd->argv[0]);

	if (i >= 0 && pop3_stream_message(s, (size_t)i, false, 0) == 0) {
		s->md->msgs[i].retrieved = true;
		s->n_retr++;
	}
}

/* pop3_cmd_top - RFC 1939 7: the header, the blank line and n body lines. */
static void pop3_cmd_top(struct pop3_session *s, const struct pop3_command *cmd)
{
	unsigned long lines;
	long i;

	if (pop3_number_parse(&cmd->argv[1], (unsigned long)-1, &lines) < 0) {
		pop3_error(s, "Invalid number of lines");
		return;
	}
	if ((i = pop3_msg_arg(s, &cmd->argv[0])) >= 0)
		pop3_stream_message(s, (size_t)i, true, lines);
}

/* pop3_cmd_dele - RFC 1939 5: mark for deletion; UPDATE removes it at QUIT. */
static void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd)
{
	long i = pop3_msg_arg(s, &cmd->argv[0]);

	if (i < 0)
		return;
	s->md->msgs[i].deleted = true;
	s->n_dele++;
	pop3_reply(s, "+OK Message %ld deleted", i + 1);
}

/* pop3_cmd_noop - RFC 1939 5: +OK. */
static void pop3_cmd_noop(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	pop3_reply(s, "+OK");
}

/* pop3_cmd_rset - RFC 1939 5: unmark every message marked as deleted. */
static void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t n, size;

	(void)cmd;
	for (size_t i = 0; i < s->md->n; i++)
		s->md->msgs[i].deleted = false;
	s->n_dele = 0;
	pop3_maildrop_totals(s->md, &n, &size);
	pop3_reply(s, "+OK maildrop has %zu messages (%zu octets)", n, size);
}

static const struct pop3_cmd_def pop3_cmd_table[] = {
	{ POP3_VERB_USER, pop3_auth_user, POP3_S_AUTHZ },
	{ POP3_VERB_PASS, pop3_auth_pass, POP3_S_USER },
	{ POP3_VERB_APOP, pop3_auth_apop, POP3_S_AUTHZ },
	{ POP3_VERB_AUTH, pop3_auth_auth, POP3_S_AUTHZ },
	{ POP3_VERB_STLS, pop3_cmd_stls, POP3_S_AUTHZ },
	{ POP3_VERB_CAPA, pop3_cmd_capa, POP3_S_ANY },
	{ POP3_VERB_QUIT, pop3_cmd_quit, POP3_S_ANY },
	{ POP3_VERB_STAT, pop3_cmd_stat, POP3_S_TRANS },
	{ POP3_VERB_LIST, pop3_cmd_list, POP3_S_TRANS },
	{ POP3_VERB_RETR, pop3_cmd_retr, POP3_S_TRANS },
	{ POP3_VERB_DELE, pop3_cmd_dele, POP3_S_TRANS },
	{ POP3_VERB_NOOP, pop3_cmd_noop, POP3_S_TRANS },
	{ POP3_VERB_RSET, pop3_cmd_rset, POP3_S_TRANS },
	{ POP3_VERB_TOP, pop3_cmd_top, POP3_S_TRANS },
	{ POP3_VERB_UIDL, pop3_cmd_uidl, POP3_S_TRANS },
};

/* pop3_cmd_refusal - the -ERR for a verb sent in the wrong state. */
static const char *pop3_cmd_refusal(const struct pop3_session *s, enum pop3_verb verb)
{
	if (s->state == POP3_S_TRANS)
		return "Already logged in";
	if (verb == POP3_VERB_PASS)
		return "No USER given";
	return "Not logged in";
}

/* pop3_dispatch - parse, look the verb up, check the state (here only), run the handler. */
void pop3_dispatch(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_command cmd;
	const char *error;

	if (pop3_command_parse(line, len, &pop3_default_limits, &cmd, &error) < 0) {
		pop3_error(s, "%s", error);
		return;
	}
	for (size_t i = 0; i < sizeof(pop3_cmd_table) / sizeof(pop3_cmd_table[0]); i++) {
		const struct pop3_cmd_def *def = &pop3_cmd_table[i];
		if (def->verb != cmd.verb)
			continue;
		if (!(def->states & s->state))
			pop3_error(s, "%s", pop3_cmd_refusal(s, cmd.verb));
		else
			def->handler(s, &cmd);
		return;
	}
	pop3_error(s, "Unknown command");
}

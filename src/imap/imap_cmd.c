/*
 * imap_cmd - the command table and dispatcher, and the commands of any
 * state: CAPABILITY, NOOP, LOGOUT, STARTTLS, ID, ENABLE, NAMESPACE.
 *
 * Only the dispatcher checks the state (RFC 9051 6: BAD for a command not
 * valid in this state). Commands run one after the other, in the order
 * they came: a pipelined command waits while an earlier one is busy.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "util/log.h"

#define IMAP_ANY (IMAP_S_NOAUTH | IMAP_S_AUTH | IMAP_S_SELECTED)
#define IMAP_LOGGED_IN (IMAP_S_AUTH | IMAP_S_SELECTED)

enum imap_cmd_flag {
	IMAP_CMD_UID = 1 << 0, /* may follow "UID" */
};

struct imap_cmd_def {
	const char *name;
	imap_handler_fn *fn;
	uint8_t states; /* enum imap_state bits */
	uint8_t flags;  /* enum imap_cmd_flag bits */
};

static imap_handler_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout, imap_cmd_starttls,
	imap_cmd_id, imap_cmd_enable, imap_cmd_namespace, imap_cmd_compress;

static const struct imap_cmd_def imap_cmds[] = {
	{ "CAPABILITY", imap_cmd_capability, IMAP_ANY, 0 },
	{ "NOOP", imap_cmd_noop, IMAP_ANY, 0 },
	{ "LOGOUT", imap_cmd_logout, IMAP_ANY, 0 },
	{ "ID", imap_cmd_id, IMAP_ANY, 0 },
	{ "STARTTLS", imap_cmd_starttls, IMAP_S_NOAUTH, 0 },
	{ "LOGIN", imap_auth_login, IMAP_S_NOAUTH, 0 },
	{ "AUTHENTICATE", imap_auth_authenticate, IMAP_S_NOAUTH, 0 },
	{ "ENABLE", imap_cmd_enable, IMAP_S_AUTH, 0 }, /* RFC 5161 3.1: not once selected */
	{ "NAMESPACE", imap_cmd_namespace, IMAP_LOGGED_IN, 0 },
	{ "COMPRESS", imap_cmd_compress, IMAP_LOGGED_IN, 0 },
	{ "SELECT", imap_select_select, IMAP_LOGGED_IN, 0 },
	{ "EXAMINE", imap_select_select, IMAP_LOGGED_IN, 0 },
	{ "CREATE", imap_folder_create, IMAP_LOGGED_IN, 0 },
	{ "DELETE", imap_folder_delete, IMAP_LOGGED_IN, 0 },
	{ "RENAME", imap_folder_rename, IMAP_LOGGED_IN, 0 },
	{ "SUBSCRIBE", imap_folder_subscribe, IMAP_LOGGED_IN, 0 },
	{ "UNSUBSCRIBE", imap_folder_subscribe, IMAP_LOGGED_IN, 0 },
	{ "LIST", imap_folder_list, IMAP_LOGGED_IN, 0 },
	{ "LSUB", imap_folder_list, IMAP_LOGGED_IN, 0 },
	{ "STATUS", imap_folder_status, IMAP_LOGGED_IN, 0 },
	{ "APPEND", imap_append_cmd, IMAP_LOGGED_IN, 0 },
	{ "IDLE", imap_idle_cmd, IMAP_LOGGED_IN, 0 },
	{ "CHECK", imap_select_check, IMAP_S_SELECTED, 0 },
	{ "CLOSE", imap_select_close, IMAP_S_SELECTED, 0 },
	{ "UNSELECT", imap_select_close, IMAP_S_SELECTED, 0 },
	{ "EXPUNGE", imap_select_expunge, IMAP_S_SELECTED, IMAP_CMD_UID },
	{ "SEARCH", imap_search_cmd, IMAP_S_SELECTED, IMAP_CMD_UID },
	{ "FETCH", imap_fetch_cmd, IMAP_S_SELECTED, IMAP_CMD_UID },
	{ "STORE", imap_store_cmd, IMAP_S_SELECTED, IMAP_CMD_UID },
	{ "COPY", imap_copy_cmd, IMAP_S_SELECTED, IMAP_CMD_UID },
	{ "MOVE", imap_copy_cmd, IMAP_S_SELECTED, IMAP_CMD_UID },
};

/* imap_cmd_find - the table entry of name (upper case), or NULL. */
static const struct imap_cmd_def *imap_cmd_find(const char *name)
{
	for (size_t i = 0; i < sizeof(imap_cmds) / sizeof(imap_cmds[0]); i++) {
		if (strcmp(imap_cmds[i].name, name) == 0)
			return &imap_cmds[i];
	}
	return NULL;
}

/* imap_cmd_uid - "UID NAME args": the entry of NAME, with the call moved past it; NULL if none. */
static const struct imap_cmd_def *imap_cmd_uid(struct imap_call *c)
{
	char name[16];
	const struct imap_cmd_def *def;

	if (c->count == 0 || c->args[0].type != IMAP_ARG_ATOM || c->args[0].u.str.len >= sizeof(name))
		return NULL;
	for (size_t i = 0; i <= c->args[0].u.str.len; i++)
		name[i] = (char)toupper((unsigned char)c->args[0].u.str.data[i]);
	def = imap_cmd_find(name);
	if (def == NULL || !(def->flags & IMAP_CMD_UID))
		return NULL;
	c->name = def->name;
	c->args++;
	c->count--;
	c->uid = true;
	return def;
}

void imap_dispatch(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_call c = { .name = cmd->name, .args = cmd->args, .count = cmd->count };
	const struct imap_cmd_def *def = strcmp(cmd->name, "UID") == 0 ? imap_cmd_uid(&c)
								       : imap_cmd_find(cmd->name);

	if (def == NULL) {
		imap_bad(s, "Unknown command");
		return;
	}
	if (!(def->states & s->state)) {
		imap_bad(s, "%s is not valid %s", def->name,
			 s->state == IMAP_S_NOAUTH ? "before login"
			 : s->state == IMAP_S_AUTH ? "without a selected mailbox" : "after login");
		return;
	}
	s->errors = 0; /* only errors in a row count toward BYE */
	def->fn(s, &c);
}

/* imap_cmd_add - append " word" to buf (bounded). */
static void imap_cmd_add(char *buf, size_t size, const char *word)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? " " : "", word);
}

const char *imap_capabilities(const struct imap_session *s, char *buf, size_t size)
{
	buf[0] = '\0';
	imap_cmd_add(buf, size, "IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL+");
	if (s->state == IMAP_S_NOAUTH) {
		if (!s->tls && s->daemon->tls != NULL)
			imap_cmd_add(buf, size, "STARTTLS");
		imap_cmd_add(buf, size, s->plaintext_ok ? "AUTH=PLAIN AUTH=LOGIN" : "LOGINDISABLED");
		return buf;
	}
	imap_cmd_add(buf, size, "NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN LIST-EXTENDED "
				"LIST-STATUS SPECIAL-USE ESEARCH CONDSTORE QRESYNC");
	if (!s->compressed)
		imap_cmd_add(buf, size, "COMPRESS=DEFLATE");
	return buf;
}

/* imap_cmd_capability - CAPABILITY. */
static void imap_cmd_capability(struct imap_session *s, const struct imap_call *c)
{
	char caps[512];

	if (c->count != 0) {
		imap_bad(s, "CAPABILITY takes no arguments");
		return;
	}
	imap_reply(s, "* CAPABILITY %s", imap_capabilities(s, caps, sizeof(caps)));
	imap_tagged(s, "OK Capability completed");
}

/* imap_cmd_noop_done - the selected mailbox's news are out: complete NOOP. */
static void imap_cmd_noop_done(struct imap_session *s, int rc)
{
	(void)rc;
	imap_tagged(s, "OK NOOP completed");
	imap_resume(s);
}

/* imap_cmd_noop - NOOP: news of the selected mailbox (RFC 9051 6.1.2). */
static void imap_cmd_noop(struct imap_session *s, const struct imap_call *c)
{
	(void)c;
	if (s->mbox == NULL) {
		imap_tagged(s, "OK NOOP completed");
		return;
	}
	imap_busy(s);
	imap_mailbox_refresh(s, imap_cmd_noop_done);
}

/* imap_cmd_logout - LOGOUT. */
static void imap_cmd_logout(struct imap_session *s, const struct imap_call *c)
{
	(void)c;
	imap_reply(s, "* BYE Logging out");
	imap_tagged(s, "OK Logout completed");
	imap_close(s);
}

/* imap_cmd_starttls - STARTTLS (RFC 9051 6.2.1). */
static void imap_cmd_starttls(struct imap_session *s, const struct imap_call *c)
{
	(void)c;
	if (s->tls) {
		imap_bad(s, "TLS is already active");
	} else if (s->daemon->tls == NULL) {
		imap_tagged(s, "NO TLS is not available");
	} else {
		imap_tagged(s, "OK Begin TLS negotiation now");
		if (imap_start_tls(s) < 0) {
			log_err("%08x imap starttls failed ip=%s", s->id, s->ip);
			imap_close(s);
		}
	}
}

/* imap_cmd_id - ID (RFC 2971): who we are; the client's list is not kept. */
static void imap_cmd_id(struct imap_session *s, const struct imap_call *c)
{
	if (c->count != 1 || (c->args[0].type != IMAP_ARG_NIL && c->args[0].type != IMAP_ARG_LIST)) {
		imap_bad(s, "ID takes one parenthesized list or NIL");
		return;
	}
	imap_reply(s, "* ID (\"name\" \"postern\")");
	imap_tagged(s, "OK ID completed");
}

/* imap_cmd_enable_one - the bit of one ENABLE argument; 0 when not offered. */
static uint8_t imap_cmd_enable_one(const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM)
		return 0;
	if (strcasecmp(a->u.str.data, "IMAP4rev2") == 0)
		return IMAP_EN_REV2;
	if (strcasecmp(a->u.str.data, "CONDSTORE") == 0)
		return IMAP_EN_CONDSTORE;
	if (strcasecmp(a->u.str.data, "QRESYNC") == 0) /* RFC 7162 3.2.3: implies CONDSTORE */
		return IMAP_EN_QRESYNC | IMAP_EN_CONDSTORE;
	return 0;
}

/* imap_cmd_enable - ENABLE (RFC 5161): "* ENABLED" lists what was newly switched on. */
static void imap_cmd_enable(struct imap_session *s, const struct imap_call *c)
{
	char list[128] = "";

	if (c->count == 0) {
		imap_bad(s, "ENABLE needs at least one capability");
		return;
	}
	for (size_t i = 0; i < c->count; i++) {
		uint8_t bit = imap_cmd_enable_one(&c->args[i]);

		if (bit != 0 && (s->enabled & bit) != bit) {
			s->enabled |= bit;
			imap_cmd_add(list, sizeof(list), c->args[i].u.str.data);
		}
	}
	imap_reply(s, "* ENABLED%s%s", list[0] ? " " : "", list);
	imap_tagged(s, "OK ENABLE completed");
}

/* imap_cmd_namespace - NAMESPACE (RFC 2342): one personal namespace, "/" separated. */
static void imap_cmd_namespace(struct imap_session *s, const struct imap_call *c)
{
	(void)c;
	imap_reply(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_tagged(s, "OK NAMESPACE completed");
}

/* imap_cmd_compress - COMPRESS DEFLATE (RFC 4978 3). */
static void imap_cmd_compress(struct imap_session *s, const struct imap_call *c)
{
	if (c->count != 1 || c->args[0].type != IMAP_ARG_ATOM) {
		imap_bad(s, "COMPRESS needs a mechanism");
	} else if (strcasecmp(c->args[0].u.str.data, "DEFLATE") != 0) {
		imap_tagged(s, "NO Unknown compression mechanism");
	} else if (s->compressed) {
		imap_tagged(s, "NO [COMPRESSIONACTIVE] DEFLATE is already active");
	} else {
		imap_tagged(s, "OK DEFLATE active");
		if (imap_start_compress(s) < 0) {
			log_err("%08x imap cannot start DEFLATE ip=%s", s->id, s->ip);
			imap_close(s);
		}
	}
}

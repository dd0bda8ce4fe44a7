/*
 * smtp_parse - command lines, envelope paths and ESMTP parameters
 * (RFC 5321 4.1.1, 4.1.2; RFC 1870, 6152, 6531, 4954). Pure functions over
 * a borrowed buffer: strict on syntax, practical where Postfix is.
 */
#include "smtp/smtp_parse.h"

#include <arpa/inet.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "util/hex.h"

#define SMTP_ERR_CMD_NUL "NUL byte in command"
#define SMTP_ERR_CMD_8BIT "8-bit byte in command verb"
#define SMTP_ERR_CMD_CTRL "control character in command verb"
#define SMTP_ERR_PARAM "5.5.4 Syntax error in parameters"
#define SMTP_ERR_UNSUPPORTED "5.5.4 Unsupported parameter"
#define SMTP_ERR_DUPLICATE "5.5.4 Duplicate parameter"
#define SMTP_ERR_SIZE "5.5.4 Invalid SIZE value"
#define SMTP_ERR_BODY "5.5.4 Invalid BODY value"
#define SMTP_ERR_BINARYMIME "5.5.4 BODY=BINARYMIME is not supported"
#define SMTP_ERR_SMTPUTF8 "5.5.4 SMTPUTF8 takes no value"
#define SMTP_ERR_AUTH "5.5.4 Invalid AUTH value"
#define SMTP_ERR_TOO_LONG "5.5.4 Path too long (RFC 5321 4.5.3.1)"
#define SMTP_ERR_MAIL_SYNTAX "5.5.4 Syntax: MAIL FROM:<address>"
#define SMTP_ERR_RCPT_SYNTAX "5.5.4 Syntax: RCPT TO:<address>"
#define SMTP_ERR_MAIL_ADDR "5.1.7 Bad sender address syntax"
#define SMTP_ERR_RCPT_ADDR "5.1.3 Bad recipient address syntax"

static const char *const smtp_verb_names[SMTP_VERB_COUNT] = {
	[SMTP_VERB_UNKNOWN] = "UNKNOWN", [SMTP_VERB_HELO] = "HELO",
	[SMTP_VERB_EHLO] = "EHLO",	 [SMTP_VERB_MAIL] = "MAIL",
	[SMTP_VERB_RCPT] = "RCPT",	 [SMTP_VERB_DATA] = "DATA",
	[SMTP_VERB_RSET] = "RSET",	 [SMTP_VERB_NOOP] = "NOOP",
	[SMTP_VERB_QUIT] = "QUIT",	 [SMTP_VERB_VRFY] = "VRFY",
	[SMTP_VERB_EXPN] = "EXPN",	 [SMTP_VERB_HELP] = "HELP",
	[SMTP_VERB_STARTTLS] = "STARTTLS", [SMTP_VERB_AUTH] = "AUTH",
};

/* smtp_is_alnum - ASCII letter or digit, independent of the locale. */
static bool smtp_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* smtp_is_atext - RFC 5322 3.2.3 atext, ASCII part. */
static bool smtp_is_atext(unsigned char c)
{
	return smtp_is_alnum(c) ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* smtp_lower - ASCII lower case; other bytes unchanged. */
static char smtp_lower(unsigned char c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

/* smtp_span_is - whether s[0..n) equals word, ignoring ASCII case. */
static bool smtp_span_is(const unsigned char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp((const char *)s, word, n) == 0;
}

/*
 * smtp_utf8_seq_len - length of the well-formed UTF-8 sequence at p (RFC
 * 3629: no overlongs, surrogates or C1 controls), or 0 when there is none.
 */
static size_t smtp_utf8_seq_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xc2 || c == 0xf0)
		lo = c == 0xc2 ? 0xa0 : 0x90;
	else if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed || c == 0xf4)
		hi = c == 0xed ? 0x9f : 0x8f;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

/* smtp_verb_lookup - the verb named by s[0..n), case-insensitive. */
static enum smtp_verb smtp_verb_lookup(const char *s, size_t n)
{
	int v;

	for (v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++) {
		if (smtp_span_is((const unsigned char *)s, n, smtp_verb_names[v]))
			return (enum smtp_verb)v;
	}
	return SMTP_VERB_UNKNOWN;
}

/* smtp_verb_check - reject 8-bit and control bytes in the verb s[0..n). */
static int smtp_verb_check(const char *s, size_t n, const char **error_r)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80) {
			*error_r = SMTP_ERR_CMD_8BIT;
			return -1;
		}
		if (c < 0x20 || c == 0x7f) {
			*error_r = SMTP_ERR_CMD_CTRL;
			return -1;
		}
	}
	return 0;
}

/* smtp_command_parse - split a command line into verb and arguments. */
int smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd_r,
		       const char **error_r)
{
	const char *sp;
	size_t vlen;

	cmd_r->verb = SMTP_VERB_UNKNOWN;
	cmd_r->args = "";
	cmd_r->args_len = 0;
	if (len == 0)
		return 0;
	if (memchr(line, '\0', len) != NULL) {
		*error_r = SMTP_ERR_CMD_NUL;
		return -1;
	}
	sp = memchr(line, ' ', len);
	vlen = sp != NULL ? (size_t)(sp - line) : len;
	if (smtp_verb_check(line, vlen, error_r) < 0)
		return -1;
	cmd_r->verb = smtp_verb_lookup(line, vlen);
	if (sp == NULL)
		return 0;
	cmd_r->args = sp + 1;
	cmd_r->args_len = len - vlen - 1;
	while (cmd_r->args_len > 0 && (cmd_r->args[cmd_r->args_len - 1] == ' ' ||
					cmd_r->args[cmd_r->args_len - 1] == '\t'))
		cmd_r->args_len--;
	return 0;
}

/* smtp_verb_name - "MAIL" for SMTP_VERB_MAIL, ... */
const char *smtp_verb_name(enum smtp_verb verb)
{
	if ((int)verb <= SMTP_VERB_UNKNOWN || verb >= SMTP_VERB_COUNT)
		return smtp_verb_names[SMTP_VERB_UNKNOWN];
	return smtp_verb_names[verb];
}

/* smtp_path_has_utf8 - whether the mailbox has bytes >= 0x80. */
bool smtp_path_has_utf8(const struct smtp_path *path)
{
	const unsigned char *s;

	for (s = (const unsigned char *)path->local; *s != '\0'; s++) {
		if (*s >= 0x80)
			return true;
	}
	for (s = (const unsigned char *)path->domain; *s != '\0'; s++) {
		if (*s >= 0x80)
			return true;
	}
	return false;
}

/* ---- envelope paths ---- */

/* The state of one smtp_path_parse() call. */
struct smtp_path_ctx {
	const unsigned char *p;
	const unsigned char *end;
	enum smtp_path_kind kind;
	struct smtp_path *path;
	int code;
	const char *error;
};

/* smtp_path_fail - record the reply code and reason; returns -1. */
static int smtp_path_fail(struct smtp_path_ctx *ctx, int code, const char *error)
{
	ctx->code = code;
	ctx->error = error;
	return -1;
}

/* smtp_path_bad_addr - the address syntax error of this command. */
static int smtp_path_bad_addr(struct smtp_path_ctx *ctx)
{
	return smtp_path_fail(ctx, 501, ctx->kind == SMTP_PATH_MAIL ?
						SMTP_ERR_MAIL_ADDR :
						SMTP_ERR_RCPT_ADDR);
}

/* smtp_path_peek - the next byte, or -1 at the end. */
static int smtp_path_peek(const struct smtp_path_ctx *ctx)
{
	return ctx->p < ctx->end ? *ctx->p : -1;
}

/* smtp_path_accept - skip c when it is the next byte. */
static bool smtp_path_accept(struct smtp_path_ctx *ctx, unsigned char c)
{
	if (ctx->p >= ctx->end || *ctx->p != c)
		return false;
	ctx->p++;
	return true;
}

/*
 * smtp_dot_string_valid - RFC 5321 4.1.2 Dot-string: atext (and UTF-8,
 * RFC 6531) in atoms joined by single dots.
 */
static bool smtp_dot_string_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	while (i < n) {
		if (s[i] >= 0x80) {
			if ((k = smtp_utf8_seq_len(s + i, s + n)) == 0)
				return false;
			i += k;
			continue;
		}
		/* s[i + 1] exists: the last byte is not a dot */
		if (s[i] == '.' ? s[i + 1] == '.' : !smtp_is_atext(s[i]))
			return false;
		i++;
	}
	return true;
}

/* smtp_path_qcontent - one QcontentSMTP at ctx->p; its raw length or 0. */
static size_t smtp_path_qcontent(const struct smtp_path_ctx *ctx)
{
	const unsigned char *p = ctx->p;

	if (*p == '\\')
		return ctx->end - p >= 2 && p[1] >= 32 && p[1] <= 126 ? 2 : 0;
	if (*p >= 0x80)
		return smtp_utf8_seq_len(p, ctx->end);
	return *p >= 32 && *p <= 126 ? 1 : 0;
}

/* smtp_path_store_quoted - keep a quoted local part, unquoted when harmless. */
static void smtp_path_store_quoted(struct smtp_path_ctx *ctx,
				   const unsigned char *s, size_t n, bool escaped)
{
	/* "john.doe" is john.doe (RFC 5321 4.1.2); anything else stays quoted */
	if (!escaped && smtp_dot_string_valid(s + 1, n - 2)) {
		s++;
		n -= 2;
	}
	memcpy(ctx->path->local, s, n);
	ctx->path->local[n] = '\0';
}

/* smtp_path_quoted - a Quoted-string local part (RFC 5321 4.1.2). */
static int smtp_path_quoted(struct smtp_path_ctx *ctx)
{
	const unsigned char *start = ctx->p++;
	size_t octets = 0, k;
	bool escaped = false;

	while (ctx->p < ctx->end && *ctx->p != '"') {
		if ((k = smtp_path_qcontent(ctx)) == 0)
			return smtp_path_bad_addr(ctx);
		escaped |= *ctx->p == '\\';
		octets += *ctx->p == '\\' ? 1 : k;
		ctx->p += k;
	}
	if (!smtp_path_accept(ctx, '"') || octets == 0)
		return smtp_path_bad_addr(ctx);
	if (octets > SMTP_LOCAL_MAX)
		return smtp_path_fail(ctx, 501, SMTP_ERR_TOO_LONG);
	smtp_path_store_quoted(ctx, start, ctx->p - start, escaped);
	return 0;
}

/* smtp_path_local - the Local-part: a Dot-string or a Quoted-string. */
static int smtp_path_local(struct smtp_path_ctx *ctx)
{
	const unsigned char *start = ctx->p;
	size_t n;

	if (smtp_path_peek(ctx) == '"')
		return smtp_path_quoted(ctx);
	while (ctx->p < ctx->end &&
	       (smtp_is_atext(*ctx->p) || *ctx->p == '.' || *ctx->p >= 0x80))
		ctx->p++;
	n = ctx->p - start;
	if (!smtp_dot_string_valid(start, n))
		return smtp_path_bad_addr(ctx);
	if (n > SMTP_LOCAL_MAX)
		return smtp_path_fail(ctx, 501, SMTP_ERR_TOO_LONG);
	memcpy(ctx->path->local, start, n);
	ctx->path->local[n] = '\0';
	return 0;
}

/* smtp_label_valid - one sub-domain: Let-dig [Ldh-str], UTF-8 allowed. */
static bool smtp_label_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k;
	bool ascii = true;

	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	while (i < n) {
		if (s[i] >= 0x80) {
			if ((k = smtp_utf8_seq_len(s + i, s + n)) == 0)
				return false;
			ascii = false;
			i += k;
		} else if (smtp_is_alnum(s[i]) || s[i] == '-') {
			i++;
		} else {
			return false;
		}
	}
	/* RFC 1035 2.3.4; a U-label's limit applies to its A-label form */
	return !ascii || n <= 63;
}

/* smtp_domain_name_valid - dot-separated sub-domains, no empty label. */
static bool smtp_domain_name_valid(const unsigned char *s, size_t n)
{
	const unsigned char *e = s + n, *dot;

	for (;;) {
		dot = memchr(s, '.', e - s);
		if (!smtp_label_valid(s, (dot != NULL ? dot : e) - s))
			return false;
		if (dot == NULL)
			return true;
		s = dot + 1;
	}
}

/* smtp_path_copy_lower - store s[0..n) lower case in out. */
static void smtp_path_copy_lower(char *out, const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = smtp_lower(s[i]);
	out[n] = '\0';
}

/* smtp_literal_valid - "1.2.3.4" or "IPv6:..." (RFC 5321 4.1.3). */
static bool smtp_literal_valid(const unsigned char *s, size_t n)
{
	unsigned char addr[16];
	char buf[64];

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (n > 5 && strncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, addr) == 1;
	return inet_pton(AF_INET, buf, addr) == 1;
}

/* smtp_path_literal - an address literal "[...]" into out, lower case. */
static int smtp_path_literal(struct smtp_path_ctx *ctx, char *out)
{
	const unsigned char *start = ctx->p;
	const unsigned char *rb = memchr(start, ']', ctx->end - start);

	if (rb == NULL || !smtp_literal_valid(start + 1, rb - start - 1))
		return smtp_path_bad_addr(ctx);
	ctx->p = rb + 1;
	smtp_path_copy_lower(out, start, ctx->p - start);
	return 0;
}

/*
 * smtp_path_domain - a Domain or address literal at ctx->p into out
 * (SMTP_DOMAIN_MAX + 1 bytes): lower case, one trailing dot dropped.
 */
static int smtp_path_domain(struct smtp_path_ctx *ctx, char *out)
{
	const unsigned char *start = ctx->p;
	size_t n;

	if (smtp_path_peek(ctx) == '[')
		return smtp_path_literal(ctx, out);
	while (ctx->p < ctx->end && (smtp_is_alnum(*ctx->p) || *ctx->p == '-' ||
				     *ctx->p == '.' || *ctx->p >= 0x80))
		ctx->p++;
	n = ctx->p - start;
	if (n > 0 && start[n - 1] == '.')
		n--;
	if (!smtp_domain_name_valid(start, n))
		return smtp_path_bad_addr(ctx);
	if (n > SMTP_DOMAIN_MAX)
		return smtp_path_fail(ctx, 501, SMTP_ERR_TOO_LONG);
	smtp_path_copy_lower(out, start, n);
	return 0;
}

/*
 * smtp_path_route - skip a source route "@a,@b:" (RFC 5321 4.1.1.3, C.6):
 * accepted and dropped, so the relay check sees the final domain.
 */
static int smtp_path_route(struct smtp_path_ctx *ctx)
{
	char scratch[SMTP_DOMAIN_MAX + 1];

	if (!smtp_path_accept(ctx, '@'))
		return 0;
	for (;;) {
		if (smtp_path_domain(ctx, scratch) < 0)
			return -1;
		if (smtp_path_accept(ctx, ':'))
			return 0;
		if (!smtp_path_accept(ctx, ',') || !smtp_path_accept(ctx, '@'))
			return smtp_path_bad_addr(ctx);
	}
}

/* smtp_path_mailbox - Local-part "@" Domain, or RCPT's bare <Postmaster>. */
static int smtp_path_mailbox(struct smtp_path_ctx *ctx)
{
	struct smtp_path *path = ctx->path;

	if (smtp_path_local(ctx) < 0)
		return -1;
	if (smtp_path_peek(ctx) == '>' && ctx->kind == SMTP_PATH_RCPT &&
	    strcasecmp(path->local, "postmaster") == 0) {
		/* RFC 5321 4.5.1: <Postmaster> without a domain */
		strcpy(path->local, "postmaster");
		path->domain[0] = '\0';
		return 0;
	}
	if (!smtp_path_accept(ctx, '@'))
		return smtp_path_bad_addr(ctx);
	return smtp_path_domain(ctx, path->domain);
}

/* smtp_path_angle - "<" [route] mailbox ">", or "<>" for MAIL. */
static int smtp_path_angle(struct smtp_path_ctx *ctx)
{
	if (!smtp_path_accept(ctx, '<'))
		return smtp_path_bad_addr(ctx);
	if (smtp_path_accept(ctx, '>')) {
		if (ctx->kind != SMTP_PATH_MAIL)
			return smtp_path_bad_addr(ctx);
		ctx->path->null_path = true;
	} else if (smtp_path_route(ctx) < 0 || smtp_path_mailbox(ctx) < 0) {
		return -1;
	} else if (!smtp_path_accept(ctx, '>')) {
		return smtp_path_bad_addr(ctx);
	}
	if (ctx->p < ctx->end && *ctx->p != ' ')
		return smtp_path_bad_addr(ctx);
	return 0;
}

/* smtp_path_prefix - "FROM:" or "TO:", then one optional space (Postfix). */
static int smtp_path_prefix(struct smtp_path_ctx *ctx)
{
	bool mail = ctx->kind == SMTP_PATH_MAIL;
	const char *want = mail ? "FROM:" : "TO:";
	size_t n = strlen(want);

	if ((size_t)(ctx->end - ctx->p) < n ||
	    strncasecmp((const char *)ctx->p, want, n) != 0)
		return smtp_path_fail(ctx, 501, mail ? SMTP_ERR_MAIL_SYNTAX :
						       SMTP_ERR_RCPT_SYNTAX);
	ctx->p += n;
	smtp_path_accept(ctx, ' ');
	return 0;
}

/* ---- ESMTP parameters ---- */

/* smtp_param_size - SIZE=digits (RFC 1870). */
static int smtp_param_size(struct smtp_path_ctx *ctx, const unsigned char *v,
			   size_t n)
{
	unsigned long long size = 0;
	size_t i;

	if (ctx->path->size_set)
		return smtp_path_fail(ctx, 501, SMTP_ERR_DUPLICATE);
	if (v == NULL)
		return smtp_path_fail(ctx, 501, SMTP_ERR_SIZE);
	for (i = 0; i < n; i++) {
		unsigned digit = v[i] - '0';

		if (v[i] < '0' || v[i] > '9' || size > (ULLONG_MAX - digit) / 10)
			return smtp_path_fail(ctx, 501, SMTP_ERR_SIZE);
		size = size * 10 + digit;
	}
	ctx->path->size_set = true;
	ctx->path->size = size;
	return 0;
}

/* smtp_param_body - BODY=7BIT|8BITMIME (RFC 6152); no BINARYMIME here. */
static int smtp_param_body(struct smtp_path_ctx *ctx, const unsigned char *v,
			   size_t n)
{
	if (ctx->path->body != SMTP_BODY_UNSET)
		return smtp_path_fail(ctx, 501, SMTP_ERR_DUPLICATE);
	if (v != NULL && smtp_span_is(v, n, "7BIT"))
		ctx->path->body = SMTP_BODY_7BIT;
	else if (v != NULL && smtp_span_is(v, n, "8BITMIME"))
		ctx->path->body = SMTP_BODY_8BITMIME;
	else if (v != NULL && smtp_span_is(v, n, "BINARYMIME"))
		return smtp_path_fail(ctx, 555, SMTP_ERR_BINARYMIME);
	else
		return smtp_path_fail(ctx, 501, SMTP_ERR_BODY);
	return 0;
}

/* smtp_param_smtputf8 - SMTPUTF8, no value (RFC 6531 3.4). */
static int smtp_param_smtputf8(struct smtp_path_ctx *ctx,
			       const unsigned char *v, size_t n)
{
	(void)n;
	if (ctx->path->smtputf8)
		return smtp_path_fail(ctx, 501, SMTP_ERR_DUPLICATE);
	if (v != NULL)
		return smtp_path_fail(ctx, 501, SMTP_ERR_SMTPUTF8);
	ctx->path->smtputf8 = true;
	return 0;
}

/*
 * smtp_xtext_decode - RFC 3461 4 xtext into out (NUL-terminated, outsize
 * bytes); -1 on bad syntax, overflow or a decoded control character.
 */
static int smtp_xtext_decode(const unsigned char *s, size_t n, char *out,
			     size_t outsize)
{
	size_t i, o = 0;
	int c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '+') {
			if (n - i < 3 || hex_digit(s[i + 1]) < 0 ||
			    hex_digit(s[i + 2]) < 0)
				return -1;
			c = hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]);
			i += 2;
			if (c < 0x20 || c == 0x7f)
				return -1;
		} else if (c < 33 || c > 126 || c == '=') {
			return -1;
		}
		if (o + 1 >= outsize)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* smtp_param_auth - AUTH=xtext or AUTH=<> (RFC 4954 5). */
static int smtp_param_auth(struct smtp_path_ctx *ctx, const unsigned char *v,
			   size_t n)
{
	struct smtp_path *path = ctx->path;

	if (path->auth_set)
		return smtp_path_fail(ctx, 501, SMTP_ERR_DUPLICATE);
	if (v == NULL || smtp_xtext_decode(v, n, path->auth, sizeof(path->auth)) < 0) {
		path->auth[0] = '\0';
		return smtp_path_fail(ctx, 501, SMTP_ERR_AUTH);
	}
	path->auth_set = true;
	return 0;
}

/* One ESMTP parameter we offer: its keyword, command and parser. */
struct smtp_param_def {
	const char *keyword;
	enum smtp_path_kind kind;
	int (*parse)(struct smtp_path_ctx *ctx, const unsigned char *value,
		     size_t len);
};

static const struct smtp_param_def smtp_param_defs[] = {
	{"SIZE", SMTP_PATH_MAIL, smtp_param_size},
	{"BODY", SMTP_PATH_MAIL, smtp_param_body},
	{"SMTPUTF8", SMTP_PATH_MAIL, smtp_param_smtputf8},
	{"AUTH", SMTP_PATH_MAIL, smtp_param_auth},
};

/* smtp_param_apply - hand a keyword and value (NULL: none) to its parser. */
static int smtp_param_apply(struct smtp_path_ctx *ctx, const unsigned char *kw,
			    size_t kw_len, const unsigned char *v, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(smtp_param_defs) / sizeof(smtp_param_defs[0]); i++) {
		const struct smtp_param_def *def = &smtp_param_defs[i];

		if (smtp_span_is(kw, kw_len, def->keyword) && def->kind == ctx->kind)
			return def->parse(ctx, v, n);
	}
	return smtp_path_fail(ctx, 555, SMTP_ERR_UNSUPPORTED);
}

/* smtp_is_esmtp_value - RFC 5321 esmtp-value byte, UTF-8 per RFC 6531. */
static bool smtp_is_esmtp_value(unsigned char c)
{
	return (c >= 33 && c <= 126 && c != '=') || c >= 0x80;
}

/* smtp_path_param - one esmtp-param: keyword ["=" value]. */
static int smtp_path_param(struct smtp_path_ctx *ctx)
{
	const unsigned char *kw = ctx->p, *v = NULL;
	size_t kw_len, n = 0;

	while (ctx->p < ctx->end && (smtp_is_alnum(*ctx->p) || *ctx->p == '-'))
		ctx->p++;
	kw_len = ctx->p - kw;
	if (kw_len == 0 || kw[0] == '-')
		return smtp_path_fail(ctx, 501, SMTP_ERR_PARAM);
	if (smtp_path_accept(ctx, '=')) {
		v = ctx->p;
		while (ctx->p < ctx->end && smtp_is_esmtp_value(*ctx->p))
			ctx->p++;
		n = ctx->p - v;
	}
	if ((v != NULL && n == 0) || (ctx->p < ctx->end && *ctx->p != ' '))
		return smtp_path_fail(ctx, 501, SMTP_ERR_PARAM);
	return smtp_param_apply(ctx, kw, kw_len, v, n);
}

/* smtp_path_params - space-separated parameters after the path. */
static int smtp_path_params(struct smtp_path_ctx *ctx)
{
	for (;;) {
		while (smtp_path_accept(ctx, ' '))
			;
		if (ctx->p >= ctx->end)
			return 0;
		if (smtp_path_param(ctx) < 0)
			return -1;
	}
}

/* smtp_path_run - the whole argument string: prefix, path, parameters. */
static int smtp_path_run(struct smtp_path_ctx *ctx)
{
	while (ctx->end > ctx->p && (ctx->end[-1] == ' ' || ctx->end[-1] == '\t'))
		ctx->end--;
	if (memchr(ctx->p, '\0', ctx->end - ctx->p) != NULL)
		return smtp_path_bad_addr(ctx);
	if (smtp_path_prefix(ctx) < 0 || smtp_path_angle(ctx) < 0)
		return -1;
	return smtp_path_params(ctx);
}

/* smtp_path_parse - parse the arguments of MAIL or RCPT. */
int smtp_path_parse(const char *args, size_t len, enum smtp_path_kind kind,
		    struct smtp_path *path_r, int *code_r, const char **error_r)
{
	struct smtp_path_ctx ctx;

	memset(path_r, 0, sizeof(*path_r));
	if (len == 0)
		args = "";
	ctx.p = (const unsigned char *)args;
	ctx.end = ctx.p + len;
	ctx.kind = kind;
	ctx.path = path_r;
	ctx.code = 0;
	ctx.error = NULL;
	if (smtp_path_run(&ctx) < 0) {
		memset(path_r, 0, sizeof(*path_r));
		*code_r = ctx.code;
		*error_r = ctx.error;
		return -1;
	}
	return 0;
}

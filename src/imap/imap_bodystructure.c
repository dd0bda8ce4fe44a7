/* imap_bodystructure - FETCH BODY / BODYSTRUCTURE (see imap_bodystructure.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "imap/imap_bodystructure.h"
#include "imap/imap_envelope.h"

/* What a multipart without any body part shows (as Dovecot). */
#define IMAP_BS_EMPTY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

/* imap_bs_str - a non-NULL C string as an IMAP string. */
static void imap_bs_str(struct imap_rfc822_str *out, const char *s)
{
	imap_envelope_nstring(out, s, strlen(s));
}

/* imap_bs_nstr - a raw header value (or NULL) as an nstring, unfolded. */
static void imap_bs_nstr(struct imap_rfc822_str *out, const char *s)
{
	imap_envelope_nstring_nolf(out, s, s != NULL ? strlen(s) : 0);
}

/* imap_bs_num - a space and a number. */
static void imap_bs_num(struct imap_rfc822_str *out, uint64_t n)
{
	char buf[32];
	int k = snprintf(buf, sizeof(buf), " %llu", (unsigned long long)n);

	imap_rfc822_str_add(out, buf, (size_t)k);
}

/* imap_bs_params - (name value ...) or NIL; text parts get the default
 * charset when they name none (RFC 2045 5.2). */
static void imap_bs_params(struct imap_rfc822_str *out, const struct imap_mime_param *p, size_t n,
			   bool default_charset)
{
	bool charset = false;

	if (n == 0 && !default_charset) {
		imap_rfc822_str_add(out, "NIL", 3);
		return;
	}
	imap_rfc822_str_addc(out, '(');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			imap_rfc822_str_addc(out, ' ');
		charset |= strcasecmp(p[i].name, "charset") == 0;
		imap_bs_str(out, p[i].name);
		imap_rfc822_str_addc(out, ' ');
		imap_bs_str(out, p[i].value);
	}
	if (default_charset && !charset)
		imap_rfc822_str_add(out, n > 0 ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"",
				    n > 0 ? 21 : 20);
	imap_rfc822_str_addc(out, ')');
}

/* imap_bs_common - the disposition, language and location extension data. */
static void imap_bs_common(struct imap_rfc822_str *out, const struct imap_mime_part *part)
{
	imap_rfc822_str_addc(out, ' ');
	if (part->disposition == NULL) {
		imap_rfc822_str_add(out, "NIL", 3);
	} else {
		imap_rfc822_str_addc(out, '(');
		imap_bs_str(out, part->disposition);
		imap_rfc822_str_addc(out, ' ');
		imap_bs_params(out, part->disp_params, part->ndisp_params, false);
		imap_rfc822_str_addc(out, ')');
	}
	imap_rfc822_str_addc(out, ' ');
	if (part->nlanguage == 0) {
		imap_rfc822_str_add(out, "NIL", 3);
	} else {
		imap_rfc822_str_addc(out, '(');
		for (size_t i = 0; i < part->nlanguage; i++) {
			if (i > 0)
				imap_rfc822_str_addc(out, ' ');
			imap_bs_str(out, part->language[i]);
		}
		imap_rfc822_str_addc(out, ')');
	}
	imap_rfc822_str_addc(out, ' ');
	imap_bs_nstr(out, part->location);
}

/* imap_bs_multipart - (part)(part)... "subtype" [params common]. */
static void imap_bs_multipart(struct imap_rfc822_str *out, const char *msg,
			      const struct imap_mime_part *part, bool extended)
{
	if (part->children == NULL) {
		imap_rfc822_str_add(out, IMAP_BS_EMPTY, strlen(IMAP_BS_EMPTY));
		imap_rfc822_str_add(out, extended ? " NIL NIL NIL NIL)" : ")", extended ? 17 : 1);
	}
	for (const struct imap_mime_part *c = part->children; c != NULL; c = c->next) {
		imap_rfc822_str_addc(out, '(');
		imap_bodystructure_append(out, msg, c, extended);
		imap_rfc822_str_addc(out, ')');
	}
	imap_rfc822_str_addc(out, ' ');
	imap_bs_str(out, part->subtype);
	if (!extended)
		return;
	imap_rfc822_str_addc(out, ' ');
	imap_bs_params(out, part->params, part->nparams, false);
	imap_bs_common(out, part);
}

/* imap_bs_truncated - a multipart or message/rfc822 that the limits kept
 * a leaf (or a digest part left without its message): Dovecot shows
 * application/octet-stream. */
static bool imap_bs_truncated(const struct imap_mime_part *part)
{
	if (part->type == NULL)
		return part->parent != NULL && (part->parent->flags & IMAP_MIME_DIGEST) != 0;
	if (strcasecmp(part->type, "message") == 0 && strcasecmp(part->subtype, "rfc822") == 0)
		return true;
	return strcasecmp(part->type, "multipart") == 0;
}

/* imap_bs_type - "type" "subtype" of a leaf; true when it is text. */
static bool imap_bs_type(struct imap_rfc822_str *out, const struct imap_mime_part *part)
{
	static const char rfc822[] = "\"message\" \"rfc822\"", octet[] = "\"application\" \"octet-stream\"";

	if ((part->flags & IMAP_MIME_RFC822) != 0) {
		imap_rfc822_str_add(out, rfc822, sizeof(rfc822) - 1);
		return false;
	}
	if (imap_bs_truncated(part)) {
		imap_rfc822_str_add(out, octet, sizeof(octet) - 1);
		return false;
	}
	if (part->type == NULL) {
		imap_rfc822_str_add(out, "\"text\" \"plain\"", 14);
		return true;
	}
	imap_bs_str(out, part->type);
	imap_rfc822_str_addc(out, ' ');
	imap_bs_str(out, part->subtype);
	return strcasecmp(part->type, "text") == 0;
}

/* imap_bs_body - a leaf or message/rfc822 part (RFC 9051 body-type-1part). */
static void imap_bs_body(struct imap_rfc822_str *out, const char *msg,
			 const struct imap_mime_part *part, bool extended)
{
	bool text = imap_bs_type(out, part);

	imap_rfc822_str_addc(out, ' ');
	imap_bs_params(out, part->params, part->nparams, text);
	imap_rfc822_str_addc(out, ' ');
	imap_bs_nstr(out, part->id);
	imap_rfc822_str_addc(out, ' ');
	imap_bs_nstr(out, part->description);
	imap_rfc822_str_addc(out, ' ');
	if (part->encoding != NULL)
		imap_bs_str(out, part->encoding);
	else
		imap_rfc822_str_add(out, "\"7bit\"", 6);
	imap_bs_num(out, part->body_size);
	if (text) {
		imap_bs_num(out, part->body_lines);
	} else if ((part->flags & IMAP_MIME_RFC822) != 0 && part->children != NULL) {
		const struct imap_mime_part *c = part->children;
		imap_rfc822_str_addc(out, ' ');
		imap_envelope_append(out, msg + c->hdr_off, c->hdr_len);
		imap_rfc822_str_add(out, " (", 2);
		imap_bodystructure_append(out, msg, c, extended);
		imap_rfc822_str_addc(out, ')');
		imap_bs_num(out, part->body_lines);
	}
	if (!extended)
		return;
	imap_rfc822_str_addc(out, ' ');
	imap_bs_nstr(out, part->md5);
	imap_bs_common(out, part);
}

/* imap_bodystructure_append - the structure of part, without the outer parentheses. */
void imap_bodystructure_append(struct imap_rfc822_str *out, const char *msg,
			       const struct imap_mime_part *part, bool extended)
{
	if ((part->flags & IMAP_MIME_MULTIPART) != 0)
		imap_bs_multipart(out, msg, part, extended);
	else
		imap_bs_body(out, msg, part, extended);
}

/* imap_bs_plain_7bit - the message is plain 7-bit US-ASCII text, which
 * Dovecot answers in canonical lower case whatever the header spelling. */
static bool imap_bs_plain_7bit(const struct imap_mime_part *p)
{
	if ((p->flags & IMAP_MIME_TEXT) == 0 || (p->subtype != NULL && strcasecmp(p->subtype, "plain") != 0))
		return false;
	if (p->nparams > 1 || (p->nparams == 1 && (strcasecmp(p->params[0].name, "charset") != 0 ||
						   strcasecmp(p->params[0].value, "us-ascii") != 0)))
		return false;
	if (p->encoding != NULL && strcasecmp(p->encoding, "7bit") != 0)
		return false;
	return p->id == NULL && p->description == NULL && p->md5 == NULL && p->disposition == NULL &&
	       p->nlanguage == 0 && p->location == NULL;
}

/* imap_bs_root - the whole message's structure, parenthesised. */
static void imap_bs_root(struct imap_rfc822_str *s, const char *msg, const struct imap_mime_part *root,
			 bool extended)
{
	static const char plain[] = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\"";

	if (!imap_bs_plain_7bit(root)) {
		imap_rfc822_str_addc(s, '(');
		imap_bodystructure_append(s, msg, root, extended);
		imap_rfc822_str_addc(s, ')');
		return;
	}
	imap_rfc822_str_add(s, plain, sizeof(plain) - 1);
	imap_bs_num(s, root->body_size);
	imap_bs_num(s, root->body_lines);
	imap_rfc822_str_add(s, extended ? " NIL NIL NIL NIL)" : ")", extended ? 17 : 1);
}

/* imap_bodystructure_write - BODY or BODYSTRUCTURE of a whole message. */
int imap_bodystructure_write(struct evbuffer *out, const char *msg, size_t len, bool extended)
{
	struct imap_mime *m = imap_mime_parse(msg, len);
	struct imap_rfc822_str s = { 0 };
	int ret;

	imap_bs_root(&s, msg, m->root, extended);
	ret = evbuffer_add(out, s.s, s.len);
	imap_rfc822_str_free(&s);
	imap_mime_free(&m);
	return ret;
}

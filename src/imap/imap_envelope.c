/* imap_envelope - FETCH ENVELOPE and IMAP strings (see imap_envelope.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "imap/imap_envelope.h"
#include "imap/imap_mime.h"

/* At most this many quoted-specials in a quoted string; past it a literal
 * is shorter (Dovecot's choice). */
#define IMAP_ENVELOPE_MAX_ESCAPES 4
#define IMAP_ENVELOPE_MAX_ADDRS 10000

/* imap_envelope_literal - {n}CRLF and the bytes, NUL bytes made U+FFFD. */
static void imap_envelope_literal(struct imap_rfc822_str *out, const char *s, size_t len)
{
	char num[32];
	size_t nuls = 0;

	for (size_t i = 0; i < len; i++)
		nuls += s[i] == '\0';
	size_t n = (size_t)snprintf(num, sizeof(num), "{%zu}\r\n", len + 2 * nuls);
	imap_rfc822_str_add(out, num, n);
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i < len && s[i] != '\0')
			continue;
		imap_rfc822_str_add(out, s + start, i - start);
		if (i < len)
			imap_rfc822_str_add(out, IMAP_RFC822_NUL_REPLACEMENT, 3);
		start = i + 1;
	}
}

/* imap_envelope_nstring - s as a quoted string or a literal; NIL for NULL. */
void imap_envelope_nstring(struct imap_rfc822_str *out, const char *s, size_t len)
{
	size_t escapes = 0;

	if (s == NULL) {
		imap_rfc822_str_add(out, "NIL", 3);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			escapes++;
		if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80 || escapes > IMAP_ENVELOPE_MAX_ESCAPES) {
			imap_envelope_literal(out, s, len);
			return;
		}
	}
	imap_rfc822_str_addc(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			imap_rfc822_str_addc(out, '\\');
		imap_rfc822_str_addc(out, s[i]);
	}
	imap_rfc822_str_addc(out, '"');
}

/* imap_envelope_nstring_nolf - s with folding removed, then as nstring. */
void imap_envelope_nstring_nolf(struct imap_rfc822_str *out, const char *s, size_t len)
{
	struct imap_rfc822_str t = { 0 };

	if (s == NULL || (memchr(s, '\r', len) == NULL && memchr(s, '\n', len) == NULL)) {
		imap_envelope_nstring(out, s, len);
		return;
	}
	imap_rfc822_str_add(&t, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\r' && s[i] != '\n') {
			imap_rfc822_str_addc(&t, s[i]);
			continue;
		}
		char n = i + 1 < len ? s[i + 1] : '\0';
		if (n != ' ' && n != '\t' && n != '\r' && n != '\n' && i + 1 < len)
			imap_rfc822_str_addc(&t, ' ');
	}
	imap_envelope_nstring(out, t.s, t.len);
	imap_rfc822_str_free(&t);
}

/* imap_envelope_human_plain - s needs no change to go out quoted as is. */
static bool imap_envelope_human_plain(const char *s, size_t len)
{
	bool last_ws = true;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0' || c == '\r' || c == '\n' || c == '\t' || c == '"' || c == '\\' || c >= 0x80)
			return false;
		if (c == ' ' && last_ws)
			return false;
		last_ws = c == ' ';
	}
	return !(last_ws && len > 0);
}

/* imap_envelope_human - text for people: white space collapsed and
 * trimmed; quoted when nothing changes, else a literal (as Dovecot). */
void imap_envelope_human(struct imap_rfc822_str *out, const char *s, size_t len)
{
	struct imap_rfc822_str t = { 0 };
	bool ws = true;

	if (imap_envelope_human_plain(s, len)) {
		imap_rfc822_str_addc(out, '"');
		imap_rfc822_str_add(out, s, len);
		imap_rfc822_str_addc(out, '"');
		return;
	}
	imap_rfc822_str_add(&t, "", 0);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool is_ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';
		if (is_ws && !ws)
			imap_rfc822_str_addc(&t, ' ');
		else if (!is_ws)
			imap_rfc822_str_addc(&t, c == '\0' ? (char)0x80 : c);
		ws = is_ws;
	}
	if (t.len > 0 && t.s[t.len - 1] == ' ')
		imap_rfc822_str_trunc(&t, t.len - 1);
	if (t.len == 0)
		imap_rfc822_str_add(out, "\"\"", 2);
	else
		imap_envelope_literal(out, t.s, t.len);
	imap_rfc822_str_free(&t);
}

/* One address being read; a field is NULL-valued while !set. */
struct imap_envelope_field {
	struct imap_rfc822_str s;
	bool set;
};

struct imap_envelope_addr {
	struct imap_envelope_field name, route, mailbox, domain;
	bool invalid;
};

/* The state of one address-list parse. */
struct imap_envelope_parse {
	struct imap_rfc822 r;
	struct imap_rfc822_str comment, str;
	struct imap_envelope_addr a;
	struct imap_rfc822_str *out; /* the "(...)(...)" items written so far */
};

/* imap_envelope_set - give an address field a value. */
static void imap_envelope_set(struct imap_envelope_field *f, const char *s, size_t len)
{
	imap_rfc822_str_trunc(&f->s, 0);
	imap_rfc822_str_add(&f->s, s, len);
	f->set = true;
}

/* imap_envelope_emit - write the current address as (name adl mailbox
 * host) and clear it. */
static void imap_envelope_emit(struct imap_envelope_parse *ep)
{
	struct imap_envelope_addr *a = &ep->a;
	struct imap_rfc822_str *o = ep->out;

	imap_rfc822_str_addc(o, '(');
	if (a->name.set)
		imap_envelope_human(o, a->name.s.s, a->name.s.len);
	else
		imap_rfc822_str_add(o, "NIL", 3);
	imap_rfc822_str_addc(o, ' ');
	imap_envelope_nstring(o, a->route.set ? a->route.s.s : NULL, a->route.s.len);
	imap_rfc822_str_addc(o, ' ');
	imap_envelope_nstring(o, a->mailbox.set ? a->mailbox.s.s : NULL, a->mailbox.s.len);
	imap_rfc822_str_addc(o, ' ');
	imap_envelope_nstring(o, a->domain.set ? a->domain.s.s : NULL, a->domain.s.len);
	imap_rfc822_str_addc(o, ')');
	a->name.set = a->route.set = a->mailbox.set = a->domain.set = false;
	a->invalid = false;
}

/* imap_envelope_emit_fixed - emit a mailbox, filling a missing local part
 * or domain with MISSING_MAILBOX / MISSING_DOMAIN (as Dovecot). */
static void imap_envelope_emit_fixed(struct imap_envelope_parse *ep)
{
	if (!ep->a.mailbox.set)
		imap_envelope_set(&ep->a.mailbox, "MISSING_MAILBOX", 15);
	if (!ep->a.domain.set || ep->a.domain.s.len == 0)
		imap_envelope_set(&ep->a.domain, "MISSING_DOMAIN", 14);
	imap_envelope_emit(ep);
}

/* imap_envelope_loose_dot_atom - a local part where dots may lead, trail
 * or repeat (obsolete and common forms). */
static int imap_envelope_loose_dot_atom(struct imap_rfc822 *r, struct imap_rfc822_str *s)
{
	int ret = -1;

	do {
		while (*r->p == '.') {
			imap_rfc822_str_addc(s, '.');
			if (++r->p == r->end)
				return 0;
			ret = 1;
		}
		if (*r->p == '@')
			break;
		ret = imap_rfc822_atom(r, s);
	} while (ret > 0 && *r->p == '.');
	return ret;
}

/* imap_envelope_local_part - the local part into the mailbox field. */
static int imap_envelope_local_part(struct imap_envelope_parse *ep)
{
	int ret;

	imap_rfc822_str_trunc(&ep->str, 0);
	imap_rfc822_str_add(&ep->str, "", 0);
	if (*ep->r.p == '"')
		ret = imap_rfc822_quoted(&ep->r, &ep->str);
	else
		ret = imap_envelope_loose_dot_atom(&ep->r, &ep->str);
	if (ret < 0)
		return -1;
	imap_envelope_set(&ep->a.mailbox, ep->str.s, ep->str.len);
	return ret;
}

/* imap_envelope_domain - the domain after '@' into the domain field. */
static int imap_envelope_domain(struct imap_envelope_parse *ep)
{
	int ret;

	imap_rfc822_str_trunc(&ep->str, 0);
	imap_rfc822_str_add(&ep->str, "", 0);
	if ((ret = imap_rfc822_domain(&ep->r, &ep->str)) < 0)
		return -1;
	imap_envelope_set(&ep->a.domain, ep->str.s, ep->str.len);
	return ret;
}

/* imap_envelope_route - an obsolete route "@a,@b" (RFC 5322 4.4). */
static int imap_envelope_route(struct imap_envelope_parse *ep)
{
	struct imap_rfc822 *r = &ep->r;
	int ret;

	imap_rfc822_str_trunc(&ep->str, 0);
	imap_rfc822_str_add(&ep->str, "", 0);
	for (;;) {
		if (r->p >= r->end)
			return 0;
		if (*r->p != '@')
			break;
		if (ep->str.len > 0)
			imap_rfc822_str_addc(&ep->str, ',');
		imap_rfc822_str_addc(&ep->str, '@');
		if ((ret = imap_rfc822_domain(r, &ep->str)) <= 0)
			return ret;
		while (imap_rfc822_skip_lwsp(r) > 0 && *r->p == ',')
			r->p++;
	}
	imap_envelope_set(&ep->a.route, ep->str.s, ep->str.len);
	return 1;
}

/* imap_envelope_angle - "<" [route ":"] local-part ["@" domain] ">". */
static int imap_envelope_angle(struct imap_envelope_parse *ep)
{
	struct imap_rfc822 *r = &ep->r;

	r->p++;
	if (imap_rfc822_skip_lwsp(r) <= 0)
		return -1;
	if (*r->p == '@') {
		if (imap_envelope_route(ep) > 0 && *r->p == ':') {
			r->p++;
		} else {
			imap_envelope_set(&ep->a.route, "INVALID_ROUTE", 13);
			if (r->p >= r->end)
				return -1;
		}
		if (imap_rfc822_skip_lwsp(r) <= 0)
			return -1;
	}
	if (*r->p != '>') {
		if (imap_envelope_local_part(ep) <= 0)
			return -1;
		if (*r->p == '@' && imap_envelope_domain(ep) <= 0)
			return -1;
	}
	if (*r->p != '>')
		return -1;
	r->p++;
	return imap_rfc822_skip_lwsp(r);
}

/* imap_envelope_name_addr - [display-name] angle-addr. */
static int imap_envelope_name_addr(struct imap_envelope_parse *ep)
{
	imap_rfc822_str_trunc(&ep->str, 0);
	imap_rfc822_str_add(&ep->str, "", 0);
	if (imap_rfc822_phrase(&ep->r, &ep->str) <= 0 || *ep->r.p != '<')
		return -1;
	if (ep->str.len > 0)
		imap_envelope_set(&ep->a.name, ep->str.s, ep->str.len);
	if (imap_envelope_angle(ep) < 0) {
		imap_envelope_set(&ep->a.domain, "SYNTAX_ERROR", 12);
		ep->a.invalid = true;
	}
	return ep->r.p < ep->r.end ? 1 : 0;
}

/* imap_envelope_addr_spec - local-part ["@" domain], a trailing comment
 * as the name; a bare word followed by more words is a name. */
static int imap_envelope_addr_spec(struct imap_envelope_parse *ep)
{
	bool quoted = *ep->r.p == '"', domain_tried = false;
	int ret, ret2;

	imap_rfc822_str_trunc(&ep->comment, 0);
	if ((ret = imap_envelope_local_part(ep)) <= 0)
		ep->a.invalid = true;
	if (ret != 0 && ep->r.p < ep->r.end && *ep->r.p == '@') {
		domain_tried = true;
		if ((ret2 = imap_envelope_domain(ep)) <= 0)
			ret = ret2;
	}
	if (ep->comment.len > 0) {
		imap_envelope_set(&ep->a.name, ep->comment.s, ep->comment.len);
	} else if (!domain_tried) {
		imap_rfc822_str_addc(&ep->str, ' ');
		size_t before = ep->str.len;
		(void)imap_rfc822_phrase(&ep->r, &ep->str);
		if (ep->str.len != before) {
			ep->a.mailbox.set = false;
			imap_envelope_set(&ep->a.name, ep->str.s, ep->str.len);
		} else if (!quoted) {
			imap_envelope_set(&ep->a.domain, "", 0);
		}
		ep->a.invalid = true;
		ret = -1;
	}
	return ret;
}

/* imap_envelope_mailbox - name-addr or addr-spec, then emitted. */
static int imap_envelope_mailbox(struct imap_envelope_parse *ep)
{
	const unsigned char *start = ep->r.p;
	struct imap_envelope_addr *a = &ep->a;
	int ret;

	if ((ret = imap_envelope_name_addr(ep)) < 0) {
		ep->r.p = start;
		ret = imap_envelope_addr_spec(ep);
		if (a->invalid && !a->name.set && a->mailbox.set && !a->domain.set) {
			imap_envelope_set(&a->name, a->mailbox.s.s, a->mailbox.s.len);
			a->mailbox.set = false;
		}
	}
	imap_envelope_emit_fixed(ep);
	return ret;
}

/* imap_envelope_group_members - the mailbox list inside a group. */
static int imap_envelope_group_members(struct imap_envelope_parse *ep)
{
	struct imap_rfc822 *r = &ep->r;

	for (;;) {
		(void)imap_envelope_mailbox(ep);
		if (r->p >= r->end || *r->p != ',')
			return 1;
		r->p++;
		if (imap_rfc822_skip_lwsp(r) <= 0)
			return -1;
	}
}

/* imap_envelope_group - display-name ":" [mailbox-list] ";" as a start
 * marker (NIL NIL name NIL), the members, an end marker (NIL NIL NIL NIL). */
static int imap_envelope_group(struct imap_envelope_parse *ep)
{
	struct imap_rfc822 *r = &ep->r;
	int ret;

	imap_rfc822_str_trunc(&ep->str, 0);
	imap_rfc822_str_add(&ep->str, "", 0);
	if (imap_rfc822_phrase(r, &ep->str) <= 0 || *r->p != ':')
		return -1;
	r->p++;
	ret = imap_rfc822_skip_lwsp(r);
	imap_envelope_set(&ep->a.mailbox, ep->str.s, ep->str.len);
	imap_envelope_emit(ep);
	if (ret > 0 && *r->p != ';')
		ret = imap_envelope_group_members(ep);
	if (ret >= 0) {
		if (r->p >= r->end || *r->p != ';') {
			ret = -1;
		} else {
			r->p++;
			ret = imap_rfc822_skip_lwsp(r);
		}
	}
	imap_envelope_emit(ep);
	return ret == 0 ? 0 : 1;
}

/* imap_envelope_address - a group or a mailbox. */
static int imap_envelope_address(struct imap_envelope_parse *ep)
{
	const unsigned char *start = ep->r.p;
	int ret;

	if ((ret = imap_envelope_group(ep)) < 0) {
		ep->r.p = start;
		ret = imap_envelope_mailbox(ep);
	}
	return ret;
}

/* imap_envelope_addresses - parse one address-list field value, appending
 * its addresses to out. */
static void imap_envelope_addresses(struct imap_rfc822_str *out, const char *v, size_t len)
{
	struct imap_envelope_parse ep;
	int ret;

	memset(&ep, 0, sizeof(ep));
	imap_rfc822_init(&ep.r, v, len);
	ep.r.comment = &ep.comment;
	ep.out = out;
	if (imap_rfc822_skip_lwsp(&ep.r) > 0) {
		for (size_t n = 0; n < IMAP_ENVELOPE_MAX_ADDRS; n++) {
			if (imap_envelope_address(&ep) == 0 || ep.r.p >= ep.r.end || *ep.r.p != ',')
				break;
			ep.r.p++;
			if ((ret = imap_rfc822_skip_lwsp(&ep.r)) <= 0) {
				if (ret < 0)
					imap_envelope_emit_fixed(&ep);
				break;
			}
		}
	}
	imap_rfc822_str_free(&ep.comment);
	imap_rfc822_str_free(&ep.str);
	imap_rfc822_str_free(&ep.a.name.s);
	imap_rfc822_str_free(&ep.a.route.s);
	imap_rfc822_str_free(&ep.a.mailbox.s);
	imap_rfc822_str_free(&ep.a.domain.s);
}

/* The envelope fields in RFC 9051 order; the first four hold strings. */
enum imap_envelope_slot {
	IMAP_ENV_DATE, IMAP_ENV_SUBJECT, IMAP_ENV_IN_REPLY_TO, IMAP_ENV_MESSAGE_ID,
	IMAP_ENV_FROM, IMAP_ENV_SENDER, IMAP_ENV_REPLY_TO, IMAP_ENV_TO, IMAP_ENV_CC, IMAP_ENV_BCC,
	IMAP_ENV_SLOTS
};

static const char *const imap_envelope_names[IMAP_ENV_SLOTS] = {
	"Date", "Subject", "In-Reply-To", "Message-ID",
	"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
};

/* What the header block says for each slot. */
struct imap_envelope_data {
	struct imap_mime_field str[IMAP_ENV_MESSAGE_ID + 1]; /* the last field seen */
	bool has_str[IMAP_ENV_MESSAGE_ID + 1];
	struct imap_rfc822_str addrs[IMAP_ENV_SLOTS]; /* address items, merged */
	bool has_addrs[IMAP_ENV_SLOTS];
};

/* imap_envelope_slot - the slot a field name fills, or IMAP_ENV_SLOTS. */
static enum imap_envelope_slot imap_envelope_slot(const struct imap_mime_field *f)
{
	for (int i = 0; i < IMAP_ENV_SLOTS; i++) {
		if (imap_mime_field_is(f, imap_envelope_names[i], strlen(imap_envelope_names[i])))
			return (enum imap_envelope_slot)i;
	}
	return IMAP_ENV_SLOTS;
}

/* imap_envelope_collect - read the header block into d. */
static void imap_envelope_collect(struct imap_envelope_data *d, const char *hdr, size_t len)
{
	struct imap_mime_field f;
	size_t pos = 0;

	while (imap_mime_field_next(hdr, len, &pos, &f)) {
		enum imap_envelope_slot s = imap_envelope_slot(&f);
		if (s == IMAP_ENV_SLOTS)
			continue;
		if (s <= IMAP_ENV_MESSAGE_ID) {
			d->str[s] = f;
			d->has_str[s] = true;
			continue;
		}
		imap_rfc822_str_add(&d->addrs[s], "", 0);
		imap_envelope_addresses(&d->addrs[s], f.value, f.value_len);
		d->has_addrs[s] = d->addrs[s].len > 0;
	}
}

/* imap_envelope_list - an address list: NIL or (items). */
static void imap_envelope_list(struct imap_rfc822_str *out, const struct imap_envelope_data *d,
			       enum imap_envelope_slot s)
{
	if (!d->has_addrs[s]) {
		imap_rfc822_str_add(out, "NIL", 3);
		return;
	}
	imap_rfc822_str_addc(out, '(');
	imap_rfc822_str_add(out, d->addrs[s].s, d->addrs[s].len);
	imap_rfc822_str_addc(out, ')');
}

/* imap_envelope_value - a string slot's value, NULs made U+FFFD, in t. */
static const char *imap_envelope_value(const struct imap_envelope_data *d, enum imap_envelope_slot s,
				       struct imap_rfc822_str *t)
{
	if (!d->has_str[s])
		return NULL;
	imap_rfc822_str_trunc(t, 0);
	imap_rfc822_str_add(t, "", 0);
	for (size_t i = 0; i < d->str[s].value_len; i++) {
		if (d->str[s].value[i] == '\0')
			imap_rfc822_str_add(t, IMAP_RFC822_NUL_REPLACEMENT, 3);
		else
			imap_rfc822_str_addc(t, d->str[s].value[i]);
	}
	return t->s;
}

/* imap_envelope_append - the envelope of a header block, appended to out. */
void imap_envelope_append(struct imap_rfc822_str *out, const char *hdr, size_t len)
{
	struct imap_envelope_data d;
	struct imap_rfc822_str t = { 0 };
	const char *v;

	memset(&d, 0, sizeof(d));
	imap_envelope_collect(&d, hdr, len);
	imap_rfc822_str_addc(out, '(');
	v = imap_envelope_value(&d, IMAP_ENV_DATE, &t);
	imap_envelope_nstring_nolf(out, v, t.len);
	imap_rfc822_str_addc(out, ' ');
	if ((v = imap_envelope_value(&d, IMAP_ENV_SUBJECT, &t)) != NULL)
		imap_envelope_human(out, v, t.len);
	else
		imap_rfc822_str_add(out, "NIL", 3);
	for (int s = IMAP_ENV_FROM; s <= IMAP_ENV_BCC; s++) {
		enum imap_envelope_slot use = (enum imap_envelope_slot)s;
		if ((s == IMAP_ENV_SENDER || s == IMAP_ENV_REPLY_TO) && !d.has_addrs[s])
			use = IMAP_ENV_FROM;
		imap_rfc822_str_addc(out, ' ');
		imap_envelope_list(out, &d, use);
	}
	for (int s = IMAP_ENV_IN_REPLY_TO; s <= IMAP_ENV_MESSAGE_ID; s++) {
		imap_rfc822_str_addc(out, ' ');
		v = imap_envelope_value(&d, (enum imap_envelope_slot)s, &t);
		imap_envelope_nstring_nolf(out, v, t.len);
	}
	imap_rfc822_str_addc(out, ')');
	imap_rfc822_str_free(&t);
	for (int s = 0; s < IMAP_ENV_SLOTS; s++)
		imap_rfc822_str_free(&d.addrs[s]);
}

/* imap_envelope_write - the envelope of a header block, into an evbuffer. */
int imap_envelope_write(struct evbuffer *out, const char *hdr, size_t len)
{
	struct imap_rfc822_str s = { 0 };
	int ret;

	imap_envelope_append(&s, hdr, len);
	ret = evbuffer_add(out, s.s, s.len);
	imap_rfc822_str_free(&s);
	return ret;
}

/* mailauth_verify_head - the header side: forged A-R, DKIM keys, the DMARC record. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns/dns.h"
#include "mailauth/mailauth_verify_internal.h"
#include "smtp/smtp_headers.h"
#include "util/xalloc.h"

/* mailauth_verify_key_cb - the key record of a signature answered. */
static void mailauth_verify_key_cb(void *arg, const struct dns_answer *answer)
{
	struct mailauth_sig *s = arg;
	const char *error;

	s->lookup = NULL;
	s->key_state = answer->rcode == DNS_R_TEMP ? MAILAUTH_KEY_TEMP : MAILAUTH_KEY_NONE;
	for (size_t i = 0; i < answer->n && s->key_state == MAILAUTH_KEY_NONE; i++) {
		if (dkim_key_parse(answer->rr[i], strlen(answer->rr[i]), &s->key, &error) == 0)
			s->key_state = MAILAUTH_KEY_OK;
	}
	mailauth_verify_settle(s->v);
}

/* mailauth_verify_sig - check one DKIM-Signature field: its body hash, then its key. */
static void mailauth_verify_sig(struct mailauth_verify *v, size_t field)
{
	struct mailauth_sig *s = &v->sigs[v->n_sigs++];
	size_t len;
	const char *value = dkim_field_value(&v->headers.fields[field], &len);
	char name[600];

	s->v = v;
	s->field = field;
	if (dkim_sig_parse(value, len, &s->sig, &s->reason) < 0) {
		s->result = DKIM_PERMERROR;
		return;
	}
	s->parsed = true;
	char *b64 = dkim_base64_encode(s->sig.b, s->sig.b_len < 6 ? s->sig.b_len : 6);
	snprintf(s->b8, sizeof(s->b8), "%s", b64);
	free(b64);
	s->body = dkim_body_new(s->sig.bcanon, s->sig.alg, s->sig.l);
	mailauth_stream_add_body(&v->stream, s->body);
	snprintf(name, sizeof(name), "%s._domainkey.%s", s->sig.s, s->sig.d);
	v->pending++;
	s->lookup = dns_lookup(v->env->dns, name, DNS_RR_TXT, mailauth_verify_key_cb, s);
}

static void mailauth_verify_dmarc_lookup(struct mailauth_verify *v, const char *domain);

/* mailauth_verify_dmarc_cb - a _dmarc TXT answered: the record, or on to the organizational domain. */
static void mailauth_verify_dmarc_cb(void *arg, const struct dns_answer *answer)
{
	struct mailauth_verify *v = arg;
	char org[256];
	int found = answer->rcode == DNS_R_TEMP ? -2
						 : dmarc_record_select(answer->rr, answer->n, &v->dmarc);

	v->dmarc_lookup = NULL;
	v->dmarc_state = found == 1 ? MAILAUTH_DMARC_FOUND
				    : found == -2 ? MAILAUTH_DMARC_TEMP : MAILAUTH_DMARC_NONE;
	if (found == 0 && !v->dmarc_at_org) { /* RFC 7489 6.6.3 */
		dmarc_org_domain(v->env->psl, v->from_domain, org);
		if (org[0] != '\0' && strcasecmp(org, v->from_domain) != 0) {
			v->dmarc_at_org = true;
			mailauth_verify_dmarc_lookup(v, org);
			return;
		}
	}
	mailauth_verify_settle(v);
}

/* mailauth_verify_dmarc_lookup - ask for _dmarc.DOMAIN (one pending count for the whole chain). */
static void mailauth_verify_dmarc_lookup(struct mailauth_verify *v, const char *domain)
{
	char name[300];

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	v->dmarc_state = MAILAUTH_DMARC_PENDING;
	v->dmarc_lookup = dns_lookup(v->env->dns, name, DNS_RR_TXT, mailauth_verify_dmarc_cb, v);
}

/* mailauth_verify_from - the one From: domain (RFC 7489 6.6.1), or false. */
static bool mailauth_verify_from(struct mailauth_verify *v, const struct dkim_field *from)
{
	char addrs[2][SMTP_FROM_ADDR_MAX];
	size_t len;
	const char *value = dkim_field_value(from, &len);
	const char *at;

	if (smtp_headers_from_addresses(value, len, addrs, 2) != 1 ||
	    (at = strrchr(addrs[0], '@')) == NULL || strlen(at + 1) >= sizeof(v->from_domain))
		return false;
	for (size_t i = 0; at[i + 1] != '\0'; i++)
		v->from_domain[i] = (char)tolower((unsigned char)at[i + 1]);
	v->from_domain[strlen(at + 1)] = '\0';
	return v->from_domain[0] != '\0';
}

/* mailauth_verify_strip - keep the header section without forged Authentication-Results: fields. */
static void mailauth_verify_strip(struct mailauth_verify *v)
{
	const struct mailauth_stream *st = &v->stream;
	char *out;
	size_t n;

	if (st->head_len == 0)
		return;
	out = xmalloc(st->head_len);
	n = mailauth_strip_authres(st->head, st->head_len, v->env->hostname, out);
	if (n == st->head_len) {
		free(out);
		return;
	}
	v->stripped = out;
	v->stripped_len = n;
}

void mailauth_verify_head(struct mailauth_verify *v)
{
	const struct dkim_field *from = NULL;
	size_t n_from = 0;
	const char *error;

	mailauth_verify_strip(v);
	v->dmarc_state = MAILAUTH_DMARC_BADFROM;
	if (v->stream.head_over ||
	    dkim_headers_parse(v->stream.head, v->stream.head_len, &v->headers, &error) < 0)
		return;
	for (size_t i = 0; i < v->headers.n; i++) {
		const struct dkim_field *f = &v->headers.fields[i];
		if (dkim_field_is(f, "DKIM-Signature") && v->n_sigs < MAILAUTH_MAX_SIGS)
			mailauth_verify_sig(v, i);
		if (dkim_field_is(f, "From") && n_from++ == 0)
			from = f;
	}
	if (n_from != 1 || !mailauth_verify_from(v, from))
		return;
	v->pending++;
	mailauth_verify_dmarc_lookup(v, v->from_domain);
}

/* mailauth_verify_sig_result - one signature's verdict once its key is known. */
static void mailauth_verify_sig_result(struct mailauth_sig *s)
{
	uint8_t bh[DKIM_MAX_DIGEST];
	size_t bh_len;

	if (!s->parsed)
		return;
	if (s->key_state == MAILAUTH_KEY_PENDING || s->key_state == MAILAUTH_KEY_TEMP) {
		s->result = DKIM_TEMPERROR;
		s->reason = "key lookup failed";
	} else if (s->key_state == MAILAUTH_KEY_NONE) {
		s->result = DKIM_PERMERROR;
		s->reason = "no key";
	} else {
		bh_len = dkim_body_final(s->body, bh);
		s->result = dkim_verify(&s->v->headers, s->field, &s->sig, &s->key, bh, bh_len,
					time(NULL), &s->reason);
	}
}

void mailauth_verify_dkim_results(struct mailauth_verify *v)
{
	for (size_t i = 0; i < v->n_sigs; i++)
		mailauth_verify_sig_result(&v->sigs[i]);
}

void mailauth_verify_cancel_head(struct mailauth_verify *v)
{
	for (size_t i = 0; i < v->n_sigs; i++)
		dns_lookup_cancel(&v->sigs[i].lookup);
	if (v->dmarc_lookup != NULL) {
		dns_lookup_cancel(&v->dmarc_lookup);
		v->dmarc_state = MAILAUTH_DMARC_TEMP;
	}
}

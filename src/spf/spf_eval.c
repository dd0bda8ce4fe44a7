/*
 * spf_eval - check_host() (RFC 7208 4, 5, 6) as a state machine. Each call
 * of spf_eval_next feeds the answer to the question asked last, then steps
 * until a new question or the result. Includes are a stack of frames (at
 * most 11: every include counts against the 10-lookup limit); redirect
 * replaces the current frame. A term whose domain-spec needs %{p}, and the
 * ptr mechanism, first run the PTR validation (spf_eval_ptr.c), then run
 * again from the start.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf/spf_eval_private.h"
#include "util/xalloc.h"

/* spf_eval_finish - the result is known; no more questions. */
void spf_eval_finish(struct spf_eval *e, enum spf_result r)
{
	e->result = r;
	e->done = true;
	e->wait = SPF_W_NONE;
	e->in_mx = e->in_exp = false;
}

/* spf_eval_error - end with temperror or permerror, and say why. */
void spf_eval_error(struct spf_eval *e, enum spf_result r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->problem, sizeof(e->problem), fmt, ap);
	va_end(ap);
	spf_eval_finish(e, r);
}

/* spf_eval_ask - ask the question name/type; the answer goes to the handler for w. */
void spf_eval_ask(struct spf_eval *e, enum spf_wait w, const char *name, enum dns_rrtype type)
{
	if (name != e->qname)
		snprintf(e->qname, sizeof(e->qname), "%s", name);
	e->wait = w;
	e->qtype = type;
	e->queries++;
}

/* spf_eval_addr_type - A for an IPv4 client, AAAA for IPv6. */
enum dns_rrtype spf_eval_addr_type(const struct spf_eval *e)
{
	return e->family == AF_INET6 ? DNS_RR_AAAA : DNS_RR_A;
}

/* spf_eval_void - count a void lookup (4.6.4); -1 (and permerror) past the limit. */
int spf_eval_void(struct spf_eval *e)
{
	if (++e->voids <= SPF_MAX_VOID)
		return 0;
	spf_eval_error(e, SPF_PERMERROR, "more than %d void lookups (last: %s)", SPF_MAX_VOID, e->qname);
	return -1;
}

/* spf_eval_is_void - NXDOMAIN or no records: a void lookup. */
bool spf_eval_is_void(const struct dns_answer *a)
{
	return a->rcode == DNS_R_NXDOMAIN || (a->rcode == DNS_R_OK && a->n == 0);
}

/* spf_eval_prefix_match - do the first bits bits of x and y agree? */
static bool spf_eval_prefix_match(const uint8_t *x, const uint8_t *y, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(x, y, bytes) != 0)
		return false;
	return rest == 0 || ((x[bytes] ^ y[bytes]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* spf_eval_ip_in - is the client in net/cidr (cidr4 or cidr6 by the client's family)? */
bool spf_eval_ip_in(const struct spf_eval *e, int family, const uint8_t *net, unsigned cidr4, unsigned cidr6)
{
	if (family != e->family)
		return false;
	return spf_eval_prefix_match(e->ip, net, family == AF_INET6 ? cidr6 : cidr4);
}

/* spf_eval_answer_matches - does any address in an A/AAAA answer hold the client (with the CIDR lengths)? */
bool spf_eval_answer_matches(const struct spf_eval *e, const struct dns_answer *a, unsigned cidr4, unsigned cidr6)
{
	uint8_t ip[16];

	if (a->rcode != DNS_R_OK || a->rr == NULL)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->rr[i] != NULL && inet_pton(e->family, a->rr[i], ip) == 1 &&
		    spf_eval_ip_in(e, e->family, ip, cidr4, cidr6))
			return true;
	return false;
}

/* spf_eval_ctx - the macro values for the current frame. */
static void spf_eval_ctx(const struct spf_eval *e, struct spf_macro_ctx *ctx)
{
	const char *d = e->frames[e->depth].domain;

	*ctx = (struct spf_macro_ctx){
		.sender = e->sender,
		.local = e->local,
		.sender_domain = e->sender_domain,
		.domain = d,
		.helo = e->helo,
		.receiver = e->receiver,
		.ptr_name = spf_eval_ptr_pick(e, d),
		.family = e->family,
		.ip = e->ip,
		.now = e->now,
	};
}

/*
 * spf_eval_expand_name - expand spec (NULL: the current domain) into
 * e->qname as a query name (7.3 truncation). 1 ready; 0 when the PTR
 * validation must run first (a question is out); -1 when the result is no
 * DNS name.
 */
int spf_eval_expand_name(struct spf_eval *e, const char *spec, size_t len)
{
	struct spf_macro_ctx ctx;
	const char *err;
	size_t n;

	if (spec == NULL) {
		snprintf(e->qname, sizeof(e->qname), "%s", e->frames[e->depth].domain);
		return 1;
	}
	if (spf_macro_uses_p(spec, len) && e->ptr_state != SPF_PTR_DONE) {
		spf_eval_ptr_start(e);
		return 0;
	}
	spf_eval_ctx(e, &ctx);
	if (spf_macro_expand(spec, len, false, &ctx, e->qname, sizeof(e->qname), &n, &err) < 0)
		return -1;
	return spf_domain_truncate(e->qname) < 0 ? -1 : 1;
}

/* spf_eval_frame_clear - release a frame's record. */
static void spf_eval_frame_clear(struct spf_frame *f)
{
	spf_record_free(&f->rec);
	free(f->text);
	f->text = NULL;
	f->loaded = false;
	f->term_i = 0;
}

/* spf_eval_set_domain - an include or redirect target (checked by spf_domain_truncate, so it fits) becomes f's domain. */
static void spf_eval_set_domain(struct spf_frame *f, const char *name)
{
	size_t n = strnlen(name, SPF_DOMAIN_MAX);

	memcpy(f->domain, name, n);
	f->domain[n] = '\0';
	f->must_exist = true;
}

/*
 * spf_eval_frame_result - the current record's result r. Inside an include,
 * pass makes the include match (its qualifier is the parent's result);
 * fail, softfail and neutral make it not match (5.2). At the top, a fail
 * with exp= goes on to fetch the explanation.
 */
void spf_eval_frame_result(struct spf_eval *e, enum spf_result r)
{
	struct spf_frame *p;

	while (e->depth > 0) {
		spf_eval_frame_clear(&e->frames[e->depth--]);
		p = &e->frames[e->depth];
		if (r != SPF_PASS) {
			p->term_i++;
			return;
		}
		r = p->rec.terms[p->term_i].qualifier;
	}
	if (r == SPF_FAIL && e->frames[0].rec.exp != NULL)
		e->in_exp = true;
	else
		spf_eval_finish(e, r);
}

/* spf_eval_push - evaluate the include target in e->qname in a new frame. */
static void spf_eval_push(struct spf_eval *e)
{
	struct spf_frame *f;

	if (e->depth + 1 >= SPF_MAX_DEPTH) {
		spf_eval_error(e, SPF_PERMERROR, "includes nested too deep");
		return;
	}
	f = &e->frames[++e->depth];
	spf_eval_set_domain(f, e->qname);
}

/* spf_eval_lookup_limit - -1 (and permerror) when another DNS term would pass the limit (4.6.4). */
static int spf_eval_lookup_limit(struct spf_eval *e)
{
	if (e->lookups < SPF_MAX_LOOKUPS)
		return 0;
	spf_eval_error(e, SPF_PERMERROR, "more than %d DNS-querying terms", SPF_MAX_LOOKUPS);
	return -1;
}

/* spf_eval_dns_term - include, a, mx, ptr, exists: count it, find the target name, ask. */
static void spf_eval_dns_term(struct spf_eval *e, struct spf_frame *f, const struct spf_term *t)
{
	int rc;

	if (spf_eval_lookup_limit(e) < 0)
		return;
	if (t->mech == SPF_M_PTR && e->ptr_state != SPF_PTR_DONE) {
		spf_eval_ptr_start(e);
		return;
	}
	if ((rc = spf_eval_expand_name(e, t->spec, t->spec_len)) == 0)
		return;
	e->lookups++;
	if (rc < 0 && t->mech == SPF_M_INCLUDE)
		spf_eval_error(e, SPF_PERMERROR, "include target is no domain name");
	else if (rc < 0)
		f->term_i++; /* no such name: no match (4.3, 5/10/3) */
	else if (t->mech == SPF_M_INCLUDE)
		spf_eval_push(e);
	else if (t->mech == SPF_M_A)
		spf_eval_ask(e, SPF_W_A, e->qname, spf_eval_addr_type(e));
	else if (t->mech == SPF_M_MX)
		spf_eval_ask(e, SPF_W_MX, e->qname, DNS_RR_MX);
	else if (t->mech == SPF_M_EXISTS)
		spf_eval_ask(e, SPF_W_EXISTS, e->qname, DNS_RR_A);
	else
		spf_eval_ptr_term(e, f, t);
}

/* spf_eval_term - evaluate the current frame's current mechanism. */
static void spf_eval_term(struct spf_eval *e, struct spf_frame *f, const struct spf_term *t)
{
	if (t->mech == SPF_M_ALL)
		spf_eval_frame_result(e, t->qualifier);
	else if (t->mech == SPF_M_IP4 || t->mech == SPF_M_IP6) {
		if (spf_eval_ip_in(e, t->mech == SPF_M_IP4 ? AF_INET : AF_INET6, t->ip, t->cidr4, t->cidr6))
			spf_eval_frame_result(e, t->qualifier);
		else
			f->term_i++;
	} else {
		spf_eval_dns_term(e, f, t);
	}
}

/* spf_eval_record_end - no mechanism matched: redirect= (6.1), else neutral (4.7). */
static void spf_eval_record_end(struct spf_eval *e, struct spf_frame *f)
{
	int rc;

	if (f->rec.redirect == NULL) {
		spf_eval_frame_result(e, SPF_NEUTRAL);
		return;
	}
	if (spf_eval_lookup_limit(e) < 0 || (rc = spf_eval_expand_name(e, f->rec.redirect, f->rec.redirect_len)) == 0)
		return;
	e->lookups++;
	if (rc < 0) {
		spf_eval_error(e, SPF_PERMERROR, "redirect target is no domain name");
		return;
	}
	spf_eval_frame_clear(f);
	spf_eval_set_domain(f, e->qname);
}

/* spf_eval_exp_step - fetch exp= text and expand it (6.2); any problem there means no explanation. */
static void spf_eval_exp_step(struct spf_eval *e, struct spf_frame *f)
{
	struct spf_macro_ctx ctx;
	char buf[SPF_EXPAND_MAX];
	const char *err;
	size_t n;
	int rc;

	if (e->exp_text == NULL) {
		if ((rc = spf_eval_expand_name(e, f->rec.exp, f->rec.exp_len)) > 0)
			spf_eval_ask(e, SPF_W_EXP, e->qname, DNS_RR_TXT);
		else if (rc < 0)
			spf_eval_finish(e, SPF_FAIL);
		return;
	}
	if (spf_macro_uses_p(e->exp_text, strlen(e->exp_text)) && e->ptr_state != SPF_PTR_DONE) {
		spf_eval_ptr_start(e);
		return;
	}
	spf_eval_ctx(e, &ctx);
	if (spf_macro_expand(e->exp_text, strlen(e->exp_text), true, &ctx, buf, sizeof(buf), &n, &err) == 0)
		e->explanation = xstrdup(buf);
	spf_eval_finish(e, SPF_FAIL);
}

/* spf_eval_step - one move: ask a question, advance a term, or end. */
static void spf_eval_step(struct spf_eval *e)
{
	struct spf_frame *f = &e->frames[e->depth];

	if (e->ptr_state == SPF_PTR_RUNNING)
		spf_eval_ptr_next(e);
	else if (e->in_mx)
		spf_eval_mx_next(e, f);
	else if (e->in_exp)
		spf_eval_exp_step(e, f);
	else if (!f->loaded)
		spf_eval_ask(e, SPF_W_RECORD, f->domain, DNS_RR_TXT);
	else if (f->term_i < f->rec.n_terms)
		spf_eval_term(e, f, &f->rec.terms[f->term_i]);
	else
		spf_eval_record_end(e, f);
}

enum spf_step spf_eval_next(struct spf_eval *e, const struct dns_answer *answer, const char **name_r,
			    enum dns_rrtype *type_r)
{
	static const struct dns_answer temp = { DNS_R_TEMP, 0, NULL };
	enum spf_wait w = e->wait;

	if (w != SPF_W_NONE) {
		e->wait = SPF_W_NONE;
		spf_eval_answer(e, w, answer != NULL ? answer : &temp);
	}
	while (!e->done && e->wait == SPF_W_NONE)
		spf_eval_step(e);
	if (e->done)
		return SPF_STEP_DONE;
	*name_r = e->qname;
	*type_r = e->qtype;
	return SPF_STEP_QUERY;
}

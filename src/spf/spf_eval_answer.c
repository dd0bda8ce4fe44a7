/*
 * spf_eval_answer - what each DNS answer does to the check_host() state
 * machine: the SPF record (4.4, 4.5), a (5.3), mx (5.4), exists (5.7) and
 * exp= (6.2). A DNS error (timeout, SERVFAIL) in a mechanism's lookup is a
 * temperror (5); in exp= it only drops the explanation.
 */
#include <stdlib.h>
#include <string.h>

#include "spf/spf_eval_private.h"
#include "util/xalloc.h"

/* spf_eval_term_now - the current frame's current mechanism. */
static const struct spf_term *spf_eval_term_now(const struct spf_eval *e)
{
	const struct spf_frame *f = &e->frames[e->depth];

	return &f->rec.terms[f->term_i];
}

/* spf_eval_temp - a DNS error: temperror, and 1; or 0. */
static int spf_eval_temp(struct spf_eval *e, const struct dns_answer *a)
{
	if (a->rcode != DNS_R_TEMP)
		return 0;
	spf_eval_error(e, SPF_TEMPERROR, "DNS error looking up %s", e->qname);
	return 1;
}

/* spf_eval_select - the one v=spf1 record among the TXT records (4.5); how many there were. */
static size_t spf_eval_select(const struct dns_answer *a, const char **txt_r)
{
	size_t found = 0;

	*txt_r = NULL;
	for (size_t i = 0; a->rcode == DNS_R_OK && i < a->n; i++) {
		if (a->rr[i] == NULL || !spf_record_is_spf1(a->rr[i], strlen(a->rr[i])))
			continue;
		if (found++ == 0)
			*txt_r = a->rr[i];
	}
	return found;
}

/* spf_eval_on_record - the TXT records of the current frame's domain. */
static void spf_eval_on_record(struct spf_eval *e, const struct dns_answer *a)
{
	struct spf_frame *f = &e->frames[e->depth];
	const char *txt, *err;
	size_t found;

	if (spf_eval_temp(e, a))
		return;
	if ((found = spf_eval_select(a, &txt)) == 0) {
		if (f->must_exist)
			spf_eval_error(e, SPF_PERMERROR, "no SPF record at include/redirect target %s", f->domain);
		else
			spf_eval_finish(e, SPF_NONE);
		return;
	}
	if (found > 1) {
		spf_eval_error(e, SPF_PERMERROR, "%zu SPF records at %s", found, f->domain);
		return;
	}
	f->text = xstrdup(txt);
	if (spf_record_parse(f->text, strlen(f->text), &f->rec, &err) < 0) {
		spf_eval_error(e, SPF_PERMERROR, "SPF record of %s: %s", f->domain, err);
		return;
	}
	f->loaded = true;
	f->term_i = 0;
}

/* spf_eval_on_a - a: the target's addresses, any of them within the CIDR lengths. */
static void spf_eval_on_a(struct spf_eval *e, const struct dns_answer *a)
{
	const struct spf_term *t = spf_eval_term_now(e);

	if (spf_eval_temp(e, a) || (spf_eval_is_void(a) && spf_eval_void(e) < 0))
		return;
	if (spf_eval_answer_matches(e, a, t->cidr4, t->cidr6))
		spf_eval_frame_result(e, t->qualifier);
	else
		e->frames[e->depth].term_i++;
}

/* spf_eval_on_exists - exists: any A record matches, whatever the address. */
static void spf_eval_on_exists(struct spf_eval *e, const struct dns_answer *a)
{
	if (spf_eval_temp(e, a))
		return;
	if (!spf_eval_is_void(a))
		spf_eval_frame_result(e, spf_eval_term_now(e)->qualifier);
	else if (spf_eval_void(e) == 0)
		e->frames[e->depth].term_i++;
}

/* spf_eval_on_mx - mx: keep the MX names (null MX left out); more than 10 is a permerror (4.6.4). */
static void spf_eval_on_mx(struct spf_eval *e, const struct dns_answer *a)
{
	if (spf_eval_temp(e, a) || (spf_eval_is_void(a) && spf_eval_void(e) < 0))
		return;
	e->n_mx = e->mx_i = 0;
	for (size_t i = 0; a->rcode == DNS_R_OK && i < a->n; i++) {
		if (a->rr[i] == NULL || a->rr[i][0] == '\0' || strcmp(a->rr[i], ".") == 0)
			continue;
		if (e->n_mx == SPF_MAX_NAMES) {
			spf_eval_error(e, SPF_PERMERROR, "more than %d MX names at %s", SPF_MAX_NAMES, e->qname);
			return;
		}
		if (strlen(a->rr[i]) >= sizeof(e->mx_names[0]))
			e->mx_names[e->n_mx++][0] = '\0'; /* no DNS name: skipped */
		else
			strcpy(e->mx_names[e->n_mx++], a->rr[i]);
	}
	e->in_mx = true;
}

/* spf_eval_mx_next - ask for the next MX name's addresses, or end the mx without a match. */
void spf_eval_mx_next(struct spf_eval *e, struct spf_frame *f)
{
	if (e->mx_i >= e->n_mx) {
		e->in_mx = false;
		f->term_i++;
		return;
	}
	strcpy(e->qname, e->mx_names[e->mx_i]);
	if (spf_domain_truncate(e->qname) < 0) {
		e->mx_i++;
		return;
	}
	spf_eval_ask(e, SPF_W_MX_ADDR, e->qname, spf_eval_addr_type(e));
}

/* spf_eval_on_mx_addr - one MX name's addresses. */
static void spf_eval_on_mx_addr(struct spf_eval *e, const struct dns_answer *a)
{
	const struct spf_term *t = spf_eval_term_now(e);

	if (spf_eval_temp(e, a))
		return;
	if (spf_eval_answer_matches(e, a, t->cidr4, t->cidr6)) {
		e->in_mx = false;
		spf_eval_frame_result(e, t->qualifier);
		return;
	}
	e->mx_i++;
}

/* spf_eval_on_exp - the exp= TXT: exactly one record, or no explanation (6.2). */
static void spf_eval_on_exp(struct spf_eval *e, const struct dns_answer *a)
{
	if (a->rcode != DNS_R_OK || a->n != 1 || a->rr[0] == NULL) {
		spf_eval_finish(e, SPF_FAIL);
		return;
	}
	e->exp_text = xstrdup(a->rr[0]);
}

/* spf_eval_answer - hand the answer to the question asked for w to its handler. */
void spf_eval_answer(struct spf_eval *e, enum spf_wait w, const struct dns_answer *answer)
{
	struct dns_answer a = *answer;

	if (a.rr == NULL || a.rcode != DNS_R_OK)
		a.n = 0;
	switch (w) {
	case SPF_W_RECORD: spf_eval_on_record(e, &a); break;
	case SPF_W_A: spf_eval_on_a(e, &a); break;
	case SPF_W_MX: spf_eval_on_mx(e, &a); break;
	case SPF_W_MX_ADDR: spf_eval_on_mx_addr(e, &a); break;
	case SPF_W_PTR: spf_eval_ptr_answer(e, &a); break;
	case SPF_W_PTR_ADDR: spf_eval_ptr_addr_answer(e, &a); break;
	case SPF_W_EXISTS: spf_eval_on_exists(e, &a); break;
	case SPF_W_EXP: spf_eval_on_exp(e, &a); break;
	case SPF_W_NONE: break;
	}
}

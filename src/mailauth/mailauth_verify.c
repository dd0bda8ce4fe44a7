/* mailauth_verify - SPF, then the verdict: DMARC, Authentication-Results:, the action. */
#include "mailauth/mailauth_verify.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmarc/authres.h"
#include "dns/dns.h"
#include "mailauth/mailauth_verify_internal.h"
#include "util/xalloc.h"

static void mailauth_verify_spf_step(struct mailauth_verify *v, const struct dns_answer *answer);

/* mailauth_verify_spf_cb - an SPF lookup answered. */
static void mailauth_verify_spf_cb(void *arg, const struct dns_answer *answer)
{
	struct mailauth_verify *v = arg;

	v->spf_lookup = NULL;
	mailauth_verify_spf_step(v, answer);
}

/* mailauth_verify_spf_step - feed the evaluator until it needs DNS or knows. */
static void mailauth_verify_spf_step(struct mailauth_verify *v, const struct dns_answer *answer)
{
	const char *name;
	enum dns_rrtype type;

	if (spf_eval_next(v->spf, answer, &name, &type) == SPF_STEP_QUERY) {
		v->spf_lookup = dns_lookup(v->env->dns, name, type, mailauth_verify_spf_cb, v);
		return;
	}
	v->spf_result = spf_eval_result(v->spf);
	v->spf_done = true;
	mailauth_verify_settle(v);
}

/* mailauth_verify_spf_input - the client's address for SPF. */
static void mailauth_verify_spf_input(struct spf_input *in, const struct sockaddr *client)
{
	if (client->sa_family == AF_INET6) {
		in->family = AF_INET6;
		memcpy(in->ip, &((const struct sockaddr_in6 *)client)->sin6_addr, 16);
	} else {
		in->family = AF_INET;
		memcpy(in->ip, &((const struct sockaddr_in *)client)->sin_addr, 4);
	}
}

static void mailauth_verify_timer_cb(evutil_socket_t fd, short what, void *arg);

struct mailauth_verify *mailauth_verify_new(const struct mailauth_env *env, const struct sockaddr *client,
					    const char *helo, const char *mail_from)
{
	struct mailauth_verify *v = xcalloc(1, sizeof(*v));
	struct spf_input in = { 0 };

	v->env = env;
	v->helo = xstrdup(helo != NULL ? helo : "");
	v->mail_from = xstrdup(mail_from);
	mailauth_stream_init(&v->stream);
	v->timer = evtimer_new(env->base, mailauth_verify_timer_cb, v);
	mailauth_verify_spf_input(&in, client);
	in.sender = v->mail_from;
	in.helo = v->helo;
	in.receiver = env->hostname;
	in.now = time(NULL);
	v->spf = spf_eval_new(&in);
	v->pending = 1;
	mailauth_verify_spf_step(v, NULL);
	return v;
}

void mailauth_verify_text(struct mailauth_verify *v, const char *text, size_t len)
{
	size_t n = v->stream.in_body ? 0 : mailauth_stream_head(&v->stream, text, len);

	if (v->stream.in_body && !v->head_seen) {
		v->head_seen = true;
		mailauth_verify_head(v);
	}
	if (n < len)
		mailauth_stream_body(&v->stream, text + n, len - n);
}

void mailauth_verify_settle(struct mailauth_verify *v)
{
	v->pending--;
	if (v->finishing && v->pending == 0)
		event_active(v->timer, EV_TIMEOUT, 0);
}

void mailauth_verify_finish(struct mailauth_verify *v,
			    void (*done_cb)(void *arg, const struct mailauth_verdict *verdict), void *arg)
{
	struct timeval tv = { MAILAUTH_TIMEOUT, 0 };

	if (!v->head_seen) { /* a message of headers only */
		v->head_seen = true;
		mailauth_verify_head(v);
	}
	v->done_cb = done_cb;
	v->done_arg = arg;
	v->finishing = true;
	if (v->pending == 0)
		tv.tv_sec = 0;
	evtimer_add(v->timer, &tv);
}

/* mailauth_verify_dmarc - the DMARC result and the policy it asks for. */
static enum dmarc_result mailauth_verify_dmarc(struct mailauth_verify *v, enum dmarc_policy *apply_r)
{
	const char *pass[MAILAUTH_MAX_SIGS];
	struct dmarc_input in = { .from_domain = v->from_domain, .dkim_pass_domains = pass };

	*apply_r = DMARC_P_NONE;
	for (size_t i = 0; i < v->n_sigs; i++) {
		if (v->sigs[i].result == DKIM_PASS)
			pass[in.n_dkim_pass++] = v->sigs[i].sig.d;
	}
	in.spf_pass = v->spf_result == SPF_PASS;
	in.spf_domain = spf_eval_domain(v->spf);
	switch (v->dmarc_state) {
	case MAILAUTH_DMARC_FOUND:
		return dmarc_evaluate(v->env->psl, &in, &v->dmarc, v->dmarc_at_org,
				      (int)arc4random_uniform(100), apply_r);
	case MAILAUTH_DMARC_PENDING:
	case MAILAUTH_DMARC_TEMP:
		return DMARC_TEMPERROR;
	case MAILAUTH_DMARC_BADFROM:
		return DMARC_PERMERROR;
	default:
		return DMARC_NONE;
	}
}

/* mailauth_verify_header - the Authentication-Results: field. */
static char *mailauth_verify_header(struct mailauth_verify *v, const char *dmarc,
				    enum dmarc_policy apply)
{
	struct authres_dkim dkim[MAILAUTH_MAX_SIGS];
	struct authres ar = {
		.hostname = v->env->hostname, .spf = spf_result_name(v->spf_result),
		.spf_mailfrom = v->mail_from[0] != '\0' ? v->mail_from : NULL,
		.spf_helo = v->mail_from[0] == '\0' ? v->helo : NULL, .dkim = dkim,
		.n_dkim = v->n_sigs, .dmarc = dmarc,
		.dmarc_from = v->from_domain[0] != '\0' ? v->from_domain : NULL,
	};

	for (size_t i = 0; i < v->n_sigs; i++) {
		const struct mailauth_sig *s = &v->sigs[i];
		dkim[i] = (struct authres_dkim){ .result = dkim_result_name(s->result),
						 .d = s->parsed ? s->sig.d : NULL,
						 .s = s->parsed ? s->sig.s : NULL,
						 .b8 = s->b8[0] != '\0' ? s->b8 : NULL,
						 .reason = s->result != DKIM_PASS ? s->reason : NULL };
	}
	if (v->dmarc_state == MAILAUTH_DMARC_FOUND) {
		ar.dmarc_p = dmarc_policy_name(v->dmarc.p);
		ar.dmarc_policy = dmarc_policy_name(apply);
	}
	return authres_format(&ar);
}

/* mailauth_verify_action - what the DMARC outcome asks for, with inbound.dmarc_enforce. */
static void mailauth_verify_action(struct mailauth_verify *v, enum dmarc_result r,
				   enum dmarc_policy apply)
{
	struct mailauth_verdict *vd = &v->verdict;

	vd->action = MAILAUTH_DELIVER;
	if (!v->env->enforce || r != DMARC_FAIL)
		return;
	if (apply == DMARC_P_REJECT) {
		vd->action = MAILAUTH_REJECT;
		snprintf(vd->reply, sizeof(vd->reply),
			 "550 5.7.1 Message rejected: the DMARC policy of %.253s (p=reject) failed",
			 v->from_domain);
	} else if (apply == DMARC_P_QUARANTINE) {
		vd->action = MAILAUTH_JUNK;
	}
}

/* mailauth_verify_conclude - every lookup answered or gave up: the verdict. */
static void mailauth_verify_conclude(struct mailauth_verify *v)
{
	struct mailauth_verdict *vd = &v->verdict;
	enum dmarc_policy apply;
	enum dmarc_result r;

	if (!v->spf_done) {
		dns_lookup_cancel(&v->spf_lookup);
		v->spf_result = SPF_TEMPERROR;
		v->spf_done = true;
	}
	mailauth_verify_cancel_head(v);
	mailauth_verify_dkim_results(v);
	r = mailauth_verify_dmarc(v, &apply);
	vd->spf = spf_result_name(v->spf_result);
	vd->dmarc = dmarc_result_name(r);
	vd->dkim = v->n_sigs == 0 ? "none" : dkim_result_name(v->sigs[0].result);
	for (size_t i = 0; i < v->n_sigs; i++) {
		if (v->sigs[i].result == DKIM_PASS)
			vd->dkim = "pass";
	}
	vd->header = mailauth_verify_header(v, vd->dmarc, apply);
	mailauth_verify_action(v, r, apply);
}

/* mailauth_verify_timer_cb - the lookups are done, or MAILAUTH_TIMEOUT passed. */
static void mailauth_verify_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mailauth_verify *v = arg;

	(void)fd;
	(void)what;
	evtimer_del(v->timer);
	if (v->reported)
		return;
	v->reported = true;
	mailauth_verify_conclude(v);
	v->done_cb(v->done_arg, &v->verdict);
}

bool mailauth_verify_forged(const struct mailauth_verify *v, const char **head_r, size_t *head_len_r,
			    const char **text_r, size_t *len_r)
{
	if (v->stripped == NULL)
		return false;
	*head_r = v->stream.head;
	*head_len_r = v->stream.head_len;
	*text_r = v->stripped;
	*len_r = v->stripped_len;
	return true;
}

void mailauth_verify_free(struct mailauth_verify **vp)
{
	struct mailauth_verify *v = *vp;

	if (v == NULL)
		return;
	dns_lookup_cancel(&v->spf_lookup);
	mailauth_verify_cancel_head(v);
	for (size_t i = 0; i < v->n_sigs; i++) {
		dkim_sig_clear(&v->sigs[i].sig);
		dkim_key_clear(&v->sigs[i].key);
	}
	dkim_headers_clear(&v->headers);
	mailauth_stream_clear(&v->stream);
	spf_eval_free(&v->spf);
	event_free(v->timer);
	free(v->verdict.header);
	free(v->stripped);
	free(v->helo);
	free(v->mail_from);
	free(v);
	*vp = NULL;
}

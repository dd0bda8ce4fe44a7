/*
 * spf_eval_input - a new evaluation from the SMTP session's facts (RFC 7208
 * 4.1, 4.3, 2.4): the identity checked, its validity, the client address
 * (IPv4-mapped IPv6 counts as IPv4, 5/9/2); and the accessors.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf/spf_eval_private.h"
#include "util/xalloc.h"

/* spf_eval_domain_ok - a domain check_host() can start from (4.3): a dotted name, labels 1..63, no literal. */
static bool spf_eval_domain_ok(const char *d)
{
	char buf[SPF_DOMAIN_MAX + 2];
	size_t n = strlen(d);

	if (n == 0 || n >= sizeof(buf) || d[0] == '[' || strchr(d, '.') == NULL || strchr(d, ' ') != NULL)
		return false;
	memcpy(buf, d, n + 1);
	if (spf_domain_truncate(buf) < 0 || strlen(buf) != n - (d[n - 1] == '.'))
		return false;
	return strchr(buf, '.') != NULL;
}

/* spf_eval_identity - <sender>, its local-part and domain; <> is postmaster@HELO (2.4), no local-part is postmaster (4.3). */
static void spf_eval_identity(struct spf_eval *e, const char *sender, const char *helo)
{
	const char *at = sender != NULL ? strrchr(sender, '@') : NULL;

	e->helo = xstrdup(helo != NULL ? helo : "");
	if (sender == NULL || sender[0] == '\0') {
		e->local = xstrdup("postmaster");
		e->sender_domain = xstrdup(e->helo);
	} else if (at == NULL) {
		e->local = xstrdup("postmaster");
		e->sender_domain = xstrdup(sender);
	} else {
		e->local = at == sender ? xstrdup("postmaster") : xstrndup(sender, (size_t)(at - sender));
		e->sender_domain = xstrdup(at + 1);
	}
	e->sender = xasprintf("%s@%s", e->local, e->sender_domain);
}

/* spf_eval_client - the client's address; IPv4-mapped IPv6 is IPv4. */
static void spf_eval_client(struct spf_eval *e, const struct spf_input *in)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	e->family = in->family == AF_INET6 ? AF_INET6 : AF_INET;
	memcpy(e->ip, in->ip, e->family == AF_INET6 ? 16 : 4);
	if (e->family == AF_INET6 && memcmp(e->ip, mapped, sizeof(mapped)) == 0) {
		e->family = AF_INET;
		memmove(e->ip, e->ip + 12, 4);
		memset(e->ip + 4, 0, 12);
	}
}

struct spf_eval *spf_eval_new(const struct spf_input *in)
{
	struct spf_eval *e = xcalloc(1, sizeof(*e));
	size_t n;

	spf_eval_client(e, in);
	spf_eval_identity(e, in->sender, in->helo);
	e->receiver = in->receiver != NULL ? xstrdup(in->receiver) : NULL;
	e->now = in->now;
	snprintf(e->domain, sizeof(e->domain), "%s", e->sender_domain);
	if ((n = strlen(e->domain)) > 0 && e->domain[n - 1] == '.')
		e->domain[n - 1] = '\0';
	if (!spf_eval_domain_ok(e->sender_domain)) {
		snprintf(e->problem, sizeof(e->problem), "not a domain name: %.*s", SPF_DOMAIN_MAX, e->sender_domain);
		spf_eval_finish(e, SPF_NONE);
	}
	memcpy(e->frames[0].domain, e->domain, sizeof(e->domain));
	return e;
}

enum spf_result spf_eval_result(const struct spf_eval *e)
{
	return e->done ? e->result : SPF_TEMPERROR;
}

const char *spf_eval_domain(const struct spf_eval *e)
{
	return e->domain;
}

const char *spf_eval_explanation(const struct spf_eval *e)
{
	return e->done && e->result == SPF_FAIL ? e->explanation : NULL;
}

const char *spf_eval_problem(const struct spf_eval *e)
{
	return e->problem[0] != '\0' ? e->problem : NULL;
}

unsigned spf_eval_queries(const struct spf_eval *e)
{
	return e->queries;
}

void spf_eval_free(struct spf_eval **ep)
{
	struct spf_eval *e = *ep;

	if (e == NULL)
		return;
	for (int i = 0; i < SPF_MAX_DEPTH; i++) {
		spf_record_free(&e->frames[i].rec);
		free(e->frames[i].text);
	}
	free(e->sender);
	free(e->local);
	free(e->sender_domain);
	free(e->helo);
	free(e->receiver);
	free(e->exp_text);
	free(e->explanation);
	free(e);
	*ep = NULL;
}

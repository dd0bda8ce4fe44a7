/*
 * spf_eval_ptr - the client's validated domain names (RFC 7208 5.5), found
 * once per evaluation and shared by the ptr mechanism and the %{p} macro
 * (7.3): the PTR names of the client's address (the first 10), each kept
 * when its A or AAAA records include the client. A DNS error on the PTR
 * lookup means no names; on a name's address lookup, that name is skipped.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf/spf_eval_private.h"

/* spf_eval_ptr_reverse - the in-addr.arpa or ip6.arpa name of the client. */
static void spf_eval_ptr_reverse(const struct spf_eval *e, char *buf, size_t size)
{
	size_t n = 0;

	if (e->family == AF_INET) {
		snprintf(buf, size, "%u.%u.%u.%u.in-addr.arpa", e->ip[3], e->ip[2], e->ip[1], e->ip[0]);
		return;
	}
	for (int i = 15; i >= 0; i--)
		n += (size_t)snprintf(buf + n, size - n, "%x.%x.", e->ip[i] & 15, e->ip[i] >> 4);
	snprintf(buf + n, size - n, "ip6.arpa");
}

/* spf_eval_ptr_start - ask for the client's PTR names. */
void spf_eval_ptr_start(struct spf_eval *e)
{
	char name[80];

	spf_eval_ptr_reverse(e, name, sizeof(name));
	e->ptr_state = SPF_PTR_RUNNING;
	e->n_ptr = e->ptr_i = 0;
	spf_eval_ask(e, SPF_W_PTR, name, DNS_RR_PTR);
}

/* spf_eval_ptr_answer - keep the first 10 PTR names that are DNS names (without the final dot). */
void spf_eval_ptr_answer(struct spf_eval *e, const struct dns_answer *a)
{
	char *slot;
	size_t n;

	e->ptr_void = spf_eval_is_void(a);
	for (size_t i = 0; i < a->n && i < SPF_MAX_NAMES; i++) {
		if (a->rr[i] == NULL)
			continue;
		n = strlen(a->rr[i]);
		if (n > 0 && a->rr[i][n - 1] == '.')
			n--;
		if (n == 0 || n > SPF_DOMAIN_MAX)
			continue;
		slot = e->ptr_names[e->n_ptr];
		memcpy(slot, a->rr[i], n);
		slot[n] = '\0';
		if (spf_domain_truncate(slot) == 0)
			e->ptr_ok[e->n_ptr++] = false;
	}
	if (e->n_ptr == 0)
		e->ptr_state = SPF_PTR_DONE;
}

/* spf_eval_ptr_next - ask for the next name's addresses, or finish. */
void spf_eval_ptr_next(struct spf_eval *e)
{
	if (e->ptr_i >= e->n_ptr) {
		e->ptr_state = SPF_PTR_DONE;
		return;
	}
	spf_eval_ask(e, SPF_W_PTR_ADDR, e->ptr_names[e->ptr_i], spf_eval_addr_type(e));
}

/* spf_eval_ptr_addr_answer - one name's addresses: does it validate? */
void spf_eval_ptr_addr_answer(struct spf_eval *e, const struct dns_answer *a)
{
	e->ptr_ok[e->ptr_i] = spf_eval_answer_matches(e, a, 32, 128);
	e->ptr_i++;
}

/* spf_eval_ptr_under - is name domain itself or a name below it (case-insensitive)? */
static bool spf_eval_ptr_under(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n == d)
		return strcasecmp(name, domain) == 0;
	return n > d && name[n - d - 1] == '.' && strcasecmp(name + n - d, domain) == 0;
}

/* spf_eval_ptr_term - ptr[:target] (5.5): a validated name at or below the target (in e->qname). */
void spf_eval_ptr_term(struct spf_eval *e, struct spf_frame *f, const struct spf_term *t)
{
	if (e->ptr_void && spf_eval_void(e) < 0)
		return;
	for (size_t i = 0; i < e->n_ptr; i++) {
		if (e->ptr_ok[i] && spf_eval_ptr_under(e->ptr_names[i], e->qname)) {
			spf_eval_frame_result(e, t->qualifier);
			return;
		}
	}
	f->term_i++;
}

/*
 * spf_eval_ptr_pick - %{p} (7.3): the validated name that is domain, else
 * one below it, else any; NULL ("unknown") when none validated.
 */
const char *spf_eval_ptr_pick(const struct spf_eval *e, const char *domain)
{
	const char *below = NULL, *any = NULL;

	if (e->ptr_state != SPF_PTR_DONE)
		return NULL;
	for (size_t i = 0; i < e->n_ptr; i++) {
		if (!e->ptr_ok[i])
			continue;
		if (strcasecmp(e->ptr_names[i], domain) == 0)
			return e->ptr_names[i];
		if (below == NULL && spf_eval_ptr_under(e->ptr_names[i], domain))
			below = e->ptr_names[i];
		if (any == NULL)
			any = e->ptr_names[i];
	}
	return below != NULL ? below : any;
}

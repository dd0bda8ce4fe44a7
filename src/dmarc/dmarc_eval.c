/* dmarc_eval - identifier alignment (RFC 7489 3.1) and the DMARC result and policy (6.6.2, 6.6.4). */
#include "dmarc/dmarc.h"

#include <string.h>
#include <strings.h>

/* dmarc_eval_same - equal names, ignoring ASCII case and one trailing dot; never for empty names. */
static bool dmarc_eval_same(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na > 0 && a[na - 1] == '.')
		na--;
	if (nb > 0 && b[nb - 1] == '.')
		nb--;
	return na > 0 && na == nb && strncasecmp(a, b, na) == 0;
}

bool dmarc_aligned(const struct dmarc_psl *psl, const char *a, const char *b, bool strict)
{
	char org_a[256], org_b[256];

	if (a == NULL || b == NULL)
		return false;
	if (strict)
		return dmarc_eval_same(a, b);
	dmarc_org_domain(psl, a, org_a);
	dmarc_org_domain(psl, b, org_b);
	return org_a[0] != '\0' && strcmp(org_a, org_b) == 0;
}

/* dmarc_eval_pass - did SPF or one DKIM signature pass for a domain aligned with the From domain? */
static bool dmarc_eval_pass(const struct dmarc_psl *psl, const struct dmarc_input *in,
                            const struct dmarc_record *record)
{
	if (in->spf_pass && dmarc_aligned(psl, in->spf_domain, in->from_domain, record->strict_spf))
		return true;
	for (size_t i = 0; i < in->n_dkim_pass; i++)
		if (dmarc_aligned(psl, in->dkim_pass_domains[i], in->from_domain, record->strict_dkim))
			return true;
	return false;
}

/* dmarc_eval_policy - p, or sp for a From domain below the organizational domain whose record applies. */
static enum dmarc_policy dmarc_eval_policy(const struct dmarc_psl *psl, const char *from,
                                           const struct dmarc_record *record, bool record_at_org_domain)
{
	char org[256];

	if (!record_at_org_domain)
		return record->p;
	dmarc_org_domain(psl, from, org);
	return dmarc_eval_same(org, from) ? record->p : record->sp;
}

/* dmarc_eval_sample - the policy after pct= (6.6.4): roll 0..99 below pct keeps it, else one step lower. */
static enum dmarc_policy dmarc_eval_sample(enum dmarc_policy policy, int pct, int roll)
{
	if (roll < 0)
		roll = 0;
	if (roll > 99)
		roll = 99;
	if (roll < pct)
		return policy;
	return policy == DMARC_P_REJECT ? DMARC_P_QUARANTINE : DMARC_P_NONE;
}

enum dmarc_result dmarc_evaluate(const struct dmarc_psl *psl, const struct dmarc_input *in,
                                 const struct dmarc_record *record, bool record_at_org_domain, int roll,
                                 enum dmarc_policy *apply_r)
{
	enum dmarc_policy policy;

	*apply_r = DMARC_P_NONE;
	if (record == NULL || in->from_domain == NULL || in->from_domain[0] == '\0')
		return DMARC_NONE;
	if (dmarc_eval_pass(psl, in, record))
		return DMARC_PASS;
	policy = dmarc_eval_policy(psl, in->from_domain, record, record_at_org_domain);
	*apply_r = dmarc_eval_sample(policy, record->pct, roll);
	return DMARC_FAIL;
}

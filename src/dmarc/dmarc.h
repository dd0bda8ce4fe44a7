/*
 * dmarc - pure DMARC (RFC 7489): the policy record parser, the
 * organizational domain from the Public Suffix List, and the evaluation
 * (identifier alignment, sp=, pct=). No DNS and no I/O here: the caller
 * looks up _dmarc.FROMDOMAIN (then _dmarc.ORGDOMAIN, RFC 7489 6.6.3) and
 * hands in strings and booleans; SPF and DKIM results come in as plain
 * "passed, for this domain" facts.
 *
 * The organizational domain uses the whole Public Suffix List, ICANN and
 * PRIVATE sections both, as OpenDMARC does (so "alice.github.io" is its own
 * organizational domain), not the DMARCbis DNS tree walk.
 */
#ifndef POSTERN_DMARC_H
#define POSTERN_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#define DMARC_PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"
#define DMARC_DOMAIN_MAX 253 /* text form, no trailing dot (RFC 1035 2.3.4) */

enum dmarc_policy { DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };

struct dmarc_record {
	enum dmarc_policy p, sp;
	bool strict_dkim, strict_spf; /* adkim=s, aspf=s (default relaxed) */
	int pct;                      /* 0..100, default 100 */
	bool has_rua;                 /* rua= holds at least one syntactically valid URI */
	bool p_fallback;              /* p= (or sp=) was missing or invalid: p=none from rua (6.6.3) */
};

/*
 * dmarc_record_parse - one TXT record's text (the strings of one RR joined).
 * "v=DMARC1" must come first ("DMARC1" exact: RFC 7489 6.4 writes it with
 * %x, so case-sensitive; tag names and the policy words are ABNF quoted
 * strings, so case-insensitive, RFC 5234 2.3). p= is required, anywhere
 * after v=; sp= defaults to p. A missing or invalid p= or an invalid sp=,
 * with a valid rua=, gives p=sp=none and p_fallback (RFC 7489 6.6.3), and
 * without one the record is refused. A tag twice refuses the record (the
 * DKIM tag-list rule, RFC 6376 3.2). Unknown tags are ignored; invalid
 * adkim/aspf/pct values (pct not 0..100) are ignored and keep the default.
 * 0, or -1 with *error_r (static text) when this is no usable DMARC record.
 */
int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r, const char **error_r);

/* dmarc_record_is_dmarc - does this TXT text start with the version tag "v=DMARC1" (6.6.3 step 3)? */
bool dmarc_record_is_dmarc(const char *txt, size_t len);

/*
 * dmarc_record_select - the one DMARC record among the n TXT records at one
 * name (RFC 7489 6.6.3): 1 and *r when exactly one starts with v=DMARC1 and
 * parses; 0 when none starts with v=DMARC1 (try the organizational domain);
 * -1 when several do, -2 when the one there does not parse. On -1 and -2
 * policy discovery ends: no DMARC for this message, no fallback.
 */
int dmarc_record_select(char *const *txts, size_t n, struct dmarc_record *r);

/* dmarc_policy_name - "none", "quarantine", "reject". */
const char *dmarc_policy_name(enum dmarc_policy p);

/* The Public Suffix List as a hash set of rules (normal, "*." wildcard, "!" exception). */
struct dmarc_psl;

/* dmarc_psl_load - read and parse the list at path; NULL with a malloc'd *error_r on failure. */
struct dmarc_psl *dmarc_psl_load(const char *path, char **error_r);
/*
 * dmarc_psl_parse - parse list text (pure: for tests and fuzzing). Comment
 * and blank lines are skipped, a rule ends at the first white space, rules
 * are lower-cased, and a rule in UTF-8 is also stored as its A-label
 * (punycode) form so that "xn--" names match it. Never NULL.
 */
struct dmarc_psl *dmarc_psl_parse(const char *text, size_t len);
/* dmarc_psl_free - free the list and set *pslp to NULL. */
void dmarc_psl_free(struct dmarc_psl **pslp);
/* dmarc_psl_count - how many distinct rule names the list holds. */
size_t dmarc_psl_count(const struct dmarc_psl *psl);

/*
 * dmarc_org_domain - the organizational domain of domain (RFC 7489 3.2),
 * lower case, without a trailing dot, into out. The public suffix is the
 * longest matching rule ("!" exceptions first, the default rule "*" when
 * none matches, so an unknown TLD is a public suffix); the organizational
 * domain is it plus one label, or the name itself when the name is a public
 * suffix. "" for a name that is empty, longer than 253, or has an empty
 * label: such a name aligns with nothing.
 */
void dmarc_org_domain(const struct dmarc_psl *psl, const char *domain, char out[256]);

enum dmarc_result { DMARC_NONE, DMARC_PASS, DMARC_FAIL, DMARC_TEMPERROR, DMARC_PERMERROR };

/* dmarc_result_name - the RFC 8601 result word: "none", "pass", "fail", "temperror", "permerror". */
const char *dmarc_result_name(enum dmarc_result r);

struct dmarc_input {
	const char *from_domain;                  /* RFC5322.From domain */
	bool spf_pass;                            /* SPF result was pass ... */
	const char *spf_domain;                   /* ... for this MAIL FROM (or HELO) domain */
	const char *const *dkim_pass_domains;     /* d= of each signature that passed */
	size_t n_dkim_pass;
};

/* dmarc_aligned - do the two names align: strict, equal; relaxed, the same organizational domain (3.1)? */
bool dmarc_aligned(const struct dmarc_psl *psl, const char *a, const char *b, bool strict);

/*
 * dmarc_evaluate - the DMARC result for in under record (RFC 7489 6.6.2,
 * 6.6.4): pass when SPF or a DKIM signature passed for an aligned domain,
 * else fail. *apply_r is the policy to apply: none on pass; on fail p, or sp
 * when record_at_org_domain and the From domain is below it; then pct=: a
 * caller-given roll 0..99 below pct applies the policy, otherwise the next
 * lower one (reject -> quarantine -> none). record NULL: DMARC_NONE, none.
 * Names are compared case-insensitively, one trailing dot ignored.
 */
enum dmarc_result dmarc_evaluate(const struct dmarc_psl *psl, const struct dmarc_input *in,
                                 const struct dmarc_record *record, bool record_at_org_domain, int roll,
                                 enum dmarc_policy *apply_r);

#endif

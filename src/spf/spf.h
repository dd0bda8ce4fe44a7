/*
 * spf - Sender Policy Framework (RFC 7208) as pure code: the record parser,
 * macro expansion, and check_host() as a state machine that never does I/O.
 * It asks for one DNS answer at a time (spf_eval_next: a name and a type)
 * and is fed it; the caller does the lookups (c-ares in the daemon, zone
 * data in the unit tests and the fuzz target).
 *
 * Limits, all from RFC 7208 4.6.4: 10 terms that cause DNS lookups
 * (include, a, mx, ptr, exists, redirect) per evaluation, 2 void lookups,
 * 10 MX names per mx (more is a permerror), the first 10 PTR names for ptr
 * and %{p}. Whatever the records, an evaluation asks at most about 130
 * questions and holds at most 11 records (each at most DNS_ANSWER_MAX_TXT).
 *
 * %{p} is the validated domain name of the client (7.3), computed once per
 * evaluation from the PTR answer and the first 10 names' addresses; the
 * ptr mechanism uses the same validated names.
 */
#ifndef POSTERN_SPF_H
#define POSTERN_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dns/dns_answer.h"

#define SPF_MAX_LOOKUPS 10    /* DNS-querying terms per evaluation (4.6.4) */
#define SPF_MAX_VOID 2        /* void lookups per evaluation (4.6.4) */
#define SPF_MAX_NAMES 10      /* MX names per mx, PTR names per ptr (4.6.4) */
#define SPF_DOMAIN_MAX 253    /* a domain in text form, no trailing dot */
#define SPF_EXPAND_MAX 2048   /* a macro expansion's output, NUL included */

enum spf_result { SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR };

/* spf_result_name - "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror". */
const char *spf_result_name(enum spf_result r);

/* ---- record parser (spf_record.c) ---- */

enum spf_mech { SPF_M_ALL, SPF_M_INCLUDE, SPF_M_A, SPF_M_MX, SPF_M_PTR, SPF_M_IP4, SPF_M_IP6, SPF_M_EXISTS };

/* One mechanism. Strings point into the text given to spf_record_parse. */
struct spf_term {
	enum spf_mech mech;
	enum spf_result qualifier; /* SPF_PASS "+", SPF_FAIL "-", SPF_SOFTFAIL "~", SPF_NEUTRAL "?" */
	const char *spec;          /* domain-spec (include a mx ptr exists); NULL: the current domain */
	size_t spec_len;
	uint8_t cidr4, cidr6;      /* a, mx, ip4 (cidr4), ip6 (cidr6); defaults 32 and 128 */
	uint8_t ip[16];            /* ip4 (first 4 bytes) and ip6: the network, network order */
};

struct spf_record {
	struct spf_term *terms; /* the mechanisms in order (allocated; spf_record_free) */
	size_t n_terms;
	const char *redirect;   /* redirect= domain-spec, or NULL */
	size_t redirect_len;
	const char *exp;        /* exp= domain-spec, or NULL */
	size_t exp_len;
};

/*
 * spf_record_is_spf1 - does this TXT text select as an SPF record: "v=spf1"
 * (case-insensitive) followed by a space or the end (4.5)?
 */
bool spf_record_is_spf1(const char *txt, size_t len);

/*
 * spf_record_parse - the whole record, syntax checked (4.6: an error anywhere
 * is a permerror): terms separated by spaces, only printable ASCII, known
 * mechanisms with their arguments (dual CIDR lengths, no leading zeros, ip4
 * networks as 4 full decimal octets), every domain-spec a valid macro-string
 * ending in a macro or a "." toplabel (7.1), redirect= and exp= at most once,
 * unknown modifiers ignored but their value must be a macro-string. 0 and *r
 * (free with spf_record_free; it points into txt), or -1 with *error_r.
 */
int spf_record_parse(const char *txt, size_t len, struct spf_record *r, const char **error_r);

/* spf_record_free - release what spf_record_parse allocated; r is zeroed. */
void spf_record_free(struct spf_record *r);

/* ---- macro expansion (spf_macro.c) ---- */

/* The values the macros expand to (7.3). */
struct spf_macro_ctx {
	const char *sender;        /* s: <sender>, local-part@domain */
	const char *local;         /* l: the local-part ("postmaster" when it had none) */
	const char *sender_domain; /* o */
	const char *domain;        /* d: the current domain */
	const char *helo;          /* h */
	const char *receiver;      /* r (exp only); NULL: "unknown" */
	const char *ptr_name;      /* p: the validated name; NULL: "unknown" */
	int family;                /* i, c, v: AF_INET or AF_INET6 */
	const uint8_t *ip;         /* 4 or 16 bytes, network order */
	time_t now;                /* t (exp only) */
};

/*
 * spf_macro_check - is s a valid macro-string (7.1)? explain: an
 * explain-string (spaces allowed; c, r, t allowed). Printable ASCII only.
 */
int spf_macro_check(const char *s, size_t len, bool explain, const char **error_r);

/* spf_macro_domain_spec_check - a valid domain-spec: a macro-string ending in a macro or "." toplabel ["."]. */
int spf_macro_domain_spec_check(const char *s, size_t len, const char **error_r);

/* spf_macro_uses_p - does s contain a %{p} macro (so the caller must find the validated name first)? */
bool spf_macro_uses_p(const char *s, size_t len);

/*
 * spf_macro_expand - expand s (checked as by spf_macro_check) into out:
 * transformers (digits, "r"), delimiters, URL escaping for upper-case
 * letters, "%%", "%_", "%-". 0 and *len_r (out NUL-terminated), or -1 with
 * *error_r on a syntax error or when the result does not fit in outsize.
 * Domain names are not truncated here (see spf_domain_truncate).
 */
int spf_macro_expand(const char *s, size_t len, bool explain, const struct spf_macro_ctx *ctx, char *out,
		     size_t outsize, size_t *len_r, const char **error_r);

/*
 * spf_domain_truncate - a target name fit for a query, in place: drop one
 * trailing dot, remove labels from the left while it exceeds 253 characters
 * (7.3). 0, or -1 when what is left is no DNS name (an empty label, a label
 * over 63, a control character, empty).
 */
int spf_domain_truncate(char *name);

/* ---- check_host() (spf_eval.c) ---- */

struct spf_input {
	int family;           /* AF_INET or AF_INET6 (an IPv4-mapped IPv6 address counts as IPv4) */
	uint8_t ip[16];       /* network order; first 4 bytes for AF_INET */
	const char *sender;   /* MAIL FROM address, "" for <> (then postmaster@helo is checked, RFC 7208 2.4) */
	const char *helo;     /* the HELO/EHLO name */
	const char *receiver; /* our host name, for %{r}; NULL: "unknown" */
	time_t now;           /* for %{t} */
};

struct spf_eval;

/* spf_eval_new - an evaluation of check_host(ip, domain, sender); the strings are copied. */
struct spf_eval *spf_eval_new(const struct spf_input *in);

enum spf_step { SPF_STEP_QUERY, SPF_STEP_DONE };

/*
 * spf_eval_next - run until a DNS answer is needed (SPF_STEP_QUERY: *name_r,
 * *type_r say which; the next call passes that answer) or the result is
 * known (SPF_STEP_DONE). The first call passes answer NULL; NULL for a
 * question counts as DNS_R_TEMP. *name_r stays valid until the next call.
 */
enum spf_step spf_eval_next(struct spf_eval *e, const struct dns_answer *answer, const char **name_r,
			    enum dns_rrtype *type_r);

/* spf_eval_result - the result once spf_eval_next said SPF_STEP_DONE (before that: temperror). */
enum spf_result spf_eval_result(const struct spf_eval *e);

/* spf_eval_domain - the domain checked (MAIL FROM's, or HELO's for <>). */
const char *spf_eval_domain(const struct spf_eval *e);

/* spf_eval_explanation - on fail: the expanded exp= text, or NULL (no exp=, or it was unusable). */
const char *spf_eval_explanation(const struct spf_eval *e);

/* spf_eval_problem - on permerror/temperror (or none for a domain that is no name): why, for logs; or NULL. */
const char *spf_eval_problem(const struct spf_eval *e);

/* spf_eval_queries - how many questions spf_eval_next asked so far. */
unsigned spf_eval_queries(const struct spf_eval *e);

/* spf_eval_free - free *ep and set it to NULL. */
void spf_eval_free(struct spf_eval **ep);

#endif

/*
 * spf_record - the SPF record parser (RFC 7208 4.5, 4.6, 5, 6, 12). Pure:
 * the terms point into the caller's text; the one allocation is the term
 * array, sized by counting the terms first.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf/spf.h"
#include "util/xalloc.h"

/* The mechanisms by name, and which arguments each takes. */
struct spf_mech_def {
	const char *name;
	enum spf_mech mech;
	bool spec_allowed, spec_required, cidr;
};

static const struct spf_mech_def spf_record_mechs[] = {
	{ "all", SPF_M_ALL, false, false, false },
	{ "include", SPF_M_INCLUDE, true, true, false },
	{ "a", SPF_M_A, true, false, true },
	{ "mx", SPF_M_MX, true, false, true },
	{ "ptr", SPF_M_PTR, true, false, false },
	{ "ip4", SPF_M_IP4, false, false, false },
	{ "ip6", SPF_M_IP6, false, false, false },
	{ "exists", SPF_M_EXISTS, true, true, false },
};

const char *spf_result_name(enum spf_result r)
{
	static const char *const names[] = { "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

bool spf_record_is_spf1(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 && (len == 6 || txt[6] == ' ');
}

/* spf_record_cidr_value - "/"-less digits of a CIDR length: no leading zero, at most max; or -1. */
static int spf_record_cidr_value(const char *s, size_t n, int max)
{
	int v = 0;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* spf_record_digits_back - how many digits end s[0, n). */
static size_t spf_record_digits_back(const char *s, size_t n)
{
	size_t d = 0;

	while (d < n && isdigit((unsigned char)s[n - 1 - d]))
		d++;
	return d;
}

/*
 * spf_record_cidr_suffix - split a dual-cidr-length ("/N", "//M", "/N//M")
 * off the end of s; returns the length before it. A malformed length
 * (leading zero, too big) sets *bad_r.
 */
static size_t spf_record_cidr_suffix(const char *s, size_t n, struct spf_term *t, bool *bad_r)
{
	size_t d = spf_record_digits_back(s, n), rest;
	int v;

	*bad_r = false;
	if (d == 0 || d >= n || s[n - d - 1] != '/')
		return n;
	rest = n - d - 1;
	if (rest > 0 && s[rest - 1] == '/') { /* "//M": the IPv6 length, maybe after "/N" */
		*bad_r = (v = spf_record_cidr_value(s + rest + 1, d, 128)) < 0;
		t->cidr6 = (uint8_t)v;
		n = rest - 1;
		if ((d = spf_record_digits_back(s, n)) == 0 || d >= n || s[n - d - 1] != '/')
			return n;
		rest = n - d - 1;
	}
	if ((v = spf_record_cidr_value(s + rest + 1, d, 32)) < 0)
		*bad_r = true;
	t->cidr4 = (uint8_t)v;
	return rest;
}

/* spf_record_ip4 - ip4-network: four decimal octets without leading zeros (RFC 7208 12). */
static int spf_record_ip4(const char *s, size_t n, uint8_t *ip)
{
	size_t i = 0;

	for (int octet = 0; octet < 4; octet++) {
		size_t d = 0;
		int v = 0;

		if (octet > 0 && (i >= n || s[i++] != '.'))
			return -1;
		while (i + d < n && isdigit((unsigned char)s[i + d]) && d < 4)
			v = v * 10 + (s[i + d++] - '0');
		if (d == 0 || d > 3 || v > 255 || (d > 1 && s[i] == '0'))
			return -1;
		ip[octet] = (uint8_t)v;
		i += d;
	}
	return i == n ? 0 : -1;
}

/* spf_record_ip - "ip4:" / "ip6:" argument: network and optional "/N" (no dual form). */
static int spf_record_ip(const char *arg, size_t n, struct spf_term *t, const char **error_r)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = memchr(arg, '/', n);
	size_t an = slash != NULL ? (size_t)(slash - arg) : n;
	int max = t->mech == SPF_M_IP4 ? 32 : 128, v = max;

	*error_r = t->mech == SPF_M_IP4 ? "bad ip4 network" : "bad ip6 network";
	if (slash != NULL && (v = spf_record_cidr_value(slash + 1, n - an - 1, max)) < 0)
		return -1;
	if (t->mech == SPF_M_IP4) {
		t->cidr4 = (uint8_t)v;
		return spf_record_ip4(arg, an, t->ip);
	}
	t->cidr6 = (uint8_t)v;
	if (an == 0 || an >= sizeof(buf))
		return -1;
	memcpy(buf, arg, an);
	buf[an] = '\0';
	return inet_pton(AF_INET6, buf, t->ip) == 1 ? 0 : -1;
}

/* spf_record_mech_args - the part after the mechanism name: ":" domain-spec and/or a dual CIDR length. */
static int spf_record_mech_args(const struct spf_mech_def *def, const char *s, size_t n, struct spf_term *t,
				const char **error_r)
{
	bool bad = false;
	size_t keep = def->cidr ? spf_record_cidr_suffix(s, n, t, &bad) : n;

	*error_r = "bad CIDR length";
	if (bad)
		return -1;
	*error_r = "bad mechanism argument";
	if (keep == 0)
		return def->spec_required ? -1 : 0;
	if (!def->spec_allowed || s[0] != ':')
		return -1;
	t->spec = s + 1;
	t->spec_len = keep - 1;
	return spf_macro_domain_spec_check(t->spec, t->spec_len, error_r);
}

/* spf_record_mechanism - one directive: [qualifier] mechanism. */
static int spf_record_mechanism(const char *s, size_t n, struct spf_term *t, const char **error_r)
{
	static const char quals[] = "+-~?";
	static const enum spf_result qres[] = { SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_NEUTRAL };
	const char *q = n > 0 && s[0] != '\0' ? strchr(quals, s[0]) : NULL;
	size_t name = 0;

	memset(t, 0, sizeof(*t));
	t->qualifier = q != NULL ? qres[q - quals] : SPF_PASS;
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (q != NULL)
		s++, n--;
	while (name < n && isalnum((unsigned char)s[name]))
		name++;
	for (size_t i = 0; i < sizeof(spf_record_mechs) / sizeof(spf_record_mechs[0]); i++) {
		const struct spf_mech_def *def = &spf_record_mechs[i];

		if (strlen(def->name) != name || strncasecmp(def->name, s, name) != 0)
			continue;
		t->mech = def->mech;
		if (def->mech == SPF_M_IP4 || def->mech == SPF_M_IP6)
			return name < n && s[name] == ':' ? spf_record_ip(s + name + 1, n - name - 1, t, error_r)
							  : (*error_r = "ip4/ip6 without a network", -1);
		return spf_record_mech_args(def, s + name, n - name, t, error_r);
	}
	*error_r = "unknown mechanism";
	return -1;
}

/* spf_record_modifier_name - the length of a modifier name followed by "=", or 0 when s is no modifier. */
static size_t spf_record_modifier_name(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
		i++;
	return i < n && s[i] == '=' ? i : 0;
}

/* spf_record_known_modifier - redirect= or exp=: once only (6), a valid domain-spec. */
static int spf_record_known_modifier(const char *v, size_t vn, const char **slot, size_t *slot_len,
				     const char **error_r)
{
	if (*slot != NULL) {
		*error_r = "redirect= or exp= twice";
		return -1;
	}
	*slot = v;
	*slot_len = vn;
	return spf_macro_domain_spec_check(v, vn, error_r);
}

/* spf_record_modifier - name "=" value; unknown names are ignored, but their value must be a macro-string. */
static int spf_record_modifier(const char *s, size_t n, size_t name, struct spf_record *r, const char **error_r)
{
	const char *v = s + name + 1;
	size_t vn = n - name - 1;

	if (name == 8 && strncasecmp(s, "redirect", 8) == 0)
		return spf_record_known_modifier(v, vn, &r->redirect, &r->redirect_len, error_r);
	if (name == 3 && strncasecmp(s, "exp", 3) == 0)
		return spf_record_known_modifier(v, vn, &r->exp, &r->exp_len, error_r);
	return spf_macro_check(v, vn, false, error_r);
}

/* spf_record_count_terms - how many space-separated terms follow the version. */
static size_t spf_record_count_terms(const char *txt, size_t len)
{
	size_t n = 0;

	for (size_t i = 6; i < len; i++)
		if (txt[i] != ' ' && txt[i - 1] == ' ')
			n++;
	return n;
}

/* spf_record_term - one term: a modifier, or a mechanism appended to r->terms. */
static int spf_record_term(const char *s, size_t n, struct spf_record *r, const char **error_r)
{
	size_t name = spf_record_modifier_name(s, n);

	if (name > 0)
		return spf_record_modifier(s, n, name, r, error_r);
	return spf_record_mechanism(s, n, &r->terms[r->n_terms++], error_r);
}

int spf_record_parse(const char *txt, size_t len, struct spf_record *r, const char **error_r)
{
	size_t i = 6, start, count;

	memset(r, 0, sizeof(*r));
	if (!spf_record_is_spf1(txt, len)) {
		*error_r = "not an SPF record (v=spf1)";
		return -1;
	}
	for (size_t j = 0; j < len; j++) {
		if ((unsigned char)txt[j] < 0x20 || (unsigned char)txt[j] > 0x7e) {
			*error_r = "control or non-ASCII character in the record";
			return -1;
		}
	}
	if ((count = spf_record_count_terms(txt, len)) > 0)
		r->terms = xcalloc(count, sizeof(*r->terms));
	while (i < len) {
		while (i < len && txt[i] == ' ')
			i++;
		for (start = i; i < len && txt[i] != ' '; i++)
			;
		if (i > start && spf_record_term(txt + start, i - start, r, error_r) < 0) {
			spf_record_free(r);
			return -1;
		}
	}
	return 0;
}

void spf_record_free(struct spf_record *r)
{
	free(r->terms);
	memset(r, 0, sizeof(*r));
}

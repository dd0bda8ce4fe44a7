// FUZZ_SOURCES: src/spf/spf_record.c src/spf/spf_macro.c src/spf/spf_eval.c src/spf/spf_eval_answer.c src/spf/spf_eval_ptr.c src/spf/spf_eval_input.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_spf - the SPF code on hostile input, three ways:
 *   1. the whole input as an SPF record (spf_record_parse), as a macro-string
 *      (spf_macro_expand, domain and explain modes) and as a name
 *      (spf_domain_truncate);
 *   2. a full check_host() whose DNS answers come from the input: it is cut
 *      into chunks at "\n", the Nth question gets the Nth chunk (later ones:
 *      NXDOMAIN). A chunk's first byte picks the rcode (and, bit 0x80, makes
 *      an A/AAAA answer the client's own address, so matches happen); the rest
 *      is the records, separated by "|".
 * Invariants, abort() on a broken one: at most FUZZ_SPF_MAX_QUERIES questions
 * per evaluation; expansions NUL-terminated at the length reported; names
 * truncated to 253; an explanation only with fail; a result in range.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf/spf.h"

#define FUZZ_SPF_MAX_QUERIES 200
#define FUZZ_SPF_MAX_CHUNK 9000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fuzz input as a source of answers. */
struct fuzz_spf_src {
	const uint8_t *p, *end;
	int family;
	const char *client;
};

/* fuzz_spf_parse - the record parser; terms point into the input. */
static void fuzz_spf_parse(const uint8_t *data, size_t size)
{
	struct spf_record r;
	const char *err = NULL;

	if (spf_record_parse((const char *)data, size, &r, &err) < 0) {
		if (err == NULL || r.terms != NULL)
			abort();
		return;
	}
	for (size_t i = 0; i < r.n_terms; i++)
		if (r.terms[i].cidr4 > 32 || r.terms[i].cidr6 > 128 ||
		    (r.terms[i].spec != NULL && (r.terms[i].spec < (const char *)data ||
						 r.terms[i].spec + r.terms[i].spec_len > (const char *)data + size)))
			abort();
	spf_record_free(&r);
}

/* fuzz_spf_macro - expansion in both modes, and truncation of the input as a name. */
static void fuzz_spf_macro(const uint8_t *data, size_t size)
{
	static const uint8_t ip[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct spf_macro_ctx ctx = { "strong-bad@email.example.com", "strong-bad", "email.example.com", "email.example.com",
				     "mx.example.org", NULL, "mx.ptr.example", (size & 1) ? AF_INET6 : AF_INET, ip, 1 };
	char out[SPF_EXPAND_MAX], name[600];
	const char *err;
	size_t n;

	for (int explain = 0; explain < 2; explain++)
		if (spf_macro_expand((const char *)data, size, explain, &ctx, out, sizeof(out), &n, &err) == 0 &&
		    (n >= sizeof(out) || strlen(out) != n))
			abort();
	n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, n);
	name[n] = '\0';
	if (spf_domain_truncate(name) == 0 && (strlen(name) > SPF_DOMAIN_MAX || name[0] == '.'))
		abort();
	(void)spf_macro_uses_p((const char *)data, size);
}

/* fuzz_spf_chunk - the next "\n"-terminated chunk of the input, copied and NUL-terminated; NULL at the end. */
static char *fuzz_spf_chunk(struct fuzz_spf_src *s, char *buf, size_t *len_r)
{
	const uint8_t *nl;
	size_t n;

	if (s->p >= s->end)
		return NULL;
	nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
	n = (size_t)((nl != NULL ? nl : s->end) - s->p);
	if (n > FUZZ_SPF_MAX_CHUNK)
		n = FUZZ_SPF_MAX_CHUNK;
	memcpy(buf, s->p, n);
	buf[n] = '\0';
	s->p = nl != NULL ? nl + 1 : s->end;
	*len_r = n;
	return buf;
}

/* fuzz_spf_answer - the answer to the next question, from the next chunk. */
static void fuzz_spf_answer(struct fuzz_spf_src *s, enum dns_rrtype type, struct dns_answer *a, char *buf, char **rr)
{
	size_t len;
	char *c = fuzz_spf_chunk(s, buf, &len), *bar;

	*a = (struct dns_answer){ DNS_R_NXDOMAIN, 0, rr };
	if (c == NULL || len == 0)
		return;
	a->rcode = (c[0] & 7) == 0 ? DNS_R_TEMP : (c[0] & 7) == 1 ? DNS_R_NXDOMAIN : DNS_R_OK;
	if (a->rcode != DNS_R_OK)
		return;
	if ((c[0] & 0x80) && (type == DNS_RR_A || type == DNS_RR_AAAA)) {
		rr[a->n++] = (char *)s->client;
		return;
	}
	for (c++; a->n < DNS_ANSWER_MAX_RR && *c != '\0'; c = bar + 1) {
		rr[a->n++] = c;
		if ((bar = strchr(c, '|')) == NULL)
			break;
		*bar = '\0';
	}
}

/* fuzz_spf_eval - one check_host() against answers from the input. */
static void fuzz_spf_eval(const uint8_t *data, size_t size, int family)
{
	static char buf[FUZZ_SPF_MAX_CHUNK + 1];
	static char *rr[DNS_ANSWER_MAX_RR];
	struct fuzz_spf_src s = { data, data + size, family, family == AF_INET6 ? "2001:db8::1" : "192.0.2.1" };
	struct spf_input in = { .family = family, .sender = "user@example.com", .helo = "mail.example.com",
				.receiver = "mx.example.net", .now = 1 };
	struct dns_answer a, *ap = NULL;
	struct spf_eval *e;
	const char *name;
	enum dns_rrtype type;
	unsigned queries = 0;

	inet_pton(family, s.client, in.ip);
	e = spf_eval_new(&in);
	while (spf_eval_next(e, ap, &name, &type) == SPF_STEP_QUERY) {
		if (++queries > FUZZ_SPF_MAX_QUERIES || name == NULL || strlen(name) > SPF_DOMAIN_MAX)
			abort();
		fuzz_spf_answer(&s, type, &a, buf, rr);
		ap = &a;
	}
	if (spf_eval_result(e) > SPF_PERMERROR || spf_eval_domain(e) == NULL ||
	    (spf_eval_explanation(e) != NULL && spf_eval_result(e) != SPF_FAIL))
		abort();
	spf_eval_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_spf_parse(data, size);
	fuzz_spf_macro(data, size);
	fuzz_spf_eval(data, size, (size & 2) ? AF_INET6 : AF_INET);
	return 0;
}

// FUZZ_SOURCES: src/dmarc/dmarc_record.c src/dmarc/dmarc_psl.c src/dmarc/dmarc_idna.c src/dmarc/dmarc_eval.c src/util/file.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_dmarc - the DMARC record parser, the Public Suffix List parser and
 * the organizational domain, and the evaluation, on hostile input. The
 * input is at once a TXT record, a list text (parsed into its own list), and
 * up to 8 names (its lines). Invariants, abort() on a broken one: a parsed
 * record is in range and starts with v=DMARC1; an organizational domain is
 * "" or a label-aligned suffix of the lower-cased name, at most 253 bytes,
 * and its own organizational domain; the evaluation only says none, pass or
 * fail, and pass applies no policy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc/dmarc.h"

#define FUZZ_DMARC_NAMES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_dmarc_record - parse the whole input as one TXT record. */
static const struct dmarc_record *fuzz_dmarc_record(const char *txt, size_t len, struct dmarc_record *r)
{
	const char *error = NULL;

	if (dmarc_record_parse(txt, len, r, &error) < 0) {
		if (error == NULL)
			abort();
		return NULL;
	}
	if ((unsigned)r->p > DMARC_P_REJECT || (unsigned)r->sp > DMARC_P_REJECT || r->pct < 0 || r->pct > 100 ||
	    !dmarc_record_is_dmarc(txt, len) || (r->p_fallback && (r->p != DMARC_P_NONE || !r->has_rua)))
		abort();
	return r;
}

/* fuzz_dmarc_check_org - org is "" or name (lower-cased, trailing dot dropped) from a label start on, and stable. */
static void fuzz_dmarc_check_org(const struct dmarc_psl *psl, const char *name, const char *org)
{
	size_t n = strlen(name), on = strlen(org);
	char again[256];

	if (on == 0)
		return;
	if (on > DMARC_DOMAIN_MAX || memchr(org, '\0', 256) == NULL)
		abort();
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (on > n || strncasecmp(name + n - on, org, on) != 0 || (on < n && name[n - on - 1] != '.'))
		abort();
	for (size_t i = 0; i < on; i++)
		if (org[i] >= 'A' && org[i] <= 'Z')
			abort();
	dmarc_org_domain(psl, org, again);
	if (strcmp(again, org) != 0)
		abort();
}

/* fuzz_dmarc_names - split text into up to FUZZ_DMARC_NAMES lines (NUL-terminated in buf). */
static size_t fuzz_dmarc_names(char *buf, const char **names)
{
	size_t n = 0;
	char *line = buf, *nl;

	while (n < FUZZ_DMARC_NAMES) {
		names[n++] = line;
		if ((nl = strchr(line, '\n')) == NULL)
			break;
		*nl = '\0';
		line = nl + 1;
	}
	return n;
}

/* fuzz_dmarc_evaluate - names[0] as From, names[1] as SPF, the rest as DKIM d=. */
static void fuzz_dmarc_evaluate(const struct dmarc_psl *psl, const struct dmarc_record *rec,
                                const char **names, size_t n, uint8_t flags)
{
	struct dmarc_input in = {names[0], flags & 1, n > 1 ? names[1] : NULL, names + 2, n > 2 ? n - 2 : 0};
	enum dmarc_policy apply;
	enum dmarc_result res = dmarc_evaluate(psl, &in, rec, flags & 2, flags >> 1, &apply);

	if (res != DMARC_NONE && res != DMARC_PASS && res != DMARC_FAIL)
		abort();
	if ((unsigned)apply > DMARC_P_REJECT || (res != DMARC_FAIL && apply != DMARC_P_NONE))
		abort();
	if (rec == NULL && res != DMARC_NONE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dmarc_psl *real;
	struct dmarc_psl *psl;
	struct dmarc_record r;
	const struct dmarc_record *rec;
	const char *names[FUZZ_DMARC_NAMES];
	char *buf, org[256];
	size_t n;

	if (real == NULL) {
		char *error = NULL;
		real = dmarc_psl_load(DMARC_PSL_PATH, &error);
		if (real == NULL)
			real = dmarc_psl_parse("com\nco.uk\nuk\n*.ck\n!www.ck\n", 26);
		free(error);
	}
	rec = fuzz_dmarc_record((const char *)data, size, &r);
	psl = dmarc_psl_parse((const char *)data, size);
	buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	n = fuzz_dmarc_names(buf, names);
	for (size_t i = 0; i < n; i++) {
		dmarc_org_domain(psl, names[i], org);
		fuzz_dmarc_check_org(psl, names[i], org);
		dmarc_org_domain(real, names[i], org);
		fuzz_dmarc_check_org(real, names[i], org);
	}
	fuzz_dmarc_evaluate(real, rec, names, n, size > 0 ? data[0] : 0);
	free(buf);
	dmarc_psl_free(&psl);
	return 0;
}

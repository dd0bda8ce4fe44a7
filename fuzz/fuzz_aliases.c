// FUZZ_SOURCES: src/addr/aliases.c src/addr/aliases_resolve.c src/addr/aliases_loops.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_aliases - the aliases file parser and resolution on hostile input.
 * The input is an aliases file, then (after a NUL byte, which no file may
 * hold) recipients one a line. A file that does not parse leaves the table
 * as it was and says "FILE:LINE: why"; one that parses holds normalized
 * aliases that aliases_find finds in any case, and written out parses to
 * the same table. Each recipient resolves to unique targets: accounts in
 * local domains, remote addresses elsewhere; every local target of the
 * recipient's own alias or account owns it; an alias the loop check passes
 * resolves without loop or depth skips; an alias to itself is a loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr/aliases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ALIASES_RECIPIENTS_MAX 16

static const char *const fuzz_aliases_accounts[] = {
	"alice@example.test", "bob@example.test", "postmaster@pm.test", "zed@pm.test",
};
static const char *const fuzz_aliases_domains[] = { "example.test", "pm.test", "empty.test" };
static const char *const fuzz_aliases_delimiters[] = { "+", "", "+-" };
static const char fuzz_aliases_before[] = "keep@example.test: alice@example.test\n";

#define FUZZ_N(a) (sizeof(a) / sizeof((a)[0]))

/* fuzz_aliases_is_account_cb - one of the fixed accounts. */
static bool fuzz_aliases_is_account_cb(void *ctx, const char *address)
{
	(void)ctx;
	for (size_t i = 0; i < FUZZ_N(fuzz_aliases_accounts); i++) {
		if (strcmp(address, fuzz_aliases_accounts[i]) == 0)
			return true;
	}
	return false;
}

/* fuzz_aliases_is_local_cb - one of the fixed domains. */
static bool fuzz_aliases_is_local_cb(void *ctx, const char *domain)
{
	(void)ctx;
	for (size_t i = 0; i < FUZZ_N(fuzz_aliases_domains); i++) {
		if (strcmp(domain, fuzz_aliases_domains[i]) == 0)
			return true;
	}
	return false;
}

/* fuzz_aliases_first_cb - the first fixed account of domain. */
static const char *fuzz_aliases_first_cb(void *ctx, const char *domain)
{
	(void)ctx;
	for (size_t i = 0; i < FUZZ_N(fuzz_aliases_accounts); i++) {
		if (strcmp(strchr(fuzz_aliases_accounts[i], '@') + 1, domain) == 0)
			return fuzz_aliases_accounts[i];
	}
	return NULL;
}

/* fuzz_aliases_check_table - the invariants of a parsed table. */
static void fuzz_aliases_check_table(const struct aliases_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct aliases_entry *e = &t->entries[i];
		const char *error;
		char *norm = NULL, *upper = strdup(e->address);

		if (upper == NULL || e->n_targets == 0 || e->n_targets > ALIASES_TARGETS_MAX)
			abort();
		if (aliases_address_normalize(e->address, &norm, &error) < 0 ||
		    strcmp(norm, e->address) != 0)
			abort();
		free(norm);
		for (char *p = upper; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		if (aliases_find(t, upper) != e || aliases_find(t, e->address) != e)
			abort();
		free(upper);
		for (size_t k = 0; k < e->n_targets; k++) {
			if (aliases_target_normalize(e->targets[k], &norm, &error) < 0 ||
			    strcmp(norm, e->targets[k]) != 0)
				abort();
			free(norm);
		}
	}
}

/* fuzz_aliases_same - two tables hold the same aliases and targets. */
static bool fuzz_aliases_same(const struct aliases_table *a, const struct aliases_table *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct aliases_entry *x = &a->entries[i], *y = aliases_find(b, x->address);
		if (y == NULL || x->n_targets != y->n_targets)
			return false;
		for (size_t k = 0; k < x->n_targets; k++) {
			if (strcmp(x->targets[k], y->targets[k]) != 0)
				return false;
		}
	}
	return true;
}

/* fuzz_aliases_roundtrip - format and parse again: the same table. */
static void fuzz_aliases_roundtrip(const struct aliases_table *t)
{
	struct aliases_table again;
	char *error = NULL;
	size_t len;
	char *text = aliases_format(t, &len);

	aliases_init(&again);
	if (aliases_parse(&again, text, len, "again", &error) < 0 || !fuzz_aliases_same(t, &again))
		abort();
	free(text);
	aliases_free(&again);
}

/* fuzz_aliases_check_result - unique targets of the right kind; owners where they must be. */
static void fuzz_aliases_check_result(const struct aliases_table *t,
				      const struct aliases_resolver *res, const char *rcpt,
				      enum aliases_status st, const struct aliases_result *r)
{
	if (st != ALIASES_OK && r->n != 0)
		abort();
	if (st == ALIASES_OK && (r->n == 0 || r->n > ALIASES_EXPANSION_MAX))
		abort();
	for (size_t i = 0; i < r->n; i++) {
		const struct aliases_target *x = &r->targets[i];
		const char *domain = strrchr(x->address, '@');
		if (domain == NULL || fuzz_aliases_is_local_cb(NULL, domain + 1) == x->remote)
			abort();
		if (!x->remote && !fuzz_aliases_is_account_cb(NULL, x->address))
			abort();
		if (strcmp(x->orig, rcpt) != 0)
			abort();
		for (size_t k = 0; k < i; k++) {
			if (strcmp(r->targets[k].address, x->address) == 0)
				abort();
		}
		if (!x->remote && (r->via == ALIASES_VIA_ALIAS || r->via == ALIASES_VIA_ACCOUNT) &&
		    strrchr(rcpt, '@') != NULL && strrchr(rcpt, '@')[1] != '\0' &&
		    !aliases_owns(t, res, x->address, rcpt))
			abort();
	}
}

/* fuzz_aliases_check_loops - after a passed loop check, resolution meets no loop, no depth limit. */
static void fuzz_aliases_check_loops(const struct aliases_table *t,
				     const struct aliases_resolver *res, struct aliases_result *r)
{
	for (size_t i = 0; i < t->n && i < 64; i++) {
		const char *address = t->entries[i].address;
		char *error = NULL;

		if (address[0] == '@' || aliases_check_loops(t, res, address, &error) < 0) {
			free(error);
			continue;
		}
		aliases_resolve(t, res, address, r);
		for (size_t k = 0; k < r->n_skipped; k++) {
			if (strcmp(r->skipped[k].reason, "no such account or alias") != 0)
				abort();
		}
	}
}

/* fuzz_aliases_self - an alias to itself is a loop unless an account shadows it or it is remote. */
static void fuzz_aliases_self(struct aliases_table *t, const struct aliases_resolver *res,
			      char *rcpt)
{
	const char *error, *at = strrchr(rcpt, '@');
	char *loop = NULL, *target[] = { rcpt };
	const struct aliases_entry *e;
	bool looped, expected;

	if (aliases_set(t, rcpt, target, 1, NULL, NULL, &error) < 0)
		return;
	e = aliases_find(t, rcpt);
	if (e == NULL || at == NULL)
		abort();
	expected = fuzz_aliases_is_local_cb(NULL, strrchr(e->address, '@') + 1) &&
		   !fuzz_aliases_is_account_cb(NULL, e->address);
	looped = aliases_check_loops(t, res, rcpt, &loop) < 0;
	if (looped != expected || (looped && strncmp(loop, "alias loop: ", 12) != 0))
		abort();
	free(loop);
	if (aliases_del(t, rcpt) < 0 || aliases_find(t, rcpt) != NULL)
		abort();
}

/* fuzz_aliases_recipients - resolve each line of text (len bytes). */
static void fuzz_aliases_recipients(struct aliases_table *t, const struct aliases_resolver *res,
				    const char *text, size_t len)
{
	struct aliases_result r;
	size_t pos = 0;

	aliases_result_init(&r);
	fuzz_aliases_check_loops(t, res, &r);
	for (int n = 0; pos < len && n < FUZZ_ALIASES_RECIPIENTS_MAX; n++) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		char *rcpt = strndup(text + pos, end - pos);
		enum aliases_status st;

		if (rcpt == NULL)
			abort();
		st = aliases_resolve(t, res, rcpt, &r);
		fuzz_aliases_check_result(t, res, rcpt, st, &r);
		fuzz_aliases_self(t, res, rcpt);
		free(rcpt);
		pos = end + 1;
	}
	aliases_result_free(&r);
}

/* LLVMFuzzerTestOneInput - the file before the first NUL byte, recipients after it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t flen = nul ? (size_t)(nul - data) : size;
	char *text = malloc(flen > 0 ? flen : 1), *error = NULL;
	struct aliases_resolver res = {
		.is_account_cb = fuzz_aliases_is_account_cb,
		.is_local_domain_cb = fuzz_aliases_is_local_cb,
		.domain_first_account_cb = fuzz_aliases_first_cb,
		.delimiter = fuzz_aliases_delimiters[size % FUZZ_N(fuzz_aliases_delimiters)],
		.default_domain = "example.test",
	};
	struct aliases_table t;

	if (text == NULL)
		abort();
	memcpy(text, data, flen); /* exact size, no NUL: ASan sees overreads */
	aliases_init(&t);
	if (aliases_parse(&t, fuzz_aliases_before, sizeof(fuzz_aliases_before) - 1, "before",
			  &error) < 0)
		abort();
	if (aliases_parse(&t, text, flen, "aliases", &error) < 0) {
		if (error == NULL || strncmp(error, "aliases:", 8) != 0 || t.n != 1 ||
		    aliases_find(&t, "keep@example.test") == NULL)
			abort();
		free(error);
	} else {
		fuzz_aliases_check_table(&t);
		fuzz_aliases_roundtrip(&t);
	}
	if (nul != NULL)
		fuzz_aliases_recipients(&t, &res, (const char *)nul + 1, size - flen - 1);
	aliases_free(&t);
	free(text);
	return 0;
}

// FUZZ_SOURCES: src/dkim/dkim_tags.c src/dkim/dkim_sig.c src/dkim/dkim_key.c src/util/xalloc.c src/util/log.c
// FUZZ_LIBS: -lcrypto
/*
 * fuzz_dkim_tags - the RFC 6376 tag-list parser and what sits on it: the
 * DKIM-Signature and key record parsers, base64 with FWS. Invariants,
 * abort() on a broken one: every tag lies inside the input with a valid
 * name and no duplicate; a parsed signature has its required fields within
 * the limits of dkim.h; a refused one holds nothing; a key's p= is bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_dkim_tags_check - the tags of text: inside it, names well-formed, no two alike. */
static void fuzz_dkim_tags_check(const char *text, size_t len, const struct dkim_tags *t)
{
	if (t->n > DKIM_TAGS_MAX)
		abort();
	for (size_t k = 0; k < t->n; k++) {
		const struct dkim_tag *g = &t->tag[k];
		if (g->name < text || g->name + g->name_len > text + len || g->name_len == 0 ||
		    g->value < text || g->value + g->value_len > text + len || memchr(g->value, ';', g->value_len))
			abort();
		for (size_t j = 0; j < k; j++) {
			if (t->tag[j].name_len == g->name_len && memcmp(t->tag[j].name, g->name, g->name_len) == 0)
				abort();
		}
	}
}

/* fuzz_dkim_sig_check - a parsed signature is complete and bounded. */
static void fuzz_dkim_sig_check(const struct dkim_sig *sig)
{
	if (!sig->d || !sig->s || !sig->i || !sig->h || sig->n_h == 0 || sig->n_h > DKIM_MAX_H ||
	    !sig->b || sig->b_len == 0 || sig->b_len > DKIM_MAX_SIG_B || !sig->bh || sig->bh_len == 0 ||
	    sig->bh_len > DKIM_MAX_DIGEST || sig->l < -1 || sig->t < -1 || sig->x < -1 ||
	    (sig->t >= 0 && sig->x >= 0 && sig->x < sig->t))
		abort();
	for (size_t k = 0; k < sig->n_h; k++) {
		if (sig->h[k][0] == '\0' || strchr(sig->h[k], ':') || strchr(sig->h[k], ';'))
			abort();
	}
}

/* fuzz_dkim_sig - parse as a signature and check. */
static void fuzz_dkim_sig(const char *text, size_t len)
{
	struct dkim_sig sig;
	const char *err = NULL;

	if (dkim_sig_parse(text, len, &sig, &err) == 0) {
		fuzz_dkim_sig_check(&sig);
	} else if (err == NULL || sig.d || sig.h || sig.b || sig.bh || sig.i) {
		abort();
	}
	dkim_sig_clear(&sig);
}

/* fuzz_dkim_key - parse as a key record and check. */
static void fuzz_dkim_key(const char *text, size_t len)
{
	struct dkim_key key;
	const char *err = NULL;

	if (dkim_key_parse(text, len, &key, &err) == 0) {
		if (key.p_len > DKIM_MAX_KEY_P || (key.p_len > 0 && key.p == NULL) ||
		    (key.type != DKIM_KEY_RSA && key.type != DKIM_KEY_ED25519))
			abort();
	} else if (err == NULL || key.p != NULL) {
		abort();
	}
	dkim_key_clear(&key);
}

/* fuzz_dkim_b64 - decode; the round trip through encode gives the same bytes. */
static void fuzz_dkim_b64(const char *text, size_t len)
{
	uint8_t *out, *again;
	size_t n, n2;
	char *enc;

	if (dkim_base64_decode(text, len, len, &out, &n) < 0)
		return;
	enc = dkim_base64_encode(out, n);
	if (dkim_base64_decode(enc, strlen(enc), n, &again, &n2) < 0 || n2 != n || memcmp(out, again, n) != 0)
		abort();
	free(again);
	free(enc);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct dkim_tags tags;
	const char *err = NULL;

	if (dkim_tags_parse(text, size, &tags, &err) == 0)
		fuzz_dkim_tags_check(text, size, &tags);
	else if (err == NULL)
		abort();
	fuzz_dkim_sig(text, size);
	fuzz_dkim_key(text, size);
	fuzz_dkim_b64(text, size);
	return 0;
}

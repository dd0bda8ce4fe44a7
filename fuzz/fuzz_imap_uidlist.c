// FUZZ_SOURCES: src/imap/imap_uidlist.c src/imap/imap_keywords.c src/imap/imap_subs.c src/imap/imap_mflags.c src/imap/imap_mutf7.c src/imap/imap_dotlock.c src/util/file.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_imap_uidlist - Dovecot's state files on hostile bytes. The input is
 * a dovecot-uidlist: when it parses, format -> parse gives the same list
 * and the same bytes again, and every record is found by name and by UID;
 * when it does not, what was salvaged is still ascending and consistent.
 * The same bytes as dovecot-keywords and as subscriptions must round-trip
 * too, and their first line as a Maildir file name must keep its flags
 * through imap_mflags_set.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_keywords.h"
#include "imap/imap_mflags.h"
#include "imap/imap_subs.h"
#include "imap/imap_uidlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_str_eq - two optional strings are equal. */
static bool fuzz_str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* fuzz_uidlist_consistent - ascending UIDs below next_uid; every record found both ways. */
static void fuzz_uidlist_consistent(const struct imap_uidlist *ul)
{
	for (size_t i = 0; i < ul->count; i++) {
		const struct imap_uidlist_rec *r = &ul->recs[i];
		if ((i > 0 && r->uid <= ul->recs[i - 1].uid) || r->uid >= ul->next_uid ||
		    r->name[0] == '\0' || strchr(r->name, ':') != NULL || strchr(r->name, '/') != NULL)
			abort();
		if (imap_uidlist_find(ul, r->name) != r || imap_uidlist_find_uid(ul, r->uid) != r)
			abort();
	}
}

/* fuzz_uidlist_same - the parts of two lists a round trip keeps. */
static void fuzz_uidlist_same(const struct imap_uidlist *a, const struct imap_uidlist *b)
{
	if (a->uidvalidity != b->uidvalidity || a->next_uid != b->next_uid ||
	    a->have_guid != b->have_guid || memcmp(a->guid, b->guid, 16) != 0 ||
	    !fuzz_str_eq(a->hdr_ext, b->hdr_ext) || a->count != b->count)
		abort();
	for (size_t i = 0; i < a->count; i++) {
		if (a->recs[i].uid != b->recs[i].uid || strcmp(a->recs[i].name, b->recs[i].name) != 0 ||
		    !fuzz_str_eq(a->recs[i].ext, b->recs[i].ext))
			abort();
	}
}

/* fuzz_uidlist - parse, format, parse, format. */
static void fuzz_uidlist(const char *buf, size_t size)
{
	struct imap_uidlist a, b;
	const char *err = NULL;
	size_t len1, len2;

	imap_uidlist_init(&a);
	imap_uidlist_init(&b);
	if (imap_uidlist_parse(buf, size, &a, &err) < 0) {
		if (err == NULL)
			abort();
		fuzz_uidlist_consistent(&a);
		imap_uidlist_clear(&a);
		return;
	}
	fuzz_uidlist_consistent(&a);
	char *text1 = imap_uidlist_format(&a, &len1);
	if (imap_uidlist_parse(text1, len1, &b, &err) < 0)
		abort();
	fuzz_uidlist_same(&a, &b);
	char *text2 = imap_uidlist_format(&b, &len2);
	if (len1 != len2 || memcmp(text1, text2, len1) != 0)
		abort();
	free(text1);
	free(text2);
	imap_uidlist_clear(&a);
	imap_uidlist_clear(&b);
}

/* fuzz_keywords - parse, format, parse gives the same names. */
static void fuzz_keywords(const char *buf, size_t size)
{
	struct imap_keywords a = { 0 }, b = { 0 };
	size_t len;

	imap_keywords_parse(buf, size, &a);
	char *text = imap_keywords_format(&a, &len);
	imap_keywords_parse(text, len, &b);
	for (int i = 0; i < IMAP_KEYWORDS_MAX; i++) {
		if (!fuzz_str_eq(a.names[i], b.names[i]))
			abort();
	}
	free(text);
	imap_keywords_clear(&a);
	imap_keywords_clear(&b);
}

/* fuzz_subs - parse, format, parse gives the same names and kept lines. */
static void fuzz_subs(const char *buf, size_t size)
{
	struct imap_subs a = { 0 }, b = { 0 };
	size_t len;

	imap_subs_parse(buf, size, &a);
	char *text = imap_subs_format(&a, &len);
	if (text == NULL)
		abort(); /* names from a file are always valid UTF-8 */
	imap_subs_parse(text, len, &b);
	if (a.count != b.count || a.nraw != b.nraw)
		abort();
	for (size_t i = 0; i < a.count; i++) {
		if (strcmp(a.names[i], b.names[i]) != 0)
			abort();
	}
	for (size_t i = 0; i < a.nraw; i++) {
		if (strcmp(a.raw[i], b.raw[i]) != 0)
			abort();
	}
	free(text);
	imap_subs_clear(&a);
	imap_subs_clear(&b);
}

/* fuzz_mflags - the first line as a file name: flags survive imap_mflags_set, which is idempotent. */
static void fuzz_mflags(const char *buf, size_t size)
{
	char name[256], out1[600], out2[600];
	size_t n = strcspn(buf, "\n/");
	unsigned flags, flags2;
	uint32_t kw, kw2;

	n = n < size ? n : size;
	n = n < sizeof(name) - 1 ? n : sizeof(name) - 1;
	memcpy(name, buf, n);
	name[n] = '\0';
	imap_mflags_get(name, &flags, &kw);
	if (imap_mflags_set(name, flags, kw, out1, sizeof(out1)) < 0 ||
	    imap_mflags_set(out1, flags, kw, out2, sizeof(out2)) < 0 || strcmp(out1, out2) != 0)
		abort();
	imap_mflags_get(out1, &flags2, &kw2);
	if (flags2 != flags || kw2 != kw || imap_mflags_base_len(out1) < imap_mflags_base_len(name))
		abort();
}

/* LLVMFuzzerTestOneInput - the input as each of the files. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size); /* exact size for the parsers: ASan sees overreads */
	fuzz_uidlist(buf, size);
	fuzz_keywords(buf, size);
	fuzz_subs(buf, size);
	buf[size] = '\0';
	fuzz_mflags(buf, size);
	free(buf);
	return 0;
}

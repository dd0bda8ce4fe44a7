// FUZZ_SOURCES: src/auth/users.c src/util/xalloc.c src/util/log.c
// FUZZ_LIBS: -lcrypto
/*
 * fuzz_users - the users file parser on hostile files. A file that parses
 * gives sorted, lower-case, valid accounts that users_find finds in any
 * case, and written out again ("address:hash[:secret]") parses to the same
 * accounts; a file that does not parse leaves the database as it was and
 * says "FILE:LINE: why".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_users_before[] = "keep@example.test:$6$salt$hash:shared\n";

/* fuzz_users_check - the invariants of a parsed database. */
static void fuzz_users_check(const struct users_db *db)
{
	for (size_t i = 0; i < db->n; i++) {
		const struct users_account *a = &db->accounts[i];
		const char *error = NULL;
		char *norm = NULL, *upper;

		if (i > 0 && strcmp(db->accounts[i - 1].address, a->address) >= 0)
			abort();
		if (users_address_normalize(a->address, &norm, &error) < 0 ||
		    strcmp(norm, a->address) != 0)
			abort();
		free(norm);
		if (a->hash[0] == '\0' || strpbrk(a->hash, ": \n\r") != NULL ||
		    (a->secret != NULL && (a->secret[0] == '\0' || strpbrk(a->secret, "\n\r"))))
			abort();
		upper = strdup(a->address);
		if (upper == NULL)
			abort();
		for (char *p = upper; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		if (users_find(db, upper) != a || users_find(db, a->address) != a)
			abort();
		free(upper);
	}
}

/* fuzz_users_format - the accounts written back as a users file. */
static char *fuzz_users_format(const struct users_db *db, size_t *len_r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		abort();
	for (size_t i = 0; i < db->n; i++) {
		const struct users_account *a = &db->accounts[i];
		fprintf(f, "%s:%s%s%s\n", a->address, a->hash, a->secret ? ":" : "",
			a->secret ? a->secret : "");
	}
	fclose(f);
	*len_r = len;
	return text;
}

/* fuzz_users_same - two databases hold the same accounts. */
static int fuzz_users_same(const struct users_db *a, const struct users_db *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct users_account *x = &a->accounts[i], *y = &b->accounts[i];
		if (strcmp(x->address, y->address) != 0 || strcmp(x->hash, y->hash) != 0 ||
		    (x->secret == NULL) != (y->secret == NULL) ||
		    (x->secret != NULL && strcmp(x->secret, y->secret) != 0))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct users_db db, again;
	char *text = malloc(size > 0 ? size : 1), *error = NULL, *out;
	size_t out_len;

	if (text == NULL)
		abort();
	memcpy(text, data, size); /* exact size, no NUL: ASan sees overreads */
	users_init(&db);
	users_init(&again);
	if (users_parse(&db, fuzz_users_before, strlen(fuzz_users_before), "before", &error) < 0)
		abort();
	if (users_parse(&db, text, size, "users", &error) < 0) {
		if (error == NULL || strncmp(error, "users:", 6) != 0 || db.n != 1 ||
		    users_find(&db, "keep@example.test") == NULL)
			abort();
		free(error);
	} else {
		fuzz_users_check(&db);
		out = fuzz_users_format(&db, &out_len);
		if (users_parse(&again, out, out_len, "again", &error) < 0 ||
		    !fuzz_users_same(&db, &again))
			abort();
		free(out);
	}
	users_free(&db);
	users_free(&again);
	free(text);
	return 0;
}

/* users - the account table: parsing, lookup and changes (no I/O here). */
#include "auth/users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/xalloc.h"

/* users_lower - ASCII lower case, whatever the locale. */
static unsigned char users_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* users_casecmp - compare key (any case) with a stored lower-case address. */
static int users_casecmp(const char *key, const char *address)
{
	for (;; key++, address++) {
		unsigned char a = users_lower((unsigned char)*key);
		unsigned char b = (unsigned char)*address;
		if (a != b || a == '\0')
			return (int)a - (int)b;
	}
}

/* users_wipe_free - wipe a secret string and free it. */
static void users_wipe_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/* users_account_clear - wipe and free the fields of one account. */
static void users_account_clear(struct users_account *acct)
{
	free(acct->address);
	users_wipe_free(acct->hash);
	users_wipe_free(acct->secret);
	memset(acct, 0, sizeof(*acct));
}

/* users_init - an empty database. */
void users_init(struct users_db *db)
{
	memset(db, 0, sizeof(*db));
}

/* users_clear_accounts - drop all accounts, keep the file identities. */
static void users_clear_accounts(struct users_db *db)
{
	for (size_t i = 0; i < db->n; i++)
		users_account_clear(&db->accounts[i]);
	free(db->accounts);
	db->accounts = NULL;
	db->n = db->alloc = 0;
}

/* users_free - wipe and release all accounts. */
void users_free(struct users_db *db)
{
	users_clear_accounts(db);
	users_init(db);
}

/* users_search - binary search; *pos_r is the match or the insertion point. */
static bool users_search(const struct users_db *db, const char *key, size_t *pos_r)
{
	size_t lo = 0, hi = db->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = users_casecmp(key, db->accounts[mid].address);
		if (c == 0) {
			*pos_r = mid;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos_r = lo;
	return false;
}

/* users_insert - put an account (fields owned by db from now on) at pos. */
static void users_insert(struct users_db *db, size_t pos, const struct users_account *acct)
{
	if (db->n == db->alloc) {
		db->alloc = db->alloc ? db->alloc * 2 : 16;
		db->accounts = xrealloc(db->accounts, db->alloc * sizeof(*db->accounts));
	}
	memmove(&db->accounts[pos + 1], &db->accounts[pos], (db->n - pos) * sizeof(*db->accounts));
	db->accounts[pos] = *acct;
	db->n++;
}

/* users_address_check - validate len bytes of address; see users_address_normalize. */
static int users_address_check(const char *s, size_t len, const char **error_r)
{
	const char *at = NULL;

	if (len == 0 || len > USERS_ADDRESS_MAX) {
		*error_r = len ? "address too long" : "empty address";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || c == ':') {
			*error_r = "address contains ':', white space or a control character";
			return -1;
		}
		if (c == '@' && at != NULL) {
			*error_r = "address has more than one '@'";
			return -1;
		}
		if (c == '@')
			at = s + i;
	}
	if (at == NULL || at == s || at == s + len - 1) {
		*error_r = at == NULL ? "address has no '@'" : "address needs a local part and a domain";
		return -1;
	}
	if (s[0] == '#') {
		*error_r = "address must not start with '#'";
		return -1;
	}
	return 0;
}

/* users_address_dup - a lower-case copy of len bytes. */
static char *users_address_dup(const char *s, size_t len)
{
	char *p = xstrndup(s, len);

	for (size_t i = 0; i < len; i++)
		p[i] = (char)users_lower((unsigned char)p[i]);
	return p;
}

/* users_address_normalize - validate and lower-case a login address. */
int users_address_normalize(const char *address, char **normalized_r, const char **error_r)
{
	size_t len = strlen(address);

	if (users_address_check(address, len, error_r) < 0)
		return -1;
	*normalized_r = users_address_dup(address, len);
	return 0;
}

/* users_hash_check - a crypt(3) string: non-empty, printable, no ':'. */
static int users_hash_check(const char *s, size_t len, const char **error_r)
{
	if (len == 0) {
		*error_r = "empty password hash";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == ':') {
			*error_r = "malformed password hash";
			return -1;
		}
	}
	return 0;
}

/* users_secret_check - a shared secret: non-empty, no control characters. */
static int users_secret_check(const char *s, size_t len, const char **error_r)
{
	if (len == 0) {
		*error_r = "empty shared secret";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < ' ' || c == 0x7f) {
			*error_r = "shared secret contains a control character";
			return -1;
		}
	}
	return 0;
}

/* users_fields_check - validate hash and optional secret given as C strings. */
static int users_fields_check(const char *hash, const char *secret, const char **error_r)
{
	if (users_hash_check(hash, strlen(hash), error_r) < 0)
		return -1;
	if (secret != NULL && users_secret_check(secret, strlen(secret), error_r) < 0)
		return -1;
	return 0;
}

/* users_add - add a new account. */
int users_add(struct users_db *db, const char *address, const char *hash, const char *secret,
	      const char **error_r)
{
	struct users_account acct = { 0 };
	size_t pos;

	if (users_fields_check(hash, secret, error_r) < 0 ||
	    users_address_normalize(address, &acct.address, error_r) < 0)
		return -1;
	if (users_search(db, acct.address, &pos)) {
		free(acct.address);
		*error_r = "account exists";
		return -1;
	}
	acct.hash = xstrdup(hash);
	acct.secret = secret ? xstrdup(secret) : NULL;
	users_insert(db, pos, &acct);
	return 0;
}

/* users_set - replace the hash and secret of an existing account. */
int users_set(struct users_db *db, const char *address, const char *hash, const char *secret,
	      const char **error_r)
{
	struct users_account *acct;
	size_t pos;

	if (users_fields_check(hash, secret, error_r) < 0)
		return -1;
	if (!users_search(db, address, &pos)) {
		*error_r = "no such account";
		return -1;
	}
	acct = &db->accounts[pos];
	users_wipe_free(acct->hash);
	users_wipe_free(acct->secret);
	acct->hash = xstrdup(hash);
	acct->secret = secret ? xstrdup(secret) : NULL;
	return 0;
}

/* users_del - remove an account. */
int users_del(struct users_db *db, const char *address)
{
	size_t pos;

	if (!users_search(db, address, &pos))
		return -1;
	users_account_clear(&db->accounts[pos]);
	db->n--;
	memmove(&db->accounts[pos], &db->accounts[pos + 1], (db->n - pos) * sizeof(*db->accounts));
	return 0;
}

/* users_find - look an address up, case-insensitively. */
const struct users_account *users_find(const struct users_db *db, const char *address)
{
	size_t pos;

	if (address == NULL || !users_search(db, address, &pos))
		return NULL;
	return &db->accounts[pos];
}

/* users_is_blank - true for an empty, white space only or '#' comment line. */
static bool users_is_blank(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i == len || s[i] == '#';
}

/* users_parse_fields - split "address:hash[:secret]" and validate each field. */
static int users_parse_fields(const char *s, size_t len, struct users_account *acct_r,
			      const char **error_r)
{
	const char *c1 = memchr(s, ':', len), *c2, *end = s + len;

	if (c1 == NULL) {
		*error_r = "expected address:hash:secret";
		return -1;
	}
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (c2 == NULL)
		c2 = end;
	if (users_address_check(s, (size_t)(c1 - s), error_r) < 0 ||
	    users_hash_check(c1 + 1, (size_t)(c2 - c1 - 1), error_r) < 0)
		return -1;
	if (c2 + 1 < end && users_secret_check(c2 + 1, (size_t)(end - c2 - 1), error_r) < 0)
		return -1;
	acct_r->address = users_address_dup(s, (size_t)(c1 - s));
	acct_r->hash = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
	acct_r->secret = c2 + 1 < end ? xstrndup(c2 + 1, (size_t)(end - c2 - 1)) : NULL;
	return 0;
}

/* users_parse_line - add the account on one line (CR LF tolerated) to db. */
static int users_parse_line(struct users_db *db, const char *s, size_t len, const char **error_r)
{
	struct users_account acct;
	size_t pos;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (users_is_blank(s, len))
		return 0;
	if (users_parse_fields(s, len, &acct, error_r) < 0)
		return -1;
	/* Files we write are sorted: appending is the common case. */
	if (db->n > 0 && strcmp(acct.address, db->accounts[db->n - 1].address) > 0)
		pos = db->n;
	else if (users_search(db, acct.address, &pos)) {
		users_account_clear(&acct);
		*error_r = "duplicate account";
		return -1;
	}
	users_insert(db, pos, &acct);
	return 0;
}

/* users_parse - replace db's accounts with those of a users file text. */
int users_parse(struct users_db *db, const char *text, size_t len, const char *filename,
		char **error_r)
{
	struct users_db fresh;
	const char *error;
	unsigned line = 0;
	size_t pos = 0;

	users_init(&fresh);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		line++;
		if (users_parse_line(&fresh, text + pos, end - pos, &error) < 0) {
			*error_r = xasprintf("%s:%u: %s", filename, line, error);
			users_free(&fresh);
			return -1;
		}
		pos = end + 1;
	}
	users_clear_accounts(db);
	db->accounts = fresh.accounts;
	db->n = fresh.n;
	db->alloc = fresh.alloc;
	return 0;
}

/* users_account_dup - deep copy of one account. */
struct users_account *users_account_dup(const struct users_account *acct)
{
	struct users_account *copy = xcalloc(1, sizeof(*copy));

	copy->address = xstrdup(acct->address);
	copy->hash = xstrdup(acct->hash);
	copy->secret = acct->secret ? xstrdup(acct->secret) : NULL;
	return copy;
}

/* users_account_free - wipe and free a copy. */
void users_account_free(struct users_account **acct_r)
{
	if (*acct_r == NULL)
		return;
	users_account_clear(*acct_r);
	free(*acct_r);
	*acct_r = NULL;
}

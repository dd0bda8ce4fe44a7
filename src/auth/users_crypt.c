/*
 * users_crypt - password hashing and verification through libxcrypt's
 * thread-safe calls (crypt_ra, crypt_gensalt_ra; never crypt()). The
 * scratch data of each call is wiped: it holds the password.
 */
#include "auth/users.h"

#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/xalloc.h"

static pthread_once_t users_dummy_once = PTHREAD_ONCE_INIT;
static char *users_dummy_hash; /* made once, read-only afterwards */

/* users_crypt - hash password with setting into a new string, or NULL. */
static char *users_crypt(const char *password, const char *setting)
{
	void *data = NULL;
	int size = 0;
	const char *hash = crypt_ra(password, setting, &data, &size);
	char *copy = NULL;

	/* libxcrypt returns NULL on failure; older ones a "*0"-like token. */
	if (hash != NULL && hash[0] != '*')
		copy = xstrdup(hash);
	if (data != NULL) {
		OPENSSL_cleanse(data, (size_t)size);
		free(data);
	}
	return copy;
}

/* users_hash_password - hash with a fresh yescrypt (else SHA-512) salt. */
int users_hash_password(const char *password, char **hash_r)
{
	static const char *const prefixes[] = { "$y$", "$6$" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		char *salt = crypt_gensalt_ra(prefixes[i], 0, NULL, 0);
		char *hash = salt ? users_crypt(password, salt) : NULL;

		free(salt);
		if (hash != NULL) {
			*hash_r = hash;
			return 0;
		}
	}
	return -1;
}

/* users_verify_hash - recompute and compare in constant time. */
int users_verify_hash(const char *hash, const char *password)
{
	char *computed;
	size_t len;
	int match;

	if (hash == NULL || password == NULL || hash[0] == '\0')
		return 0;
	computed = users_crypt(password, hash);
	if (computed == NULL)
		return 0;
	len = strlen(computed);
	match = len == strlen(hash) && CRYPTO_memcmp(computed, hash, len) == 0;
	OPENSSL_cleanse(computed, len);
	free(computed);
	return match;
}

/* users_verify_password - verify against an account, or the dummy without one. */
int users_verify_password(const struct users_account *acct, const char *password)
{
	if (acct == NULL)
		return users_verify_dummy(password);
	return users_verify_hash(acct->hash, password);
}

/* users_dummy_init_cb - make the dummy hash with the same method and cost as real ones. */
static void users_dummy_init_cb(void)
{
	if (users_hash_password("postern-dummy-password", &users_dummy_hash) < 0)
		users_dummy_hash = NULL;
}

/* users_crypt_init - make the dummy hash now. */
void users_crypt_init(void)
{
	pthread_once(&users_dummy_once, users_dummy_init_cb);
}

/* users_verify_dummy - as long as a real verification, always a failure. */
int users_verify_dummy(const char *password)
{
	users_crypt_init();
	if (users_dummy_hash != NULL && password != NULL)
		(void)users_verify_hash(users_dummy_hash, password);
	return 0;
}

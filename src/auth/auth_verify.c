/* auth_verify - off-loop password verification with a cache and a failure table. */
#include "auth/auth_verify.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/auth_cache.h"
#include "auth/auth_penalty.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

struct auth {
	struct event_base *base;
	struct workq *workers;
	struct auth_cache *cache;
	struct auth_penalty *penalty;
	unsigned char key[32]; /* per-process key of the cache's keyed hashes */
	struct users_file_id secrets_file; /* the users file auth_have_secrets looked at */
	bool secrets_known, have_secrets;
	unsigned max_failures, lockout; /* auth.max_failures, auth.lockout */
};

/* One verification in flight. */
struct auth_job {
	struct auth *a;
	struct users_account *acct; /* a copy; NULL: no such account */
	char *password;
	unsigned char key[AUTH_CACHE_KEY_LEN];
	unsigned char tag[AUTH_CACHE_KEY_LEN];
	int ok;
	auth_verify_cb *cb;
	void *arg;
};

struct auth *auth_new(struct event_base *base)
{
	struct auth *a = xcalloc(1, sizeof(*a));

	if (RAND_bytes(a->key, sizeof(a->key)) != 1)
		fatal("auth: no random bytes for the cache key");
	a->base = base;
	a->workers = workq_new(base, AUTH_VERIFY_THREADS, "auth");
	a->cache = auth_cache_new(AUTH_CACHE_ENTRIES, AUTH_CACHE_TTL);
	a->penalty = auth_penalty_new(AUTH_PENALTY_ENTRIES);
	users_crypt_init();
	return a;
}

void auth_free(struct auth **ap)
{
	struct auth *a = *ap;

	if (a == NULL)
		return;
	workq_free(&a->workers);
	auth_cache_free(&a->cache);
	auth_penalty_free(&a->penalty);
	OPENSSL_cleanse(a->key, sizeof(a->key));
	free(a);
	*ap = NULL;
}

/* auth_mac - HMAC-SHA256 under the process key of (a NUL b) into out. */
static void auth_mac(const struct auth *a, const char *s1, const char *s2, unsigned char *out)
{
	size_t n1 = strlen(s1), n2 = s2 != NULL ? strlen(s2) : 0, out_len = 0;
	unsigned char *buf = xmalloc(n1 + n2 + 1);

	memcpy(buf, s1, n1);
	buf[n1] = '\0';
	if (n2 > 0)
		memcpy(buf + n1 + 1, s2, n2);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, a->key, sizeof(a->key), buf, n1 + n2 + 1,
		      out, AUTH_CACHE_KEY_LEN, &out_len) == NULL)
		fatal("auth: HMAC-SHA256 failed");
	OPENSSL_cleanse(buf, n1 + n2 + 1);
	free(buf);
}

/* auth_job_free - wipe and release a job. */
static void auth_job_free(struct auth_job *j)
{
	users_account_free(&j->acct);
	if (j->password != NULL) {
		OPENSSL_cleanse(j->password, strlen(j->password));
		free(j->password);
	}
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

/* auth_work - on a worker: the slow hash (or the dummy one). */
static void auth_work(void *arg)
{
	struct auth_job *j = arg;

	j->ok = users_verify_password(j->acct, j->password) == 1;
}

/* auth_done_cb - on the loop: cache a success, answer, free. */
static void auth_done_cb(void *arg)
{
	struct auth_job *j = arg;

	if (j->ok && j->acct != NULL)
		auth_cache_insert(j->a->cache, j->key, j->tag, time(NULL));
	j->cb(j->arg, j->ok);
	auth_job_free(j);
}

/* auth_hit_cb - a cache hit, answered from the loop like a verification. */
static void auth_hit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth_job *j = arg;

	(void)fd;
	(void)what;
	j->cb(j->arg, 1);
	auth_job_free(j);
}

void auth_verify_password(struct auth *a, const struct users_account *acct, const char *login,
			  const char *password, auth_verify_cb *cb, void *arg)
{
	struct auth_job *j = xcalloc(1, sizeof(*j));
	struct timeval now = { 0, 0 };

	j->a = a;
	j->cb = cb;
	j->arg = arg;
	if (acct != NULL) {
		auth_mac(a, login, password, j->key);
		auth_mac(a, acct->address, acct->hash, j->tag);
		if (auth_cache_lookup(a->cache, j->key, j->tag, time(NULL)) &&
		    event_base_once(a->base, -1, EV_TIMEOUT, auth_hit_cb, j, &now) == 0)
			return;
		j->acct = users_account_dup(acct);
	}
	j->password = xstrdup(password);
	workq_submit(a->workers, auth_work, auth_done_cb, j);
}

unsigned auth_login_failed(struct auth *a, const char *ip)
{
	return auth_penalty_fail(a->penalty, ip, time(NULL));
}

void auth_set_limits(struct auth *a, unsigned max_failures, unsigned lockout)
{
	a->max_failures = max_failures;
	a->lockout = lockout;
}

bool auth_login_blocked(struct auth *a, const char *ip)
{
	return a->max_failures > 0 &&
	       auth_penalty_blocked(a->penalty, ip, time(NULL), a->max_failures, a->lockout);
}

void auth_login_succeeded(struct auth *a, const char *ip)
{
	auth_penalty_clear(a->penalty, ip);
}

bool auth_have_secrets(struct auth *a, const struct users_db *db)
{
	if (a->secrets_known && memcmp(&a->secrets_file, &db->loaded, sizeof(db->loaded)) == 0)
		return a->have_secrets;
	a->have_secrets = false;
	for (size_t i = 0; i < db->n && !a->have_secrets; i++)
		a->have_secrets = db->accounts[i].secret != NULL;
	a->secrets_file = db->loaded;
	a->secrets_known = true;
	return a->have_secrets;
}

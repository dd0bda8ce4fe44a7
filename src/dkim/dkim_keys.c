/*
 * dkim_keys - load dkim.keys_dir (DOMAIN/SELECTOR.key) into a sorted,
 * immutable table, and the TXT record of each key.
 */
#include "dkim/dkim_keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/log.h"
#include "util/xalloc.h"

#define DKIM_KEYS_SUFFIX ".key"
#define DKIM_KEYS_RSA_MIN_BITS 1024 /* RFC 8301 section 3.2: smaller keys must not pass */
#define DKIM_KEYS_ED25519_LEN 32

struct dkim_keys {
	struct dkim_keys_entry *v;
	size_t n;
	bool full_warned;
};

/* dkim_keys_name_char - a byte allowed in a domain or selector name. */
static bool dkim_keys_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.';
}

/* dkim_keys_name_ok - letters, digits, '-', '_', '.'; no empty label, no leading '-'. */
bool dkim_keys_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > DKIM_KEYS_NAME_MAX || name[0] == '.' || name[0] == '-' || name[n - 1] == '.' ||
	    strstr(name, "..") != NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!dkim_keys_name_char((unsigned char)name[i]))
			return false;
	return true;
}

/* dkim_keys_read_fd - up to max bytes of fd into a new buffer; NULL when larger or on error. */
static char *dkim_keys_read_fd(int fd, size_t size, size_t *len_r)
{
	char *buf = xmalloc(size + 1);
	size_t len = 0;
	ssize_t r = 1;

	while (len < size && (r = read(fd, buf + len, size - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			OPENSSL_cleanse(buf, len);
			free(buf);
			return NULL;
		}
		len += (size_t)r;
	}
	*len_r = len;
	return buf;
}

/* dkim_keys_read - the bytes of key file name in dirfd (path for messages); NULL after a warning. */
static char *dkim_keys_read(int dirfd, const char *name, const char *path, size_t *len_r)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	char *buf = NULL;

	if (fd < 0) {
		log_warn("dkim key %s skipped: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DKIM_KEYS_FILE_MAX)
		log_warn("dkim key %s skipped: not a regular file of at most %d bytes", path, DKIM_KEYS_FILE_MAX);
	else if ((buf = dkim_keys_read_fd(fd, (size_t)st.st_size, len_r)) == NULL)
		log_warn("dkim key %s skipped: %s", path, strerror(errno));
	else if ((st.st_mode & 077) != 0)
		log_warn("dkim key %s is readable by group or others (mode %04o): chmod 600 it", path,
			 (unsigned)(st.st_mode & 07777));
	close(fd);
	return buf;
}

/* dkim_keys_nopass_cb - never ask for a passphrase: an encrypted key is refused, not prompted for. */
static int dkim_keys_nopass_cb(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* dkim_keys_parse - the PEM private key in buf, or NULL; the thread's OpenSSL errors are cleared. */
static EVP_PKEY *dkim_keys_parse(const char *buf, size_t len)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	EVP_PKEY *pkey = NULL;

	if (bio != NULL)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, dkim_keys_nopass_cb, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return pkey;
}

/* dkim_keys_algorithm - "rsa" or "ed25519" for pkey; NULL with *why_r when it cannot sign DKIM. */
static const char *dkim_keys_algorithm(const EVP_PKEY *pkey, const char **why_r)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pkey) >= DKIM_KEYS_RSA_MIN_BITS)
			return "rsa";
		*why_r = "an RSA key under 1024 bits (RFC 8301)";
		return NULL;
	case EVP_PKEY_ED25519:
		return "ed25519";
	default:
		*why_r = "neither an RSA nor an Ed25519 key";
		return NULL;
	}
}

/* dkim_keys_lower - a lower-case copy of s (ASCII). */
static char *dkim_keys_lower(const char *s, size_t n)
{
	char *copy = xstrndup(s, n);

	for (char *p = copy; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return copy;
}

/* dkim_keys_add - append a key (taking pkey); false when the table is full. */
static bool dkim_keys_add(struct dkim_keys *k, const char *domain, const char *file, const char *algorithm,
			  EVP_PKEY *pkey)
{
	struct dkim_keys_entry *e;

	if (k->n >= DKIM_KEYS_MAX)
		return false;
	if ((k->n & (k->n - 1)) == 0) /* grow at powers of two */
		k->v = xrealloc(k->v, (k->n ? 2 * k->n : 1) * sizeof(*k->v));
	e = &k->v[k->n++];
	e->domain = dkim_keys_lower(domain, strlen(domain));
	e->selector = xstrndup(file, strlen(file) - strlen(DKIM_KEYS_SUFFIX));
	e->algorithm = algorithm;
	e->pkey = pkey;
	return true;
}

/* dkim_keys_selector_ok - file is SELECTOR.key with a valid selector. */
static bool dkim_keys_selector_ok(const char *file)
{
	size_t n = strlen(file), sl = strlen(DKIM_KEYS_SUFFIX);
	char *selector;
	bool ok;

	if (n <= sl)
		return false;
	selector = xstrndup(file, n - sl);
	ok = dkim_keys_name_ok(selector);
	free(selector);
	return ok;
}

/* dkim_keys_load_file - one DOMAIN/FILE: loaded, skipped in silence (not *.key) or with a warning. */
static void dkim_keys_load_file(struct dkim_keys *k, int dirfd, const char *path, const char *domain,
				const char *file)
{
	size_t n = strlen(file), sl = strlen(DKIM_KEYS_SUFFIX), len = 0;
	const char *algorithm, *why = "not a PEM private key (or one with a passphrase)";
	EVP_PKEY *pkey = NULL;
	char *buf;

	if (file[0] == '.' || n <= sl || strcmp(file + n - sl, DKIM_KEYS_SUFFIX) != 0)
		return;
	if (!dkim_keys_selector_ok(file)) {
		log_warn("dkim key %s skipped: the selector is not a valid name", path);
		return;
	}
	if ((buf = dkim_keys_read(dirfd, file, path, &len)) == NULL)
		return;
	pkey = dkim_keys_parse(buf, len);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (pkey == NULL || (algorithm = dkim_keys_algorithm(pkey, &why)) == NULL) {
		log_warn("dkim key %s skipped: %s", path, why);
		EVP_PKEY_free(pkey);
	} else if (!dkim_keys_add(k, domain, file, algorithm, pkey)) {
		if (!k->full_warned)
			log_warn("dkim key %s and later ones skipped: more than %d keys", path, DKIM_KEYS_MAX);
		k->full_warned = true;
		EVP_PKEY_free(pkey);
	}
}

/* dkim_keys_load_domain - the keys of DIR/DOMAIN; not a directory: skipped in silence. */
static void dkim_keys_load_domain(struct dkim_keys *k, int topfd, const char *dir, const char *domain)
{
	int fd = openat(topfd, domain, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0) {
		if (errno != ENOTDIR)
			log_warn("dkim keys in %s/%s skipped: %s", dir, domain, strerror(errno));
		return;
	}
	if (!dkim_keys_name_ok(domain)) {
		log_warn("dkim keys in %s/%s skipped: not a valid domain name", dir, domain);
		close(fd);
		return;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *path = xasprintf("%s/%s/%s", dir, domain, de->d_name);
		dkim_keys_load_file(k, dirfd(d), path, domain, de->d_name);
		free(path);
	}
	closedir(d);
}

/* dkim_keys_rank - RSA sorts before Ed25519 (RFC 8463 section 5: send both, RSA for the old verifiers). */
static int dkim_keys_rank(const struct dkim_keys_entry *e)
{
	return strcmp(e->algorithm, "rsa") == 0 ? 0 : 1;
}

/* dkim_keys_cmp_cb - qsort order: domain, algorithm (RSA first), selector. */
static int dkim_keys_cmp_cb(const void *a, const void *b)
{
	const struct dkim_keys_entry *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	if (c == 0)
		c = dkim_keys_rank(x) - dkim_keys_rank(y);
	return c != 0 ? c : strcmp(x->selector, y->selector);
}

/* dkim_keys_load - every DIR/DOMAIN/SELECTOR.key, sorted; a missing dir is an empty table. */
struct dkim_keys *dkim_keys_load(const char *dir, char **error_r)
{
	struct dkim_keys *k = xcalloc(1, sizeof(*k));
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL && errno == ENOENT)
		return k;
	if (d == NULL) {
		*error_r = xasprintf("dkim.keys_dir %s: %s", dir, strerror(errno));
		free(k);
		return NULL;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			dkim_keys_load_domain(k, dirfd(d), dir, de->d_name);
	closedir(d);
	if (k->n > 1)
		qsort(k->v, k->n, sizeof(*k->v), dkim_keys_cmp_cb);
	return k;
}

/* dkim_keys_domain_cmp - compare domain (len bytes, any case) with a lower-case table domain. */
static int dkim_keys_domain_cmp(const char *domain, size_t len, const char *entry)
{
	int c = strncasecmp(domain, entry, len);

	if (c != 0)
		return c;
	return entry[len] == '\0' ? 0 : -1;
}

/* dkim_keys_find - the keys of domain into out (at most max), RSA first; how many there are. */
size_t dkim_keys_find(const struct dkim_keys *k, const char *domain, const struct dkim_keys_entry **out,
		      size_t max)
{
	size_t len = strlen(domain), lo = 0, hi = k->n, n = 0;

	if (len > 0 && domain[len - 1] == '.')
		len--;
	while (lo < hi) { /* the first entry not before domain */
		size_t mid = lo + (hi - lo) / 2;
		if (dkim_keys_domain_cmp(domain, len, k->v[mid].domain) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < k->n && dkim_keys_domain_cmp(domain, len, k->v[i].domain) == 0; i++, n++)
		if (n < max)
			out[n] = &k->v[i];
	return n;
}

/* dkim_keys_count - how many keys the table holds. */
size_t dkim_keys_count(const struct dkim_keys *k)
{
	return k->n;
}

/* dkim_keys_at - the i-th key. */
const struct dkim_keys_entry *dkim_keys_at(const struct dkim_keys *k, size_t i)
{
	return i < k->n ? &k->v[i] : NULL;
}

/* dkim_keys_base64 - bytes in base64, malloc'd. */
static char *dkim_keys_base64(const unsigned char *bytes, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, bytes, (int)len);
	return out;
}

/* dkim_keys_record - "v=DKIM1; k=ALG; p=BASE64" for e's public key. */
char *dkim_keys_record(const struct dkim_keys_entry *e)
{
	unsigned char raw[DKIM_KEYS_ED25519_LEN], *der = NULL;
	size_t rawlen = sizeof(raw);
	char *b64 = NULL, *record;
	int len;

	if (strcmp(e->algorithm, "rsa") == 0 && (len = i2d_PUBKEY(e->pkey, &der)) > 0)
		b64 = dkim_keys_base64(der, (size_t)len);
	else if (strcmp(e->algorithm, "ed25519") == 0 &&
		 EVP_PKEY_get_raw_public_key(e->pkey, raw, &rawlen) == 1)
		b64 = dkim_keys_base64(raw, rawlen);
	OPENSSL_free(der);
	ERR_clear_error();
	if (b64 == NULL)
		return NULL;
	record = xasprintf("v=DKIM1; k=%s; p=%s", e->algorithm, b64);
	free(b64);
	return record;
}

/* dkim_keys_free - free the table and its keys; *kp becomes NULL. */
void dkim_keys_free(struct dkim_keys **kp)
{
	struct dkim_keys *k = *kp;

	if (k == NULL)
		return;
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].domain);
		free(k->v[i].selector);
		EVP_PKEY_free(k->v[i].pkey);
	}
	free(k->v);
	free(k);
	*kp = NULL;
}

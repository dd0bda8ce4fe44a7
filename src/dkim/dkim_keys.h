/*
 * dkim_keys - the DKIM private keys of SPEC.md "Mail authentication":
 * dkim.keys_dir holds DOMAIN/SELECTOR.key, one PEM private key each (RSA or
 * Ed25519, as "posternctl dkim keygen" writes them). The daemon loads the
 * table at start and on SIGHUP; after dkim_keys_load it is never changed,
 * so signing threads may read it without a lock while it lives.
 *
 * Names from the file system are checked (letters, digits, '-', '_' and
 * '.', no empty label): anything else is skipped with a warning, as is a
 * file that is no readable PEM key of a supported type, and a key that is
 * group or world readable gets a warning.
 */
#ifndef POSTERN_DKIM_KEYS_H
#define POSTERN_DKIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#define DKIM_KEYS_NAME_MAX 253  /* a domain or a selector, in bytes */
#define DKIM_KEYS_MAX 4096      /* keys loaded at most; more are skipped with a warning */
#define DKIM_KEYS_FILE_MAX 65536 /* a larger key file is skipped */

/* One key: domain (lower case) and selector, "rsa" or "ed25519". */
struct dkim_keys_entry {
	char *domain;
	char *selector;
	const char *algorithm; /* "rsa" | "ed25519" */
	EVP_PKEY *pkey;
};

struct dkim_keys;

/*
 * dkim_keys_load - every DOMAIN/SELECTOR.key under dir, sorted by domain,
 * RSA before Ed25519, then by selector. A missing dir is an empty table; a
 * dir that cannot be read is NULL with *error_r malloc'd. Bad files are
 * logged (log_warn) and skipped.
 */
struct dkim_keys *dkim_keys_load(const char *dir, char **error_r);

/*
 * dkim_keys_find - up to max keys of domain (case-insensitive, a trailing
 * dot ignored) into out, RSA first; returns how many there are in all.
 */
size_t dkim_keys_find(const struct dkim_keys *k, const char *domain, const struct dkim_keys_entry **out,
		      size_t max);

/* dkim_keys_count - how many keys the table holds. */
size_t dkim_keys_count(const struct dkim_keys *k);

/* dkim_keys_at - the i-th key (i < dkim_keys_count), in the order of dkim_keys_load. */
const struct dkim_keys_entry *dkim_keys_at(const struct dkim_keys *k, size_t i);

/*
 * dkim_keys_record - the TXT record text of e's public key, malloc'd:
 * "v=DKIM1; k=rsa; p=BASE64" (p: the SubjectPublicKeyInfo DER for RSA, the
 * raw 32 bytes for Ed25519, RFC 8463 section 4). NULL when OpenSSL fails.
 */
char *dkim_keys_record(const struct dkim_keys_entry *e);

/*
 * dkim_keys_name_ok - whether name may be a domain or selector: 1 to
 * DKIM_KEYS_NAME_MAX bytes of letters, digits, '-', '_' and '.', no empty
 * label (no leading or trailing '.', no ".."), not starting with '-'.
 */
bool dkim_keys_name_ok(const char *name);

/* dkim_keys_free - free the table and its keys; *kp becomes NULL. */
void dkim_keys_free(struct dkim_keys **kp);

#endif

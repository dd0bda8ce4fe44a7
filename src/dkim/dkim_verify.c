/* dkim_verify - one DKIM-Signature checked against its key and body hash (RFC 6376 6.1, RFC 8301, RFC 8463). */
#include "dkim/dkim.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "util/xalloc.h"

#define DKIM_VERIFY_MIN_RSA_BITS 1024 /* RFC 8301 3.2 */

/* dkim_verify_i_domain - the domain part of i= (after its last '@'). */
static const char *dkim_verify_i_domain(const struct dkim_sig *sig)
{
	const char *at = strrchr(sig->i, '@');
	return at ? at + 1 : sig->i;
}

/* dkim_verify_under - dom is d or a subdomain of d (6.1.1). */
static bool dkim_verify_under(const char *dom, const char *d)
{
	size_t n = strlen(dom), dn = strlen(d);
	if (n == dn)
		return strcasecmp(dom, d) == 0;
	return n > dn && dom[n - dn - 1] == '.' && strcasecmp(dom + n - dn, d) == 0;
}

/* dkim_verify_has_from - h= lists From. */
static bool dkim_verify_has_from(const struct dkim_sig *sig)
{
	for (size_t k = 0; k < sig->n_h; k++) {
		if (strcasecmp(sig->h[k], "from") == 0)
			return true;
	}
	return false;
}

/* dkim_verify_sig_checks - why the signature alone is unusable, or NULL. */
static const char *dkim_verify_sig_checks(const struct dkim_headers *h, size_t sig_field,
					  const struct dkim_sig *sig, time_t now)
{
	if (sig_field >= h->n || !dkim_field_is(&h->fields[sig_field], "DKIM-Signature"))
		return "not a DKIM-Signature field";
	if (sig->alg == DKIM_ALG_RSA_SHA1)
		return "rsa-sha1 is not accepted (RFC 8301)";
	if (!dkim_verify_has_from(sig))
		return "h= does not cover From";
	if (sig->x >= 0 && (long long)now > sig->x)
		return "signature expired";
	if (!dkim_verify_under(dkim_verify_i_domain(sig), sig->d))
		return "i= not under d=";
	return NULL;
}

/* dkim_verify_key_checks - why the key cannot verify this signature, or NULL. */
static const char *dkim_verify_key_checks(const struct dkim_sig *sig, const struct dkim_key *key)
{
	if (key->p_len == 0)
		return "key revoked";
	if (!key->email)
		return "key not for email (s=)";
	if ((key->type == DKIM_KEY_ED25519) != (sig->alg == DKIM_ALG_ED25519_SHA256))
		return "key type does not match a=";
	if (!(key->hashes & DKIM_KEY_H_SHA256))
		return "key h= excludes sha256";
	if (key->strict && strcasecmp(dkim_verify_i_domain(sig), sig->d) != 0)
		return "t=s key and i= domain is not d=";
	return NULL;
}

/*
 * Decoded RSA keys, by their DER bytes: OpenSSL 3 decodes a public key
 * through its decoder framework (locks, string compares, allocations),
 * which cost more than the verification itself; a busy sender's key is
 * the same in every message. A few entries, replaced round robin, shared
 * by every thread under a mutex; EVP_PKEY is safe to verify with
 * concurrently.
 */
#define DKIM_VERIFY_KEYS_CACHED 32
static struct {
	unsigned char *der;
	size_t len;
	EVP_PKEY *pk;
} dkim_verify_keys[DKIM_VERIFY_KEYS_CACHED];
static unsigned dkim_verify_keys_next;
static pthread_mutex_t dkim_verify_keys_lock = PTHREAD_MUTEX_INITIALIZER;

/* dkim_verify_key_lookup - a new reference to the key decoded from der, or NULL. */
static EVP_PKEY *dkim_verify_key_lookup(const unsigned char *der, size_t len)
{
	EVP_PKEY *pk = NULL;

	pthread_mutex_lock(&dkim_verify_keys_lock);
	for (size_t i = 0; i < DKIM_VERIFY_KEYS_CACHED && pk == NULL; i++) {
		if (dkim_verify_keys[i].pk != NULL && dkim_verify_keys[i].len == len &&
		    memcmp(dkim_verify_keys[i].der, der, len) == 0 &&
		    EVP_PKEY_up_ref(dkim_verify_keys[i].pk) == 1)
			pk = dkim_verify_keys[i].pk;
	}
	pthread_mutex_unlock(&dkim_verify_keys_lock);
	return pk;
}

/* dkim_verify_key_remember - keep a reference to pk, decoded from der. */
static void dkim_verify_key_remember(const unsigned char *der, size_t len, EVP_PKEY *pk)
{
	if (EVP_PKEY_up_ref(pk) != 1)
		return;
	pthread_mutex_lock(&dkim_verify_keys_lock);
	unsigned i = dkim_verify_keys_next++ % DKIM_VERIFY_KEYS_CACHED;

	EVP_PKEY_free(dkim_verify_keys[i].pk);
	free(dkim_verify_keys[i].der);
	dkim_verify_keys[i].der = xmalloc(len);
	memcpy(dkim_verify_keys[i].der, der, len);
	dkim_verify_keys[i].len = len;
	dkim_verify_keys[i].pk = pk;
	pthread_mutex_unlock(&dkim_verify_keys_lock);
}

void dkim_verify_forget_keys(void)
{
	pthread_mutex_lock(&dkim_verify_keys_lock);
	for (size_t i = 0; i < DKIM_VERIFY_KEYS_CACHED; i++) {
		EVP_PKEY_free(dkim_verify_keys[i].pk);
		free(dkim_verify_keys[i].der);
		dkim_verify_keys[i].pk = NULL;
		dkim_verify_keys[i].der = NULL;
	}
	pthread_mutex_unlock(&dkim_verify_keys_lock);
}

/* dkim_verify_rsa_key - p= as SubjectPublicKeyInfo or bare RSAPublicKey DER; NULL with *why_r. */
static EVP_PKEY *dkim_verify_rsa_key(const struct dkim_key *key, const char **why_r)
{
	const unsigned char *p = key->p;
	EVP_PKEY *pk = dkim_verify_key_lookup(key->p, key->p_len);

	if (pk != NULL)
		return pk; /* it passed the checks below when it was remembered */
	pk = d2i_PUBKEY(NULL, &p, (long)key->p_len);
	if (pk == NULL) {
		p = key->p;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)key->p_len);
	}
	ERR_clear_error();
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		*why_r = "unusable RSA key";
	} else if (EVP_PKEY_get_bits(pk) < DKIM_VERIFY_MIN_RSA_BITS) {
		*why_r = "RSA key shorter than 1024 bits";
	} else {
		dkim_verify_key_remember(key->p, key->p_len, pk);
		return pk;
	}
	EVP_PKEY_free(pk);
	return NULL;
}

/* dkim_verify_pkey - the key's public key for OpenSSL; NULL with *why_r. */
static EVP_PKEY *dkim_verify_pkey(const struct dkim_key *key, const char **why_r)
{
	EVP_PKEY *pk;

	if (key->type == DKIM_KEY_RSA)
		return dkim_verify_rsa_key(key, why_r);
	pk = key->p_len == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->p, 32) : NULL;
	ERR_clear_error();
	if (pk == NULL)
		*why_r = "unusable Ed25519 key";
	return pk;
}

/* dkim_verify_strip_b - the field raw with the b= value removed (from after '=' to its last character). */
static char *dkim_verify_strip_b(const char *raw, size_t len, size_t *len_r)
{
	const char *colon = memchr(raw, ':', len), *eq;
	const struct dkim_tag *b;
	struct dkim_tags tags;
	const char *err;
	char *out;

	if (colon == NULL || dkim_tags_parse(colon + 1, len - (size_t)(colon + 1 - raw), &tags, &err) < 0 ||
	    (b = dkim_tags_get(&tags, "b")) == NULL)
		return NULL;
	for (eq = b->value; eq[-1] != '='; eq--)
		;
	*len_r = (size_t)(eq - raw) + (size_t)(raw + len - (b->value + b->value_len));
	out = xmalloc(*len_r + 1);
	memcpy(out, raw, (size_t)(eq - raw));
	memcpy(out + (eq - raw), b->value + b->value_len, (size_t)(raw + len - (b->value + b->value_len)));
	return out;
}

/* dkim_verify_crypto - 1 when sig is a good signature of the SHA-256 digest by pk. */
static int dkim_verify_crypto(EVP_PKEY *pk, const uint8_t *digest, size_t dlen, const struct dkim_sig *sig)
{
	int ok = 0;

	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519) {
		/* RFC 8463 3: PureEdDSA over the SHA-256 hash of the canonicalized header data */
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
		     EVP_DigestVerify(md, sig->b, sig->b_len, digest, dlen) == 1;
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
		ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_verify(ctx, sig->b, sig->b_len, digest, dlen) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
	return ok;
}

/* dkim_verify_headers - hash the header data and check the signature: PASS, FAIL or PERMERROR. */
static enum dkim_result dkim_verify_headers(const struct dkim_headers *h, size_t sig_field,
					    const struct dkim_sig *sig, EVP_PKEY *pk, const char **reason_r)
{
	const struct dkim_field *f = &h->fields[sig_field];
	uint8_t digest[DKIM_MAX_DIGEST];
	size_t raw_len = 0, dlen;
	char *raw = dkim_verify_strip_b(f->raw, f->raw_len, &raw_len);

	if (raw == NULL) {
		*reason_r = "DKIM-Signature field does not parse";
		return DKIM_PERMERROR;
	}
	dlen = dkim_header_hash(h, sig_field, sig->h, sig->n_h, raw, raw_len, sig->hcanon, false, digest);
	free(raw);
	if (dlen == 0 || !dkim_verify_crypto(pk, digest, dlen, sig)) {
		*reason_r = "signature did not verify";
		return DKIM_FAIL;
	}
	*reason_r = "ok";
	return DKIM_PASS;
}

/* dkim_verify - verify signature number sig_field against key and the body hash. */
enum dkim_result dkim_verify(const struct dkim_headers *h, size_t sig_field, const struct dkim_sig *sig,
			     const struct dkim_key *key, const uint8_t *body_hash, size_t body_hash_len,
			     time_t now, const char **reason_r)
{
	const char *why = dkim_verify_sig_checks(h, sig_field, sig, now);
	enum dkim_result r;
	EVP_PKEY *pk;

	if (why == NULL)
		why = dkim_verify_key_checks(sig, key);
	if (why != NULL) {
		*reason_r = why;
		return DKIM_PERMERROR;
	}
	if ((pk = dkim_verify_pkey(key, &why)) == NULL) {
		*reason_r = why;
		return DKIM_PERMERROR;
	}
	if (body_hash_len == 0 || body_hash_len != sig->bh_len || memcmp(body_hash, sig->bh, sig->bh_len) != 0) {
		*reason_r = body_hash_len == 0 ? "l= exceeds the body" : "body hash did not verify";
		EVP_PKEY_free(pk);
		return DKIM_FAIL;
	}
	r = dkim_verify_headers(h, sig_field, sig, pk, reason_r);
	EVP_PKEY_free(pk);
	return r;
}

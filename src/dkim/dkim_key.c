/* dkim_key - the DKIM key record (RFC 6376 3.6.1, RFC 8463 k=ed25519) parsed into struct dkim_key. */
#include "dkim/dkim.h"

#include <stdlib.h>
#include <string.h>

/* dkim_key_is - the n bytes at s are exactly word. */
static bool dkim_key_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(s, word, n) == 0;
}

/* dkim_key_word_cb - one element of a colon list: the bits it stands for (0: unknown, ignored). */
typedef unsigned (*dkim_key_word_cb)(const char *s, size_t n);

/* dkim_key_list - OR of word_cb over the colon-separated, whitespace-trimmed elements of tag. */
static unsigned dkim_key_list(const struct dkim_tag *tag, dkim_key_word_cb word_cb)
{
	const char *p = tag->value, *end = p + tag->value_len;
	unsigned acc = 0;

	for (;;) {
		const char *colon = memchr(p, ':', (size_t)(end - p)), *e = colon ? colon : end;
		while (p < e && strchr(" \t\r\n", *p) != NULL)
			p++;
		while (e > p && strchr(" \t\r\n", e[-1]) != NULL)
			e--;
		acc |= word_cb(p, (size_t)(e - p));
		if (colon == NULL)
			return acc;
		p = colon + 1;
	}
}

/* dkim_key_hash_cb - h= words: sha1, sha256; others ignored. */
static unsigned dkim_key_hash_cb(const char *s, size_t n)
{
	return dkim_key_is(s, n, "sha1") ? DKIM_KEY_H_SHA1 : dkim_key_is(s, n, "sha256") ? DKIM_KEY_H_SHA256 : 0;
}

#define DKIM_KEY_T_Y 1u
#define DKIM_KEY_T_S 2u

/* dkim_key_flag_cb - t= flags: y, s; others ignored. */
static unsigned dkim_key_flag_cb(const char *s, size_t n)
{
	return dkim_key_is(s, n, "y") ? DKIM_KEY_T_Y : dkim_key_is(s, n, "s") ? DKIM_KEY_T_S : 0;
}

/* dkim_key_service_cb - s= service types: email or * (1); others ignored. */
static unsigned dkim_key_service_cb(const char *s, size_t n)
{
	return dkim_key_is(s, n, "email") || dkim_key_is(s, n, "*");
}

/* dkim_key_type - k=: rsa or ed25519 (default rsa). */
static int dkim_key_type(const struct dkim_tag *k, enum dkim_key_type *type_r)
{
	if (k == NULL || dkim_key_is(k->value, k->value_len, "rsa"))
		*type_r = DKIM_KEY_RSA;
	else if (dkim_key_is(k->value, k->value_len, "ed25519"))
		*type_r = DKIM_KEY_ED25519;
	else
		return -1;
	return 0;
}

/* dkim_key_fields - the tags into key_r. */
static int dkim_key_fields(const struct dkim_tags *t, struct dkim_key *key_r, const char **error_r)
{
	const struct dkim_tag *v = dkim_tags_get(t, "v"), *p = dkim_tags_get(t, "p"),
			      *h = dkim_tags_get(t, "h"), *tf = dkim_tags_get(t, "t"),
			      *s = dkim_tags_get(t, "s");
	unsigned flags = tf ? dkim_key_list(tf, dkim_key_flag_cb) : 0;

	if (v && (v != &t->tag[0] || !dkim_key_is(v->value, v->value_len, "DKIM1")))
		*error_r = "v= is not DKIM1 or not first";
	else if (dkim_key_type(dkim_tags_get(t, "k"), &key_r->type) < 0)
		*error_r = "unknown k= key type";
	else if (p == NULL)
		*error_r = "no p= tag";
	else if (dkim_base64_decode(p->value, p->value_len, DKIM_MAX_KEY_P, &key_r->p, &key_r->p_len) < 0)
		*error_r = "bad p= base64";
	else {
		key_r->hashes = h ? dkim_key_list(h, dkim_key_hash_cb) : DKIM_KEY_H_SHA1 | DKIM_KEY_H_SHA256;
		key_r->testing = (flags & DKIM_KEY_T_Y) != 0;
		key_r->strict = (flags & DKIM_KEY_T_S) != 0;
		key_r->email = s == NULL || dkim_key_list(s, dkim_key_service_cb) != 0;
		return 0;
	}
	return -1;
}

/* dkim_key_parse - parse a key record into key_r. */
int dkim_key_parse(const char *txt, size_t len, struct dkim_key *key_r, const char **error_r)
{
	struct dkim_tags tags;

	memset(key_r, 0, sizeof(*key_r));
	if (dkim_tags_parse(txt, len, &tags, error_r) < 0)
		return -1;
	if (dkim_key_fields(&tags, key_r, error_r) < 0) {
		dkim_key_clear(key_r);
		return -1;
	}
	return 0;
}

/* dkim_key_clear - free what the key owns and zero it. */
void dkim_key_clear(struct dkim_key *key)
{
	free(key->p);
	memset(key, 0, sizeof(*key));
}

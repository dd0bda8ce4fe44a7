/* dkim_sign - a relaxed/relaxed DKIM-Signature (RFC 6376 5, RFC 8463) with From over-signed, folded at 78. */
#include "dkim/dkim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "util/xalloc.h"

#define DKIM_SIGN_LINE 78

/* The fields signed, each instance present; From is listed once more than present. */
static const char *const dkim_sign_fields[] = {
	"from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references", "reply-to",
	"sender", "mime-version", "content-type", "content-transfer-encoding",
};
#define DKIM_SIGN_N_FIELDS (sizeof(dkim_sign_fields) / sizeof(dkim_sign_fields[0]))

/* The header text being built and the length of its current line. */
struct dkim_sign_out {
	struct dkim_buf buf;
	size_t line;
};

/* dkim_sign_add - append s (sp: after a space); fold (LF TAB) first when it would pass the line limit. */
static void dkim_sign_add(struct dkim_sign_out *o, const char *s, size_t n, bool sp)
{
	if (o->line + (sp ? 1 : 0) + n > DKIM_SIGN_LINE && o->line > 1) {
		dkim_buf_add(&o->buf, "\n\t", 2);
		o->line = 1;
		sp = false;
	}
	if (sp)
		dkim_buf_add(&o->buf, " ", 1);
	dkim_buf_add(&o->buf, s, n);
	o->line += (sp ? 1 : 0) + n;
}

/* dkim_sign_tag - append a formatted tag after a space. */
static void dkim_sign_tag(struct dkim_sign_out *o, const char *fmt, const char *a, const char *b)
{
	char *s = xasprintf(fmt, a, b);
	dkim_sign_add(o, s, strlen(s), true);
	free(s);
}

/* dkim_sign_names - the h= names for h (instances present, From once more); NULL without a From field. */
static char **dkim_sign_names(const struct dkim_headers *h, size_t *n_r)
{
	char **names = xcalloc(h->n + 1, sizeof(*names));
	size_t n = 0, froms = 0;

	for (size_t k = 0; k < h->n; k++) {
		for (size_t j = 0; j < DKIM_SIGN_N_FIELDS; j++) {
			const char *want = dkim_sign_fields[j];
			if (h->fields[k].name_len != strlen(want) ||
			    strncasecmp(h->fields[k].name, want, h->fields[k].name_len) != 0)
				continue;
			names[n++] = (char *)want;
			froms += j == 0;
			break;
		}
	}
	if (froms == 0) {
		free(names);
		return NULL;
	}
	names[n++] = (char *)dkim_sign_fields[0];
	*n_r = n;
	return names;
}

/* dkim_sign_h - the h= tag, folded after a colon where needed. */
static void dkim_sign_h(struct dkim_sign_out *o, char *const *names, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char *s = xasprintf("%s%s%c", k == 0 ? "h=" : "", names[k], k + 1 < n ? ':' : ';');
		dkim_sign_add(o, s, strlen(s), k == 0);
		free(s);
	}
}

/* dkim_sign_crypto - sign the digest with key (RSA PKCS#1 v1.5 SHA-256, or Ed25519 over it); malloc'd. */
static uint8_t *dkim_sign_crypto(EVP_PKEY *key, const uint8_t *dg, size_t dlen, size_t *len_r)
{
	bool ed = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
	EVP_PKEY_CTX *ctx = ed ? NULL : EVP_PKEY_CTX_new(key, NULL);
	EVP_MD_CTX *md = ed ? EVP_MD_CTX_new() : NULL;
	uint8_t *out = xmalloc((size_t)EVP_PKEY_get_size(key) + 1);
	size_t len = (size_t)EVP_PKEY_get_size(key);
	int ok;

	if (ed)
		ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
		     EVP_DigestSign(md, out, &len, dg, dlen) == 1;
	else
		ok = ctx && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_sign(ctx, out, &len, dg, dlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok) {
		free(out);
		return NULL;
	}
	*len_r = len;
	return out;
}

/* dkim_sign_b - append the b= value, folded to the line limit, and the final LF. */
static void dkim_sign_b(struct dkim_sign_out *o, const uint8_t *sig, size_t len)
{
	char *b64 = dkim_base64_encode(sig, len);
	size_t n = strlen(b64), pos = 0;

	while (pos < n) {
		size_t room = o->line < DKIM_SIGN_LINE ? DKIM_SIGN_LINE - o->line : 0;
		if (room == 0) {
			dkim_buf_add(&o->buf, "\n\t", 2);
			o->line = 1;
			continue;
		}
		room = room < n - pos ? room : n - pos;
		dkim_buf_add(&o->buf, b64 + pos, room);
		o->line += room;
		pos += room;
	}
	dkim_buf_add(&o->buf, "\n", 1);
	free(b64);
}

/* dkim_sign_tags - the field up to "b=" (the text that is hashed). */
static void dkim_sign_tags(struct dkim_sign_out *o, const char *alg, const char *domain, const char *selector,
			   time_t now, char *const *names, size_t n, const char *bh)
{
	char t[32];

	snprintf(t, sizeof(t), "%" PRIdMAX, (intmax_t)now);
	dkim_sign_add(o, "DKIM-Signature: v=1;", 20, false);
	dkim_sign_tag(o, "a=%s;%s", alg, "");
	dkim_sign_tag(o, "c=relaxed/relaxed;%s%s", "", "");
	dkim_sign_tag(o, "d=%s;%s", domain, "");
	dkim_sign_tag(o, "s=%s;%s", selector, "");
	dkim_sign_tag(o, "t=%s;%s", t, "");
	dkim_sign_h(o, names, n);
	dkim_sign_tag(o, "bh=%s;%s", bh, "");
	dkim_sign_tag(o, "b=%s%s", "", "");
}

/* dkim_sign_check - why the arguments cannot make a signature, or NULL; the a= name in *alg_r. */
static const char *dkim_sign_check(size_t body_hash_len, EVP_PKEY *key, const char *domain,
				   const char *selector, const char **alg_r)
{
	int id = EVP_PKEY_get_base_id(key);

	*alg_r = id == EVP_PKEY_RSA ? "rsa-sha256" : "ed25519-sha256";
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519)
		return "key is neither RSA nor Ed25519";
	if (body_hash_len != 32)
		return "body hash is not SHA-256";
	if (domain[0] == '\0' || selector[0] == '\0' || strpbrk(domain, " \t\r\n;=") ||
	    strpbrk(selector, " \t\r\n;="))
		return "bad domain or selector";
	return NULL;
}

/* dkim_sign - a DKIM-Signature field for the message, malloc'd; NULL with *error_r. */
char *dkim_sign(const struct dkim_headers *h, const uint8_t *body_hash, size_t body_hash_len, EVP_PKEY *key,
		const char *domain, const char *selector, time_t now, const char **error_r)
{
	struct dkim_sign_out o = {{0}, 0};
	uint8_t dg[DKIM_MAX_DIGEST], *sig = NULL;
	size_t n_names = 0, dlen, sig_len = 0;
	const char *alg, *why = dkim_sign_check(body_hash_len, key, domain, selector, &alg);
	char **names = why ? NULL : dkim_sign_names(h, &n_names), *bh;

	if (why != NULL || names == NULL) {
		*error_r = why ? why : "no From field";
		return NULL;
	}
	bh = dkim_base64_encode(body_hash, body_hash_len);
	dkim_sign_tags(&o, alg, domain, selector, now, names, n_names, bh);
	free(bh);
	dlen = dkim_header_hash(h, SIZE_MAX, names, n_names, o.buf.p, o.buf.len, DKIM_CANON_RELAXED, false, dg);
	free(names);
	if (dlen == 0 || (sig = dkim_sign_crypto(key, dg, dlen, &sig_len)) == NULL) {
		dkim_buf_free(&o.buf);
		*error_r = "signing failed";
		return NULL;
	}
	dkim_sign_b(&o, sig, sig_len);
	free(sig);
	dkim_buf_add(&o.buf, "", 1);
	return o.buf.p;
}

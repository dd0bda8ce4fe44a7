// FUZZ_SOURCES: src/auth/auth_mech.c
// FUZZ_LIBS: -lcrypto
/*
 * fuzz_sasl - the SASL pieces of auth_mech on hostile client data: the
 * input as base64 (decoded into buffers of exact and too-small size, and
 * re-encoded: decode(encode(x)) == x), the decoded bytes as a PLAIN
 * message and as a CRAM-MD5 response, and the input as APOP and CRAM-MD5
 * digests, which must never match without a secret and must match when
 * they are the right digest in either case.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/auth_mech.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_copy - an exact-size heap copy (ASan sees overreads) with a NUL after it. */
static char *fuzz_copy(const void *p, size_t n)
{
	char *c = malloc(n + 1);

	if (c == NULL)
		abort();
	memcpy(c, p, n);
	c[n] = '\0';
	return c;
}

/* fuzz_inside - [p, p + n] lies in [buf, buf + len]. */
static int fuzz_inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && p + n <= buf + len;
}

/* fuzz_plain - a decoded PLAIN message: three strings that add up to the whole. */
static void fuzz_plain(const char *dec, size_t len)
{
	char *buf = fuzz_copy(dec, len);
	const char *authzid, *authcid, *passwd;

	if (auth_plain_split(buf, len, &authzid, &authcid, &passwd) == 0) {
		size_t a = strlen(authzid), b = strlen(authcid), c = strlen(passwd);
		if (authzid != buf || b == 0 || c == 0 || a + b + c + 2 != len ||
		    authcid != buf + a + 1 || passwd != authcid + b + 1)
			abort();
	}
	free(buf);
}

/* fuzz_cram_split - "name SP digest": both inside the buffer, the digest after the last space. */
static void fuzz_cram_split(const char *dec, size_t len)
{
	char *buf = fuzz_copy(dec, len);
	const char *name, *digest;
	size_t digest_len;

	if (auth_cram_md5_split(buf, len, &name, &digest, &digest_len) == 0) {
		if (name != buf || name[0] == '\0' || !fuzz_inside(digest, digest_len, buf, len) ||
		    digest + digest_len != buf + len || digest[-1] != '\0' ||
		    memchr(digest, ' ', digest_len) != NULL)
			abort();
	}
	free(buf);
}

/* fuzz_base64 - strict decode, with room and without; round trip through the encoder. */
static void fuzz_base64(const char *in, size_t len)
{
	size_t room = len / 4 * 3 + 1, n = 0, n2 = 0;
	char *out = malloc(room), *enc, *again;

	if (out == NULL)
		abort();
	if (room > 1) { /* one byte short of the documented room must fail, not overflow */
		char *small = malloc(room - 1);
		size_t n_small;
		if (small == NULL ||
		    auth_base64_decode(in, len, small, room - 1, &n_small) == 0)
			abort();
		free(small);
	}
	if (auth_base64_decode(in, len, out, room, &n) == 0) {
		if (n >= room || out[n] != '\0')
			abort();
		fuzz_plain(out, n);
		fuzz_cram_split(out, n);
		enc = malloc(4 * ((n + 2) / 3) + 1);
		again = malloc((n + 2) / 3 * 3 + 1); /* what decoding 4 * ((n + 2) / 3) needs */
		if (enc == NULL || again == NULL)
			abort();
		size_t elen = auth_base64_encode(out, n, enc, 4 * ((n + 2) / 3) + 1);
		if (elen != 4 * ((n + 2) / 3) || enc[elen] != '\0' ||
		    auth_base64_decode(enc, elen, again, (n + 2) / 3 * 3 + 1, &n2) < 0 || n2 != n ||
		    memcmp(again, out, n) != 0)
			abort();
		free(enc);
		free(again);
	}
	free(out);
}

/* fuzz_hex - 32 hex digits of a 16-byte digest, upper case when upper. */
static void fuzz_hex(const unsigned char md[16], int upper, char hex[33])
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[32] = '\0';
}

/* fuzz_digests - the input never matches without a secret; the right digest always does. */
static void fuzz_digests(const char *in, size_t len)
{
	char *s = fuzz_copy(in, len), hex[33];
	size_t half = strlen(s) / 2;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	size_t mac_len = 0;

	if (auth_apop_check(s, NULL, s, len) || auth_cram_md5_check(s, NULL, s, len))
		abort();
	/* timestamp / challenge = the first half, secret = the rest (up to a NUL). */
	char *secret = fuzz_copy(s + half, strlen(s + half));
	s[half] = '\0';
	{
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, s, half) != 1 ||
		    EVP_DigestUpdate(ctx, secret, strlen(secret)) != 1 ||
		    EVP_DigestFinal_ex(ctx, md, &md_len) != 1)
			abort();
		EVP_MD_CTX_free(ctx);
	}
	fuzz_hex(md, 0, hex);
	if (!auth_apop_check(s, secret, hex, 32) || auth_apop_check(s, secret, hex, 31))
		abort();
	fuzz_hex(md, 1, hex);
	if (!auth_apop_check(s, secret, hex, 32))
		abort();
	if (EVP_Q_mac(NULL, "HMAC", NULL, "MD5", NULL, secret, strlen(secret),
		      (const unsigned char *)s, half, md, sizeof(md), &mac_len) == NULL)
		abort();
	fuzz_hex(md, 0, hex);
	if (!auth_cram_md5_check(s, secret, hex, 32) || auth_cram_md5_check(s, NULL, hex, 32))
		abort();
	/* and the raw input as a digest against that secret: whatever it says, no crash */
	(void)auth_apop_check(s, secret, in, len);
	(void)auth_cram_md5_check(s, secret, in, len);
	free(secret);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_copy(data, size);

	fuzz_base64(in, size);
	fuzz_plain(in, size);
	fuzz_cram_split(in, size);
	if (size <= 4096)
		fuzz_digests(in, size);
	free(in);
	return 0;
}

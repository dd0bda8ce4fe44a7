/* auth_mech - base64, SASL PLAIN, APOP and CRAM-MD5 helpers. */
#include "auth/auth_mech.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* A stand-in secret: a missing one costs the same digest as a real one. */
static const char auth_dummy_secret[] = "postern-no-secret-for-this-login";

/* auth_b64_char - true for the 64 characters of the base64 alphabet. */
static bool auth_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* auth_b64_valid - padded base64: alphabet, then at most two '=' at the end. */
static bool auth_b64_valid(const char *in, size_t len, size_t *pad_r)
{
	size_t pad = 0;

	if (len % 4 != 0)
		return false;
	while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++) {
		if (!auth_b64_char(in[i]))
			return false;
	}
	*pad_r = pad;
	return true;
}

int auth_base64_decode(const char *in, size_t len, char *out, size_t out_size, size_t *out_len_r)
{
	size_t pad;
	int n;

	if (!auth_b64_valid(in, len, &pad) || len / 4 * 3 + 1 > out_size || len > 1u << 30)
		return -1;
	n = len == 0 ? 0 : EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -1;
	*out_len_r = (size_t)n - pad;
	out[*out_len_r] = '\0';
	return 0;
}

size_t auth_base64_encode(const void *in, size_t len, char *out, size_t out_size)
{
	if (4 * ((len + 2) / 3) + 1 > out_size || len > 1u << 29) {
		if (out_size > 0)
			out[0] = '\0';
		return 0;
	}
	return (size_t)EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
}

int auth_plain_split(char *buf, size_t len, const char **authzid_r, const char **authcid_r,
		     const char **passwd_r)
{
	char *nul1 = memchr(buf, '\0', len), *nul2;

	if (nul1 == NULL)
		return -1;
	nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - buf));
	if (nul2 == NULL || memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - buf)) != NULL)
		return -1;
	if (nul2 == nul1 + 1 || nul2 + 1 == buf + len)
		return -1;
	*authzid_r = buf;
	*authcid_r = nul1 + 1;
	*passwd_r = nul2 + 1;
	return 0;
}

/* auth_hex_equal - constant-time compare of 16 raw bytes with 32 hex digits (any case). */
static bool auth_hex_equal(const unsigned char raw[16], const char *hex, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char want[AUTH_MD5_HEX_LEN], got[AUTH_MD5_HEX_LEN];
	bool equal;

	for (size_t i = 0; i < 16; i++) {
		want[2 * i] = digits[raw[i] >> 4];
		want[2 * i + 1] = digits[raw[i] & 15];
	}
	memset(got, 0, sizeof(got));
	for (size_t i = 0; i < AUTH_MD5_HEX_LEN && i < len; i++)
		got[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] + 32 : hex[i]);
	equal = CRYPTO_memcmp(want, got, sizeof(want)) == 0 && len == AUTH_MD5_HEX_LEN;
	OPENSSL_cleanse(want, sizeof(want));
	return equal;
}

bool auth_apop_check(const char *timestamp, const char *secret, const char *digest, size_t len)
{
	const char *key = secret != NULL ? secret : auth_dummy_secret;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	if (ctx == NULL)
		return false;
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, timestamp, strlen(timestamp)) == 1 &&
	     EVP_DigestUpdate(ctx, key, strlen(key)) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 16;
	EVP_MD_CTX_free(ctx);
	ok = ok && auth_hex_equal(md, digest, len) && secret != NULL;
	OPENSSL_cleanse(md, sizeof(md));
	return ok;
}

bool auth_cram_md5_check(const char *challenge, const char *secret, const char *digest,
			 size_t len)
{
	const char *key = secret != NULL ? secret : auth_dummy_secret;
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t md_len = 0;
	bool ok;

	ok = EVP_Q_mac(NULL, "HMAC", NULL, "MD5", NULL, key, strlen(key), (const unsigned char *)challenge,
		       strlen(challenge), md, sizeof(md), &md_len) != NULL &&
	     md_len == 16;
	ok = ok && auth_hex_equal(md, digest, len) && secret != NULL;
	OPENSSL_cleanse(md, sizeof(md));
	return ok;
}

int auth_cram_md5_split(char *buf, size_t len, const char **name_r, const char **digest_r,
			size_t *digest_len_r)
{
	char *sp = NULL;

	for (size_t i = len; i > 0; i--) {
		if (buf[i - 1] == ' ') {
			sp = buf + i - 1;
			break;
		}
	}
	if (sp == NULL || sp == buf || memchr(buf, '\0', len) != NULL)
		return -1;
	*sp = '\0';
	*name_r = buf;
	*digest_r = sp + 1;
	*digest_len_r = len - (size_t)(sp + 1 - buf);
	return 0;
}

/*
 * dkim_driver - the pure DKIM core on the command line, for
 * test_dkim_unit_interop.py (not part of the build: the test compiles it
 * with src/dkim/dkim_*.c):
 *
 *   dkim_driver sign KEY.pem DOMAIN SELECTOR NOW < message    prints the DKIM-Signature field
 *   dkim_driver verify "KEY RECORD" NOW < message             one "result reason" line per signature
 *
 * The message may have LF or CRLF line ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "dkim/dkim.h"

#define DRIVER_MAX (16 * 1024 * 1024)

/* driver_read - stdin, whole. */
static char *driver_read(size_t *len_r)
{
	char *buf = malloc(DRIVER_MAX);
	size_t n = buf ? fread(buf, 1, DRIVER_MAX, stdin) : 0;
	*len_r = n;
	return buf;
}

/* driver_body - offset of the body: after the first empty line (LF or CRLF), or len. */
static size_t driver_body(const char *m, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		if (m[k] != '\n')
			continue;
		if (k + 1 < len && m[k + 1] == '\n')
			return k + 2;
		if (k + 2 < len && m[k + 1] == '\r' && m[k + 2] == '\n')
			return k + 3;
	}
	return len;
}

/* driver_sign - sign stdin with the PEM key. */
static int driver_sign(char **argv)
{
	size_t len, body;
	char *m = driver_read(&len), *field = NULL;
	FILE *f = fopen(argv[2], "r");
	EVP_PKEY *pk = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	struct dkim_body *b = dkim_body_new(DKIM_CANON_RELAXED, DKIM_ALG_RSA_SHA256, -1);
	struct dkim_headers h;
	uint8_t bh[DKIM_MAX_DIGEST];
	const char *err = "no key";

	int rc = 1;

	if (f)
		fclose(f);
	body = driver_body(m, len);
	dkim_body_feed(b, m + body, len - body);
	if (pk != NULL && dkim_body_final(b, bh) == 32 && dkim_headers_parse(m, body, &h, &err) == 0) {
		field = dkim_sign(&h, bh, 32, pk, argv[3], argv[4], (time_t)atoll(argv[5]), &err);
		dkim_headers_clear(&h);
		if (field != NULL)
			fputs(field, stdout);
		rc = field == NULL;
		free(field);
	}
	if (rc != 0)
		fprintf(stderr, "sign: %s\n", err);
	dkim_body_free(&b);
	EVP_PKEY_free(pk);
	free(m);
	return rc;
}

/* driver_verify_one - verify field k of h (a DKIM-Signature) and print the verdict. */
static void driver_verify_one(const struct dkim_headers *h, size_t k, const struct dkim_key *key,
			      const char *body, size_t blen, time_t now)
{
	size_t vlen;
	const char *value = dkim_field_value(&h->fields[k], &vlen), *err = "";
	struct dkim_sig sig;
	struct dkim_body *b;
	uint8_t bh[DKIM_MAX_DIGEST];
	size_t bl;

	if (dkim_sig_parse(value, vlen, &sig, &err) < 0) {
		printf("permerror %s\n", err);
		return;
	}
	b = dkim_body_new(sig.bcanon, sig.alg, sig.l);
	dkim_body_feed(b, body, blen);
	bl = dkim_body_final(b, bh);
	dkim_body_free(&b);
	printf("%s ", dkim_result_name(dkim_verify(h, k, &sig, key, bh, bl, now, &err)));
	printf("%s\n", err);
	dkim_sig_clear(&sig);
}

/* driver_verify - verify every DKIM-Signature of stdin with one key record. */
static int driver_verify(char **argv)
{
	size_t len, body;
	char *m = driver_read(&len);
	struct dkim_headers h;
	struct dkim_key key;
	const char *err = "";

	body = driver_body(m, len);
	if (dkim_key_parse(argv[2], strlen(argv[2]), &key, &err) < 0) {
		printf("permerror %s\n", err);
	} else if (dkim_headers_parse(m, body, &h, &err) < 0) {
		printf("permerror %s\n", err);
		dkim_key_clear(&key);
	} else {
		for (size_t k = 0; k < h.n; k++) {
			if (dkim_field_is(&h.fields[k], "DKIM-Signature"))
				driver_verify_one(&h, k, &key, m + body, len - body, (time_t)atoll(argv[3]));
		}
		dkim_headers_clear(&h);
		dkim_key_clear(&key);
	}
	free(m);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "sign") == 0)
		return driver_sign(argv);
	if (argc == 4 && strcmp(argv[1], "verify") == 0)
		return driver_verify(argv);
	fprintf(stderr, "usage: dkim_driver sign KEY.pem DOMAIN SELECTOR NOW | verify RECORD NOW\n");
	return 2;
}

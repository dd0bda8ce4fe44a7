/*
 * test_dkim_verify - DKIM signatures: the RFC 6376 / RFC 8463 example
 * messages and keys that ship with Debian's python3-dkim (read at run time
 * from its tests/data; missing files fail the test), signing with those
 * keys and with fresh RSA 2048 / Ed25519 keys, tampering (body byte, signed
 * header, a second From), and each permerror of the verdict table in
 * dkim.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <openssl/pem.h>

#include "dkim/dkim.h"

#define TEST_DATA "/usr/lib/python3/dist-packages/dkim/tests/data/"
#define TEST_NOW 1700000000
/* RFC 8463 A.2 / dkimpy: the brisbane Ed25519 public key of the RFC 8032 7.1 test key */
#define TEST_BRISBANE "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
/* dkimpy's 512-bit RSA sample key */
#define TEST_RSA512                                                                                    \
	"k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANmBe10IgY+u7h3enWTukkqtUD5PR52Tb/mPfjC0QJTocVBq6Za/" \
	"PlzfV+Py92VaCak19F4WrbVTK5Gg5tW220MCAwEAAQ=="

static const char test_msg[] = "Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\n"
			       "From: Alice <alice@example.org>\n"
			       "To: Bob <bob@example.net>,\n\tCarol <carol@example.net>\n"
			       "Subject: Lunch?\n"
			       "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
			       "Message-ID: <1@example.org>\n"
			       "MIME-Version: 1.0\n"
			       "Content-Type: text/plain; charset=utf-8\n"
			       "\n"
			       "Shall we  meet at noon?\n"
			       "\n"
			       "-- \nAlice\n\n\n";

/* test_read - a whole file from the python3-dkim test data, NUL-terminated; fails loudly if missing. */
static char *test_read(const char *name, size_t *len_r)
{
	char path[512];
	FILE *f;
	char *buf = malloc(1 << 16);
	size_t n;

	snprintf(path, sizeof(path), TEST_DATA "%s", name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("%s missing: install python3-dkim (scripts/deps.sh test)", path);
	n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len_r)
		*len_r = n;
	return buf;
}

/* test_body_start - offset of the body (after the empty line; len when there is none). */
static size_t test_body_start(const char *msg, size_t len)
{
	for (size_t k = 0; k + 1 < len; k++) {
		if (msg[k] == '\n' && msg[k + 1] == '\n')
			return k + 2;
		if (msg[k] == '\n' && k + 2 < len && msg[k + 1] == '\r' && msg[k + 2] == '\n')
			return k + 3;
	}
	return len;
}

/* test_verify_nth - verify the nth DKIM-Signature of msg with key record keytxt at now. */
static enum dkim_result test_verify_nth(const char *msg, size_t len, int nth, const char *keytxt, time_t now,
					const char **reason_r)
{
	struct dkim_headers h;
	struct dkim_sig sig;
	struct dkim_key key;
	struct dkim_body *b;
	uint8_t bh[DKIM_MAX_DIGEST];
	size_t bl, body = test_body_start(msg, len), k, vlen;
	const char *err = "", *value;
	enum dkim_result r;

	assert_int_equal(dkim_headers_parse(msg, body, &h, &err), 0);
	for (k = 0; k < h.n; k++) {
		if (dkim_field_is(&h.fields[k], "dkim-signature") && nth-- == 0)
			break;
	}
	assert_true(k < h.n);
	value = dkim_field_value(&h.fields[k], &vlen);
	if (dkim_sig_parse(value, vlen, &sig, &err) < 0)
		fail_msg("signature does not parse: %s", err);
	if (dkim_key_parse(keytxt, strlen(keytxt), &key, &err) < 0)
		fail_msg("key does not parse: %s", err);
	b = dkim_body_new(sig.bcanon, sig.alg, sig.l);
	dkim_body_feed(b, msg + body, len - body);
	bl = dkim_body_final(b, bh);
	dkim_body_free(&b);
	r = dkim_verify(&h, k, &sig, &key, bh, bl, now, reason_r);
	dkim_sig_clear(&sig);
	dkim_key_clear(&key);
	dkim_headers_clear(&h);
	return r;
}

/* test_verify_str - verify the first signature of a NUL-terminated message. */
static enum dkim_result test_verify_str(const char *msg, const char *keytxt, time_t now)
{
	const char *reason = NULL;
	enum dkim_result r = test_verify_nth(msg, strlen(msg), 0, keytxt, now, &reason);
	assert_non_null(reason);
	return r;
}

/* test_sign - msg signed with pkey: the DKIM-Signature field prepended, malloc'd. */
static char *test_sign(const char *msg, EVP_PKEY *pkey, const char *d, const char *s)
{
	size_t len = strlen(msg), body = test_body_start(msg, len);
	struct dkim_headers h;
	struct dkim_body *b = dkim_body_new(DKIM_CANON_RELAXED, DKIM_ALG_RSA_SHA256, -1);
	uint8_t bh[DKIM_MAX_DIGEST];
	const char *err = "";
	char *field, *out;

	dkim_body_feed(b, msg + body, len - body);
	assert_int_equal(dkim_body_final(b, bh), 32);
	dkim_body_free(&b);
	assert_int_equal(dkim_headers_parse(msg, body, &h, &err), 0);
	field = dkim_sign(&h, bh, 32, pkey, d, s, TEST_NOW, &err);
	if (field == NULL)
		fail_msg("dkim_sign: %s", err);
	dkim_headers_clear(&h);
	out = malloc(strlen(field) + len + 1);
	strcpy(out, field);
	strcat(out, msg);
	free(field);
	return out;
}

/* test_pem_key - a private key from a PEM file of the test data. */
static EVP_PKEY *test_pem_key(const char *name)
{
	char *pem = test_read(name, NULL);
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	free(pem);
	assert_non_null(k);
	return k;
}

/* test_ed_key - an Ed25519 private key from a file holding the base64 seed. */
static EVP_PKEY *test_ed_key(const char *name)
{
	char *b64 = test_read(name, NULL);
	uint8_t *seed;
	size_t n;
	EVP_PKEY *k;

	assert_int_equal(dkim_base64_decode(b64, strlen(b64), 32, &seed, &n), 0);
	assert_int_equal(n, 32);
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(k);
	free(seed);
	free(b64);
	return k;
}

/* test_rfc_vectors - the signatures in rfc6376.signed.msg (RFC 8463 A.3: Ed25519 and RSA) and Exim's. */
static void test_rfc_vectors(void **state)
{
	size_t len;
	char *msg = test_read("rfc6376.signed.msg", &len), *rsa = test_read("test.txt", NULL);
	char *exim = test_read("eximtest.dns", NULL);
	const char *reason;

	(void)state;
	assert_int_equal(test_verify_nth(msg, len, 0, TEST_BRISBANE, TEST_NOW, &reason), DKIM_PASS);
	assert_int_equal(test_verify_nth(msg, len, 1, rsa, TEST_NOW, &reason), DKIM_PASS);
	/* the wrong key, a changed body */
	assert_int_equal(test_verify_nth(msg, len, 0, exim, TEST_NOW, &reason), DKIM_FAIL);
	msg[len - 3] = 'X';
	assert_int_equal(test_verify_nth(msg, len, 0, TEST_BRISBANE, TEST_NOW, &reason), DKIM_FAIL);
	assert_string_equal(reason, "body hash did not verify");
	free(msg);
	msg = test_read("rfc6376.signed.rsa.msg", &len);
	assert_int_equal(test_verify_nth(msg, len, 0, rsa, TEST_NOW, &reason), DKIM_PASS);
	free(msg);
	msg = test_read("ed25519test2.msg", &len); /* CRLF, signed by Exim */
	assert_int_equal(test_verify_nth(msg, len, 0, exim, TEST_NOW, &reason), DKIM_PASS);
	free(msg);
	free(rsa);
	free(exim);
}

/* test_sign_data_keys - sign the RFC 6376 message with each test-data key and verify with its record. */
static void test_sign_data_keys(void **state)
{
	static const struct {
		const char *priv, *pub;
		bool ed;
	} rows[] = {
		{"rfc8032_7_1.key", NULL, true},
		{"ed25519test.key", "ed25519test.dns", true},
		{"test.private", "test.txt", false},
		{"2048_testkey.key", "2048_testkey_wo_markers.pub.txt", false},
		{"2048_testkey.key", "2048_testkey_wo_markers.pub.rsa.txt", false}, /* bare RSAPublicKey */
		{"1024_testkey.key", "1024_testkey_wo_markers.pub.txt", false},
	};
	char *msg = test_read("rfc6376.msg", NULL);

	(void)state;
	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		EVP_PKEY *pk = rows[k].ed ? test_ed_key(rows[k].priv) : test_pem_key(rows[k].priv);
		char *pub = rows[k].pub ? test_read(rows[k].pub, NULL) : strdup(TEST_BRISBANE);
		char *signed_msg = test_sign(msg, pk, "football.example.com", "brisbane");
		if (test_verify_str(signed_msg, pub, TEST_NOW) != DKIM_PASS)
			fail_msg("row %zu (%s) does not verify:\n%s", k, rows[k].priv, signed_msg);
		free(signed_msg);
		free(pub);
		EVP_PKEY_free(pk);
	}
	free(msg);
}

/* test_record - the key record for pk: "v=DKIM1; k=...; p=..." (SPKI DER for RSA, raw for Ed25519). */
static char *test_record(EVP_PKEY *pk)
{
	bool ed = EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519;
	uint8_t raw[32], *der = NULL;
	size_t n = 32;
	int dn = ed ? 0 : i2d_PUBKEY(pk, &der);
	char *b64, *rec;

	if (ed)
		assert_int_equal(EVP_PKEY_get_raw_public_key(pk, raw, &n), 1);
	b64 = dkim_base64_encode(ed ? raw : der, ed ? n : (size_t)dn);
	rec = malloc(strlen(b64) + 40);
	sprintf(rec, "v=DKIM1; k=%s; p=%s", ed ? "ed25519" : "rsa", b64);
	free(b64);
	OPENSSL_free(der);
	return rec;
}

/* test_replace - copy of s with the first from replaced by to. */
static char *test_replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out = malloc(strlen(s) + strlen(to) + 1);

	assert_non_null(at);
	sprintf(out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return out;
}

/* test_tamper - each change to the signed message: the verdict it gets. */
static void test_tamper(const char *signed_msg, const char *rec)
{
	static const struct {
		const char *from, *to;
		enum dkim_result r;
	} rows[] = {
		{"noon?", "nooN?", DKIM_FAIL},                                   /* a body byte */
		{"Subject: Lunch?", "Subject: Dinner?", DKIM_FAIL},               /* a signed field */
		{"Subject: Lunch?", "Subject:   Lunch? ", DKIM_PASS},             /* relaxed: whitespace only */
		{"Received:", "From: mallory@evil.example\nReceived:", DKIM_FAIL}, /* a second From above */
		{"\n\nShall", "\nFrom: mallory@evil.example\n\nShall", DKIM_FAIL}, /* ... and below */
		{"\n\nShall", "\nCc: eve@evil.example\n\nShall", DKIM_PASS},         /* absent when signed: only From is over-signed */
		{"\n\nShall", "\nX-Added: fine\n\nShall", DKIM_PASS},              /* a field not signed */
		{"Alice\n\n\n", "Alice\n\n\n\n\n", DKIM_PASS},                     /* more trailing empty lines */
		{"Alice\n\n\n", "Alice\nP.S.\n", DKIM_FAIL},                       /* text appended */
	};

	assert_int_equal(test_verify_str(signed_msg, rec, TEST_NOW), DKIM_PASS);
	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		char *m = test_replace(signed_msg, rows[k].from, rows[k].to);
		enum dkim_result r = test_verify_str(m, rec, TEST_NOW);
		if (r != rows[k].r)
			fail_msg("tamper row %zu: %s, expected %s", k, dkim_result_name(r), dkim_result_name(rows[k].r));
		free(m);
	}
}

/* test_round_trip - fresh RSA 2048 and Ed25519 keys: sign, verify, tamper; the folding of the field. */
static void test_round_trip(void **state)
{
	EVP_PKEY *keys[2] = {EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048),
			     EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")};

	(void)state;
	for (int k = 0; k < 2; k++) {
		char *rec = test_record(keys[k]);
		char *m = test_sign(test_msg, keys[k], "example.org", "postern");
		const char *line = m, *end = strstr(m, "\nReceived:");

		assert_non_null(end);
		assert_non_null(strstr(m, "h=from:to:subject:date:message-id:mime-version:"));
		assert_non_null(strstr(m, "content-type:from;"));
		for (const char *nl; line < end; line = nl + 1) { /* every line <= 78, continuations start with TAB */
			nl = strchr(line, '\n');
			assert_true(nl - line <= 78);
			assert_true(line == m || line[0] == '\t');
		}
		test_tamper(m, rec);
		free(m);
		free(rec);
		EVP_PKEY_free(keys[k]);
	}
}

/* A signed message taken apart, ready for dkim_verify. */
struct test_parts {
	char *msg;
	struct dkim_headers h;
	struct dkim_sig sig;
	struct dkim_key key;
	uint8_t bh[DKIM_MAX_DIGEST];
	size_t bl, field;
};

/* test_parts_open - sign test_msg (prepended by extra) with pk and take it apart, key record rec. */
static void test_parts_open(struct test_parts *p, EVP_PKEY *pk, const char *rec, const char *extra)
{
	char *m = test_sign(test_msg, pk, "example.org", "postern");
	size_t len, body;
	const char *err = "";
	struct dkim_body *b;

	p->msg = malloc(strlen(extra) + strlen(m) + 1);
	strcpy(p->msg, extra);
	strcat(p->msg, m);
	free(m);
	len = strlen(p->msg);
	body = test_body_start(p->msg, len);
	assert_int_equal(dkim_headers_parse(p->msg, body, &p->h, &err), 0);
	p->field = extra[0] != '\0'; /* extra: one field */
	assert_int_equal(dkim_sig_parse(p->h.fields[p->field].raw + 15, p->h.fields[p->field].raw_len - 15, &p->sig,
					&err), 0);
	assert_int_equal(dkim_key_parse(rec, strlen(rec), &p->key, &err), 0);
	b = dkim_body_new(p->sig.bcanon, p->sig.alg, p->sig.l);
	dkim_body_feed(b, p->msg + body, len - body);
	p->bl = dkim_body_final(b, p->bh);
	dkim_body_free(&b);
}

/* test_parts_close - free what test_parts_open made. */
static void test_parts_close(struct test_parts *p)
{
	dkim_headers_clear(&p->h);
	dkim_sig_clear(&p->sig);
	dkim_key_clear(&p->key);
	free(p->msg);
}

/* test_permerror_one - mutation m applied to a fresh copy: the verdict and reason it gets. */
static enum dkim_result test_permerror_one(EVP_PKEY *pk, const char *rec, int m, const char **reason_r)
{
	struct test_parts p;
	size_t field;
	time_t now = TEST_NOW;
	enum dkim_result r;

	test_parts_open(&p, pk, rec, m == 9 ? "X-First: 1\n" : "");
	field = p.field;
	switch (m) {
	case 0: break;                                         /* untouched: pass */
	case 1: p.sig.alg = DKIM_ALG_RSA_SHA1; break;
	case 2: free(p.sig.h[0]); p.sig.h[0] = strdup("x-none"); p.sig.h[p.sig.n_h - 1][0] = 'X'; break;
	case 3: p.sig.x = TEST_NOW - 1; break;
	case 4: free(p.sig.i); p.sig.i = strdup("u@notexample.org"); break;
	case 5: p.key.p_len = 0; break;
	case 6: p.key.email = false; break;
	case 7: p.key.type = p.key.type == DKIM_KEY_RSA ? DKIM_KEY_ED25519 : DKIM_KEY_RSA; break;
	case 8: p.key.hashes = DKIM_KEY_H_SHA1; break;
	case 9: field = 0; break;                              /* field 0 is X-First */
	case 10: p.key.strict = true; free(p.sig.i); p.sig.i = strdup("@sub.example.org"); break;
	case 11: p.key.strict = true; free(p.sig.i); p.sig.i = strdup("a@example.org"); break;
	case 12: free(p.sig.i); p.sig.i = strdup("a@sub.example.org"); break;
	case 13: p.sig.x = TEST_NOW; break;                    /* expires this second: still good */
	case 14: p.bl = 0; break;                              /* l= past the body */
	case 15: p.sig.b[3] ^= 1; break;
	}
	r = dkim_verify(&p.h, field, &p.sig, &p.key, p.bh, p.bl, now, reason_r);
	test_parts_close(&p);
	return r;
}

/* test_permerrors - the verdict table of dkim.h, for an Ed25519 and an RSA 1024 signature. */
static void test_permerrors(void **state)
{
	static const struct {
		enum dkim_result r;
		const char *reason;
	} rows[] = {
		{DKIM_PASS, "ok"}, {DKIM_PERMERROR, "rsa-sha1"}, {DKIM_PERMERROR, "From"},
		{DKIM_PERMERROR, "expired"}, {DKIM_PERMERROR, "i= not under d="}, {DKIM_PERMERROR, "revoked"},
		{DKIM_PERMERROR, "not for email"}, {DKIM_PERMERROR, "type"}, {DKIM_PERMERROR, "sha256"},
		{DKIM_PERMERROR, "not a DKIM-Signature"}, {DKIM_PERMERROR, "t=s"}, {DKIM_PASS, "ok"},
		{DKIM_PASS, "ok"}, {DKIM_PASS, "ok"}, {DKIM_FAIL, "l= exceeds"}, {DKIM_FAIL, "did not verify"},
	};
	EVP_PKEY *keys[2] = {test_ed_key("ed25519test.key"), test_pem_key("test.private")};
	char *recs[2] = {test_read("ed25519test.dns", NULL), test_read("test.txt", NULL)};

	(void)state;
	for (int k = 0; k < 2; k++) {
		for (int m = 0; m < (int)(sizeof(rows) / sizeof(rows[0])); m++) {
			const char *reason = "";
			enum dkim_result r = test_permerror_one(keys[k], recs[k], m, &reason);
			if (r != rows[m].r || strstr(reason, rows[m].reason) == NULL)
				fail_msg("key %d mutation %d: %s (%s)", k, m, dkim_result_name(r), reason);
		}
		EVP_PKEY_free(keys[k]);
		free(recs[k]);
	}
}

/* test_weak_keys - a 512-bit RSA key and a bad Ed25519 key are permerror, never pass or fail. */
static void test_weak_keys(void **state)
{
	EVP_PKEY *rsa = test_pem_key("test.private"), *ed = test_ed_key("ed25519test.key");
	char *m = test_sign(test_msg, rsa, "example.org", "postern");
	char *e = test_sign(test_msg, ed, "example.org", "postern");

	(void)state;
	assert_int_equal(test_verify_str(m, TEST_RSA512, TEST_NOW), DKIM_PERMERROR);
	assert_int_equal(test_verify_str(m, "k=rsa; p=TWFuTWFu", TEST_NOW), DKIM_PERMERROR);
	assert_int_equal(test_verify_str(e, "k=ed25519; p=TWFuTWFu", TEST_NOW), DKIM_PERMERROR);
	assert_int_equal(test_verify_str(e, TEST_RSA512, TEST_NOW), DKIM_PERMERROR); /* type mismatch */
	free(m);
	free(e);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

/* test_sign_errors - no From, an unsupported key, a bad domain, a SHA-1 body hash. */
static void test_sign_errors(void **state)
{
	static const char nofrom[] = "To: a@b\nSubject: x\n";
	EVP_PKEY *ed = test_ed_key("ed25519test.key"), *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct dkim_headers h;
	uint8_t bh[32] = {0};
	const char *err = NULL;

	(void)state;
	assert_int_equal(dkim_headers_parse(nofrom, strlen(nofrom), &h, &err), 0);
	assert_null(dkim_sign(&h, bh, 32, ed, "d.example", "s", TEST_NOW, &err));
	assert_string_equal(err, "no From field");
	dkim_headers_clear(&h);
	assert_int_equal(dkim_headers_parse(test_msg, strlen(test_msg), &h, &err), 0);
	assert_null(dkim_sign(&h, bh, 32, ec, "d.example", "s", TEST_NOW, &err));
	assert_string_equal(err, "key is neither RSA nor Ed25519");
	assert_null(dkim_sign(&h, bh, 32, ed, "d.example; x=1", "s", TEST_NOW, &err));
	assert_null(dkim_sign(&h, bh, 20, ed, "d.example", "s", TEST_NOW, &err));
	dkim_headers_clear(&h);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ec);
}

/* test_many_signatures - 50 signatures and 1000 fields: each verifies on its own, in bounded work. */
static void test_many_signatures(void **state)
{
	EVP_PKEY *ed = test_ed_key("ed25519test.key");
	char *rec = test_read("ed25519test.dns", NULL), *m = strdup(test_msg), *pad = malloc(900 * 12 + 1);
	const char *reason;

	(void)state;
	for (int k = 0; k < 900; k++)
		sprintf(pad + k * 12, "X-Pad: %04d\n", k);
	for (int k = 0; k < 50; k++) {
		char *n = test_sign(m, ed, "example.org", "postern");
		free(m);
		m = n;
	}
	for (int k = 0; k < 50; k += 7)
		assert_int_equal(test_verify_nth(m, strlen(m), k, rec, TEST_NOW, &reason), DKIM_PASS);
	{
		char *big = malloc(strlen(pad) + strlen(m) + 1);
		sprintf(big, "%s%s", pad, m);
		assert_int_equal(test_verify_nth(big, strlen(big), 49, rec, TEST_NOW, &reason), DKIM_PASS);
		free(big);
	}
	free(pad);
	free(m);
	free(rec);
	EVP_PKEY_free(ed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_vectors),
		cmocka_unit_test(test_sign_data_keys),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_permerrors),
		cmocka_unit_test(test_weak_keys),
		cmocka_unit_test(test_sign_errors),
		cmocka_unit_test(test_many_signatures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

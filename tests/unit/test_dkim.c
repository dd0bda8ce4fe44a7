/*
 * test_dkim - the DKIM parsers and canonicalization: tag lists (good and
 * bad rows), base64 with FWS, the header section split, signature and key
 * records, header and body canonicalization (RFC 6376 3.4.5 example), the
 * well-known empty-body hashes, l= limits, split invariance, limits on
 * hostile input. Signatures themselves: test_dkim_verify.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dkim/dkim.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* One tag list row: input, expected count (-1: error), and "name=value|..." of what was read. */
struct test_tags_case {
	const char *in;
	int n;
	const char *out;
};

static const struct test_tags_case test_tags_cases[] = {
	{"", 0, ""},
	{"   ", 0, ""},
	{"v=1", 1, "v=1|"},
	{"v=1;", 1, "v=1|"},
	{"v=1; a=rsa-sha256", 2, "v=1|a=rsa-sha256|"},
	{" v = 1 ;\r\n\ta=b ; ", 2, "v=1|a=b|"},
	{"n=two words; p=", 2, "n=two words|p=|"},
	{"b=ab\r\n cd\r\n\tef; x=1", 2, "b=ab\r\n cd\r\n\tef|x=1|"},
	{"v=1;;a=2", 2, "v=1|a=2|"},
	{"Tag_2=x", 1, "Tag_2=x|"},
	{"z=!\"#$%&'()*+,-./0123456789:<=>?@[\\]^_`{|}~", 1, "z=!\"#$%&'()*+,-./0123456789:<=>?@[\\]^_`{|}~|"},
	{"v=1; v=1", -1, NULL},       /* duplicate */
	{"v=1; V=1", 2, "v=1|V=1|"},  /* names are case-sensitive */
	{"=1", -1, NULL},             /* no name */
	{"1a=1", -1, NULL},           /* name starts with a digit */
	{"_a=1", -1, NULL},
	{"a-b=1", -1, NULL},
	{"a", -1, NULL},              /* no '=' */
	{"a b=1", -1, NULL},
	{"a=1\x01", -1, NULL},        /* control byte */
	{"a=1\x7f", -1, NULL},
};

/* test_tags_table - each row parses (or fails) as written. */
static void test_tags_table(void **state)
{
	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(test_tags_cases); k++) {
		const struct test_tags_case *c = &test_tags_cases[k];
		size_t len = strlen(c->in);
		struct dkim_tags t;
		const char *err = NULL;
		char got[512] = "";
		int rc = dkim_tags_parse(c->in, len, &t, &err);

		if (c->n < 0) {
			if (rc != -1 || err == NULL)
				fail_msg("row %zu \"%s\": expected an error", k, c->in);
			continue;
		}
		if (rc != 0 || (int)t.n != c->n)
			fail_msg("row %zu \"%s\": rc %d n %zu (%s)", k, c->in, rc, t.n, err ? err : "");
		for (size_t j = 0; j < t.n; j++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%.*s=%.*s|", (int)t.tag[j].name_len,
				 t.tag[j].name, (int)t.tag[j].value_len, t.tag[j].value);
		assert_string_equal(got, c->out);
	}
}

/* test_tags_limits - 64 tags parse, 65 do not; a value as long as the input is kept whole. */
static void test_tags_limits(void **state)
{
	char buf[2048] = "", *big = malloc(200001);
	struct dkim_tags t;
	const char *err;

	(void)state;
	for (int k = 0; k < DKIM_TAGS_MAX; k++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "t%d=%d;", k, k);
	assert_int_equal(dkim_tags_parse(buf, strlen(buf), &t, &err), 0);
	assert_int_equal(t.n, DKIM_TAGS_MAX);
	assert_non_null(dkim_tags_get(&t, "t63"));
	assert_null(dkim_tags_get(&t, "t64"));
	strcat(buf, "t64=1");
	assert_int_equal(dkim_tags_parse(buf, strlen(buf), &t, &err), -1);
	assert_string_equal(err, "too many tags");
	assert_int_equal(dkim_tags_parse("a=\0", 3, &t, &err), -1); /* a NUL byte */
	memcpy(big, "p=", 2);
	memset(big + 2, 'A', 199998);
	big[200000] = '\0';
	assert_int_equal(dkim_tags_parse(big, 200000, &t, &err), 0);
	assert_int_equal(t.tag[0].value_len, 199998);
	free(big);
}

/* test_base64 - FWS anywhere, padding rules, the max bound, encode round trip. */
static void test_base64(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: error */
	} rows[] = {
		{"", ""}, {"TWFu", "Man"}, {"TWE=", "Ma"}, {"TQ==", "M"}, {"TWE", "Ma"}, {"TQ", "M"},
		{" T W\r\n\tF u ", "Man"}, {"TQ = =", "M"}, {"T", NULL}, {"TQ===", NULL}, {"=TQ", NULL},
		{"TQ==TQ==", NULL}, {"TW-u", NULL}, {"TWE=x", NULL}, {"TWE", "Ma"}, {"TWFuTWFu", "ManMan"},
	};
	uint8_t *out;
	size_t n;
	char *enc;

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(rows); k++) {
		int rc = dkim_base64_decode(rows[k].in, strlen(rows[k].in), 100, &out, &n);
		if (rows[k].out == NULL) {
			if (rc != -1)
				fail_msg("row %zu \"%s\": expected an error", k, rows[k].in);
			continue;
		}
		if (rc != 0 || n != strlen(rows[k].out) || memcmp(out, rows[k].out, n) != 0)
			fail_msg("row %zu \"%s\": rc %d", k, rows[k].in, rc);
		free(out);
	}
	assert_int_equal(dkim_base64_decode("TWFuTWFu", 8, 5, &out, &n), -1); /* over max */
	enc = dkim_base64_encode((const uint8_t *)"Man!", 4);
	assert_string_equal(enc, "TWFuIQ==");
	free(enc);
	enc = dkim_base64_encode(NULL, 0);
	assert_string_equal(enc, "");
	free(enc);
}

/* test_headers_parse - fields, folds, LF and CRLF, the stop at the empty line, errors, the field cap. */
static void test_headers_parse(void **state)
{
	static const char text[] = "From: a@b\r\nSubject : hi\n\tthere\r\n  again\nX-Empty:\n\nBody: no\n";
	struct dkim_headers h;
	const char *err;
	char *many;
	size_t pos = 0;

	(void)state;
	assert_int_equal(dkim_headers_parse(text, strlen(text), &h, &err), 0);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.fields[0].name_len, 4);
	assert_int_equal(h.fields[0].raw_len, 9);
	assert_int_equal(h.fields[1].name_len, 7); /* "Subject" without the space */
	assert_memory_equal(h.fields[1].raw, "Subject : hi\n\tthere\r\n  again", h.fields[1].raw_len);
	assert_int_equal(h.fields[2].raw_len, 8);
	dkim_headers_clear(&h);
	assert_int_equal(dkim_headers_parse("A: 1", 4, &h, &err), 0); /* no final line end */
	assert_int_equal(h.n, 1);
	dkim_headers_clear(&h);
	assert_int_equal(dkim_headers_parse(" A: 1\n", 6, &h, &err), -1);
	assert_int_equal(dkim_headers_parse("A: 1\nno colon\n", 14, &h, &err), -1);
	assert_int_equal(dkim_headers_parse(": 1\n", 4, &h, &err), -1);
	assert_null(h.fields);
	many = malloc(8 * (DKIM_MAX_FIELDS + 1) + 1);
	for (int k = 0; k <= DKIM_MAX_FIELDS; k++)
		pos += (size_t)sprintf(many + pos, "X: %03d\n", k % 1000);
	assert_int_equal(dkim_headers_parse(many, pos - 7, &h, &err), 0);
	assert_int_equal(h.n, DKIM_MAX_FIELDS);
	dkim_headers_clear(&h);
	assert_int_equal(dkim_headers_parse(many, pos, &h, &err), -1);
	assert_string_equal(err, "too many header fields");
	free(many);
}

/* test_canon_hdr - field raw under c as a string. */
static void test_canon_hdr(const char *raw, enum dkim_canon c, const char *want)
{
	struct dkim_buf b = {0};
	dkim_canon_header(&b, raw, strlen(raw), c, true);
	dkim_buf_add(&b, "", 1);
	assert_string_equal(b.p, want);
	dkim_buf_free(&b);
}

/* test_canon_headers - the RFC 6376 3.4.5 example, LF and CRLF alike, and more relaxed cases. */
static void test_canon_headers(void **state)
{
	(void)state;
	test_canon_hdr("A: X ", DKIM_CANON_RELAXED, "a:X\r\n");
	test_canon_hdr("B : Y\t\r\n\tZ  ", DKIM_CANON_RELAXED, "b:Y Z\r\n");
	test_canon_hdr("B : Y\t\n\tZ  ", DKIM_CANON_RELAXED, "b:Y Z\r\n");
	test_canon_hdr("A: X ", DKIM_CANON_SIMPLE, "A: X \r\n");
	test_canon_hdr("B : Y\t\r\n\tZ  ", DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  \r\n");
	test_canon_hdr("B : Y\t\n\tZ  ", DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  \r\n");
	test_canon_hdr("SUBJect:\t  a \t b\n c", DKIM_CANON_RELAXED, "subject:a b c\r\n");
	test_canon_hdr("X:", DKIM_CANON_RELAXED, "x:\r\n");
	test_canon_hdr("X: a\rb", DKIM_CANON_RELAXED, "x:a\rb\r\n"); /* a bare CR is content */
	test_canon_hdr("X: \n ", DKIM_CANON_RELAXED, "x:\r\n");
}

/* test_body_digest - digest of text fed in one piece (or split at every byte when split). */
static size_t test_body_digest(const char *text, size_t len, enum dkim_canon c, long long l, bool split,
			       uint8_t out[DKIM_MAX_DIGEST])
{
	struct dkim_body *b = dkim_body_new(c, DKIM_ALG_RSA_SHA256, l);
	size_t n;

	for (size_t k = 0; split && k < len; k++)
		dkim_body_feed(b, text + k, 1);
	if (!split)
		dkim_body_feed(b, text, len);
	n = dkim_body_final(b, out);
	dkim_body_free(&b);
	assert_null(b);
	return n;
}

/* test_body_is - the body's canonical form under c (limit l) is want, split or not. */
static void test_body_is(const char *text, enum dkim_canon c, long long l, const char *want)
{
	uint8_t got[DKIM_MAX_DIGEST], got1[DKIM_MAX_DIGEST], exp[32];
	unsigned int elen = 0;

	EVP_Digest(want, strlen(want), exp, &elen, EVP_sha256(), NULL);
	assert_int_equal(test_body_digest(text, strlen(text), c, l, false, got), 32);
	assert_int_equal(test_body_digest(text, strlen(text), c, l, true, got1), 32);
	if (memcmp(got, exp, 32) != 0 || memcmp(got1, exp, 32) != 0)
		fail_msg("body \"%s\" (c %d, l %lld) is not \"%s\"", text, (int)c, l, want);
}

/* test_canon_body - RFC 6376 3.4.5, trailing empty lines, WSP, bare CR, no final line end. */
static void test_canon_body(void **state)
{
	(void)state;
	test_body_is(" C \r\nD \t E\r\n\r\n\r\n", DKIM_CANON_RELAXED, -1, " C\r\nD E\r\n");
	test_body_is(" C \r\nD \t E\r\n\r\n\r\n", DKIM_CANON_SIMPLE, -1, " C \r\nD \t E\r\n");
	test_body_is(" C \nD \t E\n\n\n", DKIM_CANON_RELAXED, -1, " C\r\nD E\r\n");
	test_body_is(" C \nD \t E\n\n\n", DKIM_CANON_SIMPLE, -1, " C \r\nD \t E\r\n");
	test_body_is("a\n\n \t\nb", DKIM_CANON_RELAXED, -1, "a\r\n\r\n\r\nb\r\n");
	test_body_is("a\n\n \t\n", DKIM_CANON_RELAXED, -1, "a\r\n");
	test_body_is("a\n\n \t\n", DKIM_CANON_SIMPLE, -1, "a\r\n\r\n \t\r\n");
	test_body_is("\n\n\n", DKIM_CANON_SIMPLE, -1, "\r\n");
	test_body_is("\n\n\n", DKIM_CANON_RELAXED, -1, "");
	test_body_is(" \t \n", DKIM_CANON_RELAXED, -1, "");
	test_body_is("x\ry\r\n", DKIM_CANON_SIMPLE, -1, "x\ry\r\n");
	test_body_is("x\r", DKIM_CANON_SIMPLE, -1, "x\r\r\n");
	test_body_is("x \r", DKIM_CANON_RELAXED, -1, "x \r\r\n");
	test_body_is("end", DKIM_CANON_RELAXED, -1, "end\r\n");
	test_body_is("end  ", DKIM_CANON_RELAXED, -1, "end\r\n");
	/* l=: a prefix of the canonical body */
	test_body_is("Hello world\n\n\n", DKIM_CANON_RELAXED, 5, "Hello");
	test_body_is("Hello world\n\n\n", DKIM_CANON_RELAXED, 13, "Hello world\r\n");
	test_body_is("Hello\n", DKIM_CANON_SIMPLE, 0, "");
}

/* test_body_empty - the well-known empty-body hashes, and l= past the body. */
static void test_body_empty(void **state)
{
	uint8_t d[DKIM_MAX_DIGEST];
	char *b64;
	struct dkim_body *b;

	(void)state;
	assert_int_equal(test_body_digest("", 0, DKIM_CANON_RELAXED, -1, false, d), 32);
	b64 = dkim_base64_encode(d, 32);
	assert_string_equal(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	free(b64);
	assert_int_equal(test_body_digest("", 0, DKIM_CANON_SIMPLE, -1, false, d), 32);
	b64 = dkim_base64_encode(d, 32);
	assert_string_equal(b64, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	free(b64);
	/* l= beyond the canonical body: 0, the verdict is fail */
	assert_int_equal(test_body_digest("Hi\n", 3, DKIM_CANON_RELAXED, 5, false, d), 0);
	assert_int_equal(test_body_digest("Hi\n", 3, DKIM_CANON_RELAXED, 4, false, d), 32);
	assert_int_equal(test_body_digest("Hi\n", 3, DKIM_CANON_RELAXED, 9223372036854775807LL, true, d), 0);
	b = dkim_body_new(DKIM_CANON_SIMPLE, DKIM_ALG_RSA_SHA1, -1);
	dkim_body_feed(b, "x\n\n", 3);
	assert_int_equal(dkim_body_final(b, d), 20);
	assert_int_equal(dkim_body_length(b), 3);
	assert_int_equal(dkim_body_final(b, d), 0); /* once */
	dkim_body_free(&b);
	dkim_body_free(&b);
}

/* test_body_splits - a mixed body hashes the same at every split point and with CRLF or LF. */
static void test_body_splits(void **state)
{
	static const char lf[] = "a  b\t\n\n x \r y\n\t\n\nlast   \n\n";
	static const char crlf[] = "a  b\t\r\n\r\n x \r y\r\n\t\r\n\r\nlast   \r\n\r\n";
	uint8_t whole[DKIM_MAX_DIGEST], part[DKIM_MAX_DIGEST], other[DKIM_MAX_DIGEST];

	(void)state;
	for (int c = DKIM_CANON_SIMPLE; c <= DKIM_CANON_RELAXED; c++) {
		test_body_digest(lf, strlen(lf), (enum dkim_canon)c, -1, false, whole);
		test_body_digest(crlf, strlen(crlf), (enum dkim_canon)c, -1, true, other);
		assert_memory_equal(whole, other, 32);
		for (size_t k = 0; k <= strlen(crlf); k++) {
			struct dkim_body *b = dkim_body_new((enum dkim_canon)c, DKIM_ALG_ED25519_SHA256, -1);
			dkim_body_feed(b, crlf, k);
			dkim_body_feed(b, crlf + k, strlen(crlf) - k);
			assert_int_equal(dkim_body_final(b, part), 32);
			dkim_body_free(&b);
			assert_memory_equal(whole, part, 32);
		}
	}
}

/* test_body_large - a body past the internal buffer, with and without a limit inside it. */
static void test_body_large(void **state)
{
	size_t n = 100000;
	char *text = malloc(n), *want = malloc(n * 2);
	size_t wn = 0;
	uint8_t got[DKIM_MAX_DIGEST], exp[32];
	unsigned int elen;

	(void)state;
	for (size_t k = 0; k < n; k++) {
		text[k] = k % 61 == 60 ? '\n' : (char)('a' + k % 26);
		if (text[k] == '\n')
			want[wn++] = '\r';
		want[wn++] = text[k];
	}
	assert_int_equal(test_body_digest(text, n, DKIM_CANON_SIMPLE, -1, false, got), 32);
	memcpy(want + wn, "\r\n", 2); /* the last line gets its CRLF */
	EVP_Digest(want, wn + 2, exp, &elen, EVP_sha256(), NULL);
	assert_memory_equal(got, exp, 32);
	assert_int_equal(test_body_digest(text, n, DKIM_CANON_SIMPLE, 5000, false, got), 32);
	EVP_Digest(want, 5000, exp, &elen, EVP_sha256(), NULL);
	assert_memory_equal(got, exp, 32);
	free(text);
	free(want);
}

/* The fields of a signature most rows share; a row appends to or replaces them. */
#define TEST_SIG_BASE "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=TWFu; b=TWFuIQ=="

/* One DKIM-Signature value row: ok or not. */
struct test_sig_case {
	const char *in;
	bool ok;
};

static const struct test_sig_case test_sig_cases[] = {
	{TEST_SIG_BASE, true},
	{TEST_SIG_BASE "; c=relaxed", true},
	{TEST_SIG_BASE "; c=simple/relaxed; q=dns/txt", true},
	{TEST_SIG_BASE "; q=other/x : dns/txt; z=unknown; l=0; t=5; x=5", true},
	{TEST_SIG_BASE "; i=user@sub.example.com", true},
	{"v=1; a=ed25519-sha256; d=d; s=s; h=From : To\r\n : Subject; bh=TWFu; b=TW\r\n Fu", true},
	{"v=1; a=rsa-sha1; d=d; s=s; h=from; bh=TWFu; b=TWFu", true}, /* parses; verify refuses it */
	{"a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=TWFu; b=TWFu", false},
	{"v=1; d=example.com; s=sel; h=from:to; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; s=sel; h=from:to; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=example.com; h=from:to; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=example.com; s=sel; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=TWFu", false},
	{"v=2; a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-md5; d=example.com; s=sel; h=from:to; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=; s=sel; h=from:to; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=a b; s=sel; h=from:to; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=d; s=sel; h=; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=d; s=sel; h=from::to; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=d; s=sel; h=from:to:; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=d; s=sel; h=fr om; bh=TWFu; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=d; s=sel; h=from; bh=; b=TWFu", false},
	{"v=1; a=rsa-sha256; d=d; s=sel; h=from; bh=TWFu; b=", false},
	{"v=1; a=rsa-sha256; d=d; s=sel; h=from; bh=TWFu; b=TW*u", false},
	{TEST_SIG_BASE "; c=fancy", false},
	{TEST_SIG_BASE "; c=relaxed/", false},
	{TEST_SIG_BASE "; c=relaxed/fancy", false},
	{TEST_SIG_BASE "; l=", false},
	{TEST_SIG_BASE "; l=-1", false},
	{TEST_SIG_BASE "; l=1x", false},
	{TEST_SIG_BASE "; l=12345678901234567890123456789012345678901234567890123456789012345678901234567", false},
	{TEST_SIG_BASE "; t=10; x=9", false},
	{TEST_SIG_BASE "; q=dns", false},
	{TEST_SIG_BASE "; i=nodomain", false},
	{TEST_SIG_BASE "; d=again", false},
	{TEST_SIG_BASE "; v=1", false},
	{"v=1; a=rsa-sha256", false},
	{"garbage", false},
	{"", false},
};

/* test_sig_table - each row parses or not; a refusal says why and leaves nothing allocated. */
static void test_sig_table(void **state)
{
	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(test_sig_cases); k++) {
		const struct test_sig_case *c = &test_sig_cases[k];
		struct dkim_sig sig;
		const char *err = NULL;
		int rc = dkim_sig_parse(c->in, strlen(c->in), &sig, &err);

		if (rc != (c->ok ? 0 : -1))
			fail_msg("row %zu \"%s\": rc %d (%s)", k, c->in, rc, err ? err : "");
		if (!c->ok && (err == NULL || sig.d != NULL || sig.h != NULL || sig.b != NULL))
			fail_msg("row %zu: no error text, or something left", k);
		dkim_sig_clear(&sig);
	}
}

/* test_sig_fields - what a signature holds: defaults, values, the h= cap, the l= clamp. */
static void test_sig_fields(void **state)
{
	static const char v[] = "v=1; a=ed25519-sha256; c=relaxed; d=example.com; s=sel;\r\n h=From : To\r\n"
				" :subject; bh=TWFu; b=TW\r\n\tFu; t=100; l=100000000000000000000000";
	struct dkim_sig sig;
	const char *err;
	char *big = malloc(64 * 1024);
	size_t n = 0;

	(void)state;
	assert_int_equal(dkim_sig_parse(v, strlen(v), &sig, &err), 0);
	assert_int_equal(sig.alg, DKIM_ALG_ED25519_SHA256);
	assert_int_equal(sig.hcanon, DKIM_CANON_RELAXED);
	assert_int_equal(sig.bcanon, DKIM_CANON_SIMPLE);
	assert_string_equal(sig.d, "example.com");
	assert_string_equal(sig.s, "sel");
	assert_string_equal(sig.i, "@example.com");
	assert_int_equal(sig.n_h, 3);
	assert_string_equal(sig.h[0], "From");
	assert_string_equal(sig.h[1], "To");
	assert_string_equal(sig.h[2], "subject");
	assert_int_equal(sig.b_len, 3);
	assert_memory_equal(sig.bh, "Man", 3);
	assert_true(sig.t == 100 && sig.x == -1 && sig.l == 9223372036854775807LL);
	dkim_sig_clear(&sig);
	assert_null(sig.d);
	/* h= with DKIM_MAX_H names parses, one more does not */
	n = (size_t)sprintf(big, "v=1; a=rsa-sha256; d=d; s=s; bh=TWFu; b=TWFu; h=from");
	for (int k = 1; k < DKIM_MAX_H; k++)
		n += (size_t)sprintf(big + n, ":x%d", k);
	assert_int_equal(dkim_sig_parse(big, n, &sig, &err), 0);
	assert_int_equal(sig.n_h, DKIM_MAX_H);
	dkim_sig_clear(&sig);
	n += (size_t)sprintf(big + n, ":one-more");
	assert_int_equal(dkim_sig_parse(big, n, &sig, &err), -1);
	assert_string_equal(err, "too many h= field names");
	/* b= larger than any RSA signature */
	n = (size_t)sprintf(big, "v=1; a=rsa-sha256; d=d; s=s; bh=TWFu; h=from; b=");
	memset(big + n, 'A', 4000);
	assert_int_equal(dkim_sig_parse(big, n + 4000, &sig, &err), -1);
	free(big);
}

/* One key record row: ok, type, p length, hashes, flags. */
struct test_key_case {
	const char *in;
	bool ok;
	enum dkim_key_type type;
	size_t p_len;
	unsigned hashes;
	bool testing, strict, email;
};

#define TEST_H_ALL (DKIM_KEY_H_SHA1 | DKIM_KEY_H_SHA256)
static const struct test_key_case test_key_cases[] = {
	{"v=DKIM1; k=rsa; p=TWFu", true, DKIM_KEY_RSA, 3, TEST_H_ALL, false, false, true},
	{"p=TWFu", true, DKIM_KEY_RSA, 3, TEST_H_ALL, false, false, true},
	{"v=DKIM1; p=", true, DKIM_KEY_RSA, 0, TEST_H_ALL, false, false, true}, /* revoked */
	{"k=ed25519; p=TW Fu", true, DKIM_KEY_ED25519, 3, TEST_H_ALL, false, false, true},
	{"h=sha256; p=TWFu", true, DKIM_KEY_RSA, 3, DKIM_KEY_H_SHA256, false, false, true},
	{"h=sha1 : sha512; p=TWFu", true, DKIM_KEY_RSA, 3, DKIM_KEY_H_SHA1, false, false, true},
	{"t=y:s; p=TWFu", true, DKIM_KEY_RSA, 3, TEST_H_ALL, true, true, true},
	{"t=s : x; p=TWFu", true, DKIM_KEY_RSA, 3, TEST_H_ALL, false, true, true},
	{"s=email; n=a note; g=*; p=TWFu", true, DKIM_KEY_RSA, 3, TEST_H_ALL, false, false, true},
	{"s=tlsrpt:*; p=TWFu", true, DKIM_KEY_RSA, 3, TEST_H_ALL, false, false, true},
	{"s=tlsrpt; p=TWFu", true, DKIM_KEY_RSA, 3, TEST_H_ALL, false, false, false},
	{"v=DKIM2; p=TWFu", false, 0, 0, 0, false, false, false},
	{"k=rsa; v=DKIM1; p=TWFu", false, 0, 0, 0, false, false, false}, /* v= not first */
	{"k=dsa; p=TWFu", false, 0, 0, 0, false, false, false},
	{"k=rsa", false, 0, 0, 0, false, false, false},
	{"p=TW-u", false, 0, 0, 0, false, false, false},
	{"p=TWFu; p=TWFu", false, 0, 0, 0, false, false, false},
	{"p=TWFu; bad", false, 0, 0, 0, false, false, false},
	{"", false, 0, 0, 0, false, false, false},
};

/* test_key_table - each key record row. */
static void test_key_table(void **state)
{
	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(test_key_cases); k++) {
		const struct test_key_case *c = &test_key_cases[k];
		struct dkim_key key;
		const char *err = NULL;
		int rc = dkim_key_parse(c->in, strlen(c->in), &key, &err);

		if (rc != (c->ok ? 0 : -1))
			fail_msg("row %zu \"%s\": rc %d (%s)", k, c->in, rc, err ? err : "");
		if (c->ok && (key.type != c->type || key.p_len != c->p_len || key.hashes != c->hashes ||
			      key.testing != c->testing || key.strict != c->strict || key.email != c->email))
			fail_msg("row %zu \"%s\": fields differ", k, c->in);
		if (!c->ok && (err == NULL || key.p != NULL))
			fail_msg("row %zu: no error text, or p left", k);
		dkim_key_clear(&key);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags_table),
		cmocka_unit_test(test_tags_limits),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_headers_parse),
		cmocka_unit_test(test_canon_headers),
		cmocka_unit_test(test_canon_body),
		cmocka_unit_test(test_body_empty),
		cmocka_unit_test(test_body_splits),
		cmocka_unit_test(test_body_large),
		cmocka_unit_test(test_sig_table),
		cmocka_unit_test(test_sig_fields),
		cmocka_unit_test(test_key_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

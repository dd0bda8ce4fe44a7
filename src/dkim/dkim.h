/*
 * dkim - the DKIM protocol core (RFC 6376, RFC 8463 Ed25519, RFC 8301
 * crypto updates) as pure functions on OpenSSL 3: tag lists, the header
 * section split into fields, signature and key records, header and body
 * canonicalization, verification and signing. No sockets, no DNS, no
 * globals: the caller streams the body into dkim_body_*, looks the key up
 * and hands everything to dkim_verify / dkim_sign.
 *
 * Message text: "\r\n" and a lone "\n" are both line ends (postern stores
 * LF, RFC test vectors have CRLF); canonicalization works as if the wire
 * form had CRLF.
 *
 * Verdict choices (RFC 8601 names):
 *   rsa-sha1 (RFC 8301: never valid)                          permerror
 *   RSA key under 1024 bits, key type != a=, revoked key,
 *   h= without From, x= in the past, i= not under d=,
 *   t=s key with i= domain != d=, key h= without sha256,
 *   key s= without email or *, unusable p=                     permerror
 *   body hash differs, signature does not verify               fail
 *   l= larger than the canonicalized body (RFC 6376 3.5: l=
 *   "MUST NOT be larger than the actual number of octets"; as
 *   dkimpy): dkim_body_final returns 0 and dkim_verify fails   fail
 */
#ifndef POSTERN_DKIM_H
#define POSTERN_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

enum dkim_result {
	DKIM_NONE,
	DKIM_PASS,
	DKIM_FAIL,
	DKIM_NEUTRAL,
	DKIM_POLICY,
	DKIM_TEMPERROR,
	DKIM_PERMERROR,
};

/* dkim_result_name - the RFC 8601 name: "none", "pass", "fail", ... */
const char *dkim_result_name(enum dkim_result r);

enum dkim_canon { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED };
enum dkim_alg { DKIM_ALG_RSA_SHA256, DKIM_ALG_ED25519_SHA256, DKIM_ALG_RSA_SHA1 };

/* Limits on hostile input. */
#define DKIM_MAX_FIELDS 1000 /* header fields in a section */
#define DKIM_TAGS_MAX 64     /* tags in one tag list */
#define DKIM_MAX_H 128       /* names in a signature's h= */
#define DKIM_MAX_SIG_B 1024  /* decoded b= bytes (RSA 8192 is 1024) */
#define DKIM_MAX_KEY_P 2048  /* decoded p= bytes (an RSA 8192 SPKI is ~1060) */
#define DKIM_MAX_DIGEST 64

/* ---- Tag lists (RFC 6376 3.2) ---- */

/* One tag; name and value point into the parsed text (borrowed). The value
   has its leading and trailing whitespace removed, inner FWS kept. */
struct dkim_tag {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};
struct dkim_tags {
	struct dkim_tag tag[DKIM_TAGS_MAX];
	size_t n;
};

/* dkim_tags_parse - split a tag list; -1 on bad syntax, a duplicate tag or more than DKIM_TAGS_MAX tags. */
int dkim_tags_parse(const char *text, size_t len, struct dkim_tags *tags_r, const char **error_r);
/* dkim_tags_get - the tag called name (exact, case-sensitive as RFC 6376 says), or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t, const char *name);
/* dkim_base64_decode - decode base64 with FWS anywhere in it; malloc'd; -1 on bad data or more than max bytes. */
int dkim_base64_decode(const char *s, size_t len, size_t max, uint8_t **out_r, size_t *out_len_r);
/* dkim_base64_encode - base64 of data, NUL-terminated, malloc'd. */
char *dkim_base64_encode(const uint8_t *data, size_t len);

/* ---- The header section ---- */

/* The header section, split into fields, pointing into the caller's text (borrowed).
   raw: whole field incl. name and folds, without the final line end.
   name_len excludes whitespace before the colon. */
struct dkim_field {
	const char *name;
	size_t name_len;
	const char *raw;
	size_t raw_len;
};
struct dkim_headers {
	struct dkim_field *fields;
	size_t n;
};

/* dkim_headers_parse - split text (the header section, with or without the empty line ending it; parsing
   stops at the first empty line) into fields. -1: a line without a colon, a continuation before any
   field, an empty field name, or more than DKIM_MAX_FIELDS fields. */
int dkim_headers_parse(const char *text, size_t len, struct dkim_headers *h_r, const char **error_r);
/* dkim_headers_clear - free the field array. */
void dkim_headers_clear(struct dkim_headers *h);
/* dkim_field_is - the field is called name (case-insensitive), e.g. "DKIM-Signature". */
bool dkim_field_is(const struct dkim_field *f, const char *name);
/* dkim_field_value - the field's value (after the colon, folds included), e.g. for dkim_sig_parse. */
const char *dkim_field_value(const struct dkim_field *f, size_t *len_r);

/* A growable byte buffer (canonicalization output). */
struct dkim_buf {
	char *p;
	size_t len, cap;
};
/* dkim_canon_header - append the canonicalized field raw (RFC 6376 3.4.1/3.4.2), ending in CRLF when crlf. */
void dkim_canon_header(struct dkim_buf *out, const char *raw, size_t len, enum dkim_canon c, bool crlf);
/* dkim_buf_add - append n bytes to the buffer. */
void dkim_buf_add(struct dkim_buf *b, const char *s, size_t n);
/* dkim_buf_free - release the buffer's storage. */
void dkim_buf_free(struct dkim_buf *b);

/* ---- Signature (RFC 6376 3.5) ---- */

/* A parsed DKIM-Signature (value only, i.e. after "DKIM-Signature:"). Owns its strings. */
struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	char *d, *s, *i; /* i: "@d" when absent */
	char **h;        /* field names as written (compare case-insensitively) */
	size_t n_h;
	uint8_t *b;
	size_t b_len;
	uint8_t *bh;
	size_t bh_len;
	long long l;    /* -1: none; a value beyond LLONG_MAX is LLONG_MAX */
	long long t, x; /* -1: none */
};

/* dkim_sig_parse - parse a signature's tag list: v=1, a=, b=, bh=, d=, h=, s= required; c=, i=, l=, q=, t=, x=
   checked; unknown tags ignored. -1 on any error (the verdict is then permerror). */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig_r, const char **error_r);
/* dkim_sig_clear - free what the signature owns and zero it. */
void dkim_sig_clear(struct dkim_sig *sig);

/* ---- Key record (RFC 6376 3.6.1) ---- */

enum dkim_key_type { DKIM_KEY_RSA, DKIM_KEY_ED25519 };
#define DKIM_KEY_H_SHA1 0x1u
#define DKIM_KEY_H_SHA256 0x2u

/* A parsed key record (the TXT at S._domainkey.D). */
struct dkim_key {
	enum dkim_key_type type; /* k=, default rsa */
	uint8_t *p;              /* p= decoded; p_len 0: revoked */
	size_t p_len;
	unsigned hashes;         /* h=: DKIM_KEY_H_* bits; both when absent */
	bool testing, strict;    /* t=y, t=s */
	bool email;              /* s= has "email" or "*" (true when absent) */
};

/* dkim_key_parse - parse a key record; -1 on bad syntax, v= other than DKIM1, unknown k=, no p=, bad base64. */
int dkim_key_parse(const char *txt, size_t len, struct dkim_key *key_r, const char **error_r);
/* dkim_key_clear - free what the key owns and zero it. */
void dkim_key_clear(struct dkim_key *key);

/* ---- Body hash (RFC 6376 3.4.3/3.4.4/3.7) ---- */

struct dkim_body;
/* dkim_body_new - a body hasher: canonicalization c, sha1 for rsa-sha1 else sha256, limit l= (-1: none). */
struct dkim_body *dkim_body_new(enum dkim_canon c, enum dkim_alg alg, long long limit);
/* dkim_body_feed - canonicalize and hash more body text; split points do not matter. */
void dkim_body_feed(struct dkim_body *b, const char *text, size_t len);
/* dkim_body_final - write the digest to out and return its length (20 or 32); once. Returns 0 (the digest
   of what there is still written) when limit exceeds the canonicalized body: dkim_verify gives fail. */
size_t dkim_body_final(struct dkim_body *b, uint8_t out[DKIM_MAX_DIGEST]);
/* dkim_body_length - canonicalized body octets seen so far (all of them, not only those under the limit). */
long long dkim_body_length(const struct dkim_body *b);
/* dkim_body_free - free and set *bp to NULL. */
void dkim_body_free(struct dkim_body **bp);

/* ---- Verify and sign ---- */

/* dkim_verify - verify signature number sig_field (index into h->fields, a DKIM-Signature field) whose parsed
   form is sig, against key and the body hash computed with dkim_body_* for sig's bcanon/alg/l (pass
   dkim_body_final's return value as body_hash_len). PASS, FAIL or PERMERROR as in the table above.
   reason_r: a short static text for logs and the A-R comment ("ok" on PASS). */
enum dkim_result dkim_verify(const struct dkim_headers *h, size_t sig_field, const struct dkim_sig *sig,
			     const struct dkim_key *key, const uint8_t *body_hash, size_t body_hash_len,
			     time_t now, const char **reason_r);

/*
 * dkim_verify_forget_keys - drop the RSA keys dkim_verify remembers
 * decoded (a few, by their DER bytes, shared by all threads): at exit.
 */
void dkim_verify_forget_keys(void);

/* dkim_sign - a DKIM-Signature, relaxed/relaxed, a= from the key (RSA: rsa-sha256, Ed25519: ed25519-sha256),
   h= each present instance of From, To, Cc, Subject, Date, Message-ID, In-Reply-To, References, Reply-To,
   Sender, MIME-Version, Content-Type, Content-Transfer-Encoding, plus From once more; t=now. body_hash:
   relaxed sha256 from dkim_body_*. Returns malloc'd "DKIM-Signature: ...; b=...\n", LF line ends, folded
   with LF TAB so no line exceeds 78 characters (unless one d= or s= is longer), b= last; NULL with *error_r
   when there is no From field, the key is neither RSA nor Ed25519, or signing fails. */
char *dkim_sign(const struct dkim_headers *h, const uint8_t *body_hash, size_t body_hash_len, EVP_PKEY *key,
		const char *domain, const char *selector, time_t now, const char **error_r);

/* ---- Shared by verify and sign ---- */

/* dkim_header_hash - SHA-256 (SHA-1 when sha1) of the h= fields selected bottom-up (RFC 6376 5.4.2) from
   h (field skip excluded; SIZE_MAX: none), then sig_raw (the DKIM-Signature field with b= emptied) without
   its CRLF, all canonicalized with c. Returns the digest length, 0 on an OpenSSL failure. */
size_t dkim_header_hash(const struct dkim_headers *h, size_t skip, char *const *names, size_t n_names,
			const char *sig_raw, size_t sig_len, enum dkim_canon c, bool sha1,
			uint8_t out[DKIM_MAX_DIGEST]);

#endif

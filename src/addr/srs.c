/* srs - the Sender Rewriting Scheme (libsrs2, postsrsd): see srs.h. */
#include "addr/srs.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SRS_DAY_SECONDS 86400
#define SRS_STAMP_SLOTS 1024    /* two base32 characters: 10 bits of days */
#define SRS_MAX_AGE_LIMIT 1000  /* max_age_days + SRS_FUTURE_MARGIN must stay below the slots */
#define SRS_HASH_FIELD_MAX 27   /* a whole SHA1 in base64: longer is no hash of ours */

/* A piece of an input, not NUL-terminated. */
struct srs_span {
	const char *s;
	size_t n;
};

/* A local part being built; over when something did not fit. */
struct srs_buf {
	char s[SRS_LOCAL_MAX];
	size_t n;
	bool over;
};

/* An address taken apart: the local part unquoted (in buf when it was quoted). */
struct srs_addr {
	struct srs_span local;
	struct srs_span domain;
	char buf[SRS_LOCAL_MAX];
};

/* The fields of SRS0=HASH=TT=HOST=USER. */
struct srs_srs0 {
	struct srs_span hash, stamp, host, user;
};

/* The fields of SRS1=HASH=HOST=OPAQUE; OPAQUE is an SRS0 local part after its "SRS0". */
struct srs_srs1 {
	struct srs_span hash, host, opaque;
};

static const char srs_base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char srs_base64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* srs_lower - the ASCII lower case of c; other bytes unchanged. */
static unsigned char srs_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* srs_span_caseeq - whether a equals the string b, ASCII case ignored. */
static bool srs_span_caseeq(struct srs_span a, const char *b)
{
	size_t n = strlen(b);

	if (a.n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (srs_lower((unsigned char)a.s[i]) != srs_lower((unsigned char)b[i]))
			return false;
	}
	return true;
}

/* srs_is_sep - one of the separators libsrs2 accepts after the SRS0/SRS1 tag. */
static bool srs_is_sep(char c)
{
	return c == '=' || c == '-' || c == '+';
}

/* srs_tag - 0 or 1 when s starts with SRS0 or SRS1 and a separator (any case), else -1. */
static int srs_tag(struct srs_span s)
{
	if (s.n < 5 || srs_lower((unsigned char)s.s[0]) != 's' ||
	    srs_lower((unsigned char)s.s[1]) != 'r' || srs_lower((unsigned char)s.s[2]) != 's' ||
	    (s.s[3] != '0' && s.s[3] != '1') || !srs_is_sep(s.s[4]))
		return -1;
	return s.s[3] - '0';
}

/* srs_is_srs_local - whether local starts like an SRS address, inside quotes or not. */
bool srs_is_srs_local(const char *local, size_t len)
{
	struct srs_span s = { local, len };

	if (len > 0 && local[0] == '"') {
		s.s++;
		s.n--;
	}
	return srs_tag(s) >= 0;
}

/* srs_local_clean - whether s has no control byte (8-bit bytes are UTF-8, RFC 6531). */
static bool srs_local_clean(struct srs_span s)
{
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* srs_domain_ok - whether s can be a domain in an SRS field: not empty, no blank, '=', '@', quote. */
static bool srs_domain_ok(struct srs_span s)
{
	if (s.n == 0 || s.n > SRS_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.s[i];
		if (c <= 0x20 || c == 0x7f || c == '=' || c == '@' || c == '"' || c == '\\')
			return false;
	}
	return true;
}

/* srs_atext - whether c may stand in an unquoted local part (RFC 5322 atext, 8-bit for RFC 6531). */
static bool srs_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* srs_dot_string - whether s can be written unquoted (RFC 5321 4.1.2 Dot-string). */
static bool srs_dot_string(struct srs_span s)
{
	if (s.n == 0 || s.s[0] == '.' || s.s[s.n - 1] == '.')
		return false;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.s[i];
		if (c == '.' ? s.s[i - 1] == '.' : !srs_atext(c))
			return false;
	}
	return true;
}

/* srs_unquote - s without its quotes and escapes when it is a Quoted-string (RFC 5321 4.1.2). */
static enum srs_result srs_unquote(struct srs_span s, char buf[SRS_LOCAL_MAX],
				   struct srs_span *local_r)
{
	size_t n = 0;

	if (s.n < 2 || s.s[0] != '"' || s.s[s.n - 1] != '"') {
		*local_r = s;
		return s.n > SRS_LOCAL_MAX ? SRS_TOO_LONG : SRS_OK;
	}
	for (size_t i = 1; i + 1 < s.n; i++) {
		char c = s.s[i];
		if (c == '\\' && ++i + 1 >= s.n)
			return SRS_BAD_SYNTAX; /* it escapes the closing quote */
		if (c == '\\')
			c = s.s[i];
		else if (c == '"')
			return SRS_BAD_SYNTAX;
		if (n == SRS_LOCAL_MAX)
			return SRS_TOO_LONG;
		buf[n++] = c;
	}
	local_r->s = buf;
	local_r->n = n;
	return SRS_OK;
}

/* srs_addr_parse - split s at its last '@' into a->local (unquoted) and a->domain, checked. */
static enum srs_result srs_addr_parse(const char *s, size_t n, struct srs_addr *a)
{
	const char *at;
	enum srs_result r;

	if (n > SRS_ADDRESS_MAX)
		return SRS_TOO_LONG;
	at = memrchr(s, '@', n);
	if (at == NULL)
		return SRS_BAD_SYNTAX;
	a->domain.s = at + 1;
	a->domain.n = n - (size_t)(at + 1 - s);
	if (a->domain.n > SRS_DOMAIN_MAX)
		return SRS_TOO_LONG;
	r = srs_unquote((struct srs_span){ s, (size_t)(at - s) }, a->buf, &a->local);
	if (r != SRS_OK)
		return r;
	if (a->local.n == 0 || !srs_local_clean(a->local) || !srs_domain_ok(a->domain))
		return SRS_BAD_SYNTAX;
	return SRS_OK;
}

/* srs_put_address - local (quoted when no Dot-string) '@' domain into out; false when too long. */
static bool srs_put_address(struct srs_span local, struct srs_span domain,
			    char out[SRS_ADDRESS_MAX + 1])
{
	bool quote = !srs_dot_string(local);
	size_t o = 0;

	if (local.n > SRS_LOCAL_MAX || domain.n > SRS_DOMAIN_MAX)
		return false;
	if (quote)
		out[o++] = '"';
	for (size_t i = 0; i < local.n; i++) {
		if (quote && (local.s[i] == '"' || local.s[i] == '\\'))
			out[o++] = '\\';
		out[o++] = local.s[i];
	}
	if (quote)
		out[o++] = '"';
	out[o++] = '@';
	memcpy(out + o, domain.s, domain.n);
	out[o + domain.n] = '\0';
	return true;
}

/* srs_buf_put - append n bytes of s to b; b is over when they do not fit. */
static void srs_buf_put(struct srs_buf *b, const char *s, size_t n)
{
	if (b->over || n > sizeof(b->s) - b->n) {
		b->over = true;
		return;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
}

/* srs_field - cut the text before the next '=' off *rest into field_r; false when no '=' is left. */
static bool srs_field(struct srs_span *rest, struct srs_span *field_r)
{
	const char *eq = rest->n > 0 ? memchr(rest->s, '=', rest->n) : NULL;

	if (eq == NULL)
		return false;
	field_r->s = rest->s;
	field_r->n = (size_t)(eq - rest->s);
	rest->s = eq + 1;
	rest->n -= field_r->n + 1;
	return true;
}

/* srs_hash - the SRS_HASH_LEN base64url characters of HMAC-SHA1(secret, lower-cased parts). */
static bool srs_hash(const struct srs_params *p, const struct srs_span *parts, size_t nparts,
		     char hash_r[SRS_HASH_LEN])
{
	unsigned char msg[SRS_ADDRESS_MAX], md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	size_t n = 0;

	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].n > sizeof(msg) - n)
			return false;
		for (size_t k = 0; k < parts[i].n; k++)
			msg[n++] = srs_lower((unsigned char)parts[i].s[k]);
	}
	if (HMAC(EVP_sha1(), p->secret, (int)p->secret_len, msg, n, md, &md_len) == NULL ||
	    md_len < 3)
		return false;
	hash_r[0] = srs_base64url[md[0] >> 2];
	hash_r[1] = srs_base64url[((md[0] & 0x03) << 4) | (md[1] >> 4)];
	hash_r[2] = srs_base64url[((md[1] & 0x0f) << 2) | (md[2] >> 6)];
	hash_r[3] = srs_base64url[md[2] & 0x3f];
	return true;
}

/* srs_hash_fold - a hash character compared: lower case, '+' as '-', '/' as '_'; 0: no base64. */
static unsigned char srs_hash_fold(unsigned char c)
{
	if (c == '+')
		return '-';
	if (c == '/')
		return '_';
	c = srs_lower(c);
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ? c : 0;
}

/* srs_hash_equal - whether given (base64, its first SRS_HASH_LEN characters compared) matches want. */
static bool srs_hash_equal(struct srs_span given, const char want[SRS_HASH_LEN])
{
	unsigned diff = 0;

	if (given.n < SRS_HASH_LEN || given.n > SRS_HASH_FIELD_MAX)
		return false;
	for (size_t i = 0; i < given.n; i++) {
		unsigned char g = srs_hash_fold((unsigned char)given.s[i]);
		diff |= g == 0;
		if (i < SRS_HASH_LEN)
			diff |= (unsigned)(g ^ srs_hash_fold((unsigned char)want[i]));
	}
	return diff == 0;
}

/* srs_day_slot - the day number of now, mod SRS_STAMP_SLOTS. */
static unsigned srs_day_slot(time_t now)
{
	unsigned long long days = now > 0 ? (unsigned long long)now / SRS_DAY_SECONDS : 0;

	return (unsigned)(days % SRS_STAMP_SLOTS);
}

/* srs_base32_value - the value of a base32 character (any case), -1 for none. */
static int srs_base32_value(char c)
{
	unsigned char u = srs_lower((unsigned char)c);

	if (u >= 'a' && u <= 'z')
		return u - 'a';
	if (u >= '2' && u <= '7')
		return u - '2' + 26;
	return -1;
}

/* srs_stamp_value - the day slot a 2-character stamp names, -1 when it is malformed. */
static int srs_stamp_value(struct srs_span stamp)
{
	int hi, lo;

	if (stamp.n != 2 || (hi = srs_base32_value(stamp.s[0])) < 0 ||
	    (lo = srs_base32_value(stamp.s[1])) < 0)
		return -1;
	return hi << 5 | lo;
}

/* srs_stamp_fresh - whether slot is at most max age days old, or SRS_FUTURE_MARGIN ahead. */
static bool srs_stamp_fresh(const struct srs_params *p, int slot)
{
	unsigned max_age = p->max_age_days ? p->max_age_days : SRS_MAX_AGE_DEFAULT;
	unsigned age = (srs_day_slot(p->now) + SRS_STAMP_SLOTS - (unsigned)slot) % SRS_STAMP_SLOTS;

	return age <= max_age || age >= SRS_STAMP_SLOTS - SRS_FUTURE_MARGIN;
}

/* srs_params_ok - whether p has a secret and a usable SRS domain. */
static bool srs_params_ok(const struct srs_params *p)
{
	size_t n;

	if (p == NULL || p->secret == NULL || p->secret_len == 0 ||
	    p->secret_len > SRS_SECRET_MAX || p->domain == NULL ||
	    p->max_age_days > SRS_MAX_AGE_LIMIT)
		return false;
	n = strlen(p->domain);
	return n > 0 && srs_domain_ok((struct srs_span){ p->domain, n });
}

/* srs_srs0_parse - the fields of an SRS0 local part (tag checked by the caller). */
static bool srs_srs0_parse(struct srs_span local, struct srs_srs0 *f)
{
	struct srs_span rest = { local.s + 5, local.n - 5 };

	if (!srs_field(&rest, &f->hash) || !srs_field(&rest, &f->stamp) ||
	    !srs_field(&rest, &f->host))
		return false;
	f->user = rest;
	return f->hash.n > 0 && f->user.n > 0 && srs_domain_ok(f->host) &&
	       srs_stamp_value(f->stamp) >= 0;
}

/* srs_srs1_parse - the fields of an SRS1 local part (tag checked by the caller). */
static bool srs_srs1_parse(struct srs_span local, struct srs_srs1 *f)
{
	struct srs_span rest = { local.s + 5, local.n - 5 };

	if (!srs_field(&rest, &f->hash) || !srs_field(&rest, &f->host))
		return false;
	f->opaque = rest;
	return f->hash.n > 0 && srs_domain_ok(f->host) && f->opaque.n >= 2 &&
	       srs_is_sep(f->opaque.s[0]);
}

/* srs_put_srs - TAG=HASH=a=b into b, the hash over a and b (and the stamp, when given, first). */
static enum srs_result srs_put_srs(const struct srs_params *p, const char *tag,
				   const char *stamp, struct srs_span a, struct srs_span b,
				   struct srs_buf *out)
{
	struct srs_span parts[3] = { { stamp, stamp ? 2 : 0 }, a, b };
	char hash[SRS_HASH_LEN];

	if (!srs_hash(p, parts, 3, hash))
		return SRS_TOO_LONG;
	srs_buf_put(out, tag, 4);
	srs_buf_put(out, "=", 1);
	srs_buf_put(out, hash, SRS_HASH_LEN);
	srs_buf_put(out, "=", 1);
	if (stamp != NULL) {
		srs_buf_put(out, stamp, 2);
		srs_buf_put(out, "=", 1);
	}
	srs_buf_put(out, a.s, a.n);
	srs_buf_put(out, "=", 1);
	srs_buf_put(out, b.s, b.n);
	return out->over ? SRS_TOO_LONG : SRS_OK;
}

/* srs_forward_local - the SRS local part for the sender a: SRS1 for SRS0/SRS1 senders, else SRS0. */
static enum srs_result srs_forward_local(const struct srs_params *p, const struct srs_addr *a,
					 struct srs_buf *b)
{
	struct srs_srs1 f;
	char stamp[2];
	unsigned slot;
	int tag = srs_tag(a->local);

	if (tag == 0 && a->local.n >= 6) /* keep SRS0's opaque part, its separator first */
		return srs_put_srs(p, "SRS1", NULL, a->domain,
				   (struct srs_span){ a->local.s + 4, a->local.n - 4 }, b);
	if (tag == 1 && srs_srs1_parse(a->local, &f)) /* keep the first hop */
		return srs_put_srs(p, "SRS1", NULL, f.host, f.opaque, b);
	slot = srs_day_slot(p->now);
	stamp[0] = srs_base32[slot >> 5];
	stamp[1] = srs_base32[slot & 31];
	return srs_put_srs(p, "SRS0", stamp, a->domain, a->local, b);
}

/* srs_forward - rewrite sender for forwarding from p->domain (see srs.h). */
enum srs_result srs_forward(const struct srs_params *p, const char *sender, size_t len,
			    char out[SRS_ADDRESS_MAX + 1])
{
	struct srs_addr a;
	struct srs_buf b = { .n = 0 };
	enum srs_result r;

	out[0] = '\0';
	if (!srs_params_ok(p))
		return SRS_BAD_PARAMS;
	if (len == 0 || (len == 2 && memcmp(sender, "<>", 2) == 0))
		return SRS_NULL_SENDER;
	if ((r = srs_addr_parse(sender, len, &a)) != SRS_OK)
		return r;
	if (srs_span_caseeq(a.domain, p->domain)) {
		memcpy(out, sender, len);
		out[len] = '\0';
		return SRS_OWN_DOMAIN;
	}
	if ((r = srs_forward_local(p, &a, &b)) != SRS_OK)
		return r;
	if (!srs_put_address((struct srs_span){ b.s, b.n },
			     (struct srs_span){ p->domain, strlen(p->domain) }, out))
		return SRS_TOO_LONG;
	return SRS_OK;
}

/* srs_reverse_srs0 - the original sender of an SRS0 local part, hash and age checked. */
static enum srs_result srs_reverse_srs0(const struct srs_params *p, struct srs_span local,
					char out[SRS_ADDRESS_MAX + 1])
{
	struct srs_srs0 f;
	char hash[SRS_HASH_LEN];

	if (!srs_srs0_parse(local, &f))
		return SRS_BAD_SYNTAX;
	if (!srs_hash(p, (struct srs_span[]){ f.stamp, f.host, f.user }, 3, hash))
		return SRS_TOO_LONG;
	if (!srs_hash_equal(f.hash, hash))
		return SRS_BAD_HASH;
	if (!srs_stamp_fresh(p, srs_stamp_value(f.stamp)))
		return SRS_EXPIRED;
	return srs_put_address(f.user, f.host, out) ? SRS_OK : SRS_TOO_LONG;
}

/* srs_inner_fresh - whether the SRS0 stamp inside an SRS1 opaque part is fresh, or unreadable. */
static bool srs_inner_fresh(const struct srs_params *p, struct srs_span opaque)
{
	struct srs_span rest = { opaque.s + 1, opaque.n - 1 }, hash, stamp;
	int slot;

	if (!srs_field(&rest, &hash) || !srs_field(&rest, &stamp) ||
	    (slot = srs_stamp_value(stamp)) < 0)
		return true; /* the first forwarder judges what it wrote */
	return srs_stamp_fresh(p, slot);
}

/* srs_reverse_srs1 - the first forwarder's SRS0 address of an SRS1 local part, hash checked. */
static enum srs_result srs_reverse_srs1(const struct srs_params *p, struct srs_span local,
					char out[SRS_ADDRESS_MAX + 1])
{
	struct srs_srs1 f;
	struct srs_buf b = { .n = 0 };
	char hash[SRS_HASH_LEN];

	if (!srs_srs1_parse(local, &f))
		return SRS_BAD_SYNTAX;
	if (!srs_hash(p, (struct srs_span[]){ f.host, f.opaque }, 2, hash))
		return SRS_TOO_LONG;
	if (!srs_hash_equal(f.hash, hash))
		return SRS_BAD_HASH;
	if (!srs_inner_fresh(p, f.opaque))
		return SRS_EXPIRED;
	srs_buf_put(&b, "SRS0", 4);
	srs_buf_put(&b, f.opaque.s, f.opaque.n);
	if (b.over || !srs_put_address((struct srs_span){ b.s, b.n }, f.host, out))
		return SRS_TOO_LONG;
	return SRS_OK;
}

/* srs_reverse - where a bounce to the SRS address rcpt goes (see srs.h). */
enum srs_result srs_reverse(const struct srs_params *p, const char *rcpt, size_t len,
			    char out[SRS_ADDRESS_MAX + 1])
{
	const char *at = len > 0 ? memrchr(rcpt, '@', len) : NULL;
	struct srs_addr a;
	enum srs_result r;
	int tag;

	out[0] = '\0';
	if (!srs_params_ok(p))
		return SRS_BAD_PARAMS;
	if (at == NULL ||
	    !srs_span_caseeq((struct srs_span){ at + 1, len - (size_t)(at + 1 - rcpt) }, p->domain) ||
	    !srs_is_srs_local(rcpt, (size_t)(at - rcpt)))
		return SRS_NOT_SRS;
	if ((r = srs_addr_parse(rcpt, len, &a)) != SRS_OK)
		return r;
	tag = srs_tag(a.local);
	r = tag == 0 ? srs_reverse_srs0(p, a.local, out)
	    : tag == 1 ? srs_reverse_srs1(p, a.local, out) : SRS_BAD_SYNTAX;
	if (r != SRS_OK)
		out[0] = '\0';
	return r;
}

/* srs_strerror - a short static text for a result. */
const char *srs_strerror(enum srs_result result)
{
	switch (result) {
	case SRS_OK:
		return "ok";
	case SRS_NULL_SENDER:
		return "null sender: not rewritten";
	case SRS_OWN_DOMAIN:
		return "sender already in the SRS domain: not rewritten";
	case SRS_NOT_SRS:
		return "not an SRS address";
	case SRS_BAD_SYNTAX:
		return "malformed address";
	case SRS_TOO_LONG:
		return "address too long";
	case SRS_BAD_HASH:
		return "forged SRS address (bad hash)";
	case SRS_EXPIRED:
		return "expired SRS address";
	case SRS_BAD_PARAMS:
		return "SRS not configured (no secret or domain)";
	}
	return "unknown SRS error";
}

/* imap_mutf7 - modified UTF-7 and Maildir++ folder names (see imap_mutf7.h). */
#include "imap/imap_mutf7.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char imap_mutf7_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* An output buffer that remembers whether it overflowed. */
struct imap_mutf7_out {
	char *buf;
	size_t size, pos;
	bool overflow;
};

/* imap_mutf7_put - append one octet, keeping room for the NUL. */
static void imap_mutf7_put(struct imap_mutf7_out *o, char c)
{
	if (o->pos + 1 >= o->size) {
		o->overflow = true;
		return;
	}
	o->buf[o->pos++] = c;
}

/* imap_mutf7_finish - NUL-terminate; -1 when something did not fit. */
static int imap_mutf7_finish(struct imap_mutf7_out *o, size_t *len_r, const char **error_r)
{
	if (o->size == 0 || o->overflow) {
		*error_r = "name too long";
		return -1;
	}
	o->buf[o->pos] = '\0';
	if (len_r != NULL)
		*len_r = o->pos;
	return 0;
}

/* imap_mutf7_printable - a character sent as itself (RFC 3501 5.1.3). */
static bool imap_mutf7_printable(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* imap_mutf7_utf8_next - one strict UTF-8 code point; octets used, 0 if invalid. */
static size_t imap_mutf7_utf8_next(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	size_t n;
	uint32_t cp, min;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

/* imap_mutf7_put_utf8 - append code point cp as UTF-8. */
static void imap_mutf7_put_utf8(struct imap_mutf7_out *o, uint32_t cp)
{
	if (cp < 0x80) {
		imap_mutf7_put(o, (char)cp);
	} else if (cp < 0x800) {
		imap_mutf7_put(o, (char)(0xc0 | (cp >> 6)));
		imap_mutf7_put(o, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		imap_mutf7_put(o, (char)(0xe0 | (cp >> 12)));
		imap_mutf7_put(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
		imap_mutf7_put(o, (char)(0x80 | (cp & 0x3f)));
	} else {
		imap_mutf7_put(o, (char)(0xf0 | (cp >> 18)));
		imap_mutf7_put(o, (char)(0x80 | ((cp >> 12) & 0x3f)));
		imap_mutf7_put(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
		imap_mutf7_put(o, (char)(0x80 | (cp & 0x3f)));
	}
}

/* Bits waiting to become base64 characters. */
struct imap_mutf7_bits {
	uint32_t acc;
	unsigned n;
};

/* imap_mutf7_push16 - one UTF-16 code unit into the base64 run. */
static void imap_mutf7_push16(struct imap_mutf7_out *o, struct imap_mutf7_bits *b, uint32_t u)
{
	b->acc = (b->acc << 16) | (u & 0xffff);
	b->n += 16;
	while (b->n >= 6) {
		b->n -= 6;
		imap_mutf7_put(o, imap_mutf7_b64[(b->acc >> b->n) & 0x3f]);
	}
	b->acc &= (1u << b->n) - 1;
}

/* imap_mutf7_encode_run - encode the non-printable run at in; octets used, 0 on bad UTF-8. */
static size_t imap_mutf7_encode_run(struct imap_mutf7_out *o, const unsigned char *in, size_t len)
{
	struct imap_mutf7_bits b = { 0, 0 };
	size_t i = 0;
	uint32_t cp;

	imap_mutf7_put(o, '&');
	while (i < len && !imap_mutf7_printable(in[i])) {
		size_t n = in[i] == 0 ? 0 : imap_mutf7_utf8_next(in + i, len - i, &cp);
		if (n == 0)
			return 0;
		if (cp >= 0x10000) {
			imap_mutf7_push16(o, &b, 0xd800 + ((cp - 0x10000) >> 10));
			imap_mutf7_push16(o, &b, 0xdc00 + ((cp - 0x10000) & 0x3ff));
		} else {
			imap_mutf7_push16(o, &b, cp);
		}
		i += n;
	}
	if (b.n > 0)
		imap_mutf7_put(o, imap_mutf7_b64[(b.acc << (6 - b.n)) & 0x3f]);
	imap_mutf7_put(o, '-');
	return i;
}

int imap_mutf7_encode(const char *in, size_t len, char *out, size_t size, size_t *len_r,
		      const char **error_r)
{
	struct imap_mutf7_out o = { out, size, 0, false };
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;

	while (i < len) {
		if (imap_mutf7_printable(s[i])) {
			imap_mutf7_put(&o, (char)s[i]);
			if (s[i++] == '&')
				imap_mutf7_put(&o, '-');
			continue;
		}
		size_t n = imap_mutf7_encode_run(&o, s + i, len - i);
		if (n == 0) {
			*error_r = "not valid UTF-8";
			return -1;
		}
		i += n;
	}
	return imap_mutf7_finish(&o, len_r, error_r);
}

/* imap_mutf7_b64_value - the value of one base64 character, -1 if none. */
static int imap_mutf7_b64_value(unsigned char c)
{
	const char *p = c != '\0' ? strchr(imap_mutf7_b64, c) : NULL;

	return p != NULL ? (int)(p - imap_mutf7_b64) : -1;
}

/* imap_mutf7_unit - take one decoded UTF-16 unit; -1 if it breaks the canonical form. */
static int imap_mutf7_unit(struct imap_mutf7_out *o, uint32_t u, uint32_t *high)
{
	if (*high != 0) {
		if (u < 0xdc00 || u > 0xdfff)
			return -1;
		imap_mutf7_put_utf8(o, 0x10000 + ((*high - 0xd800) << 10) + (u - 0xdc00));
		*high = 0;
		return 0;
	}
	if (u >= 0xd800 && u <= 0xdbff) {
		*high = u;
		return 0;
	}
	if (u == 0 || imap_mutf7_printable(u) || (u >= 0xdc00 && u <= 0xdfff))
		return -1;
	imap_mutf7_put_utf8(o, u);
	return 0;
}

/* imap_mutf7_decode_run - decode "&...-" after the '&'; octets used up to the '-', 0 if invalid. */
static size_t imap_mutf7_decode_run(struct imap_mutf7_out *o, const unsigned char *in, size_t len)
{
	struct imap_mutf7_bits b = { 0, 0 };
	uint32_t high = 0;
	size_t i = 0, units = 0;

	for (; i < len && in[i] != '-'; i++) {
		int v = imap_mutf7_b64_value(in[i]);
		if (v < 0)
			return 0;
		b.acc = (b.acc << 6) | (uint32_t)v;
		b.n += 6;
		if (b.n >= 16) {
			b.n -= 16;
			if (imap_mutf7_unit(o, (b.acc >> b.n) & 0xffff, &high) < 0)
				return 0;
			b.acc &= (1u << b.n) - 1;
			units++;
		}
	}
	/* closed by '-', whole units, zero padding, no dangling surrogate */
	if (i == len || units == 0 || b.n >= 6 || b.acc != 0 || high != 0)
		return 0;
	return i + 1;
}

int imap_mutf7_decode(const char *in, size_t len, char *out, size_t size, size_t *len_r,
		      const char **error_r)
{
	struct imap_mutf7_out o = { out, size, 0, false };
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;

	*error_r = "not valid modified UTF-7";
	while (i < len) {
		if (!imap_mutf7_printable(s[i]))
			return -1;
		if (s[i] != '&') {
			imap_mutf7_put(&o, (char)s[i++]);
		} else if (i + 1 < len && s[i + 1] == '-') {
			imap_mutf7_put(&o, '&');
			i += 2;
		} else {
			size_t n = imap_mutf7_decode_run(&o, s + i + 1, len - i - 1);
			if (n == 0)
				return -1;
			i += 1 + n;
			/* two runs side by side must have been one (Dovecot) */
			if (i + 1 < len && s[i] == '&' && s[i + 1] != '-')
				return -1;
		}
	}
	return imap_mutf7_finish(&o, len_r, error_r);
}

/* imap_mutf7_is_inbox - level of len octets is "INBOX" in any case. */
static bool imap_mutf7_is_inbox(const char *level, size_t len)
{
	return len == 5 && strncasecmp(level, "INBOX", 5) == 0;
}

/* imap_mutf7_level_ok - one level of an IMAP name may be stored in Maildir++. */
static bool imap_mutf7_level_ok(const char *level, size_t len, const char **error_r)
{
	if (len == 0) {
		*error_r = "empty level in folder name";
		return false;
	}
	if (memchr(level, '.', len) != NULL) {
		*error_r = "character not allowed in folder name: '.'";
		return false;
	}
	return true;
}

int imap_mutf7_folder_to_dir(const char *name, char *out, size_t size, const char **error_r)
{
	size_t pos = 0, enc_len;
	bool first = true;

	if (name[0] == '~') {
		*error_r = "folder name begins with '~'";
		return -1;
	}
	for (const char *p = name;; first = false) {
		size_t len = strcspn(p, "/");
		if (!imap_mutf7_level_ok(p, len, error_r))
			return -1;
		if (first && imap_mutf7_is_inbox(p, len) && p[len] == '\0')
			break; /* INBOX is the Maildir root */
		if (pos + 1 >= size || pos + 1 > IMAP_MUTF7_DIR_MAX)
			goto too_long;
		out[pos++] = '.';
		if (first && imap_mutf7_is_inbox(p, len)) {
			if (imap_mutf7_encode("INBOX", 5, out + pos, size - pos, &enc_len, error_r) < 0)
				goto too_long;
		} else if (imap_mutf7_encode(p, len, out + pos, size - pos, &enc_len, error_r) < 0) {
			return -1;
		}
		pos += enc_len;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if (pos >= size || pos > IMAP_MUTF7_DIR_MAX)
		goto too_long;
	out[pos] = '\0';
	return 0;
too_long:
	*error_r = "folder name too long";
	return -1;
}

/* imap_mutf7_dir_level - decode one directory level into out at *pos, with '/' before it. */
static int imap_mutf7_dir_level(const char *p, size_t len, bool first, char *out, size_t size,
				size_t *pos, const char **error_r)
{
	size_t dec_len;

	if (len == 0) {
		*error_r = "empty level in directory name";
		return -1;
	}
	if (first && imap_mutf7_is_inbox(p, len) && memcmp(p, "INBOX", 5) != 0) {
		*error_r = "directory not reachable: INBOX in another case";
		return -1;
	}
	if (!first) {
		if (*pos + 1 >= size) {
			*error_r = "name too long";
			return -1;
		}
		out[(*pos)++] = '/';
	}
	if (imap_mutf7_decode(p, len, out + *pos, size - *pos, &dec_len, error_r) < 0)
		return -1;
	*pos += dec_len;
	return 0;
}

int imap_mutf7_dir_to_folder(const char *dir, char *out, size_t size, const char **error_r)
{
	size_t pos = 0;

	if (dir[0] == '\0' || strcmp(dir, ".") == 0) {
		if (size < 6) {
			*error_r = "name too long";
			return -1;
		}
		memcpy(out, "INBOX", 6);
		return 0;
	}
	if (dir[0] != '.' || dir[1] == '~' || strcmp(dir, ".INBOX") == 0 || strchr(dir, '/') != NULL) {
		*error_r = "not a Maildir++ folder directory";
		return -1;
	}
	if (strlen(dir) > IMAP_MUTF7_DIR_MAX) {
		*error_r = "directory name too long";
		return -1;
	}
	for (const char *p = dir + 1;; p++) {
		size_t len = strcspn(p, ".");
		if (imap_mutf7_dir_level(p, len, p == dir + 1, out, size, &pos, error_r) < 0)
			return -1;
		p += len;
		if (*p == '\0')
			break;
	}
	return 0;
}

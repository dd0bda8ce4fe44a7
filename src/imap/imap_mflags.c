/* imap_mflags - Maildir file name flags, sizes and order (see imap_mflags.h). */
#include "imap/imap_mflags.h"

#include <string.h>

size_t imap_mflags_base_len(const char *name)
{
	return strcspn(name, ":");
}

/* imap_mflags_info - the flags after ":2," of name, or NULL when it has none. */
static const char *imap_mflags_info(const char *name)
{
	const char *info = strrchr(name, ':');
	const char *slash = strrchr(name, '/');

	if (info == NULL || (slash != NULL && slash > info) || info[1] != '2' || info[2] != ',')
		return NULL;
	return info + 3;
}

/* imap_mflags_letter - the imap_flag bit of a flag letter, 0 if it is not one. */
static unsigned imap_mflags_letter(char c)
{
	switch (c) {
	case 'D': return IMAP_FLAG_DRAFT;
	case 'F': return IMAP_FLAG_FLAGGED;
	case 'R': return IMAP_FLAG_ANSWERED;
	case 'S': return IMAP_FLAG_SEEN;
	case 'T': return IMAP_FLAG_DELETED;
	default: return 0;
	}
}

void imap_mflags_get(const char *name, unsigned *flags_r, uint32_t *keywords_r)
{
	const char *p = imap_mflags_info(name);

	*flags_r = 0;
	*keywords_r = 0;
	for (; p != NULL && *p != '\0' && *p != ','; p++) {
		if (*p >= 'a' && *p <= 'z')
			*keywords_r |= 1u << (*p - 'a');
		else
			*flags_r |= imap_mflags_letter(*p); /* unknown: ignored */
	}
}

/* An output buffer that remembers whether it overflowed. */
struct imap_mflags_out {
	char *buf;
	size_t size, pos;
	bool overflow;
};

/* imap_mflags_put - append one character. */
static void imap_mflags_put(struct imap_mflags_out *o, char c)
{
	if (o->pos + 1 >= o->size)
		o->overflow = true;
	else
		o->buf[o->pos++] = c;
}

/* imap_mflags_known - a flag Dovecot rewrites (system flag or keyword letter). */
static bool imap_mflags_known(char c)
{
	return imap_mflags_letter(c) != 0 || (c >= 'a' && c <= 'z');
}

/* imap_mflags_put_before - the wanted flags and keywords that sort before next (256: all). */
static void imap_mflags_put_before(struct imap_mflags_out *o, int next, unsigned *flags,
				   uint32_t *keywords)
{
	static const char order[] = "DFRST";

	for (const char *c = order; *c != '\0'; c++) {
		unsigned bit = imap_mflags_letter(*c);
		if ((*flags & bit) != 0 && next > *c) {
			imap_mflags_put(o, *c);
			*flags &= ~bit;
		}
	}
	if (*keywords != 0 && next > 'a') {
		for (int i = 0; i < IMAP_KEYWORDS_MAX; i++) {
			if ((*keywords & (1u << i)) != 0)
				imap_mflags_put(o, (char)('a' + i));
		}
		*keywords = 0;
	}
}

int imap_mflags_set(const char *name, unsigned flags, uint32_t keywords, char *out, size_t size)
{
	struct imap_mflags_out o = { out, size, 0, false };
	const char *old = imap_mflags_info(name), *colon = strrchr(name, ':');
	size_t base = old != NULL || (colon != NULL && strchr(colon, '/') == NULL)
			      ? (size_t)(colon - name) : strlen(name);

	for (size_t i = 0; i < base; i++)
		imap_mflags_put(&o, name[i]);
	imap_mflags_put(&o, ':'), imap_mflags_put(&o, '2'), imap_mflags_put(&o, ',');
	if (old == NULL)
		old = "";
	for (;;) {
		while (imap_mflags_known(*old))
			old++;
		int next = *old == '\0' || *old == ',' ? 256 : (unsigned char)*old;
		imap_mflags_put_before(&o, next, &flags, &keywords);
		if (next == 256)
			break;
		imap_mflags_put(&o, *old++);
	}
	while (*old != '\0') /* another flag set: kept as it is */
		imap_mflags_put(&o, *old++);
	if (o.overflow || size == 0)
		return -1;
	out[o.pos] = '\0';
	return 0;
}

bool imap_mflags_size(const char *name, char type, uint64_t *size_r)
{
	const char *p = name;
	uint64_t n = 0;

	while (*p != '\0' && !(p[0] == ',' && p[1] == type && p[2] == '='))
		p++;
	if (*p == '\0')
		return false;
	for (p += 3; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p != ':' && *p != ',' && *p != '\0')
		return false;
	*size_r = n;
	return true;
}

/* imap_mflags_usecs - the number after 'M' in ".<uniq>." after the seconds; false if none. */
static bool imap_mflags_usecs(const char *s, long *usecs_r)
{
	if (*s++ != '.')
		return false;
	while (*s != '\0' && *s != '.' && *s != ':') {
		if (*s++ == 'M') {
			long u = 0;
			for (; *s >= '0' && *s <= '9' && u < 100000000; s++)
				u = u * 10 + (*s - '0');
			*usecs_r = u;
			return true;
		}
	}
	return false;
}

/* imap_mflags_base_cmp - compare two names up to their first ':'. */
static int imap_mflags_base_cmp(const char *a, const char *b)
{
	while (*a == *b && *a != ':' && *a != '\0')
		a++, b++;
	if ((*a == '\0' || *a == ':') && (*b == '\0' || *b == ':'))
		return 0;
	return (unsigned char)*a - (unsigned char)*b;
}

int imap_mflags_sort_cmp(const char *a, const char *b)
{
	unsigned long long sa = 0, sb = 0;
	long ua, ub;

	for (; *a >= '0' && *a <= '9'; a++)
		sa = sa * 10 + (unsigned)(*a - '0');
	for (; *b >= '0' && *b <= '9'; b++)
		sb = sb * 10 + (unsigned)(*b - '0');
	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (imap_mflags_usecs(a, &ua) && imap_mflags_usecs(b, &ub) && ua != ub)
		return ua < ub ? -1 : 1;
	return imap_mflags_base_cmp(a, b);
}

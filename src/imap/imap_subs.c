/* imap_subs - Dovecot's subscriptions file (see imap_subs.h). */
#include "imap/imap_subs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_dotlock.h"
#include "imap/imap_mutf7.h"
#include "util/file.h"
#include "util/xalloc.h"

#define IMAP_SUBS_HEADER "V\t2\n\n"
#define IMAP_SUBS_LOCK_TIMEOUT 120 /* SUBSCRIPTION_FILE_LOCK_TIMEOUT */
#define IMAP_SUBS_LOCK_STALE 30    /* SUBSCRIPTION_FILE_CHANGE_TIMEOUT */
#define IMAP_SUBS_FILE_MAX (4u << 20)

/* A growing string. */
struct imap_subs_str {
	char *s;
	size_t len, alloc;
};

/* imap_subs_cat - append n octets. */
static void imap_subs_cat(struct imap_subs_str *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->alloc) {
		b->alloc = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->alloc);
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* imap_subs_push - append a string to a growing array of strings. */
static void imap_subs_push(char ***arr, size_t *count, size_t *alloc, char *str)
{
	if (*count == *alloc) {
		*alloc = *alloc == 0 ? 16 : *alloc * 2;
		*arr = xrealloc(*arr, *alloc * sizeof(**arr));
	}
	(*arr)[(*count)++] = str;
}

void imap_subs_clear(struct imap_subs *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->names[i]);
	for (size_t i = 0; i < s->nraw; i++)
		free(s->raw[i]);
	free(s->names);
	free(s->raw);
	memset(s, 0, sizeof(*s));
}

/* imap_subs_unescape - undo Dovecot's tab escaping of one level; -1 if it makes a NUL. */
static int imap_subs_unescape(const char *p, size_t n, struct imap_subs_str *out)
{
	static const char from[] = "1trn", to[] = "\001\t\r\n";

	for (size_t i = 0; i < n; i++) {
		const char *k = p[i] == '\001' && i + 1 < n ? strchr(from, p[i + 1]) : NULL;
		if (p[i] == '\001' && i + 1 < n && p[i + 1] == '0')
			return -1;
		if (k != NULL && *k != '\0') {
			imap_subs_cat(out, &to[k - from], 1);
			i++;
		} else {
			imap_subs_cat(out, p + i, 1);
		}
	}
	return 0;
}

/* imap_subs_level - one on-disk level (mUTF-7) appended to name as UTF-8; -1 if it cannot be. */
static int imap_subs_level(const char *lvl, size_t n, bool first, struct imap_subs_str *name)
{
	char dec[IMAP_MUTF7_DECODE_MAX(1024)];
	const char *err;
	size_t dlen;

	if (n == 0 || n > 1024 || imap_mutf7_decode(lvl, n, dec, sizeof(dec), &dlen, &err) < 0 ||
	    memchr(dec, '/', dlen) != NULL)
		return -1;
	if (!first)
		imap_subs_cat(name, "/", 1);
	if (first && dlen == 5 && strncasecmp(dec, "INBOX", 5) == 0)
		memcpy(dec, "INBOX", 5);
	imap_subs_cat(name, dec, dlen);
	return 0;
}

/* imap_subs_v2_name - a version 2 line to a UTF-8 name; NULL if it is none. */
static char *imap_subs_v2_name(const char *line, size_t len)
{
	struct imap_subs_str name = { 0 }, lvl = { 0 };
	size_t pos = 0;
	int ret = 0;

	while (ret == 0) {
		const char *tab = memchr(line + pos, '\t', len - pos);
		size_t n = tab != NULL ? (size_t)(tab - line) - pos : len - pos;
		lvl.len = 0;
		imap_subs_cat(&lvl, "", 0);
		ret = imap_subs_unescape(line + pos, n, &lvl) < 0 ? -1
		      : imap_subs_level(lvl.s, lvl.len, pos == 0, &name);
		if (tab == NULL)
			break;
		pos += n + 1;
	}
	free(lvl.s);
	if (ret < 0) {
		free(name.s);
		return NULL;
	}
	return name.s;
}

/* imap_subs_v1_name - a version 1 line ("Projects.2026") to a UTF-8 name; NULL if it is none. */
static char *imap_subs_v1_name(const char *line, size_t len)
{
	struct imap_subs_str name = { 0 };
	size_t pos = 0;

	if (len > 0 && line[len - 1] == '.')
		len--; /* a trailing separator: old Dovecot wrote some */
	while (len > 0) {
		const char *dot = memchr(line + pos, '.', len - pos);
		size_t n = dot != NULL ? (size_t)(dot - line) - pos : len - pos;
		if (memchr(line + pos, '\t', n) != NULL ||
		    imap_subs_level(line + pos, n, pos == 0, &name) < 0) {
			free(name.s);
			return NULL;
		}
		if (dot == NULL)
			break;
		pos += n + 1;
	}
	return name.s;
}

/* imap_subs_index - where name is in s->names, or -1. */
static long imap_subs_index(const struct imap_subs *s, const char *name)
{
	size_t n = strcspn(name, "/");
	bool inbox = n == 5 && strncasecmp(name, "INBOX", 5) == 0;

	for (size_t i = 0; i < s->count; i++) {
		const char *c = s->names[i];
		if (inbox ? strncmp(c, "INBOX", 5) == 0 && strcmp(c + 5, name + 5) == 0
			  : strcmp(c, name) == 0)
			return (long)i;
	}
	return -1;
}

/* imap_subs_line - one line of either version. */
static void imap_subs_line(struct imap_subs *s, const char *line, size_t len, bool v2)
{
	char *name;

	if (len == 0 || memchr(line, '\0', len) != NULL)
		return;
	name = v2 ? imap_subs_v2_name(line, len) : imap_subs_v1_name(line, len);
	if (name == NULL && v2)
		imap_subs_push(&s->raw, &s->nraw, &s->raw_alloc, xstrndup(line, len));
	else if (name != NULL && (name[0] == '\0' || imap_subs_index(s, name) >= 0))
		free(name);
	else if (name != NULL)
		imap_subs_push(&s->names, &s->count, &s->alloc, name);
}

void imap_subs_parse(const char *buf, size_t len, struct imap_subs *s)
{
	size_t pos = 0, hlen = strlen(IMAP_SUBS_HEADER);
	bool v2 = len >= hlen && memcmp(buf, IMAP_SUBS_HEADER, hlen) == 0;

	imap_subs_clear(s);
	if (v2)
		pos = hlen;
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += llen + 1;
		while (llen > 0 && line[llen - 1] == '\r')
			llen--;
		imap_subs_line(s, line, llen, v2);
	}
}

/* imap_subs_escape_level - mUTF-7 of one UTF-8 level, tab-escaped, appended; -1 on bad UTF-8. */
static int imap_subs_escape_level(const char *lvl, size_t n, struct imap_subs_str *out)
{
	size_t size = IMAP_MUTF7_ENCODE_MAX(n), elen;
	char *enc = xmalloc(size);
	const char *err;

	if (imap_mutf7_encode(lvl, n, enc, size, &elen, &err) < 0) {
		free(enc);
		return -1;
	}
	for (size_t i = 0; i < elen; i++) /* mUTF-7 is printable ASCII: nothing to escape */
		imap_subs_cat(out, enc + i, 1);
	free(enc);
	return 0;
}

/* imap_subs_put_name - one name as a version 2 line. */
static int imap_subs_put_name(const char *name, struct imap_subs_str *out)
{
	for (const char *p = name;;) {
		size_t n = strcspn(p, "/");
		if (imap_subs_escape_level(p, n, out) < 0)
			return -1;
		if (p[n] == '\0')
			break;
		imap_subs_cat(out, "\t", 1);
		p += n + 1;
	}
	imap_subs_cat(out, "\n", 1);
	return 0;
}

char *imap_subs_format(const struct imap_subs *s, size_t *len_r)
{
	struct imap_subs_str out = { 0 };

	imap_subs_cat(&out, IMAP_SUBS_HEADER, strlen(IMAP_SUBS_HEADER));
	for (size_t i = 0; i < s->count; i++) {
		if (imap_subs_put_name(s->names[i], &out) < 0) {
			free(out.s);
			return NULL;
		}
	}
	for (size_t i = 0; i < s->nraw; i++) {
		imap_subs_cat(&out, s->raw[i], strlen(s->raw[i]));
		imap_subs_cat(&out, "\n", 1);
	}
	*len_r = out.len;
	return out.s;
}

bool imap_subs_has(const struct imap_subs *s, const char *name)
{
	return imap_subs_index(s, name) >= 0;
}

bool imap_subs_add(struct imap_subs *s, const char *name)
{
	char *copy;

	if (name[0] == '\0' || strpbrk(name, "\r\n") != NULL || imap_subs_index(s, name) >= 0)
		return false;
	copy = xstrdup(name);
	if (strcspn(copy, "/") == 5 && strncasecmp(copy, "INBOX", 5) == 0)
		memcpy(copy, "INBOX", 5);
	imap_subs_push(&s->names, &s->count, &s->alloc, copy);
	return true;
}

bool imap_subs_remove(struct imap_subs *s, const char *name)
{
	long i = imap_subs_index(s, name);

	if (i < 0)
		return false;
	free(s->names[i]);
	memmove(&s->names[i], &s->names[i + 1], (s->count - (size_t)i - 1) * sizeof(*s->names));
	s->count--;
	return true;
}

int imap_subs_read(const char *root, struct imap_subs *s, char **error_r)
{
	char *path = xasprintf("%s/" IMAP_SUBS_NAME, root), *buf;
	size_t len;

	imap_subs_clear(s);
	buf = file_read_small(path, IMAP_SUBS_FILE_MAX, &len);
	if (buf == NULL) {
		int ret = errno == ENOENT ? 0 : -1;
		if (ret < 0)
			*error_r = xasprintf("read %s: %s", path, strerror(errno));
		free(path);
		return ret;
	}
	imap_subs_parse(buf, len, s);
	free(buf);
	free(path);
	return 0;
}

int imap_subs_write(const char *root, const struct imap_subs *s, char **error_r)
{
	struct imap_dotlock_settings set = {
		.timeout = IMAP_SUBS_LOCK_TIMEOUT, .stale_timeout = IMAP_SUBS_LOCK_STALE, .keep_fd = true,
	};
	char *path = xasprintf("%s/" IMAP_SUBS_NAME, root), *text;
	struct imap_dotlock *lock = NULL;
	size_t len;
	int ret = -1;

	if ((text = imap_subs_format(s, &len)) == NULL) {
		*error_r = xstrdup("a subscribed name is not valid UTF-8");
	} else if (imap_dotlock_create(path, &set, &lock, error_r) == 0) {
		*error_r = xasprintf("%s.lock: timed out waiting for the lock", path);
	} else if (lock != NULL && file_write_all(lock->fd, text, len) < 0) {
		*error_r = xasprintf("write %s.lock: %s", path, strerror(errno));
		imap_dotlock_delete(&lock);
	} else if (lock != NULL) {
		ret = imap_dotlock_replace(&lock, error_r);
	}
	free(text);
	free(path);
	return ret;
}

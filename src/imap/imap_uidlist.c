/* imap_uidlist - dovecot-uidlist parse, format and lookup (see imap_uidlist.h). */
#include "imap/imap_uidlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/xalloc.h"

#define IMAP_UIDLIST_UID_MAX 0xfffffffeu /* (uint32_t)-1 is refused, as Dovecot does */

/* A cursor over the file's complete lines. */
struct imap_uidlist_cursor {
	const char *buf;
	size_t len, pos;
};

/* imap_uidlist_next_line - the next '\n'-terminated line without "\r\n"; NULL at the end. */
static const char *imap_uidlist_next_line(struct imap_uidlist_cursor *c, size_t *len_r)
{
	const char *line = c->buf + c->pos, *nl;

	if (c->pos >= c->len || (nl = memchr(line, '\n', c->len - c->pos)) == NULL)
		return NULL; /* an unterminated last line is an append in progress */
	*len_r = (size_t)(nl - line);
	c->pos += *len_r + 1;
	while (*len_r > 0 && line[*len_r - 1] == '\r')
		(*len_r)--;
	return line;
}

/* imap_uidlist_span - octets of s[0..len) before the first c (len if none). */
static size_t imap_uidlist_span(const char *s, size_t len, char c)
{
	const char *p = memchr(s, c, len);

	return p != NULL ? (size_t)(p - s) : len;
}

/* imap_uidlist_hash_name - FNV-1a of a base name. */
static uint32_t imap_uidlist_hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/*
 * imap_uidlist_name_ok - no control characters in a base name: no Maildir
 * name has them, and a CR at its end would be lost when the file is read
 * back (line ends are stripped of CRs).
 */
static bool imap_uidlist_name_ok(const char *name, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	}
	return true;
}

/* imap_uidlist_base_len - octets of name before the first ':'. */
static size_t imap_uidlist_base_len(const char *name)
{
	return strcspn(name, ":");
}

/* imap_uidlist_slot - the hash slot holding base name (len), or the empty slot where it goes. */
static size_t imap_uidlist_slot(const struct imap_uidlist *ul, const char *name, size_t len)
{
	size_t mask = ul->hash_size - 1, i = imap_uidlist_hash_name(name, len) & mask;

	while (ul->hash[i] != 0) {
		const char *n = ul->recs[ul->hash[i] - 1].name;
		if (strncmp(n, name, len) == 0 && n[len] == '\0')
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

/* imap_uidlist_rehash - rebuild the table for the current records. */
static void imap_uidlist_rehash(struct imap_uidlist *ul)
{
	size_t size = 64;

	while (size <= 2 * ul->count)
		size *= 2;
	free(ul->hash);
	ul->hash = xcalloc(size, sizeof(*ul->hash));
	ul->hash_size = size;
	for (size_t i = 0; i < ul->count; i++) {
		const char *n = ul->recs[i].name;
		ul->hash[imap_uidlist_slot(ul, n, strlen(n))] = (uint32_t)i + 1;
	}
}

/* imap_uidlist_push - append a record (ascending UID) and index it; takes name and ext. */
static void imap_uidlist_push(struct imap_uidlist *ul, uint32_t uid, char *name, char *ext)
{
	if (ul->count == ul->alloc) {
		ul->alloc = ul->alloc == 0 ? 64 : ul->alloc * 2;
		ul->recs = xrealloc(ul->recs, ul->alloc * sizeof(*ul->recs));
	}
	ul->recs[ul->count].uid = uid;
	ul->recs[ul->count].name = name;
	ul->recs[ul->count].ext = ext;
	ul->count++;
	if (ul->hash_size <= 2 * ul->count)
		imap_uidlist_rehash(ul);
	else
		ul->hash[imap_uidlist_slot(ul, name, strlen(name))] = (uint32_t)ul->count;
	if (ul->next_uid <= uid)
		ul->next_uid = uid + 1;
}

void imap_uidlist_init(struct imap_uidlist *ul)
{
	memset(ul, 0, sizeof(*ul));
	ul->next_uid = 1;
}

void imap_uidlist_init_new(struct imap_uidlist *ul, uint32_t uidvalidity, const uint8_t guid[16])
{
	imap_uidlist_init(ul);
	ul->version = 3;
	ul->uidvalidity = uidvalidity;
	memcpy(ul->guid, guid, 16);
	ul->have_guid = true;
}

void imap_uidlist_clear(struct imap_uidlist *ul)
{
	for (size_t i = 0; i < ul->count; i++) {
		free(ul->recs[i].name);
		free(ul->recs[i].ext);
	}
	free(ul->recs);
	free(ul->hash);
	free(ul->hdr_ext);
	imap_uidlist_init(ul);
}

/* imap_uidlist_number - decimal digits at s[*i] (at least one) into a uint32; -1 if none or too big. */
static int imap_uidlist_number(const char *s, size_t len, size_t *i, uint32_t *n_r)
{
	uint64_t n = 0;
	size_t start = *i;

	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		n = n * 10 + (uint64_t)(s[*i] - '0');
		if (n > 0xffffffffu)
			return -1;
		(*i)++;
	}
	if (*i == start)
		return -1;
	*n_r = (uint32_t)n;
	return 0;
}

/* imap_uidlist_guid - exactly 32 hex digits into 16 octets. */
static int imap_uidlist_guid(const char *s, size_t len, uint8_t guid[16])
{
	if (len != 32)
		return -1;
	for (size_t i = 0; i < 16; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		guid[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* imap_uidlist_append_field - add "field" to a space-separated string. */
static void imap_uidlist_append_field(char **str, const char *field, size_t len)
{
	size_t old = *str != NULL ? strlen(*str) : 0;

	*str = xrealloc(*str, old + len + 2);
	if (old > 0)
		(*str)[old++] = ' ';
	memcpy(*str + old, field, len);
	(*str)[old + len] = '\0';
}

/* imap_uidlist_hdr_field - one v3 header field "Kvalue". */
static int imap_uidlist_hdr_field(struct imap_uidlist *ul, const char *f, size_t len,
				  const char **error_r)
{
	size_t i = 1;
	uint32_t n;

	if (f[0] == 'V' || f[0] == 'N') {
		if (imap_uidlist_number(f, len, &i, &n) < 0 || i != len) {
			*error_r = f[0] == 'V' ? "invalid UIDVALIDITY" : "invalid next UID";
			return -1;
		}
		*(f[0] == 'V' ? &ul->uidvalidity : &ul->next_uid) = n;
	} else if (f[0] == 'G') {
		if (imap_uidlist_guid(f + 1, len - 1, ul->guid) < 0) {
			*error_r = "invalid mailbox GUID";
			return -1;
		}
		ul->have_guid = true;
	} else {
		imap_uidlist_append_field(&ul->hdr_ext, f, len);
	}
	return 0;
}

/* imap_uidlist_header - the first line: version 1 or 3. */
static int imap_uidlist_header(struct imap_uidlist *ul, const char *line, size_t len,
			       const char **error_r)
{
	size_t i = 2;

	ul->next_uid = 0;
	if (len < 2 || line[0] < '0' || line[0] > '9' || line[1] != ' ') {
		*error_r = "corrupted header (invalid version number)";
		return -1;
	}
	ul->version = (unsigned)(line[0] - '0');
	if (ul->version == 1) {
		while (i < len && line[i] == ' ')
			i++;
		if (imap_uidlist_number(line, len, &i, &ul->uidvalidity) < 0 || i >= len ||
		    line[i++] != ' ' || imap_uidlist_number(line, len, &i, &ul->next_uid) < 0) {
			*error_r = "corrupted header (version 1)";
			return -1;
		}
	} else if (ul->version == 3) {
		while (i < len) {
			size_t flen = imap_uidlist_span(line + i, len - i, ' ');
			if (flen > 0 && imap_uidlist_hdr_field(ul, line + i, flen, error_r) < 0)
				return -1;
			i += flen + 1;
		}
	} else {
		*error_r = "unsupported version";
		return -1;
	}
	if (ul->uidvalidity == 0 || ul->next_uid == 0) {
		*error_r = "broken header (UIDVALIDITY or next UID is 0)";
		return -1;
	}
	return 0;
}

/* imap_uidlist_rec_ext - v3 ext fields up to the ':'; position of the name, or 0 if none. */
static size_t imap_uidlist_rec_ext(struct imap_uidlist *ul, const char *line, size_t len,
				   size_t i, char **ext_r)
{
	*ext_r = NULL;
	while (i < len && line[i] != ':') {
		size_t start = i;
		while (i < len && line[i] != ' ')
			i++;
		if (line[start] >= 'A' && line[start] <= 'Z')
			imap_uidlist_append_field(ext_r, line + start, i - start);
		else
			ul->repaired = true; /* Dovecot: "Invalid extension record, removing" */
		while (i < len && line[i] == ' ')
			i++;
	}
	if (i < len && line[i] == ':')
		i++;
	if (i >= len) {
		free(*ext_r);
		*ext_r = NULL;
		return 0;
	}
	return i;
}

/* imap_uidlist_drop_dup - an earlier record with the same base name loses (Dovecot). */
static void imap_uidlist_drop_dup(struct imap_uidlist *ul, const char *name, size_t len)
{
	size_t slot = ul->hash_size > 0 ? imap_uidlist_slot(ul, name, len) : 0;

	if (ul->hash_size == 0 || ul->hash[slot] == 0)
		return;
	struct imap_uidlist_rec *old = &ul->recs[ul->hash[slot] - 1];
	free(old->name);
	free(old->ext);
	memmove(old, old + 1, (size_t)(ul->recs + ul->count - old - 1) * sizeof(*old));
	ul->count--;
	imap_uidlist_rehash(ul);
	ul->repaired = true;
}

/* imap_uidlist_record - one record line after the header. */
static int imap_uidlist_record(struct imap_uidlist *ul, const char *line, size_t len,
			       uint32_t hdr_next, const char **error_r)
{
	uint32_t uid, prev = ul->count > 0 ? ul->recs[ul->count - 1].uid : 0;
	size_t i = 0, blen;
	char *ext = NULL;

	*error_r = "invalid data";
	if (imap_uidlist_number(line, len, &i, &uid) < 0 || uid == 0 || i >= len || line[i] != ' ')
		return -1;
	if (uid <= prev || uid > IMAP_UIDLIST_UID_MAX || (ul->version == 1 && uid >= hdr_next)) {
		*error_r = uid <= prev ? "UIDs not ordered" : "UID too high";
		return -1;
	}
	while (i < len && line[i] == ' ')
		i++;
	if (ul->version == 3 && (i = imap_uidlist_rec_ext(ul, line, len, i, &ext)) == 0) {
		*error_r = "invalid extended fields";
		return -1;
	}
	if (i >= len || memchr(line + i, '/', len - i) != NULL) {
		free(ext);
		*error_r = i >= len ? "empty file name" : "broken file name";
		return -1;
	}
	blen = imap_uidlist_span(line + i, len - i, ':');
	if (!imap_uidlist_name_ok(line + i, blen)) {
		free(ext);
		*error_r = "broken file name";
		return -1;
	}
	if (blen == 0) { /* ":..." has no base name: no file can match it */
		free(ext);
		ul->repaired = true;
		return 0;
	}
	imap_uidlist_drop_dup(ul, line + i, blen);
	imap_uidlist_push(ul, uid, xstrndup(line + i, blen), ext);
	return 0;
}

/* imap_uidlist_salvage - after a broken line: next UID above every UID still in the file. */
static void imap_uidlist_salvage(struct imap_uidlist *ul, const char *buf, size_t len, size_t pos)
{
	for (size_t i = pos; i < len;) {
		uint32_t n;
		if (imap_uidlist_number(buf, len, &i, &n) == 0 && n < 0xffffffffu && n >= ul->next_uid)
			ul->next_uid = n + 1;
		const char *nl = memchr(buf + i, '\n', len - i);
		i = nl == NULL ? len : (size_t)(nl - buf) + 1;
	}
}

int imap_uidlist_parse(const char *buf, size_t len, struct imap_uidlist *ul, const char **error_r)
{
	struct imap_uidlist_cursor c = { buf, len, 0 };
	const char *line;
	size_t llen, start;
	uint32_t hdr_next;

	imap_uidlist_clear(ul);
	if ((line = imap_uidlist_next_line(&c, &llen)) == NULL) {
		*error_r = "empty file";
		return -1;
	}
	if (memchr(line, '\0', llen) != NULL ||
	    imap_uidlist_header(ul, line, llen, error_r) < 0) {
		if (memchr(line, '\0', llen) != NULL)
			*error_r = "NUL in header";
		ul->next_uid = 1;
		return -1;
	}
	hdr_next = ul->next_uid;
	for (start = c.pos; (line = imap_uidlist_next_line(&c, &llen)) != NULL; start = c.pos) {
		if (memchr(line, '\0', llen) != NULL)
			*error_r = "NUL in a record";
		if (memchr(line, '\0', llen) != NULL ||
		    imap_uidlist_record(ul, line, llen, hdr_next, error_r) < 0) {
			imap_uidlist_salvage(ul, buf, len, start);
			return -1;
		}
	}
	return 0;
}

int imap_uidlist_parse_more(const char *buf, size_t len, struct imap_uidlist *ul,
			    const char **error_r)
{
	struct imap_uidlist_cursor c = { buf, len, 0 };
	const char *line;
	size_t llen;

	while ((line = imap_uidlist_next_line(&c, &llen)) != NULL) {
		if (memchr(line, '\0', llen) != NULL) {
			*error_r = "NUL in a record";
			return -1;
		}
		if (imap_uidlist_record(ul, line, llen, ul->next_uid, error_r) < 0)
			return -1;
	}
	return 0;
}

/* imap_uidlist_hex_guid - 32 lowercase hex digits and a NUL. */
static void imap_uidlist_hex_guid(const uint8_t guid[16], char out[33])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < 16; i++) {
		out[2 * i] = digits[guid[i] >> 4];
		out[2 * i + 1] = digits[guid[i] & 15];
	}
	out[32] = '\0';
}

/* imap_uidlist_recs_size - an upper bound of the formatted records' length. */
static size_t imap_uidlist_recs_size(const struct imap_uidlist *ul, size_t from)
{
	size_t n = 1;

	for (size_t i = from; i < ul->count; i++)
		n += 16 + strlen(ul->recs[i].name) + (ul->recs[i].ext ? strlen(ul->recs[i].ext) : 0);
	return n;
}

/* imap_uidlist_put_recs - format records [from, count) at out; octets written. */
static size_t imap_uidlist_put_recs(const struct imap_uidlist *ul, size_t from, char *out)
{
	size_t o = 0;

	for (size_t i = from; i < ul->count; i++) {
		const struct imap_uidlist_rec *r = &ul->recs[i];
		o += (size_t)sprintf(out + o, "%u%s%s :%s\n", r->uid, r->ext != NULL ? " " : "",
				     r->ext != NULL ? r->ext : "", r->name);
	}
	out[o] = '\0';
	return o;
}

char *imap_uidlist_format_recs(const struct imap_uidlist *ul, size_t from, size_t *len_r)
{
	char *out = xmalloc(imap_uidlist_recs_size(ul, from));

	*len_r = imap_uidlist_put_recs(ul, from, out);
	return out;
}

char *imap_uidlist_format(const struct imap_uidlist *ul, size_t *len_r)
{
	size_t hdr = 80 + (ul->hdr_ext != NULL ? strlen(ul->hdr_ext) : 0);
	char *out = xmalloc(hdr + imap_uidlist_recs_size(ul, 0)), guid[33];
	int o;

	imap_uidlist_hex_guid(ul->guid, guid);
	o = sprintf(out, "3 V%u N%u%s%s%s%s\n", ul->uidvalidity, ul->next_uid,
		    ul->have_guid ? " G" : "", ul->have_guid ? guid : "",
		    ul->hdr_ext != NULL ? " " : "", ul->hdr_ext != NULL ? ul->hdr_ext : "");
	*len_r = (size_t)o + imap_uidlist_put_recs(ul, 0, out + o);
	return out;
}

const struct imap_uidlist_rec *imap_uidlist_find(const struct imap_uidlist *ul, const char *name)
{
	size_t slot;

	if (ul->hash_size == 0)
		return NULL;
	slot = imap_uidlist_slot(ul, name, imap_uidlist_base_len(name));
	return ul->hash[slot] != 0 ? &ul->recs[ul->hash[slot] - 1] : NULL;
}

const struct imap_uidlist_rec *imap_uidlist_find_uid(const struct imap_uidlist *ul, uint32_t uid)
{
	size_t lo = 0, hi = ul->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ul->recs[mid].uid == uid)
			return &ul->recs[mid];
		if (ul->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int imap_uidlist_add(struct imap_uidlist *ul, const char *name, uint32_t *uid_r)
{
	size_t blen = imap_uidlist_base_len(name);

	if (blen == 0 || memchr(name, '/', blen) != NULL || !imap_uidlist_name_ok(name, blen) ||
	    ul->next_uid > IMAP_UIDLIST_UID_MAX || imap_uidlist_find(ul, name) != NULL)
		return -1;
	*uid_r = ul->next_uid;
	imap_uidlist_push(ul, ul->next_uid, xstrndup(name, blen), NULL);
	return 0;
}

const char *imap_uidlist_get_ext(const struct imap_uidlist_rec *rec, char key, size_t *len_r)
{
	for (const char *p = rec->ext; p != NULL && *p != '\0';) {
		size_t flen = strcspn(p, " ");
		if (p[0] == key) {
			*len_r = flen - 1;
			return p + 1;
		}
		p += flen;
		p += *p == ' ';
	}
	return NULL;
}

void imap_uidlist_set_ext(struct imap_uidlist *ul, uint32_t uid, char key, const char *value)
{
	struct imap_uidlist_rec *rec = (struct imap_uidlist_rec *)imap_uidlist_find_uid(ul, uid);
	char *ext = NULL;

	if (rec == NULL || key < 'A' || key > 'Z')
		return;
	for (const char *p = rec->ext; p != NULL && *p != '\0';) {
		size_t flen = strcspn(p, " ");
		if (p[0] != key)
			imap_uidlist_append_field(&ext, p, flen);
		p += flen;
		p += *p == ' ';
	}
	if (value != NULL) {
		char *f = xasprintf("%c%s", key, value);
		f[strcspn(f, " \n")] = '\0';
		imap_uidlist_append_field(&ext, f, strlen(f));
		free(f);
	}
	free(rec->ext);
	rec->ext = ext;
}

size_t imap_uidlist_retain(struct imap_uidlist *ul,
			   bool (*keep_cb)(const struct imap_uidlist_rec *rec, void *ctx), void *ctx)
{
	size_t o = 0, dropped;

	for (size_t i = 0; i < ul->count; i++) {
		if (keep_cb(&ul->recs[i], ctx)) {
			ul->recs[o++] = ul->recs[i];
		} else {
			free(ul->recs[i].name);
			free(ul->recs[i].ext);
		}
	}
	dropped = ul->count - o;
	ul->count = o;
	imap_uidlist_rehash(ul);
	return dropped;
}

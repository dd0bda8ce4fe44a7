/* dkim_tags - RFC 6376 3.2 tag lists, base64 with FWS, result names. */
#include "dkim/dkim.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* dkim_result_name - the RFC 8601 name of r. */
const char *dkim_result_name(enum dkim_result r)
{
	switch (r) {
	case DKIM_NONE: return "none";
	case DKIM_PASS: return "pass";
	case DKIM_FAIL: return "fail";
	case DKIM_NEUTRAL: return "neutral";
	case DKIM_POLICY: return "policy";
	case DKIM_TEMPERROR: return "temperror";
	case DKIM_PERMERROR: return "permerror";
	}
	return "permerror";
}

/* dkim_tags_is_ws - whitespace as FWS sees it (a line end counts: folds are not re-checked here). */
static bool dkim_tags_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* dkim_tags_is_alpha - ASCII letter. */
static bool dkim_tags_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* dkim_tags_skip_ws - index of the first non-whitespace byte at or after pos. */
static size_t dkim_tags_skip_ws(const char *s, size_t len, size_t pos)
{
	while (pos < len && dkim_tags_is_ws((unsigned char)s[pos]))
		pos++;
	return pos;
}

/* dkim_tags_name - tag-name = ALPHA *(ALPHA / DIGIT / "_") at pos; its end, or pos when none. */
static size_t dkim_tags_name(const char *s, size_t len, size_t pos)
{
	if (pos >= len || !dkim_tags_is_alpha((unsigned char)s[pos]))
		return pos;
	pos++;
	while (pos < len && (dkim_tags_is_alpha((unsigned char)s[pos]) ||
			     (s[pos] >= '0' && s[pos] <= '9') || s[pos] == '_'))
		pos++;
	return pos;
}

/* dkim_tags_value - scan a tag-value from pos to ';' or the end; -1 on a control byte. */
static int dkim_tags_value(const char *s, size_t len, size_t *pos, struct dkim_tag *tag_r)
{
	size_t p = *pos, end;
	for (; p < len && s[p] != ';'; p++) {
		unsigned char c = (unsigned char)s[p];
		if ((c < 0x21 && !dkim_tags_is_ws(c)) || c == 0x7f)
			return -1;
	}
	end = p;
	while (end > *pos && dkim_tags_is_ws((unsigned char)s[end - 1]))
		end--;
	tag_r->value = s + *pos;
	tag_r->value_len = end - *pos;
	*pos = p;
	return 0;
}

/* dkim_tags_add - append tag to t unless its name is already there or t is full. */
static int dkim_tags_add(struct dkim_tags *t, const struct dkim_tag *tag, const char **error_r)
{
	for (size_t k = 0; k < t->n; k++) {
		if (t->tag[k].name_len == tag->name_len &&
		    memcmp(t->tag[k].name, tag->name, tag->name_len) == 0) {
			*error_r = "duplicate tag";
			return -1;
		}
	}
	if (t->n == DKIM_TAGS_MAX) {
		*error_r = "too many tags";
		return -1;
	}
	t->tag[t->n++] = *tag;
	return 0;
}

/* dkim_tags_spec - parse one tag-spec at *pos (whitespace skipped) up to and including its ';'. */
static int dkim_tags_spec(const char *s, size_t len, size_t *pos, struct dkim_tags *t,
			  const char **error_r)
{
	struct dkim_tag tag;
	size_t p = *pos, e = dkim_tags_name(s, len, p);

	if (e == p) {
		*error_r = "bad tag name";
		return -1;
	}
	tag.name = s + p;
	tag.name_len = e - p;
	p = dkim_tags_skip_ws(s, len, e);
	if (p >= len || s[p] != '=') {
		*error_r = "tag without '='";
		return -1;
	}
	p = dkim_tags_skip_ws(s, len, p + 1);
	if (dkim_tags_value(s, len, &p, &tag) < 0) {
		*error_r = "control character in tag value";
		return -1;
	}
	if (dkim_tags_add(t, &tag, error_r) < 0)
		return -1;
	*pos = p < len ? p + 1 : p;
	return 0;
}

/* dkim_tags_parse - split a tag list into tags (borrowed pointers into text). */
int dkim_tags_parse(const char *text, size_t len, struct dkim_tags *tags_r, const char **error_r)
{
	size_t pos = 0;

	tags_r->n = 0;
	for (;;) {
		pos = dkim_tags_skip_ws(text, len, pos);
		if (pos >= len)
			return 0;
		if (text[pos] == ';') { /* an empty tag-spec: tolerated, as dkimpy does */
			pos++;
			continue;
		}
		if (dkim_tags_spec(text, len, &pos, tags_r, error_r) < 0)
			return -1;
	}
}

/* dkim_tags_get - the tag called name, or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t, const char *name)
{
	size_t n = strlen(name);
	for (size_t k = 0; k < t->n; k++) {
		if (t->tag[k].name_len == n && memcmp(t->tag[k].name, name, n) == 0)
			return &t->tag[k];
	}
	return NULL;
}

/* dkim_base64_val - the 6-bit value of a base64 character, -1 for anything else. */
static int dkim_base64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* dkim_base64_decode - decode base64 with FWS; at most 2 '=' and only at the end; -1 on bad data or > max. */
int dkim_base64_decode(const char *s, size_t len, size_t max, uint8_t **out_r, size_t *out_len_r)
{
	uint8_t *out = xmalloc(len / 4 * 3 + 3);
	size_t n = 0, chars = 0, pads = 0;
	uint32_t acc = 0;

	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		int v = dkim_base64_val(c);
		if (dkim_tags_is_ws(c))
			continue;
		if (c == '=' && chars > 0 && ++pads <= 2)
			continue;
		if (v < 0 || pads > 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		if (++chars % 4 == 0) {
			out[n++] = (uint8_t)(acc >> 16);
			out[n++] = (uint8_t)(acc >> 8);
			out[n++] = (uint8_t)acc;
		}
	}
	if (chars % 4 == 1 || (pads > 0 && (chars + pads) % 4 != 0))
		goto bad;
	if (chars % 4 == 2)
		out[n++] = (uint8_t)(acc >> 4);
	if (chars % 4 == 3) {
		out[n++] = (uint8_t)(acc >> 10);
		out[n++] = (uint8_t)(acc >> 2);
	}
	if (n > max)
		goto bad;
	*out_r = out;
	*out_len_r = n;
	return 0;
bad:
	free(out);
	return -1;
}

/* dkim_base64_encode - base64 of data, NUL-terminated, malloc'd. */
char *dkim_base64_encode(const uint8_t *data, size_t len)
{
	char *out = xmalloc((len + 2) / 3 * 4 + 1);
	if (len > 0)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	else
		out[0] = '\0';
	return out;
}

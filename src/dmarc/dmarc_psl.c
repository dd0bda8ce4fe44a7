/*
 * dmarc_psl - the Public Suffix List as an open-addressing hash set of rule
 * names, each with the kinds of rule it carries, and the organizational
 * domain of RFC 7489 3.2 over it (the algorithm of publicsuffix.org/list).
 */
#include "dmarc/dmarc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc/dmarc_idna.h"
#include "util/file.h"
#include "util/xalloc.h"

#define DMARC_PSL_FILE_MAX (16u << 20)
#define DMARC_PSL_MAX_LABELS 128

enum dmarc_psl_kind {
	DMARC_PSL_NORMAL = 1,    /* "name" */
	DMARC_PSL_WILDCARD = 2,  /* "*.name" */
	DMARC_PSL_EXCEPTION = 4, /* "!name" */
};

/* One rule name and the kinds of rule written for it. */
struct dmarc_psl_slot {
	char *name;
	unsigned kinds;
};

struct dmarc_psl {
	struct dmarc_psl_slot *slots;
	size_t cap, count; /* cap a power of two, count <= cap / 2 */
};

/* dmarc_psl_hash - FNV-1a over the name. */
static uint64_t dmarc_psl_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* dmarc_psl_find - the slot holding name, or the empty one where it would go. */
static struct dmarc_psl_slot *dmarc_psl_find(const struct dmarc_psl *psl, const char *name, size_t n)
{
	size_t i = (size_t)dmarc_psl_hash(name, n) & (psl->cap - 1);

	while (psl->slots[i].name != NULL &&
	       (strncmp(psl->slots[i].name, name, n) != 0 || psl->slots[i].name[n] != '\0'))
		i = (i + 1) & (psl->cap - 1);
	return &psl->slots[i];
}

/* dmarc_psl_grow - double the table, rehashing every name. */
static void dmarc_psl_grow(struct dmarc_psl *psl)
{
	struct dmarc_psl old = *psl;

	psl->cap = old.cap * 2;
	psl->slots = xcalloc(psl->cap, sizeof(*psl->slots));
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].name != NULL)
			*dmarc_psl_find(psl, old.slots[i].name, strlen(old.slots[i].name)) = old.slots[i];
	free(old.slots);
}

/* dmarc_psl_add - note a rule of this kind for name (lower case, n bytes). */
static void dmarc_psl_add(struct dmarc_psl *psl, const char *name, size_t n, unsigned kind)
{
	struct dmarc_psl_slot *slot;

	if ((psl->count + 1) * 2 > psl->cap)
		dmarc_psl_grow(psl);
	slot = dmarc_psl_find(psl, name, n);
	if (slot->name == NULL) {
		slot->name = xstrndup(name, n);
		psl->count++;
	}
	slot->kinds |= kind;
}

/* dmarc_psl_has - is there a rule of this kind for name? */
static bool dmarc_psl_has(const struct dmarc_psl *psl, const char *name, unsigned kind)
{
	const struct dmarc_psl_slot *slot;

	if (psl == NULL || psl->count == 0)
		return false;
	slot = dmarc_psl_find(psl, name, strlen(name));
	return slot->name != NULL && (slot->kinds & kind) != 0;
}

/*
 * dmarc_psl_normalize - lower-case name (n bytes, one trailing dot
 * dropped) into out; false if empty, too long, or with an empty label.
 */
static bool dmarc_psl_normalize(const char *name, size_t n, char out[256])
{
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DMARC_DOMAIN_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c == '\0' || (c == '.' && (i + 1 == n || name[i + 1] == '.')))
			return false;
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	out[n] = '\0';
	return true;
}

/* dmarc_psl_rule - one rule line's first word into the set, and its A-label form when it is UTF-8. */
static void dmarc_psl_rule(struct dmarc_psl *psl, const char *w, size_t n)
{
	unsigned kind = DMARC_PSL_NORMAL;
	char name[256], alabel[256];

	if (n >= 1 && w[0] == '!') {
		kind = DMARC_PSL_EXCEPTION;
		w++, n--;
	} else if (n >= 2 && w[0] == '*' && w[1] == '.') {
		kind = DMARC_PSL_WILDCARD;
		w += 2, n -= 2;
	}
	if (memchr(w, '*', n) != NULL || memchr(w, '!', n) != NULL || !dmarc_psl_normalize(w, n, name))
		return; /* wildcards only leftmost; the default rule "*" is built in */
	n = strlen(name);
	dmarc_psl_add(psl, name, n, kind);
	if (dmarc_idna_to_ascii(name, n, alabel) == 0 && strcmp(alabel, name) != 0)
		dmarc_psl_add(psl, alabel, strlen(alabel), kind);
}

struct dmarc_psl *dmarc_psl_parse(const char *text, size_t len)
{
	struct dmarc_psl *psl = xcalloc(1, sizeof(*psl));
	size_t pos = 0;

	psl->cap = 64;
	psl->slots = xcalloc(psl->cap, sizeof(*psl->slots));
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos, w = 0;

		pos += n + 1;
		while (w < n && line[w] != ' ' && line[w] != '\t' && line[w] != '\r')
			w++;
		if (w > 0 && !(w >= 2 && line[0] == '/' && line[1] == '/'))
			dmarc_psl_rule(psl, line, w);
	}
	return psl;
}

struct dmarc_psl *dmarc_psl_load(const char *path, char **error_r)
{
	struct dmarc_psl *psl;
	size_t len;
	char *text = file_read_small(path, DMARC_PSL_FILE_MAX, &len);

	if (text == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (len == DMARC_PSL_FILE_MAX) {
		free(text);
		*error_r = xasprintf("%s: larger than %u bytes", path, DMARC_PSL_FILE_MAX);
		return NULL;
	}
	psl = dmarc_psl_parse(text, len);
	free(text);
	if (psl->count == 0) {
		dmarc_psl_free(&psl);
		*error_r = xasprintf("%s: no rules", path);
	}
	return psl;
}

void dmarc_psl_free(struct dmarc_psl **pslp)
{
	struct dmarc_psl *psl = *pslp;

	if (psl == NULL)
		return;
	for (size_t i = 0; i < psl->cap; i++)
		free(psl->slots[i].name);
	free(psl->slots);
	free(psl);
	*pslp = NULL;
}

size_t dmarc_psl_count(const struct dmarc_psl *psl)
{
	return psl != NULL ? psl->count : 0;
}

/*
 * dmarc_psl_suffix - the index of the label where the public suffix of
 * name starts: an exception rule wins (its name less its first label), then
 * the longest normal or wildcard match, then the default rule "*" (the TLD).
 */
static size_t dmarc_psl_suffix(const struct dmarc_psl *psl, const char *name, const size_t *starts, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (dmarc_psl_has(psl, name + starts[i], DMARC_PSL_EXCEPTION))
			return i + 1;
	for (size_t i = 0; i < n; i++)
		if (dmarc_psl_has(psl, name + starts[i], DMARC_PSL_NORMAL) ||
		    (i + 1 < n && dmarc_psl_has(psl, name + starts[i + 1], DMARC_PSL_WILDCARD)))
			return i;
	return n - 1;
}

void dmarc_org_domain(const struct dmarc_psl *psl, const char *domain, char out[256])
{
	char name[256];
	size_t starts[DMARC_PSL_MAX_LABELS], n = 1, ps;

	out[0] = '\0';
	if (domain == NULL || !dmarc_psl_normalize(domain, strnlen(domain, 256), name))
		return;
	starts[0] = 0;
	for (size_t i = 0; name[i] != '\0'; i++)
		if (name[i] == '.')
			starts[n++] = i + 1; /* at most 127 labels in 253 bytes */
	ps = dmarc_psl_suffix(psl, name, starts, n);
	strcpy(out, name + starts[ps == 0 ? 0 : ps - 1]);
}

/* aliases - the alias table: address checks, hash index, changes, parser, formatter (no I/O). */
#include "addr/aliases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr/aliases_private.h"
#include "util/log.h"
#include "util/xalloc.h"

#define ALIASES_HEADER \
	"# postern aliases: ADDRESS: TARGET, TARGET, ... (managed by posternctl alias)\n"

/* ---- the hash index ---- */

/* aliases_hash - FNV-1a, case-folded. */
uint64_t aliases_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++) {
		h ^= aliases_lower((unsigned char)s[i]);
		h *= 1099511628211ull;
	}
	return h;
}

/* aliases_key_equal - key (len bytes) equals the NUL-terminated stored key. */
static bool aliases_key_equal(const char *key, size_t len, const char *stored, bool fold)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char a = (unsigned char)key[i];
		if (stored[i] == '\0' || (fold ? aliases_lower(a) : a) != (unsigned char)stored[i])
			return false;
	}
	return stored[i] == '\0';
}

/* aliases_index_probe - linear probing from the key's hash. */
size_t aliases_index_probe(const uint32_t *slots, size_t n_slots, const char *key, size_t len,
			   bool fold, aliases_key_fn *key_cb, const void *items)
{
	size_t mask = n_slots - 1, pos = (size_t)aliases_hash(key, len) & mask;

	while (slots[pos] != 0 &&
	       !aliases_key_equal(key, len, key_cb(items, slots[pos] - 1), fold))
		pos = (pos + 1) & mask;
	return pos;
}

/* aliases_index_rebuild - hash items 0..n-1 into a new index of at least 4n slots (min 16). */
void aliases_index_rebuild(uint32_t **slots, size_t *n_slots, size_t n, aliases_key_fn *key_cb,
			   const void *items)
{
	size_t size = 16;

	while (size < 4 * (n + 1))
		size *= 2;
	free(*slots);
	*slots = xcalloc(size, sizeof(**slots));
	*n_slots = size;
	for (size_t i = 0; i < n; i++) {
		const char *key = key_cb(items, i);
		size_t pos = aliases_index_probe(*slots, size, key, strlen(key), false, key_cb,
						 items);
		(*slots)[pos] = (uint32_t)(i + 1);
	}
}

/* aliases_index_fit - grow before the index gets more than half full. */
void aliases_index_fit(uint32_t **slots, size_t *n_slots, size_t n, aliases_key_fn *key_cb,
		       const void *items)
{
	if (*slots == NULL || 2 * (n + 1) > *n_slots)
		aliases_index_rebuild(slots, n_slots, n, key_cb, items);
}

/* aliases_split - the last '@' of address, or NULL. */
const char *aliases_split(const char *address)
{
	return strrchr(address, '@');
}

/* aliases_entry_key_cb - the address of entry i. */
static const char *aliases_entry_key_cb(const void *items, size_t i)
{
	return ((const struct aliases_entry *)items)[i].address;
}

/* ---- address checks ---- */

/* aliases_check_chars - no ':', ',', white space, control character or second '@'. */
static int aliases_check_chars(const char *s, size_t len, const char **error_r)
{
	size_t ats = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || c == ':' || c == ',') {
			*error_r = "address contains ':', ',', white space or a control character";
			return -1;
		}
		ats += c == '@';
	}
	if (ats != 1) {
		*error_r = ats == 0 ? "address has no '@'" : "address has more than one '@'";
		return -1;
	}
	return 0;
}

/* aliases_check_label - one DNS label: letters, digits, '-' inside, or UTF-8 bytes. */
static bool aliases_check_label(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c >= 0x80))
			return false;
	}
	return true;
}

/* aliases_check_domain - a domain name of dot-separated labels (no address literal). */
static int aliases_check_domain(const char *s, size_t len, const char **error_r)
{
	size_t start = 0;

	if (len == 0) {
		*error_r = "address needs a domain";
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (len > ALIASES_DOMAIN_MAX || !aliases_check_label(s + start, i - start)) {
			*error_r = "invalid domain";
			return -1;
		}
		start = i + 1;
	}
	return 0;
}

/* aliases_check - validate len bytes of an address; catchall allows "@domain". */
static int aliases_check(const char *s, size_t len, bool catchall, const char **error_r)
{
	const char *at;

	if (len == 0 || len > ALIASES_ADDRESS_MAX) {
		*error_r = len ? "address too long" : "empty address";
		return -1;
	}
	if (aliases_check_chars(s, len, error_r) < 0)
		return -1;
	at = memchr(s, '@', len);
	if (at == s && !catchall) {
		*error_r = "a target needs a local part (a catch-all is no target)";
		return -1;
	}
	if (at - s > ALIASES_LOCAL_MAX) {
		*error_r = "local part too long";
		return -1;
	}
	return aliases_check_domain(at + 1, (size_t)(s + len - at - 1), error_r);
}

/* aliases_dup_lower - a copy of len bytes, lower case from offset from on. */
static char *aliases_dup_lower(const char *s, size_t len, size_t from)
{
	char *p = xstrndup(s, len);

	for (size_t i = from; i < len; i++)
		p[i] = (char)aliases_lower((unsigned char)p[i]);
	return p;
}

/* aliases_address_normalize - an alias ADDRESS, lower case. */
int aliases_address_normalize(const char *address, char **normalized_r, const char **error_r)
{
	size_t len = strlen(address);

	if (aliases_check(address, len, true, error_r) < 0)
		return -1;
	*normalized_r = aliases_dup_lower(address, len, 0);
	return 0;
}

/* aliases_target_normalize - a TARGET, its domain lower case. */
int aliases_target_normalize(const char *target, char **normalized_r, const char **error_r)
{
	size_t len = strlen(target);

	if (aliases_check(target, len, false, error_r) < 0)
		return -1;
	*normalized_r = aliases_dup_lower(target, len, (size_t)(strchr(target, '@') - target));
	return 0;
}

/* ---- the table ---- */

/* aliases_init - an empty table. */
void aliases_init(struct aliases_table *table)
{
	memset(table, 0, sizeof(*table));
}

/* aliases_entry_clear - free the strings of one entry. */
static void aliases_entry_clear(struct aliases_entry *e)
{
	for (size_t i = 0; i < e->n_targets; i++)
		free(e->targets[i]);
	free(e->targets);
	free(e->address);
	memset(e, 0, sizeof(*e));
}

/* aliases_clear_entries - drop all aliases and the index, keep the file identities. */
static void aliases_clear_entries(struct aliases_table *table)
{
	for (size_t i = 0; i < table->n; i++)
		aliases_entry_clear(&table->entries[i]);
	free(table->entries);
	free(table->slots);
	table->entries = NULL;
	table->slots = NULL;
	table->n = table->alloc = table->n_slots = 0;
}

/* aliases_free - release everything. */
void aliases_free(struct aliases_table *table)
{
	aliases_clear_entries(table);
	aliases_init(table);
}

/* aliases_slot - the index slot of address (len bytes, any case); table must have an index. */
static size_t aliases_slot(const struct aliases_table *table, const char *address, size_t len)
{
	return aliases_index_probe(table->slots, table->n_slots, address, len, true,
				   aliases_entry_key_cb, table->entries);
}

/* aliases_find - hash lookup, case-insensitive. */
const struct aliases_entry *aliases_find(const struct aliases_table *table, const char *address)
{
	size_t pos;

	if (table->n == 0 || address == NULL)
		return NULL;
	pos = aliases_slot(table, address, strlen(address));
	return table->slots[pos] ? &table->entries[table->slots[pos] - 1] : NULL;
}

/* aliases_find_catchall - look "@domain" up. */
const struct aliases_entry *aliases_find_catchall(const struct aliases_table *table,
						  const char *domain)
{
	char key[ALIASES_ADDRESS_MAX + 2];
	size_t len = strlen(domain);

	if (table->n == 0 || len > ALIASES_DOMAIN_MAX)
		return NULL;
	key[0] = '@';
	memcpy(key + 1, domain, len + 1);
	return aliases_find(table, key);
}

/* aliases_append - add a new entry (fields owned by the table from now on); no duplicate check. */
static void aliases_append(struct aliases_table *table, const struct aliases_entry *e)
{
	if (table->n == table->alloc) {
		table->alloc = table->alloc ? table->alloc * 2 : 16;
		table->entries = xrealloc(table->entries, table->alloc * sizeof(*table->entries));
	}
	aliases_index_fit(&table->slots, &table->n_slots, table->n, aliases_entry_key_cb,
			  table->entries);
	table->entries[table->n] = *e;
	table->n++;
	table->slots[aliases_slot(table, e->address, strlen(e->address))] = (uint32_t)table->n;
}

/* aliases_del - remove an alias; the index is rebuilt (posternctl only, O(n)). */
int aliases_del(struct aliases_table *table, const char *address)
{
	const struct aliases_entry *e = aliases_find(table, address);
	size_t i;

	if (e == NULL)
		return -1;
	i = (size_t)(e - table->entries);
	aliases_entry_clear(&table->entries[i]);
	table->n--;
	memmove(&table->entries[i], &table->entries[i + 1], (table->n - i) * sizeof(*e));
	aliases_index_rebuild(&table->slots, &table->n_slots, table->n, aliases_entry_key_cb,
			      table->entries);
	return 0;
}

/* ---- building one alias ---- */

/* An alias being built: its entry and a hash index of its targets, to drop duplicates. */
struct aliases_builder {
	struct aliases_entry e;
	size_t alloc;
	uint32_t *slots;
	size_t n_slots;
};

/* aliases_target_key_cb - target i of a target array. */
static const char *aliases_target_key_cb(const void *items, size_t i)
{
	return ((char *const *)items)[i];
}

/* aliases_builder_add - add target (len bytes) unless present; -1 with *error_r when bad. */
static int aliases_builder_add(struct aliases_builder *b, const char *target, size_t len,
			       const char **error_r)
{
	size_t pos, n = b->e.n_targets;
	const char *at;
	char *norm;

	if (aliases_check(target, len, false, error_r) < 0)
		return -1;
	at = memchr(target, '@', len);
	norm = aliases_dup_lower(target, len, (size_t)(at - target));
	aliases_index_fit(&b->slots, &b->n_slots, n, aliases_target_key_cb, b->e.targets);
	pos = aliases_index_probe(b->slots, b->n_slots, norm, len, false, aliases_target_key_cb,
				  b->e.targets);
	if (b->slots[pos] != 0) {
		free(norm); /* the same target twice: once is enough */
		return 0;
	}
	if (n == ALIASES_TARGETS_MAX) {
		free(norm);
		*error_r = "too many targets (at most 1000)";
		return -1;
	}
	if (n == b->alloc) {
		b->alloc = b->alloc ? b->alloc * 2 : 4;
		b->e.targets = xrealloc(b->e.targets, b->alloc * sizeof(*b->e.targets));
	}
	b->e.targets[n] = norm;
	b->slots[pos] = (uint32_t)(n + 1);
	b->e.n_targets++;
	return 0;
}

/* aliases_builder_done - the entry built (caller owns it); the index is freed. */
static struct aliases_entry aliases_builder_done(struct aliases_builder *b)
{
	struct aliases_entry e = b->e;

	free(b->slots);
	memset(b, 0, sizeof(*b));
	return e;
}

/* aliases_builder_drop - free a builder after an error. */
static void aliases_builder_drop(struct aliases_builder *b)
{
	struct aliases_entry e = aliases_builder_done(b);

	aliases_entry_clear(&e);
}

/* aliases_set_entry - put a built entry in: replace the targets of address, or append. */
static void aliases_set_entry(struct aliases_table *table, struct aliases_entry *e,
			      bool *replaced_r)
{
	const struct aliases_entry *old = aliases_find(table, e->address);

	*replaced_r = old != NULL;
	if (old == NULL) {
		aliases_append(table, e);
		return;
	}
	struct aliases_entry *slot = &table->entries[old - table->entries];
	free(e->address);
	e->address = slot->address;
	slot->address = NULL;
	aliases_entry_clear(slot);
	*slot = *e;
}

/* aliases_set - add or replace one alias from C strings. */
int aliases_set(struct aliases_table *table, const char *address, char *const *targets,
		size_t n_targets, bool *replaced_r, const char **bad_r, const char **error_r)
{
	struct aliases_builder b;
	bool replaced;

	memset(&b, 0, sizeof(b));
	if (bad_r != NULL)
		*bad_r = address;
	if (aliases_address_normalize(address, &b.e.address, error_r) < 0)
		return -1;
	for (size_t i = 0; i < n_targets; i++) {
		if (bad_r != NULL)
			*bad_r = targets[i];
		if (aliases_builder_add(&b, targets[i], strlen(targets[i]), error_r) < 0) {
			aliases_builder_drop(&b);
			return -1;
		}
	}
	if (n_targets == 0) {
		*error_r = "an alias needs at least one target";
		aliases_builder_drop(&b);
		return -1;
	}
	struct aliases_entry e = aliases_builder_done(&b);
	aliases_set_entry(table, &e, replaced_r != NULL ? replaced_r : &replaced);
	return 0;
}

/* ---- the parser ---- */

/* aliases_trim - drop blanks (space, tab) at both ends of s[0..*len). */
static const char *aliases_trim(const char *s, size_t *len)
{
	while (*len > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		(*len)--;
	}
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

/* aliases_parse_targets - the comma-separated targets of s (len bytes) into b. */
static int aliases_parse_targets(struct aliases_builder *b, const char *s, size_t len,
				 const char **error_r)
{
	const char *end = s + len, *start = s, *comma;
	size_t all = len;

	if (aliases_trim(s, &all) != NULL && all == 0) {
		*error_r = "an alias needs at least one target";
		return -1;
	}
	do {
		comma = memchr(start, ',', (size_t)(end - start));
		size_t n = (size_t)((comma ? comma : end) - start);
		const char *t = aliases_trim(start, &n);
		if (n == 0) {
			*error_r = "empty target (two ',' in a row, or one at an end)";
			return -1;
		}
		if (aliases_builder_add(b, t, n, error_r) < 0)
			return -1;
		start = comma != NULL ? comma + 1 : end;
	} while (comma != NULL);
	return 0;
}

/* aliases_parse_address - the ADDRESS before the ':' (len bytes), lower case, into b. */
static int aliases_parse_address(struct aliases_builder *b, const char *s, size_t len,
				 const char **error_r)
{
	s = aliases_trim(s, &len);
	if (aliases_check(s, len, true, error_r) < 0)
		return -1;
	b->e.address = aliases_dup_lower(s, len, 0);
	return 0;
}

/* aliases_is_blank - true for an empty, white space only or '#' comment line. */
static bool aliases_is_blank(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i == len || s[i] == '#';
}

/* aliases_parse_entry - "ADDRESS: TARGET, ..." (no CR) into a new entry. */
static int aliases_parse_entry(const char *s, size_t len, struct aliases_entry *e_r,
			       const char **error_r)
{
	const char *colon = memchr(s, ':', len);
	struct aliases_builder b;

	if (colon == NULL) {
		*error_r = "expected ADDRESS: TARGET, TARGET, ...";
		return -1;
	}
	memset(&b, 0, sizeof(b));
	if (aliases_parse_address(&b, s, (size_t)(colon - s), error_r) < 0 ||
	    aliases_parse_targets(&b, colon + 1, (size_t)(s + len - colon - 1), error_r) < 0) {
		aliases_builder_drop(&b);
		return -1;
	}
	*e_r = aliases_builder_done(&b);
	return 0;
}

/* aliases_parse_line - add the alias on one line (CR LF tolerated) to table. */
static int aliases_parse_line(struct aliases_table *table, const char *s, size_t len,
			      const char **error_r)
{
	struct aliases_entry e;

	if (len > ALIASES_LINE_MAX) {
		*error_r = "line too long";
		return -1;
	}
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (aliases_is_blank(s, len))
		return 0;
	if (memchr(s, '\0', len) != NULL) {
		*error_r = "NUL byte";
		return -1;
	}
	if (aliases_parse_entry(s, len, &e, error_r) < 0)
		return -1;
	if (aliases_find(table, e.address) != NULL) {
		aliases_entry_clear(&e);
		*error_r = "duplicate alias";
		return -1;
	}
	aliases_append(table, &e);
	return 0;
}

/* aliases_parse - replace table's aliases with those of an aliases file text. */
int aliases_parse(struct aliases_table *table, const char *text, size_t len,
		  const char *filename, char **error_r)
{
	struct aliases_table fresh;
	const char *error;
	unsigned line = 0;
	size_t pos = 0;

	aliases_init(&fresh);
	if (len > ALIASES_FILE_MAX) {
		*error_r = xasprintf("%s: file too big", filename);
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		line++;
		if (aliases_parse_line(&fresh, text + pos, end - pos, &error) < 0) {
			*error_r = xasprintf("%s:%u: %s", filename, line, error);
			aliases_free(&fresh);
			return -1;
		}
		pos = end + 1;
	}
	aliases_clear_entries(table);
	table->entries = fresh.entries;
	table->n = fresh.n;
	table->alloc = fresh.alloc;
	table->slots = fresh.slots;
	table->n_slots = fresh.n_slots;
	return 0;
}

/* ---- the formatter ---- */

/* aliases_entry_cmp_cb - qsort order of entry pointers: by address. */
static int aliases_entry_cmp_cb(const void *a, const void *b)
{
	const struct aliases_entry *x = *(const struct aliases_entry *const *)a;
	const struct aliases_entry *y = *(const struct aliases_entry *const *)b;

	return strcmp(x->address, y->address);
}

/* aliases_sorted - pointers to the entries, sorted by address; malloc'd. */
static const struct aliases_entry **aliases_sorted(const struct aliases_table *table)
{
	const struct aliases_entry **v = xcalloc(table->n + 1, sizeof(*v));

	for (size_t i = 0; i < table->n; i++)
		v[i] = &table->entries[i];
	qsort(v, table->n, sizeof(*v), aliases_entry_cmp_cb);
	return v;
}

/* aliases_format - header, then "address: t1, t2" per alias, sorted. */
char *aliases_format(const struct aliases_table *table, size_t *len_r)
{
	const struct aliases_entry **v = aliases_sorted(table);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		fatal("out of memory (open_memstream)");
	fputs(ALIASES_HEADER, f);
	for (size_t i = 0; i < table->n; i++) {
		fprintf(f, "%s:", v[i]->address);
		for (size_t t = 0; t < v[i]->n_targets; t++)
			fprintf(f, "%s %s", t ? "," : "", v[i]->targets[t]);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		fatal("out of memory (open_memstream)");
	free(v);
	*len_r = len;
	return text;
}

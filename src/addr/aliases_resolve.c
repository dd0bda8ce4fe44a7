/* aliases_resolve - a recipient to its final targets, and who may send as whom (pure). */
#include "addr/aliases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr/aliases_private.h"
#include "util/xalloc.h"

/* An alias met during one resolution. */
struct aliases_visit {
	const struct aliases_entry *entry;
	bool done; /* expanded: meeting it again is a diamond, not a loop */
};

/* One resolution: the table, the caller's answers and the result being built. */
struct aliases_run {
	const struct aliases_table *table;
	const struct aliases_resolver *res;
	struct aliases_result *result;
	const char *orig;
	struct aliases_visit *visits;
	size_t n_visits;
	size_t alloc_visits;
	uint32_t *slots; /* index of visits by alias address */
	size_t n_slots;
	size_t steps;
	bool too_many;
};

/* What a name is, looked up without the catch-all. */
struct aliases_match {
	enum aliases_via via;              /* NONE, ACCOUNT, ALIAS or FIRST_ACCOUNT */
	const struct aliases_entry *entry; /* ALIAS */
	const char *account;               /* ACCOUNT, FIRST_ACCOUNT */
	bool subaddress;                   /* found for local@ without +detail */
};

/* aliases_lower_copy - s lower case into out (ALIASES_ADDRESS_MAX + 1 bytes); -1 when too long. */
static int aliases_lower_copy(char *out, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == ALIASES_ADDRESS_MAX)
			return -1;
		out[i] = (char)aliases_lower((unsigned char)s[i]);
	}
	out[i] = '\0';
	return 0;
}

/* aliases_is_local - res says domain is local. */
static bool aliases_is_local(const struct aliases_resolver *res, const char *domain)
{
	return res->is_local_domain_cb(res->ctx, domain);
}

/*
 * aliases_strip - "local+detail@domain" to "local@domain" in base (as big
 * as addr): the local part is cut at its first delimiter character, unless
 * that is its first character. False when there is nothing to cut.
 */
static bool aliases_strip(const struct aliases_resolver *res, const char *addr, char *base)
{
	const char *delim = res->delimiter != NULL ? res->delimiter : ALIASES_DELIMITER_DEFAULT;
	const char *at = aliases_split(addr);
	size_t cut;

	if (at == NULL || delim[0] == '\0')
		return false;
	for (cut = 1; addr + cut < at && strchr(delim, addr[cut]) == NULL; cut++)
		;
	if (addr + cut >= at)
		return false;
	memcpy(base, addr, cut);
	strcpy(base + cut, at);
	return true;
}

/* aliases_name - an account, an alias, or postmaster's first account of this exact name. */
static bool aliases_name(const struct aliases_table *table, const struct aliases_resolver *res,
			 const char *addr, struct aliases_match *m)
{
	const char *at = aliases_split(addr);

	if (at == NULL || at == addr)
		return false; /* "@domain" is the catch-all, never a name */
	if (res->is_account_cb(res->ctx, addr)) {
		m->via = ALIASES_VIA_ACCOUNT;
		m->account = addr;
		return true;
	}
	if ((m->entry = aliases_find(table, addr)) != NULL) {
		m->via = ALIASES_VIA_ALIAS;
		return true;
	}
	/* RFC 5321 4.5.1: postmaster of every local domain, at worst its first account */
	if (at - addr == 10 && memcmp(addr, "postmaster", 10) == 0 &&
	    res->domain_first_account_cb != NULL &&
	    (m->account = res->domain_first_account_cb(res->ctx, at + 1)) != NULL) {
		m->via = ALIASES_VIA_FIRST_ACCOUNT;
		return true;
	}
	return false;
}

/* aliases_match - what addr (lower case) is: its own name first, then without +detail. */
static bool aliases_match(const struct aliases_table *table, const struct aliases_resolver *res,
			  const char *addr, char *base, struct aliases_match *m)
{
	memset(m, 0, sizeof(*m));
	if (aliases_name(table, res, addr, m))
		return true;
	if (aliases_strip(res, addr, base) && aliases_name(table, res, base, m)) {
		m->subaddress = true;
		return true;
	}
	return false;
}

/* ---- results ---- */

/* aliases_result_init - an empty result. */
void aliases_result_init(struct aliases_result *result)
{
	memset(result, 0, sizeof(*result));
}

/* aliases_result_clear - free the targets and skips, keep nothing. */
void aliases_result_clear(struct aliases_result *result)
{
	for (size_t i = 0; i < result->n; i++) {
		free(result->targets[i].address);
		free(result->targets[i].orig);
	}
	for (size_t i = 0; i < result->n_skipped; i++)
		free(result->skipped[i].address);
	free(result->targets);
	free(result->skipped);
	free(result->slots);
	aliases_result_init(result);
}

/* aliases_result_free - the same as clear: nothing is left. */
void aliases_result_free(struct aliases_result *result)
{
	aliases_result_clear(result);
}

/* aliases_target_key_cb - the address of target i. */
static const char *aliases_target_key_cb(const void *items, size_t i)
{
	return ((const struct aliases_target *)items)[i].address;
}

/* aliases_result_add - add a target unless present: 1 added, 0 present, -1 when max are there. */
static int aliases_result_add(struct aliases_result *r, const char *address, bool remote,
			      const char *orig, size_t max)
{
	size_t pos;

	aliases_index_fit(&r->slots, &r->n_slots, r->n, aliases_target_key_cb, r->targets);
	pos = aliases_index_probe(r->slots, r->n_slots, address, strlen(address), false,
				  aliases_target_key_cb, r->targets);
	if (r->slots[pos] != 0)
		return 0;
	if (r->n >= max)
		return -1;
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 4;
		r->targets = xrealloc(r->targets, r->alloc * sizeof(*r->targets));
	}
	r->targets[r->n].address = xstrdup(address);
	r->targets[r->n].remote = remote;
	r->targets[r->n].orig = xstrdup(orig);
	r->slots[pos] = (uint32_t)(r->n + 1);
	r->n++;
	return 1;
}

/* aliases_result_merge - add src's targets that into lacks. */
size_t aliases_result_merge(struct aliases_result *into, const struct aliases_result *src)
{
	size_t added = 0;

	for (size_t i = 0; i < src->n; i++) {
		const struct aliases_target *t = &src->targets[i];
		if (aliases_result_add(into, t->address, t->remote, t->orig, SIZE_MAX) == 1)
			added++;
	}
	return added;
}

/* aliases_skip_add - note a target that led nowhere. */
static void aliases_skip_add(struct aliases_result *r, const char *address, const char *reason)
{
	if (r->n_skipped == r->alloc_skipped) {
		r->alloc_skipped = r->alloc_skipped ? r->alloc_skipped * 2 : 4;
		r->skipped = xrealloc(r->skipped, r->alloc_skipped * sizeof(*r->skipped));
	}
	r->skipped[r->n_skipped].address = xstrdup(address);
	r->skipped[r->n_skipped].reason = reason;
	r->n_skipped++;
}

/* ---- one resolution ---- */

/* aliases_visit_key_cb - the alias address of visit i. */
static const char *aliases_visit_key_cb(const void *items, size_t i)
{
	return ((const struct aliases_visit *)items)[i].entry->address;
}

/* aliases_visit_slot - the index slot of alias e among the visits. */
static size_t aliases_visit_slot(const struct aliases_run *run, const struct aliases_entry *e)
{
	return aliases_index_probe(run->slots, run->n_slots, e->address, strlen(e->address),
				   false, aliases_visit_key_cb, run->visits);
}

/* aliases_visit_find - the visit of alias e, or NULL. */
static struct aliases_visit *aliases_visit_find(struct aliases_run *run,
						const struct aliases_entry *e)
{
	size_t pos;

	if (run->n_visits == 0)
		return NULL;
	pos = aliases_visit_slot(run, e);
	return run->slots[pos] ? &run->visits[run->slots[pos] - 1] : NULL;
}

/* aliases_visit_add - record alias e as being expanded; its number. */
static size_t aliases_visit_add(struct aliases_run *run, const struct aliases_entry *e)
{
	size_t n = run->n_visits;

	if (n == run->alloc_visits) {
		run->alloc_visits = run->alloc_visits ? run->alloc_visits * 2 : 8;
		run->visits = xrealloc(run->visits, run->alloc_visits * sizeof(*run->visits));
	}
	aliases_index_fit(&run->slots, &run->n_slots, n, aliases_visit_key_cb, run->visits);
	run->visits[n].entry = e;
	run->visits[n].done = false;
	run->slots[aliases_visit_slot(run, e)] = (uint32_t)(n + 1);
	run->n_visits++;
	return n;
}

/* aliases_run_add - a final target for the recipient; past the limit the run is too big. */
static void aliases_run_add(struct aliases_run *run, const char *address, bool remote)
{
	if (aliases_result_add(run->result, address, remote, run->orig, ALIASES_EXPANSION_MAX) < 0)
		run->too_many = true;
}

static bool aliases_route(struct aliases_run *run, const char *addr, unsigned level, bool top);

/* aliases_route_target - one target of an alias at level: forward, or route locally. */
static void aliases_route_target(struct aliases_run *run, const char *target, unsigned level)
{
	char addr[ALIASES_ADDRESS_MAX + 1];
	const char *at = aliases_split(target);

	if (at == NULL || at == target || aliases_lower_copy(addr, target) < 0) {
		aliases_skip_add(run->result, target, "not an address");
		return;
	}
	if (!aliases_is_local(run->res, addr + (at - target) + 1))
		aliases_run_add(run, target, true);
	else if (!aliases_route(run, addr, level, false))
		aliases_skip_add(run->result, target, "no such account or alias");
}

/*
 * aliases_expand - the targets of alias e, nested level deep (1 for the
 * recipient's own alias). Each alias is expanded once: met again while it
 * is being expanded it is a loop (skipped and reported), met again after
 * that it is a diamond (nothing new to add).
 */
static void aliases_expand(struct aliases_run *run, const struct aliases_entry *e, unsigned level)
{
	const struct aliases_visit *v = aliases_visit_find(run, e);
	size_t me;

	if (v != NULL) {
		if (!v->done)
			aliases_skip_add(run->result, e->address, "alias loop");
		return;
	}
	if (level > ALIASES_DEPTH_MAX) {
		aliases_skip_add(run->result, e->address, "aliases nested too deep");
		return;
	}
	me = aliases_visit_add(run, e);
	for (size_t t = 0; t < e->n_targets && !run->too_many; t++) {
		if (++run->steps > ALIASES_STEPS_MAX)
			run->too_many = true;
		else
			aliases_route_target(run, e->targets[t], level);
	}
	run->visits[me].done = true;
}

/* aliases_route - addr (lower case, local domain) by the rules; the catch-all only on top. */
static bool aliases_route(struct aliases_run *run, const char *addr, unsigned level, bool top)
{
	char base[ALIASES_ADDRESS_MAX + 1];
	const struct aliases_entry *catchall;
	struct aliases_match m;

	if (aliases_match(run->table, run->res, addr, base, &m)) {
		if (top) {
			run->result->via = m.via;
			run->result->subaddress = m.subaddress;
		}
		if (m.via == ALIASES_VIA_ALIAS)
			aliases_expand(run, m.entry, level + 1);
		else
			aliases_run_add(run, m.account, false);
		return true;
	}
	if (!top || (catchall = aliases_find_catchall(run->table, aliases_split(addr) + 1)) == NULL)
		return false;
	run->result->via = ALIASES_VIA_CATCHALL;
	aliases_expand(run, catchall, level + 1);
	return true;
}

/* aliases_run_done - free what the run allocated (not the result). */
static void aliases_run_done(struct aliases_run *run)
{
	free(run->visits);
	free(run->slots);
}

/* aliases_recipient - recipient lower case into addr, a bare postmaster completed; OK or why not. */
static enum aliases_status aliases_recipient(const struct aliases_resolver *res,
					     const char *recipient, char *addr)
{
	const char *at;

	if (aliases_lower_copy(addr, recipient) < 0)
		return ALIASES_INVALID;
	at = aliases_split(addr);
	if (at == NULL || at[1] == '\0') { /* RFC 5321 4.5.1: <Postmaster> without a domain */
		size_t local = at != NULL ? (size_t)(at - addr) : strlen(addr);
		if (local != 10 || memcmp(addr, "postmaster", 10) != 0)
			return ALIASES_INVALID;
		if (res->default_domain == NULL ||
		    strlen(res->default_domain) > ALIASES_ADDRESS_MAX - 11)
			return ALIASES_UNKNOWN;
		strcpy(addr + 10, "@");
		aliases_lower_copy(addr + 11, res->default_domain);
		at = addr + 10;
	}
	if (at == addr)
		return ALIASES_INVALID;
	return aliases_is_local(res, at + 1) ? ALIASES_OK : ALIASES_NOT_LOCAL;
}

/* aliases_resolve - the recipient's final targets. */
enum aliases_status aliases_resolve(const struct aliases_table *table,
				    const struct aliases_resolver *res, const char *recipient,
				    struct aliases_result *result)
{
	char addr[ALIASES_ADDRESS_MAX + 1];
	struct aliases_run run = { .table = table, .res = res, .result = result };
	enum aliases_status st;

	run.orig = recipient;
	aliases_result_clear(result);
	st = aliases_recipient(res, recipient, addr);
	if (st != ALIASES_OK)
		return st;
	if (!aliases_route(&run, addr, 0, true))
		st = ALIASES_UNKNOWN;
	else if (run.too_many)
		st = ALIASES_TOO_MANY;
	else if (result->n == 0)
		st = ALIASES_EMPTY;
	aliases_run_done(&run);
	if (st == ALIASES_TOO_MANY)
		aliases_result_clear(result);
	return st;
}

/* ---- questions about one address ---- */

/* aliases_target_alias - the alias target expands into, or NULL. */
const struct aliases_entry *aliases_target_alias(const struct aliases_table *table,
						 const struct aliases_resolver *res,
						 const char *target)
{
	char addr[ALIASES_ADDRESS_MAX + 1], base[ALIASES_ADDRESS_MAX + 1];
	struct aliases_match m;
	const char *at;

	if (aliases_lower_copy(addr, target) < 0 || (at = aliases_split(addr)) == NULL ||
	    !aliases_is_local(res, at + 1) || !aliases_match(table, res, addr, base, &m))
		return NULL;
	return m.via == ALIASES_VIA_ALIAS ? m.entry : NULL;
}

/* aliases_routes - target leads somewhere without the catch-all (remote: always). */
bool aliases_routes(const struct aliases_table *table, const struct aliases_resolver *res,
		    const char *target)
{
	char addr[ALIASES_ADDRESS_MAX + 1], base[ALIASES_ADDRESS_MAX + 1];
	struct aliases_match m;
	const char *at;

	if (aliases_lower_copy(addr, target) < 0 || (at = aliases_split(addr)) == NULL)
		return false;
	return !aliases_is_local(res, at + 1) || aliases_match(table, res, addr, base, &m);
}

/* aliases_reaches - whether expanding alias e reaches the account login (lower case). */
static bool aliases_reaches(const struct aliases_table *table, const struct aliases_resolver *res,
			    const struct aliases_entry *e, const char *login)
{
	struct aliases_result r;
	struct aliases_run run = { .table = table, .res = res, .result = &r, .orig = e->address };
	bool found = false;

	aliases_result_init(&r);
	aliases_expand(&run, e, 1);
	for (size_t i = 0; i < r.n && !found; i++)
		found = !r.targets[i].remote && strcmp(r.targets[i].address, login) == 0;
	aliases_run_done(&run);
	aliases_result_free(&r);
	return found;
}

/* aliases_owns - address is the login, or an alias leading to it; see aliases.h. */
bool aliases_owns(const struct aliases_table *table, const struct aliases_resolver *res,
		  const char *login, const char *address)
{
	char addr[ALIASES_ADDRESS_MAX + 1], who[ALIASES_ADDRESS_MAX + 1];
	char base[ALIASES_ADDRESS_MAX + 1];
	struct aliases_match m;
	const char *at;

	if (aliases_lower_copy(addr, address) < 0 || aliases_lower_copy(who, login) < 0)
		return false;
	if (strcmp(addr, who) == 0)
		return true;
	at = aliases_split(addr);
	if (at == NULL || !aliases_is_local(res, at + 1) ||
	    !aliases_match(table, res, addr, base, &m))
		return false;
	if (m.via == ALIASES_VIA_ACCOUNT) /* alice+tag@ is alice's */
		return strcmp(m.account, who) == 0;
	/* the first account gets postmaster's mail but does not own the name */
	return m.via == ALIASES_VIA_ALIAS && aliases_reaches(table, res, m.entry, who);
}

/* aliases_status_text - why, in a few words. */
const char *aliases_status_text(enum aliases_status status)
{
	switch (status) {
	case ALIASES_OK:
		return "ok";
	case ALIASES_UNKNOWN:
		return "no such account or alias";
	case ALIASES_EMPTY:
		return "alias leads to no mailbox";
	case ALIASES_TOO_MANY:
		return "alias expands to too many recipients";
	case ALIASES_NOT_LOCAL:
		return "not a local domain";
	case ALIASES_INVALID:
		return "invalid address";
	}
	return "?";
}

/*
 * aliases - the alias table of SPEC.md "Addresses: posternctl alias": which
 * addresses of the local domains lead where, beyond the accounts.
 *
 * The file "aliases" sits next to the users file (aliases_path). One alias
 * a line, like Postfix's virtual(5) and aliases(5):
 *
 *	info@example.org: alice@example.org, bob@example.org
 *	@example.net: carol@example.org        (catch-all of example.net)
 *	list@example.org: dave@elsewhere.example
 *
 * '#' lines and blank lines are ignored, CR LF is accepted. The ADDRESS is
 * local@domain or @domain, stored lower case; a TARGET is local@domain
 * (local or remote), its domain lower case and its local part as written
 * (a remote mailbox may care). Targets are separated by ',' and trimmed.
 *
 * Resolution (aliases_resolve) turns a recipient into final targets, in
 * this order (SPEC.md): an account; an alias (expanded recursively: its
 * targets go through the same rules except the catch-all); for
 * "local+detail@" the same two rules for "local@" (before the catch-all);
 * postmaster@ a local domain (and the bare "postmaster") to the alias or
 * account of that name, else the first account of the domain; the
 * catch-all "@domain"; else unknown. Each alias is expanded at most once
 * per resolution and no deeper than ALIASES_DEPTH_MAX, so a loop in a
 * hand-edited file can never cause a mail loop; posternctl refuses loops
 * when they are added (aliases_check_loops). Final targets are
 * de-duplicated: a Maildir gets one copy however many ways lead to it.
 *
 * Everything here is pure (no I/O) except aliases_path, aliases_load,
 * aliases_refresh and aliases_save (aliases_file.c). The accounts and the
 * local domains are the caller's, asked through struct aliases_resolver.
 *
 * Threads: a table is not locked; resolution only reads it, so several
 * threads may resolve against one table nobody changes meanwhile.
 */
#ifndef POSTERN_ALIASES_H
#define POSTERN_ALIASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/users.h"

#define ALIASES_ADDRESS_MAX 254        /* RFC 3696 erratum 1690, as accounts */
#define ALIASES_LOCAL_MAX 64           /* RFC 5321 4.5.3.1.1 */
#define ALIASES_DOMAIN_MAX 253
#define ALIASES_LINE_MAX (256u * 1024) /* bytes on one line of the file */
#define ALIASES_TARGETS_MAX 1000       /* targets of one alias */
#define ALIASES_FILE_MAX USERS_FILE_MAX
#define ALIASES_DEPTH_MAX 10           /* aliases nested in one another */
#define ALIASES_EXPANSION_MAX 1000     /* final targets of one recipient (Postfix's default) */
#define ALIASES_STEPS_MAX 10000        /* targets looked at for one recipient */
#define ALIASES_DELIMITER_DEFAULT "+"  /* domains.recipient_delimiter */

/* One alias: its address and its targets as written in the file. */
struct aliases_entry {
	char *address;  /* lower case: "local@domain", or "@domain" for a catch-all */
	char **targets; /* "local@domain": domain lower case, local part as written */
	size_t n_targets;
};

struct aliases_table {
	struct aliases_entry *entries; /* in file (or insertion) order */
	size_t n;
	size_t alloc;
	uint32_t *slots;               /* hash index: entry number + 1, 0 = free */
	size_t n_slots;                /* a power of two, at least twice n */
	struct users_file_id loaded;   /* the file the aliases came from */
	struct users_file_id failed;   /* the last file that did not parse */
};

/*
 * What resolution needs to know from outside. Addresses and domains passed
 * to the callbacks are lower case and NUL terminated.
 */
struct aliases_resolver {
	/* is_account_cb - true when address (local@domain) is an account */
	bool (*is_account_cb)(void *ctx, const char *address);
	/* is_local_domain_cb - true when domain is in domains.local */
	bool (*is_local_domain_cb)(void *ctx, const char *domain);
	/* domain_first_account_cb - the first account of domain or NULL: postmaster's last resort */
	const char *(*domain_first_account_cb)(void *ctx, const char *domain);
	void *ctx;
	/* recipient delimiter characters: each one separates "local+detail"; "" off; NULL "+" */
	const char *delimiter;
	/* the domain of the bare "postmaster" (the first of domains.local); NULL: refused */
	const char *default_domain;
};

enum aliases_status {
	ALIASES_OK,        /* at least one final target */
	ALIASES_UNKNOWN,   /* no account, alias, postmaster or catch-all: 550 5.1.1 */
	ALIASES_EMPTY,     /* an alias matched but none of its targets leads anywhere: 550 5.1.1 */
	ALIASES_TOO_MANY,  /* more than ALIASES_EXPANSION_MAX targets or ALIASES_STEPS_MAX steps */
	ALIASES_NOT_LOCAL, /* the domain is not local: not ours to resolve (relay rules apply) */
	ALIASES_INVALID,   /* not local@domain (nor the bare postmaster) */
};

/* Which rule matched the recipient itself. */
enum aliases_via {
	ALIASES_VIA_NONE,
	ALIASES_VIA_ACCOUNT,       /* an account */
	ALIASES_VIA_ALIAS,         /* an alias of that name */
	ALIASES_VIA_FIRST_ACCOUNT, /* postmaster without alias or account */
	ALIASES_VIA_CATCHALL,      /* the catch-all of the domain */
};

/* A final target: a local account to store into, or a remote address to forward to. */
struct aliases_target {
	char *address; /* local: the account (lower case); remote: as in the alias */
	bool remote;
	char *orig;    /* the recipient that led here, as given: orig_to=<...> in logs */
};

/* A local target of an alias that led nowhere; the caller logs it. */
struct aliases_skip {
	char *address;      /* the target */
	const char *reason; /* "no such account or alias", "alias loop", "aliases nested too deep", ... */
};

struct aliases_result {
	enum aliases_via via;   /* for the last aliases_resolve */
	bool subaddress;        /* the match was for local@ after removing +detail */
	struct aliases_target *targets;
	size_t n;
	size_t alloc;
	struct aliases_skip *skipped;
	size_t n_skipped;
	size_t alloc_skipped;
	uint32_t *slots;        /* hash index of targets by address: number + 1 */
	size_t n_slots;
};

/* aliases_init - an empty table. */
void aliases_init(struct aliases_table *table);

/* aliases_free - release all aliases; table is empty afterwards. */
void aliases_free(struct aliases_table *table);

/*
 * aliases_parse - replace the aliases of table with those in text (len
 * bytes). Pure: no I/O. filename is used in messages only. Returns 0; or -1
 * with *error_r a malloc'd "FILENAME:LINE: message", table unchanged. A
 * duplicate ADDRESS is an error; a duplicate target is dropped.
 */
int aliases_parse(struct aliases_table *table, const char *text, size_t len,
		  const char *filename, char **error_r);

/* aliases_format - the file text of table: a header comment, the aliases sorted; malloc'd. */
char *aliases_format(const struct aliases_table *table, size_t *len_r);

/*
 * aliases_address_normalize - check an alias ADDRESS: "local@domain" or
 * "@domain". Returns 0 with *normalized_r malloc'd lower case; or -1 with
 * *error_r a static reason.
 */
int aliases_address_normalize(const char *address, char **normalized_r, const char **error_r);

/*
 * aliases_target_normalize - check a TARGET: "local@domain" (no catch-all).
 * Returns 0 with *normalized_r malloc'd (domain lower case); or -1 with
 * *error_r a static reason.
 */
int aliases_target_normalize(const char *target, char **normalized_r, const char **error_r);

/* aliases_find - the alias named address (any case; "@domain" finds a catch-all), or NULL. */
const struct aliases_entry *aliases_find(const struct aliases_table *table, const char *address);

/* aliases_find_catchall - the catch-all "@domain" of domain (any case), or NULL. */
const struct aliases_entry *aliases_find_catchall(const struct aliases_table *table,
						  const char *domain);

/*
 * aliases_set - add the alias address -> targets, or replace the targets of
 * an existing one (*replaced_r true then; replaced_r may be NULL). Checks
 * and normalizes like the parser; duplicate targets are dropped. Returns 0;
 * or -1 with *error_r static (*bad_r, when bad_r is not NULL, points to the
 * offending string: address or one target), table unchanged.
 */
int aliases_set(struct aliases_table *table, const char *address, char *const *targets,
		size_t n_targets, bool *replaced_r, const char **bad_r, const char **error_r);

/* aliases_del - remove the alias named address (any case); -1 when there is none. */
int aliases_del(struct aliases_table *table, const char *address);

/*
 * aliases_check_loops - after aliases_set(address): refuse when resolving
 * address would meet a loop or nest aliases deeper than ALIASES_DEPTH_MAX.
 * Returns 0; or -1 with *error_r malloc'd naming the cycle ("alias loop:
 * a@x -> b@x -> a@x") or the chain. The caller then drops the change.
 */
int aliases_check_loops(const struct aliases_table *table, const struct aliases_resolver *res,
			const char *address, char **error_r);

/*
 * aliases_target_alias - the alias a target (local@domain) expands into
 * under the rules of resolution without the catch-all (exact, then
 * local+detail stripped), or NULL when it is an account, remote or nothing.
 */
const struct aliases_entry *aliases_target_alias(const struct aliases_table *table,
						 const struct aliases_resolver *res,
						 const char *target);

/* aliases_result_init - an empty result. */
void aliases_result_init(struct aliases_result *result);

/* aliases_result_clear - drop all targets and skips; the result can be reused. */
void aliases_result_clear(struct aliases_result *result);

/* aliases_result_free - release everything; the result is empty afterwards. */
void aliases_result_free(struct aliases_result *result);

/*
 * aliases_resolve - the final targets of recipient ("local@domain" in any
 * case, or the bare "postmaster"), under the rules at the top of this
 * file. result is cleared first. ALIASES_OK: result->targets hold at least
 * one target, each with orig = recipient; result->skipped the local
 * targets that led nowhere (also for ALIASES_EMPTY). Other statuses leave
 * no targets.
 */
enum aliases_status aliases_resolve(const struct aliases_table *table,
				    const struct aliases_resolver *res, const char *recipient,
				    struct aliases_result *result);

/*
 * aliases_routes - true when target (local@domain of a local domain) leads
 * somewhere under the rules of resolution without the catch-all: an
 * account, an alias, local+detail of one, or postmaster with an account
 * in its domain. posternctl's test for "no such account or alias".
 */
bool aliases_routes(const struct aliases_table *table, const struct aliases_resolver *res,
		    const char *target);

/*
 * aliases_result_merge - append the targets of src that into does not hold
 * yet (a message with several recipients reaching one account stores one
 * copy; the first orig wins). Returns the number added.
 */
size_t aliases_result_merge(struct aliases_result *into, const struct aliases_result *src);

/*
 * aliases_owns - may login (an account) send as address? True when address
 * (any case; "+detail" removed) is the login, or is an alias (not an
 * account, in a local domain) whose recursive expansion reaches the login.
 * A catch-all does NOT make its targets owners of every address of the
 * domain, and postmaster's fallback to the first account does not make
 * that account the owner of postmaster@: ownership comes from a name in
 * the table only (a decision: Postfix's smtpd_sender_login_maps would make
 * the owner explicit, which a later change can add).
 */
bool aliases_owns(const struct aliases_table *table, const struct aliases_resolver *res,
		  const char *login, const char *address);

/* aliases_status_text - a short English reason for status ("no such account or alias", ...). */
const char *aliases_status_text(enum aliases_status status);

/* ---- the file (aliases_file.c) ---- */

/* aliases_path - the aliases file of a users file: "aliases" in its directory; malloc'd. */
char *aliases_path(const char *users_file);

/*
 * aliases_load - read and parse the file at path. A missing file is an
 * empty table. Returns 0; or -1 with *error_r malloc'd ("FILE:LINE: ..."
 * for a bad line), table unchanged.
 */
int aliases_load(struct aliases_table *table, const char *path, char **error_r);

/*
 * aliases_refresh - reload when the file changed since the last load (one
 * stat() otherwise). Returns 1 reloaded, 0 unchanged, -1 error with
 * *error_r malloc'd (error_r may be NULL) and the old aliases kept. A file
 * that failed to parse is reported once, not again until it changes.
 */
int aliases_refresh(struct aliases_table *table, const char *path, char **error_r);

/*
 * aliases_save - write table to path atomically like users_save (mode
 * 0600, fsync, rename, fsync of the directory; as root the file keeps the
 * owner of the one it replaces). For a load-change-save cycle take
 * users_lock(path) first: it locks "aliases.lock", apart from the users
 * file's lock. Returns 0 or -1 with *error_r malloc'd.
 */
int aliases_save(const struct aliases_table *table, const char *path, char **error_r);

#endif

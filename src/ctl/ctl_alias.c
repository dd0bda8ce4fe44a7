/*
 * ctl_alias - "posternctl alias add|del|list": the aliases of SPEC.md
 * "Addresses: posternctl alias" (addr/aliases.h). Changes run under the
 * aliases file's own lock (aliases.lock) as load, change, check, atomic
 * save, then a running daemon is told to reload, as for "user". The checks
 * use the same resolution as the daemon: an ADDRESS of a local domain that
 * is no account (an account comes first, so the alias would never be
 * used); TARGETs that are addresses, those of a local domain an account or
 * an alias; no loop and no chain deeper than the daemon follows; and "del"
 * refuses to remove an alias other aliases still lead to.
 *
 * With auth.store = postgresql://... the accounts and aliases come from
 * the tables and a change is saved as the difference, in one transaction
 * under a lock of both tables (ctl/ctl_pg.h): the same checks, the same
 * code, another store.
 */
#include "ctl/ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr/aliases.h"
#include "auth/users.h"
#include "config/cfg.h"
#include "ctl/ctl_pg.h"
#include "util/xalloc.h"

/* What one run works on: the configuration, the accounts, the aliases and their file. */
struct ctl_alias_ctx {
	const struct cfg *cfg;
	struct users_db users;
	struct aliases_table table;
	struct aliases_resolver res;
	char *path;        /* the aliases file (NULL with PostgreSQL) */
	int lock;
	struct ctl_pg *pg; /* auth.store = postgresql://...: the transaction; NULL: the files */
};

struct ctl_alias_verb {
	const char *name;
	int (*handler)(struct ctl_alias_ctx *c, int argc, char **argv);
	int min_args; /* operands after the verb */
	int max_args; /* -1: no limit */
	bool changes; /* under the lock, saved when it succeeds */
};

/* ctl_alias_usage - the synopsis on stderr; returns CTL_EXIT_USAGE. */
static int ctl_alias_usage(void)
{
	fputs("usage: posternctl [-c FILE] alias add ADDRESS TARGET[,TARGET...]\n"
	      "       posternctl [-c FILE] alias del ADDRESS\n"
	      "       posternctl [-c FILE] alias list\n"
	      "ADDRESS is local@domain or @domain (catch-all) of a local domain; a TARGET is\n"
	      "an account, another alias or a remote address. add replaces the targets of an\n"
	      "existing alias.\n",
	      stderr);
	return CTL_EXIT_USAGE;
}

/* ctl_alias_is_account_cb - the accounts of the users file. */
static bool ctl_alias_is_account_cb(void *ctx, const char *address)
{
	const struct ctl_alias_ctx *c = ctx;

	return users_find(&c->users, address) != NULL;
}

/* ctl_alias_is_local_domain_cb - domains.local. */
static bool ctl_alias_is_local_domain_cb(void *ctx, const char *domain)
{
	const struct ctl_alias_ctx *c = ctx;

	return cfg_is_local_domain(c->cfg, domain, strlen(domain));
}

/* ctl_alias_first_account_cb - the first account of domain in the users file (sorted), or NULL. */
static const char *ctl_alias_first_account_cb(void *ctx, const char *domain)
{
	const struct ctl_alias_ctx *c = ctx;

	for (size_t i = 0; i < c->users.n; i++) {
		const char *at = strrchr(c->users.accounts[i].address, '@');
		if (at != NULL && strcmp(at + 1, domain) == 0)
			return c->users.accounts[i].address;
	}
	return NULL;
}

/* ctl_alias_init - an empty context, resolving against its own accounts and aliases. */
static void ctl_alias_init(struct ctl_alias_ctx *c, const struct cfg *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->lock = -1;
	users_init(&c->users);
	aliases_init(&c->table);
	c->res = (struct aliases_resolver){
		.is_account_cb = ctl_alias_is_account_cb,
		.is_local_domain_cb = ctl_alias_is_local_domain_cb,
		.domain_first_account_cb = ctl_alias_first_account_cb,
		.ctx = c,
		.delimiter = ALIASES_DELIMITER_DEFAULT,
		.default_domain = cfg->local_domains.n > 0 ? cfg->local_domains.items[0] : NULL,
	};
}

/* ctl_alias_open - load the accounts and (locked when lock) the aliases; -1 after printing why. */
static int ctl_alias_open(struct ctl_alias_ctx *c, const struct cfg *cfg, bool lock)
{
	char *error = NULL;

	ctl_alias_init(c, cfg);
	if (ctl_pg_is_store(cfg)) {
		c->pg = ctl_pg_open(cfg, lock, &c->users, &c->table);
		return c->pg != NULL ? 0 : -1;
	}
	c->path = aliases_path(cfg->users_file);
	if (users_load(&c->users, cfg->users_file, &error) == 0 &&
	    (!lock || users_lock(c->path, &c->lock, &error) == 0) &&
	    aliases_load(&c->table, c->path, &error) == 0)
		return 0;
	ctl_error("%s", error);
	free(error);
	return -1;
}

/* ctl_alias_save - write the changed aliases: the file, or the difference to the tables. */
static bool ctl_alias_save(struct ctl_alias_ctx *c)
{
	char *error = NULL;

	if (c->pg != NULL)
		return ctl_pg_commit(c->pg, &c->users, &c->table) == 0;
	if (aliases_save(&c->table, c->path, &error) == 0)
		return true;
	ctl_error("%s", error);
	free(error);
	return false;
}

/* ctl_alias_close - save when ok, unlock, free, tell a running daemon; the exit status. */
static int ctl_alias_close(struct ctl_alias_ctx *c, bool save, bool ok)
{
	char answer[256];

	if (save && ok)
		ok = ctl_alias_save(c);
	ctl_pg_close(&c->pg); /* rolls back what was not committed */
	users_unlock(&c->lock);
	aliases_free(&c->table);
	users_free(&c->users);
	free(c->path);
	/* a running daemon answers once it uses the new aliases; none running: nothing to do */
	if (save && ok)
		ctl_control_request(c->cfg, "users\n", answer, sizeof(answer));
	return ok ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}

/* ctl_alias_domain_ok - address (normalized) is of a local domain; prints why not. */
static bool ctl_alias_domain_ok(const struct ctl_alias_ctx *c, const char *address)
{
	const char *domain = strrchr(address, '@') + 1;

	if (cfg_is_local_domain(c->cfg, domain, strlen(domain)))
		return true;
	ctl_error("%s: %s is not in domains.local", address, domain);
	return false;
}

/* The TARGET operands, one address each. */
struct ctl_alias_targets {
	char **v;
	size_t n;
};

/* ctl_alias_targets_free - free the split targets. */
static void ctl_alias_targets_free(struct ctl_alias_targets *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* ctl_alias_split - the TARGET operands, split at ',' and blanks ("a, b" comes as "a," "b"). */
static int ctl_alias_split(int argc, char **argv, struct ctl_alias_targets *t)
{
	static const char sep[] = ", \t";

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < argc; i++) {
		for (const char *p = argv[i] + strspn(argv[i], sep); *p != '\0';
		     p += strspn(p, sep)) {
			size_t len = strcspn(p, sep);
			t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
			t->v[t->n++] = xstrndup(p, len);
			p += len;
		}
	}
	if (t->n == 0) {
		ctl_error("no target given");
		return -1;
	}
	return 0;
}

/* ctl_alias_print_targets - ", "-separated targets on f. */
static void ctl_alias_print_targets(FILE *f, char *const *targets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", targets[i]);
}

/* ctl_alias_check_address - the alias name: a local domain, and no account. */
static bool ctl_alias_check_address(const struct ctl_alias_ctx *c, const char *address)
{
	if (!ctl_alias_domain_ok(c, address))
		return false;
	if (address[0] != '@' && users_find(&c->users, address) != NULL) {
		ctl_error("%s: is an account, and an account comes first: "
			  "the alias would never be used", address);
		return false;
	}
	return true;
}

/* ctl_alias_check_targets - each target of a local domain leads to an account or an alias. */
static bool ctl_alias_check_targets(struct ctl_alias_ctx *c, const struct aliases_entry *e)
{
	for (size_t i = 0; i < e->n_targets; i++) {
		const char *t = e->targets[i];
		if (!aliases_routes(&c->table, &c->res, t)) {
			ctl_error("%s: no such account or alias", t);
			return false;
		}
	}
	return true;
}

/* ctl_alias_targets_text - "t1, t2, ..." of an alias, malloc'd. */
static char *ctl_alias_targets_text(const struct aliases_entry *e)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return xstrdup("?");
	ctl_alias_print_targets(f, e->targets, e->n_targets);
	fclose(f);
	return text;
}

/* ctl_alias_apply - set, then check the changed table; the old targets when replaced. */
static bool ctl_alias_apply(struct ctl_alias_ctx *c, const char *address,
			    const struct ctl_alias_targets *t)
{
	const char *bad, *error;
	char *normalized, *loop = NULL;
	bool replaced, ok;

	if (aliases_set(&c->table, address, t->v, t->n, &replaced, &bad, &error) < 0) {
		ctl_error("%s: %s", bad, error);
		return false;
	}
	aliases_address_normalize(address, &normalized, &error);
	ok = ctl_alias_check_address(c, normalized) &&
	     ctl_alias_check_targets(c, aliases_find(&c->table, normalized));
	if (ok && aliases_check_loops(&c->table, &c->res, normalized, &loop) < 0) {
		ctl_error("%s: refused: %s", normalized, loop);
		ok = false;
	}
	free(loop);
	free(normalized);
	return ok;
}

/* ctl_alias_add - "alias add ADDRESS TARGET[,TARGET...] ..."; replaces an alias's targets. */
static int ctl_alias_add(struct ctl_alias_ctx *c, int argc, char **argv)
{
	const struct aliases_entry *found = aliases_find(&c->table, argv[0]);
	char *was = found != NULL ? ctl_alias_targets_text(found) : NULL;
	char *name = found != NULL ? xstrdup(found->address) : NULL;
	struct ctl_alias_targets t;
	bool ok;

	ok = ctl_alias_split(argc - 1, argv + 1, &t) == 0 && ctl_alias_apply(c, argv[0], &t);
	if (ok && was != NULL)
		fprintf(stderr,
			"posternctl: %s existed: its targets are replaced (they were: %s)\n", name,
			was);
	free(was);
	free(name);
	ctl_alias_targets_free(&t);
	return ctl_alias_close(c, ok, ok);
}

/* ctl_alias_referrers - "X, Y" naming the aliases with a target that leads to e, or NULL. */
static char *ctl_alias_referrers(const struct ctl_alias_ctx *c, const struct aliases_entry *e)
{
	char *text = NULL;
	size_t len = 0, found = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return xstrdup("?");
	for (size_t i = 0; i < c->table.n; i++) {
		const struct aliases_entry *r = &c->table.entries[i];
		for (size_t t = 0; t < r->n_targets && r != e; t++) {
			if (aliases_target_alias(&c->table, &c->res, r->targets[t]) == e) {
				fprintf(f, "%s%s", found++ ? ", " : "", r->address);
				break;
			}
		}
	}
	fclose(f);
	if (found == 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ctl_alias_del - "alias del ADDRESS": refused while other aliases lead to it. */
static int ctl_alias_del(struct ctl_alias_ctx *c, int argc, char **argv)
{
	const struct aliases_entry *e = aliases_find(&c->table, argv[0]);
	char *referrers;

	(void)argc;
	if (e == NULL) {
		ctl_error("%s: no such alias", argv[0]);
		return ctl_alias_close(c, false, false);
	}
	referrers = ctl_alias_referrers(c, e);
	if (referrers != NULL) {
		ctl_error("%s: still a target of %s; change or delete that first", e->address,
			  referrers);
		free(referrers);
		return ctl_alias_close(c, false, false);
	}
	aliases_del(&c->table, argv[0]);
	return ctl_alias_close(c, true, true);
}

/* ctl_alias_print_result - the final targets of a resolution, ", "-separated. */
static void ctl_alias_print_result(const struct aliases_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		printf("%s%s", i ? ", " : "", r->targets[i].address);
}

/* ctl_alias_print_postmaster - where recipient (a postmaster) goes, as the daemon resolves it. */
static void ctl_alias_print_postmaster(struct ctl_alias_ctx *c, const char *recipient,
				       const char *domain)
{
	struct aliases_result r;
	enum aliases_status st;

	aliases_result_init(&r);
	st = aliases_resolve(&c->table, &c->res, recipient, &r);
	printf("%s -> ", recipient);
	if (st == ALIASES_UNKNOWN)
		printf("nowhere: no account in %s", domain);
	else if (st != ALIASES_OK && st != ALIASES_EMPTY)
		printf("nowhere: %s", aliases_status_text(st));
	else if (r.via == ALIASES_VIA_ACCOUNT || r.via == ALIASES_VIA_FIRST_ACCOUNT)
		printf("%s %s", r.via == ALIASES_VIA_ACCOUNT ? "account" : "first account",
		       r.targets[0].address);
	else {
		if (r.via == ALIASES_VIA_CATCHALL)
			printf("catch-all @%s: ", domain);
		else
			printf("alias: ");
		if (st == ALIASES_EMPTY)
			printf("nowhere (no target leads to a mailbox)");
		ctl_alias_print_result(&r);
	}
	putchar('\n');
	aliases_result_free(&r);
}

/* ctl_alias_list - "alias list": the aliases sorted, then where each postmaster goes. */
static int ctl_alias_list(struct ctl_alias_ctx *c, int argc, char **argv)
{
	size_t len;
	char *text = aliases_format(&c->table, &len);
	const char *body = strchr(text, '\n') + 1; /* without the file's header comment */

	(void)argc;
	(void)argv;
	fputs(body, stdout);
	free(text);
	for (size_t i = 0; i < c->cfg->local_domains.n; i++) {
		char *pm = xasprintf("postmaster@%s", c->cfg->local_domains.items[i]);
		ctl_alias_print_postmaster(c, pm, c->cfg->local_domains.items[i]);
		free(pm);
	}
	if (c->res.default_domain != NULL)
		ctl_alias_print_postmaster(c, "postmaster", c->res.default_domain);
	else
		puts("postmaster -> nowhere: domains.local is empty");
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_error("write error on standard output");
		return ctl_alias_close(c, false, false);
	}
	return ctl_alias_close(c, false, true);
}

static const struct ctl_alias_verb ctl_alias_verbs[] = {
	{ "add", ctl_alias_add, 2, -1, true },
	{ "del", ctl_alias_del, 1, 1, true },
	{ "list", ctl_alias_list, 0, 0, false },
};

/* ctl_alias_find_verb - the table entry for name, or NULL. */
static const struct ctl_alias_verb *ctl_alias_find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(ctl_alias_verbs) / sizeof(ctl_alias_verbs[0]); i++) {
		if (strcmp(ctl_alias_verbs[i].name, name) == 0)
			return &ctl_alias_verbs[i];
	}
	return NULL;
}

/* ctl_alias_args_ok - the operand count fits the verb and none looks like an option. */
static bool ctl_alias_args_ok(const struct ctl_alias_verb *verb, int argc, char **argv)
{
	if (argc < verb->min_args || (verb->max_args >= 0 && argc > verb->max_args))
		return false;
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '-')
			return false;
	}
	return true;
}

/* ctl_alias_main - dispatch "alias VERB ...". */
int ctl_alias_main(const struct cfg *cfg, int argc, char **argv)
{
	const struct ctl_alias_verb *verb;
	struct ctl_alias_ctx c;

	if (argc < 2)
		return ctl_alias_usage();
	verb = ctl_alias_find_verb(argv[1]);
	if (verb == NULL) {
		ctl_error("alias: unknown command '%s'", argv[1]);
		return ctl_alias_usage();
	}
	if (!ctl_alias_args_ok(verb, argc - 2, argv + 2))
		return ctl_alias_usage();
	if (!ctl_pg_is_store(cfg) && ctl_run_as_owner(cfg, cfg->users_file) < 0)
		return CTL_EXIT_ERROR;
	if (ctl_alias_open(&c, cfg, verb->changes) < 0)
		return ctl_alias_close(&c, false, false);
	return verb->handler(&c, argc - 2, argv + 2);
}

/*
 * ctl_user - "posternctl user add|del|passwd|list": the accounts of SPEC.md.
 * Changes run under the users file lock as load, change, atomic save, so
 * that the daemon (which re-stats the file on each lookup) sees them at once
 * and two concurrent runs do not lose each other's change. Passwords come
 * from standard input and are wiped as soon as they are hashed. Run as
 * root, it first becomes the owner of the users file's directory (the
 * daemon's user, for the default DATA_DIR/users), so that the file, its
 * lock and a data_dir it makes stay readable by the daemon.
 *
 * With auth.store = postgresql://... the same commands load the table
 * accounts and save what changed in one transaction, under a table lock
 * instead of the file's (ctl/ctl_pg.h); nothing local is written, so
 * posternctl keeps the user it runs as.
 */
#include "ctl/ctl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/users.h"
#include "config/cfg.h"
#include "ctl/ctl_pg.h"

#define CTL_USER_SECRET_MAX 1024

struct ctl_user_args {
	const char *address; /* as given */
	bool apop;
};

struct ctl_user_verb {
	const char *name;
	int (*handler)(const struct cfg *cfg, const struct ctl_user_args *args);
	bool has_address;
	bool allows_apop;
};

/* ctl_user_usage - the synopsis on stderr; returns CTL_EXIT_USAGE. */
static int ctl_user_usage(void)
{
	fputs("usage: posternctl [-c FILE] user add ADDRESS [--apop]\n"
	      "       posternctl [-c FILE] user del ADDRESS\n"
	      "       posternctl [-c FILE] user passwd ADDRESS [--apop]\n"
	      "       posternctl [-c FILE] user list\n"
	      "The password is the first line of standard input; with --apop the second\n"
	      "line is the APOP / CRAM-MD5 shared secret.\n",
	      stderr);
	return CTL_EXIT_USAGE;
}

/* ctl_user_read_secret - one non-empty line of stdin into buf; what names it in errors. */
static int ctl_user_read_secret(char *buf, size_t size, const char *what)
{
	const char *error;
	int len = ctl_read_line(buf, size, &error);

	if (len < 0) {
		ctl_error("%s: %s", what, error);
		return -1;
	}
	if (len == 0) {
		ctl_error("empty %s refused", what);
		return -1;
	}
	return 0;
}

/* ctl_user_credentials - read the password (and secret) and hash the password. */
static int ctl_user_credentials(bool apop, char **hash_r, char *secret, size_t size)
{
	char password[CTL_USER_SECRET_MAX];
	int ret = -1;

	secret[0] = '\0';
	if (ctl_user_read_secret(password, sizeof(password), "password") == 0 &&
	    (!apop || ctl_user_read_secret(secret, size, "shared secret") == 0)) {
		ret = users_hash_password(password, hash_r);
		if (ret < 0)
			ctl_error("cannot hash the password (libxcrypt)");
	}
	OPENSSL_cleanse(password, sizeof(password));
	return ret;
}

/* ctl_user_warn_domain - say so when the account's domain gets no local mail. */
static void ctl_user_warn_domain(const struct cfg *cfg, const char *address)
{
	const char *domain = strchr(address, '@') + 1;

	if (!cfg_is_local_domain(cfg, domain, strlen(domain)))
		ctl_error("warning: %s is not in domains.local; its mail is not delivered here",
			  domain);
}

/* The accounts a change works on, and what guards them: the file's lock or a transaction. */
struct ctl_user_db {
	struct users_db db;
	struct ctl_pg *pg; /* auth.store = postgresql://...; NULL: the users file */
	int lock;
};

/* ctl_user_load_locked - lock the users file, or the tables, and load the accounts. */
static int ctl_user_load_locked(const struct cfg *cfg, struct ctl_user_db *u)
{
	char *error = NULL;

	users_init(&u->db);
	u->pg = NULL;
	u->lock = -1;
	if (ctl_pg_is_store(cfg)) {
		u->pg = ctl_pg_open(cfg, true, &u->db, NULL);
		if (u->pg != NULL)
			return 0;
		users_free(&u->db);
		return -1;
	}
	if (users_lock(cfg->users_file, &u->lock, &error) == 0 &&
	    users_load(&u->db, cfg->users_file, &error) == 0)
		return 0;
	ctl_error("%s", error);
	free(error);
	users_unlock(&u->lock);
	return -1;
}

/* ctl_user_save - write the accounts back: the users file, or the difference to the tables. */
static bool ctl_user_save(const struct cfg *cfg, struct ctl_user_db *u)
{
	char *error = NULL;

	if (u->pg != NULL)
		return ctl_pg_commit(u->pg, &u->db, NULL) == 0;
	if (users_save(&u->db, cfg->users_file, &error) == 0)
		return true;
	ctl_error("%s", error);
	free(error);
	return false;
}

/* ctl_user_save_unlock - save when ok, then unlock and free; the exit status. */
static int ctl_user_save_unlock(const struct cfg *cfg, struct ctl_user_db *u, bool ok)
{
	char answer[256];

	ok = ok && ctl_user_save(cfg, u);
	ctl_pg_close(&u->pg); /* rolls back what was not committed */
	users_unlock(&u->lock);
	users_free(&u->db);
	/* a running daemon answers once it uses the new accounts; none running: nothing to do */
	if (ok)
		ctl_control_request(cfg, "users\n", answer, sizeof(answer));
	return ok ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}

/* ctl_user_store - add (add=true) or change an account under the lock. */
static int ctl_user_store(const struct cfg *cfg, const char *address, const char *hash,
			  const char *secret, bool add)
{
	struct ctl_user_db u;
	const char *error;
	int ret;

	if (ctl_user_load_locked(cfg, &u) < 0)
		return CTL_EXIT_ERROR;
	ret = add ? users_add(&u.db, address, hash, secret, &error)
		  : users_set(&u.db, address, hash, secret, &error);
	if (ret < 0)
		ctl_error("%s: %s", address, error);
	return ctl_user_save_unlock(cfg, &u, ret == 0);
}

/* ctl_user_write - common body of add and passwd. */
static int ctl_user_write(const struct cfg *cfg, const struct ctl_user_args *args, bool add)
{
	char secret[CTL_USER_SECRET_MAX];
	const char *error;
	char *address, *hash = NULL;
	int ret = CTL_EXIT_ERROR;

	if (users_address_normalize(args->address, &address, &error) < 0) {
		ctl_error("%s: %s", args->address, error);
		return CTL_EXIT_ERROR;
	}
	if (add)
		ctl_user_warn_domain(cfg, address);
	if (ctl_user_credentials(args->apop, &hash, secret, sizeof(secret)) == 0)
		ret = ctl_user_store(cfg, address, hash, args->apop ? secret : NULL, add);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (hash != NULL)
		OPENSSL_cleanse(hash, strlen(hash));
	free(hash);
	free(address);
	return ret;
}

/* ctl_user_add - "user add ADDRESS [--apop]". */
static int ctl_user_add(const struct cfg *cfg, const struct ctl_user_args *args)
{
	return ctl_user_write(cfg, args, true);
}

/*
 * ctl_user_passwd - "user passwd ADDRESS [--apop]". The account ends up
 * with exactly what was given: without --apop an old shared secret is
 * removed, since it is often the very password being replaced.
 */
static int ctl_user_passwd(const struct cfg *cfg, const struct ctl_user_args *args)
{
	return ctl_user_write(cfg, args, false);
}

/* ctl_user_del - "user del ADDRESS"; the mailbox is left alone. */
static int ctl_user_del(const struct cfg *cfg, const struct ctl_user_args *args)
{
	struct ctl_user_db u;
	bool ok;

	if (ctl_user_load_locked(cfg, &u) < 0)
		return CTL_EXIT_ERROR;
	ok = users_del(&u.db, args->address) == 0;
	if (!ok)
		ctl_error("%s: no such account", args->address);
	return ctl_user_save_unlock(cfg, &u, ok);
}

/* ctl_user_read - the accounts without a lock (the file, or the table in a read-only transaction). */
static int ctl_user_read(const struct cfg *cfg, struct users_db *db)
{
	struct ctl_pg *pg;
	char *error = NULL;

	users_init(db);
	if (ctl_pg_is_store(cfg)) {
		if ((pg = ctl_pg_open(cfg, false, db, NULL)) == NULL)
			return -1;
		ctl_pg_close(&pg);
		return 0;
	}
	if (users_load(db, cfg->users_file, &error) == 0)
		return 0;
	ctl_error("%s", error);
	free(error);
	return -1;
}

/* ctl_user_list - "user list": one address a line, " (apop)" with a secret. */
static int ctl_user_list(const struct cfg *cfg, const struct ctl_user_args *args)
{
	struct users_db db;

	(void)args;
	if (ctl_user_read(cfg, &db) < 0)
		return CTL_EXIT_ERROR;
	for (size_t i = 0; i < db.n; i++)
		printf("%s%s\n", db.accounts[i].address, db.accounts[i].secret ? " (apop)" : "");
	users_free(&db);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_error("write error on standard output");
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

static const struct ctl_user_verb ctl_user_verbs[] = {
	{ "add", ctl_user_add, true, true },
	{ "del", ctl_user_del, true, false },
	{ "passwd", ctl_user_passwd, true, true },
	{ "list", ctl_user_list, false, false },
};

/* ctl_user_find_verb - the table entry for name, or NULL. */
static const struct ctl_user_verb *ctl_user_find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(ctl_user_verbs) / sizeof(ctl_user_verbs[0]); i++) {
		if (strcmp(ctl_user_verbs[i].name, name) == 0)
			return &ctl_user_verbs[i];
	}
	return NULL;
}

/* ctl_user_parse_args - the operands after the verb; -1 on a usage error. */
static int ctl_user_parse_args(const struct ctl_user_verb *verb, int argc, char **argv,
			       struct ctl_user_args *args_r)
{
	memset(args_r, 0, sizeof(*args_r));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--apop") == 0 && verb->allows_apop)
			args_r->apop = true;
		else if (argv[i][0] == '-' || !verb->has_address || args_r->address != NULL)
			return -1;
		else
			args_r->address = argv[i];
	}
	return verb->has_address && args_r->address == NULL ? -1 : 0;
}

/* ctl_user_main - dispatch "user VERB ...". */
int ctl_user_main(const struct cfg *cfg, int argc, char **argv)
{
	const struct ctl_user_verb *verb;
	struct ctl_user_args args;

	if (argc < 2)
		return ctl_user_usage();
	verb = ctl_user_find_verb(argv[1]);
	if (verb == NULL) {
		ctl_error("user: unknown command '%s'", argv[1]);
		return ctl_user_usage();
	}
	if (ctl_user_parse_args(verb, argc - 2, argv + 2, &args) < 0)
		return ctl_user_usage();
	if (!ctl_pg_is_store(cfg) && ctl_run_as_owner(cfg, cfg->users_file) < 0)
		return CTL_EXIT_ERROR;
	return verb->handler(cfg, &args);
}

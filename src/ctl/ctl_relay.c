/*
 * ctl_relay - "posternctl relay list|grant|revoke|check|report": the relay
 * grants of SPEC.md, on the store the daemon uses (relay.store), so that
 * changes apply to the running daemon at once (it checks the store at
 * every RCPT). posternctl has no event loop: the store runs on a private
 * event_base through the relay_store_sync_* calls.
 */
#include "ctl/ctl.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/cfg.h"
#include "relay/grant_store.h"
#include "relay/relay_check.h"

/* What the command line of a relay verb said. */
struct ctl_relay_args {
	const char *address;
	const char *login;    /* grant --login */
	unsigned duration;    /* grant --for, report --since (seconds) */
	bool has_duration;
};

/* An open store on its private loop. */
struct ctl_relay_ctx {
	const struct cfg *cfg;
	struct event_base *base;
	struct relay_store *store;
	int64_t now;
};

struct ctl_relay_verb {
	const char *name;
	int (*handler)(struct ctl_relay_ctx *ctx, const struct ctl_relay_args *args);
	bool has_address;
	const char *options; /* accepted options: "login", "for", "since" */
};

/* ctl_relay_usage - the synopsis on stderr; returns CTL_EXIT_USAGE. */
static int ctl_relay_usage(void)
{
	fputs("usage: posternctl [-c FILE] relay list\n"
	      "       posternctl [-c FILE] relay grant ADDRESS [--login NAME] [--for DURATION]\n"
	      "       posternctl [-c FILE] relay revoke ADDRESS\n"
	      "       posternctl [-c FILE] relay check ADDRESS\n"
	      "       posternctl [-c FILE] relay report [--since DURATION]\n",
	      stderr);
	return CTL_EXIT_USAGE;
}

/* ctl_relay_fail - print a store error, free it; CTL_EXIT_ERROR. */
static int ctl_relay_fail(char *error)
{
	ctl_error("%s", error != NULL ? error : "grant store error");
	free(error);
	return CTL_EXIT_ERROR;
}

/* ctl_relay_key - the grant key of args->address; -1 after printing why not. */
static int ctl_relay_key(const struct ctl_relay_ctx *ctx, const char *address, char *key,
			 size_t size)
{
	const char *error;

	if (relay_grant_key(address, ctx->cfg->ipv6_prefix, key, size, &error) < 0) {
		ctl_error("%s: %s", address, error);
		return -1;
	}
	return 0;
}

/* ctl_relay_list - "relay list": the live grants. */
static int ctl_relay_list(struct ctl_relay_ctx *ctx, const struct ctl_relay_args *args)
{
	struct relay_grant *grants;
	char *error = NULL, t1[32], t2[32];
	size_t n;

	(void)args;
	if (relay_store_sync_list(ctx->store, ctx->now, &grants, &n, &error) != RELAY_STORE_OK)
		return ctl_relay_fail(error);
	printf("%-39s %-30s %-20s %-20s %s\n", "ADDRESS", "LOGIN", "GRANTED", "EXPIRES", "VIA");
	for (size_t i = 0; i < n; i++)
		printf("%-39s %-30s %-20s %-20s %s\n", grants[i].addr, grants[i].login,
		       relay_time_format(grants[i].granted, t1, sizeof(t1)),
		       relay_time_format(grants[i].expires, t2, sizeof(t2)),
		       grants[i].via[0] ? grants[i].via : "-");
	free(grants);
	return CTL_EXIT_OK;
}

/* ctl_relay_grant - "relay grant ADDRESS [--login NAME] [--for DURATION]". */
static int ctl_relay_grant(struct ctl_relay_ctx *ctx, const struct ctl_relay_args *args)
{
	struct relay_grant g = { .granted = ctx->now };
	char *error = NULL, t[32];
	bool renewed;

	if (ctl_relay_key(ctx, args->address, g.addr, sizeof(g.addr)) < 0)
		return CTL_EXIT_ERROR;
	if (!relay_grant_login_ok(args->login)) {
		ctl_error("--login: '%s' is not a valid login (no blanks, 1 to %d bytes)",
			  args->login, RELAY_LOGIN_MAX - 1);
		return CTL_EXIT_USAGE;
	}
	snprintf(g.login, sizeof(g.login), "%s", args->login);
	g.expires = ctx->now + (args->has_duration ? args->duration : ctx->cfg->relay_window);
	if (relay_store_sync_put(ctx->store, &g, &renewed, &error) != RELAY_STORE_OK)
		return ctl_relay_fail(error);
	printf("%s %s for %s until %s\n", renewed ? "renewed" : "granted", g.addr, g.login,
	       relay_time_format(g.expires, t, sizeof(t)));
	return CTL_EXIT_OK;
}

/* ctl_relay_revoke - "relay revoke ADDRESS". */
static int ctl_relay_revoke(struct ctl_relay_ctx *ctx, const struct ctl_relay_args *args)
{
	char key[RELAY_ADDR_MAX], *error = NULL;
	enum relay_store_status st;

	if (ctl_relay_key(ctx, args->address, key, sizeof(key)) < 0)
		return CTL_EXIT_ERROR;
	st = relay_store_sync_del(ctx->store, key, &error);
	if (st == RELAY_STORE_ERROR)
		return ctl_relay_fail(error);
	if (st == RELAY_STORE_NOT_FOUND) {
		ctl_error("%s: no grant", key);
		return CTL_EXIT_ERROR;
	}
	printf("revoked %s\n", key);
	return CTL_EXIT_OK;
}

/* The answer of relay_check, kept for the caller. */
struct ctl_relay_check_wait {
	bool done;
	struct relay_check_answer a;
	char error[256];
};

/* ctl_relay_check_cb - relay_check answered. */
static void ctl_relay_check_cb(void *arg, const struct relay_check_answer *a)
{
	struct ctl_relay_check_wait *w = arg;

	w->a = *a;
	if (a->error != NULL) {
		snprintf(w->error, sizeof(w->error), "%s", a->error); /* borrowed for the call */
		w->a.error = w->error;
	}
	w->done = true;
}

/* ctl_relay_check - "relay check ADDRESS": exit 0 when it may relay now, one line why. */
static int ctl_relay_check(struct ctl_relay_ctx *ctx, const struct ctl_relay_args *args)
{
	struct ctl_relay_check_wait w = { .done = false };
	char line[512];

	relay_check(ctx->base, ctx->store, ctx->cfg, args->address, ctx->now, ctl_relay_check_cb,
		    &w);
	while (!w.done)
		event_base_loop(ctx->base, EVLOOP_ONCE);
	if (w.a.result == RELAY_CHECK_ERROR || w.a.result == RELAY_CHECK_INVALID)
		ctl_error("%s: %s", args->address, relay_check_describe(&w.a, line, sizeof(line)));
	else
		printf("%s\n", relay_check_describe(&w.a, line, sizeof(line)));
	return relay_check_allowed(&w.a) ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}

/* ctl_relay_report - "relay report [--since DURATION]": per login, count and last time. */
static int ctl_relay_report(struct ctl_relay_ctx *ctx, const struct ctl_relay_args *args)
{
	int64_t since = args->has_duration ? ctx->now - args->duration : 0;
	struct relay_usage *usage;
	char *error = NULL, t[32];
	size_t n;

	if (relay_store_sync_report(ctx->store, since, &usage, &n, &error) != RELAY_STORE_OK)
		return ctl_relay_fail(error);
	printf("%-40s %8s %s\n", "LOGIN", "MESSAGES", "LAST");
	for (size_t i = 0; i < n; i++)
		printf("%-40s %8llu %s\n", usage[i].login, (unsigned long long)usage[i].count,
		       relay_time_format(usage[i].last, t, sizeof(t)));
	free(usage);
	return CTL_EXIT_OK;
}

static const struct ctl_relay_verb ctl_relay_verbs[] = {
	{ "list", ctl_relay_list, false, "" },
	{ "grant", ctl_relay_grant, true, "login,for" },
	{ "revoke", ctl_relay_revoke, true, "" },
	{ "check", ctl_relay_check, true, "" },
	{ "report", ctl_relay_report, false, "since" },
};

/* ctl_relay_allows - whether name is one of verb's comma separated options. */
static bool ctl_relay_allows(const struct ctl_relay_verb *verb, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = verb->options; *p != '\0'; p += strcspn(p, ","), p += *p == ',') {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* ctl_relay_option - apply "--NAME VALUE" (name allowed by verb); -1 on error. */
static int ctl_relay_option(const struct ctl_relay_verb *verb, const char *name,
			    const char *value, struct ctl_relay_args *args)
{
	if (!ctl_relay_allows(verb, name) || value == NULL)
		return -1;
	if (strcmp(name, "login") == 0) {
		args->login = value;
		return 0;
	}
	if (cfg_parse_duration(value, &args->duration) < 0) {
		ctl_error("--%s: '%s' is not a duration (e.g. 90s, 15m, 2h, 1d)", name, value);
		return -1;
	}
	args->has_duration = true;
	return 0;
}

/* ctl_relay_parse - the arguments after the verb; -1 on a usage error. */
static int ctl_relay_parse(const struct ctl_relay_verb *verb, int argc, char **argv,
			   struct ctl_relay_args *args)
{
	int i = 2;

	args->login = "manual";
	if (verb->has_address) {
		if (argc <= i || argv[i][0] == '-')
			return -1;
		args->address = argv[i++];
	}
	for (; i < argc; i += 2) {
		if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0' ||
		    ctl_relay_option(verb, argv[i] + 2, i + 1 < argc ? argv[i + 1] : NULL, args) < 0)
			return -1;
	}
	return 0;
}

/* ctl_relay_run - open the store on a private loop, run the verb, close. */
static int ctl_relay_run(const struct cfg *cfg, const struct ctl_relay_verb *verb,
			 const struct ctl_relay_args *args)
{
	struct ctl_relay_ctx ctx = { .cfg = cfg, .now = (int64_t)time(NULL) };
	char *error = NULL;
	int status;

	/* as root, an LMDB store is made as the daemon's user, who must open it later */
	if (strncmp(cfg->relay_store, "lmdb:", 5) == 0 &&
	    ctl_run_as_owner(cfg, cfg->relay_store + 5) < 0)
		return CTL_EXIT_ERROR;
	if ((ctx.base = event_base_new()) == NULL) {
		ctl_error("cannot create an event loop");
		return CTL_EXIT_ERROR;
	}
	ctx.store = relay_store_open(cfg->relay_store, ctx.base, &error);
	if (ctx.store == NULL) {
		event_base_free(ctx.base);
		return ctl_relay_fail(error);
	}
	status = verb->handler(&ctx, args);
	relay_store_close(&ctx.store);
	event_base_free(ctx.base);
	return status;
}

int ctl_relay_main(const struct cfg *cfg, int argc, char **argv)
{
	struct ctl_relay_args args = { 0 };

	if (argc < 2)
		return ctl_relay_usage();
	for (size_t i = 0; i < sizeof(ctl_relay_verbs) / sizeof(ctl_relay_verbs[0]); i++) {
		const struct ctl_relay_verb *verb = &ctl_relay_verbs[i];
		if (strcmp(argv[1], verb->name) != 0)
			continue;
		if (ctl_relay_parse(verb, argc, argv, &args) < 0)
			return ctl_relay_usage();
		return ctl_relay_run(cfg, verb, &args);
	}
	ctl_error("relay: unknown verb '%s'", argv[1]);
	return ctl_relay_usage();
}

/*
 * posternctl - the administration tool: global options, the configuration,
 * then one subcommand from the table below. Each subcommand lives in
 * src/ctl/ctl_NAME.c; adding one is adding a file and a table row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg.h"
#include "ctl/ctl.h"
#include "util/log.h"

struct posternctl_command {
	const char *name;
	int (*handler)(const struct cfg *cfg, int argc, char **argv);
	const char *synopsis;
};

static const struct posternctl_command posternctl_commands[] = {
	{ "user", ctl_user_main, "user add|del|passwd|list ..." },
	{ "alias", ctl_alias_main, "alias add ADDRESS TARGET[,TARGET...] | del ADDRESS | list" },
	{ "relay", ctl_relay_main, "relay list|grant|revoke|check|report ..." },
	{ "queue", ctl_queue_main, "queue list|show ID|flush|delete ID" },
	{ "dkim", ctl_dkim_main, "dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519] | list" },
	{ "autoconfig", ctl_autoconfig_main, "autoconfig DOMAIN [--xml|--dns]" },
	{ "sendmail", ctl_sendmail_main, "sendmail [-t] [-i] [-f SENDER] [RECIPIENT ...] < message" },
};

#define POSTERNCTL_N_COMMANDS (sizeof(posternctl_commands) / sizeof(posternctl_commands[0]))

/* posternctl_usage - the synopsis on out; returns status. */
static int posternctl_usage(FILE *out, int status)
{
	fputs("usage: posternctl [-c FILE] COMMAND ...\ncommands:\n", out);
	for (size_t i = 0; i < POSTERNCTL_N_COMMANDS; i++)
		fprintf(out, "  %s\n", posternctl_commands[i].synopsis);
	return status;
}

/* posternctl_find - the command called name, or NULL. */
static const struct posternctl_command *posternctl_find(const char *name)
{
	for (size_t i = 0; i < POSTERNCTL_N_COMMANDS; i++) {
		if (strcmp(posternctl_commands[i].name, name) == 0)
			return &posternctl_commands[i];
	}
	return NULL;
}

/* posternctl_run - load the configuration and run one command. */
static int posternctl_run(const struct posternctl_command *cmd, const char *config_path,
			  int argc, char **argv)
{
	struct cfg cfg;
	char *error = NULL;
	int status;

	if (cfg_load(&cfg, config_path, &error) < 0) {
		ctl_error("%s", error ? error : "cannot load the configuration");
		free(error);
		cfg_free(&cfg);
		return CTL_EXIT_ERROR;
	}
	status = cmd->handler(&cfg, argc, argv);
	cfg_free(&cfg);
	return status;
}

/* main - parse global options and dispatch. */
int main(int argc, char **argv)
{
	const struct posternctl_command *cmd;
	const char *config_path = NULL;
	int opt;

	log_init("posternctl", false);
	const char *base = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(base, "sendmail") == 0 || strcmp(base, "mailq") == 0)
		return ctl_sendmail_entry(argc, argv, strcmp(base, "mailq") == 0);
	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		return posternctl_usage(stdout, CTL_EXIT_OK);
	while ((opt = getopt(argc, argv, "+c:h")) != -1) {
		if (opt == 'c')
			config_path = optarg;
		else
			return posternctl_usage(opt == 'h' ? stdout : stderr,
						opt == 'h' ? CTL_EXIT_OK : CTL_EXIT_USAGE);
	}
	if (optind >= argc)
		return posternctl_usage(stderr, CTL_EXIT_USAGE);
	cmd = posternctl_find(argv[optind]);
	if (cmd == NULL) {
		ctl_error("unknown command '%s'", argv[optind]);
		return posternctl_usage(stderr, CTL_EXIT_USAGE);
	}
	return posternctl_run(cmd, config_path, argc - optind, argv + optind);
}

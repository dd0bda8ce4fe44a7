// FUZZ_SOURCES: src/config/cfg.c src/config/cfg_value.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_cfg - cfg_parse over arbitrary bytes: no crash, no leak, and on
 * success a configuration whose derived keys are set and lists consistent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_cfg_check - invariants of a configuration that parsed. */
static void fuzz_cfg_check(const struct cfg *cfg)
{
	if (cfg->hostname == NULL || cfg->data_dir == NULL || cfg->users_file == NULL ||
	    cfg->relay_store == NULL || cfg->max_recipients == 0 || cfg->ipv6_prefix > 128)
		abort();
	for (size_t i = 0; i < cfg->smtp_listen.n; i++)
		if (cfg->smtp_listen.items[i][0] == '\0')
			abort();
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].port == 0 || cfg->routes[i].port > 65535 ||
		    !cfg_route_find(cfg, cfg->routes[i].domain, strlen(cfg->routes[i].domain)))
			abort();
	for (size_t i = 0; i < cfg->local_domains.n; i++)
		if (!cfg_is_local_domain(cfg, cfg->local_domains.items[i], strlen(cfg->local_domains.items[i])))
			abort();
}

/* LLVMFuzzerTestOneInput - parse one input as a configuration file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg cfg;
	char *error = NULL;

	cfg_init(&cfg);
	if (cfg_parse(&cfg, (const char *)data, size, "fuzz.conf", &error) == 0) {
		if (error != NULL)
			abort();
		fuzz_cfg_check(&cfg);
	} else if (error == NULL || strncmp(error, "fuzz.conf:", 10) != 0) {
		abort();
	}
	free(error);
	cfg_free(&cfg);
	return 0;
}

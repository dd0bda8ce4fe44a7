// FUZZ_SOURCES: src/relay/policy_parse.c
/*
 * fuzz_policy - the policy delegation request parser over arbitrary bytes
 * (the seeds are what Postfix sends), fed whole, byte by byte and in
 * pieces of 7: no crash, and the same outcome each way (the parser is
 * incremental).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/policy_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_policy_run - parse every request of data[0..size) in pieces of at most step; a digest. */
static size_t fuzz_policy_run(struct relay_policy_parser *p, const uint8_t *data, size_t size,
			      size_t step)
{
	size_t pos = 0, digest = 0, used;
	const char *error;

	relay_policy_parser_init(p, NULL);
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step;
		int r = relay_policy_parse(p, (const char *)data + pos, n, &used, &error);
		if (used > n || (r == 0 && used != n))
			abort();
		pos += used;
		if (r < 0)
			return digest * 31 + 7;
		if (r == 1) {
			const char *ip = relay_policy_attr(p, "client_address");
			digest = digest * 31 + 1 + (ip != NULL ? strlen(ip) : 0);
			relay_policy_parser_reset(p);
		}
	}
	return digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct relay_policy_parser p;
	size_t whole = fuzz_policy_run(&p, data, size, size > 0 ? size : 1);

	if (fuzz_policy_run(&p, data, size, 1) != whole || fuzz_policy_run(&p, data, size, 7) != whole)
		abort();
	return 0;
}

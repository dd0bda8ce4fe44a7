// FUZZ_SOURCES: src/relay/grant.c
/*
 * fuzz_grant - the stored text of a grant and the key of an address over
 * arbitrary bytes: no crash; a text that parses formats back to the same
 * bytes (one grant, one text); a key is a fixed point (its own key).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/grant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_grant_text - parse, format, compare. */
static void fuzz_grant_text(const uint8_t *data, size_t size)
{
	struct relay_grant g;
	char text[RELAY_GRANT_TEXT_MAX];
	const char *error;
	int n;

	if (relay_grant_parse((const char *)data, size, &g, &error) < 0)
		return;
	n = relay_grant_format(&g, text, sizeof(text));
	if (n < 0 || (size_t)n != size || memcmp(text, data, size) != 0)
		abort();
}

/* fuzz_grant_key - a key, when there is one, maps to itself. */
static void fuzz_grant_key(const uint8_t *data, size_t size)
{
	char ip[128], key[RELAY_ADDR_MAX], again[RELAY_ADDR_MAX];
	const char *error;
	unsigned prefix = size > 0 ? data[0] % 129 : 128;

	if (size == 0 || size >= sizeof(ip))
		return;
	memcpy(ip, data + 1, size - 1);
	ip[size - 1] = '\0';
	if (relay_grant_key(ip, prefix, key, sizeof(key), &error) < 0)
		return;
	if (relay_grant_key(key, prefix, again, sizeof(again), &error) < 0 || strcmp(key, again))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_grant_text(data, size);
	fuzz_grant_key(data, size);
	return 0;
}

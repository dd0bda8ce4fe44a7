// FUZZ_SOURCES: src/auth/pg_schema.c src/util/log.c src/util/xalloc.c
// FUZZ_LIBS: -I/usr/include/postgresql -lpq
/*
 * fuzz_pg_notice - a NOTIFY payload on hostile text (any host, or anyone
 * with a connection to the database, may notify the channel). What it
 * names fits the buffer, ends with a NUL, is the text after the first
 * ':' and is never empty; anything else names a whole table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/pg_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *payload = malloc(size + 1), addr[64];
	const char *colon;

	if (payload == NULL)
		return 0;
	memcpy(payload, data, size);
	payload[size] = '\0';
	colon = strchr(payload, ':');
	if (pg_schema_notice(payload, addr, sizeof(addr))) {
		if (colon == NULL || addr[0] == '\0' || strlen(addr) >= sizeof(addr) ||
		    strcmp(addr, colon + 1) != 0)
			abort();
	} else if (colon != NULL && colon[1] != '\0' && strlen(colon + 1) < sizeof(addr)) {
		abort();
	}
	free(payload);
	return 0;
}

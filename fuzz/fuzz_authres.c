// FUZZ_SOURCES: src/dmarc/authres.c src/dmarc/dmarc_idna.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_authres - Authentication-Results writing and recognising on hostile
 * input. authres_claims reads the whole input as a field value; then the
 * input, split at NUL bytes, fills every field of a struct authres (one or
 * two DKIM verdicts). Invariants, abort() on a broken one: the output is
 * printable ASCII with "\n\t" folds and one final "\n", no line past 998
 * octets; and a host name that is a plain token is claimed by what was
 * written for it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc/authres.h"

#define FUZZ_AUTHRES_FIELDS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_authres_check - the output shape: printable ASCII, folds, short lines. */
static void fuzz_authres_check(const char *s)
{
	size_t line = 0, n = strlen(s);

	if (n == 0 || s[n - 1] != '\n')
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') {
			if (i + 1 < n && s[i + 1] != '\t')
				abort();
			line = 0;
			continue;
		}
		if (!((c >= 0x20 && c < 0x7f) || (c == '\t' && line == 0)) || ++line > 998)
			abort();
	}
}

/* fuzz_authres_token_host - a host name the written field must name bare: token chars, no trailing dot. */
static bool fuzz_authres_token_host(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > AUTHRES_VALUE_MAX || h[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] <= 0x20 || (unsigned char)h[i] >= 0x7f || strchr("()<>@,;:\\\"/[]?=", h[i]))
			return false;
	return true;
}

/* fuzz_authres_format - fill the struct from the fields f (NULL for an empty one past the input). */
static void fuzz_authres_format(const char **f)
{
	struct authres_dkim d[2] = {{f[4], f[5], f[6], f[7], f[8]}, {f[9], f[10], f[11], f[12], f[13]}};
	struct authres ar = {f[0] ? f[0] : "", f[1], f[2], f[3], d, f[9] ? 2 : f[4] ? 1 : 0, f[14], f[15], f[2], f[1]};
	char *out = authres_format(&ar);
	const char *value = out + strlen("Authentication-Results:");

	fuzz_authres_check(out);
	if (strncmp(out, "Authentication-Results: ", 24) != 0)
		abort();
	if (fuzz_authres_token_host(ar.hostname) && !authres_claims(value, strlen(value), ar.hostname))
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *fields[FUZZ_AUTHRES_FIELDS] = {0};
	char *buf = malloc(size + 1);
	size_t pos = 0;

	authres_claims((const char *)data, size, "mx.example.org");
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i < FUZZ_AUTHRES_FIELDS && pos <= size; i++) {
		fields[i] = buf + pos;
		pos += strlen(buf + pos) + 1;
	}
	fuzz_authres_format(fields);
	free(buf);
	return 0;
}

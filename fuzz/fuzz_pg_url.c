// FUZZ_SOURCES: src/auth/pg_url.c
/*
 * fuzz_pg_url - the auth.store URL parser, redaction and scrubbing on
 * hostile text. A URL that parses has its parts inside it; redacted, it
 * parses again to the same user, host, port and database, with "***" in
 * place of each secret, and redacting again changes nothing. Whatever the
 * input, redaction and scrubbing stay inside their buffers and end with a
 * NUL, and a scrubbed URL holds none of its own secrets (but for those with
 * a '*', which the "***" put in their place may rebuild).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/pg_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_pg_url_same - span a of x and span b of y hold the same text. */
static int fuzz_pg_url_same(const char *x, struct pg_url_span a, const char *y, struct pg_url_span b)
{
	return a.len == b.len && memcmp(x + a.off, y + b.off, a.len) == 0;
}

/* fuzz_pg_url_parsed - the invariants of a URL that parses. */
static void fuzz_pg_url_parsed(const char *url, const struct pg_url *r, size_t len)
{
	static char red[PG_URL_MAX * 2], again[PG_URL_MAX * 2];
	struct pg_url r2;
	const char *error;

	if (r->user.off + r->user.len > len || r->host.off + r->host.len > len ||
	    r->dbname.off + r->dbname.len > len || r->n_secrets > PG_URL_SECRETS ||
	    r->user.len == 0 || r->host.len == 0 || r->dbname.len == 0 || r->port_number == 0)
		abort();
	pg_url_redact(url, red, sizeof(red));
	if (pg_url_parse(red, &r2, &error) < 0 || r2.n_secrets != r->n_secrets ||
	    !fuzz_pg_url_same(url, r->user, red, r2.user) ||
	    !fuzz_pg_url_same(url, r->host, red, r2.host) ||
	    !fuzz_pg_url_same(url, r->dbname, red, r2.dbname) || r2.port_number != r->port_number ||
	    r2.host_kind != r->host_kind || r2.has_password != r->has_password)
		abort();
	for (size_t i = 0; i < r2.n_secrets; i++)
		if (r2.secrets[i].len != 3 || memcmp(red + r2.secrets[i].off, "***", 3) != 0)
			abort();
	pg_url_redact(red, again, sizeof(again));
	if (strcmp(red, again) != 0)
		abort();
}

/* fuzz_pg_url_any - redaction and scrubbing of anything stay in bounds. */
static void fuzz_pg_url_any(const char *url)
{
	static char buf[PG_URL_MAX * 2 + 64];
	char small[16];
	struct pg_url r;
	const char *error;

	pg_url_redact(url, small, sizeof(small));
	if (memchr(small, '\0', sizeof(small)) == NULL)
		abort();
	pg_url_scrub(url, url, buf, sizeof(buf));
	if (memchr(buf, '\0', sizeof(buf)) == NULL)
		abort();
	if (pg_url_parse(url, &r, &error) == 0)
		for (size_t i = 0; i < r.n_secrets; i++)
			if (r.secrets[i].len > 0 &&
			    memchr(url + r.secrets[i].off, '*', r.secrets[i].len) == NULL &&
			    memmem(buf, strlen(buf), url + r.secrets[i].off, r.secrets[i].len) != NULL)
				abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1);
	struct pg_url r;
	const char *error = NULL;
	int rc;

	if (url == NULL)
		abort();
	memcpy(url, data, size);
	url[size] = '\0';
	rc = pg_url_parse(url, &r, &error);
	if (rc != pg_url_check(url, &error))
		abort();
	if (rc == 0)
		fuzz_pg_url_parsed(url, &r, strlen(url));
	else if (error == NULL || error[0] == '\0')
		abort();
	fuzz_pg_url_any(url);
	free(url);
	return 0;
}

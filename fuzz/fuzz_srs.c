// FUZZ_SOURCES: src/addr/srs.c
// FUZZ_LIBS: -lcrypto
/*
 * fuzz_srs - SRS forward and reverse on hostile addresses. The first byte
 * picks the clock (4-day steps over ~1000 days, so stamps wrap), the rest is
 * the address. Invariants, abort() on a broken one: results in range; out
 * always NUL-terminated in its buffer and "" on refusal; what srs_forward
 * writes, srs_reverse reads back (or finds expired, for an SRS0 stamp we
 * only carried); and forwarding that again writes the same address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr/srs.h"

#define FUZZ_SRS_DOMAIN "fwd.example"
#define FUZZ_SRS_T 1577836860 /* 2020-01-01 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_srs_out_ok - out is terminated within its buffer, and "" unless rc says it holds something. */
static void fuzz_srs_out_ok(enum srs_result rc, const char *out)
{
	if (rc < SRS_OK || rc > SRS_BAD_PARAMS || memchr(out, '\0', SRS_ADDRESS_MAX + 1) == NULL)
		abort();
	if (rc != SRS_OK && rc != SRS_OWN_DOMAIN && out[0] != '\0')
		abort();
}

/* fuzz_srs_round_trip - srs is what srs_forward wrote: it must read back and forward the same. */
static void fuzz_srs_round_trip(const struct srs_params *p, const char *srs)
{
	char back[SRS_ADDRESS_MAX + 1], again[SRS_ADDRESS_MAX + 1];
	size_t n = strlen(srs), dn = strlen(FUZZ_SRS_DOMAIN);
	enum srs_result rc;

	if (n <= dn + 1 || strcmp(srs + n - dn, FUZZ_SRS_DOMAIN) != 0 || srs[n - dn - 1] != '@' ||
	    !srs_is_srs_local(srs, n - dn - 1))
		abort();
	rc = srs_reverse(p, srs, n, back);
	fuzz_srs_out_ok(rc, back);
	if (rc == SRS_EXPIRED && (strncmp(srs, "SRS1=", 5) == 0 || strncmp(srs, "\"SRS1=", 6) == 0))
		return; /* the SRS0 stamp inside was old when it came */
	if (rc != SRS_OK)
		abort();
	rc = srs_forward(p, back, strlen(back), again);
	fuzz_srs_out_ok(rc, again);
	if (rc == SRS_OWN_DOMAIN)
		return; /* an SRS1 whose first hop is us */
	if (rc != SRS_OK || strcmp(again, srs) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srs_params p = {
		.secret = (const unsigned char *)"fuzz-secret",
		.secret_len = 11,
		.domain = FUZZ_SRS_DOMAIN,
	};
	char out[SRS_ADDRESS_MAX + 1];
	enum srs_result rc;

	if (size == 0)
		return 0;
	p.now = FUZZ_SRS_T + (time_t)data[0] * 4 * 86400;
	p.max_age_days = data[0] % 4 == 0 ? 0 : data[0];
	rc = srs_reverse(&p, (const char *)data + 1, size - 1, out);
	fuzz_srs_out_ok(rc, out);
	if (rc == SRS_OK && strchr(out, '@') == NULL)
		abort();
	rc = srs_forward(&p, (const char *)data + 1, size - 1, out);
	fuzz_srs_out_ok(rc, out);
	if (rc == SRS_OK)
		fuzz_srs_round_trip(&p, out);
	return 0;
}

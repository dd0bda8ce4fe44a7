// FUZZ_SOURCES: src/mailauth/mailauth_strip.c src/mailauth/mailauth_stream.c src/dmarc/authres.c src/dmarc/dmarc_idna.c src/dkim/dkim_body.c src/dkim/dkim_canon.c src/dkim/dkim_tags.c src/util/xalloc.c src/util/log.c
// FUZZ_LIBS: -lcrypto
/*
 * fuzz_mailauth_strip - a hostile header section through the forged
 * Authentication-Results: filter and the header/body splitter. Invariants,
 * abort() on a broken one: the filter never grows the section, and
 * filtering its own output changes nothing; the splitter takes the same
 * header section whatever the write sizes (the first byte picks them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/mailauth_stream.h"
#include "mailauth/mailauth_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_split - the header length when text is fed step bytes at a time. */
static size_t fuzz_split(const char *text, size_t len, size_t step)
{
	struct mailauth_stream st;
	size_t head = 0;

	mailauth_stream_init(&st);
	for (size_t off = 0; off < len && !st.in_body; off += step)
		head += mailauth_stream_head(&st, text + off, off + step <= len ? step : len - off);
	if (head != st.head_len && !st.head_over)
		abort();
	mailauth_stream_clear(&st);
	return head;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	size_t len = size > 0 ? size - 1 : 0;
	char *once, *twice;
	size_t n1, n2;

	if (size == 0)
		return 0;
	once = malloc(len + 1);
	twice = malloc(len + 1);
	n1 = mailauth_strip_authres(text, len, "mx.example.test", once);
	n2 = mailauth_strip_authres(once, n1, "mx.example.test", twice);
	if (n1 > len || n2 != n1 || memcmp(once, twice, n1) != 0)
		abort();
	if (fuzz_split(text, len, len > 0 ? len : 1) != fuzz_split(text, len, 1 + data[0] % 16))
		abort();
	free(once);
	free(twice);
	return 0;
}

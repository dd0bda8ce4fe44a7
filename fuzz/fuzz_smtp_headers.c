// FUZZ_SOURCES: src/smtp/smtp_headers.c
/*
 * fuzz_smtp_headers - the header scanner fed in chunks whose sizes come
 * from the input's first bytes, compared with one-shot feeding and with a
 * line-by-line reference; abort() on any difference. The From: field it
 * keeps (the same either way) then goes through the address parser, whose
 * every address must be a non-empty string without control characters.
 *
 * Input: [0] number of chunk sizes n (0..7), then n chunk sizes (0 means
 * 1), then the message (LF line ends, as the DATA reader emits it).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference's verdict. */
struct fuzz_hdr_ref {
	bool done;
	size_t end; /* offset of the blank line */
	bool saw_date, saw_message_id;
};

/* fuzz_hdr_name - a header line's name (before ':', white space dropped) is want. */
static bool fuzz_hdr_name(const char *line, size_t len, const char *want)
{
	const char *colon = memchr(line, ':', len);
	size_t n = 0, wlen = strlen(want);

	if (colon == NULL || line[0] == ' ' || line[0] == '\t')
		return false;
	for (const char *p = line; p < colon; p++) {
		if (*p == ' ' || *p == '\t')
			continue;
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p;
		if (n >= wlen || c != want[n])
			return false;
		n++;
	}
	return n == wlen;
}

/* fuzz_hdr_reference - one pass over whole lines. */
static void fuzz_hdr_reference(const char *msg, size_t len, struct fuzz_hdr_ref *r)
{
	size_t pos = 0;

	memset(r, 0, sizeof(*r));
	while (pos < len) {
		const char *nl = memchr(msg + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - msg) : len;
		if (nl != NULL && end == pos) {
			r->done = true;
			r->end = pos;
			return;
		}
		r->saw_date |= fuzz_hdr_name(msg + pos, end - pos, "date");
		r->saw_message_id |= fuzz_hdr_name(msg + pos, end - pos, "message-id");
		pos = end + 1;
	}
}

/* fuzz_hdr_feed - feed in chunks (cycled; none: one shot); the offset of the end or len. */
static size_t fuzz_hdr_feed(const char *msg, size_t len, const uint8_t *chunks, size_t nchunks,
			    struct smtp_header_scan *h)
{
	size_t pos = 0, k = 0;

	smtp_headers_init(h);
	while (pos < len) {
		size_t n = nchunks > 0 ? chunks[k++ % nchunks] : len;
		n = n > 0 ? n : 1;
		if (n > len - pos)
			n = len - pos;
		size_t off = smtp_headers_feed(h, msg + pos, n);
		if (h->done) {
			if (off >= n || msg[pos + off] != '\n')
				abort();
			return pos + off;
		}
		if (off != n)
			abort();
		pos += n;
	}
	return len;
}

/* fuzz_hdr_from - the addresses of the kept From: field are sane strings. */
static void fuzz_hdr_from(const struct smtp_header_scan *h)
{
	char out[4][SMTP_FROM_ADDR_MAX];
	int n = smtp_headers_from_addresses(h->from, h->from_len, out, 4);

	if (n < -1 || n > 4)
		abort();
	for (int i = 0; i < n; i++) {
		size_t len = strnlen(out[i], SMTP_FROM_ADDR_MAX);
		if (len == 0 || len == SMTP_FROM_ADDR_MAX)
			abort();
		for (size_t k = 0; k < len; k++)
			if (((unsigned char)out[i][k] < 0x20 && out[i][k] != '\t') || out[i][k] == 0x7f)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_header_scan one, chunked;
	struct fuzz_hdr_ref ref;
	size_t nchunks, skip, end1, end2;
	char *msg;

	if (size < 1)
		return 0;
	nchunks = data[0] % 8;
	skip = 1 + nchunks;
	if (size < skip)
		return 0;
	msg = malloc(size - skip + 1);
	if (msg == NULL)
		abort();
	memcpy(msg, data + skip, size - skip);
	end1 = fuzz_hdr_feed(msg, size - skip, NULL, 0, &one);
	end2 = fuzz_hdr_feed(msg, size - skip, data + 1, nchunks, &chunked);
	fuzz_hdr_reference(msg, size - skip, &ref);
	if (end1 != end2 || one.done != chunked.done || one.saw_date != chunked.saw_date ||
	    one.saw_message_id != chunked.saw_message_id)
		abort();
	if (one.done != ref.done || (ref.done && end1 != ref.end) ||
	    one.saw_date != ref.saw_date || one.saw_message_id != ref.saw_message_id)
		abort();
	if (one.n_from != chunked.n_from || one.from_len != chunked.from_len ||
	    memcmp(one.from, chunked.from, one.from_len) != 0)
		abort();
	fuzz_hdr_from(&one);
	free(msg);
	return 0;
}

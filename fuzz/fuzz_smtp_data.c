// FUZZ_SOURCES: src/smtp/smtp_data.c
/*
 * fuzz_smtp_data - the DATA reader fed in chunks whose sizes come from the
 * input's first bytes, compared with one-shot and byte-at-a-time feeding;
 * abort() on any difference or broken invariant.
 *
 * Input: [0] max_line selector, [1] max_size selector, [2] number of chunk
 * sizes n (0..7), then n chunk sizes (0 means 1), then the message bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The outcome of one way of feeding the input. */
struct fuzz_data_result {
	char *out;
	size_t out_len;
	size_t consumed;
	struct smtp_data_reader r;
};

/* fuzz_data_feed - feed in[0..len) in chunks (cycled; none: one shot). */
static void fuzz_data_feed(const char *in, size_t len, size_t max_size, size_t max_line,
			   const uint8_t *chunks, size_t nchunks, struct fuzz_data_result *res)
{
	size_t k = 0, n, used, out_len;

	res->out = malloc(len > 0 ? len : 1);
	res->out_len = res->consumed = 0;
	if (res->out == NULL)
		abort();
	smtp_data_init(&res->r, max_size, max_line);
	while (res->consumed < len && !res->r.done) {
		n = nchunks > 0 ? chunks[k++ % nchunks] : len - res->consumed;
		n = n > 0 ? n : 1;
		if (n > len - res->consumed)
			n = len - res->consumed;
		used = smtp_data_feed(&res->r, in + res->consumed, n, res->out + res->out_len,
				      &out_len);
		if (used > n || out_len > used || (used < n && !res->r.done))
			abort();
		res->consumed += used;
		res->out_len += out_len;
	}
}

/* fuzz_data_same - two ways of feeding gave the same result. */
static void fuzz_data_same(const struct fuzz_data_result *a, const struct fuzz_data_result *b)
{
	if (a->out_len != b->out_len || memcmp(a->out, b->out, a->out_len) != 0 ||
	    a->consumed != b->consumed || a->r.size != b->r.size ||
	    a->r.lines != b->r.lines || a->r.error != b->r.error || a->r.done != b->r.done)
		abort();
}

/* fuzz_data_check - invariants of one-shot feeding. */
static void fuzz_data_check(const char *in, size_t len, const struct fuzz_data_result *res)
{
	const char *crlf_dot = memmem(in, len, "\r\n.\r\n", 5);
	size_t i, nl = 0, end = 0; /* just after the first CRLF.CRLF, 0: none */

	if (len >= 3 && memcmp(in, ".\r\n", 3) == 0)
		end = 3;
	else if (crlf_dot != NULL)
		end = (size_t)(crlf_dot - in) + 5;
	if (res->r.done != (end != 0) || (end != 0 && res->consumed != end) ||
	    (end == 0 && res->consumed != len))
		abort();
	if (memchr(res->out, '\r', res->out_len) != NULL ||
	    memchr(res->out, '\0', res->out_len) != NULL || res->out_len > res->consumed)
		abort();
	if (res->r.error != SMTP_DATA_OK || smtp_data_error_reply(res->r.error) != NULL)
		return;
	for (i = 0; i < res->out_len; i++)
		nl += res->out[i] == '\n';
	if (res->r.lines != nl || res->r.size != res->out_len + nl ||
	    (res->r.max_size != 0 && res->r.size > res->r.max_size))
		abort();
}

/* fuzz_data_limit - a limit from one selector byte: none, tiny or large. */
static size_t fuzz_data_limit(uint8_t b)
{
	if (b < 64)
		return 0;
	return b < 192 ? (size_t)(b - 64) : (size_t)(b - 192) * 64;
}

/* LLVMFuzzerTestOneInput - see the top of the file for the input layout. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_data_result one, chunked, bytes;
	size_t max_line, max_size, nchunks, len;
	static const uint8_t one_byte = 1;
	char *in;

	if (size < 3)
		return 0;
	max_line = fuzz_data_limit(data[0]);
	max_size = fuzz_data_limit(data[1]);
	nchunks = data[2] % 8;
	if (size < 3 + nchunks)
		return 0;
	len = size - 3 - nchunks;
	in = malloc(len > 0 ? len : 1);
	if (in == NULL)
		abort();
	memcpy(in, data + 3 + nchunks, len);
	fuzz_data_feed(in, len, max_size, max_line, NULL, 0, &one);
	fuzz_data_check(in, len, &one);
	fuzz_data_feed(in, len, max_size, max_line, data + 3, nchunks, &chunked);
	fuzz_data_same(&one, &chunked);
	fuzz_data_feed(in, len, max_size, max_line, &one_byte, 1, &bytes);
	fuzz_data_same(&one, &bytes);
	free(one.out);
	free(chunked.out);
	free(bytes.out);
	free(in);
	return 0;
}

// FUZZ_SOURCES: src/delivery/smtpc_proto.c
/*
 * fuzz_smtp_reply - the outbound client's pure parsers on hostile input:
 * reply lines (split at LF) through smtpc_reply_feed, each complete reply's
 * text through smtpc_caps_parse, and the whole input through the
 * dot-stuffer, checked by undoing the stuffing; abort() on a broken
 * invariant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/smtpc_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_reply_check - invariants of a complete reply. */
static void fuzz_reply_check(const struct smtpc_reply *r)
{
	struct smtpc_caps caps;

	if (r->code < 200 || r->code > 559 || r->text_len >= sizeof(r->text) ||
	    strlen(r->text) != r->text_len || r->lines == 0)
		abort();
	for (size_t i = 0; i < r->text_len; i++) {
		if (r->text[i] != '\n' && (r->text[i] < 0x20 || r->text[i] > 0x7e))
			abort();
	}
	if (r->status[0] != '\0' &&
	    !smtpc_status_valid(r->status, strlen(r->status), (char)('0' + r->code / 100)))
		abort();
	smtpc_caps_parse(r->text, r->text_len, &caps);
}

/* fuzz_replies - feed the input as lines. */
static void fuzz_replies(const char *in, size_t size)
{
	struct smtpc_reply r;
	const char *error;
	size_t start = 0;

	smtpc_reply_init(&r);
	for (size_t i = 0; i <= size; i++) {
		if (i < size && in[i] != '\n')
			continue;
		size_t len = i - start;
		if (len > 0 && in[start + len - 1] == '\r')
			len--;
		int rc = smtpc_reply_feed(&r, in + start, len, &error);
		if (rc < 0)
			smtpc_reply_init(&r);
		else if (rc == 1)
			fuzz_reply_check(&r);
		start = i + 1;
	}
}

/* fuzz_unstuff - undo the wire form body[0..len) into back; abort on a bare CR or lone dot. */
static size_t fuzz_unstuff(const char *body, size_t len, char *back)
{
	size_t b = 0;
	int bol = 1;

	for (size_t i = 0; i < len; i++) {
		char c = body[i];
		if (c == '\r') {
			if (i + 1 >= len || body[i + 1] != '\n')
				abort(); /* a bare CR on the wire */
			continue;
		}
		if (bol && c == '.') {
			if (i + 1 >= len || body[i + 1] != '.')
				abort(); /* an unstuffed dot at a line start */
			i++;
		}
		back[b++] = c;
		bol = c == '\n';
	}
	return b;
}

/* fuzz_stuffing - stuff in two pieces; undoing it must give the input without CR, LF-ended. */
static void fuzz_stuffing(const char *in, size_t size)
{
	struct smtpc_stuffer st = { 0 };
	char *out = malloc(2 * size + 8), *back = malloc(2 * size + 8), *want = malloc(size + 2);
	size_t split = size > 0 ? (unsigned char)in[0] % (size + 1) : 0, n, w = 0;

	if (out == NULL || back == NULL || want == NULL)
		abort();
	n = smtpc_stuff(&st, in, split, out);
	n += smtpc_stuff(&st, in + split, size - split, out + n);
	n += smtpc_stuff_end(&st, out + n);
	if (n < 3 || memcmp(out + n - 3, ".\r\n", 3) != 0 ||
	    (n > 3 && memcmp(out + n - 5, "\r\n", 2) != 0))
		abort();
	for (size_t i = 0; i < size; i++) {
		if (in[i] != '\r')
			want[w++] = in[i];
	}
	if (w > 0 && want[w - 1] != '\n')
		want[w++] = '\n';
	if (fuzz_unstuff(out, n - 3, back) != w || memcmp(back, want, w) != 0)
		abort();
	free(out);
	free(back);
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_replies((const char *)data, size);
	fuzz_stuffing((const char *)data, size);
	return 0;
}

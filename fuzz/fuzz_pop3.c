// FUZZ_SOURCES: src/pop3/pop3_parse.c src/pop3/pop3_dotstuff.c
/*
 * fuzz_pop3 - one command line through pop3_command_parse (arguments must
 * lie inside the line, within their limits) and its numbers through
 * pop3_number_parse; then the same bytes as a message through the
 * incremental dot-stuffer, fed in uneven chunks and compared with a
 * one-pass reference, for RETR and for TOP.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_dotstuff.h"
#include "pop3/pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check_command - the parse result is consistent with the line. */
static void fuzz_check_command(const char *line, size_t size)
{
	struct pop3_command cmd;
	const char *error = NULL;
	unsigned long n;

	if (pop3_command_parse(line, size, &pop3_default_limits, &cmd, &error) < 0) {
		if (error == NULL)
			abort();
		return;
	}
	if (cmd.verb >= POP3_VERB_COUNT || cmd.argc > POP3_ARGV_MAX || size > POP3_LINE_MAX - 2)
		abort();
	for (size_t i = 0; i < cmd.argc; i++) {
		const struct pop3_arg *a = &cmd.argv[i];
		if (a->p < line || a->p + a->len > line + size || memchr(a->p, '\0', a->len))
			abort();
		if (pop3_number_parse(a, 1000000, &n) == 0 && n > 1000000)
			abort();
	}
}

/* fuzz_reference - the stuffed form of the whole message, in one pass. */
static size_t fuzz_reference(const char *in, size_t len, char *out)
{
	size_t o = 0;
	bool line_start = true;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n') {
			if (i == 0 || in[i - 1] != '\r')
				out[o++] = '\r';
			out[o++] = '\n';
			line_start = true;
			continue;
		}
		if (line_start && in[i] == '.')
			out[o++] = '.';
		out[o++] = in[i];
		line_start = false;
	}
	if (!line_start) {
		if (in[len - 1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

/* fuzz_stuff - the incremental stuffer, in chunks of 1..step bytes. */
static size_t fuzz_stuff(const char *in, size_t len, bool top, unsigned long lines, size_t step,
			 char *out)
{
	struct pop3_dotstuff st;
	size_t o = 0, i = 0, k = 0;

	pop3_dotstuff_init(&st, top, lines);
	while (i < len && !st.done) {
		size_t n = 1 + (k++ * 7) % step, out_len;
		n = n < len - i ? n : len - i;
		size_t used = pop3_dotstuff_feed(&st, in + i, n, out + o, &out_len);
		if (used > n || out_len > POP3_DOTSTUFF_ROOM(n) || (used < n && !st.done))
			abort();
		o += out_len;
		i += used;
	}
	return o + pop3_dotstuff_end(&st, out + o);
}

/* fuzz_check_stuffing - RETR equals the reference; TOP is a line-aligned prefix of it. */
static void fuzz_check_stuffing(const char *in, size_t size)
{
	char *ref = malloc(2 * size + 8), *out = malloc(2 * size + 8);
	size_t step = size > 0 ? 1 + (unsigned char)in[0] % 64 : 1;
	size_t ref_len, out_len;

	if (ref == NULL || out == NULL)
		abort();
	ref_len = fuzz_reference(in, size, ref);
	out_len = fuzz_stuff(in, size, false, 0, step, out);
	if (out_len != ref_len || memcmp(out, ref, ref_len) != 0)
		abort();
	out_len = fuzz_stuff(in, size, true, size > 1 ? (unsigned char)in[1] % 8 : 0, step, out);
	if (out_len < 3 || out_len > ref_len || memcmp(out + out_len - 3, ".\r\n", 3) != 0 ||
	    memcmp(out, ref, out_len - 3) != 0 ||
	    (out_len > 3 && (out[out_len - 5] != '\r' || out[out_len - 4] != '\n')))
		abort();
	free(ref);
	free(out);
}

/* LLVMFuzzerTestOneInput - the input is one command line, and also one message file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size > 0 ? size : 1);

	if (line == NULL)
		return 0;
	memcpy(line, data, size); /* a copy of exact size: ASan sees overreads */
	fuzz_check_command(line, size);
	fuzz_check_stuffing(line, size);
	free(line);
	return 0;
}

// FUZZ_SOURCES: src/imap/imap_parser.c src/imap/imap_parser_step.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_imap_parser - an IMAP client stream through the incremental
 * parser with small limits, fed in one go and in chunks whose sizes come
 * from the input; streamed APPEND literals are read (or refused) as a
 * session would. Every tree and error must keep the invariants (strings
 * inside the parser's storage, NUL-terminated, of their type's bytes;
 * counts, depth and sizes within the limits), every feed must make
 * progress, the memory held must stay bounded, and both feedings must
 * give the same results.
 *
 * Input: [0] line_max, [1] literal_max and depth_max, [2] total_max,
 * [3] args_max and flags, [4] number of chunk sizes n (0..7), then n
 * chunk sizes (0 means 1), then the stream.
 */
#include <sanitizer/allocator_interface.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_parser.h"

#define FUZZ_FLAG_STREAM 0x20 /* limits.stream_append */
#define FUZZ_FLAG_REFUSE 0x40 /* refuse streamed literals of odd size */
#define FUZZ_FLAG_RESET 0x80  /* imap_parser_reset() after DONE (else the next feed does it) */
#define FUZZ_HEADER 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the checks need to know about one run. */
struct fuzz_run {
	struct imap_parser_limits limits;
	unsigned flags;
	uint64_t hash;       /* of every result and its contents, in order */
	const char *base;    /* the tag: the start of the parser's storage */
	size_t held;         /* bytes of strings with their NULs in the current tree */
	unsigned args;       /* arguments in the current tree */
	size_t mem_baseline; /* bytes allocated before the parser existed */
};

/* fuzz_hash - fold bytes into the run's hash (FNV-1a). */
static void fuzz_hash(struct fuzz_run *run, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		run->hash = (run->hash ^ s[i]) * 1099511628211ull;
}

/* fuzz_check_str - a string of the tree: inside the storage, NUL-terminated, hashed. */
static void fuzz_check_str(struct fuzz_run *run, const char *s, size_t len)
{
	if (s == NULL || s < run->base || len >= run->limits.total_max ||
	    s + len >= run->base + run->limits.total_max || s[len] != '\0')
		abort();
	run->held += len + 1;
	fuzz_hash(run, s, len + 1);
}

/* fuzz_check_bytes - what an atom, a NIL or a quoted string may hold. */
static void fuzz_check_bytes(const struct imap_arg *a)
{
	const unsigned char *s = (const unsigned char *)a->u.str.data;

	if (a->literal8 || (a->type != IMAP_ARG_STRING && a->u.str.len == 0))
		abort();
	if (a->type == IMAP_ARG_NIL && (a->u.str.len != 3 || strncasecmp(a->u.str.data, "NIL", 3)))
		abort();
	for (size_t i = 0; i < a->u.str.len; i++) {
		if (a->type == IMAP_ARG_STRING ? s[i] == '\0' || s[i] == '\r' || s[i] == '\n'
					       : s[i] < 0x20 || s[i] > 0x7e)
			abort();
	}
}

/* fuzz_check_args - a list of arguments, recursively, within the limits. */
static void fuzz_check_args(struct fuzz_run *run, const struct imap_arg *args, size_t count,
			    unsigned depth, bool append)
{
	if (depth > run->limits.depth_max || (count > 0 && args == NULL))
		abort();
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		if (++run->args > run->limits.args_max)
			abort();
		fuzz_hash(run, &a->type, sizeof(a->type));
		fuzz_hash(run, &a->literal8, sizeof(a->literal8));
		if (a->type == IMAP_ARG_LIST) {
			if (a->literal8)
				abort();
			fuzz_hash(run, &a->u.list.count, sizeof(a->u.list.count));
			fuzz_check_args(run, a->u.list.args, a->u.list.count, depth + 1, append);
		} else if (a->type == IMAP_ARG_LITERAL_SIZE) {
			if (!append || depth > 0)
				abort();
			fuzz_hash(run, &a->u.size, sizeof(a->u.size));
		} else if (a->type == IMAP_ARG_LITERAL) {
			if (a->u.str.len > run->limits.literal_max)
				abort();
			fuzz_check_str(run, a->u.str.data, a->u.str.len);
		} else if (a->type <= IMAP_ARG_STRING) {
			fuzz_check_str(run, a->u.str.data, a->u.str.len);
			fuzz_check_bytes(a);
		} else {
			abort();
		}
	}
}

/* fuzz_check_command - a command after DONE or LITERAL. */
static void fuzz_check_command(struct fuzz_run *run, const struct imap_command *cmd)
{
	bool append;

	run->base = cmd->tag;
	run->held = 0;
	run->args = 0;
	if (cmd->tag == NULL || cmd->name == NULL || cmd->tag[0] == '\0' || cmd->name[0] == '\0' ||
	    strchr(cmd->tag, '+') != NULL)
		abort();
	fuzz_check_str(run, cmd->tag, strlen(cmd->tag));
	fuzz_check_str(run, cmd->name, strlen(cmd->name));
	for (const char *c = cmd->name; *c != '\0'; c++)
		if (*c >= 'a' && *c <= 'z')
			abort();
	append = run->limits.stream_append && strcmp(cmd->name, "APPEND") == 0;
	fuzz_check_args(run, cmd->args, cmd->count, 0, append);
	if (run->held > run->limits.total_max)
		abort();
}

/* fuzz_check_error - an ERROR's tag and text. */
static void fuzz_check_error(struct fuzz_run *run, const struct imap_parse_error *err)
{
	if (err->text == NULL || err->text[0] == '\0' || strpbrk(err->text, "\r\n") != NULL)
		abort();
	fuzz_hash(run, err->text, strlen(err->text));
	fuzz_hash(run, &err->toobig, sizeof(err->toobig));
	if (err->tag != NULL) {
		if (err->tag[0] == '\0' || strlen(err->tag) >= run->limits.line_max ||
		    strchr(err->tag, '+') != NULL)
			abort();
		fuzz_hash(run, err->tag, strlen(err->tag));
	}
}

/* fuzz_result - act on one result as a session would; returns the literal bytes to read. */
static uint64_t fuzz_result(struct imap_parser *p, struct fuzz_run *run, enum imap_parse_result r)
{
	struct imap_command cmd;
	struct imap_parse_error err;
	uint64_t n = 0;
	bool sync;

	if (r != IMAP_PARSE_MORE) /* how many MOREs depends on the chunks */
		fuzz_hash(run, &r, sizeof(r));
	if (r == IMAP_PARSE_DONE) {
		imap_parser_command(p, &cmd);
		fuzz_check_command(run, &cmd);
		if (run->flags & FUZZ_FLAG_RESET)
			imap_parser_reset(p);
	} else if (r == IMAP_PARSE_ERROR) {
		imap_parser_error(p, &err);
		fuzz_check_error(run, &err);
	} else if (r == IMAP_PARSE_LITERAL) {
		imap_parser_partial(p, &cmd);
		fuzz_check_command(run, &cmd);
		imap_parser_literal(p, &n, &sync);
		fuzz_hash(run, &n, sizeof(n));
		fuzz_hash(run, &sync, sizeof(sync));
		if ((run->flags & FUZZ_FLAG_REFUSE) && (n & 1)) {
			imap_parser_literal_refuse(p);
			n = 0;
		} else {
			imap_parser_literal_done(p);
		}
	}
	return n;
}

/* fuzz_check_memory - what the parser holds stays bounded by its limits. */
static void fuzz_check_memory(const struct fuzz_run *run)
{
	size_t now = __sanitizer_get_current_allocated_bytes();
	size_t bound = run->limits.total_max + (size_t)run->limits.args_max * 128 + 4096;

	if (now > run->mem_baseline && now - run->mem_baseline > bound)
		abort();
}

/* fuzz_feed - feed the stream in chunks (cycled; none: one shot); the run's hash. */
static uint64_t fuzz_feed(struct fuzz_run *run, const char *in, size_t len, const uint8_t *chunks,
			  size_t nchunks)
{
	struct imap_parser *p;
	size_t pos = 0, k = 0;

	run->hash = 14695981039346656037ull;
	run->mem_baseline = __sanitizer_get_current_allocated_bytes();
	p = imap_parser_new(&run->limits);
	while (pos < len) {
		size_t n = nchunks > 0 ? chunks[k++ % nchunks] : len;
		size_t end = n > 0 && n < len - pos ? pos + n : n > 0 ? len : pos + 1;

		while (pos < end) {
			size_t used = SIZE_MAX;
			enum imap_parse_result r = imap_parser_feed(p, in + pos, end - pos, &used);
			uint64_t skip;

			if (used > end - pos || (r == IMAP_PARSE_MORE && used != end - pos) ||
			    (r != IMAP_PARSE_MORE && used == 0))
				abort();
			pos += used;
			fuzz_check_memory(run);
			skip = fuzz_result(p, run, r);
			pos += skip < len - pos ? (size_t)skip : len - pos;
			end = end > pos ? end : pos;
		}
	}
	fuzz_hash(run, &pos, sizeof(pos));
	imap_parser_free(&p);
	if (p != NULL)
		abort();
	return run->hash;
}

/* LLVMFuzzerTestOneInput - the same stream, in one go and in chunks: same results. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run run;
	size_t nchunks;
	uint64_t whole, chunked;
	char *in;

	if (size < FUZZ_HEADER)
		return 0;
	memset(&run, 0, sizeof(run));
	run.limits.line_max = 8 + (size_t)data[0] * 2;
	run.limits.literal_max = (size_t)(data[1] & 31) * 4;
	run.limits.depth_max = data[1] >> 5;
	run.limits.total_max = 16 + (size_t)data[2] * 4;
	run.limits.args_max = data[3] & 31;
	run.limits.stream_append = (data[3] & FUZZ_FLAG_STREAM) != 0;
	run.flags = data[3];
	nchunks = data[4] % 8;
	if (size < FUZZ_HEADER + nchunks)
		return 0;
	size -= FUZZ_HEADER + nchunks;
	in = malloc(size > 0 ? size : 1); /* a copy of exact size: ASan sees overreads */
	if (in == NULL)
		abort();
	memcpy(in, data + FUZZ_HEADER + nchunks, size);
	whole = fuzz_feed(&run, in, size, NULL, 0);
	chunked = fuzz_feed(&run, in, size, data + FUZZ_HEADER, nchunks);
	if (whole != chunked)
		abort();
	free(in);
	return 0;
}

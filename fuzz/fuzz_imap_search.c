// FUZZ_SOURCES: src/imap/imap_parser*.c src/imap/imap_seqset.c src/imap/imap_search.c src/imap/imap_search_match.c src/imap/imap_date.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_imap_search - "t SEARCH <input>" through the real command parser
 * and the SEARCH parser (small limits), then matched against synthetic
 * messages whose header and body are the input itself. A match is 0 or
 * 1, asks for the header or body only when the tree's load says it may,
 * and "NOT (<input>)" must give the opposite answer. The input also goes
 * to the date parsers: what they accept must format and parse back to
 * the same instant.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_date.h"
#include "imap/imap_parser.h"
#include "imap/imap_search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The synthetic message: its raw text, and which parts were asked for. */
struct fuzz_msg {
	const char *text;
	size_t len;
	bool header_asked, body_asked;
};

/* fuzz_header_cb - the input as the header block. */
static int fuzz_header_cb(void *ctx, const char **data_r, size_t *len_r)
{
	struct fuzz_msg *f = ctx;

	f->header_asked = true;
	*data_r = f->text;
	*len_r = f->len;
	return 0;
}

/* fuzz_body_cb - the input as the body. */
static int fuzz_body_cb(void *ctx, const char **data_r, size_t *len_r)
{
	struct fuzz_msg *f = ctx;

	f->body_asked = true;
	*data_r = f->text;
	*len_r = f->len;
	return 0;
}

/* fuzz_keyword_cb - a keyword's index from its first letter, or unknown. */
static int fuzz_keyword_cb(void *ctx, const char *name)
{
	(void)ctx;
	return name[0] >= 'a' && name[0] <= 'z' ? name[0] - 'a' : -1;
}

/* fuzz_parse - "t SEARCH <prefix><in><suffix>\r\n" through both parsers; NULL if either fails. */
static struct imap_search *fuzz_parse(const char *prefix, const char *in, size_t len,
				      const char *suffix)
{
	static const struct imap_parser_limits plimits = { 16384, 4096, 65536, 16, 512, false };
	static const struct imap_search_limits slimits = { 64, 8, 64 };
	struct imap_parser *p = imap_parser_new(&plimits);
	size_t pl = strlen(prefix), sl = strlen(suffix), total = 9 + pl + len + sl + 2, pos = 0, used;
	char *line = malloc(total);
	enum imap_parse_result r = IMAP_PARSE_MORE;
	struct imap_search *s = NULL;
	struct imap_command cmd;
	const char *error = NULL;

	memcpy(line, "t SEARCH ", 9);
	memcpy(line + 9, prefix, pl);
	memcpy(line + 9 + pl, in, len);
	memcpy(line + 9 + pl + len, suffix, sl);
	memcpy(line + total - 2, "\r\n", 2);
	while (pos < total && (r == IMAP_PARSE_MORE || r == IMAP_PARSE_CONTINUE)) {
		r = imap_parser_feed(p, line + pos, total - pos, &used);
		pos += used;
	}
	if (r == IMAP_PARSE_DONE) {
		imap_parser_command(p, &cmd);
		int rc = imap_search_parse(cmd.args, cmd.count, &slimits, &s, &error);
		if ((rc < 0) != (s == NULL) || (rc < 0 && error == NULL) || (rc < -2) ||
		    (s != NULL && (s->count > slimits.nodes_max + 1 || s->nodes[0].key != IMAP_SEARCH_AND)))
			abort();
	}
	imap_parser_free(&p);
	free(line);
	return s;
}

/* fuzz_match - s against message variant k; checks the result and the lazy loading. */
static int fuzz_match(const struct imap_search *s, const char *in, size_t len, unsigned k)
{
	struct fuzz_msg f = { in, len, false, false };
	struct imap_search_msg m = { 0 };

	m.seq = 1 + k * 3;
	m.seq_max = 10;
	m.uid = 100 + k * 50;
	m.uid_max = 300;
	m.flags = (k * 0x15u) & 0x3f;
	m.keywords = 0x5555555u << k;
	m.size = len * k;
	m.internal_date = (time_t)k * 400000000;
	m.internal_tzoff = (int)k * 3600 - 7200;
	m.modseq = k * 7;
	m.header_cb = fuzz_header_cb;
	m.body_cb = fuzz_body_cb;
	m.ctx = &f;
	int r = imap_search_match(s, &m);
	if ((r != 0 && r != 1) || (f.header_asked && !(s->load & IMAP_SEARCH_LOAD_HEADER)) ||
	    (f.body_asked && !(s->load & IMAP_SEARCH_LOAD_BODY)))
		abort();
	return r;
}

/* fuzz_search - the input as a search program, and wrapped in NOT (...). */
static void fuzz_search(const char *in, size_t len)
{
	struct imap_search *s = fuzz_parse("", in, len, ""), *not;

	if (s == NULL)
		return;
	imap_search_resolve_keywords(s, fuzz_keyword_cb, NULL);
	not = s->esearch ? NULL : fuzz_parse("NOT (", in, len, ")");
	if (not != NULL)
		imap_search_resolve_keywords(not, fuzz_keyword_cb, NULL);
	for (unsigned k = 0; k < 4; k++) {
		int r = fuzz_match(s, in, len, k);
		if (not != NULL && fuzz_match(not, in, len, k) != !r)
			abort();
	}
	imap_search_free(&s);
	imap_search_free(&not);
}

/* fuzz_dates - what the date parsers accept formats and parses back unchanged. */
static void fuzz_dates(const char *in, size_t len)
{
	char buf[IMAP_DATETIME_LEN + 1];
	const char *error;
	time_t t, t2;
	int tzoff, tzoff2;
	int64_t day;

	if (imap_date_parse_rfc5322(in, len, &t, &tzoff) == 0) {
		imap_date_format_datetime(t, tzoff, buf);
		if (imap_date_parse_datetime(buf, strlen(buf), &t2, &tzoff2, &error) < 0 || t2 != t ||
		    tzoff2 != tzoff)
			abort();
	}
	if (imap_date_parse_datetime(in, len, &t, &tzoff, &error) == 0) {
		imap_date_format_datetime(t, tzoff, buf);
		if (imap_date_parse_datetime(buf, strlen(buf), &t2, &tzoff2, &error) < 0 || t2 != t ||
		    tzoff2 != tzoff)
			abort();
	}
	if (imap_date_parse_search(in, len, &day, &error) == 0 && day != imap_date_day(day * 86400, 0))
		abort();
}

/* LLVMFuzzerTestOneInput - the input as a SEARCH program, a message and a date. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size > 0 ? size : 1);

	memcpy(copy, data, size); /* exact size: ASan sees overreads */
	fuzz_dates(copy, size);
	fuzz_search(copy, size);
	free(copy);
	return 0;
}

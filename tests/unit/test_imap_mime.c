/*
 * test_imap_mime - the MIME tree, ENVELOPE, BODY/BODYSTRUCTURE and body
 * sections against what Dovecot 2.3.19 answered for the same messages
 * (imap_mime_dovecot.h), for the LF files and their CRLF twins; then
 * partial windows, limits, quoting and hand-derived corner cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "imap/imap_bodystructure.h"
#include "imap/imap_envelope.h"
#include "imap/imap_mime.h"
#include "imap/imap_section.h"
#include "imap_mime_dovecot.h"

/* test_crlf - the message with every bare LF made CRLF (malloc'd). */
static char *test_crlf(const char *msg, size_t len, size_t *len_r)
{
	char *out = malloc(2 * len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = msg[i];
	}
	*len_r = n;
	return out;
}

/* test_take - the evbuffer's contents as a malloc'd NUL-terminated string. */
static char *test_take(struct evbuffer *b, size_t *len_r)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	evbuffer_remove(b, s, n);
	s[n] = '\0';
	if (len_r != NULL)
		*len_r = n;
	return s;
}

/* test_parse_fields - "(A B C)" into sec->fields (pointers into buf). */
static const char *test_parse_fields(char *buf, struct imap_section *sec)
{
	char *p = strchr(buf, '(') + 1, *end = strchr(p, ')');

	*end = '\0';
	for (char *tok = strtok(p, " "); tok != NULL; tok = strtok(NULL, " "))
		sec->fields[sec->nfields++] = tok;
	return end + 1;
}

/* test_section - parse "BODY[1.2.HEADER.FIELDS (A B)]<o.c>" (buf is modified). */
static void test_section(char *buf, struct imap_section *sec)
{
	const char *p = buf + 5;

	memset(sec, 0, sizeof(*sec));
	while (*p >= '0' && *p <= '9') {
		sec->part[sec->nparts++] = (uint32_t)strtoul(p, (char **)&p, 10);
		if (*p == '.')
			p++;
	}
	if (strncmp(p, "HEADER.FIELDS.NOT", 17) == 0) {
		sec->text = IMAP_SECTION_FIELDS_NOT;
		p = test_parse_fields((char *)p, sec);
	} else if (strncmp(p, "HEADER.FIELDS", 13) == 0) {
		sec->text = IMAP_SECTION_FIELDS_IN;
		p = test_parse_fields((char *)p, sec);
	} else if (strncmp(p, "HEADER", 6) == 0) {
		sec->text = IMAP_SECTION_HEADER;
	} else if (strncmp(p, "TEXT", 4) == 0) {
		sec->text = IMAP_SECTION_TEXT;
	} else if (strncmp(p, "MIME", 4) == 0) {
		sec->text = IMAP_SECTION_MIME;
	}
	if ((p = strchr(p, '<')) != NULL) {
		sec->partial = true;
		sec->offset = strtoull(p + 1, (char **)&p, 10);
		sec->count = strtoull(p + 1, NULL, 10);
	}
}

/* test_same - compare, printing both on a difference; true when equal. */
static bool test_same(const char *what, const char *name, const char *got, size_t got_len,
		      const char *want, size_t want_len)
{
	if (got_len == want_len && memcmp(got, want, got_len) == 0)
		return true;
	print_error("%s %s:\n  got  [%.*s]\n  want [%.*s]\n", name, what, (int)got_len, got,
		    (int)want_len, want);
	return false;
}

/* test_structure - BODY, BODYSTRUCTURE, ENVELOPE, RFC822.SIZE of one message. */
static int test_structure(const struct dc_case *c, const char *msg, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	int bad = 0;
	size_t n;
	char *s;

	assert_int_equal(imap_bodystructure_write(b, msg, len, false), 0);
	s = test_take(b, &n);
	bad += !test_same("BODY", c->name, s, n, c->body, strlen(c->body));
	free(s);
	assert_int_equal(imap_bodystructure_write(b, msg, len, true), 0);
	s = test_take(b, &n);
	bad += !test_same("BODYSTRUCTURE", c->name, s, n, c->bodystructure, strlen(c->bodystructure));
	free(s);
	assert_int_equal(imap_envelope_write(b, msg, imap_mime_header_end(msg, len)), 0);
	s = test_take(b, &n);
	bad += !test_same("ENVELOPE", c->name, s, n, c->envelope, strlen(c->envelope));
	free(s);
	evbuffer_free(b);
	if (imap_section_size(msg, len) != c->size) {
		print_error("%s RFC822.SIZE %llu, want %llu\n", c->name,
			    (unsigned long long)imap_section_size(msg, len), c->size);
		bad++;
	}
	return bad;
}

/* test_sections - every section of one message. */
static int test_sections(const struct dc_case *c, const char *msg, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	struct imap_mime *tree = imap_mime_parse(msg, len);
	int bad = 0;

	for (size_t i = 0; i < 48 && c->sections[i / 2].section != NULL; i++) {
		struct imap_section sec;
		char buf[256], *s;
		uint64_t size;
		size_t n;

		snprintf(buf, sizeof(buf), "%s", c->sections[i / 2].section);
		test_section(buf, &sec);
		assert_int_equal(imap_section_write_tree(b, msg, len, i % 2 ? tree : NULL, &sec, &size), 0);
		s = test_take(b, &n);
		assert_int_equal(size, n);
		bad += !test_same(c->sections[i / 2].section, c->name, s, n, c->sections[i / 2].value,
				  c->sections[i / 2].value_len);
		free(s);
	}
	imap_mime_free(&tree);
	evbuffer_free(b);
	return bad;
}

/* Every message as Dovecot saw it, and its CRLF twin: the same answers. */
static void test_dovecot(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(dc_cases) / sizeof(dc_cases[0]); i++) {
		const struct dc_case *c = &dc_cases[i];
		size_t crlf_len;
		char *crlf = test_crlf(c->msg, c->msg_len, &crlf_len);
		bad += test_structure(c, c->msg, c->msg_len);
		bad += test_sections(c, c->msg, c->msg_len);
		bad += test_structure(c, crlf, crlf_len);
		bad += test_sections(c, crlf, crlf_len);
		free(crlf);
	}
	assert_int_equal(bad, 0);
}

/* test_section_str - a section of msg as a malloc'd string. */
static char *test_section_str(const char *msg, size_t len, const char *section, size_t *n_r)
{
	struct evbuffer *b = evbuffer_new();
	struct imap_section sec;
	char buf[256], *s;

	snprintf(buf, sizeof(buf), "%s", section);
	test_section(buf, &sec);
	assert_int_equal(imap_section_write(b, msg, len, &sec, NULL), 0);
	s = test_take(b, n_r);
	evbuffer_free(b);
	return s;
}

/* Every <offset.count> window of every section is the matching slice of
 * the whole section, for LF, CRLF and mixed files. */
static void test_partial_windows(void **state)
{
	static const char *const msgs[] = {
		"Subject: a\n\nx\ny\n\n",
		"Subject: a\r\n\r\nx\r\ny\r\n",
		"A: b\r\nC: d\n\nl1\r\nl2\nl3\r\r\n\n",
		"\n\n\n",
		"no newline at all",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\ny\n--b--\n",
	};
	static const char *const secs[] = { "BODY[]", "BODY[HEADER]", "BODY[TEXT]", "BODY[1]",
					     "BODY[HEADER.FIELDS (A C)]", "BODY[HEADER.FIELDS.NOT (A)]" };

	(void)state;
	for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		size_t len = strlen(msgs[m]);
		for (size_t k = 0; k < sizeof(secs) / sizeof(secs[0]); k++) {
			size_t full_len;
			char *full = test_section_str(msgs[m], len, secs[k], &full_len);
			for (size_t off = 0; off <= full_len + 1; off++) {
				for (size_t cnt = 0; cnt <= full_len + 1 - off; cnt++) {
					char name[128];
					size_t n;
					snprintf(name, sizeof(name), "%s<%zu.%zu>", secs[k], off, cnt);
					char *w = test_section_str(msgs[m], len, name, &n);
					size_t want = off >= full_len ? 0 : (cnt < full_len - off ? cnt : full_len - off);
					assert_int_equal(n, want);
					assert_memory_equal(w, full + (off < full_len ? off : full_len), n);
					free(w);
				}
			}
			free(full);
		}
		size_t crlf_len, body_len;
		char *crlf = test_crlf(msgs[m], len, &crlf_len);
		char *body = test_section_str(msgs[m], len, "BODY[]", &body_len);
		assert_int_equal(imap_section_size(msgs[m], len), crlf_len);
		assert_int_equal(body_len, crlf_len);
		assert_memory_equal(body, crlf, crlf_len);
		free(body);
		free(crlf);
	}
}

/* A large message converted block by block: CRLF pairs split across the
 * 64 KB blocks stay one CRLF; the size matches RFC822.SIZE. */
static void test_large_crlf(void **state)
{
	size_t len = 300000, n;
	char *msg = malloc(len);
	struct evbuffer *b = evbuffer_new();

	(void)state;
	for (size_t i = 0; i < len; i++)
		msg[i] = i % 7 == 5 ? '\r' : i % 7 == 6 || i % 11 == 3 ? '\n' : 'a';
	assert_int_equal(imap_section_append_crlf(b, msg, len), 0);
	char *s = test_take(b, &n);
	assert_int_equal(n, imap_section_size(msg, len));
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			assert_true(i > 0 && s[i - 1] == '\r');
	}
	free(s);
	free(msg);
	evbuffer_free(b);
}

/* test_bs - BODYSTRUCTURE (or BODY) of a C string. */
static char *test_bs(const char *msg, bool extended)
{
	struct evbuffer *b = evbuffer_new();

	assert_int_equal(imap_bodystructure_write(b, msg, strlen(msg), extended), 0);
	char *s = test_take(b, NULL);
	evbuffer_free(b);
	return s;
}

/* test_balanced - parentheses balance outside quoted strings and literals. */
static bool test_balanced(const char *s)
{
	int depth = 0;

	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"') {
			for (p++; *p != '"'; p++)
				if (*p == '\\')
					p++;
		} else if (*p == '{') {
			char *e;
			unsigned long n = strtoul(p + 1, &e, 10);
			p = e + 2 + n;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && --depth < 0) {
			return false;
		}
	}
	return depth == 0;
}

/* Nesting past IMAP_MIME_MAX_DEPTH degrades to a leaf shown as
 * application/octet-stream; the answer stays well-formed. */
static void test_depth_limit(void **state)
{
	char msg[16384] = "";
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n,
				      "Content-Type: multipart/mixed; boundary=b%02d\n\n--b%02d\n", i, i);
	n += (size_t)snprintf(msg + n, sizeof(msg) - n, "Content-Type: text/plain\n\ndeep\n");
	char *s = test_bs(msg, true);
	assert_true(test_balanced(s));
	assert_non_null(strstr(s, "\"application\" \"octet-stream\""));
	assert_non_null(strstr(s, "(\"application\" \"octet-stream\" (\"boundary\" \"b19\")"));
	assert_null(strstr(s, "\"b20\""));
	struct imap_mime *m = imap_mime_parse(msg, n);
	assert_int_equal(m->nparts, IMAP_MIME_MAX_DEPTH);
	imap_mime_free(&m);
	assert_null(m);
	free(s);
}

/* Past IMAP_MIME_MAX_PARTS parts, boundary lines are body text. */
static void test_parts_limit(void **state)
{
	size_t cap = 64 * (IMAP_MIME_MAX_PARTS + 100), n;
	char *msg = malloc(cap);

	(void)state;
	n = (size_t)snprintf(msg, cap, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (int i = 0; i < IMAP_MIME_MAX_PARTS + 50; i++)
		n += (size_t)snprintf(msg + n, cap - n, "--p\n\nx\n");
	n += (size_t)snprintf(msg + n, cap - n, "--p--\n");
	struct imap_mime *m = imap_mime_parse(msg, n);
	assert_int_equal(m->nparts, IMAP_MIME_MAX_PARTS);
	assert_int_equal(m->root->body_size, imap_mime_crlf_size(msg + m->root->body_off, m->root->body_len, NULL));
	imap_mime_free(&m);
	char *s = test_bs(msg, true);
	assert_true(test_balanced(s));
	free(s);
	free(msg);
}

/* RFC 2231: an unnumbered extended parameter stays key* (Dovecot 2.3.19
 * shows "title*1*" here, a bug it has since fixed); continuations with a
 * missing number are kept apart. Derived from RFC 2231 3 and 4. */
static void test_rfc2231(void **state)
{
	char *s;

	(void)state;
	s = test_bs("Content-Type: text/plain; title*=us-ascii'en'a%20b; x*0=a; x*2=c\n\nb\n", false);
	assert_string_equal(s, "(\"text\" \"plain\" (\"title*\" \"us-ascii'en'a%20b\" \"x*0\" \"a\" "
			       "\"x*2\" \"c\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)");
	free(s);
	s = test_bs("Content-Type: text/plain; n*1*=%41; n*0=\"50%\"\n\nb\n", false);
	assert_string_equal(s, "(\"text\" \"plain\" (\"n*\" \"''50%25%41\" \"charset\" \"us-ascii\") "
			       "NIL NIL \"7bit\" 3 1)");
	free(s);
}

/* test_quoted - imap_envelope_nstring of a C string. */
static char *test_quoted(const char *in, bool human)
{
	struct imap_rfc822_str o = { 0 };

	if (human)
		imap_envelope_human(&o, in, strlen(in));
	else
		imap_envelope_nstring(&o, in, strlen(in));
	char *s = strdup(imap_rfc822_str_c(&o));
	imap_rfc822_str_free(&o);
	return s;
}

/* Quoted when safe; literal for 8-bit, CR/LF, NUL or more than four
 * quoted-specials (RFC 9051 4.3; Dovecot's threshold). */
static void test_quoting(void **state)
{
	static const char *const rows[][3] = {
		{ "plain", "\"plain\"", "\"plain\"" },
		{ "a\"b\\c\"d\"", "\"a\\\"b\\\\c\\\"d\\\"\"", "{8}\r\na\"b\\c\"d\"" },
		{ "\"\"\"\"\"", "{5}\r\n\"\"\"\"\"", "{5}\r\n\"\"\"\"\"" },
		{ "caf\xc3\xa9", "{5}\r\ncaf\xc3\xa9", "{5}\r\ncaf\xc3\xa9" },
		{ "a\r\nb", "{4}\r\na\r\nb", "{3}\r\na b" },
		{ "  two  spaces ", "\"  two  spaces \"", "{10}\r\ntwo spaces" },
		{ "", "\"\"", "\"\"" },
		{ " \t ", "\" \t \"", "\"\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *q = test_quoted(rows[i][0], false), *h = test_quoted(rows[i][0], true);
		assert_string_equal(q, rows[i][1]);
		assert_string_equal(h, rows[i][2]);
		free(q);
		free(h);
	}
	struct imap_rfc822_str o = { 0 };
	imap_envelope_nstring(&o, NULL, 0);
	imap_envelope_nstring_nolf(&o, "a\n b\r\nc\n", 8);
	assert_string_equal(imap_rfc822_str_c(&o), "NIL\"a b c\"");
	imap_rfc822_str_free(&o);
}

/* The header field helper: every instance, case-insensitive, in order,
 * with folding kept in the raw value and removed by imap_mime_unfold. */
static void test_fields(void **state)
{
	static const char hdr[] = "Received: one\r\n\tfolded\r\nX: y\nreceived:two\nNoColon\n\nReceived: body\n";
	struct imap_mime_field f;
	size_t pos = 0, n;
	char buf[64];

	(void)state;
	assert_true(imap_mime_field_find(hdr, sizeof(hdr) - 1, &pos, "RECEIVED", &f));
	assert_int_equal(f.value_len, 12);
	n = imap_mime_unfold(f.value, f.value_len, buf);
	assert_memory_equal(buf, "one\tfolded", n);
	assert_int_equal(n, 10);
	assert_int_equal(f.start, 0);
	assert_int_equal(f.end, 24);
	assert_true(imap_mime_field_find(hdr, sizeof(hdr) - 1, &pos, "received", &f));
	assert_memory_equal(f.value, "two", f.value_len);
	assert_memory_equal(f.name, "received", f.name_len);
	assert_false(imap_mime_field_find(hdr, sizeof(hdr) - 1, &pos, "Received", &f));
	assert_int_equal(imap_mime_header_end(hdr, sizeof(hdr) - 1), 51);
	assert_int_equal(imap_section_header_size(hdr, sizeof(hdr) - 1), 55);
	assert_int_equal(imap_mime_header_end("A: b", 4), 4);
}

/* Sections in parts that do not exist, or HEADER of a part that is not a
 * message/rfc822, are empty strings (as Dovecot answers). */
static void test_missing_parts(void **state)
{
	static const char msg[] = "Content-Type: multipart/mixed; boundary=z\n\n--z\n\nt\n--z--\n";
	static const char *const secs[] = { "BODY[2]", "BODY[1.2]", "BODY[1.HEADER]", "BODY[1.TEXT]",
					     "BODY[3.MIME]", "BODY[1.1.1]", "BODY[0]" };
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		char *s = test_section_str(msg, sizeof(msg) - 1, secs[i], &n);
		assert_int_equal(n, 0);
		free(s);
	}
	char *s = test_section_str(msg, sizeof(msg) - 1, "BODY[1]", &n);
	assert_string_equal(s, "t");
	free(s);
}

/* main - run the tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dovecot),
		cmocka_unit_test(test_partial_windows),
		cmocka_unit_test(test_large_crlf),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_parts_limit),
		cmocka_unit_test(test_rfc2231),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_missing_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

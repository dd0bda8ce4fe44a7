/*
 * test_imap_dovecot - Dovecot's on-disk IMAP state: modified UTF-7 and
 * Maildir++ folder names, dovecot-uidlist, dovecot-keywords, the ":2," flags
 * of file names, and subscriptions; tables of odd inputs, round trips, and
 * files written by a real Dovecot 2.3 (tests/unit/data/dovecot/). The file
 * I/O and the dotlock are in test_imap_dovecot_io.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_keywords.h"
#include "imap/imap_mflags.h"
#include "imap/imap_mutf7.h"
#include "imap/imap_subs.h"
#include "imap/imap_uidlist.h"
#include "store/maildir.h"
#include "util/file.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TEST_DATA "tests/unit/data/dovecot/"

/* test_fixture - a file Dovecot wrote, NUL-terminated; fails the test when missing. */
static char *test_fixture(const char *name, size_t *len_r)
{
	char path[256];
	char *buf;

	snprintf(path, sizeof(path), TEST_DATA "%s", name);
	buf = file_read_small(path, 1 << 20, len_r);
	if (buf == NULL)
		fail_msg("cannot read %s (run the test from the top of the tree)", path);
	return buf;
}

/* UTF-8 and its modified UTF-7, both ways. */
static const struct {
	const char *utf8, *mutf7;
} test_mutf7_pairs[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "&", "&-" },
	{ "a&b&&", "a&-b&-&-" },
	{ "Entwürfe", "Entw&APw-rfe" },
	{ "日本語", "&ZeVnLIqe-" },
	{ "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" }, /* RFC 3501 5.1.3 */
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },                            /* U+1F600, a surrogate pair */
	{ "\x01", "&AAE-" },
	{ "a\x7f", "a&AH8-" },
	{ "ä&ö", "&AOQ-&-&APY-" },
	{ "äö ü", "&AOQA9g- &APw-" },
	{ "Kid & x", "Kid &- x" },
};

/* test_mutf7_table - encode and decode agree with the table, and with each other. */
static void test_mutf7_table(void **state)
{
	char buf[256];
	const char *err;
	size_t len;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_mutf7_pairs); i++) {
		const char *u = test_mutf7_pairs[i].utf8, *m = test_mutf7_pairs[i].mutf7;
		assert_int_equal(imap_mutf7_encode(u, strlen(u), buf, sizeof(buf), &len, &err), 0);
		assert_string_equal(buf, m);
		assert_int_equal(len, strlen(m));
		assert_int_equal(imap_mutf7_decode(m, strlen(m), buf, sizeof(buf), &len, &err), 0);
		assert_string_equal(buf, u);
	}
}

/* Non-canonical or broken mUTF-7 the decoder refuses. */
static const char *const test_mutf7_bad[] = {
	"&AGE-",      /* 'a' encoded: it must be sent as itself */
	"&AOQ-&APY-", /* two runs side by side */
	"&AOQ",       /* no closing '-' */
	"&AO-",       /* an odd number of UTF-16 octets */
	"&AOR-",      /* non-zero padding bits */
	"&2D0-",      /* a lone high surrogate */
	"&3gA-",      /* a lone low surrogate */
	"&AAA-",      /* NUL */
	"a\x80",      /* 8-bit */
	"a\tb",       /* a raw control character */
	"&Jjo!-",     /* not base64 */
	"&&-",
	"&",
	"&-&",
};

/* test_mutf7_refused - every bad input is refused, and so is invalid UTF-8 for the encoder. */
static void test_mutf7_refused(void **state)
{
	static const char *const bad_utf8[] = { "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
						"a\xff" };
	char buf[64];
	const char *err = NULL;
	size_t len;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_mutf7_bad); i++) {
		const char *s = test_mutf7_bad[i];
		if (imap_mutf7_decode(s, strlen(s), buf, sizeof(buf), &len, &err) != -1)
			fail_msg("accepted %s", s);
		assert_non_null(err);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad_utf8); i++)
		assert_int_equal(imap_mutf7_encode(bad_utf8[i], strlen(bad_utf8[i]), buf, sizeof(buf), &len,
						   &err), -1);
	assert_int_equal(imap_mutf7_encode("a\0b", 3, buf, sizeof(buf), &len, &err), -1);
	assert_int_equal(imap_mutf7_encode("Entwürfe", 9, buf, 8, &len, &err), -1);
	assert_int_equal(imap_mutf7_decode("Entw&APw-rfe", 12, buf, 8, &len, &err), -1);
}

/* IMAP folder names and their Maildir++ directories; dir NULL: refused. */
static const struct {
	const char *name, *dir;
} test_folders[] = {
	{ "INBOX", "" },
	{ "inbox", "" },
	{ "Sent", ".Sent" },
	{ "Projects/2026", ".Projects.2026" },
	{ "Entwürfe/Kid & x", ".Entw&APw-rfe.Kid &- x" },
	{ "inbox/Child", ".INBOX.Child" },
	{ "Inboxes", ".Inboxes" },
	{ "", NULL },
	{ "a//b", NULL },
	{ "a/", NULL },
	{ "/a", NULL },
	{ "a.b", NULL },
	{ "a/..", NULL },
	{ "~x", NULL },
	{ "a/\xc3", NULL },
};

/* test_folder_to_dir - the mapping table, and back again for the valid ones. */
static void test_folder_to_dir(void **state)
{
	char dir[IMAP_MUTF7_DIR_MAX + 1], name[1024], longname[300];
	const char *err;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_folders); i++) {
		int rc = imap_mutf7_folder_to_dir(test_folders[i].name, dir, sizeof(dir), &err);
		if (test_folders[i].dir == NULL) {
			if (rc != -1)
				fail_msg("accepted \"%s\" as \"%s\"", test_folders[i].name, dir);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(dir, test_folders[i].dir);
		assert_int_equal(imap_mutf7_dir_to_folder(dir, name, sizeof(name), &err), 0);
		assert_int_equal(strcasecmp(name, test_folders[i].name), 0);
	}
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(imap_mutf7_folder_to_dir(longname, dir, sizeof(dir), &err), -1);
	longname[254] = '\0'; /* "." + 254 = 255: the longest directory name */
	assert_int_equal(imap_mutf7_folder_to_dir(longname, dir, sizeof(dir), &err), 0);
}

/* test_dir_to_folder - directory names Dovecot made, and ones that are no folder. */
static void test_dir_to_folder(void **state)
{
	static const char *const bad[] = { ".INBOX", "Sent", "..x", ".a..b", ".a.", ".Entw&APw",
					   ".~x", ".inbox.x", ".a&AGE-", ".a/b" };
	char name[256];
	const char *err;

	(void)state;
	assert_int_equal(imap_mutf7_dir_to_folder(".", name, sizeof(name), &err), 0);
	assert_string_equal(name, "INBOX");
	assert_int_equal(imap_mutf7_dir_to_folder(".Entw&APw-rfe.Kid &- x", name, sizeof(name), &err), 0);
	assert_string_equal(name, "Entwürfe/Kid & x");
	assert_int_equal(imap_mutf7_dir_to_folder(".INBOX.Child", name, sizeof(name), &err), 0);
	assert_string_equal(name, "INBOX/Child");
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		if (imap_mutf7_dir_to_folder(bad[i], name, sizeof(name), &err) != -1)
			fail_msg("accepted %s", bad[i]);
	}
}

/* test_uidlist_dovecot - the uidlist Dovecot wrote for INBOX: values, and formatting back. */
static void test_uidlist_dovecot(void **state)
{
	struct imap_uidlist ul;
	const char *err;
	size_t len, flen;
	char *buf, *text;

	(void)state;
	imap_uidlist_init(&ul);
	buf = test_fixture("uidlist-v3", &len);
	assert_int_equal(imap_uidlist_parse(buf, len, &ul, &err), 0);
	assert_int_equal(ul.version, 3);
	assert_int_equal(ul.uidvalidity, 1796430594u);
	assert_int_equal(ul.next_uid, 3);
	assert_true(ul.have_guid);
	assert_int_equal(ul.guid[0], 0x41);
	assert_int_equal(ul.guid[15], 0x75);
	assert_int_equal(ul.count, 2);
	assert_string_equal(ul.recs[1].name, "1796430592.M795648P10039.vm,S=6,W=6");
	text = imap_uidlist_format(&ul, &flen);
	assert_int_equal(flen, len);
	assert_memory_equal(text, buf, len); /* byte for byte what Dovecot wrote */
	free(text);
	free(buf);
	imap_uidlist_clear(&ul);
}

/* test_uidlist_dovecot_more - Dovecot's appended records (N lags behind) and ext fields. */
static void test_uidlist_dovecot_more(void **state)
{
	struct imap_uidlist ul;
	const struct imap_uidlist_rec *r;
	const char *err;
	size_t len, flen, vlen;
	char *buf, *text;

	(void)state;
	imap_uidlist_init(&ul);
	buf = test_fixture("uidlist-appended", &len);
	assert_int_equal(imap_uidlist_parse(buf, len, &ul, &err), 0);
	assert_int_equal(ul.next_uid, 6); /* the header says N3: Dovecot appended 3..5 */
	assert_int_equal(ul.count, 5);
	r = imap_uidlist_find(&ul, "1700000000.plain1.host:2,Dc");
	assert_non_null(r);
	assert_int_equal(r->uid, 3);
	assert_int_equal(imap_uidlist_find(&ul, "1700000002.M5P6.host,S=19")->uid, 5);
	assert_null(imap_uidlist_find(&ul, "1700000002.M5P6.host"));
	free(buf);

	buf = test_fixture("uidlist-ext", &len);
	assert_int_equal(imap_uidlist_parse(buf, len, &ul, &err), 0);
	assert_int_equal(ul.next_uid, 7);
	assert_null(imap_uidlist_find_uid(&ul, 5));
	r = imap_uidlist_find_uid(&ul, 6);
	assert_string_equal(r->name, "1700000002.M5P6.host,S=19");
	assert_string_equal(r->ext, "W22");
	assert_memory_equal(imap_uidlist_get_ext(r, 'W', &vlen), "22", 2);
	assert_int_equal(vlen, 2);
	assert_null(imap_uidlist_get_ext(r, 'S', &vlen));
	text = imap_uidlist_format(&ul, &flen);
	assert_int_equal(flen, len);
	assert_memory_equal(text, buf, len);
	free(text);
	free(buf);
	imap_uidlist_clear(&ul);
}

/* One odd uidlist and what the parser makes of it. */
struct test_uidlist_case {
	const char *text;
	int rc;
	size_t count;
	uint32_t next_uid;
	bool repaired;
	const char *last_name, *last_ext; /* of the last record, when count > 0 */
};

static const struct test_uidlist_case test_uidlist_cases[] = {
	{ "", -1, 0, 1, false, NULL, NULL },
	{ "3 V1 N1", -1, 0, 1, false, NULL, NULL }, /* no complete line */
	{ "3 V1 N1\n", 0, 0, 1, false, NULL, NULL },
	{ "3 V1 N9\n1 :a\n", 0, 1, 9, false, "a", NULL },
	{ "3 V0 N1\n", -1, 0, 1, false, NULL, NULL },
	{ "3 V1 N0\n", -1, 0, 1, false, NULL, NULL },
	{ "3 N1\n", -1, 0, 1, false, NULL, NULL },
	{ "2 V1 N1\n", -1, 0, 1, false, NULL, NULL },
	{ "3V1 N1\n", -1, 0, 1, false, NULL, NULL },
	{ "3 V1 N1 Gzz\n", -1, 0, 1, false, NULL, NULL },
	{ "3 V1 N1 G0123456789abcdef0123456789ABCDE\n", -1, 0, 1, false, NULL, NULL },
	{ "3 V4294967296 N1\n", -1, 0, 1, false, NULL, NULL },
	{ "1 100 10\n1 a\n2 b c\n", 0, 2, 10, false, "b c", NULL },
	{ "1 100 2\n1 a\n2 b\n", -1, 1, 3, false, "a", NULL }, /* v1: UID >= next UID */
	{ "1 100\n", -1, 0, 1, false, NULL, NULL },
	{ "3 V1 N1\n1 :a\n1 :b\n", -1, 1, 2, false, "a", NULL },           /* not ascending */
	{ "3 V1 N1\n2 :a\n1 :b\n5 :c\n", -1, 1, 6, false, "a", NULL },     /* salvaged: 6 */
	{ "3 V1 N1\n1 :a\nx\n9 :c\n", -1, 1, 10, false, "a", NULL },
	{ "3 V1 N1\n1 :a\n2 :a\n", 0, 1, 3, true, "a", NULL },             /* later UID wins */
	{ "3 V1 N1\n1 :a\n2 :b\n3 :a\n", 0, 2, 4, true, "a", NULL },
	{ "3 V1 N1\n1 w3 W4 :a\n", 0, 1, 2, true, "a", "W4" },             /* bad ext dropped */
	{ "3 V1 N1\n1  W1  S2  :a b\n", 0, 1, 2, false, "a b", "W1 S2" },
	{ "3 V1 N1\n1 W1:x :a\n", 0, 1, 2, false, "a", "W1:x" },
	{ "3 V1 N1\n1 W4\n", -1, 0, 2, false, NULL, NULL },
	{ "3 V1 N1\n1 :\n", -1, 0, 2, false, NULL, NULL },
	{ "3 V1 N1\n1 :a/b\n", -1, 0, 2, false, NULL, NULL },
	{ "3 V1 N1\n0 :a\n", -1, 0, 1, false, NULL, NULL },
	{ "3 V1 N1\n1:a\n", -1, 0, 2, false, NULL, NULL },
	{ "3 V1 N1\n4294967295 :a\n", -1, 0, 1, false, NULL, NULL },
	{ "3 V1 N1\n4294967296 :a\n", -1, 0, 1, false, NULL, NULL },
	{ "3 V1 N1\n1 :a\n2 :b", 0, 1, 2, false, "a", NULL },       /* an append in progress */
	{ "3 V1 N1\r\n1 :a\r\n", 0, 1, 2, false, "a", NULL },
	{ "3 V1 N1\n1 :a:2,S\n", 0, 1, 2, false, "a", NULL },
	{ "3 V1 N1\n1 ::x\n", 0, 0, 1, true, NULL, NULL },
	{ "3 V1 N1\n7 : x y \n", 0, 1, 8, false, " x y ", NULL },
	{ "3 V1 N1\n1 :a\r\r:2,\n", -1, 0, 2, false, NULL, NULL },   /* a CR in a name (fuzz) */
	{ "3 V1 N1\n1 :a\tb\n", -1, 0, 2, false, NULL, NULL },
};

/* test_uidlist_cases_run - the table above. */
static void test_uidlist_cases_run(void **state)
{
	struct imap_uidlist ul;
	const char *err;

	(void)state;
	imap_uidlist_init(&ul);
	for (size_t i = 0; i < ARRAY_LEN(test_uidlist_cases); i++) {
		const struct test_uidlist_case *c = &test_uidlist_cases[i];
		int rc = imap_uidlist_parse(c->text, strlen(c->text), &ul, &err);
		if (rc != c->rc || ul.count != c->count || ul.next_uid != c->next_uid ||
		    ul.repaired != c->repaired)
			fail_msg("case %zu: rc %d count %zu next %u repaired %d", i, rc, ul.count,
				 ul.next_uid, ul.repaired);
		if (c->count > 0) {
			assert_string_equal(ul.recs[ul.count - 1].name, c->last_name);
			if (c->last_ext != NULL)
				assert_string_equal(ul.recs[ul.count - 1].ext, c->last_ext);
			else
				assert_null(ul.recs[ul.count - 1].ext);
		}
	}
	assert_int_equal(imap_uidlist_parse("3 V1 N1 P%u X Yz\n", 17, &ul, &err), 0);
	assert_string_equal(ul.hdr_ext, "P%u X Yz");
	imap_uidlist_clear(&ul);
}

/* test_uidlist_v1 - a version 1 file is read and written back as version 3 with the same UIDs. */
static void test_uidlist_v1(void **state)
{
	static const char v1[] = "1 1234 20\n3 one\n7 two\n";
	struct imap_uidlist ul, back;
	const char *err;
	size_t len;
	char *text;

	(void)state;
	imap_uidlist_init(&ul);
	imap_uidlist_init(&back);
	assert_int_equal(imap_uidlist_parse(v1, strlen(v1), &ul, &err), 0);
	assert_int_equal(ul.version, 1);
	assert_false(ul.have_guid);
	text = imap_uidlist_format(&ul, &len);
	assert_string_equal(text, "3 V1234 N20\n3 :one\n7 :two\n");
	assert_int_equal(imap_uidlist_parse(text, len, &back, &err), 0);
	assert_int_equal(back.uidvalidity, 1234);
	assert_int_equal(imap_uidlist_find(&back, "two")->uid, 7);
	free(text);
	imap_uidlist_clear(&ul);
	imap_uidlist_clear(&back);
}

/* test_keep_odd_cb - keep the records with odd UIDs. */
static bool test_keep_odd_cb(const struct imap_uidlist_rec *rec, void *ctx)
{
	(void)ctx;
	return rec->uid % 2 == 1;
}

/* test_uidlist_add_many - 100,000 names: hashed lookups, UIDs in order, retain, ext fields. */
static void test_uidlist_add_many(void **state)
{
	static const uint8_t guid[16] = { 1, 2, 3 };
	struct imap_uidlist ul;
	char name[64];
	uint32_t uid;
	size_t len, vlen;

	(void)state;
	imap_uidlist_init(&ul);
	imap_uidlist_clear(&ul);
	imap_uidlist_init_new(&ul, 77, guid);
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "%u.M%uP1.host,S=1,W=1:2,S", 1700000000 + i / 10, i);
		assert_int_equal(imap_uidlist_add(&ul, name, &uid), 0);
		assert_int_equal(uid, i + 1);
	}
	assert_int_equal(imap_uidlist_add(&ul, "1700000000.M0P1.host,S=1,W=1", &uid), -1);
	assert_int_equal(imap_uidlist_add(&ul, "a/b", &uid), -1);
	assert_int_equal(imap_uidlist_add(&ul, ":x", &uid), -1);
	for (unsigned i = 0; i < 100000; i += 7) {
		snprintf(name, sizeof(name), "%u.M%uP1.host,S=1,W=1:2,FS", 1700000000 + i / 10, i);
		assert_int_equal(imap_uidlist_find(&ul, name)->uid, i + 1);
		assert_int_equal(imap_uidlist_find_uid(&ul, i + 1)->uid, i + 1);
	}
	imap_uidlist_set_ext(&ul, 5, 'W', "300");
	imap_uidlist_set_ext(&ul, 5, 'P', "abc");
	imap_uidlist_set_ext(&ul, 5, 'W', "301");
	assert_string_equal(imap_uidlist_find_uid(&ul, 5)->ext, "Pabc W301");
	imap_uidlist_set_ext(&ul, 5, 'P', NULL);
	assert_memory_equal(imap_uidlist_get_ext(imap_uidlist_find_uid(&ul, 5), 'W', &vlen), "301", 3);
	assert_int_equal(imap_uidlist_retain(&ul, test_keep_odd_cb, NULL), 50000);
	assert_int_equal(ul.count, 50000);
	assert_null(imap_uidlist_find(&ul, "1700000000.M1P1.host,S=1,W=1"));
	assert_int_equal(imap_uidlist_find(&ul, "1700000000.M2P1.host,S=1,W=1")->uid, 3);
	assert_int_equal(ul.next_uid, 100001);
	char *recs = imap_uidlist_format_recs(&ul, ul.count - 1, &len);
	assert_string_equal(recs, "99999 :1700009999.M99998P1.host,S=1,W=1\n");
	free(recs);
	imap_uidlist_clear(&ul);
}

/* test_keywords - Dovecot's file, odd lines, 26 at most, names without case. */
static void test_keywords(void **state)
{
	struct imap_keywords kw = { 0 };
	size_t len, flen;
	char *buf = test_fixture("keywords", &len), *text;
	static const char odd[] = "x Foo\n26 Foo\n1 \nnospace\n0 a\n1 A\n3 c\n3 d\n04 e\r\n5 f";

	(void)state;
	imap_keywords_parse(buf, len, &kw);
	assert_string_equal(kw.names[0], "$Forwarded");
	assert_string_equal(kw.names[2], "Zeta");
	assert_int_equal(imap_keywords_find(&kw, "junk"), 1);
	text = imap_keywords_format(&kw, &flen);
	assert_int_equal(flen, len);
	assert_memory_equal(text, buf, len);
	free(text);
	free(buf);

	imap_keywords_parse(odd, strlen(odd), &kw);
	assert_string_equal(kw.names[0], "a");
	assert_null(kw.names[1]);
	assert_string_equal(kw.names[3], "d");
	assert_string_equal(kw.names[4], "e");
	assert_null(kw.names[5]); /* no '\n': not a complete line */
	assert_int_equal(imap_keywords_add(&kw, "A"), 0);
	assert_int_equal(imap_keywords_add(&kw, "new"), 1);
	assert_int_equal(imap_keywords_add(&kw, "bad\nname"), -1);
	for (int i = 0; i < 22; i++) {
		char name[16];
		snprintf(name, sizeof(name), "k%d", i);
		assert_true(imap_keywords_add(&kw, name) >= 0);
	}
	assert_int_equal(imap_keywords_add(&kw, "one-too-many"), -1);
	assert_int_equal(imap_keywords_find(&kw, "K21"), 25);
	imap_keywords_clear(&kw);
}

/* test_mflags_dovecot - the flags of the names Dovecot gave its files. */
static void test_mflags_dovecot(void **state)
{
	size_t len;
	char *buf = test_fixture("cur-names", &len);
	unsigned flags;
	uint32_t kw;

	(void)state;
	assert_non_null(strstr(buf, "1700000000.plain1.host:2,Dc\n"));
	imap_mflags_get("1700000000.plain1.host:2,Dc", &flags, &kw);
	assert_int_equal(flags, IMAP_FLAG_DRAFT);
	assert_int_equal(kw, 1u << 2);
	imap_mflags_get("1796430592.M795648P10039.vm,S=6,W=6:2,FRab", &flags, &kw);
	assert_int_equal(flags, IMAP_FLAG_FLAGGED | IMAP_FLAG_ANSWERED);
	assert_int_equal(kw, 3);
	imap_mflags_get("x:2,S,F", &flags, &kw);
	assert_int_equal(flags, IMAP_FLAG_SEEN);
	imap_mflags_get("x:1,S", &flags, &kw);
	assert_int_equal(flags, 0);
	imap_mflags_get("x:2,S:2,T", &flags, &kw); /* the last ':' */
	assert_int_equal(flags, IMAP_FLAG_DELETED);
	imap_mflags_get("x:2,PZ9", &flags, &kw);
	assert_int_equal(flags | kw, 0);
	assert_int_equal(imap_mflags_base_len("abc,S=5:2,S"), 7);
	assert_int_equal(imap_mflags_base_len("abc"), 3);
	free(buf);
}

/* New flags for a name, and the name Dovecot would make. */
static const struct {
	const char *name;
	unsigned flags;
	uint32_t kw;
	const char *want;
} test_mflags_sets[] = {
	{ "abc", IMAP_FLAG_SEEN, 0, "abc:2,S" },
	{ "abc:2,", 0x1f, 1u | 1u << 25, "abc:2,DFRSTaz" },
	{ "abc:2,PS", IMAP_FLAG_SEEN, 0, "abc:2,PS" },
	{ "abc:2,PS", IMAP_FLAG_ANSWERED, 0, "abc:2,PR" },
	{ "abc:2,S,xyz", IMAP_FLAG_FLAGGED, 0, "abc:2,F,xyz" },
	{ "abc:1,foo", IMAP_FLAG_SEEN, 0, "abc:2,S" },
	{ "abc:2,Sb", 0, 1u << 2, "abc:2,c" },
	{ "a,S=5,W=6:2,T", IMAP_FLAG_DELETED | IMAP_FLAG_SEEN | IMAP_FLAG_RECENT, 0, "a,S=5,W=6:2,ST" },
	{ "x:2,Z1", IMAP_FLAG_SEEN, 1, "x:2,SZ1a" },
	{ "a:b:2,S", 0, 0, "a:b:2," },
};

/* test_mflags_set - the table above; and a buffer too small. */
static void test_mflags_set(void **state)
{
	char out[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_mflags_sets); i++) {
		assert_int_equal(imap_mflags_set(test_mflags_sets[i].name, test_mflags_sets[i].flags,
						 test_mflags_sets[i].kw, out, sizeof(out)), 0);
		assert_string_equal(out, test_mflags_sets[i].want);
	}
	assert_int_equal(imap_mflags_set("abcdef", IMAP_FLAG_SEEN, 0, out, 10), -1);
	assert_int_equal(imap_mflags_set("abcdef", IMAP_FLAG_SEEN, 0, out, 11), 0);
}

/* test_mflags_sizes - S= and W=, also in the names postern's delivery makes; Dovecot's order. */
static void test_mflags_sizes(void **state)
{
	char name[256];
	uint64_t v;

	(void)state;
	assert_true(imap_mflags_size("x,S=123,W=130:2,S", 'S', &v));
	assert_int_equal(v, 123);
	assert_true(imap_mflags_size("x,S=123,W=130:2,S", 'W', &v));
	assert_int_equal(v, 130);
	assert_true(imap_mflags_size("x,W=5", 'W', &v));
	assert_int_equal(v, 5);
	assert_false(imap_mflags_size("x,S=12x", 'S', &v));
	assert_false(imap_mflags_size("x", 'W', &v));
	assert_false(imap_mflags_size("x,S=99999999999999999999999", 'S', &v));
	assert_int_equal(maildir_name(name, sizeof(name), "mx.example/x:y", 7, 1234, 1260), 0);
	assert_true(imap_mflags_size(name, 'S', &v));
	assert_int_equal(v, 1234);
	assert_true(imap_mflags_size(name, 'W', &v));
	assert_int_equal(v, 1260);
	assert_int_equal(imap_mflags_base_len(name), strlen(name)); /* the host's ':' is escaped */
	assert_true(imap_mflags_sort_cmp("1700000000.plain1.host", "1700000001.plain2.host") < 0);
	assert_true(imap_mflags_sort_cmp("99.x", "100.a") < 0);
	assert_true(imap_mflags_sort_cmp("5.M40P1.h", "5.M5P1.h") > 0);
	assert_true(imap_mflags_sort_cmp("5.M5P1.a:2,S", "5.M5P1.b") < 0);
	assert_int_equal(imap_mflags_sort_cmp("5.M5P1.a:2,S", "5.M5P1.a"), 0);
}

/* test_subs_dovecot - Dovecot's file: UTF-8 names in memory, the same bytes when formatted. */
static void test_subs_dovecot(void **state)
{
	struct imap_subs s = { 0 };
	size_t len, flen;
	char *buf = test_fixture("subscriptions", &len), *text;

	(void)state;
	imap_subs_parse(buf, len, &s);
	assert_int_equal(s.count, 4);
	assert_string_equal(s.names[0], "Projects/2026");
	assert_string_equal(s.names[1], "Entwürfe");
	assert_string_equal(s.names[2], "Entwürfe/Kid & x");
	assert_string_equal(s.names[3], "INBOX");
	assert_true(imap_subs_has(&s, "inbox"));
	text = imap_subs_format(&s, &flen);
	assert_int_equal(flen, len);
	assert_memory_equal(text, buf, len);
	free(text);
	free(buf);
	imap_subs_clear(&s);
}

/* test_subs_odd - version 1, escapes, lines kept verbatim, add and remove. */
static void test_subs_odd(void **state)
{
	static const char v1[] = "Projects.2026\nEntw&APw-rfe.\ninbox\n\nbad&\nProjects.2026\n";
	static const char v2[] = "V\t2\n\nbad&\nEsc\001tTab\n\nA\tB\r\ninbox\tx\nA\tB\nC&AAE-";
	struct imap_subs s = { 0 };
	size_t len;
	char *text;

	(void)state;
	imap_subs_parse(v1, strlen(v1), &s);
	assert_int_equal(s.count, 3);
	assert_string_equal(s.names[1], "Entwürfe");
	assert_string_equal(s.names[2], "INBOX");
	assert_int_equal(s.nraw, 0);
	imap_subs_parse(v2, strlen(v2), &s);
	assert_int_equal(s.count, 3);
	assert_string_equal(s.names[0], "A/B");
	assert_string_equal(s.names[1], "INBOX/x");
	assert_string_equal(s.names[2], "C\001");
	assert_int_equal(s.nraw, 2);
	assert_false(imap_subs_add(&s, "Inbox/x"));
	assert_true(imap_subs_add(&s, "Inbox/y"));
	assert_true(imap_subs_add(&s, "Entwürfe/Kid & x"));
	assert_false(imap_subs_add(&s, ""));
	assert_true(imap_subs_remove(&s, "A/B"));
	assert_false(imap_subs_remove(&s, "A/B"));
	text = imap_subs_format(&s, &len);
	assert_string_equal(text, "V\t2\n\nINBOX\tx\nC&AAE-\nINBOX\ty\nEntw&APw-rfe\tKid &- x\n"
				  "bad&\nEsc\001tTab\n");
	free(text);
	assert_true(imap_subs_add(&s, "bad\xff"));
	assert_null(imap_subs_format(&s, &len));
	imap_subs_clear(&s);
}

/* main - run the parser tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutf7_table),
		cmocka_unit_test(test_mutf7_refused),
		cmocka_unit_test(test_folder_to_dir),
		cmocka_unit_test(test_dir_to_folder),
		cmocka_unit_test(test_uidlist_dovecot),
		cmocka_unit_test(test_uidlist_dovecot_more),
		cmocka_unit_test(test_uidlist_cases_run),
		cmocka_unit_test(test_uidlist_v1),
		cmocka_unit_test(test_uidlist_add_many),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_mflags_dovecot),
		cmocka_unit_test(test_mflags_set),
		cmocka_unit_test(test_mflags_sizes),
		cmocka_unit_test(test_subs_dovecot),
		cmocka_unit_test(test_subs_odd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

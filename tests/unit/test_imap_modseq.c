/*
 * test_imap_modseq - per-message MODSEQs (RFC 7162): the postern-modseq
 * file parsed and formatted (canonical round trip, broken files refused),
 * syncing with a folder (new messages, flag and keyword changes, expunges,
 * no change, a new UIDVALIDITY, the time-based rule, bounded expunge
 * records and gone_floor, subsets after a STORE), VANISHED (EARLIER) with
 * and without known UIDs, below and above the floor, and the file I/O.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "imap/imap_mailbox.h"
#include "imap/imap_modseq.h"
#include "imap/imap_seqset.h"
#include "imap/imap_uidlist.h"
#include "test_tmpdir.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char test_good_file[] = "postern-modseq 1 V1712345678 H1700000000000300 F1700000000000100\n"
				     "1 1700000000000000 -\n"
				     "2 1700000000000200 !\n"
				     "3 1700000000000100 DFRST\n"
				     "4 1700000000000300 Sadz\n"
				     "9 1700000000000300 !\n"
				     "4294967294 17 a\n";

/* test_parse_good - every field read; formatting gives the same bytes back. */
static void test_parse_good(void **state)
{
	struct imap_modseq ms;
	const char *err = NULL;
	size_t len;
	char *text;

	(void)state;
	imap_modseq_init(&ms);
	assert_int_equal(imap_modseq_parse(test_good_file, strlen(test_good_file), &ms, &err), 0);
	assert_int_equal(ms.uidvalidity, 1712345678u);
	assert_true(ms.highest == UINT64_C(1700000000000300));
	assert_true(ms.gone_floor == UINT64_C(1700000000000100));
	assert_int_equal(ms.nrecs, 4);
	assert_int_equal(ms.ngone, 2);
	assert_int_equal(ms.recs[0].uid, 1);
	assert_int_equal(ms.recs[0].flags, 0);
	assert_int_equal(ms.recs[1].uid, 3);
	assert_int_equal(ms.recs[1].flags, IMAP_FLAG_DRAFT | IMAP_FLAG_FLAGGED | IMAP_FLAG_ANSWERED |
						   IMAP_FLAG_SEEN | IMAP_FLAG_DELETED);
	assert_int_equal(ms.recs[2].flags, IMAP_FLAG_SEEN);
	assert_int_equal(ms.recs[2].keywords, (1u << 0) | (1u << 3) | (1u << 25));
	assert_int_equal(ms.recs[3].uid, 4294967294u);
	assert_true(ms.recs[3].modseq == 17);
	assert_int_equal(ms.gone[0].uid, 2);
	assert_true(ms.gone[0].modseq == UINT64_C(1700000000000200));
	assert_int_equal(ms.gone[1].uid, 9);
	text = imap_modseq_format(&ms, &len);
	assert_int_equal(len, strlen(test_good_file));
	assert_string_equal(text, test_good_file);
	free(text);
	/* the smallest file: nothing recorded */
	assert_int_equal(imap_modseq_parse("postern-modseq 1 V1 H0 F0\n", 26, &ms, &err), 0);
	assert_int_equal(ms.nrecs + ms.ngone, 0);
	imap_modseq_clear(&ms);
}

static const char *const test_bad_files[] = {
	"",
	"postern-modseq 1 V1 H0 F0", /* no LF */
	"postern-modseq 2 V1 H0 F0\n",
	"dovecot-uidlist 1 V1 H0 F0\n",
	"postern-modseq 1 V0 H0 F0\n",
	"postern-modseq 1 V01 H0 F0\n",
	"postern-modseq 1 V4294967296 H0 F0\n",
	"postern-modseq 1 V1 H5 F6\n",         /* floor above highest */
	"postern-modseq 1 V1 H4611686018427387905 F0\n", /* past IMAP_MODSEQ_MAX */
	"postern-modseq 1 V1 H99999999999999999999999 F0\n",
	"postern-modseq 1 V1  H0 F0\n",
	"postern-modseq 1 V1 H0 F0 \n",
	"postern-modseq 1 V1 H0 F0\r\n",
	"postern-modseq 1 V1 H9 F0\n1 5 S",     /* last line without LF */
	"postern-modseq 1 V1 H9 F0\n2 5 S\n1 5 S\n", /* descending */
	"postern-modseq 1 V1 H9 F0\n1 5 S\n1 5 !\n", /* one UID twice */
	"postern-modseq 1 V1 H9 F0\n1 5 !\n1 6 S\n",
	"postern-modseq 1 V1 H9 F0\n1 10 S\n",  /* above highest */
	"postern-modseq 1 V1 H9 F0\n1 0 S\n",
	"postern-modseq 1 V1 H9 F0\n0 5 S\n",
	"postern-modseq 1 V1 H9 F0\n01 5 S\n",
	"postern-modseq 1 V1 H9 F0\n4294967295 5 S\n",
	"postern-modseq 1 V1 H9 F0\n1 5 SF\n",  /* not in order */
	"postern-modseq 1 V1 H9 F0\n1 5 SS\n",
	"postern-modseq 1 V1 H9 F0\n1 5 X\n",
	"postern-modseq 1 V1 H9 F0\n1 5 P\n",
	"postern-modseq 1 V1 H9 F0\n1 5 \n",
	"postern-modseq 1 V1 H9 F0\n1 5 --\n",
	"postern-modseq 1 V1 H9 F0\n1 5 S-\n",
	"postern-modseq 1 V1 H9 F0\n1 5 !a\n",
	"postern-modseq 1 V1 H9 F0\n1 5 S\r\n",
	"postern-modseq 1 V1 H9 F0\n1  5 S\n",
	"postern-modseq 1 V1 H9 F0\n\n",
	"postern-modseq 1 V1 H9 F0\n1 5\n",
};

/* test_parse_bad - every broken file refused with a reason, nothing left in the record. */
static void test_parse_bad(void **state)
{
	struct imap_modseq ms;

	(void)state;
	imap_modseq_init(&ms);
	for (size_t i = 0; i < ARRAY_LEN(test_bad_files); i++) {
		const char *err = NULL;

		assert_int_equal(imap_modseq_parse(test_good_file, strlen(test_good_file), &ms, &err), 0);
		if (imap_modseq_parse(test_bad_files[i], strlen(test_bad_files[i]), &ms, &err) == 0)
			fail_msg("accepted: %s", test_bad_files[i]);
		assert_non_null(err);
		assert_int_equal(ms.uidvalidity, 0);
		assert_true(ms.nrecs == 0 && ms.ngone == 0 && ms.highest == 0);
		assert_int_equal(ms.gone_max, IMAP_MODSEQ_GONE_MAX);
	}
	imap_modseq_clear(&ms);
}

/* A folder for the sync tests: UIDs with flags and keywords. */
struct test_folder {
	struct imap_msg msgs[64];
	size_t n;
};

/* test_folder_set - the folder is "uid:flags:keywords" triples, uid 0 ending them. */
static void test_folder_set(struct test_folder *f, const uint32_t (*spec)[3])
{
	memset(f, 0, sizeof(*f));
	for (; spec[f->n][0] != 0; f->n++) {
		f->msgs[f->n].uid = spec[f->n][0];
		f->msgs[f->n].flags = (uint8_t)spec[f->n][1];
		f->msgs[f->n].keywords = spec[f->n][2];
	}
}

/* test_sync - imap_modseq_sync of the whole folder. */
static int test_sync(struct imap_modseq *ms, struct test_folder *f, uint64_t now)
{
	return imap_modseq_sync(ms, 7, f->msgs, f->n, now, IMAP_MODSEQ_ALL);
}

/* test_roundtrip - the record survives format and parse unchanged. */
static void test_roundtrip(const struct imap_modseq *ms)
{
	struct imap_modseq back;
	const char *err = NULL;
	size_t len;
	char *text = imap_modseq_format(ms, &len);

	imap_modseq_init(&back);
	assert_int_equal(imap_modseq_parse(text, len, &back, &err), 0);
	assert_int_equal(back.uidvalidity, ms->uidvalidity);
	assert_true(back.highest == ms->highest && back.gone_floor == ms->gone_floor);
	assert_int_equal(back.nrecs, ms->nrecs);
	assert_int_equal(back.ngone, ms->ngone);
	for (size_t i = 0; i < ms->nrecs; i++) {
		assert_int_equal(back.recs[i].uid, ms->recs[i].uid);
		assert_true(back.recs[i].modseq == ms->recs[i].modseq);
		assert_int_equal(back.recs[i].flags, ms->recs[i].flags);
		assert_int_equal(back.recs[i].keywords, ms->recs[i].keywords);
	}
	for (size_t i = 0; i < ms->ngone; i++) {
		assert_int_equal(back.gone[i].uid, ms->gone[i].uid);
		assert_true(back.gone[i].modseq == ms->gone[i].modseq);
	}
	free(text);
	imap_modseq_clear(&back);
}

/* test_vanished_is - imap_modseq_vanished gives want (NULL: nothing) and count. */
static void test_vanished_is(const struct imap_modseq *ms, uint64_t since, const char *known,
			     uint32_t uidnext, const char *want, size_t want_count)
{
	struct imap_seqset set;
	const char *err = NULL;
	size_t count = 12345;
	char *got;

	if (known != NULL)
		assert_int_equal(imap_seqset_parse(known, strlen(known), 100, &set, &err), 0);
	got = imap_modseq_vanished(ms, since, known != NULL ? &set : NULL, uidnext, &count);
	if (want == NULL) {
		if (got != NULL)
			fail_msg("since %llu known %s: got %s", (unsigned long long)since,
				 known ? known : "-", got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
	assert_int_equal(count, want_count);
	free(got);
	if (known != NULL)
		imap_seqset_clear(&set);
}

/* test_sync_new - a fresh record: every message gets now; no change the second time; a new UID. */
static void test_sync_new(void **state)
{
	static const uint32_t spec[][3] = { { 1, IMAP_FLAG_SEEN, 0 }, { 2, 0, 1 }, { 5, 0, 0 }, { 0 } };
	struct imap_modseq ms;
	struct test_folder f;

	(void)state;
	imap_modseq_init(&ms);
	test_folder_set(&f, spec);
	assert_int_equal(test_sync(&ms, &f, 1000), 1);
	assert_int_equal(ms.uidvalidity, 7);
	assert_true(ms.highest == 1000 && ms.gone_floor == 1000);
	assert_int_equal(ms.nrecs, 3);
	for (size_t i = 0; i < f.n; i++)
		assert_true(f.msgs[i].modseq == 1000);
	test_roundtrip(&ms);

	/* the same folder later: nothing to write, MODSEQs kept */
	memset(&f.msgs[0].modseq, 0, sizeof(f.msgs[0].modseq));
	assert_int_equal(test_sync(&ms, &f, 2000), 0);
	assert_true(ms.highest == 1000 && f.msgs[0].modseq == 1000);

	/* a delivery: only the new UID gets the new MODSEQ */
	f.msgs[f.n++] = (struct imap_msg){ .uid = 6 };
	assert_int_equal(test_sync(&ms, &f, 3000), 1);
	assert_true(ms.highest == 3000);
	assert_true(f.msgs[0].modseq == 1000 && f.msgs[2].modseq == 1000 && f.msgs[3].modseq == 3000);
	assert_int_equal(ms.ngone, 0);
	test_roundtrip(&ms);
	imap_modseq_clear(&ms);
}

/* test_sync_flags - changed flags or keywords give a new MODSEQ; \Recent is no change. */
static void test_sync_flags(void **state)
{
	static const uint32_t spec[][3] = { { 1, 0, 0 }, { 2, 0, 0 }, { 3, 0, 4 }, { 0 } };
	struct imap_modseq ms;
	struct test_folder f;

	(void)state;
	imap_modseq_init(&ms);
	test_folder_set(&f, spec);
	assert_int_equal(test_sync(&ms, &f, 1000), 1);

	f.msgs[1].flags = IMAP_FLAG_SEEN | IMAP_FLAG_RECENT;
	assert_int_equal(test_sync(&ms, &f, 2000), 1);
	assert_true(f.msgs[0].modseq == 1000 && f.msgs[1].modseq == 2000 && f.msgs[2].modseq == 1000);
	assert_int_equal(ms.recs[1].flags, IMAP_FLAG_SEEN); /* never \Recent */

	f.msgs[1].flags = IMAP_FLAG_SEEN; /* only \Recent went */
	assert_int_equal(test_sync(&ms, &f, 2500), 0);

	f.msgs[2].keywords = 4 | 1; /* a keyword added */
	f.msgs[0].keywords = 1u << 25;
	assert_int_equal(test_sync(&ms, &f, 3000), 1);
	assert_true(f.msgs[0].modseq == 3000 && f.msgs[1].modseq == 2000 && f.msgs[2].modseq == 3000);
	assert_true(ms.highest == 3000 && ms.gone_floor == 1000);

	f.msgs[2].keywords = 0; /* removed */
	assert_int_equal(test_sync(&ms, &f, 4000), 1);
	assert_true(f.msgs[2].modseq == 4000 && f.msgs[0].modseq == 3000);
	assert_int_equal(ms.ngone, 0);
	test_roundtrip(&ms);
	imap_modseq_clear(&ms);
}

/* test_sync_clock - a clock that went back still gives highest + 1; a sync gives one value to all. */
static void test_sync_clock(void **state)
{
	static const uint32_t spec[][3] = { { 1, 0, 0 }, { 2, 0, 0 }, { 0 } };
	struct imap_modseq ms;
	struct test_folder f;

	(void)state;
	imap_modseq_init(&ms);
	test_folder_set(&f, spec);
	assert_int_equal(test_sync(&ms, &f, 5000), 1);
	f.msgs[0].flags = IMAP_FLAG_FLAGGED;
	f.msgs[1].flags = IMAP_FLAG_DELETED;
	assert_int_equal(test_sync(&ms, &f, 10), 1);
	assert_true(ms.highest == 5001 && f.msgs[0].modseq == 5001 && f.msgs[1].modseq == 5001);
	f.msgs[0].flags = 0;
	assert_int_equal(test_sync(&ms, &f, 5001), 1);
	assert_true(ms.highest == 5002 && f.msgs[0].modseq == 5002);
	/* Dovecot's small counters or a lost file: the time wins */
	imap_modseq_clear(&ms);
	assert_int_equal(test_sync(&ms, &f, UINT64_C(1700000000000000)), 1);
	assert_true(f.msgs[0].modseq == UINT64_C(1700000000000000));
	imap_modseq_clear(&ms);
}

/* test_sync_expunge - a UID gone becomes an expunge record; VANISHED since before it says so. */
static void test_sync_expunge(void **state)
{
	static const uint32_t spec[][3] = { { 1, 0, 0 }, { 2, 0, 0 }, { 3, 0, 0 }, { 4, 0, 0 },
					    { 5, 0, 0 }, { 0 } };
	struct imap_modseq ms;
	struct test_folder f;

	(void)state;
	imap_modseq_init(&ms);
	test_folder_set(&f, spec);
	assert_int_equal(test_sync(&ms, &f, 1000), 1);
	f.msgs[1] = f.msgs[3]; /* 2 and 3 expunged: 1 4 5 */
	f.msgs[2] = f.msgs[4];
	f.n = 3;
	assert_int_equal(test_sync(&ms, &f, 2000), 1);
	assert_int_equal(ms.nrecs, 3);
	assert_int_equal(ms.ngone, 2);
	assert_true(ms.gone[0].uid == 2 && ms.gone[0].modseq == 2000);
	assert_true(ms.gone[1].uid == 3 && ms.gone[1].modseq == 2000);
	assert_true(ms.highest == 2000 && f.msgs[1].modseq == 1000);
	assert_int_equal(test_sync(&ms, &f, 2500), 0);

	f.n = 2; /* 5 expunged later */
	assert_int_equal(test_sync(&ms, &f, 3000), 1);
	test_roundtrip(&ms);
	test_vanished_is(&ms, 1000, NULL, 6, "2:3,5", 3);
	test_vanished_is(&ms, 1999, NULL, 6, "2:3,5", 3);
	test_vanished_is(&ms, 2000, NULL, 6, "5", 1);
	test_vanished_is(&ms, 3000, NULL, 6, NULL, 0);
	test_vanished_is(&ms, 1000, "1:2,4:*", 6, "2,5", 2);
	test_vanished_is(&ms, 1000, "3", 6, "3", 1);
	test_vanished_is(&ms, 1000, "1:4", 4, "2:3", 2); /* uidnext cuts */
	test_vanished_is(&ms, 1000, NULL, 1, NULL, 0);
	/* below the floor (the record began at 1000): every known UID not a message now */
	test_vanished_is(&ms, 999, NULL, 9, "2:3,5:8", 6);
	test_vanished_is(&ms, 0, "1:*", 9, "2:3,5:8", 6);
	test_vanished_is(&ms, 0, "1,3,7:20", 9, "3,7:8", 3);
	test_vanished_is(&ms, 0, "1,4", 9, NULL, 0);
	imap_modseq_clear(&ms);
}

/* test_sync_resurrect - an expunged UID back (a restored file) is a message again. */
static void test_sync_resurrect(void **state)
{
	static const uint32_t spec[][3] = { { 1, 0, 0 }, { 2, 0, 0 }, { 3, 0, 0 }, { 0 } };
	struct imap_modseq ms;
	struct test_folder f;

	(void)state;
	imap_modseq_init(&ms);
	test_folder_set(&f, spec);
	assert_int_equal(test_sync(&ms, &f, 1000), 1);
	f.n = 1;
	assert_int_equal(test_sync(&ms, &f, 2000), 1);
	assert_int_equal(ms.ngone, 2);
	f.n = 2; /* 2 is back, 3 stays gone */
	assert_int_equal(test_sync(&ms, &f, 3000), 1);
	assert_int_equal(ms.nrecs, 2);
	assert_int_equal(ms.ngone, 1);
	assert_int_equal(ms.gone[0].uid, 3);
	assert_true(f.msgs[1].modseq == 3000);
	test_roundtrip(&ms);
	imap_modseq_clear(&ms);
}

/* test_sync_uidvalidity - a new UIDVALIDITY resets everything but keeps MODSEQs growing. */
static void test_sync_uidvalidity(void **state)
{
	static const uint32_t spec[][3] = { { 1, 0, 0 }, { 2, 0, 0 }, { 0 } };
	struct imap_modseq ms;
	struct test_folder f;

	(void)state;
	imap_modseq_init(&ms);
	test_folder_set(&f, spec);
	assert_int_equal(test_sync(&ms, &f, 1000), 1);
	f.n = 1;
	assert_int_equal(test_sync(&ms, &f, 2000), 1);
	assert_int_equal(ms.ngone, 1);
	f.msgs[0].uid = 1;
	assert_int_equal(imap_modseq_sync(&ms, 8, f.msgs, 1, 1500, IMAP_MODSEQ_ALL), 1);
	assert_int_equal(ms.uidvalidity, 8);
	assert_int_equal(ms.ngone, 0);
	assert_int_equal(ms.nrecs, 1);
	assert_true(ms.highest == 2001 && ms.gone_floor == 2001 && f.msgs[0].modseq == 2001);
	/* an empty folder under a new UIDVALIDITY is a change too */
	assert_int_equal(imap_modseq_sync(&ms, 9, f.msgs, 0, 1500, IMAP_MODSEQ_ALL), 1);
	assert_true(ms.uidvalidity == 9 && ms.nrecs == 0 && ms.highest == 2002);
	assert_int_equal(imap_modseq_sync(&ms, 9, f.msgs, 0, 9999, IMAP_MODSEQ_ALL), 0);
	imap_modseq_clear(&ms);
}

/* test_sync_bad_input - UIDs out of order or 0, UIDVALIDITY 0: refused, nothing changed. */
static void test_sync_bad_input(void **state)
{
	static const uint32_t spec[][3] = { { 1, 0, 0 }, { 3, 0, 0 }, { 2, 0, 0 }, { 0 } };
	struct imap_modseq ms;
	struct test_folder f;

	(void)state;
	imap_modseq_init(&ms);
	test_folder_set(&f, spec);
	assert_int_equal(test_sync(&ms, &f, 1000), -1);
	f.msgs[2].uid = 3; /* a duplicate */
	assert_int_equal(test_sync(&ms, &f, 1000), -1);
	assert_int_equal(imap_modseq_sync(&ms, 0, f.msgs, 1, 1000, IMAP_MODSEQ_ALL), -1);
	assert_true(ms.uidvalidity == 0 && ms.nrecs == 0 && ms.highest == 0);
	assert_true(f.msgs[0].modseq == 0);
	imap_modseq_clear(&ms);
}

/* test_sync_subset - after a STORE: other records stay, an expunged UID is not brought back. */
static void test_sync_subset(void **state)
{
	static const uint32_t spec[][3] = { { 1, 0, 0 }, { 2, 0, 0 }, { 3, 0, 0 }, { 4, 0, 0 }, { 0 } };
	struct imap_modseq ms;
	struct test_folder f;
	struct imap_msg some[3];

	(void)state;
	imap_modseq_init(&ms);
	test_folder_set(&f, spec);
	f.n = 3; /* 4 is not there yet */
	assert_int_equal(test_sync(&ms, &f, 1000), 1);
	f.n = 2; /* 3 expunged */
	assert_int_equal(test_sync(&ms, &f, 2000), 1);
	some[0] = f.msgs[1];
	some[0].flags = IMAP_FLAG_SEEN;
	some[1] = (struct imap_msg){ .uid = 3, .flags = IMAP_FLAG_SEEN, .modseq = 77 };
	some[2] = (struct imap_msg){ .uid = 4, .flags = IMAP_FLAG_SEEN };
	assert_int_equal(imap_modseq_sync(&ms, 7, some, 3, 3000, IMAP_MODSEQ_SUBSET), 1);
	assert_true(some[0].modseq == 3000 && some[1].modseq == 77 && some[2].modseq == 3000);
	assert_int_equal(ms.nrecs, 3); /* 1 2 4 */
	assert_true(ms.recs[0].uid == 1 && ms.recs[0].modseq == 1000);
	assert_true(ms.recs[1].uid == 2 && ms.recs[1].flags == IMAP_FLAG_SEEN);
	assert_true(ms.recs[2].uid == 4 && ms.recs[2].modseq == 3000);
	assert_true(ms.ngone == 1 && ms.gone[0].uid == 3 && ms.gone[0].modseq == 2000);
	/* the same flags again: nothing */
	assert_int_equal(imap_modseq_sync(&ms, 7, some, 1, 4000, IMAP_MODSEQ_SUBSET), 0);
	test_roundtrip(&ms);
	imap_modseq_clear(&ms);
}

/* test_sync_bounded - at most gone_max expunge records; the oldest dropped raise gone_floor. */
static void test_sync_bounded(void **state)
{
	struct imap_modseq ms;
	struct test_folder f;

	(void)state;
	imap_modseq_init(&ms);
	ms.gone_max = 4;
	memset(&f, 0, sizeof(f));
	for (uint32_t uid = 1; uid <= 10; uid++)
		f.msgs[f.n++].uid = uid;
	assert_int_equal(test_sync(&ms, &f, 1000), 1);
	/* expunge 10, 9, ... one per sync at 2000, 3000, ... */
	for (int i = 0; i < 4; i++) {
		f.n--;
		assert_int_equal(test_sync(&ms, &f, 2000 + 1000 * (uint64_t)i), 1);
	}
	assert_int_equal(ms.ngone, 4);
	assert_true(ms.gone_floor == 1000);
	f.n--; /* the fifth: past gone_max, down to 3 kept (the newest) */
	assert_int_equal(test_sync(&ms, &f, 6000), 1);
	assert_int_equal(ms.ngone, 3);
	assert_true(ms.gone_floor == 3000);
	assert_true(ms.gone[0].uid == 6 && ms.gone[0].modseq == 6000);
	assert_true(ms.gone[2].uid == 8 && ms.gone[2].modseq == 4000);
	test_roundtrip(&ms);
	test_vanished_is(&ms, 3000, NULL, 11, "6:8", 3);
	test_vanished_is(&ms, 4500, NULL, 11, "6:7", 2);
	test_vanished_is(&ms, 2999, NULL, 11, "6:10", 5); /* 9 and 10 forgotten: all non-messages */
	test_vanished_is(&ms, 2999, "1:3,9", 11, "9", 1);
	/* one sync expunging more than gone_max: all of it goes below the floor */
	f.n = 0;
	assert_int_equal(test_sync(&ms, &f, 7000), 1);
	assert_int_equal(ms.ngone, 0);
	assert_true(ms.gone_floor == 7000 && ms.highest == 7000);
	test_vanished_is(&ms, 6999, NULL, 11, "1:10", 10);
	test_vanished_is(&ms, 7000, NULL, 11, NULL, 0);
	imap_modseq_clear(&ms);
}

/* test_sync_large - 100,000 messages: one flag change and one expunge found, linear time. */
static void test_sync_large(void **state)
{
	size_t n = 100000;
	struct imap_msg *msgs = calloc(n, sizeof(*msgs));
	struct imap_modseq ms;

	(void)state;
	assert_non_null(msgs);
	imap_modseq_init(&ms);
	for (size_t i = 0; i < n; i++)
		msgs[i].uid = (uint32_t)(2 * i + 1);
	assert_int_equal(imap_modseq_sync(&ms, 7, msgs, n, 1000, IMAP_MODSEQ_ALL), 1);
	assert_int_equal(imap_modseq_sync(&ms, 7, msgs, n, 2000, IMAP_MODSEQ_ALL), 0);
	msgs[500].flags = IMAP_FLAG_SEEN;
	memmove(&msgs[700], &msgs[701], (n - 701) * sizeof(*msgs));
	assert_int_equal(imap_modseq_sync(&ms, 7, msgs, n - 1, 3000, IMAP_MODSEQ_ALL), 1);
	assert_true(msgs[500].modseq == 3000 && msgs[499].modseq == 1000 && msgs[700].modseq == 1000);
	assert_true(ms.ngone == 1 && ms.gone[0].uid == 1401);
	test_vanished_is(&ms, 2000, NULL, 300000, "1401", 1);
	test_roundtrip(&ms);
	imap_modseq_clear(&ms);
	free(msgs);
}

/* test_put - write the file postern-modseq in dir. */
static void test_put(const char *dir, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/" IMAP_MODSEQ_NAME, dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* test_ino - the inode of dir/postern-modseq (0: none). */
static ino_t test_ino(const char *dir)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/" IMAP_MODSEQ_NAME, dir);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* test_io_read_write - no file is empty; written and read back; a broken file is -2. */
static void test_io_read_write(void **state)
{
	const char *dir = *state;
	struct imap_modseq ms;
	char *err = NULL;

	imap_modseq_init(&ms);
	assert_int_equal(imap_modseq_read(dir, &ms, &err), 0);
	assert_int_equal(ms.uidvalidity, 0);
	test_put(dir, test_good_file);
	assert_int_equal(imap_modseq_read(dir, &ms, &err), 1);
	assert_int_equal(ms.nrecs, 4);
	ms.recs[0].flags = IMAP_FLAG_SEEN;
	assert_int_equal(imap_modseq_write(dir, &ms, &err), 0);
	imap_modseq_clear(&ms);
	assert_int_equal(imap_modseq_read(dir, &ms, &err), 1);
	assert_int_equal(ms.recs[0].flags, IMAP_FLAG_SEEN);
	assert_int_equal(ms.ngone, 2);
	test_put(dir, "postern-modseq 1 V1 H9 F0\n2 5 S\n1 5 S\n");
	assert_int_equal(imap_modseq_read(dir, &ms, &err), -2);
	assert_non_null(strstr(err, "broken"));
	free(err);
	assert_true(ms.nrecs == 0 && ms.uidvalidity == 0);
	imap_modseq_clear(&ms);
}

/* test_io_update - the locked read-sync-write: a file only when something changed; broken = none. */
static void test_io_update(void **state)
{
	const char *dir = *state;
	struct imap_msg msgs[2] = { { .uid = 1 }, { .uid = 2, .flags = IMAP_FLAG_SEEN } };
	struct imap_modseq ms;
	uint64_t highest = 0;
	char *err = NULL;
	ino_t ino;

	imap_modseq_init(&ms);
	assert_int_equal(imap_modseq_update(dir, 7, msgs, 2, 1000, IMAP_MODSEQ_ALL, &highest, NULL, &err), 0);
	assert_true(highest == 1000 && msgs[1].modseq == 1000);
	assert_int_not_equal(ino = test_ino(dir), 0);
	/* nothing changed: the file is not replaced */
	assert_int_equal(imap_modseq_update(dir, 7, msgs, 2, 2000, IMAP_MODSEQ_ALL, &highest, &ms, &err), 0);
	assert_true(highest == 1000 && test_ino(dir) == ino);
	assert_true(ms.uidvalidity == 7 && ms.nrecs == 2);
	/* a STORE on one message, holding the uidlist's local lock elsewhere in between */
	imap_uidlist_local_lock(dir);
	imap_uidlist_local_unlock(dir);
	msgs[0].flags = IMAP_FLAG_FLAGGED;
	assert_int_equal(imap_modseq_update(dir, 7, msgs, 1, 500, IMAP_MODSEQ_SUBSET, &highest, &ms, &err), 0);
	assert_true(highest == 1001 && msgs[0].modseq == 1001 && ms.nrecs == 2);
	assert_int_not_equal(test_ino(dir), ino);
	imap_modseq_clear(&ms);
	assert_int_equal(imap_modseq_read(dir, &ms, &err), 1);
	assert_true(ms.highest == 1001 && ms.recs[0].flags == IMAP_FLAG_FLAGGED);
	/* a broken file: started afresh, MODSEQs from the clock */
	test_put(dir, "garbage\n");
	assert_int_equal(imap_modseq_update(dir, 7, msgs, 2, 5000, IMAP_MODSEQ_ALL, &highest, NULL, &err), 0);
	assert_true(highest == 5000 && msgs[0].modseq == 5000 && msgs[1].modseq == 5000);
	assert_int_equal(imap_modseq_read(dir, &ms, &err), 1);
	assert_true(ms.gone_floor == 5000);
	/* unsorted messages: an error, no file written */
	msgs[0].uid = 3;
	assert_int_equal(imap_modseq_update(dir, 7, msgs, 2, 6000, IMAP_MODSEQ_ALL, &highest, NULL, &err), -1);
	assert_non_null(err);
	free(err);
	imap_modseq_clear(&ms);
	assert_true(imap_modseq_now_us() > UINT64_C(1600000000000000));
}

/* test_io_unreadable - a postern-modseq that cannot be read is an error, not a reset. */
static void test_io_unreadable(void **state)
{
	const char *dir = *state;
	struct imap_msg msg = { .uid = 1 };
	char path[512], *err = NULL;

	snprintf(path, sizeof(path), "%s/" IMAP_MODSEQ_NAME, dir);
	assert_int_equal(mkdir(path, 0700), 0); /* a directory: read fails with EISDIR */
	assert_int_equal(imap_modseq_update(dir, 7, &msg, 1, 1000, IMAP_MODSEQ_ALL, NULL, NULL, &err), -1);
	assert_non_null(err);
	free(err);
	assert_true(msg.modseq == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_sync_new),
		cmocka_unit_test(test_sync_flags),
		cmocka_unit_test(test_sync_clock),
		cmocka_unit_test(test_sync_expunge),
		cmocka_unit_test(test_sync_resurrect),
		cmocka_unit_test(test_sync_uidvalidity),
		cmocka_unit_test(test_sync_bad_input),
		cmocka_unit_test(test_sync_subset),
		cmocka_unit_test(test_sync_bounded),
		cmocka_unit_test(test_sync_large),
		cmocka_unit_test_setup_teardown(test_io_read_write, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_io_update, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_io_unreadable, test_tmpdir_setup, test_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_imap_snapshot - folder scans remembered only while their files stay the same and settled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "imap/imap_mailbox.h"
#include "imap/imap_snapshot.h"
#include "util/xalloc.h"

/* test_age - set path's mtime to seconds ago. */
static void test_age(const char *dir, const char *name, int seconds)
{
	char path[512];
	struct timespec t[2];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= seconds;
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* test_folder - a folder with new/, cur/ and a uidlist, all old. */
static char *test_folder(void)
{
	char tmpl[] = "/tmp/test_imap_snapshot.XXXXXX", path[512];
	char *dir = xstrdup(mkdtemp(tmpl));

	snprintf(path, sizeof(path), "%s/new", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/cur", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", dir);
	fclose(fopen(path, "w"));
	test_age(dir, "new", 60);
	test_age(dir, "cur", 60);
	test_age(dir, "dovecot-uidlist", 60);
	return dir;
}

/* test_state - one message, UID 7. */
static void test_state(struct imap_folder_state *st)
{
	memset(st, 0, sizeof(*st));
	st->uidvalidity = 42;
	st->uidnext = 8;
	st->msgs = xcalloc(2, sizeof(*st->msgs));
	st->msgs[0].uid = 7;
	st->msgs[0].file = xstrdup("1.M1P1.host,S=5:2,S");
	st->n = 1;
	st->kw.names[0] = xstrdup("$Forwarded");
}

/* test_snapshot_hit_then_change - the same files give the copy; a change anywhere gives none. */
static void test_snapshot_hit_then_change(void **state)
{
	char *dir = test_folder(), path[600];
	struct imap_folder_state st, got;
	struct imap_snapshot_stamp stamp, now;

	(void)state;
	test_state(&st);
	imap_snapshot_stamp(dir, &stamp);
	assert_true(stamp.settled);
	imap_snapshot_put(dir, &stamp, &st);
	imap_snapshot_stamp(dir, &now);
	assert_true(imap_snapshot_get(dir, &now, &got));
	assert_int_equal(got.uidvalidity, 42);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.msgs[0].file, "1.M1P1.host,S=5:2,S");
	assert_ptr_not_equal(got.msgs[0].file, st.msgs[0].file); /* a copy */
	assert_string_equal(got.kw.names[0], "$Forwarded");
	imap_folder_state_clear(&got);
	snprintf(path, sizeof(path), "%s/cur/1.M1P1.host,S=5:2,S", dir); /* a change in cur/ */
	fclose(fopen(path, "w"));
	imap_snapshot_stamp(dir, &now);
	assert_false(now.settled);
	assert_false(imap_snapshot_get(dir, &now, &got));
	test_age(dir, "cur", 60); /* even settled again, it is not the stamp that was put */
	imap_snapshot_stamp(dir, &now);
	assert_true(now.settled);
	assert_false(imap_snapshot_get(dir, &now, &got));
	imap_folder_state_clear(&st);
	imap_snapshot_clear_all();
	free(dir);
}

/* test_snapshot_unsettled_not_kept - a folder changed in the last seconds is never remembered. */
static void test_snapshot_unsettled_not_kept(void **state)
{
	char *dir = test_folder();
	struct imap_folder_state st, got;
	struct imap_snapshot_stamp stamp;

	(void)state;
	test_state(&st);
	test_age(dir, "dovecot-uidlist", 0);
	imap_snapshot_stamp(dir, &stamp);
	assert_false(stamp.settled);
	imap_snapshot_put(dir, &stamp, &st);
	stamp.settled = true; /* even asked as if settled: nothing was kept */
	assert_false(imap_snapshot_get(dir, &stamp, &got));
	imap_folder_state_clear(&st);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_hit_then_change),
		cmocka_unit_test(test_snapshot_unsettled_not_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_imap_dovecot_io - the file side of Dovecot's IMAP state:
 * dovecot-uidlist written, appended and read back, dovecot-uidvalidity and
 * its marker, dovecot-keywords and subscriptions replaced through their
 * lock files, and the dotlock itself: a held lock refused, a live holder
 * waited for, a dead holder's lock and a stale foreign lock taken over.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "imap/imap_dotlock.h"
#include "imap/imap_keywords.h"
#include "imap/imap_subs.h"
#include "imap/imap_uidlist.h"
#include "util/file.h"
#include "test_tmpdir.h"

/* test_put - write a small file. */
static void test_put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* test_get - read a small file, NULL if missing. */
static char *test_get(const char *dir, const char *name)
{
	char path[512];
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return file_read_small(path, 1 << 20, &len);
}

/* test_exists - the file is there. */
static bool test_exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* test_uidlist_write_read - a new list written, appended to, read back; a foreign rewrite noticed. */
static void test_uidlist_write_read(void **state)
{
	static const uint8_t guid[16] = { 0xab, 0xcd };
	const char *dir = *state;
	struct imap_uidlist ul, back;
	struct imap_dotlock *lock = NULL;
	char *err = NULL, *text;
	uint32_t uid;

	imap_uidlist_init(&back);
	assert_int_equal(imap_uidlist_read(dir, &back, &err), 0); /* no file yet */
	imap_uidlist_init_new(&ul, 1796430594u, guid);
	assert_int_equal(imap_uidlist_add(&ul, "1.M1P1.h,S=5,W=5", &uid), 0);
	assert_int_equal(imap_uidlist_add(&ul, "2.M1P1.h,S=6,W=6:2,S", &uid), 0);
	assert_int_equal(imap_uidlist_lock(dir, 0, &lock, &err), 1);
	assert_int_equal(imap_uidlist_write(dir, &ul, &err), 0);
	assert_false(test_exists(dir, "dovecot-uidlist.tmp"));
	text = test_get(dir, "dovecot-uidlist");
	assert_string_equal(text, "3 V1796430594 N3 Gabcd0000000000000000000000000000\n"
				  "1 :1.M1P1.h,S=5,W=5\n2 :2.M1P1.h,S=6,W=6\n");
	free(text);
	assert_int_equal(imap_uidlist_changed(dir, &ul), 0);
	assert_int_equal(imap_uidlist_add(&ul, "3.M1P1.h", &uid), 0);
	assert_int_equal(imap_uidlist_append(dir, &ul, ul.count - 1, &err), 0);
	imap_uidlist_unlock(&lock);
	assert_null(lock);
	assert_false(test_exists(dir, "dovecot-uidlist.lock"));
	assert_int_equal(imap_uidlist_read(dir, &back, &err), 1);
	assert_int_equal(back.count, 3);
	assert_int_equal(back.next_uid, 4);
	assert_int_equal(imap_uidlist_find(&back, "3.M1P1.h:2,")->uid, 3);
	assert_int_equal(imap_uidlist_changed(dir, &back), 0);
	assert_int_equal(imap_uidlist_changed(dir, &ul), 0);

	/* someone else rewrites it: an append on the old view is refused */
	test_put(dir, "dovecot-uidlist", "3 V1796430594 N9\n1 :1.M1P1.h,S=5,W=5\n");
	assert_int_equal(imap_uidlist_changed(dir, &ul), 1);
	assert_int_equal(imap_uidlist_add(&ul, "4.M1P1.h", &uid), 0);
	assert_int_equal(imap_uidlist_append(dir, &ul, ul.count - 1, &err), -1);
	assert_non_null(strstr(err, "read it again"));
	free(err);
	imap_uidlist_clear(&ul);
	imap_uidlist_clear(&back);
}

/* test_append_line - append text to DIR/NAME as another writer (Dovecot) would. */
static void test_append_line(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* test_uidlist_reread - a list kept in memory reads only what was appended since; anything else reads all. */
static void test_uidlist_reread(void **state)
{
	const char *dir = *state;
	struct imap_uidlist ul;
	char *err = NULL;
	uint32_t uid;

	test_put(dir, "dovecot-uidlist", "3 V7 N2 Gabcd0000000000000000000000000000\n1 :1.M1P1.h\n");
	imap_uidlist_init(&ul);
	assert_int_equal(imap_uidlist_read(dir, &ul, &err), 1);
	assert_int_equal(imap_uidlist_reread(dir, &ul, &err), 1); /* the same file */
	assert_int_equal(ul.count, 1);
	test_append_line(dir, "dovecot-uidlist", "5 W12 :5.M1P1.h\n");
	assert_int_equal(imap_uidlist_reread(dir, &ul, &err), 1);
	assert_int_equal(ul.count, 2);
	assert_int_equal(imap_uidlist_find(&ul, "5.M1P1.h")->uid, 5);
	assert_int_equal(ul.next_uid, 6);
	assert_int_equal(imap_uidlist_changed(dir, &ul), 0);

	/* our own append keeps the view current: the next reread reads only the other's line */
	assert_int_equal(imap_uidlist_add(&ul, "6.M1P1.h", &uid), 0);
	assert_int_equal(imap_uidlist_append(dir, &ul, ul.count - 1, &err), 0);
	test_append_line(dir, "dovecot-uidlist", "9 :9.M1P1.h\n");
	assert_int_equal(imap_uidlist_reread(dir, &ul, &err), 1);
	assert_int_equal(ul.count, 4);
	assert_int_equal(imap_uidlist_find(&ul, "9.M1P1.h")->uid, 9);

	/* rewritten in place, larger, with other octets where it ended: read whole */
	test_put(dir, "dovecot-uidlist", "3 V7 N40 Gabcd0000000000000000000000000000\n"
		 "30 :30.M1P1.h\n31 :31.M1P1.h\n32 :32.M1P1.h\n33 :33.M1P1.h\n34 :34.M1P1.h\n");
	assert_int_equal(imap_uidlist_reread(dir, &ul, &err), 1);
	assert_int_equal(ul.count, 5);
	assert_null(imap_uidlist_find(&ul, "9.M1P1.h"));
	assert_int_equal(ul.next_uid, 40);

	/* an append in progress (no '\n' yet) is not taken: read whole, which ignores it */
	test_append_line(dir, "dovecot-uidlist", "41 :41.M1P1.h");
	assert_int_equal(imap_uidlist_reread(dir, &ul, &err), 1);
	assert_int_equal(ul.count, 5);
	imap_uidlist_clear(&ul);
}

/* test_uidlist_broken - a broken file is an error, with what could be saved. */
static void test_uidlist_broken(void **state)
{
	const char *dir = *state;
	struct imap_uidlist ul;
	char *err = NULL;

	imap_uidlist_init(&ul);
	test_put(dir, "dovecot-uidlist", "3 V7 N2 G00000000000000000000000000000001\n1 :a\n9 :b\n4 :c\n");
	assert_int_equal(imap_uidlist_read(dir, &ul, &err), -1);
	assert_non_null(strstr(err, "UIDs not ordered"));
	free(err);
	assert_int_equal(ul.uidvalidity, 7);
	assert_int_equal(ul.count, 2);
	assert_int_equal(ul.next_uid, 10);
	test_put(dir, "dovecot-uidlist", "");
	err = NULL;
	assert_int_equal(imap_uidlist_read(dir, &ul, &err), -1);
	free(err);
	char path[512]; /* unreadable (a directory: root reads any file): -2, never "broken" */

	snprintf(path, sizeof(path), "%s/dovecot-uidlist", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	err = NULL;
	assert_int_equal(imap_uidlist_read(dir, &ul, &err), -2);
	free(err);
	assert_int_equal(rmdir(path), 0);
	imap_uidlist_clear(&ul);
}

/* test_uidvalidity - a new account, the next value, Dovecot's file and marker, a lost marker. */
static void test_uidvalidity(void **state)
{
	const char *dir = *state;
	char *err = NULL, *text, marker[64];
	uint32_t v1, v2, v3;
	time_t now = time(NULL);

	assert_int_equal(imap_uidvalidity_next(dir, &v1, &err), 0);
	assert_true(v1 >= (uint32_t)now - 1 && v1 <= (uint32_t)now + 60);
	snprintf(marker, sizeof(marker), "dovecot-uidvalidity.%08x", v1);
	assert_true(test_exists(dir, marker));
	assert_int_equal(imap_uidvalidity_next(dir, &v2, &err), 0);
	assert_int_equal(v2, v1 + 1);
	assert_false(test_exists(dir, marker));
	snprintf(marker, sizeof(marker), "dovecot-uidvalidity.%08x", v2);
	assert_true(test_exists(dir, marker));
	text = test_get(dir, "dovecot-uidvalidity");
	snprintf(marker, sizeof(marker), "%08x", v2);
	assert_string_equal(text, marker);
	free(text);

	/* what Dovecot left (tests/unit/data/dovecot/uidvalidity), with a stray older marker */
	char path[512];
	snprintf(path, sizeof(path), "%s/dovecot-uidvalidity.%08x", dir, v2);
	assert_int_equal(unlink(path), 0);
	test_put(dir, "dovecot-uidvalidity", "6b135b04");
	test_put(dir, "dovecot-uidvalidity.6b135b04", "");
	test_put(dir, "dovecot-uidvalidity.00000005", "");
	assert_int_equal(imap_uidvalidity_next(dir, &v3, &err), 0);
	assert_int_equal(v3, 0x6b135b05);
	assert_true(test_exists(dir, "dovecot-uidvalidity.6b135b05"));
	/* the main file names a marker that is not there: Dovecot's rescan goes on from the highest */
	test_put(dir, "dovecot-uidvalidity", "7fffffff");
	assert_int_equal(imap_uidvalidity_next(dir, &v3, &err), 0);
	assert_int_equal(v3, 0x6b135b06);
	assert_false(test_exists(dir, "dovecot-uidvalidity.00000005"));
	assert_int_equal(imap_uidvalidity_next("/nonexistent/dir", &v3, &err), -1);
	free(err);
}

/* test_dotlock_held - a held lock is refused at once; its content is "PID:HOST"; released, it is ours. */
static void test_dotlock_held(void **state)
{
	const char *dir = *state;
	struct imap_dotlock *a = NULL, *b = NULL;
	char *err = NULL, *text, want[300], host[256];

	assert_int_equal(imap_uidlist_lock(dir, 0, &a, &err), 1);
	assert_true(imap_dotlock_is_ours(a));
	text = test_get(dir, "dovecot-uidlist.lock");
	gethostname(host, sizeof(host));
	snprintf(want, sizeof(want), "%ld:%s", (long)getpid(), host);
	assert_string_equal(text, want);
	free(text);
	assert_int_equal(imap_uidlist_lock(dir, 0, &b, &err), 0); /* our PID: alive */
	assert_null(b);
	assert_int_equal(imap_dotlock_touch(a), 0);
	imap_uidlist_unlock(&a);
	assert_int_equal(imap_uidlist_lock(dir, 0, &b, &err), 1);
	imap_uidlist_unlock(&b);
}

/* test_make_lock - a lock file "pid:host" made mtime_ago seconds ago. */
static void test_make_lock(const char *dir, long pid, const char *host, int mtime_ago)
{
	char text[300], path[512];
	struct timeval tv[2];

	snprintf(text, sizeof(text), "%ld:%s", pid, host);
	test_put(dir, "dovecot-uidlist.lock", text);
	snprintf(path, sizeof(path), "%s/dovecot-uidlist.lock", dir);
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= mtime_ago;
	tv[1] = tv[0];
	assert_int_equal(utimes(path, tv), 0);
}

/* test_dotlock_dead_holder - a lock left by a process that is gone is taken over. */
static void test_dotlock_dead_holder(void **state)
{
	const char *dir = *state;
	struct imap_dotlock *lock = NULL;
	char *err = NULL, host[256];
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	gethostname(host, sizeof(host));
	test_make_lock(dir, pid, host, 10);
	assert_int_equal(imap_uidlist_lock(dir, 3, &lock, &err), 1);
	assert_true(imap_dotlock_is_ours(lock));
	imap_uidlist_unlock(&lock);
	/* a fresh lock (under 2 s) is not checked for its PID: it is waited for */
	test_make_lock(dir, pid, host, 0);
	assert_int_equal(imap_uidlist_lock(dir, 0, &lock, &err), 0);
}

/* test_dotlock_live_holder - a living holder keeps its lock; when it lets go, the waiter gets it. */
static void test_dotlock_live_holder(void **state)
{
	const char *dir = *state;
	struct imap_dotlock *lock = NULL;
	char *err = NULL, host[256], path[512];
	struct timespec t0, t1;
	pid_t pid = fork();

	if (pid == 0) {
		usleep(600 * 1000);
		snprintf(path, sizeof(path), "%s/dovecot-uidlist.lock", dir);
		unlink(path);
		pause();
		_exit(0);
	}
	assert_true(pid > 0);
	gethostname(host, sizeof(host));
	test_make_lock(dir, pid, host, 10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(imap_uidlist_lock(dir, 5, &lock, &err), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 500);
	imap_uidlist_unlock(&lock);

	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	test_make_lock(dir, pid, host, 10);
	assert_int_equal(imap_uidlist_lock(dir, 1, &lock, &err), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(test_exists(dir, "dovecot-uidlist.lock"));
}

/* test_dotlock_stale_foreign - another host's lock is taken over once nothing changed for stale_timeout. */
static void test_dotlock_stale_foreign(void **state)
{
	const char *dir = *state;
	struct imap_dotlock_settings set = { .timeout = 6, .stale_timeout = 1, .write_pid = true };
	struct imap_dotlock *lock = NULL;
	char *err = NULL, path[512];

	test_make_lock(dir, 1, "some-other-host.example", 0);
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", dir);
	assert_int_equal(imap_dotlock_create(path, &set, &lock, &err), 1);
	assert_true(imap_dotlock_is_ours(lock));
	imap_dotlock_delete(&lock);
	set.timeout = 0;
	test_make_lock(dir, 1, "some-other-host.example", 0);
	assert_int_equal(imap_dotlock_create(path, &set, &lock, &err), 0); /* not stale yet */
}

/* test_keywords_file - written through the lock, read back; mtime grows; a stale lock is no obstacle. */
static void test_keywords_file(void **state)
{
	const char *dir = *state;
	struct imap_keywords kw = { 0 }, back = { 0 };
	char *err = NULL, *text;
	time_t first;

	assert_int_equal(imap_keywords_read(dir, &back, &err), 0);
	assert_null(back.names[0]);
	assert_int_equal(imap_keywords_add(&kw, "$Forwarded"), 0);
	assert_int_equal(imap_keywords_add(&kw, "Junk"), 1);
	test_put(dir, "dovecot-keywords.lock", "");
	assert_int_equal(imap_keywords_write(dir, &kw, &err), 0);
	assert_false(test_exists(dir, "dovecot-keywords.lock"));
	text = test_get(dir, "dovecot-keywords");
	assert_string_equal(text, "0 $Forwarded\n1 Junk\n");
	free(text);
	first = kw.mtime;
	assert_int_equal(imap_keywords_add(&kw, "Zeta"), 2);
	assert_int_equal(imap_keywords_write(dir, &kw, &err), 0);
	assert_true(kw.mtime > first);
	assert_int_equal(imap_keywords_read(dir, &back, &err), 0);
	assert_string_equal(back.names[2], "Zeta");
	assert_int_equal(back.mtime, kw.mtime);
	imap_keywords_clear(&kw);
	imap_keywords_clear(&back);
}

/* test_subs_file - written through subscriptions.lock, read back. */
static void test_subs_file(void **state)
{
	const char *dir = *state;
	struct imap_subs s = { 0 }, back = { 0 };
	char *err = NULL, *text;

	assert_int_equal(imap_subs_read(dir, &back, &err), 0);
	assert_int_equal(back.count, 0);
	assert_true(imap_subs_add(&s, "INBOX"));
	assert_true(imap_subs_add(&s, "Entwürfe/2026"));
	assert_int_equal(imap_subs_write(dir, &s, &err), 0);
	assert_false(test_exists(dir, "subscriptions.lock"));
	text = test_get(dir, "subscriptions");
	assert_string_equal(text, "V\t2\n\nINBOX\nEntw&APw-rfe\t2026\n");
	free(text);
	assert_int_equal(imap_subs_read(dir, &back, &err), 0);
	assert_int_equal(back.count, 2);
	assert_true(imap_subs_has(&back, "Entwürfe/2026"));
	imap_subs_clear(&s);
	imap_subs_clear(&back);
}

/* main - run the file tests, each in its own directory. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uidlist_write_read, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_uidlist_broken, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_uidlist_reread, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_uidvalidity, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_dotlock_held, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_dotlock_dead_holder, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_dotlock_live_holder, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_dotlock_stale_foreign, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_keywords_file, test_tmpdir_setup, test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_subs_file, test_tmpdir_setup, test_tmpdir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_users - the users file: parsing, lookup, passwords, save/load, refresh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/users.h"
#include "util/xalloc.h"

#define TEST_HASH "$6$salt$abc"

/* test_users_parse_text - parse a C string into a fresh db. */
static int test_users_parse_text(struct users_db *db, const char *text, char **error_r)
{
	users_init(db);
	*error_r = NULL;
	return users_parse(db, text, strlen(text), "users", error_r);
}

/* test_users_parse_good - comments, blanks, CR LF, secrets with ':' and case. */
static void test_users_parse_good(void **state)
{
	static const char text[] =
		"# accounts\n"
		"\n"
		"   \t\n"
		"  # indented comment\n"
		"Bob@Example.TEST:" TEST_HASH ":\r\n"
		"alice@example.test:" TEST_HASH ":se:cr:et\n"
		"carol@example.test:" TEST_HASH; /* no secret field, no final LF */
	struct users_db db;
	char *error;
	const struct users_account *a;

	(void)state;
	assert_int_equal(test_users_parse_text(&db, text, &error), 0);
	assert_int_equal(db.n, 3);
	assert_string_equal(db.accounts[0].address, "alice@example.test");
	assert_string_equal(db.accounts[1].address, "bob@example.test");
	a = users_find(&db, "alice@example.test");
	assert_non_null(a);
	assert_string_equal(a->hash, TEST_HASH);
	assert_string_equal(a->secret, "se:cr:et");
	a = users_find(&db, "bob@example.test");
	assert_non_null(a);
	assert_null(a->secret);
	assert_null(users_find(&db, "carol@example.test")->secret);
	users_free(&db);
}

/* test_users_parse_bad - each malformed line is an error naming its line. */
static void test_users_parse_bad(void **state)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "no-colon-here\n", "users:1: expected address:hash:secret" },
		{ "# c\nnoat:" TEST_HASH ":\n", "users:2: address has no '@'" },
		{ "a@b@c:" TEST_HASH ":\n", "users:1: address has more than one '@'" },
		{ "@example.test:" TEST_HASH ":\n", "users:1: address needs a local part and a domain" },
		{ "a@:" TEST_HASH ":\n", "users:1: address needs a local part and a domain" },
		{ ":" TEST_HASH ":\n", "users:1: empty address" },
		{ "a b@example.test:" TEST_HASH ":\n", "users:1: address contains ':', white space or a control character" },
		{ "a@example.test::\n", "users:1: empty password hash" },
		{ "a@example.test:$6$ x:\n", "users:1: malformed password hash" },
		{ "a@example.test:" TEST_HASH ":s\x01t\n", "users:1: shared secret contains a control character" },
		{ "a@example.test:" TEST_HASH ":\n\nA@example.test:" TEST_HASH ":\n", "users:3: duplicate account" },
		{ "b@example.test:" TEST_HASH ":\na@example.test:" TEST_HASH ":\nb@EXAMPLE.test:x:\n", "users:3: duplicate account" },
	};
	struct users_db db;
	char *error;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(test_users_parse_text(&db, cases[i].text, &error), -1);
		assert_string_equal(error, cases[i].error);
		assert_int_equal(db.n, 0);
		free(error);
	}
}

/* test_users_parse_keeps_old - a failed parse leaves the accounts as they were. */
static void test_users_parse_keeps_old(void **state)
{
	static const char bad[] = "broken\n";
	struct users_db db;
	char *error;

	(void)state;
	assert_int_equal(test_users_parse_text(&db, "a@example.test:" TEST_HASH ":\n", &error), 0);
	assert_int_equal(users_parse(&db, bad, strlen(bad), "users", &error), -1);
	free(error);
	assert_non_null(users_find(&db, "a@example.test"));
	users_free(&db);
}

/* test_users_find_case - lookups ignore case on the whole address. */
static void test_users_find_case(void **state)
{
	struct users_db db;
	const char *error;
	static const char *const names[] = { "m@x.test", "b@x.test", "z@x.test", "a@x.test" };

	(void)state;
	users_init(&db);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(users_add(&db, names[i], TEST_HASH, NULL, &error), 0);
	assert_int_equal(users_add(&db, "User@Example.Test", TEST_HASH, "s", &error), 0);
	assert_string_equal(users_find(&db, "USER@EXAMPLE.TEST")->address, "user@example.test");
	assert_non_null(users_find(&db, "user@example.test"));
	assert_non_null(users_find(&db, "A@X.TEST"));
	assert_non_null(users_find(&db, "z@x.test"));
	assert_null(users_find(&db, "user@example.tes"));
	assert_null(users_find(&db, "user@example.testx"));
	assert_null(users_find(&db, NULL));
	users_free(&db);
}

/* test_users_mutations - add, set, del and their errors. */
static void test_users_mutations(void **state)
{
	struct users_db db;
	const char *error;

	(void)state;
	users_init(&db);
	assert_int_equal(users_add(&db, "a@x.test", TEST_HASH, NULL, &error), 0);
	assert_int_equal(users_add(&db, "A@X.test", TEST_HASH, NULL, &error), -1);
	assert_string_equal(error, "account exists");
	assert_int_equal(users_add(&db, "#a@x.test", TEST_HASH, NULL, &error), -1);
	assert_int_equal(users_add(&db, "a:b@x.test", TEST_HASH, NULL, &error), -1);
	assert_int_equal(users_add(&db, "a\n@x.test", TEST_HASH, NULL, &error), -1);
	assert_int_equal(users_add(&db, "b@x.test", TEST_HASH, "", &error), -1);
	assert_int_equal(users_add(&db, "b@x.test", TEST_HASH, "a\nb", &error), -1);
	assert_int_equal(users_set(&db, "A@x.test", "$6$new$x", "s:1", &error), 0);
	assert_string_equal(users_find(&db, "a@x.test")->hash, "$6$new$x");
	assert_string_equal(users_find(&db, "a@x.test")->secret, "s:1");
	assert_int_equal(users_set(&db, "nobody@x.test", TEST_HASH, NULL, &error), -1);
	assert_int_equal(users_del(&db, "nobody@x.test"), -1);
	assert_int_equal(users_del(&db, "A@X.TEST"), 0);
	assert_int_equal(db.n, 0);
	users_free(&db);
}

/* test_users_verify - a fresh hash verifies; wrong passwords and the dummy do not. */
static void test_users_verify(void **state)
{
	struct users_account acct = { .address = "a@x.test" };
	struct users_account *copy;
	char *hash;

	(void)state;
	assert_int_equal(users_hash_password("correct horse", &hash), 0);
	assert_true(strncmp(hash, "$y$", 3) == 0 || strncmp(hash, "$6$", 3) == 0);
	acct.hash = hash;
	assert_int_equal(users_verify_password(&acct, "correct horse"), 1);
	assert_int_equal(users_verify_password(&acct, "correct horsE"), 0);
	assert_int_equal(users_verify_password(&acct, ""), 0);
	assert_int_equal(users_verify_password(NULL, "correct horse"), 0);
	assert_int_equal(users_verify_dummy("postern-dummy-password"), 0);
	assert_int_equal(users_verify_hash("!", "x"), 0);
	assert_int_equal(users_verify_hash("", ""), 0);
	copy = users_account_dup(&acct);
	assert_int_equal(users_verify_password(copy, "correct horse"), 1);
	users_account_free(&copy);
	assert_null(copy);
	free(hash);
}

/* test_users_tmpdir - a fresh temporary directory. */
static char *test_users_tmpdir(void)
{
	char *dir = xstrdup("/tmp/test_users.XXXXXX");

	assert_non_null(mkdtemp(dir));
	return dir;
}

/* test_users_write - write text to path. */
static void test_users_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* test_users_round_trip - save then load; mode 0600; missing dir and file. */
static void test_users_round_trip(void **state)
{
	char *dir = test_users_tmpdir();
	char *path = xasprintf("%s/sub/users", dir);
	struct users_db db, back;
	const char *error;
	char *err = NULL;
	struct stat st;

	(void)state;
	users_init(&back);
	assert_int_equal(users_load(&back, path, &err), 0); /* missing: empty */
	assert_int_equal(back.n, 0);
	users_init(&db);
	assert_int_equal(users_add(&db, "b@x.test", TEST_HASH, "with:colon", &error), 0);
	assert_int_equal(users_add(&db, "a@x.test", TEST_HASH, NULL, &error), 0);
	assert_int_equal(users_save(&db, path, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(users_load(&back, path, &err), 0);
	assert_int_equal(back.n, 2);
	assert_string_equal(users_find(&back, "b@x.test")->secret, "with:colon");
	assert_null(users_find(&back, "a@x.test")->secret);
	assert_string_equal(users_find(&back, "a@x.test")->hash, TEST_HASH);
	users_free(&db);
	users_free(&back);
	unlink(path);
	free(path);
	path = xasprintf("%s/sub", dir);
	rmdir(path);
	rmdir(dir);
	free(path);
	free(dir);
}

/* test_users_refresh - one stat when unchanged; a change, a removal and a bad file are seen. */
static void test_users_refresh(void **state)
{
	char *dir = test_users_tmpdir();
	char *path = xasprintf("%s/users", dir);
	struct users_db db, other;
	const char *error;
	char *err = NULL;

	(void)state;
	users_init(&db);
	assert_int_equal(users_refresh(&db, path, &err), 0); /* missing, still missing */
	users_init(&other);
	assert_int_equal(users_add(&other, "a@x.test", TEST_HASH, NULL, &error), 0);
	assert_int_equal(users_save(&other, path, &err), 0);
	assert_int_equal(users_refresh(&db, path, &err), 1);
	assert_non_null(users_find(&db, "a@x.test"));
	assert_int_equal(users_refresh(&db, path, &err), 0);
	assert_int_equal(users_add(&other, "b@x.test", TEST_HASH, NULL, &error), 0);
	assert_int_equal(users_save(&other, path, &err), 0);
	assert_int_equal(users_refresh(&db, path, &err), 1);
	assert_non_null(users_find(&db, "b@x.test"));
	/* a broken file: reported once, old data kept */
	test_users_write(path, "broken\n");
	assert_int_equal(users_refresh(&db, path, &err), -1);
	assert_string_equal(strchr(err, ':'), ":1: expected address:hash:secret");
	free(err);
	assert_int_equal(users_refresh(&db, path, NULL), 0);
	assert_non_null(users_find(&db, "b@x.test"));
	unlink(path);
	assert_int_equal(users_refresh(&db, path, &err), 1);
	assert_int_equal(db.n, 0);
	users_free(&other);
	users_free(&db);
	rmdir(dir);
	free(path);
	free(dir);
}

/* test_users_lock - lock and unlock leave a usable lock file. */
static void test_users_lock(void **state)
{
	char *dir = test_users_tmpdir();
	char *path = xasprintf("%s/users", dir);
	char *lockpath = xasprintf("%s.lock", path);
	char *err = NULL;
	int fd;

	(void)state;
	assert_int_equal(users_lock(path, &fd, &err), 0);
	assert_true(fd >= 0);
	users_unlock(&fd);
	assert_int_equal(fd, -1);
	assert_int_equal(unlink(lockpath), 0);
	rmdir(dir);
	free(lockpath);
	free(path);
	free(dir);
}

/* main - run the users tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users_parse_good),
		cmocka_unit_test(test_users_parse_bad),
		cmocka_unit_test(test_users_parse_keeps_old),
		cmocka_unit_test(test_users_find_case),
		cmocka_unit_test(test_users_mutations),
		cmocka_unit_test(test_users_verify),
		cmocka_unit_test(test_users_round_trip),
		cmocka_unit_test(test_users_refresh),
		cmocka_unit_test(test_users_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

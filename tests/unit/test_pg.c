/* test_pg - the PostgreSQL URL (check, redact, scrub) and the schema statement. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/pg_schema.h"
#include "auth/pg_url.h"

/* One URL that parses and its parts, decoded. */
struct test_pg_good {
	const char *url;
	const char *user, *password, *host, *dbname; /* password NULL: none */
	unsigned port;
	enum pg_url_host kind;
	const char *query;
};

static const struct test_pg_good test_pg_goods[] = {
	{ "postgresql://postern:secret@127.0.0.1:5432/mail", "postern", "secret", "127.0.0.1", "mail",
	  5432, PG_URL_HOST_IPV4, NULL },
	{ "postgres://postern@db.example.org/mail", "postern", NULL, "db.example.org", "mail", 5432,
	  PG_URL_HOST_NAME, NULL },
	{ "postgresql://postern@db/mail?passfile=/etc/postern/pgpass", "postern", NULL, "db", "mail",
	  5432, PG_URL_HOST_NAME, "passfile=/etc/postern/pgpass" },
	{ "postgresql://postern:pw@[::1]:6543/mail", "postern", "pw", "::1", "mail", 6543,
	  PG_URL_HOST_IPV6, NULL },
	{ "postgresql://postern:pw@[2001:db8::5]/mail", "postern", "pw", "2001:db8::5", "mail", 5432,
	  PG_URL_HOST_IPV6, NULL },
	{ "postgresql://post%65rn:p%40ss%2Fw%25rd@host:1/m%2Fail", "postern", "p@ss/w%rd", "host",
	  "m/ail", 1, PG_URL_HOST_NAME, NULL },
	{ "postgresql://postern@%2Fvar%2Frun%2Fpostgresql/mail", "postern", NULL,
	  "/var/run/postgresql", "mail", 5432, PG_URL_HOST_SOCKET, NULL },
	{ "postgresql://u:@h/d", "u", "", "h", "d", 5432, PG_URL_HOST_NAME, NULL },
	{ "postgresql://u:pa:ss?#@h:65535/d", "u", "pa:ss?#", "h", "d", 65535, PG_URL_HOST_NAME, NULL },
	{ "postgresql://u@h/d?sslmode=require&connect_timeout=3&hostaddr=10.0.0.1", "u", NULL, "h", "d",
	  5432, PG_URL_HOST_NAME, "sslmode=require&connect_timeout=3&hostaddr=10.0.0.1" },
};

/* One URL that does not parse, and a word of the error it gets. */
struct test_pg_bad {
	const char *url;
	const char *error;
};

static const struct test_pg_bad test_pg_bads[] = {
	{ "", "not a postgresql:// URL" },
	{ "garbage", "not a postgresql:// URL" },
	{ "mysql://u:pw@h/d", "not a postgresql:// URL" },
	{ "Postgresql://u@h/d", "not a postgresql:// URL" },
	{ "postgresql://", "no database" },
	{ "postgresql://u@h", "no database" },
	{ "postgresql://u:pw@h", "no database" },
	{ "postgresql://u@h/", "no database" },
	{ "postgresql://u@h/?sslmode=require", "no database" },
	{ "postgresql:///d", "no user" },
	{ "postgresql://h/d", "no user" },
	{ "postgresql://:pw@h/d", "no user" },
	{ "postgresql://u:p@ss@h/d", "more than one '@'" },
	{ "postgresql://u@/d", "no host" },
	{ "postgresql://u@:5432/d", "no host" },
	{ "postgresql://u@h:/d", "bad port" },
	{ "postgresql://u@h:0/d", "bad port" },
	{ "postgresql://u@h:65536/d", "bad port" },
	{ "postgresql://u@h:123456/d", "bad port" },
	{ "postgresql://u@h:12a/d", "bad port" },
	{ "postgresql://u@[::1/d", "without its ']'" },
	{ "postgresql://u@[zz::1]/d", "bad IPv6" },
	{ "postgresql://u@[127.0.0.1]/d", "bad IPv6" },
	{ "postgresql://u@[::1]x/d", "junk after" },
	{ "postgresql://u@h1,h2/d", "more than one host" },
	{ "postgresql://u@ho$t/d", "bad character in the host" },
	{ "postgresql://u@%2Fx%zz/d", "socket directory" },
	{ "postgresql://u@h/d?", "empty query" },
	{ "postgresql://u@h/d?foo=1", "unknown parameter" },
	{ "postgresql://u@h/d?host=x", "unknown parameter" },
	{ "postgresql://u@h/d?user=x", "unknown parameter" },
	{ "postgresql://u@h/d?sslmode", "without '='" },
	{ "postgresql://u@h/d?sslmode=a&&gsslib=x", "empty parameter" },
	{ "postgresql://u@h/d?sslmode=a&", "empty parameter" },
	{ "postgresql://u@h/d?sslmode=a&sslmode=b", "given twice" },
	{ "postgresql://u@h/d?password=%zz", "percent escape" },
	{ "postgresql://u:p%zz@h/d", "percent escape in the password" },
	{ "postgresql://u:p%0@h/d", "percent escape in the password" },
	{ "postgresql://u:p%00@h/d", "percent escape in the password" },
	{ "postgresql://u%00@h/d", "percent escape in the user" },
	{ "postgresql://u@h/d b", "space" },
	{ "postgresql://u:pass word@h/d", "space" },
	{ "postgresql://u@h/d\n", "control character" },
	{ "postgresql://u:p\xc3\xa9@h/d", "non-ASCII" },
	{ "postgresql://u@h/d#frag", "database name" },
	{ "postgresql://u@h/d/e", "database name" },
};

/* test_pg_span_is - the decoded span equals want. */
static void test_pg_span_is(const char *url, struct pg_url_span s, const char *want)
{
	char buf[PG_URL_MAX + 1];

	assert_true(pg_url_decode(url, s, buf, sizeof(buf)) >= 0);
	assert_string_equal(buf, want);
}

/* test_pg_url_good - each good URL parses into its parts. */
static void test_pg_url_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(test_pg_goods) / sizeof(test_pg_goods[0]); i++) {
		const struct test_pg_good *t = &test_pg_goods[i];
		struct pg_url r;
		const char *error = NULL;

		if (pg_url_parse(t->url, &r, &error) != 0)
			fail_msg("%s: refused: %s", t->url, error);
		assert_int_equal(pg_url_check(t->url, &error), 0);
		test_pg_span_is(t->url, r.user, t->user);
		assert_int_equal(r.has_password, t->password != NULL);
		if (t->password != NULL)
			test_pg_span_is(t->url, r.password, t->password);
		test_pg_span_is(t->url, r.host, t->host);
		test_pg_span_is(t->url, r.dbname, t->dbname);
		assert_int_equal(r.port_number, t->port);
		assert_int_equal(r.host_kind, t->kind);
		assert_int_equal(r.query.len, t->query ? strlen(t->query) : 0);
		if (t->query != NULL)
			assert_memory_equal(t->url + r.query.off, t->query, r.query.len);
	}
}

/* test_pg_url_bad - each bad URL is refused with its reason, which never quotes the URL. */
static void test_pg_url_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(test_pg_bads) / sizeof(test_pg_bads[0]); i++) {
		const struct test_pg_bad *t = &test_pg_bads[i];
		const char *error = NULL;

		if (pg_url_check(t->url, &error) != -1 || error == NULL)
			fail_msg("%s: accepted", t->url);
		if (strstr(error, t->error) == NULL)
			fail_msg("%s: got \"%s\", want \"%s\"", t->url, error, t->error);
		assert_null(strstr(error, "pw"));
		assert_null(strstr(error, "ss@"));
	}
}

/* test_pg_url_long - a URL past PG_URL_MAX is refused, one at it is not. */
static void test_pg_url_long(void **state)
{
	char url[PG_URL_MAX + 2];
	const char *error;
	size_t n;

	(void)state;
	n = (size_t)snprintf(url, sizeof(url), "postgresql://u@h/");
	memset(url + n, 'd', PG_URL_MAX - n);
	url[PG_URL_MAX] = '\0';
	assert_int_equal(pg_url_check(url, &error), 0);
	url[PG_URL_MAX] = 'd';
	url[PG_URL_MAX + 1] = '\0';
	assert_int_equal(pg_url_check(url, &error), -1);
	assert_non_null(strstr(error, "longer"));
}

/* URLs and their redacted form. */
static const char *const test_pg_redactions[][2] = {
	{ "postgresql://postern:secret@127.0.0.1:5432/mail",
	  "postgresql://postern:***@127.0.0.1:5432/mail" },
	{ "postgresql://postern@db/mail?passfile=/etc/pgpass", "postgresql://postern@db/mail?passfile=/etc/pgpass" },
	{ "postgresql://u:p%40ss@[::1]/d", "postgresql://u:***@[::1]/d" },
	{ "postgresql://u:@h/d", "postgresql://u:***@h/d" },
	{ "postgresql://u:pw@h/d?password=qq&sslmode=require&sslpassword=zz",
	  "postgresql://u:***@h/d?password=***&sslmode=require&sslpassword=***" },
	/* do not parse: redacted generously */
	{ "postgresql://u:p@ss@h/d", "postgresql://u:***@h/d" },
	{ "postgresql://u:pa/ss@h/d", "postgresql://u:***@h/d" },
	{ "postgresql://u:secret@h", "postgresql://u:***@h" },
	{ "postgresql://u@h/d?password=abc&x=1", "postgresql://u@h/d?password=***" },
	{ "mysql://u:secret@h/d", "mysql://u:***@h/d" },
	{ "u:secret@h/d", "***" },
	{ "", "***" },
	{ "postgresql://h:5432/d", "postgresql://h:5432/d" },
};

/* test_pg_url_redact - passwords become ***, whatever the URL looks like. */
static void test_pg_url_redact(void **state)
{
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(test_pg_redactions) / sizeof(test_pg_redactions[0]); i++) {
		const char *url = test_pg_redactions[i][0], *want = test_pg_redactions[i][1];
		assert_ptr_equal(pg_url_redact(url, buf, sizeof(buf)), buf);
		if (strcmp(buf, want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", url, buf, want);
	}
}

/* test_pg_url_redact_short - a short buffer gets a NUL-terminated prefix of the redacted URL. */
static void test_pg_url_redact_short(void **state)
{
	const char *url = "postgresql://postern:secret@h/d";
	const char *full = "postgresql://postern:***@h/d";
	char buf[64];

	(void)state;
	for (size_t size = 1; size < sizeof(buf); size++) {
		memset(buf, 'X', sizeof(buf));
		pg_url_redact(url, buf, size);
		assert_true(strlen(buf) < size);
		assert_int_equal(strncmp(buf, full, strlen(buf)), 0);
		assert_null(strstr(buf, "sec"));
	}
	pg_url_redact(url, buf, 0); /* writes nothing */
}

/* test_pg_url_scrub - libpq's text on one line, without the password as written or decoded. */
static void test_pg_url_scrub(void **state)
{
	const char *url = "postgresql://u:s%40cret@h/d?sslpassword=keypw";
	char buf[256];

	(void)state;
	assert_string_equal(pg_url_scrub(url, "  FATAL:  s@cret\n\tand s%40cret, keypw!\n", buf,
					 sizeof(buf)),
			    "FATAL: *** and ***, ***!");
	assert_string_equal(pg_url_scrub("postgresql://u@h/d", "a\r\n b  \n", buf, sizeof(buf)), "a b");
	assert_string_equal(pg_url_scrub("postgresql://junk:pw@x", "the pw is pw", buf, sizeof(buf)),
			    "the *** is ***");
	assert_string_equal(pg_url_scrub(url, "", buf, sizeof(buf)), "");
	pg_url_scrub(url, "s@cret s@cret s@cret", buf, 8);
	assert_null(strstr(buf, "s@c"));
}

/* test_pg_schema_sql - the statement holds every step, the lock, and refuses newer versions. */
static void test_pg_schema_sql(void **state)
{
	char *sql = pg_schema_sql(), lock[64];

	(void)state;
	assert_null(pg_schema_step(0));
	assert_null(pg_schema_step(PG_SCHEMA_VERSION + 1));
	for (unsigned v = 1; v <= PG_SCHEMA_VERSION; v++) {
		assert_non_null(pg_schema_step(v));
		assert_non_null(strstr(sql, pg_schema_step(v)));
	}
	snprintf(lock, sizeof(lock), "pg_advisory_xact_lock(%lld)", (long long)PG_SCHEMA_LOCK_KEY);
	assert_non_null(strstr(sql, lock));
	assert_non_null(strstr(sql, "newer than this postern knows"));
	assert_non_null(strstr(pg_schema_step(1), "pg_notify('" PG_SCHEMA_CHANNEL "'"));
	assert_non_null(strstr(pg_schema_step(1), "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON accounts"));
	assert_non_null(strstr(pg_schema_step(1), "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aliases"));
	assert_non_null(strstr(pg_schema_step(2), "AFTER UPDATE ON aliases\n"
						  "	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"));
	assert_non_null(strstr(pg_schema_step(2), "IF n > 100 THEN"));
	assert_non_null(strstr(pg_schema_step(2), "AFTER TRUNCATE ON accounts"));
	assert_int_equal(strncmp(sql, "DO $postern$", 12), 0);
	free(sql);
}

/* test_pg_schema_notice - "TABLE:ADDRESS" names an address; a table's name, or too long, does not. */
static void test_pg_schema_notice(void **state)
{
	char addr[16];

	(void)state;
	assert_true(pg_schema_notice("accounts:bob@x.test", addr, sizeof(addr)));
	assert_string_equal(addr, "bob@x.test");
	assert_true(pg_schema_notice("aliases:@x.test", addr, sizeof(addr)));
	assert_string_equal(addr, "@x.test");
	assert_true(pg_schema_notice("aliases:a:b", addr, sizeof(addr))); /* the first ':' */
	assert_string_equal(addr, "a:b");
	assert_false(pg_schema_notice("accounts", addr, sizeof(addr)));
	assert_false(pg_schema_notice("accounts:", addr, sizeof(addr)));
	assert_false(pg_schema_notice("", addr, sizeof(addr)));
	assert_true(pg_schema_notice("t:123456789012345", addr, sizeof(addr))); /* 15 + NUL fit */
	assert_false(pg_schema_notice("t:1234567890123456", addr, sizeof(addr)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg_url_good),
		cmocka_unit_test(test_pg_url_bad),
		cmocka_unit_test(test_pg_url_long),
		cmocka_unit_test(test_pg_url_redact),
		cmocka_unit_test(test_pg_url_redact_short),
		cmocka_unit_test(test_pg_url_scrub),
		cmocka_unit_test(test_pg_schema_sql),
		cmocka_unit_test(test_pg_schema_notice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

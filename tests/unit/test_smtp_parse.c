/* test_smtp_parse - command lines, envelope paths, ESMTP parameters; open-relay tricks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_parse.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAIL SMTP_PATH_MAIL
#define RCPT SMTP_PATH_RCPT

/* One command line and what smtp_command_parse makes of it. */
struct test_cmd_case {
	const char *line;
	size_t len; /* 0: strlen(line) */
	int rc;
	enum smtp_verb verb;
	const char *args;
};

static const struct test_cmd_case test_cmd_cases[] = {
	{"MAIL FROM:<a@b.test>", 0, 0, SMTP_VERB_MAIL, "FROM:<a@b.test>"},
	{"mail FROM:<a@b.test>", 0, 0, SMTP_VERB_MAIL, "FROM:<a@b.test>"},
	{"MaIl FROM:<a@b.test>  \t ", 0, 0, SMTP_VERB_MAIL, "FROM:<a@b.test>"},
	{"RCPT TO:<x@y>", 0, 0, SMTP_VERB_RCPT, "TO:<x@y>"},
	{"EHLO client.test", 0, 0, SMTP_VERB_EHLO, "client.test"},
	{"helo client.test", 0, 0, SMTP_VERB_HELO, "client.test"},
	{"DATA", 0, 0, SMTP_VERB_DATA, ""},
	{"data ", 0, 0, SMTP_VERB_DATA, ""},
	{"RSET", 0, 0, SMTP_VERB_RSET, ""},
	{"NOOP hello", 0, 0, SMTP_VERB_NOOP, "hello"},
	{"QUIT", 0, 0, SMTP_VERB_QUIT, ""},
	{"VRFY user", 0, 0, SMTP_VERB_VRFY, "user"},
	{"EXPN list", 0, 0, SMTP_VERB_EXPN, "list"},
	{"HELP", 0, 0, SMTP_VERB_HELP, ""},
	{"StartTLS", 0, 0, SMTP_VERB_STARTTLS, ""},
	{"AUTH PLAIN AGFsaWNlAHNlY3JldA==", 0, 0, SMTP_VERB_AUTH, "PLAIN AGFsaWNlAHNlY3JldA=="},
	{"", 0, 0, SMTP_VERB_UNKNOWN, ""},
	{"MAILX FROM:<a@b>", 0, 0, SMTP_VERB_UNKNOWN, "FROM:<a@b>"},
	{"MAI", 0, 0, SMTP_VERB_UNKNOWN, ""},
	{"GET / HTTP/1.0", 0, 0, SMTP_VERB_UNKNOWN, "/ HTTP/1.0"},
	{" MAIL FROM:<a@b>", 0, 0, SMTP_VERB_UNKNOWN, "MAIL FROM:<a@b>"},
	{"MAIL  FROM:<a@b>", 0, 0, SMTP_VERB_MAIL, " FROM:<a@b>"},
	{"RCPT TO:<J\xc3\xb6rg@b\xc3\xbc.test>", 0, 0, SMTP_VERB_RCPT, "TO:<J\xc3\xb6rg@b\xc3\xbc.test>"},
	{"MAIL\tFROM:<a@b>", 0, -1, SMTP_VERB_UNKNOWN, ""},
	{"MA\x01L FROM:<a@b>", 0, -1, SMTP_VERB_UNKNOWN, ""},
	{"M\xc3\x81IL FROM:<a@b>", 0, -1, SMTP_VERB_UNKNOWN, ""},
	{"DATA\x7f", 0, -1, SMTP_VERB_UNKNOWN, ""},
	{"MAIL FROM:<a\0@b>", 16, -1, SMTP_VERB_UNKNOWN, ""},
	{"DA\0TA", 5, -1, SMTP_VERB_UNKNOWN, ""},
	{"QUIT\r", 0, -1, SMTP_VERB_UNKNOWN, ""},
};

/* test_command_table - every row of test_cmd_cases. */
static void test_command_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(test_cmd_cases); i++) {
		const struct test_cmd_case *c = &test_cmd_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->line);
		struct smtp_command cmd;
		const char *error = NULL;
		int rc = smtp_command_parse(c->line, len, &cmd, &error);

		if (rc != c->rc)
			fail_msg("row %zu <%s>: rc %d, want %d", i, c->line, rc, c->rc);
		if (rc < 0) {
			/* a bare reason: the session replies "500 5.5.2 Error: <reason>" */
			assert_non_null(error);
			assert_null(strstr(error, "5.5."));
			continue;
		}
		if (cmd.verb != c->verb)
			fail_msg("row %zu <%s>: verb %d, want %d", i, c->line, cmd.verb, c->verb);
		if (cmd.args_len != strlen(c->args) || memcmp(cmd.args, c->args, cmd.args_len) != 0)
			fail_msg("row %zu <%s>: args <%.*s>, want <%s>", i, c->line,
				 (int)cmd.args_len, cmd.args, c->args);
	}
}

/* test_verb_names - names round-trip through the parser; bad values are UNKNOWN. */
static void test_verb_names(void **state)
{
	int v;

	(void)state;
	for (v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++) {
		const char *name = smtp_verb_name((enum smtp_verb)v);
		struct smtp_command cmd;
		const char *error;

		assert_int_equal(smtp_command_parse(name, strlen(name), &cmd, &error), 0);
		assert_int_equal(cmd.verb, v);
	}
	assert_string_equal(smtp_verb_name(SMTP_VERB_MAIL), "MAIL");
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "UNKNOWN");
	assert_string_equal(smtp_verb_name(SMTP_VERB_COUNT), "UNKNOWN");
	assert_string_equal(smtp_verb_name((enum smtp_verb)-1), "UNKNOWN");
}

/* One MAIL/RCPT argument string and the expected mailbox or error. */
struct test_path_case {
	enum smtp_path_kind kind;
	const char *args;
	int code; /* 0: parses */
	const char *err; /* expected error prefix */
	const char *local;
	const char *domain;
};

#define BAD_FROM 501, "5.1.7 Bad sender address syntax", NULL, NULL
#define BAD_TO 501, "5.1.3 Bad recipient address syntax", NULL, NULL
#define TOO_LONG 501, "5.5.4 Path too long", NULL, NULL
#define OK(l, d) 0, NULL, l, d

#define L64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D63 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
/* 4 * 63 + 3 = 255 octets */
#define D255 D63 "." D63 "." D63 "." D63

static const struct test_path_case test_path_cases[] = {
	/* basics, case, the optional space */
	{MAIL, "FROM:<user@example.test>", OK("user", "example.test")},
	{MAIL, "from:<User@Example.TEST>", OK("User", "example.test")},
	{MAIL, "FROM: <user@example.test>", OK("user", "example.test")},
	{MAIL, "FROM:  <user@example.test>", BAD_FROM},
	{MAIL, "FROM:user@example.test", BAD_FROM},
	{MAIL, "FROM:<user@example.test", BAD_FROM},
	{MAIL, "FROM:<user@example.test>x", BAD_FROM},
	{MAIL, "FROM:<user@example.test> ", OK("user", "example.test")},
	{MAIL, "FROM:<user@example.test>\t", OK("user", "example.test")},
	{MAIL, "FROM <user@example.test>", 501, "5.5.4 Syntax: MAIL FROM:<address>", NULL, NULL},
	{MAIL, "TO:<user@example.test>", 501, "5.5.4 Syntax: MAIL FROM:<address>", NULL, NULL},
	{RCPT, "FROM:<user@example.test>", 501, "5.5.4 Syntax: RCPT TO:<address>", NULL, NULL},
	{RCPT, "", 501, "5.5.4 Syntax: RCPT TO:<address>", NULL, NULL},
	{RCPT, "to:<user@example.test>", OK("user", "example.test")},
	{RCPT, "To: <user@example.test>", OK("user", "example.test")},
	{RCPT, "TO:<>", BAD_TO},
	{MAIL, "FROM:<>", OK("", "")},
	{MAIL, "FROM:<user>", BAD_FROM},
	{MAIL, "FROM:<user@>", BAD_FROM},
	{MAIL, "FROM:<@example.test>", BAD_FROM},
	/* Postmaster */
	{RCPT, "TO:<Postmaster>", OK("postmaster", "")},
	{RCPT, "TO:<POSTMASTER>", OK("postmaster", "")},
	{RCPT, "TO:<postmaster@Example.Test>", OK("postmaster", "example.test")},
	{MAIL, "FROM:<Postmaster>", BAD_FROM},
	{RCPT, "TO:<postmaster2>", BAD_TO},
	/* dot-string */
	{RCPT, "TO:<first.last@example.test>", OK("first.last", "example.test")},
	{RCPT, "TO:<a!#$%&'*+-/=?^_`{|}~z@example.test>", OK("a!#$%&'*+-/=?^_`{|}~z", "example.test")},
	{RCPT, "TO:<.user@example.test>", BAD_TO},
	{RCPT, "TO:<user.@example.test>", BAD_TO},
	{RCPT, "TO:<us..er@example.test>", BAD_TO},
	{RCPT, "TO:<us er@example.test>", BAD_TO},
	{RCPT, "TO:<us(er)@example.test>", BAD_TO},
	{RCPT, "TO:<us,er@example.test>", BAD_TO},
	{RCPT, "TO:<us\ter@example.test>", BAD_TO},
	{RCPT, "TO:<user\x7f@example.test>", BAD_TO},
	/* open-relay tricks: never a remote domain */
	{RCPT, "TO:<user%remote.test@example.test>", OK("user%remote.test", "example.test")},
	{RCPT, "TO:<remote.test!user@example.test>", OK("remote.test!user", "example.test")},
	{RCPT, "TO:<user@remote.test@example.test>", BAD_TO},
	{RCPT, "TO:<\"user@remote.test\"@example.test>", OK("\"user@remote.test\"", "example.test")},
	{RCPT, "TO:<\"user%remote.test\"@example.test>", OK("user%remote.test", "example.test")},
	{RCPT, "TO:<@example.test:user@remote.test>", OK("user", "remote.test")},
	{RCPT, "TO:<@a.example,@b.example:user@dom.test>", OK("user", "dom.test")},
	{RCPT, "TO: <@a.example,@B.Example:user@Dom.Test>", OK("user", "dom.test")},
	{RCPT, "TO:<@a.example:@b.example:user@dom.test>", BAD_TO},
	{RCPT, "TO:<@a.example,b.example:user@dom.test>", BAD_TO},
	{RCPT, "TO:<@:user@dom.test>", BAD_TO},
	{RCPT, "TO:<@a..example:user@dom.test>", BAD_TO},
	{RCPT, "TO:<@a.example:>", BAD_TO},
	{RCPT, "TO:<@a.example>", BAD_TO},
	{RCPT, "TO:<user@example.test,@remote.test>", BAD_TO},
	{RCPT, "TO:<user@example.test:remote.test>", BAD_TO},
	{RCPT, "TO:<user@[1.2.3.4]@remote.test>", BAD_TO},
	{RCPT, "TO:<user@example.test> <user@remote.test>", 501, "5.5.4 Syntax error in parameters", NULL, NULL},
	{RCPT, "TO:<user@example.test>,<user@remote.test>", BAD_TO},
	{RCPT, "TO:<user@example.test\r\nRCPT TO:<x@remote.test>>", BAD_TO},
	/* quoted local part */
	{RCPT, "TO:<\"john\"@example.test>", OK("john", "example.test")},
	{RCPT, "TO:<\"john.doe\"@example.test>", OK("john.doe", "example.test")},
	{RCPT, "TO:<\"john doe\"@example.test>", OK("\"john doe\"", "example.test")},
	{RCPT, "TO:<\"john..doe\"@example.test>", OK("\"john..doe\"", "example.test")},
	{RCPT, "TO:<\"j\\\"d\"@example.test>", OK("\"j\\\"d\"", "example.test")},
	{RCPT, "TO:<\"j\\ohn\"@example.test>", OK("\"j\\ohn\"", "example.test")},
	{RCPT, "TO:<\"a>b\"@example.test>", OK("\"a>b\"", "example.test")},
	{RCPT, "TO:<\"\"@example.test>", BAD_TO},
	{RCPT, "TO:<\"john@example.test>", BAD_TO},
	{RCPT, "TO:<\"jo\"hn@example.test>", BAD_TO},
	{RCPT, "TO:<\"jo\tn\"@example.test>", BAD_TO},
	{RCPT, "TO:<\"jo\\\tn\"@example.test>", BAD_TO},
	{RCPT, "TO:<\"Postmaster\">", OK("postmaster", "")},
	/* domains */
	{RCPT, "TO:<u@example.test.>", OK("u", "example.test")},
	{RCPT, "TO:<u@example.test..>", BAD_TO},
	{RCPT, "TO:<u@.example.test>", BAD_TO},
	{RCPT, "TO:<u@example..test>", BAD_TO},
	{RCPT, "TO:<u@.>", BAD_TO},
	{RCPT, "TO:<u@localhost>", OK("u", "localhost")},
	{RCPT, "TO:<u@xn--bcher-kva.test>", OK("u", "xn--bcher-kva.test")},
	{RCPT, "TO:<u@-example.test>", BAD_TO},
	{RCPT, "TO:<u@example-.test>", BAD_TO},
	{RCPT, "TO:<u@ex_ample.test>", BAD_TO},
	{RCPT, "TO:<u@exa mple.test>", BAD_TO},
	{RCPT, "TO:<u@" D63 ".test>", OK("u", D63 ".test")},
	{RCPT, "TO:<u@" D63 "d.test>", BAD_TO},
	{RCPT, "TO:<u@" D255 ">", OK("u", D255)},
	{RCPT, "TO:<u@" D255 ".>", OK("u", D255)},
	{RCPT, "TO:<u@" D255 ".d>", TOO_LONG},
	{RCPT, "TO:<u@" D255 "d>", BAD_TO},
	{RCPT, "TO:<u@[192.0.2.1]>", OK("u", "[192.0.2.1]")},
	{RCPT, "TO:<u@[IPv6:2001:DB8::1]>", OK("u", "[ipv6:2001:db8::1]")},
	{RCPT, "TO:<u@[ipv6:::ffff:192.0.2.1]>", OK("u", "[ipv6:::ffff:192.0.2.1]")},
	{RCPT, "TO:<u@[192.0.2.256]>", BAD_TO},
	{RCPT, "TO:<u@[192.0.2]>", BAD_TO},
	{RCPT, "TO:<u@[]>", BAD_TO},
	{RCPT, "TO:<u@[IPv6:1.2.3.4]>", BAD_TO},
	{RCPT, "TO:<u@[2001:db8::1]>", BAD_TO},
	{RCPT, "TO:<u@[x-tag:foo]>", BAD_TO},
	{RCPT, "TO:<u@[192.0.2.1>", BAD_TO},
	{RCPT, "TO:<u@[192.0.2.1].test>", BAD_TO},
	/* lengths */
	{RCPT, "TO:<" L64 "@example.test>", OK(L64, "example.test")},
	{RCPT, "TO:<" L64 "a@example.test>", TOO_LONG},
	{RCPT, "TO:<\"" L64 "\"@example.test>", OK(L64, "example.test")},
	{RCPT, "TO:<\"" L64 "a\"@example.test>", TOO_LONG},
	{RCPT, "TO:<\"\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a"
	       "\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\"@x.test>",
	 OK("\"\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a"
	    "\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\\a\"", "x.test")},
	/* SMTPUTF8 (RFC 6531): UTF-8 yes, malformed or C1 controls no */
	{RCPT, "TO:<J\xc3\xb6rg@b\xc3\xbc" "cher.test>", OK("J\xc3\xb6rg", "b\xc3\xbc" "cher.test")},
	{RCPT, "TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.test>", OK("\xe7\x94\xa8\xe6\x88\xb7", "\xe4\xbe\x8b\xe5\xad\x90.test")},
	{RCPT, "TO:<\"J\xc3\xb6 rg\"@example.test>", OK("\"J\xc3\xb6 rg\"", "example.test")},
	{RCPT, "TO:<J\xc3\x96RG@B\xc3\x9c.TEST>", OK("J\xc3\x96RG", "b\xc3\x9c.test")},
	{RCPT, "TO:<j\xc3@example.test>", BAD_TO},
	{RCPT, "TO:<j\xc0\xafo@example.test>", BAD_TO},
	{RCPT, "TO:<j\xed\xa0\x80o@example.test>", BAD_TO},
	{RCPT, "TO:<j\xc2\x85o@example.test>", BAD_TO},
	{RCPT, "TO:<jo@ex\xff.test>", BAD_TO},
	{RCPT, "TO:<jo@ex\xf4\x90\x80\x80.test>", BAD_TO},
	{MAIL, "FROM:<j\xf0\x9f\x98\x80@example.test> SMTPUTF8", OK("j\xf0\x9f\x98\x80", "example.test")},
};

/* test_path_row - check one row of test_path_cases. */
static void test_path_row(size_t i, const struct test_path_case *c)
{
	struct smtp_path path;
	const char *error = NULL;
	int code = 0;
	int rc = smtp_path_parse(c->args, strlen(c->args), c->kind, &path, &code, &error);
	if (c->code == 0) {
		if (rc != 0)
			fail_msg("row %zu <%s>: %d %s", i, c->args, code, error);
		if (strcmp(path.local, c->local) != 0 || strcmp(path.domain, c->domain) != 0)
			fail_msg("row %zu <%s>: <%s> @ <%s>", i, c->args, path.local, path.domain);
		assert_int_equal(path.null_path, c->kind == MAIL && c->local[0] == '\0');
		return;
	}
	if (rc != -1 || code != c->code || error == NULL ||
	    strncmp(error, c->err, strlen(c->err)) != 0)
		fail_msg("row %zu <%s>: rc %d code %d <%s>, want %d <%s>", i, c->args, rc,
			 code, error != NULL ? error : "(null)", c->code, c->err);
}

/* test_path_table - every row of test_path_cases. */
static void test_path_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(test_path_cases); i++)
		test_path_row(i, &test_path_cases[i]);
}

/* test_path_embedded_nul - a NUL inside the arguments is a syntax error. */
static void test_path_embedded_nul(void **state)
{
	static const char args[] = "TO:<user@remote.test\0@example.test>";
	struct smtp_path path;
	const char *error;
	int code;

	(void)state;
	assert_int_equal(smtp_path_parse(args, sizeof(args) - 1, RCPT, &path, &code, &error), -1);
	assert_int_equal(code, 501);
	assert_string_equal(error, "5.1.3 Bad recipient address syntax");
	assert_int_equal(smtp_path_parse("FROM:<>\0", 8, MAIL, &path, &code, &error), -1);
	assert_int_equal(code, 501);
}

/* test_path_not_terminated - the parser reads only len bytes. */
static void test_path_not_terminated(void **state)
{
	char buf[32];
	struct smtp_path path;
	const char *error;
	int code;

	(void)state;
	memcpy(buf, "TO:<u@example.test>XXXXXXXXXXXX", 32);
	assert_int_equal(smtp_path_parse(buf, 19, RCPT, &path, &code, &error), 0);
	assert_string_equal(path.domain, "example.test");
	assert_int_equal(smtp_path_parse(buf, 18, RCPT, &path, &code, &error), -1);
	assert_int_equal(smtp_path_parse(buf, 0, RCPT, &path, &code, &error), -1);
	assert_int_equal(smtp_path_parse(NULL, 0, MAIL, &path, &code, &error), -1);
}

/* One MAIL/RCPT with parameters and the expected result. */
struct test_param_case {
	enum smtp_path_kind kind;
	const char *args;
	int code;
	const char *err;
	bool size_set;
	unsigned long long size;
	enum smtp_body body;
	bool smtputf8;
	const char *auth; /* NULL: not set */
};

static const struct test_param_case test_param_cases[] = {
	{MAIL, "FROM:<a@b.test> SIZE=1000", 0, NULL, true, 1000, SMTP_BODY_UNSET, false, NULL},
	{MAIL, "FROM:<a@b.test> size=0", 0, NULL, true, 0, SMTP_BODY_UNSET, false, NULL},
	{MAIL, "FROM:<> SIZE=18446744073709551615", 0, NULL, true, 18446744073709551615ULL, SMTP_BODY_UNSET, false, NULL},
	{MAIL, "FROM:<> SIZE=18446744073709551616", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<> SIZE=99999999999999999999999", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<> SIZE=", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<> SIZE", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<> SIZE=12k", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<> SIZE=-1", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<> SIZE=1 SIZE=2", 501, "5.5.4 Duplicate parameter", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> BODY=7BIT", 0, NULL, false, 0, SMTP_BODY_7BIT, false, NULL},
	{MAIL, "FROM:<a@b.test> body=8bitmime", 0, NULL, false, 0, SMTP_BODY_8BITMIME, false, NULL},
	{MAIL, "FROM:<a@b.test> BODY=BINARYMIME", 555, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> BODY=8BIT", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> BODY", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> BODY=7BIT BODY=7BIT", 501, "5.5.4 Duplicate parameter", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> SMTPUTF8", 0, NULL, false, 0, SMTP_BODY_UNSET, true, NULL},
	{MAIL, "FROM:<a@b.test> smtputf8", 0, NULL, false, 0, SMTP_BODY_UNSET, true, NULL},
	{MAIL, "FROM:<a@b.test> SMTPUTF8=yes", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> SMTPUTF8 SMTPUTF8", 501, "5.5.4 Duplicate parameter", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> AUTH=<>", 0, NULL, false, 0, SMTP_BODY_UNSET, false, "<>"},
	{MAIL, "FROM:<a@b.test> AUTH=joe+2Bx@b.test", 0, NULL, false, 0, SMTP_BODY_UNSET, false, "joe+x@b.test"},
	{MAIL, "FROM:<a@b.test> AUTH=a+3db", 0, NULL, false, 0, SMTP_BODY_UNSET, false, "a=b"},
	{MAIL, "FROM:<a@b.test> AUTH=a+2", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> AUTH=a+ZZ", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> AUTH=a+00b", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> AUTH=a+0Db", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> AUTH=", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> AUTH=\xc3\xa4", 501, "5.5.4", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> AUTH=<> AUTH=<>", 501, "5.5.4 Duplicate parameter", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test>  SIZE=5   BODY=8BITMIME SMTPUTF8 AUTH=u@b.test  ", 0, NULL, true, 5, SMTP_BODY_8BITMIME, true, "u@b.test"},
	{MAIL, "FROM:<a@b.test> SIZE=5\tBODY=8BITMIME", 501, "5.5.4 Syntax error in parameters", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> XFOO", 555, "5.5.4 Unsupported parameter", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> RET=HDRS", 555, "5.5.4 Unsupported parameter", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> SIZE=1 XFOO=bar", 555, "5.5.4 Unsupported parameter", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> X=", 501, "5.5.4 Syntax error in parameters", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> =1", 501, "5.5.4 Syntax error in parameters", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> -X", 501, "5.5.4 Syntax error in parameters", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> X=a=b", 501, "5.5.4 Syntax error in parameters", false, 0, 0, false, NULL},
	{MAIL, "FROM:<a@b.test> X_Y", 501, "5.5.4 Syntax error in parameters", false, 0, 0, false, NULL},
	{RCPT, "TO:<a@b.test> SIZE=1", 555, "5.5.4 Unsupported parameter", false, 0, 0, false, NULL},
	{RCPT, "TO:<a@b.test> BODY=7BIT", 555, "5.5.4 Unsupported parameter", false, 0, 0, false, NULL},
	{RCPT, "TO:<a@b.test> SMTPUTF8", 555, "5.5.4 Unsupported parameter", false, 0, 0, false, NULL},
	{RCPT, "TO:<a@b.test> AUTH=<>", 555, "5.5.4 Unsupported parameter", false, 0, 0, false, NULL},
	{RCPT, "TO:<a@b.test> NOTIFY=NEVER", 555, "5.5.4 Unsupported parameter", false, 0, 0, false, NULL},
};

/* test_param_row - check one row of test_param_cases. */
static void test_param_row(size_t i, const struct test_param_case *c)
{
	struct smtp_path path;
	const char *error = NULL;
	int code = 0;
	int rc = smtp_path_parse(c->args, strlen(c->args), c->kind, &path, &code, &error);

	if (c->code != 0) {
		if (rc != -1 || code != c->code || strncmp(error, c->err, strlen(c->err)) != 0)
			fail_msg("row %zu <%s>: rc %d code %d <%s>", i, c->args, rc, code,
				 rc < 0 ? error : "");
		return;
	}
	if (rc != 0)
		fail_msg("row %zu <%s>: %d %s", i, c->args, code, error);
	assert_int_equal(path.size_set, c->size_set);
	assert_true(path.size == c->size);
	assert_int_equal(path.body, c->body);
	assert_int_equal(path.smtputf8, c->smtputf8);
	assert_int_equal(path.auth_set, c->auth != NULL);
	assert_string_equal(path.auth, c->auth != NULL ? c->auth : "");
}

/* test_param_table - every row of test_param_cases. */
static void test_param_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(test_param_cases); i++)
		test_param_row(i, &test_param_cases[i]);
}

/* test_param_auth_length - AUTH= up to SMTP_AUTH_PARAM_MAX decoded octets. */
static void test_param_auth_length(void **state)
{
	char args[2 * SMTP_AUTH_PARAM_MAX];
	struct smtp_path path;
	const char *error;
	int code;
	size_t n = strlen("FROM:<> AUTH=");

	(void)state;
	memcpy(args, "FROM:<> AUTH=", n);
	memset(args + n, 'x', SMTP_AUTH_PARAM_MAX);
	assert_int_equal(smtp_path_parse(args, n + SMTP_AUTH_PARAM_MAX, MAIL, &path, &code, &error), 0);
	assert_int_equal(strlen(path.auth), SMTP_AUTH_PARAM_MAX);
	args[n + SMTP_AUTH_PARAM_MAX] = 'x';
	assert_int_equal(smtp_path_parse(args, n + SMTP_AUTH_PARAM_MAX + 1, MAIL, &path, &code, &error), -1);
	assert_int_equal(code, 501);
}

/* test_path_failure_clears - a failed parse leaves no half-filled path. */
static void test_path_failure_clears(void **state)
{
	static const char args[] = "FROM:<a@b.test> SIZE=10 XFOO";
	struct smtp_path path;
	const char *error;
	int code;

	(void)state;
	assert_int_equal(smtp_path_parse(args, strlen(args), MAIL, &path, &code, &error), -1);
	assert_int_equal(code, 555);
	assert_false(path.size_set);
	assert_string_equal(path.local, "");
	assert_string_equal(path.domain, "");
}

/* test_path_has_utf8 - 8-bit bytes in local or domain. */
static void test_path_has_utf8(void **state)
{
	struct smtp_path path;
	const char *error;
	int code;

	(void)state;
	assert_int_equal(smtp_path_parse("TO:<a@b.test>", 13, RCPT, &path, &code, &error), 0);
	assert_false(smtp_path_has_utf8(&path));
	assert_int_equal(smtp_path_parse("TO:<\xc3\xa4@b.test>", 14, RCPT, &path, &code, &error), 0);
	assert_true(smtp_path_has_utf8(&path));
	assert_int_equal(smtp_path_parse("TO:<a@\xc3\xa4.test>", 14, RCPT, &path, &code, &error), 0);
	assert_true(smtp_path_has_utf8(&path));
}

/* test_command_then_path - the args of a MAIL line feed the path parser. */
static void test_command_then_path(void **state)
{
	static const char line[] = "mail from: <Joe@Example.TEST> size=42 ";
	struct smtp_command cmd;
	struct smtp_path path;
	const char *error;
	int code;

	(void)state;
	assert_int_equal(smtp_command_parse(line, strlen(line), &cmd, &error), 0);
	assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
	assert_int_equal(smtp_path_parse(cmd.args, cmd.args_len, MAIL, &path, &code, &error), 0);
	assert_string_equal(path.local, "Joe");
	assert_string_equal(path.domain, "example.test");
	assert_true(path.size_set && path.size == 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_table),
		cmocka_unit_test(test_verb_names),
		cmocka_unit_test(test_path_table),
		cmocka_unit_test(test_path_embedded_nul),
		cmocka_unit_test(test_path_not_terminated),
		cmocka_unit_test(test_param_table),
		cmocka_unit_test(test_param_auth_length),
		cmocka_unit_test(test_path_failure_clears),
		cmocka_unit_test(test_path_has_utf8),
		cmocka_unit_test(test_command_then_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

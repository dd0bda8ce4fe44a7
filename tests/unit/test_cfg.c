/* test_cfg - the configuration parser: defaults, value types, errors, derived keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/cfg.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* test_cfg_parse_str - cfg_init + cfg_parse of a C string as "t.conf"; returns the error or NULL. */
static char *test_cfg_parse_str(struct cfg *cfg, const char *text)
{
	char *error = NULL;

	cfg_init(cfg);
	if (cfg_parse(cfg, text, strlen(text), "t.conf", &error) == 0) {
		assert_null(error);
		return NULL;
	}
	assert_non_null(error);
	return error;
}

/* test_cfg_ok - parse text and fail the test on any error. */
static void test_cfg_ok(struct cfg *cfg, const char *text)
{
	char *error = test_cfg_parse_str(cfg, text);

	if (error != NULL)
		fail_msg("unexpected error for <<%s>>: %s", text, error);
}

/* test_cfg_list_is - the list holds exactly the n given items. */
static void test_cfg_list_is(const struct cfg_list *l, size_t n, const char *const *items)
{
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->items[i], items[i]);
}

/* test_cfg_list_one - the list holds exactly one item. */
static void test_cfg_list_one(const struct cfg_list *l, const char *item)
{
	test_cfg_list_is(l, 1, &item);
}

static void test_defaults(void **state)
{
	struct cfg cfg;
	(void)state;

	cfg_init(&cfg);
	assert_string_equal(cfg.hostname, "localhost");
	assert_string_equal(cfg.data_dir, "./var");
	assert_string_equal(cfg.user, "postern");
	assert_false(cfg.syslog);
	test_cfg_list_one(&cfg.local_domains, "example.test");
	test_cfg_list_one(&cfg.smtp_listen, "127.0.0.1:2525");
	assert_int_equal(cfg.max_message_size, 25u * 1024 * 1024);
	assert_int_equal(cfg.max_recipients, 100);
	assert_int_equal(cfg.smtp_timeout, 300);
	assert_int_equal(cfg.smtp_max_errors, 20);
	test_cfg_list_one(&cfg.submission_listen, "127.0.0.1:5587");
	test_cfg_list_one(&cfg.submission_listen_tls, "127.0.0.1:4465");
	test_cfg_list_one(&cfg.pop3_listen, "127.0.0.1:1110");
	test_cfg_list_one(&cfg.pop3_listen_tls, "127.0.0.1:9995");
	assert_string_equal(cfg.users_file, "./var/users");
	assert_int_equal(cfg.allow_plaintext, CFG_PLAINTEXT_LOOPBACK);
	assert_int_equal(cfg.trusted_networks.n, 0);
	assert_true(cfg.pop_before_smtp);
	assert_int_equal(cfg.relay_window, 900);
	assert_int_equal(cfg.ipv6_prefix, 128);
	assert_string_equal(cfg.relay_store, "lmdb:./var/grants");
	assert_string_equal(cfg.auth_store, "file");
	assert_null(cfg.tls_cert);
	assert_null(cfg.tls_key);
	assert_null(cfg.relayhost);
	assert_null(cfg.relayhost_auth);
	assert_int_equal(cfg.dns_servers.n, 0);
	assert_int_equal(cfg.max_queue_lifetime, 5 * 86400);
	assert_int_equal(cfg.n_routes, 0);
	assert_int_equal(cfg.policy_listen.n, 0);
	assert_string_equal(cfg.recipient_delimiter, "+");
	assert_true(cfg.relayhost_tls_verify);
	assert_null(cfg.relayhost_tls_ca);
	assert_int_equal(cfg.metrics_listen.n, 0);
	assert_string_equal(cfg.dkim_keys_dir, "./var/dkim");
	assert_true(cfg.inbound_verify);
	assert_true(cfg.dmarc_enforce);
	cfg_free(&cfg);
}

static void test_load_null_and_empty(void **state)
{
	struct cfg cfg;
	char *error = (char *)"unset";
	(void)state;

	assert_int_equal(cfg_load(&cfg, NULL, &error), 0);
	assert_null(error);
	assert_string_equal(cfg.users_file, "./var/users");
	cfg_free(&cfg);

	/* an empty file, and one of only comments and blanks, are the defaults */
	test_cfg_ok(&cfg, "");
	assert_string_equal(cfg.hostname, "localhost");
	cfg_free(&cfg);
	test_cfg_ok(&cfg, "\n  \n# comment\n\t# indented comment\r\n[server]\n\n");
	assert_string_equal(cfg.hostname, "localhost");
	cfg_free(&cfg);
}

struct test_num {
	const char *in;
	int ret;
	unsigned long long value;
};

static const struct test_num test_durations[] = {
	{"0", 0, 0},
	{"90", 0, 90},
	{"30s", 0, 30},
	{"15m", 0, 900},
	{"2h", 0, 7200},
	{"5d", 0, 432000},
	{"5D", 0, 432000},
	{"2H", 0, 7200},
	{"007", 0, 7},
	{"4294967295", 0, 4294967295ull},
	{"4294967295s", 0, 4294967295ull},
	{"49710d", 0, 49710ull * 86400},
	{"4294967296", -1, 0},
	{"49711d", -1, 0},
	{"71582789m", -1, 0},
	{"99999999999999999999999999", -1, 0},
	{"", -1, 0},
	{"s", -1, 0},
	{"m5", -1, 0},
	{"-1", -1, 0},
	{"+1", -1, 0},
	{"1 m", -1, 0},
	{" 1", -1, 0},
	{"1ms", -1, 0},
	{"1w", -1, 0},
	{"1.5h", -1, 0},
	{"0x10", -1, 0},
};

static void test_duration_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_durations); i++) {
		const struct test_num *t = &test_durations[i];
		unsigned v = 12345;
		int r = cfg_parse_duration(t->in, &v);
		if (r != t->ret)
			fail_msg("duration '%s': got %d, want %d", t->in, r, t->ret);
		if (r == 0 && v != t->value)
			fail_msg("duration '%s': got %u, want %llu", t->in, v, t->value);
		if (r < 0 && v != 12345)
			fail_msg("duration '%s': output changed on error", t->in);
	}
}

static const struct test_num test_sizes[] = {
	{"0", 0, 0},
	{"1000", 0, 1000},
	{"10k", 0, 10240},
	{"10K", 0, 10240},
	{"25m", 0, 25ull << 20},
	{"25M", 0, 25ull << 20},
	{"1g", 0, 1ull << 30},
	{"1G", 0, 1ull << 30},
	{"", -1, 0},
	{"k", -1, 0},
	{"1t", -1, 0},
	{"1kb", -1, 0},
	{"1.5m", -1, 0},
	{"-1", -1, 0},
	{"1 k", -1, 0},
	{"999999999999999999999999999", -1, 0},
#if SIZE_MAX == UINT64_MAX
	{"18446744073709551615", 0, UINT64_MAX},
	{"18446744073709551616", -1, 0},
	{"17179869183g", 0, 17179869183ull << 30},
	{"17179869184g", -1, 0},
	{"18014398509481984k", -1, 0},
#endif
};

static void test_size_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_sizes); i++) {
		const struct test_num *t = &test_sizes[i];
		size_t v = 12345;
		int r = cfg_parse_size(t->in, &v);
		if (r != t->ret)
			fail_msg("size '%s': got %d, want %d", t->in, r, t->ret);
		if (r == 0 && v != t->value)
			fail_msg("size '%s': got %zu, want %llu", t->in, v, t->value);
		if (r < 0 && v != 12345)
			fail_msg("size '%s': output changed on error", t->in);
	}
}

struct test_bool {
	const char *in;
	bool value;
};

static const struct test_bool test_bools[] = {
	{"yes", true}, {"no", false},  {"true", true}, {"false", false}, {"on", true},
	{"off", false}, {"1", true},   {"0", false},   {"YES", true},    {"Off", false},
};

static void test_bool_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_bools); i++) {
		char text[128];
		struct cfg cfg;
		snprintf(text, sizeof(text), "[server]\nsyslog = %s\n[relay]\npop_before_smtp=%s\n", test_bools[i].in,
			 test_bools[i].in);
		test_cfg_ok(&cfg, text);
		assert_int_equal(cfg.syslog, test_bools[i].value);
		assert_int_equal(cfg.pop_before_smtp, test_bools[i].value);
		cfg_free(&cfg);
	}
}

/* One accepted configuration and what it must produce. */
struct test_good {
	const char *text;
	void (*check)(const struct cfg *cfg);
};

static void test_check_strings(const struct cfg *cfg)
{
	assert_string_equal(cfg->hostname, "mx.example.org");
	assert_string_equal(cfg->data_dir, "/var/lib/postern dir");
	assert_string_equal(cfg->user, "mail");
	assert_string_equal(cfg->tls_cert, "/etc/ssl/c.pem");
	assert_string_equal(cfg->tls_key, "/etc/ssl/k.pem");
	assert_string_equal(cfg->relayhost, "[smtp.isp.example]:587");
	assert_string_equal(cfg->relayhost_auth, "/etc/postern/relay#auth");
}

static void test_check_numbers(const struct cfg *cfg)
{
	assert_int_equal(cfg->max_message_size, 10 * 1024);
	assert_int_equal(cfg->max_recipients, 1);
	assert_int_equal(cfg->smtp_timeout, 120);
	assert_int_equal(cfg->smtp_max_errors, 5);
	assert_int_equal(cfg->relay_window, 2 * 3600);
	assert_int_equal(cfg->ipv6_prefix, 0);
	assert_int_equal(cfg->max_queue_lifetime, 86400);
}

static void test_check_ipv6_prefix_max(const struct cfg *cfg)
{
	assert_int_equal(cfg->ipv6_prefix, 128);
	assert_int_equal(cfg->max_recipients, 4294967295u);
}

static void test_check_lists(const struct cfg *cfg)
{
	static const char *const domains[] = {"example.org", "mail.example.net"};
	static const char *const listen[] = {"0.0.0.0:25", "[::]:25", "localhost:2525"};
	static const char *const nets[] = {"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1"};
	static const char *const dns[] = {"127.0.0.53", "[::1]:53", "9.9.9.9:5353", "2620:fe::fe"};

	test_cfg_list_is(&cfg->local_domains, 2, domains);
	test_cfg_list_is(&cfg->smtp_listen, 3, listen);
	test_cfg_list_is(&cfg->trusted_networks, 4, nets);
	test_cfg_list_is(&cfg->dns_servers, 4, dns);
	test_cfg_list_one(&cfg->policy_listen, "127.0.0.1:10031");
}

static void test_check_empty_lists(const struct cfg *cfg)
{
	assert_int_equal(cfg->smtp_listen.n, 0);
	assert_int_equal(cfg->pop3_listen_tls.n, 0);
	assert_int_equal(cfg->local_domains.n, 0);
}

static void test_check_plaintext_no(const struct cfg *cfg)
{
	assert_int_equal(cfg->allow_plaintext, CFG_PLAINTEXT_NO);
}

static void test_check_plaintext_yes(const struct cfg *cfg)
{
	assert_int_equal(cfg->allow_plaintext, CFG_PLAINTEXT_YES);
}

static void test_check_store_redis(const struct cfg *cfg)
{
	assert_string_equal(cfg->relay_store, "redis://127.0.0.1:6379/2");
	assert_string_equal(cfg->users_file, "./var/users");
}

static void test_check_auth_store_pg(const struct cfg *cfg)
{
	assert_string_equal(cfg->auth_store, "postgresql://postern@db.example.org/mail?passfile=/p");
}

static void test_check_optional_cleared(const struct cfg *cfg)
{
	assert_null(cfg->tls_cert);
	assert_null(cfg->tls_key);
	assert_null(cfg->relayhost);
}

static void test_check_hash_in_value(const struct cfg *cfg)
{
	assert_string_equal(cfg->data_dir, "/srv/a#b");
	assert_string_equal(cfg->users_file, "/srv/a#b/users");
}

/* the keys of issues 11 and 12; [dns] servers and the older delivery.dns_servers set one list */
static void test_check_new_keys(const struct cfg *cfg)
{
	assert_null(cfg->recipient_delimiter);
	assert_false(cfg->relayhost_tls_verify);
	assert_string_equal(cfg->relayhost_tls_ca, "/etc/postern/relay-ca.pem");
	test_cfg_list_one(&cfg->metrics_listen, "127.0.0.1:9425");
	test_cfg_list_one(&cfg->dns_servers, "127.0.0.53");
}

/* the keys of issue 13 */
static void test_check_dkim_inbound(const struct cfg *cfg)
{
	assert_string_equal(cfg->dkim_keys_dir, "/etc/postern/dkim");
	assert_false(cfg->inbound_verify);
	assert_false(cfg->dmarc_enforce);
}

static void test_check_dmarc_only(const struct cfg *cfg)
{
	assert_string_equal(cfg->dkim_keys_dir, "/srv/p/dkim");
	assert_true(cfg->inbound_verify);
	assert_false(cfg->dmarc_enforce);
}

static void test_check_delimiters(const struct cfg *cfg)
{
	assert_string_equal(cfg->recipient_delimiter, "+-");
}

static const struct test_good test_goods[] = {
	{"[domains]\nrecipient_delimiter =\n[delivery]\nrelayhost_tls_verify = no\n"
	 "relayhost_tls_ca = /etc/postern/relay-ca.pem\ndns_servers = 9.9.9.9\n"
	 "[dns]\nservers = 127.0.0.53\n[metrics]\nlisten = 127.0.0.1:9425\n",
	 test_check_new_keys},
	{"[domains]\nrecipient_delimiter = +-\n", test_check_delimiters},
	{"[dkim]\nkeys_dir = /etc/postern/dkim\n[inbound]\nverify = no\ndmarc_enforce = off\n"
	 "[server]\ndata_dir = /srv/p\n",
	 test_check_dkim_inbound},
	{"[inbound]\ndmarc_enforce = 0\n[server]\ndata_dir = /srv/p/\n", test_check_dmarc_only},
	{"[server]\nhostname = mx.example.org\ndata_dir =  /var/lib/postern dir \nuser=mail\n"
	 "[tls]\ncert = /etc/ssl/c.pem\nkey = /etc/ssl/k.pem\n"
	 "[delivery]\nrelayhost = [smtp.isp.example]:587\nrelayhost_auth = /etc/postern/relay#auth\n",
	 test_check_strings},
	{"[smtp]\nmax_message_size = 10k\nmax_recipients = 1\ntimeout = 2m\nmax_errors = 5\n"
	 "[relay]\nwindow = 2h\nipv6_prefix = 0\n[delivery]\nmax_queue_lifetime = 1d\n",
	 test_check_numbers},
	{"[relay]\nipv6_prefix = 128\n[smtp]\nmax_recipients = 4294967295\n", test_check_ipv6_prefix_max},
	{"[domains]\nlocal = Example.ORG, ,mail.example.net,,\n"
	 "[smtp]\nlisten = 0.0.0.0:25 , [::]:25,localhost:2525\n"
	 "[relay]\ntrusted_networks = 10.0.0.0/8, 192.168.1.7, 2001:db8::/32, ::1\n"
	 "[delivery]\ndns_servers = 127.0.0.53, [::1]:53, 9.9.9.9:5353, 2620:fe::fe\n"
	 "[policy]\nlisten = 127.0.0.1:10031\n",
	 test_check_lists},
	{"[smtp]\nlisten =\n[pop3]\nlisten_tls = , ,\n[domains]\nlocal=\n", test_check_empty_lists},
	{"[auth]\nallow_plaintext = no\n", test_check_plaintext_no},
	{"[auth]\nallow_plaintext = YES\n", test_check_plaintext_yes},
	{"[relay]\nstore = redis://127.0.0.1:6379/2\n", test_check_store_redis},
	{"[auth]\nstore = postgresql://postern@db.example.org/mail?passfile=/p\n",
	 test_check_auth_store_pg},
	{"[tls]\ncert = /c\nkey = /k\ncert =\nkey=\n[delivery]\nrelayhost = h\nrelayhost =\n",
	 test_check_optional_cleared},
	{"[server]\ndata_dir = /srv/a#b\n", test_check_hash_in_value},
	/* CRLF, tabs, repeated sections */
	{"[auth]\r\n\tallow_plaintext\t=\tno\t\r\n[server]\r\n[auth]\r\n", test_check_plaintext_no},
	{"[ auth ]\nallow_plaintext = no", test_check_plaintext_no},
};

static void test_good_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_goods); i++) {
		struct cfg cfg;
		test_cfg_ok(&cfg, test_goods[i].text);
		test_goods[i].check(&cfg);
		cfg_free(&cfg);
	}
}

/* One rejected configuration and its exact message. */
struct test_bad {
	const char *text;
	const char *error;
};

static const struct test_bad test_bads[] = {
	/* structure */
	{"[nosuch]\n", "t.conf:1: unknown section [nosuch]"},
	{"[Server]\n", "t.conf:1: unknown section [Server]"},
	{"[]\n", "t.conf:1: unknown section []"},
	{"\n# c\n[server\n", "t.conf:3: bad section header '[server'"},
	{"[server] # main\n", "t.conf:1: bad section header '[server] # main'"},
	{"[server]\nhostname = a\nnosuch = 1\n", "t.conf:3: unknown key 'nosuch' in [server]"},
	{"[server]\nHostname = a\n", "t.conf:2: unknown key 'Hostname' in [server]"},
	{"[smtp]\nhostname = a\n", "t.conf:2: unknown key 'hostname' in [smtp]"},
	{"hostname = a\n", "t.conf:1: key 'hostname' outside any [section]"},
	{"# only a comment\n\nhostname=a\n[server]\n", "t.conf:3: key 'hostname' outside any [section]"},
	{"[server]\njunk line\n", "t.conf:2: expected '[section]', 'key = value' or '# comment', not 'junk line'"},
	{"[server]\n= x\n", "t.conf:2: missing key before '='"},
	{"[server]\nhost\x01name\n", "t.conf:2: expected '[section]', 'key = value' or '# comment', not 'host\\x01name'"},
	{"[server]\r\nsyslog = maybe\r\n", "t.conf:2: bad boolean 'maybe' for server.syslog"},
	/* strings */
	{"[server]\nhostname =\n", "t.conf:2: empty value for server.hostname"},
	{"[server]\ndata_dir = \n", "t.conf:2: empty value for server.data_dir"},
	{"[auth]\nusers_file=\n", "t.conf:2: empty value for auth.users_file"},
	{"[server]\nhostname = a b\n", "t.conf:2: bad name 'a b' for server.hostname"},
	{"[relay]\nstore = /var/grants\n",
	 "t.conf:2: bad store '/var/grants' for relay.store (lmdb:PATH or redis://HOST:PORT/DB)"},
	{"[relay]\nstore = lmdb:\n", "t.conf:2: bad store 'lmdb:' for relay.store (lmdb:PATH or redis://HOST:PORT/DB)"},
	{"[auth]\nstore = mysql://db/mail\n",
	 "t.conf:2: bad store 'mysql://db/mail' for auth.store (file or postgresql://USER@HOST:PORT/DB)"},
	{"[relay]\nstore = redis://\n",
	 "t.conf:2: bad store 'redis://' for relay.store (lmdb:PATH or redis://HOST:PORT/DB)"},
	{"[delivery]\nrelayhost = [host:25\n", "t.conf:2: bad relayhost '[host:25' for delivery.relayhost"},
	{"[domains]\nrecipient_delimiter = a\n",
	 "t.conf:2: bad recipient delimiter 'a' for domains.recipient_delimiter"},
	{"[domains]\nrecipient_delimiter = @\n",
	 "t.conf:2: bad recipient delimiter '@' for domains.recipient_delimiter"},
	{"[metrics]\nlisten = nowhere\n", "t.conf:2: bad listen address 'nowhere' for metrics.listen"},
	{"[dkim]\nkeys_dir =\n", "t.conf:2: empty value for dkim.keys_dir"},
	{"[dkim]\nselector = s\n", "t.conf:2: unknown key 'selector' in [dkim]"},
	{"[inbound]\nverify = maybe\n", "t.conf:2: bad boolean 'maybe' for inbound.verify"},
	{"[inbound]\ndmarc_enforce = reject\n", "t.conf:2: bad boolean 'reject' for inbound.dmarc_enforce"},
	/* numbers */
	{"[relay]\nwindow = 15 minutes\n", "t.conf:2: bad duration '15 minutes' for relay.window"},
	{"[relay]\nwindow = 15m # comment\n", "t.conf:2: bad duration '15m # comment' for relay.window"},
	{"[relay]\nwindow = 0\n", "t.conf:2: relay.window: '0' out of range (1..4294967295 seconds)"},
	{"[relay]\nwindow = 49711d\n", "t.conf:2: bad duration '49711d' for relay.window"},
	{"[smtp]\ntimeout =\n", "t.conf:2: bad duration '' for smtp.timeout"},
	{"[delivery]\nmax_queue_lifetime = 5y\n", "t.conf:2: bad duration '5y' for delivery.max_queue_lifetime"},
	{"[smtp]\nmax_message_size = 25mb\n", "t.conf:2: bad size '25mb' for smtp.max_message_size"},
	{"[smtp]\nmax_message_size = 99999999999999999999g\n",
	 "t.conf:2: bad size '99999999999999999999g' for smtp.max_message_size"},
	{"[smtp]\nmax_recipients = 0\n", "t.conf:2: smtp.max_recipients: '0' out of range (1..4294967295)"},
	{"[smtp]\nmax_recipients = -5\n", "t.conf:2: bad number '-5' for smtp.max_recipients"},
	{"[smtp]\nmax_recipients = 4294967296\n", "t.conf:2: bad number '4294967296' for smtp.max_recipients"},
	{"[smtp]\nmax_errors = ten\n", "t.conf:2: bad number 'ten' for smtp.max_errors"},
	{"[relay]\nipv6_prefix = 129\n", "t.conf:2: relay.ipv6_prefix: '129' out of range (0..128)"},
	{"[auth]\nallow_plaintext = sometimes\n",
	 "t.conf:2: bad value 'sometimes' for auth.allow_plaintext (no, loopback or yes)"},
	/* lists */
	{"[smtp]\nlisten = 127.0.0.1\n", "t.conf:2: bad listen address '127.0.0.1' for smtp.listen"},
	{"[smtp]\nlisten = 127.0.0.1:0\n", "t.conf:2: bad listen address '127.0.0.1:0' for smtp.listen"},
	{"[smtp]\nlisten = a:25, 127.0.0.1:65536\n",
	 "t.conf:2: bad listen address '127.0.0.1:65536' for smtp.listen"},
	{"[submission]\nlisten = :587\n", "t.conf:2: bad listen address ':587' for submission.listen"},
	{"[submission]\nlisten_tls = ::1:465\n", "t.conf:2: bad listen address '::1:465' for submission.listen_tls"},
	{"[pop3]\nlisten = [::1]\n", "t.conf:2: bad listen address '[::1]' for pop3.listen"},
	{"[pop3]\nlisten_tls = [::1]:995x\n", "t.conf:2: bad listen address '[::1]:995x' for pop3.listen_tls"},
	{"[pop3]\nlisten = []:110\n", "t.conf:2: bad listen address '[]:110' for pop3.listen"},
	{"[pop3]\nlisten = host:+110\n", "t.conf:2: bad listen address 'host:+110' for pop3.listen"},
	{"[policy]\nlisten = 127.0.0.1:10031 127.0.0.2:10031\n",
	 "t.conf:2: bad listen address '127.0.0.1:10031 127.0.0.2:10031' for policy.listen"},
	{"[domains]\nlocal = example.org, bad domain\n", "t.conf:2: bad domain 'bad domain' for domains.local"},
	{"[domains]\nlocal = a..b\n", "t.conf:2: bad domain 'a..b' for domains.local"},
	{"[relay]\ntrusted_networks = 10.0.0.0/33\n", "t.conf:2: bad network '10.0.0.0/33' for relay.trusted_networks"},
	{"[relay]\ntrusted_networks = ::/129\n", "t.conf:2: bad network '::/129' for relay.trusted_networks"},
	{"[relay]\ntrusted_networks = 10.0.0/8\n", "t.conf:2: bad network '10.0.0/8' for relay.trusted_networks"},
	{"[relay]\ntrusted_networks = 10.0.0.0/\n", "t.conf:2: bad network '10.0.0.0/' for relay.trusted_networks"},
	{"[delivery]\ndns_servers = 1.1.1.1:99999\n",
	 "t.conf:2: bad resolver address '1.1.1.1:99999' for delivery.dns_servers"},
	{"[delivery]\ndns_servers = not:an:address\n",
	 "t.conf:2: bad resolver address 'not:an:address' for delivery.dns_servers"},
	/* routes */
	{"[routes]\nexample.org = [mx.example.net]:0\n",
	 "t.conf:2: bad route '[mx.example.net]:0' for example.org in [routes] (expected [host]:port)"},
	{"[routes]\nExample.ORG =\n", "t.conf:2: bad route '' for example.org in [routes] (expected [host]:port)"},
	{"[routes]\nexa mple.org = h\n", "t.conf:2: bad domain 'exa mple.org' in [routes]"},
	/* the first error wins, later lines are not read */
	{"[server]\nsyslog = x\n[nosuch]\n", "t.conf:2: bad boolean 'x' for server.syslog"},
};

static void test_bad_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(test_bads); i++) {
		struct cfg cfg;
		char *error = test_cfg_parse_str(&cfg, test_bads[i].text);
		if (error == NULL)
			fail_msg("accepted <<%s>>", test_bads[i].text);
		if (strcmp(error, test_bads[i].error) != 0)
			fail_msg("<<%s>>:\n got  %s\n want %s", test_bads[i].text, error, test_bads[i].error);
		free(error);
		cfg_free(&cfg);
	}
}

static void test_nul_byte(void **state)
{
	static const char text[] = "[server]\nhostname = a\0b\n";
	struct cfg cfg;
	char *error = NULL;
	(void)state;

	cfg_init(&cfg);
	assert_int_equal(cfg_parse(&cfg, text, sizeof(text) - 1, "t.conf", &error), -1);
	assert_string_equal(error, "t.conf:2: NUL byte in line");
	free(error);
	cfg_free(&cfg);
}

static void test_no_final_newline_and_len(void **state)
{
	static const char text[] = "[server]\nhostname = abcdef";
	struct cfg cfg;
	char *error = NULL;
	(void)state;

	/* the parser reads len bytes, not up to a NUL */
	cfg_init(&cfg);
	assert_int_equal(cfg_parse(&cfg, text, sizeof(text) - 4, NULL, &error), 0);
	assert_string_equal(cfg.hostname, "abc");
	cfg_free(&cfg);
}

static void test_routes(void **state)
{
	struct cfg cfg;
	const struct cfg_route *r;
	(void)state;

	test_cfg_ok(&cfg, "[routes]\nExample.ORG = [mx.example.net]:2525\n"
			  "b.example = relay.example:26\n"
			  "c.example = [10.0.0.1]\n"
			  "d.example = plainhost\n"
			  "e.example = [2001:db8::1]:587\n");
	assert_int_equal(cfg.n_routes, 5);
	assert_string_equal(cfg.routes[0].domain, "example.org");
	assert_string_equal(cfg.routes[0].host, "mx.example.net");
	assert_int_equal(cfg.routes[0].port, 2525);
	assert_string_equal(cfg.routes[1].host, "relay.example");
	assert_int_equal(cfg.routes[1].port, 26);
	assert_string_equal(cfg.routes[2].host, "10.0.0.1");
	assert_int_equal(cfg.routes[2].port, 25);
	assert_string_equal(cfg.routes[3].host, "plainhost");
	assert_int_equal(cfg.routes[3].port, 25);
	assert_string_equal(cfg.routes[4].host, "2001:db8::1");
	assert_int_equal(cfg.routes[4].port, 587);

	r = cfg_route_find(&cfg, "EXAMPLE.org", 11);
	assert_non_null(r);
	assert_string_equal(r->host, "mx.example.net");
	assert_null(cfg_route_find(&cfg, "example.orgx", 12));
	assert_null(cfg_route_find(&cfg, "example.or", 10));
	cfg_free(&cfg);
}

static void test_derived_paths(void **state)
{
	struct cfg cfg;
	(void)state;

	test_cfg_ok(&cfg, "[server]\ndata_dir = /srv/postern\n");
	assert_string_equal(cfg.users_file, "/srv/postern/users");
	assert_string_equal(cfg.relay_store, "lmdb:/srv/postern/grants");
	assert_string_equal(cfg.dkim_keys_dir, "/srv/postern/dkim");
	cfg_free(&cfg);

	test_cfg_ok(&cfg, "[server]\ndata_dir = /srv/postern//\n");
	assert_string_equal(cfg.users_file, "/srv/postern/users");
	cfg_free(&cfg);

	test_cfg_ok(&cfg, "[server]\ndata_dir = /\n");
	assert_string_equal(cfg.users_file, "/users");
	assert_string_equal(cfg.relay_store, "lmdb:/grants");
	cfg_free(&cfg);

	/* explicit keys win, in whatever order data_dir comes */
	test_cfg_ok(&cfg, "[auth]\nusers_file = /etc/postern/users\n"
			  "[relay]\nstore = lmdb:/tmp/g\n[server]\ndata_dir = /srv/p\n");
	assert_string_equal(cfg.users_file, "/etc/postern/users");
	assert_string_equal(cfg.relay_store, "lmdb:/tmp/g");
	cfg_free(&cfg);

	/* tls.key follows tls.cert (one PEM with both) unless set */
	test_cfg_ok(&cfg, "[tls]\ncert = /etc/both.pem\n");
	assert_string_equal(cfg.tls_key, "/etc/both.pem");
	cfg_free(&cfg);
}

static void test_two_parses(void **state)
{
	struct cfg cfg;
	char *error = NULL;
	static const char a[] = "[auth]\nusers_file = /u\n[server]\ndata_dir = /a\n";
	static const char b[] = "[server]\ndata_dir = /b\n";
	(void)state;

	/* the explicit users_file of a first file survives a second one */
	cfg_init(&cfg);
	assert_int_equal(cfg_parse(&cfg, a, sizeof(a) - 1, "a", &error), 0);
	assert_int_equal(cfg_parse(&cfg, b, sizeof(b) - 1, "b", &error), 0);
	assert_string_equal(cfg.users_file, "/u");
	assert_string_equal(cfg.relay_store, "lmdb:/b/grants");
	assert_string_equal(cfg.dkim_keys_dir, "/b/dkim");
	cfg_free(&cfg);
}

static void test_duplicates(void **state)
{
	struct cfg cfg;
	(void)state;

	/* LeakSanitizer fails the run if a replaced value leaks */
	test_cfg_ok(&cfg, "[server]\nhostname = one\nhostname = two\ndata_dir=/x\ndata_dir=/y\n"
			  "[domains]\nlocal = a.example, b.example\nlocal = c.example\n"
			  "[tls]\ncert = /a\ncert = /b\nkey = /k1\nkey = /k2\n"
			  "[auth]\nusers_file = /u1\nusers_file = /u2\n"
			  "[dkim]\nkeys_dir = /k1\nkeys_dir = /k2\n"
			  "[routes]\nx.example = [h1]:1\nX.EXAMPLE = [h2]:2\n"
			  "[server]\nhostname = three\n");
	assert_string_equal(cfg.hostname, "three");
	assert_string_equal(cfg.data_dir, "/y");
	test_cfg_list_one(&cfg.local_domains, "c.example");
	assert_string_equal(cfg.tls_cert, "/b");
	assert_string_equal(cfg.tls_key, "/k2");
	assert_string_equal(cfg.users_file, "/u2");
	assert_string_equal(cfg.dkim_keys_dir, "/k2");
	assert_int_equal(cfg.n_routes, 1);
	assert_string_equal(cfg.routes[0].host, "h2");
	assert_int_equal(cfg.routes[0].port, 2);
	cfg_free(&cfg);

	/* a failed list keeps the old one */
	char *error = test_cfg_parse_str(&cfg, "[smtp]\nlisten = 1.2.3.4:25\nlisten = 1.2.3.4:25, x\n");
	assert_non_null(error);
	test_cfg_list_one(&cfg.smtp_listen, "1.2.3.4:25");
	free(error);
	cfg_free(&cfg);
}

static void test_local_domain(void **state)
{
	struct cfg cfg;
	(void)state;

	test_cfg_ok(&cfg, "[domains]\nlocal = Example.Test, other.example\n");
	assert_true(cfg_is_local_domain(&cfg, "example.test", 12));
	assert_true(cfg_is_local_domain(&cfg, "EXAMPLE.TEST", 12));
	assert_true(cfg_is_local_domain(&cfg, "other.example>", 13));
	assert_false(cfg_is_local_domain(&cfg, "example.test.", 13));
	assert_false(cfg_is_local_domain(&cfg, "example.tes", 11));
	assert_false(cfg_is_local_domain(&cfg, "sub.example.test", 16));
	assert_false(cfg_is_local_domain(&cfg, "", 0));
	cfg_free(&cfg);
}

/* test_cfg_tmpfile - a temporary file holding text; returns its path in buf. */
static void test_cfg_tmpfile(char *buf, size_t buflen, const char *text)
{
	int fd;

	snprintf(buf, buflen, "/tmp/test_cfg.XXXXXX");
	fd = mkstemp(buf);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_load_file(void **state)
{
	struct cfg cfg;
	char path[64], want[128], *error = NULL;
	(void)state;

	test_cfg_tmpfile(path, sizeof(path), "[server]\nhostname = file.example\ndata_dir = /d\n");
	assert_int_equal(cfg_load(&cfg, path, &error), 0);
	assert_null(error);
	assert_string_equal(cfg.hostname, "file.example");
	assert_string_equal(cfg.users_file, "/d/users");
	cfg_free(&cfg);
	unlink(path);

	test_cfg_tmpfile(path, sizeof(path), "[server]\n\nnosuch = 1\n");
	assert_int_equal(cfg_load(&cfg, path, &error), -1);
	snprintf(want, sizeof(want), "%s:3: unknown key 'nosuch' in [server]", path);
	assert_string_equal(error, want);
	free(error);
	cfg_free(&cfg);
	unlink(path);

	assert_int_equal(cfg_load(&cfg, "/nonexistent/postern.conf", &error), -1);
	assert_string_equal(error, "/nonexistent/postern.conf: cannot read: No such file or directory");
	free(error);
	cfg_free(&cfg);

	assert_int_equal(cfg_load(&cfg, "/tmp", &error), -1);
	assert_string_equal(error, "/tmp: cannot read: Is a directory");
	free(error);
	cfg_free(&cfg);
}

static void test_example_file(void **state)
{
	struct cfg cfg, def;
	char *error = NULL;
	(void)state;

	/* doc/postern.conf.example must load and change nothing */
	if (access("doc/postern.conf.example", R_OK) != 0)
		skip();
	assert_int_equal(cfg_load(&cfg, "doc/postern.conf.example", &error), 0);
	cfg_init(&def);
	assert_string_equal(cfg.hostname, def.hostname);
	assert_string_equal(cfg.users_file, def.users_file);
	assert_int_equal(cfg.n_routes, 0);
	assert_int_equal(cfg.max_message_size, def.max_message_size);
	cfg_free(&def);
	cfg_free(&cfg);
}

/* A commented-out line of the example, uncommented, must parse too. */
static void test_example_uncommented(void **state)
{
	FILE *f;
	char line[512], section[64] = "", text[700];
	unsigned n = 0;
	(void)state;

	if ((f = fopen("doc/postern.conf.example", "r")) == NULL)
		skip();
	while (fgets(line, sizeof(line), f) != NULL) {
		struct cfg cfg;
		char *error;
		if (line[0] == '[') {
			snprintf(section, sizeof(section), "%.*s", (int)strcspn(line, "\n"), line);
			continue;
		}
		if (strncmp(line, "#", 1) != 0 || strchr(line, '=') == NULL || line[1] == ' ' || line[1] == '#')
			continue;
		snprintf(text, sizeof(text), "%s\n%s", section, line + 1);
		if ((error = test_cfg_parse_str(&cfg, text)) != NULL)
			fail_msg("example line %s%s: %s", section, line, error);
		cfg_free(&cfg);
		n++;
	}
	fclose(f);
	assert_true(n >= 25);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_load_null_and_empty),
		cmocka_unit_test(test_duration_table),
		cmocka_unit_test(test_size_table),
		cmocka_unit_test(test_bool_table),
		cmocka_unit_test(test_good_table),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_no_final_newline_and_len),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_derived_paths),
		cmocka_unit_test(test_two_parses),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_local_domain),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_example_uncommented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

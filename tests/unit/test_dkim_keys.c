/*
 * test_dkim_keys - the DKIM key table: loading a keys_dir with good, bad
 * and badly named files, the order of dkim_keys_find, and the TXT records
 * against known answers (RFC 8463's Ed25519 key, dkimpy's RSA test key).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim/dkim_keys.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 8463 appendix A.2: the Ed25519 private key (as PKCS#8) and its record's p= */
static const char test_ed25519_pem[] = "-----BEGIN PRIVATE KEY-----\n"
				       "MC4CAQAwBQYDK2VwBCIEIHy/uVfRKrgmQKLyopN6QOi5Pc8As6BLYyLiKivWVxxw\n"
				       "-----END PRIVATE KEY-----\n";
static const char test_ed25519_record[] = "v=DKIM1; k=ed25519; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=";

/* dkimpy's tests/data/test.private (PKCS#1, RSA 1024) and the p= of its test.txt */
static const char test_rsa_pem[] = "-----BEGIN RSA PRIVATE KEY-----\n"
	"MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
	"Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
	"KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
	"AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
	"6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
	"zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
	"6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
	"uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
	"WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
	"WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
	"licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
	"o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
	"uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
	"-----END RSA PRIVATE KEY-----\n";
static const char test_rsa_record[] =
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2"
	"jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2"
	"EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

/* test_write - dir/rel with text and mode. */
static void test_write(const char *dir, const char *rel, const char *text, size_t len, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* test_mkdir - dir/rel, mode 0700. */
static void test_mkdir(const char *dir, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(mkdir(path, 0700), 0);
}

/* test_pem - the PEM of a fresh key (RSA of bits, or another type), encrypted when pass is set. */
static char *test_pem(const char *type, size_t bits, const char *pass, size_t *len_r)
{
	EVP_PKEY *pkey = bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits) : EVP_PKEY_Q_keygen(NULL, NULL, type, "P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *copy;
	long len;

	assert_non_null(pkey);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, pass ? EVP_aes_128_cbc() : NULL,
						  (unsigned char *)pass, pass ? (int)strlen(pass) : 0, NULL, NULL),
			 1);
	len = BIO_get_mem_data(bio, &data);
	copy = malloc((size_t)len);
	memcpy(copy, data, (size_t)len);
	*len_r = (size_t)len;
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return copy;
}

/* test_fixture - a keys_dir: two good keys of example.org, one of Other.ORG, and bad ones. */
static void test_fixture(const char *d)
{
	size_t len;
	char *pem;

	test_mkdir(d, "example.org");
	test_write(d, "example.org/s2022.key", test_ed25519_pem, strlen(test_ed25519_pem), 0600);
	test_write(d, "example.org/zz-rsa.key", test_rsa_pem, strlen(test_rsa_pem), 0640);
	test_write(d, "example.org/broken.key", "not a key\n", 10, 0600);
	test_write(d, "example.org/empty.key", "", 0, 0600);
	test_write(d, "example.org/readme.txt", test_rsa_pem, strlen(test_rsa_pem), 0600);
	test_write(d, "example.org/bad name.key", test_rsa_pem, strlen(test_rsa_pem), 0600);
	test_write(d, "example.org/.hidden.key", test_rsa_pem, strlen(test_rsa_pem), 0600);
	pem = test_pem("RSA", 512, NULL, &len);
	test_write(d, "example.org/small.key", pem, len, 0600);
	free(pem);
	pem = test_pem("RSA", 1024, "secret", &len);
	test_write(d, "example.org/locked.key", pem, len, 0600);
	free(pem);
	pem = test_pem("EC", 0, NULL, &len);
	test_write(d, "example.org/ec.key", pem, len, 0600);
	free(pem);
	test_mkdir(d, "example.org/dir.key");
	test_mkdir(d, "Other.ORG");
	test_write(d, "Other.ORG/a.key", test_ed25519_pem, strlen(test_ed25519_pem), 0600);
	test_mkdir(d, "bad domain");
	test_write(d, "bad domain/a.key", test_rsa_pem, strlen(test_rsa_pem), 0600);
	test_write(d, "stray.key", test_rsa_pem, strlen(test_rsa_pem), 0600);
}

/* test_load_captured - dkim_keys_load with stderr (the warnings) captured into log (size bytes). */
static struct dkim_keys *test_load_captured(const char *dir, char **error_r, char *log, size_t size)
{
	char path[] = "/tmp/test_dkim_keys_log.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct dkim_keys *k;
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	k = dkim_keys_load(dir, error_r);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, log, size - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return k;
}

/* test_warned - the log holds a warning naming rel and saying why. */
static void test_warned(const char *log, const char *rel, const char *why)
{
	char want[512];

	snprintf(want, sizeof(want), "/%s skipped: %s", rel, why);
	if (strstr(log, want) == NULL)
		fail_msg("no warning '%s' in:\n%s", want, log);
}

/* test_check_warnings - each bad file was named in a warning, the good ones not. */
static void test_check_warnings(const char *log)
{
	test_warned(log, "example.org/broken.key", "not a PEM private key");
	test_warned(log, "example.org/empty.key", "not a PEM private key");
	test_warned(log, "example.org/locked.key", "not a PEM private key (or one with a passphrase)");
	test_warned(log, "example.org/small.key", "an RSA key under 1024 bits");
	test_warned(log, "example.org/ec.key", "neither an RSA nor an Ed25519 key");
	test_warned(log, "example.org/bad name.key", "the selector is not a valid name");
	test_warned(log, "example.org/dir.key", "not a regular file");
	assert_non_null(strstr(log, "/bad domain skipped: not a valid domain name"));
	assert_non_null(strstr(log, "zz-rsa.key is readable by group or others (mode 0640)"));
	assert_null(strstr(log, "s2022"));
	assert_null(strstr(log, "readme"));
	assert_null(strstr(log, "hidden"));
	assert_null(strstr(log, "stray"));
}

/* test_check_entry - e is domain/selector of algorithm, with the given record. */
static void test_check_entry(const struct dkim_keys_entry *e, const char *domain, const char *selector,
			     const char *algorithm, const char *record)
{
	char *r = dkim_keys_record(e);

	assert_string_equal(e->domain, domain);
	assert_string_equal(e->selector, selector);
	assert_string_equal(e->algorithm, algorithm);
	assert_non_null(e->pkey);
	assert_non_null(r);
	assert_string_equal(r, record);
	free(r);
}

static void test_load_find_record(void **state)
{
	char dir[] = "/tmp/test_dkim_keys.XXXXXX", log[8192], cmd[600];
	const struct dkim_keys_entry *found[4];
	char *error = NULL;
	struct dkim_keys *k;
	(void)state;

	assert_non_null(mkdtemp(dir));
	test_fixture(dir);
	k = test_load_captured(dir, &error, log, sizeof(log));
	assert_non_null(k);
	assert_null(error);
	test_check_warnings(log);
	assert_int_equal(dkim_keys_count(k), 3);
	/* RSA first, although its selector sorts after the Ed25519 one */
	assert_int_equal(dkim_keys_find(k, "example.org", found, ARRAY_LEN(found)), 2);
	test_check_entry(found[0], "example.org", "zz-rsa", "rsa", test_rsa_record);
	test_check_entry(found[1], "example.org", "s2022", "ed25519", test_ed25519_record);
	assert_int_equal(dkim_keys_find(k, "EXAMPLE.Org.", found, 1), 2);
	assert_string_equal(found[0]->selector, "zz-rsa");
	assert_int_equal(dkim_keys_find(k, "other.org", found, ARRAY_LEN(found)), 1);
	test_check_entry(found[0], "other.org", "a", "ed25519", test_ed25519_record);
	assert_int_equal(dkim_keys_find(k, "example.or", found, ARRAY_LEN(found)), 0);
	assert_int_equal(dkim_keys_find(k, "sub.example.org", found, ARRAY_LEN(found)), 0);
	assert_int_equal(dkim_keys_find(k, "", found, ARRAY_LEN(found)), 0);
	/* the list order: by domain, RSA first */
	assert_string_equal(dkim_keys_at(k, 0)->selector, "zz-rsa");
	assert_string_equal(dkim_keys_at(k, 1)->selector, "s2022");
	assert_string_equal(dkim_keys_at(k, 2)->domain, "other.org");
	assert_null(dkim_keys_at(k, 3));
	dkim_keys_free(&k);
	assert_null(k);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_missing_and_unreadable(void **state)
{
	char file[] = "/tmp/test_dkim_keys_file.XXXXXX", want[128];
	char *error = NULL;
	struct dkim_keys *k;
	(void)state;

	/* no keys_dir yet: nothing to sign with, and no error */
	k = dkim_keys_load("/nonexistent/postern/dkim", &error);
	assert_non_null(k);
	assert_null(error);
	assert_int_equal(dkim_keys_count(k), 0);
	assert_int_equal(dkim_keys_find(k, "example.org", NULL, 0), 0);
	dkim_keys_free(&k);
	dkim_keys_free(&k); /* twice is harmless */

	/* a keys_dir that is there but cannot be read is an error (the daemon keeps its old table) */
	int fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	snprintf(want, sizeof(want), "dkim.keys_dir %s: Not a directory", file);
	k = dkim_keys_load(file, &error);
	assert_null(k);
	assert_string_equal(error, want);
	free(error);
	unlink(file);
}

static void test_name_ok(void **state)
{
	static const char *const good[] = {"example.org", "postern", "s-2024_a.b", "A1", "x", "xn--bcher-kva.example"};
	static const char *const bad[] = {"", ".", "..", "../etc", "a/b", "a..b", ".a", "a.", "-a", "a b",
					  "a\nb", "a:b", "é.example", "a\\b", "*"};
	char longname[DKIM_KEYS_NAME_MAX + 2];
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		if (!dkim_keys_name_ok(good[i]))
			fail_msg("refused '%s'", good[i]);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (dkim_keys_name_ok(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(dkim_keys_name_ok(longname));
	longname[DKIM_KEYS_NAME_MAX] = '\0';
	assert_true(dkim_keys_name_ok(longname));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_find_record),
		cmocka_unit_test(test_missing_and_unreadable),
		cmocka_unit_test(test_name_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

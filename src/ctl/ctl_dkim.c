/*
 * ctl_dkim - "posternctl dkim keygen|list" (SPEC.md "Mail authentication"):
 * make a domain's signing key in dkim.keys_dir (DOMAIN/SELECTOR.key, PEM,
 * mode 0600, in directories of mode 0700) and print the TXT record to
 * publish at SELECTOR._domainkey.DOMAIN; list the keys the daemon loads
 * (dkim/dkim_keys.h), with their records.
 *
 * A key is written to a temporary file, synced, then linked to its name:
 * the daemon, reloading meanwhile, never reads half a key, and an existing
 * key is never replaced (link fails with EEXIST). Run as root, posternctl
 * first becomes the owner of keys_dir (or of the data_dir that will hold
 * it), so that the daemon's user can read what it writes.
 */
#include "ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config/cfg.h"
#include "dkim/dkim_keys.h"
#include "util/file.h"
#include "util/xalloc.h"

#define CTL_DKIM_TTL 3600
#define CTL_DKIM_TXT_CHUNK 255 /* RFC 1035 3.3: a character-string holds at most 255 bytes */
#define CTL_DKIM_RSA_BITS 2048
#define CTL_DKIM_SELECTOR "postern"

/* What "dkim keygen" was asked for. */
struct ctl_dkim_keygen_args {
	char domain[DKIM_KEYS_NAME_MAX + 2]; /* lower case, no trailing dot */
	const char *selector;
	const char *algorithm; /* "rsa" | "ed25519" */
};

/* ctl_dkim_usage - the synopsis on stderr; CTL_EXIT_USAGE. */
static int ctl_dkim_usage(void)
{
	fputs("usage: posternctl [-c FILE] dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]\n"
	      "       posternctl [-c FILE] dkim list\n",
	      stderr);
	return CTL_EXIT_USAGE;
}

/* ctl_dkim_print_txt - one zone file TXT line, text split into quoted strings of <= 255 bytes. */
void ctl_dkim_print_txt(const char *name, const char *text)
{
	size_t n = strlen(text);

	printf("%s. %d IN TXT", name, CTL_DKIM_TTL);
	for (size_t off = 0; off < n; off += CTL_DKIM_TXT_CHUNK) {
		size_t len = n - off < CTL_DKIM_TXT_CHUNK ? n - off : CTL_DKIM_TXT_CHUNK;
		printf(" \"%.*s\"", (int)len, text + off);
	}
	printf("\n");
}

/* ctl_dkim_print_key - the comment, zone file line and (with plain) the bare text of e's record. */
int ctl_dkim_print_key(const struct dkim_keys_entry *e, bool plain)
{
	char *record = dkim_keys_record(e);
	char *name;

	if (record == NULL) {
		ctl_error("%s/%s: cannot make the record of the key", e->domain, e->selector);
		return -1;
	}
	name = xasprintf("%s._domainkey.%s", e->selector, e->domain);
	printf("; DKIM key %s (%s): the TXT record %s\n", e->selector, e->algorithm, name);
	ctl_dkim_print_txt(name, record);
	if (plain)
		printf("; the record as one string, for a DNS provider's form:\n%s\n", record);
	free(name);
	free(record);
	return 0;
}

/* ctl_dkim_domain - DOMAIN checked, lowercased and without a trailing dot into buf; -1 when bad. */
static int ctl_dkim_domain(const char *arg, char *buf, size_t size)
{
	size_t n = strlen(arg);

	if (n == 0 || n >= size)
		return -1;
	for (size_t i = 0; i <= n; i++)
		buf[i] = (char)(arg[i] >= 'A' && arg[i] <= 'Z' ? arg[i] - 'A' + 'a' : arg[i]);
	if (n > 1 && buf[n - 1] == '.')
		buf[n - 1] = '\0'; /* "example.org." is the same domain */
	return dkim_keys_name_ok(buf) && strchr(buf, '_') == NULL ? 0 : -1;
}

/* ctl_dkim_option - "--name VALUE" at argv[*i]; false when it is not that option. */
static bool ctl_dkim_option(int argc, char **argv, int *i, const char *name, const char **value_r)
{
	if (strcmp(argv[*i], name) != 0 || *i + 1 >= argc)
		return false;
	*value_r = argv[++*i];
	return true;
}

/* ctl_dkim_keygen_args - parse "keygen DOMAIN [--selector S] [--algorithm A]"; -1 after an error. */
static int ctl_dkim_keygen_args(int argc, char **argv, struct ctl_dkim_keygen_args *a)
{
	const char *domain = NULL;

	a->selector = CTL_DKIM_SELECTOR;
	a->algorithm = "rsa";
	for (int i = 2; i < argc; i++) {
		if (ctl_dkim_option(argc, argv, &i, "--selector", &a->selector) ||
		    ctl_dkim_option(argc, argv, &i, "--algorithm", &a->algorithm))
			continue;
		if (argv[i][0] == '-' || domain != NULL) {
			ctl_dkim_usage();
			return -1;
		}
		domain = argv[i];
	}
	if (domain == NULL) {
		ctl_dkim_usage();
		return -1;
	}
	if (strcmp(a->algorithm, "rsa") != 0 && strcmp(a->algorithm, "ed25519") != 0) {
		ctl_error("--algorithm: '%s' is neither rsa nor ed25519", a->algorithm);
		return -1;
	}
	if (ctl_dkim_domain(domain, a->domain, sizeof(a->domain)) < 0) {
		ctl_error("'%s' is not a domain name", domain);
		return -1;
	}
	if (!dkim_keys_name_ok(a->selector)) {
		ctl_error("--selector: '%s' is not a selector (letters, digits, '-', '_', '.')", a->selector);
		return -1;
	}
	return 0;
}

/* ctl_dkim_mkdirs - make path and its missing parents, mode 0700; -1 after an error. */
static int ctl_dkim_mkdirs(const char *path)
{
	char *copy = xstrdup(path);
	int ret = 0;

	for (char *p = copy + 1; ret == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
			ctl_error("cannot make %s: %s", copy, strerror(errno));
			ret = -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(copy);
	return ret;
}

/* ctl_dkim_become_owner - as root, become the owner of keys_dir, or of its parent while it is missing. */
static int ctl_dkim_become_owner(const struct cfg *cfg, const char *domain)
{
	char *inside = xasprintf("%s/%s", cfg->dkim_keys_dir, domain);
	struct stat st;
	int ret;

	if (stat(cfg->dkim_keys_dir, &st) == 0)
		ret = ctl_run_as_owner(cfg, inside);
	else
		ret = ctl_run_as_owner(cfg, cfg->dkim_keys_dir);
	free(inside);
	return ret;
}

/* ctl_dkim_generate - a new key: RSA 2048 or Ed25519; NULL after an error. */
static EVP_PKEY *ctl_dkim_generate(const char *algorithm)
{
	EVP_PKEY *pkey;

	if (strcmp(algorithm, "rsa") == 0)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)CTL_DKIM_RSA_BITS);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pkey == NULL) {
		const char *why = ERR_reason_error_string(ERR_get_error());
		ctl_error("cannot make a %s key: %s", algorithm, why != NULL ? why : "OpenSSL error");
	}
	return pkey;
}

/* ctl_dkim_write_fd - the PEM (PKCS#8) of pkey to fd, synced; -1 with errno or after an OpenSSL error. */
static int ctl_dkim_write_fd(int fd, EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_secmem()); /* wiped when freed */
	char *pem = NULL;
	long len;
	int ret = -1;

	errno = EIO;
	if (bio != NULL && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (len = BIO_get_mem_data(bio, &pem)) > 0)
		ret = file_write_all(fd, pem, (size_t)len) == 0 && fsync(fd) == 0 ? 0 : -1;
	BIO_free(bio);
	return ret;
}

/* ctl_dkim_install - tmp (written) linked to path, never over an existing file; tmp removed. */
static int ctl_dkim_install(const char *tmp, const char *path)
{
	int ret = link(tmp, path);

	if (ret < 0 && errno == EEXIST)
		ctl_error("%s exists: a key is never overwritten (choose another --selector)", path);
	else if (ret < 0)
		ctl_error("cannot write %s: %s", path, strerror(errno));
	unlink(tmp);
	return ret;
}

/* ctl_dkim_write - pkey into dir/SELECTOR.key, mode 0600; -1 after an error. */
static int ctl_dkim_write(const char *dir, const char *path, const char *selector, EVP_PKEY *pkey)
{
	char *tmp = xasprintf("%s/.%s.key.%ld.tmp", dir, selector, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int ret = -1;

	if (fd < 0) {
		ctl_error("cannot write %s: %s", tmp, strerror(errno));
	} else if (ctl_dkim_write_fd(fd, pkey) < 0) {
		ctl_error("cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
	} else {
		ret = ctl_dkim_install(tmp, path);
	}
	if (fd >= 0)
		close(fd);
	free(tmp);
	return ret;
}

/* ctl_dkim_show_new - print what keygen wrote and the record to publish. */
static int ctl_dkim_show_new(const struct ctl_dkim_keygen_args *a, const char *path, EVP_PKEY *pkey)
{
	struct dkim_keys_entry e = {
		.domain = (char *)a->domain, .selector = (char *)a->selector, .algorithm = a->algorithm,
		.pkey = pkey};

	printf("; wrote %s (%s%s)\n", path, a->algorithm, strcmp(a->algorithm, "rsa") == 0 ? ", 2048 bits" : "");
	return ctl_dkim_print_key(&e, true) < 0 ? CTL_EXIT_ERROR : CTL_EXIT_OK;
}

/* ctl_dkim_keygen - "dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]". */
static int ctl_dkim_keygen(const struct cfg *cfg, int argc, char **argv)
{
	struct ctl_dkim_keygen_args a;
	EVP_PKEY *pkey = NULL;
	char *dir, *path;
	int status = CTL_EXIT_ERROR;

	if (ctl_dkim_keygen_args(argc, argv, &a) < 0)
		return CTL_EXIT_USAGE;
	if (ctl_dkim_become_owner(cfg, a.domain) < 0)
		return CTL_EXIT_ERROR;
	dir = xasprintf("%s/%s", cfg->dkim_keys_dir, a.domain);
	path = xasprintf("%s/%s.key", dir, a.selector);
	if (access(path, F_OK) == 0)
		ctl_error("%s exists: a key is never overwritten (choose another --selector)", path);
	else if (ctl_dkim_mkdirs(dir) == 0 && (pkey = ctl_dkim_generate(a.algorithm)) != NULL &&
		 ctl_dkim_write(dir, path, a.selector, pkey) == 0)
		status = ctl_dkim_show_new(&a, path, pkey);
	EVP_PKEY_free(pkey);
	free(path);
	free(dir);
	return status;
}

/* ctl_dkim_list - "dkim list": DOMAIN SELECTOR ALGORITHM RECORD, one key a line. */
static int ctl_dkim_list(const struct cfg *cfg)
{
	char *error = NULL;
	struct dkim_keys *keys = dkim_keys_load(cfg->dkim_keys_dir, &error);
	int status = CTL_EXIT_OK;

	if (keys == NULL) {
		ctl_error("%s", error);
		free(error);
		return CTL_EXIT_ERROR;
	}
	for (size_t i = 0; i < dkim_keys_count(keys); i++) {
		const struct dkim_keys_entry *e = dkim_keys_at(keys, i);
		char *record = dkim_keys_record(e);
		if (record == NULL)
			status = CTL_EXIT_ERROR;
		printf("%s %s %s %s\n", e->domain, e->selector, e->algorithm, record != NULL ? record : "-");
		free(record);
	}
	dkim_keys_free(&keys);
	return status;
}

/* ctl_dkim_main - "dkim keygen ... | list". */
int ctl_dkim_main(const struct cfg *cfg, int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "keygen") == 0)
		return ctl_dkim_keygen(cfg, argc, argv);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return ctl_dkim_list(cfg);
	return ctl_dkim_usage();
}

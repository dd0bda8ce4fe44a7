/* tls - server context and the self-signed certificate made on first start. */
#include "tls/tls.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

/* Mozilla "intermediate" TLS 1.2 suites; TLS 1.3 suites are OpenSSL's defaults. */
#define TLS_CIPHERS                                                                       \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                       \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                       \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_SELF_SIGNED_DAYS 3650

const char *tls_error_string(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* tls_x509_add_san - subjectAltName DNS:host. */
static int tls_x509_add_san(X509 *x, const char *host)
{
	char *value = xasprintf("DNS:%s", host);
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, value);
	free(value);
	ok = ext != NULL && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* tls_make_cert - a self-signed certificate for host with key. */
static X509 *tls_make_cert(EVP_PKEY *key, const char *host)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * TLS_SELF_SIGNED_DAYS);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"postern", -1, -1,
				   0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)host, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (tls_x509_add_san(x, host) < 0 || X509_sign(x, key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* tls_write_pem - write key or cert to path with mode 0600, atomically. */
static int tls_write_pem(const char *path, EVP_PKEY *key, X509 *cert)
{
	char tmp[PATH_MAX];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	umask(077);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	ok = key != NULL ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
			 : PEM_write_X509(f, cert);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	fclose(f);
	return ok && rename(tmp, path) == 0 ? 0 : -1;
}

/* tls_self_signed - make DATA_DIR/tls/{cert,key}.pem when they do not exist. */
static int tls_self_signed(const struct cfg *cfg, char *cert_r, char *key_r, size_t size,
			   char **error_r)
{
	char dir[PATH_MAX / 2];
	EVP_PKEY *key;
	X509 *x;

	snprintf(dir, sizeof(dir), "%s/tls", cfg->data_dir);
	snprintf(cert_r, size, "%s/cert.pem", dir);
	snprintf(key_r, size, "%s/key.pem", dir);
	if (access(cert_r, R_OK) == 0 && access(key_r, R_OK) == 0)
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*error_r = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((key = EVP_EC_gen("P-256")) == NULL || (x = tls_make_cert(key, cfg->hostname)) == NULL) {
		EVP_PKEY_free(key);
		*error_r = xasprintf("cannot make a self-signed certificate: %s", tls_error_string());
		return -1;
	}
	int rc = tls_write_pem(key_r, key, NULL) == 0 && tls_write_pem(cert_r, NULL, x) == 0 ? 0 : -1;
	if (rc < 0)
		*error_r = xasprintf("%s: cannot write: %s", dir, strerror(errno));
	else
		log_info("tls: made a self-signed certificate for %s in %s", cfg->hostname, dir);
	EVP_PKEY_free(key);
	X509_free(x);
	return rc;
}

SSL_CTX *tls_server_ctx_new(const struct cfg *cfg, char **error_r)
{
	char cert[PATH_MAX], key[PATH_MAX];
	SSL_CTX *ctx;

	if (cfg->tls_cert != NULL) {
		snprintf(cert, sizeof(cert), "%s", cfg->tls_cert);
		snprintf(key, sizeof(key), "%s", cfg->tls_key != NULL ? cfg->tls_key : cfg->tls_cert);
	} else if (tls_self_signed(cfg, cert, key, sizeof(cert), error_r) < 0) {
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = xasprintf("tls: %s / %s: %s", cert, key, tls_error_string());
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct bufferevent *tls_bev_new(struct event_base *base, SSL_CTX *ctx, int fd)
{
	if (ctx == NULL)
		return bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		base, fd, SSL_new(ctx), BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct bufferevent *tls_bev_starttls(struct bufferevent *plain, SSL_CTX *ctx)
{
	struct evbuffer *in = bufferevent_get_input(plain), *out = bufferevent_get_output(plain);
	struct event_base *base = bufferevent_get_base(plain);
	int fd = bufferevent_getfd(plain);

	evbuffer_drain(in, evbuffer_get_length(in));
	evbuffer_unfreeze(out, 1); /* a socket bufferevent keeps its output's front frozen */
	while (evbuffer_get_length(out) > 0 && evbuffer_write(out, fd) > 0)
		;
	if (evbuffer_get_length(out) > 0)
		return NULL;
	bufferevent_setfd(plain, -1); /* keep the socket open when the plain one goes */
	bufferevent_free(plain);
	return tls_bev_new(base, ctx, fd);
}

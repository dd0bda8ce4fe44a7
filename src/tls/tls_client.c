/* tls_client - the outbound SMTP client's context, STARTTLS and the relayhost's verification. */
#include "tls/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

/*
 * tls_client_trust - the trust store: delivery.relayhost_tls_ca, or the
 * system's when a relayhost is to be verified. An unreadable or empty CA
 * file is an error, never a silent fallback to the system store.
 */
static int tls_client_trust(SSL_CTX *ctx, const struct cfg *cfg, char **error_r)
{
	const char *ca = cfg->relayhost_tls_ca;
	FILE *f;

	if (ca == NULL) {
		if (cfg->relayhost != NULL && cfg->relayhost_tls_verify &&
		    SSL_CTX_set_default_verify_paths(ctx) != 1) {
			*error_r = xasprintf("tls: the system trust store: %s", tls_error_string());
			return -1;
		}
		return 0;
	}
	if ((f = fopen(ca, "r")) == NULL) {
		*error_r = xasprintf("delivery.relayhost_tls_ca %s: %s", ca, strerror(errno));
		return -1;
	}
	fclose(f);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		*error_r = xasprintf("delivery.relayhost_tls_ca %s: no PEM certificate: %s", ca,
				     tls_error_string());
		return -1;
	}
	/* the relayhost's own (self-signed or not) certificate may be the anchor */
	X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_PARTIAL_CHAIN);
	return 0;
}

SSL_CTX *tls_client_ctx_new(const struct cfg *cfg, char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		*error_r = xasprintf("tls: %s", tls_error_string());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* per connection: tls_client_verify */
	if (tls_client_trust(ctx, cfg, error_r) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* tls_client_is_ip - whether host is an IPv4 or IPv6 address literal. */
static bool tls_client_is_ip(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

/* tls_client_verify - check the peer's chain and that it names host (RFC 6125); -1 on failure. */
static int tls_client_verify(SSL *ssl, const char *host)
{
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (tls_client_is_ip(host))
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -1;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

struct bufferevent *tls_bev_connect(struct bufferevent *plain, SSL_CTX *ctx, const char *host,
				    bool verify)
{
	struct event_base *base = bufferevent_get_base(plain);
	int fd = bufferevent_getfd(plain);
	SSL *ssl = SSL_new(ctx);

	/* RFC 6066 3: no address literals in SNI */
	if (ssl == NULL || (!tls_client_is_ip(host) && SSL_set_tlsext_host_name(ssl, host) != 1) ||
	    (verify && tls_client_verify(ssl, host) < 0)) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_setfd(plain, -1);
	bufferevent_free(plain);
	struct bufferevent *bev = bufferevent_openssl_socket_new(base, fd, ssl,
								 BUFFEREVENT_SSL_CONNECTING,
								 BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) /* out of memory: the caller's connection ends */
		fatal("bufferevent_openssl_socket_new failed");
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

const char *tls_bev_verify_error(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	long rc = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	return rc == X509_V_OK ? NULL : X509_verify_cert_error_string(rc);
}

const char *tls_bev_error(struct bufferevent *bev)
{
	static char buf[256];
	unsigned long e = bufferevent_get_openssl_error(bev);

	if (e == 0)
		return "the connection closed during the handshake";
	ERR_error_string_n(e, buf, sizeof(buf));
	while (bufferevent_get_openssl_error(bev) != 0)
		; /* the first error says it best: drop the rest */
	return buf;
}

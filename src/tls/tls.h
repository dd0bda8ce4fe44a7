/*
 * tls - the server's TLS context (OpenSSL 3): TLS 1.2 and 1.3 only, a
 * modern cipher list, the certificate and key from [tls], or a self-signed
 * pair made with the OpenSSL API on first start and kept under
 * DATA_DIR/tls/ so that clients can pin it across restarts; and the
 * outbound SMTP client's context, which verifies the relayhost.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>

#include "config/cfg.h"

struct bufferevent;
struct event_base;

/*
 * tls_client_ctx_new - the context of the outbound SMTP client: TLS 1.2+.
 * It verifies nothing by itself (MX deliveries are opportunistic, RFC 3207
 * with no authentication of the server, like Postfix's
 * smtp_tls_security_level = may); tls_bev_connect turns verification on
 * for one connection (the relayhost). Its trust store is
 * delivery.relayhost_tls_ca when set (a private CA or the relayhost's own
 * certificate, any of whose certificates is a trust anchor), else the
 * system's when a relayhost is verified. NULL with *error_r set, also when
 * relayhost_tls_ca holds no readable PEM certificate.
 */
SSL_CTX *tls_client_ctx_new(const struct cfg *cfg, char **error_r);

/*
 * tls_bev_connect - STARTTLS as the client: a TLS bufferevent (handshake
 * started, SNI host unless it is an IP address) on plain's socket; plain is
 * freed. With verify, the handshake fails unless the certificate chains to
 * ctx's trust store and names host (DNS name, or IP address for a literal).
 * NULL (plain untouched) when the connection cannot be set up.
 */
struct bufferevent *tls_bev_connect(struct bufferevent *plain, SSL_CTX *ctx, const char *host,
				    bool verify);

/* tls_bev_verify_error - why the peer's certificate did not verify (static), NULL if it did. */
const char *tls_bev_verify_error(struct bufferevent *bev);

/* tls_bev_error - the TLS error a bufferevent reported, as text (static buffer). */
const char *tls_bev_error(struct bufferevent *bev);

/* tls_server_ctx_new - the server context for cfg; NULL with *error_r set. */
SSL_CTX *tls_server_ctx_new(const struct cfg *cfg, char **error_r);

/* tls_bev_new - a bufferevent for an accepted socket: TLS from the first byte when ctx is set. */
struct bufferevent *tls_bev_new(struct event_base *base, SSL_CTX *ctx, int fd);

/*
 * tls_bev_starttls - STARTTLS/STLS: drop what the client pipelined behind
 * the command (RFC 3207 6, RFC 2595 4: CVE-2011-0411), send the pending
 * "ready" reply in the clear, and return a TLS bufferevent on the same
 * socket; the plain one is freed. NULL (plain one untouched) when the reply
 * cannot be flushed at once.
 */
struct bufferevent *tls_bev_starttls(struct bufferevent *plain, SSL_CTX *ctx);

/* tls_error_string - the last OpenSSL error as text (static buffer). */
const char *tls_error_string(void);

#endif

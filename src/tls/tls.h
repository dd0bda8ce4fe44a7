/*
 * tls - the server's TLS context (OpenSSL 3): TLS 1.2 and 1.3 only, a
 * modern cipher list, the certificate and key from [tls], or a self-signed
 * pair made with the OpenSSL API on first start and kept under
 * DATA_DIR/tls/ so that clients can pin it across restarts.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <openssl/ssl.h>

#include "config/cfg.h"

/* tls_server_ctx_new - the server context for cfg; NULL with *error_r set. */
SSL_CTX *tls_server_ctx_new(const struct cfg *cfg, char **error_r);

/* tls_error_string - the last OpenSSL error as text (static buffer). */
const char *tls_error_string(void);

#endif

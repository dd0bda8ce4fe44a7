/*
 * pg_url - the PostgreSQL URL of auth.store, checked and made safe to log.
 * Pure functions: no I/O, no allocation, no libpq.
 *
 *	postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?KEY=VALUE&...]
 *
 * "postgres://" is accepted too. HOST is a name, an IPv4 address, an IPv6
 * address in brackets, or a percent-encoded directory of a Unix socket
 * ("%2Fvar%2Frun%2Fpostgresql"); PORT defaults to 5432. USER, PASSWORD and
 * DB may be percent-encoded; '@' and '/' in a password must be ("%40",
 * "%2F"). One host only (libpq's host lists are not supported). KEY is one
 * of libpq's connection parameters (passfile, sslmode, connect_timeout, ...;
 * not host, port, dbname, user, whose place is the URL itself). The
 * password may also come from a .pgpass file: "?passfile=/path".
 *
 * Secrets: the password, and the values of the "password" and
 * "sslpassword" parameters, never appear in an error of pg_url_check nor
 * in the output of pg_url_redact and pg_url_scrub.
 */
#ifndef POSTERN_AUTH_PG_URL_H
#define POSTERN_AUTH_PG_URL_H

#include <stdbool.h>
#include <stddef.h>

#define PG_URL_MAX 2048   /* longer URLs are refused */
#define PG_URL_SECRETS 3  /* password, ?password=, ?sslpassword= */

/* A part of the URL: offset and length, in the URL as written (still percent-encoded). */
struct pg_url_span {
	size_t off, len;
};

enum pg_url_host {
	PG_URL_HOST_NAME,   /* looked up in DNS or /etc/hosts */
	PG_URL_HOST_IPV4,
	PG_URL_HOST_IPV6,   /* span without the brackets */
	PG_URL_HOST_SOCKET, /* a percent-encoded directory */
};

struct pg_url {
	struct pg_url_span user, password, host, port, dbname, query;
	bool has_password;  /* "USER:PASSWORD@" (password may be empty) */
	bool has_port;
	bool has_hostaddr;  /* "?hostaddr=" given */
	enum pg_url_host host_kind;
	unsigned port_number; /* 5432 when there is none */
	struct pg_url_span secrets[PG_URL_SECRETS]; /* in order: password, query values */
	size_t n_secrets;
};

/*
 * pg_url_parse - split url into its parts (spans into url). Returns 0; or
 * -1 with *error_r a static string that never holds a part of the URL.
 */
int pg_url_parse(const char *url, struct pg_url *r, const char **error_r);

/* pg_url_check - 0 when url is a PostgreSQL URL postern accepts; -1 with *error_r (static). */
int pg_url_check(const char *url, const char **error_r);

/*
 * pg_url_redact - url with each secret replaced by "***", in buf (always
 * NUL-terminated, truncated to size). A URL that does not parse is
 * redacted generously: everything from the first ':' after "://" to the
 * last '@' is taken for a password. Returns buf.
 */
const char *pg_url_redact(const char *url, char *buf, size_t size);

/*
 * pg_url_scrub - text (an error from libpq or the server) on one line,
 * with every occurrence of a secret of url (as written or percent-decoded)
 * replaced by "***", control characters and runs of blanks made single
 * spaces, no trailing blank. Returns buf (NUL-terminated, truncated).
 */
const char *pg_url_scrub(const char *url, const char *text, char *buf, size_t size);

/*
 * pg_url_decode - the percent-decoded text of span of url into buf
 * (NUL-terminated). Returns its length, or -1 when it does not fit or
 * holds a bad escape or "%00".
 */
int pg_url_decode(const char *url, struct pg_url_span span, char *buf, size_t size);

#endif

/*
 * maildir - Maildir layout helpers (https://cr.yp.to/proto/maildir.html):
 * the directory of an account, creating tmp/new/cur, unique file names with
 * Dovecot's S= (stored size) and W= (size with CRLF line ends) fields, so
 * that POP3 can answer STAT and LIST from names alone.
 */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>

/* maildir_component_ok - true when s is safe as one path component. */
bool maildir_component_ok(const char *s);

/* maildir_path - "DATA_DIR/mail/DOMAIN/LOCAL" into buf; -1 if it does not fit. */
int maildir_path(char *buf, size_t size, const char *data_dir, const char *domain,
		 const char *local);

/* maildir_account_path - the Maildir of the account "local@domain" (as maildir_path); -1 if unusable. */
int maildir_account_path(char *buf, size_t size, const char *data_dir, const char *address);

/*
 * maildir_create - mkdir -p the Maildir at path with tmp/, new/ and cur/
 * (mode 0700); a Maildir++ subfolder (last component ".Name") also gets
 * its empty "maildirfolder" file.
 */
int maildir_create(const char *path);

/*
 * maildir_name - a unique base name: TIME.MUSECPPIDQSEQ.HOST,S=SIZE,W=WSIZE.
 * Characters '/' and ':' in host are escaped as the Maildir spec says.
 */
int maildir_name(char *buf, size_t size, const char *host, unsigned long seq, size_t stored_size,
		 size_t wire_size);

/* maildir_parse_sizes - read S= and W= from a file name; false when absent. */
bool maildir_parse_sizes(const char *name, size_t *stored_r, size_t *wire_r);

#endif

/*
 * ctl - the subcommands of posternctl, one file each (ctl_user.c, ...).
 * A handler gets the loaded configuration and its own argc/argv, with
 * argv[0] the subcommand's name ("user"), and returns the exit status.
 * Errors are printed as "posternctl: ..." on stderr before returning.
 */
#ifndef POSTERN_CTL_H
#define POSTERN_CTL_H

#include <stdbool.h>
#include <stddef.h>

struct cfg;
struct dkim_keys_entry;

#define CTL_EXIT_OK 0
#define CTL_EXIT_ERROR 1 /* the request failed */
#define CTL_EXIT_USAGE 2 /* the command line is wrong */

/* ctl_error - print "posternctl: message" on stderr. */
void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * ctl_read_line - read one line of standard input into buf (size bytes,
 * NUL terminated), without its LF or CR LF. Reads byte by byte so that no
 * copy of a secret stays in a stdio buffer and the next line stays unread.
 * Returns the length, or -1 with *error_r static (EOF, too long, NUL byte).
 */
int ctl_read_line(char *buf, size_t size, const char **error_r);

/*
 * ctl_run_as_owner - run as root, become for good the owner of the
 * directory that holds path (daemon/privdrop.h), so that the files made
 * there belong to the user the daemon runs as. A missing data_dir is made
 * for server.user first. Not root, or a directory of root's: nothing
 * changes. Returns 0, or -1 after printing the error.
 */
int ctl_run_as_owner(const struct cfg *cfg, const char *path);

/* ctl_user_main - "user add|del|passwd|list ..." */
int ctl_user_main(const struct cfg *cfg, int argc, char **argv);

/* ctl_alias_main - "alias add|del|list ..." (ctl_alias.c). */
int ctl_alias_main(const struct cfg *cfg, int argc, char **argv);

/* ctl_relay_main - "relay list|grant|revoke|check|report ..." */
int ctl_relay_main(const struct cfg *cfg, int argc, char **argv);

/* ctl_queue_main - "queue list|show ID|flush|delete ID" (ctl_queue.c). */
int ctl_queue_main(const struct cfg *cfg, int argc, char **argv);

/* ctl_dkim_main - "dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519] | list" (ctl_dkim.c). */
int ctl_dkim_main(const struct cfg *cfg, int argc, char **argv);

/* ctl_dkim_print_txt - print "NAME. TTL IN TXT" with text in quoted strings of at most 255 bytes. */
void ctl_dkim_print_txt(const char *name, const char *text);

/*
 * ctl_dkim_print_key - a comment line and the zone file line of e's record
 * (SELECTOR._domainkey.DOMAIN), with plain also the record as one string.
 * Returns 0, or -1 after printing the error.
 */
int ctl_dkim_print_key(const struct dkim_keys_entry *e, bool plain);

/* ctl_autoconfig_main - "autoconfig DOMAIN [--xml|--dns]" (ctl_autoconfig.c). */
int ctl_autoconfig_main(const struct cfg *cfg, int argc, char **argv);

/* ctl_control_connect - connect to the daemon's control socket; -1 with the reason in error. */
int ctl_control_connect(const struct cfg *cfg, char *error, size_t size);

/* ctl_control_request - one request line to the daemon, its answer into answer; -1 when none. */
int ctl_control_request(const struct cfg *cfg, const char *request, char *answer, size_t size);

/* ctl_control_answer - read one answer line (without LF); -1 when there is none. */
int ctl_control_answer(int fd, char *answer, size_t size);

/* ctl_sendmail_main - "sendmail [-t] [-i] [-f SENDER] [RCPT ...]" < message (ctl_sendmail.c). */
int ctl_sendmail_main(const struct cfg *cfg, int argc, char **argv);

/* ctl_sendmail_entry - posternctl run as "sendmail" or "mailq" (its own configuration lookup). */
int ctl_sendmail_entry(int argc, char **argv, bool mailq);

#endif

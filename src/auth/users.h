/*
 * users - the account database of SPEC.md "Accounts": a text file with one
 * account per line,
 *
 *	address:hash:secret
 *
 * address is the full lower-case login (local@domain); hash is a crypt(3)
 * string (yescrypt "$y$" when libxcrypt has it, else "$6$"); secret is the
 * optional APOP / CRAM-MD5 shared secret: the rest of the line, which may
 * hold ':' and is empty when the account has none. '#' lines and blank lines
 * are ignored. posternctl rewrites the file atomically (temporary file,
 * fsync, rename), so a reader sees the old or the new file, never half of
 * one; the daemon calls users_refresh() before each lookup and so sees a
 * change at once, at the price of one stat() when nothing changed.
 *
 * Threads: a users_db is not locked. Whoever refreshes it must keep other
 * threads from reading it meanwhile; a worker thread that verifies a
 * password should get a copy of the account (users_account_dup). The
 * crypt functions themselves are thread-safe.
 */
#ifndef POSTERN_USERS_H
#define POSTERN_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define USERS_ADDRESS_MAX 254          /* RFC 3696 erratum 1690 */
#define USERS_FILE_MAX (64u << 20)     /* refuse to load a bigger file */

struct users_account {
	char *address; /* lower case, valid per users_address_normalize */
	char *hash;    /* crypt(3) string */
	char *secret;  /* APOP / CRAM-MD5 shared secret; NULL if none */
};

/* What identifies one version of the file: a change in any field reloads. */
struct users_file_id {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
	struct timespec ctim;
};

struct users_db {
	struct users_account *accounts; /* sorted by address (strcmp) */
	size_t n;
	size_t alloc;
	struct users_file_id loaded;    /* the file the accounts came from */
	struct users_file_id failed;    /* the last file that did not parse */
};

/* users_init - an empty database. */
void users_init(struct users_db *db);

/* users_free - wipe and release all accounts; db is empty afterwards. */
void users_free(struct users_db *db);

/*
 * users_parse - replace the accounts of db with those in text (len bytes).
 * Pure: no I/O. filename is used in messages only. Returns 0; or -1 with
 * *error_r a malloc'd "FILENAME:LINE: message" (never holding a secret),
 * db unchanged. Addresses are lower-cased; a duplicate is an error.
 */
int users_parse(struct users_db *db, const char *text, size_t len, const char *filename,
		char **error_r);

/*
 * users_load - read and parse the file at path. A missing file is an empty
 * database. Returns 0; or -1 with *error_r malloc'd, db unchanged.
 */
int users_load(struct users_db *db, const char *path, char **error_r);

/*
 * users_refresh - reload when the file changed since the last load (one
 * stat() otherwise). Returns 1 reloaded, 0 unchanged, -1 error with
 * *error_r malloc'd (error_r may be NULL) and the old accounts kept. A file
 * that failed to parse is reported once, not again until it changes.
 */
int users_refresh(struct users_db *db, const char *path, char **error_r);

/* users_find - the account for address (any case), or NULL. */
const struct users_account *users_find(const struct users_db *db, const char *address);

/*
 * users_address_normalize - check a login address for the users file: one
 * '@', non-empty local part and domain, no ':', white space or control
 * character, not starting with '#'. Returns 0 with *normalized_r a malloc'd
 * lower-case copy; or -1 with *error_r a static reason.
 */
int users_address_normalize(const char *address, char **normalized_r, const char **error_r);

/*
 * users_add - add an account (secret may be NULL). Returns 0; or -1 with
 * *error_r a static reason ("account exists", bad address, hash or secret).
 */
int users_add(struct users_db *db, const char *address, const char *hash, const char *secret,
	      const char **error_r);

/* users_set - replace hash and secret (NULL: none) of an existing account; 0 or -1 as users_add. */
int users_set(struct users_db *db, const char *address, const char *hash, const char *secret,
	      const char **error_r);

/* users_del - remove an account; -1 when there is none. */
int users_del(struct users_db *db, const char *address);

/*
 * users_save - write db to path atomically: path.tmp.PID (mode 0600),
 * fsync, rename, fsync of the directory. The parent directory is made
 * (0700) when missing. Run as root, the file keeps the owner of the file it
 * replaces (a new one takes its directory's) so that the daemon, after
 * dropping privileges, can still read it. Returns 0 or -1 with *error_r.
 */
int users_save(const struct users_db *db, const char *path, char **error_r);

/*
 * The file helpers below are shared with the aliases file (addr/aliases.h),
 * which lives next to the users file and is saved and reloaded the same way.
 */

/*
 * users_write_atomic - replace the file at path with len bytes of text the
 * way users_save does (tmp file 0600, fsync, rename, fsync of the directory,
 * owner kept as root). Returns 0 or -1 with *error_r malloc'd.
 */
int users_write_atomic(const char *path, const char *text, size_t len, char **error_r);

/*
 * users_file_read - the users file, or the aliases file beside it, read
 * whole (at most USERS_FILE_MAX): 1 with *text_r (malloc'd, *len_r bytes)
 * and its stat in *st_r; 0 when there is no file; -1 with *error_r.
 */
struct stat;
int users_file_read(const char *path, char **text_r, size_t *len_r, struct stat *st_r,
		    char **error_r);

/* users_id_from_stat - the identity of the file version st describes. */
void users_id_from_stat(struct users_file_id *id_r, const struct stat *st);

/*
 * users_file_changed - 1 when the file at path (missing counts as a
 * version) is neither the version loaded nor the one that failed to parse,
 * 0 when it is one of them, -1 with *error_r (may be NULL) when stat fails.
 */
int users_file_changed(const char *path, const struct users_file_id *loaded,
		       const struct users_file_id *failed, char **error_r);

/* users_id_equal - true when two identities name the same file version. */
bool users_id_equal(const struct users_file_id *a, const struct users_file_id *b);

/*
 * users_lock - take an exclusive lock on "path.lock" for a load-change-save
 * cycle, so that two posternctl runs do not lose each other's change.
 * Returns 0 with *fd_r set; or -1 with *error_r malloc'd.
 */
int users_lock(const char *path, int *fd_r, char **error_r);

/* users_unlock - release a lock from users_lock; *fd_r becomes -1. */
void users_unlock(int *fd_r);

/* users_account_dup - a deep copy, e.g. to hand to a worker thread. */
struct users_account *users_account_dup(const struct users_account *acct);

/* users_account_free - wipe and free a copy from users_account_dup; *acct_r becomes NULL. */
void users_account_free(struct users_account **acct_r);

/*
 * users_hash_password - a new crypt(3) hash of password with a fresh salt:
 * yescrypt, or SHA-512 crypt when yescrypt is not available. Returns 0 with
 * *hash_r malloc'd, or -1.
 */
int users_hash_password(const char *password, char **hash_r);

/* users_verify_hash - 1 when password matches the crypt(3) hash, else 0 (constant-time compare). */
int users_verify_hash(const char *hash, const char *password);

/* users_verify_password - users_verify_hash against acct; with acct NULL, users_verify_dummy. */
int users_verify_password(const struct users_account *acct, const char *password);

/*
 * users_verify_dummy - spend the time of one verification against a dummy
 * hash, so that a login for a missing account takes as long as a wrong
 * password. Always returns 0.
 */
int users_verify_dummy(const char *password);

/* users_crypt_init - make the dummy hash now (at start-up) rather than on the first failed login. */
void users_crypt_init(void);

#endif

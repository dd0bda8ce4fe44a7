/* imap_account - the Maildir and its special-use folders, made at login when missing. */
#include "imap/imap_account.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "imap/imap_folder.h"
#include "imap/imap_subs.h"
#include "store/maildir.h"
#include "util/xalloc.h"

/* imap_account_missing - the special folders that do not exist yet, as bits. */
static unsigned imap_account_missing(const char *home)
{
	unsigned missing = 0;
	char dir[IMAP_FOLDER_PATH_MAX];
	const char *error;
	struct stat st;

	for (int i = 0; i < 4; i++) {
		if (imap_folder_dir(home, imap_folder_special[i], dir, sizeof(dir), &error) == 0 &&
		    stat(dir, &st) < 0 && errno == ENOENT)
			missing |= 1u << i;
	}
	return missing;
}

/* imap_account_make - create the missing folders and subscribe them. */
static int imap_account_make(const char *home, unsigned missing, char **error_r)
{
	struct imap_subs subs = { 0 };
	char dir[IMAP_FOLDER_PATH_MAX];
	const char *error;
	int rc = -1;

	if (imap_subs_read(home, &subs, error_r) < 0)
		return -1;
	for (int i = 0; i < 4; i++) {
		if (!(missing & (1u << i)))
			continue;
		if (imap_folder_dir(home, imap_folder_special[i], dir, sizeof(dir), &error) < 0 ||
		    maildir_create(dir) < 0) {
			*error_r = xasprintf("cannot create %s: %s", dir, strerror(errno));
			goto out;
		}
		imap_subs_add(&subs, imap_folder_special[i]);
	}
	rc = imap_subs_write(home, &subs, error_r);
out:
	imap_subs_clear(&subs);
	return rc;
}

int imap_account_prepare(const char *home, char **error_r)
{
	unsigned missing;

	if (maildir_create(home) < 0) {
		*error_r = xasprintf("cannot create %s: %s", home, strerror(errno));
		return -1;
	}
	missing = imap_account_missing(home);
	return missing != 0 ? imap_account_make(home, missing, error_r) : 0;
}

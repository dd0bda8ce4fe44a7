/* imap_folder - folder names: the client's form, UTF-8 inside, Maildir++ on disk. */
#include "imap/imap_folder.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_internal.h"
#include "imap/imap_mutf7.h"

const char *const imap_folder_special[4] = { "Sent", "Drafts", "Trash", "Junk" };
const char *const imap_folder_special_use[4] = { "\\Sent", "\\Drafts", "\\Trash", "\\Junk" };

int imap_folder_special_index(const char *name)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, imap_folder_special[i]) == 0)
			return i;
	}
	return -1;
}

int imap_folder_dir(const char *home, const char *name, char *dir_r, size_t size,
		    const char **error_r)
{
	char sub[IMAP_MUTF7_DIR_MAX + 1];
	int n;

	if (imap_mutf7_folder_to_dir(name, sub, sizeof(sub), error_r) < 0)
		return -1;
	n = snprintf(dir_r, size, "%s%s%s", home, sub[0] ? "/" : "", sub);
	if (n < 0 || (size_t)n >= size) {
		*error_r = "Mailbox name too long";
		return -1;
	}
	return 0;
}

int imap_folder_resolve(const struct imap_session *s, const struct imap_arg *arg, char *name_r,
			size_t name_size, char *dir_r, size_t dir_size, const char **error_r)
{
	size_t len;

	if (!imap_arg_is_astring(arg) || arg->u.str.len == 0 ||
	    memchr(arg->u.str.data, '\0', arg->u.str.len) != NULL) {
		*error_r = "Invalid mailbox name";
		return -1;
	}
	if (strcasecmp(arg->u.str.data, "INBOX") == 0) {
		snprintf(name_r, name_size, "INBOX");
	} else if (imap_folder_utf8(s)) {
		if (arg->u.str.len >= name_size) {
			*error_r = "Mailbox name too long";
			return -1;
		}
		memcpy(name_r, arg->u.str.data, arg->u.str.len + 1);
	} else if (imap_mutf7_decode(arg->u.str.data, arg->u.str.len, name_r, name_size, &len,
				     error_r) < 0) {
		return -1;
	}
	return imap_folder_dir(s->home, name_r, dir_r, dir_size, error_r);
}

bool imap_folder_utf8(const struct imap_session *s)
{
	return (s->enabled & (IMAP_EN_REV2 | IMAP_EN_UTF8)) != 0;
}

int imap_folder_quote(bool utf8, const char *name, char *out, size_t size)
{
	char wire[IMAP_MUTF7_ENCODE_MAX(IMAP_FOLDER_NAME_MAX)];
	const char *error;
	size_t len, o = 0;

	if (utf8)
		snprintf(wire, sizeof(wire), "%s", name);
	else if (imap_mutf7_encode(name, strlen(name), wire, sizeof(wire), &len, &error) < 0)
		return -1;
	if (size < 3)
		return -1;
	out[o++] = '"';
	for (const char *p = wire; *p != '\0'; p++) {
		if (o + 4 > size)
			return -1;
		if (*p == '"' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}

/*
 * aliases_file - the aliases file next to the users file: load, refresh,
 * atomic save. The file work itself is users_file.c's (read whole, file
 * identity, atomic replace keeping the owner), shared rather than copied.
 */
#include "addr/aliases.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/xalloc.h"

/* aliases_path - DIR/aliases for the users file DIR/NAME ("aliases" for a bare NAME). */
char *aliases_path(const char *users_file)
{
	const char *slash = strrchr(users_file, '/');

	if (slash == NULL)
		return xstrdup("aliases");
	return xasprintf("%.*s/aliases", (int)(slash - users_file), users_file);
}

/* aliases_load - read the aliases file; a missing one is an empty table. */
int aliases_load(struct aliases_table *table, const char *path, char **error_r)
{
	struct stat st;
	char *text;
	size_t len;
	int ret = users_file_read(path, &text, &len, &st, error_r);

	if (ret == 0)
		aliases_free(table);
	if (ret <= 0)
		return ret;
	ret = aliases_parse(table, text, len, path, error_r);
	free(text);
	users_id_from_stat(ret == 0 ? &table->loaded : &table->failed, &st);
	return ret;
}

/* aliases_refresh - reload when the file's identity changed. */
int aliases_refresh(struct aliases_table *table, const char *path, char **error_r)
{
	char *error = NULL;
	int changed = users_file_changed(path, &table->loaded, &table->failed, error_r);

	if (changed <= 0)
		return changed;
	if (aliases_load(table, path, &error) == 0)
		return 1;
	if (error_r != NULL)
		*error_r = error;
	else
		free(error);
	return -1;
}

/* aliases_save - format and replace the file atomically. */
int aliases_save(const struct aliases_table *table, const char *path, char **error_r)
{
	size_t len;
	char *text = aliases_format(table, &len);
	int ret = users_write_atomic(path, text, len, error_r);

	free(text);
	return ret;
}

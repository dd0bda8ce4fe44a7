/* ctl - helpers shared by the posternctl subcommands. */
#include "ctl/ctl.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg.h"
#include "daemon/privdrop.h"
#include "util/xalloc.h"

/* ctl_error - one error line on stderr. */
void ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("posternctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ctl_read_byte - one byte of stdin: 1 read, 0 EOF, -1 error. */
static int ctl_read_byte(char *c_r)
{
	ssize_t r;

	while ((r = read(STDIN_FILENO, c_r, 1)) < 0 && errno == EINTR)
		;
	return r < 0 ? -1 : (int)r;
}

/* ctl_read_line - one line of stdin, LF or CR LF stripped. */
int ctl_read_line(char *buf, size_t size, const char **error_r)
{
	size_t len = 0;
	char c;
	int r;

	while ((r = ctl_read_byte(&c)) == 1 && c != '\n') {
		if (c == '\0' || len + 1 >= size) {
			*error_r = c == '\0' ? "NUL byte in input" : "line too long";
			return -1;
		}
		buf[len++] = c;
	}
	if (r < 0 || (r == 0 && len == 0)) {
		*error_r = r < 0 ? "cannot read standard input" : "unexpected end of input";
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return (int)len;
}

/* ctl_path_len - length of path without its trailing slashes (but "/" stays). */
static size_t ctl_path_len(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return len;
}

/* ctl_run_as_owner - as root, become the owner of the directory holding path. */
int ctl_run_as_owner(const struct cfg *cfg, const char *path)
{
	char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	size_t len = ctl_path_len(dir);
	bool is_data_dir =
		len == ctl_path_len(cfg->data_dir) && strncmp(dir, cfg->data_dir, len) == 0;
	char *error = NULL;
	int ret = privdrop_to_owner(dir, cfg->user, is_data_dir, &error);

	if (ret < 0) {
		ctl_error("%s", error);
		free(error);
	}
	free(copy);
	return ret;
}

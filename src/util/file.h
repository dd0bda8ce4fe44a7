/* file - small whole-file reads, and writes that finish. */
#ifndef POSTERN_FILE_H
#define POSTERN_FILE_H

#include <stddef.h>

/*
 * file_read_small - the first max bytes of the file at path, in a new
 * NUL-terminated buffer (*len_r bytes); NULL with errno set on failure.
 */
char *file_read_small(const char *path, size_t max, size_t *len_r);

/* file_fsync_dir - fsync the directory dir: a rename, link or unlink in it is durable; 0 or -1. */
int file_fsync_dir(const char *dir);

/* file_write_all - write len bytes to fd, retrying short writes and EINTR; 0 or -1 with errno. */
int file_write_all(int fd, const char *buf, size_t len);

#endif

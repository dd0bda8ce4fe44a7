// FUZZ_SOURCES: src/smtp/smtp_parse.c
/*
 * fuzz_smtp_command - one command line through smtp_command_parse, then its
 * arguments through smtp_path_parse as MAIL and as RCPT; checks that every
 * result is well formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check_text - a parsed local or domain: bounded, no control bytes. */
static void fuzz_check_text(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1), i;

	if (n > max)
		abort();
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			abort();
	}
}

/* fuzz_check_path - one smtp_path_parse result is consistent. */
static void fuzz_check_path(const char *args, size_t len, enum smtp_path_kind kind)
{
	struct smtp_path path;
	const char *error = NULL;
	int code = 0;
	size_t i;

	if (smtp_path_parse(args, len, kind, &path, &code, &error) < 0) {
		if ((code != 501 && code != 555) || error == NULL || error[0] != '5' ||
		    error[1] != '.')
			abort();
		return;
	}
	fuzz_check_text(path.local, sizeof(path.local) - 1);
	fuzz_check_text(path.domain, SMTP_DOMAIN_MAX);
	for (i = 0; path.domain[i] != '\0'; i++) {
		if ((path.domain[i] >= 'A' && path.domain[i] <= 'Z') || path.domain[i] == '@')
			abort();
	}
	if (path.null_path && (kind != SMTP_PATH_MAIL || path.local[0] != '\0'))
		abort();
	if (!path.null_path && path.local[0] == '\0')
		abort();
	if (path.domain[0] == '\0' && !path.null_path && strcmp(path.local, "postmaster") != 0)
		abort();
	if (strnlen(path.auth, sizeof(path.auth)) >= sizeof(path.auth))
		abort();
}

/* LLVMFuzzerTestOneInput - the input is one line without its CRLF. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size > 0 ? size : 1);
	struct smtp_command cmd;
	const char *error = NULL;

	if (line == NULL)
		return 0;
	memcpy(line, data, size); /* a copy of exact size: ASan sees overreads */
	if (smtp_command_parse(line, size, &cmd, &error) < 0) {
		if (error == NULL)
			abort();
	} else {
		if (cmd.verb >= SMTP_VERB_COUNT || smtp_verb_name(cmd.verb) == NULL)
			abort();
		if (cmd.args_len > 0 && (cmd.args <= line || cmd.args + cmd.args_len > line + size ||
					 memchr(cmd.args, '\0', cmd.args_len) != NULL ||
					 cmd.args[cmd.args_len - 1] == ' '))
			abort();
		fuzz_check_path(cmd.args, cmd.args_len, SMTP_PATH_MAIL);
		fuzz_check_path(cmd.args, cmd.args_len, SMTP_PATH_RCPT);
	}
	/* the whole input as arguments too, so paths are reached directly */
	fuzz_check_path(line, size, SMTP_PATH_MAIL);
	fuzz_check_path(line, size, SMTP_PATH_RCPT);
	free(line);
	return 0;
}

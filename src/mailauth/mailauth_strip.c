/* mailauth_strip - forged Authentication-Results: fields out of a header section (pure). */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "dmarc/authres.h"
#include "mailauth/mailauth_verify.h"

#define MAILAUTH_AR "Authentication-Results"

/* mailauth_strip_field_end - the end of the field starting at p: past its last line's LF. */
static size_t mailauth_strip_field_end(const char *head, size_t len, size_t p)
{
	for (;;) {
		const char *lf = memchr(head + p, '\n', len - p);
		if (lf == NULL)
			return len;
		p = (size_t)(lf - head) + 1;
		if (p == len || (head[p] != ' ' && head[p] != '\t'))
			return p;
	}
}

/* mailauth_strip_forged - is the field [p, end) an Authentication-Results: naming hostname? */
static bool mailauth_strip_forged(const char *field, size_t len, const char *hostname)
{
	size_t name = strlen(MAILAUTH_AR);
	size_t i = name;

	if (len <= name || strncasecmp(field, MAILAUTH_AR, name) != 0)
		return false;
	while (i < len && (field[i] == ' ' || field[i] == '\t'))
		i++;
	if (i == len || field[i] != ':')
		return false;
	return authres_claims(field + i + 1, len - i - 1, hostname);
}

size_t mailauth_strip_authres(const char *head, size_t len, const char *hostname, char *out)
{
	size_t p = 0, o = 0;

	while (p < len) {
		size_t end = mailauth_strip_field_end(head, len, p);
		if (!mailauth_strip_forged(head + p, end - p, hostname)) {
			memcpy(out + o, head + p, end - p);
			o += end - p;
		}
		p = end;
	}
	return o;
}

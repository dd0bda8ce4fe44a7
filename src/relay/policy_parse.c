/* policy_parse - the request side of Postfix's policy delegation protocol; pure. */
#include "relay/policy_parse.h"

#include <stdbool.h>
#include <string.h>

void relay_policy_parser_init(struct relay_policy_parser *p,
			      const struct relay_policy_limits *limits)
{
	p->limits.line_max = RELAY_POLICY_LINE_MAX;
	p->limits.attrs_max = RELAY_POLICY_ATTRS_MAX;
	if (limits != NULL) {
		if (limits->line_max < p->limits.line_max)
			p->limits.line_max = limits->line_max;
		if (limits->attrs_max < p->limits.attrs_max)
			p->limits.attrs_max = limits->attrs_max;
	}
	relay_policy_parser_reset(p);
}

void relay_policy_parser_reset(struct relay_policy_parser *p)
{
	p->line_len = 0;
	p->n = 0;
	p->arena_len = 0;
	p->state = 0;
}

/* relay_policy_name_ok - an attribute name: 1..63 of [A-Za-z0-9_.-]. */
static bool relay_policy_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > RELAY_POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* relay_policy_store - copy s (len bytes) and a NUL into the arena; its offset, or -1. */
static int relay_policy_store(struct relay_policy_parser *p, const char *s, size_t len)
{
	size_t off = p->arena_len;

	if (len + 1 > sizeof(p->arena) - p->arena_len)
		return -1;
	memcpy(p->arena + off, s, len);
	p->arena[off + len] = '\0';
	p->arena_len += len + 1;
	return (int)off;
}

/* relay_policy_line - one complete line (without LF): an attribute, or the end. */
static int relay_policy_line(struct relay_policy_parser *p, const char **error_r)
{
	size_t len = p->line_len;
	const char *eq;
	int name, value;

	if (len > 0 && p->line[len - 1] == '\r')
		len--;
	if (len == 0) {
		if (p->n > 0)
			return 1;
		*error_r = "empty request";
		return -1;
	}
	eq = memchr(p->line, '=', len);
	if (eq == NULL || !relay_policy_name_ok(p->line, (size_t)(eq - p->line))) {
		*error_r = eq == NULL ? "line without '='" : "bad attribute name";
		return -1;
	}
	if (p->n >= p->limits.attrs_max) {
		*error_r = "too many attributes";
		return -1;
	}
	name = relay_policy_store(p, p->line, (size_t)(eq - p->line));
	value = name < 0 ? -1 : relay_policy_store(p, eq + 1, len - (size_t)(eq + 1 - p->line));
	if (value < 0) {
		*error_r = "request too large";
		return -1;
	}
	p->attrs[p->n].name = (uint16_t)name;
	p->attrs[p->n].value = (uint16_t)value;
	p->n++;
	return 0;
}

/* relay_policy_byte - one byte of input: 1 request complete, 0 more, -1 error. */
static int relay_policy_byte(struct relay_policy_parser *p, char c, const char **error_r)
{
	int r;

	if (c == '\n') {
		r = relay_policy_line(p, error_r);
		p->line_len = 0;
		return r;
	}
	if (c == '\0') {
		*error_r = "NUL byte";
		return -1;
	}
	if (p->line_len >= p->limits.line_max) {
		*error_r = "line too long";
		return -1;
	}
	p->line[p->line_len++] = c;
	return 0;
}

int relay_policy_parse(struct relay_policy_parser *p, const char *data, size_t len,
		       size_t *used_r, const char **error_r)
{
	*used_r = 0;
	if (p->state != 0) {
		*error_r = p->state < 0 ? "parser failed earlier" : "request not reset";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		int r = relay_policy_byte(p, data[i], error_r);
		if (r != 0) {
			*used_r = i + 1;
			p->state = r;
			return r;
		}
	}
	*used_r = len;
	return 0;
}

const char *relay_policy_attr(const struct relay_policy_parser *p, const char *name)
{
	for (size_t i = p->n; i-- > 0;)
		if (strcmp(p->arena + p->attrs[i].name, name) == 0)
			return p->arena + p->attrs[i].value;
	return NULL;
}

/* pop3_parse - POP3 command lines into verb and arguments. */
#include "pop3/pop3_parse.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

const struct pop3_limits pop3_default_limits = {
	.line_max = POP3_LINE_MAX - 2,
	.arg_max = POP3_ARG_MAX,
	.name_max = POP3_NAME_MAX,
};

/* How long one argument may be. */
enum pop3_arg_kind {
	POP3_ARG_WORD, /* limits->arg_max */
	POP3_ARG_NAME, /* limits->name_max */
	POP3_ARG_REST, /* the rest of the line, spaces included */
};

/* The shape of one verb's arguments. */
struct pop3_verb_def {
	const char *name;
	unsigned char min, max;
	enum pop3_arg_kind kinds[POP3_ARGV_MAX];
};

static const struct pop3_verb_def pop3_verbs[POP3_VERB_COUNT] = {
	[POP3_VERB_USER] = { "USER", 1, 1, { POP3_ARG_NAME } },
	[POP3_VERB_PASS] = { "PASS", 1, 1, { POP3_ARG_REST } },
	[POP3_VERB_APOP] = { "APOP", 2, 2, { POP3_ARG_NAME, POP3_ARG_WORD } },
	[POP3_VERB_AUTH] = { "AUTH", 0, 2, { POP3_ARG_WORD, POP3_ARG_REST } },
	[POP3_VERB_CAPA] = { "CAPA", 0, 0, { 0 } },
	[POP3_VERB_STLS] = { "STLS", 0, 0, { 0 } },
	[POP3_VERB_QUIT] = { "QUIT", 0, 0, { 0 } },
	[POP3_VERB_STAT] = { "STAT", 0, 0, { 0 } },
	[POP3_VERB_LIST] = { "LIST", 0, 1, { POP3_ARG_WORD } },
	[POP3_VERB_RETR] = { "RETR", 1, 1, { POP3_ARG_WORD } },
	[POP3_VERB_DELE] = { "DELE", 1, 1, { POP3_ARG_WORD } },
	[POP3_VERB_NOOP] = { "NOOP", 0, 0, { 0 } },
	[POP3_VERB_RSET] = { "RSET", 0, 0, { 0 } },
	[POP3_VERB_TOP] = { "TOP", 2, 2, { POP3_ARG_WORD, POP3_ARG_WORD } },
	[POP3_VERB_UIDL] = { "UIDL", 0, 1, { POP3_ARG_WORD } },
};

const char *pop3_verb_name(enum pop3_verb verb)
{
	if (verb <= POP3_VERB_UNKNOWN || verb >= POP3_VERB_COUNT)
		return "?";
	return pop3_verbs[verb].name;
}

/* pop3_verb_lookup - the verb of the keyword (len bytes, any case). */
static enum pop3_verb pop3_verb_lookup(const char *word, size_t len)
{
	for (int v = POP3_VERB_UNKNOWN + 1; v < POP3_VERB_COUNT; v++) {
		if (strlen(pop3_verbs[v].name) == len && strncasecmp(pop3_verbs[v].name, word, len) == 0)
			return (enum pop3_verb)v;
	}
	return POP3_VERB_UNKNOWN;
}

/* pop3_line_check - no NUL or other control byte anywhere in the line. */
static int pop3_line_check(const char *line, size_t len, const char **error_r)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f) {
			*error_r = "Invalid character in command";
			return -1;
		}
	}
	return 0;
}

/* pop3_arg_max - the length limit of an argument kind. */
static size_t pop3_arg_max(enum pop3_arg_kind kind, const struct pop3_limits *limits)
{
	if (kind == POP3_ARG_WORD)
		return limits->arg_max;
	if (kind == POP3_ARG_NAME)
		return limits->name_max;
	return limits->line_max;
}

/* pop3_split_args - cut p..end into the verb's arguments. */
static int pop3_split_args(const char *p, const char *end, const struct pop3_verb_def *def,
			   const struct pop3_limits *limits, struct pop3_command *cmd,
			   const char **error_r)
{
	while (p < end && cmd->argc < def->max) {
		enum pop3_arg_kind kind = def->kinds[cmd->argc];
		const char *stop = end;
		if (kind != POP3_ARG_REST || cmd->argc > 0) {
			while (p < end && *p == ' ')
				p++;
			if (p == end)
				break;
		}
		if (kind != POP3_ARG_REST) {
			stop = memchr(p, ' ', (size_t)(end - p));
			stop = stop != NULL ? stop : end;
		}
		if ((size_t)(stop - p) > pop3_arg_max(kind, limits)) {
			*error_r = "Argument too long";
			return -1;
		}
		cmd->argv[cmd->argc].p = p;
		cmd->argv[cmd->argc++].len = (size_t)(stop - p);
		p = stop;
	}
	while (p < end && *p == ' ')
		p++;
	if (p < end || cmd->argc < def->min) {
		*error_r = cmd->argc < def->min ? "Missing argument" : "Too many arguments";
		return -1;
	}
	return 0;
}

int pop3_command_parse(const char *line, size_t len, const struct pop3_limits *limits,
		       struct pop3_command *cmd_r, const char **error_r)
{
	const char *end = line + len, *sp;
	const struct pop3_verb_def *def;

	memset(cmd_r, 0, sizeof(*cmd_r));
	if (len > limits->line_max) {
		*error_r = "Line too long";
		return -1;
	}
	if (pop3_line_check(line, len, error_r) < 0)
		return -1;
	if (len == 0) {
		*error_r = "Empty command";
		return -1;
	}
	sp = memchr(line, ' ', len);
	sp = sp != NULL ? sp : end;
	cmd_r->verb = pop3_verb_lookup(line, (size_t)(sp - line));
	if (cmd_r->verb == POP3_VERB_UNKNOWN)
		return 0;
	def = &pop3_verbs[cmd_r->verb];
	/* exactly one space before a REST argument: it may itself begin with one */
	return pop3_split_args(sp < end ? sp + 1 : end, end, def, limits, cmd_r, error_r);
}

int pop3_number_parse(const struct pop3_arg *arg, unsigned long max, unsigned long *n_r)
{
	unsigned long n = 0;

	if (arg->len == 0 || arg->len > 20)
		return -1;
	for (size_t i = 0; i < arg->len; i++) {
		unsigned d = (unsigned)(arg->p[i] - '0');
		if (d > 9 || n > max / 10 || d > max - n * 10)
			return -1;
		n = n * 10 + d;
	}
	*n_r = n;
	return 0;
}

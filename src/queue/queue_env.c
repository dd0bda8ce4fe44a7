/* queue_env - format and parse queue envelope files. */
#include "queue/queue_env.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

#define QUEUE_ENV_MAGIC "postern-queue 1"
#define QUEUE_ENV_CHUNK (64 * 1024)

/* queue_env_clean - copy text with line breaks and control bytes replaced. */
static char *queue_env_clean(const char *s)
{
	char *c = xstrdup(s);

	for (char *p = c; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return c;
}

char *queue_env_format(const struct queue_env *env, size_t *len_r)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len_r);

	if (f == NULL)
		fatal("open_memstream: out of memory");
	fprintf(f, QUEUE_ENV_MAGIC "\nid %s\ncreated %" PRId64 "\nfrom %s\n", env->id, env->created,
		env->from);
	if (env->sized)
		fprintf(f, "body %" PRIu64 " %s\n", env->size, env->eightbit ? "8bit" : "7bit");
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		char *err = r->last_error != NULL ? queue_env_clean(r->last_error) : NULL;
		fprintf(f, "rcpt %c %u %" PRId64 " %s%s%s\n", (char)r->state, r->attempts,
			r->next_try, r->address, err ? " " : "", err ? err : "");
		free(err);
	}
	if (fclose(f) != 0)
		fatal("open_memstream: out of memory");
	return text;
}

bool queue_env_has_8bit(const char *text, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) { /* a word at a time: this runs over every queued message */
		uint64_t w;
		memcpy(&w, text + i, 8);
		if (w & 0x8080808080808080ULL)
			return true;
	}
	for (; i < len; i++) {
		if ((unsigned char)text[i] >= 0x80)
			return true;
	}
	return false;
}

void queue_env_measure(struct queue_env *env, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	env->size += len; /* and one CR per LF below */
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		env->size++;
		p++;
	}
	env->eightbit = env->eightbit || queue_env_has_8bit(text, len);
	env->sized = true;
}

int queue_env_measure_file(struct queue_env *env, const char *path)
{
	struct queue_env m = { 0 };
	char *buf = xmalloc(QUEUE_ENV_CHUNK);
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	while (fd >= 0 && (n = read(fd, buf, QUEUE_ENV_CHUNK)) != 0) {
		if (n < 0 && errno != EINTR) {
			err = errno;
			break;
		}
		if (n > 0)
			queue_env_measure(&m, buf, (size_t)n);
	}
	err = fd < 0 ? errno : err;
	free(buf);
	if (fd >= 0)
		close(fd);
	if (err != 0) {
		errno = err;
		return -1;
	}
	env->size = m.size;
	env->eightbit = m.eightbit;
	env->sized = true;
	return 0;
}

void queue_env_add_rcpt(struct queue_env *env, const char *address)
{
	env->rcpts = xrealloc(env->rcpts, (env->n_rcpts + 1) * sizeof(*env->rcpts));
	env->rcpts[env->n_rcpts] = (struct queue_rcpt){
		.address = xstrdup(address),
		.state = QUEUE_RCPT_PENDING,
	};
	env->n_rcpts++;
}

/* queue_env_parse_rcpt - "S ATTEMPTS NEXT ADDRESS [ERROR]" after "rcpt ". */
static int queue_env_parse_rcpt(struct queue_env *env, const char *v)
{
	char state, address[1024];
	unsigned attempts;
	int64_t next;
	int used = 0;

	if (sscanf(v, "%c %u %" SCNd64 " %1023s%n", &state, &attempts, &next, address, &used) != 4 ||
	    (state != QUEUE_RCPT_PENDING && state != QUEUE_RCPT_DELIVERED &&
	     state != QUEUE_RCPT_FAILED && state != QUEUE_RCPT_BOUNCED))
		return -1;
	queue_env_add_rcpt(env, address);
	struct queue_rcpt *r = &env->rcpts[env->n_rcpts - 1];
	r->state = (enum queue_rcpt_state)state;
	r->attempts = attempts;
	r->next_try = next;
	if (v[used] == ' ' && v[used + 1] != '\0')
		r->last_error = xstrdup(v + used + 1);
	return 0;
}

/* queue_env_parse_body - "SIZE 7bit|8bit" after "body ". */
static int queue_env_parse_body(struct queue_env *env, const char *v)
{
	char *end;
	unsigned long long size;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	size = strtoull(v, &end, 10);
	if (errno != 0 || (strcmp(end, " 7bit") != 0 && strcmp(end, " 8bit") != 0))
		return -1;
	env->size = size;
	env->eightbit = end[1] == '8';
	env->sized = true;
	return 0;
}

/* queue_env_parse_line - one "key value" line. */
static int queue_env_parse_line(struct queue_env *env, const char *line)
{
	if (strncmp(line, "id ", 3) == 0 && strlen(line + 3) < sizeof(env->id)) {
		snprintf(env->id, sizeof(env->id), "%s", line + 3);
		return 0;
	}
	if (strncmp(line, "created ", 8) == 0)
		return sscanf(line + 8, "%" SCNd64, &env->created) == 1 ? 0 : -1;
	if (strncmp(line, "from ", 5) == 0 || strcmp(line, "from") == 0) {
		free(env->from);
		env->from = xstrdup(line[4] == ' ' ? line + 5 : "");
		return 0;
	}
	if (strncmp(line, "rcpt ", 5) == 0)
		return queue_env_parse_rcpt(env, line + 5);
	if (strncmp(line, "body ", 5) == 0)
		return queue_env_parse_body(env, line + 5);
	return 0; /* unknown keys are skipped: newer versions may add some */
}

int queue_env_parse(struct queue_env *env_r, const char *text, size_t len, const char **error_r)
{
	char *copy = xstrndup(text, len), *save = NULL;
	char *line = strtok_r(copy, "\n", &save);
	int rc = 0;

	memset(env_r, 0, sizeof(*env_r));
	if (line == NULL || strcmp(line, QUEUE_ENV_MAGIC) != 0) {
		*error_r = "not a postern queue file";
		rc = -1;
	}
	while (rc == 0 && (line = strtok_r(NULL, "\n", &save)) != NULL) {
		if (queue_env_parse_line(env_r, line) < 0) {
			*error_r = "malformed line in queue file";
			rc = -1;
		}
	}
	free(copy);
	if (rc == 0 && (env_r->id[0] == '\0' || env_r->from == NULL || env_r->n_rcpts == 0)) {
		*error_r = "incomplete queue file";
		rc = -1;
	}
	if (rc < 0)
		queue_env_clear(env_r);
	return rc;
}

void queue_env_clear(struct queue_env *env)
{
	for (size_t i = 0; i < env->n_rcpts; i++) {
		free(env->rcpts[i].address);
		free(env->rcpts[i].last_error);
	}
	free(env->rcpts);
	free(env->from);
	memset(env, 0, sizeof(*env));
}

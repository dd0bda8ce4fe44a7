/* ctl_queue - "posternctl queue list|show|flush|delete": the outbound queue. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config/cfg.h"
#include "ctl/ctl.h"
#include "queue/queue_env.h"
#include "util/file.h"
#include "util/xalloc.h"

#define CTL_QUEUE_FILE_MAX (1024 * 1024)

int ctl_control_connect(const struct cfg *cfg, char *error, size_t size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/control", cfg->data_dir);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(error, size, "the daemon is not running (%s: %s)", sun.sun_path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int ctl_control_answer(int fd, char *answer, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size && (n = read(fd, answer + len, 1)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || answer[len] == '\n')
			break;
		len++;
	}
	answer[len] = '\0';
	return len > 0 ? 0 : -1;
}

int ctl_control_request(const struct cfg *cfg, const char *request, char *answer, size_t size)
{
	int fd = ctl_control_connect(cfg, answer, size);

	if (fd < 0)
		return -1;
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request) ||
	    ctl_control_answer(fd, answer, size) < 0) {
		snprintf(answer, size, "no answer from the daemon");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* ctl_queue_id_ok - a queue id is hex digits only (it becomes a path). */
static int ctl_queue_id_ok(const char *id)
{
	size_t n = strspn(id, "0123456789ABCDEFabcdef");

	return n > 0 && n < 32 && id[n] == '\0';
}

/* ctl_queue_load - parse DATA_DIR/queue/env/ID; -1 when it is missing or bad. */
static int ctl_queue_load(const struct cfg *cfg, const char *id, struct queue_env *env_r)
{
	char path[PATH_MAX], *text;
	const char *error;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/queue/env/%s", cfg->data_dir, id);
	if ((text = file_read_small(path, CTL_QUEUE_FILE_MAX, &len)) == NULL)
		return -1;
	rc = queue_env_parse(env_r, text, len, &error);
	free(text);
	return rc;
}

/* ctl_queue_age - "42s", "7m", "3h", "2d". */
static void ctl_queue_age(long long secs, char *buf, size_t size)
{
	if (secs < 120)
		snprintf(buf, size, "%llds", secs < 0 ? 0 : secs);
	else if (secs < 7200)
		snprintf(buf, size, "%lldm", secs / 60);
	else if (secs < 172800)
		snprintf(buf, size, "%lldh", secs / 3600);
	else
		snprintf(buf, size, "%lldd", secs / 86400);
}

/* ctl_queue_state - a recipient's state as a word. */
static const char *ctl_queue_state(const struct queue_rcpt *r)
{
	switch (r->state) {
	case QUEUE_RCPT_DELIVERED:
		return "delivered";
	case QUEUE_RCPT_FAILED:
		return "bounced, notice pending";
	case QUEUE_RCPT_BOUNCED:
		return "bounced";
	default:
		return r->attempts > 0 ? "deferred" : "pending";
	}
}

/* ctl_queue_print - one entry of the listing. */
static void ctl_queue_print(const struct cfg *cfg, const struct queue_env *env)
{
	char path[PATH_MAX], age[32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/queue/msg/%s", cfg->data_dir, env->id);
	ctl_queue_age((long long)(time(NULL) - env->created), age, sizeof(age));
	printf("%-20s %9lld %5s  <%s>\n", env->id, stat(path, &st) == 0 ? (long long)st.st_size : 0LL,
	       age, env->from);
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		printf("    <%s> %s, %u attempt(s)%s%s%s\n", r->address, ctl_queue_state(r),
		       r->attempts, r->last_error ? ": (" : "", r->last_error ? r->last_error : "",
		       r->last_error ? ")" : "");
	}
}

/* ctl_queue_list - every entry: id, size, age, sender, recipients with their last error. */
static int ctl_queue_list(const struct cfg *cfg)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/queue/env", cfg->data_dir);
	if ((d = opendir(path)) == NULL && errno != ENOENT) {
		ctl_error("%s: %s", path, strerror(errno));
		return CTL_EXIT_ERROR;
	}
	printf("%-20s %9s %5s  %s\n", "ID", "SIZE", "AGE", "SENDER / RECIPIENTS");
	while (d != NULL && (de = readdir(d)) != NULL) {
		struct queue_env env;
		if (!ctl_queue_id_ok(de->d_name) || ctl_queue_load(cfg, de->d_name, &env) < 0)
			continue;
		ctl_queue_print(cfg, &env);
		queue_env_clear(&env);
		n++;
	}
	if (d != NULL)
		closedir(d);
	printf("-- %u message(s) in the queue\n", n);
	return CTL_EXIT_OK;
}

/* ctl_queue_show - the envelope and the message's header block. */
static int ctl_queue_show(const struct cfg *cfg, const char *id)
{
	char path[PATH_MAX], *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/queue/env/%s", cfg->data_dir, id);
	if (!ctl_queue_id_ok(id) || (text = file_read_small(path, CTL_QUEUE_FILE_MAX, &len)) == NULL) {
		ctl_error("no queue entry %s", id);
		return CTL_EXIT_ERROR;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	snprintf(path, sizeof(path), "%s/queue/msg/%s", cfg->data_dir, id);
	if ((text = file_read_small(path, CTL_QUEUE_FILE_MAX, &len)) != NULL) {
		char *end = strstr(text, "\n\n");
		printf("\n");
		fwrite(text, 1, end != NULL ? (size_t)(end - text) + 1 : len, stdout);
		free(text);
	}
	return CTL_EXIT_OK;
}

/* ctl_queue_flush - ask the running daemon to retry everything now. */
static int ctl_queue_flush(const struct cfg *cfg)
{
	char answer[512];

	if (ctl_control_request(cfg, "flush\n", answer, sizeof(answer)) < 0 ||
	    strcmp(answer, "ok") != 0) {
		ctl_error("queue flush: %s", answer);
		return CTL_EXIT_ERROR;
	}
	printf("queue flushed\n");
	return CTL_EXIT_OK;
}

/* ctl_queue_unlink - remove an entry's files when no daemon runs (env first, as the daemon does). */
static int ctl_queue_unlink(const struct cfg *cfg, const char *id)
{
	char env[PATH_MAX], msg[PATH_MAX];

	snprintf(env, sizeof(env), "%s/queue/env/%s", cfg->data_dir, id);
	snprintf(msg, sizeof(msg), "%s/queue/msg/%s", cfg->data_dir, id);
	if (unlink(env) < 0) {
		ctl_error("no queue entry %s", id);
		return CTL_EXIT_ERROR;
	}
	unlink(msg);
	return CTL_EXIT_OK;
}

/* ctl_queue_delete - through the daemon when it runs (it must forget the entry), else directly. */
static int ctl_queue_delete(const struct cfg *cfg, const char *id)
{
	char request[64], answer[512];
	int fd;

	if (!ctl_queue_id_ok(id)) {
		ctl_error("no queue entry %s", id);
		return CTL_EXIT_ERROR;
	}
	if ((fd = ctl_control_connect(cfg, answer, sizeof(answer))) < 0) {
		if (ctl_queue_unlink(cfg, id) != CTL_EXIT_OK)
			return CTL_EXIT_ERROR;
	} else {
		close(fd);
		snprintf(request, sizeof(request), "delete %s\n", id);
		if (ctl_control_request(cfg, request, answer, sizeof(answer)) < 0 ||
		    strcmp(answer, "ok") != 0) {
			ctl_error("queue delete %s: %s", id, answer);
			return CTL_EXIT_ERROR;
		}
	}
	printf("deleted %s\n", id);
	return CTL_EXIT_OK;
}

int ctl_queue_main(const struct cfg *cfg, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "list") == 0 && argc == 2)
		return ctl_queue_list(cfg);
	if (strcmp(sub, "show") == 0 && argc == 3)
		return ctl_queue_show(cfg, argv[2]);
	if (strcmp(sub, "flush") == 0 && argc == 2)
		return ctl_queue_flush(cfg);
	if (strcmp(sub, "delete") == 0 && argc == 3)
		return ctl_queue_delete(cfg, argv[2]);
	fprintf(stderr, "usage: posternctl queue list | show ID | flush | delete ID\n");
	return CTL_EXIT_USAGE;
}

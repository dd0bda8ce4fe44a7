/*
 * ctl_sendmail - the sendmail compatible entry point for local programs
 * and cron: "sendmail [-t] [-i|-oi] [-f SENDER] [-F NAME] [RECIPIENT ...]"
 * with the message on stdin, submitted through the daemon's control socket
 * (daemon/control.h). Exit codes follow sysexits.h. Installed as a
 * symlink to posternctl named sendmail; "mailq" lists the queue. The
 * configuration is -C FILE, else $POSTERN_CONFIG, else /etc/postern/postern.conf
 * when it exists, else the embedded default.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "config/cfg.h"
#include "ctl/ctl.h"
#include "util/xalloc.h"

#define CTL_SENDMAIL_HEAD_MAX (1024 * 1024)

struct ctl_sendmail {
	const char *from;
	bool extract;  /* -t */
	bool ignore_dots; /* -i, -oi */
	char **rcpts;
	size_t n_rcpts;
	char *head;    /* the header block as read (Bcc: removed with -t) */
	size_t head_len;
	bool ended;    /* a lone "." ended the message while reading the header */
};

/* ctl_sendmail_add - one more recipient. */
static void ctl_sendmail_add(struct ctl_sendmail *sm, const char *a, size_t len)
{
	while (len > 0 && (*a == ' ' || *a == '\t')) {
		a++;
		len--;
	}
	while (len > 0 && (a[len - 1] == ' ' || a[len - 1] == '\t'))
		len--;
	if (len == 0)
		return;
	sm->rcpts = xrealloc(sm->rcpts, (sm->n_rcpts + 1) * sizeof(*sm->rcpts));
	sm->rcpts[sm->n_rcpts++] = xstrndup(a, len);
}

/* ctl_sendmail_item - one list item: the <address> in it, or the item without comments. */
static void ctl_sendmail_item(struct ctl_sendmail *sm, const char *s, size_t len)
{
	const char *lt = memchr(s, '<', len), *gt;
	char buf[1024];
	size_t n = 0;

	if (lt != NULL && (gt = memchr(lt, '>', len - (size_t)(lt - s))) != NULL) {
		ctl_sendmail_add(sm, lt + 1, (size_t)(gt - lt - 1));
		return;
	}
	for (size_t i = 0, depth = 0; i < len && n + 1 < sizeof(buf); i++) {
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && depth > 0)
			depth--;
		else if (depth == 0 && s[i] != '"')
			buf[n++] = s[i];
	}
	if (memchr(buf, ':', n) == NULL) /* skip "group:;" */
		ctl_sendmail_add(sm, buf, n);
}

/* ctl_sendmail_list - the addresses of an address list header value (unfolded). */
static void ctl_sendmail_list(struct ctl_sendmail *sm, const char *v, size_t len)
{
	size_t start = 0;
	bool quoted = false, angle = false;

	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? v[i] : ',';
		if (c == '"')
			quoted = !quoted;
		else if (c == '<' && !quoted)
			angle = true;
		else if (c == '>' && !quoted)
			angle = false;
		else if (c == ',' && !quoted && !angle) {
			ctl_sendmail_item(sm, v + start, i - start);
			start = i + 1;
		}
	}
}

/* ctl_sendmail_field - with -t: take To, Cc, Bcc; false when the field must be dropped (Bcc). */
static bool ctl_sendmail_field(struct ctl_sendmail *sm, const char *f, size_t len)
{
	static const char *const names[] = { "to:", "cc:", "bcc:" };
	char *unfolded = xstrndup(f, len);

	for (char *p = unfolded; *p != '\0'; p++)
		*p = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(names[i]);
		if (len >= n && strncasecmp(unfolded, names[i], n) == 0) {
			ctl_sendmail_list(sm, unfolded + n, len - n);
			free(unfolded);
			return i != 2;
		}
	}
	free(unfolded);
	return true;
}

/* ctl_sendmail_keep - add one header field (with its continuation lines) to the kept header. */
static void ctl_sendmail_keep(struct ctl_sendmail *sm, const char *f, size_t len)
{
	if (sm->extract && !ctl_sendmail_field(sm, f, len))
		return;
	sm->head = xrealloc(sm->head, sm->head_len + len + 1);
	memcpy(sm->head + sm->head_len, f, len);
	sm->head_len += len;
}

/* ctl_sendmail_is_dot - a line that is a lone "." (the end, without -i). */
static bool ctl_sendmail_is_dot(const struct ctl_sendmail *sm, const char *line)
{
	return !sm->ignore_dots && (strcmp(line, ".\n") == 0 || strcmp(line, ".\r\n") == 0 ||
				    strcmp(line, ".") == 0);
}

/* ctl_sendmail_read_head - read header fields from stdin up to the blank line; the rest stays. */
static void ctl_sendmail_read_head(struct ctl_sendmail *sm, char **line, size_t *cap)
{
	char *field = NULL;
	size_t flen = 0, total = 0;
	ssize_t n;

	while ((n = getline(line, cap, stdin)) > 0) {
		total += (size_t)n;
		bool cont = (*line)[0] == ' ' || (*line)[0] == '\t';
		if (field != NULL && (!cont || total > CTL_SENDMAIL_HEAD_MAX)) {
			ctl_sendmail_keep(sm, field, flen);
			free(field);
			field = NULL;
			flen = 0;
		}
		if ((sm->ended = ctl_sendmail_is_dot(sm, *line)) ||
		    strcmp(*line, "\n") == 0 || strcmp(*line, "\r\n") == 0) {
			if (!sm->ended)
				ctl_sendmail_keep(sm, *line, (size_t)n); /* the blank line */
			break;
		}
		field = xrealloc(field, flen + (size_t)n + 1);
		memcpy(field + flen, *line, (size_t)n);
		flen += (size_t)n;
	}
	if (field != NULL)
		ctl_sendmail_keep(sm, field, flen);
	free(field);
	if (n <= 0)
		sm->ended = true;
}

/* ctl_sendmail_put - write all of buf to the socket. */
static int ctl_sendmail_put(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ctl_sendmail_envelope - "mail", "rcpt"..., "data" lines. */
static int ctl_sendmail_envelope(int fd, const struct ctl_sendmail *sm)
{
	char *line = xasprintf("mail %s\n", sm->from);
	int rc = ctl_sendmail_put(fd, line, strlen(line));

	free(line);
	for (size_t i = 0; i < sm->n_rcpts && rc == 0; i++) {
		line = xasprintf("rcpt %s\n", sm->rcpts[i]);
		rc = ctl_sendmail_put(fd, line, strlen(line));
		free(line);
	}
	return rc == 0 ? ctl_sendmail_put(fd, "data\n", 5) : -1;
}

/* ctl_sendmail_body - the kept header, then the rest of stdin (to a lone "." without -i). */
static int ctl_sendmail_body(int fd, struct ctl_sendmail *sm, char **line, size_t *cap)
{
	ssize_t n;

	if (ctl_sendmail_put(fd, sm->head != NULL ? sm->head : "", sm->head_len) < 0)
		return -1;
	while (!sm->ended && (n = getline(line, cap, stdin)) > 0) {
		if (ctl_sendmail_is_dot(sm, *line))
			break;
		if (ctl_sendmail_put(fd, *line, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

/* ctl_sendmail_status - the exit status for the daemon's answer. */
static int ctl_sendmail_status(const char *answer)
{
	if (strncmp(answer, "ok", 2) == 0)
		return EX_OK;
	fprintf(stderr, "sendmail: %s\n", answer);
	if (strncmp(answer, "nouser", 6) == 0)
		return EX_NOUSER;
	if (strstr(answer, "bad ") != NULL || strstr(answer, "too big") != NULL)
		return EX_DATAERR;
	return EX_TEMPFAIL;
}

/* ctl_sendmail_submit - talk to the daemon; the exit status. */
static int ctl_sendmail_submit(const struct cfg *cfg, struct ctl_sendmail *sm, char **line,
			       size_t *cap)
{
	char answer[512];
	int fd = ctl_control_connect(cfg, answer, sizeof(answer));

	if (fd < 0) {
		fprintf(stderr, "sendmail: %s\n", answer);
		return EX_TEMPFAIL;
	}
	/* a refused recipient makes the daemon answer and close: read that answer anyway */
	if (ctl_sendmail_envelope(fd, sm) == 0 && ctl_sendmail_body(fd, sm, line, cap) == 0)
		shutdown(fd, SHUT_WR);
	if (ctl_control_answer(fd, answer, sizeof(answer)) < 0)
		snprintf(answer, sizeof(answer), "error no answer from the daemon");
	close(fd);
	return ctl_sendmail_status(answer);
}

/* ctl_sendmail_sender - -f, else the login name of the user running us. */
static const char *ctl_sendmail_sender(const char *from)
{
	struct passwd *pw;

	if (from != NULL)
		return from;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_name : "root";
}

/* ctl_sendmail_opt - one option; argv index advanced for an argument; -1 on an unknown one. */
static int ctl_sendmail_opt(struct ctl_sendmail *sm, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	char o = a[1];
	const char *arg = a[2] != '\0' ? a + 2 : NULL;

	if (o == 't' || o == 'i' || o == 'v' || o == 'm' || o == 'n' || (o == 'b' && arg && arg[0] == 'm')) {
		sm->extract |= o == 't';
		sm->ignore_dots |= o == 'i';
		return 0;
	}
	if (o == 'o') { /* -oi; other -oX options are ignored */
		sm->ignore_dots |= arg != NULL && strcmp(arg, "i") == 0;
		return 0;
	}
	if (strchr("frFBNRVCLOX", o) == NULL || o == '\0')
		return -1;
	if (arg == NULL && *i + 1 < argc)
		arg = argv[++*i];
	if (o == 'f' || o == 'r')
		sm->from = arg;
	return 0;
}

int ctl_sendmail_main(const struct cfg *cfg, int argc, char **argv)
{
	struct ctl_sendmail sm = { 0 };
	char *line = NULL;
	size_t cap = 0;
	int i, status;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
		if (ctl_sendmail_opt(&sm, argc, argv, &i) < 0) {
			fprintf(stderr, "sendmail: unsupported option %s\n", argv[i]);
			return EX_USAGE;
		}
	}
	for (i += i < argc && strcmp(argv[i], "--") == 0; i < argc; i++)
		ctl_sendmail_list(&sm, argv[i], strlen(argv[i]));
	sm.from = ctl_sendmail_sender(sm.from);
	ctl_sendmail_read_head(&sm, &line, &cap);
	if (sm.n_rcpts == 0) {
		fprintf(stderr, "sendmail: no recipients\n");
		status = EX_USAGE;
	} else {
		status = ctl_sendmail_submit(cfg, &sm, &line, &cap);
	}
	for (size_t k = 0; k < sm.n_rcpts; k++)
		free(sm.rcpts[k]);
	free(sm.rcpts);
	free(sm.head);
	free(line);
	return status;
}

/* ctl_sendmail_config - -C FILE, $POSTERN_CONFIG, /etc/postern/postern.conf, or NULL (the default). */
static const char *ctl_sendmail_config(int argc, char **argv)
{
	const char *env = getenv("POSTERN_CONFIG");

	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strncmp(argv[i], "-C", 2) == 0)
			return argv[i][2] != '\0' ? argv[i] + 2 : i + 1 < argc ? argv[i + 1] : NULL;
	}
	if (env != NULL && env[0] != '\0')
		return env;
	return access("/etc/postern/postern.conf", R_OK) == 0 ? "/etc/postern/postern.conf" : NULL;
}

int ctl_sendmail_entry(int argc, char **argv, bool mailq)
{
	struct cfg cfg;
	char *error = NULL;
	int status;

	if (cfg_load(&cfg, ctl_sendmail_config(argc, argv), &error) < 0) {
		fprintf(stderr, "sendmail: %s\n", error ? error : "cannot load the configuration");
		free(error);
		cfg_free(&cfg);
		return EX_CONFIG;
	}
	if (mailq) {
		char *list_argv[] = { (char *)"queue", (char *)"list", NULL };
		status = ctl_queue_main(&cfg, 2, list_argv);
	} else {
		status = ctl_sendmail_main(&cfg, argc, argv);
	}
	cfg_free(&cfg);
	return status;
}

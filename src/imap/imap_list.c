/*
 * imap_list - LIST (RFC 9051 6.3.9) with LIST-EXTENDED selection and
 * return options (RFC 5258), SPECIAL-USE (RFC 6154), LIST-STATUS (RFC
 * 5819), and LSUB (RFC 3501 6.3.9). The folders are the account's
 * Maildir++ directories, read on a worker.
 */
#include <dirent.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_folder_job.h"
#include "imap/imap_internal.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_mutf7.h"
#include "imap/imap_subs.h"
#include "util/xalloc.h"

#define IMAP_LIST_PATTERNS 16

enum imap_list_opt {
	IMAP_LIST_LSUB = 1 << 0,
	IMAP_LIST_SEL_SUBSCRIBED = 1 << 1,
	IMAP_LIST_SEL_SPECIAL = 1 << 2,
	IMAP_LIST_RET_SUBSCRIBED = 1 << 3,
	IMAP_LIST_RET_SPECIAL = 1 << 4,
	IMAP_LIST_RET_STATUS = 1 << 5,
	IMAP_LIST_EMPTY = 1 << 6, /* LIST "" "": the hierarchy delimiter only */
	IMAP_LIST_EXTENDED = 1 << 7, /* selection or return options: \NonExistent, not \Noselect */
	IMAP_LIST_SEL_RECURSIVE = 1 << 8, /* RECURSIVEMATCH: parents of matches, with CHILDINFO */
};

/* The command's arguments, for the worker. */
struct imap_list_args {
	char *patterns[IMAP_LIST_PATTERNS]; /* UTF-8, reference prepended */
	size_t npatterns;
	unsigned status; /* STATUS items of RETURN (STATUS (...)) */
};

/* The folders found, sorted, and the subscriptions. */
struct imap_list_tree {
	char **names;
	size_t n, cap;
	char **parents; /* "a" of "a/b" when there is no folder "a" (\Noselect) */
	size_t np, pcap;
	struct imap_subs subs;
};

/* imap_list_match - glob: '*' matches anything, '%' anything but '/' (RFC 9051 6.3.9). */
static bool imap_list_match(const char *p, const char *name)
{
	for (; *p != '\0'; p++, name++) {
		if (*p == '*' || *p == '%') {
			for (const char *n = name;; n++) {
				if (imap_list_match(p + 1, n))
					return true;
				if (*n == '\0' || (*p == '%' && *n == '/'))
					return false;
			}
		}
		if (*p != *name)
			return false;
	}
	return *name == '\0';
}

/* imap_list_args_free - free_data of the job. */
static void imap_list_args_free(void *data)
{
	struct imap_list_args *a = data;

	for (size_t i = 0; i < a->npatterns; i++)
		free(a->patterns[i]);
	free(a);
}

/* imap_list_push - a name into a list (if not there yet). */
static void imap_list_push(char ***v, size_t *n, size_t *cap, const char *name)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i], name) == 0)
			return;
	}
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 32;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = xstrdup(name);
}

/* imap_list_add - a folder into the tree. */
static void imap_list_add(struct imap_list_tree *t, const char *name)
{
	imap_list_push(&t->names, &t->n, &t->cap, name);
}

/* imap_list_cmp_cb - qsort: INBOX first, then by name. */
static int imap_list_cmp_cb(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	bool xi = strcmp(x, "INBOX") == 0, yi = strcmp(y, "INBOX") == 0;

	return xi || yi ? (int)yi - (int)xi : strcmp(x, y);
}

static bool imap_list_exists(const struct imap_list_tree *t, const char *name);

/* imap_list_parents - the levels above folders that are no folders themselves, sorted. */
static void imap_list_parents(struct imap_list_tree *t)
{
	char buf[IMAP_FOLDER_NAME_MAX];

	for (size_t i = 0; i < t->n; i++) {
		snprintf(buf, sizeof(buf), "%s", t->names[i]);
		for (char *slash = strrchr(buf, '/'); slash != NULL; slash = strrchr(buf, '/')) {
			*slash = '\0';
			if (!imap_list_exists(t, buf))
				imap_list_push(&t->parents, &t->np, &t->pcap, buf);
		}
	}
	if (t->np > 0)
		qsort(t->parents, t->np, sizeof(*t->parents), imap_list_cmp_cb);
}

/* imap_list_read - INBOX and every Maildir++ folder of home. */
static void imap_list_read(struct imap_list_tree *t, const char *home)
{
	DIR *d = opendir(home);
	struct dirent *e;
	char name[IMAP_FOLDER_NAME_MAX];
	const char *error;

	imap_list_add(t, "INBOX");
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && e->d_name[1] != '\0' && strcmp(e->d_name, "..") != 0 &&
		    (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) &&
		    imap_mutf7_dir_to_folder(e->d_name, name, sizeof(name), &error) == 0)
			imap_list_add(t, name);
	}
	if (d != NULL)
		closedir(d);
	qsort(t->names, t->n, sizeof(*t->names), imap_list_cmp_cb);
	imap_list_parents(t);
}

/* imap_list_exists - name is a folder of the tree. */
static bool imap_list_exists(const struct imap_list_tree *t, const char *name)
{
	return bsearch(&name, t->names, t->n, sizeof(*t->names), imap_list_cmp_cb) != NULL;
}

/* imap_list_children - some folder of the tree lies under name. */
static bool imap_list_children(const struct imap_list_tree *t, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < t->n; i++) {
		if (strncmp(t->names[i], name, len) == 0 && t->names[i][len] == '/')
			return true;
	}
	return false;
}

/* imap_list_matches - name matches one of the patterns. */
static bool imap_list_matches(const struct imap_list_args *a, const char *name)
{
	for (size_t i = 0; i < a->npatterns; i++) {
		if (imap_list_match(a->patterns[i], name))
			return true;
	}
	return false;
}

/* imap_list_subscribed - name is in the subscriptions. */
static bool imap_list_subscribed(const struct imap_list_tree *t, const char *name)
{
	return imap_subs_has(&t->subs, name);
}

/* imap_list_attrs - the attributes of one listed name (RFC 5258 3, RFC 6154 2). */
static void imap_list_attrs(const struct imap_folder_job *j, const struct imap_list_tree *t,
			    const char *name, char *buf, size_t size)
{
	bool exists = imap_list_exists(t, name), children = imap_list_children(t, name);
	bool sub = (j->opts & (IMAP_LIST_RET_SUBSCRIBED | IMAP_LIST_SEL_SUBSCRIBED)) &&
		   imap_list_subscribed(t, name);
	int special = exists ? imap_folder_special_index(name) : -1;
	const char *gone = j->opts & IMAP_LIST_EXTENDED ? "\\NonExistent" : "\\Noselect";

	if (j->opts & IMAP_LIST_LSUB) { /* only whether it can be selected (RFC 3501 6.3.9) */
		snprintf(buf, size, "%s", exists && imap_list_subscribed(t, name) ? "" : "\\Noselect");
		return;
	}
	snprintf(buf, size, "%s%s%s%s%s%s", exists ? "" : gone, exists ? "" : " ",
		 children ? "\\HasChildren" : "\\HasNoChildren", sub ? " \\Subscribed" : "",
		 special >= 0 ? " " : "", special >= 0 ? imap_folder_special_use[special] : "");
}

/* imap_list_status - LIST-STATUS: "* STATUS" of a selectable listed folder. */
static void imap_list_status(struct imap_folder_job *j, const char *name, const char *quoted)
{
	struct imap_list_args *a = j->data;
	struct imap_folder_state st;
	char dir[IMAP_FOLDER_PATH_MAX], error[256];
	const char *e;

	if (imap_folder_dir(j->home, name, dir, sizeof(dir), &e) == 0 &&
	    imap_mailbox_scan(j->home, dir, &st, error, sizeof(error)) == 0)
		imap_folder_status_line(j->out, quoted, a->status, &st);
	imap_folder_state_clear(&st);
}

/* imap_list_line - one "* LIST" / "* LSUB" answer; childinfo: RECURSIVEMATCH's CHILDINFO. */
static void imap_list_line(struct imap_folder_job *j, const struct imap_list_tree *t,
			   const char *name, bool childinfo)
{
	char attrs[160], quoted[IMAP_FOLDER_NAME_MAX * 2 + 8];

	if (imap_folder_job_quote(j, name, quoted, sizeof(quoted)) < 0)
		return;
	imap_list_attrs(j, t, name, attrs, sizeof(attrs));
	evbuffer_add_printf(j->out, "* %s (%s) \"/\" %s%s\r\n",
			    j->opts & IMAP_LIST_LSUB ? "LSUB" : "LIST", attrs, quoted,
			    childinfo ? " (CHILDINFO (\"SUBSCRIBED\"))" : "");
	if ((j->opts & IMAP_LIST_RET_STATUS) && imap_list_exists(t, name))
		imap_list_status(j, name, quoted);
}

/* imap_list_folders - plain LIST: every folder, and the levels above folders, that match. */
static void imap_list_folders(struct imap_folder_job *j, const struct imap_list_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (imap_list_matches(j->data, t->names[i]) &&
		    (!(j->opts & IMAP_LIST_SEL_SPECIAL) || imap_folder_special_index(t->names[i]) >= 0))
			imap_list_line(j, t, t->names[i], false);
	}
	for (size_t i = 0; i < t->np && !(j->opts & IMAP_LIST_SEL_SPECIAL); i++) {
		if (imap_list_matches(j->data, t->parents[i]))
			imap_list_line(j, t, t->parents[i], false);
	}
}

/* imap_list_ancestors - the unsubscribed levels above a subscribed name the pattern hides. */
static void imap_list_ancestors(struct imap_folder_job *j, const struct imap_list_tree *t,
				const char *name, char ***done, size_t *ndone, size_t *cap)
{
	char buf[IMAP_FOLDER_NAME_MAX];

	if (imap_list_matches(j->data, name))
		return; /* the name itself answers */
	snprintf(buf, sizeof(buf), "%s", name);
	for (char *slash = strrchr(buf, '/'); slash != NULL; slash = strrchr(buf, '/')) {
		*slash = '\0';
		size_t before = *ndone;

		if (imap_list_subscribed(t, buf) || !imap_list_matches(j->data, buf))
			continue;
		imap_list_push(done, ndone, cap, buf);
		if (*ndone > before)
			imap_list_line(j, t, buf, !(j->opts & IMAP_LIST_LSUB));
	}
}

/* imap_list_subscriptions - LSUB and LIST (SUBSCRIBED): the subscribed names that match. */
static void imap_list_subscriptions(struct imap_folder_job *j, const struct imap_list_tree *t)
{
	char **done = NULL;
	size_t ndone = 0, cap = 0;
	bool parents = (j->opts & (IMAP_LIST_LSUB | IMAP_LIST_SEL_RECURSIVE)) != 0;

	for (size_t i = 0; i < t->subs.count; i++) {
		const char *name = t->subs.names[i];

		if (imap_list_matches(j->data, name) &&
		    (!(j->opts & IMAP_LIST_SEL_SPECIAL) || imap_folder_special_index(name) >= 0))
			imap_list_line(j, t, name, false);
		else if (parents)
			imap_list_ancestors(j, t, name, &done, &ndone, &cap);
	}
	for (size_t i = 0; i < ndone; i++)
		free(done[i]);
	free(done);
}

/* imap_list_work - on a worker: read the folders and subscriptions, list what matches. */
static void imap_list_work(struct imap_folder_job *j)
{
	struct imap_list_tree t = { 0 };
	char *error = NULL;

	snprintf(j->reply, sizeof(j->reply), "OK %s completed", j->opts & IMAP_LIST_LSUB ? "LSUB" : "LIST");
	if (j->opts & IMAP_LIST_EMPTY) {
		evbuffer_add_printf(j->out, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		return;
	}
	imap_list_read(&t, j->home);
	if (imap_subs_read(j->home, &t.subs, &error) < 0)
		free(error); /* listed as not subscribed */
	if (j->opts & (IMAP_LIST_SEL_SUBSCRIBED | IMAP_LIST_LSUB))
		imap_list_subscriptions(j, &t);
	else
		imap_list_folders(j, &t);
	for (size_t i = 0; i < t.n; i++)
		free(t.names[i]);
	for (size_t i = 0; i < t.np; i++)
		free(t.parents[i]);
	free(t.names);
	free(t.parents);
	imap_subs_clear(&t.subs);
}

/* imap_list_pattern - reference + pattern, in UTF-8, INBOX upper-cased; -1 if invalid. */
static int imap_list_pattern(const struct imap_session *s, const char *ref, const struct imap_arg *a,
			     char **out_r)
{
	char joined[IMAP_FOLDER_NAME_MAX], utf8[IMAP_FOLDER_NAME_MAX];
	const char *error;
	size_t len;

	if (!imap_arg_is_astring(a) ||
	    snprintf(joined, sizeof(joined), "%s%s", ref, a->u.str.data) >= (int)sizeof(joined))
		return -1;
	if (!imap_folder_utf8(s) &&
	    imap_mutf7_decode(joined, strlen(joined), utf8, sizeof(utf8), &len, &error) == 0)
		memcpy(joined, utf8, len + 1);
	if (strncasecmp(joined, "INBOX", 5) == 0 && (joined[5] == '\0' || joined[5] == '/'))
		memcpy(joined, "INBOX", 5);
	*out_r = xstrdup(joined);
	return 0;
}

/* imap_list_patterns - one pattern or a parenthesized list of them into a. */
static int imap_list_patterns(const struct imap_session *s, const char *ref,
			      const struct imap_arg *arg, struct imap_list_args *a)
{
	const struct imap_arg *v = arg->type == IMAP_ARG_LIST ? arg->u.list.args : arg;
	size_t n = arg->type == IMAP_ARG_LIST ? arg->u.list.count : 1;

	if (n == 0 || n > IMAP_LIST_PATTERNS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (imap_list_pattern(s, ref, &v[i], &a->patterns[a->npatterns]) < 0)
			return -1;
		a->npatterns++;
	}
	return 0;
}

/* imap_list_option - the bit of one selection (sel) or return option; 0 if unknown. */
static unsigned imap_list_option(const struct imap_arg *o, bool sel)
{
	if (o->type != IMAP_ARG_ATOM)
		return 0;
	if (strcasecmp(o->u.str.data, "SUBSCRIBED") == 0)
		return sel ? IMAP_LIST_SEL_SUBSCRIBED : IMAP_LIST_RET_SUBSCRIBED;
	if (strcasecmp(o->u.str.data, "SPECIAL-USE") == 0)
		return sel ? IMAP_LIST_SEL_SPECIAL : IMAP_LIST_RET_SPECIAL;
	if (strcasecmp(o->u.str.data, "CHILDREN") == 0 && !sel)
		return 0; /* always returned */
	if (strcasecmp(o->u.str.data, "RECURSIVEMATCH") == 0 && sel)
		return IMAP_LIST_SEL_RECURSIVE;
	return ~0u;
}

/* imap_list_options - a selection or return option list; -1 on an unknown option. */
static int imap_list_options(const struct imap_arg *list, bool sel, struct imap_folder_job *j)
{
	struct imap_list_args *a = j->data;

	for (size_t i = 0; i < list->u.list.count; i++) {
		const struct imap_arg *o = &list->u.list.args[i];

		if (!sel && o->type == IMAP_ARG_ATOM && strcasecmp(o->u.str.data, "STATUS") == 0 &&
		    i + 1 < list->u.list.count &&
		    (a->status = imap_folder_status_items(&list->u.list.args[i + 1])) != 0) {
			j->opts |= IMAP_LIST_RET_STATUS;
			i++;
			continue;
		}
		unsigned bit = imap_list_option(o, sel);

		if (bit == ~0u)
			return -1;
		j->opts |= bit;
	}
	return 0;
}

/* imap_list_parse - [(selection)] reference patterns [RETURN (options)]; -1 if malformed. */
static int imap_list_parse(struct imap_session *s, const struct imap_call *c,
			   struct imap_folder_job *j)
{
	const struct imap_arg *a = c->args;
	size_t n = c->count;

	if (n > 0 && a[0].type == IMAP_ARG_LIST && !(j->opts & IMAP_LIST_LSUB)) {
		j->opts |= IMAP_LIST_EXTENDED;
		if (imap_list_options(&a[0], true, j) < 0)
			return -1;
		a++, n--;
	}
	if (n == 4 && a[2].type == IMAP_ARG_ATOM && strcasecmp(a[2].u.str.data, "RETURN") == 0 &&
	    a[3].type == IMAP_ARG_LIST && !(j->opts & IMAP_LIST_LSUB)) {
		j->opts |= IMAP_LIST_EXTENDED;
		if (imap_list_options(&a[3], false, j) < 0)
			return -1;
		n = 2;
	}
	if (n != 2 || !imap_arg_is_astring(&a[0]))
		return -1;
	if (imap_arg_is_string(&a[1]) && a[1].u.str.len == 0 && a == c->args && c->count == 2 &&
	    !(j->opts & IMAP_LIST_LSUB))
		j->opts |= IMAP_LIST_EMPTY;
	return imap_list_patterns(s, a[0].u.str.data, &a[1], j->data);
}

void imap_folder_list(struct imap_session *s, const struct imap_call *c)
{
	struct imap_folder_job *j = imap_folder_job_new(s, imap_list_work);

	j->data = xcalloc(1, sizeof(struct imap_list_args));
	j->free_data = imap_list_args_free;
	if (strcmp(c->name, "LSUB") == 0)
		j->opts |= IMAP_LIST_LSUB;
	if (imap_list_parse(s, c, j) < 0) {
		imap_bad(s, "Invalid %s arguments", c->name);
		imap_folder_job_discard(j);
		return;
	}
	imap_folder_job_run(j);
}

/*
 * aliases_loops - the check posternctl makes before it saves a new alias:
 * no loop, no chain of aliases deeper than resolution follows. A walk from
 * the alias along the edges resolution itself takes (aliases_target_alias),
 * remembering per alias whether it is on the current path (a loop when met
 * again) or done, with the longest chain below it (so a diamond is walked
 * once).
 */
#include "addr/aliases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

enum aliases_color {
	ALIASES_NEW = 0,
	ALIASES_ON_PATH,
	ALIASES_DONE,
};

struct aliases_walk {
	const struct aliases_table *table;
	const struct aliases_resolver *res;
	unsigned char *color;  /* per entry: enum aliases_color */
	unsigned char *height; /* per done entry: the longest chain of aliases from it */
	const struct aliases_entry *path[ALIASES_DEPTH_MAX];
	size_t depth;
	char *error;
};

/* aliases_walk_path - "what: a -> b -> ... -> last" from path[from] on; malloc'd. */
static char *aliases_walk_path(const struct aliases_walk *w, size_t from, const char *what,
			       const char *last)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		fatal("out of memory (open_memstream)");
	fputs(what, f);
	for (size_t i = from; i < w->depth; i++)
		fprintf(f, "%s%s", i > from ? " -> " : ": ", w->path[i]->address);
	fprintf(f, "%s%s", w->depth > from ? " -> " : ": ", last);
	if (fclose(f) != 0)
		fatal("out of memory (open_memstream)");
	return text;
}

/* aliases_walk_loop - the error for meeting e again while on the path. */
static int aliases_walk_loop(struct aliases_walk *w, const struct aliases_entry *e)
{
	size_t from = 0;

	while (from < w->depth && w->path[from] != e)
		from++;
	w->error = aliases_walk_path(w, from, "alias loop", e->address);
	return -1;
}

/* aliases_walk_deep - the error for a chain longer than ALIASES_DEPTH_MAX. */
static int aliases_walk_deep(struct aliases_walk *w, const struct aliases_entry *e)
{
	char what[64];

	snprintf(what, sizeof(what), "aliases nested deeper than %d levels", ALIASES_DEPTH_MAX);
	w->error = aliases_walk_path(w, 0, what, e->address);
	return -1;
}

/* aliases_walk - the longest chain of aliases from e (1: no alias among its targets), or -1. */
static int aliases_walk(struct aliases_walk *w, const struct aliases_entry *e)
{
	size_t i = (size_t)(e - w->table->entries);
	int height = 0;

	if (w->color[i] == ALIASES_ON_PATH)
		return aliases_walk_loop(w, e);
	if (w->color[i] == ALIASES_DONE)
		return w->depth + w->height[i] > ALIASES_DEPTH_MAX ? aliases_walk_deep(w, e)
								    : w->height[i];
	if (w->depth == ALIASES_DEPTH_MAX)
		return aliases_walk_deep(w, e);
	w->color[i] = ALIASES_ON_PATH;
	w->path[w->depth++] = e;
	for (size_t t = 0; t < e->n_targets; t++) {
		const struct aliases_entry *next;
		int h;

		next = aliases_target_alias(w->table, w->res, e->targets[t]);
		h = next != NULL ? aliases_walk(w, next) : 0;
		if (h < 0)
			return -1;
		height = h > height ? h : height;
	}
	w->depth--;
	w->color[i] = ALIASES_DONE;
	w->height[i] = (unsigned char)(height + 1);
	return height + 1;
}

/* aliases_check_loops - walk from address; the first loop or too deep chain is the error. */
int aliases_check_loops(const struct aliases_table *table, const struct aliases_resolver *res,
			const char *address, char **error_r)
{
	const struct aliases_entry *e = aliases_find(table, address);
	struct aliases_walk w = { .table = table, .res = res };
	int ret;

	if (e == NULL)
		return 0;
	w.color = xcalloc(table->n, 1);
	w.height = xcalloc(table->n, 1);
	ret = aliases_walk(&w, e) < 0 ? -1 : 0;
	if (ret < 0)
		*error_r = w.error;
	free(w.color);
	free(w.height);
	return ret;
}

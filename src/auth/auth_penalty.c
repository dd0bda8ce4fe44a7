/* auth_penalty - a small table of addresses and their recent failures. */
#include "auth/auth_penalty.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct auth_penalty_entry {
	char ip[INET6_ADDRSTRLEN];
	unsigned failures; /* 0: slot unused */
	time_t last;
};

struct auth_penalty {
	struct auth_penalty_entry *entries;
	size_t max;
};

struct auth_penalty *auth_penalty_new(size_t max_entries)
{
	struct auth_penalty *p = xcalloc(1, sizeof(*p));

	p->max = max_entries > 0 ? max_entries : 1;
	p->entries = xcalloc(p->max, sizeof(*p->entries));
	return p;
}

void auth_penalty_free(struct auth_penalty **pp)
{
	if (*pp == NULL)
		return;
	free((*pp)->entries);
	free(*pp);
	*pp = NULL;
}

/* auth_penalty_find - the entry of ip, or NULL. */
static struct auth_penalty_entry *auth_penalty_find(struct auth_penalty *p, const char *ip)
{
	for (size_t i = 0; i < p->max; i++) {
		if (p->entries[i].failures > 0 && strcmp(p->entries[i].ip, ip) == 0)
			return &p->entries[i];
	}
	return NULL;
}

/* auth_penalty_slot - a free slot, else the one that failed longest ago. */
static struct auth_penalty_entry *auth_penalty_slot(struct auth_penalty *p)
{
	struct auth_penalty_entry *oldest = &p->entries[0];

	for (size_t i = 0; i < p->max; i++) {
		if (p->entries[i].failures == 0)
			return &p->entries[i];
		if (p->entries[i].last < oldest->last)
			oldest = &p->entries[i];
	}
	return oldest;
}

unsigned auth_penalty_fail(struct auth_penalty *p, const char *ip, time_t now)
{
	struct auth_penalty_entry *e = auth_penalty_find(p, ip);

	if (e != NULL && now - e->last >= AUTH_PENALTY_FORGET)
		e->failures = 0;
	if (e == NULL) {
		e = auth_penalty_slot(p);
		snprintf(e->ip, sizeof(e->ip), "%s", ip);
		e->failures = 0;
	}
	if (e->failures < AUTH_PENALTY_COUNT_MAX)
		e->failures++;
	e->last = now;
	if (e->failures > 4)
		return AUTH_PENALTY_MAX_MS;
	unsigned ms = 1000u << (e->failures - 1);
	return ms < AUTH_PENALTY_MAX_MS ? ms : AUTH_PENALTY_MAX_MS;
}

bool auth_penalty_blocked(struct auth_penalty *p, const char *ip, time_t now,
			  unsigned max_failures, unsigned lockout)
{
	const struct auth_penalty_entry *e = auth_penalty_find(p, ip);

	return e != NULL && e->failures >= max_failures && now - e->last < (time_t)lockout;
}

void auth_penalty_clear(struct auth_penalty *p, const char *ip)
{
	struct auth_penalty_entry *e = auth_penalty_find(p, ip);

	if (e != NULL)
		e->failures = 0;
}

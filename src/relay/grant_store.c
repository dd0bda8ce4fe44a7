/* grant_store - open the configured backend and dispatch to it. */
#include "relay/grant_store.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* relay_store_number - a decimal number of s[0..len) up to max; -1 otherwise. */
static int relay_store_number(const char *s, size_t len, unsigned max, unsigned *v_r)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*v_r = (unsigned)v;
	return 0;
}

/* relay_store_host - copy the host of "HOST[:PORT]" or "[V6][:PORT]"; the rest in *rest_r. */
static int relay_store_host(const char *p, size_t len, char *host, size_t hsize, size_t *used_r)
{
	const char *end;
	size_t hlen;

	if (len > 0 && p[0] == '[') {
		if ((end = memchr(p, ']', len)) == NULL)
			return -1;
		hlen = (size_t)(end - p - 1);
		p++;
		*used_r = hlen + 2;
	} else {
		end = memchr(p, ':', len);
		hlen = end != NULL ? (size_t)(end - p) : len;
		*used_r = hlen;
	}
	if (hlen == 0 || hlen >= hsize)
		return -1;
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	return 0;
}

int relay_store_parse_redis(const char *spec, char *host, size_t hsize, unsigned *port_r,
			    unsigned *db_r)
{
	const char *p, *slash;
	size_t len, used;

	*port_r = 6379;
	*db_r = 0;
	if (strncmp(spec, "redis://", 8) != 0)
		return -1;
	p = spec + 8;
	slash = strchr(p, '/');
	len = slash != NULL ? (size_t)(slash - p) : strlen(p);
	if (relay_store_host(p, len, host, hsize, &used) < 0)
		return -1;
	if (used < len && (p[used] != ':' || relay_store_number(p + used + 1, len - used - 1,
								 65535, port_r) < 0 || *port_r == 0))
		return -1;
	if (slash != NULL && slash[1] != '\0' &&
	    relay_store_number(slash + 1, strlen(slash + 1), 65535, db_r) < 0)
		return -1;
	return 0;
}

struct relay_store *relay_store_open(const char *spec, struct event_base *base, char **error_r)
{
	struct relay_store *s;
	unsigned port, db;
	char host[256];

	if (strncmp(spec, "lmdb:", 5) == 0 && spec[5] != '\0')
		s = relay_lmdb_open(spec + 5, base, error_r);
	else if (relay_store_parse_redis(spec, host, sizeof(host), &port, &db) == 0)
		s = relay_redis_open(host, port, db, base, error_r);
	else {
		*error_r = xasprintf("relay.store: '%s' is not lmdb:PATH or redis://HOST:PORT/DB",
				     spec);
		return NULL;
	}
	if (s != NULL)
		s->spec = xstrdup(spec);
	return s;
}

void relay_store_close(struct relay_store **sp)
{
	struct relay_store *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	free(s->spec);
	s->spec = NULL;
	s->ops->close(s);
}

void relay_store_put(struct relay_store *s, const struct relay_grant *g, relay_store_done_cb *cb,
		     void *arg)
{
	s->ops->put(s, g, cb, arg);
}

void relay_store_get(struct relay_store *s, const char *key, relay_store_get_cb *cb, void *arg)
{
	s->ops->get(s, key, cb, arg);
}

void relay_store_del(struct relay_store *s, const char *key, relay_store_done_cb *cb, void *arg)
{
	s->ops->del(s, key, cb, arg);
}

void relay_store_list(struct relay_store *s, int64_t now, relay_store_list_cb *cb, void *arg)
{
	s->ops->list(s, now, cb, arg);
}

void relay_store_record_use(struct relay_store *s, const char *login, int64_t when,
			    relay_store_done_cb *cb, void *arg)
{
	s->ops->record_use(s, login, when, cb, arg);
}

void relay_store_report(struct relay_store *s, int64_t since, relay_store_report_cb *cb,
			void *arg)
{
	s->ops->report(s, since, cb, arg);
}

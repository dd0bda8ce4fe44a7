/*
 * grant_redis - the grant store in Redis ("redis://HOST:PORT/DB"), shared
 * by every postern host that names the same server.
 *
 * Keys:
 *   postern:grant:KEY  the grant text (grant.h), SET with EX = the time left,
 *                      so Redis itself drops it when it expires
 *   postern:last:KEY   the same text, kept RELAY_GRANT_KEEP longer, so that
 *                      "relay check" can tell when the last grant expired
 *   postern:use:LOGIN  hash: start of hour -> messages relayed on grants
 *                      (EXPIRE RELAY_USE_KEEP after its last use)
 *   postern:uselast    hash: login -> unix time of its last relayed message
 * Writes that touch several keys run as one Lua script (atomic); list and
 * report are scripts too (one round trip). HOST is resolved when the
 * connection opens: give an address or a name in /etc/hosts, since a DNS
 * lookup there would block the loop.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay/grant_redis.h"
#include "util/xalloc.h"

#define RELAY_REDIS_KEY_MAX (RELAY_LOGIN_MAX + 32)

static const char relay_redis_put_lua[] =
	"local old = redis.call('EXISTS', KEYS[1])\n"
	"if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
	"else redis.call('DEL', KEYS[1]) end\n"
	"redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])\n"
	"return old\n";

static const char relay_redis_list_lua[] =
	"local out, cur = {}, '0'\n"
	"repeat\n"
	"  local r = redis.call('SCAN', cur, 'MATCH', ARGV[1], 'COUNT', 1000)\n"
	"  cur = r[1]\n"
	"  for _, k in ipairs(r[2]) do\n"
	"    local v = redis.call('GET', k)\n"
	"    if v then table.insert(out, v) end\n"
	"  end\n"
	"until cur == '0'\n"
	"return out\n";

static const char relay_redis_use_lua[] =
	"redis.call('HINCRBY', KEYS[1], ARGV[1], 1)\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
	"local last = tonumber(redis.call('HGET', KEYS[2], ARGV[4]) or '0')\n"
	"if tonumber(ARGV[2]) > last then redis.call('HSET', KEYS[2], ARGV[4], ARGV[2]) end\n"
	"return 1\n";

static const char relay_redis_report_lua[] =
	"local out, since = {}, tonumber(ARGV[1])\n"
	"local logins = redis.call('HGETALL', KEYS[1])\n"
	"for i = 1, #logins, 2 do\n"
	"  local h = redis.call('HGETALL', 'postern:use:' .. logins[i])\n"
	"  if #h == 0 then redis.call('HDEL', KEYS[1], logins[i]) end\n"
	"  local n = 0\n"
	"  for j = 1, #h, 2 do\n"
	"    if tonumber(h[j]) + 3600 > since then n = n + tonumber(h[j + 1]) end\n"
	"  end\n"
	"  if n > 0 then\n"
	"    table.insert(out, logins[i]); table.insert(out, tostring(n))\n"
	"    table.insert(out, logins[i + 1])\n"
	"  end\n"
	"end\n"
	"return out\n";

_Static_assert(RELAY_USE_BUCKET == 3600, "the report script counts hourly buckets");

/* relay_redis_now - the wall clock in unix seconds. */
static int64_t relay_redis_now(void)
{
	return (int64_t)time(NULL);
}

/* relay_redis_reply_error - the error of a failed operation or error reply, else NULL. */
static const char *relay_redis_reply_error(const redisReply *reply, const char *error, int type,
					   char *buf, size_t size)
{
	if (reply == NULL)
		return error;
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(buf, size, "grant store (redis): %s", reply->str);
		return buf;
	}
	if (reply->type != type) {
		snprintf(buf, size, "grant store (redis): unexpected reply type %d", reply->type);
		return buf;
	}
	return NULL;
}

/* relay_redis_send_args - send a command of up to 10 C-string arguments. */
static void relay_redis_send_args(struct relay_redis_op *op, int argc, const char **argv)
{
	size_t len[10];

	for (int i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	relay_redis_op_send(op, argc, argv, len);
}

/* relay_redis_key - "postern:KIND:name" into buf. */
static const char *relay_redis_key(char *buf, const char *kind, const char *name)
{
	snprintf(buf, RELAY_REDIS_KEY_MAX, "postern:%s:%s", kind, name);
	return buf;
}

/* relay_redis_done_reply - put, del and record_use: an integer reply. */
static void relay_redis_done_reply(struct relay_redis_op *op, const redisReply *reply,
				   const char *error)
{
	char buf[200];
	bool del = op->when == -1; /* del marks itself so: 0 deleted keys is NOT_FOUND */

	error = relay_redis_reply_error(reply, error, REDIS_REPLY_INTEGER, buf, sizeof(buf));
	if (error != NULL)
		op->cb.done(op->arg, RELAY_STORE_ERROR, false, error);
	else if (del && reply->integer == 0)
		op->cb.done(op->arg, RELAY_STORE_NOT_FOUND, false, NULL);
	else
		op->cb.done(op->arg, RELAY_STORE_OK, !del && reply->integer == 1, NULL);
}

/* relay_redis_put - ops->put. */
static void relay_redis_put(struct relay_store *s, const struct relay_grant *g,
			    relay_store_done_cb *cb, void *arg)
{
	struct relay_redis_op *op = relay_redis_op_new((struct relay_redis *)s, relay_redis_done_reply, arg);
	char text[RELAY_GRANT_TEXT_MAX], k1[RELAY_REDIS_KEY_MAX], k2[RELAY_REDIS_KEY_MAX];
	char ttl[24], keep[24];
	int64_t left = g->expires - relay_redis_now();

	op->cb.done = cb;
	if (relay_grant_format(g, text, sizeof(text)) < 0) {
		relay_redis_op_fail(op, "invalid grant");
		return;
	}
	snprintf(ttl, sizeof(ttl), "%" PRId64, left > 0 ? left : 0);
	snprintf(keep, sizeof(keep), "%" PRId64,
		 left + RELAY_GRANT_KEEP > 1 ? left + RELAY_GRANT_KEEP : 1);
	const char *argv[] = { "EVAL", relay_redis_put_lua, "2", relay_redis_key(k1, "grant", g->addr),
			       relay_redis_key(k2, "last", g->addr), text, ttl, keep };
	relay_redis_send_args(op, 8, argv);
}

/* relay_redis_pick - the grant of a GET reply element into *g_r; false when absent or bad. */
static bool relay_redis_pick(const redisReply *e, struct relay_grant *g_r)
{
	const char *error;

	return e->type == REDIS_REPLY_STRING && relay_grant_parse(e->str, e->len, g_r, &error) == 0;
}

/* relay_redis_get_reply - MGET grant last: the grant, else the last one (ended by now). */
static void relay_redis_get_reply(struct relay_redis_op *op, const redisReply *reply,
				  const char *error)
{
	struct relay_grant g;
	char buf[200];
	int64_t now = relay_redis_now();

	error = relay_redis_reply_error(reply, error, REDIS_REPLY_ARRAY, buf, sizeof(buf));
	if (error == NULL && reply->elements != 2)
		error = "grant store (redis): unexpected MGET reply";
	if (error != NULL) {
		op->cb.get(op->arg, RELAY_STORE_ERROR, NULL, error);
		return;
	}
	if (relay_redis_pick(reply->element[0], &g)) {
		op->cb.get(op->arg, RELAY_STORE_OK, &g, NULL);
	} else if (relay_redis_pick(reply->element[1], &g)) {
		if (g.expires > now)
			g.expires = now; /* its grant key is gone: no longer live */
		op->cb.get(op->arg, RELAY_STORE_OK, &g, NULL);
	} else {
		op->cb.get(op->arg, RELAY_STORE_NOT_FOUND, NULL, NULL);
	}
}

/* relay_redis_get - ops->get. */
static void relay_redis_get(struct relay_store *s, const char *key, relay_store_get_cb *cb,
			    void *arg)
{
	struct relay_redis_op *op = relay_redis_op_new((struct relay_redis *)s, relay_redis_get_reply, arg);
	char k1[RELAY_REDIS_KEY_MAX], k2[RELAY_REDIS_KEY_MAX];
	const char *argv[] = { "MGET", relay_redis_key(k1, "grant", key),
			       relay_redis_key(k2, "last", key) };

	op->cb.get = cb;
	relay_redis_send_args(op, 3, argv);
}

/* relay_redis_del - ops->del: both keys of the grant. */
static void relay_redis_del(struct relay_store *s, const char *key, relay_store_done_cb *cb,
			    void *arg)
{
	struct relay_redis_op *op = relay_redis_op_new((struct relay_redis *)s, relay_redis_done_reply, arg);
	char k1[RELAY_REDIS_KEY_MAX], k2[RELAY_REDIS_KEY_MAX];
	const char *argv[] = { "DEL", relay_redis_key(k1, "grant", key),
			       relay_redis_key(k2, "last", key) };

	op->cb.done = cb;
	op->when = -1;
	relay_redis_send_args(op, 3, argv);
}

/* relay_redis_grant_cmp - order grants by address. */
static int relay_redis_grant_cmp(const void *a, const void *b)
{
	return strcmp(((const struct relay_grant *)a)->addr, ((const struct relay_grant *)b)->addr);
}

/* relay_redis_list_reply - the texts of every grant key: keep the live ones, sorted. */
static void relay_redis_list_reply(struct relay_redis_op *op, const redisReply *reply,
				   const char *error)
{
	struct relay_grant *grants;
	char buf[200];
	size_t n = 0;

	error = relay_redis_reply_error(reply, error, REDIS_REPLY_ARRAY, buf, sizeof(buf));
	if (error != NULL) {
		op->cb.list(op->arg, RELAY_STORE_ERROR, NULL, 0, error);
		return;
	}
	grants = xcalloc(reply->elements + 1, sizeof(*grants));
	for (size_t i = 0; i < reply->elements; i++)
		if (relay_redis_pick(reply->element[i], &grants[n]) &&
		    relay_grant_live(&grants[n], op->when))
			n++;
	qsort(grants, n, sizeof(*grants), relay_redis_grant_cmp);
	op->cb.list(op->arg, RELAY_STORE_OK, grants, n, NULL);
	free(grants);
}

/* relay_redis_list - ops->list. */
static void relay_redis_list(struct relay_store *s, int64_t now, relay_store_list_cb *cb,
			     void *arg)
{
	struct relay_redis_op *op = relay_redis_op_new((struct relay_redis *)s, relay_redis_list_reply, arg);
	const char *argv[] = { "EVAL", relay_redis_list_lua, "0", "postern:grant:*" };

	op->cb.list = cb;
	op->when = now;
	relay_redis_send_args(op, 4, argv);
}

/* relay_redis_record_use - ops->record_use. */
static void relay_redis_record_use(struct relay_store *s, const char *login, int64_t when,
				   relay_store_done_cb *cb, void *arg)
{
	struct relay_redis_op *op = relay_redis_op_new((struct relay_redis *)s, relay_redis_done_reply, arg);
	char k1[RELAY_REDIS_KEY_MAX], bucket[24], at[24], keep[24];

	op->cb.done = cb;
	if (!relay_grant_login_ok(login)) {
		relay_redis_op_fail(op, "invalid login");
		return;
	}
	snprintf(bucket, sizeof(bucket), "%" PRId64, when - when % RELAY_USE_BUCKET);
	snprintf(at, sizeof(at), "%" PRId64, when);
	snprintf(keep, sizeof(keep), "%d", RELAY_USE_KEEP);
	const char *argv[] = { "EVAL", relay_redis_use_lua, "2", relay_redis_key(k1, "use", login),
			       "postern:uselast", bucket, at, keep, login };
	relay_redis_send_args(op, 9, argv);
}

/* relay_redis_usage - one report triple (login, count, last) into *u_r; false when bad. */
static bool relay_redis_usage(const redisReply *const *e, struct relay_usage *u_r)
{
	for (int i = 0; i < 3; i++)
		if (e[i]->type != REDIS_REPLY_STRING)
			return false;
	if (e[0]->len == 0 || e[0]->len >= sizeof(u_r->login))
		return false;
	memset(u_r, 0, sizeof(*u_r));
	memcpy(u_r->login, e[0]->str, e[0]->len);
	u_r->count = strtoull(e[1]->str, NULL, 10);
	u_r->last = strtoll(e[2]->str, NULL, 10);
	return true;
}

/* relay_redis_usage_cmp - order usage by login. */
static int relay_redis_usage_cmp(const void *a, const void *b)
{
	return strcmp(((const struct relay_usage *)a)->login, ((const struct relay_usage *)b)->login);
}

/* relay_redis_report_reply - the report script's triples, sorted by login. */
static void relay_redis_report_reply(struct relay_redis_op *op, const redisReply *reply,
				     const char *error)
{
	struct relay_usage *usage;
	char buf[200];
	size_t n = 0;

	error = relay_redis_reply_error(reply, error, REDIS_REPLY_ARRAY, buf, sizeof(buf));
	if (error != NULL) {
		op->cb.report(op->arg, RELAY_STORE_ERROR, NULL, 0, error);
		return;
	}
	usage = xcalloc(reply->elements / 3 + 1, sizeof(*usage));
	for (size_t i = 0; i + 3 <= reply->elements; i += 3)
		if (relay_redis_usage((const redisReply *const *)reply->element + i, &usage[n]))
			n++;
	qsort(usage, n, sizeof(*usage), relay_redis_usage_cmp);
	op->cb.report(op->arg, RELAY_STORE_OK, usage, n, NULL);
	free(usage);
}

/* relay_redis_report - ops->report. */
static void relay_redis_report(struct relay_store *s, int64_t since, relay_store_report_cb *cb,
			       void *arg)
{
	struct relay_redis_op *op = relay_redis_op_new((struct relay_redis *)s, relay_redis_report_reply, arg);
	char from[24];

	snprintf(from, sizeof(from), "%" PRId64, since);
	const char *argv[] = { "EVAL", relay_redis_report_lua, "1", "postern:uselast", from };

	op->cb.report = cb;
	relay_redis_send_args(op, 5, argv);
}

/* relay_redis_close - ops->close. */
static void relay_redis_close(struct relay_store *s)
{
	relay_redis_free((struct relay_redis *)s);
}

static const struct relay_store_ops relay_redis_ops = {
	.name = "redis",
	.put = relay_redis_put,
	.get = relay_redis_get,
	.del = relay_redis_del,
	.list = relay_redis_list,
	.record_use = relay_redis_record_use,
	.report = relay_redis_report,
	.close = relay_redis_close,
};

struct relay_store *relay_redis_open(const char *host, unsigned port, unsigned db,
				     struct event_base *base, char **error_r)
{
	struct relay_redis *r = relay_redis_new(host, port, db, base);
	struct relay_store *s = relay_redis_store(r);

	(void)error_r;
	s->ops = &relay_redis_ops;
	return s;
}

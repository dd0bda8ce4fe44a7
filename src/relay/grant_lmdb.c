/*
 * grant_lmdb - the grant store in an LMDB file ("lmdb:PATH"): PATH is a
 * file (MDB_NOSUBDIR, with PATH-lock beside it) unless it is an existing
 * directory. LMDB is multi-process safe, so the daemon and every
 * posternctl see one set of grants at once; commits are durable (default
 * sync) and crash-safe (copy-on-write B-tree, stale reader slots of dead
 * processes are cleared on open).
 *
 * Threads: the loop never touches the map. Writes run on one writer
 * thread (LMDB has one writer at a time anyway; a single thread keeps
 * writes in submission order), reads on one reader thread, so that a read
 * never waits behind a write's fsync, and a page fault of the memory map
 * (which can wait for the disk) never stalls the event loop. Each thread
 * begins and ends its transaction within one job.
 *
 * Group commit: writes (put, del, record_use) queue on db->pending; the
 * writer takes every write queued by then, applies them in order in ONE
 * transaction and commits it once (one fsync), and only then do their
 * callbacks run, in submission order: a grant is durable before its put
 * reports RELAY_STORE_OK. Writes that arrive during a commit form the next
 * batch. When the transaction fails (an LMDB error in any write, or the
 * commit), every write of the batch fails with that error.
 *
 * Databases: "grants" (key -> relay_grant_format text) and "uses"
 * ("BUCKET LOGIN" -> "COUNT LAST", BUCKET the start of the hour). Records
 * older than RELAY_GRANT_KEEP / RELAY_USE_KEEP are purged by the writer at
 * most once a minute, inside a write transaction it runs anyway.
 */
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "relay/grant_store.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define RELAY_LMDB_MAP_SIZE ((size_t)64 << 20)
#define RELAY_LMDB_PURGE_EVERY 60

struct relay_lmdb_job;

/* Writes waiting for the writer: a FIFO, under lock (loop and writer thread). */
struct relay_lmdb_queue {
	pthread_mutex_t lock;
	struct relay_lmdb_job *head, *tail;
	bool kicked; /* a batch job is queued on the writer and has not taken the list yet */
};

struct relay_lmdb {
	struct relay_store pub; /* first: the handle callers see */
	MDB_env *env;
	MDB_dbi grants, uses;
	struct workq *writer, *reader;
	struct relay_lmdb_queue pending;
	int64_t last_purge; /* writer thread only */
};

enum relay_lmdb_kind { RELAY_LMDB_PUT, RELAY_LMDB_GET, RELAY_LMDB_DEL, RELAY_LMDB_LIST,
		       RELAY_LMDB_USE, RELAY_LMDB_REPORT };

/* One operation, filled by the worker, completed on the loop. */
struct relay_lmdb_job {
	struct relay_lmdb *db;
	enum relay_lmdb_kind kind;
	struct relay_grant grant; /* put: in; get: out */
	char key[RELAY_LOGIN_MAX]; /* get, del: key; use: login */
	int64_t when;              /* list: now; use: when; report: since */
	enum relay_store_status st;
	bool renewed;
	char error[160];
	void *items; /* list, report: malloc'd result */
	size_t n, cap;
	union {
		relay_store_done_cb *done;
		relay_store_get_cb *get;
		relay_store_list_cb *list;
		relay_store_report_cb *report;
	} cb;
	void *arg;
	struct relay_lmdb_job *next; /* writes: the pending queue, then the batch */
};

/* One group commit: the writes it took from the queue, in submission order. */
struct relay_lmdb_batch {
	struct relay_lmdb *db;
	struct relay_lmdb_job *jobs;
};

/* relay_lmdb_fail - record an LMDB error rc on the job. */
static void relay_lmdb_fail(struct relay_lmdb_job *j, const char *what, int rc)
{
	j->st = RELAY_STORE_ERROR;
	snprintf(j->error, sizeof(j->error), "grant store: %s: %s", what,
		 rc == MDB_MAP_FULL ? "the grant store is full" : mdb_strerror(rc));
}

/* relay_lmdb_val - an MDB_val over a C string. */
static MDB_val relay_lmdb_val(const char *s)
{
	MDB_val v = { .mv_size = strlen(s), .mv_data = (void *)(uintptr_t)s };
	return v;
}

/* relay_lmdb_now - the wall clock in unix seconds. */
static int64_t relay_lmdb_now(void)
{
	return (int64_t)time(NULL);
}

/* relay_lmdb_push - append one item of size bytes to j->items. */
static void relay_lmdb_push(struct relay_lmdb_job *j, const void *item, size_t size)
{
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 16;
		j->items = xrealloc(j->items, j->cap * size);
	}
	memcpy((char *)j->items + j->n * size, item, size);
	j->n++;
}

/* relay_lmdb_get_grant - the grant under key in txn: 1 found, 0 none or unreadable, -1 error. */
static int relay_lmdb_get_grant(struct relay_lmdb *db, MDB_txn *txn, const char *key,
				struct relay_grant *g_r, int *rc_r)
{
	MDB_val k = relay_lmdb_val(key), v;
	const char *error;

	*rc_r = mdb_get(txn, db->grants, &k, &v);
	if (*rc_r == MDB_NOTFOUND)
		return 0;
	if (*rc_r != 0)
		return -1;
	return relay_grant_parse(v.mv_data, v.mv_size, g_r, &error) == 0 ? 1 : 0;
}

/* relay_lmdb_purge_db - delete records of dbi for which old(key, value, now) says so. */
static int relay_lmdb_purge_db(MDB_txn *txn, MDB_dbi dbi, int64_t now,
			       bool (*old)(const MDB_val *k, const MDB_val *v, int64_t now))
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (old(&k, &v, now) && (rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* relay_lmdb_grant_old - a grant expired over RELAY_GRANT_KEEP ago, or unreadable. */
static bool relay_lmdb_grant_old(const MDB_val *k, const MDB_val *v, int64_t now)
{
	struct relay_grant g;
	const char *error;

	(void)k;
	return relay_grant_parse(v->mv_data, v->mv_size, &g, &error) < 0 ||
	       g.expires + RELAY_GRANT_KEEP < now;
}

/* relay_lmdb_use_old - a usage bucket older than RELAY_USE_KEEP. */
static bool relay_lmdb_use_old(const MDB_val *k, const MDB_val *v, int64_t now)
{
	(void)v;
	return strtoll(k->mv_data, NULL, 10) + RELAY_USE_KEEP < now;
}

/* relay_lmdb_maybe_purge - purge old records in txn, at most once a minute. */
static int relay_lmdb_maybe_purge(struct relay_lmdb *db, MDB_txn *txn)
{
	int64_t now = relay_lmdb_now();
	int rc;

	if (now - db->last_purge < RELAY_LMDB_PURGE_EVERY)
		return 0;
	db->last_purge = now;
	if ((rc = relay_lmdb_purge_db(txn, db->grants, now, relay_lmdb_grant_old)) != 0)
		return rc;
	return relay_lmdb_purge_db(txn, db->uses, now, relay_lmdb_use_old);
}

/* relay_lmdb_put_apply - writer: replace the grant in txn, noting whether a live one was there. */
static int relay_lmdb_put_apply(struct relay_lmdb_job *j, MDB_txn *txn)
{
	char text[RELAY_GRANT_TEXT_MAX];
	struct relay_grant old;
	MDB_val k = relay_lmdb_val(j->grant.addr), v;
	int rc;

	if (relay_grant_format(&j->grant, text, sizeof(text)) < 0) {
		j->st = RELAY_STORE_ERROR; /* this write only: the transaction is untouched */
		snprintf(j->error, sizeof(j->error), "invalid grant");
		return 0;
	}
	if (relay_lmdb_get_grant(j->db, txn, j->grant.addr, &old, &rc) > 0)
		j->renewed = relay_grant_live(&old, relay_lmdb_now());
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	v = relay_lmdb_val(text);
	return mdb_put(txn, j->db->grants, &k, &v, 0);
}

/* relay_lmdb_del_apply - writer: remove the grant under the key in txn. */
static int relay_lmdb_del_apply(struct relay_lmdb_job *j, MDB_txn *txn)
{
	MDB_val k = relay_lmdb_val(j->key);
	int rc = mdb_del(txn, j->db->grants, &k, NULL);

	if (rc != MDB_NOTFOUND)
		return rc;
	j->st = RELAY_STORE_NOT_FOUND;
	return 0;
}

/* relay_lmdb_use_key - "BUCKET LOGIN" for a use at when. */
static void relay_lmdb_use_key(const char *login, int64_t when, char *buf, size_t size)
{
	snprintf(buf, size, "%" PRId64 " %s", when - when % RELAY_USE_BUCKET, login);
}

/* relay_lmdb_use_value - parse "COUNT LAST"; -1 when malformed. */
static int relay_lmdb_use_value(const MDB_val *v, uint64_t *count_r, int64_t *last_r)
{
	char buf[64];

	if (v->mv_size >= sizeof(buf))
		return -1;
	memcpy(buf, v->mv_data, v->mv_size);
	buf[v->mv_size] = '\0';
	return sscanf(buf, "%" SCNu64 " %" SCNd64, count_r, last_r) == 2 ? 0 : -1;
}

/* relay_lmdb_use_apply - writer: add one to the login's bucket of the hour in txn. */
static int relay_lmdb_use_apply(struct relay_lmdb_job *j, MDB_txn *txn)
{
	char kbuf[RELAY_LOGIN_MAX + 24], vbuf[64];
	uint64_t count = 0;
	int64_t last = 0;
	MDB_val k, v;
	int rc;

	relay_lmdb_use_key(j->key, j->when, kbuf, sizeof(kbuf));
	k = relay_lmdb_val(kbuf);
	rc = mdb_get(txn, j->db->uses, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (rc == 0 && relay_lmdb_use_value(&v, &count, &last) < 0) {
		count = 0;
		last = 0;
	}
	snprintf(vbuf, sizeof(vbuf), "%" PRIu64 " %" PRId64, count + 1,
		 j->when > last ? j->when : last);
	v = relay_lmdb_val(vbuf);
	return mdb_put(txn, j->db->uses, &k, &v, 0);
}

/* relay_lmdb_apply - writer: one write of a batch in txn; an LMDB error dooms the transaction. */
static int relay_lmdb_apply(struct relay_lmdb_job *j, MDB_txn *txn)
{
	if (j->st == RELAY_STORE_ERROR)
		return 0; /* refused before it was queued */
	switch (j->kind) {
	case RELAY_LMDB_PUT: return relay_lmdb_put_apply(j, txn);
	case RELAY_LMDB_DEL: return relay_lmdb_del_apply(j, txn);
	case RELAY_LMDB_USE: return relay_lmdb_use_apply(j, txn);
	default: return 0; /* reads never come here */
	}
}

/* relay_lmdb_fail_all - the batch's transaction failed: every write in it gets the error. */
static void relay_lmdb_fail_all(struct relay_lmdb_job *jobs, const char *what, int rc)
{
	for (struct relay_lmdb_job *j = jobs; j != NULL; j = j->next) {
		j->renewed = false;
		if (j->st != RELAY_STORE_ERROR) /* a refused write keeps its own reason */
			relay_lmdb_fail(j, what, rc);
	}
}

/* relay_lmdb_batch_take - writer: take every queued write; the next one kicks a new batch. */
static struct relay_lmdb_job *relay_lmdb_batch_take(struct relay_lmdb *db)
{
	struct relay_lmdb_job *jobs;

	pthread_mutex_lock(&db->pending.lock);
	jobs = db->pending.head;
	db->pending.head = db->pending.tail = NULL;
	db->pending.kicked = false;
	pthread_mutex_unlock(&db->pending.lock);
	return jobs;
}

/* relay_lmdb_batch_work - writer: the queued writes in one transaction, one durable commit. */
static void relay_lmdb_batch_work(void *arg)
{
	struct relay_lmdb_batch *b = arg;
	const char *what = "write";
	MDB_txn *txn;
	int rc;

	b->jobs = relay_lmdb_batch_take(b->db);
	if (b->jobs == NULL)
		return;
	if ((rc = mdb_txn_begin(b->db->env, NULL, 0, &txn)) != 0) {
		relay_lmdb_fail_all(b->jobs, "begin", rc);
		return;
	}
	for (struct relay_lmdb_job *j = b->jobs; j != NULL && rc == 0; j = j->next)
		rc = relay_lmdb_apply(j, txn);
	if (rc == 0)
		rc = relay_lmdb_maybe_purge(b->db, txn);
	if (rc != 0)
		mdb_txn_abort(txn);
	else if ((rc = mdb_txn_commit(txn)) != 0)
		what = "commit";
	if (rc != 0)
		relay_lmdb_fail_all(b->jobs, what, rc);
}

/* relay_lmdb_get_work - reader: the grant under the key, unless long expired. */
static void relay_lmdb_get_work(struct relay_lmdb_job *j)
{
	MDB_txn *txn;
	int rc, found;

	if ((rc = mdb_txn_begin(j->db->env, NULL, MDB_RDONLY, &txn)) != 0) {
		relay_lmdb_fail(j, "begin", rc);
		return;
	}
	found = relay_lmdb_get_grant(j->db, txn, j->key, &j->grant, &rc);
	mdb_txn_abort(txn);
	if (found < 0)
		relay_lmdb_fail(j, "get", rc);
	else if (found == 0 || j->grant.expires + RELAY_GRANT_KEEP < relay_lmdb_now())
		j->st = RELAY_STORE_NOT_FOUND;
}

/* relay_lmdb_scan - reader: call each(j, k, v) on every record of dbi. */
static void relay_lmdb_scan(struct relay_lmdb_job *j, MDB_dbi dbi,
			    void (*each)(struct relay_lmdb_job *j, const MDB_val *k,
					 const MDB_val *v))
{
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_txn_begin(j->db->env, NULL, MDB_RDONLY, &txn)) != 0) {
		relay_lmdb_fail(j, "begin", rc);
		return;
	}
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
			each(j, &k, &v);
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND)
		relay_lmdb_fail(j, "scan", rc);
}

/* relay_lmdb_list_each - keep a live grant. */
static void relay_lmdb_list_each(struct relay_lmdb_job *j, const MDB_val *k, const MDB_val *v)
{
	struct relay_grant g;
	const char *error;

	(void)k;
	if (relay_grant_parse(v->mv_data, v->mv_size, &g, &error) == 0 &&
	    relay_grant_live(&g, j->when))
		relay_lmdb_push(j, &g, sizeof(g));
}

/* relay_lmdb_report_each - keep a usage bucket at or after the hour of "since". */
static void relay_lmdb_report_each(struct relay_lmdb_job *j, const MDB_val *k, const MDB_val *v)
{
	struct relay_usage u = { 0 };
	const char *sp = memchr(k->mv_data, ' ', k->mv_size);
	size_t llen;

	if (sp == NULL || strtoll(k->mv_data, NULL, 10) + RELAY_USE_BUCKET <= j->when ||
	    relay_lmdb_use_value(v, &u.count, &u.last) < 0)
		return;
	llen = k->mv_size - (size_t)(sp + 1 - (const char *)k->mv_data);
	if (llen == 0 || llen >= sizeof(u.login))
		return;
	memcpy(u.login, sp + 1, llen);
	relay_lmdb_push(j, &u, sizeof(u));
}

/* relay_lmdb_usage_cmp - order usage entries by login. */
static int relay_lmdb_usage_cmp(const void *a, const void *b)
{
	return strcmp(((const struct relay_usage *)a)->login,
		      ((const struct relay_usage *)b)->login);
}

/* relay_lmdb_merge - sort buckets by login and add up those of one login. */
static void relay_lmdb_merge(struct relay_lmdb_job *j)
{
	struct relay_usage *u = j->items;
	size_t out = 0;

	if (j->n == 0)
		return;
	qsort(u, j->n, sizeof(*u), relay_lmdb_usage_cmp);
	for (size_t i = 1; i < j->n; i++) {
		if (strcmp(u[i].login, u[out].login) != 0) {
			u[++out] = u[i];
			continue;
		}
		u[out].count += u[i].count;
		if (u[i].last > u[out].last)
			u[out].last = u[i].last;
	}
	j->n = out + 1;
}

/* relay_lmdb_work - the reader runs a read job. */
static void relay_lmdb_work(void *arg)
{
	struct relay_lmdb_job *j = arg;

	if (j->st == RELAY_STORE_ERROR)
		return; /* refused before it was queued */
	switch (j->kind) {
	case RELAY_LMDB_PUT:
	case RELAY_LMDB_DEL:
	case RELAY_LMDB_USE: break; /* writes run in batches: relay_lmdb_batch_work */
	case RELAY_LMDB_GET: relay_lmdb_get_work(j); break;
	case RELAY_LMDB_LIST: relay_lmdb_scan(j, j->db->grants, relay_lmdb_list_each); break;
	case RELAY_LMDB_REPORT:
		relay_lmdb_scan(j, j->db->uses, relay_lmdb_report_each);
		relay_lmdb_merge(j);
		break;
	}
}

/* relay_lmdb_done - on the loop: hand the result to the caller and free the job. */
static void relay_lmdb_done(void *arg)
{
	struct relay_lmdb_job *j = arg;
	const char *error = j->st == RELAY_STORE_ERROR ? j->error : NULL;
	bool ok = j->st == RELAY_STORE_OK;

	switch (j->kind) {
	case RELAY_LMDB_PUT:
	case RELAY_LMDB_DEL:
	case RELAY_LMDB_USE: j->cb.done(j->arg, j->st, j->renewed, error); break;
	case RELAY_LMDB_GET: j->cb.get(j->arg, j->st, ok ? &j->grant : NULL, error); break;
	case RELAY_LMDB_LIST: j->cb.list(j->arg, j->st, ok ? j->items : NULL, ok ? j->n : 0, error); break;
	case RELAY_LMDB_REPORT:
		j->cb.report(j->arg, j->st, ok ? j->items : NULL, ok ? j->n : 0, error);
		break;
	}
	free(j->items);
	free(j);
}

/* relay_lmdb_batch_done - on the loop: the batch is committed (or failed): every callback, in order. */
static void relay_lmdb_batch_done(void *arg)
{
	struct relay_lmdb_batch *b = arg;
	struct relay_lmdb_job *j = b->jobs;

	free(b);
	while (j != NULL) {
		struct relay_lmdb_job *next = j->next;
		relay_lmdb_done(j);
		j = next;
	}
}

/* relay_lmdb_job_new - a new job of kind for s, completing to arg. */
static struct relay_lmdb_job *relay_lmdb_job_new(struct relay_store *s, enum relay_lmdb_kind kind,
						 void *arg)
{
	struct relay_lmdb_job *j = xcalloc(1, sizeof(*j));

	j->db = (struct relay_lmdb *)s;
	j->kind = kind;
	j->arg = arg;
	j->st = RELAY_STORE_OK;
	return j;
}

/* relay_lmdb_submit_write - queue a write for the next batch; kick one unless already kicked. */
static void relay_lmdb_submit_write(struct relay_lmdb_job *j)
{
	struct relay_lmdb *db = j->db;
	struct relay_lmdb_batch *b = NULL;

	j->next = NULL;
	pthread_mutex_lock(&db->pending.lock);
	if (db->pending.tail != NULL)
		db->pending.tail->next = j;
	else
		db->pending.head = j;
	db->pending.tail = j;
	if (!db->pending.kicked) {
		db->pending.kicked = true;
		b = xcalloc(1, sizeof(*b));
		b->db = db;
	}
	pthread_mutex_unlock(&db->pending.lock);
	if (b != NULL)
		workq_submit(db->writer, relay_lmdb_batch_work, relay_lmdb_batch_done, b);
}

/* relay_lmdb_submit - queue j on the writer (writes, batched) or the reader. */
static void relay_lmdb_submit(struct relay_lmdb_job *j, bool write)
{
	if (write)
		relay_lmdb_submit_write(j);
	else
		workq_submit(j->db->reader, relay_lmdb_work, relay_lmdb_done, j);
}

/* relay_lmdb_set_key - copy key into the job; a bad key makes the job complete with an error. */
static void relay_lmdb_set_key(struct relay_lmdb_job *j, const char *key)
{
	if (snprintf(j->key, sizeof(j->key), "%s", key) >= (int)sizeof(j->key) || key[0] == '\0') {
		j->st = RELAY_STORE_ERROR;
		snprintf(j->error, sizeof(j->error), "invalid key");
	}
}

/* relay_lmdb_put - ops->put. */
static void relay_lmdb_put(struct relay_store *s, const struct relay_grant *g,
			   relay_store_done_cb *cb, void *arg)
{
	struct relay_lmdb_job *j = relay_lmdb_job_new(s, RELAY_LMDB_PUT, arg);

	j->grant = *g;
	j->cb.done = cb;
	relay_lmdb_submit(j, true);
}

/* relay_lmdb_get - ops->get. */
static void relay_lmdb_get(struct relay_store *s, const char *key, relay_store_get_cb *cb,
			   void *arg)
{
	struct relay_lmdb_job *j = relay_lmdb_job_new(s, RELAY_LMDB_GET, arg);

	relay_lmdb_set_key(j, key);
	j->cb.get = cb;
	relay_lmdb_submit(j, false);
}

/* relay_lmdb_del - ops->del. */
static void relay_lmdb_del(struct relay_store *s, const char *key, relay_store_done_cb *cb,
			   void *arg)
{
	struct relay_lmdb_job *j = relay_lmdb_job_new(s, RELAY_LMDB_DEL, arg);

	relay_lmdb_set_key(j, key);
	j->cb.done = cb;
	relay_lmdb_submit(j, true);
}

/* relay_lmdb_list - ops->list. */
static void relay_lmdb_list(struct relay_store *s, int64_t now, relay_store_list_cb *cb,
			    void *arg)
{
	struct relay_lmdb_job *j = relay_lmdb_job_new(s, RELAY_LMDB_LIST, arg);

	j->when = now;
	j->cb.list = cb;
	relay_lmdb_submit(j, false);
}

/* relay_lmdb_record_use - ops->record_use. */
static void relay_lmdb_record_use(struct relay_store *s, const char *login, int64_t when,
				  relay_store_done_cb *cb, void *arg)
{
	struct relay_lmdb_job *j = relay_lmdb_job_new(s, RELAY_LMDB_USE, arg);

	relay_lmdb_set_key(j, login);
	if (!relay_grant_login_ok(login)) {
		j->st = RELAY_STORE_ERROR;
		snprintf(j->error, sizeof(j->error), "invalid login");
	}
	j->when = when;
	j->cb.done = cb;
	relay_lmdb_submit(j, true);
}

/* relay_lmdb_report - ops->report. */
static void relay_lmdb_report(struct relay_store *s, int64_t since, relay_store_report_cb *cb,
			      void *arg)
{
	struct relay_lmdb_job *j = relay_lmdb_job_new(s, RELAY_LMDB_REPORT, arg);

	j->when = since;
	j->cb.report = cb;
	relay_lmdb_submit(j, false);
}

/* relay_lmdb_close - ops->close: finish queued jobs (their callbacks run), close the map. */
static void relay_lmdb_close(struct relay_store *s)
{
	struct relay_lmdb *db = (struct relay_lmdb *)s;

	workq_free(&db->writer); /* every queued write has a batch job queued */
	workq_free(&db->reader);
	if (db->env != NULL)
		mdb_env_close(db->env);
	pthread_mutex_destroy(&db->pending.lock);
	free(db);
}

static const struct relay_store_ops relay_lmdb_ops = {
	.name = "lmdb",
	.put = relay_lmdb_put,
	.get = relay_lmdb_get,
	.del = relay_lmdb_del,
	.list = relay_lmdb_list,
	.record_use = relay_lmdb_record_use,
	.report = relay_lmdb_report,
	.close = relay_lmdb_close,
};

/* relay_lmdb_mkparent - create the directory holding path when it is missing (one level). */
static void relay_lmdb_mkparent(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0750); /* on failure mdb_env_open reports the real problem */
	}
	free(dir);
}

/* relay_lmdb_open_env - create, size and open the environment and its two databases. */
static int relay_lmdb_open_env(struct relay_lmdb *db, const char *path, const char **what_r)
{
	struct stat st;
	unsigned flags = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : MDB_NOSUBDIR;
	MDB_txn *txn;
	int rc, dead;

	*what_r = "open";
	if ((rc = mdb_env_create(&db->env)) != 0 || (rc = mdb_env_set_maxdbs(db->env, 2)) != 0 ||
	    (rc = mdb_env_set_mapsize(db->env, RELAY_LMDB_MAP_SIZE)) != 0)
		return rc;
	if (flags != 0)
		relay_lmdb_mkparent(path);
	if ((rc = mdb_env_open(db->env, path, flags, 0660)) != 0)
		return rc;
	mdb_reader_check(db->env, &dead);
	*what_r = "create databases";
	if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		return rc;
	if ((rc = mdb_dbi_open(txn, "grants", MDB_CREATE, &db->grants)) != 0 ||
	    (rc = mdb_dbi_open(txn, "uses", MDB_CREATE, &db->uses)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

struct relay_store *relay_lmdb_open(const char *path, struct event_base *base, char **error_r)
{
	struct relay_lmdb *db = xcalloc(1, sizeof(*db));
	const char *what;
	int rc;

	if ((rc = relay_lmdb_open_env(db, path, &what)) != 0) {
		*error_r = xasprintf("relay.store lmdb:%s: %s: %s", path, what, mdb_strerror(rc));
		if (db->env != NULL)
			mdb_env_close(db->env);
		free(db);
		return NULL;
	}
	db->pub.ops = &relay_lmdb_ops;
	db->pub.base = base;
	pthread_mutex_init(&db->pending.lock, NULL);
	db->writer = workq_new(base, 1, "grant-write");
	db->reader = workq_new(base, 1, "grant-read");
	return &db->pub;
}

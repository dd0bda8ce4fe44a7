/* mailauth_sign - DKIM signing off the loop. */
#include "mailauth/mailauth_sign.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dkim/dkim.h"
#include "dkim/dkim_keys.h"
#include "mailauth/mailauth_stream.h"
#include "smtp/smtp_headers.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define MAILAUTH_SIGN_KEYS 4 /* keys per domain used at most */

struct mailauth_sign_job {
	const struct dkim_keys *keys;
	char *head; /* the header section (owned) */
	size_t head_len;
	uint8_t bh[DKIM_MAX_DIGEST];
	size_t bh_len;
	char id[32]; /* the queue id, for logs */
	time_t now;
	char *fields; /* the result */
	void (*done_cb)(void *arg, char *fields);
	void *arg;
};

void mailauth_sign_prepare(struct mailauth_stream *st)
{
	mailauth_stream_add_body(st, dkim_body_new(DKIM_CANON_RELAXED, DKIM_ALG_RSA_SHA256, -1));
}

/* mailauth_sign_append - add one field to the result. */
static void mailauth_sign_append(char **fields, const char *field)
{
	char *joined = xasprintf("%s%s", *fields != NULL ? *fields : "", field);

	free(*fields);
	*fields = joined;
}

/* mailauth_sign_from - the domain of the first From: address into out; false when there is none. */
static bool mailauth_sign_from(const struct dkim_headers *h, char out[SMTP_FROM_ADDR_MAX])
{
	char addrs[1][SMTP_FROM_ADDR_MAX];

	for (size_t i = 0; i < h->n; i++) {
		size_t len;
		const char *value = dkim_field_value(&h->fields[i], &len), *at;
		if (!dkim_field_is(&h->fields[i], "From"))
			continue;
		if (smtp_headers_from_addresses(value, len, addrs, 1) < 1 ||
		    (at = strrchr(addrs[0], '@')) == NULL)
			return false;
		snprintf(out, SMTP_FROM_ADDR_MAX, "%s", at + 1);
		return true;
	}
	return false;
}

/*
 * mailauth_sign_keys - the keys of domain, or else of its nearest parent
 * that has some (d= then still aligns with From: under relaxed DMARC).
 */
static size_t mailauth_sign_keys(const struct dkim_keys *keys, const char *domain,
				 const struct dkim_keys_entry **out)
{
	size_t n;

	for (; strchr(domain, '.') != NULL; domain = strchr(domain, '.') + 1) {
		if ((n = dkim_keys_find(keys, domain, out, MAILAUTH_SIGN_KEYS)) > 0)
			return n < MAILAUTH_SIGN_KEYS ? n : MAILAUTH_SIGN_KEYS;
	}
	return 0;
}

/* mailauth_sign_work - on a worker: one signature per key of the From: domain. */
static void mailauth_sign_work(void *arg)
{
	struct mailauth_sign_job *j = arg;
	const struct dkim_keys_entry *keys[MAILAUTH_SIGN_KEYS];
	char domain[SMTP_FROM_ADDR_MAX];
	struct dkim_headers h;
	const char *error = NULL;
	size_t n;

	if (dkim_headers_parse(j->head, j->head_len, &h, &error) < 0) {
		log_warn("dkim id=%s not signed: %s", j->id, error);
		return;
	}
	n = mailauth_sign_from(&h, domain) ? mailauth_sign_keys(j->keys, domain, keys) : 0;
	for (size_t i = 0; i < n; i++) {
		char *field = dkim_sign(&h, j->bh, j->bh_len, keys[i]->pkey, keys[i]->domain,
					keys[i]->selector, j->now, &error);
		if (field == NULL) {
			log_warn("dkim id=%s not signed with %s._domainkey.%s: %s", j->id,
				 keys[i]->selector, keys[i]->domain, error);
			continue;
		}
		mailauth_sign_append(&j->fields, field);
		free(field);
	}
	dkim_headers_clear(&h);
}

/* mailauth_sign_done_cb - on the loop: hand the fields over. */
static void mailauth_sign_done_cb(void *arg)
{
	struct mailauth_sign_job *j = arg;

	j->done_cb(j->arg, j->fields);
	free(j->head);
	free(j);
}

/* mailauth_sign_job_new - a job for st's text, or NULL when there is nothing to sign with. */
static struct mailauth_sign_job *mailauth_sign_job_new(const struct dkim_keys *keys,
							struct mailauth_stream *st, const char *id)
{
	struct mailauth_sign_job *j;

	if (keys == NULL || dkim_keys_count(keys) == 0 || st->head_over || st->n_bodies == 0)
		return NULL;
	j = xcalloc(1, sizeof(*j));
	j->keys = keys;
	j->bh_len = dkim_body_final(st->bodies[0], j->bh);
	j->head = st->head;
	j->head_len = st->head_len;
	st->head = NULL;
	st->head_len = st->head_cap = 0;
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->now = time(NULL);
	return j;
}

void mailauth_sign_start(struct workq *q, const struct dkim_keys *keys, struct mailauth_stream *st,
			 const char *id, void (*done_cb)(void *arg, char *fields), void *arg)
{
	struct mailauth_sign_job *j = mailauth_sign_job_new(keys, st, id);

	if (j == NULL) {
		done_cb(arg, NULL);
		return;
	}
	j->done_cb = done_cb;
	j->arg = arg;
	workq_submit(q, mailauth_sign_work, mailauth_sign_done_cb, j);
}

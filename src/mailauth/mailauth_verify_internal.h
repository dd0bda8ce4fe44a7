/*
 * mailauth_verify_internal - the check's state, shared by the SPF and
 * verdict side (mailauth_verify.c) and the header side: DKIM keys and the
 * DMARC record (mailauth_verify_head.c).
 */
#ifndef POSTERN_MAILAUTH_VERIFY_INTERNAL_H
#define POSTERN_MAILAUTH_VERIFY_INTERNAL_H

#include "dkim/dkim.h"
#include "dmarc/dmarc.h"
#include "mailauth/mailauth_stream.h"
#include "mailauth/mailauth_verify.h"
#include "spf/spf.h"

struct dns_lookup;
struct event;

enum mailauth_key_state { MAILAUTH_KEY_PENDING, MAILAUTH_KEY_TEMP, MAILAUTH_KEY_NONE, MAILAUTH_KEY_OK };

/* One DKIM-Signature field being checked. */
struct mailauth_sig {
	struct mailauth_verify *v;
	size_t field; /* in v->headers */
	struct dkim_sig sig;
	bool parsed;
	struct dkim_body *body; /* owned by v->stream */
	struct dns_lookup *lookup;
	enum mailauth_key_state key_state;
	struct dkim_key key;
	enum dkim_result result;
	const char *reason;
	char b8[9];
};

enum mailauth_dmarc_state {
	MAILAUTH_DMARC_NONE,    /* no record, or no single From domain */
	MAILAUTH_DMARC_PENDING,
	MAILAUTH_DMARC_FOUND,
	MAILAUTH_DMARC_TEMP,
	MAILAUTH_DMARC_BADFROM, /* From: missing an address or with several: permerror */
};

struct mailauth_verify {
	const struct mailauth_env *env;
	char *helo, *mail_from;
	/* SPF */
	struct spf_eval *spf;
	struct dns_lookup *spf_lookup;
	enum spf_result spf_result;
	bool spf_done;
	/* the text */
	struct mailauth_stream stream;
	bool head_seen; /* the header side ran */
	char *stripped; /* the header section without forged A-R, or NULL */
	size_t stripped_len;
	/* DKIM */
	struct dkim_headers headers;
	struct mailauth_sig sigs[MAILAUTH_MAX_SIGS];
	size_t n_sigs;
	/* DMARC */
	char from_domain[256];
	enum mailauth_dmarc_state dmarc_state;
	struct dns_lookup *dmarc_lookup;
	bool dmarc_at_org;
	struct dmarc_record dmarc;
	/* the end */
	unsigned pending; /* lookups outstanding: SPF counts as one */
	struct event *timer;
	bool finishing, reported;
	void (*done_cb)(void *arg, const struct mailauth_verdict *verdict);
	void *done_arg;
	struct mailauth_verdict verdict;
};

/* mailauth_verify_head - the header section is in: strip forged A-R, start key and DMARC lookups. */
void mailauth_verify_head(struct mailauth_verify *v);

/* mailauth_verify_dkim_results - every signature's result (after the lookups), best first in verdict. */
void mailauth_verify_dkim_results(struct mailauth_verify *v);

/* mailauth_verify_cancel_head - cancel the header side's lookups. */
void mailauth_verify_cancel_head(struct mailauth_verify *v);

/* mailauth_verify_settle - one lookup fewer outstanding: report when finishing and none is left. */
void mailauth_verify_settle(struct mailauth_verify *v);

#endif

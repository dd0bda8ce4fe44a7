/*
 * spf_eval_private - the check_host() state machine's state, shared by
 * spf_eval.c (stepping through records and terms), spf_eval_answer.c (what
 * each answer does) and spf_eval_ptr.c (the validated PTR names for ptr and
 * %{p}). Not for use outside src/spf.
 */
#ifndef POSTERN_SPF_EVAL_PRIVATE_H
#define POSTERN_SPF_EVAL_PRIVATE_H

#include "spf/spf.h"

#define SPF_MAX_DEPTH (SPF_MAX_LOOKUPS + 1) /* the top record and at most 10 includes */

/* What the outstanding question is for. */
enum spf_wait {
	SPF_W_NONE,
	SPF_W_RECORD,   /* TXT of the current frame's domain */
	SPF_W_A,        /* a: the target's addresses */
	SPF_W_MX,       /* mx: the target's MX names */
	SPF_W_MX_ADDR,  /* mx: one MX name's addresses */
	SPF_W_PTR,      /* the client's PTR names */
	SPF_W_PTR_ADDR, /* one PTR name's addresses */
	SPF_W_EXISTS,   /* exists: any A record */
	SPF_W_EXP,      /* exp=: the explanation TXT */
};

enum spf_ptr_state { SPF_PTR_UNKNOWN, SPF_PTR_RUNNING, SPF_PTR_DONE };

/* One record being evaluated: the top one, an include's, or a redirect's (which replaces its frame). */
struct spf_frame {
	char domain[SPF_DOMAIN_MAX + 1]; /* <domain> for this record */
	char *text;                      /* the record's text (rec points into it) */
	struct spf_record rec;
	size_t term_i;   /* the mechanism being evaluated */
	bool loaded;     /* text and rec are there */
	bool must_exist; /* include or redirect target: no record is a permerror */
};

struct spf_eval {
	int family;
	uint8_t ip[16];
	char *sender, *local, *sender_domain, *helo, *receiver;
	time_t now;
	char domain[SPF_DOMAIN_MAX + 1]; /* the domain checked */

	struct spf_frame frames[SPF_MAX_DEPTH];
	int depth;
	unsigned lookups, voids, queries;

	enum spf_wait wait;
	char qname[SPF_EXPAND_MAX]; /* the question's name; also the target a term expands to */
	enum dns_rrtype qtype;

	bool in_mx; /* stepping through mx_names */
	char mx_names[SPF_MAX_NAMES][SPF_DOMAIN_MAX + 2];
	size_t n_mx, mx_i;

	enum spf_ptr_state ptr_state;
	char ptr_names[SPF_MAX_NAMES][SPF_DOMAIN_MAX + 2];
	bool ptr_ok[SPF_MAX_NAMES]; /* the name's addresses include the client */
	size_t n_ptr, ptr_i;
	bool ptr_void; /* the PTR lookup was void */

	bool in_exp;    /* the result is fail: fetching the explanation */
	char *exp_text; /* the explanation TXT record, before expansion */

	bool done;
	enum spf_result result;
	char *explanation;
	char problem[300];
};

/* spf_eval.c */
void spf_eval_finish(struct spf_eval *e, enum spf_result r);
void spf_eval_error(struct spf_eval *e, enum spf_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void spf_eval_ask(struct spf_eval *e, enum spf_wait w, const char *name, enum dns_rrtype type);
enum dns_rrtype spf_eval_addr_type(const struct spf_eval *e);
int spf_eval_void(struct spf_eval *e);
bool spf_eval_is_void(const struct dns_answer *a);
bool spf_eval_ip_in(const struct spf_eval *e, int family, const uint8_t *net, unsigned cidr4, unsigned cidr6);
bool spf_eval_answer_matches(const struct spf_eval *e, const struct dns_answer *a, unsigned cidr4, unsigned cidr6);
int spf_eval_expand_name(struct spf_eval *e, const char *spec, size_t len);
void spf_eval_frame_result(struct spf_eval *e, enum spf_result r);

/* spf_eval_answer.c */
void spf_eval_answer(struct spf_eval *e, enum spf_wait w, const struct dns_answer *a);
void spf_eval_mx_next(struct spf_eval *e, struct spf_frame *f);

/* spf_eval_ptr.c */
void spf_eval_ptr_start(struct spf_eval *e);
void spf_eval_ptr_next(struct spf_eval *e);
void spf_eval_ptr_answer(struct spf_eval *e, const struct dns_answer *a);
void spf_eval_ptr_addr_answer(struct spf_eval *e, const struct dns_answer *a);
void spf_eval_ptr_term(struct spf_eval *e, struct spf_frame *f, const struct spf_term *t);
const char *spf_eval_ptr_pick(const struct spf_eval *e, const char *domain);

#endif

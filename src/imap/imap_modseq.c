/* imap_modseq - the postern-modseq file, parsed and formatted; syncing it with a folder (see imap_modseq.h). */
#include "imap/imap_modseq.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_mailbox.h"
#include "util/xalloc.h"

#define IMAP_MODSEQ_MAGIC "postern-modseq "
#define IMAP_MODSEQ_VERSION "1"
#define IMAP_MODSEQ_UID_MAX 4294967294u
#define IMAP_MODSEQ_SYS_FLAGS 0x1fu               /* enum imap_flag without RECENT */
#define IMAP_MODSEQ_KW_MASK ((UINT32_C(1) << 26) - 1) /* keywords a..z */

/* Maildir letters of the system flags, in ASCII order, and their bits. */
static const struct {
	char letter;
	uint8_t flag;
} imap_modseq_letters[] = {
	{ 'D', IMAP_FLAG_DRAFT },  { 'F', IMAP_FLAG_FLAGGED }, { 'R', IMAP_FLAG_ANSWERED },
	{ 'S', IMAP_FLAG_SEEN },   { 'T', IMAP_FLAG_DELETED },
};

void imap_modseq_init(struct imap_modseq *ms)
{
	memset(ms, 0, sizeof(*ms));
	ms->gone_max = IMAP_MODSEQ_GONE_MAX;
}

void imap_modseq_clear(struct imap_modseq *ms)
{
	size_t gone_max = ms->gone_max;

	free(ms->recs);
	free(ms->gone);
	memset(ms, 0, sizeof(*ms));
	ms->gone_max = gone_max;
}

/* --- parsing --- */

/* A position in the file being parsed. */
struct imap_modseq_cur {
	const char *p, *end;
};

/* imap_modseq_num - a decimal number <= max, no leading zeros; -1 if none or too big. */
static int imap_modseq_num(struct imap_modseq_cur *c, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;
	const char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		unsigned d = (unsigned)(*c->p - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
		c->p++;
	}
	if (c->p == start || (*start == '0' && c->p - start > 1))
		return -1;
	*v_r = v;
	return 0;
}

/* imap_modseq_lit - the literal s is next: skip it; -1 if not. */
static int imap_modseq_lit(struct imap_modseq_cur *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

/* imap_modseq_parse_header - the first line into ms. */
static int imap_modseq_parse_header(struct imap_modseq_cur *c, struct imap_modseq *ms,
				    const char **error_r)
{
	uint64_t v, h, f;

	if (imap_modseq_lit(c, IMAP_MODSEQ_MAGIC) < 0) {
		*error_r = "not a postern-modseq file";
		return -1;
	}
	if (imap_modseq_lit(c, IMAP_MODSEQ_VERSION " V") < 0) {
		*error_r = "unsupported version";
		return -1;
	}
	if (imap_modseq_num(c, UINT32_MAX, &v) < 0 || v == 0 || imap_modseq_lit(c, " H") < 0 ||
	    imap_modseq_num(c, IMAP_MODSEQ_MAX, &h) < 0 || imap_modseq_lit(c, " F") < 0 ||
	    imap_modseq_num(c, h, &f) < 0 || imap_modseq_lit(c, "\n") < 0) {
		*error_r = "bad header";
		return -1;
	}
	ms->uidvalidity = (uint32_t)v;
	ms->highest = h;
	ms->gone_floor = f;
	return 0;
}

/* imap_modseq_letter_rank - the place of a flag letter in the file's order (0..30), -1 if none. */
static int imap_modseq_letter_rank(char ch)
{
	for (size_t i = 0; i < sizeof(imap_modseq_letters) / sizeof(imap_modseq_letters[0]); i++) {
		if (imap_modseq_letters[i].letter == ch)
			return (int)i;
	}
	return ch >= 'a' && ch <= 'z' ? 5 + (ch - 'a') : -1;
}

/* imap_modseq_parse_flags - "-" or letters in strictly ascending order, up to the line end. */
static int imap_modseq_parse_flags(struct imap_modseq_cur *c, struct imap_modseq_rec *rec)
{
	int last = -1, rank;

	rec->flags = 0;
	rec->keywords = 0;
	if (imap_modseq_lit(c, "-\n") == 0)
		return 0;
	while (c->p < c->end && *c->p != '\n') {
		if ((rank = imap_modseq_letter_rank(*c->p)) <= last)
			return -1; /* unknown, repeated or out of order */
		if (rank < 5)
			rec->flags |= imap_modseq_letters[rank].flag;
		else
			rec->keywords |= UINT32_C(1) << (rank - 5);
		last = rank;
		c->p++;
	}
	return last >= 0 ? imap_modseq_lit(c, "\n") : -1;
}

/* imap_modseq_push_rec - append a message record. */
static void imap_modseq_push_rec(struct imap_modseq *ms, size_t *alloc, const struct imap_modseq_rec *r)
{
	if (ms->nrecs == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 64;
		ms->recs = xrealloc(ms->recs, *alloc * sizeof(*ms->recs));
	}
	ms->recs[ms->nrecs++] = *r;
}

/* imap_modseq_push_gone - append an expunge record. */
static void imap_modseq_push_gone(struct imap_modseq *ms, size_t *alloc, uint32_t uid, uint64_t modseq)
{
	if (ms->ngone == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 64;
		ms->gone = xrealloc(ms->gone, *alloc * sizeof(*ms->gone));
	}
	ms->gone[ms->ngone].uid = uid;
	ms->gone[ms->ngone++].modseq = modseq;
}

/* imap_modseq_parse_lines - the record lines after the header; UIDs strictly ascending. */
static int imap_modseq_parse_lines(struct imap_modseq_cur *c, struct imap_modseq *ms,
				   const char **error_r)
{
	size_t rec_alloc = 0, gone_alloc = 0;
	uint64_t uid, modseq, last = 0;
	struct imap_modseq_rec rec;

	while (c->p < c->end) {
		if (imap_modseq_num(c, IMAP_MODSEQ_UID_MAX, &uid) < 0 || uid <= last ||
		    imap_modseq_lit(c, " ") < 0 || imap_modseq_num(c, ms->highest, &modseq) < 0 ||
		    modseq == 0 || imap_modseq_lit(c, " ") < 0) {
			*error_r = "bad UID or MODSEQ";
			return -1;
		}
		last = uid;
		if (imap_modseq_lit(c, "!\n") == 0) {
			imap_modseq_push_gone(ms, &gone_alloc, (uint32_t)uid, modseq);
			continue;
		}
		if (imap_modseq_parse_flags(c, &rec) < 0) {
			*error_r = "bad flags";
			return -1;
		}
		rec.uid = (uint32_t)uid;
		rec.modseq = modseq;
		imap_modseq_push_rec(ms, &rec_alloc, &rec);
	}
	return 0;
}

int imap_modseq_parse(const char *buf, size_t len, struct imap_modseq *ms, const char **error_r)
{
	struct imap_modseq_cur c = { buf, buf + len };

	imap_modseq_clear(ms);
	if (imap_modseq_parse_header(&c, ms, error_r) < 0 || imap_modseq_parse_lines(&c, ms, error_r) < 0) {
		imap_modseq_clear(ms);
		return -1;
	}
	return 0;
}

/* --- formatting --- */

/* imap_modseq_put_num - v in decimal at p; the end. */
static char *imap_modseq_put_num(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* imap_modseq_put_flags - the flag letters of rec ("-" if none) and LF at p; the end. */
static char *imap_modseq_put_flags(char *p, const struct imap_modseq_rec *rec)
{
	char *start = p;

	for (size_t i = 0; i < sizeof(imap_modseq_letters) / sizeof(imap_modseq_letters[0]); i++) {
		if (rec->flags & imap_modseq_letters[i].flag)
			*p++ = imap_modseq_letters[i].letter;
	}
	for (int i = 0; i < 26; i++) {
		if (rec->keywords & (UINT32_C(1) << i))
			*p++ = (char)('a' + i);
	}
	if (p == start)
		*p++ = '-';
	*p++ = '\n';
	return p;
}

/* imap_modseq_put_str - n octets of s at p; the end. */
static char *imap_modseq_put_str(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* imap_modseq_put_line - "<uid> <modseq> " at p; the end. */
static char *imap_modseq_put_line(char *p, uint32_t uid, uint64_t modseq)
{
	p = imap_modseq_put_num(p, uid);
	*p++ = ' ';
	p = imap_modseq_put_num(p, modseq);
	*p++ = ' ';
	return p;
}

char *imap_modseq_format(const struct imap_modseq *ms, size_t *len_r)
{
	/* header <= 90; a message <= 10+1+20+1+31+1; an expunge <= 10+1+20+3 */
	char *buf = xmalloc(96 + 64 * ms->nrecs + 34 * ms->ngone), *p = buf;
	size_t i = 0, k = 0;

	p = imap_modseq_put_str(p, IMAP_MODSEQ_MAGIC IMAP_MODSEQ_VERSION " V", 18);
	p = imap_modseq_put_num(p, ms->uidvalidity);
	p = imap_modseq_put_str(p, " H", 2);
	p = imap_modseq_put_num(p, ms->highest);
	p = imap_modseq_put_str(p, " F", 2);
	p = imap_modseq_put_num(p, ms->gone_floor);
	*p++ = '\n';
	while (i < ms->nrecs || k < ms->ngone) {
		if (k == ms->ngone || (i < ms->nrecs && ms->recs[i].uid < ms->gone[k].uid)) {
			p = imap_modseq_put_line(p, ms->recs[i].uid, ms->recs[i].modseq);
			p = imap_modseq_put_flags(p, &ms->recs[i++]);
		} else {
			p = imap_modseq_put_line(p, ms->gone[k].uid, ms->gone[k].modseq);
			p = imap_modseq_put_str(p, "!\n", 2);
			k++;
		}
	}
	*p = '\0';
	*len_r = (size_t)(p - buf);
	return buf;
}

/* --- syncing with the folder --- */

/* One imap_modseq_sync in progress. */
struct imap_modseq_sync {
	struct imap_modseq *ms;
	uint64_t now_us;
	uint64_t value;      /* the sync's new MODSEQ; 0: none given yet */
	bool changed;
	bool resurrected;    /* an expunged UID is a message again */
	uint32_t *expunged;  /* recorded UIDs missing from msgs, ascending */
	size_t nexpunged;
	size_t gone_at;      /* cursor into ms->gone (imap_modseq_is_gone) */
};

/* imap_modseq_value - the sync's new MODSEQ, max(highest + 1, now_us), the same for all it changes. */
static uint64_t imap_modseq_value(struct imap_modseq_sync *sy)
{
	if (sy->value == 0) {
		uint64_t next = sy->ms->highest + 1;

		sy->value = sy->now_us > next ? sy->now_us : next;
		sy->changed = true;
	}
	return sy->value;
}

/* imap_modseq_ascending - the messages' UIDs are strictly ascending (and not 0). */
static bool imap_modseq_ascending(const struct imap_msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].uid == 0 || (i > 0 && msgs[i].uid <= msgs[i - 1].uid))
			return false;
	}
	return true;
}

/* imap_modseq_is_gone - uid has an expunge record (asked for ascending UIDs). */
static bool imap_modseq_is_gone(struct imap_modseq_sync *sy, uint32_t uid)
{
	const struct imap_modseq *ms = sy->ms;

	while (sy->gone_at < ms->ngone && ms->gone[sy->gone_at].uid < uid)
		sy->gone_at++;
	return sy->gone_at < ms->ngone && ms->gone[sy->gone_at].uid == uid;
}

/* imap_modseq_add_msg - a message without a record gets one (SUBSET: an expunged UID is skipped). */
static void imap_modseq_add_msg(struct imap_modseq_sync *sy, struct imap_msg *m,
				struct imap_modseq_rec *out, size_t *nout, enum imap_modseq_mode mode)
{
	struct imap_modseq_rec *r;

	if (imap_modseq_is_gone(sy, m->uid)) {
		if (mode == IMAP_MODSEQ_SUBSET)
			return;
		sy->resurrected = true;
	}
	r = &out[(*nout)++];
	r->uid = m->uid;
	r->flags = (uint8_t)(m->flags & IMAP_MODSEQ_SYS_FLAGS);
	r->keywords = m->keywords & IMAP_MODSEQ_KW_MASK;
	r->modseq = m->modseq = imap_modseq_value(sy);
}

/* imap_modseq_same_msg - a message with a record: a new MODSEQ if its flags or keywords changed. */
static void imap_modseq_same_msg(struct imap_modseq_sync *sy, struct imap_msg *m,
				 const struct imap_modseq_rec *old, struct imap_modseq_rec *r)
{
	uint8_t flags = (uint8_t)(m->flags & IMAP_MODSEQ_SYS_FLAGS);
	uint32_t keywords = m->keywords & IMAP_MODSEQ_KW_MASK;

	*r = *old;
	if (flags != r->flags || keywords != r->keywords) {
		r->flags = flags;
		r->keywords = keywords;
		r->modseq = imap_modseq_value(sy);
	}
	m->modseq = r->modseq;
}

/* imap_modseq_merge_recs - msgs against the records: the new records; UIDs expunged collected (ALL). */
static void imap_modseq_merge_recs(struct imap_modseq_sync *sy, struct imap_msg *msgs, size_t n,
				   enum imap_modseq_mode mode)
{
	struct imap_modseq *ms = sy->ms;
	size_t cap = n + (mode == IMAP_MODSEQ_SUBSET ? ms->nrecs : 0), i = 0, j = 0, nout = 0;
	struct imap_modseq_rec *out = xmalloc((cap + 1) * sizeof(*out));

	sy->expunged = xmalloc((ms->nrecs + 1) * sizeof(*sy->expunged));
	while (i < n || j < ms->nrecs) {
		if (j == ms->nrecs || (i < n && msgs[i].uid < ms->recs[j].uid)) {
			imap_modseq_add_msg(sy, &msgs[i++], out, &nout, mode);
		} else if (i == n || ms->recs[j].uid < msgs[i].uid) {
			if (mode == IMAP_MODSEQ_SUBSET)
				out[nout++] = ms->recs[j];
			else
				sy->expunged[sy->nexpunged++] = ms->recs[j].uid;
			j++;
		} else {
			imap_modseq_same_msg(sy, &msgs[i++], &ms->recs[j++], &out[nout++]);
		}
	}
	free(ms->recs);
	ms->recs = out;
	ms->nrecs = nout;
}

/* imap_modseq_merge_gone - the expunge records: the new ones added, those of live UIDs dropped. */
static void imap_modseq_merge_gone(struct imap_modseq_sync *sy)
{
	struct imap_modseq *ms = sy->ms;
	struct imap_modseq_gone *out = xmalloc((ms->ngone + sy->nexpunged + 1) * sizeof(*out));
	size_t k = 0, e = 0, j = 0, nout = 0;

	while (k < ms->ngone || e < sy->nexpunged) {
		if (e == sy->nexpunged || (k < ms->ngone && ms->gone[k].uid < sy->expunged[e])) {
			while (j < ms->nrecs && ms->recs[j].uid < ms->gone[k].uid)
				j++;
			if (j == ms->nrecs || ms->recs[j].uid != ms->gone[k].uid)
				out[nout++] = ms->gone[k];
			k++;
		} else {
			out[nout].uid = sy->expunged[e++];
			out[nout++].modseq = imap_modseq_value(sy);
		}
	}
	free(ms->gone);
	ms->gone = out;
	ms->ngone = nout;
	sy->changed = true;
}

/* imap_modseq_u64_cmp - qsort of MODSEQs, ascending. */
static int imap_modseq_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * imap_modseq_trim - past gone_max expunge records, drop the oldest down to
 * 3/4 of gone_max (all of one MODSEQ or none), gone_floor raised to cover them.
 */
static void imap_modseq_trim(struct imap_modseq_sync *sy)
{
	struct imap_modseq *ms = sy->ms;
	size_t keep = ms->gone_max - ms->gone_max / 4, nout = 0;
	uint64_t *v, cutoff;

	if (ms->ngone <= ms->gone_max)
		return;
	v = xmalloc(ms->ngone * sizeof(*v));
	for (size_t k = 0; k < ms->ngone; k++)
		v[k] = ms->gone[k].modseq;
	qsort(v, ms->ngone, sizeof(*v), imap_modseq_u64_cmp);
	cutoff = v[ms->ngone - keep - 1]; /* the newest of those to drop */
	free(v);
	for (size_t k = 0; k < ms->ngone; k++) {
		if (ms->gone[k].modseq > cutoff)
			ms->gone[nout++] = ms->gone[k];
	}
	ms->ngone = nout;
	if (cutoff > ms->gone_floor)
		ms->gone_floor = cutoff;
	sy->changed = true;
}

/* imap_modseq_reset - a new UIDVALIDITY: nothing recorded, no expunge history, highest kept. */
static void imap_modseq_reset(struct imap_modseq_sync *sy, uint32_t uidvalidity)
{
	struct imap_modseq *ms = sy->ms;
	uint64_t highest = ms->highest;

	imap_modseq_clear(ms);
	ms->uidvalidity = uidvalidity;
	ms->highest = highest;
	ms->gone_floor = imap_modseq_value(sy);
}

int imap_modseq_sync(struct imap_modseq *ms, uint32_t uidvalidity, struct imap_msg *msgs, size_t n,
		     uint64_t now_us, enum imap_modseq_mode mode)
{
	struct imap_modseq_sync sy = { .ms = ms, .now_us = now_us };

	if (uidvalidity == 0 || !imap_modseq_ascending(msgs, n))
		return -1;
	if (ms->uidvalidity != uidvalidity)
		imap_modseq_reset(&sy, uidvalidity);
	imap_modseq_merge_recs(&sy, msgs, n, mode);
	if (sy.nexpunged > 0 || sy.resurrected)
		imap_modseq_merge_gone(&sy);
	free(sy.expunged);
	imap_modseq_trim(&sy);
	if (sy.value != 0)
		ms->highest = sy.value;
	return sy.changed ? 1 : 0;
}

/* --- VANISHED --- */

/* The UID set being built: "lo:hi,..." with the last range still open. */
struct imap_modseq_out {
	char *buf;
	size_t len, cap, count;
	uint32_t lo, hi;
	bool open;
};

/* imap_modseq_out_flush - the open range into the text. */
static void imap_modseq_out_flush(struct imap_modseq_out *o)
{
	char *p;

	if (!o->open)
		return;
	while (o->cap - o->len < 24) { /* ',' 10 digits ':' 10 digits NUL */
		o->cap = o->cap ? 2 * o->cap : 256;
		o->buf = xrealloc(o->buf, o->cap);
	}
	p = o->buf + o->len;
	if (o->len > 0)
		*p++ = ',';
	p = imap_modseq_put_num(p, o->lo);
	if (o->hi != o->lo) {
		*p++ = ':';
		p = imap_modseq_put_num(p, o->hi);
	}
	*p = '\0';
	o->len = (size_t)(p - o->buf);
	o->count += (size_t)(o->hi - o->lo) + 1;
	o->open = false;
}

/* imap_modseq_out_add - UIDs lo..hi (ascending calls), joined to the open range when adjacent. */
static void imap_modseq_out_add(struct imap_modseq_out *o, uint32_t lo, uint32_t hi)
{
	if (o->open && (uint64_t)lo == (uint64_t)o->hi + 1) {
		o->hi = hi;
		return;
	}
	imap_modseq_out_flush(o);
	o->lo = lo;
	o->hi = hi;
	o->open = true;
}

/* The client's known UIDs, as ranges cut below uidnext. */
struct imap_modseq_known {
	const struct imap_seqset *set; /* NULL: 1:uidnext-1 */
	struct imap_seqset_iter it;
	uint32_t max;                  /* uidnext - 1 */
	bool whole_done;
};

/* imap_modseq_known_next - the next known range, ascending; false at the end. */
static bool imap_modseq_known_next(struct imap_modseq_known *k, struct imap_seq_range *r)
{
	if (k->set != NULL)
		return imap_seqset_iter_next(&k->it, r);
	if (k->whole_done || k->max == 0)
		return false;
	k->whole_done = true;
	r->lo = 1;
	r->hi = k->max;
	return true;
}

/* imap_modseq_vanished_all - every known UID that is not a message now. */
static void imap_modseq_vanished_all(const struct imap_modseq *ms, struct imap_modseq_known *k,
				     struct imap_modseq_out *o)
{
	struct imap_seq_range r;
	size_t j = 0;

	while (imap_modseq_known_next(k, &r)) {
		uint64_t cur = r.lo;

		while (j < ms->nrecs && ms->recs[j].uid < r.lo)
			j++;
		for (; j < ms->nrecs && ms->recs[j].uid <= r.hi; j++) {
			if (ms->recs[j].uid > cur)
				imap_modseq_out_add(o, (uint32_t)cur, ms->recs[j].uid - 1);
			cur = (uint64_t)ms->recs[j].uid + 1;
		}
		if (cur <= r.hi)
			imap_modseq_out_add(o, (uint32_t)cur, r.hi);
	}
}

/* imap_modseq_vanished_since - the known UIDs of expunge records newer than since. */
static void imap_modseq_vanished_since(const struct imap_modseq *ms, uint64_t since,
				       struct imap_modseq_known *k, struct imap_modseq_out *o)
{
	struct imap_seq_range r;
	size_t g = 0;

	while (imap_modseq_known_next(k, &r)) {
		while (g < ms->ngone && ms->gone[g].uid < r.lo)
			g++;
		for (; g < ms->ngone && ms->gone[g].uid <= r.hi; g++) {
			if (ms->gone[g].modseq > since)
				imap_modseq_out_add(o, ms->gone[g].uid, ms->gone[g].uid);
		}
	}
}

char *imap_modseq_vanished(const struct imap_modseq *ms, uint64_t since_modseq,
			   const struct imap_seqset *known, uint32_t uidnext, size_t *count_r)
{
	struct imap_modseq_out o = { 0 };
	struct imap_modseq_known k = { .set = known, .max = uidnext > 0 ? uidnext - 1 : 0 };

	if (known != NULL)
		imap_seqset_iter_init(&k.it, known, k.max, true);
	if (since_modseq < ms->gone_floor)
		imap_modseq_vanished_all(ms, &k, &o);
	else
		imap_modseq_vanished_since(ms, since_modseq, &k, &o);
	imap_modseq_out_flush(&o);
	if (count_r != NULL)
		*count_r = o.count;
	return o.buf;
}

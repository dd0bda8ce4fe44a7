/* dmarc_record - the DMARC policy record parser (RFC 7489 6.3, 6.4) and the choice of one record (6.6.3). */
#include "dmarc/dmarc.h"

#include <string.h>
#include <strings.h>

#define DMARC_REC_MAX_TAGS 32

/* A piece of the record text. */
struct dmarc_rec_span {
	const char *s;
	size_t n;
};

/* What the tags said so far. */
struct dmarc_rec_state {
	struct dmarc_rec_span names[DMARC_REC_MAX_TAGS];
	size_t n_tags;
	int p, sp;   /* enum dmarc_policy, -1 unset, -2 invalid */
	struct dmarc_record rec;
};

/* dmarc_rec_is_wsp - RFC 5234 WSP. */
static bool dmarc_rec_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* dmarc_rec_trim - the span without leading and trailing WSP. */
static struct dmarc_rec_span dmarc_rec_trim(const char *s, size_t n)
{
	while (n > 0 && dmarc_rec_is_wsp(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && dmarc_rec_is_wsp(s[n - 1]))
		n--;
	return (struct dmarc_rec_span){s, n};
}

/* dmarc_rec_is_name - tag-name = ALPHA *ALNUMPUNC (RFC 6376 3.2: letters, digits, "_"). */
static bool dmarc_rec_is_name(struct dmarc_rec_span t)
{
	if (t.n == 0 || !((t.s[0] | 0x20) >= 'a' && (t.s[0] | 0x20) <= 'z'))
		return false;
	for (size_t i = 1; i < t.n; i++) {
		char c = t.s[i];
		if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9') && c != '_')
			return false;
	}
	return true;
}

/* dmarc_rec_split - split one tag-spec "name = value" into trimmed name and value; false if malformed. */
static bool dmarc_rec_split(struct dmarc_rec_span spec, struct dmarc_rec_span *name_r,
                            struct dmarc_rec_span *value_r)
{
	const char *eq = memchr(spec.s, '=', spec.n);

	if (eq == NULL)
		return false;
	*name_r = dmarc_rec_trim(spec.s, (size_t)(eq - spec.s));
	*value_r = dmarc_rec_trim(eq + 1, spec.n - (size_t)(eq - spec.s) - 1);
	return dmarc_rec_is_name(*name_r);
}

/* dmarc_rec_eq - does the span equal word, ignoring ASCII case? */
static bool dmarc_rec_eq(struct dmarc_rec_span t, const char *word)
{
	return t.n == strlen(word) && strncasecmp(t.s, word, t.n) == 0;
}

/* dmarc_rec_policy - none/quarantine/reject (case-insensitive), or -2. */
static int dmarc_rec_policy(struct dmarc_rec_span v)
{
	if (dmarc_rec_eq(v, "none"))
		return DMARC_P_NONE;
	if (dmarc_rec_eq(v, "quarantine"))
		return DMARC_P_QUARANTINE;
	if (dmarc_rec_eq(v, "reject"))
		return DMARC_P_REJECT;
	return -2;
}

/* dmarc_rec_pct - pct = 1*3DIGIT, 0..100; -1 if not. */
static int dmarc_rec_pct(struct dmarc_rec_span v)
{
	int n = 0;

	if (v.n == 0 || v.n > 3)
		return -1;
	for (size_t i = 0; i < v.n; i++) {
		if (v.s[i] < '0' || v.s[i] > '9')
			return -1;
		n = n * 10 + (v.s[i] - '0');
	}
	return n <= 100 ? n : -1;
}

/*
 * dmarc_rec_uri_ok - one dmarc-uri: URI ["!" size]. Checked as far as a
 * receiver needs: a scheme (ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")), ":",
 * and something after it, with no WSP inside.
 */
static bool dmarc_rec_uri_ok(struct dmarc_rec_span u)
{
	size_t i = 0;

	u = dmarc_rec_trim(u.s, u.n);
	if (u.n == 0 || !((u.s[0] | 0x20) >= 'a' && (u.s[0] | 0x20) <= 'z'))
		return false;
	while (i < u.n && u.s[i] != ':') {
		char c = u.s[i++];
		if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9') && c != '+' &&
		    c != '-' && c != '.')
			return false;
	}
	if (i + 1 >= u.n)
		return false;
	for (; i < u.n; i++)
		if (dmarc_rec_is_wsp(u.s[i]) || (unsigned char)u.s[i] < 0x20)
			return false;
	return true;
}

/* dmarc_rec_rua - does the comma-separated list hold at least one valid URI? */
static bool dmarc_rec_rua(struct dmarc_rec_span v)
{
	while (v.n > 0) {
		const char *comma = memchr(v.s, ',', v.n);
		size_t len = comma ? (size_t)(comma - v.s) : v.n;

		if (dmarc_rec_uri_ok((struct dmarc_rec_span){v.s, len}))
			return true;
		v.s += len + (comma ? 1 : 0);
		v.n -= len + (comma ? 1 : 0);
	}
	return false;
}

/* dmarc_rec_note_name - remember a tag name; false if it came before (RFC 6376 3.2) or too many tags. */
static bool dmarc_rec_note_name(struct dmarc_rec_state *st, struct dmarc_rec_span name)
{
	for (size_t i = 0; i < st->n_tags; i++)
		if (st->names[i].n == name.n && strncasecmp(st->names[i].s, name.s, name.n) == 0)
			return false;
	if (st->n_tags == DMARC_REC_MAX_TAGS)
		return false;
	st->names[st->n_tags++] = name;
	return true;
}

/* dmarc_rec_tag - apply one tag after v=; unknown tags and invalid optional values are ignored. */
static void dmarc_rec_tag(struct dmarc_rec_state *st, struct dmarc_rec_span name, struct dmarc_rec_span v)
{
	int n;

	if (dmarc_rec_eq(name, "p"))
		st->p = dmarc_rec_policy(v);
	else if (dmarc_rec_eq(name, "sp"))
		st->sp = dmarc_rec_policy(v);
	else if (dmarc_rec_eq(name, "adkim") && (dmarc_rec_eq(v, "r") || dmarc_rec_eq(v, "s")))
		st->rec.strict_dkim = dmarc_rec_eq(v, "s");
	else if (dmarc_rec_eq(name, "aspf") && (dmarc_rec_eq(v, "r") || dmarc_rec_eq(v, "s")))
		st->rec.strict_spf = dmarc_rec_eq(v, "s");
	else if (dmarc_rec_eq(name, "pct") && (n = dmarc_rec_pct(v)) >= 0)
		st->rec.pct = n;
	else if (dmarc_rec_eq(name, "rua"))
		st->rec.has_rua = dmarc_rec_rua(v);
}

/* dmarc_rec_version_ok - is this first tag-spec exactly v=DMARC1 (tag name any case)? */
static bool dmarc_rec_version_ok(struct dmarc_rec_span spec)
{
	struct dmarc_rec_span name, value;

	return dmarc_rec_split(spec, &name, &value) && dmarc_rec_eq(name, "v") && value.n == 6 &&
	       memcmp(value.s, "DMARC1", 6) == 0;
}

/* dmarc_rec_next_spec - the next ';'-separated piece of txt at *pos, trimmed; false at the end. */
static bool dmarc_rec_next_spec(const char *txt, size_t len, size_t *pos, struct dmarc_rec_span *spec_r)
{
	const char *semi;
	size_t n;

	if (*pos > len || (*pos == len && len > 0 && txt[len - 1] == ';'))
		return false;
	semi = memchr(txt + *pos, ';', len - *pos);
	n = semi ? (size_t)(semi - (txt + *pos)) : len - *pos;
	*spec_r = dmarc_rec_trim(txt + *pos, n);
	*pos += n + 1;
	return true;
}

bool dmarc_record_is_dmarc(const char *txt, size_t len)
{
	struct dmarc_rec_span spec;
	size_t pos = 0;

	return dmarc_rec_next_spec(txt, len, &pos, &spec) && dmarc_rec_version_ok(spec);
}

/* dmarc_rec_finish - p= and sp= into the record, with the rua fallback of 6.6.3; -1 if unusable. */
static int dmarc_rec_finish(struct dmarc_rec_state *st, struct dmarc_record *r, const char **error_r)
{
	if (st->p < 0 || st->sp == -2) {
		if (!st->rec.has_rua) {
			*error_r = st->p == -1 ? "no p= tag" : st->p == -2 ? "invalid p= value" : "invalid sp= value";
			return -1;
		}
		st->p = DMARC_P_NONE;
		st->sp = DMARC_P_NONE;
		st->rec.p_fallback = true;
	}
	st->rec.p = (enum dmarc_policy)st->p;
	st->rec.sp = st->sp == -1 ? st->rec.p : (enum dmarc_policy)st->sp;
	*r = st->rec;
	return 0;
}

int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r, const char **error_r)
{
	struct dmarc_rec_state st = {.p = -1, .sp = -1, .rec = {.pct = 100}};
	struct dmarc_rec_span spec, name, value;
	size_t pos = 0;

	if (!dmarc_rec_next_spec(txt, len, &pos, &spec) || !dmarc_rec_version_ok(spec)) {
		*error_r = "not a DMARC record: v=DMARC1 must come first";
		return -1;
	}
	dmarc_rec_note_name(&st, (struct dmarc_rec_span){"v", 1});
	while (dmarc_rec_next_spec(txt, len, &pos, &spec)) {
		if (spec.n == 0)
			continue;
		if (!dmarc_rec_split(spec, &name, &value)) {
			*error_r = "malformed tag";
			return -1;
		}
		if (!dmarc_rec_note_name(&st, name)) {
			*error_r = "duplicate tag or too many tags";
			return -1;
		}
		dmarc_rec_tag(&st, name, value);
	}
	return dmarc_rec_finish(&st, r, error_r);
}

int dmarc_record_select(char *const *txts, size_t n, struct dmarc_record *r)
{
	const char *found = NULL, *error;

	for (size_t i = 0; i < n; i++) {
		if (!dmarc_record_is_dmarc(txts[i], strlen(txts[i])))
			continue;
		if (found != NULL)
			return -1;
		found = txts[i];
	}
	if (found == NULL)
		return 0;
	return dmarc_record_parse(found, strlen(found), r, &error) == 0 ? 1 : -2;
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_P_QUARANTINE:
		return "quarantine";
	case DMARC_P_REJECT:
		return "reject";
	default:
		return "none";
	}
}

const char *dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = {"none", "pass", "fail", "temperror", "permerror"};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "permerror";
}

/*
 * imap_mime_content - the Content-* fields of one MIME part: type and
 * subtype, parameters (RFC 2045 5.1) with RFC 2231 continuations merged,
 * disposition (RFC 2183), language (RFC 3282), transfer encoding, and the
 * raw Content-Id / -Description / -MD5 / -Location values. Broken input
 * is read as far as it goes, the way Dovecot reads it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_mime_internal.h"
#include "imap/imap_rfc822.h"

/* One parameter as read, before RFC 2231 merging. */
struct imap_mime_rawp {
	struct imap_rfc822_str key, value;
	unsigned idx;      /* RFC 2231 section number */
	bool extended;     /* key*N* or key*: charset'lang'%XX value */
	bool rfc2231;      /* key*N or key*N* or key* */
	size_t key_len;    /* the key without its "*N*" suffix */
};

/* imap_mime_param_read - one "; key=value"; 1 read, 0 at the end, -1 broken. */
static int imap_mime_param_read(struct imap_rfc822 *r, struct imap_mime_rawp *p)
{
	int ret;

	if (r->p >= r->end)
		return 0;
	if (*r->p != ';')
		return -1;
	r->p++;
	if (imap_rfc822_skip_lwsp(r) <= 0 || imap_rfc822_token(r, &p->key) <= 0 || *r->p != '=')
		return -1;
	r->p++;
	if ((ret = imap_rfc822_skip_lwsp(r)) <= 0) {
		/* no value */
	} else if (*r->p == '"') {
		ret = imap_rfc822_quoted(r, &p->value);
	} else if (*r->p == '=') {
		/* broken but common: name==?utf-8?b?...?= */
		const unsigned char *s = r->p;
		while (r->p < r->end && strchr("; \t\r\n", *r->p) == NULL)
			r->p++;
		imap_rfc822_str_add(&p->value, s, (size_t)(r->p - s));
	} else {
		ret = imap_rfc822_token(r, &p->value);
	}
	imap_rfc822_str_add(&p->value, "", 0);
	return ret < 0 ? -1 : 1;
}

/* imap_mime_param_2231 - classify key*N, key*N*, key* (RFC 2231 3, 4). */
static void imap_mime_param_2231(struct imap_mime_rawp *p)
{
	const char *key = imap_rfc822_str_c(&p->key);
	const char *star = strchr(key, '*'), *s;

	p->key_len = p->key.len;
	if (star == NULL)
		return;
	s = star + 1;
	p->idx = 0;
	if (*s == '\0')
		p->extended = true; /* key*: extended, not continued */
	while (*s >= '0' && *s <= '9' && p->idx < 100000)
		p->idx = p->idx * 10 + (unsigned)(*s++ - '0');
	if (*s == '*') {
		p->extended = true;
		s++;
	}
	if (*s != '\0')
		return;
	p->rfc2231 = true;
	p->key_len = (size_t)(star - key);
}

/* imap_mime_rawp_cmp_cb - order RFC 2231 pieces by key, then number. */
static int imap_mime_rawp_cmp_cb(const void *a, const void *b)
{
	const struct imap_mime_rawp *x = *(const struct imap_mime_rawp *const *)a;
	const struct imap_mime_rawp *y = *(const struct imap_mime_rawp *const *)b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key.s, y->key.s, n);

	if (c == 0 && x->key_len != y->key_len)
		c = x->key_len < y->key_len ? -1 : 1;
	if (c == 0 && x->idx != y->idx)
		c = x->idx < y->idx ? -1 : 1;
	return c;
}

/* imap_mime_group_end - the end of the run of pieces with g[0]'s key;
 * *ok_r: numbered 0, 1, 2...; *ext_r: one of them is extended. */
static size_t imap_mime_group_end(struct imap_mime_rawp **g, size_t n, bool *ok_r, bool *ext_r)
{
	size_t j;

	*ok_r = true;
	*ext_r = false;
	for (j = 0; j < n; j++) {
		if (g[j]->key_len != g[0]->key_len ||
		    strncasecmp(g[j]->key.s, g[0]->key.s, g[0]->key_len) != 0)
			break;
		if (g[j]->idx != j)
			*ok_r = false;
		if (g[j]->extended)
			*ext_r = true;
	}
	return j;
}

/* imap_mime_group_merge - one merged parameter from a complete group: the
 * values joined; plain pieces %-escaped when others are extended. */
static void imap_mime_group_merge(struct imap_mime_rawp **g, size_t n, bool ext,
				  struct imap_rfc822_str *k, struct imap_rfc822_str *v)
{
	imap_rfc822_str_add(k, g[0]->key.s, g[0]->key_len);
	if (ext)
		imap_rfc822_str_addc(k, '*');
	if (ext && !g[0]->extended)
		imap_rfc822_str_add(v, "''", 2);
	for (size_t j = 0; j < n; j++) {
		if (!ext || g[j]->extended) {
			imap_rfc822_str_add(v, g[j]->value.s, g[j]->value.len);
			continue;
		}
		for (size_t i = 0; i < g[j]->value.len; i++) {
			if (g[j]->value.s[i] == '%')
				imap_rfc822_str_add(v, "%25", 3);
			else
				imap_rfc822_str_addc(v, g[j]->value.s[i]);
		}
	}
	imap_rfc822_str_add(v, "", 0);
}

/* imap_mime_param_put - append one finished parameter to out. */
static void imap_mime_param_put(struct imap_mime *m, struct imap_mime_param *out, size_t *n,
				struct imap_rfc822_str *k, struct imap_rfc822_str *v)
{
	out[*n].name = imap_mime_strdup(m, k->s, k->len);
	out[*n].value = imap_mime_strdup(m, v->s, v->len);
	(*n)++;
}

/* imap_mime_params_2231 - append the RFC 2231 pieces, merged by key
 * (or kept apart as key*N[*] when a number is missing). */
static void imap_mime_params_2231(struct imap_mime *m, struct imap_mime_rawp **g, size_t ng,
				  struct imap_mime_param *out, size_t *n)
{
	struct imap_rfc822_str k = { 0 }, v = { 0 };
	bool ok, ext;

	qsort(g, ng, sizeof(*g), imap_mime_rawp_cmp_cb);
	for (size_t i = 0, j; i < ng; i = j) {
		j = i + imap_mime_group_end(g + i, ng - i, &ok, &ext);
		if (ok) {
			imap_rfc822_str_trunc(&k, 0);
			imap_rfc822_str_trunc(&v, 0);
			imap_mime_group_merge(g + i, j - i, ext, &k, &v);
			imap_mime_param_put(m, out, n, &k, &v);
			continue;
		}
		for (size_t x = i; x < j; x++)
			imap_mime_param_put(m, out, n, &g[x]->key, &g[x]->value);
	}
	imap_rfc822_str_free(&k);
	imap_rfc822_str_free(&v);
}

/* imap_mime_params - read the parameters after a type or disposition. */
static void imap_mime_params(struct imap_mime *m, struct imap_rfc822 *r,
			     const struct imap_mime_param **params_r, size_t *n_r)
{
	struct imap_mime_rawp raw[IMAP_MIME_MAX_PARAMS], *g[IMAP_MIME_MAX_PARAMS];
	size_t nraw = 0, ng = 0, n = 0;
	int ret;

	memset(raw, 0, sizeof(raw));
	while (nraw < IMAP_MIME_MAX_PARAMS &&
	       (ret = imap_mime_param_read(r, &raw[nraw])) != 0) {
		if (ret < 0) {
			if (r->p >= r->end)
				break;
			r->p++;
			imap_rfc822_str_trunc(&raw[nraw].key, 0);
			imap_rfc822_str_trunc(&raw[nraw].value, 0);
			continue;
		}
		imap_mime_param_2231(&raw[nraw++]);
	}
	struct imap_mime_param *out = imap_mime_alloc(m, (nraw + 1) * sizeof(*out));
	for (size_t i = 0; i < nraw; i++) {
		if (raw[i].rfc2231)
			g[ng++] = &raw[i];
		else
			imap_mime_param_put(m, out, &n, &raw[i].key, &raw[i].value);
	}
	imap_mime_params_2231(m, g, ng, out, &n);
	for (size_t i = 0; i < IMAP_MIME_MAX_PARAMS; i++) {
		imap_rfc822_str_free(&raw[i].key);
		imap_rfc822_str_free(&raw[i].value);
	}
	*params_r = out;
	*n_r = n;
}

/* imap_mime_ctype_read - "type/subtype" into s; -1 when broken (s keeps
 * what Dovecot keeps: a lone type at the end, else nothing). */
static int imap_mime_ctype_read(struct imap_rfc822 *r, struct imap_rfc822_str *s)
{
	int ret;

	imap_rfc822_str_add(s, "", 0);
	if (imap_rfc822_skip_lwsp(r) <= 0)
		return -1;
	if ((ret = imap_rfc822_token(r, s)) <= 0 || s->len == 0)
		return -1;
	if (*r->p != '/' || (r->p++, imap_rfc822_skip_lwsp(r) <= 0)) {
		imap_rfc822_str_trunc(s, 0);
		return -1;
	}
	imap_rfc822_str_addc(s, '/');
	size_t sub = s->len;
	ret = imap_rfc822_token(r, s);
	if (ret < 0 || s->len == sub || (r->p < r->end && *r->p != ';')) {
		imap_rfc822_str_trunc(s, 0);
		return -1;
	}
	return ret;
}

/* imap_mime_boundary - remember the boundary parameter (cut at the limit). */
static void imap_mime_boundary(const struct imap_mime_part *part, struct imap_mime_hdr_state *st)
{
	for (size_t i = 0; i < part->nparams; i++) {
		if (strcasecmp(part->params[i].name, "boundary") != 0)
			continue;
		size_t n = strlen(part->params[i].value);
		st->boundary_len = n > IMAP_MIME_BOUNDARY_MAX ? IMAP_MIME_BOUNDARY_MAX : n;
		memcpy(st->boundary, part->params[i].value, st->boundary_len);
		st->has_boundary = true;
		return;
	}
}

/* imap_mime_ctype - Content-Type (RFC 2045 5): the first one counts. */
static void imap_mime_ctype(struct imap_mime *m, struct imap_mime_part *part,
			    const struct imap_mime_field *f, struct imap_mime_hdr_state *st)
{
	struct imap_rfc822_str s = { 0 };
	struct imap_rfc822 r;
	int ret;

	imap_rfc822_init(&r, f->value, f->value_len);
	ret = imap_mime_ctype_read(&r, &s);
	char *slash = strchr(s.s, '/');
	part->subtype = imap_mime_strdup(m, slash != NULL ? slash + 1 : "", slash != NULL ? strlen(slash + 1) : 0);
	part->type = imap_mime_strdup(m, s.s, slash != NULL ? (size_t)(slash - s.s) : s.len);
	imap_rfc822_str_free(&s);
	st->seen_type = true;
	if (ret >= 0) {
		imap_mime_params(m, &r, &part->params, &part->nparams);
		imap_mime_boundary(part, st);
	}
}

/* imap_mime_disposition - Content-Disposition (RFC 2183); as in Dovecot a
 * later one replaces one that had no parameters. */
static void imap_mime_disposition(struct imap_mime *m, struct imap_mime_part *part,
				  const struct imap_mime_field *f)
{
	struct imap_rfc822_str s = { 0 };
	struct imap_rfc822 r;

	if (part->ndisp_params > 0)
		return;
	imap_rfc822_init(&r, f->value, f->value_len);
	imap_rfc822_skip_lwsp(&r);
	if (imap_rfc822_token(&r, &s) >= 0) {
		part->disposition = imap_mime_strdup(m, s.s, s.len);
		imap_mime_params(m, &r, &part->disp_params, &part->ndisp_params);
	}
	imap_rfc822_str_free(&s);
}

/* imap_mime_language - Content-Language: a comma-separated atom list. */
static void imap_mime_language(struct imap_mime *m, struct imap_mime_part *part,
			       const struct imap_mime_field *f)
{
	const char *langs[IMAP_MIME_MAX_LANGUAGES];
	struct imap_rfc822_str s = { 0 };
	struct imap_rfc822 r;
	size_t n = 0;

	imap_rfc822_init(&r, f->value, f->value_len);
	imap_rfc822_skip_lwsp(&r);
	while (n < IMAP_MIME_MAX_LANGUAGES && imap_rfc822_atom(&r, &s) >= 0) {
		langs[n++] = imap_mime_strdup(m, s.s, s.len);
		imap_rfc822_str_trunc(&s, 0);
		if (r.p >= r.end || *r.p != ',')
			break;
		r.p++;
		imap_rfc822_skip_lwsp(&r);
	}
	imap_rfc822_str_free(&s);
	if (n == 0)
		return;
	const char **list = imap_mime_alloc(m, n * sizeof(*list));
	memcpy(list, langs, n * sizeof(*list));
	part->language = list;
	part->nlanguage = n;
}

/* imap_mime_encoding - Content-Transfer-Encoding: one token, nothing else. */
static void imap_mime_encoding(struct imap_mime *m, struct imap_mime_part *part,
			       const struct imap_mime_field *f)
{
	struct imap_rfc822_str s = { 0 };
	struct imap_rfc822 r;

	imap_rfc822_init(&r, f->value, f->value_len);
	imap_rfc822_skip_lwsp(&r);
	if (imap_rfc822_token(&r, &s) >= 0 && imap_rfc822_skip_lwsp(&r) == 0 && s.len > 0)
		part->encoding = imap_mime_strdup(m, s.s, s.len);
	imap_rfc822_str_free(&s);
}

/* imap_mime_raw_value - keep the first raw value of a field in *dst. */
static void imap_mime_raw_value(struct imap_mime *m, const char **dst, const struct imap_mime_field *f)
{
	if (*dst == NULL)
		*dst = imap_mime_strdup(m, f->value, f->value_len);
}

/* imap_mime_content_field - note one header field of a part. */
void imap_mime_content_field(struct imap_mime *m, struct imap_mime_part *part,
			     const struct imap_mime_field *f, struct imap_mime_hdr_state *st)
{
	if (imap_mime_field_is(f, "MIME-Version", 12))
		part->flags |= IMAP_MIME_IS_MIME;
	if (f->name_len < 8 || strncasecmp(f->name, "Content-", 8) != 0)
		return;
	if (imap_mime_field_is(f, "Content-Type", 12)) {
		part->flags |= IMAP_MIME_IS_MIME;
		if (!st->seen_type)
			imap_mime_ctype(m, part, f, st);
	} else if (imap_mime_field_is(f, "Content-Transfer-Encoding", 25)) {
		if (part->encoding == NULL)
			imap_mime_encoding(m, part, f);
	} else if (imap_mime_field_is(f, "Content-Disposition", 19)) {
		imap_mime_disposition(m, part, f);
	} else if (imap_mime_field_is(f, "Content-Language", 16)) {
		if (part->language == NULL)
			imap_mime_language(m, part, f);
	} else if (imap_mime_field_is(f, "Content-ID", 10)) {
		imap_mime_raw_value(m, &part->id, f);
	} else if (imap_mime_field_is(f, "Content-Description", 19)) {
		imap_mime_raw_value(m, &part->description, f);
	} else if (imap_mime_field_is(f, "Content-MD5", 11)) {
		imap_mime_raw_value(m, &part->md5, f);
	} else if (imap_mime_field_is(f, "Content-Location", 16)) {
		imap_mime_raw_value(m, &part->location, f);
	}
}

/* imap_mime_content_reset - forget the Content-* fields (not MIME). */
void imap_mime_content_reset(struct imap_mime_part *part)
{
	part->type = part->subtype = NULL;
	part->params = part->disp_params = NULL;
	part->nparams = part->ndisp_params = 0;
	part->id = part->description = part->md5 = part->location = NULL;
	part->encoding = part->disposition = NULL;
	part->language = NULL;
	part->nlanguage = 0;
}

/* imap_flaglist - flag lists of STORE and APPEND, and their keywords in a folder. */
#include "imap/imap_flaglist.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_keywords.h"
#include "imap/imap_uidlist.h"
#include "util/xalloc.h"

static const char *const imap_flaglist_system[] = { "\\Seen", "\\Answered", "\\Flagged",
						    "\\Deleted", "\\Draft" };

/* imap_flaglist_keyword_ok - an atom fit to be a keyword (RFC 9051 "flag-keyword"). */
static bool imap_flaglist_keyword_ok(const char *s, size_t len)
{
	if (len == 0 || len > 128)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

/* imap_flaglist_one - one flag atom into fl; -1 with *error_r. */
static int imap_flaglist_one(const struct imap_arg *a, struct imap_flaglist *fl,
			     const char **error_r)
{
	if (a->type != IMAP_ARG_ATOM) {
		*error_r = "Flags are atoms";
		return -1;
	}
	for (size_t i = 0; i < sizeof(imap_flaglist_system) / sizeof(imap_flaglist_system[0]); i++) {
		if (strcasecmp(a->u.str.data, imap_flaglist_system[i]) == 0) {
			fl->flags |= 1u << i;
			return 0;
		}
	}
	if (a->u.str.data[0] == '\\' || !imap_flaglist_keyword_ok(a->u.str.data, a->u.str.len)) {
		*error_r = "Invalid flag";
		return -1;
	}
	for (size_t k = 0; k < fl->nkeywords; k++) {
		if (strcasecmp(fl->keywords[k], a->u.str.data) == 0)
			return 0;
	}
	if (fl->nkeywords == IMAP_KEYWORDS_MAX) {
		*error_r = "Too many keywords";
		return -1;
	}
	fl->keywords[fl->nkeywords++] = xstrdup(a->u.str.data);
	return 0;
}

int imap_flaglist_parse(const struct imap_arg *args, size_t count, struct imap_flaglist *fl,
			const char **error_r)
{
	memset(fl, 0, sizeof(*fl));
	if (count == 1 && args[0].type == IMAP_ARG_LIST) {
		count = args[0].u.list.count;
		args = args[0].u.list.args;
	}
	for (size_t i = 0; i < count; i++) {
		if (imap_flaglist_one(&args[i], fl, error_r) < 0) {
			imap_flaglist_clear(fl);
			return -1;
		}
	}
	return 0;
}

void imap_flaglist_clear(struct imap_flaglist *fl)
{
	for (size_t k = 0; k < fl->nkeywords; k++)
		free(fl->keywords[k]);
	memset(fl, 0, sizeof(*fl));
}

/* imap_flaglist_bits - the letters of the names kw knows; true if some name is unknown. */
static bool imap_flaglist_bits(const struct imap_flaglist *fl, const struct imap_keywords *kw,
			       uint32_t *bits_r)
{
	bool unknown = false;

	*bits_r = 0;
	for (size_t k = 0; k < fl->nkeywords; k++) {
		int idx = imap_keywords_find(kw, fl->keywords[k]);

		if (idx >= 0)
			*bits_r |= 1u << idx;
		unknown |= idx < 0;
	}
	return unknown;
}

/* imap_flaglist_learn - under the uidlist lock: the folder's file again, the new names added. */
static int imap_flaglist_learn(const struct imap_flaglist *fl, const char *dir,
			       struct imap_keywords *kw, char **error_r)
{
	struct imap_dotlock *lock = NULL;
	int rc = imap_uidlist_lock(dir, IMAP_UIDLIST_LOCK_TIMEOUT, &lock, error_r);

	if (rc <= 0) {
		if (rc == 0)
			*error_r = xstrdup("dovecot-uidlist is locked by someone else");
		return -1;
	}
	imap_keywords_clear(kw);
	rc = imap_keywords_read(dir, kw, error_r);
	for (size_t k = 0; k < fl->nkeywords && rc == 0; k++) {
		if (imap_keywords_find(kw, fl->keywords[k]) < 0 &&
		    imap_keywords_add(kw, fl->keywords[k]) < 0) {
			*error_r = xstrdup("the folder has 26 keywords already");
			rc = -1;
		}
	}
	if (rc == 0)
		rc = imap_keywords_write(dir, kw, error_r);
	imap_uidlist_unlock(&lock);
	return rc;
}

int imap_flaglist_keywords(const struct imap_flaglist *fl, const char *dir,
			   struct imap_keywords *kw, bool add, uint32_t *bits_r, char **error_r)
{
	if (!imap_flaglist_bits(fl, kw, bits_r) || !add)
		return 0;
	if (imap_flaglist_learn(fl, dir, kw, error_r) < 0)
		return -1;
	imap_flaglist_bits(fl, kw, bits_r);
	return 0;
}

/*
 * authres - the Authentication-Results header field (RFC 8601): writing the
 * one posternd adds on port 25, and recognising one that claims our
 * authserv-id so that a forged copy can be removed (RFC 8601 5). Pure:
 * strings in, strings out. Every value written may come from an attacker
 * (a d=, a MAIL FROM, a reason), so values that are not RFC 2045 tokens are
 * quoted, and the output is printable ASCII: no CR, LF or control byte
 * from the inputs ever reaches it.
 */
#ifndef POSTERN_AUTHRES_H
#define POSTERN_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#define AUTHRES_VALUE_MAX 256 /* longer values are cut (at a character boundary) and quoted */

/* One DKIM signature's verdict. */
struct authres_dkim {
	const char *result;  /* "pass", "fail", "neutral", "policy", "temperror", "permerror", ... */
	const char *d;       /* header.d= */
	const char *s;       /* header.s=, optional */
	const char *b8;      /* header.b=: the first 8 characters of b= (RFC 6008), or NULL */
	const char *reason;  /* reason="...", optional */
};

/* The verdicts for one message; NULL fields are left out. */
struct authres {
	const char *hostname;      /* authserv-id */
	const char *spf;           /* SPF result, NULL: no spf clause */
	const char *spf_mailfrom;  /* smtp.mailfrom= (address or domain) ... */
	const char *spf_helo;      /* ... or smtp.helo= when there is no mailfrom */
	const struct authres_dkim *dkim;
	size_t n_dkim;             /* 0: "dkim=none" */
	const char *dmarc;         /* DMARC result, NULL: no dmarc clause */
	const char *dmarc_from;    /* header.from= */
	const char *dmarc_p;       /* the record's p=, written as a comment "(p=reject)", optional */
	const char *dmarc_policy;  /* policy.dmarc=: the policy applied, none|quarantine|reject, optional */
};

/*
 * authres_format - the whole field, malloc'd, with LF line ends and folded:
 *   "Authentication-Results: HOST;\n\tspf=pass smtp.mailfrom=...;\n"
 *   "\tdkim=pass header.d=... header.s=... header.b=...;\n"
 *   "\tdmarc=pass (p=reject) header.from=...\n"
 * Results that are not keywords (letters, digits, "-") are written as
 * "permerror". A value is written bare when it is an RFC 2045 token, else
 * as a quoted-string with '"' and '\' escaped and every byte that is not
 * printable ASCII as '?'; values past AUTHRES_VALUE_MAX bytes are cut and
 * quoted. Domains (header.d, header.from, smtp.helo) in UTF-8 are written
 * as A-labels; smtp.mailfrom is written as pvalue = local-part "@" domain
 * (RFC 8601 2.2), its local part bare when a dot-atom, else quoted. A line
 * that would pass 78 columns is folded before the next property.
 *
 * Note for readers of the output: python3-authres (1.2.0) accepts a
 * quoted-string pvalue only as the last property of a resinfo and drops it
 * elsewhere; only hostile or malformed values are ever quoted here, and
 * header.b (quoted when its 8 characters hold a '/') comes last.
 */
char *authres_format(const struct authres *ar);

/*
 * authres_claims - does this field value (after the colon) name
 * authserv_id as its authserv-id (RFC 8601 2.2: [CFWS] value, token or
 * quoted-string)? Case-insensitive, comments and folding skipped, one
 * trailing dot ignored on both sides; what follows (a version, the results)
 * is not checked, so that anything claiming us is caught.
 */
bool authres_claims(const char *value, size_t len, const char *authserv_id);

#endif

/*
 * srs - the Sender Rewriting Scheme, as libsrs2 (the reference) and
 * postsrsd write and read it, so that mail we forward passes SPF at the
 * destination and its bounces find their way back.
 *
 *   forward  local@domain               -> SRS0=HHHH=TT=domain=local@SRS_DOMAIN
 *   forward  SRS0=opaque@hop1           -> SRS1=HHHH=hop1==opaque@SRS_DOMAIN
 *   forward  SRS1=xxxx=hop1=opaque@hopN -> SRS1=HHHH=hop1=opaque@SRS_DOMAIN
 *   reverse  SRS0=...@SRS_DOMAIN        -> local@domain (hash and age checked)
 *   reverse  SRS1=...@SRS_DOMAIN        -> SRS0=opaque@hop1 (hash checked)
 *
 * HHHH: the first 4 base64 characters of HMAC-SHA1(secret, lower-cased
 * TT || domain || local) for SRS0, of (hop1 || opaque) for SRS1; written in
 * the base64url alphabet (postsrsd 2.x), read in either alphabet and in any
 * case, since MTAs may change the case of a local part. TT: days since the
 * epoch mod 1024 in two base32 characters (ABC...XYZ234567). With the same
 * secret text and clock, postsrsd (its defaults: separator '=', hash length
 * 4) and this module write the same addresses and read each other's.
 * (OpenSMTPD uses the same layout with a plain SHA1 over different input:
 * its addresses do not verify here, nor ours there.)
 *
 * Local parts are handled unquoted: a quoted sender ("a b"@x) is hashed as
 * a b, and a result that is no RFC 5321 Dot-string is quoted as a whole.
 * SRS local parts may be up to SRS_LOCAL_MAX (255) octets, past RFC 5321's 64.
 *
 * Pure functions: no I/O, no globals, no allocation. The secret file lives
 * in srs_secret.c (srs_secret_load).
 */
#ifndef POSTERN_SRS_H
#define POSTERN_SRS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SRS_LOCAL_MAX 255        /* longest local part, unquoted, in or out */
#define SRS_DOMAIN_MAX 255       /* longest domain */
/* longest address in or out: a local part quoted with every octet escaped, '@', a domain */
#define SRS_ADDRESS_MAX (2 * SRS_LOCAL_MAX + 2 + 1 + SRS_DOMAIN_MAX)
#define SRS_HASH_LEN 4           /* hash characters written and compared */
#define SRS_MAX_AGE_DEFAULT 21   /* days an SRS0 address stays valid (postsrsd) */
#define SRS_FUTURE_MARGIN 1      /* days a timestamp may lie ahead (clock skew; OpenSMTPD) */
#define SRS_SECRET_MIN 16        /* shortest secret srs_secret_load accepts */
#define SRS_SECRET_MAX 256       /* longest secret; the size of srs_secret_load's buffer */

enum srs_result {
	SRS_OK = 0,      /* out holds the rewritten address */
	SRS_NULL_SENDER, /* forward: the sender is <> (empty): never rewritten, forward with <> */
	SRS_OWN_DOMAIN,  /* forward: the sender's domain is the SRS domain: out is the sender unchanged */
	SRS_NOT_SRS,     /* reverse: no SRS0/SRS1 local part at the SRS domain: an ordinary address */
	SRS_BAD_SYNTAX,  /* no '@', an empty part, a control byte, a missing SRS field, a bad stamp */
	SRS_TOO_LONG,    /* an input or the result past the limits above */
	SRS_BAD_HASH,    /* reverse: the hash does not match: forged or damaged */
	SRS_EXPIRED,     /* reverse: older than max_age_days, or more than SRS_FUTURE_MARGIN ahead */
	SRS_BAD_PARAMS,  /* no secret or no SRS domain given */
};

/* What both directions need; the caller owns the memory. */
struct srs_params {
	const unsigned char *secret; /* the HMAC key: srs_secret_load's bytes */
	size_t secret_len;
	const char *domain;          /* our SRS domain: the domain of every address we write */
	time_t now;                  /* the current time, seconds since the epoch */
	unsigned max_age_days;       /* 0: SRS_MAX_AGE_DEFAULT; at most 1000 */
};

/*
 * srs_forward - rewrite the envelope sender (local@domain, len bytes, no
 * angle brackets; split at its last '@') for forwarding from p->domain.
 * SRS_OK: out holds SRS0=... or SRS1=... (see above); an SRS1 sender that
 * cannot be parsed is wrapped as SRS0 like an ordinary one (its reversal is
 * the sender unchanged). SRS_NULL_SENDER when len is 0 (or the sender is
 * "<>"); SRS_OWN_DOMAIN (out = the sender) when its domain is p->domain;
 * otherwise an error and out is "".
 */
enum srs_result srs_forward(const struct srs_params *p, const char *sender, size_t len,
			    char out[SRS_ADDRESS_MAX + 1]);

/*
 * srs_reverse - the address a bounce to rcpt (local@domain, len bytes)
 * goes to. SRS_NOT_SRS unless the domain is p->domain (any case) and the
 * local part (quoted or not) starts with SRS0 or SRS1 and one of "=-+" (any
 * case). SRS_OK: out holds the original sender for SRS0, the first
 * forwarder's SRS0 address for SRS1. The hash is checked first
 * (SRS_BAD_HASH), then the age (SRS_EXPIRED; for SRS1 that of the SRS0
 * timestamp inside, when it can be read). Any other result leaves out "".
 */
enum srs_result srs_reverse(const struct srs_params *p, const char *rcpt, size_t len,
			    char out[SRS_ADDRESS_MAX + 1]);

/*
 * srs_is_srs_local - whether a local part (len bytes, quoted or not) starts
 * like an SRS address (SRS0/SRS1 and a separator, any case): such a
 * recipient at the SRS domain is for srs_reverse, not the account lookup.
 */
bool srs_is_srs_local(const char *local, size_t len);

/* srs_strerror - a short static text for a result ("forged SRS address (bad hash)", ...). */
const char *srs_strerror(enum srs_result result);

/*
 * srs_secret_load - the SRS secret from DATA_DIR/srs.secret into buf (room
 * for SRS_SECRET_MAX bytes), *len_r its length. The key is the text of the
 * file's first line (without CR/LF), as postsrsd reads its secrets file, so
 * the same file can serve both. On first use the file is made: 32 random
 * bytes as 64 hex digits and a newline, mode 0600 (owned like DATA_DIR when
 * run as root), written to a temporary file, fsync'ed and linked into place
 * (never replacing a secret another process made meanwhile). Returns 0, or
 * -1 with *error_r (free() it) naming the file and the failed step. The
 * secret is never put into error texts.
 */
int srs_secret_load(const char *data_dir, unsigned char *buf, size_t *len_r, char **error_r);

#endif

/*
 * auth_mech - the pure pieces of the login mechanisms that POP3 and SMTP
 * AUTH share: base64 (RFC 4648, strict), the SASL PLAIN message (RFC
 * 4616), APOP digests (RFC 1939 section 7) and CRAM-MD5 (RFC 2195). The
 * digest checks compare in constant time and, without a secret, spend the
 * same work on a dummy one, so that a missing account or secret answers
 * like a wrong digest.
 */
#ifndef POSTERN_AUTH_MECH_H
#define POSTERN_AUTH_MECH_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_MD5_HEX_LEN 32

/*
 * auth_base64_decode - decode len bytes of base64 (padded, no white space)
 * into out (out_size bytes; len / 4 * 3 + 1 always suffices) and NUL-terminate.
 * Returns 0 with *out_len_r set, or -1 on bad input or too little room.
 */
int auth_base64_decode(const char *in, size_t len, char *out, size_t out_size, size_t *out_len_r);

/* auth_base64_encode - encode into out (4 * ((len + 2) / 3) + 1 bytes); returns the length. */
size_t auth_base64_encode(const void *in, size_t len, char *out, size_t out_size);

/*
 * auth_plain_split - split a decoded PLAIN message "authzid NUL authcid NUL
 * passwd" of len bytes at buf (buf[len] must be a NUL) into its three
 * strings, pointing into buf. Returns 0, or -1 when malformed or when
 * authcid or passwd is empty.
 */
int auth_plain_split(char *buf, size_t len, const char **authzid_r, const char **authcid_r,
		     const char **passwd_r);

/* auth_apop_check - digest (hex, any case) == MD5(timestamp secret); secret may be NULL (false). */
bool auth_apop_check(const char *timestamp, const char *secret, const char *digest, size_t len);

/* auth_cram_md5_check - digest (hex) == HMAC-MD5(secret, challenge); secret may be NULL (false). */
bool auth_cram_md5_check(const char *challenge, const char *secret, const char *digest,
			 size_t len);

/* auth_cram_md5_split - "name SP digest": the name is cut at the last space (NUL written there). */
int auth_cram_md5_split(char *buf, size_t len, const char **name_r, const char **digest_r,
			size_t *digest_len_r);

#endif

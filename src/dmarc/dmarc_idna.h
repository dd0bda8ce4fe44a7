/*
 * dmarc_idna - UTF-8 labels to their A-label form (RFC 3492 punycode with
 * the "xn--" prefix, RFC 5891 4.4), for Public Suffix List rules written in
 * UTF-8. No IDNA mapping or validation: the list is already normalized.
 */
#ifndef POSTERN_DMARC_IDNA_H
#define POSTERN_DMARC_IDNA_H

#include <stddef.h>

/* dmarc_idna_to_ascii - name with each non-ASCII label as its A-label, into out; -1 on bad UTF-8 or too long. */
int dmarc_idna_to_ascii(const char *name, size_t len, char out[256]);

#endif

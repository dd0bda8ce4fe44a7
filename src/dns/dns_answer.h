/*
 * dns_answer - one DNS answer as the mail-authentication code sees it:
 * the outcome class and the records in text form. It is the only thing
 * the pure SPF, DKIM and DMARC code knows about DNS; dns_lookup.c fills it
 * from c-ares, and the unit tests fill it from zone data.
 */
#ifndef POSTERN_DNS_ANSWER_H
#define POSTERN_DNS_ANSWER_H

#include <stddef.h>

/* Record types, the DNS numbers. */
enum dns_rrtype {
	DNS_RR_A = 1,
	DNS_RR_PTR = 12,
	DNS_RR_MX = 15,
	DNS_RR_TXT = 16,
	DNS_RR_AAAA = 28,
};

enum dns_rcode {
	DNS_R_OK,       /* NOERROR: n may be 0 (no records of that type) */
	DNS_R_NXDOMAIN, /* the name does not exist */
	DNS_R_TEMP,     /* SERVFAIL, timeout, no server, malformed answer */
};

#define DNS_ANSWER_MAX_RR 64         /* records kept per answer; the rest are dropped */
#define DNS_ANSWER_MAX_TXT (8 * 1024) /* a TXT record longer than this is cut (see TXT below) */
#define DNS_ANSWER_TXT_STUB 64        /* what is kept of such a record */

/*
 * The records, each a NUL-terminated string:
 *   A, AAAA  the address in presentation form ("192.0.2.1", "2001:db8::1")
 *   MX       the exchange's name, without the preference and the final dot
 *   PTR      the name, without the final dot
 *   TXT      the record's strings concatenated (RFC 7208 3.3); a record
 *            with a NUL byte is dropped; one longer than DNS_ANSWER_MAX_TXT
 *            is its first DNS_ANSWER_TXT_STUB bytes and a DEL byte (0x7f),
 *            so that SPF, DKIM and DMARC refuse it (permerror) instead of
 *            taking the name for one without a record
 */
struct dns_answer {
	enum dns_rcode rcode;
	size_t n;
	char **rr;
};

#endif

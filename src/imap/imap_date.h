/*
 * imap_date - the dates of IMAP, pure: the search date of SEARCH BEFORE /
 * ON / SINCE ("1-Feb-1994", RFC 9051 section 9 "date"), the date-time of
 * INTERNALDATE and APPEND ("05-Dec-2026 00:10:17 +0000") both ways, and a
 * lenient reader of RFC 5322 Date: header values (obsolete forms of RFC
 * 5322 section 4.3, comments, missing seconds, two-digit years, named
 * zones) for SENTBEFORE / SENTON / SENTSINCE. No time zone database, no
 * locale, no globals: a zone is an offset in seconds east of UTC.
 */
#ifndef POSTERN_IMAP_DATE_H
#define POSTERN_IMAP_DATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define IMAP_DATETIME_LEN 26 /* "05-Dec-2026 00:10:17 +0000", without quotes */

/* imap_date_day_from_civil - days since 1970-01-01 of a proleptic Gregorian date. */
int64_t imap_date_day_from_civil(int64_t year, unsigned month, unsigned mday);

/* imap_date_day - the calendar day (days since 1970-01-01) of t seen in zone tzoff. */
int64_t imap_date_day(time_t t, int tzoff);

/*
 * imap_date_parse_search - a search date "1-Feb-1994" (surrounding double
 * quotes allowed) as its day number; 0, or -1 with *error_r.
 */
int imap_date_parse_search(const char *s, size_t len, int64_t *day_r, const char **error_r);

/*
 * imap_date_parse_datetime - an IMAP date-time "05-Dec-2026 00:10:17
 * +0000" (or " 5-Dec-...", quotes allowed): the instant and its zone offset.
 */
int imap_date_parse_datetime(const char *s, size_t len, time_t *t_r, int *tzoff_r,
			     const char **error_r);

/*
 * imap_date_format_datetime - t as an IMAP date-time in zone tzoff (seconds
 * east of UTC), without quotes, into buf (IMAP_DATETIME_LEN + 1 bytes).
 */
void imap_date_format_datetime(time_t t, int tzoff, char buf[IMAP_DATETIME_LEN + 1]);

/*
 * imap_date_parse_rfc5322 - a Date: field value, leniently: the instant and
 * the zone it was written in (0 when absent or unknown); 0 or -1.
 */
int imap_date_parse_rfc5322(const char *s, size_t len, time_t *t_r, int *tzoff_r);

#endif

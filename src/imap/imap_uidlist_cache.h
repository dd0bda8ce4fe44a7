/*
 * imap_uidlist_cache - the parsed dovecot-uidlists of the folders messages
 * were last added to, kept between adds (imap_add): an APPEND to a Sent
 * folder of 10,000 messages then reads the records appended since the
 * last one (imap_uidlist_reread) instead of reading and parsing the whole
 * file each time. An entry is taken out while one thread uses it, under
 * the folder's uidlist lock, and put back after; at most
 * IMAP_UIDLIST_CACHE_MAX folders and IMAP_UIDLIST_CACHE_TOTAL records
 * (about 100 octets each), the least recently put back go first.
 */
#ifndef POSTERN_IMAP_UIDLIST_CACHE_H
#define POSTERN_IMAP_UIDLIST_CACHE_H

#include "imap/imap_uidlist.h"

#define IMAP_UIDLIST_CACHE_MAX 64
#define IMAP_UIDLIST_CACHE_RECS (256u << 10) /* larger lists are not kept */
#define IMAP_UIDLIST_CACHE_TOTAL (1u << 20)  /* records in all lists kept */

/* imap_uidlist_cache_take - the list kept for folder dir into *ul (moved out); false if none. */
bool imap_uidlist_cache_take(const char *dir, struct imap_uidlist *ul);

/* imap_uidlist_cache_put - keep *ul for folder dir (moved in: *ul is empty afterwards). */
void imap_uidlist_cache_put(const char *dir, struct imap_uidlist *ul);

/* imap_uidlist_cache_clear - forget every list (tests; the daemon's end). */
void imap_uidlist_cache_clear(void);

#endif

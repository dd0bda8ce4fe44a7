/*
 * imap_compress - a DEFLATE layer (RFC 4978 COMPRESS=DEFLATE) over a
 * session's bufferevent: a libevent filter bufferevent whose input is
 * inflated and whose output is deflated and flushed at each write.
 */
#ifndef POSTERN_IMAP_COMPRESS_H
#define POSTERN_IMAP_COMPRESS_H

struct bufferevent;

/*
 * imap_compress_wrap - a filter bufferevent over under; NULL when zlib
 * cannot start. Freeing the filter leaves under alone: the session
 * unwraps before its last answer drains, which only under can tell.
 */
struct bufferevent *imap_compress_wrap(struct bufferevent *under);

#endif

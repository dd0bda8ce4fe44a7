/*
 * imap_compress - COMPRESS=DEFLATE (RFC 4978): after "OK DEFLATE active"
 * both directions are raw DEFLATE streams. A libevent filter bufferevent
 * sits on top of the session's (TCP or TLS) one: input is inflated as it
 * arrives, output is deflated and flushed (Z_SYNC_FLUSH) every time the
 * session has written something, so every answer reaches the client whole.
 *
 * Memory: the deflate side uses a 4 KB window and memLevel 5 (about 32 KB,
 * instead of zlib's default 256 KB: RFC 4978 lets the compressor choose),
 * the inflate side must accept the client's 32 KB window.
 */
#include "imap/imap_compress.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/xalloc.h"

#define IMAP_COMPRESS_WBITS_OUT 12
#define IMAP_COMPRESS_MEMLEVEL 5
#define IMAP_COMPRESS_CHUNK 16384
#define IMAP_COMPRESS_SLICE 1024 /* compressed input per inflate: at most about 1 MB out */

struct imap_compress {
	z_stream in, out;
};

/* imap_compress_free_cb - the filter is freed: release zlib's state. */
static void imap_compress_free_cb(void *ctx)
{
	struct imap_compress *z = ctx;

	inflateEnd(&z->in);
	deflateEnd(&z->out);
	free(z);
}

/* imap_compress_run - run zlib over one source chunk into dst; -1 on a stream error. */
static int imap_compress_run(z_stream *zs, bool inflating, const void *p, size_t len, int flush,
			     struct evbuffer *dst)
{
	zs->next_in = (Bytef *)(uintptr_t)p;
	zs->avail_in = (uInt)len;
	do {
		struct evbuffer_iovec v;
		int rc;

		if (evbuffer_reserve_space(dst, IMAP_COMPRESS_CHUNK, &v, 1) < 1)
			return -1;
		zs->next_out = v.iov_base;
		zs->avail_out = (uInt)v.iov_len;
		rc = inflating ? inflate(zs, Z_SYNC_FLUSH) : deflate(zs, flush);
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -1;
		v.iov_len -= zs->avail_out;
		evbuffer_commit_space(dst, &v, 1);
	} while (zs->avail_out == 0 || zs->avail_in > 0);
	return 0;
}

/*
 * imap_compress_pass - feed src through zs into dst, at most limit bytes of
 * dst (0: no limit) give or take what one slice inflates to: a small
 * compressed input must not become megabytes in memory at once (the rest
 * waits in src until the session has read what came out).
 */
static enum bufferevent_filter_result imap_compress_pass(z_stream *zs, bool inflating,
							 struct evbuffer *src, struct evbuffer *dst,
							 ev_ssize_t limit)
{
	size_t len = evbuffer_get_length(src), start = evbuffer_get_length(dst);

	while (len > 0 && (limit <= 0 || evbuffer_get_length(dst) - start < (size_t)limit)) {
		struct evbuffer_iovec v;
		size_t n;

		evbuffer_peek(src, -1, NULL, &v, 1);
		n = inflating && v.iov_len > IMAP_COMPRESS_SLICE ? IMAP_COMPRESS_SLICE : v.iov_len;
		if (imap_compress_run(zs, inflating, v.iov_base, n,
				      n == len ? Z_SYNC_FLUSH : Z_NO_FLUSH, dst) < 0)
			return BEV_ERROR;
		evbuffer_drain(src, n);
		len -= n;
	}
	return BEV_OK;
}

/* imap_compress_in_cb - compressed bytes from the client become plain input. */
static enum bufferevent_filter_result imap_compress_in_cb(struct evbuffer *src,
							  struct evbuffer *dst, ev_ssize_t limit,
							  enum bufferevent_flush_mode mode, void *ctx)
{
	struct imap_compress *z = ctx;

	(void)mode;
	return imap_compress_pass(&z->in, true, src, dst, limit);
}

/* imap_compress_out_cb - the session's output, deflated and flushed. */
static enum bufferevent_filter_result imap_compress_out_cb(struct evbuffer *src,
							   struct evbuffer *dst, ev_ssize_t limit,
							   enum bufferevent_flush_mode mode, void *ctx)
{
	struct imap_compress *z = ctx;

	(void)limit;
	(void)mode;
	return imap_compress_pass(&z->out, false, src, dst, 0);
}

struct bufferevent *imap_compress_wrap(struct bufferevent *under)
{
	struct imap_compress *z = xcalloc(1, sizeof(*z));
	struct bufferevent *bev;

	if (inflateInit2(&z->in, -MAX_WBITS) != Z_OK) {
		free(z);
		return NULL;
	}
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -IMAP_COMPRESS_WBITS_OUT,
			 IMAP_COMPRESS_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&z->in);
		free(z);
		return NULL;
	}
	bev = bufferevent_filter_new(under, imap_compress_in_cb, imap_compress_out_cb,
				     BEV_OPT_DEFER_CALLBACKS, imap_compress_free_cb, z);
	if (bev == NULL)
		imap_compress_free_cb(z);
	return bev;
}

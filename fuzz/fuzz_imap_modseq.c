// FUZZ_SOURCES: src/imap/imap_modseq.c src/imap/imap_seqset.c src/util/xalloc.c src/util/log.c
/*
 * fuzz_imap_modseq - the postern-modseq file on hostile bytes. When the
 * input parses, formatting gives the very same bytes (the format is
 * canonical) and parses again. Then the input's bytes drive a folder
 * derived from the records (messages expunged, flags changed, expunged UIDs
 * back, a new UID): after imap_modseq_sync the record matches the folder,
 * MODSEQs stay within highest, the expunge records stay bounded and
 * disjoint from the messages, a second sync changes nothing, the result
 * formats and parses, and VANISHED names no live message.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_mailbox.h"
#include "imap/imap_modseq.h"
#include "imap/imap_seqset.h"

#define FUZZ_GONE_MAX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check - the invariants of a record: ascending, disjoint, bounded MODSEQs. */
static void fuzz_check(const struct imap_modseq *ms)
{
	size_t i = 0, k = 0;
	uint32_t last = 0;

	if (ms->gone_floor > ms->highest)
		abort();
	while (i < ms->nrecs || k < ms->ngone) {
		bool rec = k == ms->ngone || (i < ms->nrecs && ms->recs[i].uid < ms->gone[k].uid);
		uint32_t uid = rec ? ms->recs[i].uid : ms->gone[k].uid;
		uint64_t modseq = rec ? ms->recs[i++].modseq : ms->gone[k++].modseq;

		if (uid <= last || modseq == 0 || modseq > ms->highest)
			abort();
		last = uid;
	}
}

/* fuzz_reparse - ms formats into text that parses back to what formats the same. */
static void fuzz_reparse(const struct imap_modseq *ms)
{
	struct imap_modseq b;
	const char *err = NULL;
	size_t len1, len2;
	char *t1 = imap_modseq_format(ms, &len1), *t2;

	imap_modseq_init(&b);
	if (imap_modseq_parse(t1, len1, &b, &err) < 0)
		abort();
	t2 = imap_modseq_format(&b, &len2);
	if (len1 != len2 || memcmp(t1, t2, len1) != 0 || b.nrecs != ms->nrecs || b.ngone != ms->ngone)
		abort();
	free(t1);
	free(t2);
	imap_modseq_clear(&b);
}

/* fuzz_folder - a folder from the record, changed as the input's bytes say; its size. */
static size_t fuzz_folder(const struct imap_modseq *ms, const uint8_t *data, size_t size,
			  struct imap_msg *msgs)
{
	size_t i = 0, k = 0, n = 0, at = 0;

	while (i < ms->nrecs || k < ms->ngone) {
		uint8_t b = data[at++ % size];
		bool rec = k == ms->ngone || (i < ms->nrecs && ms->recs[i].uid < ms->gone[k].uid);

		if (rec) {
			const struct imap_modseq_rec *r = &ms->recs[i++];
			if ((b & 3) == 0)
				continue; /* expunged */
			msgs[n] = (struct imap_msg){ .uid = r->uid, .flags = r->flags, .keywords = r->keywords };
			msgs[n].flags ^= (uint8_t)((b >> 2) & 0x3f); /* RECENT too: no change */
			msgs[n++].keywords ^= (b & 0x80) ? 1u << (b & 31) : 0;
		} else {
			uint32_t uid = ms->gone[k++].uid;
			if ((b & 7) == 7)
				msgs[n++] = (struct imap_msg){ .uid = uid }; /* back */
		}
	}
	if (size & 1) {
		uint32_t top = n > 0 ? msgs[n - 1].uid : 0;
		top = ms->nrecs > 0 && ms->recs[ms->nrecs - 1].uid > top ? ms->recs[ms->nrecs - 1].uid : top;
		top = ms->ngone > 0 && ms->gone[ms->ngone - 1].uid > top ? ms->gone[ms->ngone - 1].uid : top;
		if (top < 4294967294u)
			msgs[n++] = (struct imap_msg){ .uid = top + 1, .flags = IMAP_FLAG_SEEN };
	}
	return n;
}

/* fuzz_vanished - no UID VANISHED reports is a message now; the text is a UID set. */
static void fuzz_vanished(const struct imap_modseq *ms, uint64_t since)
{
	struct imap_seqset set;
	struct imap_seqset_iter it;
	struct imap_seq_range r;
	const char *err;
	size_t count = 0, total = 0;
	char *text = imap_modseq_vanished(ms, since, NULL, 4294967295u, &count);

	if (text == NULL) {
		if (count != 0)
			abort();
		return;
	}
	if (imap_seqset_parse(text, strlen(text), SIZE_MAX, &set, &err) < 0)
		abort();
	imap_seqset_iter_init(&it, &set, 0, false);
	for (size_t j = 0; imap_seqset_iter_next(&it, &r); total += (size_t)(r.hi - r.lo) + 1) {
		while (j < ms->nrecs && ms->recs[j].uid < r.lo)
			j++;
		if (j < ms->nrecs && ms->recs[j].uid <= r.hi)
			abort();
	}
	if (total != count)
		abort();
	imap_seqset_clear(&set);
	free(text);
}

/* fuzz_sync - sync with a folder derived from the record; the invariants after it. */
static void fuzz_sync(struct imap_modseq *ms, const uint8_t *data, size_t size)
{
	struct imap_msg *msgs = calloc(ms->nrecs + ms->ngone + 2, sizeof(*msgs));
	uint64_t now = (uint64_t)data[0] << (data[size - 1] & 63);
	size_t n = fuzz_folder(ms, data, size, msgs);

	if (msgs == NULL || imap_modseq_sync(ms, ms->uidvalidity, msgs, n, now, IMAP_MODSEQ_ALL) < 0)
		abort();
	fuzz_check(ms);
	if (ms->nrecs != n || ms->ngone > FUZZ_GONE_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (ms->recs[i].uid != msgs[i].uid || ms->recs[i].modseq != msgs[i].modseq)
			abort();
	}
	if (imap_modseq_sync(ms, ms->uidvalidity, msgs, n, now, IMAP_MODSEQ_ALL) != 0)
		abort();
	if (ms->highest <= IMAP_MODSEQ_MAX)
		fuzz_reparse(ms);
	fuzz_vanished(ms, ms->gone_floor);
	fuzz_vanished(ms, ms->gone_floor > 0 ? ms->gone_floor - 1 : 0);
	fuzz_vanished(ms, now);
	free(msgs);
}

/* LLVMFuzzerTestOneInput - the input as a postern-modseq file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *text;
	struct imap_modseq ms;
	const char *err = NULL;
	size_t len;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size); /* exact size for the parser: ASan sees overreads */
	imap_modseq_init(&ms);
	ms.gone_max = FUZZ_GONE_MAX;
	if (imap_modseq_parse(buf, size, &ms, &err) < 0) {
		if (err == NULL || ms.nrecs != 0 || ms.ngone != 0 || ms.uidvalidity != 0)
			abort();
		free(buf);
		return 0;
	}
	fuzz_check(&ms);
	text = imap_modseq_format(&ms, &len);
	if (len != size || memcmp(text, buf, size) != 0)
		abort(); /* canonical: what parses formats back byte for byte */
	free(text);
	fuzz_reparse(&ms);
	fuzz_sync(&ms, data, size);
	imap_modseq_clear(&ms);
	free(buf);
	return 0;
}

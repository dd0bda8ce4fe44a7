/*
 * store - durable message storage with group commit. A message is written
 * once, into an empty file of DATA_DIR/queue/tmp, while DATA is read. Its
 * commit joins every other commit waiting at that moment: one syncfs makes
 * the batch's text durable, each message is then hard-linked into its
 * recipients' Maildir new/ directories (the Maildir is the queue for local
 * mail), and the next syncfs, which also covers the next batch's text,
 * makes the links durable. Only then does the done callback run, so a 250
 * after DATA means the message is on stable storage. Messages with remote
 * recipients are also linked into DATA_DIR/queue/msg with their envelope in
 * queue/env. Syncs and file creation run on a worker thread, never on the
 * event loop (store_batch.c).
 *
 * DATA_DIR/mail may be another mount (shared storage, NFS) than the rest
 * of DATA_DIR, where no link reaches: then texts are written on the mail
 * mount, in DATA_DIR/mail/.postern-tmp/HOSTNAME (one directory a host:
 * what a run left there is its own to drop), linked into the Maildirs
 * from there and copied into queue/msg; every sync covers both mounts.
 */
#ifndef POSTERN_STORE_H
#define POSTERN_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct store;
struct store_msg;

/* Counters for logs and benchmarks. */
struct store_stats {
	unsigned long messages; /* committed */
	unsigned long batches;
	unsigned long syncs;
};

/*
 * store_open - prepare DATA_DIR (queue/tmp, mail/) and drop what an earlier
 * run left unacknowledged in queue/tmp. Returns NULL with *error_r set.
 */
struct store *store_open(struct event_base *base, const char *data_dir, const char *hostname,
			 char **error_r);

/* store_close - wait for commits in flight, run their callbacks, free. */
void store_close(struct store **sp);

/* store_mail_elsewhere - DATA_DIR/mail is another mount (shared storage, perhaps); any thread. */
bool store_mail_elsewhere(const struct store *s);

/* store_get_stats - counters so far. */
void store_get_stats(const struct store *s, struct store_stats *stats_r);

/* store_msg_new - start a message; NULL with errno set on failure. */
struct store_msg *store_msg_new(struct store *s);

/* store_msg_id - the message's queue id (hex), for logs and Received:. */
const char *store_msg_id(const struct store_msg *m);

/* store_msg_write - append message text (LF line ends); -1 with errno on failure. */
int store_msg_write(struct store_msg *m, const void *buf, size_t len);

/*
 * store_msg_add_mailbox - deliver to DATA_DIR/mail/DOMAIN/LOCAL; -1 if
 * unsafe as a path. orig: the recipient an alias led here from (logged as
 * orig_to=<...>), or NULL.
 */
int store_msg_add_mailbox(struct store_msg *m, const char *domain, const char *local,
			  const char *orig);

/*
 * store_msg_set_envelope - also queue the message for outbound delivery
 * with this queue envelope (see queue/queue_env.h); the store takes text.
 * At commit it lands in DATA_DIR/queue/env/ID beside DATA_DIR/queue/msg/ID,
 * in the same batch, before the done callback.
 */
void store_msg_set_envelope(struct store_msg *m, char *text, size_t len);

/*
 * store_msg_prepend - put text (LF line ends: headers such as
 * DKIM-Signature: or Authentication-Results:) before everything written so
 * far; the last write before commit. The commit's wire size grows by it.
 * -1 with errno on failure (the message is then not committed).
 */
int store_msg_prepend(struct store_msg *m, const char *text, size_t len);

/*
 * store_msg_splice - replace the del bytes at off (old: those bytes, as
 * the caller wrote them) with text; the last change before commit, like
 * store_msg_prepend. Used to drop forged Authentication-Results: fields.
 */
int store_msg_splice(struct store_msg *m, size_t off, const char *old, size_t del, const char *text,
		     size_t len);

/* store_msg_wire_delta - how much the splices changed the size with CRLF line ends. */
long long store_msg_wire_delta(const struct store_msg *m);

/* store_msg_prepended_8bit - did a splice bring 8-bit bytes (a UTF-8 address in a header)? */
bool store_msg_prepended_8bit(const struct store_msg *m);

/* store_msg_junk - deliver to each local recipient's Junk folder (Maildir++ ".Junk") instead. */
void store_msg_junk(struct store_msg *m);

/* store_set_queued_cb - called on the loop with the id of each newly queued message. */
void store_set_queued_cb(struct store *s, void (*cb)(void *arg, const char *id), void *arg);

/*
 * store_msg_commit - make the message durable in every recipient's Maildir.
 * wire_size is its size with CRLF line ends (the Maildir W= field, what POP3
 * reports). done_cb(arg, 0) runs on the loop once durable; done_cb(arg,
 * errno) if it could not be stored, in which case nothing is delivered.
 * The store owns m from here on.
 */
void store_msg_commit(struct store_msg *m, size_t wire_size, void (*done_cb)(void *arg, int err),
		      void *arg);

/*
 * store_sync - cb(arg, 0) on the loop after a syncfs of the data directory's
 * filesystem that began after this call (cb(arg, errno) if it failed): a
 * group-commit barrier for files written outside the store (IMAP APPEND,
 * COPY), sharing the store's syncs with the messages in flight.
 */
void store_sync(struct store *s, void (*cb)(void *arg, int err), void *arg);

/*
 * store_sync_link - the path of the store's own messages for files written
 * outside it: link(arg) runs on the sync worker right after a sync that
 * began after this call (the caller's files are durable: it may link
 * them), and cb(arg, 0) on the loop after the next sync (the links are
 * durable). If the first sync fails, link is not called and cb gets its
 * errno. link must not wait for anything: it holds up every commit.
 */
void store_sync_link(struct store *s, void (*link)(void *arg), void (*cb)(void *arg, int err),
		     void *arg);

/* store_msg_abort - drop a message that will not be committed. */
void store_msg_abort(struct store_msg **mp);

#endif

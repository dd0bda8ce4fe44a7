/*
 * imap_folder_job - a folder command's file work on a worker (LIST,
 * STATUS, CREATE, DELETE, RENAME, SUBSCRIBE): the worker fills an output
 * buffer of untagged lines and the tagged reply's text; the loop sends
 * them and the session reads on.
 */
#ifndef POSTERN_IMAP_FOLDER_JOB_H
#define POSTERN_IMAP_FOLDER_JOB_H

#include <stdbool.h>

#include "imap/imap_folder.h"

struct evbuffer;
struct imap_session;
struct imap_folder_job;

/* The work: runs on a worker; fills j->out and j->reply ("OK ...", "NO ..."). */
typedef void imap_folder_work_fn(struct imap_folder_job *j);

struct imap_folder_job {
	struct imap_session *s;
	imap_folder_work_fn *work;
	char *home;
	bool utf8;        /* names go out in UTF-8 (IMAP4rev2), else modified UTF-7 */
	unsigned opts;    /* the command's own options */
	bool deselect;    /* DELETE of the selected mailbox: deselect when it succeeds */
	void *data;       /* the command's own arguments, freed with free_data */
	void (*free_data)(void *data);
	char name[IMAP_FOLDER_NAME_MAX], dir[IMAP_FOLDER_PATH_MAX];
	char name2[IMAP_FOLDER_NAME_MAX], dir2[IMAP_FOLDER_PATH_MAX]; /* RENAME's new name */
	struct evbuffer *out;
	char reply[512];
};

/* imap_folder_job_new - a job for s with work; the command fills in its arguments. */
struct imap_folder_job *imap_folder_job_new(struct imap_session *s, imap_folder_work_fn *work);

/* imap_folder_job_discard - free a job that will not run (or has run). */
void imap_folder_job_discard(struct imap_folder_job *j);

/* imap_folder_job_run - hand it to a worker; the session waits for the answer. */
void imap_folder_job_run(struct imap_folder_job *j);

/* imap_folder_status_items - the bits of a STATUS item list "(MESSAGES UNSEEN)"; 0 if malformed. */
unsigned imap_folder_status_items(const struct imap_arg *list);

struct imap_folder_state;

/* imap_folder_status_line - "* STATUS quoted (...)" of a scanned folder, items as bits. */
void imap_folder_status_line(struct evbuffer *out, const char *quoted, unsigned items,
			     const struct imap_folder_state *st);

/* imap_folder_job_quote - name quoted as the job's client needs it, into out. */
int imap_folder_job_quote(const struct imap_folder_job *j, const char *name, char *out,
			  size_t size);

#endif

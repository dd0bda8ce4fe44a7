/*
 * imap_account - what an account's Maildir needs before its first IMAP
 * session: the Maildir itself, and the special-use folders Sent, Drafts,
 * Trash and Junk at the top level, each made and subscribed when missing
 * (as Dovecot's "auto = subscribe"): mail programs hide folders that are
 * not subscribed. Blocking: on a worker.
 */
#ifndef POSTERN_IMAP_ACCOUNT_H
#define POSTERN_IMAP_ACCOUNT_H

/* imap_account_prepare - make home and its special folders; 0, or -1 with *error_r (caller frees). */
int imap_account_prepare(const char *home, char **error_r);

#endif

/*
 * mailauth_sign - DKIM signatures for a message postern originates or
 * relays for its users (SPEC.md "Mail authentication"): one by every key
 * of the From: domain (RSA first), relaxed/relaxed. RSA signing costs more
 * CPU than the loop's whole per-message budget, so it runs on a worker;
 * the caller prepends the result before committing, so every retry sends
 * the same bytes. A failure signs nothing and loses nothing.
 */
#ifndef POSTERN_MAILAUTH_SIGN_H
#define POSTERN_MAILAUTH_SIGN_H

#include <stddef.h>

struct dkim_keys;
struct mailauth_stream;
struct workq;

/* mailauth_sign_prepare - give a fresh stream the body hasher signing needs. */
void mailauth_sign_prepare(struct mailauth_stream *st);

/*
 * mailauth_sign_start - sign the text st took in with the keys of its
 * From: domain, or of that domain's nearest parent with keys (keys must
 * outlive the job; id names the message in logs). done_cb runs on the
 * loop, or at once when there is nothing to sign with, with the
 * DKIM-Signature fields (malloc'd, LF line ends; the callee frees) or NULL
 * when there is no key or signing failed (logged). Takes st's header
 * section; st may be cleared at once.
 */
void mailauth_sign_start(struct workq *q, const struct dkim_keys *keys, struct mailauth_stream *st,
			 const char *id, void (*done_cb)(void *arg, char *fields), void *arg);

#endif

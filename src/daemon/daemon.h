/*
 * daemon - what every service of posternd shares: the event loop, the
 * configuration in force, the account table, the message store, password checks, TLS, the
 * worker pool for password checks, and the list of open connections (so
 * that SIGTERM can end them cleanly).
 */
#ifndef POSTERN_DAEMON_H
#define POSTERN_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/cfg.h"
#include "mailauth/mailauth_verify.h"

struct accounts;
struct auth;
struct event_base;
struct ssl_ctx_st;
struct relay_store;
struct store;
struct queue;
struct control;
struct workq;
struct daemon_listener;
struct metrics_http;
struct daemon_loops;
struct dkim_keys;
struct dmarc_psl;
struct dns;
struct imap_cache;

/* A connection of any service, linked into the daemon's list. */
struct daemon_conn {
	struct daemon_conn *prev, *next;
	/* stop - end the session soon (shutdown); it unlinks itself. */
	void (*stop)(struct daemon_conn *conn);
	/*
	 * abort - the shutdown grace period is over: end now, without waiting
	 * for output (a stalled TLS handshake never drains it). Optional.
	 */
	void (*abort)(struct daemon_conn *conn);
};

/* Seconds SIGTERM waits for sessions to finish before aborting them. */
#define DAEMON_STOP_GRACE 5

struct daemon {
	struct event_base *base;
	struct cfg *cfg;
	const char *cfg_path; /* NULL: embedded default */
	struct accounts *accounts; /* auth/accounts.h */
	struct store *store;
	struct queue *queue;     /* outbound delivery (queue/queue.h) */
	struct control *control; /* DATA_DIR/control socket (daemon/control.h) */
	struct relay_store *relay_store; /* grants (relay/grant_store.h); NULL: failed to open */
	struct auth *auth;       /* password checks off the loop (auth/auth_verify.h) */
	struct workq *io;        /* blocking file work off the loop: POP3 maildrop scans, UPDATE */
	struct ssl_ctx_st *tls;  /* server TLS context (tls/tls.h), reloaded on SIGHUP */
	struct ssl_ctx_st *tls_client; /* outbound STARTTLS; verified for the relayhost */
	struct daemon_listener *listeners;
	struct metrics_http *metrics; /* GET /metrics (metrics/metrics_http.h); NULL: off */
	unsigned char srs_secret[256]; /* DATA_DIR/srs.secret (addr/srs.h) */
	size_t srs_secret_len;         /* 0: unreadable, no forwarding with SRS */
	struct daemon_loops *loops;  /* session loop threads (daemon/loops.h) */
	struct dns *dns;             /* SPF, DKIM and DMARC lookups with their cache (dns/dns.h) */
	struct dmarc_psl *psl;       /* the Public Suffix List, for DMARC; NULL: unreadable */
	struct dkim_keys *dkim_keys; /* signing keys (dkim/dkim_keys.h), replaced on SIGHUP */
	struct dkim_keys **old_keys; /* tables SIGHUP replaced, kept to the end: a signing job may hold one */
	size_t n_old_keys;
	struct workq *crypto;        /* DKIM signing off the loop */
	struct imap_cache *imap_cache;   /* ENVELOPEs FETCH computed (imap/imap_cache.h) */
	struct mailauth_env mailauth; /* what the inbound checks share */
	struct daemon_conn conns; /* list head: the connections on this loop */
	unsigned long n_conns;    /* on every loop */
	uint32_t next_id;
	atomic_bool stopping;     /* read by every loop */
};

/* daemon_conn_add - link a new connection; returns its session id. */
uint32_t daemon_conn_add(struct daemon *d, struct daemon_conn *conn);

/* daemon_conn_link - put a connection into the list at head (a loop's own list). */
void daemon_conn_link(struct daemon_conn *head, struct daemon_conn *conn);

/* daemon_conn_detach - unlink a connection that moves to another loop; it stays counted. */
void daemon_conn_detach(struct daemon_conn *conn);

/* daemon_conn_remove - unlink a connection; ends the loop when stopping and none is left. */
void daemon_conn_remove(struct daemon *d, struct daemon_conn *conn);

/* daemon_peer - the client's address as text; true when it is a loopback address. */
bool daemon_peer(const struct sockaddr *sa, char *buf, size_t size);

/* daemon_plaintext_ok - may passwords cross this connection (auth.allow_plaintext)? */
bool daemon_plaintext_ok(const struct cfg *cfg, bool loopback, bool tls);


#endif

/*
 * delivery_log - the one line per recipient and delivery attempt that an
 * administrator greps for, as in Postfix: "to=<alice@example.test>
 * relay=local status=sent (delivered to maildir)". Local deliveries, remote
 * ones, deferrals and bounces all go through here, so the format and the
 * delivery counters of /metrics stay in one place.
 */
#ifndef POSTERN_DELIVERY_LOG_H
#define POSTERN_DELIVERY_LOG_H

enum delivery_status {
	DELIVERY_SENT,
	DELIVERY_DEFERRED,
	DELIVERY_BOUNCED,
};

/* delivery_status_name - "sent", "deferred" or "bounced". */
const char *delivery_status_name(enum delivery_status status);

/*
 * delivery_log - log one attempt. who is the session or job ("0000002a
 * smtp"), id the queue id that joins the from=<...> line, from may be NULL,
 * orig_to the recipient as given when an alias led to "to" (else NULL),
 * relay is "local" for a Maildir or the remote host, reason says why.
 */
void delivery_log(const char *who, const char *id, const char *from, const char *to,
		  const char *orig_to, const char *relay, enum delivery_status status,
		  const char *reason);

#endif

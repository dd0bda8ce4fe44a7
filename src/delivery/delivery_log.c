/* delivery_log - one line per recipient and delivery attempt. */
#include "delivery/delivery_log.h"

#include <stdbool.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/log.h"

_Static_assert(METRICS_DLV_SENT == (int)DELIVERY_SENT &&
		       METRICS_DLV_DEFERRED == (int)DELIVERY_DEFERRED &&
		       METRICS_DLV_BOUNCED == (int)DELIVERY_BOUNCED,
	       "the status labels of /metrics follow enum delivery_status");

/* delivery_status_name - "sent", "deferred" or "bounced". */
const char *delivery_status_name(enum delivery_status status)
{
	static const char *const names[] = {"sent", "deferred", "bounced"};

	return names[status];
}

/* delivery_log - log one attempt (see delivery_log.h). */
void delivery_log(const char *who, const char *id, const char *from, const char *to,
		  const char *orig_to, const char *relay, enum delivery_status status,
		  const char *reason)
{
	bool orig = orig_to != NULL && strcmp(orig_to, to) != 0;

	log_info("%s id=%s%s%s%s to=<%s>%s%s%s relay=%s status=%s (%s)", who, id,
		 from != NULL ? " from=<" : "", from != NULL ? from : "", from != NULL ? ">" : "",
		 to, orig ? " orig_to=<" : "", orig ? orig_to : "", orig ? ">" : "",
		 relay[0] != '\0' ? relay : "none", delivery_status_name(status), reason);
	metrics_delivery((enum metrics_dlv_status)status,
			 strcmp(relay, "local") == 0 ? METRICS_DEST_LOCAL : METRICS_DEST_REMOTE);
}

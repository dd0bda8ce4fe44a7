/*
 * auth_penalty - slows down password guessing: each failed login from an
 * address makes the next -ERR from that address wait longer (1 s, 2 s, 4 s,
 * 8 s, then AUTH_PENALTY_MAX_MS), until a login from it succeeds or it has
 * been quiet for AUTH_PENALTY_FORGET seconds. The table is bounded: when
 * full, the address that failed longest ago is forgotten. Pure: the caller
 * supplies the time and applies the delay with a timer.
 */
#ifndef POSTERN_AUTH_PENALTY_H
#define POSTERN_AUTH_PENALTY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AUTH_PENALTY_MAX_MS 15000u
#define AUTH_PENALTY_FORGET 900 /* seconds */
#define AUTH_PENALTY_COUNT_MAX 64 /* failures counted per address */

struct auth_penalty;

/* auth_penalty_new - an empty table for at most max_entries addresses. */
struct auth_penalty *auth_penalty_new(size_t max_entries);

/* auth_penalty_free - release; *pp becomes NULL. */
void auth_penalty_free(struct auth_penalty **pp);

/* auth_penalty_fail - count a failure from ip; returns how long to wait before answering (ms). */
unsigned auth_penalty_fail(struct auth_penalty *p, const char *ip, time_t now);

/*
 * auth_penalty_blocked - true while ip, after max_failures failures in a
 * row, is within lockout seconds of its last one: refuse without checking.
 */
bool auth_penalty_blocked(struct auth_penalty *p, const char *ip, time_t now,
			  unsigned max_failures, unsigned lockout);

/* auth_penalty_clear - a login from ip succeeded: forget its failures. */
void auth_penalty_clear(struct auth_penalty *p, const char *ip);

#endif

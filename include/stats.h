/*
 * stats.h - counters of what spfgate did, for operators.
 *
 * Owns: process-wide counters (lock-free atomics, updated from any
 * connection thread): messages per SPF result, per action, replies per
 * stage and code, DNS queries, evaluation time histogram, internal
 * errors; stats_write adds the DNS cache's counters (dns.h) and the
 * SPF result cache's (spfcache.h) once the daemon has named where they
 * come from. Fails: never;
 * counters saturate at 2^64.
 */
#ifndef SPFGATE_STATS_H
#define SPFGATE_STATS_H

#include <stdio.h>

#include "dns.h"
#include "replies.h"
#include "settings.h"
#include "spfcheck.h"

/* One message checked: its deciding result and the time the check took. */
void stats_checked(spfcheck_result r, unsigned elapsed_ms,
                   unsigned dns_queries);

/* One message not checked (trusted, auth, exempt). */
void stats_skipped(void);

/* One action taken (accept at end of data, or a refusal). */
void stats_action(settings_action a, bool dry_run);

/* One reply sent with `code` at `stage`. */
void stats_reply(replies_stage stage, int code);

/* One internal error answered with a temporary failure. */
void stats_error(void);

/* Where stats_write reads the DNS cache's counters (dns_cache_stats; set
 * once at start, before any signal can ask for the counters). */
void stats_dns_cache_source(void (*fn)(dns_cache_counters *));

/* Where stats_write reads the SPF result cache's hits and misses
 * (spfcache_counters; set once at start, likewise). */
void stats_result_cache_source(void (*fn)(unsigned long long *hits,
                                          unsigned long long *misses));

/* Writes the counters as "key value" lines (one per counter). */
void stats_write(FILE *out);

/* Logs the counters in a few lines. */
void stats_log(void);

#endif

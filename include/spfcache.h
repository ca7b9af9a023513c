/*
 * spfcache.h - recent SPF results, kept while every DNS answer they were
 * computed from is still in the DNS cache.
 *
 * Owns: a fixed table of slots (a new result replaces whatever had its
 * slot), shared by all threads under one mutex, and its counters.
 *
 * An SPF result depends on the client address, the HELO name, the
 * identity and the DNS answers consulted (RFC 7208 4.6, macros in 7);
 * spfcheck.c keys entries on the first three and keeps each one until the
 * earliest expiry of the answers used, so a hit gives what a new
 * evaluation with the same DNS cache would give. Results that rest on no
 * cached answer (temperror, a deadline, an answer not cacheable) or that
 * carry an explanation (it may expand %{t}, the time) are not kept.
 *
 * Fails: never as a call; out of memory only means a result is not kept.
 */
#ifndef SPFGATE_SPFCACHE_H
#define SPFGATE_SPFCACHE_H

#include <stdbool.h>
#include <time.h>

#include "spfcheck.h"

/* Default number of slots. */
#define SPFCACHE_DEFAULT_SLOTS 4096

/* Sizes the table (0: keep nothing) and empties it. Call before any
 * thread evaluates. */
void spfcache_setup(unsigned slots);

/* On a hit (same key, not expired) copies the result, mechanism and
 * problem into out and returns true. */
bool spfcache_get(const char *key, spfcheck_outcome *out);

/* Keeps o's result, mechanism and problem under key until `expires`
 * (CLOCK_MONOTONIC seconds). */
void spfcache_put(const char *key, const spfcheck_outcome *o, time_t expires);

/* Monotonic seconds, the clock of `expires`. */
time_t spfcache_now(void);

/* Hits and misses so far. */
void spfcache_counters(unsigned long long *hits, unsigned long long *misses);

/* Frees every entry and the table (at exit). */
void spfcache_shutdown(void);

#endif

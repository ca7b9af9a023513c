/*
 * dns.h - spfgate's DNS layer under libspf2: resolver, deadline, counters.
 *
 * Owns: the configured name servers and per-query timeout (process-wide,
 * fixed by dns_setup before any thread runs), the resolver states (one
 * taken from a small pool for each lookup that goes to the network, at
 * most a few kept idle), and the thread's current evaluation context
 * (dns_eval), which
 * every lookup made by libspf2 during an evaluation reports into.
 *
 * Fails: a lookup never fails as a call; DNS errors, timeouts and a passed
 * deadline come back to libspf2 as TRY_AGAIN (temporary), NXDOMAIN as
 * HOST_NOT_FOUND, an empty answer as NO_DATA, and are counted in the
 * evaluation context. Only dns_setup reports errors (bad server syntax).
 *
 * spfcheck.c drives it; stats.c reads the cache counters, spfgate-query
 * and the test tools the per-thread lookup trace. libspf2's types stay out
 * of it.
 */
#ifndef SPFGATE_DNS_H
#define SPFGATE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct SPF_dns_server_struct;

/* Most name servers one resolver state can hold (glibc's MAXNS). */
#define DNS_MAX_SERVERS 3

/* The state of one evaluation, owned by the caller (on its stack) and made
 * current for the calling thread between dns_eval_begin and dns_eval_end.
 * The lookup layer fills the counters and flags. */
typedef struct {
    struct timespec deadline; /* CLOCK_MONOTONIC; no lookup starts after */
    const char *top_domain;   /* domain whose record is evaluated first */
    int family;               /* client address family (set by the caller) */
    unsigned char ip[16];     /* client address, 4 or 16 octets */
    unsigned queries;         /* DNS queries sent */
    unsigned timeouts;        /* queries that got no answer in time */
    unsigned tempfails;       /* lookups answered TRY_AGAIN for any reason */
    unsigned terms;           /* DNS-querying terms so far (RFC 7208 4.6.4) */
    unsigned void_lookups;    /* terms whose lookup found nothing */
    unsigned records;         /* SPF records fetched */
    bool deadline_hit;        /* a lookup was refused or ran past the
                                 deadline */
    /* The earliest time (CLOCK_MONOTONIC seconds) an answer used so far
     * leaves the DNS cache; 0 once an answer was used that the cache did
     * not keep. A result may be reused until then (spfcache.h). */
    time_t valid_until;
    /* The first TXT lookup of top_domain: its outcome (a netdb h_errno
     * value, -1 before it happened) and how many "v=spf1" records it
     * returned. Lets the caller tell a missing record, a temporary
     * failure and a record libspf2 could not compile apart. */
    int top_herrno;
    unsigned top_spf_records;
    /* Non-empty: the evaluation is a permerror for this reason (record
     * syntax, lookup limits), whatever libspf2 concludes. */
    char perm_reason[160];
    /* The record in effect (the top one, or where redirect= led): its
     * domain, its redirect= and exp= targets (expanded). */
    char cur_domain[256];
    char redirect[256];
    char exp[256];
    /* Host names from the last MX or PTR answer: their address lookups
     * belong to that term. */
    char follow[10][256];
    unsigned n_follow;
    /* Synthetic questions handed to libspf2 as exists:sN.spfgate.invalid */
    struct {
        int kind;
        char domain[256];
    } synth[8];
    unsigned n_synth;
} dns_eval;

/* Fixes the name servers ("ADDR", "ADDR:PORT", "[V6]:PORT" or a bare IPv6
 * address; none: the system's) and the per-query timeout (milliseconds,
 * rounded up to whole seconds by the resolver; 0: 2000). Call before any
 * thread looks anything up. Returns 0, or -1 with a message in err. */
int dns_setup(const char *const *servers, size_t n_servers,
              unsigned query_timeout_ms, char *err, size_t errlen);

/* Creates the libspf2 DNS layer that queries through this module. Returns
 * NULL when out of memory. libspf2's SPF_dns_free destroys it. */
struct SPF_dns_server_struct *dns_layer_new(void);

/* Makes ev the calling thread's current evaluation, zeroes its counters and
 * sets its deadline deadline_ms from now. top_domain is borrowed. */
void dns_eval_begin(dns_eval *ev, unsigned deadline_ms, const char *top_domain);

/* Ends the calling thread's current evaluation. */
void dns_eval_end(void);

/* Milliseconds left before ev's deadline (0 when passed). */
unsigned dns_eval_remaining_ms(const dns_eval *ev);

/* Closes the resolver states kept idle for the next lookups (at exit); a
 * lookup still running closes its own when done. dns_setup opens the pool
 * again. */
void dns_states_close(void);

/* Sizes the process-wide answer cache: at most `entries` answers (0: no
 * cache), negative answers kept at most negative_ttl_max_s seconds. Drops
 * every cached answer and zeroes the counters. Call before any thread
 * looks anything up. */
void dns_cache_setup(unsigned entries, unsigned negative_ttl_max_s);

/* Drops every cached answer (the counters stay). */
void dns_cache_clear(void);

/* The answer cache's counters since dns_cache_setup. */
typedef struct {
    unsigned long long hits;      /* lookups answered from the cache */
    unsigned long long misses;    /* lookups the cache could not answer */
    unsigned long long evictions; /* answers dropped to make room */
    unsigned long long entries;   /* answers held now */
    unsigned long long capacity;  /* most answers held (dns_cache_size) */
} dns_cache_counters;

/* Fills out with the cache's counters (thread-safe). */
void dns_cache_stats(dns_cache_counters *out);

/* One lookup of an evaluation, as reported to a trace hook. */
typedef struct {
    const char *name;    /* the name looked up */
    int type;            /* its type (ns_t_txt, ns_t_a, ...) */
    int herrno;          /* NETDB_SUCCESS, HOST_NOT_FOUND, NO_DATA, TRY_AGAIN */
    int answers;         /* records of the type in the answer */
    bool cached;         /* answered from the cache, no query sent */
    unsigned elapsed_ms; /* time the lookup took */
} dns_trace_entry;

typedef void (*dns_trace_fn)(void *ctx, const dns_trace_entry *e);

/* Reports every lookup the calling thread makes from now on to fn (NULL:
 * stop). Costs one test per lookup when unset. */
void dns_trace_set(dns_trace_fn fn, void *ctx);

/* Name of a DNS type ("TXT", "A", ...; "TYPEn" for others). */
const char *dns_type_name(int type, char *buf, size_t len);

/* Name of a lookup outcome: "NOERROR", "NXDOMAIN", "NODATA", "TEMPFAIL". */
const char *dns_herrno_name(int herrno);

#endif

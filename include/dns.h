/*
 * dns.h - spfgate's DNS layer under libspf2: resolver, deadline, counters.
 *
 * Owns: the configured name servers and per-query timeout (process-wide,
 * fixed by dns_setup before any thread runs), one resolver state per
 * thread, and the thread's current evaluation context (dns_eval), which
 * every lookup made by libspf2 during an evaluation reports into.
 *
 * Fails: a lookup never fails as a call; DNS errors, timeouts and a passed
 * deadline come back to libspf2 as TRY_AGAIN (temporary), NXDOMAIN as
 * HOST_NOT_FOUND, an empty answer as NO_DATA, and are counted in the
 * evaluation context. Only dns_setup reports errors (bad server syntax).
 *
 * Only spfcheck.c uses this header; libspf2's types stay out of it.
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

/* Releases the calling thread's resolver state (also done at thread exit). */
void dns_thread_cleanup(void);

#endif

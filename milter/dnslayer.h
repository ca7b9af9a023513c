/*
 * dnslayer.h - private interface between dns.c (resolver, lookups, limits)
 * and dnsrecord.c (SPF record fetching, checks and explanations), which
 * together form spfgate's libspf2 DNS layer. Includes libspf2's headers:
 * only dns.c, dnsrecord.c and spfcheck.c may include it.
 *
 * Fails: like dns.h, never as a call; problems are DNS statuses or the
 * evaluation context's perm_reason.
 */
#ifndef SPFGATE_DNSLAYER_H
#define SPFGATE_DNSLAYER_H

#include <stdbool.h>
#include <stddef.h>

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>

#include "dns.h"
#include "spfrecord.h"

/* Suffix of synthetic names (RFC 6761: .invalid never resolves). */
#define DNS_SYNTH_SUFFIX ".spfgate.invalid"

/* What dns_parse_answer found. */
typedef struct {
    int count;              /* RRs of the wanted type stored */
    char tail[NS_MAXDNAME]; /* end of the CNAME chain */
    bool chain_ended_open;  /* chain ended at a CNAME without data */
    unsigned long ttl;      /* lowest TTL seen */
} dns_parsed;

/* Stores the answer's RRs of the wanted type into rr, following CNAMEs
 * from qname. Returns 0, or -1 for a malformed message or no memory. */
int dns_parse_answer(const unsigned char *msg, int len, const char *qname,
                     ns_type type, SPF_dns_rr_t *rr, dns_parsed *pr);

/* A copy of a cached answer for name and type, or NULL (dnscache.c); on a
 * hit *expires is when the answer leaves the cache (CLOCK_MONOTONIC
 * seconds). */
SPF_dns_rr_t *dns_cache_get(const char *name, ns_type type, time_t *expires);

/* Keeps a copy of an answer for its TTL; a negative answer (rr->ttl: its
 * SOA's negative TTL) for at most dns_negative_ttl_max; temporary failures
 * never. Returns when the copy leaves the cache (CLOCK_MONOTONIC seconds),
 * 0 when none was kept. */
time_t dns_cache_put(const char *name, ns_type type, const SPF_dns_rr_t *rr);

/* The negative-caching TTL of a DNS message (RFC 2308 section 5: the lower
 * of the TTL and the MINIMUM field of the SOA in the authority section),
 * or ULONG_MAX when it carries no SOA or is malformed. */
unsigned long dns_negative_ttl(const unsigned char *msg, int len);

/* The calling thread's current evaluation, or NULL. */
dns_eval *dns_eval_current(void);

/* One lookup, no accounting against the RFC 7208 limits (deadline and
 * query counter still apply). Never returns NULL unless out of memory. */
SPF_dns_rr_t *dns_query_rr(SPF_dns_server_t *srv, const char *domain,
                           ns_type type);

/* True when name can be sent as a query name. */
bool dns_name_queryable(const char *name);

/* Compares two domain names, ignoring case and one trailing dot. */
bool dns_name_equal(const char *a, const char *b);

/* Counts one DNS-querying term; false (with perm_reason set) past 10. */
bool dns_term_begin(dns_eval *ev);

/* Counts a term's lookup result as void when it found nothing. */
void dns_term_result(dns_eval *ev, int herrno);

/* libspf2's get_spf hook: fetches, checks and rewrites an SPF record. */
SPF_errcode_t dns_get_spf(SPF_server_t *server, SPF_request_t *req,
                          SPF_response_t *resp, SPF_record_t **recp);

/* The real name behind a synthetic alias name, or NULL. */
const char *dns_synth_alias(const char *name);

/* Answers a synthetic name (see spfrecord_synth_kind) for libspf2. */
SPF_dns_rr_t *dns_synth_lookup(SPF_dns_server_t *srv, const char *name);

/* Fills macro values from a request; domain is the current domain. */
void dns_vars_from_request(SPF_server_t *server, SPF_request_t *req,
                           const char *domain, spfrecord_vars *v);

/* Writes the explanation of the record in effect (its exp= target's TXT,
 * expanded) into out; "" when there is none or it is unusable. */
void dns_explain(SPF_server_t *server, SPF_request_t *req, char *out,
                 size_t len);

#endif

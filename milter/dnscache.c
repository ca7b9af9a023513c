/*
 * dnscache.c - the DNS layer's process-wide answer cache, by TTL, with
 * least-recently-used eviction.
 *
 * Owns: a hash table of answers (name and type -> a copy of the
 * SPF_dns_rr_t) threaded on one LRU list, shared by all threads under one
 * mutex, and its counters (hits, misses, evictions). An answer is kept
 * for its lowest TTL, at most DNS_CACHE_MAX_TTL seconds; NXDOMAIN and
 * NODATA for the negative TTL of the answer's SOA (RFC 2308 section 5:
 * the lower of the SOA's TTL and its MINIMUM field), at most the
 * configured cap (dns_negative_ttl_max), the cap itself when the answer
 * carried no SOA; temporary failures (SERVFAIL, REFUSED, timeouts) never
 * (unlike libspf2's cache layer, which keeps them for 30 minutes). At
 * most the configured number of entries (dns_cache_size): a full cache
 * drops its least recently used entry first, so memory stays bounded;
 * size 0 keeps nothing.
 *
 * Fails: never as a call; out of memory only means an answer is not kept.
 */
#include "config.h"

#include "dnslayer.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DNS_CACHE_MAX_TTL 3600
#define DNS_CACHE_DEFAULT_SIZE 10000
#define DNS_CACHE_DEFAULT_NEG_TTL 300

/* One cached answer: on its hash chain and on the LRU list. */
typedef struct centry {
    struct centry *next;          /* hash chain */
    struct centry *newer, *older; /* LRU list */
    ns_type type;
    time_t expires; /* CLOCK_MONOTONIC seconds */
    SPF_dns_rr_t *rr;
    char name[];
} centry;

static centry **buckets;
static size_t n_buckets;
static centry *newest, *oldest;
static size_t n_entries;
static size_t max_entries = DNS_CACHE_DEFAULT_SIZE;
static time_t neg_ttl_max = DNS_CACHE_DEFAULT_NEG_TTL;
static unsigned long long n_hits, n_misses, n_evictions;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Monotonic seconds. */
static time_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Bucket of a name and type (case-insensitive). */
static size_t bucket_of(const char *name, ns_type type)
{
    size_t h = 5381u + (size_t)type;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = h * 33u + (size_t)tolower(*p);
    return h % n_buckets;
}

/* Takes e off the LRU list. */
static void lru_unlink(centry *e)
{
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        newest = e->older;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        oldest = e->newer;
    e->newer = e->older = NULL;
}

/* Puts e at the newest end of the LRU list. */
static void lru_push(centry *e)
{
    e->newer = NULL;
    e->older = newest;
    if (newest != NULL)
        newest->newer = e;
    newest = e;
    if (oldest == NULL)
        oldest = e;
}

/* Frees one entry. */
static void entry_free(centry *e)
{
    SPF_dns_rr_free(e->rr);
    free(e);
}

/* Unlinks e (found at *pp on its chain) and frees it. Lock held. */
static void entry_drop(centry **pp, centry *e)
{
    *pp = e->next;
    lru_unlink(e);
    entry_free(e);
    n_entries--;
}

/* Drops the entry e wherever it is on its chain. Lock held. */
static void entry_drop_any(centry *e)
{
    for (centry **pp = &buckets[bucket_of(e->name, e->type)]; *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == e) {
            entry_drop(pp, e);
            return;
        }
    }
}

/* Empties the cache. Lock held. */
static void clear_locked(void)
{
    for (centry *e = oldest; e != NULL;) {
        centry *n = e->newer;
        entry_free(e);
        e = n;
    }
    if (buckets != NULL)
        memset(buckets, 0, n_buckets * sizeof(*buckets));
    newest = oldest = NULL;
    n_entries = 0;
}

/* Sizes the cache (see dns.h). */
void dns_cache_setup(unsigned entries, unsigned negative_ttl_max_s)
{
    pthread_mutex_lock(&lock);
    clear_locked();
    free(buckets);
    buckets = NULL;
    max_entries = entries;
    neg_ttl_max = negative_ttl_max_s;
    n_hits = n_misses = n_evictions = 0;
    /* about one entry per bucket when full, at least 64 buckets */
    n_buckets = entries > 64 ? entries : 64;
    if (entries > 0) {
        buckets = calloc(n_buckets, sizeof(*buckets));
        if (buckets == NULL)
            max_entries = 0; /* no memory: no cache */
    }
    pthread_mutex_unlock(&lock);
}

/* Makes the default table on first use. Lock held. */
static bool ensure_table(void)
{
    if (buckets != NULL)
        return true;
    if (max_entries == 0)
        return false;
    n_buckets = max_entries > 64 ? max_entries : 64;
    buckets = calloc(n_buckets, sizeof(*buckets));
    return buckets != NULL;
}

/* A copy of a live cached answer, or NULL. */
SPF_dns_rr_t *dns_cache_get(const char *name, ns_type type, time_t *expires)
{
    SPF_dns_rr_t *copy = NULL;
    time_t now = now_s();
    pthread_mutex_lock(&lock);
    if (!ensure_table()) {
        n_misses++;
        pthread_mutex_unlock(&lock);
        return NULL;
    }
    size_t b = bucket_of(name, type);
    for (centry **pp = &buckets[b]; *pp != NULL;) {
        centry *e = *pp;
        if (e->expires <= now) {
            entry_drop(pp, e);
            continue;
        }
        if (e->type == type && strcasecmp(e->name, name) == 0) {
            if (SPF_dns_rr_dup(&copy, e->rr) != SPF_E_SUCCESS) {
                SPF_dns_rr_free(copy);
                copy = NULL;
            } else {
                lru_unlink(e);
                lru_push(e);
                *expires = e->expires;
            }
            break;
        }
        pp = &e->next;
    }
    if (copy != NULL)
        n_hits++;
    else
        n_misses++;
    pthread_mutex_unlock(&lock);
    return copy;
}

/* Keeps a copy of an answer for its TTL (see the file header). */
time_t dns_cache_put(const char *name, ns_type type, const SPF_dns_rr_t *rr)
{
    time_t ttl;
    pthread_mutex_lock(&lock);
    bool on = ensure_table();
    time_t neg_max = neg_ttl_max;
    pthread_mutex_unlock(&lock);
    if (!on)
        return 0;
    if (rr->herrno == NETDB_SUCCESS && rr->num_rr > 0)
        ttl = rr->ttl < DNS_CACHE_MAX_TTL ? rr->ttl : DNS_CACHE_MAX_TTL;
    else if (rr->herrno == HOST_NOT_FOUND || rr->herrno == NO_DATA)
        ttl = rr->ttl < neg_max ? rr->ttl : neg_max;
    else
        return 0;
    if (ttl <= 0)
        return 0;
    size_t len = strlen(name);
    centry *e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
        return 0;
    e->rr = NULL;
    if (SPF_dns_rr_dup(&e->rr, (SPF_dns_rr_t *)rr) != SPF_E_SUCCESS) {
        if (e->rr != NULL)
            SPF_dns_rr_free(e->rr);
        free(e);
        return 0;
    }
    memcpy(e->name, name, len + 1);
    e->type = type;
    e->expires = now_s() + ttl;
    e->newer = e->older = NULL;
    pthread_mutex_lock(&lock);
    if (buckets == NULL || max_entries == 0) { /* set up again meanwhile */
        pthread_mutex_unlock(&lock);
        entry_free(e);
        return 0;
    }
    size_t b = bucket_of(name, type);
    /* an older copy of the same answer goes */
    for (centry **pp = &buckets[b]; *pp != NULL;) {
        centry *o = *pp;
        if (o->type == type && strcasecmp(o->name, name) == 0) {
            entry_drop(pp, o);
            continue;
        }
        pp = &o->next;
    }
    while (n_entries >= max_entries && oldest != NULL) {
        entry_drop_any(oldest);
        n_evictions++;
    }
    e->next = buckets[b];
    buckets[b] = e;
    lru_push(e);
    n_entries++;
    time_t expires = e->expires;
    pthread_mutex_unlock(&lock);
    return expires;
}

/* Drops every cached answer. */
void dns_cache_clear(void)
{
    pthread_mutex_lock(&lock);
    clear_locked();
    pthread_mutex_unlock(&lock);
}

/* The cache's counters (see dns.h). */
void dns_cache_stats(dns_cache_counters *out)
{
    pthread_mutex_lock(&lock);
    out->hits = n_hits;
    out->misses = n_misses;
    out->evictions = n_evictions;
    out->entries = n_entries;
    out->capacity = max_entries;
    pthread_mutex_unlock(&lock);
}

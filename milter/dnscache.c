/*
 * dnscache.c - the DNS layer's process-wide answer cache, by TTL.
 *
 * Owns: a hash table of answers (name and type -> a copy of the
 * SPF_dns_rr_t), shared by all threads under one mutex. An answer is kept
 * for its lowest TTL, at most DNS_CACHE_MAX_TTL seconds; NXDOMAIN and
 * NODATA for DNS_CACHE_NEG_TTL seconds; temporary failures and timeouts
 * never (unlike libspf2's cache layer, which keeps them for 30 minutes).
 * At most DNS_CACHE_MAX entries: a full table drops the bucket it is
 * inserting into.
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

#define DNS_CACHE_BUCKETS 1024
#define DNS_CACHE_MAX 8192
#define DNS_CACHE_MAX_TTL 3600
#define DNS_CACHE_NEG_TTL 30

/* One cached answer. */
typedef struct centry {
    struct centry *next;
    ns_type type;
    time_t expires; /* CLOCK_MONOTONIC seconds */
    SPF_dns_rr_t *rr;
    char name[];
} centry;

static centry *buckets[DNS_CACHE_BUCKETS];
static size_t n_entries;
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
    return h % DNS_CACHE_BUCKETS;
}

/* Frees one entry. */
static void entry_free(centry *e)
{
    SPF_dns_rr_free(e->rr);
    free(e);
}

/* A copy of a live cached answer, or NULL. */
SPF_dns_rr_t *dns_cache_get(const char *name, ns_type type)
{
    SPF_dns_rr_t *copy = NULL;
    time_t now = now_s();
    size_t b = bucket_of(name, type);
    pthread_mutex_lock(&lock);
    for (centry **pp = &buckets[b]; *pp != NULL;) {
        centry *e = *pp;
        if (e->expires <= now) {
            *pp = e->next;
            entry_free(e);
            n_entries--;
            continue;
        }
        if (e->type == type && strcasecmp(e->name, name) == 0) {
            if (SPF_dns_rr_dup(&copy, e->rr) != SPF_E_SUCCESS) {
                SPF_dns_rr_free(copy);
                copy = NULL;
            }
            break;
        }
        pp = &e->next;
    }
    pthread_mutex_unlock(&lock);
    return copy;
}

/* Keeps a copy of an answer for its TTL. */
void dns_cache_put(const char *name, ns_type type, const SPF_dns_rr_t *rr)
{
    time_t ttl;
    if (rr->herrno == NETDB_SUCCESS && rr->num_rr > 0)
        ttl = rr->ttl < DNS_CACHE_MAX_TTL ? rr->ttl : DNS_CACHE_MAX_TTL;
    else if (rr->herrno == HOST_NOT_FOUND || rr->herrno == NO_DATA)
        ttl = DNS_CACHE_NEG_TTL;
    else
        return;
    if (ttl <= 0)
        return;
    size_t len = strlen(name);
    centry *e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
        return;
    e->rr = NULL;
    if (SPF_dns_rr_dup(&e->rr, (SPF_dns_rr_t *)rr) != SPF_E_SUCCESS) {
        if (e->rr != NULL)
            SPF_dns_rr_free(e->rr);
        free(e);
        return;
    }
    memcpy(e->name, name, len + 1);
    e->type = type;
    e->expires = now_s() + ttl;
    size_t b = bucket_of(name, type);
    pthread_mutex_lock(&lock);
    if (n_entries >= DNS_CACHE_MAX) {
        while (buckets[b] != NULL) {
            centry *old = buckets[b];
            buckets[b] = old->next;
            entry_free(old);
            n_entries--;
        }
    }
    e->next = buckets[b];
    buckets[b] = e;
    n_entries++;
    pthread_mutex_unlock(&lock);
}

/* Drops every cached answer. */
void dns_cache_clear(void)
{
    pthread_mutex_lock(&lock);
    for (size_t b = 0; b < DNS_CACHE_BUCKETS; b++) {
        while (buckets[b] != NULL) {
            centry *e = buckets[b];
            buckets[b] = e->next;
            entry_free(e);
        }
    }
    n_entries = 0;
    pthread_mutex_unlock(&lock);
}

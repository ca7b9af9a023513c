/*
 * spfcache.c - recent SPF results (see spfcache.h for what may be kept).
 *
 * Owns: the slot table (one entry per slot, chosen by a hash of the key;
 * a new entry replaces the old one, so memory is bounded by the number of
 * slots), its mutex and counters.
 *
 * Fails: never as a call; a failed allocation keeps nothing.
 */
#include "config.h"

#include "spfcache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One kept result: key, mechanism and problem packed after the header. */
typedef struct {
    time_t expires;
    spfcheck_result result;
    size_t mech_at, problem_at; /* offsets into text */
    char text[];                /* key \0 mechanism \0 problem \0 */
} entry;

static entry **slots;
static unsigned n_slots;
static unsigned long long n_hits, n_misses;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

time_t spfcache_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* FNV-1a of the key. */
static uint32_t hash_key(const char *key)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* Frees every entry and the table; the caller holds the lock. */
static void drop_all_locked(void)
{
    for (unsigned i = 0; i < n_slots; i++)
        free(slots[i]);
    free(slots);
    slots = NULL;
    n_slots = 0;
}

void spfcache_setup(unsigned n)
{
    pthread_mutex_lock(&lock);
    drop_all_locked();
    if (n > 0 && (slots = calloc(n, sizeof *slots)) != NULL)
        n_slots = n;
    n_hits = n_misses = 0;
    pthread_mutex_unlock(&lock);
}

void spfcache_shutdown(void)
{
    spfcache_setup(0);
}

bool spfcache_get(const char *key, spfcheck_outcome *out)
{
    bool hit = false;
    uint32_t h = hash_key(key);
    time_t now = spfcache_now();
    pthread_mutex_lock(&lock);
    if (n_slots > 0) {
        entry *e = slots[h % n_slots];
        if (e != NULL && e->expires > now && strcmp(e->text, key) == 0) {
            out->result = e->result;
            snprintf(out->mechanism, sizeof out->mechanism, "%s",
                     e->text + e->mech_at);
            snprintf(out->problem, sizeof out->problem, "%s",
                     e->text + e->problem_at);
            hit = true;
        }
        if (hit)
            n_hits++;
        else
            n_misses++;
    }
    pthread_mutex_unlock(&lock);
    return hit;
}

void spfcache_put(const char *key, const spfcheck_outcome *o, time_t expires)
{
    size_t klen = strlen(key), mlen = strlen(o->mechanism),
           plen = strlen(o->problem);
    entry *e = malloc(sizeof *e + klen + mlen + plen + 3);
    if (e == NULL)
        return;
    e->expires = expires;
    e->result = o->result;
    e->mech_at = klen + 1;
    e->problem_at = klen + 1 + mlen + 1;
    memcpy(e->text, key, klen + 1);
    memcpy(e->text + e->mech_at, o->mechanism, mlen + 1);
    memcpy(e->text + e->problem_at, o->problem, plen + 1);
    uint32_t h = hash_key(key);
    entry *old = NULL;
    pthread_mutex_lock(&lock);
    if (n_slots > 0) {
        old = slots[h % n_slots];
        slots[h % n_slots] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(old);
    free(e);
}

void spfcache_counters(unsigned long long *hits, unsigned long long *misses)
{
    pthread_mutex_lock(&lock);
    *hits = n_hits;
    *misses = n_misses;
    pthread_mutex_unlock(&lock);
}

/*
 * stats.c - counters of what spfgate did.
 *
 * Owns: the counters (relaxed atomics: each is exact, a snapshot of all
 * of them is not taken at one instant). Fails: never.
 */
#include "config.h"

#include "stats.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Upper bounds (ms) of the evaluation time buckets; the last is open. */
static const unsigned bucket_ms[] = {1, 5, 10, 50, 100, 500, 1000, 5000};
#define N_BUCKETS (sizeof bucket_ms / sizeof bucket_ms[0] + 1)

/* Reply codes are counted per stage for 400..599. */
#define CODE_MIN 400
#define N_CODES 200

static atomic_ullong results[SPFCHECK_RESULT_COUNT];
static atomic_ullong skipped;
static atomic_ullong actions[3];
static atomic_ullong dry_refusals;
static atomic_ullong replies[REPLIES_STAGE_COUNT][N_CODES];
static atomic_ullong errors;
static atomic_ullong dns_queries_total;
static atomic_ullong eval_ms_total;
static atomic_ullong buckets[N_BUCKETS];
/* dns_cache_stats, set by the daemon (a pointer, so that programs with a
 * stand-in for the DNS layer link stats.c without it). */
static void (*cache_source)(dns_cache_counters *);

void stats_dns_cache_source(void (*fn)(dns_cache_counters *))
{
    cache_source = fn;
}

/* spfcache_counters, set by the daemon (likewise). */
static void (*result_source)(unsigned long long *, unsigned long long *);

void stats_result_cache_source(void (*fn)(unsigned long long *hits,
                                          unsigned long long *misses))
{
    result_source = fn;
}

void stats_checked(spfcheck_result r, unsigned elapsed_ms, unsigned dns_queries)
{
    if ((unsigned)r < SPFCHECK_RESULT_COUNT)
        atomic_fetch_add_explicit(&results[r], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&dns_queries_total, dns_queries,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&eval_ms_total, elapsed_ms, memory_order_relaxed);
    size_t b = 0;
    while (b < N_BUCKETS - 1 && elapsed_ms > bucket_ms[b])
        b++;
    atomic_fetch_add_explicit(&buckets[b], 1, memory_order_relaxed);
}

void stats_skipped(void)
{
    atomic_fetch_add_explicit(&skipped, 1, memory_order_relaxed);
}

void stats_action(settings_action a, bool dry_run)
{
    if ((unsigned)a < 3)
        atomic_fetch_add_explicit(&actions[a], 1, memory_order_relaxed);
    if (dry_run)
        atomic_fetch_add_explicit(&dry_refusals, 1, memory_order_relaxed);
}

void stats_reply(replies_stage stage, int code)
{
    if ((unsigned)stage < REPLIES_STAGE_COUNT && code >= CODE_MIN &&
        code < CODE_MIN + N_CODES)
        atomic_fetch_add_explicit(&replies[stage][code - CODE_MIN], 1,
                                  memory_order_relaxed);
}

void stats_error(void)
{
    atomic_fetch_add_explicit(&errors, 1, memory_order_relaxed);
}

/* Reads a counter. */
static unsigned long long get(atomic_ullong *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* The evaluation time below which `q` (0..1) of the evaluations fell, as
 * a bucket bound (ms), or 0 when none. */
static unsigned quantile(double q, unsigned long long total)
{
    if (total == 0)
        return 0;
    unsigned long long seen = 0;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        seen += get(&buckets[b]);
        if ((double)seen >= q * (double)total)
            return b < N_BUCKETS - 1 ? bucket_ms[b] : 10000;
    }
    return 10000;
}

void stats_write(FILE *out)
{
    unsigned long long checked = 0;
    for (int r = 0; r < SPFCHECK_RESULT_COUNT; r++) {
        checked += get(&results[r]);
        fprintf(out, "result.%s %llu\n",
                spfcheck_result_name((spfcheck_result)r), get(&results[r]));
    }
    fprintf(out, "messages.checked %llu\n", checked);
    fprintf(out, "messages.skipped %llu\n", get(&skipped));
    for (int a = 0; a < 3; a++)
        fprintf(out, "action.%s %llu\n",
                settings_action_name((settings_action)a), get(&actions[a]));
    fprintf(out, "action.dry-run-refusals %llu\n", get(&dry_refusals));
    for (int st = 0; st < REPLIES_STAGE_COUNT; st++)
        for (int c = 0; c < N_CODES; c++)
            if (get(&replies[st][c]) != 0)
                fprintf(out, "reply.%s.%d %llu\n",
                        replies_stage_name((replies_stage)st), CODE_MIN + c,
                        get(&replies[st][c]));
    fprintf(out, "dns.queries %llu\n", get(&dns_queries_total));
    void (*cache_stats)(dns_cache_counters *) = cache_source;
    if (cache_stats != NULL) {
        dns_cache_counters cc;
        cache_stats(&cc);
        fprintf(out, "dns.cache_hits %llu\n", cc.hits);
        fprintf(out, "dns.cache_misses %llu\n", cc.misses);
        fprintf(out, "dns.cache_evictions %llu\n", cc.evictions);
        fprintf(out, "dns.cache_entries %llu\n", cc.entries);
    }
    void (*result_stats)(unsigned long long *, unsigned long long *) =
        result_source;
    if (result_stats != NULL) {
        unsigned long long hits, misses;
        result_stats(&hits, &misses);
        fprintf(out, "spf.result_cache_hits %llu\n", hits);
        fprintf(out, "spf.result_cache_misses %llu\n", misses);
    }
    fprintf(out, "errors.internal %llu\n", get(&errors));
    fprintf(out, "eval.ms_total %llu\n", get(&eval_ms_total));
    fprintf(out, "eval.ms_p50 %u\n", quantile(0.5, checked));
    fprintf(out, "eval.ms_p99 %u\n", quantile(0.99, checked));
}

void stats_log(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (mem == NULL)
        return;
    stats_write(mem);
    fclose(mem);
    /* One log line per counter line, prefixed so they can be grepped. */
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        log_msg(LOG_LEVEL_NOTICE, "stats: %s", line);
    free(buf);
}

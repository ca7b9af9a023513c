/*
 * evalbench.c - evaluations per second through spfcheck, cold and warm.
 *
 *   evalbench [-n N] [-t TESTDNS]
 *
 * Starts the test name server (TESTDNS, default $SPFGATE_TESTDNS) on
 * 127.0.0.1 with a zone whose record needs include:, a and mx lookups
 * ("v=spf1 include:inc.bench.test a mx -all", 7 DNS queries), then
 * evaluates it N times (default 200) for a client it does not list: cold
 * (the answer cache emptied before each evaluation) and warm (the cache
 * filled by one evaluation first). Prints evaluations per second and DNS
 * queries per evaluation for both.
 *
 * Fails: exits 1 when an evaluation does not end in fail, the cold ones
 * send fewer than one query each on average, or a warm one sends any DNS query
 * or misses the cache; 2 on bad arguments or when spfcheck cannot start; 77
 * (skip) without a test name server.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "spfcheck.h"

static const char zone_text[] =
    "bench.test TXT \"v=spf1 include:inc.bench.test a mx -all\"\n"
    "bench.test A 203.0.113.10\n"
    "bench.test MX 10 mx1.bench.test\n"
    "bench.test MX 20 mx2.bench.test\n"
    "mx1.bench.test A 203.0.113.11\n"
    "mx2.bench.test A 203.0.113.12\n"
    "inc.bench.test TXT \"v=spf1 a:h.inc.bench.test -all\"\n"
    "h.inc.bench.test A 203.0.113.5\n";

static pid_t dns_pid = -1;
static char zone_path[64];

/* Starts testdns on 127.0.0.1; writes "127.0.0.1:PORT" into server. */
static int start_dns(const char *bin, char *server, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(zone_path, sizeof(zone_path), "%s/benchzone-XXXXXX",
             tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
    int fd = mkstemp(zone_path);
    if (fd < 0)
        return -1;
    ssize_t want = (ssize_t)sizeof(zone_text) - 1;
    if (write(fd, zone_text, (size_t)want) != want) {
        close(fd);
        return -1;
    }
    close(fd);
    int p[2];
    if (pipe(p) != 0)
        return -1;
    dns_pid = fork();
    if (dns_pid < 0)
        return -1;
    if (dns_pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl(bin, "testdns", "-a", "127.0.0.1", "-p", "0", "-z", zone_path,
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    char line[32];
    int ok = f != NULL && fgets(line, sizeof(line), f) != NULL;
    if (f != NULL)
        fclose(f);
    if (!ok || atoi(line) <= 0)
        return -1;
    snprintf(server, len, "127.0.0.1:%d", atoi(line));
    return 0;
}

/* Stops testdns and removes the zone file. */
static void stop_dns(void)
{
    if (dns_pid > 0) {
        kill(dns_pid, SIGTERM);
        waitpid(dns_pid, NULL, 0);
        dns_pid = -1;
    }
    if (zone_path[0] != '\0')
        unlink(zone_path);
}

/* Seconds since t0. */
static double since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Runs n evaluations (cold: cache emptied before each); returns the number
 * that did not end in fail, and the DNS queries sent in *queries. */
static unsigned run(unsigned n, bool cold, unsigned long *queries, double *secs)
{
    struct sockaddr_in client = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.0.2.99", &client.sin_addr);
    spfcheck_query q = {(const struct sockaddr *)&client, "client.test",
                        "user@bench.test"};
    unsigned bad = 0;
    *queries = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < n; i++) {
        spfcheck_outcome o;
        if (cold)
            dns_cache_clear();
        spfcheck_eval(&q, &o);
        *queries += o.dns_queries;
        if (o.result != SPFCHECK_FAIL) {
            if (bad++ == 0)
                fprintf(stderr, "evalbench: got %s (%s)\n",
                        spfcheck_result_name(o.result), o.problem);
        }
    }
    *secs = since(&t0);
    return bad;
}

/* Prints one line of results. */
static void report(const char *what, unsigned n, unsigned long queries,
                   double secs)
{
    printf("%s: %u evaluations in %.3f s, %.0f evaluations/s, %.2f DNS "
           "queries per evaluation\n",
           what, n, secs, secs > 0 ? (double)n / secs : 0.0,
           (double)queries / (double)n);
}

int main(int argc, char **argv)
{
    unsigned n = 200;
    const char *bin = getenv("SPFGATE_TESTDNS");
    int opt;
    while ((opt = getopt(argc, argv, "n:t:")) != -1) {
        switch (opt) {
        case 'n':
            n = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            bin = optarg;
            break;
        default:
            fprintf(stderr, "usage: evalbench [-n N] [-t TESTDNS]\n");
            return 2;
        }
    }
    if (n == 0 || optind != argc) {
        fprintf(stderr, "usage: evalbench [-n N] [-t TESTDNS]\n");
        return 2;
    }
    if (bin == NULL) {
        printf("# no test name server (SPFGATE_TESTDNS): skipped\n");
        return 77;
    }
    char server[64];
    if (start_dns(bin, server, sizeof(server)) != 0) {
        fprintf(stderr, "evalbench: cannot start %s\n", bin);
        stop_dns();
        return 2;
    }
    const char *servers[] = {server};
    spfcheck_options o = {.servers = servers,
                          .n_servers = 1,
                          .query_timeout_ms = 2000,
                          .deadline_ms = 8000,
                          /* the DNS cache's cost, not the result cache's */
                          .no_result_cache = true};
    char err[128];
    if (spfcheck_init(&o, err, sizeof(err)) != 0) {
        fprintf(stderr, "evalbench: %s\n", err);
        stop_dns();
        return 2;
    }

    int rc = 0;
    unsigned long cold_q, warm_q, prime_q;
    double cold_s, warm_s, prime_s;
    unsigned bad = run(n, true, &cold_q, &cold_s);
    report("cold", n, cold_q, cold_s);
    if (cold_q < n) {
        fprintf(stderr, "evalbench: cold evaluations asked no DNS\n");
        rc = 1;
    }
    dns_cache_clear();
    bad += run(1, false, &prime_q, &prime_s);
    dns_cache_counters c0, c1;
    dns_cache_stats(&c0);
    bad += run(n, false, &warm_q, &warm_s);
    dns_cache_stats(&c1);
    report("warm", n, warm_q, warm_s);
    printf("warm cache: %llu hits, %llu misses, %llu entries\n",
           c1.hits - c0.hits, c1.misses - c0.misses, c1.entries);
    if (warm_q != 0 || c1.misses != c0.misses) {
        fprintf(stderr,
                "evalbench: warm evaluations asked DNS (%lu queries, "
                "%llu cache misses)\n",
                warm_q, c1.misses - c0.misses);
        rc = 1;
    }
    if (bad != 0) {
        fprintf(stderr, "evalbench: %u evaluations did not end in fail\n", bad);
        rc = 1;
    }
    spfcheck_shutdown();
    stop_dns();
    return rc;
}

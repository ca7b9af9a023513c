/*
 * test_spfcheck.c - spfcheck against a real resolver path, offline.
 *
 * Starts the test name server (SPFGATE_TESTDNS, the testdns tool) on
 * 127.0.0.1 and a free port with a zone written here, points spfcheck at
 * it, and checks a table of evaluations, the answer cache (counters,
 * LRU eviction, negative TTLs from the SOA and their cap, no cache), the
 * SPF result cache (hits, HELO sharing, what is not kept, TTL expiry),
 * the lookup trace, the deadline, and 8 threads evaluating at once. Fails when
 * the tool cannot be started.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns.h"
#include "spfcache.h"
#include "spfcheck.h"

static const char zone_text[] =
    "pass.test TXT \"v=spf1 ip4:192.0.2.1 -all\"\n"
    "soft.test TXT \"v=spf1 ~all\"\n"
    "neutral.test TXT \"v=spf1 ?all\"\n"
    "norec.test A 192.0.2.9\n"
    "txtonly.test TXT \"hello world\"\n"
    "bad.test TXT \"v=spf1 foo:bar -all\"\n"
    "two.test TXT \"v=spf1 -all\"\n"
    "two.test TXT \"v=spf1 +all\"\n"
    "sf.test SERVFAIL\n"
    "to.test TIMEOUT\n"
    "helo.test TXT \"v=spf1 ip4:192.0.2.10 -all\"\n"
    "ip6.test TXT \"v=spf1 ip6:2001:db8::/32 -all\"\n"
    "a.test TXT \"v=spf1 a -all\"\n"
    "a.test A 192.0.2.20\n"
    "mx.test TXT \"v=spf1 mx -all\"\n"
    "mx.test MX 10 mail.mx.test\n"
    "mail.mx.test A 192.0.2.30\n"
    "inc.test TXT \"v=spf1 include:pass.test -all\"\n"
    "exp.test TXT \"v=spf1 -all exp=why.exp.test\"\n"
    "why.exp.test TXT \"%{i} may not send for %{d}\"\n"
    "cname.test CNAME pass.test\n"
    "lim.test TXT \"v=spf1 include:i1.test include:i2.test include:i3.test "
    "include:i4.test include:i5.test include:i6.test include:i7.test "
    "include:i8.test include:i9.test include:i10.test include:i11.test "
    "-all\"\n"
    "i1.test TXT \"v=spf1 -all\"\n"
    "i2.test TXT \"v=spf1 -all\"\n"
    "i3.test TXT \"v=spf1 -all\"\n"
    "i4.test TXT \"v=spf1 -all\"\n"
    "i5.test TXT \"v=spf1 -all\"\n"
    "i6.test TXT \"v=spf1 -all\"\n"
    "i7.test TXT \"v=spf1 -all\"\n"
    "i8.test TXT \"v=spf1 -all\"\n"
    "i9.test TXT \"v=spf1 -all\"\n"
    "i10.test TXT \"v=spf1 include:i1.test -all\"\n"
    "i11.test TXT \"v=spf1 -all\"\n"
    "void2.test TXT \"v=spf1 a:nx1.test a:nx2.test -all\"\n"
    "void3.test TXT \"v=spf1 a:nx1.test a:nx2.test a:nx3.test -all\"\n"
    "cidr0.test TXT \"v=spf1 ip4:0.0.0.0/0 -all\"\n"
    "cidr032.test TXT \"v=spf1 ip4:192.0.2.1/032 -all\"\n"
    "a0.test TXT \"v=spf1 a:a.test/0 -all\"\n"
    "redir.test TXT \"v=spf1 redirect=pass.test\"\n"
    "redirall.test TXT \"v=spf1 redirect=pass.test ?all\"\n"
    "redirfirst.test TXT \"v=spf1 redirect=soft.test ip4:192.0.2.2\"\n"
    "badtop.test TXT \"v=spf1 a:mail.123 -all\"\n"
    "nul.test TXT \"v=spf1 -all\\000\"\n"
    "badmacro.test TXT \"v=spf1 exists:%{q}.test -all\"\n"
    "macro.test TXT \"v=spf1 exists:%{ir}.%{l1r-}.u.test -all\"\n"
    "1.2.0.192.joe.u.test A 127.0.0.2\n"
    "trunc.test TRUNCATE\n"
    "trunc.test TXT \"v=spf1 ip4:192.0.2.1 -all\"\n"
    "slow.test TXT \"v=spf1 a:d1.slow.test a:d2.slow.test a:d3.slow.test "
    "a:d4.slow.test -all\"\n"
    "d1.slow.test DELAY 600\n"
    "d1.slow.test A 198.51.100.1\n"
    "d2.slow.test DELAY 600\n"
    "d2.slow.test A 198.51.100.2\n"
    "d3.slow.test DELAY 600\n"
    "d3.slow.test A 198.51.100.3\n"
    "d4.slow.test DELAY 600\n"
    "d4.slow.test A 198.51.100.4\n"
    "n1.test TXT \"v=spf1 include:n2.test -all\"\n"
    "n2.test TXT \"v=spf1 include:n3.test -all\"\n"
    "n3.test TXT \"v=spf1 include:n4.test -all\"\n"
    "n4.test TXT \"v=spf1 include:n5.test -all\"\n"
    "n5.test TXT \"v=spf1 include:n6.test -all\"\n"
    "n6.test TXT \"v=spf1 include:n7.test -all\"\n"
    "n7.test TXT \"v=spf1 include:n8.test -all\"\n"
    "n8.test TXT \"v=spf1 include:n9.test -all\"\n"
    "n9.test TXT \"v=spf1 include:n10.test -all\"\n"
    "n10.test TXT \"v=spf1 include:n11.test -all\"\n"
    "n11.test TXT \"v=spf1 include:n12.test -all\"\n"
    "n12.test TXT \"v=spf1 include:n13.test -all\"\n"
    "n13.test TXT \"v=spf1 ip4:192.0.2.1 -all\"\n"
    "neg.test 5 SOA 2\n"
    "neg60.test 60 SOA 60\n"
    "short.test 2 TXT \"v=spf1 ip4:192.0.2.1 -all\"\n";

/* Writes a TXT record of 100 ip4: terms (198.51.100.1 to .100) ending in
 * -all for ip100.test: a long record, split into strings, sent over TCP. */
static int write_ip100(int fd)
{
    char line[4096];
    size_t n = (size_t)snprintf(line, sizeof(line), "ip100.test TXT \"v=spf1");
    for (int i = 1; i <= 100; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " ip4:198.51.100.%d",
                              i);
    n += (size_t)snprintf(line + n, sizeof(line) - n, " -all\"\n");
    return write(fd, line, n) == (ssize_t)n ? 0 : -1;
}

static pid_t dns_pid = -1;
static char zone_path[64];
static char server[32];

/* Builds a socket address from a textual IPv4 or IPv6 address. */
static const struct sockaddr *addr_of(const char *ip,
                                      struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1)
        v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1)
        v6->sin6_family = AF_INET6;
    return (const struct sockaddr *)ss;
}

/* Evaluates one query. */
static void eval(const char *ip, const char *helo, const char *sender,
                 spfcheck_outcome *out)
{
    struct sockaddr_storage ss;
    spfcheck_query q = {addr_of(ip, &ss), helo, sender};
    spfcheck_eval(&q, out);
}

/* Starts testdns on addr with the zone; fills `server` with "ADDR:PORT"
 * ("[ADDR]:PORT" for IPv6). */
static int start_dns(const char *addr)
{
    const char *bin = getenv("SPFGATE_TESTDNS");
    if (bin == NULL) {
        fprintf(stderr, "SPFGATE_TESTDNS is not set\n");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(zone_path, sizeof(zone_path), "%s/spfzone-XXXXXX",
             tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
    int fd = mkstemp(zone_path);
    if (fd < 0)
        return -1;
    if (write(fd, zone_text, sizeof(zone_text) - 1) !=
            (ssize_t)sizeof(zone_text) - 1 ||
        write_ip100(fd) != 0) {
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
        execl(bin, "testdns", "-a", addr, "-p", "0", "-z", zone_path,
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    char line[32];
    int ok = f != NULL && fgets(line, sizeof(line), f) != NULL;
    if (f != NULL)
        fclose(f);
    if (!ok || atoi(line) <= 0) {
        fprintf(stderr, "testdns (%s) did not start on %s\n", bin, addr);
        waitpid(dns_pid, NULL, 0);
        dns_pid = -1;
        unlink(zone_path);
        return -1;
    }
    snprintf(server, sizeof(server),
             strchr(addr, ':') != NULL ? "[%s]:%d" : "%s:%d", addr, atoi(line));
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

/* Starts spfcheck with the given timeouts against testdns; the result
 * cache only for its own tests (the others count DNS queries). */
static bool with_results;
static int init_with(unsigned query_ms, unsigned deadline_ms)
{
    const char *servers[] = {server};
    spfcheck_options o = {.servers = servers,
                          .n_servers = 1,
                          .query_timeout_ms = query_ms,
                          .deadline_ms = deadline_ms,
                          .receiver = "mx.local",
                          .no_result_cache = !with_results};
    char err[128];
    if (spfcheck_init(&o, err, sizeof(err)) != 0) {
        fprintf(stderr, "spfcheck_init: %s\n", err);
        return -1;
    }
    return 0;
}

/* Group set-up: name server, spfcheck with a 1 s query timeout. */
static int setup_main(void **state)
{
    (void)state;
    if (start_dns("127.0.0.1") != 0)
        return -1;
    return init_with(1000, 3000);
}

/* Group tear-down. */
static int teardown_main(void **state)
{
    (void)state;
    spfcheck_shutdown();
    return 0;
}

/* Starts spfcheck against testdns with a cache of `size` answers (0: no
 * cache). */
static int init_cache(unsigned size, unsigned negative_ttl_max_ms)
{
    const char *servers[] = {server};
    spfcheck_options o = {.servers = servers,
                          .n_servers = 1,
                          .query_timeout_ms = 1000,
                          .deadline_ms = 3000,
                          .cache_size = size,
                          .no_cache = size == 0,
                          .negative_ttl_max_ms = negative_ttl_max_ms,
                          .no_result_cache = true};
    char err[128];
    if (spfcheck_init(&o, err, sizeof(err)) != 0) {
        fprintf(stderr, "spfcheck_init: %s\n", err);
        return -1;
    }
    return 0;
}

/* Small cache group set-up: 3 answers, negative ones at most 2 s. */
static int setup_small_cache(void **state)
{
    (void)state;
    return init_cache(3, 2000);
}

/* No cache group set-up. */
static int setup_no_cache(void **state)
{
    (void)state;
    return init_cache(0, 0);
}

/* Deadline group set-up: 1 s queries, 1.5 s for the whole evaluation. */
static int setup_deadline(void **state)
{
    (void)state;
    return init_with(1000, 1500);
}

/* Deadline group tear-down: also stops the name server. */
static int teardown_deadline(void **state)
{
    (void)state;
    spfcheck_shutdown();
    stop_dns();
    return 0;
}

/* IPv6 group set-up (the name server is already listening on ::1). */
static int setup_ipv6(void **state)
{
    (void)state;
    return init_with(1000, 3000);
}

/* One row of the evaluation table. */
typedef struct {
    const char *what;
    const char *ip, *helo, *sender;
    spfcheck_result want;
    const char *identity; /* NULL: not checked */
    const char *problem;  /* substring of problem, NULL: not checked */
} row;

static const row rows[] = {
    {"pass", "192.0.2.1", "h.test", "a@pass.test", SPFCHECK_PASS, "a@pass.test",
     NULL},
    {"fail", "192.0.2.2", "h.test", "a@pass.test", SPFCHECK_FAIL, NULL, NULL},
    {"softfail", "192.0.2.2", "h.test", "a@soft.test", SPFCHECK_SOFTFAIL, NULL,
     NULL},
    {"neutral", "192.0.2.2", "h.test", "a@neutral.test", SPFCHECK_NEUTRAL, NULL,
     NULL},
    {"no TXT", "192.0.2.2", "h.test", "a@norec.test", SPFCHECK_NONE, NULL,
     NULL},
    {"NXDOMAIN", "192.0.2.2", "h.test", "a@nx.test", SPFCHECK_NONE, NULL, NULL},
    {"TXT but no SPF", "192.0.2.2", "h.test", "a@txtonly.test", SPFCHECK_NONE,
     NULL, NULL},
    {"bad record", "192.0.2.2", "h.test", "a@bad.test", SPFCHECK_PERMERROR,
     NULL, NULL},
    {"two records", "192.0.2.2", "h.test", "a@two.test", SPFCHECK_PERMERROR,
     NULL, NULL},
    {"SERVFAIL", "192.0.2.2", "h.test", "a@sf.test", SPFCHECK_TEMPERROR, NULL,
     NULL},
    {"null sender", "192.0.2.1", "pass.test", "", SPFCHECK_PASS,
     "postmaster@pass.test", NULL},
    {"null sender fail", "192.0.2.3", "pass.test", "", SPFCHECK_FAIL,
     "postmaster@pass.test", NULL},
    {"HELO pass", "192.0.2.10", "helo.test", NULL, SPFCHECK_PASS, "helo.test",
     NULL},
    {"HELO fail", "192.0.2.11", "helo.test", NULL, SPFCHECK_FAIL, "helo.test",
     NULL},
    {"HELO literal", "192.0.2.10", "[192.0.2.10]", NULL, SPFCHECK_NONE, NULL,
     "literal"},
    {"HELO one label", "192.0.2.10", "localhost", NULL, SPFCHECK_NONE, NULL,
     "multi-label"},
    {"HELO missing", "192.0.2.10", NULL, NULL, SPFCHECK_NONE, NULL, NULL},
    {"sender empty label", "192.0.2.1", "h.test", "a@pass..test", SPFCHECK_NONE,
     NULL, "empty label"},
    {"sender numeric top", "192.0.2.1", "h.test", "a@192.0.2.1", SPFCHECK_NONE,
     NULL, "numeric"},
    {"sender long label", "192.0.2.1", "h.test",
     "a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     ".test",
     SPFCHECK_NONE, NULL, "63"},
    {"IPv6 ip6", "2001:db8::1", "h.test", "a@ip6.test", SPFCHECK_PASS, NULL,
     NULL},
    {"IPv6 outside", "2001:db9::1", "h.test", "a@ip6.test", SPFCHECK_FAIL, NULL,
     NULL},
    {"v4-mapped", "::ffff:192.0.2.1", "h.test", "a@pass.test", SPFCHECK_PASS,
     NULL, NULL},
    {"loopback v4", "127.0.0.1", "h.test", "a@two.test", SPFCHECK_PERMERROR,
     NULL, NULL},
    {"loopback -all", "127.0.0.1", "h.test", "a@soft.test", SPFCHECK_SOFTFAIL,
     NULL, NULL},
    {"loopback pass.test", "127.0.0.1", "h.test", "a@pass.test", SPFCHECK_FAIL,
     NULL, NULL},
    {"loopback v6", "::1", "h.test", "a@pass.test", SPFCHECK_FAIL, NULL, NULL},
    {"a pass", "192.0.2.20", "h.test", "a@a.test", SPFCHECK_PASS, NULL, NULL},
    {"a fail", "192.0.2.21", "h.test", "a@a.test", SPFCHECK_FAIL, NULL, NULL},
    {"mx pass", "192.0.2.30", "h.test", "a@mx.test", SPFCHECK_PASS, NULL, NULL},
    {"mx fail", "192.0.2.31", "h.test", "a@mx.test", SPFCHECK_FAIL, NULL, NULL},
    {"include pass", "192.0.2.1", "h.test", "a@inc.test", SPFCHECK_PASS, NULL,
     NULL},
    {"include fail", "192.0.2.5", "h.test", "a@inc.test", SPFCHECK_FAIL, NULL,
     NULL},
    {"CNAME to record", "192.0.2.1", "h.test", "a@cname.test", SPFCHECK_PASS,
     NULL, NULL},
    {"truncated: TCP", "192.0.2.1", "h.test", "a@trunc.test", SPFCHECK_PASS,
     NULL, NULL},
    {"11 DNS terms", "192.0.2.1", "h.test", "a@lim.test", SPFCHECK_PERMERROR,
     NULL, "more than 10"},
    {"2 void lookups", "192.0.2.1", "h.test", "a@void2.test", SPFCHECK_FAIL,
     NULL, NULL},
    {"3 void lookups", "192.0.2.1", "h.test", "a@void3.test",
     SPFCHECK_PERMERROR, NULL, "void"},
    {"ip4 /0", "198.51.100.7", "h.test", "a@cidr0.test", SPFCHECK_PASS, NULL,
     NULL},
    {"ip4 /0, IPv6 client", "2001:db8::7", "h.test", "a@cidr0.test",
     SPFCHECK_FAIL, NULL, NULL},
    {"CIDR /032", "192.0.2.1", "h.test", "a@cidr032.test", SPFCHECK_PERMERROR,
     NULL, "CIDR"},
    {"a/0", "198.51.100.7", "h.test", "a@a0.test", SPFCHECK_PASS, NULL, NULL},
    {"redirect", "192.0.2.2", "h.test", "a@redir.test", SPFCHECK_FAIL, NULL,
     NULL},
    {"redirect ignored with all", "192.0.2.2", "h.test", "a@redirall.test",
     SPFCHECK_NEUTRAL, NULL, NULL},
    {"redirect after mechanisms", "192.0.2.2", "h.test", "a@redirfirst.test",
     SPFCHECK_PASS, NULL, NULL},
    {"bad top label", "192.0.2.2", "h.test", "a@badtop.test",
     SPFCHECK_PERMERROR, NULL, NULL},
    {"NUL in record", "192.0.2.2", "h.test", "a@nul.test", SPFCHECK_PERMERROR,
     NULL, NULL},
    {"bad macro", "192.0.2.2", "h.test", "a@badmacro.test", SPFCHECK_PERMERROR,
     NULL, NULL},
    {"macros", "192.0.2.1", "h.test", "joe@macro.test", SPFCHECK_PASS, NULL,
     NULL},
    {"100 ip4 terms, listed", "198.51.100.100", "h.test", "a@ip100.test",
     SPFCHECK_PASS, NULL, NULL},
    {"100 ip4 terms, not listed", "198.51.100.101", "h.test", "a@ip100.test",
     SPFCHECK_FAIL, NULL, NULL},
    {"12 nested includes", "192.0.2.1", "h.test", "a@n1.test",
     SPFCHECK_PERMERROR, NULL, "more than 10"},
    {"10 nested includes", "192.0.2.1", "h.test", "a@n3.test", SPFCHECK_PASS,
     NULL, NULL},
};

/* Every row of the table. */
static void test_table(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *r = &rows[i];
        spfcheck_outcome o;
        eval(r->ip, r->helo, r->sender, &o);
        bool ok = o.result == r->want;
        if (r->identity != NULL && strcmp(o.identity, r->identity) != 0)
            ok = false;
        if (r->problem != NULL && strstr(o.problem, r->problem) == NULL)
            ok = false;
        if (!ok) {
            bad++;
            fprintf(stderr, "FAIL %s: got %s (identity %s, problem %s)\n",
                    r->what, spfcheck_result_name(o.result), o.identity,
                    o.problem);
        }
    }
    assert_int_equal(bad, 0);
}

/* A fail carries the explanation from exp=, macros expanded. */
static void test_explanation(void **state)
{
    (void)state;
    spfcheck_outcome o;
    eval("192.0.2.7", "h.test", "joe@exp.test", &o);
    assert_int_equal(o.result, SPFCHECK_FAIL);
    assert_string_equal(o.explanation, "192.0.2.7 may not send for exp.test");
    assert_string_equal(o.domain, "exp.test");
    assert_true(o.dns_queries >= 2);

    eval("192.0.2.9", "h.test", "joe@pass.test", &o);
    assert_int_equal(o.result, SPFCHECK_FAIL);
    assert_string_equal(o.explanation, ""); /* no exp=: the receiver's own */

    eval("192.0.2.1", "h.test", "joe@pass.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    assert_string_equal(o.explanation, "");
    assert_string_equal(o.problem, "");
}

/* A second evaluation of the same domain is answered from the cache. */
static void test_cache(void **state)
{
    (void)state;
    spfcheck_outcome o;
    eval("192.0.2.20", "h.test", "x@a.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    eval("192.0.2.20", "h.test", "y@a.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    assert_int_equal(o.dns_queries, 0);
    /* temporary failures are not kept */
    eval("192.0.2.2", "h.test", "a@sf.test", &o);
    eval("192.0.2.2", "h.test", "a@sf.test", &o);
    assert_int_equal(o.result, SPFCHECK_TEMPERROR);
    assert_true(o.dns_queries >= 1);
}

/* The cache's counters move: a miss and a query first, then hits. */
static void test_cache_counters(void **state)
{
    (void)state;
    dns_cache_counters c0, c1, c2;
    spfcheck_outcome o;
    dns_cache_clear();
    dns_cache_stats(&c0);
    eval("192.0.2.30", "h.test", "x@mx.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    dns_cache_stats(&c1);
    assert_true(c1.misses > c0.misses);
    assert_true(c1.entries >= 3); /* TXT and MX of mx.test, A of its host */
    assert_int_equal(c1.capacity, 10000);
    eval("192.0.2.30", "h.test", "y@mx.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    assert_int_equal(o.dns_queries, 0);
    dns_cache_stats(&c2);
    assert_true(c2.hits >= c1.hits + 3);
    assert_int_equal(c2.misses, c1.misses);
    assert_int_equal(c2.evictions, 0);
}

/* Collects the names of traced lookups. */
static void collect(void *ctx, const dns_trace_entry *e)
{
    char *buf = ctx;
    char tb[16];
    size_t n = strlen(buf);
    snprintf(buf + n, 1024 - n, "%s/%s/%s/%s;", e->name,
             dns_type_name(e->type, tb, sizeof(tb)), dns_herrno_name(e->herrno),
             e->cached ? "cached" : "queried");
}

/* The trace hook hears each lookup, cached or queried, only while set. */
static void test_trace(void **state)
{
    (void)state;
    char buf[1024] = "";
    spfcheck_outcome o;
    dns_cache_clear();
    dns_trace_set(collect, buf);
    eval("192.0.2.20", "h.test", "x@a.test", &o);
    eval("192.0.2.20", "h.test", "x@a.test", &o);
    dns_trace_set(NULL, NULL);
    assert_string_equal(buf, "a.test/TXT/NOERROR/queried;"
                             "a.test/A/NOERROR/queried;"
                             "a.test/TXT/NOERROR/cached;"
                             "a.test/A/NOERROR/cached;");
    buf[0] = '\0';
    eval("192.0.2.20", "h.test", "x@a.test", &o);
    assert_string_equal(buf, "");
}

/* A full cache drops its least recently used answer: memory stays
 * bounded, what is used often stays. */
static void test_cache_lru(void **state)
{
    (void)state;
    dns_cache_counters c;
    spfcheck_outcome o;
    eval("192.0.2.1", "h.test", "a@pass.test", &o);    /* TXT pass.test */
    eval("192.0.2.2", "h.test", "a@soft.test", &o);    /* TXT soft.test */
    eval("192.0.2.2", "h.test", "a@neutral.test", &o); /* full */
    dns_cache_stats(&c);
    assert_int_equal(c.capacity, 3);
    assert_int_equal(c.entries, 3);
    assert_int_equal(c.evictions, 0);
    eval("192.0.2.1", "h.test", "a@pass.test", &o); /* pass.test: newest */
    assert_int_equal(o.dns_queries, 0);
    eval("192.0.2.2", "h.test", "a@norec.test", &o); /* drops soft.test */
    assert_int_equal(o.result, SPFCHECK_NONE);
    dns_cache_stats(&c);
    assert_int_equal(c.entries, 3);
    assert_int_equal(c.evictions, 1);
    eval("192.0.2.1", "h.test", "a@pass.test", &o);
    assert_int_equal(o.dns_queries, 0); /* recently used: kept */
    eval("192.0.2.2", "h.test", "a@soft.test", &o);
    assert_int_equal(o.result, SPFCHECK_SOFTFAIL);
    assert_int_equal(o.dns_queries, 1); /* the oldest: dropped */
    for (int i = 0; i < 50; i++)
        eval("192.0.2.2", "h.test", i % 2 ? "a@mx.test" : "a@inc.test", &o);
    dns_cache_stats(&c);
    assert_true(c.entries <= 3);
    assert_true(c.evictions > 10);
}

/* Sleeps ms milliseconds. */
static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Evaluates sender for a client no record lists; returns the queries. */
static unsigned queries_of(const char *sender, spfcheck_result want)
{
    spfcheck_outcome o;
    eval("192.0.2.2", "h.test", sender, &o);
    assert_int_equal(o.result, want);
    return o.dns_queries;
}

/* NXDOMAIN is kept for its SOA's negative TTL (RFC 2308: the lower of
 * the SOA's TTL, 5, and MINIMUM, 2), one without SOA for the cap (300 s
 * by default). */
static void test_negative_ttl(void **state)
{
    (void)state;
    assert_int_equal(queries_of("a@x.neg.test", SPFCHECK_NONE), 1);
    assert_int_equal(queries_of("a@nx.test", SPFCHECK_NONE), 1);
    assert_int_equal(queries_of("a@x.neg.test", SPFCHECK_NONE), 0);
    assert_int_equal(queries_of("a@nx.test", SPFCHECK_NONE), 0);
    sleep_ms(2100);
    assert_int_equal(queries_of("a@x.neg.test", SPFCHECK_NONE), 1);
    assert_int_equal(queries_of("a@nx.test", SPFCHECK_NONE), 0);
}

/* dns_negative_ttl_max caps the SOA's negative TTL (60 s here, 2 s cap). */
static void test_negative_cap(void **state)
{
    (void)state;
    dns_cache_clear();
    assert_int_equal(queries_of("a@y.neg60.test", SPFCHECK_NONE), 1);
    assert_int_equal(queries_of("a@y.neg60.test", SPFCHECK_NONE), 0);
    sleep_ms(2100);
    assert_int_equal(queries_of("a@y.neg60.test", SPFCHECK_NONE), 1);
}

/* dns_cache_size = 0: nothing is kept, every evaluation asks. */
static void test_no_cache(void **state)
{
    (void)state;
    dns_cache_counters c;
    spfcheck_outcome o;
    eval("192.0.2.20", "h.test", "a@a.test", &o);
    eval("192.0.2.20", "h.test", "a@a.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    assert_int_equal(o.dns_queries, 2);
    dns_cache_stats(&c);
    assert_int_equal(c.entries, 0);
    assert_int_equal(c.hits, 0);
    assert_int_equal(c.capacity, 0);
}

/* A name server that never answers costs one query timeout. */
static void test_timeout(void **state)
{
    (void)state;
    spfcheck_outcome o;
    eval("192.0.2.2", "h.test", "a@to.test", &o);
    assert_int_equal(o.result, SPFCHECK_TEMPERROR);
    assert_true(o.elapsed_ms >= 900);
    assert_true(o.elapsed_ms < 1000 + 500);
}

/* The evaluation stops at its deadline, within one query timeout. */
static void test_deadline(void **state)
{
    (void)state;
    spfcheck_outcome o;
    eval("192.0.2.2", "h.test", "a@slow.test", &o);
    assert_int_equal(o.result, SPFCHECK_TEMPERROR);
    assert_string_equal(o.problem, "deadline exceeded");
    assert_true(o.elapsed_ms >= 1500);
    assert_true(o.elapsed_ms < 1500 + 1000 + 200);
}

/* A name server reached over IPv6 (glibc's extension slots). */
static void test_ipv6_server(void **state)
{
    (void)state;
    spfcheck_outcome o;
    eval("192.0.2.1", "h.test", "a@pass.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    assert_true(o.dns_queries >= 1);
    eval("192.0.2.30", "h.test", "a@mx.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
}

/* Result names round-trip. */
static void test_names(void **state)
{
    (void)state;
    for (int r = 0; r < SPFCHECK_RESULT_COUNT; r++)
        assert_int_equal(spfcheck_result_parse(spfcheck_result_name(r)), r);
    assert_string_equal(spfcheck_result_name(SPFCHECK_SOFTFAIL), "softfail");
    assert_int_equal(spfcheck_result_parse("PermError"), SPFCHECK_PERMERROR);
    assert_int_equal(spfcheck_result_parse("bogus"), -1);
    assert_int_equal(spfcheck_result_parse(NULL), -1);
}

static int thread_mismatches;
static pthread_mutex_t thread_lock = PTHREAD_MUTEX_INITIALIZER;

/* One thread: 200 evaluations over a few rows of the table. */
static void *thread_main(void *arg)
{
    static const size_t pick[] = {0, 1, 2, 12, 20, 27, 29, 31, 32};
    size_t seed = (size_t)(uintptr_t)arg;
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        const row *r = &rows[pick[(seed + (size_t)i) % 9]];
        spfcheck_outcome o;
        eval(r->ip, r->helo, r->sender, &o);
        if (o.result != r->want)
            bad++;
    }
    pthread_mutex_lock(&thread_lock);
    thread_mismatches += bad;
    pthread_mutex_unlock(&thread_lock);
    return NULL;
}

/* 8 threads x 200 evaluations give the same results as one. */
static void test_threads(void **state)
{
    (void)state;
    pthread_t t[8];
    for (uintptr_t i = 0; i < 8; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, thread_main, (void *)(i * 3)), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(thread_mismatches, 0);
}

/* Result cache hits and misses since the last call. */
static void cache_delta(unsigned long long *hits, unsigned long long *misses)
{
    static unsigned long long h0, m0;
    unsigned long long h, m;
    spfcache_counters(&h, &m);
    *hits = h - h0;
    *misses = m - m0;
    h0 = h;
    m0 = m;
}

/* A result is kept while its DNS answers are: the same client, HELO and
 * identity get it again without an evaluation; another client does not. */
static void test_results_kept(void **state)
{
    (void)state;
    unsigned long long h, m;
    spfcheck_outcome o;
    cache_delta(&h, &m);
    eval("192.0.2.1", "h.test", "a@inc.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    cache_delta(&h, &m);
    assert_int_equal(h, 0);
    assert_int_equal(m, 1);
    eval("192.0.2.1", "h.test", "a@inc.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    assert_string_equal(o.identity, "a@inc.test");
    assert_string_equal(o.domain, "inc.test");
    assert_int_equal(o.dns_queries, 0);
    cache_delta(&h, &m);
    assert_int_equal(h, 1);
    assert_int_equal(m, 0);
    eval("192.0.2.2", "h.test", "a@inc.test", &o); /* another client */
    assert_int_equal(o.result, SPFCHECK_FAIL);
    eval("192.0.2.1", "h2.test", "a@inc.test", &o); /* another HELO */
    eval("192.0.2.1", "h.test", "b@inc.test", &o);  /* another sender */
    cache_delta(&h, &m);
    assert_int_equal(h, 0);
    assert_int_equal(m, 3);
}

/* The HELO identity and a null sender both evaluate postmaster@HELO:
 * one result serves both, each with its own identity. */
static void test_results_helo_shared(void **state)
{
    (void)state;
    unsigned long long h, m;
    spfcheck_outcome o;
    cache_delta(&h, &m);
    eval("192.0.2.10", "helo.test", NULL, &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    assert_string_equal(o.identity, "helo.test");
    eval("192.0.2.10", "helo.test", "", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    assert_string_equal(o.identity, "postmaster@helo.test");
    cache_delta(&h, &m);
    assert_int_equal(h, 1);
    assert_int_equal(m, 1);
}

/* Not kept: temperror, a fail with an explanation (it may hold the
 * time); kept no longer than the shortest TTL of its answers. */
static void test_results_not_kept(void **state)
{
    (void)state;
    unsigned long long h, m;
    spfcheck_outcome o;
    cache_delta(&h, &m);
    for (int i = 0; i < 2; i++) {
        eval("192.0.2.1", "h.test", "a@sf.test", &o);
        assert_int_equal(o.result, SPFCHECK_TEMPERROR);
        eval("192.0.2.99", "h.test", "a@exp.test", &o);
        assert_int_equal(o.result, SPFCHECK_FAIL);
        assert_string_equal(o.explanation,
                            "192.0.2.99 may not send for exp.test");
    }
    cache_delta(&h, &m);
    assert_int_equal(h, 0);
    assert_int_equal(m, 4);
    eval("192.0.2.1", "h.test", "a@short.test", &o); /* TTL 2 s */
    eval("192.0.2.1", "h.test", "a@short.test", &o);
    cache_delta(&h, &m);
    assert_int_equal(h, 1);
    sleep_ms(2100);
    eval("192.0.2.1", "h.test", "a@short.test", &o);
    assert_int_equal(o.result, SPFCHECK_PASS);
    assert_int_equal(o.dns_queries, 1); /* both caches let it go */
    cache_delta(&h, &m);
    assert_int_equal(h, 0);
    assert_int_equal(m, 1);
}

/* Result cache group set-up: as the main group, with the cache. */
static int setup_results(void **state)
{
    (void)state;
    with_results = true;
    int rc = init_with(1000, 3000);
    with_results = false;
    return rc;
}

/* Runs the groups: main, small cache, no cache, result cache, deadline,
 * IPv6 name server. */
int main(void)
{
    const struct CMUnitTest main_tests[] = {
        cmocka_unit_test(test_names),          cmocka_unit_test(test_table),
        cmocka_unit_test(test_explanation),    cmocka_unit_test(test_cache),
        cmocka_unit_test(test_cache_counters), cmocka_unit_test(test_trace),
        cmocka_unit_test(test_negative_ttl),   cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_threads),
    };
    const struct CMUnitTest small_cache_tests[] = {
        cmocka_unit_test(test_cache_lru),
        cmocka_unit_test(test_negative_cap),
    };
    const struct CMUnitTest no_cache_tests[] = {
        cmocka_unit_test(test_no_cache),
    };
    const struct CMUnitTest result_tests[] = {
        cmocka_unit_test(test_results_kept),
        cmocka_unit_test(test_results_helo_shared),
        cmocka_unit_test(test_results_not_kept),
    };
    const struct CMUnitTest deadline_tests[] = {
        cmocka_unit_test(test_deadline),
    };
    const struct CMUnitTest ipv6_tests[] = {
        cmocka_unit_test(test_ipv6_server),
    };
    int failed = cmocka_run_group_tests_name("spfcheck", main_tests, setup_main,
                                             teardown_main);
    if (dns_pid > 0) {
        failed += cmocka_run_group_tests_name("small cache", small_cache_tests,
                                              setup_small_cache, teardown_main);
        failed += cmocka_run_group_tests_name("no cache", no_cache_tests,
                                              setup_no_cache, teardown_main);
        failed += cmocka_run_group_tests_name("result cache", result_tests,
                                              setup_results, teardown_main);
        failed += cmocka_run_group_tests_name(
            "deadline", deadline_tests, setup_deadline, teardown_deadline);
    }
    stop_dns();
    if (failed == 0 && start_dns("::1") == 0)
        failed += cmocka_run_group_tests_name("ipv6", ipv6_tests, setup_ipv6,
                                              teardown_deadline);
    else if (failed == 0)
        printf("# ipv6 name server: skipped (no ::1)\n");
    stop_dns();
    return failed != 0 ? 1 : 0;
}

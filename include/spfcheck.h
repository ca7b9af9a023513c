/*
 * spfcheck.h - SPF evaluation of one identity (RFC 7208), the only door to
 * libspf2.
 *
 * Owns: the process-wide SPF_server_t (created by spfcheck_init before
 * any connection thread starts, shared read-only afterwards) and the
 * mapping of libspf2's results onto RFC 7208's seven.
 *
 * Fails: an evaluation never fails as a call: every internal error,
 * timeout or bad input is a result (temperror or permerror, or none for an
 * identity that is not a domain) with a reason in `problem`.
 */
#ifndef SPFGATE_SPFCHECK_H
#define SPFGATE_SPFCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/socket.h>

/* The seven results of RFC 7208 section 2.6. */
typedef enum {
    SPFCHECK_NONE,
    SPFCHECK_NEUTRAL,
    SPFCHECK_PASS,
    SPFCHECK_FAIL,
    SPFCHECK_SOFTFAIL,
    SPFCHECK_TEMPERROR,
    SPFCHECK_PERMERROR,
    SPFCHECK_RESULT_COUNT
} spfcheck_result;

/* Process-wide options, fixed at spfcheck_init. */
typedef struct {
    /* Name servers "ADDR" or "ADDR:PORT" ("[v6]:PORT" for IPv6 with a
     * port); n_servers == 0: the system's (/etc/resolv.conf). */
    const char *const *servers;
    size_t n_servers;
    unsigned query_timeout_ms; /* one DNS query, 0: 2000 */
    unsigned deadline_ms;      /* one whole evaluation, 0: 8000 */
    const char *receiver; /* name used in explanations (%{r}), may be NULL */
    unsigned cache_size;  /* DNS answers cached, 0: 10000 */
    bool no_cache;        /* cache nothing (dns_cache_size = 0) */
    unsigned negative_ttl_max_ms; /* cap on NXDOMAIN/NODATA caching (RFC
                                     2308), 0: 300000 */
    bool no_result_cache; /* evaluate every time, even when the DNS cache
                             still holds every answer (spfcache.h) */
} spfcheck_options;

/* One evaluation's input. Strings are borrowed for the call. */
typedef struct {
    const struct sockaddr *client; /* AF_INET or AF_INET6 (v4-mapped: IPv4) */
    const char *helo;              /* HELO/EHLO argument, may be NULL */
    const char *sender;            /* MAIL FROM address without <>, "" for null;
                                      NULL: evaluate the HELO identity */
} spfcheck_query;

/* One evaluation's output; owns nothing (fixed buffers). */
typedef struct {
    spfcheck_result result;
    char identity[320];    /* the checked identity: "user@domain" or the HELO */
    char domain[256];      /* the domain whose record was evaluated */
    char explanation[512]; /* for fail: the explanation (RFC 7208 6.2),
                              else "" */
    char mechanism[128];   /* the matching mechanism or "default", may be "" */
    char problem[160];     /* why temperror/permerror/none, "" otherwise */
    unsigned elapsed_ms;
    unsigned dns_queries;
} spfcheck_outcome;

/* Creates the shared SPF server. Returns 0, or -1 with a message in err. */
int spfcheck_init(const spfcheck_options *opt, char *err, size_t errlen);

/* Evaluates one identity: the MAIL FROM identity when q->sender is not
 * NULL (for "" the identity is postmaster@HELO, RFC 7208 2.4), else the
 * HELO identity (RFC 7208 2.3). Thread-safe. */
void spfcheck_eval(const spfcheck_query *q, spfcheck_outcome *out);

/* Frees the shared server (at exit). */
void spfcheck_shutdown(void);

/* Lower-case RFC name of a result: "pass", "temperror", ... */
const char *spfcheck_result_name(spfcheck_result r);

/* Parses a result name; returns -1 if unknown. */
int spfcheck_result_parse(const char *name);

#endif

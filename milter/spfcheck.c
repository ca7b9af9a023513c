/*
 * spfcheck.c - SPF evaluation of one identity (RFC 7208) through libspf2.
 *
 * Owns: the process-wide SPF_server_t (created by spfcheck_init with
 * spfgate's own DNS layer from dns.c, never libspf2's cache layer; shared
 * read-only by all threads afterwards), the evaluation options, and the
 * routing of libspf2's log output into log.h.
 *
 * Each evaluation uses its own SPF_request_t/SPF_response_t and runs the
 * same steps as SPF_request_query_mailfrom except its "localhost free
 * ride": libspf2 passes every 127.0.0.0/8 and ::1 client without looking at
 * any record, spfgate evaluates them like any other address. Identities
 * that are not domains (address literals, one label, bad labels, numeric
 * top label) give "none" without asking libspf2 (RFC 7208 4.3).
 *
 * Every record is checked and rewritten by the DNS layer before libspf2
 * compiles it (dnsrecord.c, spfrecord.c); a bad record or a breached
 * lookup limit anywhere makes the evaluation permerror, whatever libspf2
 * concludes. libspf2's SPF_RESULT_INVALID (the record lookup failed, or
 * the record did not compile) is mapped with what the DNS layer saw:
 * temperror when the record lookup failed temporarily, none when there was
 * no SPF record, else permerror. An evaluation that ran into its deadline
 * is temperror ("deadline exceeded"). The explanation of a fail is
 * spfgate's own expansion of the exp= of the record in effect, "" when
 * there is none or it is unusable (RFC 7208 6.2), never libspf2's.
 *
 * Fails: spfcheck_init returns -1 with a message; spfcheck_eval never
 * fails as a call (every problem is a result with a reason in `problem`).
 * libspf2's internal errors abort the process after being logged: the
 * library offers no way back from them.
 */
#include "config.h"

#include "spfcheck.h"

#include "dns.h"
#include "dnslayer.h"
#include "log.h"
#include "spfcache.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static SPF_server_t *server;
static SPF_dns_server_t *dns_layer; /* SPF_server_free leaves it */
static unsigned opt_deadline_ms = 8000;

static const char *const result_names[SPFCHECK_RESULT_COUNT] = {
    [SPFCHECK_NONE] = "none",           [SPFCHECK_NEUTRAL] = "neutral",
    [SPFCHECK_PASS] = "pass",           [SPFCHECK_FAIL] = "fail",
    [SPFCHECK_SOFTFAIL] = "softfail",   [SPFCHECK_TEMPERROR] = "temperror",
    [SPFCHECK_PERMERROR] = "permerror",
};

/* Lower-case RFC name of a result. */
const char *spfcheck_result_name(spfcheck_result r)
{
    if ((unsigned)r >= SPFCHECK_RESULT_COUNT)
        return "temperror";
    return result_names[r];
}

/* Result for a name (any case), or -1. */
int spfcheck_result_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < SPFCHECK_RESULT_COUNT; i++)
        if (strcasecmp(name, result_names[i]) == 0)
            return i;
    return -1;
}

/* libspf2's fatal errors: logged, then abort (libspf2 cannot continue). */
__attribute__((noreturn)) static void spf_log_error(const char *file, int line,
                                                    const char *msg)
{
    log_msg(LOG_LEVEL_ERR, "libspf2 internal error at %s:%d: %s",
            file != NULL ? file : "?", line, msg != NULL ? msg : "");
    abort();
}

/* libspf2's warnings. */
static void spf_log_warning(const char *file, int line, const char *msg)
{
    (void)file;
    (void)line;
    log_msg(LOG_LEVEL_WARNING, "libspf2: %s", msg != NULL ? msg : "");
}

/* libspf2's informational and debug messages. */
static void spf_log_debug(const char *file, int line, const char *msg)
{
    (void)file;
    (void)line;
    if (log_enabled(LOG_LEVEL_DEBUG))
        log_msg(LOG_LEVEL_DEBUG, "libspf2: %s", msg != NULL ? msg : "");
}

/* Sets up the DNS layer and the shared SPF server. */
int spfcheck_init(const spfcheck_options *opt, char *err, size_t errlen)
{
    static const spfcheck_options defaults;
    if (opt == NULL)
        opt = &defaults;
    if (server != NULL) {
        snprintf(err, errlen, "spfcheck_init called twice");
        return -1;
    }
    SPF_error_handler = spf_log_error;
    SPF_warning_handler = spf_log_warning;
    SPF_info_handler = spf_log_debug;
    SPF_debug_handler = spf_log_debug;

    if (dns_setup(opt->servers, opt->n_servers, opt->query_timeout_ms, err,
                  errlen) != 0)
        return -1;
    opt_deadline_ms = opt->deadline_ms != 0 ? opt->deadline_ms : 8000;
    unsigned neg_ms =
        opt->negative_ttl_max_ms != 0 ? opt->negative_ttl_max_ms : 300000;
    dns_cache_setup(opt->no_cache          ? 0
                    : opt->cache_size != 0 ? opt->cache_size
                                           : 10000,
                    neg_ms / 1000);
    /* Results rest on cached answers: no DNS cache, no result cache. */
    spfcache_setup(
        opt->no_cache || opt->no_result_cache ? 0 : SPFCACHE_DEFAULT_SLOTS);

    SPF_dns_server_t *dns = dns_layer_new();
    if (dns == NULL) {
        snprintf(err, errlen, "out of memory creating the DNS layer");
        return -1;
    }
    server = SPF_server_new_dns(dns, 0);
    dns_layer = dns;
    if (server == NULL) {
        spfcheck_shutdown();
        snprintf(err, errlen, "out of memory creating the SPF server");
        return -1;
    }
    if (opt->receiver != NULL && opt->receiver[0] != '\0' &&
        SPF_server_set_rec_dom(server, opt->receiver) != SPF_E_SUCCESS) {
        spfcheck_shutdown();
        snprintf(err, errlen, "cannot set the receiver name");
        return -1;
    }
    return 0;
}

/* Frees the shared server, the DNS layer and the cache. */
void spfcheck_shutdown(void)
{
    if (server != NULL)
        SPF_server_free(server);
    server = NULL;
    if (dns_layer != NULL)
        SPF_dns_free(dns_layer);
    dns_layer = NULL;
    dns_states_close();
    spfcache_shutdown();
    dns_cache_clear();
}

/* Copies src into dst (size n), replacing bytes outside printable ASCII. */
static void copy_clean(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    if (n == 0)
        return;
    for (; src != NULL && src[i] != '\0' && i + 1 < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[i] = '\0';
}

/* Why a name is not a domain for SPF (RFC 7208 4.3), or NULL if it is. */
static const char *domain_problem(const char *d)
{
    size_t len = strlen(d);
    if (len == 0)
        return "empty domain";
    if (d[0] == '[')
        return "address literal, not a domain";
    if (d[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return "domain length out of range";
    size_t label = 0, labels = 0, top = 0;
    bool top_numeric = true;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? d[i] : '.';
        if (c == '.') {
            if (label == 0)
                return "empty label in domain";
            labels++;
            top = i - label;
            top_numeric = true;
            for (size_t k = top; k < i; k++)
                if (!isdigit((unsigned char)d[k]))
                    top_numeric = false;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-' && c != '_')
            return "bad character in domain";
        if (++label > 63)
            return "domain label longer than 63 octets";
    }
    if (labels < 2)
        return "not a multi-label domain";
    if (top_numeric)
        return "numeric top-level label";
    return NULL;
}

/* Elapsed milliseconds since t0. */
static unsigned ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (long long)(now.tv_sec - t0->tv_sec) * 1000 +
                   (now.tv_nsec - t0->tv_nsec) / 1000000;
    return ms > 0 ? (unsigned)ms : 0;
}

/* Sets the request's client address; returns false if unusable. */
static bool set_client(SPF_request_t *req, const struct sockaddr *sa)
{
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        return SPF_request_set_ipv4(req, v4->sin_addr) == SPF_E_SUCCESS;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            struct in_addr a;
            memcpy(&a, &v6->sin6_addr.s6_addr[12], 4);
            return SPF_request_set_ipv4(req, a) == SPF_E_SUCCESS;
        }
        return SPF_request_set_ipv6(req, v6->sin6_addr) == SPF_E_SUCCESS;
    }
    return false;
}

/* The first error message libspf2 put into the response, or NULL. */
static const char *first_error(SPF_response_t *resp)
{
    int n = SPF_response_messages(resp);
    for (int i = 0; i < n; i++) {
        SPF_error_t *e = SPF_response_message(resp, i);
        if (e != NULL && e->is_error && e->message != NULL)
            return e->message;
    }
    for (int i = 0; i < n; i++) {
        SPF_error_t *e = SPF_response_message(resp, i);
        if (e != NULL && e->message != NULL)
            return e->message;
    }
    return NULL;
}

/* Runs libspf2 on the prepared request: query_mailfrom minus localhost. */
static SPF_response_t *run_query(SPF_request_t *req)
{
    SPF_response_t *resp = SPF_response_new(req);
    if (resp == NULL)
        return NULL;
    SPF_record_t *rec = NULL;
    req->cur_dom = req->env_from_dp;
    SPF_errcode_t err = SPF_server_get_record(server, req, resp, &rec);
    if (err == SPF_E_SUCCESS && rec != NULL) {
        resp->spf_record_exp = rec;
        (void)SPF_record_interpret(rec, req, resp, 0);
        resp->spf_record_exp = NULL;
    }
    if (rec != NULL)
        SPF_record_free(rec);
    return resp;
}

/* Maps libspf2's answer onto the outcome. */
static void map_response(SPF_response_t *resp, const dns_eval *ev,
                         spfcheck_outcome *out)
{
    const char *why = first_error(resp);
    switch (SPF_response_result(resp)) {
    case SPF_RESULT_PASS:
        out->result = SPFCHECK_PASS;
        break;
    case SPF_RESULT_FAIL:
        out->result = SPFCHECK_FAIL;
        break;
    case SPF_RESULT_SOFTFAIL:
        out->result = SPFCHECK_SOFTFAIL;
        break;
    case SPF_RESULT_NEUTRAL:
        out->result = SPFCHECK_NEUTRAL;
        break;
    case SPF_RESULT_NONE:
        out->result = SPFCHECK_NONE;
        copy_clean(out->problem, sizeof(out->problem),
                   why != NULL ? why : "no SPF record");
        return;
    case SPF_RESULT_TEMPERROR:
        out->result = SPFCHECK_TEMPERROR;
        copy_clean(out->problem, sizeof(out->problem),
                   why != NULL ? why : "temporary DNS error");
        return;
    case SPF_RESULT_PERMERROR:
        out->result = SPFCHECK_PERMERROR;
        copy_clean(out->problem, sizeof(out->problem),
                   why != NULL ? why : "permanent error in the record");
        return;
    default: /* SPF_RESULT_INVALID: the record itself was not usable */
        if (ev->top_herrno == TRY_AGAIN) {
            out->result = SPFCHECK_TEMPERROR;
            copy_clean(out->problem, sizeof(out->problem),
                       "temporary DNS error looking up the SPF record");
        } else if (ev->top_herrno == HOST_NOT_FOUND ||
                   ev->top_herrno == NO_DATA || ev->top_spf_records == 0) {
            out->result = SPFCHECK_NONE;
            copy_clean(out->problem, sizeof(out->problem), "no SPF record");
        } else {
            out->result = SPFCHECK_PERMERROR;
            copy_clean(out->problem, sizeof(out->problem),
                       why != NULL ? why : "the SPF record does not compile");
        }
        return;
    }
    if (SPF_response_reason(resp) == SPF_REASON_DEFAULT)
        snprintf(out->mechanism, sizeof(out->mechanism), "default");
}

/* Fills identity and domain; returns a reason for "none" or NULL. */
static const char *pick_identity(const spfcheck_query *q, spfcheck_outcome *out,
                                 char *env_from, size_t env_len)
{
    const char *domain;
    if (q->sender != NULL && q->sender[0] != '\0') {
        const char *at = strrchr(q->sender, '@');
        domain = at != NULL ? at + 1 : q->sender;
        if (at == NULL || at == q->sender)
            snprintf(env_from, env_len, "postmaster@%s", domain);
        else
            snprintf(env_from, env_len, "%s", q->sender);
    } else {
        domain = q->helo != NULL ? q->helo : "";
        if (q->sender != NULL)
            snprintf(env_from, env_len, "postmaster@%s", domain);
        else
            snprintf(env_from, env_len, "%s", domain);
    }
    copy_clean(out->identity, sizeof(out->identity), env_from);
    copy_clean(out->domain, sizeof(out->domain), domain);
    if (strlen(env_from) >= sizeof(out->identity))
        return "identity too long";
    if (q->sender == NULL && q->helo == NULL)
        return "no HELO name";
    const char *bad = domain_problem(domain);
    if (bad != NULL)
        return bad;
    if (q->sender == NULL) /* HELO identity: libspf2 needs an address */
        snprintf(env_from, env_len, "postmaster@%s", domain);
    return NULL;
}

/* The result cache's key for a query: the client address, the HELO name
 * and the identity evaluated (the sender, or postmaster@HELO), everything
 * besides DNS answers a result depends on (RFC 7208 macros included,
 * except %{t}, which only explanations use; those are not kept). The
 * HELO identity and a null sender share entries: both evaluate
 * postmaster@HELO. False when there is no usable address or it does not
 * fit. */
static bool cache_key(const spfcheck_query *q, const char *env_from, char *key,
                      size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    const struct sockaddr *sa = q->client;
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip,
                  sizeof ip);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a =
            &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], ip, sizeof ip);
        else
            inet_ntop(AF_INET6, a, ip, sizeof ip);
    } else {
        return false;
    }
    int n =
        snprintf(key, size, "%s|%s|%s", ip, q->helo ? q->helo : "", env_from);
    return n > 0 && (size_t)n < size;
}

/* Evaluates one identity into out (never fails as a call). */
void spfcheck_eval(const spfcheck_query *q, spfcheck_outcome *out)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(out, 0, sizeof(*out));

    char env_from[1024];
    const char *none_why = pick_identity(q, out, env_from, sizeof(env_from));
    if (none_why != NULL) {
        out->result = SPFCHECK_NONE;
        copy_clean(out->problem, sizeof(out->problem), none_why);
        out->elapsed_ms = ms_since(&t0);
        return;
    }
    if (server == NULL) {
        out->result = SPFCHECK_TEMPERROR;
        copy_clean(out->problem, sizeof(out->problem), "SPF not initialised");
        return;
    }
    char key[1600];
    bool keyed = cache_key(q, env_from, key, sizeof key);
    if (keyed && spfcache_get(key, out)) {
        out->elapsed_ms = ms_since(&t0);
        return;
    }
    SPF_request_t *req = SPF_request_new(server);
    if (req == NULL) {
        out->result = SPFCHECK_TEMPERROR;
        copy_clean(out->problem, sizeof(out->problem), "out of memory");
        return;
    }
    if (!set_client(req, q->client)) {
        SPF_request_free(req);
        out->result = SPFCHECK_TEMPERROR;
        copy_clean(out->problem, sizeof(out->problem),
                   "no usable client address");
        return;
    }
    bool ok = SPF_request_set_env_from(req, env_from) == 0;
    if (ok && q->helo != NULL && q->helo[0] != '\0')
        ok = SPF_request_set_helo_dom(req, q->helo) == SPF_E_SUCCESS;
    if (!ok) {
        SPF_request_free(req);
        out->result = SPFCHECK_TEMPERROR;
        copy_clean(out->problem, sizeof(out->problem), "out of memory");
        return;
    }

    dns_eval ev;
    dns_eval_begin(&ev, opt_deadline_ms, req->env_from_dp);
    ev.family = req->client_ver == AF_INET6 ? AF_INET6 : AF_INET;
    if (ev.family == AF_INET6)
        memcpy(ev.ip, &req->ipv6, 16);
    else
        memcpy(ev.ip, &req->ipv4, 4);
    SPF_response_t *resp = run_query(req);

    if (resp == NULL) {
        out->result = SPFCHECK_TEMPERROR;
        copy_clean(out->problem, sizeof(out->problem), "out of memory");
    } else if (ev.perm_reason[0] != '\0') {
        out->result = SPFCHECK_PERMERROR;
        copy_clean(out->problem, sizeof(out->problem), ev.perm_reason);
    } else if (ev.deadline_hit) {
        out->result = SPFCHECK_TEMPERROR;
        copy_clean(out->problem, sizeof(out->problem), "deadline exceeded");
    } else {
        map_response(resp, &ev, out);
        if (out->result == SPFCHECK_FAIL) {
            char exp[sizeof(out->explanation)];
            dns_explain(server, req, exp, sizeof(exp));
            copy_clean(out->explanation, sizeof(out->explanation), exp);
        }
    }
    dns_eval_end();
    if (resp != NULL)
        SPF_response_free(resp);
    SPF_request_free(req);
    out->dns_queries = ev.queries;
    out->elapsed_ms = ms_since(&t0);
    if (keyed && out->result != SPFCHECK_TEMPERROR && !ev.deadline_hit &&
        ev.tempfails == 0 && out->explanation[0] == '\0' &&
        ev.valid_until > spfcache_now())
        spfcache_put(key, out, ev.valid_until);
}

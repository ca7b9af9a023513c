/*
 * dns.c - spfgate's DNS layer under libspf2 (an SPF_dns_server_t).
 *
 * Owns: the configured name servers and query timeout (set once by
 * dns_setup), the glibc resolver states (one taken from a small pool for
 * each lookup that goes to the network and put back after it, so that no
 * thread keeps one when it ends; at most DNS_IDLE_MAX kept idle, all
 * closed by dns_states_close), and the pointer to the thread's current
 * evaluation context (dns_eval). libspf2's own cache layer is not
 * used: it ignores TTLs and keeps errors for half an hour.
 *
 * Each lookup: refused with TRY_AGAIN when the evaluation's deadline has
 * passed; otherwise one res_nsend with one attempt and a timeout of
 * min(query timeout, time left), rounded up to whole seconds (glibc's
 * resolver counts seconds); NXDOMAIN and NODATA keep their message, whose
 * SOA gives the negative TTL (RFC 2308); the answer is parsed by dnswire.c
 * (CNAME chains followed, re-queried once or twice when the server stopped at a
 * CNAME). Type SPF (99) is answered NODATA without a query: RFC 7208 3.1
 * retired it.
 *
 * Limits (RFC 7208 4.6.4) over the whole evaluation, counted here for the
 * lookups libspf2 makes and in dnsrecord.c for include:/redirect=: more
 * than 10 DNS-querying terms or more than 2 void lookups set the
 * context's perm_reason (the 11th term is refused without a query);
 * address lookups of the names of the last MX or PTR answer belong to that
 * term; PTR answers are cut to 10 names. Answers are shared between
 * evaluations and threads through dnscache.c, by TTL; a cached answer
 * counts against the limits like a fresh one but not as a query.
 *
 * Trace: a thread may set a hook (dns_trace_set) that hears every lookup
 * it makes (name, type, outcome, answers, cached or not, time); unset, it
 * costs one thread-local test per lookup.
 *
 * Name servers: IPv4 go into nsaddr_list; IPv6 into glibc's extension
 * slots (_u._ext.nsaddrs, with the nsaddr_list family zeroed), which glibc
 * frees in res_nclose. At most DNS_MAX_SERVERS.
 *
 * Fails: never as a call. Out of memory or an unusable resolver gives
 * TRY_AGAIN; a name that cannot be a domain name gives HOST_NOT_FOUND.
 */
#include "config.h"

#include "dns.h"
#include "dnslayer.h"
#include "log.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Largest DNS message (over TCP). */
#define DNS_MSG_MAX 65535
/* Extra queries for a CNAME target the server did not resolve itself. */
#define DNS_REQUERY_MAX 2

/* One configured name server. */
typedef struct {
    struct sockaddr_storage addr;
} dns_server_addr;

/* Process-wide configuration, fixed by dns_setup. */
static dns_server_addr cfg_servers[DNS_MAX_SERVERS];
static size_t cfg_n_servers;
static unsigned cfg_timeout_ms = 2000;
static unsigned cfg_generation;

/* One resolver state and its answer buffer, used by one lookup at a
 * time. */
typedef struct {
    struct __res_state res;
    unsigned char *buf; /* DNS_MSG_MAX bytes */
    unsigned generation;
} dns_state;

/* Idle resolver states kept for the next lookups. */
#define DNS_IDLE_MAX 4

static SPF_dns_server_t *the_layer; /* for lookups made outside libspf2 */
static _Thread_local dns_eval *cur_eval;
static _Thread_local dns_trace_fn trace_fn;
static _Thread_local void *trace_ctx;
static dns_state *idle_states[DNS_IDLE_MAX];
static size_t n_idle;
static bool idle_closed; /* after dns_states_close: keep none */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;

/* Closes and frees one resolver state. */
static void state_free(dns_state *t)
{
    if (t == NULL)
        return;
    res_nclose(&t->res);
    free(t->buf);
    free(t);
}

/* Parses "ADDR", "ADDR:PORT", "[V6]:PORT", "[V6]" or a bare IPv6 address. */
static int parse_server(const char *s, struct sockaddr_storage *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port = NULL;
    size_t len;

    memset(out, 0, sizeof(*out));
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL)
            return -1;
        len = (size_t)(end - s - 1);
        if (end[1] == ':')
            port = end + 2;
        else if (end[1] != '\0')
            return -1;
        s++;
    } else {
        const char *colon = strchr(s, ':');
        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            len = (size_t)(colon - s);
            port = colon + 1;
        } else {
            len = strlen(s);
        }
    }
    if (len == 0 || len >= sizeof(host))
        return -1;
    memcpy(host, s, len);
    host[len] = '\0';

    unsigned long pnum = 53;
    if (port != NULL) {
        char *endp;
        errno = 0;
        pnum = strtoul(port, &endp, 10);
        if (*port == '\0' || *endp != '\0' || errno != 0 || pnum == 0 ||
            pnum > 65535)
            return -1;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)pnum);
        return 0;
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)pnum);
        return 0;
    }
    return -1;
}

static dns_state *state_new(void);
static void state_put_back(dns_state *t);

/* Fixes the name servers and query timeout (see dns.h). */
int dns_setup(const char *const *servers, size_t n_servers,
              unsigned query_timeout_ms, char *err, size_t errlen)
{
    if (n_servers > DNS_MAX_SERVERS) {
        snprintf(err, errlen, "at most %d name servers are supported",
                 DNS_MAX_SERVERS);
        return -1;
    }
    dns_server_addr parsed[DNS_MAX_SERVERS];
    for (size_t i = 0; i < n_servers; i++) {
        if (servers[i] == NULL || parse_server(servers[i], &parsed[i].addr)) {
            snprintf(err, errlen, "bad name server address \"%s\"",
                     servers[i] != NULL ? servers[i] : "(null)");
            return -1;
        }
    }
    memcpy(cfg_servers, parsed, n_servers * sizeof(parsed[0]));
    cfg_n_servers = n_servers;
    cfg_timeout_ms = query_timeout_ms != 0 ? query_timeout_ms : 2000;
    cfg_generation++;
    dns_cache_clear();
    /* The pool starts full: memory in use does not step up later as
     * concurrent lookups first happen (the soak test's flat heap). */
    dns_states_close();
    pthread_mutex_lock(&idle_lock);
    idle_closed = false;
    pthread_mutex_unlock(&idle_lock);
    for (int i = 0; i < DNS_IDLE_MAX; i++) {
        dns_state *t = state_new();
        if (t == NULL)
            break;
        state_put_back(t);
    }
    return 0;
}

/* Puts the configured servers into a freshly initialised resolver. */
static int state_set_servers(struct __res_state *res)
{
    for (int i = 0; i < MAXNS; i++) {
        free(res->_u._ext.nsaddrs[i]);
        res->_u._ext.nsaddrs[i] = NULL;
    }
    for (size_t i = 0; i < cfg_n_servers; i++) {
        const struct sockaddr_storage *a = &cfg_servers[i].addr;
        if (a->ss_family == AF_INET) {
            memcpy(&res->nsaddr_list[i], a, sizeof(struct sockaddr_in));
        } else {
            struct sockaddr_in6 *v6 = malloc(sizeof(*v6));
            if (v6 == NULL)
                return -1;
            memcpy(v6, a, sizeof(*v6));
            memset(&res->nsaddr_list[i], 0, sizeof(res->nsaddr_list[i]));
            res->nsaddr_list[i].sin_family = 0;
            res->_u._ext.nsaddrs[i] = v6;
        }
    }
    res->nscount = (int)cfg_n_servers;
    return 0;
}

/* A new resolver state for the configured servers, or NULL (logged). */
static dns_state *state_new(void)
{
    dns_state *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->buf = malloc(DNS_MSG_MAX);
    if (t->buf == NULL || res_ninit(&t->res) != 0) {
        log_msg(LOG_LEVEL_ERR, "dns: cannot initialise the resolver");
        free(t->buf);
        free(t);
        return NULL;
    }
    if (cfg_n_servers > 0 && state_set_servers(&t->res) != 0) {
        state_free(t);
        return NULL;
    }
    t->res.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
    t->generation = cfg_generation;
    return t;
}

/* A resolver state for one lookup: an idle one, or a new one. The pool
 * holds states of the current servers only (dns_setup empties it,
 * state_put_back refuses older ones). */
static dns_state *state_take(void)
{
    pthread_mutex_lock(&idle_lock);
    dns_state *t = n_idle > 0 ? idle_states[--n_idle] : NULL;
    pthread_mutex_unlock(&idle_lock);
    return t != NULL ? t : state_new();
}

/* Puts a state back after its lookup (closed when the pool is full). */
static void state_put_back(dns_state *t)
{
    pthread_mutex_lock(&idle_lock);
    if (!idle_closed && t->generation == cfg_generation &&
        n_idle < DNS_IDLE_MAX) {
        idle_states[n_idle++] = t;
        t = NULL;
    }
    pthread_mutex_unlock(&idle_lock);
    state_free(t);
}

/* Closes the idle resolver states (at exit). */
void dns_states_close(void)
{
    pthread_mutex_lock(&idle_lock);
    size_t n = n_idle;
    dns_state *all[DNS_IDLE_MAX];
    memcpy(all, idle_states, n * sizeof(all[0]));
    n_idle = 0;
    idle_closed = true;
    pthread_mutex_unlock(&idle_lock);
    for (size_t i = 0; i < n; i++)
        state_free(all[i]);
}

/* Milliseconds from a to b (negative when b is earlier). */
static long long ms_between(const struct timespec *a, const struct timespec *b)
{
    return (long long)(b->tv_sec - a->tv_sec) * 1000 +
           (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Starts an evaluation context for the calling thread. */
void dns_eval_begin(dns_eval *ev, unsigned deadline_ms, const char *top_domain)
{
    memset(ev, 0, sizeof(*ev));
    clock_gettime(CLOCK_MONOTONIC, &ev->deadline);
    ev->deadline.tv_sec += deadline_ms / 1000;
    ev->deadline.tv_nsec += (long)(deadline_ms % 1000) * 1000000;
    if (ev->deadline.tv_nsec >= 1000000000) {
        ev->deadline.tv_sec++;
        ev->deadline.tv_nsec -= 1000000000;
    }
    ev->top_domain = top_domain;
    ev->top_herrno = -1;
    ev->valid_until = (time_t)ev->deadline.tv_sec + 3600 * 24;
    cur_eval = ev;
}

/* Ends the calling thread's evaluation context. */
void dns_eval_end(void)
{
    cur_eval = NULL;
}

/* Milliseconds left before the deadline. */
unsigned dns_eval_remaining_ms(const dns_eval *ev)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = ms_between(&now, &ev->deadline);
    return left > 0 ? (unsigned)left : 0;
}

/* True when s can be sent as a query name: labels of 1-63 octets, total
 * at most 253 (one trailing dot allowed), no dot-less empty name. */
bool dns_name_queryable(const char *s)
{
    size_t len = strlen(s);
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (++label > 63) {
            return false;
        }
    }
    return label > 0;
}

/* Compares two domain names, ignoring case and one trailing dot. */
bool dns_name_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* The outcome of a received answer, as res_nquery would set h_errno. */
static int answer_herrno(const unsigned char *msg, int len)
{
    if (len < HFIXEDSZ)
        return TRY_AGAIN;
    int rcode = msg[3] & 0x0f;
    unsigned ancount = (unsigned)msg[6] << 8 | msg[7];
    if (rcode == ns_r_nxdomain)
        return HOST_NOT_FOUND;
    if (rcode != ns_r_noerror)
        return TRY_AGAIN;
    return ancount == 0 ? NO_DATA : NETDB_SUCCESS;
}

/* Runs one query; returns the length of the answer received (also for
 * NXDOMAIN and NODATA, whose SOA gives the negative TTL) or -1, with
 * *herrno set. */
static int query_once(dns_state *t, dns_eval *ev, const char *name,
                      ns_type type, int *herrno)
{
    unsigned timeout_ms = cfg_timeout_ms;
    if (ev != NULL) {
        unsigned left = dns_eval_remaining_ms(ev);
        if (left == 0) {
            ev->deadline_hit = true;
            *herrno = TRY_AGAIN;
            return -1;
        }
        if (left < timeout_ms)
            timeout_ms = left;
        ev->queries++;
    }
    t->res.retrans = (int)((timeout_ms + 999) / 1000);
    t->res.retry = 1;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned char q[NS_PACKETSZ];
    int qlen = res_nmkquery(&t->res, ns_o_query, name, ns_c_in, type, NULL, 0,
                            NULL, q, sizeof(q));
    int len = qlen < 0 ? -1 : res_nsend(&t->res, q, qlen, t->buf, DNS_MSG_MAX);
    if (len > DNS_MSG_MAX)
        len = -1; /* cannot happen with a 64 KiB buffer */
    *herrno = len < 0 ? TRY_AGAIN : answer_herrno(t->buf, len);
    if (len < 0 && qlen >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (ev != NULL && ms_between(&t0, &t1) + 50 >= timeout_ms)
            ev->timeouts++;
    }
    if (*herrno == TRY_AGAIN)
        len = -1;
    if (ev != NULL && dns_eval_remaining_ms(ev) == 0 && *herrno == TRY_AGAIN)
        ev->deadline_hit = true;
    return len;
}

/* The calling thread's evaluation context, or NULL. */
dns_eval *dns_eval_current(void)
{
    return cur_eval;
}

/* Reports a finished lookup to the thread's trace hook. */
static void trace(const char *name, ns_type type, const SPF_dns_rr_t *rr,
                  bool cached, const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ms = ms_between(t0, &t1);
    dns_trace_entry e = {
        .name = name,
        .type = (int)type,
        .herrno = rr != NULL ? rr->herrno : TRY_AGAIN,
        .answers = rr != NULL ? rr->num_rr : 0,
        .cached = cached,
        .elapsed_ms = ms > 0 ? (unsigned)ms : 0,
    };
    trace_fn(trace_ctx, &e);
}

/* Starts or stops the calling thread's lookup trace. */
void dns_trace_set(dns_trace_fn fn, void *ctx)
{
    trace_fn = fn;
    trace_ctx = ctx;
}

/* Name of a DNS type. */
const char *dns_type_name(int type, char *buf, size_t len)
{
    switch (type) {
    case ns_t_a:
        return "A";
    case ns_t_aaaa:
        return "AAAA";
    case ns_t_mx:
        return "MX";
    case ns_t_txt:
        return "TXT";
    case ns_t_ptr:
        return "PTR";
    case ns_t_cname:
        return "CNAME";
    case ns_t_spf:
        return "SPF";
    default:
        snprintf(buf, len, "TYPE%d", type);
        return buf;
    }
}

/* Name of a lookup outcome. */
const char *dns_herrno_name(int herrno)
{
    switch (herrno) {
    case NETDB_SUCCESS:
        return "NOERROR";
    case HOST_NOT_FOUND:
        return "NXDOMAIN";
    case NO_DATA:
        return "NODATA";
    default:
        return "TEMPFAIL";
    }
}

/* Asks the name servers (the cache had no answer); *expires: when the
 * answer leaves the cache, 0 when it was not kept. */
static SPF_dns_rr_t *resolve(SPF_dns_server_t *srv, dns_eval *ev,
                             const char *domain, ns_type type, time_t *expires)
{
    SPF_dns_rr_t *rr = SPF_dns_rr_new_init(srv, domain, type, 0, NETDB_SUCCESS);
    if (rr == NULL)
        return NULL;
    dns_state *t = state_take();
    if (t == NULL) {
        rr->herrno = TRY_AGAIN;
        if (ev != NULL)
            ev->tempfails++;
        return rr;
    }

    char qname[NS_MAXDNAME];
    snprintf(qname, sizeof(qname), "%s", domain);
    unsigned long ttl = 0xffffffffUL;
    for (int attempt = 0; attempt <= DNS_REQUERY_MAX; attempt++) {
        int herrno;
        int len = query_once(t, ev, qname, type, &herrno);
        if (len < 0) {
            rr->herrno = herrno;
            break;
        }
        if (herrno == HOST_NOT_FOUND || herrno == NO_DATA) {
            /* RFC 2308: kept for the SOA's negative TTL */
            unsigned long neg = dns_negative_ttl(t->buf, len);
            rr->herrno = herrno;
            if (neg < ttl)
                ttl = neg;
            break;
        }
        dns_parsed pr;
        if (dns_parse_answer(t->buf, len, qname, type, rr, &pr) != 0) {
            rr->herrno = TRY_AGAIN;
            rr->num_rr = 0;
            break;
        }
        if (pr.ttl < ttl)
            ttl = pr.ttl;
        if (pr.count > 0) {
            rr->herrno = NETDB_SUCCESS;
            break;
        }
        rr->herrno = NO_DATA;
        if (!pr.chain_ended_open || !dns_name_queryable(pr.tail))
            break;
        snprintf(qname, sizeof(qname), "%s", pr.tail);
    }
    state_put_back(t);
    if (rr->herrno != NETDB_SUCCESS)
        rr->num_rr = 0;
    rr->ttl = ttl == 0xffffffffUL ? 0 : (time_t)ttl;
    if ((rr->herrno == HOST_NOT_FOUND || rr->herrno == NO_DATA) &&
        ttl == 0xffffffffUL)
        rr->ttl = 0x7fffffff; /* no SOA: dns_negative_ttl_max */
    rr->utc_ttl = rr->ttl + time(NULL);
    if (ev != NULL && rr->herrno == TRY_AGAIN)
        ev->tempfails++;
    else
        *expires = dns_cache_put(domain, type, rr);
    return rr;
}

/* One lookup (cache, then resolver), without limit accounting. */
SPF_dns_rr_t *dns_query_rr(SPF_dns_server_t *srv, const char *domain,
                           ns_type type)
{
    dns_eval *ev = cur_eval;
    SPF_dns_rr_t *rr;

    if (domain == NULL)
        domain = "";
    if (srv == NULL)
        srv = the_layer;
    const char *alias = dns_synth_alias(domain);
    if (alias != NULL) {
        SPF_dns_rr_t *real = dns_query_rr(srv, alias, type);
        if (real != NULL && real->domain != NULL &&
            real->domain_buf_len > strlen(domain))
            strcpy(real->domain, domain);
        return real;
    }
    if (type == ns_t_spf || !dns_name_queryable(domain))
        return SPF_dns_rr_new_init(srv, domain, type, 0,
                                   type == ns_t_spf ? NO_DATA : HOST_NOT_FOUND);
    struct timespec t0;
    if (trace_fn != NULL)
        clock_gettime(CLOCK_MONOTONIC, &t0);
    time_t expires = 0;
    rr = dns_cache_get(domain, type, &expires);
    bool cached = rr != NULL;
    if (rr == NULL)
        rr = resolve(srv, ev, domain, type, &expires);
    if (ev != NULL && expires < ev->valid_until)
        ev->valid_until = expires;
    if (trace_fn != NULL)
        trace(domain, type, rr, cached, &t0);
    return rr;
}

/* Counts a DNS-querying term; false past the limit of 10. */
bool dns_term_begin(dns_eval *ev)
{
    ev->n_follow = 0;
    if (++ev->terms <= 10)
        return true;
    if (ev->perm_reason[0] == '\0')
        snprintf(ev->perm_reason, sizeof(ev->perm_reason),
                 "more than 10 DNS-querying terms");
    return false;
}

/* Counts a void lookup; more than 2 make a permerror. */
void dns_term_result(dns_eval *ev, int herrno)
{
    if (herrno != HOST_NOT_FOUND && herrno != NO_DATA)
        return;
    if (++ev->void_lookups > 2 && ev->perm_reason[0] == '\0')
        snprintf(ev->perm_reason, sizeof(ev->perm_reason),
                 "more than 2 void lookups");
}

/* True (and forgotten) when name came from the last MX or PTR answer. */
static bool take_follow(dns_eval *ev, const char *name)
{
    for (unsigned i = 0; i < ev->n_follow; i++) {
        if (dns_name_equal(ev->follow[i], name)) {
            ev->follow[i][0] = '\0';
            return true;
        }
    }
    return false;
}

/* The layer's lookup for libspf2: one name, one type, counted against the
 * RFC 7208 limits. Address lookups of names from the last MX or PTR answer
 * belong to that term; PTR answers are cut to 10 names (RFC 7208 4.6.4). */
static SPF_dns_rr_t *layer_lookup(SPF_dns_server_t *srv, const char *domain,
                                  ns_type type, int should_cache)
{
    (void)should_cache;
    dns_eval *ev = cur_eval;
    if (domain == NULL)
        domain = "";
    if (ev == NULL)
        return dns_query_rr(srv, domain, type);
    if ((type == ns_t_a || type == ns_t_aaaa) && take_follow(ev, domain))
        return dns_query_rr(srv, domain, type);
    if (type == ns_t_spf)
        return dns_query_rr(srv, domain, type);
    if (!dns_term_begin(ev))
        return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
    size_t dl = strlen(domain), sl = strlen(DNS_SYNTH_SUFFIX);
    bool synth = dl > sl &&
                 strcasecmp(domain + dl - sl, DNS_SYNTH_SUFFIX) == 0 &&
                 dns_synth_alias(domain) == NULL;
    SPF_dns_rr_t *rr =
        synth ? dns_synth_lookup(srv, domain) : dns_query_rr(srv, domain, type);
    if (rr == NULL)
        return NULL;
    dns_term_result(ev, rr->herrno);
    if (type == ns_t_ptr && rr->num_rr > 10)
        rr->num_rr = 10;
    if ((type == ns_t_mx || type == ns_t_ptr) && rr->herrno == NETDB_SUCCESS) {
        ev->n_follow = 0;
        for (int i = 0; i < rr->num_rr && i < 10; i++)
            snprintf(ev->follow[ev->n_follow++], sizeof(ev->follow[0]), "%s",
                     type == ns_t_mx ? rr->rr[i]->mx : rr->rr[i]->ptr);
    }
    return rr;
}

/* The layer's destructor. */
static void layer_destroy(SPF_dns_server_t *srv)
{
    if (srv == the_layer)
        the_layer = NULL;
    free(srv);
}

/* Creates the SPF_dns_server_t with this layer's hooks. */
struct SPF_dns_server_struct *dns_layer_new(void)
{
    SPF_dns_server_t *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return NULL;
    srv->destroy = layer_destroy;
    srv->lookup = layer_lookup;
    srv->get_spf = dns_get_spf;
    srv->get_exp = NULL;
    srv->add_cache = NULL;
    srv->layer_below = NULL;
    srv->name = "spfgate";
    srv->debug = 0;
    the_layer = srv;
    return srv;
}

/*
 * dnsrecord.c - SPF records for libspf2: fetched, checked and rewritten by
 * spfgate before libspf2 compiles them; synthetic lookups; explanations.
 *
 * Owns nothing beyond the current evaluation context it reports into.
 * dns_get_spf is the layer's get_spf hook, so every record libspf2
 * evaluates (top level, include:, redirect=) passes through it: the TXT
 * answer must hold exactly one "v=spf1" record, which must pass the
 * grammar of RFC 7208 section 12 (spfrecord.c); libspf2 then compiles the
 * rewritten, macro-free form. A record libspf2 compiles to fewer
 * mechanisms than it was given (its 511-byte limit) is refused rather
 * than evaluated short.
 *
 * Fails: a bad record, too many records or a compile failure sets the
 * context's perm_reason (the evaluation is a permerror) and returns a
 * libspf2 error code; a DNS failure returns SPF_E_DNS_ERROR (temperror).
 */
#include "config.h"

#include "dnslayer.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Sets the evaluation's permerror reason (first one wins). */
static void set_perm(dns_eval *ev, const char *why, const char *domain)
{
    if (ev != NULL && ev->perm_reason[0] == '\0')
        snprintf(ev->perm_reason, sizeof(ev->perm_reason), "%s (%s)", why,
                 domain);
}

/* Writes the reverse-lookup name of the client address. */
static void reverse_name(const dns_eval *ev, char *out, size_t len)
{
    const unsigned char *ip = ev->ip;
    if (ev->family == AF_INET6) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;
        for (int k = 15; k >= 0 && o + 4 < len; k--) {
            out[o++] = hex[ip[k] & 15];
            out[o++] = '.';
            out[o++] = hex[ip[k] >> 4];
            out[o++] = '.';
        }
        snprintf(out + o, len - o, "ip6.arpa");
    } else {
        snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2], ip[1],
                 ip[0]);
    }
}

/* True when an A/AAAA answer holds the client address. */
static bool rr_has_client(const dns_eval *ev, const SPF_dns_rr_t *rr)
{
    for (int i = 0; rr->herrno == NETDB_SUCCESS && i < rr->num_rr; i++) {
        if (ev->family == AF_INET6 ? memcmp(&rr->rr[i]->aaaa, ev->ip, 16) == 0
                                   : memcmp(&rr->rr[i]->a, ev->ip, 4) == 0)
            return true;
    }
    return false;
}

/* %{p}: the client's validated name, preferring the current domain or a
 * subdomain of it; "unknown" when there is none (RFC 7208 7.3). */
static void ptr_name(void *ctx, char *out, size_t len)
{
    dns_eval *ev = ctx;
    char rev[128], best[256] = "";
    snprintf(out, len, "unknown");
    if (ev == NULL)
        return;
    reverse_name(ev, rev, sizeof(rev));
    SPF_dns_rr_t *ptr = dns_query_rr(NULL, rev, ns_t_ptr);
    if (ptr == NULL)
        return;
    ns_type t = ev->family == AF_INET6 ? ns_t_aaaa : ns_t_a;
    size_t dl = strlen(ev->cur_domain);
    for (int i = 0; ptr->herrno == NETDB_SUCCESS && i < ptr->num_rr && i < 10;
         i++) {
        const char *name = ptr->rr[i]->ptr;
        SPF_dns_rr_t *a = dns_query_rr(NULL, name, t);
        bool ok = a != NULL && rr_has_client(ev, a);
        SPF_dns_rr_free(a);
        if (!ok)
            continue;
        size_t nl = strlen(name);
        if (dns_name_equal(name, ev->cur_domain) ||
            (nl > dl + 1 && name[nl - dl - 1] == '.' &&
             dns_name_equal(name + nl - dl, ev->cur_domain))) {
            snprintf(best, sizeof(best), "%s", name);
            break;
        }
        if (best[0] == '\0')
            snprintf(best, sizeof(best), "%s", name);
    }
    SPF_dns_rr_free(ptr);
    if (best[0] != '\0')
        snprintf(out, len, "%s", best);
}

/* Fills macro values from a libspf2 request. */
void dns_vars_from_request(SPF_server_t *server, SPF_request_t *req,
                           const char *domain, spfrecord_vars *v)
{
    dns_eval *ev = dns_eval_current();
    memset(v, 0, sizeof(*v));
    v->family = req->client_ver == AF_INET6 ? AF_INET6 : AF_INET;
    if (v->family == AF_INET6)
        memcpy(v->ip, &req->ipv6, 16);
    else
        memcpy(v->ip, &req->ipv4, 4);
    v->sender = req->env_from;
    v->local = req->env_from_lp;
    v->sender_domain = req->env_from_dp;
    v->domain = domain;
    v->helo = req->helo_dom;
    v->receiver = server->rec_dom;
    v->ptr_name = ptr_name;
    v->ctx = ev;
}

/* Registers a synthetic question; writes the name libspf2 should ask. */
static int synth_name(void *ctx, spfrecord_synth_kind kind, const char *domain,
                      char *name, size_t len)
{
    dns_eval *ev = ctx;
    if (ev == NULL || ev->n_synth >= sizeof(ev->synth) / sizeof(ev->synth[0]))
        return -1;
    unsigned n = ev->n_synth++;
    ev->synth[n].kind = (int)kind;
    snprintf(ev->synth[n].domain, sizeof(ev->synth[n].domain), "%s", domain);
    snprintf(name, len, "s%u%s", n, DNS_SYNTH_SUFFIX);
    return 0;
}

/* The real name behind a synthetic alias, or NULL. */
const char *dns_synth_alias(const char *name)
{
    dns_eval *ev = dns_eval_current();
    size_t nl = strlen(name), sl = strlen(DNS_SYNTH_SUFFIX);
    unsigned n = 0;
    if (ev == NULL || nl <= sl ||
        strcasecmp(name + nl - sl, DNS_SYNTH_SUFFIX) != 0 ||
        sscanf(name, "s%u.", &n) != 1 || n >= ev->n_synth ||
        ev->synth[n].kind != SPFRECORD_ALIAS)
        return NULL;
    return ev->synth[n].domain;
}

/* Answers a synthetic "any address" question with 127.0.0.2 or nothing. */
SPF_dns_rr_t *dns_synth_lookup(SPF_dns_server_t *srv, const char *name)
{
    dns_eval *ev = dns_eval_current();
    unsigned n = 0;
    if (ev == NULL || sscanf(name, "s%u.", &n) != 1 || n >= ev->n_synth)
        return SPF_dns_rr_new_init(srv, name, ns_t_a, 0, HOST_NOT_FOUND);
    int kind = ev->synth[n].kind;
    const char *domain = ev->synth[n].domain;
    bool mx = kind == SPFRECORD_ANY_MX_A || kind == SPFRECORD_ANY_MX_AAAA;
    ns_type at = kind == SPFRECORD_ANY_A || kind == SPFRECORD_ANY_MX_A
                     ? ns_t_a
                     : ns_t_aaaa;
    SPF_dns_rr_t *first = dns_query_rr(srv, domain, mx ? ns_t_mx : at);
    if (first == NULL)
        return NULL;
    int herrno = first->herrno;
    bool any = herrno == NETDB_SUCCESS && first->num_rr > 0;
    if (mx && any) {
        if (first->num_rr > 10)
            set_perm(ev, "more than 10 MX names", domain);
        any = false;
        for (int i = 0; i < first->num_rr && i < 10 && !any; i++) {
            SPF_dns_rr_t *a = dns_query_rr(srv, first->rr[i]->mx, at);
            if (a == NULL)
                break;
            if (a->herrno == TRY_AGAIN)
                herrno = TRY_AGAIN;
            any = a->herrno == NETDB_SUCCESS && a->num_rr > 0;
            SPF_dns_rr_free(a);
        }
    }
    SPF_dns_rr_free(first);
    SPF_dns_rr_t *rr =
        SPF_dns_rr_new_init(srv, name, ns_t_a, 0, any ? NETDB_SUCCESS : herrno);
    if (rr != NULL && any) {
        struct in_addr lo = {htonl(0x7f000002)};
        if (SPF_dns_rr_buf_realloc(rr, 0, sizeof(lo)) == SPF_E_SUCCESS) {
            memcpy(&rr->rr[0]->a, &lo, sizeof(lo));
            rr->num_rr = 1;
        }
    }
    return rr;
}

/* Marks the response as "no record" the way libspf2 does. */
static SPF_errcode_t no_record(SPF_response_t *resp, const char *domain)
{
    resp->result = SPF_RESULT_NONE;
    resp->reason = SPF_REASON_FAILURE;
    return SPF_response_add_error(resp, SPF_E_NOT_SPF, "No SPF record at %s",
                                  domain);
}

/* get_spf hook: one record, checked and rewritten, compiled by libspf2. */
SPF_errcode_t dns_get_spf(SPF_server_t *server, SPF_request_t *req,
                          SPF_response_t *resp, SPF_record_t **recp)
{
    dns_eval *ev = dns_eval_current();
    const char *domain = req->cur_dom;
    bool top = ev == NULL || ev->records == 0;
    *recp = NULL;
    if (ev != NULL)
        ev->records++;
    if (!top && !dns_term_begin(ev))
        return SPF_response_add_error(resp, SPF_E_BIG_DNS,
                                      "more than 10 DNS-querying terms");
    SPF_dns_rr_t *rr = dns_query_rr(server->resolver, domain, ns_t_txt);
    if (rr == NULL)
        return SPF_response_add_error(resp, SPF_E_NO_MEMORY, "out of memory");
    if (!top)
        dns_term_result(ev, rr->herrno);
    int count = 0, idx = 0;
    for (int i = 0; rr->herrno == NETDB_SUCCESS && i < rr->num_rr; i++) {
        if (spfrecord_is_spf1(rr->rr[i]->txt)) {
            count++;
            idx = i;
        }
    }
    if (top && ev != NULL) {
        ev->top_herrno = rr->herrno;
        ev->top_spf_records = (unsigned)count;
    }
    if (rr->herrno != NETDB_SUCCESS && rr->herrno != HOST_NOT_FOUND &&
        rr->herrno != NO_DATA) {
        SPF_dns_rr_free(rr);
        return SPF_response_add_error(resp, SPF_E_DNS_ERROR,
                                      "temporary DNS failure for %s", domain);
    }
    if (count != 1) {
        SPF_dns_rr_free(rr);
        if (count == 0)
            return no_record(resp, domain);
        set_perm(ev, "more than one SPF record", domain);
        resp->result = SPF_RESULT_PERMERROR;
        return SPF_response_add_error(resp, SPF_E_MULTIPLE_RECORDS,
                                      "more than one SPF record at %s", domain);
    }

    spfrecord_vars v;
    spfrecord_info info;
    char out[4096], why[128];
    if (ev != NULL && top)
        snprintf(ev->cur_domain, sizeof(ev->cur_domain), "%s", domain);
    dns_vars_from_request(server, req, domain, &v);
    int rc = spfrecord_rewrite(rr->rr[idx]->txt, &v, synth_name, ev, out,
                               sizeof(out), &info, why, sizeof(why));
    SPF_dns_rr_free(rr);
    if (rc != 0) {
        set_perm(ev, why, domain);
        resp->result = SPF_RESULT_PERMERROR;
        return SPF_response_add_error(resp, SPF_E_SYNTAX, "%s", why);
    }
    if (ev != NULL && (top || (ev->redirect[0] != '\0' &&
                               dns_name_equal(domain, ev->redirect)))) {
        snprintf(ev->cur_domain, sizeof(ev->cur_domain), "%s", domain);
        snprintf(ev->redirect, sizeof(ev->redirect), "%s", info.redirect);
        snprintf(ev->exp, sizeof(ev->exp), "%s", info.exp);
    }
    SPF_errcode_t err = SPF_record_compile(server, resp, recp, out);
    if (err != SPF_E_SUCCESS || *recp == NULL) {
        set_perm(ev, "libspf2 cannot compile the record", domain);
        return err != SPF_E_SUCCESS ? err : SPF_E_INTERNAL_ERROR;
    }
    if ((*recp)->num_mech != info.mechanisms) {
        set_perm(ev, "record too long for libspf2", domain);
        SPF_record_free(*recp);
        *recp = NULL;
        return SPF_response_add_error(resp, SPF_E_BIG_MECH,
                                      "record too long for libspf2");
    }
    return SPF_E_SUCCESS;
}

/* The explanation of the record in effect, or "". */
void dns_explain(SPF_server_t *server, SPF_request_t *req, char *out,
                 size_t len)
{
    dns_eval *ev = dns_eval_current();
    out[0] = '\0';
    if (ev == NULL || ev->exp[0] == '\0' || !dns_name_queryable(ev->exp))
        return;
    SPF_dns_rr_t *rr = dns_query_rr(server->resolver, ev->exp, ns_t_txt);
    if (rr == NULL)
        return;
    if (rr->herrno == NETDB_SUCCESS && rr->num_rr == 1) {
        spfrecord_vars v;
        const char *txt = rr->rr[0]->txt;
        dns_vars_from_request(server, req, ev->cur_domain, &v);
        if (spfrecord_expand(txt, strlen(txt), &v, SPFRECORD_EXP, out, len) !=
            0)
            out[0] = '\0';
        for (const unsigned char *p = (const unsigned char *)out; *p; p++)
            if (*p < 0x20 || *p > 0x7e)
                out[0] = '\0';
    }
    SPF_dns_rr_free(rr);
}

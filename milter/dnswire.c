/*
 * dnswire.c - parsing of DNS answers into libspf2's SPF_dns_rr_t.
 *
 * Owns nothing. Reads the answer section of one DNS message (names with
 * glibc's dn_expand, so libresolv is not needed), follows CNAME chains
 * inside the answer, and copies the records of the wanted type: A, AAAA,
 * MX and PTR host names, TXT with the character-strings of one record
 * joined. Fails: -1 for a malformed message or when memory runs out.
 */
#include "config.h"

#include "dnslayer.h"

#include <arpa/nameser.h>
#include <ctype.h>
#include <limits.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CNAME links followed in one answer. */
#define DNS_CNAME_MAX 8

/* Appends one RR's data to rr at index idx; returns 0 or -1. */
static int rr_put(SPF_dns_rr_t *rr, int idx, const void *data, size_t len)
{
    if (SPF_dns_rr_buf_realloc(rr, idx, len) != SPF_E_SUCCESS)
        return -1;
    memcpy(rr->rr[idx], data, len);
    return 0;
}

/* Copies the character-strings of one TXT RR into one NUL-ended string;
 * a NUL octet inside becomes DEL, so the record check still sees it. */
static int rr_put_txt(SPF_dns_rr_t *rr, int idx, const unsigned char *rd,
                      size_t rdlen)
{
    if (SPF_dns_rr_buf_realloc(rr, idx, rdlen + 1) != SPF_E_SUCCESS)
        return -1;
    char *dst = rr->rr[idx]->txt;
    size_t pos = 0, out = 0;
    while (pos < rdlen) {
        size_t n = rd[pos++];
        if (n > rdlen - pos)
            n = rdlen - pos;
        for (size_t k = 0; k < n; k++)
            dst[out++] = rd[pos + k] != 0 ? (char)rd[pos + k] : '\x7f';
        pos += n;
    }
    dst[out] = '\0';
    return 0;
}

/* One answer RR, located inside the message. */
typedef struct {
    char owner[NS_MAXDNAME];
    unsigned type, cls;
    unsigned long ttl;
    const unsigned char *rdata;
    size_t rdlen;
} wire_rr;

/* Undoes dn_expand's presentation escapes (\DDD, \X) in place, so names
 * compare with the raw octets libspf2 asked for. */
static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p != '\0'; p++) {
        if (*p == '\\' && isdigit((unsigned char)p[1]) &&
            isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3])) {
            *o++ =
                (char)((p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
            p += 3;
        } else if (*p == '\\' && p[1] != '\0') {
            *o++ = *++p;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

/* Expands a compressed name and undoes its escapes; -1 if malformed. */
static int expand_name(const unsigned char *msg, const unsigned char *end,
                       const unsigned char *at, char *out, size_t len)
{
    int n = dn_expand(msg, end, at, out, (int)len);
    if (n >= 0)
        unescape(out);
    return n;
}

/* Reads a 16-bit value. */
static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Splits the answer section into at most max RRs; returns the count or -1
 * when the message is malformed. */
static int split_answer(const unsigned char *msg, size_t len, wire_rr *rrs,
                        int max)
{
    if (len < HFIXEDSZ)
        return -1;
    unsigned qd = get16(msg + 4), an = get16(msg + 6);
    const unsigned char *p = msg + HFIXEDSZ, *end = msg + len;
    for (unsigned i = 0; i < qd; i++) {
        int n = dn_skipname(p, end);
        if (n < 0 || end - (p + n) < QFIXEDSZ)
            return -1;
        p += n + QFIXEDSZ;
    }
    int count = 0;
    for (unsigned i = 0; i < an && count < max; i++) {
        wire_rr *r = &rrs[count];
        int n = expand_name(msg, end, p, r->owner, sizeof(r->owner));
        if (n < 0 || end - (p + n) < RRFIXEDSZ)
            return -1;
        p += n;
        r->type = get16(p);
        r->cls = get16(p + 2);
        r->ttl = (unsigned long)get16(p + 4) << 16 | get16(p + 6);
        r->rdlen = get16(p + 8);
        p += RRFIXEDSZ;
        if ((size_t)(end - p) < r->rdlen)
            return -1;
        r->rdata = p;
        p += r->rdlen;
        count++;
    }
    return count;
}

/* Most answer RRs looked at in one message. */
#define DNS_ANSWER_MAX 256

static int parse_rrs(const unsigned char *msg, int len, const char *qname,
                     ns_type type, SPF_dns_rr_t *rr, dns_parsed *pr,
                     wire_rr *rrs, int max);

/* Stores the wanted RRs of an answer into rr, following CNAMEs from qname.
 * Returns 0, or -1 when the message is malformed or memory runs out. */
int dns_parse_answer(const unsigned char *msg, int len, const char *qname,
                     ns_type type, SPF_dns_rr_t *rr, dns_parsed *pr)
{
    if (len < HFIXEDSZ)
        return -1;
    int max = (int)get16(msg + 6);
    if (max > DNS_ANSWER_MAX)
        max = DNS_ANSWER_MAX;
    /* on the heap: each entry holds a full-length name */
    wire_rr *rrs = malloc(sizeof(*rrs) * (size_t)(max > 0 ? max : 1));
    if (rrs == NULL)
        return -1;
    int rc = parse_rrs(msg, len, qname, type, rr, pr, rrs, max);
    free(rrs);
    return rc;
}

/* dns_parse_answer's work on the split answer section. */
static int parse_rrs(const unsigned char *msg, int len, const char *qname,
                     ns_type type, SPF_dns_rr_t *rr, dns_parsed *pr,
                     wire_rr *rrs, int max)
{
    char name[NS_MAXDNAME];
    const unsigned char *end = msg + len;
    int n = split_answer(msg, (size_t)len, rrs, max);
    if (n < 0)
        return -1;
    snprintf(pr->tail, sizeof(pr->tail), "%s", qname);
    pr->ttl = 0xffffffffUL;

    /* Walk the CNAME chain first (the answer may list it in any order). */
    for (int hop = 0; hop < DNS_CNAME_MAX && type != ns_t_cname; hop++) {
        int i = 0;
        while (i < n && !(rrs[i].type == ns_t_cname &&
                          dns_name_equal(rrs[i].owner, pr->tail)))
            i++;
        if (i == n)
            break;
        if (expand_name(msg, end, rrs[i].rdata, name, sizeof(name)) < 0)
            return -1;
        snprintf(pr->tail, sizeof(pr->tail), "%s", name);
        if (rrs[i].ttl < pr->ttl)
            pr->ttl = rrs[i].ttl;
    }

    int cnt = rr->num_rr;
    for (int i = 0; i < n; i++) {
        const wire_rr *w = &rrs[i];
        if (w->type != (unsigned)type || w->cls != ns_c_in ||
            !dns_name_equal(w->owner, pr->tail))
            continue;
        int rc = 0;
        switch (type) {
        case ns_t_a:
            if (w->rdlen != 4)
                continue;
            rc = rr_put(rr, cnt, w->rdata, 4);
            break;
        case ns_t_aaaa:
            if (w->rdlen != 16)
                continue;
            rc = rr_put(rr, cnt, w->rdata, 16);
            break;
        case ns_t_mx:
        case ns_t_ptr:
        case ns_t_cname:
            if (type == ns_t_mx && w->rdlen < 3)
                continue;
            if (expand_name(msg, end, type == ns_t_mx ? w->rdata + 2 : w->rdata,
                            name, sizeof(name)) < 0)
                return -1;
            rc = rr_put(rr, cnt, name, strlen(name) + 1);
            break;
        case ns_t_txt:
            rc = rr_put_txt(rr, cnt, w->rdata, w->rdlen);
            break;
        default:
            continue;
        }
        if (rc != 0)
            return -1;
        if (w->ttl < pr->ttl)
            pr->ttl = w->ttl;
        cnt++;
    }
    pr->count = cnt - rr->num_rr;
    rr->num_rr = cnt;
    pr->chain_ended_open = pr->count == 0 && !dns_name_equal(pr->tail, qname);
    return 0;
}

/* Reads a 32-bit value. */
static unsigned long get32(const unsigned char *p)
{
    return (unsigned long)get16(p) << 16 | get16(p + 2);
}

/* The negative TTL of a message's SOA (RFC 2308 section 5), or ULONG_MAX. */
unsigned long dns_negative_ttl(const unsigned char *msg, int len)
{
    if (len < HFIXEDSZ)
        return ULONG_MAX;
    const unsigned char *p = msg + HFIXEDSZ, *end = msg + len;
    unsigned qd = get16(msg + 4), an = get16(msg + 6), ns = get16(msg + 8);
    for (unsigned i = 0; i < qd; i++) {
        int n = dn_skipname(p, end);
        if (n < 0 || end - (p + n) < QFIXEDSZ)
            return ULONG_MAX;
        p += n + QFIXEDSZ;
    }
    for (unsigned i = 0; i < an + ns; i++) {
        int n = dn_skipname(p, end);
        if (n < 0 || end - (p + n) < RRFIXEDSZ)
            return ULONG_MAX;
        p += n;
        unsigned type = get16(p), cls = get16(p + 2);
        unsigned long ttl = get32(p + 4);
        size_t rdlen = get16(p + 8);
        p += RRFIXEDSZ;
        if ((size_t)(end - p) < rdlen)
            return ULONG_MAX;
        if (i >= an && type == ns_t_soa && cls == ns_c_in) {
            const unsigned char *r = p, *rend = p + rdlen;
            for (int k = 0; k < 2; k++) { /* MNAME, RNAME */
                int m = dn_skipname(r, rend);
                if (m < 0)
                    return ULONG_MAX;
                r += m;
            }
            if (rend - r < 20)
                return ULONG_MAX;
            unsigned long minimum = get32(r + 16);
            if (ttl > 0x7fffffffUL) /* RFC 2181 8: treat as zero */
                ttl = 0;
            return minimum < ttl ? minimum : ttl;
        }
        p += rdlen;
    }
    return ULONG_MAX;
}

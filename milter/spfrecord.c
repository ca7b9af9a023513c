/*
 * spfrecord.c - SPF record grammar checks, macro expansion and rewriting
 * into a form libspf2 1.2.10 evaluates as RFC 7208 says.
 *
 * Owns nothing; pure functions (the %{p} and synthetic-name callbacks are
 * the caller's; macro expansion itself is in spfmacro.c). Fails: -1 with a
 * reason for anything the grammar of RFC 7208 section 12 refuses; the caller
 * turns that into permerror.
 *
 * Why rewrite: libspf2 refuses legal /0 prefixes, runs redirect= where it
 * stands (and even when "all" is present), refuses modifier names with
 * "-", "_" or ".", mangles explanations and some macros, and does not cut
 * expanded names to 253 octets. The rewritten record has every macro
 * expanded (%{p} too, through the callback), only the mechanisms up to
 * the first one that always matches, redirect= last, no exp= or unknown
 * modifiers, and no address mechanisms for the other address family;
 * ip4:/ip6: terms are decided against the client address here (those that
 * miss it are left out), so records with more of them than libspf2 can
 * hold are evaluated whole.
 */
#include "config.h"

#include "outbuf.h"
#include "spfrecord.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

/* True for "v=spf1" alone or followed by a space. */
bool spfrecord_is_spf1(const char *txt)
{
    return strncasecmp(txt, "v=spf1", 6) == 0 &&
           (txt[6] == '\0' || txt[6] == ' ');
}

/* True for RFC 7208's toplabel. */
static bool toplabel_ok(const char *s, size_t n)
{
    bool alpha = false, hyphen = false;
    if (n == 0 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (isalpha((unsigned char)s[i]))
            alpha = true;
        else if (s[i] == '-')
            hyphen = true;
        else if (!isdigit((unsigned char)s[i]))
            return false;
    }
    return alpha || hyphen;
}

/* Checks a domain-spec: macro syntax and domain-end. */
static bool domain_spec_ok(const char *s, size_t n)
{
    char tmp[1024];
    if (n == 0 ||
        spfrecord_expand(s, n, NULL, SPFRECORD_DOMAIN, tmp, sizeof(tmp)) != 0)
        return false;
    if (s[n - 1] == '.')
        n--;
    if (n > 0 && s[n - 1] == '}')
        return true;
    const char *dot = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.')
            dot = s + i;
    if (dot == NULL)
        return false;
    return toplabel_ok(dot + 1, (size_t)(s + n - dot - 1));
}

/* Parses a CIDR length s[0..n) (no leading zeros); -1 if bad. */
static int cidr_len(const char *s, size_t n, int max)
{
    if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

/* One parsed term. */
typedef struct {
    char qual;       /* + - ~ ? */
    char kind[12];   /* mechanism or "redirect"/"exp"/"" (unknown) */
    const char *dom; /* domain-spec or address, may be NULL */
    size_t dom_len;
    int c4, c6; /* CIDR lengths, -1: none */
    bool modifier;
} term;

/* Strips a trailing "/N" (ip4) or "//N" (ip6) CIDR from s[0..*n). */
static int strip_cidr(const char *s, size_t *n, int *c4, int *c6)
{
    size_t end = *n, k = end;
    while (k > 0 && isdigit((unsigned char)s[k - 1]))
        k--;
    if (k < end && k >= 2 && s[k - 1] == '/' && s[k - 2] == '/') {
        if ((*c6 = cidr_len(s + k, end - k, 128)) < 0)
            return -1;
        end = k - 2;
        k = end;
        while (k > 0 && isdigit((unsigned char)s[k - 1]))
            k--;
    }
    if (k < end && k >= 1 && s[k - 1] == '/') {
        if ((*c4 = cidr_len(s + k, end - k, 32)) < 0)
            return -1;
        end = k - 1;
    }
    *n = end;
    return 0;
}

/* Parses one term s[0..n) into t; returns NULL or the reason it is bad. */
static const char *parse_term(const char *s, size_t n, term *t)
{
    memset(t, 0, sizeof(*t));
    t->c4 = t->c6 = -1;
    t->qual = '+';
    size_t nl = 0;
    while (nl < n && (isalnum((unsigned char)s[nl]) || s[nl] == '-' ||
                      s[nl] == '_' || s[nl] == '.'))
        nl++;
    if (nl > 0 && nl < n && s[nl] == '=' && isalpha((unsigned char)s[0])) {
        t->modifier = true;
        if (nl == 8 && strncasecmp(s, "redirect", 8) == 0)
            strcpy(t->kind, "redirect");
        else if (nl == 3 && strncasecmp(s, "exp", 3) == 0)
            strcpy(t->kind, "exp");
        t->dom = s + nl + 1;
        t->dom_len = n - nl - 1;
        if (t->kind[0] != '\0')
            return domain_spec_ok(t->dom, t->dom_len)
                       ? NULL
                       : "bad domain in modifier";
        char tmp[1024];
        return spfrecord_expand(t->dom, t->dom_len, NULL, SPFRECORD_DOMAIN, tmp,
                                sizeof(tmp)) == 0
                   ? NULL
                   : "bad macro in modifier";
    }
    if (n > 0 && strchr("+-~?", s[0]) != NULL) {
        t->qual = s[0];
        s++;
        n--;
    }
    nl = 0;
    while (nl < n && s[nl] != ':' && s[nl] != '/')
        nl++;
    static const char *const mechs[] = {"all", "include", "a",   "mx",
                                        "ptr", "ip4",     "ip6", "exists"};
    for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
        if (strlen(mechs[i]) == nl && strncasecmp(s, mechs[i], nl) == 0)
            strcpy(t->kind, mechs[i]);
    if (t->kind[0] == '\0')
        return "unknown mechanism";
    const char *rest = s + nl;
    size_t rl = n - nl;
    const char *k = t->kind;
    if (strcmp(k, "all") == 0)
        return rl == 0 ? NULL : "arguments after all";
    if (strcmp(k, "a") == 0 || strcmp(k, "mx") == 0) {
        if (strip_cidr(rest, &rl, &t->c4, &t->c6) != 0)
            return "bad CIDR length";
    } else if (strcmp(k, "ip4") == 0 || strcmp(k, "ip6") == 0) {
        bool v6 = k[2] == '6';
        if (rl < 2 || rest[0] != ':')
            return "address missing";
        const char *slash = memchr(rest, '/', rl);
        size_t al = slash != NULL ? (size_t)(slash - rest - 1) : rl - 1;
        if (slash != NULL) {
            int c = cidr_len(slash + 1, rl - al - 2, v6 ? 128 : 32);
            if (c < 0)
                return "bad CIDR length";
            if (v6)
                t->c6 = c;
            else
                t->c4 = c;
        }
        char addr[64];
        unsigned char bin[16];
        if (al == 0 || al >= sizeof(addr))
            return "bad address";
        memcpy(addr, rest + 1, al);
        addr[al] = '\0';
        if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) != 1)
            return "bad address";
        t->dom = rest + 1;
        t->dom_len = al;
        return NULL;
    }
    if (rl == 0) {
        if (strcmp(k, "include") == 0 || strcmp(k, "exists") == 0)
            return "domain missing";
        return NULL;
    }
    if (rest[0] != ':' || !domain_spec_ok(rest + 1, rl - 1))
        return "bad domain";
    t->dom = rest + 1;
    t->dom_len = rl - 1;
    return NULL;
}

/* Appends an already expanded name (escaping % for libspf2; a name with
 * octets libspf2 cannot take goes through a synthetic alias); -1 if bad. */
static int put_name(outbuf *o, const char *exp, spfrecord_synth_fn synth,
                    void *sctx);

/* Appends t's name taken literally (no macro expansion): the current
 * domain, which may hold any octets DNS allows, '%' among them. */
static int put_plain(outbuf *o, const term *t, spfrecord_synth_fn synth,
                     void *sctx)
{
    char name[1024];
    if (t->dom_len >= sizeof(name))
        return -1;
    memcpy(name, t->dom, t->dom_len);
    name[t->dom_len] = '\0';
    return put_name(o, name, synth, sctx);
}

/* Appends the expanded domain of t; -1 if bad. */
static int put_domain(outbuf *o, const term *t, const spfrecord_vars *v,
                      spfrecord_synth_fn synth, void *sctx)
{
    char exp[1024];
    if (spfrecord_expand(t->dom, t->dom_len, v, SPFRECORD_DOMAIN, exp,
                         sizeof(exp)) != 0)
        return -1;
    return put_name(o, exp, synth, sctx);
}

static int put_name(outbuf *o, const char *exp, spfrecord_synth_fn synth,
                    void *sctx)
{
    for (const unsigned char *p = (const unsigned char *)exp; *p; p++) {
        if (*p < 0x21 || *p > 0x7e) {
            char name[256];
            if (synth == NULL ||
                synth(sctx, SPFRECORD_ALIAS, exp, name, sizeof(name)) != 0)
                return -1;
            outbuf_str(o, name);
            return 0;
        }
    }
    for (const unsigned char *p = (const unsigned char *)exp; *p; p++) {
        if (*p == '%')
            outbuf_str(o, "%%");
        else
            outbuf_put(o, (const char *)p, 1);
    }
    return 0;
}

/* True when the client address lies in the network of ip4:/ip6: term t
 * (of the client's family; parse_term checked the address). */
static bool ip_matches(const term *t, const spfrecord_vars *v)
{
    bool v6 = v->family == AF_INET6;
    int bits = v6 ? t->c6 : t->c4;
    if (bits < 0)
        bits = v6 ? 128 : 32;
    char addr[64];
    unsigned char net[16];
    if (t->dom_len >= sizeof(addr))
        return false;
    memcpy(addr, t->dom, t->dom_len);
    addr[t->dom_len] = '\0';
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, net) != 1)
        return false;
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(net, v->ip, (size_t)whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff00u >> rest);
    return ((net[whole] ^ v->ip[whole]) & mask) == 0;
}

/* Writes one mechanism for libspf2; sets *stop when it always matches. */
static int put_mech(outbuf *o, const term *t, const spfrecord_vars *v,
                    spfrecord_synth_fn synth, void *sctx, bool *stop,
                    unsigned *count)
{
    const char *k = t->kind;
    bool v6 = v->family == AF_INET6;
    char q[3] = {' ', t->qual, '\0'};
    if (strcmp(k, "ip4") == 0 || strcmp(k, "ip6") == 0) {
        if ((k[2] == '6') != v6)
            return 0;
        /* Decided here: one that misses the client is left out, one that
         * matches ends the record (nothing after it is reached). libspf2
         * holds at most 511 bytes of compiled mechanisms, about 60 ip4:
         * terms; records with hundreds of them are common. */
        if (!ip_matches(t, v))
            return 0;
        *stop = true;
        int c = v6 ? t->c6 : t->c4;
        outbuf_str(o, q);
        if (c == 0) {
            outbuf_str(o, "all");
        } else {
            outbuf_str(o, k);
            outbuf_put(o, ":", 1);
            outbuf_put(o, t->dom, t->dom_len);
            if (c > 0) {
                char b[16];
                snprintf(b, sizeof(b), "/%d", c);
                outbuf_str(o, b);
            }
        }
        (*count)++;
        return 0;
    }
    outbuf_str(o, q);
    (*count)++;
    if (strcmp(k, "all") == 0) {
        outbuf_str(o, "all");
        *stop = true;
        return 0;
    }
    bool am = strcmp(k, "a") == 0 || strcmp(k, "mx") == 0;
    int c = v6 ? t->c6 : t->c4;
    if (am && c == 0) {
        spfrecord_synth_kind sk =
            k[0] == 'a' ? (v6 ? SPFRECORD_ANY_AAAA : SPFRECORD_ANY_A)
                        : (v6 ? SPFRECORD_ANY_MX_AAAA : SPFRECORD_ANY_MX_A);
        if (sk == SPFRECORD_ANY_A) {
            /* "any A of the name" is exists:name, written like any other
             * target (macros expanded, % escaped, odd octets aliased). */
            outbuf_str(o, "exists:");
            if (t->dom != NULL)
                return put_domain(o, t, v, synth, sctx);
            term cur = {.dom = v->domain, .dom_len = strlen(v->domain)};
            return put_plain(o, &cur, synth, sctx);
        }
        /* The synthetic question takes the name itself, unescaped. */
        char dom[1024], name[256];
        if (t->dom != NULL) {
            if (spfrecord_expand(t->dom, t->dom_len, v, SPFRECORD_DOMAIN, dom,
                                 sizeof(dom)) != 0)
                return -1;
        } else {
            snprintf(dom, sizeof(dom), "%s", v->domain);
        }
        if (synth == NULL || synth(sctx, sk, dom, name, sizeof(name)) != 0)
            return -1;
        outbuf_str(o, "exists:");
        outbuf_str(o, name);
        return 0;
    }
    outbuf_str(o, k);
    if (t->dom != NULL) {
        outbuf_put(o, ":", 1);
        if (put_domain(o, t, v, synth, sctx) != 0)
            return -1;
    }
    if (am && c > 0 && c != (v6 ? 128 : 32)) {
        char b[16];
        snprintf(b, sizeof(b), v6 ? "//%d" : "/%d", c);
        outbuf_str(o, b);
    }
    return 0;
}

/* Records a reason. */
static int fail(char *why, size_t len, const char *reason)
{
    snprintf(why, len, "%s", reason);
    return -1;
}

/* Checks a record and writes its libspf2 form (see spfrecord.h). */
int spfrecord_rewrite(const char *txt, const spfrecord_vars *v,
                      spfrecord_synth_fn synth, void *sctx, char *out,
                      size_t outlen, spfrecord_info *info, char *why,
                      size_t whylen)
{
    enum { MAX_TERMS = 1024 }; /* more: permerror "too many terms" */
    static _Thread_local term terms[MAX_TERMS];
    size_t nt = 0;
    memset(info, 0, sizeof(*info));
    for (const unsigned char *p = (const unsigned char *)txt; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return fail(why, whylen,
                        "non-ASCII or control character in record");
    /* The current domain is written into the record as it is (a and mx
     * without a name): it must be printable ASCII without spaces. */
    for (const unsigned char *p = (const unsigned char *)v->domain; p && *p;
         p++)
        if (*p < 0x21 || *p > 0x7e)
            return fail(why, whylen, "current domain is not a host name");
    if (!spfrecord_is_spf1(txt))
        return fail(why, whylen, "not an SPF record");

    const term *redirect = NULL, *exp = NULL;
    bool has_all = false;
    const char *p = txt + 6;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        size_t n = strcspn(p, " ");
        if (nt == MAX_TERMS)
            return fail(why, whylen, "too many terms");
        term *t = &terms[nt++];
        const char *bad = parse_term(p, n, t);
        if (bad != NULL) {
            snprintf(why, whylen, "%s near \"%.*s\"", bad,
                     (int)(n > 40 ? 40 : n), p);
            return -1;
        }
        if (strcmp(t->kind, "redirect") == 0) {
            if (redirect != NULL)
                return fail(why, whylen, "two redirect= modifiers");
            redirect = t;
        } else if (strcmp(t->kind, "exp") == 0) {
            if (exp != NULL)
                return fail(why, whylen, "two exp= modifiers");
            exp = t;
        } else if (strcmp(t->kind, "all") == 0) {
            has_all = true;
        }
        p += n;
    }

    outbuf o = {out, outlen, 0, false};
    outbuf_str(&o, "v=spf1");
    bool stop = false;
    for (size_t i = 0; i < nt && !stop; i++) {
        if (terms[i].modifier)
            continue;
        if (put_mech(&o, &terms[i], v, synth, sctx, &stop, &info->mechanisms) !=
            0)
            return fail(why, whylen, "a domain cannot be expanded");
    }
    if (redirect != NULL && !has_all && !stop) {
        outbuf r = {info->redirect, sizeof(info->redirect), 0, false};
        if (put_domain(&r, redirect, v, synth, sctx) != 0 || r.overflow)
            return fail(why, whylen, "redirect= cannot be expanded");
        outbuf_str(&o, " redirect=");
        outbuf_str(&o, info->redirect);
        info->mechanisms++;
    }
    if (exp != NULL) {
        char e[1024];
        if (spfrecord_expand(exp->dom, exp->dom_len, v, SPFRECORD_DOMAIN, e,
                             sizeof(e)) == 0 &&
            strlen(e) < sizeof(info->exp))
            memcpy(info->exp, e, strlen(e) + 1);
    }
    if (o.overflow)
        return fail(why, whylen, "record too long");
    return 0;
}

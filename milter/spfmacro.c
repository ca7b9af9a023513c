/*
 * spfmacro.c - SPF macro expansion (RFC 7208 section 7).
 *
 * Owns nothing; pure functions over the caller's buffers (the %{p} value
 * comes from the caller's callback). Expands %{s l o d i p h v} in
 * domain-specs and also %{c r t} in explanations, with transformers
 * (digits, r) and delimiters, URL-escaping for upper-case letters, %%, %_
 * and %-; a domain-spec longer than 253 octets after expansion loses
 * labels from the left. Fails: -1 for a macro that breaks the grammar
 * ("%(", a trailing "%", an unknown letter, a zero digit) or an output
 * buffer that is too small.
 */
#include "config.h"

#include "outbuf.h"
#include "spfrecord.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Writes the value of one macro letter into val. */
static void macro_value(char letter, const spfrecord_vars *v, char *val,
                        size_t len)
{
    const unsigned char *ip = v->ip;
    switch (letter) {
    case 's':
        snprintf(val, len, "%s", v->sender != NULL ? v->sender : "");
        return;
    case 'l':
        snprintf(val, len, "%s", v->local != NULL ? v->local : "postmaster");
        return;
    case 'o':
        snprintf(val, len, "%s",
                 v->sender_domain != NULL ? v->sender_domain : "");
        return;
    case 'd':
        snprintf(val, len, "%s", v->domain != NULL ? v->domain : "");
        return;
    case 'h':
        snprintf(val, len, "%s", v->helo != NULL ? v->helo : "unknown");
        return;
    case 'r':
        snprintf(val, len, "%s",
                 v->receiver != NULL && v->receiver[0] ? v->receiver
                                                       : "unknown");
        return;
    case 't':
        snprintf(val, len, "%lld", (long long)time(NULL));
        return;
    case 'v':
        snprintf(val, len, "%s", v->family == AF_INET6 ? "ip6" : "in-addr");
        return;
    case 'p':
        if (v->ptr_name != NULL)
            v->ptr_name(v->ctx, val, len);
        else
            snprintf(val, len, "unknown");
        return;
    case 'c':
        if (v->family == AF_INET6) {
            inet_ntop(AF_INET6, ip, val, (socklen_t)len);
            return;
        }
        /* IPv4 %{c} is the dotted quad, like %{i} */
        __attribute__((fallthrough));
    case 'i':
    default:
        if (v->family == AF_INET6) {
            static const char hex[] = "0123456789ABCDEF";
            size_t o = 0;
            for (int k = 0; k < 16 && o + 4 < len; k++) {
                val[o++] = hex[ip[k] >> 4];
                val[o++] = '.';
                val[o++] = hex[ip[k] & 15];
                val[o++] = '.';
            }
            val[o > 0 ? o - 1 : 0] = '\0';
        } else {
            snprintf(val, len, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
        }
        return;
    }
}

/* Applies transformers: split on delims, reverse, keep the rightmost
 * keep parts (0: all), join with dots. */
static void transform(const char *val, const char *delims, bool reverse,
                      unsigned keep, char *out, size_t len)
{
    const char *parts[128];
    size_t plen[128];
    size_t n = 0;
    const char *p = val;
    for (;;) {
        size_t k = strcspn(p, delims);
        if (n < 128) {
            parts[n] = p;
            plen[n++] = k;
        }
        if (p[k] == '\0')
            break;
        p += k + 1;
    }
    if (reverse) {
        for (size_t i = 0; i < n / 2; i++) {
            const char *tp = parts[i];
            size_t tl = plen[i];
            parts[i] = parts[n - 1 - i];
            plen[i] = plen[n - 1 - i];
            parts[n - 1 - i] = tp;
            plen[n - 1 - i] = tl;
        }
    }
    size_t first = keep != 0 && keep < n ? n - keep : 0;
    outbuf o = {out, len, 0, false};
    out[0] = '\0';
    for (size_t i = first; i < n; i++) {
        if (i > first)
            outbuf_put(&o, ".", 1);
        outbuf_put(&o, parts[i], plen[i]);
    }
}

/* Appends val URL-escaped (RFC 3986 unreserved kept). */
static void url_escape(outbuf *o, const char *val)
{
    for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            outbuf_put(o, (const char *)p, 1);
        } else {
            char h[4];
            snprintf(h, sizeof(h), "%%%02X", *p);
            outbuf_put(o, h, 3);
        }
    }
}

/* Parses and expands one "%{...}" at s (len bytes left); returns the
 * number of bytes used or -1. */
static int expand_one(const char *s, size_t len, const spfrecord_vars *v,
                      spfrecord_mode mode, outbuf *o)
{
    const char *end = memchr(s, '}', len);
    if (end == NULL || end - s < 3)
        return -1;
    char letter = (char)tolower((unsigned char)s[2]);
    bool upper = isupper((unsigned char)s[2]) != 0;
    if (strchr("slodiphv", letter) == NULL &&
        (mode != SPFRECORD_EXP || strchr("crt", letter) == NULL))
        return -1;
    const char *p = s + 3;
    unsigned keep = 0;
    bool digits = false;
    while (p < end && isdigit((unsigned char)*p)) {
        keep = keep * 10 + (unsigned)(*p++ - '0');
        if (keep > 1000)
            return -1;
        digits = true;
    }
    if (digits && keep == 0)
        return -1;
    bool reverse = false;
    if (p < end && (*p == 'r' || *p == 'R')) {
        reverse = true;
        p++;
    }
    char delims[8] = "";
    size_t nd = 0;
    for (; p < end; p++) {
        if (strchr(".-+,/_=", *p) == NULL)
            return -1;
        if (nd + 1 < sizeof(delims) && strchr(delims, *p) == NULL) {
            delims[nd++] = *p;
            delims[nd] = '\0';
        }
    }
    if (nd == 0)
        strcpy(delims, ".");
    if (v != NULL) {
        char val[1024], tv[1024];
        macro_value(letter, v, val, sizeof(val));
        transform(val, delims, reverse, keep, tv, sizeof(tv));
        if (upper)
            url_escape(o, tv);
        else
            outbuf_str(o, tv);
    }
    return (int)(end - s) + 1;
}

/* Expands (or, with v NULL, checks) one macro-string. */
int spfrecord_expand(const char *s, size_t len, const spfrecord_vars *v,
                     spfrecord_mode mode, char *out, size_t outlen)
{
    outbuf o = {out, outlen, 0, false};
    bool had_macro = false;
    if (outlen == 0)
        return -1;
    out[0] = '\0';
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 1 >= len)
                return -1;
            char n = s[i + 1];
            if (n == '%' || n == '_' || n == '-') {
                outbuf_str(&o, n == '%' ? "%" : n == '_' ? " " : "%20");
                i += 2;
                continue;
            }
            if (n != '{')
                return -1;
            int used = expand_one(s + i, len - i, v, mode, &o);
            if (used < 0)
                return -1;
            i += (size_t)used;
            had_macro = true;
            continue;
        }
        if ((c < 0x21 || c > 0x7e) && !(mode == SPFRECORD_EXP && c == ' '))
            return -1;
        outbuf_put(&o, (const char *)&c, 1);
        i++;
    }
    if (o.overflow) {
        /* Only checking (v == NULL): the syntax is all that counts, a
         * long value of an unknown modifier is legal. */
        return v == NULL ? 0 : -1;
    }
    if (mode == SPFRECORD_DOMAIN && had_macro) {
        /* RFC 7208 7.3: cut labels from the left down to 253 octets */
        char *p = out;
        while (strlen(p) > 253 && strchr(p, '.') != NULL)
            p = strchr(p, '.') + 1;
        memmove(out, p, strlen(p) + 1);
    }
    return 0;
}

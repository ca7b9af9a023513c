/*
 * headers.c - the Received-SPF (RFC 7208 9.1) and Authentication-Results
 * (RFC 8601) header values, and the authserv-id test used to remove
 * forged Authentication-Results.
 *
 * Owns: the table of result names used in the headers (kept here so this
 * module depends on no other), and the quoting rules:
 *
 *  - Every value from the client or DNS is copied byte by byte; a byte
 *    outside printable ASCII (0x20..0x7e) becomes '?'.
 *  - Received-SPF: a value is written bare only when it is a dot-atom
 *    (RFC 5322) made of characters that are also RFC 2045 token
 *    characters (so no '=', '?' or '/'); otherwise it is a quoted-string
 *    with '"' and '\' escaped. The comment is for humans: in it the
 *    characters ( ) \ " ; = become '?', so it can neither end early nor
 *    look like a key=value pair to a naive reader. The keys whose values
 *    we control (client-ip, receiver, identity) come before those the
 *    client or DNS controls, so a first-match reader finds ours first.
 *  - Authentication-Results: smtp.mailfrom is "local@domain" when the
 *    local part is such a dot-atom and the domain a valid domain-name
 *    (RFC 6376); when only the domain is valid the local part is dropped
 *    ("smtp.mailfrom=domain", which RFC 8601 2.3 allows and which
 *    OpenDMARC-style readers, taking what follows the last '@' or else
 *    the whole value as the domain, read correctly); when the domain is
 *    not valid either, the whole identity is a quoted-string. smtp.helo
 *    is bare when it is a domain-name, else a quoted-string.
 *
 * Fails: never. When the result does not fit, the values (not the
 * structure) are cut: each is limited to the same number of source bytes,
 * the largest limit that fits, and a cut value is written as a
 * quoted-string ending in "..." (or, in the comment, followed by "...").
 * Only when even the bare structure does not fit the buffer is the output
 * reduced (Received-SPF: the result word alone; Authentication-Results:
 * empty, length 0, so the caller adds no header).
 */
#include "config.h"

#include "headers.h"

#include <string.h>

/* The RFC 7208 result names, indexed by spfcheck_result. */
static const char *const result_names[SPFCHECK_RESULT_COUNT] = {
    [SPFCHECK_NONE] = "none",           [SPFCHECK_NEUTRAL] = "neutral",
    [SPFCHECK_PASS] = "pass",           [SPFCHECK_FAIL] = "fail",
    [SPFCHECK_SOFTFAIL] = "softfail",   [SPFCHECK_TEMPERROR] = "temperror",
    [SPFCHECK_PERMERROR] = "permerror",
};

/* The comment of Received-SPF per result: {W} the identity, {I} the
 * client address. */
static const char *const comments[SPFCHECK_RESULT_COUNT] = {
    [SPFCHECK_NONE] = "domain of {W} does not designate permitted sender "
                      "hosts",
    [SPFCHECK_NEUTRAL] = "{I} is neither permitted nor denied by domain of "
                         "{W}",
    [SPFCHECK_PASS] = "domain of {W} designates {I} as permitted sender",
    [SPFCHECK_FAIL] = "domain of {W} does not designate {I} as permitted "
                      "sender",
    [SPFCHECK_SOFTFAIL] = "domain of transitioning {W} does not designate "
                          "{I} as permitted sender",
    [SPFCHECK_TEMPERROR] = "temporary error in processing during lookup of "
                           "{W}",
    [SPFCHECK_PERMERROR] = "permanent error in processing domain of {W}",
};

/* The limit for values that are ours (address, receiver, keywords): they
 * are never cut. */
#define NOCAP ((size_t)-1)

/* An output under construction: writes stop at cap, len keeps counting,
 * so a caller learns how long the whole value would be (unlike outbuf.h,
 * which drops what does not fit). */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
} sizing_buf;

/* A source value limited to a number of bytes. */
typedef struct {
    const char *p;
    size_t n;
    bool cut;
} piece;

/* Returns the name of a result; an out-of-range value reads as none. */
static const char *result_name(spfcheck_result r)
{
    if ((unsigned)r >= SPFCHECK_RESULT_COUNT)
        return result_names[SPFCHECK_NONE];
    return result_names[r];
}

/* Appends one byte (counted even when it does not fit). */
static void put_c(sizing_buf *o, char c)
{
    if (o->len < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

/* Appends a trusted literal. */
static void put_s(sizing_buf *o, const char *s)
{
    while (*s)
        put_c(o, *s++);
}

/* Takes at most cap bytes of s, noting whether it was cut. */
static piece take(const char *s, size_t cap)
{
    piece v = {s, 0, false};
    while (s[v.n] != '\0' && v.n <= cap)
        v.n++;
    if (v.n > cap) {
        v.n = cap;
        v.cut = true;
    }
    return v;
}

/* Maps a byte to itself when printable ASCII, else to '?'. */
static char clean(unsigned char c)
{
    return (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
}

/* True for RFC 5322 atext that is also an RFC 2045 token character. */
static bool is_safe_atext(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-^_`{|}~", c) != NULL;
}

/* True when s[0..n) is a dot-atom of safe atext. */
static bool is_safe_dot_atom(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (s[i + 1] == '.')
                return false;
        } else if (!is_safe_atext(c)) {
            return false;
        }
    }
    return true;
}

/* True for a letter or digit. */
static bool is_let_dig(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* True when s[0..n) is an RFC 6376 domain-name (two labels or more). */
static bool is_domain_name(const char *s, size_t n)
{
    size_t labels = 0, start = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            size_t len = i - start;
            if (len == 0 || len > 63 || !is_let_dig((unsigned char)s[start]) ||
                !is_let_dig((unsigned char)s[i - 1]))
                return false;
            labels++;
            start = i + 1;
        } else if (!is_let_dig((unsigned char)s[i]) && s[i] != '-') {
            return false;
        }
    }
    return labels >= 2;
}

/* True for an RFC 2045 token character. */
static bool is_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Writes a piece as a quoted-string; a cut piece ends in "...". */
static void put_quoted(sizing_buf *o, piece v)
{
    put_c(o, '"');
    for (size_t i = 0; i < v.n; i++) {
        char c = clean((unsigned char)v.p[i]);
        if (c == '"' || c == '\\')
            put_c(o, '\\');
        put_c(o, c);
    }
    if (v.cut)
        put_s(o, "...");
    put_c(o, '"');
}

/* Writes a piece as comment text: nothing in it can close the comment. */
static void put_comment_text(sizing_buf *o, piece v)
{
    for (size_t i = 0; i < v.n; i++) {
        char c = clean((unsigned char)v.p[i]);
        if (c != '\0' && strchr("()\\\";=", c) != NULL)
            c = '?';
        put_c(o, c);
    }
    if (v.cut)
        put_s(o, "...");
}

/* Writes a Received-SPF value: a safe dot-atom bare, else quoted. */
static void put_kv_value(sizing_buf *o, const char *s, size_t cap)
{
    piece v = take(s, cap);
    if (!v.cut && is_safe_dot_atom(v.p, v.n)) {
        for (size_t i = 0; i < v.n; i++)
            put_c(o, v.p[i]);
    } else {
        put_quoted(o, v);
    }
}

/* Writes one "key=value" of Received-SPF, with its separator. */
static void put_kv(sizing_buf *o, bool *first, const char *key, const char *s,
                   size_t cap)
{
    if (s == NULL)
        return;
    put_s(o, *first ? " " : "; ");
    *first = false;
    put_s(o, key);
    put_c(o, '=');
    put_kv_value(o, s, cap);
}

/* Writes the Received-SPF value with every outside value limited to cap
 * bytes. */
static void render_received(const headers_spf *f, size_t cap, sizing_buf *o)
{
    unsigned r = (unsigned)f->result < SPFCHECK_RESULT_COUNT
                     ? (unsigned)f->result
                     : (unsigned)SPFCHECK_NONE;
    const char *who = f->identity;
    if (who == NULL)
        who = f->helo_identity ? f->helo : f->envelope_from;
    if (who == NULL)
        who = "unknown";
    const char *ip = f->client_ip ? f->client_ip : "unknown";

    put_s(o, result_names[r]);
    put_s(o, " (");
    if (f->receiver != NULL) {
        put_comment_text(o, take(f->receiver, NOCAP));
        put_s(o, ": ");
    }
    for (const char *t = comments[r]; *t; t++) {
        if (t[0] == '{' && (t[1] == 'W' || t[1] == 'I') && t[2] == '}') {
            put_comment_text(o, t[1] == 'W' ? take(who, cap) : take(ip, NOCAP));
            t += 2;
        } else {
            put_c(o, *t);
        }
    }
    put_c(o, ')');

    bool first = true;
    put_kv(o, &first, "client-ip", f->client_ip, NOCAP);
    put_kv(o, &first, "receiver", f->receiver, NOCAP);
    put_kv(o, &first, "identity", f->helo_identity ? "helo" : "mailfrom",
           NOCAP);
    put_kv(o, &first, "envelope-from", f->envelope_from, cap);
    put_kv(o, &first, "helo", f->helo, cap);
    if (f->mechanism != NULL && f->mechanism[0] != '\0')
        put_kv(o, &first, "mechanism", f->mechanism, cap);
    if (f->problem != NULL && f->problem[0] != '\0')
        put_kv(o, &first, "problem", f->problem, cap);
}

/* Writes the smtp.mailfrom pvalue: local@domain, domain, or quoted. */
static void put_mailfrom(sizing_buf *o, const char *s, size_t cap)
{
    const char *at = strrchr(s, '@');
    const char *dom = at ? at + 1 : s;
    piece d = take(dom, cap);
    if (!d.cut && is_domain_name(d.p, d.n)) {
        size_t local = at ? (size_t)(at - s) : 0;
        if (at != NULL && local + 1 + d.n <= cap &&
            is_safe_dot_atom(s, local)) {
            for (size_t i = 0; i < local; i++)
                put_c(o, s[i]);
            put_c(o, '@');
        }
        for (size_t i = 0; i < d.n; i++)
            put_c(o, d.p[i]);
        return;
    }
    put_quoted(o, take(s, cap));
}

/* Writes the smtp.helo pvalue: a domain-name bare, else quoted. */
static void put_helo(sizing_buf *o, const char *s, size_t cap)
{
    piece v = take(s, cap);
    if (!v.cut && is_domain_name(v.p, v.n)) {
        for (size_t i = 0; i < v.n; i++)
            put_c(o, v.p[i]);
    } else {
        put_quoted(o, v);
    }
}

/* Writes the authserv-id (never cut): a token bare, else quoted. */
static void put_authserv_id(sizing_buf *o, const char *id)
{
    size_t n = strlen(id);
    bool token = n > 0;
    for (size_t i = 0; i < n && token; i++)
        token = is_token_char((unsigned char)id[i]);
    if (token)
        put_s(o, id);
    else
        put_quoted(o, take(id, n));
}

/* The inputs of one Authentication-Results value. */
typedef struct {
    const char *id;
    const headers_spf *mail;
    const headers_spf *helo;
} ar_input;

/* Writes the Authentication-Results value with identities limited to cap
 * bytes. */
static void render_ar(const ar_input *in, size_t cap, sizing_buf *o)
{
    put_authserv_id(o, in->id);
    if (in->mail == NULL && in->helo == NULL) {
        put_s(o, "; none");
        return;
    }
    if (in->mail != NULL) {
        const char *v =
            in->mail->identity ? in->mail->identity : in->mail->envelope_from;
        put_s(o, "; spf=");
        put_s(o, result_name(in->mail->result));
        if (v != NULL) {
            put_s(o, " smtp.mailfrom=");
            put_mailfrom(o, v, cap);
        }
    }
    if (in->helo != NULL) {
        const char *v =
            in->helo->identity ? in->helo->identity : in->helo->helo;
        put_s(o, "; spf=");
        put_s(o, result_name(in->helo->result));
        if (v != NULL) {
            put_s(o, " smtp.helo=");
            put_helo(o, v, cap);
        }
    }
}

/* A renderer: writes one header value with values limited to cap. */
typedef void (*renderer)(const void *ctx, size_t cap, sizing_buf *o);

/* Adapts render_received to the renderer type. */
static void received_renderer(const void *ctx, size_t cap, sizing_buf *o)
{
    render_received(ctx, cap, o);
}

/* Adapts render_ar to the renderer type. */
static void ar_renderer(const void *ctx, size_t cap, sizing_buf *o)
{
    render_ar(ctx, cap, o);
}

/* Renders with value limit cap; true when the result fits. */
static bool render_fits(renderer fn, const void *ctx, size_t cap, sizing_buf *o)
{
    o->len = 0;
    fn(ctx, cap, o);
    return o->len <= o->cap;
}

/* Renders with the largest value limit that fits; false if none does. */
static bool fit(renderer fn, const void *ctx, char *out, size_t outlen,
                size_t *len)
{
    size_t limit =
        outlen - 1 < HEADERS_VALUE_MAX ? outlen - 1 : HEADERS_VALUE_MAX;
    sizing_buf o = {out, limit, 0};
    if (!render_fits(fn, ctx, limit, &o)) {
        size_t lo = 0, hi = limit;
        if (!render_fits(fn, ctx, lo, &o))
            return false;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (render_fits(fn, ctx, mid, &o))
                lo = mid;
            else
                hi = mid;
        }
        render_fits(fn, ctx, lo, &o);
    }
    out[o.len] = '\0';
    *len = o.len;
    return true;
}

/* Writes the Received-SPF value; see headers.h. */
size_t headers_received_spf(const headers_spf *f, char *out, size_t outlen)
{
    static const headers_spf empty = {.result = SPFCHECK_NONE};
    size_t len = 0;
    if (out == NULL || outlen == 0)
        return 0;
    if (f == NULL)
        f = &empty;
    if (fit(received_renderer, f, out, outlen, &len))
        return len;
    const char *name = result_name(f->result);
    len = strlen(name);
    if (len > outlen - 1)
        len = 0;
    memcpy(out, name, len);
    out[len] = '\0';
    return len;
}

/* Writes the Authentication-Results value; see headers.h. */
size_t headers_auth_results(const char *authserv_id, const headers_spf *mail,
                            const headers_spf *helo, char *out, size_t outlen)
{
    ar_input in = {authserv_id ? authserv_id : "", mail, helo};
    size_t len = 0;
    if (out == NULL || outlen == 0)
        return 0;
    if (fit(ar_renderer, &in, out, outlen, &len))
        return len;
    out[0] = '\0';
    return 0;
}

/* Skips white space (folding CR/LF included) and nested comments;
 * returns NULL on an unterminated comment. */
static const char *skip_cfws(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p != '(')
            return p;
        unsigned depth = 0;
        do {
            if (*p == '\0')
                return NULL;
            if (*p == '\\' && p[1] != '\0')
                p++;
            else if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
            p++;
        } while (depth > 0);
    }
}

/* True when a token or quoted-string equals id, ignoring case. */
static bool ar_id_equals(const char *p, const char *id)
{
    size_t n = strlen(id), i = 0;
    if (*p == '"') {
        for (p++; *p != '"'; p++, i++) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            if (*p == '\0' || i >= n)
                return false;
            char a = *p, b = id[i];
            if (a >= 'A' && a <= 'Z')
                a = (char)(a - 'A' + 'a');
            if (b >= 'A' && b <= 'Z')
                b = (char)(b - 'A' + 'a');
            if (a != b)
                return false;
        }
        return i == n;
    }
    for (; is_token_char((unsigned char)*p); p++, i++) {
        char a = *p, b = id[i];
        if (i >= n)
            return false;
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return i == n;
}

/* True when an Authentication-Results value claims authserv_id; see
 * headers.h. */
bool headers_ar_claims(const char *value, const char *authserv_id)
{
    if (value == NULL || authserv_id == NULL || authserv_id[0] == '\0')
        return false;
    const char *p = skip_cfws(value);
    if (p == NULL || *p == '\0')
        return false;
    return ar_id_equals(p, authserv_id);
}

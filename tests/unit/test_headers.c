/*
 * test_headers.c - the Received-SPF and Authentication-Results values,
 * and the authserv-id test.
 *
 * The outputs are read back by two small parsers written here for the
 * test (an RFC 8601 reader and an RFC 7208 9.1 reader), independent of
 * milter/headers.c: every result and identity, the null sender, IPv6,
 * and a table of hostile values placed in every client-controlled field
 * at many buffer sizes. After each call: one line of printable ASCII
 * within the length bound, balanced quotes and comments, exactly one
 * spf= per identity, and the values read back as sent (cleaned) or as a
 * marked cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "headers.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define BIG 70000

static const char *const names[SPFCHECK_RESULT_COUNT] = {
    "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror",
};

/* ---- the test's own readers ---------------------------------------- */

/* Skips white space and nested comments; NULL if a comment is open. */
static const char *t_cfws(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '(')
            return p;
        int depth = 0;
        do {
            if (*p == '\0')
                return NULL;
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
            p++;
        } while (depth > 0);
    }
}

/* Reads a quoted-string into dst (unescaped); NULL if unterminated. */
static const char *t_quoted(const char *p, char *dst, size_t n)
{
    size_t i = 0;
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if (*p == '\\')
            p++;
        if (*p == '\0')
            return NULL;
        if (i + 1 < n)
            dst[i++] = *p;
        p++;
    }
    dst[i] = '\0';
    return p + 1;
}

/* Reads a run of characters not in stop (and not space or NUL). */
static const char *t_run(const char *p, const char *stop, char *dst, size_t n)
{
    size_t i = 0;
    while (*p && *p != ' ' && *p != '\t' && !strchr(stop, *p)) {
        if (i + 1 < n)
            dst[i++] = *p;
        p++;
    }
    dst[i] = '\0';
    return p;
}

/* Reads a value: quoted-string or a run up to a special. */
static const char *t_value(const char *p, const char *stop, char *dst, size_t n)
{
    if (*p == '"')
        return t_quoted(p, dst, n);
    const char *e = t_run(p, stop, dst, n);
    return e == p ? NULL : e;
}

typedef struct {
    char method[32];
    char result[32];
    int nprops;
    char prop[32];
    char value[BIG];
} ar_result;

typedef struct {
    char id[1024];
    bool none;
    int n;
    ar_result r[4];
} ar_parsed;

/* Parses an RFC 8601 value; false on a syntax error. */
static bool t_parse_ar(const char *s, ar_parsed *a)
{
    memset(a, 0, sizeof *a);
    const char *p = t_cfws(s);
    if (!p || !(p = t_value(p, "()<>@,;:\\\"/[]?=", a->id, sizeof a->id)))
        return false;
    for (;;) {
        if (!(p = t_cfws(p)))
            return false;
        if (*p == '\0')
            return a->none || a->n > 0;
        if (*p++ != ';' || !(p = t_cfws(p)))
            return false;
        if (a->n == 4 || a->none)
            return false;
        ar_result *r = &a->r[a->n];
        p = t_run(p, "=;()\"", r->method, sizeof r->method);
        if (strcmp(r->method, "none") == 0 && a->n == 0) {
            a->none = true;
            continue;
        }
        if (!(p = t_cfws(p)) || *p++ != '=' || !(p = t_cfws(p)))
            return false;
        p = t_run(p, ";()\"", r->result, sizeof r->result);
        if (r->result[0] == '\0')
            return false;
        a->n++;
        for (;;) {
            if (!(p = t_cfws(p)))
                return false;
            if (*p == '\0' || *p == ';')
                break;
            char ptype[32];
            p = t_run(p, ".=;()\"", ptype, sizeof ptype);
            if (*p++ != '.')
                return false;
            p = t_run(p, "=;()\"", r->prop, sizeof r->prop);
            if (*p++ != '=')
                return false;
            if (strcmp(ptype, "smtp") != 0)
                return false;
            /* pvalue: value, or [local-part] "@" domain */
            size_t used = 0;
            bool quoted = *p == '"';
            if (quoted) {
                if (!(p = t_quoted(p, r->value, sizeof r->value)))
                    return false;
                used = strlen(r->value);
            }
            if (!quoted || *p == '@') {
                const char *e =
                    t_run(p, ";()\"", r->value + used, sizeof r->value - used);
                if (e == p && !quoted)
                    return false;
                p = e;
            }
            r->nprops++;
        }
    }
}

#define RS_KEYS 8

typedef struct {
    char result[32];
    int comments;
    int n;
    char key[RS_KEYS][32];
    char value[RS_KEYS][BIG];
} rs_parsed;

/* Parses an RFC 7208 9.1 Received-SPF value; false on a syntax error. */
static bool t_parse_rs(const char *s, rs_parsed *r)
{
    memset(r, 0, sizeof *r);
    const char *p = t_run(s, "(;=\"", r->result, sizeof r->result);
    if (r->result[0] == '\0')
        return false;
    while (*p == ' ')
        p++;
    if (*p == '(') {
        r->comments++;
        if (!(p = t_cfws(p)))
            return false;
    }
    for (;;) {
        if (!(p = t_cfws(p)))
            return false;
        if (*p == '\0')
            return true;
        if (r->n == RS_KEYS)
            return false;
        p = t_run(p, "=;()\"", r->key[r->n], sizeof r->key[0]);
        if (!(p = t_cfws(p)) || *p++ != '=' || !(p = t_cfws(p)))
            return false;
        if (!(p = t_value(p, ";()\"", r->value[r->n], sizeof r->value[0])))
            return false;
        r->n++;
        if (!(p = t_cfws(p)))
            return false;
        if (*p == ';')
            p++;
        else if (*p != '\0')
            return false;
    }
}

/* Returns the value of a Received-SPF key, or NULL. */
static const char *rs_get(const rs_parsed *r, const char *key)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->key[i], key) == 0)
            return r->value[i];
    return NULL;
}

/* ---- invariants ---------------------------------------------------- */

/* Asserts one line of printable ASCII within the bound for outlen. */
static void check_line(const char *s, size_t len, size_t outlen)
{
    size_t bound =
        outlen - 1 < HEADERS_VALUE_MAX ? outlen - 1 : HEADERS_VALUE_MAX;
    assert_int_equal(strlen(s), len);
    assert_true(len <= bound);
    for (size_t i = 0; i < len; i++)
        assert_true(s[i] >= 0x20 && s[i] <= 0x7e);
}

/* Asserts balanced quotes and parentheses (quoted-pairs honoured). */
static void check_balanced(const char *s)
{
    bool quote = false;
    int depth = 0;
    for (const char *p = s; *p; p++) {
        if ((quote || depth) && *p == '\\') {
            assert_true(p[1] != '\0');
            p++;
        } else if (quote) {
            quote = *p != '"';
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            assert_true(depth > 0);
            depth--;
        } else if (depth == 0 && *p == '"') {
            quote = true;
        }
    }
    assert_false(quote);
    assert_int_equal(depth, 0);
}

/* Counts, outside quoted strings, either top-level comments or "spf="
 * outside comments. */
static int count_outside(const char *s, bool comments)
{
    bool quote = false;
    int depth = 0, n = 0;
    for (const char *p = s; *p; p++) {
        if ((quote || depth) && *p == '\\' && p[1])
            p++;
        else if (quote)
            quote = *p != '"';
        else if (*p == '(')
            n += comments && depth++ == 0;
        else if (*p == ')')
            depth--;
        else if (depth == 0 && *p == '"')
            quote = true;
        else if (!comments && depth == 0 && strncmp(p, "spf=", 4) == 0)
            n++;
    }
    return n;
}

/* Counts "spf=" outside quoted strings and comments. */
static int count_spf(const char *s)
{
    return count_outside(s, false);
}

/* Counts top-level comments. */
static int count_comments(const char *s)
{
    return count_outside(s, true);
}

/* The expected reading of a value: each non-printable byte as '?'. */
static char *cleaned(const char *s)
{
    size_t n = strlen(s);
    char *c = malloc(n + 1);
    assert_non_null(c);
    for (size_t i = 0; i <= n; i++)
        c[i] = (i < n && (s[i] < 0x20 || s[i] > 0x7e)) ? '?' : s[i];
    return c;
}

/* Asserts got reads as want, or as a prefix of want followed by "...". */
static void check_value(const char *got, const char *want, bool whole)
{
    char *w = cleaned(want);
    size_t g = strlen(got);
    if (strcmp(got, w) != 0) {
        assert_false(whole);
        assert_true(g >= 3 && strcmp(got + g - 3, "...") == 0);
        assert_memory_equal(got, w, g - 3);
    }
    free(w);
}

/* Asserts an smtp.mailfrom value: the identity, its domain, or a cut. */
static void check_mailfrom(const char *got, const char *identity, bool whole)
{
    const char *at = strrchr(identity, '@');
    if (at && strcmp(got, at + 1) == 0)
        return;
    check_value(got, identity, whole);
}

/* ---- fixtures ------------------------------------------------------ */

/* A well-formed MAIL FROM fact. */
static headers_spf mail_fact(spfcheck_result r)
{
    headers_spf f = {
        .result = r,
        .helo_identity = false,
        .identity = "user@example.com",
        .client_ip = "192.0.2.1",
        .helo = "mail.example.com",
        .envelope_from = "user@example.com",
        .receiver = "mx.example.org",
        .mechanism = "ip4:192.0.2.0/24",
        .problem = NULL,
    };
    return f;
}

/* A well-formed HELO fact. */
static headers_spf helo_fact(spfcheck_result r)
{
    headers_spf f = mail_fact(r);
    f.helo_identity = true;
    f.identity = "mail.example.com";
    return f;
}

/* ---- tests --------------------------------------------------------- */

/* Exact output for the usual case. */
static void test_exact(void **state)
{
    (void)state;
    char out[1024];
    headers_spf m = mail_fact(SPFCHECK_PASS);
    headers_spf h = helo_fact(SPFCHECK_NONE);
    size_t n = headers_received_spf(&m, out, sizeof out);
    assert_string_equal(
        out, "pass (mx.example.org: domain of user@example.com designates "
             "192.0.2.1 as permitted sender) client-ip=192.0.2.1; "
             "receiver=mx.example.org; identity=mailfrom; "
             "envelope-from=\"user@example.com\"; helo=mail.example.com; "
             "mechanism=\"ip4:192.0.2.0/24\"");
    assert_int_equal(n, strlen(out));
    n = headers_auth_results("mx.example.org", &m, &h, out, sizeof out);
    assert_string_equal(out, "mx.example.org; spf=pass "
                             "smtp.mailfrom=user@example.com; spf=none "
                             "smtp.helo=mail.example.com");
    assert_int_equal(n, strlen(out));
    n = headers_auth_results("mx.example.org", NULL, NULL, out, sizeof out);
    assert_string_equal(out, "mx.example.org; none");
    n = headers_auth_results("mx.example.org", NULL, &h, out, sizeof out);
    assert_string_equal(out, "mx.example.org; spf=none "
                             "smtp.helo=mail.example.com");
    m.result = SPFCHECK_TEMPERROR;
    m.mechanism = NULL;
    m.problem = "DNS timeout";
    headers_received_spf(&m, out, sizeof out);
    assert_non_null(strstr(out, "; problem=\"DNS timeout\""));
    assert_null(strstr(out, "mechanism="));
}

/* Every result with both identities reads back right. */
static void test_every_result(void **state)
{
    (void)state;
    static char out[1024];
    static rs_parsed rs;
    static ar_parsed ar;
    for (int r = 0; r < SPFCHECK_RESULT_COUNT; r++) {
        for (int helo = 0; helo < 2; helo++) {
            headers_spf f = helo ? helo_fact(r) : mail_fact(r);
            size_t n = headers_received_spf(&f, out, sizeof out);
            check_line(out, n, sizeof out);
            check_balanced(out);
            assert_true(t_parse_rs(out, &rs));
            assert_string_equal(rs.result, names[r]);
            assert_int_equal(rs.comments, 1);
            assert_string_equal(rs_get(&rs, "identity"),
                                helo ? "helo" : "mailfrom");
            assert_string_equal(rs_get(&rs, "client-ip"), "192.0.2.1");
            assert_string_equal(rs_get(&rs, "envelope-from"),
                                "user@example.com");
            assert_string_equal(rs_get(&rs, "helo"), "mail.example.com");
            assert_string_equal(rs_get(&rs, "receiver"), "mx.example.org");
            assert_string_equal(rs_get(&rs, "mechanism"), "ip4:192.0.2.0/24");
            assert_null(rs_get(&rs, "problem"));
            assert_non_null(strstr(out, "(mx.example.org: "));
        }
        headers_spf m = mail_fact(r);
        headers_spf h = helo_fact((r + 3) % SPFCHECK_RESULT_COUNT);
        size_t n =
            headers_auth_results("mx.example.org", &m, &h, out, sizeof out);
        check_line(out, n, sizeof out);
        assert_int_equal(count_spf(out), 2);
        assert_true(t_parse_ar(out, &ar));
        assert_string_equal(ar.id, "mx.example.org");
        assert_int_equal(ar.n, 2);
        assert_string_equal(ar.r[0].method, "spf");
        assert_string_equal(ar.r[0].result, names[r]);
        assert_string_equal(ar.r[0].prop, "mailfrom");
        assert_string_equal(ar.r[0].value, "user@example.com");
        assert_string_equal(ar.r[1].method, "spf");
        assert_string_equal(ar.r[1].result,
                            names[(r + 3) % SPFCHECK_RESULT_COUNT]);
        assert_string_equal(ar.r[1].prop, "helo");
        assert_string_equal(ar.r[1].value, "mail.example.com");
    }
}

/* The null sender: smtp.mailfrom is postmaster@HELO; IPv6 clients. */
static void test_null_sender_ipv6(void **state)
{
    (void)state;
    static char out[1024];
    static rs_parsed rs;
    static ar_parsed ar;
    headers_spf m = mail_fact(SPFCHECK_FAIL);
    m.envelope_from = "";
    m.identity = "postmaster@mail.example.com";
    m.client_ip = "2001:db8::25";
    size_t n = headers_received_spf(&m, out, sizeof out);
    check_line(out, n, sizeof out);
    check_balanced(out);
    assert_true(t_parse_rs(out, &rs));
    assert_string_equal(rs.result, "fail");
    assert_string_equal(rs_get(&rs, "envelope-from"), "");
    assert_string_equal(rs_get(&rs, "client-ip"), "2001:db8::25");
    assert_non_null(strstr(out, "postmaster@mail.example.com does not "
                                "designate 2001:db8::25 as permitted"));
    n = headers_auth_results("mx.example.org", &m, NULL, out, sizeof out);
    assert_string_equal(out, "mx.example.org; spf=fail "
                             "smtp.mailfrom=postmaster@mail.example.com");
    assert_int_equal(n, strlen(out));
    assert_true(t_parse_ar(out, &ar));
    assert_int_equal(ar.n, 1);
    assert_string_equal(ar.r[0].value, "postmaster@mail.example.com");
}

/* Local parts that are not plain dot-atoms are dropped in
 * Authentication-Results; bad domains are quoted. */
static void test_mailfrom_forms(void **state)
{
    (void)state;
    static const struct {
        const char *identity;
        const char *want;
    } rows[] = {
        {"a.b+c@example.com", "a.b+c@example.com"},
        {"SRS0=x=y@example.com", "example.com"},
        {"\"a b\"@example.com", "example.com"},
        {"a..b@example.com", "example.com"},
        {"user@localhost", "\"user@localhost\""},
        {"user@[192.0.2.1]", "\"user@[192.0.2.1]\""},
        {"user@-bad.example", "\"user@-bad.example\""},
        {"example.com", "example.com"},
        {"", "\"\""},
    };
    char out[1024], want[1024];
    for (size_t i = 0; i < N(rows); i++) {
        headers_spf m = mail_fact(SPFCHECK_PASS);
        m.identity = rows[i].identity;
        headers_auth_results("h.example", &m, NULL, out, sizeof out);
        snprintf(want, sizeof want, "h.example; spf=pass smtp.mailfrom=%s",
                 rows[i].want);
        assert_string_equal(out, want);
    }
}

static const char *hostile[] = {
    "evil.example\r\nX-Injected: yes",
    "a\nb",
    "a\rb",
    "x; spf=pass smtp.mailfrom=bank.example",
    "\"quoted\"",
    "\"",
    "(comment",
    "close) spf=pass",
    "back\\slash\\",
    "a=b",
    "identity=helo",
    "caf\xc3\xa9.example",
    "\x01\x1b\x7f\xff",
    "a;b\"c(d)e\\f=g h\t",
    "",
};

/* Checks one hostile fact pair at one buffer size. */
static void check_hostile(const headers_spf *m, const headers_spf *h,
                          size_t outlen)
{
    static char out[1024];
    static rs_parsed rs;
    static ar_parsed ar;
    bool whole = outlen == sizeof out;
    assert_true(outlen <= sizeof out);

    size_t n = headers_received_spf(m, out, outlen);
    check_line(out, n, outlen);
    check_balanced(out);
    if (n > 0) {
        assert_true(t_parse_rs(out, &rs));
        assert_string_equal(rs.result, names[m->result]);
        assert_true(rs.comments <= 1);
        assert_int_equal(count_comments(out), rs.comments);
        for (int i = 0; i < rs.n; i++)
            for (int j = i + 1; j < rs.n; j++)
                assert_string_not_equal(rs.key[i], rs.key[j]);
        if (rs.n > 0) {
            assert_string_equal(rs_get(&rs, "identity"), "mailfrom");
            check_value(rs_get(&rs, "envelope-from"), m->envelope_from,
                        whole && strlen(m->envelope_from) < 300);
            check_value(rs_get(&rs, "helo"), m->helo,
                        whole && strlen(m->helo) < 300);
        }
    }

    n = headers_auth_results("mx.example.org", m, h, out, outlen);
    check_line(out, n, outlen);
    check_balanced(out);
    if (n > 0) {
        assert_int_equal(count_spf(out), 2);
        assert_int_equal(count_comments(out), 0);
        assert_true(t_parse_ar(out, &ar));
        assert_string_equal(ar.id, "mx.example.org");
        assert_false(ar.none);
        assert_int_equal(ar.n, 2);
        assert_string_equal(ar.r[0].result, names[m->result]);
        assert_string_equal(ar.r[1].result, names[h->result]);
        assert_int_equal(ar.r[0].nprops, 1);
        assert_int_equal(ar.r[1].nprops, 1);
        assert_string_equal(ar.r[0].prop, "mailfrom");
        assert_string_equal(ar.r[1].prop, "helo");
        check_mailfrom(ar.r[0].value, m->identity,
                       whole && strlen(m->identity) < 300);
        check_value(ar.r[1].value, h->identity,
                    whole && strlen(h->identity) < 300);
    }
}

/* Hostile values in every field, at many buffer sizes. */
static void test_hostile(void **state)
{
    (void)state;
    static const size_t sizes[] = {1,  2,   5,   20,  40,  60,
                                   80, 120, 200, 400, 700, 1024};
    char *long_helo = malloc(1001);
    char *huge = malloc(64 * 1024 + 1);
    assert_non_null(long_helo);
    assert_non_null(huge);
    for (size_t i = 0; i < 1000; i++)
        long_helo[i] = "a.;\"(\\ =\r\n\xc3"[i % 12];
    long_helo[1000] = '\0';
    for (size_t i = 0; i < 64 * 1024; i++)
        huge[i] = "x\";()\\=\n"[i % 8];
    memcpy(huge + 64 * 1024 - 12, "@example.com", 13);

    const char *values[N(hostile) + 2];
    for (size_t i = 0; i < N(hostile); i++)
        values[i] = hostile[i];
    values[N(hostile)] = long_helo;
    values[N(hostile) + 1] = huge;

    for (size_t i = 0; i < N(values); i++) {
        char *sender = malloc(strlen(values[i]) + 32);
        char *local = malloc(strlen(values[i]) + 32);
        assert_non_null(sender);
        assert_non_null(local);
        sprintf(sender, "%s@example.com", values[i]);
        sprintf(local, "user@%s", values[i]);
        const char *senders[] = {sender, local, values[i]};
        for (size_t s = 0; s < N(senders); s++) {
            headers_spf m = mail_fact((spfcheck_result)(i % 7));
            headers_spf h = helo_fact((spfcheck_result)((i + s) % 7));
            m.identity = m.envelope_from = senders[s];
            m.helo = h.helo = h.identity = values[i];
            m.mechanism = values[i];
            m.problem = values[i];
            for (size_t z = 0; z < N(sizes); z++)
                check_hostile(&m, &h, sizes[z]);
        }
        free(sender);
        free(local);
    }
    free(long_helo);
    free(huge);
}

/* The output never exceeds HEADERS_VALUE_MAX even with a large buffer,
 * and a cut keeps every result. */
static void test_value_max(void **state)
{
    (void)state;
    static char out[4096];
    static ar_parsed ar;
    char *helo = malloc(2001);
    assert_non_null(helo);
    memset(helo, 'a', 2000);
    helo[2000] = '\0';
    headers_spf m = mail_fact(SPFCHECK_SOFTFAIL);
    headers_spf h = helo_fact(SPFCHECK_PERMERROR);
    m.helo = h.identity = helo;
    size_t n = headers_received_spf(&m, out, sizeof out);
    check_line(out, n, sizeof out);
    assert_true(n > HEADERS_VALUE_MAX - 20);
    n = headers_auth_results("mx.example.org", &m, &h, out, sizeof out);
    check_line(out, n, sizeof out);
    assert_true(t_parse_ar(out, &ar));
    assert_int_equal(ar.n, 2);
    assert_string_equal(ar.r[0].value, "user@example.com");
    assert_string_equal(ar.r[1].result, "permerror");
    free(helo);
}

/* headers_ar_claims: the authserv-id after CFWS, case-insensitive. */
static void test_ar_claims(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        const char *id;
        bool want;
    } rows[] = {
        {"example.org; spf=pass", "example.org", true},
        {" (c) Example.ORG 1; none", "example.org", true},
        {"example.org.evil; spf=pass", "example.org", false},
        {"", "example.org", false},
        {"   ", "example.org", false},
        {"example.org", "example.org", true},
        {"EXAMPLE.ORG;none", "example.org", true},
        {"\r\n\texample.org; none", "example.org", true},
        {"(a (nested \\) comment) b) example.org; none", "example.org", true},
        {"(unclosed example.org; none", "example.org", false},
        {"\"example.org\"; none", "example.org", true},
        {"\"example.org ; none", "example.org", false},
        {"example.or; none", "example.org", false},
        {"xexample.org; none", "example.org", false},
        {"other.example; spf=pass smtp.helo=example.org", "example.org", false},
        {"example.org(comment); none", "example.org", true},
        {"example.org; none", "", false},
        {NULL, "example.org", false},
        {"example.org; none", NULL, false},
    };
    for (size_t i = 0; i < N(rows); i++) {
        bool got = headers_ar_claims(rows[i].value, rows[i].id);
        if (got != rows[i].want)
            fail_msg("row %zu: \"%s\" claims \"%s\": got %d", i,
                     rows[i].value ? rows[i].value : "(null)",
                     rows[i].id ? rows[i].id : "(null)", got);
    }
}

/* Degenerate inputs: NULL facts, tiny buffers. */
static void test_degenerate(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(headers_received_spf(NULL, NULL, 0), 0);
    assert_int_equal(headers_received_spf(NULL, out, 0), 0);
    size_t n = headers_received_spf(NULL, out, sizeof out);
    check_line(out, n, sizeof out);
    assert_int_equal(strncmp(out, "none", 4), 0);
    headers_spf m = mail_fact(SPFCHECK_PASS);
    n = headers_received_spf(&m, out, 5);
    assert_string_equal(out, "pass");
    n = headers_received_spf(&m, out, 4);
    assert_int_equal(n, 0);
    assert_string_equal(out, "");
    n = headers_auth_results("mx.example.org", &m, NULL, out, 10);
    assert_int_equal(n, 0);
    assert_string_equal(out, "");

    headers_spf bare = {.result = SPFCHECK_FAIL};
    n = headers_received_spf(&bare, out, sizeof out);
    check_line(out, n, sizeof out);
    assert_string_equal(out, "fail (domain of unknown does not designate "
                             "unknown as permitted sender) "
                             "identity=mailfrom");
    n = headers_auth_results("mx.example.org", &bare, &bare, out, sizeof out);
    assert_string_equal(out, "mx.example.org; spf=fail; spf=fail");
    bare.result = (spfcheck_result)99;
    n = headers_auth_results("mx.example.org", &bare, NULL, out, sizeof out);
    assert_string_equal(out, "mx.example.org; spf=none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_every_result),
        cmocka_unit_test(test_null_sender_ipv6),
        cmocka_unit_test(test_mailfrom_forms),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_value_max),
        cmocka_unit_test(test_ar_claims),
        cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_headers.c - libFuzzer target for headers.c: Received-SPF and
 * Authentication-Results values built from hostile HELO, sender,
 * explanation and problem values, and the authserv-id test.
 *
 * Input: byte 0 picks the results and which values are NULL, byte 1 the
 * output size; the rest is cut at NUL bytes into identity, client-ip,
 * HELO, envelope-from, receiver, mechanism, problem, authserv-id and an
 * existing Authentication-Results value.
 *
 * Invariants of every header value: one line of printable ASCII, within
 * the buffer and HEADERS_VALUE_MAX, quotes and comments balanced, and the
 * structure the values cannot change: Received-SPF starts with the result
 * and has exactly one identity= key outside quotes and comments; an
 * Authentication-Results value has exactly one resinfo per identity, each
 * "spf=RESULT", and is claimed by its own (printable) authserv-id.
 */
#include "config.h"

#include "headers.h"

#include "fuzz_util.h"

static const char *const result_word[SPFCHECK_RESULT_COUNT] = {
    "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror",
};

/* Walks a header value outside quoted-strings and comments; calls back with
 * each top-level byte (position i). Checks the nesting. */
typedef void (*top_fn)(void *ctx, const char *v, size_t i);

static void walk(const char *v, size_t len, top_fn fn, void *ctx)
{
    bool quoted = false;
    unsigned depth = 0;
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        if (quoted) {
            if (c == '\\') {
                FUZZ_CHECK(i + 1 < len, "escape at the end of \"%s\"", v);
                i++;
            } else if (c == '"') {
                quoted = false;
            }
        } else if (depth > 0) {
            if (c == '\\') {
                FUZZ_CHECK(i + 1 < len, "escape at the end of \"%s\"", v);
                i++;
            } else if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == '(') {
            depth++;
        } else {
            FUZZ_CHECK(c != ')', "unopened ')' at %zu in \"%s\"", i, v);
            if (fn)
                fn(ctx, v, i);
        }
    }
    FUZZ_CHECK(!quoted, "unclosed quote in \"%s\"", v);
    FUZZ_CHECK(depth == 0, "unclosed comment in \"%s\"", v);
}

/* The common promises: length, one line, printable, balanced. */
static void check_value(const char *v, size_t len, size_t outlen)
{
    FUZZ_CHECK(len == strlen(v), "returned %zu, strlen %zu", len, strlen(v));
    FUZZ_CHECK(len < outlen, "length %zu in a buffer of %zu", len, outlen);
    FUZZ_CHECK(len <= HEADERS_VALUE_MAX, "length %zu over the maximum", len);
    FUZZ_CHECK(fuzz_printable(v, len), "non-printable byte in \"%s\"", v);
    walk(v, len, NULL, NULL);
}

typedef struct {
    size_t semis;    /* top-level ';' */
    size_t identity; /* top-level "identity=" */
    size_t spf;      /* top-level "spf=" after a ';' */
    size_t last_semi;
} top_counts;

static void count_top(void *ctx, const char *v, size_t i)
{
    top_counts *t = ctx;
    if (v[i] == ';') {
        t->semis++;
        t->last_semi = i;
    }
    if (strncmp(v + i, "identity=", 9) == 0 && (i == 0 || v[i - 1] == ' '))
        t->identity++;
    if (strncmp(v + i, "spf=", 4) == 0 && i >= 2 && v[i - 1] == ' ' &&
        v[i - 2] == ';')
        t->spf++;
}

/* Checks the AR resinfo after each top-level "; spf=": the result word of
 * the n-th identity. */
static void check_ar_results(const char *v, size_t len, const char **want,
                             size_t n_want)
{
    size_t k = 0;
    bool quoted = false;
    unsigned depth = 0;
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        if (quoted) {
            if (c == '\\')
                i++;
            else if (c == '"')
                quoted = false;
            continue;
        }
        if (depth > 0) {
            if (c == '\\')
                i++;
            else if (c == '(')
                depth++;
            else if (c == ')')
                depth--;
            continue;
        }
        if (c == '"') {
            quoted = true;
        } else if (c == '(') {
            depth++;
        } else if (c == ';') {
            FUZZ_CHECK(k < n_want, "extra resinfo in \"%s\"", v);
            const char *r = v + i + 1;
            FUZZ_CHECK(strncmp(r, " spf=", 5) == 0, "resinfo not spf: \"%s\"",
                       v);
            size_t wl = strlen(want[k]);
            FUZZ_CHECK(
                strncmp(r + 5, want[k], wl) == 0 &&
                    (r[5 + wl] == ' ' || r[5 + wl] == ';' || r[5 + wl] == '\0'),
                "resinfo %zu is not spf=%s: \"%s\"", k, want[k], v);
            k++;
        }
    }
    FUZZ_CHECK(k == n_want, "%zu resinfo, want %zu: \"%s\"", k, n_want, v);
}

static const char *maybe(const fuzz_parts *p, size_t i, unsigned nullmask)
{
    if (nullmask & (1u << (i % 8)))
        return NULL;
    return fuzz_part(p, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    unsigned sel = data[0];
    unsigned nullmask = data[1]; /* which optional values are NULL */
    size_t outlen = (size_t)data[2] * 4 + 1; /* 1..1021 */
    fuzz_parts p;
    fuzz_split(data + 3, size - 3, &p);

    headers_spf mail = {
        .result = (spfcheck_result)(sel % SPFCHECK_RESULT_COUNT),
        .helo_identity = false,
        .identity = maybe(&p, 0, nullmask),
        .client_ip = fuzz_part(&p, 1),
        .helo = maybe(&p, 2, nullmask),
        .envelope_from = fuzz_part(&p, 3),
        .receiver = fuzz_part(&p, 4),
        .mechanism = maybe(&p, 5, nullmask),
        .problem = maybe(&p, 6, nullmask),
    };
    headers_spf helo = mail;
    helo.helo_identity = true;
    helo.result = (spfcheck_result)((sel / 8) % SPFCHECK_RESULT_COUNT);
    helo.identity = fuzz_part(&p, 2);
    const char *id = fuzz_part(&p, 7);
    const char *existing = fuzz_part(&p, 8);
    bool with_helo = sel & 0x80;

    char *out = malloc(outlen);
    char big[HEADERS_VALUE_MAX + 1];
    if (out == NULL)
        abort();

    /* Received-SPF, in a fitting buffer and in the fuzzed one. */
    const headers_spf *fs[] = {&mail, &helo};
    for (size_t k = 0; k < 2; k++) {
        size_t len = headers_received_spf(fs[k], big, sizeof big);
        check_value(big, len, sizeof big);
        const char *w = result_word[fs[k]->result];
        size_t wl = strlen(w);
        FUZZ_CHECK(strncmp(big, w, wl) == 0 &&
                       (big[wl] == ' ' || big[wl] == '\0'),
                   "Received-SPF does not start with %s: \"%s\"", w, big);
        top_counts t = {0};
        walk(big, len, count_top, &t);
        FUZZ_CHECK(len == wl || t.identity == 1, "%zu identity= keys in \"%s\"",
                   t.identity, big);
        len = headers_received_spf(fs[k], out, outlen);
        if (outlen > 0)
            check_value(out, len, outlen);
    }
    (void)headers_received_spf(NULL, big, sizeof big);

    /* Authentication-Results. */
    const char *want[2] = {result_word[mail.result], result_word[helo.result]};
    size_t len = headers_auth_results(id, &mail, with_helo ? &helo : NULL, big,
                                      sizeof big);
    check_value(big, len, sizeof big);
    if (len > 0) {
        check_ar_results(big, len, want, with_helo ? 2 : 1);
        if (id != NULL && id[0] != '\0' && fuzz_printable(id, strlen(id)))
            FUZZ_CHECK(headers_ar_claims(big, id),
                       "own header not claimed by \"%s\": \"%s\"", id, big);
    }
    len = headers_auth_results(id, with_helo ? NULL : &mail,
                               with_helo ? &helo : NULL, out, outlen);
    check_value(out, len, outlen);
    len = headers_auth_results(id, NULL, NULL, big, sizeof big);
    check_value(big, len, sizeof big);

    /* The authserv-id test on hostile existing headers. */
    (void)headers_ar_claims(existing, id);
    (void)headers_ar_claims(existing, "mx.example.org");
    (void)headers_ar_claims(id, existing);

    free(out);
    fuzz_parts_free(&p);
    return 0;
}

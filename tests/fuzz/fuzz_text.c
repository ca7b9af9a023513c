/*
 * fuzz_text.c - libFuzzer target for text.c: reply cleaning, template
 * expansion and template checking.
 *
 * Input: byte 0 picks the output buffer sizes; the rest is cut at NUL
 * bytes: part 0 is cleaned as reply text and used as a template, the
 * following parts are the values of the template variables.
 *
 * Invariants of text_clean_reply: printable ASCII only, no CR/LF, no
 * leading, trailing or doubled space, every run of '%' of even length,
 * at most min(outlen - 1, TEXT_REPLY_MAX) bytes, return value = strlen.
 */
#include "config.h"

#include "text.h"

#include "fuzz_util.h"

/* The variables of reject_text and tempfail_text. */
static const char *const names[] = {"result",      "sender", "identity",
                                    "domain",      "ip",     "helo",
                                    "explanation", "problem"};
#define N_NAMES (sizeof names / sizeof names[0])

/* Checks the promises of text_clean_reply for one output. */
static void check_clean(const char *out, size_t len, size_t outlen)
{
    size_t limit = outlen - 1 < TEXT_REPLY_MAX ? outlen - 1 : TEXT_REPLY_MAX;
    FUZZ_CHECK(len == strlen(out), "returned %zu, strlen %zu", len,
               strlen(out));
    FUZZ_CHECK(len <= limit, "length %zu over %zu", len, limit);
    FUZZ_CHECK(fuzz_printable(out, len), "non-printable byte in \"%s\"", out);
    FUZZ_CHECK(len == 0 || (out[0] != ' ' && out[len - 1] != ' '),
               "leading or trailing space in \"%s\"", out);
    FUZZ_CHECK(strstr(out, "  ") == NULL, "doubled space in \"%s\"", out);
    for (size_t i = 0; i < len;) {
        size_t run = 0;
        while (i + run < len && out[i + run] == '%')
            run++;
        FUZZ_CHECK(run % 2 == 0, "odd run of %zu '%%' at %zu in \"%s\"", run, i,
                   out);
        i += run ? run : 1;
    }
}

/* Cleans s with an output buffer of outlen bytes (outlen >= 1). */
static void clean_and_check(const char *s, size_t outlen)
{
    char *out = malloc(outlen);
    if (out == NULL)
        abort();
    size_t len = text_clean_reply(s, out, outlen);
    check_clean(out, len, outlen);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t small = (size_t)data[0] % 64 + 1; /* 1..64 */
    fuzz_parts p;
    fuzz_split(data + 1, size - 1, &p);
    const char *tmpl = fuzz_part(&p, 0);

    /* Cleaning: a full buffer, a small one, and the raw input. */
    clean_and_check(tmpl, 1200);
    clean_and_check(tmpl, small);
    clean_and_check(NULL, small);
    char *raw = fuzz_strndup(data, size);
    clean_and_check(raw, TEXT_REPLY_MAX + 1);
    free(raw);

    /* Expansion with the values from the input. */
    text_var vars[N_NAMES];
    for (size_t i = 0; i < N_NAMES; i++) {
        vars[i].name = names[i];
        vars[i].value = fuzz_part(&p, i + 1); /* NULL: "" */
    }
    size_t outlens[] = {small, 1024};
    for (size_t k = 0; k < 2; k++) {
        char *out = malloc(outlens[k]);
        if (out == NULL)
            abort();
        size_t len = text_expand(tmpl, vars, N_NAMES, out, outlens[k]);
        FUZZ_CHECK(len == strlen(out), "expand returned %zu, strlen %zu", len,
                   strlen(out));
        FUZZ_CHECK(len < outlens[k], "expand wrote %zu into %zu", len,
                   outlens[k]);
        char clean[TEXT_REPLY_MAX + 1];
        size_t cl = text_clean_reply(out, clean, sizeof clean);
        check_clean(clean, cl, sizeof clean);
        free(out);
    }

    /* Template checking, with short and long error buffers. */
    char err[128];
    char tiny[4];
    bool ok = text_template_ok(tmpl, names, N_NAMES, err, sizeof err);
    FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL, "err not terminated");
    FUZZ_CHECK(ok == (err[0] == '\0'), "ok=%d with err \"%s\"", ok, err);
    bool ok2 = text_template_ok(tmpl, names, N_NAMES, tiny, sizeof tiny);
    FUZZ_CHECK(ok == ok2, "result depends on the error buffer");
    FUZZ_CHECK(memchr(tiny, '\0', sizeof tiny) != NULL, "tiny not terminated");
    (void)text_template_ok(tmpl, names, N_NAMES, NULL, 0);
    if (ok) {
        /* An accepted template expanded with empty values gives back at
         * most its own length, and "%{" only where the template had "%%{". */
        char out[1200];
        size_t len = text_expand(tmpl, NULL, 0, out, sizeof out);
        FUZZ_CHECK(len <= strlen(tmpl), "empty expansion grew: %zu > %zu", len,
                   strlen(tmpl));
    }
    fuzz_parts_free(&p);
    return 0;
}

/*
 * test_text.c - reply text cleaning, template expansion and template
 * checks, against tables of hostile and ordinary inputs.
 *
 * Every cleaned result is also checked against the rules themselves
 * (printable ASCII only, no leading/trailing/double space, every '%'
 * doubled, within the limit), so a table row that misses a case still
 * cannot hide an illegal reply text.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Fails the test unless `s` (n bytes) is a legal cleaned reply text. */
static void assert_clean(const char *s, size_t n, size_t limit)
{
    assert_int_equal(strlen(s), n);
    assert_true(n <= limit && n <= TEXT_REPLY_MAX);
    if (n == 0)
        return;
    assert_true(s[0] != ' ' && s[n - 1] != ' ');
    size_t pct = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        assert_true(c >= 0x20 && c <= 0x7e);
        if (c == ' ')
            assert_true(s[i + 1] != ' ');
        if (c == '%')
            pct++;
        else {
            assert_true(pct % 2 == 0);
            pct = 0;
        }
    }
    assert_true(pct % 2 == 0);
}

/* Cleaning: each input and its exact expected output. */
static void test_clean_table(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"hello", "hello"},
        {"", ""},
        {"   ", ""},
        {"  padded  ", "padded"},
        {"a\r\nb", "a b"},
        {"a\rb\nc\td", "a b c d"},
        {"line1\r\n\r\nline2\r\n", "line1 line2"},
        {"a     b", "a b"},
        {"100%", "100%%"},
        {"%%", "%%%%"},
        {"%s%n%x", "%%s%%n%%x"},
        {"caf\xc3\xa9 ok", "caf ok"},
        {"\x80\xff\xfe", ""},
        {"x\x01\x02\x1b[31my", "x [31my"},
        {"del\x7f here", "del here"},
        {"\t\ttabbed\t", "tabbed"},
        {"Please see http://example.com/why?s=%{s}",
         "Please see http://example.com/why?s=%%{s}"},
    };
    char out[TEXT_REPLY_MAX + 1];
    for (size_t i = 0; i < N(rows); i++) {
        size_t n = text_clean_reply(rows[i].in, out, sizeof out);
        assert_string_equal(out, rows[i].want);
        assert_clean(out, n, sizeof out - 1);
    }
}

/* NULL input, NULL or empty output buffers. */
static void test_clean_null_and_tiny(void **state)
{
    (void)state;
    char out[8] = "xxxxxxx";
    assert_int_equal(text_clean_reply(NULL, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(text_clean_reply("abc", out, 0), 0);
    assert_int_equal(text_clean_reply("abc", NULL, 10), 0);
    assert_int_equal(text_clean_reply("abc", out, 1), 0);
    assert_string_equal(out, "");
    assert_int_equal(text_clean_reply("abcdef", out, 4), 3);
    assert_string_equal(out, "abc");
    /* A space is never left at the end by a cut. */
    assert_int_equal(text_clean_reply("ab cd", out, 4), 2);
    assert_string_equal(out, "ab");
}

/* A 5,000-byte input is cut to TEXT_REPLY_MAX even with a bigger buffer. */
static void test_clean_long(void **state)
{
    (void)state;
    char in[5001], out[6000];
    for (size_t i = 0; i < 5000; i++)
        in[i] = (char)('a' + i % 26);
    in[5000] = '\0';
    size_t n = text_clean_reply(in, out, sizeof out);
    assert_int_equal(n, TEXT_REPLY_MAX);
    assert_clean(out, n, TEXT_REPLY_MAX);
    assert_memory_equal(out, in, TEXT_REPLY_MAX);
    /* Hostile: all percent signs, every byte class mixed in. */
    for (size_t i = 0; i < 5000; i++)
        in[i] = "%\r\n\t\x80%a "[i % 8];
    n = text_clean_reply(in, out, sizeof out);
    assert_clean(out, n, TEXT_REPLY_MAX);
    assert_true(n >= TEXT_REPLY_MAX - 3);
}

/* At the cut, a '%' whose pair does not fit is dropped whole. */
static void test_clean_percent_at_boundary(void **state)
{
    (void)state;
    char in[TEXT_REPLY_MAX + 10], out[2 * TEXT_REPLY_MAX];
    /* 979 letters then '%': the pair needs 981 bytes, so it goes. */
    memset(in, 'a', TEXT_REPLY_MAX - 1);
    strcpy(in + TEXT_REPLY_MAX - 1, "%b");
    size_t n = text_clean_reply(in, out, sizeof out);
    assert_int_equal(n, TEXT_REPLY_MAX - 1);
    assert_clean(out, n, TEXT_REPLY_MAX);
    /* 978 letters then '%': the pair fits exactly. */
    memset(in, 'a', TEXT_REPLY_MAX - 2);
    strcpy(in + TEXT_REPLY_MAX - 2, "%b");
    n = text_clean_reply(in, out, sizeof out);
    assert_int_equal(n, TEXT_REPLY_MAX);
    assert_string_equal(out + TEXT_REPLY_MAX - 2, "%%");
    /* The same at a small buffer's limit: "ab%" into 4 bytes. */
    n = text_clean_reply("ab%", out, 4);
    assert_string_equal(out, "ab");
    n = text_clean_reply("ab%", out, 5);
    assert_string_equal(out, "ab%%");
    /* Every limit from 1 to 40 over a percent-heavy input. */
    for (size_t len = 1; len <= 40; len++) {
        n = text_clean_reply("%a%%b %c\r\n%%%d%", out, len);
        assert_clean(out, n, len - 1);
    }
}

/* Expansion: variables, %% and unknown names. */
static void test_expand_table(void **state)
{
    (void)state;
    static const text_var vars[] = {
        {"result", "fail"},
        {"ip", "192.0.2.1"},
        {"sender", "a@example.com"},
        {"explanation", NULL},
    };
    static const struct {
        const char *tmpl, *want;
    } rows[] = {
        {"SPF %{result} from %{ip}", "SPF fail from 192.0.2.1"},
        {"%{sender}%{sender}", "a@example.coma@example.com"},
        {"100%% sure", "100% sure"},
        {"[%{explanation}]", "[]"},
        {"[%{nosuch}]", "[]"},
        {"lone % and %{unterminated", "lone % and %{unterminated"},
        {"", ""},
        {"%{}", ""},
    };
    char out[256];
    for (size_t i = 0; i < N(rows); i++) {
        size_t n = text_expand(rows[i].tmpl, vars, N(vars), out, sizeof out);
        assert_string_equal(out, rows[i].want);
        assert_int_equal(n, strlen(rows[i].want));
    }
    assert_int_equal(text_expand(NULL, vars, N(vars), out, sizeof out), 0);
    assert_string_equal(out, "");
}

/* Expansion truncates to outlen - 1, whatever the values' lengths. */
static void test_expand_truncates(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    text_var v = {"explanation", big};
    char out[100];
    size_t n = text_expand("why: %{explanation} end", &v, 1, out, sizeof out);
    assert_int_equal(n, sizeof out - 1);
    assert_int_equal(strlen(out), sizeof out - 1);
    assert_memory_equal(out, "why: xxx", 8);
    assert_int_equal(text_expand("abc", &v, 1, out, 3), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(text_expand("abc", &v, 1, out, 0), 0);
}

/* Template checks: known names, %% and the errors. */
static void test_template_ok(void **state)
{
    (void)state;
    static const char *const names[] = {"result", "ip", "sender"};
    static const struct {
        const char *tmpl;
        bool ok;
        const char *err;
    } rows[] = {
        {"SPF %{result} from %{ip}", true, ""},
        {"100%% sure %{sender}", true, ""},
        {"no variables", true, ""},
        {"", true, ""},
        {"%{helo}", false, "unknown variable '%{helo}'"},
        {"%{resul}", false, "unknown variable '%{resul}'"},
        {"50% off", false,
         "a lone '%' (write %% for a percent sign) at '% off'"},
        {"end %", false, "a lone '%' (write %% for a percent sign) at '%'"},
        {"%{result", false, "unterminated variable '%{result'"},
        {"%s", false, "a lone '%' (write %% for a percent sign) at '%s'"},
        {"%%{result}", true, ""},
        {"%{}", false, "unknown variable '%{}'"},
    };
    char err[128];
    for (size_t i = 0; i < N(rows); i++) {
        bool ok =
            text_template_ok(rows[i].tmpl, names, N(names), err, sizeof err);
        assert_int_equal(ok, rows[i].ok);
        assert_string_equal(err, rows[i].err);
    }
    assert_false(text_template_ok(NULL, names, N(names), err, sizeof err));
    assert_true(text_template_ok("%{ip}", names, N(names), NULL, 0));
    assert_false(text_template_ok("%{x}", names, N(names), err, 4));
    assert_int_equal(strlen(err), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_table),
        cmocka_unit_test(test_clean_null_and_tiny),
        cmocka_unit_test(test_clean_long),
        cmocka_unit_test(test_clean_percent_at_boundary),
        cmocka_unit_test(test_expand_table),
        cmocka_unit_test(test_expand_truncates),
        cmocka_unit_test(test_template_ok),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}

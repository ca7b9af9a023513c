/*
 * test_replies.c - the reply table against the seed text, and the chooser.
 *
 * The seed table (tests/data/smtp-reply-table.txt, a verbatim copy of the
 * command-reply seed) is parsed here, independently of milter/replies.c,
 * and compared row by row: same commands in the same order, and each row
 * holds exactly the seed's codes in the seed's order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replies.h"

#define MAX_ROWS 32
#define MAX_CODES 32

struct seed_row {
    char name[32];
    int codes[MAX_CODES];
    size_t n;
};

static struct seed_row seed[MAX_ROWS];
static size_t n_seed;

/* Trims spaces at both ends in place. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Reads the seed: "| NAME |" opens a row, "| NNN | text |" adds a code. */
static int load_seed(void **state)
{
    (void)state;
    const char *dir = getenv("SPFGATE_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/smtp-reply-table.txt", dir ? dir : ".");
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    char line[512];
    n_seed = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = trim(line);
        if (*p != '|')
            continue;
        char *first = strtok(p + 1, "|");
        char *second = strtok(NULL, "|");
        if (first == NULL)
            continue;
        first = trim(first);
        if (second == NULL) {
            if (n_seed == MAX_ROWS)
                break;
            snprintf(seed[n_seed].name, sizeof seed[n_seed].name, "%s", first);
            seed[n_seed++].n = 0;
        } else if (n_seed > 0 && strlen(first) == 3 &&
                   isdigit((unsigned char)first[0])) {
            struct seed_row *r = &seed[n_seed - 1];
            if (r->n < MAX_CODES)
                r->codes[r->n++] = atoi(first);
        }
    }
    fclose(f);
    return n_seed > 0 ? 0 : -1;
}

static void test_seed_has_every_command(void **state)
{
    (void)state;
    assert_int_equal(n_seed, REPLIES_CMD_COUNT);
    for (size_t i = 0; i < n_seed; i++)
        assert_string_equal(seed[i].name, replies_row_of((replies_cmd)i)->name);
}

static void test_rows_match_seed_exactly(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_seed; i++) {
        const replies_row *row = replies_row_of((replies_cmd)i);
        int table_codes[MAX_CODES];
        size_t n = 0;
        for (size_t k = 0; k < row->n_success; k++)
            table_codes[n++] = row->success[k];
        for (size_t k = 0; k < row->n_failure; k++)
            table_codes[n++] = row->failure[k];
        /* Same codes, same order: every seed code in the table, no other. */
        if (n != seed[i].n)
            fail_msg("row %s: table has %zu codes, seed %zu", seed[i].name, n,
                     seed[i].n);
        for (size_t k = 0; k < n; k++)
            if (table_codes[k] != seed[i].codes[k])
                fail_msg("row %s: code %zu is %d in table, %d in seed",
                         seed[i].name, k, table_codes[k], seed[i].codes[k]);
        /* Success codes are 2xx/3xx, failures 4xx/5xx. */
        for (size_t k = 0; k < row->n_success; k++)
            assert_in_range(row->success[k], 200, 399);
        for (size_t k = 0; k < row->n_failure; k++)
            assert_in_range(row->failure[k], 400, 599);
    }
}

static void test_cmd_allows_only_seed_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_seed; i++) {
        for (int code = 100; code < 600; code++) {
            bool in_seed = false;
            for (size_t k = 0; k < seed[i].n; k++)
                in_seed |= seed[i].codes[k] == code;
            if (replies_cmd_allows((replies_cmd)i, code) != in_seed)
                fail_msg("row %s code %d: allowed=%d, seed=%d", seed[i].name,
                         code, !in_seed, in_seed);
        }
    }
    assert_false(replies_cmd_allows(REPLIES_CMD_COUNT, 250));
    assert_null(replies_row_of(REPLIES_CMD_COUNT));
}

/* The seed row of the milter stage (HELO: intersection with EHLO). */
static bool seed_stage_allows(replies_stage st, int code)
{
    static const char *const rows[REPLIES_STAGE_COUNT][2] = {
        [REPLIES_STAGE_CONNECT] = {"connect", NULL},
        [REPLIES_STAGE_HELO] = {"HELO", "EHLO"},
        [REPLIES_STAGE_MAIL] = {"MAIL", NULL},
        [REPLIES_STAGE_RCPT] = {"RCPT", NULL},
        [REPLIES_STAGE_DATA] = {"DATA", NULL},
        [REPLIES_STAGE_EOM] = {"received data", NULL},
    };
    for (int r = 0; r < 2 && rows[st][r]; r++) {
        bool found = false;
        for (size_t i = 0; i < n_seed; i++)
            if (strcmp(seed[i].name, rows[st][r]) == 0)
                for (size_t k = 0; k < seed[i].n; k++)
                    found |= seed[i].codes[k] == code;
        if (!found)
            return false;
    }
    return true;
}

static void test_stage_allows_matches_seed(void **state)
{
    (void)state;
    for (int st = 0; st < REPLIES_STAGE_COUNT; st++)
        for (int code = 100; code < 600; code++)
            if (replies_stage_allows((replies_stage)st, code) !=
                seed_stage_allows((replies_stage)st, code))
                fail_msg("stage %s code %d differs from the seed",
                         replies_stage_name((replies_stage)st), code);
}

static void test_helo_stage_is_intersection(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(
        replies_stage_failures(REPLIES_STAGE_HELO, buf, sizeof buf),
        "500 501 504 421");
    assert_false(replies_stage_allows(REPLIES_STAGE_HELO, 521));
    assert_false(replies_stage_allows(REPLIES_STAGE_HELO, 550));
    assert_string_equal(
        replies_stage_failures(REPLIES_STAGE_MAIL, buf, sizeof buf),
        "552 451 452 500 501 421");
    assert_string_equal(
        replies_stage_failures(REPLIES_STAGE_COUNT, buf, sizeof buf), "");
}

/* Every reason at every stage: a legal failure code of the right class,
 * carry-forward to a later stage that has one, or nothing anywhere. */
static void test_chooser_every_reason_and_stage(void **state)
{
    (void)state;
    for (int r = 0; r < REPLIES_REASON_COUNT; r++) {
        for (int st = 0; st < REPLIES_STAGE_COUNT; st++) {
            const char *details[] = {NULL, "7.23", "bogus", "7.1234"};
            for (size_t d = 0; d < 4; d++) {
                replies_choice c = replies_choose(
                    (replies_reason)r, (replies_stage)st, details[d]);
                switch (c.outcome) {
                case REPLIES_USE:
                    assert_in_range(c.code, 400, 599);
                    assert_true(seed_stage_allows((replies_stage)st, c.code));
                    assert_true(replies_esc_matches(c.code, c.esc));
                    assert_int_equal(c.esc[0] - '0', c.code / 100);
                    if (r == REPLIES_REASON_POLICY)
                        assert_int_equal(c.code / 100, 5);
                    else if (r == REPLIES_REASON_TEMP ||
                             r == REPLIES_REASON_SHUTDOWN)
                        assert_int_equal(c.code / 100, 4);
                    if (d == 1)
                        assert_string_equal(c.esc + 1, ".7.23");
                    break;
                case REPLIES_CARRY: {
                    assert_true((int)c.carry_to > st);
                    replies_choice later = replies_choose(
                        (replies_reason)r, c.carry_to, details[d]);
                    assert_int_equal(later.outcome, REPLIES_USE);
                    break;
                }
                case REPLIES_NONE:
                    fail_msg("reason %d stage %d: no code anywhere", r, st);
                }
            }
        }
    }
}

/* The table of replies.md section 4, row by row. */
static void test_chooser_expected_codes(void **state)
{
    (void)state;
    static const struct {
        replies_reason reason;
        replies_stage stage;
        replies_outcome outcome;
        int code;
        replies_stage carry_to;
    } rows[] = {
        {REPLIES_REASON_POLICY, REPLIES_STAGE_CONNECT, REPLIES_CARRY, 0,
         REPLIES_STAGE_RCPT},
        {REPLIES_REASON_POLICY, REPLIES_STAGE_HELO, REPLIES_CARRY, 0,
         REPLIES_STAGE_RCPT},
        {REPLIES_REASON_POLICY, REPLIES_STAGE_MAIL, REPLIES_CARRY, 0,
         REPLIES_STAGE_RCPT},
        {REPLIES_REASON_POLICY, REPLIES_STAGE_RCPT, REPLIES_USE, 550, 0},
        {REPLIES_REASON_POLICY, REPLIES_STAGE_DATA, REPLIES_USE, 554, 0},
        {REPLIES_REASON_POLICY, REPLIES_STAGE_EOM, REPLIES_USE, 554, 0},
        {REPLIES_REASON_TEMP, REPLIES_STAGE_CONNECT, REPLIES_CARRY, 0,
         REPLIES_STAGE_MAIL},
        {REPLIES_REASON_TEMP, REPLIES_STAGE_HELO, REPLIES_CARRY, 0,
         REPLIES_STAGE_MAIL},
        {REPLIES_REASON_TEMP, REPLIES_STAGE_MAIL, REPLIES_USE, 451, 0},
        {REPLIES_REASON_TEMP, REPLIES_STAGE_RCPT, REPLIES_USE, 451, 0},
        {REPLIES_REASON_TEMP, REPLIES_STAGE_DATA, REPLIES_USE, 451, 0},
        {REPLIES_REASON_TEMP, REPLIES_STAGE_EOM, REPLIES_USE, 451, 0},
        {REPLIES_REASON_STORAGE, REPLIES_STAGE_MAIL, REPLIES_USE, 452, 0},
        {REPLIES_REASON_STORAGE, REPLIES_STAGE_RCPT, REPLIES_USE, 452, 0},
        {REPLIES_REASON_STORAGE, REPLIES_STAGE_EOM, REPLIES_USE, 452, 0},
        {REPLIES_REASON_SHUTDOWN, REPLIES_STAGE_CONNECT, REPLIES_USE, 421, 0},
        {REPLIES_REASON_SHUTDOWN, REPLIES_STAGE_HELO, REPLIES_USE, 421, 0},
        {REPLIES_REASON_SHUTDOWN, REPLIES_STAGE_MAIL, REPLIES_USE, 421, 0},
        {REPLIES_REASON_SHUTDOWN, REPLIES_STAGE_RCPT, REPLIES_USE, 421, 0},
        {REPLIES_REASON_SHUTDOWN, REPLIES_STAGE_DATA, REPLIES_USE, 421, 0},
        {REPLIES_REASON_SHUTDOWN, REPLIES_STAGE_EOM, REPLIES_USE, 451, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        replies_choice c = replies_choose(rows[i].reason, rows[i].stage, NULL);
        assert_int_equal(c.outcome, rows[i].outcome);
        if (c.outcome == REPLIES_USE)
            assert_int_equal(c.code, rows[i].code);
        else
            assert_int_equal(c.carry_to, rows[i].carry_to);
    }
    replies_choice bad =
        replies_choose(REPLIES_REASON_COUNT, REPLIES_STAGE_MAIL, NULL);
    assert_int_equal(bad.outcome, REPLIES_NONE);
}

static void test_helo_never_521_or_550(void **state)
{
    (void)state;
    for (int r = 0; r < REPLIES_REASON_COUNT; r++) {
        replies_choice c =
            replies_choose((replies_reason)r, REPLIES_STAGE_HELO, NULL);
        if (c.outcome == REPLIES_USE) {
            assert_int_not_equal(c.code, 521);
            assert_int_not_equal(c.code, 550);
        }
    }
}

static void test_esc_matches(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *esc;
        bool ok;
    } rows[] = {
        {550, "5.7.23", true}, {451, "4.7.24", true},    {550, "4.7.1", false},
        {451, "5.7.1", false}, {550, "5.7", false},      {550, "5.7.", false},
        {550, "5..1", false},  {550, "5.1234.1", false}, {550, "5.7.1x", false},
        {550, NULL, false},    {199, "1.0.0", false},    {250, "2.0.0", true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(replies_esc_matches(rows[i].code, rows[i].esc),
                         rows[i].ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_has_every_command),
        cmocka_unit_test(test_rows_match_seed_exactly),
        cmocka_unit_test(test_cmd_allows_only_seed_codes),
        cmocka_unit_test(test_stage_allows_matches_seed),
        cmocka_unit_test(test_helo_stage_is_intersection),
        cmocka_unit_test(test_chooser_every_reason_and_stage),
        cmocka_unit_test(test_chooser_expected_codes),
        cmocka_unit_test(test_helo_never_521_or_550),
        cmocka_unit_test(test_esc_matches),
    };
    return cmocka_run_group_tests_name("replies", tests, load_seed, NULL);
}

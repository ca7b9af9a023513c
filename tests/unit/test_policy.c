/*
 * test_policy.c - verdicts and per-stage steps, table-driven: every SPF
 * result at every stage under the default actions, dry run, site codes,
 * recipient exceptions, the HELO/MAIL FROM combination, and the address
 * helpers the policy relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "policy.h"
#include "replies.h"
#include "settings.h"

static settings *defaults(void)
{
    settings *s = settings_defaults();
    assert_non_null(s);
    return s;
}

/* Default actions: fail rejects, temperror tempfails, the rest accept. */
static void test_default_actions_every_result(void **state)
{
    (void)state;
    settings *s = defaults();
    static const struct {
        spfcheck_result r;
        settings_action want;
        const char *detail;
    } rows[] = {
        {SPFCHECK_NONE, SETTINGS_ACCEPT, "7.1"},
        {SPFCHECK_NEUTRAL, SETTINGS_ACCEPT, "7.1"},
        {SPFCHECK_PASS, SETTINGS_ACCEPT, "7.1"},
        {SPFCHECK_FAIL, SETTINGS_REJECT, "7.23"},
        {SPFCHECK_SOFTFAIL, SETTINGS_ACCEPT, "7.1"},
        {SPFCHECK_TEMPERROR, SETTINGS_TEMPFAIL, "7.24"},
        {SPFCHECK_PERMERROR, SETTINGS_ACCEPT, "7.24"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        policy_facts f = {.mail_checked = true, .mail = rows[i].r};
        policy_verdict v = policy_decide(s, &f);
        assert_int_equal(v.action, rows[i].want);
        assert_int_equal(v.wanted, rows[i].want);
        assert_int_equal(v.result, rows[i].r);
        assert_string_equal(v.detail, rows[i].detail);
        assert_false(v.by_helo);
    }
    settings_unref(s);
}

/* Every result x stage: the step is legal at the stage, or a carry to a
 * later stage where it is legal. */
static void test_steps_every_result_and_stage(void **state)
{
    (void)state;
    settings *s = defaults();
    for (int r = 0; r < SPFCHECK_RESULT_COUNT; r++) {
        for (int act = 0; act <= SETTINGS_TEMPFAIL; act++) {
            s->action[r] = (settings_action)act;
            policy_facts f = {.mail_checked = true, .mail = (spfcheck_result)r};
            policy_verdict v = policy_decide(s, &f);
            for (int st = 0; st < REPLIES_STAGE_COUNT; st++) {
                policy_step p = policy_step_at(s, &v, (replies_stage)st, false);
                if (act == SETTINGS_ACCEPT) {
                    assert_int_equal(p.kind, POLICY_CONTINUE);
                    continue;
                }
                if (p.kind == POLICY_REPLY) {
                    assert_true(
                        replies_stage_allows((replies_stage)st, p.code));
                    assert_true(replies_esc_matches(p.code, p.esc));
                    assert_int_equal(p.code / 100,
                                     act == SETTINGS_REJECT ? 5 : 4);
                    assert_int_equal(p.tempfail, act == SETTINGS_TEMPFAIL);
                } else {
                    assert_int_equal(p.kind, POLICY_CARRY);
                    assert_true(st < REPLIES_STAGE_RCPT);
                }
            }
        }
    }
    settings_unref(s);
}

/* The expected codes of the design table for fail and temperror. */
static void test_expected_codes(void **state)
{
    (void)state;
    settings *s = defaults();
    static const struct {
        spfcheck_result r;
        replies_stage st;
        policy_step_kind kind;
        int code;
        const char *esc;
    } rows[] = {
        {SPFCHECK_FAIL, REPLIES_STAGE_CONNECT, POLICY_CARRY, 0, ""},
        {SPFCHECK_FAIL, REPLIES_STAGE_HELO, POLICY_CARRY, 0, ""},
        {SPFCHECK_FAIL, REPLIES_STAGE_MAIL, POLICY_CARRY, 0, ""},
        {SPFCHECK_FAIL, REPLIES_STAGE_RCPT, POLICY_REPLY, 550, "5.7.23"},
        {SPFCHECK_FAIL, REPLIES_STAGE_DATA, POLICY_REPLY, 554, "5.7.23"},
        {SPFCHECK_FAIL, REPLIES_STAGE_EOM, POLICY_REPLY, 554, "5.7.23"},
        {SPFCHECK_TEMPERROR, REPLIES_STAGE_HELO, POLICY_CARRY, 0, ""},
        {SPFCHECK_TEMPERROR, REPLIES_STAGE_MAIL, POLICY_REPLY, 451, "4.7.24"},
        {SPFCHECK_TEMPERROR, REPLIES_STAGE_RCPT, POLICY_REPLY, 451, "4.7.24"},
        {SPFCHECK_TEMPERROR, REPLIES_STAGE_EOM, POLICY_REPLY, 451, "4.7.24"},
        {SPFCHECK_PASS, REPLIES_STAGE_RCPT, POLICY_CONTINUE, 0, ""},
        {SPFCHECK_SOFTFAIL, REPLIES_STAGE_RCPT, POLICY_CONTINUE, 0, ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        policy_facts f = {.mail_checked = true, .mail = rows[i].r};
        policy_verdict v = policy_decide(s, &f);
        policy_step p = policy_step_at(s, &v, rows[i].st, false);
        assert_int_equal(p.kind, rows[i].kind);
        if (p.kind == POLICY_REPLY) {
            assert_int_equal(p.code, rows[i].code);
            assert_string_equal(p.esc, rows[i].esc);
        }
    }
    /* permerror set to reject: 550 5.7.24; softfail to tempfail: 4.7.1 */
    s->action[SPFCHECK_PERMERROR] = SETTINGS_REJECT;
    s->action[SPFCHECK_SOFTFAIL] = SETTINGS_TEMPFAIL;
    policy_facts f = {.mail_checked = true, .mail = SPFCHECK_PERMERROR};
    policy_verdict v = policy_decide(s, &f);
    policy_step p = policy_step_at(s, &v, REPLIES_STAGE_RCPT, false);
    assert_int_equal(p.code, 550);
    assert_string_equal(p.esc, "5.7.24");
    f.mail = SPFCHECK_SOFTFAIL;
    v = policy_decide(s, &f);
    p = policy_step_at(s, &v, REPLIES_STAGE_MAIL, false);
    assert_int_equal(p.code, 451);
    assert_string_equal(p.esc, "4.7.1");
    settings_unref(s);
}

static void test_dry_run_never_refuses(void **state)
{
    (void)state;
    settings *s = defaults();
    s->dry_run = true;
    for (int r = 0; r < SPFCHECK_RESULT_COUNT; r++) {
        policy_facts f = {.mail_checked = true,
                          .mail = (spfcheck_result)r,
                          .helo_checked = true,
                          .helo = (spfcheck_result)r};
        policy_verdict v = policy_decide(s, &f);
        assert_int_equal(v.action, SETTINGS_ACCEPT);
        assert_int_equal(v.wanted, s->action[r]);
        for (int st = 0; st < REPLIES_STAGE_COUNT; st++)
            assert_int_equal(
                policy_step_at(s, &v, (replies_stage)st, false).kind,
                POLICY_CONTINUE);
    }
    settings_unref(s);
}

static void test_skips_accept(void **state)
{
    (void)state;
    settings *s = defaults();
    policy_skip skips[] = {POLICY_SKIP_TRUSTED, POLICY_SKIP_AUTH,
                           POLICY_SKIP_SENDER};
    for (size_t i = 0; i < 3; i++) {
        policy_facts f = {
            .skip = skips[i], .mail_checked = true, .mail = SPFCHECK_FAIL};
        assert_int_equal(policy_decide(s, &f).action, SETTINGS_ACCEPT);
    }
    settings_unref(s);
}

/* HELO fail refuses even when MAIL FROM passes; a HELO temperror does
 * not hold up a message whose MAIL FROM passes. */
static void test_helo_combination(void **state)
{
    (void)state;
    settings *s = defaults();
    static const struct {
        spfcheck_result helo, mail;
        settings_action want;
        bool by_helo;
        spfcheck_result result;
    } rows[] = {
        {SPFCHECK_FAIL, SPFCHECK_PASS, SETTINGS_REJECT, true, SPFCHECK_FAIL},
        {SPFCHECK_PASS, SPFCHECK_FAIL, SETTINGS_REJECT, false, SPFCHECK_FAIL},
        {SPFCHECK_FAIL, SPFCHECK_FAIL, SETTINGS_REJECT, false, SPFCHECK_FAIL},
        {SPFCHECK_TEMPERROR, SPFCHECK_PASS, SETTINGS_ACCEPT, false,
         SPFCHECK_PASS},
        {SPFCHECK_NONE, SPFCHECK_TEMPERROR, SETTINGS_TEMPFAIL, false,
         SPFCHECK_TEMPERROR},
        {SPFCHECK_FAIL, SPFCHECK_TEMPERROR, SETTINGS_REJECT, true,
         SPFCHECK_FAIL},
        {SPFCHECK_SOFTFAIL, SPFCHECK_NONE, SETTINGS_ACCEPT, false,
         SPFCHECK_NONE},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        policy_facts f = {.mail_checked = true,
                          .mail = rows[i].mail,
                          .helo_checked = true,
                          .helo = rows[i].helo};
        policy_verdict v = policy_decide(s, &f);
        assert_int_equal(v.action, rows[i].want);
        assert_int_equal(v.by_helo, rows[i].by_helo);
        assert_int_equal(v.result, rows[i].result);
    }
    settings_unref(s);
}

static void test_site_codes(void **state)
{
    (void)state;
    settings *s = defaults();
    s->reject_code = 553;
    s->tempfail_code = 452;
    policy_facts f = {.mail_checked = true, .mail = SPFCHECK_FAIL};
    policy_verdict v = policy_decide(s, &f);
    policy_step p = policy_step_at(s, &v, REPLIES_STAGE_RCPT, false);
    assert_int_equal(p.code, 553);
    assert_string_equal(p.esc, "5.7.23");
    /* 553 is not a DATA reply: the table's code is used there. */
    p = policy_step_at(s, &v, REPLIES_STAGE_DATA, false);
    assert_int_equal(p.code, 554);
    f.mail = SPFCHECK_TEMPERROR;
    v = policy_decide(s, &f);
    p = policy_step_at(s, &v, REPLIES_STAGE_MAIL, false);
    assert_int_equal(p.code, 452);
    assert_string_equal(p.esc, "4.7.24");
    settings_unref(s);
}

static void test_rcpt_exceptions(void **state)
{
    (void)state;
    settings *s = defaults();
    /* default rcpt_exceptions = postmaster */
    static const struct {
        const char *rcpt;
        bool excepted;
    } rows[] = {
        {"<postmaster@example.org>", true},
        {"<PostMaster@other.example>", true},
        {"postmaster@example.org", true},
        {"<postmaster>", true},
        {"<postmasterx@example.org>", false},
        {"<user@example.org>", false},
        {"<>", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(policy_rcpt_excepted(s, rows[i].rcpt),
                         rows[i].excepted);
    assert_false(policy_rcpt_excepted(s, NULL));

    policy_facts f = {.mail_checked = true, .mail = SPFCHECK_FAIL};
    policy_verdict v = policy_decide(s, &f);
    assert_int_equal(policy_step_at(s, &v, REPLIES_STAGE_RCPT, true).kind,
                     POLICY_CONTINUE);
    assert_int_equal(policy_step_at(s, &v, REPLIES_STAGE_RCPT, false).kind,
                     POLICY_REPLY);
    settings_unref(s);
}

static void test_addr_envelope(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        const char *out;
    } rows[] = {
        {"<user@example.org>", 0, "user@example.org"},
        {"user@example.org", 0, "user@example.org"},
        {"<>", 0, ""},
        {" <a@b.example> ", 0, "a@b.example"},
        {"<@relay.example,@r2.example:user@example.org>", 0,
         "user@example.org"},
        {"<@relay.example>", -1, ""},
        {"<a\r\n@example.org>", -1, ""},
        {NULL, -1, ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[ADDR_MAX];
        assert_int_equal(addr_envelope(rows[i].in, out, sizeof out),
                         rows[i].rc);
        assert_string_equal(out, rows[i].out);
    }
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char out[ADDR_MAX];
    assert_int_equal(addr_envelope(big, out, sizeof out), -1);
    assert_string_equal(addr_domain("a@b@c.example"), "c.example");
    assert_null(addr_domain("nodomain"));
}

static void test_addr_is_domain(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool ok;
    } rows[] = {
        {"mail.example.org", true},
        {"example.org.", true},
        {"_spf.example.org", true},
        {"localhost", false},
        {"", false},
        {"[192.0.2.1]", false},
        {"192.0.2.1", false},
        {"a..example", false},
        {"a.b..", false},
        {".", false},
        {"-a.example", false},
        {"a-.example", false},
        {"a b.example", false},
        {"caf\xc3\xa9.example", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(addr_is_domain(rows[i].name), rows[i].ok);
    char label[80];
    memset(label, 'a', 64);
    strcpy(label + 64, ".example");
    assert_false(addr_is_domain(label));
    assert_false(addr_is_domain(NULL));
}

static void test_sender_exempt(void **state)
{
    (void)state;
    settings *s = defaults();
    char *items[] = {"example.org"};
    settings_list saved = s->exempt_senders;
    s->exempt_senders.items = items;
    s->exempt_senders.n = 1;
    assert_true(policy_sender_exempt(s, "example.org"));
    assert_true(policy_sender_exempt(s, "Mail.Example.ORG"));
    assert_false(policy_sender_exempt(s, "badexample.org"));
    assert_false(policy_sender_exempt(s, "example.org.evil"));
    assert_false(policy_sender_exempt(s, NULL));
    s->exempt_senders = saved;
    settings_unref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_actions_every_result),
        cmocka_unit_test(test_steps_every_result_and_stage),
        cmocka_unit_test(test_expected_codes),
        cmocka_unit_test(test_dry_run_never_refuses),
        cmocka_unit_test(test_skips_accept),
        cmocka_unit_test(test_helo_combination),
        cmocka_unit_test(test_site_codes),
        cmocka_unit_test(test_rcpt_exceptions),
        cmocka_unit_test(test_addr_envelope),
        cmocka_unit_test(test_addr_is_domain),
        cmocka_unit_test(test_sender_exempt),
    };
    return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}

/*
 * replies.c - the SMTP command-reply table, as data, and the chooser.
 *
 * Owns: the only copy of the table (rows and codes in the order of the
 * command-reply seed table; tests/unit/test_replies.c checks it against
 * a verbatim copy of that seed), the stage-to-row mapping and the
 * reason-to-code preferences.
 *
 * Fails: never. Out-of-range arguments answer "not allowed" or
 * REPLIES_NONE, so a caller bug can only make spfgate refuse to reply
 * with a code, never reply with an illegal one.
 */
#include "config.h"

#include "replies.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const int ok_220[] = {220};
static const int ok_250[] = {250};
static const int ok_250_251[] = {250, 251};
static const int ok_354[] = {354};
static const int ok_200_250[] = {200, 250};
static const int ok_211_214[] = {211, 214};
static const int ok_221[] = {221};

static const int no_connect[] = {421};
static const int no_helo[] = {500, 501, 504, 521, 421};
static const int no_ehlo[] = {550, 500, 501, 504, 421};
static const int no_mail[] = {552, 451, 452, 500, 501, 421};
static const int no_rcpt[] = {550, 551, 552, 553, 450, 451,
                              452, 500, 501, 503, 521, 421};
static const int no_data[] = {451, 554, 500, 501, 503, 421};
static const int no_received[] = {552, 554, 451, 452};
static const int no_rset[] = {500, 501, 504, 421};
static const int no_send[] = {552, 451, 452, 500, 501, 502, 421};
static const int no_vrfy[] = {550, 551, 553, 500, 501, 502, 504, 421};
static const int no_expn[] = {550, 500, 501, 502, 504, 421};
static const int no_help[] = {500, 501, 502, 504, 421};
static const int no_noop[] = {500, 421};
static const int no_quit[] = {500};
static const int no_turn[] = {502, 500, 503};

#define ROW(name, ok, no)                                                      \
    {                                                                          \
        name, ok, N(ok), no, N(no)                                             \
    }

static const replies_row table[REPLIES_CMD_COUNT] = {
    [REPLIES_CMD_CONNECT] = ROW("connect", ok_220, no_connect),
    [REPLIES_CMD_HELO] = ROW("HELO", ok_250, no_helo),
    [REPLIES_CMD_EHLO] = ROW("EHLO", ok_250, no_ehlo),
    [REPLIES_CMD_MAIL] = ROW("MAIL", ok_250, no_mail),
    [REPLIES_CMD_RCPT] = ROW("RCPT", ok_250_251, no_rcpt),
    [REPLIES_CMD_DATA] = ROW("DATA", ok_354, no_data),
    [REPLIES_CMD_RECEIVED_DATA] = ROW("received data", ok_250, no_received),
    [REPLIES_CMD_RSET] = ROW("RSET", ok_200_250, no_rset),
    [REPLIES_CMD_SEND] = ROW("SEND", ok_250, no_send),
    [REPLIES_CMD_SOML] = ROW("SOML", ok_250, no_send),
    [REPLIES_CMD_SAML] = ROW("SAML", ok_250, no_send),
    [REPLIES_CMD_VRFY] = ROW("VRFY", ok_250_251, no_vrfy),
    [REPLIES_CMD_EXPN] = ROW("EXPN", ok_250, no_expn),
    [REPLIES_CMD_HELP] = ROW("HELP", ok_211_214, no_help),
    [REPLIES_CMD_NOOP] = ROW("NOOP", ok_200_250, no_noop),
    [REPLIES_CMD_QUIT] = ROW("QUIT", ok_221, no_quit),
    [REPLIES_CMD_TURN] = ROW("TURN", ok_250, no_turn),
};

/* Which rows a stage answers for; a code must be in every one of them. */
static const struct {
    const char *name;
    replies_cmd rows[2];
    size_t n_rows;
} stages[REPLIES_STAGE_COUNT] = {
    [REPLIES_STAGE_CONNECT] = {"connect", {REPLIES_CMD_CONNECT}, 1},
    [REPLIES_STAGE_HELO] = {"HELO", {REPLIES_CMD_HELO, REPLIES_CMD_EHLO}, 2},
    [REPLIES_STAGE_MAIL] = {"MAIL", {REPLIES_CMD_MAIL}, 1},
    [REPLIES_STAGE_RCPT] = {"RCPT", {REPLIES_CMD_RCPT}, 1},
    [REPLIES_STAGE_DATA] = {"DATA", {REPLIES_CMD_DATA}, 1},
    [REPLIES_STAGE_EOM] = {"end of data", {REPLIES_CMD_RECEIVED_DATA}, 1},
};

/* Codes each reason class may use, most fitting first, and the default
 * subject.detail of its enhanced status code (RFC 3463). */
static const struct {
    int codes[2];
    const char *detail;
} reasons[REPLIES_REASON_COUNT] = {
    [REPLIES_REASON_POLICY] = {{550, 554}, "7.1"},
    [REPLIES_REASON_TEMP] = {{451, 450}, "3.0"},
    [REPLIES_REASON_STORAGE] = {{452, 552}, "3.1"},
    [REPLIES_REASON_SHUTDOWN] = {{421, 451}, "3.2"},
};

const replies_row *replies_row_of(replies_cmd cmd)
{
    if ((unsigned)cmd >= REPLIES_CMD_COUNT)
        return NULL;
    return &table[cmd];
}

static bool in_list(const int *list, size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == code)
            return true;
    return false;
}

bool replies_cmd_allows(replies_cmd cmd, int code)
{
    const replies_row *row = replies_row_of(cmd);
    if (row == NULL)
        return false;
    return in_list(row->success, row->n_success, code) ||
           in_list(row->failure, row->n_failure, code);
}

bool replies_stage_allows(replies_stage stage, int code)
{
    if ((unsigned)stage >= REPLIES_STAGE_COUNT)
        return false;
    for (size_t i = 0; i < stages[stage].n_rows; i++)
        if (!replies_cmd_allows(stages[stage].rows[i], code))
            return false;
    return true;
}

char *replies_stage_failures(replies_stage stage, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    if ((unsigned)stage >= REPLIES_STAGE_COUNT)
        return buf;
    const replies_row *row = &table[stages[stage].rows[0]];
    size_t used = 0;
    for (size_t i = 0; i < row->n_failure; i++) {
        int code = row->failure[i];
        if (!replies_stage_allows(stage, code))
            continue;
        int n = snprintf(buf + used, len - used, "%s%d", used ? " " : "", code);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

const char *replies_stage_name(replies_stage stage)
{
    if ((unsigned)stage >= REPLIES_STAGE_COUNT)
        return "unknown";
    return stages[stage].name;
}

/* True for "S.D" with 1-3 digits on each side. */
static bool detail_ok(const char *d)
{
    size_t digits = 0, parts = 1;
    if (d == NULL || *d == '\0')
        return false;
    for (; *d; d++) {
        if (*d >= '0' && *d <= '9') {
            if (++digits > 3)
                return false;
        } else if (*d == '.' && digits > 0 && parts == 1) {
            parts++;
            digits = 0;
        } else {
            return false;
        }
    }
    return parts == 2 && digits > 0;
}

/* The first code of `reason` that `stage` allows, or 0. */
static int code_at(replies_reason reason, replies_stage stage)
{
    for (size_t i = 0; i < N(reasons[reason].codes); i++)
        if (replies_stage_allows(stage, reasons[reason].codes[i]))
            return reasons[reason].codes[i];
    return 0;
}

replies_choice replies_choose(replies_reason reason, replies_stage stage,
                              const char *detail)
{
    replies_choice c = {.outcome = REPLIES_NONE};
    if ((unsigned)reason >= REPLIES_REASON_COUNT ||
        (unsigned)stage >= REPLIES_STAGE_COUNT)
        return c;
    int code = code_at(reason, stage);
    if (code == 0) {
        for (int s = (int)stage + 1; s < REPLIES_STAGE_COUNT; s++) {
            if (code_at(reason, (replies_stage)s) != 0) {
                c.outcome = REPLIES_CARRY;
                c.carry_to = (replies_stage)s;
                return c;
            }
        }
        return c;
    }
    if (!detail_ok(detail))
        detail = reasons[reason].detail;
    c.outcome = REPLIES_USE;
    c.code = code;
    snprintf(c.esc, sizeof c.esc, "%d.%s", code / 100, detail);
    return c;
}

bool replies_esc_matches(int code, const char *esc)
{
    if (code < 200 || code > 599 || esc == NULL)
        return false;
    if (esc[0] != (char)('0' + code / 100) || esc[1] != '.')
        return false;
    return detail_ok(esc + 2);
}

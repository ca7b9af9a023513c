/*
 * respond.c - the one way out for replies, and the decision log line.
 *
 * Owns: the reply text and the smfi_setreply call. Each reply is set
 * immediately before the action it belongs to is returned (a reply set
 * and not used stays pending in libmilter and would surface later), its
 * code is checked against the reply table once more, and its enhanced
 * code's class is the code's first digit.
 *
 * Fails: see respond.h; never returns an accept for a refusal.
 */
#include "config.h"

#include "respond.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "stats.h"
#include "text.h"

/* Copies `in` for a log line: printable ASCII, at most 200 bytes. */
static const char *safe(const char *in, char *buf, size_t len)
{
    size_t o = 0;
    if (in == NULL)
        in = "";
    for (; *in && o + 1 < len && o < 200; in++) {
        unsigned char c = (unsigned char)*in;
        buf[o++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    buf[o] = '\0';
    return buf;
}

/* The outcome of the identity that decided. */
static const spfcheck_outcome *deciding(const session *ss)
{
    return check_deciding(&ss->msg.check);
}

/* Writes the one log line of a decision. */
static void log_decision(const session *ss, const char *stage,
                         const char *action, const char *rcpt,
                         const char *reply)
{
    char q[64], h[224], f[224], id[224], r[224], rep[224];
    const check_result *c = &ss->msg.check;
    const char *result = c->facts.skip != POLICY_SKIP_NONE
                             ? "skipped"
                             : spfcheck_result_name(c->verdict.result);
    log_msg(LOG_LEVEL_INFO,
            "%s: client=%s helo=\"%s\" from=<%s> identity=%s:%s result=%s "
            "skip=%s action=%s stage=%s%s%s%s reply=\"%s\"",
            safe(ss->msg.queue_id ? ss->msg.queue_id : "NOQUEUE", q, sizeof q),
            ss->client_ip, safe(ss->helo, h, sizeof h),
            safe(c->sender, f, sizeof f),
            c->verdict.by_helo ? "helo" : "mailfrom",
            safe(deciding(ss)->identity, id, sizeof id), result,
            check_skip_name(c->facts.skip), action, stage,
            rcpt ? " rcpt=\"" : "", rcpt ? safe(rcpt, r, sizeof r) : "",
            rcpt ? "\"" : "", safe(reply, rep, sizeof rep));
}

/* Sets the reply; returns the action. Falls back to a fixed text. */
static sfsistat set_reply(SMFICTX *ctx, int code, const char *esc,
                          const char *text)
{
    char rcode[8];
    snprintf(rcode, sizeof rcode, "%d", code);
    sfsistat action = code / 100 == 4 ? SMFIS_TEMPFAIL : SMFIS_REJECT;
    if (smfi_setreply(ctx, rcode, (char *)esc, (char *)text) == MI_SUCCESS)
        return action;
    log_msg(LOG_LEVEL_WARNING, "libmilter refused reply text, using a "
                               "fixed one");
    const char *fixed = action == SMFIS_TEMPFAIL
                            ? "Temporary failure, please try again later"
                            : "Rejected by SPF policy";
    if (smfi_setreply(ctx, rcode, (char *)esc, (char *)fixed) != MI_SUCCESS)
        log_msg(LOG_LEVEL_ERR, "libmilter refused reply %s %s", rcode, esc);
    return action;
}

sfsistat respond_step(SMFICTX *ctx, session *ss, replies_stage stage,
                      const policy_step *st, const char *rcpt)
{
    bool dry = ss->msg.check.verdict.wanted != SETTINGS_ACCEPT &&
               ss->msg.check.verdict.action == SETTINGS_ACCEPT;
    if (st->kind != POLICY_REPLY) {
        if (dry && !ss->msg.decided && stage >= REPLIES_STAGE_MAIL) {
            ss->msg.decided = true;
            log_decision(ss, replies_stage_name(stage),
                         ss->msg.check.verdict.wanted == SETTINGS_REJECT
                             ? "would-reject"
                             : "would-tempfail",
                         rcpt, "dry run: accepted");
        }
        return SMFIS_CONTINUE;
    }
    if (!replies_stage_allows(stage, st->code) ||
        !replies_esc_matches(st->code, st->esc))
        return respond_error(ctx, ss, stage, "reply not in the table");
    char text[TEXT_REPLY_MAX + 1], logged[TEXT_REPLY_MAX + 32];
    check_reply_text(ss->cfg, &ss->msg.check, ss->client_ip, ss->helo,
                     st->tempfail, text, sizeof text);
    snprintf(logged, sizeof logged, "%d %s %s", st->code, st->esc, text);
    ss->msg.decided = true;
    log_decision(ss, replies_stage_name(stage),
                 st->tempfail ? "tempfail" : "reject", rcpt, logged);
    stats_reply(stage, st->code);
    stats_action(st->tempfail ? SETTINGS_TEMPFAIL : SETTINGS_REJECT, false);
    return set_reply(ctx, st->code, st->esc, text);
}

sfsistat respond_error(SMFICTX *ctx, session *ss, replies_stage stage,
                       const char *why)
{
    replies_choice c = replies_choose(REPLIES_REASON_TEMP, stage, "3.0");
    if (c.outcome != REPLIES_USE)
        c = replies_choose(REPLIES_REASON_SHUTDOWN, stage, "3.0");
    log_msg(LOG_LEVEL_ERR,
            "%s: client=%s stage=%s internal error: %s; "
            "reply=\"%d %s\"",
            ss && ss->msg.queue_id ? ss->msg.queue_id : "NOQUEUE",
            ss ? ss->client_ip : "unknown", replies_stage_name(stage), why,
            c.code, c.esc);
    stats_error();
    if (c.outcome != REPLIES_USE)
        return SMFIS_TEMPFAIL;
    stats_reply(stage, c.code);
    return set_reply(ctx, c.code, c.esc,
                     "Temporary local problem, please try again later");
}

void respond_log_accept(const session *ss)
{
    log_decision(ss, replies_stage_name(REPLIES_STAGE_EOM), "accept", NULL,
                 "accepted");
}

/*
 * policy.c - verdicts and steps: pure functions of facts and settings.
 *
 * Owns: the combination rule of the two identities, the mapping of a
 * configured action to a reason class and enhanced code (RFC 7372:
 * X.7.23 for an SPF fail, X.7.24 for an SPF error), and the per-stage
 * step through the reply table.
 *
 * Fails: never; unknown values fall back to a temporary failure, so a
 * bug can delay mail but never let it through by accident.
 */
#include "config.h"

#include "policy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Severity order used to combine identities: reject > tempfail > accept. */
static int severity(settings_action a)
{
    switch (a) {
    case SETTINGS_REJECT:
        return 2;
    case SETTINGS_TEMPFAIL:
        return 1;
    default:
        return 0;
    }
}

/* The action the configuration gives a result (out of range: tempfail). */
static settings_action action_of(const settings *s, spfcheck_result r)
{
    if ((unsigned)r >= SPFCHECK_RESULT_COUNT)
        return SETTINGS_TEMPFAIL;
    return s->action[r];
}

/* The enhanced code's subject.detail for a refusal of result r. */
static const char *detail_of(spfcheck_result r)
{
    switch (r) {
    case SPFCHECK_FAIL:
        return "7.23";
    case SPFCHECK_TEMPERROR:
    case SPFCHECK_PERMERROR:
        return "7.24";
    default:
        return "7.1";
    }
}

policy_verdict policy_decide(const settings *s, const policy_facts *f)
{
    policy_verdict v = {.action = SETTINGS_ACCEPT,
                        .wanted = SETTINGS_ACCEPT,
                        .result = SPFCHECK_NONE,
                        .reason = REPLIES_REASON_POLICY,
                        .detail = "7.1"};
    if (f->skip != POLICY_SKIP_NONE)
        return v;
    if (f->mail_checked) {
        v.result = f->mail;
        v.wanted = action_of(s, f->mail);
    }
    if (f->helo_checked) {
        settings_action h = action_of(s, f->helo);
        /* A HELO verdict decides only when it refuses outright, or when
         * there is no MAIL FROM result to go by. */
        if ((h == SETTINGS_REJECT && severity(h) > severity(v.wanted)) ||
            !f->mail_checked) {
            v.wanted = h;
            v.result = f->helo;
            v.by_helo = true;
        }
    }
    v.detail = detail_of(v.result);
    v.reason = v.wanted == SETTINGS_REJECT ? REPLIES_REASON_POLICY
                                           : REPLIES_REASON_TEMP;
    v.action = s->dry_run ? SETTINGS_ACCEPT : v.wanted;
    return v;
}

/* Puts the class of `code` in front of `detail`: "5" + ".7.23". */
static void esc_for(int code, const char *detail, char *esc, size_t len)
{
    snprintf(esc, len, "%d.%s", code / 100, detail);
}

policy_step policy_step_at(const settings *s, const policy_verdict *v,
                           replies_stage stage, bool excepted)
{
    policy_step st = {.kind = POLICY_CONTINUE};
    if (v->action == SETTINGS_ACCEPT)
        return st;
    replies_reason reason = v->action == SETTINGS_REJECT ? REPLIES_REASON_POLICY
                                                         : REPLIES_REASON_TEMP;
    replies_choice c = replies_choose(reason, stage, v->detail);
    if (c.outcome == REPLIES_NONE) {
        /* Nothing fits (cannot happen with the built-in table): delay the
         * mail rather than let it through. */
        reason = REPLIES_REASON_TEMP;
        c = replies_choose(reason, stage, "3.0");
    }
    if (c.outcome == REPLIES_CARRY) {
        st.kind = POLICY_CARRY;
        return st;
    }
    if (c.outcome != REPLIES_USE)
        return st;
    if (stage == REPLIES_STAGE_RCPT && excepted &&
        reason == REPLIES_REASON_POLICY)
        return st;
    st.kind = POLICY_REPLY;
    st.code = c.code;
    int site =
        reason == REPLIES_REASON_POLICY ? s->reject_code : s->tempfail_code;
    if (site != 0 && site / 100 == c.code / 100 &&
        replies_stage_allows(stage, site))
        st.code = site;
    st.tempfail = st.code / 100 == 4;
    esc_for(st.code, v->detail, st.esc, sizeof st.esc);
    return st;
}

/* Strips one pair of angle brackets and returns the length left. */
static size_t unbracket(const char *in, const char **start)
{
    size_t n = strlen(in);
    if (n >= 2 && in[0] == '<' && in[n - 1] == '>') {
        *start = in + 1;
        return n - 2;
    }
    *start = in;
    return n;
}

bool policy_sender_exempt(const settings *s, const char *domain)
{
    if (domain == NULL || *domain == '\0')
        return false;
    size_t dl = strlen(domain);
    for (size_t i = 0; i < s->exempt_senders.n; i++) {
        const char *e = s->exempt_senders.items[i];
        size_t el = strlen(e);
        if (el > dl)
            continue;
        const char *tail = domain + dl - el;
        if (strcasecmp(tail, e) == 0 && (el == dl || tail[-1] == '.'))
            return true;
    }
    return false;
}

bool policy_rcpt_excepted(const settings *s, const char *rcpt)
{
    if (rcpt == NULL)
        return false;
    const char *a;
    size_t n = unbracket(rcpt, &a);
    const char *at = memchr(a, '@', n);
    size_t local_len = at ? (size_t)(at - a) : n;
    for (size_t i = 0; i < s->rcpt_exceptions.n; i++) {
        const char *e = s->rcpt_exceptions.items[i];
        size_t el = strlen(e);
        if (strchr(e, '@') == NULL) {
            if (el == local_len && strncasecmp(a, e, el) == 0)
                return true;
        } else if (el == n && strncasecmp(a, e, n) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < s->exempt_recipients.n; i++) {
        const char *e = s->exempt_recipients.items[i];
        size_t el = strlen(e);
        if (e[0] == '@') {
            if (at && n - local_len == el && strncasecmp(at, e, el) == 0)
                return true;
        } else if (el == n && strncasecmp(a, e, n) == 0) {
            return true;
        }
    }
    return false;
}

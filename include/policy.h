/*
 * policy.h - what to do with a message, given the facts: pure decisions.
 *
 * Owns: the rules that turn SPF results and the configuration into a
 * verdict (accept, reject, tempfail; reason class; enhanced code detail),
 * and a verdict into a step at one milter stage (continue, reply now with
 * a legal code, or carry to a later stage). Does no I/O, keeps no state.
 *
 * Fails: never. A verdict that has no legal code anywhere becomes a
 * temporary failure at the first stage that has one.
 */
#ifndef SPFGATE_POLICY_H
#define SPFGATE_POLICY_H

#include <stdbool.h>

#include "replies.h"
#include "settings.h"
#include "spfcheck.h"

/* Why a message was not checked at all. */
typedef enum {
    POLICY_SKIP_NONE,    /* checked */
    POLICY_SKIP_TRUSTED, /* client in trusted_networks */
    POLICY_SKIP_AUTH,    /* SMTP AUTH sender and skip_auth */
    POLICY_SKIP_SENDER,  /* sender domain in exempt_senders */
} policy_skip;

/* The facts about one message, as gathered by the milter. */
typedef struct {
    policy_skip skip;
    bool mail_checked; /* MAIL FROM identity evaluated */
    spfcheck_result mail;
    bool helo_checked; /* HELO identity evaluated */
    spfcheck_result helo;
} policy_facts;

/* The verdict for one message. */
typedef struct {
    settings_action action; /* what spfgate does (accept in dry-run mode) */
    settings_action wanted; /* what the configuration asks for */
    bool by_helo;           /* the HELO identity decided it */
    spfcheck_result result; /* the deciding result */
    replies_reason reason;  /* for reject/tempfail */
    const char *detail;     /* enhanced code subject.detail: "7.23", ... */
} policy_verdict;

/* What to do at one stage. */
typedef enum {
    POLICY_CONTINUE, /* nothing to say here */
    POLICY_REPLY,    /* refuse now with code/esc */
    POLICY_CARRY,    /* keep the verdict; say it at a later stage */
} policy_step_kind;

typedef struct {
    policy_step_kind kind;
    int code;
    char esc[16];
    bool tempfail; /* POLICY_REPLY: a 4xx (tempfail) rather than a 5xx */
} policy_step;

/* Which sender domains to skip: true when `domain` or a parent domain of
 * it is in exempt_senders (case-insensitive). */
bool policy_sender_exempt(const settings *s, const char *domain);

/* True when `rcpt` ("<a@b>" or "a@b") is let through a refusal:
 * rcpt_exceptions (bare local part: any domain; or an address) and
 * exempt_recipients (an address or "@domain"). Case-insensitive. */
bool policy_rcpt_excepted(const settings *s, const char *rcpt);

/* The verdict for a message. HELO results count only when they call for
 * a refusal (RFC 7208 2.3: a HELO fail may be conclusive); otherwise the
 * MAIL FROM result decides. */
policy_verdict policy_decide(const settings *s, const policy_facts *f);

/* The step at `stage` for a verdict; at RCPT, `excepted` says the
 * recipient is let through a refusal. Site codes (reject_code,
 * tempfail_code) are used where the table allows them. */
policy_step policy_step_at(const settings *s, const policy_verdict *v,
                           replies_stage stage, bool excepted);

#endif

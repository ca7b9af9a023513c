/*
 * check.h - the SPF check of one message: which identities to evaluate,
 * the evaluations, and the verdict. Shared by the daemon and
 * spfgate-query, so both decide the same way.
 *
 * Owns: nothing beyond the caller's check_result.
 * Fails: never; every problem ends as an SPF result (see spfcheck.h) and
 * so as a configured action.
 */
#ifndef SPFGATE_CHECK_H
#define SPFGATE_CHECK_H

#include <stdbool.h>
#include <sys/socket.h>

#include "addr.h"
#include "policy.h"
#include "settings.h"
#include "spfcheck.h"

/* The facts of one message. Strings are borrowed for the call. */
typedef struct {
    const struct sockaddr *client; /* NULL: unknown (not checked: tempfail) */
    const char *helo;              /* may be NULL */
    const char *mail_from;         /* MAIL FROM argument as the MTA gave it */
    bool authenticated;            /* SMTP AUTH succeeded */
} check_input;

/* What the check found. */
typedef struct {
    char sender[ADDR_MAX]; /* bare MAIL FROM address, "" for <> */
    bool sender_ok;        /* MAIL FROM parsed */
    policy_facts facts;
    spfcheck_outcome mail; /* valid when facts.mail_checked */
    spfcheck_outcome helo; /* valid when facts.helo_checked */
    policy_verdict verdict;
} check_result;

/* Checks a message. `helo_known`, when not NULL, is an earlier evaluation
 * of the same HELO in this session and is reused instead of asking DNS
 * again. */
void check_message(const settings *s, const check_input *in,
                   const spfcheck_outcome *helo_known, check_result *out);

/* The outcome of the identity that decided the verdict. */
const spfcheck_outcome *check_deciding(const check_result *c);

/* Renders the reply text of a refusal (reject_text or tempfail_text with
 * its variables), cleaned for SMTP (text_clean_reply). */
void check_reply_text(const settings *s, const check_result *c,
                      const char *client_ip, const char *helo, bool tempfail,
                      char *out, size_t len);

/* The skip reason's name for logs: "trusted", "auth", "exempt-sender". */
const char *check_skip_name(policy_skip skip);

#endif

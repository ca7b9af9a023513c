/*
 * respond.h - every reply spfgate makes the MTA send leaves through here.
 *
 * Owns: the reply text (template, expansion, cleaning), the last check of
 * the code against the reply table, the smfi_setreply call made right
 * before the action is returned, and the one log line per decision.
 *
 * Fails: if libmilter refuses the reply, a fixed clean text is tried; if
 * that fails too the action is still a refusal (never an accept), and the
 * failure is logged.
 */
#ifndef SPFGATE_RESPOND_H
#define SPFGATE_RESPOND_H

#include <libmilter/mfapi.h>

#include "policy.h"
#include "replies.h"
#include "session.h"

/* Applies a policy step at `stage` (rcpt: the recipient at RCPT, else
 * NULL): POLICY_REPLY sets the reply and returns SMFIS_REJECT or
 * SMFIS_TEMPFAIL; otherwise SMFIS_CONTINUE. */
sfsistat respond_step(SMFICTX *ctx, session *ss, replies_stage stage,
                      const policy_step *st, const char *rcpt);

/* Refuses temporarily because something inside spfgate went wrong
 * (`why` is logged): the temporary-failure code of the stage, or 421 at
 * connect and HELO, where nothing else is legal. `ss` may be NULL. */
sfsistat respond_error(SMFICTX *ctx, session *ss, replies_stage stage,
                       const char *why);

/* Logs the decision for a message that is accepted (at end of data). */
void respond_log_accept(const session *ss);

#endif

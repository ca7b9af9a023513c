/*
 * replies.h - the SMTP command-reply table and the reply chooser.
 *
 * Owns: the one copy of the table of which reply codes each SMTP command
 * may answer with (taken from the command-reply seed documents), the
 * mapping of milter stages onto its rows, and the choice of a code and
 * enhanced status code for a reason class at a stage, or "carry the
 * verdict forward to a later stage".
 *
 * Fails: never; every function is pure and total. Unknown enum values
 * answer "not allowed" / REPLIES_NONE.
 */
#ifndef SPFGATE_REPLIES_H
#define SPFGATE_REPLIES_H

#include <stdbool.h>
#include <stddef.h>

/* SMTP commands, in the order of the seed table. */
typedef enum {
    REPLIES_CMD_CONNECT,
    REPLIES_CMD_HELO,
    REPLIES_CMD_EHLO,
    REPLIES_CMD_MAIL,
    REPLIES_CMD_RCPT,
    REPLIES_CMD_DATA,
    REPLIES_CMD_RECEIVED_DATA,
    REPLIES_CMD_RSET,
    REPLIES_CMD_SEND,
    REPLIES_CMD_SOML,
    REPLIES_CMD_SAML,
    REPLIES_CMD_VRFY,
    REPLIES_CMD_EXPN,
    REPLIES_CMD_HELP,
    REPLIES_CMD_NOOP,
    REPLIES_CMD_QUIT,
    REPLIES_CMD_TURN,
    REPLIES_CMD_COUNT
} replies_cmd;

/* Milter stages at which spfgate can answer, in session order. */
typedef enum {
    REPLIES_STAGE_CONNECT, /* xxfi_connect: row connect */
    REPLIES_STAGE_HELO,    /* xxfi_helo: rows HELO and EHLO, both */
    REPLIES_STAGE_MAIL,    /* xxfi_envfrom: row MAIL */
    REPLIES_STAGE_RCPT,    /* xxfi_envrcpt: row RCPT */
    REPLIES_STAGE_DATA,    /* xxfi_data: row DATA */
    REPLIES_STAGE_EOM,     /* header/eoh/body/eom: row received data */
    REPLIES_STAGE_COUNT
} replies_stage;

/* Why a message or command is refused: decides the code family. */
typedef enum {
    REPLIES_REASON_POLICY,   /* permanent policy refusal (SPF fail) */
    REPLIES_REASON_TEMP,     /* temporary failure (DNS temperror, overload) */
    REPLIES_REASON_STORAGE,  /* out of storage */
    REPLIES_REASON_SHUTDOWN, /* shutting down now */
    REPLIES_REASON_COUNT
} replies_reason;

/* One row of the table: the codes in the seed's order. */
typedef struct {
    const char *name; /* as in the seed: "connect", "HELO", "received data" */
    const int *success;
    size_t n_success;
    const int *failure;
    size_t n_failure;
} replies_row;

/* What the chooser decided. */
typedef enum {
    REPLIES_USE,   /* answer now with code/esc */
    REPLIES_CARRY, /* no fitting code here: keep the verdict for `carry_to` */
    REPLIES_NONE   /* no fitting code here or at any later stage */
} replies_outcome;

typedef struct {
    replies_outcome outcome;
    int code;               /* REPLIES_USE: the reply code */
    char esc[16];           /* REPLIES_USE: enhanced code, e.g. "5.7.1" */
    replies_stage carry_to; /* REPLIES_CARRY: first stage with a code */
} replies_choice;

/* The table row of an SMTP command, or NULL for an unknown command. */
const replies_row *replies_row_of(replies_cmd cmd);

/* True when `code` is in the row of `cmd` (success or failure). */
bool replies_cmd_allows(replies_cmd cmd, int code);

/* True when `code` may be sent at milter stage `stage` (at HELO: only codes
 * that both HELO and EHLO allow). */
bool replies_stage_allows(replies_stage stage, int code);

/* Writes the failure codes allowed at `stage`, space separated, into buf
 * (for error messages). Returns buf. */
char *replies_stage_failures(replies_stage stage, char *buf, size_t len);

/* The stage's name for logs and messages: "connect", "HELO", "MAIL", ... */
const char *replies_stage_name(replies_stage stage);

/* Chooses the code and enhanced status code for `reason` at `stage`.
 * `detail` is the enhanced code's subject.detail part ("7.23") or NULL for
 * the reason's default; its class is always the code's first digit. */
replies_choice replies_choose(replies_reason reason, replies_stage stage,
                              const char *detail);

/* True when `esc` is a well-formed enhanced status code (RFC 3463:
 * class.subject.detail, 1-3 digits each) whose class equals the first
 * digit of `code`. */
bool replies_esc_matches(int code, const char *esc);

#endif

/*
 * fake_milter.h - the state of the fake libmilter and the fake SPF
 * evaluation that fuzz_callbacks runs the real callbacks.c against.
 */
#ifndef SPFGATE_FAKE_MILTER_H
#define SPFGATE_FAKE_MILTER_H

#include <stdbool.h>
#include <stddef.h>

#include <libmilter/mfapi.h>

#include "replies.h"

/* What the callbacks did through smfi_* during one call. */
typedef struct {
    replies_stage stage; /* the stage of the callback being run */
    bool in_eom;         /* header changes are allowed */
    bool reply_set;
    int reply_code;
    char reply_esc[16];
    char reply_text[1200];
    unsigned ar_headers; /* Authentication-Results seen in this message */
    unsigned inserted;
    unsigned removed;
} fake_calls;

/* One connection's context. */
struct smfi_str {
    void *priv;
    const char *macro_j;    /* {j}, NULL: absent */
    const char *macro_i;    /* {i} */
    const char *macro_auth; /* {auth_authen} */
    fake_calls calls;
};

/* The fake evaluation: results and texts chosen by the fuzzer. */
typedef struct {
    unsigned seed;           /* picks the result per identity */
    const char *explanation; /* hostile explanation (from DNS) */
    const char *problem;     /* hostile problem text */
    const char *mechanism;
} fake_spf;

extern fake_spf fake_spf_state;

/* Forgets what the last call did. */
void fake_calls_reset(SMFICTX *ctx, replies_stage stage, bool in_eom);

#endif

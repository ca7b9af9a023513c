/*
 * fake_milter.c - stand-ins for the libmilter calls callbacks.c and
 * respond.c make (smfi_getpriv, smfi_setpriv, smfi_getsymval,
 * smfi_setreply, smfi_insheader, smfi_chgheader) and for spfcheck.c's
 * functions, so that fuzz_callbacks runs the real callbacks.c, respond.c,
 * check.c and policy.c with no MTA and no DNS.
 *
 * The fakes check what the real library would refuse, and more: a reply
 * only with a code the stage allows and a matching enhanced code, reply
 * text that is one line of printable ASCII with every '%' doubled, header
 * changes only at end of message, one-line printable header values, and
 * removals only of Authentication-Results headers the message has.
 */
#include "config.h"

#include "fake_milter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spfcheck.h"
#include "text.h"

#include "fuzz_util.h"

fake_spf fake_spf_state;

void fake_calls_reset(SMFICTX *ctx, replies_stage stage, bool in_eom)
{
    unsigned ar = ctx->calls.ar_headers;
    memset(&ctx->calls, 0, sizeof ctx->calls);
    ctx->calls.stage = stage;
    ctx->calls.in_eom = in_eom;
    ctx->calls.ar_headers = ar;
}

void *smfi_getpriv(SMFICTX *ctx)
{
    return ctx->priv;
}

int smfi_setpriv(SMFICTX *ctx, void *priv)
{
    ctx->priv = priv;
    return MI_SUCCESS;
}

int smfi_setsymlist(SMFICTX *ctx, int stage, char *macros)
{
    (void)ctx;
    /* libmilter refuses other stages and empty lists. */
    FUZZ_CHECK(stage >= SMFIM_FIRST && stage <= SMFIM_LAST,
               "macro list for stage %d", stage);
    FUZZ_CHECK(macros != NULL && *macros != '\0', "empty macro list");
    return MI_SUCCESS;
}

char *smfi_getsymval(SMFICTX *ctx, char *name)
{
    if (strcmp(name, "j") == 0 || strcmp(name, "{j}") == 0)
        return (char *)ctx->macro_j;
    if (strcmp(name, "i") == 0 || strcmp(name, "{i}") == 0)
        return (char *)ctx->macro_i;
    if (strcmp(name, "{auth_authen}") == 0)
        return (char *)ctx->macro_auth;
    return NULL;
}

int smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *message)
{
    fake_calls *c = &ctx->calls;
    FUZZ_CHECK(rcode != NULL && strlen(rcode) == 3 && rcode[0] >= '4' &&
                   rcode[0] <= '5',
               "reply code \"%s\"", rcode ? rcode : "(null)");
    int code = atoi(rcode);
    FUZZ_CHECK(replies_stage_allows(c->stage, code),
               "code %d not allowed at %s", code, replies_stage_name(c->stage));
    FUZZ_CHECK(xcode != NULL && replies_esc_matches(code, xcode),
               "enhanced code \"%s\" with %d", xcode ? xcode : "(null)", code);
    FUZZ_CHECK(message != NULL, "no text");
    size_t n = strlen(message);
    FUZZ_CHECK(n <= TEXT_REPLY_MAX, "text of %zu bytes", n);
    FUZZ_CHECK(fuzz_printable(message, n), "text not printable: \"%s\"",
               message);
    for (size_t i = 0; i < n; i++)
        if (message[i] == '%') {
            FUZZ_CHECK(message[i + 1] == '%', "lone %% in \"%s\"", message);
            i++;
        }
    c->reply_set = true;
    c->reply_code = code;
    snprintf(c->reply_esc, sizeof c->reply_esc, "%s", xcode);
    snprintf(c->reply_text, sizeof c->reply_text, "%s", message);
    return MI_SUCCESS;
}

/* A header value the MTA would write as one line. */
static void check_header(const char *name, const char *value)
{
    FUZZ_CHECK(strcmp(name, "Authentication-Results") == 0 ||
                   strcmp(name, "Received-SPF") == 0,
               "header %s", name);
    FUZZ_CHECK(value != NULL, "no value");
    size_t n = strlen(value);
    FUZZ_CHECK(n > 0 && n <= 998 - strlen(name) - 2, "%s value of %zu bytes",
               name, n);
    FUZZ_CHECK(fuzz_printable(value, n), "value not printable: \"%s\"", value);
}

int smfi_insheader(SMFICTX *ctx, int idx, char *name, char *value)
{
    FUZZ_CHECK(ctx->calls.in_eom, "header added outside end of message");
    FUZZ_CHECK(idx == 0, "header added at %d", idx);
    check_header(name, value);
    ctx->calls.inserted++;
    return MI_SUCCESS;
}

int smfi_chgheader(SMFICTX *ctx, char *name, int idx, char *value)
{
    FUZZ_CHECK(ctx->calls.in_eom, "header changed outside end of message");
    FUZZ_CHECK(strcasecmp(name, "Authentication-Results") == 0,
               "changed header %s", name);
    FUZZ_CHECK(value == NULL, "header changed, not removed");
    FUZZ_CHECK(idx >= 1 && (unsigned)idx <= ctx->calls.ar_headers,
               "removed Authentication-Results %d of %u", idx,
               ctx->calls.ar_headers);
    ctx->calls.removed++;
    return MI_SUCCESS;
}

/* spfcheck.c's functions, without libspf2 or DNS. */

static const char *const names[SPFCHECK_RESULT_COUNT] = {
    "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror",
};

const char *spfcheck_result_name(spfcheck_result r)
{
    return (unsigned)r < SPFCHECK_RESULT_COUNT ? names[r] : "temperror";
}

int spfcheck_result_parse(const char *name)
{
    for (int i = 0; i < SPFCHECK_RESULT_COUNT; i++)
        if (name != NULL && strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

int spfcheck_init(const spfcheck_options *opt, char *err, size_t errlen)
{
    (void)opt;
    (void)err;
    (void)errlen;
    return 0;
}

void spfcheck_shutdown(void)
{
}

/* A deterministic result per identity and seed. */
void spfcheck_eval(const spfcheck_query *q, spfcheck_outcome *out)
{
    memset(out, 0, sizeof *out);
    const char *who = q->sender != NULL ? q->sender : q->helo;
    if (who == NULL)
        who = "";
    unsigned h = fake_spf_state.seed * 2654435761u;
    for (const char *p = who; *p; p++)
        h = h * 31u + (unsigned char)*p;
    h ^= q->sender != NULL ? 0u : 0x55u;
    out->result = (spfcheck_result)((h >> 7) % SPFCHECK_RESULT_COUNT);
    snprintf(out->identity, sizeof out->identity, "%s", who);
    const char *at = strrchr(who, '@');
    snprintf(out->domain, sizeof out->domain, "%s", at ? at + 1 : who);
    if (out->result == SPFCHECK_FAIL && fake_spf_state.explanation != NULL)
        snprintf(out->explanation, sizeof out->explanation, "%s",
                 fake_spf_state.explanation);
    if (fake_spf_state.mechanism != NULL)
        snprintf(out->mechanism, sizeof out->mechanism, "%s",
                 fake_spf_state.mechanism);
    if ((out->result == SPFCHECK_TEMPERROR ||
         out->result == SPFCHECK_PERMERROR || out->result == SPFCHECK_NONE) &&
        fake_spf_state.problem != NULL)
        snprintf(out->problem, sizeof out->problem, "%s",
                 fake_spf_state.problem);
    out->elapsed_ms = h % 100;
    out->dns_queries = h % 10;
}

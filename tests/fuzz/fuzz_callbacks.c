/*
 * fuzz_callbacks.c - libFuzzer target for the milter callbacks: the real
 * callbacks.c, respond.c, check.c and policy.c driven through random
 * sequences of milter stages, against the fake libmilter and fake SPF
 * evaluation of fake_milter.c.
 *
 * Input: cut at NUL bytes; part 0 is the script, one byte per step (the
 * low 4 bits pick the callback, the high bits its variant), byte 0 of it
 * picks the configuration and the seed of the fake SPF results; the other
 * parts are string arguments, taken in turn (HELO, MAIL FROM, RCPT TO,
 * header values, macros, and the explanation and problem texts the fake
 * evaluation returns).
 *
 * Invariants (besides those of the fakes): every reply set is legal at the
 * stage of the callback that set it; a refusal (SMFIS_REJECT or
 * SMFIS_TEMPFAIL) always comes with a reply whose class matches it, and a
 * reply is never set without a refusal; a verdict of tempfail is given
 * at MAIL FROM itself; no recipient that is not an exception is accepted
 * while a refusal is carried from MAIL FROM; no reply at all
 * (SMFIS_NOREPLY) only at a step negotiated to go unanswered, and never
 * with a reply set.
 */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

#include "callbacks.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "settings.h"

#include "fake_milter.h"
#include "fuzz_util.h"

#define N_CONFIGS 4
static settings *configs[N_CONFIGS];

static void report(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "fuzz_callbacks setup: %s\n", msg);
}

static settings *load(const char *text)
{
    int fd = memfd_create("fuzz-callbacks-conf", 0);
    size_t n = strlen(text);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n)
        abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    settings *s = settings_load(path, report, NULL);
    close(fd);
    if (s == NULL)
        abort();
    return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Quiet: nothing is less severe than level 2. */
    log_setup("fuzz_callbacks", false, 0, (log_level)2);
    configs[0] = settings_defaults();
    configs[1] = load("on_softfail = reject\non_neutral = tempfail\n"
                      "on_none = reject\non_permerror = reject\n"
                      "on_temperror = tempfail\ntrusted_networks = ::1\n"
                      "skip_auth = no\n");
    configs[2] = load("dry_run = yes\non_softfail = reject\n"
                      "authserv_id = mx.example.net\n");
    configs[3] = load("reject_code = 553\ntempfail_code = 452\n"
                      "check_helo = no\nadd_received_spf = no\n"
                      "rcpt_exceptions = abuse, postmaster@example.org\n"
                      "exempt_senders = example.com\n"
                      "reject_text = \"%{result} %{explanation} %{helo} "
                      "%{sender} %{problem} 100%%\"\n");
    for (size_t i = 0; i < N_CONFIGS; i++)
        if (configs[i] == NULL)
            abort();
    return 0;
}

/* The string arguments, taken in turn. */
typedef struct {
    const fuzz_parts *p;
    size_t next;
} args;

static char *arg(args *a)
{
    if (a->p->n <= 1)
        return (char *)"";
    char *s = a->p->part[1 + a->next % (a->p->n - 1)];
    a->next++;
    return s;
}

/* The steps negotiated to go unanswered (SMFIP_NR_*) on this context;
 * like libmilter, kept until the context ends. */
static unsigned long negotiated;

/* Checks the outcome of one callback at a step whose no-reply flag is
 * nr_bit (0: the step is always answered). */
static void check_outcome(SMFICTX *ctx, sfsistat rc, const char *what,
                          unsigned long nr_bit)
{
    const fake_calls *c = &ctx->calls;
    if (rc == SMFIS_NOREPLY) {
        FUZZ_CHECK(nr_bit != 0 && (negotiated & nr_bit) != 0,
                   "%s: no reply, but the MTA waits for one", what);
        FUZZ_CHECK(!c->reply_set, "%s: reply %d set but not sent", what,
                   c->reply_code);
    } else if (rc == SMFIS_REJECT || rc == SMFIS_TEMPFAIL) {
        FUZZ_CHECK(c->reply_set, "%s: %s without a reply", what,
                   rc == SMFIS_REJECT ? "reject" : "tempfail");
        FUZZ_CHECK(c->reply_code / 100 == (rc == SMFIS_REJECT ? 5 : 4),
                   "%s: reply %d with %s", what, c->reply_code,
                   rc == SMFIS_REJECT ? "reject" : "tempfail");
    } else {
        FUZZ_CHECK(rc == SMFIS_CONTINUE, "%s: action %d", what, (int)rc);
        FUZZ_CHECK(!c->reply_set, "%s: reply %d set but continuing", what,
                   c->reply_code);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_parts p;
    fuzz_split(data, size, &p);
    const unsigned char *script = (const unsigned char *)p.part[0];
    size_t steps = strlen(p.part[0]);
    if (steps < 1 || steps > 64) {
        fuzz_parts_free(&p);
        return 0;
    }
    args a = {&p, 0};
    settings *cfg = configs[script[0] % N_CONFIGS];
    callbacks_set_settings(settings_ref(cfg));
    fake_spf_state.seed = script[0] >> 2;
    fake_spf_state.explanation = arg(&a);
    fake_spf_state.problem = arg(&a);
    fake_spf_state.mechanism = (script[0] & 0x80) ? arg(&a) : NULL;

    struct smfiDesc *f = callbacks_filter();
    struct smfi_str ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.macro_j = (script[0] & 0x40) ? NULL : "mx.example.net";
    ctx.macro_i = "4AbCdEf";
    negotiated = 0;
    bool connected = false;

    for (size_t i = 1; i < steps; i++) {
        unsigned op = script[i] & 15, var = script[i] >> 4;
        sfsistat rc;
        switch (op) {
        case 0: { /* connect */
            struct sockaddr_in v4 = {.sin_family = AF_INET};
            struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
            struct sockaddr *sa = NULL;
            static const char *const ips[] = {"192.0.2.1", "127.0.0.1",
                                              "2001:db8::1", "::1",
                                              "::ffff:198.51.100.7"};
            const char *ip = ips[var % 5];
            if (var >= 8) {
                sa = NULL;
            } else if (strchr(ip, ':') != NULL) {
                inet_pton(AF_INET6, ip, &v6.sin6_addr);
                sa = (struct sockaddr *)&v6;
            } else {
                inet_pton(AF_INET, ip, &v4.sin_addr);
                sa = (struct sockaddr *)&v4;
            }
            /* libmilter closes a connection before it reuses the
             * context for the next one (SMFIC_QUIT_NC). */
            if (connected)
                (void)f->xxfi_close(&ctx);
            connected = true;
            fake_calls_reset(&ctx, REPLIES_STAGE_CONNECT, false);
            rc = f->xxfi_connect(&ctx, arg(&a), sa);
            check_outcome(&ctx, rc, "connect", SMFIP_NR_CONN);
            break;
        }
        case 1:
        case 2: /* HELO */
            fake_calls_reset(&ctx, REPLIES_STAGE_HELO, false);
            rc = f->xxfi_helo(&ctx, (var & 1) ? NULL : arg(&a));
            check_outcome(&ctx, rc, "helo", SMFIP_NR_HELO);
            break;
        case 3:
        case 4: { /* MAIL FROM */
            char *argv[3] = {arg(&a), (var & 2) ? (char *)"SIZE=100" : NULL,
                             NULL};
            ctx.macro_auth = (var & 1) ? "user" : NULL;
            ctx.calls.ar_headers = 0;
            fake_calls_reset(&ctx, REPLIES_STAGE_MAIL, false);
            rc = f->xxfi_envfrom(&ctx, (var & 4) ? NULL : argv);
            check_outcome(&ctx, rc, "envfrom", 0);
            const session *ss = ctx.priv;
            if (ss != NULL && ss->msg.active &&
                ss->msg.check.verdict.action == SETTINGS_TEMPFAIL)
                FUZZ_CHECK(rc == SMFIS_TEMPFAIL,
                           "tempfail verdict not given at MAIL (%d)", (int)rc);
            break;
        }
        case 5:
        case 6: { /* RCPT TO */
            char *argv[2] = {arg(&a), NULL};
            fake_calls_reset(&ctx, REPLIES_STAGE_RCPT, false);
            rc = f->xxfi_envrcpt(&ctx, (var == 15) ? NULL : argv);
            check_outcome(&ctx, rc, "envrcpt", 0);
            const session *ss = ctx.priv;
            if (rc == SMFIS_CONTINUE && ss != NULL && ss->msg.active &&
                ss->msg.carried &&
                ss->msg.check.verdict.action != SETTINGS_ACCEPT)
                FUZZ_CHECK(var == 15 || policy_rcpt_excepted(ss->cfg, argv[0]),
                           "recipient \"%s\" accepted despite a carried %s",
                           argv[0],
                           settings_action_name(ss->msg.check.verdict.action));
            break;
        }
        case 7: /* DATA */
            fake_calls_reset(&ctx, REPLIES_STAGE_DATA, false);
            rc = f->xxfi_data(&ctx);
            check_outcome(&ctx, rc, "data", SMFIP_NR_DATA);
            break;
        case 8:
        case 9: { /* a header */
            static const char *const hn[] = {"Authentication-Results",
                                             "authentication-results",
                                             "Subject", "Received-SPF"};
            const char *name = hn[var % 4];
            if (var >= 12)
                name = arg(&a);
            if (strcasecmp(name, "Authentication-Results") == 0)
                ctx.calls.ar_headers++;
            fake_calls_reset(&ctx, REPLIES_STAGE_EOM, false);
            rc = f->xxfi_header(&ctx, (char *)name, arg(&a));
            check_outcome(&ctx, rc, "header", SMFIP_NR_HDR);
            break;
        }
        case 10:
        case 11: /* end of message */
            fake_calls_reset(&ctx, REPLIES_STAGE_EOM, true);
            rc = f->xxfi_eom(&ctx);
            check_outcome(&ctx, rc, "eom", 0);
            ctx.calls.ar_headers = 0;
            break;
        case 12: /* abort */
            fake_calls_reset(&ctx, REPLIES_STAGE_EOM, false);
            rc = f->xxfi_abort(&ctx);
            check_outcome(&ctx, rc, "abort", 0);
            ctx.calls.ar_headers = 0;
            break;
        case 13: /* close */
            fake_calls_reset(&ctx, REPLIES_STAGE_CONNECT, false);
            rc = f->xxfi_close(&ctx);
            connected = false;
            FUZZ_CHECK(rc == SMFIS_CONTINUE, "close: %d", (int)rc);
            FUZZ_CHECK(ctx.priv == NULL, "close kept the session");
            break;
        case 14: { /* negotiate */
            unsigned long p0 = 0, p1 = 0, p2 = 0, p3 = 0;
            unsigned long f0 = (var & 1) ? 0x1ff : SMFIF_ADDHDRS;
            rc =
                f->xxfi_negotiate(&ctx, f0, 0x1fffff, 0, 0, &p0, &p1, &p2, &p3);
            if (rc == SMFIS_CONTINUE) {
                FUZZ_CHECK((p0 & ~f0) == 0, "asked for actions not offered");
                FUZZ_CHECK((p1 & ~0x1fffffUL) == 0,
                           "asked for protocol steps not offered");
                negotiated =
                    p1 & (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
                          SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN |
                          SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY);
            }
            break;
        }
        default: /* a new authserv-id from the MTA */
            ctx.macro_j = (var & 1) ? NULL : arg(&a);
            break;
        }
    }
    /* The MTA always closes. */
    (void)f->xxfi_close(&ctx);
    FUZZ_CHECK(ctx.priv == NULL, "session left after close");
    fuzz_parts_free(&p);
    return 0;
}

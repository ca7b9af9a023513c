/*
 * callbacks.c - the xxfi_* functions: gather facts, ask check/policy,
 * apply the verdict through respond.
 *
 * Owns: the per-connection private pointer (a session, made at option
 * negotiation so that it knows which steps the MTA sends without waiting
 * for an answer), the current settings pointer for new connections.
 *
 * Fails: a callback without a session (allocation failed at connect, or
 * the MTA skipped connect) answers with a temporary failure where the
 * table allows one; close copes with a connection that never had a
 * context. Nothing here exits the process or accepts mail because
 * something broke.
 */
#include "config.h"

#include "callbacks.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libmilter/mfdef.h>

#include "check.h"
#include "headers.h"
#include "log.h"
#include "policy.h"
#include "respond.h"
#include "session.h"
#include "stats.h"

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static settings *current;

void callbacks_set_settings(settings *cfg)
{
    pthread_mutex_lock(&cfg_lock);
    settings *old = current;
    current = cfg;
    pthread_mutex_unlock(&cfg_lock);
    settings_unref(old);
}

void callbacks_shutdown(void)
{
    callbacks_set_settings(NULL);
}

settings *callbacks_settings(void)
{
    pthread_mutex_lock(&cfg_lock);
    settings *s = current ? settings_ref(current) : NULL;
    pthread_mutex_unlock(&cfg_lock);
    return s;
}

/* The session of a connection, or NULL. */
static session *get(SMFICTX *ctx)
{
    return (session *)smfi_getpriv(ctx);
}

/* A macro's value, or NULL when absent or empty. */
static const char *macro(SMFICTX *ctx, const char *name)
{
    const char *v = smfi_getsymval(ctx, (char *)name);
    return v && *v ? v : NULL;
}

/* A new session with the current settings, or NULL. */
static session *new_session(void)
{
    settings *cfg = callbacks_settings();
    session *ss = cfg ? session_new(cfg) : NULL;
    settings_unref(cfg);
    return ss;
}

/* The answer to a step spfgate lets pass: none at all when the MTA agreed
 * that the step goes unanswered (nr_flag negotiated), else continue. */
static sfsistat pass(const session *ss, unsigned long nr_flag)
{
    return ss != NULL && (ss->noreply & nr_flag) ? SMFIS_NOREPLY
                                                 : SMFIS_CONTINUE;
}

/* Steps spfgate never refuses at, answered with no reply when the MTA
 * agrees (protocol version 6): the MTA sends them without waiting, which
 * saves a round trip each (one per header). A failure at one of them is
 * kept in the session and answered at the next MAIL. */
#define NOREPLY_STEPS                                                          \
    (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_DATA)

/* Whether the milter socket is TCP (set before smfi_main, then read). Over
 * TCP every step is answered, DATA too: a packet the MTA sends without
 * waiting for an answer is acknowledged only by the kernel's delayed ACK
 * (40 ms), and the MTA's next packet waits for that ACK (Nagle's
 * algorithm on its side). Measured with Postfix, whose DATA macros come
 * alone before the headers: 22 messages/s with one session, 40 ms each. */
static bool over_tcp;

void callbacks_set_tcp(bool tcp)
{
    over_tcp = tcp;
}

/* Asks the MTA for the macros spfgate reads instead of its defaults
 * (Postfix sends twenty-odd, each parsed and kept by libmilter): {j} at
 * connect (the authserv-id when none is configured; later steps see it
 * too), the queue id {i} and {auth_authen} at MAIL, {i} at end of
 * message. Other steps keep the MTA's lists: libmilter takes no empty
 * list. A list that cannot be set leaves the MTA's default. */
static void ask_macros(SMFICTX *ctx)
{
    (void)smfi_setsymlist(ctx, SMFIM_CONNECT, "j");
    (void)smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
    (void)smfi_setsymlist(ctx, SMFIM_EOM, "i");
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                             unsigned long f2, unsigned long f3,
                             unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
    (void)f2;
    (void)f3;
    unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
    if ((f0 & want) != want)
        return SMFIS_REJECT; /* the MTA cannot let us add headers */
    *pf0 = want;
    /* Steps spfgate has nothing to say at: skip them when the MTA can. */
    unsigned long skip = SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NOEOH;
    if (!over_tcp)
        skip |= SMFIP_NODATA;
    *pf1 = f1 & skip;
    *pf2 = 0;
    *pf3 = 0;
    /* The session starts here, so that it knows which steps go
     * unanswered; without one, every step is answered. */
    session *ss = get(ctx);
    if (ss == NULL && (ss = new_session()) != NULL)
        smfi_setpriv(ctx, ss);
    if (ss != NULL) {
        ss->noreply = over_tcp ? 0 : f1 & NOREPLY_STEPS;
        *pf1 |= ss->noreply;
    }
    ask_macros(ctx);
    return SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *hostname, struct sockaddr *addr)
{
    session *ss = get(ctx);
    /* A second connect on one context (never from a sane MTA) starts
     * over rather than mix two clients; the negotiated steps stay. */
    if (ss != NULL && ss->connected) {
        session *fresh = new_session();
        if (fresh != NULL)
            fresh->noreply = ss->noreply;
        smfi_setpriv(ctx, fresh);
        session_free(ss);
        ss = fresh;
    } else if (ss == NULL && (ss = new_session()) != NULL) {
        smfi_setpriv(ctx, ss);
    }
    if (ss == NULL) /* answered at MAIL when this step has no answer */
        return respond_error(ctx, NULL, REPLIES_STAGE_CONNECT,
                             "cannot create a session (out of memory)");
    ss->connected = true;
    session_set_client(ss, hostname, addr);
    session_set_authserv_id(ss, macro(ctx, "j"));
    return pass(ss, SMFIP_NR_CONN);
}

static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
    session *ss = get(ctx);
    if (ss == NULL)
        return respond_error(ctx, NULL, REPLIES_STAGE_HELO, "no session");
    if (session_set_helo(ss, helo) != 0) {
        if (ss->noreply & SMFIP_NR_HELO) {
            ss->deferred_error = "out of memory keeping the HELO name";
            log_msg(LOG_LEVEL_ERR, "%s", ss->deferred_error);
            return SMFIS_NOREPLY;
        }
        return respond_error(ctx, ss, REPLIES_STAGE_HELO, "out of memory");
    }
    ss->deferred_error = NULL;
    session_set_authserv_id(ss, macro(ctx, "j"));
    return pass(ss, SMFIP_NR_HELO);
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    session *ss = get(ctx);
    if (ss == NULL)
        return respond_error(ctx, NULL, REPLIES_STAGE_MAIL, "no session");
    if (ss->deferred_error != NULL)
        return respond_error(ctx, ss, REPLIES_STAGE_MAIL, ss->deferred_error);
    if (session_begin_message(ss, argv ? argv[0] : NULL) != 0)
        return respond_error(ctx, ss, REPLIES_STAGE_MAIL, "out of memory");
    session_set_queue_id(ss, macro(ctx, "i"));
    session_set_authserv_id(ss, macro(ctx, "j"));
    ss->msg.authenticated = macro(ctx, "{auth_authen}") != NULL;

    check_input in = {
        .client = ss->have_client ? (struct sockaddr *)&ss->client : NULL,
        .helo = ss->helo,
        .mail_from = ss->msg.mail_from,
        .authenticated = ss->msg.authenticated,
    };
    check_result *c = &ss->msg.check;
    check_message(ss->cfg, &in, ss->helo_evaluated ? &ss->helo_outcome : NULL,
                  c);
    if (c->facts.skip != POLICY_SKIP_NONE) {
        stats_skipped();
    } else {
        stats_checked(c->verdict.result,
                      c->mail.elapsed_ms + c->helo.elapsed_ms,
                      c->mail.dns_queries + c->helo.dns_queries);
    }
    if (c->facts.helo_checked && !ss->helo_evaluated) {
        ss->helo_outcome = c->helo;
        ss->helo_evaluated = true;
    }
    policy_step st =
        policy_step_at(ss->cfg, &c->verdict, REPLIES_STAGE_MAIL, false);
    if (st.kind == POLICY_CARRY) {
        ss->msg.carried = true;
        return SMFIS_CONTINUE;
    }
    return respond_step(ctx, ss, REPLIES_STAGE_MAIL, &st, NULL);
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    session *ss = get(ctx);
    if (ss == NULL || !ss->msg.active)
        return respond_error(ctx, ss, REPLIES_STAGE_RCPT,
                             "RCPT without a message");
    const char *rcpt = argv ? argv[0] : NULL;
    policy_step st = {.kind = POLICY_CONTINUE};
    if (ss->msg.carried)
        st = policy_step_at(ss->cfg, &ss->msg.check.verdict, REPLIES_STAGE_RCPT,
                            policy_rcpt_excepted(ss->cfg, rcpt));
    if (st.kind == POLICY_REPLY) {
        ss->msg.rcpt_refused++;
        return respond_step(ctx, ss, REPLIES_STAGE_RCPT, &st, rcpt);
    }
    ss->msg.rcpt_ok++;
    return SMFIS_CONTINUE;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    session *ss = get(ctx);
    if (ss == NULL || !ss->msg.active)
        return pass(ss, SMFIP_NR_HDR); /* answered at end of message */
    if (name == NULL || strcasecmp(name, "Authentication-Results") != 0)
        return pass(ss, SMFIP_NR_HDR);
    unsigned index = ++ss->msg.ar_seen;
    if (ss->authserv_id != NULL && value != NULL &&
        headers_ar_claims(value, ss->authserv_id)) {
        if (ss->msg.n_ar_remove < SESSION_MAX_AR)
            ss->msg.ar_remove[ss->msg.n_ar_remove++] = index;
        else
            ss->msg.ar_overflow = true;
    }
    return pass(ss, SMFIP_NR_HDR);
}

/* Fills the header facts of one identity. */
static void spf_facts(const session *ss, const spfcheck_outcome *o,
                      bool helo_identity, headers_spf *h)
{
    memset(h, 0, sizeof *h);
    h->result = o->result;
    h->helo_identity = helo_identity;
    h->identity = o->identity;
    h->client_ip = ss->client_ip;
    h->helo = ss->helo;
    h->envelope_from = ss->msg.check.sender;
    h->receiver = ss->authserv_id;
    h->mechanism = o->mechanism[0] ? o->mechanism : NULL;
    h->problem = o->problem[0] ? o->problem : NULL;
}

/* Inserts a header at the top; an empty value (its fixed parts did not
 * fit, e.g. an authserv-id of hundreds of bytes) is left out and logged.
 * Returns 0, or -1 when the MTA refused. */
static int insert(SMFICTX *ctx, const char *name, char *value, size_t len)
{
    if (len == 0) {
        log_msg(LOG_LEVEL_WARNING, "%s left out: it does not fit in a header",
                name);
        return 0;
    }
    return smfi_insheader(ctx, 0, (char *)name, value) == MI_SUCCESS ? 0 : -1;
}

/* Removes forged Authentication-Results and adds spfgate's headers.
 * Returns 0, or -1 when the MTA refused a change. */
static int edit_headers(SMFICTX *ctx, session *ss)
{
    const check_result *c = &ss->msg.check;
    /* Highest index first, so the others keep their numbers. */
    for (unsigned i = ss->msg.n_ar_remove; i-- > 0;)
        if (smfi_chgheader(ctx, "Authentication-Results",
                           (int)ss->msg.ar_remove[i], NULL) != MI_SUCCESS)
            return -1;
    if (c->facts.skip != POLICY_SKIP_NONE || !c->facts.mail_checked)
        return 0;
    headers_spf mail, helo;
    spf_facts(ss, &c->mail, false, &mail);
    if (c->facts.helo_checked)
        spf_facts(ss, &c->helo, true, &helo);
    char value[HEADERS_VALUE_MAX + 1];
    if (ss->cfg->add_auth_results && ss->authserv_id != NULL) {
        size_t n = headers_auth_results(ss->authserv_id, &mail,
                                        c->facts.helo_checked ? &helo : NULL,
                                        value, sizeof value);
        if (insert(ctx, "Authentication-Results", value, n) != 0)
            return -1;
    }
    if (ss->cfg->add_received_spf) {
        if (c->facts.helo_checked &&
            insert(ctx, "Received-SPF", value,
                   headers_received_spf(&helo, value, sizeof value)) != 0)
            return -1;
        if (insert(ctx, "Received-SPF", value,
                   headers_received_spf(&mail, value, sizeof value)) != 0)
            return -1;
    }
    return 0;
}

static sfsistat on_eom(SMFICTX *ctx)
{
    session *ss = get(ctx);
    if (ss == NULL || !ss->msg.active)
        return respond_error(ctx, ss, REPLIES_STAGE_EOM,
                             "end of message without a message");
    session_set_queue_id(ss, macro(ctx, "i"));
    if (ss->msg.ar_overflow)
        return respond_error(ctx, ss, REPLIES_STAGE_EOM,
                             "too many forged Authentication-Results "
                             "headers to remove");
    if (edit_headers(ctx, ss) != 0)
        return respond_error(ctx, ss, REPLIES_STAGE_EOM,
                             "the MTA refused a header change");
    respond_log_accept(ss);
    stats_action(SETTINGS_ACCEPT,
                 ss->msg.check.verdict.wanted != SETTINGS_ACCEPT);
    session_reset_message(ss);
    return SMFIS_CONTINUE;
}

static sfsistat on_abort(SMFICTX *ctx)
{
    session *ss = get(ctx);
    if (ss != NULL)
        session_reset_message(ss);
    return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
    session *ss = get(ctx);
    if (ss != NULL) {
        smfi_setpriv(ctx, NULL);
        session_free(ss);
        /* The last connection gone: give the allocator's free pages
         * back to the system, so that the resident set does not keep
         * the high-water mark of a busy moment (see main.c). */
        if (session_live() == 0)
            malloc_trim(0);
    }
    return SMFIS_CONTINUE;
}

static sfsistat on_data(SMFICTX *ctx)
{
    return pass(get(ctx), SMFIP_NR_DATA);
}

static struct smfiDesc filter = {
    .xxfi_name = "spfgate",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
    .xxfi_connect = on_connect,
    .xxfi_helo = on_helo,
    .xxfi_envfrom = on_envfrom,
    .xxfi_envrcpt = on_envrcpt,
    .xxfi_header = on_header,
    .xxfi_eom = on_eom,
    .xxfi_abort = on_abort,
    .xxfi_close = on_close,
    .xxfi_data = on_data,
    .xxfi_negotiate = on_negotiate,
};

struct smfiDesc *callbacks_filter(void)
{
    return &filter;
}

/*
 * query.c - spfgate-query: one SPF check from the command line, through
 * the same check, policy and reply code as the daemon.
 *
 * Owns: its options and the printing of the outcome (text or JSON).
 * Fails: bad options print usage and exit 2; a bad configuration exits 1
 * with FILE:LINE: reason; the check itself always has an outcome (exit 0).
 */
#include "config.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dns.h"
#include "log.h"
#include "policy.h"
#include "replies.h"
#include "settings.h"
#include "spfcheck.h"
#include "text.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: spfgate-query --ip IP --helo NAME --from ADDR [--rcpt "
                 "ADDR]\n"
                 "                     [-c FILE] [--dns-server ADDR[:PORT]] "
                 "[--auth] [--json]\n"
                 "                     [-v]\n");
}

/* Prints one configuration problem to stderr. */
static void report_stderr(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "spfgate-query: %s\n", msg);
}

/* -v: prints one lookup of the evaluation ("dns: NAME TYPE OUTCOME, N
 * answers, cached|queried, MS ms") to the stream in ctx. */
static void print_lookup(void *ctx, const dns_trace_entry *e)
{
    char tbuf[16];
    fprintf((FILE *)ctx, "dns: %s %s %s, %d answer%s, %s, %u ms\n", e->name,
            dns_type_name(e->type, tbuf, sizeof tbuf),
            dns_herrno_name(e->herrno), e->answers, e->answers == 1 ? "" : "s",
            e->cached ? "cached" : "queried", e->elapsed_ms);
}

/* Prints a JSON string literal. */
static void json_str(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* What the milter would do, as the daemon decides it stage by stage. */
typedef struct {
    const char *action; /* accept, reject, tempfail, would-reject, ... */
    replies_stage stage;
    char reply[TEXT_REPLY_MAX + 32]; /* "" when accepted */
} simulated;

static void simulate(const settings *s, const check_result *c, const char *ip,
                     const char *helo, const char *rcpt, simulated *out)
{
    memset(out, 0, sizeof *out);
    out->action = "accept";
    out->stage = REPLIES_STAGE_EOM;
    const policy_verdict *v = &c->verdict;
    if (v->action == SETTINGS_ACCEPT) {
        if (v->wanted == SETTINGS_REJECT)
            out->action = "would-reject";
        else if (v->wanted == SETTINGS_TEMPFAIL)
            out->action = "would-tempfail";
        return;
    }
    for (int st = REPLIES_STAGE_MAIL; st <= REPLIES_STAGE_EOM; st++) {
        bool excepted =
            st == REPLIES_STAGE_RCPT && rcpt && policy_rcpt_excepted(s, rcpt);
        policy_step step = policy_step_at(s, v, (replies_stage)st, excepted);
        if (step.kind == POLICY_CARRY)
            continue;
        if (step.kind == POLICY_CONTINUE)
            return; /* this recipient is let through */
        char text[TEXT_REPLY_MAX + 1];
        check_reply_text(s, c, ip, helo, step.tempfail, text, sizeof text);
        out->action = step.tempfail ? "tempfail" : "reject";
        out->stage = (replies_stage)st;
        snprintf(out->reply, sizeof out->reply, "%d %s %s", step.code, step.esc,
                 text);
        return;
    }
}

static void print_text(const check_result *c, const simulated *sim)
{
    if (c->facts.skip != POLICY_SKIP_NONE) {
        printf("not checked: %s\n", check_skip_name(c->facts.skip));
    } else {
        const spfcheck_outcome *ids[2] = {
            c->facts.helo_checked ? &c->helo : NULL, &c->mail};
        for (int i = 0; i < 2; i++) {
            const spfcheck_outcome *o = ids[i];
            if (o == NULL)
                continue;
            printf("%s identity %s: %s", i == 0 ? "HELO" : "MAIL FROM",
                   o->identity[0] ? o->identity : "(none)",
                   spfcheck_result_name(o->result));
            if (o->mechanism[0])
                printf(" (mechanism %s)", o->mechanism);
            if (o->problem[0])
                printf(" (%s)", o->problem);
            printf(", %u DNS queries, %u ms\n", o->dns_queries, o->elapsed_ms);
            if (o->explanation[0])
                printf("  explanation: %s\n", o->explanation);
        }
    }
    printf("result: %s%s\n", spfcheck_result_name(c->verdict.result),
           c->verdict.by_helo ? " (decided by the HELO identity)" : "");
    if (sim->reply[0])
        printf("milter: %s at %s: %s\n", sim->action,
               replies_stage_name(sim->stage), sim->reply);
    else
        printf("milter: %s\n", sim->action);
}

static void print_json(const check_result *c, const simulated *sim)
{
    const spfcheck_outcome *o = check_deciding(c);
    printf("{\"result\":");
    json_str(spfcheck_result_name(c->verdict.result));
    printf(",\"identity\":");
    json_str(o->identity);
    printf(",\"identity_type\":");
    json_str(c->verdict.by_helo ? "helo" : "mailfrom");
    printf(",\"explanation\":");
    json_str(o->explanation);
    printf(",\"problem\":");
    json_str(o->problem);
    printf(",\"skip\":");
    json_str(check_skip_name(c->facts.skip));
    if (c->facts.mail_checked) {
        printf(",\"mailfrom_result\":");
        json_str(spfcheck_result_name(c->mail.result));
    }
    if (c->facts.helo_checked) {
        printf(",\"helo_result\":");
        json_str(spfcheck_result_name(c->helo.result));
    }
    printf(",\"action\":");
    json_str(sim->action);
    printf(",\"stage\":");
    json_str(sim->reply[0] ? replies_stage_name(sim->stage) : "");
    printf(",\"reply\":");
    json_str(sim->reply);
    printf("}\n");
}

/* Parses IP into a socket address; returns 0 or -1. */
static int parse_ip(const char *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    enum { O_IP = 256, O_HELO, O_FROM, O_RCPT, O_DNS, O_JSON, O_AUTH };
    static const struct option longopts[] = {
        {"ip", required_argument, NULL, O_IP},
        {"helo", required_argument, NULL, O_HELO},
        {"from", required_argument, NULL, O_FROM},
        {"rcpt", required_argument, NULL, O_RCPT},
        {"dns-server", required_argument, NULL, O_DNS},
        {"json", no_argument, NULL, O_JSON},
        {"auth", no_argument, NULL, O_AUTH},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *ip = NULL, *helo = NULL, *from = NULL, *rcpt = NULL;
    const char *conf = NULL, *dns = NULL;
    bool json = false, auth = false, verbose = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:hvV", longopts, NULL)) != -1) {
        switch (opt) {
        case O_IP:
            ip = optarg;
            break;
        case O_HELO:
            helo = optarg;
            break;
        case O_FROM:
            from = optarg;
            break;
        case O_RCPT:
            rcpt = optarg;
            break;
        case O_DNS:
            dns = optarg;
            break;
        case O_JSON:
            json = true;
            break;
        case O_AUTH:
            auth = true;
            break;
        case 'c':
            conf = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("spfgate-query %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    struct sockaddr_storage client;
    if (optind != argc || ip == NULL || from == NULL) {
        usage(stderr);
        return 2;
    }
    if (parse_ip(ip, &client) != 0) {
        fprintf(stderr, "spfgate-query: --ip %s is not an IP address\n", ip);
        return 2;
    }
    settings *s =
        conf ? settings_load(conf, report_stderr, NULL) : settings_defaults();
    if (s == NULL)
        return 1;
    log_setup("spfgate-query", false, 0, (log_level)s->log_level);
    const char *servers[1] = {dns};
    spfcheck_options o = {
        .servers = dns ? servers : (const char *const *)s->dns_servers.items,
        .n_servers = dns ? 1 : s->dns_servers.n,
        .query_timeout_ms = s->dns_timeout_ms,
        .deadline_ms = s->deadline_ms,
        .receiver = s->authserv_id,
    };
    char err[256];
    if (spfcheck_init(&o, err, sizeof err) != 0) {
        fprintf(stderr, "spfgate-query: %s\n", err);
        settings_unref(s);
        return 1;
    }
    check_input in = {.client = (struct sockaddr *)&client,
                      .helo = helo,
                      .mail_from = from,
                      .authenticated = auth};
    check_result c;
    if (verbose) /* with --json, the lookups go to stderr */
        dns_trace_set(print_lookup, json ? stderr : stdout);
    check_message(s, &in, NULL, &c);
    dns_trace_set(NULL, NULL);
    simulated sim;
    simulate(s, &c, ip, helo, rcpt, &sim);
    if (json)
        print_json(&c, &sim);
    else
        print_text(&c, &sim);
    spfcheck_shutdown();
    settings_unref(s);
    return 0;
}

/*
 * fuzz_settings.c - libFuzzer target for the configuration parser
 * (settings.c, settings_parse.c).
 *
 * settings_load reads a file: the input is written to one memory file
 * (memfd) per process, rewritten for each input, and loaded through its
 * /proc/self/fd name. The input is also given to settings_parse_net, and
 * its last bytes make a client address for settings_is_trusted.
 *
 * Invariants: every reported problem is one line of printable ASCII
 * starting with the file name; a loaded object holds only values its
 * validators allow (reply codes legal where they are used, dns_timeout not
 * above deadline, a pass never refused, templates with known variables).
 */
#define _GNU_SOURCE
#include "config.h"

#include "replies.h"
#include "settings.h"
#include "text.h"

#include "fuzz_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd = -1;
static char path[64];

typedef struct {
    unsigned n;
} reports;

static void report(void *ctx, const char *msg)
{
    reports *r = ctx;
    size_t len = strlen(msg);
    r->n++;
    FUZZ_CHECK(fuzz_printable(msg, len), "report not printable: \"%s\"", msg);
    FUZZ_CHECK(strncmp(msg, path, strlen(path)) == 0 &&
                   msg[strlen(path)] == ':',
               "report without the file name: \"%s\"", msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fd = memfd_create("fuzz-settings", 0);
    if (fd < 0)
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

static const char *const template_names[] = {
    "result", "sender", "identity",    "domain",
    "ip",     "helo",   "explanation", "problem"};

static void check_loaded(const settings *s)
{
    FUZZ_CHECK(s->refs == 1, "refs %d", s->refs);
    FUZZ_CHECK(s->path != NULL && strcmp(s->path, path) == 0, "path");
    FUZZ_CHECK(s->socket != NULL && s->socket[0] != '\0', "no socket");
    FUZZ_CHECK(replies_stage_allows(REPLIES_STAGE_RCPT, s->reject_code),
               "reject_code %d not legal at RCPT", s->reject_code);
    FUZZ_CHECK(s->reject_code >= 500 && s->reject_code <= 599, "reject_code %d",
               s->reject_code);
    FUZZ_CHECK(replies_stage_allows(REPLIES_STAGE_MAIL, s->tempfail_code) &&
                   replies_stage_allows(REPLIES_STAGE_RCPT, s->tempfail_code),
               "tempfail_code %d", s->tempfail_code);
    FUZZ_CHECK(s->tempfail_code >= 400 && s->tempfail_code <= 499,
               "tempfail_code %d", s->tempfail_code);
    FUZZ_CHECK(s->dns_timeout_ms <= s->deadline_ms, "timeout %u > deadline %u",
               s->dns_timeout_ms, s->deadline_ms);
    FUZZ_CHECK(s->action[SPFCHECK_PASS] == SETTINGS_ACCEPT, "pass refused");
    for (size_t i = 0; i < SPFCHECK_RESULT_COUNT; i++)
        FUZZ_CHECK((unsigned)s->action[i] <= SETTINGS_TEMPFAIL, "action %zu",
                   i);
    size_t nn = sizeof template_names / sizeof template_names[0];
    char err[128];
    FUZZ_CHECK(
        text_template_ok(s->reject_text, template_names, nn, err, sizeof err),
        "reject_text \"%s\": %s", s->reject_text, err);
    FUZZ_CHECK(
        text_template_ok(s->tempfail_text, template_names, nn, err, sizeof err),
        "tempfail_text \"%s\": %s", s->tempfail_text, err);
    for (size_t i = 0; i < s->n_trusted; i++)
        FUZZ_CHECK(s->trusted[i].prefix <= 128, "prefix %u",
                   s->trusted[i].prefix);
    const settings_list *lists[] = {&s->dns_servers, &s->exempt_senders,
                                    &s->exempt_recipients, &s->rcpt_exceptions};
    for (size_t l = 0; l < 4; l++)
        for (size_t i = 0; i < lists[l]->n; i++)
            FUZZ_CHECK(lists[l]->items[i] != NULL &&
                           lists[l]->items[i][0] != '\0',
                       "empty list item");
    if (s->authserv_id != NULL)
        FUZZ_CHECK(fuzz_printable(s->authserv_id, strlen(s->authserv_id)) &&
                       strpbrk(s->authserv_id, " ;()\"\\") == NULL,
                   "authserv_id \"%s\"", s->authserv_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    reports r = {0};
    settings *s = settings_load(path, report, &r);
    if (s != NULL) {
        FUZZ_CHECK(r.n == 0, "loaded despite %u problems", r.n);
        check_loaded(s);
        /* A client address from the input's last bytes. */
        struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
        struct sockaddr_in v4 = {.sin_family = AF_INET};
        if (size >= 16)
            memcpy(&v6.sin6_addr, data + size - 16, 16);
        if (size >= 4)
            memcpy(&v4.sin_addr, data + size - 4, 4);
        bool t6 = settings_is_trusted(s, &v6);
        (void)settings_is_trusted(s, &v4);
        (void)t6;
        settings_unref(settings_ref(s));
        settings_unref(s);
    } else {
        FUZZ_CHECK(r.n > 0, "refused without a reason");
    }

    /* One network as text. */
    char *text = fuzz_strndup(data, size < 128 ? size : 128);
    settings_net net;
    if (settings_parse_net(text, &net) == 0) {
        FUZZ_CHECK(net.prefix <= 128, "prefix %u from \"%s\"", net.prefix,
                   text);
        uint8_t a[16];
        memcpy(a, net.addr, 16);
        FUZZ_CHECK(settings_net_contains(&net, a),
                   "\"%s\" does not contain its own address", text);
    }
    free(text);
    return 0;
}

/*
 * fuzz_record.c - libFuzzer target for spfgate's SPF record path: a record
 * from DNS goes through spfrecord_rewrite (RFC 7208 grammar, macros
 * expanded by spfgate) and only the rewritten record reaches libspf2, as
 * in dnsrecord.c. Explanation texts go through spfrecord_expand.
 *
 * spfgate's DNS layer has no in-process answer source, so libspf2 gets its
 * own in-memory zone layer here (no network); the zone holds only
 * rewritten records, as libspf2 sees them behind spfgate's layer.
 *
 * Input: byte 0 picks the client address family and address, the sender
 * form and whether synthetic names are available; the rest is cut at NUL
 * bytes: the record of example.org, the sender's local part, the HELO
 * name, the current domain (%{d}), the validated client name (%{p}), the
 * record of inc.example.org and an explanation text.
 *
 * Invariants: a rewritten record is one line of printable ASCII starting
 * with "v=spf1", within the buffer, and has no macro left for libspf2
 * (every '%' is half of "%%"); redirect/exp targets are terminated; a
 * refusal has a reason; an expansion stays within its buffer (and within
 * 253 octets for an expanded domain-spec).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/nameser.h>
#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>

#include "spfrecord.h"

#include "fuzz_util.h"

static void quiet(const char *file, int line, const char *msg)
{
    (void)file;
    (void)line;
    (void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Errors keep libspf2's default (print and abort: a finding). */
    SPF_warning_handler = quiet;
    SPF_info_handler = quiet;
    SPF_debug_handler = quiet;
    return 0;
}

/* The client name for %{p}: from the input. */
static void ptr_name(void *ctx, char *out, size_t len)
{
    snprintf(out, len, "%s", (const char *)ctx);
}

/* Synthetic names: available or not, per the selector byte. */
static int synth(void *ctx, spfrecord_synth_kind kind, const char *domain,
                 char *name, size_t len)
{
    const unsigned *sel = ctx;
    FUZZ_CHECK(domain != NULL && strlen(domain) < 1024,
               "synthetic question without a domain");
    if (*sel & 0x10)
        return -1;
    snprintf(name, len, "s%d.synth.invalid", (int)kind);
    return 0;
}

/* The promises of a rewritten record. */
static void check_rewritten(const char *out, size_t outlen,
                            const spfrecord_info *info)
{
    size_t n = strnlen(out, outlen);
    FUZZ_CHECK(n < outlen, "record not terminated");
    FUZZ_CHECK(strncmp(out, "v=spf1", 6) == 0, "\"%s\"", out);
    FUZZ_CHECK(fuzz_printable(out, n), "non-printable byte in \"%s\"", out);
    for (size_t i = 0; i < n; i++) {
        if (out[i] != '%')
            continue;
        FUZZ_CHECK(out[i + 1] == '%', "a macro left for libspf2 at %zu: \"%s\"",
                   i, out);
        i++;
    }
    FUZZ_CHECK(memchr(info->redirect, '\0', sizeof info->redirect) != NULL,
               "redirect not terminated");
    FUZZ_CHECK(memchr(info->exp, '\0', sizeof info->exp) != NULL,
               "exp not terminated");
    for (const char *p = info->redirect; *p; p++)
        if (*p == '%') {
            FUZZ_CHECK(p[1] == '%', "a macro in redirect \"%s\"",
                       info->redirect);
            p++;
        }
}

/* Rewrites txt; on success returns a heap copy of the rewritten record. */
static char *rewrite(const char *txt, const spfrecord_vars *v, unsigned *sel)
{
    static char out[4096]; /* dnsrecord.c's size */
    char why[128];
    spfrecord_info info;
    memset(why, 0x55, sizeof why);
    int rc = spfrecord_rewrite(txt, v, synth, sel, out, sizeof out, &info, why,
                               sizeof why);
    if (rc != 0) {
        FUZZ_CHECK(rc == -1, "rc %d", rc);
        FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL && why[0] != '\0',
                   "refused without a reason");
        return NULL;
    }
    check_rewritten(out, sizeof out, &info);
    /* The same record in a small buffer: refused or the same prefix. */
    char small[64];
    spfrecord_info info2;
    if (spfrecord_rewrite(txt, v, synth, sel, small, sizeof small, &info2, why,
                          sizeof why) == 0)
        FUZZ_CHECK(strnlen(small, sizeof small) < sizeof small,
                   "small record not terminated");
    char *copy = strdup(out);
    if (copy == NULL)
        abort();
    return copy;
}

/* True when s holds a macro ("%{"), not counting escapes ("%%{" is a
 * percent sign and a brace). */
static bool has_macro(const char *s)
{
    for (; *s; s++) {
        if (s[0] != '%')
            continue;
        if (s[1] == '{')
            return true;
        if (s[1] != '\0')
            s++;
    }
    return false;
}

/* Expands s in both modes, with and without values. */
static void expand(const char *s, const spfrecord_vars *v)
{
    size_t len = strlen(s);
    static const size_t sizes[] = {1, 16, 300, 1024};
    for (int mode = SPFRECORD_DOMAIN; mode <= SPFRECORD_EXP; mode++) {
        char chk[1024];
        int check = spfrecord_expand(s, len, NULL, (spfrecord_mode)mode, chk,
                                     sizeof chk);
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            char *out = malloc(sizes[k]);
            if (out == NULL)
                abort();
            int rc = spfrecord_expand(s, len, v, (spfrecord_mode)mode, out,
                                      sizes[k]);
            if (rc == 0) {
                size_t n = strnlen(out, sizes[k]);
                FUZZ_CHECK(n < sizes[k], "expansion not terminated");
                FUZZ_CHECK(check == 0, "expanded what the check refuses: %s",
                           s);
                if (mode == SPFRECORD_DOMAIN && has_macro(s))
                    FUZZ_CHECK(n <= 253 || strchr(out, '.') == NULL,
                               "expanded domain of %zu octets", n);
            }
            free(out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    fuzz_parts p;
    fuzz_split(data + 1, size - 1, &p);
    const char *record = fuzz_part(&p, 0);
    const char *local = fuzz_part(&p, 1) ? fuzz_part(&p, 1) : "user";
    const char *helo = fuzz_part(&p, 2) ? fuzz_part(&p, 2) : "mx.example.org";
    const char *domain = fuzz_part(&p, 3) ? fuzz_part(&p, 3) : "example.org";
    const char *pname = fuzz_part(&p, 4) ? fuzz_part(&p, 4) : "mx.example.org";
    const char *inc = fuzz_part(&p, 5);
    const char *exptext = fuzz_part(&p, 6);

    size_t ll = strlen(local);
    char *sender = malloc(ll + sizeof "@example.org");
    if (sender == NULL)
        abort();
    memcpy(sender, local, ll);
    memcpy(sender + ll, "@example.org", sizeof "@example.org");

    spfrecord_vars v = {
        .family = (sel & 1) ? AF_INET6 : AF_INET,
        .sender = sender,
        .local = local,
        .sender_domain = "example.org",
        .domain = domain,
        .helo = helo,
        .receiver = (sel & 0x20) ? "" : "receiver.example.net",
        .ptr_name = (sel & 0x40) ? NULL : ptr_name,
        .ctx = (void *)pname,
    };
    if (sel & 1)
        inet_pton(AF_INET6, (sel & 2) ? "2001:db8::1" : "2001:db8::99", v.ip);
    else
        inet_pton(AF_INET, (sel & 2) ? "192.0.2.1" : "198.51.100.7", v.ip);

    (void)spfrecord_is_spf1(record);
    expand(record, &v);
    if (exptext != NULL)
        expand(exptext, &v);

    char *rec = rewrite(record, &v, &sel);
    char *increc = NULL;
    if (inc != NULL) {
        spfrecord_vars vi = v;
        vi.domain = "inc.example.org";
        increc = rewrite(inc, &vi, &sel);
    }

    /* The rewritten records through libspf2, as the daemon does. */
    if (rec != NULL && !(sel & 0x80)) {
        SPF_server_t *srv = SPF_server_new(SPF_DNS_ZONE, 0);
        if (srv == NULL)
            abort();
        SPF_dns_server_t *z = srv->resolver;
        (void)SPF_dns_zone_add_str(z, "example.org", ns_t_txt, NETDB_SUCCESS,
                                   rec);
        (void)SPF_dns_zone_add_str(z, "example.org", ns_t_a, NETDB_SUCCESS,
                                   "192.0.2.1");
        (void)SPF_dns_zone_add_str(z, "example.org", ns_t_mx, NETDB_SUCCESS,
                                   "mx.example.org");
        (void)SPF_dns_zone_add_str(z, "mx.example.org", ns_t_a, NETDB_SUCCESS,
                                   "192.0.2.2");
        (void)SPF_dns_zone_add_str(z, "1.2.0.192.in-addr.arpa", ns_t_ptr,
                                   NETDB_SUCCESS, "example.org");
        if (increc != NULL)
            (void)SPF_dns_zone_add_str(z, "inc.example.org", ns_t_txt,
                                       NETDB_SUCCESS, increc);
        (void)SPF_server_set_rec_dom(srv, "receiver.example.net");
        SPF_request_t *req = SPF_request_new(srv);
        if (req == NULL)
            abort();
        if (sel & 1) {
            struct in6_addr a6;
            memcpy(&a6, v.ip, 16);
            SPF_request_set_ipv6(req, a6);
        } else {
            struct in_addr a4;
            memcpy(&a4, v.ip, 4);
            SPF_request_set_ipv4(req, a4);
        }
        (void)SPF_request_set_helo_dom(req, "mx.example.org");
        if (SPF_request_set_env_from(req, "user@example.org") == 0) {
            SPF_response_t *resp = NULL;
            (void)SPF_request_query_mailfrom(req, &resp);
            if (resp != NULL) {
                SPF_result_t r = SPF_response_result(resp);
                FUZZ_CHECK(r >= SPF_RESULT_INVALID && r <= SPF_RESULT_PERMERROR,
                           "result %d", (int)r);
                SPF_response_free(resp);
            }
        }
        SPF_request_free(req);
        SPF_server_free(srv);
    }
    free(rec);
    free(increc);
    free(sender);
    fuzz_parts_free(&p);
    return 0;
}

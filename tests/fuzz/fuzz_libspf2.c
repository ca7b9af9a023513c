/*
 * fuzz_libspf2.c - libFuzzer target for libspf2 alone: how a raw record
 * from DNS reaches libspf2's compiler and interpreter (macro expansion
 * included).
 *
 * This is not spfgate's path (spfgate rewrites every record with
 * spfrecord_rewrite first, see fuzz_record.c): it shows what libspf2 does
 * with records nobody checked, with libspf2's in-memory zone layer in
 * place of DNS. The record text under test is published as the TXT record
 * of the sender's domain.
 *
 * Input: byte 0 picks the client address and the identity; the rest is
 * cut at NUL bytes: the record of example.org, the sender's local part,
 * the HELO name, the TXT record of inc.example.org (for include: and
 * redirect=) and the TXT record of exp.example.org (for exp=).
 *
 * Invariants: the result is one of libspf2's results, and the texts of
 * the response (explanation, header comment, Received-SPF) are
 * NUL-terminated strings or NULL.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/nameser.h>
#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>

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

/* Adds one record to the zone; a record the zone refuses is skipped. */
static void add(SPF_dns_server_t *z, const char *name, ns_type t,
                const char *data)
{
    (void)SPF_dns_zone_add_str(z, name, t, NETDB_SUCCESS, data);
}

/* The fixed part of the zone: addresses, MX and PTR the mechanisms use. */
static void base_zone(SPF_dns_server_t *z)
{
    add(z, "example.org", ns_t_a, "192.0.2.1");
    add(z, "example.org", ns_t_aaaa, "2001:db8::1");
    add(z, "example.org", ns_t_mx, "mx.example.org");
    add(z, "mx.example.org", ns_t_a, "192.0.2.2");
    add(z, "1.2.0.192.in-addr.arpa", ns_t_ptr, "example.org");
    add(z, "2.2.0.192.in-addr.arpa", ns_t_ptr, "mx.example.org");
    add(z, "a.example.org", ns_t_a, "192.0.2.1");
    (void)SPF_dns_zone_add_str(z, "missing.example.org", ns_t_any,
                               HOST_NOT_FOUND, NULL);
    (void)SPF_dns_zone_add_str(z, "slow.example.org", ns_t_any, TRY_AGAIN,
                               NULL);
}

static void check_text(const char *s)
{
    if (s != NULL)
        (void)strlen(s); /* ASan: a string that is not terminated */
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

    SPF_server_t *srv = SPF_server_new(SPF_DNS_ZONE, 0);
    if (srv == NULL)
        abort();
    SPF_dns_server_t *z = srv->resolver;
    base_zone(z);
    add(z, "example.org", ns_t_txt, record);
    if (fuzz_part(&p, 3) != NULL)
        add(z, "inc.example.org", ns_t_txt, fuzz_part(&p, 3));
    if (fuzz_part(&p, 4) != NULL)
        add(z, "exp.example.org", ns_t_txt, fuzz_part(&p, 4));
    (void)SPF_server_set_rec_dom(srv, "receiver.example.net");

    SPF_request_t *req = SPF_request_new(srv);
    if (req == NULL)
        abort();
    if (sel & 1) {
        struct in6_addr a6;
        inet_pton(AF_INET6, (sel & 2) ? "2001:db8::1" : "2001:db8::99", &a6);
        SPF_request_set_ipv6(req, a6);
    } else {
        struct in_addr a4;
        inet_pton(AF_INET, (sel & 2) ? "192.0.2.1" : "198.51.100.7", &a4);
        SPF_request_set_ipv4(req, a4);
    }
    (void)SPF_request_set_helo_dom(req, helo);
    size_t ll = strlen(local);
    char *from = malloc(ll + sizeof "@example.org");
    if (from == NULL)
        abort();
    memcpy(from, local, ll);
    memcpy(from + ll, "@example.org", sizeof "@example.org");
    if (SPF_request_set_env_from(req, (sel & 4) ? "" : from) == 0) {
        SPF_response_t *resp = NULL;
        (void)SPF_request_query_mailfrom(req, &resp);
        if (resp != NULL) {
            SPF_result_t r = SPF_response_result(resp);
            FUZZ_CHECK(r >= SPF_RESULT_INVALID && r <= SPF_RESULT_PERMERROR,
                       "result %d", (int)r);
            check_text(SPF_response_get_smtp_comment(resp));
            check_text(SPF_response_get_header_comment(resp));
            check_text(SPF_response_get_received_spf(resp));
            check_text(SPF_response_get_explanation(resp));
            SPF_response_free(resp);
        }
    }
    free(from);
    SPF_request_free(req);
    SPF_server_free(srv);
    fuzz_parts_free(&p);
    return 0;
}

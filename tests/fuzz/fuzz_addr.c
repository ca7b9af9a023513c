/*
 * fuzz_addr.c - libFuzzer target for addr.c and the recipient exceptions
 * of policy.c.
 *
 * Input: byte 0 picks the output buffer size; the rest is cut at NUL
 * bytes: a MAIL FROM argument, a RCPT TO argument and a name.
 *
 * Each function is checked against a plain re-statement of its
 * specification (addr.h, policy.h), with the default settings and with
 * settings that have exceptions of every kind.
 */
#define _GNU_SOURCE
#include "config.h"

#include "addr.h"
#include "policy.h"
#include "settings.h"

#include "fuzz_util.h"

#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

static settings *defaults;
static settings *custom;

static void report(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "fuzz_addr setup: %s\n", msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char conf[] =
        "rcpt_exceptions = postmaster, abuse, Hostmaster@Example.ORG\n"
        "exempt_recipients = spam-trap@example.net, @lists.example.com\n"
        "exempt_senders = example.com\n";
    defaults = settings_defaults();
    int fd = memfd_create("fuzz-addr-conf", 0);
    if (fd < 0 ||
        write(fd, conf, sizeof conf - 1) != (ssize_t)(sizeof conf - 1))
        abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    custom = settings_load(path, report, NULL);
    close(fd);
    if (defaults == NULL || custom == NULL)
        abort();
    return 0;
}

/* The specification of addr_is_domain, written out again. */
static bool ref_is_domain(const char *name)
{
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return false;
    size_t labels = 0;
    size_t start = 0;
    bool numeric = true;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || name[i] == '.') {
            size_t len = i - start;
            if (len < 1 || len > 63 || name[start] == '-' || name[i - 1] == '-')
                return false;
            numeric = true;
            for (size_t j = start; j < i; j++)
                if (name[j] < '0' || name[j] > '9')
                    numeric = false;
            labels++;
            start = i + 1;
            continue;
        }
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return labels >= 2 && !numeric;
}

/* policy_rcpt_excepted for the custom settings, written out again. */
static bool ref_custom_excepted(const char *rcpt)
{
    size_t n = strlen(rcpt);
    const char *a = rcpt;
    if (n >= 2 && rcpt[0] == '<' && rcpt[n - 1] == '>') {
        a++;
        n -= 2;
    }
    char *addr = strndup(a, n);
    if (addr == NULL)
        abort();
    char *at = strchr(addr, '@');
    size_t local = at ? (size_t)(at - addr) : n;
    bool r = false;
    static const char *const locals[] = {"postmaster", "abuse"};
    for (size_t i = 0; i < 2; i++)
        if (strlen(locals[i]) == local &&
            strncasecmp(addr, locals[i], local) == 0)
            r = true;
    if (strcasecmp(addr, "hostmaster@example.org") == 0 ||
        strcasecmp(addr, "spam-trap@example.net") == 0)
        r = true;
    if (at != NULL && strcasecmp(at, "@lists.example.com") == 0)
        r = true;
    free(addr);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t outlen = (size_t)data[0] * 3; /* 0..765 */
    fuzz_parts p;
    fuzz_split(data + 1, size - 1, &p);
    const char *from = fuzz_part(&p, 0);
    const char *rcpt = fuzz_part(&p, 1) ? fuzz_part(&p, 1) : "";
    const char *name = fuzz_part(&p, 2) ? fuzz_part(&p, 2) : from;

    /* addr_envelope into a fitting and into the fuzzed buffer. */
    char full[ADDR_MAX + 8];
    int rc = addr_envelope(from, full, sizeof full);
    size_t len = strlen(full);
    if (rc == 0) {
        FUZZ_CHECK(len < ADDR_MAX, "address of %zu bytes", len);
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK((unsigned char)full[i] >= 0x20 && full[i] != 0x7f,
                       "control byte kept at %zu", i);
        FUZZ_CHECK(strstr(from, full) != NULL, "\"%s\" not taken from \"%s\"",
                   full, from);
        const char *d = addr_domain(full);
        if (d != NULL) {
            FUZZ_CHECK(d > full && d <= full + len && d[-1] == '@',
                       "domain not after an '@'");
            FUZZ_CHECK(strchr(d, '@') == NULL, "domain after a non-last '@'");
        } else {
            FUZZ_CHECK(strchr(full, '@') == NULL, "no domain despite an '@'");
        }
        bool isd = addr_is_domain(d);
        FUZZ_CHECK(isd == (d != NULL && ref_is_domain(d)),
                   "addr_is_domain(\"%s\") = %d", d ? d : "(null)", isd);
    } else {
        FUZZ_CHECK(rc == -1, "addr_envelope returned %d", rc);
        FUZZ_CHECK(len == 0, "output \"%s\" left on failure", full);
    }
    if (outlen > 0) {
        char *out = malloc(outlen);
        if (out == NULL)
            abort();
        int rc2 = addr_envelope(from, out, outlen);
        FUZZ_CHECK(memchr(out, '\0', outlen) != NULL, "not terminated");
        if (rc2 == 0)
            FUZZ_CHECK(rc == 0 && strcmp(out, full) == 0,
                       "a small buffer changed the address");
        else
            FUZZ_CHECK(out[0] == '\0', "output left on failure");
        if (rc == 0 && len < outlen)
            FUZZ_CHECK(rc2 == 0, "fits but failed");
        free(out);
    }
    FUZZ_CHECK(addr_envelope(from, full, 0) == -1, "outlen 0 accepted");
    FUZZ_CHECK(addr_domain(NULL) == NULL, "domain of NULL");

    /* addr_is_domain on a free-form name. */
    bool isd = addr_is_domain(name);
    FUZZ_CHECK(isd == (name != NULL && ref_is_domain(name)),
               "addr_is_domain(\"%s\") = %d", name ? name : "(null)", isd);

    /* Recipient exceptions: default (postmaster of any domain) and custom. */
    bool exc = policy_rcpt_excepted(defaults, rcpt);
    {
        size_t n = strlen(rcpt);
        const char *a = rcpt;
        if (n >= 2 && rcpt[0] == '<' && rcpt[n - 1] == '>') {
            a++;
            n -= 2;
        }
        const char *at = memchr(a, '@', n);
        size_t local = at ? (size_t)(at - a) : n;
        bool want = local == 10 && strncasecmp(a, "postmaster", 10) == 0;
        FUZZ_CHECK(exc == want, "default exception of \"%s\" = %d", rcpt, exc);
    }
    exc = policy_rcpt_excepted(custom, rcpt);
    FUZZ_CHECK(exc == ref_custom_excepted(rcpt),
               "custom exception of \"%s\" = %d", rcpt, exc);
    FUZZ_CHECK(!policy_rcpt_excepted(defaults, NULL), "NULL excepted");

    /* Sender exemption (example.com and its subdomains). */
    (void)policy_sender_exempt(custom, name);
    (void)policy_sender_exempt(defaults, name);

    fuzz_parts_free(&p);
    return 0;
}

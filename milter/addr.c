/*
 * addr.c - envelope address and HELO parsing.
 *
 * Owns: the rules for turning the MTA's MAIL FROM argument into the bare
 * address SPF checks, and the domain-name plausibility check used before
 * any DNS is asked. Fails: never; see addr.h.
 */
#include "config.h"

#include "addr.h"

#include <string.h>

int addr_envelope(const char *arg, char *out, size_t outlen)
{
    if (outlen == 0)
        return -1;
    out[0] = '\0';
    if (arg == NULL)
        return -1;
    size_t n = strlen(arg);
    while (n > 0 && (arg[0] == ' ' || arg[0] == '\t')) {
        arg++;
        n--;
    }
    while (n > 0 && (arg[n - 1] == ' ' || arg[n - 1] == '\t'))
        n--;
    if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>') {
        arg++;
        n -= 2;
    }
    /* A source route "@a,@b:" before the address is ignored (RFC 5321
     * 4.1.2). */
    if (n > 0 && arg[0] == '@') {
        const char *colon = memchr(arg, ':', n);
        if (colon == NULL)
            return -1;
        n -= (size_t)(colon + 1 - arg);
        arg = colon + 1;
    }
    if (n >= outlen || n >= ADDR_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f)
            return -1;
    memcpy(out, arg, n);
    out[n] = '\0';
    return 0;
}

const char *addr_domain(const char *addr)
{
    if (addr == NULL)
        return NULL;
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : NULL;
}

/* True for the characters a label may hold. */
static bool label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool addr_is_domain(const char *name)
{
    if (name == NULL)
        return false;
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.')
        n--; /* one trailing dot is the root */
    if (n == 0 || n > 253 || name[n - 1] == '.')
        return false; /* empty, too long, or an empty last label */
    size_t labels = 0, i = 0;
    bool top_numeric = true;
    while (i < n) {
        size_t start = i;
        top_numeric = true;
        while (i < n && name[i] != '.') {
            if (!label_char(name[i]))
                return false;
            if (name[i] < '0' || name[i] > '9')
                top_numeric = false;
            i++;
        }
        size_t len = i - start;
        if (len == 0 || len > 63 || name[start] == '-' || name[i - 1] == '-')
            return false;
        labels++;
        i++; /* skip the dot */
    }
    return labels >= 2 && !top_numeric;
}

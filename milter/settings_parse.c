/*
 * settings_parse.c - the value parsers of the settings key table, and
 * the network helpers of settings.h (settings_parse_net,
 * settings_net_contains).
 *
 * Owns: nothing of its own; a parser replaces its field's value in the
 * settings object being loaded, which owns the new strings.
 *
 * Fails: a parser that refuses a value reports "FILE:LINE: reason"
 * through settings_error and returns false, leaving the field as it was.
 * Out of memory is reported the same way.
 */
#include "config.h"

#include "settings_parse.h"

#include "replies.h"
#include "text.h"
#include "log.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The longest value quoted back in a message. */
#define SHOW "%.64s"

/* A name and the number it stands for. */
struct choice {
    const char *name;
    int value;
};

/* Looks `value` up in a table of choices; returns its index or -1. */
static int choose(const struct choice *c, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, value) == 0)
            return (int)i;
    return -1;
}

/* Parses 1..digits decimal digits without a leading zero (except "0").
 * Returns the number or -1. */
static long number(const char *s, size_t digits)
{
    size_t len = strlen(s);
    if (len == 0 || len > digits || (s[0] == '0' && len > 1))
        return -1;
    long v = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* A port number 1..65535, or -1. */
static long port(const char *s)
{
    long p = number(s, 5);
    return p >= 1 && p <= 65535 ? p : -1;
}

/* True for a domain name: dot-separated labels of letters, digits and
 * '-' (not at either end of a label), 1..63 bytes each, 253 in all, the
 * last one not all digits (that is a bad IPv4 address, not a name). */
static bool domain_ok(const char *d)
{
    size_t len = strlen(d), label = 0;
    if (len == 0 || len > 253)
        return false;
    const char *last = strrchr(d, '.');
    last = last ? last + 1 : d;
    if (strspn(last, "0123456789") == strlen(last))
        return false;
    for (size_t i = 0; i <= len; i++) {
        char c = d[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || d[i - 1] == '-')
                return false;
            label = 0;
        } else if (isalnum((unsigned char)c) || c == '-') {
            if (label == 0 && c == '-')
                return false;
            label++;
        } else {
            return false;
        }
    }
    return true;
}

/* True for a local part: RFC 5322 atext and dots, at most 64 bytes. */
static bool local_ok(const char *l, size_t len)
{
    if (len == 0 || len > 64 || l[0] == '.' || l[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)l[i]) &&
            !strchr("!#$%&'*+-/=?^_`{|}~.", l[i]))
            return false;
    return true;
}

/* Lower-cases s in place. */
static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Replaces the string at `field` by a copy of value (NULL when empty). */
static bool set_string(settings_loader *ld, void *field, const char *value)
{
    char *copy = NULL;
    if (*value != '\0' && (copy = strdup(value)) == NULL) {
        settings_error(ld, "out of memory");
        return false;
    }
    char **slot = field;
    free(*slot);
    *slot = copy;
    return true;
}

/* socket: unix:/path (local: too), inet:PORT@ADDR, inet6:PORT@ADDR. */
bool settings_parse_socket(settings_loader *ld, const settings_key *k,
                           settings *s, void *field, char *v)
{
    (void)s;
    char *rest;
    if (strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0) {
        rest = strchr(v, ':') + 1;
        struct sockaddr_un un;
        bool ok = rest[0] == '/' && strlen(rest) < sizeof un.sun_path;
        for (char *p = rest; ok && *p; p++)
            ok = isgraph((unsigned char)*p);
        if (ok) {
            memmove(v + 5, rest, strlen(rest) + 1);
            memcpy(v, "unix:", 5);
            return set_string(ld, field, v);
        }
        settings_error(ld,
                       "%s '" SHOW "': a unix socket needs an absolute "
                       "path (at most %zu bytes, no spaces)",
                       k->name, v, sizeof un.sun_path - 1);
        return false;
    }
    bool v6 = strncmp(v, "inet6:", 6) == 0;
    if (v6 || strncmp(v, "inet:", 5) == 0) {
        rest = v + (v6 ? 6 : 5);
        char *at = strchr(rest, '@');
        if (at != NULL) {
            unsigned char buf[16];
            *at = '\0';
            bool port_ok = port(rest) > 0;
            bool addr_ok =
                inet_pton(v6 ? AF_INET6 : AF_INET, at + 1, buf) == 1 ||
                domain_ok(at + 1);
            *at = '@';
            if (port_ok && addr_ok)
                return set_string(ld, field, v);
        }
        settings_error(ld,
                       "%s '" SHOW "' must be %s:PORT@ADDR with a port "
                       "from 1 to 65535 and an %s address or host name",
                       k->name, v, v6 ? "inet6" : "inet", v6 ? "IPv6" : "IPv4");
        return false;
    }
    settings_error(ld,
                   "%s '" SHOW "' must be unix:/absolute/path, "
                   "inet:PORT@ADDR or inet6:PORT@ADDR",
                   k->name, v);
    return false;
}

/* A user or group name (empty: none). */
bool settings_parse_name(settings_loader *ld, const settings_key *k,
                         settings *s, void *field, char *v)
{
    (void)s;
    bool ok = strlen(v) <= 64 && v[0] != '-';
    for (char *p = v; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr("_.-", *p);
    if (ok)
        return set_string(ld, field, v);
    settings_error(ld,
                   "%s '" SHOW "' is not a user or group name (letters, "
                   "digits, '_', '.', '-')",
                   k->name, v);
    return false;
}

/* An octal file mode up to 0777. */
bool settings_parse_mode(settings_loader *ld, const settings_key *k,
                         settings *s, void *field, char *v)
{
    (void)s;
    size_t len = strlen(v);
    bool ok = len >= 1 && len <= 4;
    unsigned m = 0;
    for (char *p = v; ok && *p; p++) {
        ok = *p >= '0' && *p <= '7';
        m = m * 8 + (unsigned)(*p - '0');
    }
    if (ok && m <= 0777) {
        *(mode_t *)field = (mode_t)m;
        return true;
    }
    settings_error(ld, "%s '" SHOW "' must be an octal mode from 0 to 0777",
                   k->name, v);
    return false;
}

/* An absolute path (empty: none). */
bool settings_parse_path(settings_loader *ld, const settings_key *k,
                         settings *s, void *field, char *v)
{
    (void)s;
    bool ok = v[0] == '/' || v[0] == '\0';
    for (char *p = v; ok && *p; p++)
        ok = isgraph((unsigned char)*p);
    if (ok && strlen(v) < 4096)
        return set_string(ld, field, v);
    settings_error(ld, "%s '" SHOW "' must be an absolute path without spaces",
                   k->name, v);
    return false;
}

/* log: syslog (true) or stderr (false). */
bool settings_parse_log(settings_loader *ld, const settings_key *k, settings *s,
                        void *field, char *v)
{
    (void)s;
    if (strcmp(v, "syslog") == 0 || strcmp(v, "stderr") == 0) {
        *(bool *)field = v[1] == 'y';
        return true;
    }
    settings_error(ld, "%s '" SHOW "' must be syslog or stderr", k->name, v);
    return false;
}

/* A syslog facility name. */
bool settings_parse_facility(settings_loader *ld, const settings_key *k,
                             settings *s, void *field, char *v)
{
    (void)s;
    static const struct choice c[] = {
        {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
        {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
        {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
        {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
    };
    int i = choose(c, N(c), v);
    if (i >= 0) {
        *(int *)field = c[i].value;
        return true;
    }
    settings_error(ld,
                   "%s '" SHOW "' must be mail, daemon, user or "
                   "local0 to local7",
                   k->name, v);
    return false;
}

/* A log level name, as a log_level value. */
bool settings_parse_level(settings_loader *ld, const settings_key *k,
                          settings *s, void *field, char *v)
{
    (void)s;
    static const struct choice c[] = {
        {"error", LOG_LEVEL_ERR},     {"warning", LOG_LEVEL_WARNING},
        {"notice", LOG_LEVEL_NOTICE}, {"info", LOG_LEVEL_INFO},
        {"debug", LOG_LEVEL_DEBUG},
    };
    int i = choose(c, N(c), v);
    if (i >= 0) {
        *(int *)field = c[i].value;
        return true;
    }
    settings_error(ld,
                   "%s '" SHOW "' must be error, warning, notice, info "
                   "or debug",
                   k->name, v);
    return false;
}

/* A whole number from k->a to k->b. */
bool settings_parse_uint(settings_loader *ld, const settings_key *k,
                         settings *s, void *field, char *v)
{
    (void)s;
    long n = number(v, 9);
    if (n >= k->a && n <= k->b) {
        *(unsigned *)field = (unsigned)n;
        return true;
    }
    settings_error(ld, "%s '" SHOW "' must be a whole number from %d to %d",
                   k->name, v, k->a, k->b);
    return false;
}

/* yes/no, true/false, on/off, 1/0 (any case). */
bool settings_parse_bool(settings_loader *ld, const settings_key *k,
                         settings *s, void *field, char *v)
{
    (void)s;
    static const struct choice c[] = {
        {"yes", 1}, {"true", 1},  {"on", 1},  {"1", 1},
        {"no", 0},  {"false", 0}, {"off", 0}, {"0", 0},
    };
    for (size_t i = 0; i < N(c); i++) {
        if (strcasecmp(c[i].name, v) == 0) {
            *(bool *)field = c[i].value != 0;
            return true;
        }
    }
    settings_error(ld,
                   "%s '" SHOW "' must be yes or no (or true/false, "
                   "on/off, 1/0)",
                   k->name, v);
    return false;
}

/* A duration ("ms", "s" or bare seconds) from k->a to k->b ms. */
bool settings_parse_duration(settings_loader *ld, const settings_key *k,
                             settings *s, void *field, char *v)
{
    (void)s;
    size_t digits = strspn(v, "0123456789");
    const char *unit = v + digits;
    long scale = strcmp(unit, "ms") == 0                     ? 1
                 : (strcmp(unit, "s") == 0 || *unit == '\0') ? 1000
                                                             : 0;
    long n = -1;
    if (digits > 0 && digits <= 9 && scale > 0) {
        char num[10];
        memcpy(num, v, digits);
        num[digits] = '\0';
        n = number(num, 9);
    }
    if (n >= 0 && n * scale >= k->a && n * scale <= k->b) {
        *(unsigned *)field = (unsigned)(n * scale);
        return true;
    }
    settings_error(ld,
                   "%s '" SHOW "' must be a duration from %dms to %ds "
                   "(a number with ms or s; a bare number is seconds)",
                   k->name, v, k->a, k->b / 1000);
    return false;
}

/* Splits v in place at commas and white space; the items point into v.
 * Returns the number of items, or -1 when out of memory. */
static long split(char *v, char ***items)
{
    size_t n = 0, cap = 0;
    char **list = NULL;
    char *save = NULL;
    for (char *tok = strtok_r(v, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **more = realloc(list, cap * sizeof *list);
            if (more == NULL) {
                free(list);
                return -1;
            }
            list = more;
        }
        list[n++] = tok;
    }
    *items = list;
    return (long)n;
}

/* Checks (and may rewrite in place) one item of a list. */
typedef bool (*item_check)(char *item);

/* Parses a list whose items must pass `ok`, into the settings_list at
 * field; `what` describes a good item in the message. */
static bool set_list(settings_loader *ld, const settings_key *k, void *field,
                     char *v, item_check ok, const char *what)
{
    char **items;
    long n = split(v, &items);
    if (n < 0) {
        settings_error(ld, "out of memory");
        return false;
    }
    for (long i = 0; i < n; i++) {
        if (!ok(items[i])) {
            settings_error(ld, "%s: '" SHOW "' is not %s", k->name, items[i],
                           what);
            free(items);
            return false;
        }
    }
    settings_list fresh = {NULL, 0};
    if (n > 0 && (fresh.items = calloc((size_t)n, sizeof(char *))) == NULL)
        n = -1;
    for (long i = 0; i < n; i++) {
        if ((fresh.items[i] = strdup(items[i])) == NULL) {
            n = -1;
            break;
        }
        fresh.n++;
    }
    free(items);
    settings_list *old = field;
    if (n < 0) {
        for (size_t i = 0; i < fresh.n; i++)
            free(fresh.items[i]);
        free(fresh.items);
        settings_error(ld, "out of memory");
        return false;
    }
    for (size_t i = 0; i < old->n; i++)
        free(old->items[i]);
    free(old->items);
    *old = fresh;
    return true;
}

/* A name server: ADDR, IPv4:PORT or [IPv6]:PORT. */
static bool server_ok(char *item)
{
    unsigned char buf[16];
    char host[64];
    if (inet_pton(AF_INET, item, buf) == 1 ||
        inet_pton(AF_INET6, item, buf) == 1)
        return true;
    if (item[0] == '[') {
        char *end = strchr(item, ']');
        size_t len = end ? (size_t)(end - item - 1) : sizeof host;
        if (len >= sizeof host)
            return false;
        memcpy(host, item + 1, len);
        host[len] = '\0';
        if (inet_pton(AF_INET6, host, buf) != 1)
            return false;
        return end[1] == ':' && port(end + 2) > 0;
    }
    char *colon = strchr(item, ':');
    if (colon == NULL || (size_t)(colon - item) >= sizeof host)
        return false;
    memcpy(host, item, (size_t)(colon - item));
    host[colon - item] = '\0';
    return inet_pton(AF_INET, host, buf) == 1 && port(colon + 1) > 0;
}

/* A domain name; lower-cased. */
static bool domain_item(char *item)
{
    lower(item);
    return domain_ok(item);
}

/* An address local@domain or @domain; the domain is lower-cased. */
static bool recipient_item(char *item)
{
    char *at = strrchr(item, '@');
    if (at == NULL || (at != item && !local_ok(item, (size_t)(at - item))))
        return false;
    lower(at + 1);
    return domain_ok(at + 1);
}

/* A bare local part, or an address local@domain (domain lower-cased). */
static bool exception_item(char *item)
{
    if (strchr(item, '@') == NULL)
        return local_ok(item, strlen(item));
    return item[0] != '@' && recipient_item(item);
}

/* A list of name servers. */
bool settings_parse_servers(settings_loader *ld, const settings_key *k,
                            settings *s, void *field, char *v)
{
    (void)s;
    return set_list(ld, k, field, v, server_ok,
                    "ADDR, ADDR:PORT or [IPv6]:PORT with a port from 1 to "
                    "65535");
}

/* A list of domain names, lower-cased. */
bool settings_parse_domains(settings_loader *ld, const settings_key *k,
                            settings *s, void *field, char *v)
{
    (void)s;
    return set_list(ld, k, field, v, domain_item, "a domain name");
}

/* A list of addresses or @domains. */
bool settings_parse_recipients(settings_loader *ld, const settings_key *k,
                               settings *s, void *field, char *v)
{
    (void)s;
    return set_list(ld, k, field, v, recipient_item,
                    "an address (local@domain) or @domain");
}

/* A list of local parts or addresses. */
bool settings_parse_exceptions(settings_loader *ld, const settings_key *k,
                               settings *s, void *field, char *v)
{
    (void)s;
    return set_list(ld, k, field, v, exception_item,
                    "a local part (postmaster) or an address");
}

/* A list of networks into s->trusted and s->n_trusted. */
bool settings_parse_nets(settings_loader *ld, const settings_key *k,
                         settings *s, void *field, char *v)
{
    (void)field;
    char **items;
    long n = split(v, &items);
    settings_net *nets = NULL;
    if (n < 0 || (n > 0 && (nets = calloc((size_t)n, sizeof *nets)) == NULL)) {
        free(items);
        settings_error(ld, "out of memory");
        return false;
    }
    for (long i = 0; i < n; i++) {
        if (settings_parse_net(items[i], &nets[i]) != 0) {
            settings_error(ld,
                           "%s: '" SHOW "' is not a network (ADDR or "
                           "ADDR/LEN, LEN up to 32 for IPv4, 128 for IPv6)",
                           k->name, items[i]);
            free(items);
            free(nets);
            return false;
        }
    }
    free(items);
    free(s->trusted);
    s->trusted = nets;
    s->n_trusted = (size_t)n;
    return true;
}

/* accept, reject or tempfail (k->a == 1: accept only). */
bool settings_parse_action(settings_loader *ld, const settings_key *k,
                           settings *s, void *field, char *v)
{
    (void)s;
    static const struct choice c[] = {
        {"accept", SETTINGS_ACCEPT},
        {"reject", SETTINGS_REJECT},
        {"tempfail", SETTINGS_TEMPFAIL},
    };
    int i = choose(c, N(c), v);
    if (i < 0) {
        settings_error(ld, "%s '" SHOW "' must be accept, reject or tempfail",
                       k->name, v);
        return false;
    }
    if (k->a == 1 && c[i].value != SETTINGS_ACCEPT) {
        settings_error(ld, "%s '%s': a pass can only be accepted", k->name, v);
        return false;
    }
    *(settings_action *)field = (settings_action)c[i].value;
    return true;
}

/* True for the codes after which the MTA closes the SMTP session. */
static bool closes_session(int code)
{
    return code == 421 || code == 521;
}

/* Writes the codes of class `cls` legal at every stage of `st` that keep
 * the session open, space separated, into buf. */
static void usable_codes(int cls, const replies_stage *st, size_t n_st,
                         char *buf, size_t len)
{
    char all[128];
    size_t used = 0;
    buf[0] = '\0';
    replies_stage_failures(st[0], all, sizeof all);
    char *save = NULL;
    for (char *t = strtok_r(all, " ", &save); t;
         t = strtok_r(NULL, " ", &save)) {
        int code = atoi(t);
        bool ok = code / 100 == cls && !closes_session(code);
        for (size_t i = 0; ok && i < n_st; i++)
            ok = replies_stage_allows(st[i], code);
        if (ok && used + 5 < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%d",
                                     used ? " " : "", code);
    }
}

/* A reply code of class k->a, legal at its stages, keeping the session. */
bool settings_parse_code(settings_loader *ld, const settings_key *k,
                         settings *s, void *field, char *v)
{
    (void)s;
    static const replies_stage reject_st[] = {REPLIES_STAGE_RCPT};
    static const replies_stage temp_st[] = {REPLIES_STAGE_MAIL,
                                            REPLIES_STAGE_RCPT};
    const replies_stage *st = k->a == 5 ? reject_st : temp_st;
    size_t n_st = k->a == 5 ? N(reject_st) : N(temp_st);
    char codes[128];
    long code = strlen(v) == 3 ? number(v, 3) : -1;
    if (code / 100 != k->a) {
        settings_error(ld, "%s '" SHOW "' must be a %dxx reply code", k->name,
                       v, k->a);
        return false;
    }
    for (size_t i = 0; i < n_st; i++) {
        if (!replies_stage_allows(st[i], (int)code)) {
            usable_codes(k->a, &st[i], 1, codes, sizeof codes);
            settings_error(ld,
                           "%s %ld is not allowed at %s (allowed there: "
                           "%s)",
                           k->name, code, replies_stage_name(st[i]), codes);
            return false;
        }
    }
    if (closes_session((int)code)) {
        usable_codes(k->a, st, n_st, codes, sizeof codes);
        settings_error(ld, "%s %ld closes the SMTP session (use one of: %s)",
                       k->name, code, codes);
        return false;
    }
    *(int *)field = (int)code;
    return true;
}

/* A reply text template with only the known variables. */
bool settings_parse_template(settings_loader *ld, const settings_key *k,
                             settings *s, void *field, char *v)
{
    (void)s;
    static const char *const names[] = {"result",      "sender", "identity",
                                        "domain",      "ip",     "helo",
                                        "explanation", "problem"};
    char why[128];
    if (*v == '\0') {
        settings_error(ld, "%s must not be empty", k->name);
        return false;
    }
    if (strlen(v) > TEXT_REPLY_MAX) {
        settings_error(ld, "%s is longer than %d bytes", k->name,
                       TEXT_REPLY_MAX);
        return false;
    }
    if (!text_template_ok(v, names, N(names), why, sizeof why)) {
        settings_error(ld,
                       "%s: %s (variables: %%{result} %%{sender} "
                       "%%{identity} %%{domain} %%{ip} %%{helo} "
                       "%%{explanation} %%{problem})",
                       k->name, why);
        return false;
    }
    return set_string(ld, field, v);
}

/* An authserv-id: letters, digits, '-', '.' and '_' (empty: none). */
bool settings_parse_token(settings_loader *ld, const settings_key *k,
                          settings *s, void *field, char *v)
{
    (void)s;
    bool ok = strlen(v) <= 255;
    for (char *p = v; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr("-._", *p);
    if (ok)
        return set_string(ld, field, v);
    settings_error(ld,
                   "%s '" SHOW "' may hold only letters, digits, '-', "
                   "'.' and '_'",
                   k->name, v);
    return false;
}

/* Parses ADDR or ADDR/LEN into the 16-byte form, host bits cleared. */
int settings_parse_net(const char *text, settings_net *out)
{
    char buf[64];
    if (text == NULL || out == NULL || strlen(text) >= sizeof buf)
        return -1;
    strcpy(buf, text);
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    settings_net n = {{0}, 0};
    unsigned base, max;
    if (inet_pton(AF_INET, buf, n.addr + 12) == 1) {
        n.addr[10] = n.addr[11] = 0xff;
        base = 96;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, n.addr) == 1) {
        base = 0;
        max = 128;
    } else {
        return -1;
    }
    long len = slash ? number(slash + 1, 3) : (long)max;
    if (len < 0 || len > (long)max)
        return -1;
    n.prefix = base + (unsigned)len;
    for (unsigned bit = n.prefix; bit < 128; bit++)
        n.addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    *out = n;
    return 0;
}

/* True when the first net->prefix bits of addr equal the net's. */
bool settings_net_contains(const settings_net *net, const uint8_t addr[16])
{
    if (net == NULL || addr == NULL || net->prefix > 128)
        return false;
    unsigned full = net->prefix / 8, rest = net->prefix % 8;
    if (memcmp(net->addr, addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (net->addr[full] & mask) == (addr[full] & mask);
}

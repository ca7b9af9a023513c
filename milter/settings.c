/*
 * settings.c - spfgate's configuration: the table of keys and the loader.
 *
 * Owns: the key table (one row per key: name, default text, parser and
 * the field it fills) and every settings object with the strings, lists
 * and networks it points to. The defaults are parsed from the table by
 * the same code as a file's values, so settings_defaults() is exactly an
 * empty file. A loaded object is never changed; it is shared by reference
 * (settings_ref/settings_unref, atomic) and freed at the last unref.
 *
 * Fails: settings_load reports every problem of a file as
 * "FILE:LINE: reason" (or "FILE: reason" when the file cannot be read)
 * and then returns NULL; nothing is half loaded. Out of memory is
 * reported the same way.
 */
#include "config.h"

#include "settings.h"
#include "settings_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD(f) offsetof(settings, f)
#define ACTION(r) offsetof(settings, action[r])

/* The table: the key's name, its parser (settings_parse.h), the field it
 * fills, two parser arguments and the default, written as in a file. */
static const settings_key keys[] = {
    {"socket", settings_parse_socket, FIELD(socket), 0, 0,
     "unix:/run/spfgate/spfgate.sock"},
    {"socket_owner", settings_parse_name, FIELD(socket_owner), 0, 0, ""},
    {"socket_group", settings_parse_name, FIELD(socket_group), 0, 0, ""},
    {"socket_mode", settings_parse_mode, FIELD(socket_mode), 0, 0, "0660"},
    {"user", settings_parse_name, FIELD(user), 0, 0, ""},
    {"group", settings_parse_name, FIELD(group), 0, 0, ""},
    {"pidfile", settings_parse_path, FIELD(pidfile), 0, 0, ""},
    {"stats_file", settings_parse_path, FIELD(stats_file), 0, 0, ""},
    {"log", settings_parse_log, FIELD(log_syslog), 0, 0, "syslog"},
    {"log_facility", settings_parse_facility, FIELD(log_facility), 0, 0,
     "mail"},
    {"log_level", settings_parse_level, FIELD(log_level), 0, 0, "info"},
    {"milter_timeout", settings_parse_uint, FIELD(milter_timeout), 1, 86400,
     "7200"},
    {"check_helo", settings_parse_bool, FIELD(check_helo), 0, 0, "yes"},
    {"dns_servers", settings_parse_servers, FIELD(dns_servers), 0, 0, ""},
    {"dns_timeout", settings_parse_duration, FIELD(dns_timeout_ms), 100, 30000,
     "2000ms"},
    {"deadline", settings_parse_duration, FIELD(deadline_ms), 500, 60000, "8s"},
    {"dns_cache_size", settings_parse_uint, FIELD(dns_cache_size), 0, 1000000,
     "10000"},
    {"dns_negative_ttl_max", settings_parse_duration,
     FIELD(dns_negative_ttl_max_ms), 1000, 86400000, "300s"},
    {"trusted_networks", settings_parse_nets, FIELD(trusted), 0, 0,
     "127.0.0.0/8 ::1"},
    {"skip_auth", settings_parse_bool, FIELD(skip_auth), 0, 0, "yes"},
    {"exempt_senders", settings_parse_domains, FIELD(exempt_senders), 0, 0, ""},
    {"exempt_recipients", settings_parse_recipients, FIELD(exempt_recipients),
     0, 0, ""},
    {"rcpt_exceptions", settings_parse_exceptions, FIELD(rcpt_exceptions), 0, 0,
     "postmaster"},
    {"on_pass", settings_parse_action, ACTION(SPFCHECK_PASS), 1, 0, "accept"},
    {"on_fail", settings_parse_action, ACTION(SPFCHECK_FAIL), 0, 0, "reject"},
    {"on_softfail", settings_parse_action, ACTION(SPFCHECK_SOFTFAIL), 0, 0,
     "accept"},
    {"on_neutral", settings_parse_action, ACTION(SPFCHECK_NEUTRAL), 0, 0,
     "accept"},
    {"on_none", settings_parse_action, ACTION(SPFCHECK_NONE), 0, 0, "accept"},
    {"on_permerror", settings_parse_action, ACTION(SPFCHECK_PERMERROR), 0, 0,
     "accept"},
    {"on_temperror", settings_parse_action, ACTION(SPFCHECK_TEMPERROR), 0, 0,
     "tempfail"},
    {"dry_run", settings_parse_bool, FIELD(dry_run), 0, 0, "no"},
    {"reject_code", settings_parse_code, FIELD(reject_code), 5, 0, "550"},
    {"tempfail_code", settings_parse_code, FIELD(tempfail_code), 4, 0, "451"},
    {"reject_text", settings_parse_template, FIELD(reject_text), 0, 0,
     "\"SPF %{result}: %{ip} is not allowed to send mail as %{identity}. "
     "%{explanation}\""},
    {"tempfail_text", settings_parse_template, FIELD(tempfail_text), 0, 0,
     "\"SPF check of %{sender} from %{ip} failed temporarily (%{problem}), "
     "try again later\""},
    {"add_received_spf", settings_parse_bool, FIELD(add_received_spf), 0, 0,
     "yes"},
    {"add_auth_results", settings_parse_bool, FIELD(add_auth_results), 0, 0,
     "yes"},
    {"authserv_id", settings_parse_token, FIELD(authserv_id), 0, 0, ""},
};

/* The state of one load. */
struct settings_loader {
    const char *path;
    unsigned line;
    void (*report)(void *ctx, const char *msg);
    void *ctx;
    unsigned errors;
    unsigned set_on[N(keys)]; /* line that set the key, 0: default */
    bool bad[N(keys)];        /* the key's value was refused */
};

/* Reports "FILE:LINE: reason" (or "FILE: reason") and counts it. */
void settings_error(settings_loader *ld, const char *fmt, ...)
{
    char reason[768], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    for (char *p = reason; *p != '\0'; p++) /* it quotes the file's bytes */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    if (ld->path != NULL && ld->line > 0)
        snprintf(msg, sizeof msg, "%s:%u: %s", ld->path, ld->line, reason);
    else if (ld->path != NULL)
        snprintf(msg, sizeof msg, "%s: %s", ld->path, reason);
    else
        snprintf(msg, sizeof msg, "built-in default: %s", reason);
    ld->errors++;
    if (ld->report != NULL)
        ld->report(ld->ctx, msg);
}

/* Frees a list's items and empties it. */
static void list_clear(settings_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Frees everything a settings object holds, and the object. */
static void settings_free(settings *s)
{
    char **strings[] = {&s->socket,      &s->socket_owner,  &s->socket_group,
                        &s->user,        &s->group,         &s->pidfile,
                        &s->reject_text, &s->tempfail_text, &s->authserv_id,
                        &s->stats_file,  &s->path};
    for (size_t i = 0; i < N(strings); i++)
        free(*strings[i]);
    list_clear(&s->dns_servers);
    list_clear(&s->exempt_senders);
    list_clear(&s->exempt_recipients);
    list_clear(&s->rcpt_exceptions);
    free(s->trusted);
    free(s);
}

/* Finds a key by name; returns its index or -1. */
static int key_index(const char *name)
{
    for (size_t i = 0; i < N(keys); i++)
        if (strcmp(keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Runs key i's parser on value; marks the key bad on refusal. */
static void apply(settings_loader *ld, settings *s, size_t i, char *value)
{
    if (!keys[i].parse(ld, &keys[i], s, (char *)s + keys[i].off, value))
        ld->bad[i] = true;
}

static char *value_of(settings_loader *ld, char *v);

/* Fills s with every default of the table, parsed as a file's values. */
static void apply_defaults(settings_loader *ld, settings *s)
{
    for (size_t i = 0; i < N(keys); i++) {
        char *copy = strdup(keys[i].def);
        if (copy == NULL) {
            settings_error(ld, "out of memory");
            return;
        }
        char *value = value_of(ld, copy);
        if (value != NULL)
            apply(ld, s, i, value);
        free(copy);
    }
}

/* Trims white space at both ends of s, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    char *e = s + strlen(s);
    while (e > s &&
           (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

/* Cuts a comment off the value: '#' at its start or after white space. A
 * value in double quotes keeps its '#'; one pair of quotes is removed.
 * Returns the value, or NULL after reporting a quoting problem. */
static char *value_of(settings_loader *ld, char *v)
{
    v = trim(v);
    if (*v == '"') {
        char *end = strchr(v + 1, '"');
        if (end == NULL) {
            settings_error(ld, "unterminated quoted value");
            return NULL;
        }
        char *rest = trim(end + 1);
        if (*rest != '\0' && *rest != '#') {
            settings_error(ld, "text after the closing quote");
            return NULL;
        }
        if (*rest == '#' && rest == end + 1) {
            settings_error(ld, "text after the closing quote");
            return NULL;
        }
        *end = '\0';
        return v + 1;
    }
    for (char *p = v; *p != '\0'; p++) {
        if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    }
    return trim(v);
}

/* Handles one line of the file. */
static void load_line(settings_loader *ld, settings *s, char *line)
{
    char *p = trim(line);
    if (*p == '\0' || *p == '#')
        return;
    char *eq = strchr(p, '=');
    if (eq == NULL) {
        settings_error(ld, "expected 'key = value', found no '='");
        return;
    }
    *eq = '\0';
    char *name = trim(p);
    if (*name == '\0') {
        settings_error(ld, "no key before '='");
        return;
    }
    int i = key_index(name);
    if (i < 0) {
        settings_error(ld, "unknown key '%.64s'", name);
        return;
    }
    if (ld->set_on[i] != 0) {
        settings_error(ld, "duplicate key '%s' (first set on line %u)", name,
                       ld->set_on[i]);
        return;
    }
    ld->set_on[i] = ld->line;
    char *value = value_of(ld, eq + 1);
    if (value == NULL) {
        ld->bad[i] = true;
        return;
    }
    apply(ld, s, (size_t)i, value);
}

/* Checks the keys that limit each other, once the whole file is read. */
static void cross_check(settings_loader *ld, const settings *s)
{
    int t = key_index("dns_timeout"), d = key_index("deadline");
    if (ld->bad[t] || ld->bad[d] || s->dns_timeout_ms <= s->deadline_ms)
        return;
    unsigned a = ld->set_on[t], b = ld->set_on[d];
    ld->line = a > b ? a : b;
    settings_error(ld, "dns_timeout (%ums) must not exceed deadline (%ums)",
                   s->dns_timeout_ms, s->deadline_ms);
}

/* Reads the file into s, reporting every problem. */
static void load_file(settings_loader *ld, settings *s, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) != -1) {
        ld->line++;
        if (memchr(line, '\0', (size_t)len) != NULL) {
            settings_error(ld, "NUL byte in line");
            continue;
        }
        load_line(ld, s, line);
    }
    if (ferror(f)) {
        ld->line = 0;
        settings_error(ld, "%s", strerror(errno));
    }
    free(line);
}

/* A fresh object holding one reference and the defaults, or NULL. */
static settings *settings_new(settings_loader *ld)
{
    settings *s = calloc(1, sizeof *s);
    if (s == NULL) {
        settings_error(ld, "out of memory");
        return NULL;
    }
    s->refs = 1;
    apply_defaults(ld, s);
    return s;
}

/* Loads a file over the defaults; NULL after reporting every problem. */
settings *settings_load(const char *path,
                        void (*report)(void *ctx, const char *msg), void *ctx)
{
    settings_loader ld = {
        .path = path ? path : "(null)", .report = report, .ctx = ctx};
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL) {
        settings_error(&ld, "%s", strerror(path ? errno : EINVAL));
        return NULL;
    }
    settings *s = settings_new(&ld);
    if (s != NULL) {
        load_file(&ld, s, f);
        cross_check(&ld, s);
        s->path = strdup(path);
        if (s->path == NULL)
            settings_error(&ld, "out of memory");
    }
    fclose(f);
    if (ld.errors > 0 && s != NULL) {
        settings_free(s);
        s = NULL;
    }
    return s;
}

/* The defaults of the table, as from an empty file. */
settings *settings_defaults(void)
{
    settings_loader ld = {.path = NULL};
    settings *s = settings_new(&ld);
    if (s != NULL && ld.errors > 0) {
        settings_free(s);
        s = NULL;
    }
    return s;
}

/* Takes one more reference (atomically). */
settings *settings_ref(settings *s)
{
    if (s != NULL)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

/* Drops a reference; the last one frees everything. */
void settings_unref(settings *s)
{
    if (s == NULL)
        return;
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        settings_free(s);
}

/* True for an IPv4 address in its v4-mapped form (::ffff:a.b.c.d). */
static bool is_mapped(const uint8_t a[16])
{
    static const uint8_t head[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, head, sizeof head) == 0;
}

/* An IPv4 client matches IPv4 networks only: "::/0" does not trust every
 * IPv4 client, "0.0.0.0/0" (or "::ffff:0:0/96") does. */
bool settings_is_trusted(const settings *s, const void *sockaddr)
{
    if (s == NULL || sockaddr == NULL)
        return false;
    uint8_t addr[16];
    const struct sockaddr *sa = sockaddr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = sockaddr;
        memset(addr, 0, 10);
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = sockaddr;
        memcpy(addr, &in6->sin6_addr, 16);
    } else {
        return false;
    }
    bool v4 = is_mapped(addr);
    for (size_t i = 0; i < s->n_trusted; i++) {
        const settings_net *net = &s->trusted[i];
        if (v4 && (net->prefix < 96 || !is_mapped(net->addr)))
            continue;
        if (settings_net_contains(net, addr))
            return true;
    }
    return false;
}

/* The configuration word of an action. */
const char *settings_action_name(settings_action a)
{
    switch (a) {
    case SETTINGS_ACCEPT:
        return "accept";
    case SETTINGS_REJECT:
        return "reject";
    case SETTINGS_TEMPFAIL:
        return "tempfail";
    }
    return "unknown";
}

/* The i-th key of the table, NULL past the end. */
const char *settings_key_name(size_t i)
{
    return i < N(keys) ? keys[i].name : NULL;
}

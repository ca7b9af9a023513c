/*
 * settings.h - spfgate's configuration: the typed table of keys, defaults
 * and validators, and the loaded, immutable settings.
 *
 * Owns: every setting's value and the strings it points to. A loaded
 * settings object never changes; reload loads a new one (a connection
 * keeps the one it started with: settings_ref/settings_unref).
 *
 * Fails: settings_load reports every problem as "FILE:LINE: reason" and
 * returns NULL; nothing is half loaded.
 */
#ifndef SPFGATE_SETTINGS_H
#define SPFGATE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spfcheck.h"

/* What to do with a message, per SPF result. */
typedef enum {
    SETTINGS_ACCEPT,   /* accept (and mark with headers) */
    SETTINGS_REJECT,   /* permanent refusal */
    SETTINGS_TEMPFAIL, /* temporary refusal */
} settings_action;

/* An IPv4 or IPv6 network. IPv4 is stored as ::ffff:a.b.c.d/96+len. */
typedef struct {
    uint8_t addr[16];
    unsigned prefix; /* 0..128, over the 16-byte form */
} settings_net;

/* A list of strings, owned by the settings object. */
typedef struct {
    char **items;
    size_t n;
} settings_list;

typedef struct settings settings;
struct settings {
    /* Daemon */
    char *socket;       /* "unix:PATH", "inet:PORT@ADDR", "inet6:PORT@ADDR" */
    char *socket_owner; /* unix socket owner (user name), NULL: unchanged */
    char *socket_group; /* unix socket group, NULL: unchanged */
    mode_t socket_mode; /* unix socket mode, default 0660 */
    char *user;         /* drop to this user after the socket exists */
    char *group;        /* and this group (default: the user's) */
    char *pidfile;      /* NULL: none */
    char *stats_file;   /* counters written on SIGUSR1 and at exit */
    bool log_syslog;    /* log = syslog (default) or stderr */
    int log_facility;   /* LOG_MAIL by default */
    int log_level;      /* a log_level value, default info */
    unsigned milter_timeout; /* seconds libmilter waits on the MTA, 7200 */

    /* SPF and DNS */
    bool check_helo; /* evaluate the HELO identity too (default yes) */
    settings_list dns_servers; /* "ADDR[:PORT]" list; empty: the system's */
    unsigned dns_timeout_ms;   /* per query, default 2000 */
    unsigned deadline_ms;      /* per evaluation, default 8000 */
    unsigned dns_cache_size;   /* answers cached, default 10000, 0: none */
    unsigned dns_negative_ttl_max_ms; /* NXDOMAIN/NODATA cap, default 300s */

    /* Who is not checked */
    settings_net *trusted; /* default 127.0.0.0/8 ::1 */
    size_t n_trusted;
    bool skip_auth;                  /* SMTP AUTH senders skip (default yes) */
    settings_list exempt_senders;    /* sender domains never checked */
    settings_list exempt_recipients; /* recipients whose mail is not checked */
    settings_list rcpt_exceptions;   /* recipients let through a refusal:
                                        "postmaster" (any domain) or an address;
                                        default postmaster */

    /* Policy */
    settings_action
        action[SPFCHECK_RESULT_COUNT]; /* on_pass ... on_permerror */
    bool dry_run;        /* log "would reject", add headers, never refuse */
    int reject_code;     /* default 550; must be legal at RCPT */
    int tempfail_code;   /* default 451; must be legal at MAIL and RCPT */
    char *reject_text;   /* template, see conf/spfgate.conf */
    char *tempfail_text; /* template */

    /* Headers */
    bool add_received_spf; /* default yes */
    bool add_auth_results; /* default yes */
    char *authserv_id;     /* NULL: the MTA's {j} macro */

    /* Bookkeeping */
    char *path; /* the file it was loaded from */
    int refs;   /* settings_ref/unref, atomically */
};

/* Loads FILE. On success returns the settings (one reference). On failure
 * returns NULL after calling report(ctx, "FILE:LINE: reason") once per
 * problem (every problem of the file, not just the first). */
settings *settings_load(const char *path,
                        void (*report)(void *ctx, const char *msg), void *ctx);

/* The built-in defaults, as if from an empty file (never NULL unless out of
 * memory). */
settings *settings_defaults(void);

/* Takes one more reference; returns s. */
settings *settings_ref(settings *s);

/* Drops a reference; frees at zero. Accepts NULL. */
void settings_unref(settings *s);

/* True when the client address (AF_INET or AF_INET6, v4-mapped treated as
 * IPv4) is in the trusted networks. */
bool settings_is_trusted(const settings *s, const void *sockaddr);

/* Parses "ADDR/LEN" or "ADDR" (IPv4 or IPv6) into a net. Returns 0 or -1. */
int settings_parse_net(const char *text, settings_net *out);

/* True when `addr` (a 16-byte v4-mapped or v6 address) is inside `net`. */
bool settings_net_contains(const settings_net *net, const uint8_t addr[16]);

/* Name of an action: "accept", "reject", "tempfail". */
const char *settings_action_name(settings_action a);

/* Name of the i-th configuration key (table order), NULL past the last:
 * lets tests and documentation checks walk every key. */
const char *settings_key_name(size_t i);

#endif

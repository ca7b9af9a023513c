/*
 * spfrecord.h - SPF record checks (RFC 7208 section 12 ABNF), macro
 * expansion (RFC 7208 section 7) and the rewriting of a checked record into
 * an equivalent one that libspf2 1.2.10 evaluates correctly.
 *
 * Owns nothing: pure functions over the caller's buffers; the only outside
 * call is the caller's %{p} and synthetic-name callbacks.
 *
 * Fails: every function returns -1 with a reason for a record or macro that
 * breaks the grammar (the caller makes that a permerror).
 */
#ifndef SPFGATE_SPFRECORD_H
#define SPFGATE_SPFRECORD_H

#include <stdbool.h>
#include <stddef.h>

/* The values macros expand to. */
typedef struct {
    int family;                /* AF_INET or AF_INET6 */
    unsigned char ip[16];      /* client address, 4 or 16 octets */
    const char *sender;        /* %{s} */
    const char *local;         /* %{l} */
    const char *sender_domain; /* %{o} */
    const char *domain;        /* %{d}, the current domain */
    const char *helo;          /* %{h} */
    const char *receiver;      /* %{r} */
    /* %{p}: writes the validated client name into out; NULL: "unknown" */
    void (*ptr_name)(void *ctx, char *out, size_t len);
    void *ctx;
} spfrecord_vars;

/* Macro-string flavours. */
typedef enum {
    SPFRECORD_DOMAIN, /* a domain-spec: no c/r/t, cut to 253 octets */
    SPFRECORD_EXP     /* explanation text: c, r, t allowed */
} spfrecord_mode;

/* Synthetic lookups for what libspf2 cannot express (a or mx with a /0
 * prefix): "any A of domain", "any AAAA", "any A of any MX host", "any
 * AAAA of any MX host". */
typedef enum {
    SPFRECORD_ANY_A,
    SPFRECORD_ANY_AAAA,
    SPFRECORD_ANY_MX_A,
    SPFRECORD_ANY_MX_AAAA,
    SPFRECORD_ALIAS /* the name itself, which libspf2 cannot spell */
} spfrecord_synth_kind;

/* Gets a name whose A lookup answers the synthetic question; -1 if none. */
typedef int (*spfrecord_synth_fn)(void *ctx, spfrecord_synth_kind kind,
                                  const char *domain, char *name, size_t len);

/* What a rewritten record leaves to the caller. */
typedef struct {
    char redirect[256];  /* expanded redirect= target, "" if none/ignored */
    char exp[256];       /* expanded exp= target, "" if none */
    unsigned mechanisms; /* mechanisms written (redirect counts as one) */
} spfrecord_info;

/* True when a TXT string is an SPF version 1 record ("v=spf1" alone or
 * followed by a space, any case). */
bool spfrecord_is_spf1(const char *txt);

/* Checks a record against RFC 7208's grammar, then writes an equivalent
 * record for libspf2 into out: macros expanded (except nothing), terms
 * after "all" and unknown modifiers dropped, redirect= last (or dropped
 * when "all" is present), exp= removed (see info), prefixes of /0 and
 * address mechanisms of the other family rewritten, ip4:/ip6: terms
 * decided against v's address (left out when they miss it). Returns 0, or
 * -1 with the reason in why. */
int spfrecord_rewrite(const char *txt, const spfrecord_vars *v,
                      spfrecord_synth_fn synth, void *sctx, char *out,
                      size_t outlen, spfrecord_info *info, char *why,
                      size_t whylen);

/* Expands the macro-string s[0..len) into out. Returns 0, or -1 on a
 * syntax error or when out is too small. With v == NULL only checks. */
int spfrecord_expand(const char *s, size_t len, const spfrecord_vars *v,
                     spfrecord_mode mode, char *out, size_t outlen);

#endif

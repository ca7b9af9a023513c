/*
 * headers.h - formatting of the Received-SPF (RFC 7208 9.1) and
 * Authentication-Results (RFC 8601) header values.
 *
 * Owns: nothing (pure functions over caller buffers). Every value that
 * came from the client or from DNS (HELO, local part, explanation,
 * problem text) is quoted or cleaned here so that it cannot end the
 * header, add a header line, or change how an RFC 8601 parser reads the
 * result.
 *
 * Fails: never; when a value does not fit it is cut (never mid-escape),
 * and the output is always a single line of printable ASCII.
 */
#ifndef SPFGATE_HEADERS_H
#define SPFGATE_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#include "spfcheck.h"

/* The most a header value may take, to stay within RFC 5322's 998-octet
 * line with the field name. */
#define HEADERS_VALUE_MAX 900

/* The facts about one evaluated identity. Strings may be NULL. */
typedef struct {
    spfcheck_result result;
    bool helo_identity;    /* true: identity=helo, false: mailfrom */
    const char *identity;  /* the checked identity (address or HELO name) */
    const char *client_ip; /* printable client address */
    const char *helo;      /* the HELO/EHLO argument as the client sent it */
    const char *envelope_from; /* the MAIL FROM address as sent ("" for <>) */
    const char *receiver;      /* our host name (authserv-id or {j}) */
    const char *mechanism;     /* matching mechanism, may be NULL */
    const char *problem;       /* for temperror/permerror, may be NULL */
} headers_spf;

/* Writes the Received-SPF value (without "Received-SPF: "). Returns the
 * length written. */
size_t headers_received_spf(const headers_spf *f, char *out, size_t outlen);

/* Writes the Authentication-Results value (without the field name) for
 * `authserv_id` with the MAIL FROM result and, when `helo` is not NULL,
 * the HELO result: "id; spf=pass smtp.mailfrom=a@b; spf=none smtp.helo=h".
 * Returns the length written. */
size_t headers_auth_results(const char *authserv_id, const headers_spf *mail,
                            const headers_spf *helo, char *out, size_t outlen);

/* True when an existing Authentication-Results value claims
 * `authserv_id` (RFC 8601 section 5: such headers must be removed):
 * compares the authserv-id token, case-insensitively, after leading
 * white space and comments. */
bool headers_ar_claims(const char *value, const char *authserv_id);

#endif

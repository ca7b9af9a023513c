/*
 * addr.h - envelope address and HELO parsing.
 *
 * Owns: nothing (pure functions over caller buffers).
 * Fails: never; malformed input is reported by the return value and the
 * output is always NUL-terminated.
 */
#ifndef SPFGATE_ADDR_H
#define SPFGATE_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* The most spfgate keeps of an address or HELO name. Longer values are
 * malformed for SPF purposes (RFC 5321 limits a path to 256 octets). */
#define ADDR_MAX 512

/* Turns a MAIL FROM argument as the MTA passes it ("<a@b>", "a@b", "<>",
 * "<@route,@route:a@b>") into the bare address ("" for the null sender).
 * Returns 0, or -1 when the argument is not a usable address (too long,
 * control or NUL-free 8-bit bytes are kept: SPF decides on the domain).
 * On -1, out holds "" . */
int addr_envelope(const char *arg, char *out, size_t outlen);

/* The domain part of a bare address (after the last '@'), or NULL. */
const char *addr_domain(const char *addr);

/* True when `name` is a syntactically plausible domain name: 1-253
 * octets, labels 1-63 of letters, digits, '-' and '_' not starting or
 * ending with '-', at least two labels, top label not all-numeric. */
bool addr_is_domain(const char *name);

#endif

/*
 * text.h - cleaning text that leaves spfgate: SMTP reply text and reply
 * templates.
 *
 * Owns: nothing (pure functions over caller buffers).
 * Fails: never; output is always NUL-terminated and within its limits.
 */
#ifndef SPFGATE_TEXT_H
#define SPFGATE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Longest reply text spfgate hands to libmilter (it refuses over 980). */
#define TEXT_REPLY_MAX 980

/* One template variable: %{name} is replaced by value (NULL: ""). */
typedef struct {
    const char *name;
    const char *value;
} text_var;

/* Cleans `in` for an SMTP reply: only printable ASCII (0x20-0x7e) is kept,
 * CR, LF, TAB and other bytes become one space each (runs of spaces
 * collapse), leading/trailing spaces go, every '%' is doubled, and the
 * result is at most min(outlen - 1, TEXT_REPLY_MAX) bytes, never ending in
 * half of a "%%" pair. NULL `in` gives "". Returns the length written. */
size_t text_clean_reply(const char *in, char *out, size_t outlen);

/* Expands a template: "%{name}" is replaced by the variable's value,
 * "%%" by '%'. Unknown names expand to "". Output is truncated to
 * outlen - 1. Returns the length written. The result still has to go
 * through text_clean_reply. */
size_t text_expand(const char *tmpl, const text_var *vars, size_t n_vars,
                   char *out, size_t outlen);

/* Checks a template at configuration time: every "%{name}" must be one of
 * `names`, every other '%' must be "%%". On error returns false and
 * writes the reason into err. */
bool text_template_ok(const char *tmpl, const char *const *names,
                      size_t n_names, char *err, size_t errlen);

#endif

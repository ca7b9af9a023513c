/*
 * text.c - cleaning text that leaves spfgate: SMTP reply text and reply
 * templates.
 *
 * Owns: nothing; every function works on caller buffers and keeps no
 * state, so all of them are thread-safe.
 *
 * Fails: never. Output is always NUL-terminated (when there is room for
 * the NUL at all) and within its limits; text that does not fit is cut,
 * and a cut never leaves half of a "%%" pair.
 */
#include "config.h"

#include "text.h"

#include <string.h>

/* True for the bytes an SMTP reply text may carry: printable ASCII. */
static bool printable(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e;
}

/* Cleans text for an SMTP reply (see text.h). */
size_t text_clean_reply(const char *in, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0)
        return 0;
    size_t limit = outlen - 1;
    if (limit > TEXT_REPLY_MAX)
        limit = TEXT_REPLY_MAX;
    size_t n = 0;
    bool space = false; /* a space is owed before the next printable byte */
    for (const unsigned char *p = (const unsigned char *)(in ? in : "");
         *p != '\0'; p++) {
        if (!printable(*p)) {
            space = n > 0;
            continue;
        }
        size_t need = (*p == '%' ? 2 : 1) + (space ? 1 : 0);
        if (n + need > limit)
            break;
        if (space)
            out[n++] = ' ';
        space = false;
        out[n++] = (char)*p;
        if (*p == '%')
            out[n++] = '%';
    }
    out[n] = '\0';
    return n;
}

/* The value of variable `name` (len bytes long), or "" if it is unknown. */
static const char *lookup(const char *name, size_t len, const text_var *vars,
                          size_t n_vars)
{
    for (size_t i = 0; i < n_vars; i++) {
        if (vars[i].name != NULL && strlen(vars[i].name) == len &&
            memcmp(vars[i].name, name, len) == 0)
            return vars[i].value ? vars[i].value : "";
    }
    return "";
}

/* Appends up to len bytes of s to out (capacity cap bytes before the NUL). */
static void append(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
    size_t room = cap - *n;
    if (len > room)
        len = room;
    memcpy(out + *n, s, len);
    *n += len;
}

/* Expands %{name} and %% in a template (see text.h). */
size_t text_expand(const char *tmpl, const text_var *vars, size_t n_vars,
                   char *out, size_t outlen)
{
    if (out == NULL || outlen == 0)
        return 0;
    size_t cap = outlen - 1, n = 0;
    const char *p = tmpl ? tmpl : "";
    while (*p != '\0' && n < cap) {
        if (p[0] == '%' && p[1] == '%') {
            append(out, cap, &n, "%", 1);
            p += 2;
            continue;
        }
        if (p[0] == '%' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (end != NULL) {
                const char *v =
                    lookup(p + 2, (size_t)(end - p - 2), vars, n_vars);
                append(out, cap, &n, v, strlen(v));
                p = end + 1;
                continue;
            }
        }
        append(out, cap, &n, p, 1); /* also a lone '%': kept as written */
        p++;
    }
    out[n] = '\0';
    return n;
}

/* True when `name` (len bytes) is one of `names`. */
static bool known(const char *name, size_t len, const char *const *names,
                  size_t n_names)
{
    for (size_t i = 0; i < n_names; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return true;
    return false;
}

/* Writes a reason into err, if there is room for one. */
static bool refuse(char *err, size_t errlen, const char *what, const char *at,
                   size_t len)
{
    if (err == NULL || errlen == 0)
        return false;
    if (len > 40)
        len = 40;
    size_t w = strlen(what);
    size_t n = 0;
    append(err, errlen - 1, &n, what, w);
    if (at != NULL) {
        append(err, errlen - 1, &n, " '", 2);
        append(err, errlen - 1, &n, at, len);
        append(err, errlen - 1, &n, "'", 1);
    }
    err[n] = '\0';
    return false;
}

/* Checks a template's variables and percent signs (see text.h). */
bool text_template_ok(const char *tmpl, const char *const *names,
                      size_t n_names, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (tmpl == NULL)
        return refuse(err, errlen, "no template", NULL, 0);
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (*p != '%')
            continue;
        if (p[1] == '%') {
            p++;
            continue;
        }
        if (p[1] != '{')
            return refuse(err, errlen,
                          "a lone '%' (write %% for a percent sign) at", p,
                          strlen(p));
        const char *end = strchr(p + 2, '}');
        if (end == NULL)
            return refuse(err, errlen, "unterminated variable", p, strlen(p));
        size_t len = (size_t)(end - p - 2);
        if (!known(p + 2, len, names, n_names))
            return refuse(err, errlen, "unknown variable", p, len + 3);
        p = end;
    }
    return true;
}

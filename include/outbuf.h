/*
 * outbuf.h - a bounded, always NUL-terminated output buffer.
 *
 * Owns: nothing (the caller's array). Fails: never; text that does not
 * fit is dropped and `overflow` is set, so the caller can refuse the
 * result instead of using a cut one.
 */
#ifndef SPFGATE_OUTBUF_H
#define SPFGATE_OUTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t cap, len;
    bool overflow;
} outbuf;

/* Appends n bytes, or sets overflow when they do not fit. */
static inline void outbuf_put(outbuf *o, const char *s, size_t n)
{
    if (o->len + n >= o->cap) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

/* Appends a string. */
static inline void outbuf_str(outbuf *o, const char *s)
{
    outbuf_put(o, s, strlen(s));
}

#endif

/*
 * fuzz_util.h - helpers shared by the libFuzzer targets: splitting an
 * input into NUL-terminated parts and failing loudly on a broken
 * invariant.
 *
 * Every part is copied into its own heap block of exactly its length plus
 * the NUL, so that AddressSanitizer sees a read past the end of any value.
 */
#ifndef SPFGATE_FUZZ_UTIL_H
#define SPFGATE_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Stops the run with a message when an invariant does not hold: abort()
 * makes libFuzzer keep the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken at %s:%d: %s: ", __FILE__,       \
                    __LINE__, #cond);                                          \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define FUZZ_MAX_PARTS 16

/* An input cut at its NUL bytes into at most FUZZ_MAX_PARTS strings (the
 * last part keeps the rest, NULs dropped). */
typedef struct {
    char *part[FUZZ_MAX_PARTS];
    size_t n;
} fuzz_parts;

/* A heap copy of data[0..n) with a NUL after it (never NULL). */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (data[i] != '\0')
            s[k++] = (char)data[i];
    s[k] = '\0';
    if (k < n) { /* shrink so the block ends right after the NUL */
        char *t = malloc(k + 1);
        if (t == NULL)
            abort();
        memcpy(t, s, k + 1);
        free(s);
        s = t;
    }
    return s;
}

/* Splits data at NUL bytes; absent parts are NULL. */
static inline void fuzz_split(const uint8_t *data, size_t size, fuzz_parts *p)
{
    memset(p, 0, sizeof *p);
    size_t start = 0;
    for (size_t i = 0; i <= size && p->n < FUZZ_MAX_PARTS; i++) {
        if (i == size || (data[i] == '\0' && p->n + 1 < FUZZ_MAX_PARTS)) {
            p->part[p->n++] = fuzz_strndup(data + start, i - start);
            start = i + 1;
        }
    }
}

static inline void fuzz_parts_free(fuzz_parts *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->part[i]);
    p->n = 0;
}

/* The i-th part or NULL. */
static inline const char *fuzz_part(const fuzz_parts *p, size_t i)
{
    return i < p->n ? p->part[i] : NULL;
}

/* True when s[0..n) is printable ASCII (0x20-0x7e) only. */
static inline int fuzz_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

#endif

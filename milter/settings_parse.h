/*
 * settings_parse.h - private to the settings module: the loader's state
 * and the value parsers that the key table of settings.c points to.
 *
 * Owns: nothing. Each parser checks one value as written in the file and,
 * when it is good, replaces the field's old value (freeing it).
 *
 * Fails: a parser refuses a bad value by reporting it through
 * settings_error ("FILE:LINE: reason") and returning false; the field
 * then keeps its previous value.
 */
#ifndef SPFGATE_SETTINGS_PARSE_H
#define SPFGATE_SETTINGS_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "settings.h"

typedef struct settings_loader settings_loader;
typedef struct settings_key settings_key;

/* Parses `value` (writable, already trimmed and unquoted) into `field`, a
 * member of s. Returns false after reporting a refusal. */
typedef bool (*settings_parser)(settings_loader *ld, const settings_key *k,
                                settings *s, void *field, char *value);

/* One row of the key table. */
struct settings_key {
    const char *name;
    settings_parser parse;
    size_t off;      /* the field's offset in struct settings */
    int a, b;        /* parser arguments (ranges, code class, ...) */
    const char *def; /* the default, as written in a file */
};

/* Reports one problem at the loader's current file and line. */
void settings_error(settings_loader *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The parsers, one per kind of value (see settings_parse.c). */
bool settings_parse_socket(settings_loader *, const settings_key *, settings *,
                           void *, char *);
bool settings_parse_name(settings_loader *, const settings_key *, settings *,
                         void *, char *);
bool settings_parse_mode(settings_loader *, const settings_key *, settings *,
                         void *, char *);
bool settings_parse_path(settings_loader *, const settings_key *, settings *,
                         void *, char *);
bool settings_parse_log(settings_loader *, const settings_key *, settings *,
                        void *, char *);
bool settings_parse_facility(settings_loader *, const settings_key *,
                             settings *, void *, char *);
bool settings_parse_level(settings_loader *, const settings_key *, settings *,
                          void *, char *);
bool settings_parse_uint(settings_loader *, const settings_key *, settings *,
                         void *, char *);
bool settings_parse_bool(settings_loader *, const settings_key *, settings *,
                         void *, char *);
bool settings_parse_servers(settings_loader *, const settings_key *, settings *,
                            void *, char *);
bool settings_parse_duration(settings_loader *, const settings_key *,
                             settings *, void *, char *);
bool settings_parse_nets(settings_loader *, const settings_key *, settings *,
                         void *, char *);
bool settings_parse_domains(settings_loader *, const settings_key *, settings *,
                            void *, char *);
bool settings_parse_recipients(settings_loader *, const settings_key *,
                               settings *, void *, char *);
bool settings_parse_exceptions(settings_loader *, const settings_key *,
                               settings *, void *, char *);
bool settings_parse_action(settings_loader *, const settings_key *, settings *,
                           void *, char *);
bool settings_parse_code(settings_loader *, const settings_key *, settings *,
                         void *, char *);
bool settings_parse_template(settings_loader *, const settings_key *,
                             settings *, void *, char *);
bool settings_parse_token(settings_loader *, const settings_key *, settings *,
                          void *, char *);

#endif

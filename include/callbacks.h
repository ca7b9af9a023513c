/*
 * callbacks.h - the libmilter callbacks of spfgate.
 *
 * Owns: the filter description handed to smfi_register and the current
 * settings new connections start with (swapped atomically on reload).
 * Fails: callbacks never exit; an internal problem is a logged temporary
 * failure (see respond.h).
 */
#ifndef SPFGATE_CALLBACKS_H
#define SPFGATE_CALLBACKS_H

#include <libmilter/mfapi.h>
#include <stdbool.h>

#include "settings.h"

/* The filter description for smfi_register. */
struct smfiDesc *callbacks_filter(void);

/* Makes `cfg` the settings of new connections (takes over the caller's
 * reference); connections already open keep theirs. */
void callbacks_set_settings(settings *cfg);

/* A new reference to the settings of new connections, or NULL. */
settings *callbacks_settings(void);

/* Tells whether the milter socket is TCP (before smfi_main): over TCP
 * every step is answered, over a unix socket the steps spfgate never
 * refuses at go unanswered when the MTA agrees. */
void callbacks_set_tcp(bool tcp);

/* Drops the current settings (at exit). */
void callbacks_shutdown(void);

#endif

/*
 * log.h - the one logging front end: syslog or stderr.
 *
 * Owns: the log destination and threshold, set once at start-up (and on
 * reload). Fails: never; a message that cannot be written is dropped.
 */
#ifndef SPFGATE_LOG_H
#define SPFGATE_LOG_H

#include <stdbool.h>

/* Severities, syslog's order (lower is more severe). */
typedef enum {
    LOG_LEVEL_ERR = 3,
    LOG_LEVEL_WARNING = 4,
    LOG_LEVEL_NOTICE = 5,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7
} log_level;

/* Sends messages to syslog with `facility` (a LOG_* facility value) when
 * use_syslog, else to stderr; drops messages less severe than `level`. */
void log_setup(const char *ident, bool use_syslog, int facility,
               log_level level);

/* Logs one line (no trailing newline needed). */
void log_msg(log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when messages of `level` are written (to skip costly formatting). */
bool log_enabled(log_level level);

#endif

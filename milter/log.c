/*
 * log.c - the one logging front end: syslog or stderr.
 *
 * Owns: the destination and threshold (process-wide, set at start-up and
 * on reload; read without locking, as a torn read can only misroute one
 * line). Fails: never; a line that cannot be written is dropped.
 */
#include "config.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

static bool use_syslog;
static log_level threshold = LOG_LEVEL_INFO;
static const char *tag = "spfgate";

void log_setup(const char *ident, bool syslog_on, int facility, log_level level)
{
    if (ident != NULL)
        tag = ident;
    if (use_syslog && !syslog_on)
        closelog();
    if (syslog_on)
        openlog(tag, LOG_PID | LOG_NDELAY, facility);
    use_syslog = syslog_on;
    threshold = level;
}

bool log_enabled(log_level level)
{
    return level <= threshold;
}

void log_msg(log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (use_syslog) {
        syslog((int)level, "%s", line);
        return;
    }
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%s]: %s\n",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
            tm.tm_sec, now.tv_nsec / 1000000, tag, names[level & 7], line);
}

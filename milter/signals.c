/*
 * signals.c - SIGHUP means reload, SIGUSR1 means stats.
 *
 * Owns: the signal-waiting thread, and a definition of sigwait(3) for
 * libmilter.
 *
 * Why the sigwait definition: libmilter starts its own thread that waits
 * for SIGHUP, SIGTERM and SIGINT and stops the milter on any of them. With
 * two threads waiting for SIGHUP the kernel may wake either, so a reload
 * could stop the daemon. The executable's definitions come first in the
 * dynamic symbol lookup, so libmilter calls this sigwait, which leaves out
 * the signals spfgate waits for itself (SIGHUP and SIGUSR1) and otherwise
 * behaves like the C library's. spfgate's own thread uses sigwaitinfo.
 * The daemon test sends SIGHUP under load and checks the daemon stays up.
 *
 * Fails: see signals.h.
 */
#include "config.h"

#include "signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

static void (*hup_handler)(void);
static void (*usr1_handler)(void);
static bool started;

/* sigwait for libmilter's thread: never takes spfgate's own signals. */
int sigwait(const sigset_t *set, int *sig)
{
    sigset_t wanted = *set;
    if (started) {
        sigdelset(&wanted, SIGHUP);
        sigdelset(&wanted, SIGUSR1);
    }
    for (;;) {
        int got = sigwaitinfo(&wanted, NULL);
        if (got > 0) {
            *sig = got;
            return 0;
        }
        if (errno != EINTR)
            return errno;
    }
}

/* The waiting thread: one handler at a time, in signal order. */
static void *waiter(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGHUP && hup_handler)
            hup_handler();
        else if (sig == SIGUSR1 && usr1_handler)
            usr1_handler();
    }
    return NULL;
}

int signals_start(void (*on_hup)(void), void (*on_usr1)(void))
{
    hup_handler = on_hup;
    usr1_handler = on_usr1;
    /* SIGTERM and SIGINT are blocked too: libmilter's thread, started
     * later, waits for them, and no other thread may take them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    started = true;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&t, &attr, waiter, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return 0;
}

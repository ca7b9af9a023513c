/*
 * signals.h - SIGHUP (reload) and SIGUSR1 (stats) for the daemon.
 *
 * Owns: a thread that waits for SIGHUP and SIGUSR1 and runs the given
 * handlers in turn (never two at once). libmilter's own signal thread
 * handles SIGTERM and SIGINT (stop); see signals.c for how SIGHUP is kept
 * away from it.
 *
 * Fails: signals_start returns -1 (errno set) when the thread cannot be
 * created; a start-up error.
 */
#ifndef SPFGATE_SIGNALS_H
#define SPFGATE_SIGNALS_H

/* Blocks SIGHUP, SIGUSR1, SIGTERM and SIGINT in the calling thread (so in
 * every thread it creates afterwards) and starts the waiting thread. Call
 * before smfi_main. */
int signals_start(void (*on_hup)(void), void (*on_usr1)(void));

#endif

/*
 * session.h - per-connection and per-message state of the milter.
 *
 * Owns: every string kept across callbacks (copies of libmilter's
 * borrowed arguments), a reference to the settings the connection started
 * with, the HELO evaluation kept for the connection, and the message's
 * check result and carried verdict.
 *
 * Fails: session_new returns NULL when out of memory (the caller answers
 * with a temporary failure); setters return -1 on allocation failure and
 * leave the old value.
 */
#ifndef SPFGATE_SESSION_H
#define SPFGATE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "check.h"
#include "settings.h"
#include "spfcheck.h"

/* Forged Authentication-Results headers remembered for removal at most. */
#define SESSION_MAX_AR 64

typedef struct {
    bool active;           /* a MAIL FROM was seen and not yet ended */
    char *mail_from;       /* MAIL FROM argument as given */
    char *queue_id;        /* the MTA's {i}, when known */
    bool authenticated;    /* {auth_authen} present at MAIL */
    check_result check;    /* the SPF check and verdict */
    bool carried;          /* a refusal is waiting for a later stage */
    bool decided;          /* the decision was logged */
    unsigned rcpt_ok;      /* recipients let through */
    unsigned rcpt_refused; /* recipients refused */
    unsigned ar_seen;      /* Authentication-Results headers seen so far */
    unsigned ar_remove[SESSION_MAX_AR]; /* their indexes (1-based) to remove */
    unsigned n_ar_remove;
    bool ar_overflow; /* more forged AR headers than fit */
} session_message;

typedef struct {
    settings *cfg; /* reference, dropped by session_free */
    struct sockaddr_storage client;
    bool have_client;    /* client holds an IPv4/IPv6 address */
    char client_ip[64];  /* printable address, or "unknown" */
    char *client_name;   /* the MTA's name for the client */
    char *helo;          /* last HELO/EHLO argument */
    char *authserv_id;   /* settings' or the MTA's {j} */
    bool helo_evaluated; /* helo_outcome is for `helo` */
    spfcheck_outcome helo_outcome;
    unsigned long noreply;      /* SMFIP_NR_* steps negotiated: no answer */
    bool connected;             /* the connect step was seen */
    const char *deferred_error; /* a failure at a step without an answer,
                                   answered at the next MAIL */
    unsigned messages;          /* transactions so far */
    session_message msg;
} session;

/* A new session holding a reference to cfg. NULL when out of memory. */
session *session_new(settings *cfg);

/* The number of sessions alive (made and not yet freed). */
unsigned session_live(void);

/* Frees the session and all it owns. Accepts NULL. */
void session_free(session *ss);

/* Records the client; `addr` may be NULL (unknown). */
void session_set_client(session *ss, const char *name,
                        const struct sockaddr *addr);

/* Keeps a copy of the HELO argument (NULL or "" allowed). */
int session_set_helo(session *ss, const char *helo);

/* Keeps the authserv-id if the settings name none. */
int session_set_authserv_id(session *ss, const char *id);

/* Ends the current message (RSET, abort, a new MAIL, end of message). */
void session_reset_message(session *ss);

/* Starts a message with the MAIL FROM argument. */
int session_begin_message(session *ss, const char *mail_from);

/* Keeps the queue id once the MTA has one. */
int session_set_queue_id(session *ss, const char *qid);

#endif

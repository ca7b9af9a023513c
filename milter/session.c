/*
 * session.c - per-connection and per-message state.
 *
 * Owns: the session object and every string in it. Strings handed in are
 * copied; libmilter's arguments are only borrowed for a callback.
 * Fails: on allocation failure a setter returns -1 and keeps the old
 * value; nothing here logs or exits.
 */
#include "config.h"

#include "session.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* Replaces *slot by a copy of value (NULL clears). */
static int keep(char **slot, const char *value)
{
    char *copy = NULL;
    if (value != NULL && (copy = strdup(value)) == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* Sessions alive in the process. */
static atomic_uint live_sessions;

unsigned session_live(void)
{
    return atomic_load(&live_sessions);
}

session *session_new(settings *cfg)
{
    session *ss = calloc(1, sizeof *ss);
    if (ss == NULL)
        return NULL;
    atomic_fetch_add(&live_sessions, 1);
    ss->cfg = settings_ref(cfg);
    strcpy(ss->client_ip, "unknown");
    if (cfg->authserv_id != NULL &&
        keep(&ss->authserv_id, cfg->authserv_id) != 0) {
        session_free(ss);
        return NULL;
    }
    return ss;
}

void session_reset_message(session *ss)
{
    free(ss->msg.mail_from);
    free(ss->msg.queue_id);
    memset(&ss->msg, 0, sizeof ss->msg);
}

void session_free(session *ss)
{
    if (ss == NULL)
        return;
    session_reset_message(ss);
    free(ss->client_name);
    free(ss->helo);
    free(ss->authserv_id);
    settings_unref(ss->cfg);
    free(ss);
    atomic_fetch_sub(&live_sessions, 1);
}

void session_set_client(session *ss, const char *name,
                        const struct sockaddr *addr)
{
    keep(&ss->client_name, name);
    ss->have_client = false;
    strcpy(ss->client_ip, "unknown");
    if (addr == NULL)
        return;
    if (addr->sa_family == AF_INET) {
        memcpy(&ss->client, addr, sizeof(struct sockaddr_in));
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr,
                  ss->client_ip, sizeof ss->client_ip);
        ss->have_client = true;
    } else if (addr->sa_family == AF_INET6) {
        memcpy(&ss->client, addr, sizeof(struct sockaddr_in6));
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr,
                  ss->client_ip, sizeof ss->client_ip);
        ss->have_client = true;
    }
}

int session_set_helo(session *ss, const char *helo)
{
    if (ss->helo != NULL && helo != NULL && strcmp(ss->helo, helo) == 0)
        return 0;
    ss->helo_evaluated = false;
    return keep(&ss->helo, helo);
}

int session_set_authserv_id(session *ss, const char *id)
{
    if (ss->authserv_id != NULL || id == NULL || *id == '\0')
        return 0;
    return keep(&ss->authserv_id, id);
}

int session_begin_message(session *ss, const char *mail_from)
{
    session_reset_message(ss);
    if (keep(&ss->msg.mail_from, mail_from ? mail_from : "") != 0)
        return -1;
    ss->msg.active = true;
    ss->messages++;
    return 0;
}

int session_set_queue_id(session *ss, const char *qid)
{
    if (qid == NULL || *qid == '\0' ||
        (ss->msg.queue_id && strcmp(ss->msg.queue_id, qid) == 0))
        return 0;
    return keep(&ss->msg.queue_id, qid);
}

/*
 * miltc.c - a milter-protocol (version 6) client: plays the MTA's side of
 * the conversation from a line-based script, for end-to-end tests and load
 * benchmarks of a mail filter.
 *
 * Owns: the script (parsed once, read-only afterwards), one session per
 * connection (socket, negotiated options, the last response) and, in load
 * mode, the latency samples. The session runner run_steps() serves both the
 * script mode and the load mode.
 *
 * Script, one command a line, `#` starts a comment line:
 *   macro STAGE NAME=VALUE...   macros sent before the next STAGE command
 *   connect HOST IP|unknown [PORT], helo NAME, mail <ADDR> [ARGS...],
 *   rcpt <ADDR> [ARGS...], data, header NAME: VALUE, eoh,
 *   body TEXT (\r \n \t \\ \xNN escapes), eom, abort, quit,
 *   quitnc (quit, a new connection follows on the same socket),
 *   unknown SMTP-COMMAND
 *   expect WHAT   checks the response to the previous command: continue,
 *     accept, reject (also a 5xx reply), tempfail (also a 4xx reply),
 *     discard, skip, connfail, shutdown, closed, noreply (the milter
 *     negotiated no reply), notsent (the step was declined, or the
 *     connection or message was already decided), reply CODE [XCODE
 *     [TEXT]], header NAME [VALUE-PART], noheader NAME, insheader NAME
 *     INDEX [VALUE], chgheader NAME INDEX [VALUE] ("" = delete), addrcpt,
 *     delrcpt, chgfrom, quarantine [ARG], replbody, nomods.
 * Like an MTA, miltc stops sending a message's commands once the milter
 * decided it (accept, reject, tempfail, discard, reply), and the
 * connection's once it decided at connect; the script's abort or next mail
 * goes on. Arguments take "double quotes" with backslash escapes.
 *
 * Fails: a bad command line or script exits 2 before anything is sent. A
 * failed `expect` prints "FAIL: line N: ..." and the run goes on; timeouts,
 * malformed packets and I/O errors print "ERROR: line N: ..." and stop the
 * session until the next quit. The exit status is 1 when any expect failed
 * or any such error happened, 0 otherwise. Reads and writes are bounded by
 * the timeout (-t), so it never hangs.
 */
#include "config.h"

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The largest packet accepted from the milter: command byte plus data. */
#define MAX_PACKET (64u * 1024u)
/* The most macro lines queued at once. */
#define MAX_PENDING 64

/* Script operations. */
enum op {
    OP_CONNECT,
    OP_HELO,
    OP_MAIL,
    OP_RCPT,
    OP_DATA,
    OP_HEADER,
    OP_EOH,
    OP_BODY,
    OP_EOM,
    OP_ABORT,
    OP_QUIT,
    OP_QUITNC,
    OP_UNKNOWN,
    OP_MACRO,
    OP_EXPECT,
};

/* What each protocol operation sends and how the milter may opt out. */
struct opinfo {
    const char *name;
    enum op op;
    char cmd;          /* SMFIC_* code */
    uint32_t skip;     /* SMFIP_NO* flag: the milter does not want it */
    uint32_t noreply;  /* SMFIP_NR_* flag: the milter will not answer */
    bool never_answer; /* abort, quit: no reply in the protocol */
};

static const struct opinfo opinfos[] = {
    {"connect", OP_CONNECT, SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN,
     false},
    {"helo", OP_HELO, SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, false},
    {"mail", OP_MAIL, SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL, false},
    {"rcpt", OP_RCPT, SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT, false},
    {"data", OP_DATA, SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA, false},
    {"header", OP_HEADER, SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR, false},
    {"eoh", OP_EOH, SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, false},
    {"body", OP_BODY, SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY, false},
    {"eom", OP_EOM, SMFIC_BODYEOB, 0, 0, false},
    {"abort", OP_ABORT, SMFIC_ABORT, 0, 0, true},
    {"quit", OP_QUIT, SMFIC_QUIT, 0, 0, true},
    {"quitnc", OP_QUITNC, SMFIC_QUIT_NC, 0, 0, true},
    {"unknown", OP_UNKNOWN, SMFIC_UNKNOWN, SMFIP_NOUNKNOWN, SMFIP_NR_UNKN,
     false},
    {"macro", OP_MACRO, SMFIC_MACRO, 0, 0, true},
    {"expect", OP_EXPECT, 0, 0, 0, true},
};
#define N_OPINFOS (sizeof opinfos / sizeof opinfos[0])

/* One script line. */
struct step {
    enum op op;
    int line;
    char stage;   /* macro: the SMFIC_* code of the stage */
    int argc;     /* tokens after the command word */
    char **argv;  /* tokens (quotes removed) */
    char *raw;    /* the rest of the line, verbatim */
    char *hname;  /* header: name */
    char *hvalue; /* header: value without leading blanks */
    char *bytes;  /* body: decoded chunk */
    size_t nbytes;
};

/* A parsed script. */
struct script {
    struct step *steps;
    size_t n;
};

/* Where the milter listens. */
struct target {
    char spec[512];
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

/* Settings shared by every session. */
struct conf {
    struct target tgt;
    int timeout_ms;
    bool verbose;
};

/* The outcome of one command. */
enum rstat {
    R_NONE,
    R_NOTSENT,
    R_NOREPLY,
    R_CONTINUE,
    R_ACCEPT,
    R_REJECT,
    R_TEMPFAIL,
    R_DISCARD,
    R_REPLY,
    R_SKIP,
    R_CONNFAIL,
    R_SHUTDOWN,
    R_CLOSED,
    R_ERROR,
};

/* A modification action received at end of message. */
struct mod {
    char type; /* SMFIR_* code */
    uint32_t index;
    char *a; /* header name, recipient, sender, reason */
    char *b; /* header value, ESMTP arguments */
    size_t nbytes;
};

/* The response to the last command, for `expect`. */
struct result {
    enum rstat st;
    char text[1024]; /* reply text, reason not sent, or error */
    struct mod *mods;
    size_t nmods, capmods;
};

/* The connection state. */
enum cstate { C_CLOSED, C_OPEN, C_DEAD };

/* One milter connection driven by a script. */
struct session {
    const struct conf *cf;
    FILE *out; /* NULL: quiet (load mode) */
    int fd;
    enum cstate cs;
    uint32_t version, actions, pflags;
    bool conn_decided, msg_decided, body_skipped;
    const struct step *pending[MAX_PENDING];
    size_t npending;
    const struct step *last; /* the last protocol command */
    struct result res;
    unsigned char *buf; /* receive buffer, MAX_PACKET + 1 */
    unsigned char *wbuf;
    size_t wlen, wcap;
    long passed, failed, errors;
    char first_error[256];
};

/* Prints a usage message. */
static void usage(FILE *out)
{
    fprintf(out,
            "usage: miltc -s SOCKET [-t TIMEOUT_S] [-v] [-f SCRIPT] < SCRIPT\n"
            "       miltc -s SOCKET -n MESSAGES -c CONNECTIONS [-t TIMEOUT_S] "
            "[-f SCRIPT]\n"
            "  SOCKET is unix:PATH, inet:PORT@ADDR or inet6:PORT@ADDR\n");
}

/* Allocates or exits: the tool cannot work without memory. */
static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fputs("miltc: out of memory\n", stderr);
        exit(2);
    }
    return q;
}

/* Duplicates a string or exits. */
static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

/* The operation table entry for op. */
static const struct opinfo *info_of(enum op op)
{
    for (size_t i = 0; i < N_OPINFOS; i++)
        if (opinfos[i].op == op)
            return &opinfos[i];
    return &opinfos[0];
}

/* Milliseconds on the monotonic clock. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Microseconds on the monotonic clock. */
static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Appends src to dst (capacity cap) with non-printable bytes escaped. */
static void esc_append(char *dst, size_t cap, const char *src, size_t n)
{
    size_t len = strlen(dst);
    for (size_t i = 0; i < n && len + 5 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '\r')
            len += (size_t)snprintf(dst + len, cap - len, "\\r");
        else if (c == '\n')
            len += (size_t)snprintf(dst + len, cap - len, "\\n");
        else if (c == '\t')
            len += (size_t)snprintf(dst + len, cap - len, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            len += (size_t)snprintf(dst + len, cap - len, "\\x%02x", c);
        else
            dst[len++] = (char)c;
        dst[len] = '\0';
    }
}

/* Appends formatted text to dst (capacity cap). */
static void fmt_append(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_append(char *dst, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(dst);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + len, cap - len, fmt, ap);
    va_end(ap);
}

/* ---- script parsing ---------------------------------------------------- */

/* Splits s into shell-like tokens: blanks separate, "..." quotes with \
 * escapes. Returns the count, or -1 on an unterminated quote. */
static int tokenize(const char *s, char ***out)
{
    char **v = NULL;
    int n = 0;
    size_t cap = strlen(s) + 1;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0')
            break;
        char *tok = xrealloc(NULL, cap);
        size_t k = 0;
        while (*s && *s != ' ' && *s != '\t') {
            if (*s != '"') {
                tok[k++] = *s++;
                continue;
            }
            s++;
            while (*s && *s != '"') {
                if (*s == '\\' && s[1] != '\0')
                    s++;
                tok[k++] = *s++;
            }
            if (*s != '"') {
                free(tok);
                for (int i = 0; i < n; i++)
                    free(v[i]);
                free(v);
                return -1;
            }
            s++;
        }
        tok[k] = '\0';
        v = xrealloc(v, sizeof *v * (size_t)(n + 1));
        v[n++] = tok;
    }
    *out = v;
    return n;
}

/* Decodes \r \n \t \\ \xNN escapes of a body line; sets *n. Returns the
 * buffer, or NULL on a bad escape. */
static char *decode_body(const char *s, size_t *n)
{
    char *out = xrealloc(NULL, strlen(s) + 1);
    size_t k = 0;
    for (; *s; s++) {
        if (*s != '\\') {
            out[k++] = *s;
            continue;
        }
        s++;
        switch (*s) {
        case 'r':
            out[k++] = '\r';
            break;
        case 'n':
            out[k++] = '\n';
            break;
        case 't':
            out[k++] = '\t';
            break;
        case '\\':
            out[k++] = '\\';
            break;
        case 'x':
            if (isxdigit((unsigned char)s[1]) &&
                isxdigit((unsigned char)s[2])) {
                char hex[3] = {s[1], s[2], '\0'};
                out[k++] = (char)strtol(hex, NULL, 16);
                s += 2;
                break;
            }
            free(out);
            return NULL;
        default:
            free(out);
            return NULL;
        }
    }
    *n = k;
    return out;
}

/* The expect words and how many arguments each takes. */
static const struct {
    const char *word;
    int min, max;
} expects[] = {
    {"continue", 0, 0},   {"accept", 0, 0},    {"reject", 0, 0},
    {"tempfail", 0, 0},   {"discard", 0, 0},   {"skip", 0, 0},
    {"connfail", 0, 0},   {"shutdown", 0, 0},  {"noreply", 0, 0},
    {"nonreply", 0, 0},   {"notsent", 0, 0},   {"skipped", 0, 0},
    {"closed", 0, 0},     {"reply", 1, 1000},  {"header", 1, 2},
    {"noheader", 1, 1},   {"chgheader", 2, 3}, {"insheader", 2, 3},
    {"addrcpt", 0, 1},    {"delrcpt", 0, 1},   {"chgfrom", 0, 1},
    {"quarantine", 0, 1}, {"replbody", 0, 0},  {"nomods", 0, 0},
};

/* Whether an expect line names a known check with a fitting argument
 * count. */
static bool expect_known(const struct step *st)
{
    for (size_t i = 0; i < sizeof expects / sizeof expects[0]; i++)
        if (strcmp(expects[i].word, st->argv[0]) == 0)
            return st->argc - 1 >= expects[i].min &&
                   st->argc - 1 <= expects[i].max;
    return false;
}

/* Reports a script error and returns -1. */
static int script_error(const char *name, int line, const char *msg)
{
    fprintf(stderr, "miltc: %s:%d: %s\n", name, line, msg);
    return -1;
}

/* Fills step from one script line (command word cmd, rest); returns 0 or
 * -1 with a message. */
static int parse_step(struct step *st, const char *cmd, const char *rest,
                      const char *name, int line)
{
    const struct opinfo *oi = NULL;
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < N_OPINFOS; i++)
        if (strcmp(opinfos[i].name, cmd) == 0)
            oi = &opinfos[i];
    if (oi == NULL)
        return script_error(name, line, "unknown command");
    st->op = oi->op;
    st->line = line;
    st->raw = xstrdup(rest);
    st->argc = tokenize(rest, &st->argv);
    if (st->argc < 0)
        return script_error(name, line, "unterminated quote");
    switch (st->op) {
    case OP_CONNECT:
        if (st->argc < 2 || st->argc > 3)
            return script_error(name, line,
                                "usage: connect HOSTNAME IP|unknown [PORT]");
        if (st->argc == 3 &&
            (atoi(st->argv[2]) < 0 || atoi(st->argv[2]) > 65535))
            return script_error(name, line, "bad port");
        break;
    case OP_HELO:
        if (st->argc != 1)
            return script_error(name, line, "usage: helo NAME");
        break;
    case OP_MAIL:
    case OP_RCPT:
        if (st->argc < 1)
            return script_error(name, line, "usage: mail|rcpt <ADDR> [ARGS]");
        break;
    case OP_HEADER: {
        const char *colon = strchr(rest, ':');
        if (colon == NULL || colon == rest)
            return script_error(name, line, "usage: header NAME: VALUE");
        size_t nl = (size_t)(colon - rest);
        while (nl > 0 && (rest[nl - 1] == ' ' || rest[nl - 1] == '\t'))
            nl--;
        st->hname = xrealloc(NULL, nl + 1);
        memcpy(st->hname, rest, nl);
        st->hname[nl] = '\0';
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        st->hvalue = xstrdup(v);
        break;
    }
    case OP_BODY:
        st->bytes = decode_body(rest, &st->nbytes);
        if (st->bytes == NULL)
            return script_error(name, line, "bad escape in body");
        if (st->nbytes > MILTER_CHUNK_SIZE)
            return script_error(name, line, "body chunk over 65535 bytes");
        break;
    case OP_MACRO: {
        if (st->argc < 2)
            return script_error(name, line, "usage: macro STAGE NAME=VALUE...");
        const struct opinfo *so = NULL;
        for (size_t i = 0; i < N_OPINFOS; i++)
            if (strcmp(opinfos[i].name, st->argv[0]) == 0 &&
                !opinfos[i].never_answer)
                so = &opinfos[i];
        if (so == NULL)
            return script_error(name, line, "unknown macro stage");
        st->stage = so->cmd;
        for (int i = 1; i < st->argc; i++)
            if (strchr(st->argv[i], '=') == NULL || st->argv[i][0] == '=')
                return script_error(name, line, "macro needs NAME=VALUE");
        break;
    }
    case OP_EXPECT:
        if (st->argc < 1)
            return script_error(name, line, "usage: expect WHAT");
        if (!expect_known(st))
            return script_error(name, line, "unknown expect or bad arguments");
        break;
    default:
        break;
    }
    return 0;
}

/* Reads a script from f; returns 0, or -1 after printing the error. */
static int parse_script(FILE *f, const char *name, struct script *sc)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    bool have_cmd = false;
    memset(sc, 0, sizeof *sc);
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char *cmd = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        sc->steps = xrealloc(sc->steps, sizeof *sc->steps * (sc->n + 1));
        if (parse_step(&sc->steps[sc->n], cmd, p, name, lineno) != 0) {
            sc->n++;
            free(line);
            return -1;
        }
        enum op op = sc->steps[sc->n].op;
        if (op == OP_EXPECT && !have_cmd) {
            sc->n++;
            free(line);
            return script_error(name, lineno, "expect before any command");
        }
        if (op != OP_EXPECT && op != OP_MACRO)
            have_cmd = true;
        sc->n++;
    }
    free(line);
    return 0;
}

/* Frees a script. */
static void free_script(struct script *sc)
{
    for (size_t i = 0; i < sc->n; i++) {
        struct step *st = &sc->steps[i];
        for (int k = 0; k < st->argc; k++)
            free(st->argv[k]);
        free(st->argv);
        free(st->raw);
        free(st->hname);
        free(st->hvalue);
        free(st->bytes);
    }
    free(sc->steps);
    memset(sc, 0, sizeof *sc);
}

/* ---- socket I/O ------------------------------------------------------- */

/* Parses SOCKET (unix:PATH, local:PATH, /PATH, inet:PORT@ADDR,
 * inet6:PORT@ADDR) into t; returns 0 or -1 with a message. */
static int parse_target(const char *spec, struct target *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->spec, sizeof t->spec, "%s", spec);
    const char *path = NULL;
    if (strncmp(spec, "unix:", 5) == 0)
        path = spec + 5;
    else if (strncmp(spec, "local:", 6) == 0)
        path = spec + 6;
    else if (spec[0] == '/')
        path = spec;
    if (path != NULL) {
        struct sockaddr_un *un = (struct sockaddr_un *)&t->addr;
        if (strlen(path) >= sizeof un->sun_path || path[0] == '\0') {
            fprintf(stderr, "miltc: bad unix socket path: %s\n", path);
            return -1;
        }
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, path);
        t->addrlen = sizeof *un;
        return 0;
    }
    int family;
    const char *rest;
    if (strncmp(spec, "inet:", 5) == 0) {
        family = AF_INET;
        rest = spec + 5;
    } else if (strncmp(spec, "inet6:", 6) == 0) {
        family = AF_INET6;
        rest = spec + 6;
    } else {
        fprintf(stderr, "miltc: unknown socket type: %s\n", spec);
        return -1;
    }
    const char *at = strchr(rest, '@');
    char port[16];
    if (at == NULL || at == rest || (size_t)(at - rest) >= sizeof port ||
        at[1] == '\0') {
        fprintf(stderr, "miltc: want inet:PORT@ADDR, got %s\n", spec);
        return -1;
    }
    memcpy(port, rest, (size_t)(at - rest));
    port[at - rest] = '\0';
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(at + 1, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        fprintf(stderr, "miltc: cannot resolve %s: %s\n", spec,
                gai_strerror(rc));
        return -1;
    }
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Milliseconds left until deadline (at least 0). */
static int left_ms(int64_t deadline)
{
    int64_t d = deadline - now_ms();
    return d < 0 ? 0 : (int)d;
}

/* Waits until fd is ready for events; returns 1, 0 on timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, left_ms(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return rc;
        return 1;
    }
}

/* I/O results. */
enum io { IO_OK = 0, IO_CLOSED = -1, IO_TIMEOUT = -2, IO_ERROR = -3 };

/* Writes all of buf before deadline. */
static enum io write_all(int fd, const void *buf, size_t n, int64_t deadline)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc == 0)
                return IO_TIMEOUT;
            if (rc < 0)
                return IO_ERROR;
            continue;
        }
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
            return IO_CLOSED;
        return IO_ERROR;
    }
    return IO_OK;
}

/* Reads exactly n bytes before deadline. */
static enum io read_all(int fd, void *buf, size_t n, int64_t deadline)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (r == 0)
            return IO_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd(fd, POLLIN, deadline);
            if (rc == 0)
                return IO_TIMEOUT;
            if (rc < 0)
                return IO_ERROR;
            continue;
        }
        if (errno == ECONNRESET)
            return IO_CLOSED;
        return IO_ERROR;
    }
    return IO_OK;
}

/* Opens a non-blocking connection to t before deadline; returns the fd or
 * -1 with errno set. */
static int open_target(const struct target *t, int64_t deadline)
{
    for (;;) {
        int fd = socket(t->addr.ss_family,
                        SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) == 0)
            return fd;
        if (errno == EINPROGRESS) {
            int rc = wait_fd(fd, POLLOUT, deadline);
            int err = 0;
            socklen_t el = sizeof err;
            if (rc == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
                err == 0)
                return fd;
            close(fd);
            errno = rc == 0 ? ETIMEDOUT : (err ? err : EIO);
            return -1;
        }
        int e = errno;
        close(fd);
        /* a full unix-socket backlog: retry until the deadline */
        if (e == EAGAIN && left_ms(deadline) > 0) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
            continue;
        }
        errno = e;
        return -1;
    }
}

/* ---- packets ---------------------------------------------------------- */

/* Starts a packet with command code cmd in the session's write buffer. */
static void pk_begin(struct session *s, char cmd)
{
    s->wlen = 0;
    if (s->wcap < 5) {
        s->wcap = 256;
        s->wbuf = xrealloc(s->wbuf, s->wcap);
    }
    s->wlen = 5;
    s->wbuf[4] = (unsigned char)cmd;
}

/* Appends n bytes to the packet. */
static void pk_put(struct session *s, const void *p, size_t n)
{
    if (s->wlen + n > s->wcap) {
        while (s->wlen + n > s->wcap)
            s->wcap *= 2;
        s->wbuf = xrealloc(s->wbuf, s->wcap);
    }
    memcpy(s->wbuf + s->wlen, p, n);
    s->wlen += n;
}

/* Appends a string with its terminating NUL. */
static void pk_str(struct session *s, const char *str)
{
    pk_put(s, str, strlen(str) + 1);
}

/* Appends a 32-bit integer in network order. */
static void pk_u32(struct session *s, uint32_t v)
{
    uint32_t n = htonl(v);
    pk_put(s, &n, 4);
}

/* Sends the packet; returns an I/O result. */
static enum io pk_send(struct session *s)
{
    if (s->wlen - 4 > MAX_PACKET)
        return IO_ERROR;
    uint32_t n = htonl((uint32_t)(s->wlen - 4));
    memcpy(s->wbuf, &n, 4);
    if (s->cf->verbose)
        fprintf(stderr, "miltc: send '%c' len %zu\n", s->wbuf[4], s->wlen - 4);
    return write_all(s->fd, s->wbuf, s->wlen, now_ms() + s->cf->timeout_ms);
}

/* Reads one packet into s->buf (NUL-terminated); sets *cmd and *len (data
 * bytes). Returns an I/O result, or IO_ERROR with *len = 0 and *cmd = 0
 * for a malformed length. */
static enum io pk_read(struct session *s, char *cmd, size_t *len,
                       int64_t deadline)
{
    uint32_t n;
    *cmd = 0;
    *len = 0;
    enum io rc = read_all(s->fd, &n, 4, deadline);
    if (rc != IO_OK)
        return rc;
    n = ntohl(n);
    if (n == 0 || n > MAX_PACKET) {
        snprintf(s->res.text, sizeof s->res.text,
                 "malformed packet: length %lu", (unsigned long)n);
        return IO_ERROR;
    }
    rc = read_all(s->fd, s->buf, n, deadline);
    if (rc != IO_OK)
        return rc;
    *cmd = (char)s->buf[0];
    *len = n - 1;
    memmove(s->buf, s->buf + 1, n - 1);
    s->buf[n - 1] = '\0';
    if (s->cf->verbose)
        fprintf(stderr, "miltc: recv '%c' len %zu\n", *cmd, *len);
    return IO_OK;
}

/* Takes the NUL-terminated string at *pos of buf[0..len); returns it, or
 * NULL when it is not terminated inside the packet. */
static const char *take_str(const unsigned char *buf, size_t len, size_t *pos)
{
    if (*pos >= len)
        return NULL;
    const unsigned char *end = memchr(buf + *pos, '\0', len - *pos);
    if (end == NULL)
        return NULL;
    const char *s = (const char *)buf + *pos;
    *pos = (size_t)(end - buf) + 1;
    return s;
}

/* ---- session ---------------------------------------------------------- */

/* Prints a line of output unless the session is quiet. */
static void say(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct session *s, const char *fmt, ...)
{
    if (s->out == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(s->out, fmt, ap);
    va_end(ap);
    fputc('\n', s->out);
    fflush(s->out);
}

/* Frees the modifications of a result and clears it. */
static void result_clear(struct result *r)
{
    for (size_t i = 0; i < r->nmods; i++) {
        free(r->mods[i].a);
        free(r->mods[i].b);
    }
    r->nmods = 0;
    r->st = R_NONE;
    r->text[0] = '\0';
}

/* Prepares a session; out NULL makes it quiet. */
static void session_init(struct session *s, const struct conf *cf, FILE *out)
{
    memset(s, 0, sizeof *s);
    s->cf = cf;
    s->out = out;
    s->fd = -1;
    s->cs = C_CLOSED;
    s->buf = xrealloc(NULL, MAX_PACKET + 1);
}

/* Closes the connection; dead keeps later commands from being sent until
 * the next quit. */
static void session_close(struct session *s, bool dead)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->cs = dead ? C_DEAD : C_CLOSED;
    s->npending = 0;
    s->conn_decided = s->msg_decided = s->body_skipped = false;
}

/* Releases a session. */
static void session_free(struct session *s)
{
    session_close(s, false);
    result_clear(&s->res);
    free(s->res.mods);
    free(s->buf);
    free(s->wbuf);
}

/* Records a protocol error at line: prints it, counts it, kills the
 * connection. */
static void session_error(struct session *s, int line, const char *what)
{
    s->errors++;
    if (s->first_error[0] == '\0')
        snprintf(s->first_error, sizeof s->first_error, "line %d: %s", line,
                 what);
    if (s->out != NULL)
        fprintf(s->out, "ERROR: line %d: %s\n", line, what);
    s->res.st = R_ERROR;
    if (what != s->res.text)
        snprintf(s->res.text, sizeof s->res.text, "%s", what);
    session_close(s, true);
}

/* Names an I/O failure. */
static const char *io_name(enum io rc)
{
    switch (rc) {
    case IO_CLOSED:
        return "connection closed by milter";
    case IO_TIMEOUT:
        return "timeout";
    default:
        return "I/O error";
    }
}

/* Connects and negotiates options; returns 0, or -1 after session_error. */
static int session_open(struct session *s, int line)
{
    char msg[1200];
    int64_t deadline = now_ms() + s->cf->timeout_ms;
    s->fd = open_target(&s->cf->tgt, deadline);
    if (s->fd < 0) {
        snprintf(msg, sizeof msg, "connect %s: %s", s->cf->tgt.spec,
                 strerror(errno));
        session_error(s, line, msg);
        return -1;
    }
    s->cs = C_OPEN;
    pk_begin(s, SMFIC_OPTNEG);
    pk_u32(s, SMFI_PROT_VERSION);
    pk_u32(s, SMFI_CURR_ACTS);
    pk_u32(s, SMFI_CURR_PROT);
    enum io rc = pk_send(s);
    char cmd;
    size_t len = 0;
    if (rc == IO_OK)
        rc = pk_read(s, &cmd, &len, deadline);
    if (rc != IO_OK) {
        snprintf(msg, sizeof msg, "option negotiation: %s",
                 s->res.text[0] && rc == IO_ERROR ? s->res.text : io_name(rc));
        session_error(s, line, msg);
        return -1;
    }
    if (cmd != SMFIC_OPTNEG || len < MILTER_OPTLEN) {
        snprintf(msg, sizeof msg,
                 "option negotiation: malformed reply '%c' len %zu",
                 isprint((unsigned char)cmd) ? cmd : '?', len);
        session_error(s, line, msg);
        return -1;
    }
    uint32_t v[3];
    memcpy(v, s->buf, sizeof v);
    s->version = ntohl(v[0]);
    s->actions = ntohl(v[1]);
    s->pflags = ntohl(v[2]);
    if (s->version < 2 || s->version > SMFI_PROT_VERSION) {
        snprintf(msg, sizeof msg, "option negotiation: bad version %lu",
                 (unsigned long)s->version);
        session_error(s, line, msg);
        return -1;
    }
    if ((s->pflags & ~(uint32_t)SMFI_CURR_PROT) != 0 ||
        (s->actions & ~(uint32_t)SMFI_CURR_ACTS) != 0) {
        snprintf(msg, sizeof msg,
                 "option negotiation: milter wants actions 0x%lx protocol "
                 "0x%lx, not offered",
                 (unsigned long)s->actions, (unsigned long)s->pflags);
        session_error(s, line, msg);
        return -1;
    }
    say(s, "optneg -> version %lu actions 0x%lx protocol 0x%lx",
        (unsigned long)s->version, (unsigned long)s->actions,
        (unsigned long)s->pflags);
    return 0;
}

/* Adds a modification to the result; returns 0 or -1 if malformed. */
static int add_mod(struct session *s, char cmd, size_t len)
{
    struct result *r = &s->res;
    struct mod m = {.type = cmd};
    size_t pos = 0;
    const char *a = NULL, *b = NULL;
    switch (cmd) {
    case SMFIR_INSHEADER:
    case SMFIR_CHGHEADER: {
        if (len < 4)
            return -1;
        uint32_t idx;
        memcpy(&idx, s->buf, 4);
        m.index = ntohl(idx);
        pos = 4;
    }
    /* fall through */
    case SMFIR_ADDHEADER:
        a = take_str(s->buf, len, &pos);
        b = take_str(s->buf, len, &pos);
        if (a == NULL || b == NULL)
            return -1;
        break;
    case SMFIR_ADDRCPT:
    case SMFIR_DELRCPT:
    case SMFIR_QUARANTINE:
        a = take_str(s->buf, len, &pos);
        if (a == NULL)
            return -1;
        break;
    case SMFIR_ADDRCPT_PAR:
    case SMFIR_CHGFROM:
        a = take_str(s->buf, len, &pos);
        if (a == NULL)
            return -1;
        if (pos < len && (b = take_str(s->buf, len, &pos)) == NULL)
            return -1;
        break;
    case SMFIR_REPLBODY:
        m.nbytes = len;
        break;
    default:
        return -1;
    }
    m.a = a ? xstrdup(a) : NULL;
    m.b = b ? xstrdup(b) : NULL;
    if (r->nmods == r->capmods) {
        r->capmods = r->capmods ? r->capmods * 2 : 8;
        r->mods = xrealloc(r->mods, sizeof *r->mods * r->capmods);
    }
    r->mods[r->nmods++] = m;
    return 0;
}

/* Describes a modification into buf. */
static void describe_mod(const struct mod *m, char *buf, size_t cap)
{
    buf[0] = '\0';
    switch (m->type) {
    case SMFIR_ADDHEADER:
        fmt_append(buf, cap, "addheader %s: ", m->a);
        esc_append(buf, cap, m->b, strlen(m->b));
        break;
    case SMFIR_INSHEADER:
    case SMFIR_CHGHEADER:
        fmt_append(buf, cap, "%s %lu %s: ",
                   m->type == SMFIR_INSHEADER ? "insheader" : "chgheader",
                   (unsigned long)m->index, m->a);
        esc_append(buf, cap, m->b, strlen(m->b));
        break;
    case SMFIR_ADDRCPT:
        fmt_append(buf, cap, "addrcpt %s", m->a);
        break;
    case SMFIR_ADDRCPT_PAR:
        fmt_append(buf, cap, "addrcpt %s %s", m->a, m->b ? m->b : "");
        break;
    case SMFIR_DELRCPT:
        fmt_append(buf, cap, "delrcpt %s", m->a);
        break;
    case SMFIR_CHGFROM:
        fmt_append(buf, cap, "chgfrom %s %s", m->a, m->b ? m->b : "");
        break;
    case SMFIR_QUARANTINE:
        fmt_append(buf, cap, "quarantine %s", m->a);
        break;
    case SMFIR_REPLBODY:
        fmt_append(buf, cap, "replbody %zu bytes", m->nbytes);
        break;
    default:
        fmt_append(buf, cap, "action '%c'", m->type);
    }
}

/* Describes a result's status (for output and failed expects). */
static void describe_status(const struct result *r, char *buf, size_t cap)
{
    static const char *const names[] = {
        [R_NONE] = "nothing",
        [R_NOTSENT] = "not sent",
        [R_NOREPLY] = "noreply",
        [R_CONTINUE] = "continue",
        [R_ACCEPT] = "accept",
        [R_REJECT] = "reject",
        [R_TEMPFAIL] = "tempfail",
        [R_DISCARD] = "discard",
        [R_REPLY] = "reply",
        [R_SKIP] = "skip",
        [R_CONNFAIL] = "connfail",
        [R_SHUTDOWN] = "shutdown",
        [R_CLOSED] = "connection closed by milter",
        [R_ERROR] = "error",
    };
    buf[0] = '\0';
    fmt_append(buf, cap, "%s", names[r->st]);
    if (r->st == R_REPLY) {
        fmt_append(buf, cap, " ");
        esc_append(buf, cap, r->text, strlen(r->text));
    } else if ((r->st == R_NOTSENT || r->st == R_ERROR) && r->text[0]) {
        fmt_append(buf, cap, " (%s)", r->text);
    }
}

/* Reads the milter's answer to the command of step into s->res. */
static void read_response(struct session *s, const struct step *st,
                          const char *name)
{
    int64_t deadline = now_ms() + s->cf->timeout_ms;
    char line[1400];
    for (;;) {
        char cmd;
        size_t len;
        enum io rc = pk_read(s, &cmd, &len, deadline);
        if (rc == IO_CLOSED) {
            s->res.st = R_CLOSED;
            say(s, "%s -> connection closed by milter", name);
            session_close(s, true);
            return;
        }
        if (rc != IO_OK) {
            char msg[1200];
            snprintf(msg, sizeof msg, "%s: %s", name,
                     rc == IO_ERROR && s->res.text[0] ? s->res.text
                                                      : io_name(rc));
            session_error(s, st->line, msg);
            return;
        }
        switch (cmd) {
        case SMFIR_PROGRESS:
            deadline = now_ms() + s->cf->timeout_ms;
            if (s->cf->verbose)
                say(s, "%s -> progress", name);
            continue;
        case SMFIR_CONTINUE:
            s->res.st = R_CONTINUE;
            break;
        case SMFIR_ACCEPT:
            s->res.st = R_ACCEPT;
            break;
        case SMFIR_REJECT:
            s->res.st = R_REJECT;
            break;
        case SMFIR_TEMPFAIL:
            s->res.st = R_TEMPFAIL;
            break;
        case SMFIR_DISCARD:
            s->res.st = R_DISCARD;
            break;
        case SMFIR_SKIP:
            s->res.st = R_SKIP;
            break;
        case SMFIR_CONN_FAIL:
            s->res.st = R_CONNFAIL;
            break;
        case SMFIR_SHUTDOWN:
            s->res.st = R_SHUTDOWN;
            break;
        case SMFIR_REPLYCODE: {
            size_t pos = 0;
            const char *t = take_str(s->buf, len, &pos);
            if (t == NULL || len < 4 || !isdigit((unsigned char)t[0])) {
                session_error(s, st->line, "malformed reply code packet");
                return;
            }
            s->res.st = R_REPLY;
            snprintf(s->res.text, sizeof s->res.text, "%s", t);
            break;
        }
        default:
            if (add_mod(s, cmd, len) != 0) {
                char msg[200];
                snprintf(msg, sizeof msg,
                         "%s: malformed or unknown packet '%c' len %zu", name,
                         isprint((unsigned char)cmd) ? cmd : '?', len);
                session_error(s, st->line, msg);
                return;
            }
            describe_mod(&s->res.mods[s->res.nmods - 1], line, sizeof line);
            say(s, "%s -> %s", name, line);
            continue;
        }
        describe_status(&s->res, line, sizeof line);
        say(s, "%s -> %s", name, line);
        return;
    }
}

/* Marks the command of step as not sent, for reason. */
static void not_sent(struct session *s, const char *name, const char *reason)
{
    s->res.st = R_NOTSENT;
    snprintf(s->res.text, sizeof s->res.text, "%s", reason);
    if (s->cf->verbose)
        say(s, "%s -> not sent (%s)", name, reason);
}

/* Sends the queued macros of stage cmd (and drops them if !send). Returns
 * an I/O result. */
static enum io flush_macros(struct session *s, char cmd, bool send)
{
    size_t keep = 0;
    enum io rc = IO_OK;
    for (size_t i = 0; i < s->npending; i++) {
        const struct step *m = s->pending[i];
        if (m->stage != cmd) {
            s->pending[keep++] = m;
            continue;
        }
        if (!send || rc != IO_OK)
            continue;
        pk_begin(s, SMFIC_MACRO);
        pk_put(s, &cmd, 1);
        for (int k = 1; k < m->argc; k++) {
            const char *eq = strchr(m->argv[k], '=');
            pk_put(s, m->argv[k], (size_t)(eq - m->argv[k]));
            pk_put(s, "", 1);
            pk_str(s, eq + 1);
        }
        rc = pk_send(s);
    }
    s->npending = keep;
    return rc;
}

/* Builds the packet of a protocol command. */
static void build_command(struct session *s, const struct step *st,
                          const struct opinfo *oi)
{
    pk_begin(s, oi->cmd);
    switch (st->op) {
    case OP_CONNECT: {
        pk_str(s, st->argv[0]);
        const char *ip = st->argv[1];
        unsigned char tmp[16];
        char fam = SMFIA_UNKNOWN;
        if (inet_pton(AF_INET, ip, tmp) == 1)
            fam = SMFIA_INET;
        else if (inet_pton(AF_INET6, ip, tmp) == 1)
            fam = SMFIA_INET6;
        pk_put(s, &fam, 1);
        if (fam != SMFIA_UNKNOWN) {
            uint16_t port =
                htons((uint16_t)(st->argc > 2 ? atoi(st->argv[2]) : 0));
            pk_put(s, &port, 2);
            pk_str(s, ip);
        }
        break;
    }
    case OP_HELO:
        pk_str(s, st->argv[0]);
        break;
    case OP_MAIL:
    case OP_RCPT:
        for (int i = 0; i < st->argc; i++)
            pk_str(s, st->argv[i]);
        break;
    case OP_HEADER:
        pk_str(s, st->hname);
        if (s->pflags & SMFIP_HDR_LEADSPC)
            pk_put(s, " ", 1);
        pk_str(s, st->hvalue);
        break;
    case OP_BODY:
        pk_put(s, st->bytes, st->nbytes);
        break;
    case OP_UNKNOWN:
        pk_str(s, st->raw);
        break;
    default:
        break;
    }
}

/* Whether a response ends the message for the MTA. */
static bool decides(const struct result *r)
{
    return r->st == R_ACCEPT || r->st == R_REJECT || r->st == R_TEMPFAIL ||
           r->st == R_DISCARD || r->st == R_REPLY;
}

/* Runs one protocol command (not macro, not expect). */
static void run_command(struct session *s, const struct step *st)
{
    const struct opinfo *oi = info_of(st->op);
    const char *name = oi->name;
    bool is_quit = st->op == OP_QUIT || st->op == OP_QUITNC;
    result_clear(&s->res);
    s->last = st;
    if (s->cs == C_DEAD) {
        not_sent(s, name, "connection is down");
        if (is_quit)
            session_close(s, false);
        return;
    }
    if (s->cs == C_CLOSED) {
        if (is_quit) {
            not_sent(s, name, "no connection");
            return;
        }
        if (session_open(s, st->line) != 0)
            return;
    }
    if (oi->skip && (s->pflags & oi->skip)) {
        flush_macros(s, oi->cmd, false);
        not_sent(s, name, "the milter declined this step");
        return;
    }
    bool in_msg = st->op == OP_RCPT || st->op == OP_DATA ||
                  st->op == OP_HEADER || st->op == OP_EOH ||
                  st->op == OP_BODY || st->op == OP_EOM;
    if (!is_quit && s->conn_decided) {
        flush_macros(s, oi->cmd, false);
        not_sent(s, name, "the connection is already decided");
        return;
    }
    if (in_msg && s->msg_decided) {
        flush_macros(s, oi->cmd, false);
        not_sent(s, name, "the message is already decided");
        return;
    }
    if (st->op == OP_BODY && s->body_skipped) {
        not_sent(s, name, "the milter skipped the body");
        return;
    }
    if (st->op == OP_MAIL)
        s->msg_decided = s->body_skipped = false;
    enum io rc = flush_macros(s, oi->cmd, true);
    if (rc == IO_OK) {
        build_command(s, st, oi);
        rc = pk_send(s);
    }
    if (rc == IO_CLOSED) {
        s->res.st = R_CLOSED;
        say(s, "%s -> connection closed by milter", name);
        session_close(s, true);
        return;
    }
    if (rc != IO_OK) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s: send: %s", name, io_name(rc));
        session_error(s, st->line, msg);
        return;
    }
    if (oi->never_answer || (oi->noreply && (s->pflags & oi->noreply))) {
        s->res.st = R_NOREPLY;
        if (s->cf->verbose)
            say(s, "%s -> (no reply)", name);
        if (st->op == OP_QUIT)
            session_close(s, false);
        else if (st->op == OP_QUITNC)
            s->conn_decided = s->msg_decided = s->body_skipped = false;
        else if (st->op == OP_ABORT)
            s->msg_decided = s->body_skipped = false;
        return;
    }
    read_response(s, st, name);
    if (s->cs != C_OPEN)
        return;
    switch (s->res.st) {
    case R_CONNFAIL:
    case R_SHUTDOWN:
        session_close(s, true);
        return;
    case R_SKIP:
        if (st->op == OP_BODY)
            s->body_skipped = true;
        break;
    default:
        break;
    }
    if (st->op == OP_CONNECT && decides(&s->res))
        s->conn_decided = true;
    else if (st->op == OP_RCPT)
        s->msg_decided = s->res.st == R_ACCEPT || s->res.st == R_DISCARD;
    else if (st->op == OP_EOM)
        s->msg_decided = s->body_skipped = false;
    else if (st->op != OP_HELO && st->op != OP_UNKNOWN && decides(&s->res))
        s->msg_decided = true;
}

/* Whether the reply text starts with an SMTP code of class c. */
static bool reply_class(const struct result *r, char c)
{
    return r->st == R_REPLY && r->text[0] == c;
}

/* Finds a header modification of the given types and name (and value
 * substring, index when idx >= 0); returns it or NULL. */
static const struct mod *find_mod(const struct result *r, const char *types,
                                  const char *name, long idx, const char *value,
                                  bool exact)
{
    for (size_t i = 0; i < r->nmods; i++) {
        const struct mod *m = &r->mods[i];
        if (strchr(types, m->type) == NULL)
            continue;
        if (name != NULL && (m->a == NULL || strcasecmp(m->a, name) != 0))
            continue;
        if (idx >= 0 && (long)m->index != idx)
            continue;
        if (value != NULL) {
            const char *v = m->b ? m->b : "";
            if (exact ? strcmp(v, value) != 0 : strstr(v, value) == NULL)
                continue;
        }
        return m;
    }
    return NULL;
}

/* Describes the modifications of a result into buf. */
static void describe_mods(const struct result *r, char *buf, size_t cap)
{
    char one[600];
    buf[0] = '\0';
    if (r->nmods == 0) {
        describe_status(r, buf, cap);
        fmt_append(buf, cap, ", no actions");
        return;
    }
    for (size_t i = 0; i < r->nmods; i++) {
        describe_mod(&r->mods[i], one, sizeof one);
        fmt_append(buf, cap, "%s%s", i ? "; " : "", one);
    }
}

/* Joins argv[from..] with spaces into buf. */
static void join_args(const struct step *st, int from, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int i = from; i < st->argc; i++)
        fmt_append(buf, cap, "%s%s", i > from ? " " : "", st->argv[i]);
}

/* Evaluates an expect line against the last response. */
static void run_expect(struct session *s, const struct step *st)
{
    const struct result *r = &s->res;
    const char *w = st->argv[0];
    char got[1400];
    bool ok;
    bool mods = false;
    long idx = st->argc > 2 ? strtol(st->argv[2], NULL, 10) : -1;
    if (strcmp(w, "continue") == 0)
        ok = r->st == R_CONTINUE;
    else if (strcmp(w, "accept") == 0)
        ok = r->st == R_ACCEPT;
    else if (strcmp(w, "reject") == 0)
        ok = r->st == R_REJECT || reply_class(r, '5');
    else if (strcmp(w, "tempfail") == 0)
        ok = r->st == R_TEMPFAIL || reply_class(r, '4');
    else if (strcmp(w, "discard") == 0)
        ok = r->st == R_DISCARD;
    else if (strcmp(w, "skip") == 0)
        ok = r->st == R_SKIP;
    else if (strcmp(w, "connfail") == 0)
        ok = r->st == R_CONNFAIL;
    else if (strcmp(w, "shutdown") == 0)
        ok = r->st == R_SHUTDOWN;
    else if (strcmp(w, "noreply") == 0 || strcmp(w, "nonreply") == 0)
        ok = r->st == R_NOREPLY;
    else if (strcmp(w, "notsent") == 0 || strcmp(w, "skipped") == 0)
        ok = r->st == R_NOTSENT;
    else if (strcmp(w, "closed") == 0)
        ok = r->st == R_CLOSED;
    else if (strcmp(w, "reply") == 0 && st->argc >= 2) {
        size_t cl = strlen(st->argv[1]);
        ok = r->st == R_REPLY && strncmp(r->text, st->argv[1], cl) == 0 &&
             (r->text[cl] == ' ' || r->text[cl] == '-' || r->text[cl] == 0);
        if (ok && st->argc >= 3) {
            const char *x = r->text + cl;
            while (*x == ' ' || *x == '-')
                x++;
            size_t xl = strlen(st->argv[2]);
            ok = strncmp(x, st->argv[2], xl) == 0 &&
                 (x[xl] == ' ' || x[xl] == 0);
            if (ok && st->argc >= 4) {
                char want[1024];
                join_args(st, 3, want, sizeof want);
                ok = strstr(x + xl, want) != NULL;
            }
        }
    } else if (strcmp(w, "header") == 0 && st->argc >= 2) {
        mods = true;
        ok = find_mod(r, "hi", st->argv[1], -1,
                      st->argc > 2 ? st->argv[2] : NULL, false) != NULL;
    } else if (strcmp(w, "noheader") == 0 && st->argc == 2) {
        mods = true;
        ok = find_mod(r, "hi", st->argv[1], -1, NULL, false) == NULL;
    } else if ((strcmp(w, "chgheader") == 0 || strcmp(w, "insheader") == 0) &&
               st->argc >= 3) {
        mods = true;
        ok = find_mod(r, w[0] == 'c' ? "m" : "i", st->argv[1], idx,
                      st->argc > 3 ? st->argv[3] : NULL, true) != NULL;
    } else if ((strcmp(w, "addrcpt") == 0 || strcmp(w, "delrcpt") == 0 ||
                strcmp(w, "chgfrom") == 0 || strcmp(w, "quarantine") == 0) &&
               st->argc <= 2) {
        const char *types = w[0] == 'a'   ? "+2"
                            : w[0] == 'd' ? "-"
                            : w[0] == 'c' ? "e"
                                          : "q";
        mods = true;
        ok = false;
        for (size_t i = 0; i < r->nmods && !ok; i++)
            ok = strchr(types, r->mods[i].type) != NULL &&
                 (st->argc < 2 || strcmp(r->mods[i].a, st->argv[1]) == 0 ||
                  (w[0] == 'q' && strstr(r->mods[i].a, st->argv[1])));
    } else if (strcmp(w, "replbody") == 0 && st->argc == 1) {
        mods = true;
        ok = find_mod(r, "b", NULL, -1, NULL, false) != NULL;
    } else if (strcmp(w, "nomods") == 0 && st->argc == 1) {
        mods = true;
        ok = r->nmods == 0;
    } else {
        fprintf(stderr, "miltc: line %d: unknown expect: %s\n", st->line,
                st->raw);
        ok = false;
    }
    if (ok) {
        s->passed++;
        return;
    }
    s->failed++;
    if (s->out == NULL)
        return;
    if (mods)
        describe_mods(r, got, sizeof got);
    else
        describe_status(r, got, sizeof got);
    fprintf(s->out, "FAIL: line %d: expected %s, got %s (after %s, line %d)\n",
            st->line, st->raw, got, s->last ? info_of(s->last->op)->name : "?",
            s->last ? s->last->line : 0);
    fflush(s->out);
}

/* Runs the script steps [from, to) on a session. */
static void run_steps(struct session *s, const struct script *sc, size_t from,
                      size_t to)
{
    for (size_t i = from; i < to && i < sc->n; i++) {
        const struct step *st = &sc->steps[i];
        switch (st->op) {
        case OP_MACRO:
            if (s->npending < MAX_PENDING)
                s->pending[s->npending++] = st;
            else
                fprintf(stderr, "miltc: line %d: too many macros queued\n",
                        st->line);
            break;
        case OP_EXPECT:
            run_expect(s, st);
            break;
        default:
            run_command(s, st);
            break;
        }
    }
}

/* ---- load mode -------------------------------------------------------- */

/* The transaction replayed in load mode when no script is given. */
static const char default_script[] =
    "connect client.example.org 192.0.2.1 40000\n"
    "helo client.example.org\n"
    "mail <sender@example.org>\n"
    "rcpt <rcpt@example.net>\n"
    "data\n"
    "header From: <sender@example.org>\n"
    "header Subject: benchmark\n"
    "eoh\n"
    "body Hello.\\r\\n\n"
    "eom\n"
    "quit\n";

/* State shared by the load threads. */
struct load {
    const struct conf *cf;
    const struct script *sc;
    size_t txn_from, txn_to;
    long messages;
    atomic_long next;
    int64_t *lat_us;
    atomic_long passed, failed, errors;
    pthread_mutex_t lock;
    char first_error[256];
};

/* One load connection: prelude, transactions until the budget is spent,
 * then the rest of the script; reconnects after an error. */
static void *load_worker(void *arg)
{
    struct load *ld = arg;
    struct session s;
    session_init(&s, ld->cf, NULL);
    run_steps(&s, ld->sc, 0, ld->txn_from);
    for (;;) {
        long n = atomic_fetch_add(&ld->next, 1);
        if (n >= ld->messages)
            break;
        int64_t t0 = now_us();
        run_steps(&s, ld->sc, ld->txn_from, ld->txn_to);
        ld->lat_us[n] = now_us() - t0;
        if (s.cs == C_DEAD) {
            session_close(&s, false);
            run_steps(&s, ld->sc, 0, ld->txn_from);
        }
    }
    run_steps(&s, ld->sc, ld->txn_to, ld->sc->n);
    atomic_fetch_add(&ld->passed, s.passed);
    atomic_fetch_add(&ld->failed, s.failed);
    atomic_fetch_add(&ld->errors, s.errors);
    pthread_mutex_lock(&ld->lock);
    if (ld->first_error[0] == '\0' && s.first_error[0] != '\0')
        snprintf(ld->first_error, sizeof ld->first_error, "%s", s.first_error);
    pthread_mutex_unlock(&ld->lock);
    session_free(&s);
    return NULL;
}

/* Orders latencies. */
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Runs the load mode; returns the exit status. */
static int run_load(const struct conf *cf, const struct script *sc,
                    long messages, int conns)
{
    struct load ld;
    memset(&ld, 0, sizeof ld);
    ld.cf = cf;
    ld.sc = sc;
    ld.messages = messages;
    size_t i = 0;
    while (i < sc->n && sc->steps[i].op != OP_MAIL)
        i++;
    if (i == sc->n) {
        fputs("miltc: the script has no mail command to repeat\n", stderr);
        return 2;
    }
    ld.txn_from = i;
    while (i < sc->n && sc->steps[i].op != OP_EOM &&
           sc->steps[i].op != OP_ABORT)
        i++;
    if (i == sc->n) {
        fputs("miltc: the script has no eom or abort after mail\n", stderr);
        return 2;
    }
    i++;
    while (i < sc->n && sc->steps[i].op == OP_EXPECT)
        i++;
    ld.txn_to = i;
    ld.lat_us = xrealloc(NULL, sizeof *ld.lat_us * (size_t)messages);
    atomic_init(&ld.next, 0);
    atomic_init(&ld.passed, 0);
    atomic_init(&ld.failed, 0);
    atomic_init(&ld.errors, 0);
    pthread_mutex_init(&ld.lock, NULL);
    pthread_t *th = xrealloc(NULL, sizeof *th * (size_t)conns);
    int started = 0;
    int64_t t0 = now_us();
    for (; started < conns; started++)
        if (pthread_create(&th[started], NULL, load_worker, &ld) != 0)
            break;
    if (started == 0) {
        fputs("miltc: cannot start threads\n", stderr);
        free(th);
        free(ld.lat_us);
        return 1;
    }
    for (int k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    int64_t elapsed = now_us() - t0;
    qsort(ld.lat_us, (size_t)messages, sizeof *ld.lat_us, cmp_i64);
    size_t p50 = (size_t)(messages - 1) * 50 / 100;
    size_t p99 = (size_t)(messages - 1) * 99 / 100;
    double secs = (double)elapsed / 1e6;
    printf("messages: %ld, connections: %d, elapsed: %.3f s\n", messages,
           started, secs);
    printf("rate: %.1f messages/s\n", secs > 0 ? (double)messages / secs : 0);
    printf("latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
           (double)ld.lat_us[p50] / 1000.0, (double)ld.lat_us[p99] / 1000.0,
           (double)ld.lat_us[messages - 1] / 1000.0);
    long failed = atomic_load(&ld.failed), errors = atomic_load(&ld.errors);
    printf("%ld passed, %ld failed, %ld errors\n", atomic_load(&ld.passed),
           failed, errors);
    if (ld.first_error[0] != '\0')
        printf("first error: %s\n", ld.first_error);
    pthread_mutex_destroy(&ld.lock);
    free(th);
    free(ld.lat_us);
    return failed || errors ? 1 : 0;
}

/* ---- main ------------------------------------------------------------- */

/* Parses a positive integer option; returns it or -1. */
static long parse_count(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || v <= 0 || v > max)
        return -1;
    return v;
}

/* Parses the command line and runs the script or the load. */
int main(int argc, char **argv)
{
    struct conf cf = {.timeout_ms = 10000};
    const char *sock = NULL, *file = NULL;
    long messages = 0, conns = 0;
    int c;
    while ((c = getopt(argc, argv, "s:t:vn:c:f:h")) != -1) {
        switch (c) {
        case 's':
            sock = optarg;
            break;
        case 't': {
            long t = parse_count(optarg, 86400);
            if (t < 0) {
                fprintf(stderr, "miltc: bad timeout: %s\n", optarg);
                return 2;
            }
            cf.timeout_ms = (int)t * 1000;
            break;
        }
        case 'v':
            cf.verbose = true;
            break;
        case 'n':
            if ((messages = parse_count(optarg, 100000000)) < 0) {
                fprintf(stderr, "miltc: bad message count: %s\n", optarg);
                return 2;
            }
            break;
        case 'c':
            if ((conns = parse_count(optarg, 4096)) < 0) {
                fprintf(stderr, "miltc: bad connection count: %s\n", optarg);
                return 2;
            }
            break;
        case 'f':
            file = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (sock == NULL || optind != argc || (conns > 0 && messages == 0)) {
        usage(stderr);
        return 2;
    }
    if (parse_target(sock, &cf.tgt) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);

    bool load = messages > 0;
    struct script sc;
    FILE *f;
    const char *name = file ? file : "stdin";
    if (file != NULL && strcmp(file, "-") != 0)
        f = fopen(file, "r");
    else if (file == NULL && load)
        f = fmemopen((void *)default_script, strlen(default_script), "r"),
        name = "default";
    else
        f = stdin;
    if (f == NULL) {
        perror(file);
        return 2;
    }
    int prc = parse_script(f, name, &sc);
    if (f != stdin)
        fclose(f);
    if (prc != 0) {
        free_script(&sc);
        return 2;
    }
    int rc;
    if (load) {
        rc = run_load(&cf, &sc, messages, conns > 0 ? (int)conns : 1);
    } else {
        struct session s;
        session_init(&s, &cf, stdout);
        run_steps(&s, &sc, 0, sc.n);
        if (s.cs == C_OPEN) {
            /* the script ended without quit: say goodbye properly */
            pk_begin(&s, SMFIC_QUIT);
            pk_send(&s);
        }
        printf("%ld passed, %ld failed\n", s.passed, s.failed);
        rc = s.failed || s.errors ? 1 : 0;
        session_free(&s);
    }
    free_script(&sc);
    return rc;
}

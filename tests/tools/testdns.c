/*
 * testdns.c - a small authoritative DNS server for spfgate's tests.
 *
 *   testdns -a ADDR -p PORT -z ZONEFILE [-P PIDFILE] [-v]
 *
 * Serves the names of one zone file over UDP and TCP on ADDR (IPv4 or
 * IPv6) and PORT; PORT 0 picks a free port. The port is always printed on
 * stdout as the first line once both sockets listen. Single-threaded,
 * poll()-based; SIGTERM or SIGINT ends it (exit 0). With -v every query is
 * logged to stderr as "query NAME TYPE -> RESULT".
 *
 * Zone file: one record per line, "#" starts a comment line:
 *   NAME [TTL] TYPE VALUE
 *   TYPE A      VALUE an IPv4 address
 *   TYPE AAAA   VALUE an IPv6 address
 *   TYPE MX     VALUE "PRIO HOST"
 *   TYPE TXT    VALUE one or more "quoted strings" (escapes \" \\ \DDD;
 *               each string longer than 255 octets is split), or bare
 *               text to the end of the line; one line is one RR
 *   TYPE PTR, CNAME  VALUE a host name
 *   TYPE SOA    VALUE the MINIMUM field: NXDOMAIN and NODATA answers for
 *               NAME and the names below it carry this SOA (with the
 *               line's TTL) in the authority section (RFC 2308)
 *   NAME SERVFAIL | REFUSED | TIMEOUT (never answers): for the types the
 *               name has no records of (all types of a name without any)
 *   NAME TRUNCATE  UDP answers carry TC and no records; TCP answers
 *               normally
 *   NAME DELAY MS   answers over UDP after MS milliseconds
 * Names are case-insensitive and may hold \DDD escapes (e.g. \032 for a
 * space); TTL defaults to 300. Unknown names get
 * NXDOMAIN, known names (or parents of known names) without the type get
 * an empty NOERROR answer. CNAMEs are followed within the zone. UDP answers
 * over 512 octets (or the EDNS size offered) are truncated.
 *
 * Fails: exits 2 with a message on bad arguments or a bad zone line, 1 when
 * a socket cannot be opened; malformed queries are dropped.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    T_A = 1,
    T_CNAME = 5,
    T_SOA = 6,
    T_PTR = 12,
    T_MX = 15,
    T_TXT = 16,
    T_AAAA = 28,
    T_OPT = 41,
    /* actions, not RR types */
    ACT_SERVFAIL = 1000,
    ACT_REFUSED,
    ACT_TIMEOUT,
    ACT_TRUNCATE,
    ACT_DELAY
};

#define MAX_NAME 1100
#define MAX_CONN 32
#define MAX_PENDING 64

/* One zone line. */
typedef struct {
    char *name; /* lower case, no trailing dot */
    int type;
    uint32_t ttl;
    unsigned char *rdata; /* wire form; names stay text in `target` */
    size_t rdlen;
    char *target;  /* MX/PTR/CNAME host */
    unsigned prio; /* MX preference; DELAY milliseconds */
} zrec;

static zrec *zone;
static size_t zone_n;
static bool verbose;
static volatile sig_atomic_t stop;
static unsigned long n_queries;

/* Prints a message and exits with status code. */
__attribute__((format(printf, 2, 3), noreturn)) static void
die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "testdns: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(code);
}

/* Returns a lower-cased copy of s without one trailing dot. */
static char *name_norm(const char *s, size_t len)
{
    if (len > 0 && s[len - 1] == '.')
        len--;
    char *out = malloc(len + 1);
    if (out == NULL)
        die(1, "%s", "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 3 < len && isdigit((unsigned char)s[i + 1]) &&
            isdigit((unsigned char)s[i + 2]) &&
            isdigit((unsigned char)s[i + 3])) {
            out[o++] = (char)((s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 +
                              (s[i + 3] - '0'));
            i += 3;
            continue;
        }
        out[o++] = (char)tolower((unsigned char)s[i]);
    }
    out[o] = '\0';
    return out;
}

/* Appends one character-string (split at 255) to a TXT rdata. */
static void txt_append(zrec *r, const unsigned char *s, size_t len)
{
    do {
        size_t n = len > 255 ? 255 : len;
        r->rdata = realloc(r->rdata, r->rdlen + 1 + n);
        if (r->rdata == NULL)
            die(1, "%s", "out of memory");
        r->rdata[r->rdlen] = (unsigned char)n;
        memcpy(r->rdata + r->rdlen + 1, s, n);
        r->rdlen += 1 + n;
        s += n;
        len -= n;
    } while (len > 0);
}

/* Parses a TXT value: quoted strings with escapes, or bare text. */
static void parse_txt(zrec *r, const char *v, int lineno)
{
    char where[32];
    snprintf(where, sizeof(where), "%d", lineno);
    if (*v != '"') {
        txt_append(r, (const unsigned char *)v, strlen(v));
        return;
    }
    size_t cap = strlen(v) + 1;
    unsigned char *buf = malloc(cap);
    if (buf == NULL)
        die(1, "%s", "out of memory");
    while (*v == '"') {
        size_t n = 0;
        v++;
        while (*v != '"') {
            if (*v == '\0')
                die(2, "line %s: unterminated string", where);
            if (*v == '\\' && isdigit((unsigned char)v[1]) &&
                isdigit((unsigned char)v[2]) && isdigit((unsigned char)v[3])) {
                buf[n++] = (unsigned char)((v[1] - '0') * 100 +
                                           (v[2] - '0') * 10 + (v[3] - '0'));
                v += 4;
            } else if (*v == '\\' && v[1] != '\0') {
                buf[n++] = (unsigned char)v[1];
                v += 2;
            } else {
                buf[n++] = (unsigned char)*v++;
            }
        }
        v++;
        txt_append(r, buf, n);
        while (*v == ' ' || *v == '\t')
            v++;
    }
    free(buf);
    if (*v != '\0')
        die(2, "line %s: text after the strings", where);
}

/* Maps a type word to its code, or -1. */
static int type_code(const char *w)
{
    static const struct {
        const char *name;
        int code;
    } types[] = {
        {"A", T_A},
        {"AAAA", T_AAAA},
        {"MX", T_MX},
        {"TXT", T_TXT},
        {"PTR", T_PTR},
        {"CNAME", T_CNAME},
        {"SOA", T_SOA},
        {"SERVFAIL", ACT_SERVFAIL},
        {"REFUSED", ACT_REFUSED},
        {"TIMEOUT", ACT_TIMEOUT},
        {"TRUNCATE", ACT_TRUNCATE},
        {"DELAY", ACT_DELAY},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(w, types[i].name) == 0)
            return types[i].code;
    return -1;
}

/* Reads the zone file. */
static void load_zone(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die(2, "cannot open zone file %s", path);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        char where[32];
        lineno++;
        snprintf(where, sizeof(where), "%d", lineno);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char *name = p;
        p += strcspn(p, " \t");
        size_t name_len = (size_t)(p - name);
        p += strspn(p, " \t");
        zrec r = {0};
        r.ttl = 300;
        char *word = p;
        p += strcspn(p, " \t");
        if (*p != '\0')
            *p++ = '\0';
        p += strspn(p, " \t");
        if (isdigit((unsigned char)word[0])) {
            r.ttl = (uint32_t)strtoul(word, NULL, 10);
            word = p;
            p += strcspn(p, " \t");
            if (*p != '\0')
                *p++ = '\0';
            p += strspn(p, " \t");
        }
        r.type = type_code(word);
        if (r.type < 0)
            die(2, "line %s: unknown type", where);
        r.name = name_norm(name, name_len);
        char *v = p;
        size_t vl = strlen(v);
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        switch (r.type) {
        case T_A:
        case T_AAAA:
            r.rdlen = r.type == T_A ? 4 : 16;
            r.rdata = malloc(16);
            if (r.rdata == NULL ||
                inet_pton(r.type == T_A ? AF_INET : AF_INET6, v, r.rdata) != 1)
                die(2, "line %s: bad address", where);
            break;
        case T_MX: {
            char *end;
            r.prio = (unsigned)strtoul(v, &end, 10);
            end += strspn(end, " \t");
            if (end == v || *end == '\0')
                die(2, "line %s: MX needs \"PRIO HOST\"", where);
            r.target = name_norm(end, strlen(end));
            break;
        }
        case T_PTR:
        case T_CNAME:
            if (*v == '\0')
                die(2, "line %s: missing host", where);
            r.target = name_norm(v, vl);
            break;
        case T_TXT:
            parse_txt(&r, v, lineno);
            break;
        case ACT_DELAY:
        case T_SOA:
            r.prio = (unsigned)strtoul(v, NULL, 10);
            break;
        default:
            break;
        }
        zone = realloc(zone, (zone_n + 1) * sizeof(*zone));
        if (zone == NULL)
            die(1, "%s", "out of memory");
        zone[zone_n++] = r;
    }
    free(line);
    fclose(f);
}

/* Growable output message. */
typedef struct {
    unsigned char buf[65536];
    size_t len;
    bool overflow;
} msg;

/* Appends bytes to a message. */
static void put(msg *m, const void *p, size_t n)
{
    if (m->len + n > sizeof(m->buf)) {
        m->overflow = true;
        return;
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
}

/* Appends a 16-bit value. */
static void put16(msg *m, unsigned v)
{
    unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    put(m, b, 2);
}

/* Appends a 32-bit value. */
static void put32(msg *m, uint32_t v)
{
    put16(m, v >> 16);
    put16(m, v & 0xffff);
}

/* Appends a name in wire form (no compression). */
static void put_name(msg *m, const char *name)
{
    const char *p = name;
    while (*p != '\0') {
        size_t n = strcspn(p, ".");
        if (n > 63)
            n = 63;
        unsigned char l = (unsigned char)n;
        put(m, &l, 1);
        put(m, p, n);
        p += strcspn(p, ".");
        if (*p == '.')
            p++;
    }
    put(m, "", 1);
}

/* Appends one RR of a zone record with the given owner. */
static void put_rr(msg *m, const char *owner, const zrec *r)
{
    put_name(m, owner);
    put16(m, (unsigned)r->type);
    put16(m, 1);
    put32(m, r->ttl);
    size_t at = m->len;
    put16(m, 0);
    if (r->type == T_MX)
        put16(m, r->prio);
    if (r->type == T_SOA) { /* MNAME, RNAME, serial, timers, MINIMUM */
        put_name(m, "ns.invalid");
        put_name(m, "hostmaster.invalid");
        put32(m, 1);
        put32(m, 3600);
        put32(m, 600);
        put32(m, 86400);
        put32(m, r->prio);
    } else if (r->target != NULL)
        put_name(m, r->target);
    else
        put(m, r->rdata, r->rdlen);
    if (!m->overflow) {
        size_t rdlen = m->len - at - 2;
        m->buf[at] = (unsigned char)(rdlen >> 8);
        m->buf[at + 1] = (unsigned char)rdlen;
    }
}

/* True when the name owns a record or is the parent of one. */
static bool name_exists(const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < zone_n; i++) {
        size_t zl = strlen(zone[i].name);
        if (strcmp(zone[i].name, name) == 0)
            return true;
        if (zl > nl + 1 && zone[i].name[zl - nl - 1] == '.' &&
            strcmp(zone[i].name + zl - nl, name) == 0)
            return true;
    }
    return false;
}

/* The first action record for a name, or NULL. SERVFAIL, REFUSED and
 * TIMEOUT only act on types the name has no records of. */
static const zrec *find_action(const char *name, int qtype)
{
    const zrec *act = NULL;
    bool has_type = false;
    for (size_t i = 0; i < zone_n; i++) {
        if (strcmp(zone[i].name, name) != 0)
            continue;
        if (zone[i].type >= ACT_SERVFAIL && act == NULL)
            act = &zone[i];
        if (zone[i].type == qtype)
            has_type = true;
    }
    if (act != NULL && act->type <= ACT_TIMEOUT && has_type)
        return NULL;
    return act;
}

/* Builds the answer section for qname/qtype; returns the rcode. */
static int answer(msg *m, const char *qname, int qtype, unsigned *ancount)
{
    char cur[MAX_NAME];
    snprintf(cur, sizeof(cur), "%s", qname);
    for (int hop = 0; hop < 10; hop++) {
        bool found = false;
        const zrec *cname = NULL;
        for (size_t i = 0; i < zone_n; i++) {
            if (strcmp(zone[i].name, cur) != 0)
                continue;
            if (zone[i].type == qtype) {
                put_rr(m, cur, &zone[i]);
                (*ancount)++;
                found = true;
            } else if (zone[i].type == T_CNAME && cname == NULL) {
                cname = &zone[i];
            }
        }
        if (found || cname == NULL)
            return name_exists(cur) ? 0 : 3;
        put_rr(m, cur, cname);
        (*ancount)++;
        snprintf(cur, sizeof(cur), "%s", cname->target);
    }
    return 0;
}

/* The SOA record of the closest zone line at or above name, or NULL. */
static const zrec *find_soa(const char *name)
{
    for (const char *p = name; p != NULL; p = strchr(p, '.')) {
        if (*p == '.')
            p++;
        for (size_t i = 0; i < zone_n; i++)
            if (zone[i].type == T_SOA && strcmp(zone[i].name, p) == 0)
                return &zone[i];
    }
    return NULL;
}

/* Reads the query's name at *pos into out (lower case); -1 if malformed. */
static int read_qname(const unsigned char *q, size_t len, size_t *pos,
                      char *out, size_t outlen)
{
    size_t o = 0;
    for (;;) {
        if (*pos >= len)
            return -1;
        unsigned l = q[(*pos)++];
        if (l == 0)
            break;
        if (l > 63 || *pos + l > len || o + l + 2 > outlen)
            return -1;
        if (o > 0)
            out[o++] = '.';
        for (unsigned i = 0; i < l; i++)
            out[o++] = (char)tolower(q[(*pos)++]);
    }
    out[o] = '\0';
    return 0;
}

/* Type name for the log. */
static const char *type_name(int t)
{
    switch (t) {
    case T_A:
        return "A";
    case T_AAAA:
        return "AAAA";
    case T_MX:
        return "MX";
    case T_TXT:
        return "TXT";
    case T_PTR:
        return "PTR";
    case T_CNAME:
        return "CNAME";
    default:
        return "other";
    }
}

/* Builds the reply to query q into m. Returns 0 to send, -1 to drop, or
 * a positive delay in milliseconds. */
static int handle(const unsigned char *q, size_t len, bool tcp, msg *m)
{
    char qname[MAX_NAME];
    size_t pos = 12;
    m->len = 0;
    m->overflow = false;
    if (len < 12 || (q[2] & 0x80) != 0 || ((q[2] >> 3) & 0xf) != 0 ||
        q[4] != 0 || q[5] != 1)
        return -1;
    if (read_qname(q, len, &pos, qname, sizeof(qname)) != 0 || pos + 4 > len)
        return -1;
    int qtype = q[pos] << 8 | q[pos + 1];
    size_t qend = pos + 4;
    size_t udp_max = 512;
    if ((q[10] << 8 | q[11]) > 0 && qend + 11 <= len && q[qend] == 0 &&
        (q[qend + 1] << 8 | q[qend + 2]) == T_OPT) {
        size_t sz = (size_t)(q[qend + 3] << 8 | q[qend + 4]);
        if (sz > udp_max)
            udp_max = sz;
    }
    n_queries++;

    const zrec *act = find_action(qname, qtype);
    int delay = 0;
    const char *what = NULL;
    int rcode = 0;
    bool tc = false;
    if (act != NULL) {
        switch (act->type) {
        case ACT_TIMEOUT:
            if (verbose)
                fprintf(stderr, "query %s %s -> (timeout)\n", qname,
                        type_name(qtype));
            return -1;
        case ACT_SERVFAIL:
            rcode = 2;
            what = "SERVFAIL";
            break;
        case ACT_REFUSED:
            rcode = 5;
            what = "REFUSED";
            break;
        case ACT_TRUNCATE:
            tc = !tcp;
            break;
        case ACT_DELAY:
            delay = tcp ? 0 : (int)act->prio;
            break;
        default:
            break;
        }
    }
    unsigned char hdr[12];
    memcpy(hdr, q, 12);
    put(m, hdr, 12);
    put(m, q + 12, qend - 12);
    unsigned ancount = 0, nscount = 0;
    if (what == NULL && !tc) {
        rcode = answer(m, qname, qtype, &ancount);
        what = rcode == 3 ? "NXDOMAIN" : ancount == 0 ? "NODATA" : "answer";
        const zrec *soa = ancount == 0 ? find_soa(qname) : NULL;
        if (soa != NULL) {
            put_rr(m, soa->name, soa);
            nscount = 1;
        }
    } else if (what == NULL) {
        what = "truncated";
    }
    if (m->overflow || (!tcp && m->len > udp_max)) {
        m->len = qend;
        ancount = nscount = 0;
        tc = true;
        what = "truncated";
    }
    m->buf[2] = (unsigned char)(0x84 | (q[2] & 0x01) | (tc ? 0x02 : 0));
    m->buf[3] = (unsigned char)rcode;
    m->buf[6] = (unsigned char)(ancount >> 8);
    m->buf[7] = (unsigned char)ancount;
    memset(m->buf + 8, 0, 4);
    m->buf[9] = (unsigned char)nscount;
    if (verbose)
        fprintf(stderr, "query %s %s -> %s%s\n", qname, type_name(qtype), what,
                tcp ? " (tcp)" : "");
    return delay;
}

/* A UDP reply waiting for its time. */
typedef struct {
    struct timespec due;
    struct sockaddr_storage to;
    socklen_t tolen;
    unsigned char *data;
    size_t len;
} pending;

/* One TCP connection. */
typedef struct {
    int fd;
    unsigned char in[65537];
    size_t inlen;
} conn;

static pending waiting[MAX_PENDING];
static size_t n_waiting;
static conn *conns[MAX_CONN];

/* Signal handler: ask the loop to stop. */
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Milliseconds until t (0 if past). */
static int ms_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (long long)(t->tv_sec - now.tv_sec) * 1000 +
                   (t->tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

/* Reads and answers one UDP datagram. */
static void serve_udp(int fd, msg *m)
{
    unsigned char q[4096];
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
    if (n <= 0)
        return;
    int rc = handle(q, (size_t)n, false, m);
    if (rc < 0)
        return;
    if (rc == 0 || n_waiting == MAX_PENDING) {
        (void)sendto(fd, m->buf, m->len, 0, (struct sockaddr *)&from, fl);
        return;
    }
    pending *p = &waiting[n_waiting];
    p->data = malloc(m->len);
    if (p->data == NULL)
        return;
    memcpy(p->data, m->buf, m->len);
    p->len = m->len;
    p->to = from;
    p->tolen = fl;
    clock_gettime(CLOCK_MONOTONIC, &p->due);
    p->due.tv_sec += rc / 1000;
    p->due.tv_nsec += (long)(rc % 1000) * 1000000;
    if (p->due.tv_nsec >= 1000000000) {
        p->due.tv_sec++;
        p->due.tv_nsec -= 1000000000;
    }
    n_waiting++;
}

/* Sends the delayed UDP replies that are due. */
static void flush_waiting(int fd)
{
    for (size_t i = 0; i < n_waiting;) {
        if (ms_until(&waiting[i].due) > 0) {
            i++;
            continue;
        }
        (void)sendto(fd, waiting[i].data, waiting[i].len, 0,
                     (struct sockaddr *)&waiting[i].to, waiting[i].tolen);
        free(waiting[i].data);
        waiting[i] = waiting[--n_waiting];
    }
}

/* Writes all of buf to a stream socket; -1 on error. */
static int write_all(int fd, const unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads from a TCP connection and answers complete queries; false when the
 * connection is finished. */
static bool serve_tcp(conn *c, msg *m)
{
    ssize_t n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
    if (n <= 0)
        return false;
    c->inlen += (size_t)n;
    while (c->inlen >= 2) {
        size_t ql = (size_t)(c->in[0] << 8 | c->in[1]);
        if (c->inlen < ql + 2)
            break;
        if (handle(c->in + 2, ql, true, m) >= 0) {
            unsigned char lb[2] = {(unsigned char)(m->len >> 8),
                                   (unsigned char)m->len};
            if (write_all(c->fd, lb, 2) != 0 ||
                write_all(c->fd, m->buf, m->len) != 0)
                return false;
        }
        memmove(c->in, c->in + ql + 2, c->inlen - ql - 2);
        c->inlen -= ql + 2;
    }
    return true;
}

/* Opens the UDP and TCP sockets on addr/port; returns the port. */
static unsigned open_sockets(const char *addr, unsigned port, int *udp,
                             int *tcp)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sl;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        sl = sizeof(*v4);
    } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        sl = sizeof(*v6);
    } else {
        die(2, "bad address %s", addr);
        return 0;
    }
    for (int attempt = 0; attempt < 50; attempt++) {
        if (ss.ss_family == AF_INET)
            v4->sin_port = htons((uint16_t)port);
        else
            v6->sin6_port = htons((uint16_t)port);
        *udp = socket(ss.ss_family, SOCK_DGRAM, 0);
        *tcp = socket(ss.ss_family, SOCK_STREAM, 0);
        if (*udp < 0 || *tcp < 0)
            die(1, "%s", "cannot create sockets");
        int one = 1;
        (void)setsockopt(*tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(*udp, (struct sockaddr *)&ss, sl) != 0)
            die(1, "cannot bind UDP: %s", strerror(errno));
        struct sockaddr_storage got;
        socklen_t gl = sizeof(got);
        getsockname(*udp, (struct sockaddr *)&got, &gl);
        unsigned p = ntohs(got.ss_family == AF_INET
                               ? ((struct sockaddr_in *)&got)->sin_port
                               : ((struct sockaddr_in6 *)&got)->sin6_port);
        if (ss.ss_family == AF_INET)
            v4->sin_port = htons((uint16_t)p);
        else
            v6->sin6_port = htons((uint16_t)p);
        if (bind(*tcp, (struct sockaddr *)&ss, sl) == 0 &&
            listen(*tcp, 16) == 0)
            return p;
        if (port != 0)
            die(1, "cannot bind TCP: %s", strerror(errno));
        close(*udp);
        close(*tcp);
    }
    die(1, "%s", "no free port for both UDP and TCP");
    return 0;
}

/* Accepts one TCP connection into a free slot. */
static void accept_conn(int tcp)
{
    int fd = accept(tcp, NULL, NULL);
    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CONN; i++) {
        if (conns[i] == NULL) {
            conns[i] = malloc(sizeof(conn));
            if (conns[i] == NULL)
                break;
            conns[i]->fd = fd;
            conns[i]->inlen = 0;
            return;
        }
    }
    close(fd);
}

/* Serves until a signal asks to stop. */
static void serve(int udp, int tcp)
{
    static msg m;
    while (!stop) {
        struct pollfd pfd[2 + MAX_CONN];
        int idx[2 + MAX_CONN];
        nfds_t n = 0;
        pfd[n].fd = udp;
        pfd[n++].events = POLLIN;
        pfd[n].fd = tcp;
        pfd[n++].events = POLLIN;
        for (int i = 0; i < MAX_CONN; i++) {
            if (conns[i] == NULL)
                continue;
            idx[n] = i;
            pfd[n].fd = conns[i]->fd;
            pfd[n++].events = POLLIN;
        }
        int timeout = -1;
        for (size_t i = 0; i < n_waiting; i++) {
            int t = ms_until(&waiting[i].due);
            if (timeout < 0 || t < timeout)
                timeout = t;
        }
        int rc = poll(pfd, n, timeout);
        if (rc < 0 && errno != EINTR)
            die(1, "poll: %s", strerror(errno));
        flush_waiting(udp);
        if (rc <= 0)
            continue;
        if (pfd[0].revents & POLLIN)
            serve_udp(udp, &m);
        if (pfd[1].revents & POLLIN)
            accept_conn(tcp);
        for (nfds_t k = 2; k < n; k++) {
            if (pfd[k].revents == 0)
                continue;
            conn *c = conns[idx[k]];
            if (!serve_tcp(c, &m)) {
                close(c->fd);
                free(c);
                conns[idx[k]] = NULL;
            }
        }
    }
}

/* Loads the zone, opens the sockets, serves until a signal. */
int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *zonefile = NULL, *pidfile = NULL;
    unsigned port = 0;
    int opt;
    while ((opt = getopt(argc, argv, "a:p:z:P:v")) != -1) {
        switch (opt) {
        case 'a':
            addr = optarg;
            break;
        case 'p':
            port = (unsigned)strtoul(optarg, NULL, 10);
            if (port > 65535)
                die(2, "bad port %s", optarg);
            break;
        case 'z':
            zonefile = optarg;
            break;
        case 'P':
            pidfile = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        default:
            die(2, "%s",
                "usage: testdns -a ADDR -p PORT -z ZONEFILE [-P PIDFILE] [-v]");
        }
    }
    if (zonefile == NULL)
        die(2, "%s", "a zone file (-z) is required");
    load_zone(zonefile);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int udp, tcp;
    unsigned got = open_sockets(addr, port, &udp, &tcp);
    if (pidfile != NULL) {
        FILE *pf = fopen(pidfile, "w");
        if (pf == NULL)
            die(1, "cannot write %s", pidfile);
        fprintf(pf, "%ld\n", (long)getpid());
        fclose(pf);
    }
    printf("%u\n", got);
    fflush(stdout);
    serve(udp, tcp);
    if (verbose)
        fprintf(stderr, "testdns: %lu queries\n", n_queries);
    for (size_t i = 0; i < zone_n; i++) {
        free(zone[i].name);
        free(zone[i].rdata);
        free(zone[i].target);
    }
    free(zone);
    for (size_t i = 0; i < n_waiting; i++)
        free(waiting[i].data);
    for (int i = 0; i < MAX_CONN; i++) {
        if (conns[i] != NULL) {
            close(conns[i]->fd);
            free(conns[i]);
        }
    }
    close(udp);
    close(tcp);
    return 0;
}

/*
 * main.c - the spfgate daemon: command line, start-up, privileges, and
 * libmilter's main loop.
 *
 * Owns: option parsing, the first configuration load, the socket's
 * ownership and mode, the pid file, the privilege drop and detaching.
 * Decides nothing about mail.
 *
 * Fails: every start-up problem is fatal with a message naming what and
 * why (configuration problems as FILE:LINE: reason), exit status 1; an
 * unknown option prints usage to stderr and exits 2.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "log.h"
#include "replies.h"
#include "settings.h"
#include "signals.h"
#include "spfcache.h"
#include "spfcheck.h"
#include "stats.h"

#define DEFAULT_CONFIG SYSCONFDIR "/spfgate/spfgate.conf"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: spfgate [-c FILE] [-f] [-n] [-V] [--reply-table]\n"
            "  -c FILE        configuration file (default %s)\n"
            "  -f             stay in the foreground\n"
            "  -n             check the configuration and exit\n"
            "  -V, --version  print the version\n"
            "  --reply-table  print the SMTP command-reply table\n",
            DEFAULT_CONFIG);
}

/* Prints one list of codes separated by single spaces. */
static void print_codes(FILE *out, const int *codes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%d", i ? " " : "", codes[i]);
}

/* Prints the table: name TAB success codes TAB failure codes. */
static int print_reply_table(FILE *out)
{
    for (int c = 0; c < REPLIES_CMD_COUNT; c++) {
        const replies_row *row = replies_row_of((replies_cmd)c);
        fprintf(out, "%s\t", row->name);
        print_codes(out, row->success, row->n_success);
        fputc('\t', out);
        print_codes(out, row->failure, row->n_failure);
        fputc('\n', out);
    }
    return fflush(out) == 0 && !ferror(out) ? 0 : 1;
}

/* Prints one configuration problem to stderr. */
static void report_stderr(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "spfgate: %s\n", msg);
}

/* Logs and exits: a start-up problem (err: an errno value or 0). */
static void fatal(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void fatal(int err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err)
        log_msg(LOG_LEVEL_ERR, "%s: %s", msg, strerror(err));
    else
        log_msg(LOG_LEVEL_ERR, "%s", msg);
    exit(1);
}

/* The configuration file, for reloads. */
static const char *config_path;

/* Logs one configuration problem found on reload. */
static void report_log(void *ctx, const char *msg)
{
    (void)ctx;
    log_msg(LOG_LEVEL_ERR, "reload: %s", msg);
}

/* True when two optional strings differ. */
static bool differs(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a != b;
    return strcmp(a, b) != 0;
}

/* Names the settings a reload cannot apply (they belong to the socket,
 * the process or the resolver, fixed at start). */
static void warn_restart_only(const settings *old, const settings *new)
{
    bool servers = old->dns_servers.n != new->dns_servers.n;
    for (size_t i = 0; !servers && i < old->dns_servers.n; i++)
        servers = differs(old->dns_servers.items[i], new->dns_servers.items[i]);
    const struct {
        const char *key;
        bool changed;
    } keys[] = {
        {"socket", differs(old->socket, new->socket)},
        {"socket_owner", differs(old->socket_owner, new->socket_owner)},
        {"socket_group", differs(old->socket_group, new->socket_group)},
        {"socket_mode", old->socket_mode != new->socket_mode},
        {"user", differs(old->user, new->user)},
        {"group", differs(old->group, new->group)},
        {"pidfile", differs(old->pidfile, new->pidfile)},
        {"log", old->log_syslog != new->log_syslog},
        {"log_facility", old->log_facility != new->log_facility},
        {"milter_timeout", old->milter_timeout != new->milter_timeout},
        {"dns_servers", servers},
        {"dns_timeout", old->dns_timeout_ms != new->dns_timeout_ms},
        {"deadline", old->deadline_ms != new->deadline_ms},
        {"dns_cache_size", old->dns_cache_size != new->dns_cache_size},
        {"dns_negative_ttl_max",
         old->dns_negative_ttl_max_ms != new->dns_negative_ttl_max_ms},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].changed)
            log_msg(LOG_LEVEL_WARNING,
                    "reload: %s changed; it takes effect at the next restart",
                    keys[i].key);
}

/* SIGHUP: load the file again; on success new connections use it, open
 * ones finish with the settings they started with. */
static void reload(void)
{
    settings *fresh = settings_load(config_path, report_log, NULL);
    if (fresh == NULL) {
        log_msg(LOG_LEVEL_ERR,
                "reload: %s has errors; keeping the running "
                "configuration",
                config_path);
        return;
    }
    settings *old = callbacks_settings();
    if (old != NULL) {
        warn_restart_only(old, fresh);
        log_setup(NULL, old->log_syslog, old->log_facility,
                  (log_level)fresh->log_level);
        settings_unref(old);
    }
    callbacks_set_settings(fresh);
    log_msg(LOG_LEVEL_NOTICE, "reload: configuration %s loaded", config_path);
}

/* Writes the counters to the stats file, atomically (temp file, rename). */
static void write_stats_file(void)
{
    settings *s = callbacks_settings();
    if (s == NULL || s->stats_file == NULL) {
        settings_unref(s);
        return;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", s->stats_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        log_msg(LOG_LEVEL_ERR, "cannot write %s: %s", tmp, strerror(errno));
    } else {
        stats_write(f);
        if (fclose(f) != 0 || rename(tmp, s->stats_file) != 0)
            log_msg(LOG_LEVEL_ERR, "cannot write %s: %s", s->stats_file,
                    strerror(errno));
    }
    settings_unref(s);
}

/* SIGUSR1: the counters to the log and the stats file. */
static void dump_stats(void)
{
    stats_log();
    write_stats_file();
}

/* The path of a unix socket setting, or NULL for an inet socket. */
static const char *unix_path(const char *sock)
{
    if (strncmp(sock, "unix:", 5) == 0)
        return sock + 5;
    if (strncmp(sock, "local:", 6) == 0)
        return sock + 6;
    return NULL;
}

/* Gives the unix socket its owner, group and mode. */
static void socket_permissions(const settings *cfg)
{
    const char *path = unix_path(cfg->socket);
    if (path == NULL)
        return;
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    if (cfg->socket_owner) {
        struct passwd *pw = getpwnam(cfg->socket_owner);
        if (pw == NULL)
            fatal(0, "socket_owner %s: no such user", cfg->socket_owner);
        uid = pw->pw_uid;
    }
    if (cfg->socket_group) {
        struct group *gr = getgrnam(cfg->socket_group);
        if (gr == NULL)
            fatal(0, "socket_group %s: no such group", cfg->socket_group);
        gid = gr->gr_gid;
    }
    if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0)
        fatal(errno, "cannot change the owner of socket %s", path);
    if (chmod(path, cfg->socket_mode) != 0)
        fatal(errno, "cannot change the mode of socket %s", path);
}

/* Drops to the configured user and group, then makes sure root cannot be
 * regained. */
static void drop_privileges(const settings *cfg)
{
    if (cfg->user == NULL)
        return;
    struct passwd *pw = getpwnam(cfg->user);
    if (pw == NULL)
        fatal(0, "user %s: no such user", cfg->user);
    gid_t gid = pw->pw_gid;
    if (cfg->group) {
        struct group *gr = getgrnam(cfg->group);
        if (gr == NULL)
            fatal(0, "group %s: no such group", cfg->group);
        gid = gr->gr_gid;
    }
    if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
        return; /* already that user */
    if (initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 ||
        setuid(pw->pw_uid) != 0)
        fatal(errno, "cannot switch to user %s", cfg->user);
    if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        fatal(0, "could switch back to root after dropping to %s", cfg->user);
    log_msg(LOG_LEVEL_INFO, "running as user %s", cfg->user);
}

/* Checks that the users and groups the settings name exist; prints
 * "FILE: reason" for each one that does not. Returns the number missing. */
static int check_accounts(const settings *cfg, const char *path)
{
    const struct {
        const char *key, *name;
        bool group;
    } names[] = {
        {"user", cfg->user, false},
        {"group", cfg->group, true},
        {"socket_owner", cfg->socket_owner, false},
        {"socket_group", cfg->socket_group, true},
    };
    int missing = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i].name == NULL)
            continue;
        bool found = names[i].group ? getgrnam(names[i].name) != NULL
                                    : getpwnam(names[i].name) != NULL;
        if (!found) {
            fprintf(stderr, "spfgate: %s: %s %s: no such %s\n", path,
                    names[i].key, names[i].name,
                    names[i].group ? "group" : "user");
            missing++;
        }
    }
    return missing;
}

/* Writes the pid file (after detaching, so it holds the daemon's pid). */
static void write_pidfile(const char *path)
{
    if (path == NULL)
        return;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        fatal(errno, "cannot write pid file %s", path);
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0)
        fatal(errno, "cannot write pid file %s", path);
}

/* Detaches from the terminal: fork, new session, stdio to /dev/null. */
static void detach(void)
{
    pid_t pid = fork();
    if (pid < 0)
        fatal(errno, "cannot fork");
    if (pid > 0)
        _exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
}

/* Starts the SPF evaluator with the DNS settings. */
static void start_spf(const settings *cfg)
{
    spfcheck_options opt = {
        .servers = (const char *const *)cfg->dns_servers.items,
        .n_servers = cfg->dns_servers.n,
        .query_timeout_ms = cfg->dns_timeout_ms,
        .deadline_ms = cfg->deadline_ms,
        .receiver = cfg->authserv_id,
        .cache_size = cfg->dns_cache_size,
        .no_cache = cfg->dns_cache_size == 0,
        .negative_ttl_max_ms = cfg->dns_negative_ttl_max_ms,
    };
    char err[256];
    if (spfcheck_init(&opt, err, sizeof err) != 0)
        fatal(0, "cannot start the SPF evaluator: %s", err);
    stats_dns_cache_source(dns_cache_stats);
    stats_result_cache_source(spfcache_counters);
}

/* Sets TCP_NODELAY on libmilter's listening TCP socket, which connections
 * accepted from it inherit: spfgate answers end of message with several
 * small packets (headers, then the reply), and with Nagle's algorithm each
 * waits for the MTA's delayed ACK, about 40 ms per message. libmilter
 * does not hand out its socket, so the one listening TCP socket of the
 * process is looked for among its descriptors. */
static void tcp_nodelay(void)
{
    for (int fd = 0; fd < 1024; fd++) {
        int listening = 0, type = 0, one = 1;
        socklen_t len = sizeof listening;
        struct sockaddr_storage sa;
        socklen_t salen = sizeof sa;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
            !listening)
            continue;
        len = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
            type != SOCK_STREAM ||
            getsockname(fd, (struct sockaddr *)&sa, &salen) != 0 ||
            (sa.ss_family != AF_INET && sa.ss_family != AF_INET6))
            continue;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            log_msg(LOG_LEVEL_WARNING, "cannot set TCP_NODELAY: %s",
                    strerror(errno));
    }
}

/* Sets up libmilter: socket, timeout, callbacks. */
static void start_milter(const settings *cfg)
{
    if (smfi_setconn(cfg->socket) != MI_SUCCESS)
        fatal(0, "cannot use socket %s", cfg->socket);
    smfi_settimeout((int)cfg->milter_timeout);
    if (smfi_register(*callbacks_filter()) != MI_SUCCESS)
        fatal(0, "cannot register the filter with libmilter");
    const char *path = unix_path(cfg->socket);
    mode_t old = umask(path ? (~cfg->socket_mode & 0777) : 022);
    if (smfi_opensocket(true) != MI_SUCCESS)
        fatal(0, "cannot open socket %s (in use, or no permission?)",
              cfg->socket);
    umask(old);
    socket_permissions(cfg);
    callbacks_set_tcp(path == NULL);
    if (path == NULL)
        tcp_nodelay();
}

int main(int argc, char **argv)
{
    enum { OPT_REPLY_TABLE = 256 };
    static const struct option longopts[] = {
        {"reply-table", no_argument, NULL, OPT_REPLY_TABLE},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    const char *path = DEFAULT_CONFIG;
    bool foreground = false, check_only = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:fnVh", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_REPLY_TABLE:
            return print_reply_table(stdout);
        case 'V':
            printf("spfgate %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'c':
            path = optarg;
            break;
        case 'f':
            foreground = true;
            break;
        case 'n':
            check_only = true;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    settings *cfg = settings_load(path, report_stderr, NULL);
    if (cfg == NULL)
        return 1;
    if (check_accounts(cfg, path) != 0) {
        settings_unref(cfg);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration OK\n", path);
        settings_unref(cfg);
        return 0;
    }
    log_setup("spfgate", cfg->log_syslog, cfg->log_facility,
              (log_level)cfg->log_level);
    signal(SIGPIPE, SIG_IGN);
    /* One malloc arena for all threads: libmilter runs a thread per
     * connection, and with glibc's default (8 arenas per core) each new
     * thread spread its allocations over more arenas, whose free pages
     * stayed resident: RSS grew 25% from 2,000 to 10,000 messages, and
     * is flat with one arena and a trim when the last session ends
     * (callbacks.c). The arena lock is cheap next to the socket I/O. */
    (void)mallopt(M_ARENA_MAX, 1);
    start_milter(cfg);
    drop_privileges(cfg);
    if (!foreground)
        detach();
    write_pidfile(cfg->pidfile);
    start_spf(cfg);
    log_msg(LOG_LEVEL_NOTICE, "spfgate %s starting on %s (configuration %s)",
            PACKAGE_VERSION, cfg->socket, path);
    char *pidfile = cfg->pidfile ? strdup(cfg->pidfile) : NULL;
    config_path = path;
    callbacks_set_settings(cfg);
    if (signals_start(reload, dump_stats) != 0)
        fatal(errno, "cannot start the signal thread");

    int rc = smfi_main();

    log_msg(LOG_LEVEL_NOTICE, "spfgate stopping (%s)",
            rc == MI_SUCCESS ? "normal" : "libmilter error");
    dump_stats();
    callbacks_shutdown();
    spfcheck_shutdown();
    if (pidfile)
        unlink(pidfile);
    free(pidfile);
    return rc == MI_SUCCESS ? 0 : 1;
}

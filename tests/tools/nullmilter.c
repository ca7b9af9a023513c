/*
 * nullmilter.c - a minimal libmilter filter that lets everything through.
 *
 * Owns: nothing but its listening socket and optional pid file. Every
 * callback (connect ... close) answers SMFIS_CONTINUE; the filter asks for
 * no actions. It is the throughput ceiling for benchmarks and a known peer
 * for the milter-protocol client's own tests.
 *
 * Fails: a bad command line prints usage and exits 2; a socket that cannot
 * be opened or a failed smfi_* call exits 1 with a message on stderr.
 * SIGTERM, SIGINT and SIGHUP (caught by libmilter) stop it with exit 0.
 */
#include "config.h"

#include <libmilter/mfapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Continues on connection information. */
static sfsistat null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
    (void)ctx;
    (void)host;
    (void)addr;
    return SMFIS_CONTINUE;
}

/* Continues on HELO/EHLO. */
static sfsistat null_helo(SMFICTX *ctx, char *name)
{
    (void)ctx;
    (void)name;
    return SMFIS_CONTINUE;
}

/* Continues on MAIL FROM. */
static sfsistat null_envfrom(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

/* Continues on RCPT TO. */
static sfsistat null_envrcpt(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

/* Continues on DATA. */
static sfsistat null_data(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

/* Continues on an unknown SMTP command. */
static sfsistat null_unknown(SMFICTX *ctx, const char *cmd)
{
    (void)ctx;
    (void)cmd;
    return SMFIS_CONTINUE;
}

/* Continues on each header. */
static sfsistat null_header(SMFICTX *ctx, char *name, char *value)
{
    (void)ctx;
    (void)name;
    (void)value;
    return SMFIS_CONTINUE;
}

/* Continues at the end of the headers. */
static sfsistat null_eoh(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

/* Continues on each body chunk. */
static sfsistat null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    (void)ctx;
    (void)chunk;
    (void)len;
    return SMFIS_CONTINUE;
}

/* Continues at the end of the message (the MTA delivers it unchanged). */
static sfsistat null_eom(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

/* Continues when the MTA aborts a transaction. */
static sfsistat null_abort(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

/* Continues when the connection closes. */
static sfsistat null_close(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
    .xxfi_name = "nullmilter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = 0,
    .xxfi_connect = null_connect,
    .xxfi_helo = null_helo,
    .xxfi_envfrom = null_envfrom,
    .xxfi_envrcpt = null_envrcpt,
    .xxfi_header = null_header,
    .xxfi_eoh = null_eoh,
    .xxfi_body = null_body,
    .xxfi_eom = null_eom,
    .xxfi_abort = null_abort,
    .xxfi_close = null_close,
    .xxfi_unknown = null_unknown,
    .xxfi_data = null_data,
    .xxfi_negotiate = NULL,
};

/* Prints the usage line. */
static void usage(FILE *out)
{
    fprintf(out, "usage: nullmilter -p SOCKET [-P PIDFILE]\n"
                 "  SOCKET is unix:PATH, inet:PORT@ADDR or inet6:PORT@ADDR\n");
}

/* Writes the process id to path; returns 0, or -1 with a message. */
static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

/* Parses the options, opens the socket and runs the libmilter loop. */
int main(int argc, char **argv)
{
    const char *sock = NULL;
    const char *pidfile = NULL;
    int c;
    while ((c = getopt(argc, argv, "p:P:h")) != -1) {
        switch (c) {
        case 'p':
            sock = optarg;
            break;
        case 'P':
            pidfile = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (sock == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (smfi_setconn((char *)sock) == MI_FAILURE) {
        fprintf(stderr, "nullmilter: bad socket %s\n", sock);
        return 1;
    }
    if (smfi_register(null_desc) == MI_FAILURE) {
        fprintf(stderr, "nullmilter: smfi_register failed\n");
        return 1;
    }
    if (smfi_opensocket(1) == MI_FAILURE) {
        fprintf(stderr, "nullmilter: cannot open socket %s\n", sock);
        return 1;
    }
    if (pidfile != NULL && write_pidfile(pidfile) != 0)
        return 1;
    int rc = smfi_main() == MI_SUCCESS ? 0 : 1;
    if (pidfile != NULL)
        unlink(pidfile);
    return rc;
}

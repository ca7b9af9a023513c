/*
 * nullmilter.c - a minimal libmilter filter that lets everything through.
 *
 * Owns: nothing but its listening socket and optional pid file. Every
 * callback (connect ... close) answers SMFIS_CONTINUE; the filter asks for
 * no actions. It is the throughput ceiling for benchmarks and a known peer
 * for the milter-protocol client's own tests. For those tests two options
 * change the defaults: -F asks for protocol flags in the negotiation (steps
 * to skip, SMFIP_NR_* steps answered with no reply), -H inserts one header
 * at the end of each message.
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

/* Protocol flags asked for with -F (set before smfi_main, then only read). */
static unsigned long want_pflags;
/* The header inserted at end of message with -H, or NULL. */
static char *add_name, *add_value;

/* CONTINUE, or NOREPLY when the no-reply flag of the step was negotiated. */
static sfsistat answer(unsigned long nr_flag)
{
    return (want_pflags & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* Continues on connection information. */
static sfsistat null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
    (void)ctx;
    (void)host;
    (void)addr;
    return answer(SMFIP_NR_CONN);
}

/* Continues on HELO/EHLO. */
static sfsistat null_helo(SMFICTX *ctx, char *name)
{
    (void)ctx;
    (void)name;
    return answer(SMFIP_NR_HELO);
}

/* Continues on MAIL FROM. */
static sfsistat null_envfrom(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return answer(SMFIP_NR_MAIL);
}

/* Continues on RCPT TO. */
static sfsistat null_envrcpt(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return answer(SMFIP_NR_RCPT);
}

/* Continues on DATA. */
static sfsistat null_data(SMFICTX *ctx)
{
    (void)ctx;
    return answer(SMFIP_NR_DATA);
}

/* Continues on an unknown SMTP command. */
static sfsistat null_unknown(SMFICTX *ctx, const char *cmd)
{
    (void)ctx;
    (void)cmd;
    return answer(SMFIP_NR_UNKN);
}

/* Continues on each header. */
static sfsistat null_header(SMFICTX *ctx, char *name, char *value)
{
    (void)ctx;
    (void)name;
    (void)value;
    return answer(SMFIP_NR_HDR);
}

/* Continues at the end of the headers. */
static sfsistat null_eoh(SMFICTX *ctx)
{
    (void)ctx;
    return answer(SMFIP_NR_EOH);
}

/* Continues on each body chunk. */
static sfsistat null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    (void)ctx;
    (void)chunk;
    (void)len;
    return answer(SMFIP_NR_BODY);
}

/* Continues at the end of the message, after inserting the -H header. */
static sfsistat null_eom(SMFICTX *ctx)
{
    if (add_name != NULL &&
        smfi_insheader(ctx, 0, add_name, add_value) != MI_SUCCESS)
        return SMFIS_TEMPFAIL;
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

/* Asks for the -F protocol flags the MTA offers, and the actions -H needs. */
static sfsistat null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                               unsigned long f2, unsigned long f3,
                               unsigned long *pf0, unsigned long *pf1,
                               unsigned long *pf2, unsigned long *pf3)
{
    (void)ctx;
    (void)f2;
    (void)f3;
    *pf0 = add_name != NULL ? (f0 & SMFIF_ADDHDRS) : 0;
    *pf1 = want_pflags & f1;
    *pf2 = 0;
    *pf3 = 0;
    want_pflags = *pf1;
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
    fprintf(out, "usage: nullmilter -p SOCKET [-P PIDFILE] [-F PFLAGS] "
                 "[-H 'NAME: VALUE']\n"
                 "  SOCKET is unix:PATH, inet:PORT@ADDR or inet6:PORT@ADDR\n"
                 "  -F  protocol flags to ask for (SMFIP_*, e.g. 0x2002)\n"
                 "  -H  insert this header at index 0 at end of message\n");
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
    char *end;
    while ((c = getopt(argc, argv, "p:P:F:H:h")) != -1) {
        switch (c) {
        case 'p':
            sock = optarg;
            break;
        case 'P':
            pidfile = optarg;
            break;
        case 'F':
            want_pflags = strtoul(optarg, &end, 0);
            if (*end != '\0' || end == optarg) {
                usage(stderr);
                return 2;
            }
            null_desc.xxfi_negotiate = null_negotiate;
            break;
        case 'H':
            add_name = optarg;
            add_value = strchr(optarg, ':');
            if (add_value == NULL || add_value == optarg) {
                usage(stderr);
                return 2;
            }
            *add_value++ = '\0';
            add_value += strspn(add_value, " ");
            null_desc.xxfi_flags = SMFIF_ADDHDRS;
            null_desc.xxfi_negotiate = null_negotiate;
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

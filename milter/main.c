/*
 * main.c - the spfgate program: command line and start-up.
 *
 * Owns: option parsing and the informational commands (--version,
 * --reply-table). Decides nothing about mail.
 *
 * Fails: an unknown option or stray argument prints usage to stderr and
 * exits 2; a write error on stdout exits 1.
 */
#include "config.h"

#include "replies.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: spfgate [--reply-table] [-V|--version] [-h|--help]\n"
                 "  --reply-table  print the SMTP command-reply table\n"
                 "  -V, --version  print the version\n");
}

/* Prints one line per command: name TAB success codes TAB failure codes. */
static void print_codes(FILE *out, const int *codes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%d", i ? " " : "", codes[i]);
}

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

int main(int argc, char **argv)
{
    enum { OPT_REPLY_TABLE = 256 };
    static const struct option longopts[] = {
        {"reply-table", no_argument, NULL, OPT_REPLY_TABLE},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "Vh", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_REPLY_TABLE:
            return print_reply_table(stdout);
        case 'V':
            printf("spfgate %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    usage(stderr);
    return 2;
}

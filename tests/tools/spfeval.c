/*
 * spfeval.c - batch SPF evaluations through spfcheck, for test drivers.
 *
 *   spfeval -s SERVER [-s SERVER...] [-t QUERY_MS] [-d DEADLINE_MS]
 *
 * Reads one case per line from stdin, tab-separated:
 *   ID  CLIENT-IP  HELO  MAILFROM
 * (MAILFROM "<>" is the null sender; "-" asks for the HELO identity) and
 * writes one line per case to stdout:
 *   ID  RESULT  EXPLANATION  PROBLEM  QUERIES  MILLISECONDS
 *
 * Fails: exits 2 on bad arguments or when spfcheck cannot start; a
 * malformed input line is answered with result "badinput".
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spfcheck.h"

/* Splits line at tabs into at most n fields; returns the count. */
static int split(char *line, char **f, int n)
{
    int k = 0;
    char *p = line;
    while (k < n) {
        f[k++] = p;
        p = strchr(p, '\t');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    return k;
}

/* Evaluates one input line and prints the answer. */
static void run_line(char *line)
{
    char *f[4];
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (split(line, f, 4) != 4) {
        printf("%s\tbadinput\t\t\t0\t0\n", f[0]);
        return;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, f[1], &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, f[1], &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
    } else {
        printf("%s\tbadinput\t\t\t0\t0\n", f[0]);
        return;
    }
    const char *sender = f[3];
    if (strcmp(sender, "<>") == 0)
        sender = "";
    else if (strcmp(sender, "-") == 0)
        sender = NULL;
    spfcheck_query q = {(struct sockaddr *)&ss, f[2], sender};
    spfcheck_outcome o;
    spfcheck_eval(&q, &o);
    printf("%s\t%s\t%s\t%s\t%u\t%u\n", f[0], spfcheck_result_name(o.result),
           o.explanation, o.problem, o.dns_queries, o.elapsed_ms);
    fflush(stdout);
}

/* Sets up spfcheck and evaluates each input line. */
int main(int argc, char **argv)
{
    const char *servers[8];
    size_t n = 0;
    unsigned query_ms = 0, deadline_ms = 0;
    int opt;
    while ((opt = getopt(argc, argv, "s:t:d:")) != -1) {
        switch (opt) {
        case 's':
            if (n < 8)
                servers[n++] = optarg;
            break;
        case 't':
            query_ms = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'd':
            deadline_ms = (unsigned)strtoul(optarg, NULL, 10);
            break;
        default:
            fprintf(stderr, "usage: spfeval -s SERVER [-t QUERY_MS] "
                            "[-d DEADLINE_MS] < cases\n");
            return 2;
        }
    }
    spfcheck_options o = {.servers = servers,
                          .n_servers = n,
                          .query_timeout_ms = query_ms,
                          .deadline_ms = deadline_ms,
                          .receiver = "receiver.test"};
    char err[160];
    if (spfcheck_init(&o, err, sizeof(err)) != 0) {
        fprintf(stderr, "spfeval: %s\n", err);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) >= 0)
        run_line(line);
    free(line);
    spfcheck_shutdown();
    return 0;
}

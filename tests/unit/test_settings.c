/*
 * test_settings.c - the configuration loader: every key's good and bad
 * values, the file syntax, the defaults, the reply-code legality checks,
 * trusted networks and the sample configuration file.
 *
 * Each test writes its configuration into a fresh temporary file
 * (mkstemp), loads it and compares the reported messages exactly,
 * "FILE:LINE: reason" included. Field values are rendered as text by
 * render() below, independently of the loader, so the tables read as
 * "this line gives that value".
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "settings.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_MSGS 32

/* The messages of one load. */
struct msgs {
    char text[MAX_MSGS][1200];
    size_t n;
};

static char conf_path[256]; /* the current test file */

/* The report callback: keeps every message. */
static void collect(void *ctx, const char *msg)
{
    struct msgs *m = ctx;
    if (m->n < MAX_MSGS)
        snprintf(m->text[m->n], sizeof m->text[0], "%s", msg);
    m->n++;
}

/* Writes `text` into a new temporary file; its name goes to conf_path. */
static void write_conf(const char *text)
{
    const char *dir = getenv("TMPDIR");
    snprintf(conf_path, sizeof conf_path, "%s/spfgate-test-XXXXXX",
             dir && *dir ? dir : "/tmp");
    int fd = mkstemp(conf_path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Loads `text` as a file; the messages go to m. */
static settings *load_text(const char *text, struct msgs *m)
{
    memset(m, 0, sizeof *m);
    write_conf(text);
    settings *s = settings_load(conf_path, collect, m);
    unlink(conf_path);
    return s;
}

/* Joins a list's items with '|'. */
static void render_list(const settings_list *l, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", i ? "|" : "", l->items[i]);
    }
}

/* Renders the trusted networks as "ADDR/PREFIX|..." in IPv6 form. */
static void render_nets(const settings *s, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < s->n_trusted; i++) {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, s->trusted[i].addr, a, sizeof a);
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s/%u", i ? "|" : "", a,
                 s->trusted[i].prefix);
    }
}

/* Renders the value of one key as text; "?" for an unknown key. */
static const char *render(const settings *s, const char *key)
{
    static char buf[2048];
    static const struct {
        const char *key;
        spfcheck_result r;
    } actions[] = {
        {"on_pass", SPFCHECK_PASS},
        {"on_fail", SPFCHECK_FAIL},
        {"on_softfail", SPFCHECK_SOFTFAIL},
        {"on_neutral", SPFCHECK_NEUTRAL},
        {"on_none", SPFCHECK_NONE},
        {"on_permerror", SPFCHECK_PERMERROR},
        {"on_temperror", SPFCHECK_TEMPERROR},
    };
    struct {
        const char *key;
        const char *str;
    } strs[] = {
        {"socket", s->socket},
        {"socket_owner", s->socket_owner},
        {"socket_group", s->socket_group},
        {"user", s->user},
        {"group", s->group},
        {"pidfile", s->pidfile},
        {"stats_file", s->stats_file},
        {"reject_text", s->reject_text},
        {"tempfail_text", s->tempfail_text},
        {"authserv_id", s->authserv_id},
    };
    struct {
        const char *key;
        long num;
    } nums[] = {
        {"socket_mode", (long)s->socket_mode},
        {"log_facility", s->log_facility},
        {"log_level", s->log_level},
        {"milter_timeout", (long)s->milter_timeout},
        {"dns_timeout", (long)s->dns_timeout_ms},
        {"deadline", (long)s->deadline_ms},
        {"dns_cache_size", (long)s->dns_cache_size},
        {"dns_negative_ttl_max", (long)s->dns_negative_ttl_max_ms},
        {"reject_code", s->reject_code},
        {"tempfail_code", s->tempfail_code},
    };
    struct {
        const char *key;
        bool b;
    } bools[] = {
        {"log", s->log_syslog},
        {"check_helo", s->check_helo},
        {"skip_auth", s->skip_auth},
        {"dry_run", s->dry_run},
        {"add_received_spf", s->add_received_spf},
        {"add_auth_results", s->add_auth_results},
    };
    struct {
        const char *key;
        const settings_list *l;
    } lists[] = {
        {"dns_servers", &s->dns_servers},
        {"exempt_senders", &s->exempt_senders},
        {"exempt_recipients", &s->exempt_recipients},
        {"rcpt_exceptions", &s->rcpt_exceptions},
    };
    for (size_t i = 0; i < N(strs); i++)
        if (strcmp(key, strs[i].key) == 0)
            return strs[i].str ? strs[i].str : "(null)";
    for (size_t i = 0; i < N(nums); i++) {
        if (strcmp(key, nums[i].key) == 0) {
            snprintf(buf, sizeof buf, "%ld", nums[i].num);
            return buf;
        }
    }
    for (size_t i = 0; i < N(bools); i++)
        if (strcmp(key, bools[i].key) == 0)
            return bools[i].b ? "yes" : "no";
    for (size_t i = 0; i < N(lists); i++) {
        if (strcmp(key, lists[i].key) == 0) {
            render_list(lists[i].l, buf, sizeof buf);
            return buf;
        }
    }
    for (size_t i = 0; i < N(actions); i++)
        if (strcmp(key, actions[i].key) == 0)
            return settings_action_name(s->action[actions[i].r]);
    if (strcmp(key, "trusted_networks") == 0) {
        render_nets(s, buf, sizeof buf);
        return buf;
    }
    return "?";
}

/* Fails unless a and b hold the same value for every key. */
static void assert_same(const settings *a, const settings *b)
{
    const char *name;
    for (size_t i = 0; (name = settings_key_name(i)) != NULL; i++) {
        char va[2048];
        snprintf(va, sizeof va, "%s", render(a, name));
        if (strcmp(va, render(b, name)) != 0)
            fail_msg("%s: '%s' != '%s'", name, va, render(b, name));
    }
}

/* Every key of the table is rendered by this test (none is forgotten). */
static void test_every_key_rendered(void **state)
{
    (void)state;
    settings *s = settings_defaults();
    assert_non_null(s);
    const char *name;
    size_t n = 0;
    for (size_t i = 0; (name = settings_key_name(i)) != NULL; i++, n++)
        assert_string_not_equal(render(s, name), "?");
    assert_int_equal(n, 38);
    settings_unref(s);
}

/* The documented defaults. */
static void test_defaults(void **state)
{
    (void)state;
    static const struct {
        const char *key, *want;
    } rows[] = {
        {"socket", "unix:/run/spfgate/spfgate.sock"},
        {"socket_owner", "(null)"},
        {"socket_group", "(null)"},
        {"socket_mode", "432"}, /* 0660 */
        {"user", "(null)"},
        {"group", "(null)"},
        {"pidfile", "(null)"},
        {"stats_file", "(null)"},
        {"log", "yes"},
        {"log_level", "6"},
        {"milter_timeout", "7200"},
        {"check_helo", "yes"},
        {"dns_servers", ""},
        {"dns_timeout", "2000"},
        {"deadline", "8000"},
        {"dns_cache_size", "10000"},
        {"dns_negative_ttl_max", "300000"},
        {"trusted_networks", "::ffff:127.0.0.0/104|::1/128"},
        {"skip_auth", "yes"},
        {"exempt_senders", ""},
        {"exempt_recipients", ""},
        {"rcpt_exceptions", "postmaster"},
        {"on_pass", "accept"},
        {"on_fail", "reject"},
        {"on_softfail", "accept"},
        {"on_neutral", "accept"},
        {"on_none", "accept"},
        {"on_permerror", "accept"},
        {"on_temperror", "tempfail"},
        {"dry_run", "no"},
        {"reject_code", "550"},
        {"tempfail_code", "451"},
        {"tempfail_text", "SPF check of %{sender} from %{ip} failed "
                          "temporarily (%{problem}), try again later"},
        {"add_received_spf", "yes"},
        {"add_auth_results", "yes"},
        {"authserv_id", "(null)"},
    };
    settings *s = settings_defaults();
    assert_non_null(s);
    for (size_t i = 0; i < N(rows); i++)
        assert_string_equal(render(s, rows[i].key), rows[i].want);
    assert_int_equal(s->log_facility, LOG_MAIL);
    assert_int_equal(s->log_level, LOG_LEVEL_INFO);
    assert_null(s->path);
    assert_int_equal(s->refs, 1);
    settings_unref(s);
}

/* An empty file, and one of comments and blank lines, are the defaults. */
static void test_empty_file_is_defaults(void **state)
{
    (void)state;
    static const char *const files[] = {
        "",
        "\n\n   \n\t\n",
        "# only comments\n   # indented comment\n#key = value\n",
        "# no newline at the end",
    };
    settings *d = settings_defaults();
    for (size_t i = 0; i < N(files); i++) {
        struct msgs m;
        settings *s = load_text(files[i], &m);
        assert_int_equal(m.n, 0);
        assert_non_null(s);
        assert_same(s, d);
        assert_string_equal(s->path, conf_path);
        settings_unref(s);
    }
    settings_unref(d);
}

/* Good values: the line, the key and the value it must give. */
static void test_good_values(void **state)
{
    (void)state;
    static const struct {
        const char *line, *key, *want;
    } rows[] = {
        {"socket = unix:/var/spool/postfix/spfgate/sock", "socket",
         "unix:/var/spool/postfix/spfgate/sock"},
        {"socket = local:/run/s.sock", "socket", "unix:/run/s.sock"},
        {"socket = inet:8890@127.0.0.1", "socket", "inet:8890@127.0.0.1"},
        {"socket = inet:1@localhost", "socket", "inet:1@localhost"},
        {"socket = inet6:65535@::1", "socket", "inet6:65535@::1"},
        {"socket_owner = postfix", "socket_owner", "postfix"},
        {"socket_group = mail-users", "socket_group", "mail-users"},
        {"socket_mode = 0600", "socket_mode", "384"},
        {"socket_mode = 777", "socket_mode", "511"},
        {"socket_mode = 0", "socket_mode", "0"},
        {"user = spfgate", "user", "spfgate"},
        {"group = spfgate", "group", "spfgate"},
        {"user =", "user", "(null)"},
        {"pidfile = /run/spfgate/spfgate.pid", "pidfile",
         "/run/spfgate/spfgate.pid"},
        {"log = stderr", "log", "no"},
        {"log = syslog", "log", "yes"},
        {"log_facility = local5", "log_facility", "168"},
        {"log_facility = daemon", "log_facility", "24"},
        {"log_level = debug", "log_level", "7"},
        {"log_level = error", "log_level", "3"},
        {"log_level = warning", "log_level", "4"},
        {"log_level = notice", "log_level", "5"},
        {"milter_timeout = 1", "milter_timeout", "1"},
        {"milter_timeout = 86400", "milter_timeout", "86400"},
        {"check_helo = no", "check_helo", "no"},
        {"check_helo = OFF", "check_helo", "no"},
        {"check_helo = 0", "check_helo", "no"},
        {"check_helo = false", "check_helo", "no"},
        {"dry_run = on", "dry_run", "yes"},
        {"dry_run = true", "dry_run", "yes"},
        {"dry_run = 1", "dry_run", "yes"},
        {"dns_servers = 192.0.2.53, 192.0.2.54:5353 [2001:db8::53]:53 ::1",
         "dns_servers", "192.0.2.53|192.0.2.54:5353|[2001:db8::53]:53|::1"},
        {"dns_timeout = 100ms", "dns_timeout", "100"},
        {"dns_timeout = 3", "dns_timeout", "3000"},
        {"dns_timeout = 8s", "dns_timeout", "8000"},
        {"deadline = 2000ms", "deadline", "2000"},
        {"deadline = 60s", "deadline", "60000"},
        {"deadline = 60000ms", "deadline", "60000"},
        {"dns_cache_size = 0", "dns_cache_size", "0"},
        {"dns_cache_size = 1000000", "dns_cache_size", "1000000"},
        {"dns_negative_ttl_max = 1s", "dns_negative_ttl_max", "1000"},
        {"dns_negative_ttl_max = 86400", "dns_negative_ttl_max", "86400000"},
        {"trusted_networks = 10.0.0.0/8, 2001:db8::/32", "trusted_networks",
         "::ffff:10.0.0.0/104|2001:db8::/32"},
        {"trusted_networks = 192.0.2.77/24", "trusted_networks",
         "::ffff:192.0.2.0/120"},
        {"trusted_networks =", "trusted_networks", ""},
        {"trusted_networks = 0.0.0.0/0 ::/0", "trusted_networks",
         "::ffff:0.0.0.0/96|::/0"},
        {"skip_auth = no", "skip_auth", "no"},
        {"exempt_senders = Example.COM,mail.example.net", "exempt_senders",
         "example.com|mail.example.net"},
        {"exempt_recipients = Abuse@Example.COM @Example.org",
         "exempt_recipients", "Abuse@example.com|@example.org"},
        {"rcpt_exceptions = postmaster, abuse security@example.com",
         "rcpt_exceptions", "postmaster|abuse|security@example.com"},
        {"rcpt_exceptions =", "rcpt_exceptions", ""},
        {"on_pass = accept", "on_pass", "accept"},
        {"on_fail = tempfail", "on_fail", "tempfail"},
        {"on_softfail = reject", "on_softfail", "reject"},
        {"on_neutral = reject", "on_neutral", "reject"},
        {"on_none = tempfail", "on_none", "tempfail"},
        {"on_permerror = reject", "on_permerror", "reject"},
        {"on_temperror = accept", "on_temperror", "accept"},
        {"reject_code = 553", "reject_code", "553"},
        {"reject_code = 550", "reject_code", "550"},
        {"tempfail_code = 451", "tempfail_code", "451"},
        {"tempfail_code = 452", "tempfail_code", "452"},
        {"reject_text = Go away %{ip}", "reject_text", "Go away %{ip}"},
        {"reject_text = \"  100%% SPF %{result} # not a comment \"",
         "reject_text", "  100%% SPF %{result} # not a comment "},
        {"tempfail_text = \"Try later: %{problem}\" # comment", "tempfail_text",
         "Try later: %{problem}"},
        {"add_received_spf = no", "add_received_spf", "no"},
        {"add_auth_results = no", "add_auth_results", "no"},
        {"authserv_id = mx1.example.com", "authserv_id", "mx1.example.com"},
        {"authserv_id = mx_1-a", "authserv_id", "mx_1-a"},
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct msgs m;
        settings *s = load_text(rows[i].line, &m);
        if (s == NULL)
            fail_msg("'%s' refused: %s", rows[i].line, m.text[0]);
        assert_int_equal(m.n, 0);
        if (strcmp(render(s, rows[i].key), rows[i].want) != 0)
            fail_msg("'%s' gave '%s'", rows[i].line, render(s, rows[i].key));
        settings_unref(s);
    }
}

/* Bad values: the line (loaded as line 3, after a comment and a blank
 * line) and the exact reason reported for it. */
static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *line, *why;
    } rows[] = {
        {"socket = /run/s.sock", "socket '/run/s.sock' must be "
                                 "unix:/absolute/path, inet:PORT@ADDR or "
                                 "inet6:PORT@ADDR"},
        {"socket = unix:run/s.sock",
         "socket 'unix:run/s.sock': a unix socket needs an absolute path (at "
         "most 107 bytes, no spaces)"},
        {"socket = inet:0@127.0.0.1",
         "socket 'inet:0@127.0.0.1' must be inet:PORT@ADDR with a port from 1 "
         "to 65535 and an IPv4 address or host name"},
        {"socket = inet:65536@127.0.0.1",
         "socket 'inet:65536@127.0.0.1' must be inet:PORT@ADDR with a port "
         "from 1 to 65535 and an IPv4 address or host name"},
        {"socket = inet:8890",
         "socket 'inet:8890' must be inet:PORT@ADDR with a port from 1 to "
         "65535 and an IPv4 address or host name"},
        {"socket = inet6:8890@::1::2",
         "socket 'inet6:8890@::1::2' must be inet6:PORT@ADDR with a port from "
         "1 to 65535 and an IPv6 address or host name"},
        {"socket =", "socket '' must be unix:/absolute/path, inet:PORT@ADDR or "
                     "inet6:PORT@ADDR"},
        {"socket_owner = root:root",
         "socket_owner 'root:root' is not a user or "
         "group name (letters, digits, '_', '.', "
         "'-')"},
        {"user = -x", "user '-x' is not a user or group name (letters, "
                      "digits, '_', '.', '-')"},
        {"socket_mode = 0999",
         "socket_mode '0999' must be an octal mode from 0 to 0777"},
        {"socket_mode = 1777",
         "socket_mode '1777' must be an octal mode from 0 to 0777"},
        {"socket_mode = rw", "socket_mode 'rw' must be an octal mode from 0 to "
                             "0777"},
        {"pidfile = run/x.pid",
         "pidfile 'run/x.pid' must be an absolute path without spaces"},
        {"log = file", "log 'file' must be syslog or stderr"},
        {"log_facility = local8", "log_facility 'local8' must be mail, daemon, "
                                  "user or local0 to local7"},
        {"log_level = err", "log_level 'err' must be error, warning, notice, "
                            "info or debug"},
        {"milter_timeout = 0",
         "milter_timeout '0' must be a whole number from 1 to 86400"},
        {"milter_timeout = 86401",
         "milter_timeout '86401' must be a whole number from 1 to 86400"},
        {"milter_timeout = -5",
         "milter_timeout '-5' must be a whole number from 1 to 86400"},
        {"milter_timeout = 99999999999999999999",
         "milter_timeout '99999999999999999999' must be a whole number from 1 "
         "to 86400"},
        {"check_helo = maybe", "check_helo 'maybe' must be yes or no (or "
                               "true/false, on/off, 1/0)"},
        {"dns_servers = 192.0.2.1:0",
         "dns_servers: '192.0.2.1:0' is not ADDR, ADDR:PORT or [IPv6]:PORT "
         "with a port from 1 to 65535"},
        {"dns_servers = ns1.example.com",
         "dns_servers: 'ns1.example.com' is not ADDR, ADDR:PORT or "
         "[IPv6]:PORT with a port from 1 to 65535"},
        {"dns_servers = 192.0.2.1 [2001:db8::1]:70000",
         "dns_servers: '[2001:db8::1]:70000' is not ADDR, ADDR:PORT or "
         "[IPv6]:PORT with a port from 1 to 65535"},
        {"dns_servers = [::1]",
         "dns_servers: '[::1]' is not ADDR, ADDR:PORT or [IPv6]:PORT with a "
         "port from 1 to 65535"},
        {"dns_servers = [::1]:",
         "dns_servers: '[::1]:' is not ADDR, ADDR:PORT or [IPv6]:PORT with a "
         "port from 1 to 65535"},
        {"dns_servers = [::1:53",
         "dns_servers: '[::1:53' is not ADDR, ADDR:PORT or [IPv6]:PORT with a "
         "port from 1 to 65535"},
        {"dns_servers = [192.0.2.1]:53",
         "dns_servers: '[192.0.2.1]:53' is not ADDR, ADDR:PORT or "
         "[IPv6]:PORT with a port from 1 to 65535"},
        {"dns_timeout = 99ms",
         "dns_timeout '99ms' must be a duration from 100ms to 30s (a number "
         "with ms or s; a bare number is seconds)"},
        {"dns_timeout = 31s",
         "dns_timeout '31s' must be a duration from 100ms to 30s (a number "
         "with ms or s; a bare number is seconds)"},
        {"dns_timeout = 2m",
         "dns_timeout '2m' must be a duration from 100ms to 30s (a number "
         "with ms or s; a bare number is seconds)"},
        {"deadline = 1.5s",
         "deadline '1.5s' must be a duration from 500ms to 60s (a number with "
         "ms or s; a bare number is seconds)"},
        {"deadline = 61", "deadline '61' must be a duration from 500ms to 60s "
                          "(a number with ms or s; a bare number is seconds)"},
        {"deadline = ms", "deadline 'ms' must be a duration from 500ms to 60s "
                          "(a number with ms or s; a bare number is seconds)"},
        {"dns_cache_size = 1000001",
         "dns_cache_size '1000001' must be a whole number from 0 to 1000000"},
        {"dns_negative_ttl_max = 999ms",
         "dns_negative_ttl_max '999ms' must be a duration from 1000ms to "
         "86400s (a number with ms or s; a bare number is seconds)"},
        {"trusted_networks = 10.0.0.0/33",
         "trusted_networks: '10.0.0.0/33' is not a network (ADDR or ADDR/LEN, "
         "LEN up to 32 for IPv4, 128 for IPv6)"},
        {"trusted_networks = 10.0.0.0/08",
         "trusted_networks: '10.0.0.0/08' is not a network (ADDR or ADDR/LEN, "
         "LEN up to 32 for IPv4, 128 for IPv6)"},
        {"trusted_networks = ::1 2001:db8::/129",
         "trusted_networks: '2001:db8::/129' is not a network (ADDR or "
         "ADDR/LEN, LEN up to 32 for IPv4, 128 for IPv6)"},
        {"exempt_senders = 192.0.2.1",
         "exempt_senders: '192.0.2.1' is not a domain name"},
        {"exempt_senders = example.com.",
         "exempt_senders: 'example.com.' is not a domain name"},
        {"socket = inet:25@999.0.0.1",
         "socket 'inet:25@999.0.0.1' must be inet:PORT@ADDR with a port from "
         "1 to 65535 and an IPv4 address or host name"},
        {"exempt_senders = example..com",
         "exempt_senders: 'example..com' is not a domain name"},
        {"exempt_senders = -bad.example",
         "exempt_senders: '-bad.example' is not a domain name"},
        {"exempt_senders = user@example.com",
         "exempt_senders: 'user@example.com' is not a domain name"},
        {"exempt_recipients = example.com",
         "exempt_recipients: 'example.com' is not an address (local@domain) "
         "or @domain"},
        {"exempt_recipients = a@b@",
         "exempt_recipients: 'a@b@' is not an address (local@domain) or "
         "@domain"},
        {"rcpt_exceptions = @example.com",
         "rcpt_exceptions: '@example.com' is not a local part (postmaster) or "
         "an address"},
        {"rcpt_exceptions = post\"master",
         "rcpt_exceptions: 'post\"master' is not a local part (postmaster) or "
         "an address"},
        {"on_pass = reject", "on_pass 'reject': a pass can only be accepted"},
        {"on_pass = tempfail",
         "on_pass 'tempfail': a pass can only be accepted"},
        {"on_fail = discard",
         "on_fail 'discard' must be accept, reject or tempfail"},
        {"on_temperror = Reject",
         "on_temperror 'Reject' must be accept, reject or tempfail"},
        {"dry_run = yess", "dry_run 'yess' must be yes or no (or true/false, "
                           "on/off, 1/0)"},
        {"reject_code = 451", "reject_code '451' must be a 5xx reply code"},
        {"reject_code = 5500", "reject_code '5500' must be a 5xx reply code"},
        {"reject_code = 055", "reject_code '055' must be a 5xx reply code"},
        {"tempfail_code = 550", "tempfail_code '550' must be a 4xx reply code"},
        {"reject_text = 50% off",
         "reject_text: a lone '%' (write %% for a percent sign) at '% off' "
         "(variables: %{result} %{sender} %{identity} %{domain} %{ip} "
         "%{helo} %{explanation} %{problem})"},
        {"tempfail_text = try %{later}",
         "tempfail_text: unknown variable '%{later}' (variables: %{result} "
         "%{sender} %{identity} %{domain} %{ip} %{helo} %{explanation} "
         "%{problem})"},
        {"reject_text =", "reject_text must not be empty"},
        {"reject_text = \"\"", "reject_text must not be empty"},
        {"reject_text = \"unterminated", "unterminated quoted value"},
        {"reject_text = \"a\" b", "text after the closing quote"},
        {"reject_text = \"a\"#b", "text after the closing quote"},
        {"add_received_spf = si",
         "add_received_spf 'si' must be yes or no (or true/false, on/off, "
         "1/0)"},
        {"add_auth_results = 2", "add_auth_results '2' must be yes or no (or "
                                 "true/false, on/off, 1/0)"},
        {"authserv_id = mx1 example", "authserv_id 'mx1 example' may hold "
                                      "only letters, digits, '-', '.' and "
                                      "'_'"},
        {"authserv_id = mx1;x", "authserv_id 'mx1;x' may hold only letters, "
                                "digits, '-', '.' and '_'"},
        {"nosuchkey = 1", "unknown key 'nosuchkey'"},
        {"bad\x1b[2Jkey = 1", "unknown key 'bad?[2Jkey'"},
        {"Socket = unix:/x", "unknown key 'Socket'"},
        {"socket unix:/x", "expected 'key = value', found no '='"},
        {"= value", "no key before '='"},
    };
    for (size_t i = 0; i < N(rows); i++) {
        char text[512], want[1200];
        snprintf(text, sizeof text, "# comment\n\n  %s  \n# after\n",
                 rows[i].line);
        struct msgs m;
        settings *s = load_text(text, &m);
        if (s != NULL)
            fail_msg("'%s' was accepted", rows[i].line);
        if (m.n != 1)
            fail_msg("'%s': %zu messages", rows[i].line, m.n);
        snprintf(want, sizeof want, "%s:3: %s", conf_path, rows[i].why);
        assert_string_equal(m.text[0], want);
    }
}

/* reject_code and tempfail_code against the reply table. */
static void test_codes(void **state)
{
    (void)state;
    static const struct {
        const char *line, *why; /* why NULL: accepted */
    } rows[] = {
        {"reject_code = 550", NULL},
        {"reject_code = 551", NULL},
        {"reject_code = 552", NULL},
        {"reject_code = 553", NULL},
        {"reject_code = 554", "reject_code 554 is not allowed at RCPT "
                              "(allowed there: 550 551 552 553 500 501 503)"},
        {"reject_code = 502", "reject_code 502 is not allowed at RCPT "
                              "(allowed there: 550 551 552 553 500 501 503)"},
        {"reject_code = 521", "reject_code 521 closes the SMTP session (use "
                              "one of: 550 551 552 553 500 501 503)"},
        {"tempfail_code = 451", NULL},
        {"tempfail_code = 452", NULL},
        {"tempfail_code = 450", "tempfail_code 450 is not allowed at MAIL "
                                "(allowed there: 451 452)"},
        {"tempfail_code = 454", "tempfail_code 454 is not allowed at MAIL "
                                "(allowed there: 451 452)"},
        {"tempfail_code = 421", "tempfail_code 421 closes the SMTP session "
                                "(use one of: 451 452)"},
    };
    for (size_t i = 0; i < N(rows); i++) {
        char text[256], want[512];
        snprintf(text, sizeof text, "#\n%s\n", rows[i].line);
        struct msgs m;
        settings *s = load_text(text, &m);
        if (rows[i].why == NULL) {
            assert_non_null(s);
            assert_int_equal(m.n, 0);
            settings_unref(s);
            continue;
        }
        assert_null(s);
        assert_int_equal(m.n, 1);
        snprintf(want, sizeof want, "%s:2: %s", conf_path, rows[i].why);
        assert_string_equal(m.text[0], want);
    }
}

/* Several problems in one file: every one reported, with its own line. */
static void test_every_error_reported(void **state)
{
    (void)state;
    const char *text = "socket = inet:8890@127.0.0.1\n"    /* 1: ok */
                       "bogus = 1\n"                       /* 2 */
                       "\n"                                /* 3 */
                       "socket_mode = 888\n"               /* 4 */
                       "# comment\n"                       /* 5 */
                       "socket = unix:/run/x.sock\n"       /* 6: duplicate */
                       "no equals sign here\n"             /* 7 */
                       "tempfail_code = 450\n"             /* 8 */
                       "on_pass = reject # not allowed\n"; /* 9 */
    const char *why[] = {
        "2: unknown key 'bogus'",
        "4: socket_mode '888' must be an octal mode from 0 to 0777",
        "6: duplicate key 'socket' (first set on line 1)",
        "7: expected 'key = value', found no '='",
        "8: tempfail_code 450 is not allowed at MAIL (allowed there: 451 452)",
        "9: on_pass 'reject': a pass can only be accepted",
    };
    struct msgs m;
    assert_null(load_text(text, &m));
    assert_int_equal(m.n, N(why));
    for (size_t i = 0; i < N(why); i++) {
        char want[512];
        snprintf(want, sizeof want, "%s:%s", conf_path, why[i]);
        assert_string_equal(m.text[i], want);
    }
}

/* A duplicate is refused even when both values are the same or bad. */
static void test_duplicates(void **state)
{
    (void)state;
    struct msgs m;
    char want[512];
    assert_null(load_text("dry_run = no\n#\ndry_run = no\n", &m));
    assert_int_equal(m.n, 1);
    snprintf(want, sizeof want,
             "%s:3: duplicate key 'dry_run' (first set on line 1)", conf_path);
    assert_string_equal(m.text[0], want);
    assert_null(load_text("log = x\nlog = y\n", &m));
    assert_int_equal(m.n, 2);
    snprintf(want, sizeof want,
             "%s:2: duplicate key 'log' (first set on line 1)", conf_path);
    assert_string_equal(m.text[1], want);
}

/* Comments, blank lines, white space and quotes. */
static void test_syntax(void **state)
{
    (void)state;
    static const struct {
        const char *text, *key, *want;
    } rows[] = {
        {"  \t user\t=\tmilter  \r\n", "user", "milter"},
        {"user = milter # the daemon's user\n", "user", "milter"},
        {"user = milter\t# tab before the comment\n", "user", "milter"},
        {"user = # empty with a comment\n", "user", "(null)"},
        {"# user = root\n\n\n", "user", "(null)"},
        {"exempt_recipients = a#b@example.com\n", "exempt_recipients",
         "a#b@example.com"},
        {"user=milter", "user", "milter"},
        {"reject_text = \"a # b\"   # c\n", "reject_text", "a # b"},
        {"reject_text = \"say \"hi\"\"\n", "reject_text", "?"},
        {"reject_text = say \"hi\"\n", "reject_text", "say \"hi\""},
        {"reject_text = x = y\n", "reject_text", "x = y"},
        {"exempt_senders = a.com,b.com  c.com , d.com,,\te.com\n",
         "exempt_senders", "a.com|b.com|c.com|d.com|e.com"},
        {"exempt_senders = ,\n", "exempt_senders", ""},
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct msgs m;
        settings *s = load_text(rows[i].text, &m);
        if (strcmp(rows[i].want, "?") == 0) {
            assert_null(s); /* quotes do not nest */
            continue;
        }
        if (s == NULL)
            fail_msg("'%s' refused: %s", rows[i].text, m.text[0]);
        assert_string_equal(render(s, rows[i].key), rows[i].want);
        settings_unref(s);
    }
}

/* A NUL byte in a line is refused with its line number. */
static void test_nul_byte(void **state)
{
    (void)state;
    const char text[] = "user = a\nuser2\0 = b\n";
    struct msgs m = {.n = 0};
    write_conf("");
    FILE *f = fopen(conf_path, "w");
    assert_non_null(f);
    fwrite(text, 1, sizeof text - 1, f);
    fclose(f);
    assert_null(settings_load(conf_path, collect, &m));
    unlink(conf_path);
    char want[512];
    snprintf(want, sizeof want, "%s:2: NUL byte in line", conf_path);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.text[0], want);
}

/* Templates longer than a reply can carry are refused. */
static void test_long_template(void **state)
{
    (void)state;
    static char text[2048];
    struct msgs m;
    int n = snprintf(text, sizeof text, "reject_text = ");
    memset(text + n, 'x', 980);
    text[n + 980] = '\0';
    settings *s = load_text(text, &m);
    assert_non_null(s);
    assert_int_equal(strlen(s->reject_text), 980);
    settings_unref(s);
    strcat(text, "x\n");
    assert_null(load_text(text, &m));
    assert_int_equal(m.n, 1);
    char want[512];
    snprintf(want, sizeof want, "%s:1: reject_text is longer than 980 bytes",
             conf_path);
    assert_string_equal(m.text[0], want);
}

/* dns_timeout must not exceed deadline; the later line is blamed. */
static void test_timeout_vs_deadline(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned line; /* 0: accepted */
        const char *why;
    } rows[] = {
        {"dns_timeout = 9s\n", 1,
         "dns_timeout (9000ms) must not exceed deadline (8000ms)"},
        {"deadline = 1s\n", 1,
         "dns_timeout (2000ms) must not exceed deadline (1000ms)"},
        {"dns_timeout = 5s\n#\ndeadline = 4s\n", 3,
         "dns_timeout (5000ms) must not exceed deadline (4000ms)"},
        {"deadline = 4s\n\ndns_timeout = 5s\n#\n", 3,
         "dns_timeout (5000ms) must not exceed deadline (4000ms)"},
        {"deadline = 5s\ndns_timeout = 5000ms\n", 0, NULL},
        {"dns_timeout = 100ms\ndeadline = 500ms\n", 0, NULL},
        {"deadline = 30s\ndns_timeout = 30s\n", 0, NULL},
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct msgs m;
        settings *s = load_text(rows[i].text, &m);
        if (rows[i].line == 0) {
            assert_non_null(s);
            settings_unref(s);
            continue;
        }
        assert_null(s);
        assert_int_equal(m.n, 1);
        char want[512];
        snprintf(want, sizeof want, "%s:%u: %s", conf_path, rows[i].line,
                 rows[i].why);
        assert_string_equal(m.text[0], want);
    }
    /* A bad value of either is reported once, without a cross error. */
    struct msgs m;
    assert_null(load_text("deadline = 1s\ndns_timeout = 99s\n", &m));
    assert_int_equal(m.n, 1);
}

/* A file that cannot be read: "FILE: reason". */
static void test_missing_file(void **state)
{
    (void)state;
    struct msgs m = {.n = 0};
    const char *path = "/nonexistent-dir/spfgate.conf";
    assert_null(settings_load(path, collect, &m));
    assert_int_equal(m.n, 1);
    assert_string_equal(m.text[0],
                        "/nonexistent-dir/spfgate.conf: No such file or "
                        "directory");
    assert_null(settings_load(path, NULL, NULL)); /* no callback: fine */
    m.n = 0;
    assert_null(settings_load("/", collect, &m));
    assert_int_equal(m.n, 1);
    assert_string_equal(m.text[0], "/: Is a directory");
}

/* The sample configuration loads cleanly, equals the defaults, and
 * documents every key. */
static void test_sample_conf(void **state)
{
    (void)state;
    char path[1024];
    const char *src = getenv("SPFGATE_TEST_SOURCE");
    const char *data = getenv("SPFGATE_TEST_DATA");
    if (src != NULL)
        snprintf(path, sizeof path, "%s/conf/spfgate.conf", src);
    else
        snprintf(path, sizeof path, "%s/../../conf/spfgate.conf",
                 data ? data : "tests/data");
    struct msgs m = {.n = 0};
    settings *s = settings_load(path, collect, &m);
    if (s == NULL)
        fail_msg("%s: %s", path, m.n ? m.text[0] : "?");
    settings *d = settings_defaults();
    assert_same(s, d);
    settings_unref(d);
    settings_unref(s);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    const char *name;
    for (size_t i = 0; (name = settings_key_name(i)) != NULL; i++) {
        char a[64], b[64];
        snprintf(a, sizeof a, "\n#%s = ", name);
        snprintf(b, sizeof b, "\n%s = ", name);
        if (strstr(text, a) == NULL && strstr(text, b) == NULL) {
            snprintf(a, sizeof a, "\n#%s =\n", name);
            if (strstr(text, a) == NULL)
                fail_msg("%s is not documented in the sample", name);
        }
    }
}

/* settings_parse_net: good and bad networks, host bits masked. */
static void test_parse_net(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want; /* want NULL: refused */
    } rows[] = {
        {"192.0.2.1", "::ffff:192.0.2.1/128"},
        {"192.0.2.1/32", "::ffff:192.0.2.1/128"},
        {"192.0.2.255/25", "::ffff:192.0.2.128/121"},
        {"10.1.2.3/8", "::ffff:10.0.0.0/104"},
        {"10.1.2.3/0", "::ffff:0.0.0.0/96"},
        {"2001:db8::1", "2001:db8::1/128"},
        {"2001:db8:ffff::1/33", "2001:db8:8000::/33"},
        {"::/0", "::/0"},
        {"::1/128", "::1/128"},
        {"::ffff:192.0.2.1/120", "::ffff:192.0.2.0/120"},
        {"192.0.2.1/33", NULL},
        {"192.0.2.1/08", NULL},
        {"192.0.2.1/", NULL},
        {"192.0.2.1/-1", NULL},
        {"192.0.2.1/+8", NULL},
        {"192.0.2.1/8/8", NULL},
        {"2001:db8::/129", NULL},
        {"2001:db8::/0128", NULL},
        {"192.0.2", NULL},
        {"192.0.2.256", NULL},
        {"example.com", NULL},
        {"", NULL},
        {"/8", NULL},
    };
    for (size_t i = 0; i < N(rows); i++) {
        settings_net n;
        int rc = settings_parse_net(rows[i].text, &n);
        if (rows[i].want == NULL) {
            if (rc != -1)
                fail_msg("'%s' accepted", rows[i].text);
            continue;
        }
        assert_int_equal(rc, 0);
        char a[INET6_ADDRSTRLEN], got[64];
        inet_ntop(AF_INET6, n.addr, a, sizeof a);
        snprintf(got, sizeof got, "%s/%u", a, n.prefix);
        assert_string_equal(got, rows[i].want);
    }
    settings_net n;
    assert_int_equal(settings_parse_net(NULL, &n), -1);
}

/* Builds a sockaddr for `text` (IPv4, or IPv6 including v4-mapped). */
static const void *sockaddr_of(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        return ss;
    }
    assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    in6->sin6_family = AF_INET6;
    return ss;
}

/* settings_is_trusted for IPv4, IPv6 and v4-mapped clients. */
static void test_is_trusted(void **state)
{
    (void)state;
    static const struct {
        const char *nets, *client;
        bool trusted;
    } rows[] = {
        {"127.0.0.0/8 ::1", "127.0.0.1", true},
        {"127.0.0.0/8 ::1", "127.255.255.254", true},
        {"127.0.0.0/8 ::1", "128.0.0.1", false},
        {"127.0.0.0/8 ::1", "::1", true},
        {"127.0.0.0/8 ::1", "::2", false},
        {"127.0.0.0/8 ::1", "::ffff:127.0.0.1", true},
        {"127.0.0.0/8 ::1", "::ffff:10.0.0.1", false},
        {"192.0.2.7/32", "192.0.2.7", true},
        {"192.0.2.7/32", "192.0.2.8", false},
        {"192.0.2.7/32", "::ffff:192.0.2.7", true},
        {"2001:db8::1/128", "2001:db8::1", true},
        {"2001:db8::1/128", "2001:db8::2", false},
        {"2001:db8::/32", "2001:db8:ffff::1", true},
        {"2001:db8::/32", "2001:db9::1", false},
        {"0.0.0.0/0", "203.0.113.9", true},
        {"0.0.0.0/0", "::ffff:203.0.113.9", true},
        {"0.0.0.0/0", "2001:db8::1", false},
        {"::/0", "2001:db8::1", true},
        {"::/0", "203.0.113.9", false},
        {"::/0", "::ffff:203.0.113.9", false},
        {"::ffff:0:0/96", "203.0.113.9", true},
        {"", "127.0.0.1", false},
        {"10.0.0.0/8", "::a00:1", false}, /* v4-compatible is not IPv4 */
    };
    for (size_t i = 0; i < N(rows); i++) {
        char text[256];
        snprintf(text, sizeof text, "trusted_networks = %s\n", rows[i].nets);
        struct msgs m;
        settings *s = load_text(text, &m);
        assert_non_null(s);
        struct sockaddr_storage ss;
        if (settings_is_trusted(s, sockaddr_of(rows[i].client, &ss)) !=
            rows[i].trusted)
            fail_msg("%s in '%s': want %d", rows[i].client, rows[i].nets,
                     rows[i].trusted);
        settings_unref(s);
    }
    settings *d = settings_defaults();
    struct sockaddr_storage ss = {.ss_family = AF_UNIX};
    assert_false(settings_is_trusted(d, &ss));
    assert_false(settings_is_trusted(d, NULL));
    assert_false(settings_is_trusted(NULL, &ss));
    settings_unref(d);
}

/* settings_net_contains at the prefix edges. */
static void test_net_contains(void **state)
{
    (void)state;
    settings_net n;
    uint8_t a[16];
    assert_int_equal(settings_parse_net("2001:db8::/31", &n), 0);
    inet_pton(AF_INET6, "2001:db9:ffff::1", a);
    assert_true(settings_net_contains(&n, a));
    inet_pton(AF_INET6, "2001:dba::", a);
    assert_false(settings_net_contains(&n, a));
    n.prefix = 129;
    assert_false(settings_net_contains(&n, a));
    assert_false(settings_net_contains(NULL, a));
}

/* References: ref, unref to zero (ASan checks the free), NULL. */
static void test_refs(void **state)
{
    (void)state;
    settings *s = settings_defaults();
    assert_ptr_equal(settings_ref(s), s);
    assert_int_equal(s->refs, 2);
    settings_unref(s);
    assert_int_equal(s->refs, 1);
    settings_unref(s);
    settings_unref(NULL);
    assert_null(settings_ref(NULL));
}

/* Names of actions. */
static void test_action_names(void **state)
{
    (void)state;
    assert_string_equal(settings_action_name(SETTINGS_ACCEPT), "accept");
    assert_string_equal(settings_action_name(SETTINGS_REJECT), "reject");
    assert_string_equal(settings_action_name(SETTINGS_TEMPFAIL), "tempfail");
    assert_string_equal(settings_action_name((settings_action)9), "unknown");
}

/* A file setting every key at once (non-defaults) loads. */
static void test_full_file(void **state)
{
    (void)state;
    const char *text =
        "socket = inet6:8891@::1\nsocket_owner = postfix\n"
        "socket_group = postfix\nsocket_mode = 0600\nuser = spfgate\n"
        "group = spfgate\npidfile = /run/spfgate.pid\nlog = stderr\n"
        "stats_file = /run/spfgate/stats\n"
        "log_facility = local3\nlog_level = debug\nmilter_timeout = 300\n"
        "check_helo = no\ndns_servers = 127.0.0.1:5353\n"
        "dns_timeout = 500ms\ndeadline = 5s\n"
        "dns_cache_size = 0\ndns_negative_ttl_max = 60s\n"
        "trusted_networks = 10.0.0.0/8\nskip_auth = no\n"
        "exempt_senders = example.com\nexempt_recipients = @example.org\n"
        "rcpt_exceptions = abuse\non_pass = accept\non_fail = tempfail\n"
        "on_softfail = reject\non_neutral = reject\non_none = reject\n"
        "on_permerror = reject\non_temperror = reject\ndry_run = yes\n"
        "reject_code = 553\ntempfail_code = 452\n"
        "reject_text = \"No: %{result}\"\ntempfail_text = Later\n"
        "add_received_spf = no\nadd_auth_results = no\n"
        "authserv_id = mx.example.com\n";
    struct msgs m;
    settings *s = load_text(text, &m);
    if (s == NULL)
        fail_msg("%s", m.text[0]);
    settings *d = settings_defaults();
    const char *name;
    for (size_t i = 0; (name = settings_key_name(i)) != NULL; i++) {
        if (strcmp(name, "on_pass") == 0)
            continue;
        char a[2048];
        snprintf(a, sizeof a, "%s", render(s, name));
        if (strcmp(a, render(d, name)) == 0)
            fail_msg("%s kept its default", name);
    }
    settings_unref(d);
    settings_unref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_rendered),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_file_is_defaults),
        cmocka_unit_test(test_good_values),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_every_error_reported),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_long_template),
        cmocka_unit_test(test_timeout_vs_deadline),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_sample_conf),
        cmocka_unit_test(test_parse_net),
        cmocka_unit_test(test_is_trusted),
        cmocka_unit_test(test_net_contains),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_action_names),
        cmocka_unit_test(test_full_file),
    };
    return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}

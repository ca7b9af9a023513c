/*
 * check.c - the SPF check of one message.
 *
 * Owns: the order of things: skip rules (trusted networks, SMTP AUTH,
 * exempt senders), the HELO identity (when check_helo is on), the MAIL
 * FROM identity (postmaster@HELO for the null sender, RFC 7208 2.4), and
 * the verdict from policy. Fails: never; a client address that is
 * unknown or a MAIL FROM that cannot be parsed gives a defined result.
 */
#include "config.h"

#include "check.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

const char *check_skip_name(policy_skip skip)
{
    switch (skip) {
    case POLICY_SKIP_TRUSTED:
        return "trusted";
    case POLICY_SKIP_AUTH:
        return "auth";
    case POLICY_SKIP_SENDER:
        return "exempt-sender";
    default:
        return "none";
    }
}

/* Copies src into dst, cut to fit. */
static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* An outcome for an identity that could not be evaluated at all. */
static void unevaluated(spfcheck_outcome *o, spfcheck_result r,
                        const char *identity, const char *problem)
{
    memset(o, 0, sizeof *o);
    o->result = r;
    copy_cut(o->identity, sizeof o->identity, identity ? identity : "");
    copy_cut(o->problem, sizeof o->problem, problem);
}

void check_message(const settings *s, const check_input *in,
                   const spfcheck_outcome *helo_known, check_result *out)
{
    memset(out, 0, sizeof *out);
    out->sender_ok =
        addr_envelope(in->mail_from, out->sender, sizeof out->sender) == 0;
    policy_facts *f = &out->facts;

    if (in->client != NULL && settings_is_trusted(s, in->client))
        f->skip = POLICY_SKIP_TRUSTED;
    else if (in->authenticated && s->skip_auth)
        f->skip = POLICY_SKIP_AUTH;
    else if (out->sender_ok &&
             policy_sender_exempt(s, addr_domain(out->sender)))
        f->skip = POLICY_SKIP_SENDER;

    if (f->skip == POLICY_SKIP_NONE) {
        spfcheck_query q = {.client = in->client, .helo = in->helo};
        if (in->client == NULL) {
            /* Without the client's address nothing can be checked; the
             * MTA did not say who connected. */
            unevaluated(&out->mail, SPFCHECK_TEMPERROR, out->sender,
                        "client address unknown");
            f->mail_checked = true;
            f->mail = SPFCHECK_TEMPERROR;
        } else {
            if (s->check_helo) {
                if (helo_known != NULL)
                    out->helo = *helo_known;
                else
                    spfcheck_eval(&q, &out->helo);
                f->helo_checked = true;
                f->helo = out->helo.result;
            }
            if (out->sender_ok) {
                q.sender = out->sender;
                spfcheck_eval(&q, &out->mail);
            } else {
                unevaluated(&out->mail, SPFCHECK_NONE, "",
                            "MAIL FROM is not a usable address");
            }
            f->mail_checked = true;
            f->mail = out->mail.result;
        }
    }
    out->verdict = policy_decide(s, f);
}

const spfcheck_outcome *check_deciding(const check_result *c)
{
    return c->verdict.by_helo ? &c->helo : &c->mail;
}

void check_reply_text(const settings *s, const check_result *c,
                      const char *client_ip, const char *helo, bool tempfail,
                      char *out, size_t len)
{
    const spfcheck_outcome *o = check_deciding(c);
    const text_var vars[] = {
        {"result", spfcheck_result_name(c->verdict.result)},
        {"sender", c->sender[0] ? c->sender : "<>"},
        {"identity", o->identity},
        {"domain", o->domain},
        {"ip", client_ip},
        {"helo", helo},
        {"explanation", o->explanation},
        {"problem", o->problem[0] ? o->problem : "no details"},
    };
    char raw[2048];
    const char *tmpl = tempfail ? s->tempfail_text : s->reject_text;
    text_expand(tmpl ? tmpl : "", vars, sizeof vars / sizeof vars[0], raw,
                sizeof raw);
    text_clean_reply(raw, out, len);
}

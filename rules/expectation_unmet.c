/* expectation_unmet.c: expectation-unmet, an `expect` line of the rules file
 * that the capture could not check: its server was never seen, or was seen
 * without the traffic that decides the expectation. A CI job that checks a
 * server's policy must not pass because the server (a typo, the wrong port,
 * a filter) was not there. */
#include "rules/rules-impl.h"

static bool says_max_requests(const struct kw_expect *x)
{
    return x->max_requests >= 0;
}

static bool says_idle_timeout(const struct kw_expect *x)
{
    return x->idle_timeout != KW_TS_NONE;
}

static bool says_announces_close(const struct kw_expect *x)
{
    return x->announces_close >= 0;
}

static bool knows_max_requests(const struct kw_server_policy *p)
{
    return p->observed_max_requests >= 0;
}

static bool knows_idle_timeout(const struct kw_server_policy *p)
{
    return p->observed_idle_timeout != KW_TS_NONE;
}

static bool knows_announces_close(const struct kw_server_policy *p)
{
    return p->announces_close >= 0;
}

/* Each key of an expect line, and the traffic that decides it. */
static const struct {
    const char *key;
    bool (*said)(const struct kw_expect *x);
    bool (*decided)(const struct kw_server_policy *p);
    const char *missing;      /* evidence: what the capture lacks */
    const char *missing_text; /* the same, for the message */
} keys[] = {
    { "max-requests", says_max_requests, knows_max_requests, "policy-close",
      "policy close (the server closing right after a response, on a connection that asked to "
      "persist, after the same number of requests each time)" },
    { "idle-timeout", says_idle_timeout, knows_idle_timeout, "idle-close",
      "idle close (the server closing a connection left idle longer than the close grace)" },
    { "announces-close", says_announces_close, knows_announces_close, "policy-close",
      "policy close (the server closing right after a response)" },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static void unmet(struct kw_rules *r, struct server *s, const struct kw_expect *x, kw_usec ts,
                  size_t k)
{
    struct kw_finding *f = finding_begin(r, KW_RULE_EXPECTATION_UNMET, 0, ts);
    if (!f)
        return;
    f->server = x->server;
    if (s)
        finding_message(f, "the rules file expects its %s, but the capture shows no %s: the "
                           "expectation was not checked",
                        keys[k].key, keys[k].missing_text);
    else
        finding_message(f, "the rules file expects its %s, but no HTTP exchange with this server "
                           "was seen (a typo in the expect line, the wrong port, or a filter that "
                           "left it out?): the expectation was not checked",
                        keys[k].key);
    evidence_word(f, "expectation", keys[k].key);
    evidence_flag(f, "server_seen", s != NULL);
    evidence_word(f, "missing", s ? keys[k].missing : "server");
    finding_emit(r, NULL, s, f);
}

/* The expect lines naming `s`, or with `s` NULL every line whose server was
 * never seen. */
static void check_lines(struct kw_rules *r, struct server *s, kw_usec ts)
{
    struct kw_server_policy p;
    if (s)
        server_policy(s, &p);
    for (size_t i = 0; i < r->cfg->n_expect; i++) {
        const struct kw_expect *x = &r->cfg->expect[i];
        if (s ? !endpoint_eq(&x->server, server_endpoint(s))
              : server_lookup(&r->servers, &x->server) != NULL)
            continue;
        for (size_t k = 0; k < N_KEYS; k++)
            if (keys[k].said(x) && (!s || !keys[k].decided(&p)))
                unmet(r, s, x, ts, k);
    }
}

/* Seen servers: before their policy goes out, so that it counts the finding. */
static void expectation_unmet_server(struct kw_rules *r, struct server *s, kw_usec ts)
{
    check_lines(r, s, ts);
}

static void expectation_unmet_finish(struct kw_rules *r, kw_usec ts)
{
    check_lines(r, NULL, ts);
}

const struct rule_checks rule_expectation_unmet = { .on_server = expectation_unmet_server,
                                                    .on_finish = expectation_unmet_finish };

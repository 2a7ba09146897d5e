/* policy_mismatch.c: policy-mismatch, a server whose policy on the wire is not
 * what an `expect` line of the rules file says it is. Decided per server at
 * the end of input, from the inferred policy. */
#include "rules/rules-impl.h"

#include <inttypes.h>
#include <stdio.h>

static void mismatch(struct kw_rules *r, struct server *s, kw_usec ts, const char *what,
                     const char *expected, const char *observed)
{
    struct kw_finding *f = finding_begin(r, KW_RULE_POLICY_MISMATCH, 0, ts);
    if (!f)
        return;
    finding_message(f, "the server was expected to %s, but on the wire it %s", expected, observed);
    evidence_word(f, "expectation", what);
    f->server = *server_endpoint(s);
    finding_emit(r, NULL, s, f);
}

/* Idle timeouts differ by more than a tenth and 0.2 s: reapers tick. */
static bool idle_timeouts_differ(kw_usec expected, kw_usec observed)
{
    kw_usec d = observed > expected ? observed - expected : expected - observed;
    return d > expected / 10 && d > 200000;
}

static void check_expectation(struct kw_rules *r, struct server *s, kw_usec ts,
                              const struct kw_expect *x, const struct kw_server_policy *p)
{
    char exp[96], obs[128];
    if (x->max_requests >= 0 && p->observed_max_requests >= 0 &&
        x->max_requests != p->observed_max_requests) {
        snprintf(exp, sizeof(exp), "close after %" PRId64 " requests", x->max_requests);
        snprintf(obs, sizeof(obs), "closes after %" PRId64, p->observed_max_requests);
        mismatch(r, s, ts, "max-requests", exp, obs);
    }
    if (x->idle_timeout != KW_TS_NONE && p->observed_idle_timeout != KW_TS_NONE &&
        idle_timeouts_differ(x->idle_timeout, p->observed_idle_timeout)) {
        snprintf(exp, sizeof(exp), "close idle connections after %.1f s",
                 (double)x->idle_timeout / KW_USEC_PER_SEC);
        snprintf(obs, sizeof(obs), "closes them after %.1f s",
                 (double)p->observed_idle_timeout / KW_USEC_PER_SEC);
        mismatch(r, s, ts, "idle-timeout", exp, obs);
    }
    if (x->announces_close >= 0 && p->announces_close >= 0 &&
        x->announces_close != p->announces_close)
        mismatch(r, s, ts, "announces-close",
                 x->announces_close ? "announce its closes with Connection: close"
                                    : "close without Connection: close",
                 p->announces_close ? "announces them" : "closes without announcing");
}

static void policy_mismatch_server(struct kw_rules *r, struct server *s, kw_usec ts)
{
    struct kw_server_policy p;
    server_policy(s, &p);
    for (size_t i = 0; i < r->cfg->n_expect; i++)
        if (endpoint_eq(&r->cfg->expect[i].server, server_endpoint(s)))
            check_expectation(r, s, ts, &r->cfg->expect[i], &p);
}

const struct rule_checks rule_policy_mismatch = { .on_server = policy_mismatch_server };

/* idle_race.c: idle-race, the keep-alive race (RFC 2616 8.1.4): a request
 * sent after an idle gap as long as the server's idle timeout crossed the
 * server's idle close. The fix is to keep the clients' idle timeout (pool,
 * load balancer) below the server's. */
#include "rules/rules-impl.h"

#include <stdio.h>

static void idle_race_note(const struct rule_event *ev, const struct txn_note *n)
{
    const struct rules_conn *rc = ev->rc;
    const struct close_view *v = ev->close;
    struct kw_finding *f = finding_begin(ev->rules, KW_RULE_IDLE_RACE, n->index, n->req_first);
    if (!f)
        return;
    char idle[KW_DURATION_LEN], timeout[KW_DURATION_LEN], fix[128];
    duration_words(idle, n->idle_before);
    duration_words(timeout, v->idle);
    finding_quote(f, &n->line);
    finding_message(f, "request %u (" KW_MESSAGE_LINE ") was sent after %s idle and crossed the "
                       "server's idle close at %s: the client's idle timeout is longer than the "
                       "server's; keep the server's idle timeout above the client's (pool, load "
                       "balancer), or the client's below %s minus a round trip",
                    n->index, idle, timeout, timeout);
    evidence_seconds(f, "server_idle_timeout_s", v->idle);
    evidence_seconds(f, "request_idle_s", n->idle_before);
    evidence_seconds(f, "round_trip_s", rc->rtt == KW_TS_NONE ? 0 : rc->rtt);
    evidence_seconds(f, "client_longest_idle_reuse_s",
                     rc->srv ? server_longest_reuse_by(rc->srv, &ev->conn->key.client)
                             : rc->longest_idle_reuse);
    evidence_count(f, "advertised_timeout_s", rc->last_ka_timeout);
    snprintf(fix, sizeof(fix), "server idle timeout above the client's (pool, load balancer), "
                               "or the client's below %.1f s minus a round trip",
             (double)v->idle / KW_USEC_PER_SEC);
    evidence_word(f, "fix", fix);
    uint64_t frames[] = { rc->last_resp_frame, ev->end->close_frame, n->req_frame };
    evidence_frames(f, frames, 3);
    finding_emit(ev->rules, ev->conn, rc->srv, f);
}

static void idle_race_end(const struct rule_event *ev)
{
    for (uint32_t i = notes_first(ev->rc); i < ev->rc->n_notes; i++) {
        const struct txn_note *n = note_at(ev->rc, i);
        if (note_crossed_idle_close(ev->rc, n, ev->close, ev->rules->cfg->grace))
            idle_race_note(ev, n);
    }
}

const struct rule_checks rule_idle_race = { .on_end = idle_race_end };

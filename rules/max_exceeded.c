/* max_exceeded.c: max-exceeded, a server answering more requests than its
 * own Keep-Alive max allowed (draft-thomson-hybi-http-timeout section 2). */
#include "rules/rules-impl.h"

#include <inttypes.h>

static void max_exceeded_txn(const struct rule_event *ev)
{
    struct rules_conn *rc = ev->rc;
    const struct kw_txn *t = ev->txn;
    if (!rc->max_requests_allowed || rc->max_exceeded_fired || !t->has_response ||
        t->index <= rc->max_requests_allowed)
        return;
    rc->max_exceeded_fired = true;
    struct kw_finding *f = finding_begin(ev->rules, KW_RULE_MAX_EXCEEDED, t->index, t->resp_first);
    if (!f)
        return;
    finding_quote(f, ev->line);
    finding_message(f, "the server answered request %u (" KW_MESSAGE_LINE ") though an earlier "
                       "Keep-Alive max allowed only %" PRIu64 " requests on this connection: "
                       "clients that trust max close early, and the header is not the policy it "
                       "enforces",
                    t->index, rc->max_requests_allowed);
    evidence_count(f, "allowed_requests", (int64_t)rc->max_requests_allowed);
    evidence_frames(f, &t->resp_first_frame, 1);
    finding_emit(ev->rules, ev->conn, rc->srv, f);
}

const struct rule_checks rule_max_exceeded = { .on_txn = max_exceeded_txn };

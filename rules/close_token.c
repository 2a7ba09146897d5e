/* close_token.c: what must follow a Connection: close (RFC 2616 8.1.2.1,
 * RFC 7230 6.6): request-after-close (the client sent more) and close-ignored
 * (the server answered more, or did not close). */
#include "rules/rules-impl.h"

static const char *token_in(const struct rules_conn *rc)
{
    return rc->close_token_by == KW_SIDE_CLIENT ? "request" : "response";
}

/* --- request-after-close ----------------------------------------------- */

static void request_after_close_txn(const struct rule_event *ev)
{
    const struct rules_conn *rc = ev->rc;
    const struct kw_txn *t = ev->txn;
    struct kw_finding *f;
    if (!rc->close_token || !t->has_request || t->index <= rc->close_token_index ||
        t->req_first < rc->close_token_seen ||
        !(f = finding_begin(ev->rules, KW_RULE_REQUEST_AFTER_CLOSE, t->index, t->req_first)))
        return;
    char gap[KW_DURATION_LEN];
    duration_words(gap, t->req_first - rc->close_token_seen);
    finding_quote(f, ev->line);
    finding_message(f, "request %u (" KW_MESSAGE_LINE ") was sent %s after the %s of exchange "
                       "%u said Connection: close: the client must not send more requests on "
                       "this connection",
                    t->index, gap, token_in(rc), rc->close_token_index);
    evidence_word(f, "close_in", token_in(rc));
    evidence_count(f, "close_exchange", rc->close_token_index);
    evidence_frames(f, &t->req_first_frame, 1);
    finding_emit(ev->rules, ev->conn, rc->srv, f);
}

const struct rule_checks rule_request_after_close = { .on_txn = request_after_close_txn };

/* --- close-ignored ------------------------------------------------------ */

/* The server answered a request after the close token. */
static void close_ignored_txn(const struct rule_event *ev)
{
    struct rules_conn *rc = ev->rc;
    const struct kw_txn *t = ev->txn;
    if (!rc->close_token || rc->close_ignored_fired || t->index <= rc->close_token_index ||
        !t->has_response)
        return;
    rc->close_ignored_fired = true;
    struct kw_finding *f = finding_begin(ev->rules, KW_RULE_CLOSE_IGNORED, t->index, t->resp_first);
    if (!f)
        return;
    finding_quote(f, ev->line);
    finding_message(f, "exchange %u said Connection: close, yet the server answered request %u ("
                       KW_MESSAGE_LINE ") on the same connection: after close the server must "
                       "end the connection",
                    rc->close_token_index, t->index);
    evidence_count(f, "close_exchange", rc->close_token_index);
    evidence_frames(f, &t->resp_first_frame, 1);
    finding_emit(ev->rules, ev->conn, rc->srv, f);
}

/* Still open past the grace after the close token, with nobody closing, at
 * `seen_open` (a timer while the connection is open, or its close). */
static void close_ignored_late(const struct rule_event *ev, kw_usec seen_open, uint64_t close_frame,
                               const char *why)
{
    struct rules_conn *rc = ev->rc;
    struct kw_finding *f;
    if (!rc->close_token || rc->close_ignored_fired || rc->close_token_deadline == KW_TS_NONE ||
        seen_open <= rc->close_token_deadline ||
        !(f = finding_begin(ev->rules, KW_RULE_CLOSE_IGNORED, rc->close_token_index,
                            rc->close_token_deadline)))
        return;
    rc->close_ignored_fired = true;
    char late[KW_DURATION_LEN];
    duration_words(late, seen_open - (rc->close_token_deadline - ev->rules->cfg->grace));
    finding_message(f, "exchange %u said Connection: close, but the server had not closed the "
                       "connection %s after the response%s",
                    rc->close_token_index, late, why);
    evidence_count(f, "close_exchange", rc->close_token_index);
    evidence_word(f, "close_in", token_in(rc));
    uint64_t frames[] = { rc->last_resp_frame, close_frame };
    evidence_frames(f, frames, 2);
    finding_emit(ev->rules, ev->conn, rc->srv, f);
}

/* The deadline passed with the connection still open: fire now, not when it
 * closes, which may be much later or never. */
static void close_ignored_timer(const struct rule_event *ev)
{
    close_ignored_late(ev, ev->now, 0, " (it was still open then)");
}

static void close_ignored_end(const struct rule_event *ev)
{
    const struct close_view *v = ev->close;
    close_ignored_late(ev, v->close_ts != KW_TS_NONE ? v->close_ts : ev->end->end_ts,
                       ev->end->close_frame,
                       v->close_ts == KW_TS_NONE ? " (it was still open when the capture ended)"
                                                 : "");
}

const struct rule_checks rule_close_ignored = { .on_txn = close_ignored_txn,
                                                .on_timer = close_ignored_timer,
                                                .on_end = close_ignored_end };

/* framing.c: the rules about a message's own framing and headers, decided as
 * each transaction is reported: conflicting-framing, keepalive-header-unlisted,
 * chunked-to-http10, unframed-response. */
#include "rules/rules-impl.h"

/* The request's or the response's head, who sent it and where it starts. */
struct message {
    const struct kw_http_head *head;
    const char *which;  /* "request" or "response" */
    enum kw_side sender;
    kw_usec ts;
    uint64_t frame;
};

static struct message message_of(const struct kw_txn *t, bool response)
{
    struct message m = { response ? &t->resp : &t->req, response ? "response" : "request",
                         response ? KW_SIDE_SERVER : KW_SIDE_CLIENT,
                         response ? t->resp_first : t->req_first,
                         response ? t->resp_first_frame : t->req_first_frame };
    return m;
}

/* The rule for each message the transaction has: a request and its response
 * can each be blamed. */
static void each_message(const struct rule_event *ev,
                         void (*check)(const struct rule_event *, const struct message *))
{
    if (ev->txn->has_request) {
        struct message m = message_of(ev->txn, false);
        check(ev, &m);
    }
    if (ev->txn->has_response) {
        struct message m = message_of(ev->txn, true);
        check(ev, &m);
    }
}

/* --- conflicting-framing (RFC 7230 3.3.3) ------------------------------ */

static void conflicting_framing_message(const struct rule_event *ev, const struct message *m)
{
    const uint8_t conflict = KW_ANOM_CL_AND_TE | KW_ANOM_CL_DIFFERING | KW_ANOM_CL_INVALID;
    uint8_t a = m->head->anomalies;
    struct kw_finding *f;
    if (!(a & conflict) ||
        !(f = finding_begin(ev->rules, KW_RULE_CONFLICTING_FRAMING, ev->txn->index, m->ts)))
        return;
    f->side = m->sender;
    const char *kind = (a & KW_ANOM_CL_AND_TE) ? "both Content-Length and Transfer-Encoding"
                       : (a & KW_ANOM_CL_DIFFERING)
                           ? "several Content-Length values that differ"
                           : "a Content-Length that is not a number";
    finding_quote(f, ev->line);
    finding_message(f, "the %s of exchange %u (" KW_MESSAGE_LINE ") has %s: two parsers can "
                       "disagree on where the message ends, and a proxy and a server that "
                       "disagree can be made to see different requests",
                    m->which, ev->txn->index, kind);
    evidence_word(f, "message", m->which);
    evidence_flag(f, "content_length_and_transfer_encoding", a & KW_ANOM_CL_AND_TE);
    evidence_flag(f, "content_length_differing", a & KW_ANOM_CL_DIFFERING);
    evidence_flag(f, "content_length_invalid", a & KW_ANOM_CL_INVALID);
    evidence_frames(f, &m->frame, 1);
    finding_emit(ev->rules, ev->conn, ev->rc->srv, f);
}

static void conflicting_framing_txn(const struct rule_event *ev)
{
    each_message(ev, conflicting_framing_message);
}

const struct rule_checks rule_conflicting_framing = { .on_txn = conflicting_framing_txn };

/* --- keepalive-header-unlisted (RFC 2068 19.7.1.1) --------------------- */

static void keepalive_header_unlisted_message(const struct rule_event *ev,
                                              const struct message *m)
{
    struct kw_finding *f;
    if (!m->head->has_keep_alive || (m->head->conn_tokens & KW_CONN_KEEP_ALIVE) ||
        !(f = finding_begin(ev->rules, KW_RULE_KEEPALIVE_HEADER_UNLISTED, ev->txn->index,
                            m->ts)))
        return;
    f->side = m->sender;
    finding_quote(f, ev->line);
    finding_message(f, "the %s of exchange %u (" KW_MESSAGE_LINE ") has a Keep-Alive header "
                       "but no keep-alive token in Connection: the header is meant to go with "
                       "the token, and a proxy that does not know it forwards it to the next hop",
                    m->which, ev->txn->index);
    evidence_word(f, "message", m->which);
    evidence_frames(f, &m->frame, 1);
    finding_emit(ev->rules, ev->conn, ev->rc->srv, f);
}

static void keepalive_header_unlisted_txn(const struct rule_event *ev)
{
    each_message(ev, keepalive_header_unlisted_message);
}

const struct rule_checks rule_keepalive_header_unlisted = {
    .on_txn = keepalive_header_unlisted_txn,
};

/* --- chunked-to-http10 (RFC 2616 3.6) ---------------------------------- */

static void chunked_to_http10_txn(const struct rule_event *ev)
{
    const struct kw_txn *t = ev->txn;
    struct kw_finding *f;
    if (!t->has_request || !t->has_response || t->req.version != 10 ||
        !(t->framing == KW_FRAMING_CHUNKED || t->resp.chunked) ||
        !(f = finding_begin(ev->rules, KW_RULE_CHUNKED_TO_HTTP10, t->index, t->resp_first)))
        return;
    finding_quote(f, ev->line);
    finding_message(f, "request %u (" KW_MESSAGE_LINE ") was HTTP/1.0 but the response is "
                       "chunked: an HTTP/1.0 client does not know chunked encoding and reads "
                       "the chunk sizes as the body",
                    t->index);
    uint64_t frames[] = { t->req_first_frame, t->resp_first_frame };
    evidence_frames(f, frames, 2);
    finding_emit(ev->rules, ev->conn, ev->rc->srv, f);
}

const struct rule_checks rule_chunked_to_http10 = { .on_txn = chunked_to_http10_txn };

/* --- unframed-response (RFC 2616 4.4, 8.1.2) --------------------------- */

static void unframed_response_txn(const struct rule_event *ev)
{
    const struct kw_txn *t = ev->txn;
    /* A body only the close can end, on a message that says the connection stays. */
    bool says_persist = (t->resp.conn_tokens & KW_CONN_KEEP_ALIVE) ||
                        (t->has_request && request_persists(&t->req) && t->resp.version >= 11 &&
                         !(t->resp.conn_tokens & KW_CONN_CLOSE));
    bool unframed = t->framing == KW_FRAMING_CLOSE && !t->resp.has_content_length &&
                    !t->resp.has_transfer_encoding; /* not a conflicting-framing fallback */
    struct kw_finding *f;
    if (!t->has_response || !unframed || !says_persist ||
        !(f = finding_begin(ev->rules, KW_RULE_UNFRAMED_RESPONSE, t->index, t->resp_first)))
        return;
    finding_quote(f, ev->line);
    finding_message(f, "response %u (" KW_MESSAGE_LINE ") has neither Content-Length nor "
                       "chunked encoding, so only the close can end it, yet it does not "
                       "announce the close: a client that keeps the connection waits for a "
                       "body that never ends",
                    t->index);
    uint64_t frames[] = { t->resp_first_frame, t->resp_last_frame };
    evidence_frames(f, frames, 2);
    finding_emit(ev->rules, ev->conn, ev->rc->srv, f);
}

const struct rule_checks rule_unframed_response = { .on_txn = unframed_response_txn };

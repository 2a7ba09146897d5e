/* facts.c: what messages and closes signal about persistence, as every rule
 * and the server policy read it (RFC 7230 6.3, RFC 2616 8.1). */
#include "rules/rules-impl.h"

bool request_persists(const struct kw_http_head *h)
{
    if (h->conn_tokens & KW_CONN_CLOSE)
        return false;
    return h->version >= 11 || (h->conn_tokens & KW_CONN_KEEP_ALIVE);
}

bool response_persists(const struct kw_txn *t)
{
    const struct kw_http_head *h = &t->resp;
    if (h->conn_tokens & KW_CONN_CLOSE)
        return false;
    return (h->version >= 11 || (h->conn_tokens & KW_CONN_KEEP_ALIVE)) &&
           t->framing != KW_FRAMING_CLOSE;
}

bool close_is_idle(const struct close_view *v, kw_usec grace)
{
    return v->server_closed && v->idle != KW_TS_NONE && v->idle > grace;
}

bool note_crossed_idle_close(const struct rules_conn *rc, const struct txn_note *n,
                             const struct close_view *v, kw_usec grace)
{
    if (!n->has_request || n->has_response || !close_is_idle(v, grace) ||
        n->idle_before == KW_TS_NONE)
        return false;
    kw_usec rtt = rc->rtt == KW_TS_NONE ? 0 : rc->rtt;
    bool crossed = n->no_response == KW_NORESP_LOST ||
                   (v->close_ts != KW_TS_NONE && n->req_first <= v->close_ts &&
                    n->req_first + rtt >= v->close_ts);
    return crossed && n->idle_before + rtt >= v->idle;
}


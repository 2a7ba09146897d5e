/* lost_request.c: lost-request, a request that got no response because the
 * server ended the connection (RFC 2616 8.1.4). The server's fault, unless
 * the close had been announced before the request was sent. */
#include "rules/rules-impl.h"

static void lost_request_message(struct kw_finding *f, const struct rule_event *ev,
                                 const struct txn_note *n, bool announced)
{
    const struct kw_conn_end *e = ev->end;
    kw_usec server_fin = e->fin_ts[KW_TO_CLIENT];
    if (server_fin != KW_TS_NONE && n->req_first >= server_fin) {
        char after[KW_DURATION_LEN];
        duration_words(after, n->req_first - server_fin);
        finding_message(f, "request %u (" KW_MESSAGE_LINE ") got no response: it was sent %s "
                           "after the server's FIN, on a connection the server had already "
                           "closed%s%s",
                        n->index, after,
                        e->rst_by == KW_SIDE_SERVER ? ", and the server answered it with a RST"
                                                    : "",
                        announced ? "; the close had been announced" : "");
    } else {
        finding_message(f, "request %u (" KW_MESSAGE_LINE ") got no response: it was "
                           "outstanding when the server ended the connection with a %s%s",
                        n->index, e->close == KW_CLOSE_RST ? "RST" : "FIN",
                        announced ? ", though the close had been announced" : "");
    }
}

static void lost_request_note(const struct rule_event *ev, const struct txn_note *n)
{
    const struct rules_conn *rc = ev->rc;
    const struct kw_conn_end *e = ev->end;
    kw_usec start = ev->conn->start, server_fin = e->fin_ts[KW_TO_CLIENT];
    /* the client's fault when the close had been announced before it sent this */
    bool announced = rc->close_token && rc->close_token_index < n->index &&
                     rc->close_token_seen <= n->req_first;
    struct kw_finding *f = finding_begin(ev->rules, KW_RULE_LOST_REQUEST, n->index, n->req_first);
    if (!f)
        return;
    f->side = announced ? KW_SIDE_CLIENT : KW_SIDE_SERVER;
    finding_quote(f, &n->line);
    lost_request_message(f, ev, n, announced);
    evidence_line(f, "request_line", &n->line);
    evidence_seconds(f, "request_ts_offset_s", n->req_first - start);
    evidence_seconds(f, "idle_before_s", n->idle_before);
    evidence_seconds(f, "server_fin_offset_s",
                     server_fin == KW_TS_NONE ? KW_TS_NONE : server_fin - start);
    evidence_word(f, "rst_by", e->rst_by == KW_SIDE_NONE     ? NULL
                               : e->rst_by == KW_SIDE_SERVER ? "server"
                                                             : "client");
    evidence_flag(f, "close_announced", announced);
    uint64_t frames[] = { n->req_frame, e->fin_frame[KW_TO_CLIENT],
                          e->rst_by != KW_SIDE_NONE ? e->end_frame : 0 };
    evidence_frames(f, frames, 3);
    finding_emit(ev->rules, ev->conn, rc->srv, f);
}

static void lost_request_end(const struct rule_event *ev)
{
    for (uint32_t i = notes_first(ev->rc); i < ev->rc->n_notes; i++) {
        const struct txn_note *n = note_at(ev->rc, i);
        if (n->has_request && !n->has_response && n->no_response == KW_NORESP_LOST)
            lost_request_note(ev, n);
    }
}

const struct rule_checks rule_lost_request = { .on_end = lost_request_end };

/* close.c: the rules about how the server closed, decided when the connection
 * ends: unannounced-close, ambiguous-persistence, idle-timeout-early,
 * abortive-close. */
#include "rules/rules-impl.h"

#include <inttypes.h>

/* The server closed within the grace of the last response's end. */
static bool closed_after_response(const struct rule_event *ev)
{
    const struct close_view *v = ev->close;
    return v->server_closed && v->idle != KW_TS_NONE && v->idle <= ev->rules->cfg->grace;
}

/* What every finding here says: the idle time before the close and the
 * packets of the last response and of the close. */
static void close_evidence(struct kw_finding *f, const struct rule_event *ev)
{
    evidence_seconds(f, "idle_before_close_s", ev->close->idle);
}

static void close_emit(struct kw_finding *f, const struct rule_event *ev)
{
    uint64_t frames[] = { ev->rc->last_resp_frame, ev->end->close_frame };
    evidence_frames(f, frames, 2);
    finding_emit(ev->rules, ev->conn, ev->rc->srv, f);
}

static const char *close_kind(const struct kw_conn_end *e)
{
    return e->close == KW_CLOSE_RST ? "RST" : "FIN";
}

/* --- unannounced-close (RFC 2616 8.1.2.1; RFC 7230 6.6) ----------------- */

static void unannounced_close_end(const struct rule_event *ev)
{
    const struct close_view *v = ev->close;
    const struct rules_conn *rc = ev->rc;
    struct kw_finding *f;
    if (!closed_after_response(ev) || !v->agreed || v->outstanding || v->announced ||
        !(f = finding_begin(ev->rules, KW_RULE_UNANNOUNCED_CLOSE, rc->last_index, v->close_ts)))
        return;
    char idle[KW_DURATION_LEN];
    duration_words(idle, v->idle);
    finding_quote(f, &rc->last_line);
    finding_message(f, "the server closed the connection (%s) %s after response %u ("
                       KW_MESSAGE_LINE ") though both sides had agreed to keep it open, and sent "
                       "no Connection: close: a client may send its next request into the "
                       "closing connection and lose it",
                    close_kind(ev->end), idle, rc->last_index);
    evidence_line(f, "request_line", &rc->last_line);
    close_evidence(f, ev);
    evidence_word(f, "close", ev->end->close == KW_CLOSE_RST ? "rst" : "fin");
    close_emit(f, ev);
}

const struct rule_checks rule_unannounced_close = { .on_end = unannounced_close_end };

/* --- ambiguous-persistence (RFC 2616 8.1.2.1, 19.6.2) ------------------- */

static void ambiguous_persistence_end(const struct rule_event *ev)
{
    const struct rules_conn *rc = ev->rc;
    struct kw_finding *f;
    if (!ev->close->server_closed || !rc->have_last || !rc->last_req_http10_plain ||
        !rc->last_resp_persist ||
        !(f = finding_begin(ev->rules, KW_RULE_AMBIGUOUS_PERSISTENCE, rc->last_index,
                            ev->close->close_ts)))
        return;
    finding_quote(f, &rc->last_line);
    finding_message(f, "request %u (" KW_MESSAGE_LINE ") was HTTP/1.0 without keep-alive, so the "
                       "server closed after it, but the response was HTTP/1.1 without Connection: "
                       "close: a client that follows the response keeps the connection and loses "
                       "its next request; the server should send Connection: close",
                    rc->last_index);
    close_evidence(f, ev);
    close_emit(f, ev);
}

const struct rule_checks rule_ambiguous_persistence = { .on_end = ambiguous_persistence_end };

/* --- idle-timeout-early (draft-thomson-hybi-http-timeout section 2) ----- */

static void idle_timeout_early_end(const struct rule_event *ev)
{
    const struct close_view *v = ev->close;
    const struct rules_conn *rc = ev->rc;
    struct kw_finding *f;
    /* 5% below what was advertised: timers and reapers are not exact */
    if (!close_is_idle(v, ev->rules->cfg->grace) || !v->agreed || v->outstanding ||
        rc->last_ka_timeout <= 0 || v->idle * 100 >= rc->last_ka_timeout * KW_USEC_PER_SEC * 95 ||
        !(f = finding_begin(ev->rules, KW_RULE_IDLE_TIMEOUT_EARLY, rc->last_index, v->close_ts)))
        return;
    char idle[KW_DURATION_LEN];
    duration_words(idle, v->idle);
    finding_message(f, "the server closed the idle connection after %s though its last response "
                       "advertised Keep-Alive timeout=%" PRId64 ": clients that trust the header "
                       "reuse the connection too late",
                    idle, rc->last_ka_timeout);
    close_evidence(f, ev);
    evidence_count(f, "advertised_timeout_s", rc->last_ka_timeout);
    close_emit(f, ev);
}

const struct rule_checks rule_idle_timeout_early = { .on_end = idle_timeout_early_end };

/* --- abortive-close (RFC 7230 6.6) -------------------------------------- */

static void abortive_close_end(const struct rule_event *ev)
{
    const struct rules_conn *rc = ev->rc;
    struct kw_finding *f;
    if (!closed_after_response(ev) || ev->end->close != KW_CLOSE_RST ||
        !(f = finding_begin(ev->rules, KW_RULE_ABORTIVE_CLOSE, rc->last_index,
                            ev->close->close_ts)))
        return;
    char idle[KW_DURATION_LEN];
    duration_words(idle, ev->close->idle);
    finding_quote(f, &rc->last_line);
    finding_message(f, "the server ended the connection with a RST %s after response %u ("
                       KW_MESSAGE_LINE "), not a FIN: a RST can make the client's TCP discard "
                       "that response before it is read",
                    idle, rc->last_index);
    close_evidence(f, ev);
    close_emit(f, ev);
}

const struct rule_checks rule_abortive_close = { .on_end = abortive_close_end };

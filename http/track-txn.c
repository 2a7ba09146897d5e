/* track-txn.c: the decoders' sink. Requests and responses pair up in order
 * (RFC 7230 6.3.2: responses to pipelined requests come back in the order
 * the requests were sent). A transaction is reported once its final
 * response is over and its request too; what is still in flight when the
 * connection ends is reported then (track.c).
 *
 * What the capture did not show is not guessed: a response that ended or
 * was cut in a hole has no end time, so the next request's idle time and
 * whether it was pipelined are unknown; after a hole that made a decoder
 * lose its place, pairings may be off until nothing is in flight, and the
 * transactions in between say so (capture_loss). */
#include "http/track-impl.h"

#include <stdlib.h>
#include <string.h>

/* --- the ring of transactions ----------------------------------------- */

struct slot *slot_at(struct track_conn *c, uint32_t i)
{
    return &c->slots[(c->head + i) % c->cap];
}

static bool ring_grow(struct track_conn *c)
{
    uint32_t cap = c->cap ? c->cap * 2 : 1;
    if (cap > KW_PIPELINE_MAX)
        return false;
    struct slot *s = malloc(cap * sizeof(*s));
    if (!s)
        return false;
    for (uint32_t i = 0; i < c->cap; i++) { /* in order; each slot keeps its text buffer */
        struct slot *o = slot_at(c, i);
        s[i] = *o;
        text_moved(&s[i]);
        if (c->req_slot == o)
            c->req_slot = &s[i];
        if (c->resp_slot == o)
            c->resp_slot = &s[i];
    }
    for (uint32_t i = c->cap; i < cap; i++)
        text_init(&s[i]);
    free(c->slots);
    c->slots = s;
    c->cap = cap;
    c->head = 0;
    return true;
}

static struct slot *slot_push(struct track_conn *c)
{
    if (c->count == c->cap && !ring_grow(c))
        return NULL;
    struct slot *s = slot_at(c, c->count++);
    memset(&s->t, 0, sizeof(s->t));
    s->text.len = s->text.fields = 0; /* the buffer is kept for the next transaction */
    s->final_response = s->resp_done = s->resp_cut = false;
    struct kw_txn *t = &s->t;
    t->req_first = t->req_last = t->resp_first = t->resp_last = KW_TS_NONE;
    t->idle_before = KW_TS_NONE;
    t->midstream = c->midstream;
    t->capture_loss = c->pairing_unsure;
    return s;
}

void emit_txn(struct track_conn *c, struct slot *s)
{
    struct kw_track *tr = c->track;
    if (s->t.has_request)
        tr->stats->requests++;
    if (s->t.has_response)
        tr->stats->responses++;
    text_aim(s);
    for (unsigned i = 0; i < tr->n_consumers; i++)
        if (tr->consumers[i]->on_txn)
            tr->consumers[i]->on_txn(tr->consumers[i]->ctx, &c->info, &s->t);
}

/* Reports, in order, the transactions at the front that are over. A slot
 * with neither request nor response (a response lost in a hole that
 * answered nobody) is dropped. When nothing is left in flight, pairings are
 * sure again. */
void emit_ready(struct track_conn *c)
{
    while (c->count) {
        struct slot *s = slot_at(c, 0);
        if (!s->resp_done || s == c->req_slot || s == c->resp_slot)
            return;
        if (s->t.has_request || s->t.has_response)
            emit_txn(c, s);
        c->head = (c->head + 1) % c->cap;
        c->count--;
    }
    c->pairing_unsure = false;
}

/* --- not HTTP ----------------------------------------------------------- */

/* The first reason the bytes stopped being HTTP is the one reported. */
void mark_not_http(struct track_conn *c, enum kw_dir dir, const char *why, uint64_t offset)
{
    if (!c->not_http) {
        c->not_http = why;
        c->not_http_dir = dir;
        c->not_http_offset = offset;
        c->track->stats->not_http++;
    }
}

void give_up(struct track_conn *c, enum kw_dir dir, const char *why, uint64_t offset)
{
    mark_not_http(c, dir, why, offset);
    kw_http_dec_stop(&c->dec[KW_TO_SERVER]);
    kw_http_dec_stop(&c->dec[KW_TO_CLIENT]);
}

/* --- requests ----------------------------------------------------------- */

/* Whether a request beginning now was pipelined, and its idle time: known
 * only when every response before it was seen to end, or one is still due. */
static void request_timing(struct track_conn *c, struct kw_txn *t, kw_usec ts)
{
    bool due = false, unknown = false;
    for (uint32_t i = 0; i + 1 < c->count; i++) {
        const struct slot *o = slot_at(c, i);
        if (o->resp_done)
            continue;
        if (o->resp_cut || (o->t.capture_loss && !o->final_response))
            unknown = true; /* its end was not seen, or it may be in a hole */
        else
            due = true;
    }
    t->pipelined = due;
    t->pipelined_unknown = !due && (unknown || c->resp_end_unknown);
    /* Idle since the previous response ended; a request sent while an answer
     * was still due did not wait at all. */
    if (t->index > 1 && !t->pipelined_unknown)
        t->idle_before = !due && c->last_resp_end != KW_TS_NONE && ts > c->last_resp_end
                             ? ts - c->last_resp_end : 0;
}

static void request_begin(struct track_conn *c, kw_usec ts)
{
    struct slot *s = slot_push(c);
    if (!s) {
        give_up(c, KW_TO_SERVER, "too many requests outstanding", c->dec[KW_TO_SERVER].offset);
        return;
    }
    struct kw_txn *t = &s->t;
    t->index = c->n_requests = track_inc_sat(c->n_requests);
    t->has_request = true;
    t->req_first = ts;
    t->req_first_frame = c->cur_frame;
    request_timing(c, t, ts);
    if (c->fin_ts[KW_TO_CLIENT] != KW_TS_NONE) {
        t->after_server_fin = true;
        c->n_after_server_fin = track_inc_sat(c->n_after_server_fin);
    }
    c->req_slot = s;
}

/* The request begun last was withdrawn (its line was no request line): it
 * never happened. Nothing answered it: waiting_slot skips it meanwhile. */
static void on_discard(void *ctx, enum kw_dir dir)
{
    struct track_conn *c = ctx;
    struct slot *s = c->req_slot;
    if (dir != KW_TO_SERVER || !s)
        return;
    c->req_slot = NULL;
    if (s != slot_at(c, c->count - 1) || s->final_response || s == c->resp_slot)
        return;
    c->count--;
    c->n_requests--;
    if (s->t.after_server_fin)
        c->n_after_server_fin--;
}

/* --- responses ---------------------------------------------------------- */

/* The oldest request still waiting for its final response. */
static struct slot *waiting_slot(struct track_conn *c)
{
    for (uint32_t i = 0; i < c->count; i++) {
        struct slot *s = slot_at(c, i);
        if (s->final_response)
            continue;
        if (s == c->req_slot && kw_http_dec_tentative(&c->dec[KW_TO_SERVER]))
            continue; /* may be withdrawn: nothing answers it yet */
        return s;
    }
    return NULL;
}

/* A response begins: it answers the oldest request still waiting, or nobody
 * (a 408 sent on an idle connection, say). */
static void response_begin(struct track_conn *c, kw_usec ts)
{
    struct slot *s = waiting_slot(c);
    if (!s && !(s = slot_push(c))) {
        give_up(c, KW_TO_CLIENT, "too many requests outstanding", c->dec[KW_TO_CLIENT].offset);
        return;
    }
    if (c->pairing_unsure)
        s->t.capture_loss = true;
    c->resp_slot = s;
    c->resp_begin = ts;
    c->resp_begin_frame = c->cur_frame;
    if (s->t.has_request && s->t.req.version == 9)
        kw_http_dec_answers_http09(&c->dec[KW_TO_CLIENT]); /* RFC 1945 6 */
}

void response_hole(struct track_conn *c, bool began_in_hole)
{
    struct slot *s = began_in_hole ? waiting_slot(c) : NULL;
    if (s) { /* the next final response began in the hole: its status was not seen */
        s->final_response = s->resp_done = true;
        s->t.capture_loss = true;
        s->t.no_response = KW_NORESP_NOT_SEEN;
        c->resp_end_unknown = true;
    }
    for (uint32_t i = 0; i < c->count; i++) { /* their responses may be in it */
        struct slot *o = slot_at(c, i);
        if (!o->final_response && o->t.has_request)
            o->t.capture_loss = true;
    }
    emit_ready(c);
}

static void on_begin(void *ctx, enum kw_dir dir, kw_usec ts)
{
    if (dir == KW_TO_CLIENT)
        response_begin(ctx, ts);
    else
        request_begin(ctx, ts);
}

static void on_text(void *ctx, enum kw_dir dir, enum kw_http_field field, struct kw_slice piece,
                    unsigned flags)
{
    static const int8_t req_fields[KW_FIELD_COUNT] = {
        [KW_FIELD_METHOD] = TF_METHOD, [KW_FIELD_URI] = TF_URI, [KW_FIELD_HOST] = TF_HOST,
        [KW_FIELD_USER_AGENT] = TF_USER_AGENT, [KW_FIELD_SERVER] = -1,
        [KW_FIELD_CONNECTION] = TF_REQ_CONNECTION, [KW_FIELD_KEEP_ALIVE] = TF_REQ_KEEP_ALIVE,
        [KW_FIELD_PROXY_CONNECTION] = -1, [KW_FIELD_UPGRADE] = -1,
        [KW_FIELD_CONTENT_TYPE] = TF_REQ_CONTENT_TYPE,
        [KW_FIELD_X_FORWARDED_FOR] = TF_X_FORWARDED_FOR, [KW_FIELD_VIA] = TF_VIA,
        [KW_FIELD_REASON] = -1,
    };
    /* X-Forwarded-For and Via are kept from the request: they say which
     * proxies it came through (a response's Via is not kept) */
    static const int8_t resp_fields[KW_FIELD_COUNT] = {
        [KW_FIELD_METHOD] = -1, [KW_FIELD_URI] = -1, [KW_FIELD_HOST] = -1,
        [KW_FIELD_USER_AGENT] = -1, [KW_FIELD_SERVER] = TF_SERVER,
        [KW_FIELD_CONNECTION] = TF_RESP_CONNECTION, [KW_FIELD_KEEP_ALIVE] = TF_RESP_KEEP_ALIVE,
        [KW_FIELD_PROXY_CONNECTION] = -1, [KW_FIELD_UPGRADE] = -1,
        [KW_FIELD_CONTENT_TYPE] = TF_RESP_CONTENT_TYPE, [KW_FIELD_X_FORWARDED_FOR] = -1,
        [KW_FIELD_VIA] = -1, [KW_FIELD_REASON] = TF_STATUS_MSG,
    };
    struct track_conn *c = ctx;
    struct slot *s = dir == KW_TO_SERVER ? c->req_slot : c->resp_slot;
    int f = (unsigned)field < KW_FIELD_COUNT
                ? (dir == KW_TO_SERVER ? req_fields : resp_fields)[field] : -1;
    if (s && f >= 0) /* no slot: a response's head before we know whose it is */
        text_add(s, (enum text_field)f, piece, flags);
}

static void note_close_token(struct track_conn *c, const struct kw_http_head *h, kw_usec ts)
{
    if ((h->conn_tokens & KW_CONN_CLOSE) && c->close_token_ts == KW_TS_NONE)
        c->close_token_ts = ts;
}

static enum kw_http_body request_head(struct track_conn *c, kw_usec ts,
                                      const struct kw_http_head *h)
{
    struct slot *s = c->req_slot;
    if (!s)
        return KW_BODY_FRAMED;
    s->t.req = *h;
    text_trim(s, TF_HOST, TF_VIA);
    note_close_token(c, h, ts);
    return KW_BODY_FRAMED;
}

static enum kw_http_body response_head(struct track_conn *c, kw_usec ts,
                                       const struct kw_http_head *h)
{
    struct slot *s = c->resp_slot;
    if (!s)
        return KW_BODY_FRAMED;
    bool interim = h->has_status && h->status >= 100 && h->status < 200 && h->status != 101;
    /* On a connection picked up, a 1xx before any request answers one sent
     * before the capture began: its final response is still to come, for
     * the same request (elsewhere a 1xx answering nothing is reported). */
    bool before_pick_up = !s->t.has_request && c->midstream && !c->n_requests;
    if (interim && (s->t.has_request || before_pick_up)) {
        /* 100 Continue and friends: the final response is still to come, and
         * its headers, not these, are the ones to keep */
        s->t.n_interim = track_inc_sat(s->t.n_interim);
        for (int f = TF_STATUS_MSG; f <= TF_RESP_CONTENT_TYPE; f++)
            text_clear(s, (enum text_field)f);
        return KW_BODY_FRAMED;
    }
    s->final_response = true;
    s->t.has_response = true;
    s->t.resp_first = c->resp_begin;
    s->t.resp_first_frame = c->resp_begin_frame;
    s->t.resp = *h;
    text_trim(s, TF_RESP_CONNECTION, TF_RESP_CONTENT_TYPE); /* not the reason phrase: as sent */
    note_close_token(c, h, ts);
    if (h->has_status && h->status == 101) {
        c->tunnel = KW_TUNNEL_UPGRADE;
        kw_http_dec_stop(&c->dec[KW_TO_SERVER]);
        return KW_BODY_TUNNEL;
    }
    if (s->t.has_request && s->t.req.method == KW_METHOD_CONNECT && h->has_status &&
        h->status >= 200 && h->status < 300) {
        c->tunnel = KW_TUNNEL_CONNECT;
        kw_http_dec_stop(&c->dec[KW_TO_SERVER]);
        return KW_BODY_TUNNEL;
    }
    if (s->t.has_request && s->t.req.method == KW_METHOD_HEAD)
        return KW_BODY_NONE; /* RFC 7230 3.3.3 rule 1 */
    return KW_BODY_FRAMED;
}

static enum kw_http_body on_head(void *ctx, enum kw_dir dir, kw_usec ts,
                                 const struct kw_http_head *h)
{
    struct track_conn *c = ctx;
    c->http = true;
    return dir == KW_TO_SERVER ? request_head(c, ts, h) : response_head(c, ts, h);
}

static void request_end(struct track_conn *c, kw_usec ts, const struct kw_http_end *e)
{
    struct slot *s = c->req_slot;
    if (!s)
        return;
    s->t.req.msg_anomalies |= e->msg_anomalies;
    s->t.req_body_len = e->body_len;
    if (e->how == KW_END_SEEN) {
        s->t.req_last = ts;
        s->t.req_last_frame = c->cur_frame;
        s->t.request_complete = true;
    } else if (e->how != KW_END_CLOSED) {
        s->t.capture_loss = true; /* its end, or where it ends, is in a hole */
    }
    c->req_slot = NULL;
}

/* A response cut before its head: by the close (it stays due: track.c says
 * why at the end), or by a hole, which holds its status. */
static void response_cut_early(struct track_conn *c, struct slot *s, const struct kw_http_end *e)
{
    if (e->how == KW_END_CLOSED)
        return;
    s->final_response = s->resp_done = true;
    s->t.capture_loss = true;
    s->t.no_response = KW_NORESP_NOT_SEEN;
    c->resp_end_unknown = true;
    c->resp_slot = NULL;
}

static void response_end(struct track_conn *c, kw_usec ts, const struct kw_http_end *e)
{
    struct slot *s = c->resp_slot;
    if (!s)
        return;
    if (!e->head_seen) {
        response_cut_early(c, s, e);
        return;
    }
    if (!s->final_response)
        return; /* an interim response ended */
    s->t.resp.msg_anomalies |= e->msg_anomalies;
    s->t.resp_body_len = e->body_len;
    s->t.framing = e->framing;
    c->resp_slot = NULL;
    c->resp_end_unknown = e->how != KW_END_SEEN;
    if (e->how == KW_END_CLOSED) {
        s->resp_cut = true; /* reported when the connection ends */
        return;
    }
    s->resp_done = true;
    if (e->how != KW_END_SEEN) {
        s->t.capture_loss = true;
    } else {
        s->t.resp_last = ts;
        s->t.resp_last_frame = c->cur_frame;
        s->t.response_complete = true;
        c->last_resp_end = ts;
    }
    if (e->how != KW_END_HOLE_CUT)
        c->n_responses = track_inc_sat(c->n_responses);
}

static void on_end(void *ctx, enum kw_dir dir, kw_usec ts, const struct kw_http_end *e)
{
    struct track_conn *c = ctx;
    if (e->how == KW_END_SEEN)
        c->last_msg_end = ts;
    else if (e->how != KW_END_CLOSED)
        c->last_msg_end = KW_TS_NONE; /* the last message byte was in a hole: when is unknown */
    if (dir == KW_TO_SERVER)
        request_end(c, ts, e);
    else
        response_end(c, ts, e);
    emit_ready(c);
}

void track_conn_init_sink(struct track_conn *c)
{
    c->http_sink = (struct kw_http_sink){ .ctx = c, .on_begin = on_begin, .on_text = on_text,
                                          .on_head = on_head, .on_end = on_end,
                                          .on_discard = on_discard };
}

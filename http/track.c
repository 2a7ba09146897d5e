/* track.c: per connection, two decoders and the transactions in flight, fed
 * by the reassembler: bytes, holes in the capture, FINs and the end. The
 * decoders' events are paired in track-txn.c. */
#include "http/track-impl.h"

#include <stdlib.h>
#include <string.h>

static const char *const no_response_names[] = {
    [KW_NORESP_NONE] = "none",
    [KW_NORESP_LOST] = "lost",
    [KW_NORESP_CLIENT_CLOSED] = "client-closed",
    [KW_NORESP_NOT_SEEN] = "not-seen",
    [KW_NORESP_CAPTURE_END] = "capture-end",
    [KW_NORESP_ABANDONED] = "abandoned",
};

const char *kw_no_response_name(enum kw_no_response r)
{
    return (size_t)r < sizeof(no_response_names) / sizeof(no_response_names[0])
               ? no_response_names[r] : "unknown";
}

/* --- reassembler callbacks -------------------------------------------- */

/* A connection picked up after it began (midstream) is read from its first
 * message boundary in each direction; what came before was not seen, so the
 * first request's idle time and pipelining are unknown. */
static void *track_open(void *ctx, const struct kw_conn_key *key, kw_usec ts, bool midstream)
{
    struct kw_track *tr = ctx;
    struct track_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL; /* not followed; the reassembler goes on */
    c->info.id = ++tr->next_id;
    c->info.key = *key;
    c->info.start = ts;
    c->track = tr;
    track_conn_init_sink(c);
    kw_http_dec_init(&c->dec[KW_TO_SERVER], KW_TO_SERVER, tr->head_max, &c->http_sink);
    kw_http_dec_init(&c->dec[KW_TO_CLIENT], KW_TO_CLIENT, tr->head_max, &c->http_sink);
    c->last_resp_end = c->last_msg_end = KW_TS_NONE;
    c->close_token_ts = c->first_close_ts = KW_TS_NONE;
    c->fin_ts[0] = c->fin_ts[1] = KW_TS_NONE;
    c->midstream = midstream;
    if (midstream) {
        kw_http_dec_seek(&c->dec[KW_TO_SERVER]);
        kw_http_dec_seek(&c->dec[KW_TO_CLIENT]);
        c->resp_end_unknown = true;
    }
    return c;
}

/* The request side stopped being HTTP in the middle of a request. It stays
 * reported when a response was begun for it (the server answered while its
 * head was still arriving, a 400 or 414, say); else, when not even its head
 * was read, it was no request. */
static void request_failed(struct track_conn *c)
{
    struct slot *s = c->req_slot;
    c->req_slot = NULL;
    bool answered = s->final_response || s == c->resp_slot;
    if (s->t.req.version == 0 && s == slot_at(c, c->count - 1) && !answered) {
        c->count--;
        c->n_requests--;
        if (s->t.after_server_fin)
            c->n_after_server_fin--;
    }
    emit_ready(c);
}

/* The decoder of `dir` found bytes that are not HTTP (in them, at a hole or
 * at the close). A request side that fails after requests were decoded
 * leaves the response side to answer them. */
static void dec_failed(struct track_conn *c, enum kw_dir dir)
{
    struct kw_http_dec *d = &c->dec[dir];
    if (kw_http_dec_error(d) == KW_HTTP_E_NONE || c->not_http)
        return;
    const char *why = kw_http_error_text(kw_http_dec_error(d));
    mark_not_http(c, dir, why, kw_http_dec_error_offset(d));
    if (dir == KW_TO_SERVER && c->req_slot)
        request_failed(c);
    if (dir == KW_TO_CLIENT || !c->count)
        give_up(c, dir, why, c->not_http_offset);
}

static void track_data(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame,
                       struct kw_slice data)
{
    (void)ctx;
    struct track_conn *c = conn;
    c->cur_frame = frame;
    if (!kw_http_dec_feed(&c->dec[dir], ts, data))
        dec_failed(c, dir);
}

/* A hole the reassembler stepped over: the message in progress has bytes in
 * it; when the decoder lost its place, pairings are unsure until nothing is
 * in flight, and on the server's side the responses of requests waiting may
 * be in it. */
static void track_gap(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame,
                      uint64_t missing)
{
    (void)ctx;
    struct track_conn *c = conn;
    c->cur_frame = frame;
    c->missed[dir] = c->missed[dir] > UINT64_MAX - missing ? UINT64_MAX : c->missed[dir] + missing;
    struct slot *in_progress = dir == KW_TO_SERVER ? c->req_slot : c->resp_slot;
    if (in_progress)
        in_progress->t.capture_loss = true;
    enum kw_http_gap g = kw_http_dec_gap(&c->dec[dir], ts, missing);
    dec_failed(c, dir);
    if (g == KW_GAP_IGNORED || g == KW_GAP_IN_STEP)
        return;
    c->pairing_unsure = true;
    if (dir == KW_TO_CLIENT)
        response_hole(c, g == KW_GAP_MESSAGE_IN_HOLE);
}

static void first_close(struct track_conn *c, enum kw_side who, enum kw_close how, kw_usec ts)
{
    if (c->first_close_ts != KW_TS_NONE)
        return;
    c->first_close_ts = ts;
    /* A close stamped before the last message's end followed a segment that
     * was captured again later (a retransmission): it was not idle at all. */
    c->idle_at_close = c->last_msg_end == KW_TS_NONE ? KW_TS_NONE
                       : ts > c->last_msg_end ? ts - c->last_msg_end : 0;
    c->first_close_by = who;
    c->close_frame = c->cur_frame;
    /* FINs come in stream order, so a token decoded by now was sent before the
     * close, whatever the timestamps of retransmitted segments say. */
    c->announced_at_close = c->close_token_ts != KW_TS_NONE;
    c->first_close = how;
}

static void track_fin(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame)
{
    struct kw_track *tr = ctx;
    struct track_conn *c = conn;
    if (c->fin_ts[dir] != KW_TS_NONE)
        return;
    c->cur_frame = frame;
    c->fin_ts[dir] = ts;
    c->fin_frame[dir] = frame;
    enum kw_side who = kw_side_of_sender(dir);
    kw_http_dec_close(&c->dec[dir], ts); /* may end a body delimited by the close */
    dec_failed(c, dir);
    first_close(c, who, KW_CLOSE_FIN, ts);
    for (unsigned i = 0; i < tr->n_consumers; i++)
        if (tr->consumers[i]->on_fin)
            tr->consumers[i]->on_fin(tr->consumers[i]->ctx, &c->info, who, ts);
}

/* Why a request still pending at the end got no response. */
static enum kw_no_response why_unanswered(const struct track_conn *c, const struct kw_txn *t,
                                          const struct kw_reasm_end *e)
{
    if (t->capture_loss || e->gap_offset[KW_TO_CLIENT] != KW_NO_GAP ||
        e->gap_offset[KW_TO_SERVER] != KW_NO_GAP)
        return KW_NORESP_NOT_SEEN;
    if (t->after_server_fin || c->first_close_by == KW_SIDE_SERVER)
        return KW_NORESP_LOST;
    if (c->first_close_by == KW_SIDE_CLIENT)
        return KW_NORESP_CLIENT_CLOSED;
    if (c->not_http || c->tunnel || e->how == KW_CLOSE_TIMEOUT)
        return KW_NORESP_ABANDONED;
    return KW_NORESP_CAPTURE_END;
}

/* Reports what is still in flight, in order, with why it got no response;
 * returns how many of them were lost. */
static uint32_t flush_in_flight(struct track_conn *c, const struct kw_reasm_end *e)
{
    uint32_t lost = 0;
    c->req_slot = c->resp_slot = NULL;
    for (; c->count; c->head = (c->head + 1) % c->cap, c->count--) {
        struct slot *s = slot_at(c, 0);
        if (!s->t.has_request && !s->t.has_response)
            continue; /* a response that never got going */
        if (s->t.has_request && !s->t.has_response) {
            s->t.no_response = why_unanswered(c, &s->t, e);
            lost += s->t.no_response == KW_NORESP_LOST;
        }
        emit_txn(c, s);
    }
    return lost;
}

/* The connection's end as the consumers see it. */
static void conn_end_of(const struct track_conn *c, const struct kw_reasm_end *e,
                        struct kw_conn_end *end)
{
    bool closed = c->first_close_ts != KW_TS_NONE;
    end->requests = c->n_requests;
    end->responses = c->n_responses;
    end->after_server_fin = c->n_after_server_fin;
    end->reused = c->n_requests > 1;
    end->http = c->http;
    end->end_ts = e->ts;
    end->ended = e->how;
    end->timeout = e->timeout;
    end->closed_by = closed ? c->first_close_by : KW_SIDE_NONE;
    end->close = closed ? c->first_close : e->how;
    end->close_ts = closed ? c->first_close_ts : e->ts;
    end->idle_before_close = closed ? c->idle_at_close : KW_TS_NONE;
    end->close_announced = closed ? c->announced_at_close : c->close_token_ts != KW_TS_NONE;
    memcpy(end->fin_ts, c->fin_ts, sizeof(end->fin_ts));
    memcpy(end->fin_frame, c->fin_frame, sizeof(end->fin_frame));
    end->close_frame = closed ? c->close_frame : 0;
    end->end_frame = e->frame;
    end->rst_by = e->how == KW_CLOSE_RST ? kw_side_of_sender(e->rst_dir) : KW_SIDE_NONE;
    end->not_http = c->not_http;
    end->not_http_dir = c->not_http_dir;
    end->not_http_offset = c->not_http_offset;
    end->tunnel = c->tunnel;
    memcpy(end->gap_offset, e->gap_offset, sizeof(end->gap_offset));
    end->midstream = c->midstream;
    for (int d = 0; d < 2; d++) {
        end->missed_bytes[d] = c->missed[d];
        end->skipped_bytes[d] = kw_http_dec_skipped(&c->dec[d]);
        end->packets[d] = e->packets[d];
        end->bytes[d] = e->bytes[d];
    }
    end->packets_unknown = e->packets_unknown;
    memcpy(end->history, e->history, sizeof(end->history));
}

static void track_end(void *ctx, void *conn, const struct kw_reasm_end *e)
{
    struct kw_track *tr = ctx;
    struct track_conn *c = conn;
    c->cur_frame = e->frame;
    if (e->how == KW_CLOSE_RST)
        first_close(c, kw_side_of_sender(e->rst_dir), KW_CLOSE_RST, e->ts);
    if (e->how != KW_CLOSE_TIMEOUT && e->how != KW_CLOSE_CAPTURE_END) {
        /* a close (FIN or RST) ends a body delimited by it; a capture that stops does not */
        for (int d = 0; d < 2; d++)
            if (c->fin_ts[d] == KW_TS_NONE) {
                kw_http_dec_close(&c->dec[d], e->ts);
                dec_failed(c, (enum kw_dir)d);
            }
    }
    struct kw_conn_end end;
    memset(&end, 0, sizeof(end));
    end.lost_requests = flush_in_flight(c, e);
    tr->stats->lost_requests += end.lost_requests;
    if (c->http)
        tr->stats->http_connections++;
    conn_end_of(c, e, &end);
    for (unsigned i = tr->n_consumers; i-- > 0;) /* in reverse: see http/txn.h */
        if (tr->consumers[i]->on_end)
            tr->consumers[i]->on_end(tr->consumers[i]->ctx, &c->info, &end);
    for (uint32_t i = 0; i < c->cap; i++)
        text_free(&c->slots[i]);
    free(c->slots);
    free(c);
}

struct kw_track *kw_track_new(uint32_t head_max, struct kw_stats *stats)
{
    struct kw_track *tr = calloc(1, sizeof(*tr));
    if (!tr)
        return NULL;
    tr->stats = stats;
    tr->head_max = head_max;
    tr->reasm_sink = (struct kw_reasm_sink){ .ctx = tr, .on_open = track_open,
                                             .on_data = track_data, .on_fin = track_fin,
                                             .on_end = track_end, .on_gap = track_gap };
    return tr;
}

int kw_track_subscribe(struct kw_track *t, struct kw_txn_consumer *consumer)
{
    if (t->n_consumers == KW_CONSUMERS_MAX)
        return -1;
    consumer->slot = t->n_consumers;
    t->consumers[t->n_consumers++] = consumer;
    return 0;
}

void kw_track_free(struct kw_track *t)
{
    free(t);
}

const struct kw_reasm_sink *kw_track_reasm_sink(struct kw_track *t)
{
    return &t->reasm_sink;
}

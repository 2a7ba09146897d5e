/* track.c: per connection, two decoders and the transactions in flight.
 *
 * Requests and responses pair up in order (RFC 7230 6.3.2: responses to
 * pipelined requests come back in the order the requests were sent). A
 * transaction is reported once its final response has ended and its request
 * has ended too; whatever is still pending when the connection ends is
 * reported then, with the reason it got no response. */
#include "http/track.h"

#include <stdlib.h>
#include <string.h>

#include "http/dec-impl.h"

/* Bytes kept of each text field; longer values are cut and flagged. */
enum {
    CAP_METHOD = 24,
    CAP_URI = 512,
    CAP_HOST = 128,
    CAP_USER_AGENT = 256,
    CAP_CONNECTION = 128,
    CAP_KEEP_ALIVE = 64,
    CAP_SERVER = 128,
};

struct slot {
    struct kw_txn t;
    bool final_response; /* its final (non-1xx) response has begun */
    uint8_t method[CAP_METHOD], uri[CAP_URI], host[CAP_HOST], user_agent[CAP_USER_AGENT];
    uint8_t req_connection[CAP_CONNECTION], req_keep_alive[CAP_KEEP_ALIVE];
    uint8_t resp_connection[CAP_CONNECTION], resp_keep_alive[CAP_KEEP_ALIVE], server[CAP_SERVER];
};

struct track_conn {
    struct kw_conn_info info;
    struct kw_track *track;
    struct kw_http_sink http_sink; /* ctx = this connection */
    struct kw_http_dec dec[2];     /* indexed by enum kw_dir */
    struct slot *slots;            /* ring of transactions in flight */
    uint32_t cap, head, count;
    struct slot *req_slot;         /* the request being read, or NULL */
    struct slot *resp_slot;        /* the response being read, or NULL */
    kw_usec resp_begin;            /* first byte of the response being read */
    uint64_t resp_begin_frame;
    uint64_t cur_frame;            /* the packet whose bytes are being decoded */
    uint64_t close_frame, fin_frame[2];
    kw_usec last_resp_end, last_msg_end;
    kw_usec close_token_ts;        /* first message end carrying Connection: close */
    kw_usec first_close_ts;
    kw_usec idle_at_close;         /* from the last message byte to the first close */
    bool announced_at_close;       /* a close token was decoded before the first close */
    enum kw_side first_close_by;
    enum kw_close first_close;
    kw_usec fin_ts[2];
    uint32_t n_requests, n_responses, n_after_server_fin;
    bool http;
    enum kw_tunnel tunnel;
    const char *not_http;
    enum kw_dir not_http_dir;
    uint64_t not_http_offset;
};

struct kw_track {
    struct kw_reasm_sink reasm_sink;
    struct kw_txn_consumer *consumers[KW_CONSUMERS_MAX];
    unsigned n_consumers;
    struct kw_stats *stats;
    uint32_t head_max;
    uint64_t next_id;
};

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

/* --- the ring of transactions ----------------------------------------- */

static struct slot *slot_at(struct track_conn *c, uint32_t i)
{
    return &c->slots[(c->head + i) % c->cap];
}

/* The transaction's text fields point into its own slot's buffers. */
static void aim_texts(struct slot *s)
{
    s->t.method.p = s->method;
    s->t.uri.p = s->uri;
    s->t.host.p = s->host;
    s->t.user_agent.p = s->user_agent;
    s->t.req_connection.p = s->req_connection;
    s->t.req_keep_alive.p = s->req_keep_alive;
    s->t.resp_connection.p = s->resp_connection;
    s->t.resp_keep_alive.p = s->resp_keep_alive;
    s->t.server.p = s->server;
}

static struct slot *slot_push(struct track_conn *c)
{
    if (c->count == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 1;
        if (cap > KW_PIPELINE_MAX)
            return NULL;
        struct slot *s = malloc(cap * sizeof(*s));
        if (!s)
            return NULL;
        for (uint32_t i = 0; i < c->count; i++) {
            struct slot *o = slot_at(c, i);
            s[i] = *o;
            aim_texts(&s[i]); /* kw_text pointers point into the slot: re-aim them */
            if (c->req_slot == o)
                c->req_slot = &s[i];
            if (c->resp_slot == o)
                c->resp_slot = &s[i];
        }
        free(c->slots);
        c->slots = s;
        c->cap = cap;
        c->head = 0;
    }
    struct slot *s = slot_at(c, c->count++);
    memset(&s->t, 0, sizeof(s->t));
    s->final_response = false;
    struct kw_txn *t = &s->t;
    t->req_first = t->req_last = t->resp_first = t->resp_last = KW_TS_NONE;
    t->idle_before = KW_TS_NONE;
    aim_texts(s);
    return s;
}

static void emit_txn(struct track_conn *c, struct slot *s)
{
    struct kw_track *tr = c->track;
    if (s->t.has_request)
        tr->stats->requests++;
    if (s->t.has_response)
        tr->stats->responses++;
    for (unsigned i = 0; i < tr->n_consumers; i++)
        if (tr->consumers[i]->on_txn)
            tr->consumers[i]->on_txn(tr->consumers[i]->ctx, &c->info, &s->t);
}

/* Reports, in order, the transactions at the front that are over. */
static void emit_ready(struct track_conn *c)
{
    while (c->count) {
        struct slot *s = slot_at(c, 0);
        if (!s->t.response_complete || s == c->req_slot)
            return;
        emit_txn(c, s);
        c->head = (c->head + 1) % c->cap;
        c->count--;
    }
}

/* --- text fields ------------------------------------------------------ */

static void text_add(struct kw_text *t, uint8_t *buf, size_t cap, struct kw_slice piece,
                     unsigned flags)
{
    if ((flags & KW_TEXT_START) && t->present && piece.len) {
        /* a repeated header: keep both values, as a list (RFC 7230 3.2.2) */
        static const uint8_t sep[] = ", ";
        text_add(t, buf, cap, kw_slice_make(sep, 2), 0);
    }
    t->present = true;
    size_t room = cap - t->len;
    size_t n = piece.len < room ? piece.len : room;
    memcpy(buf + t->len, piece.p, n);
    t->len = (uint16_t)(t->len + n);
    if (n < piece.len)
        t->truncated = true;
}

static void text_trim(struct kw_text *t)
{
    while (t->len && (t->p[t->len - 1] == ' ' || t->p[t->len - 1] == '\t'))
        t->len--;
}

/* --- decoder callbacks ------------------------------------------------ */

/* The first reason the bytes stopped being HTTP is the one reported. */
static void mark_not_http(struct track_conn *c, enum kw_dir dir, const char *why, uint64_t offset)
{
    if (!c->not_http) {
        c->not_http = why;
        c->not_http_dir = dir;
        c->not_http_offset = offset;
        c->track->stats->not_http++;
    }
}

static void give_up(struct track_conn *c, enum kw_dir dir, const char *why, uint64_t offset)
{
    mark_not_http(c, dir, why, offset);
    kw_http_dec_stop(&c->dec[KW_TO_SERVER]);
    kw_http_dec_stop(&c->dec[KW_TO_CLIENT]);
}

/* The oldest request still waiting for its final response. */
static struct slot *waiting_slot(struct track_conn *c)
{
    for (uint32_t i = 0; i < c->count; i++) {
        struct slot *s = slot_at(c, i);
        if (!s->final_response)
            return s;
    }
    return NULL;
}

/* A response begins: it answers the oldest request still waiting, or nobody
 * (a 408 sent on an idle connection, say). */
static void begin_response(struct track_conn *c, kw_usec ts)
{
    struct slot *s = waiting_slot(c);
    if (!s && !(s = slot_push(c))) {
        give_up(c, KW_TO_CLIENT, "too many requests outstanding", c->dec[KW_TO_CLIENT].offset);
        return;
    }
    c->resp_slot = s;
    c->resp_begin = ts;
    c->resp_begin_frame = c->cur_frame;
}

static void on_begin(void *ctx, enum kw_dir dir, kw_usec ts)
{
    struct track_conn *c = ctx;
    if (dir == KW_TO_CLIENT) {
        begin_response(c, ts);
        return;
    }
    struct slot *s = slot_push(c);
    if (!s) {
        give_up(c, dir, "too many requests outstanding", c->dec[dir].offset);
        return;
    }
    struct kw_txn *t = &s->t;
    t->index = ++c->n_requests;
    t->has_request = true;
    t->req_first = ts;
    t->req_first_frame = c->cur_frame;
    /* pipelined: an earlier request is still waiting for the end of its response */
    for (uint32_t i = 0; i + 1 < c->count; i++)
        if (!slot_at(c, i)->t.response_complete)
            t->pipelined = true;
    /* Idle since the previous response ended; a request sent while an answer
     * was still due did not wait at all. */
    if (t->index > 1)
        t->idle_before = !t->pipelined && c->last_resp_end != KW_TS_NONE && ts > c->last_resp_end
                             ? ts - c->last_resp_end : 0;
    if (c->fin_ts[KW_TO_CLIENT] != KW_TS_NONE) {
        t->after_server_fin = true;
        c->n_after_server_fin++;
    }
    c->req_slot = s;
}

static void on_text(void *ctx, enum kw_dir dir, enum kw_http_field field, struct kw_slice piece,
                    unsigned flags)
{
    struct track_conn *c = ctx;
    struct slot *s = dir == KW_TO_SERVER ? c->req_slot : c->resp_slot;
    if (!s)
        return; /* a response's start line and headers before we know its slot */
    struct kw_txn *t = &s->t;
    if (dir == KW_TO_SERVER) {
        switch (field) {
        case KW_FIELD_METHOD: text_add(&t->method, s->method, CAP_METHOD, piece, flags); break;
        case KW_FIELD_URI: text_add(&t->uri, s->uri, CAP_URI, piece, flags); break;
        case KW_FIELD_HOST: text_add(&t->host, s->host, CAP_HOST, piece, flags); break;
        case KW_FIELD_USER_AGENT:
            text_add(&t->user_agent, s->user_agent, CAP_USER_AGENT, piece, flags);
            break;
        case KW_FIELD_CONNECTION:
            text_add(&t->req_connection, s->req_connection, CAP_CONNECTION, piece, flags);
            break;
        case KW_FIELD_KEEP_ALIVE:
            text_add(&t->req_keep_alive, s->req_keep_alive, CAP_KEEP_ALIVE, piece, flags);
            break;
        default: break;
        }
    } else {
        switch (field) {
        case KW_FIELD_CONNECTION:
            text_add(&t->resp_connection, s->resp_connection, CAP_CONNECTION, piece, flags);
            break;
        case KW_FIELD_KEEP_ALIVE:
            text_add(&t->resp_keep_alive, s->resp_keep_alive, CAP_KEEP_ALIVE, piece, flags);
            break;
        case KW_FIELD_SERVER: text_add(&t->server, s->server, CAP_SERVER, piece, flags); break;
        default: break;
        }
    }
}

static void note_close_token(struct track_conn *c, const struct kw_http_head *h, kw_usec ts)
{
    if ((h->conn_tokens & KW_CONN_CLOSE) && c->close_token_ts == KW_TS_NONE)
        c->close_token_ts = ts;
}

static enum kw_http_body on_head(void *ctx, enum kw_dir dir, kw_usec ts,
                                 const struct kw_http_head *h)
{
    struct track_conn *c = ctx;
    c->http = true;
    if (dir == KW_TO_SERVER) {
        struct slot *s = c->req_slot;
        if (!s)
            return KW_BODY_FRAMED;
        s->t.req = *h;
        text_trim(&s->t.host);
        text_trim(&s->t.user_agent);
        text_trim(&s->t.req_connection);
        text_trim(&s->t.req_keep_alive);
        note_close_token(c, h, ts);
        return KW_BODY_FRAMED;
    }

    struct slot *s = c->resp_slot;
    if (!s)
        return KW_BODY_FRAMED;
    bool interim = h->status >= 100 && h->status < 200 && h->status != 101;
    if (interim && s->t.has_request) {
        /* 100 Continue and friends: the final response is still to come, and
         * its headers, not these, are the ones to keep */
        s->t.n_interim++;
        s->t.resp_connection.len = s->t.resp_keep_alive.len = s->t.server.len = 0;
        s->t.resp_connection.present = s->t.resp_keep_alive.present = s->t.server.present = false;
        return KW_BODY_FRAMED;
    }
    s->final_response = true;
    s->t.has_response = true;
    s->t.resp_first = c->resp_begin;
    s->t.resp_first_frame = c->resp_begin_frame;
    s->t.resp = *h;
    text_trim(&s->t.resp_connection);
    text_trim(&s->t.resp_keep_alive);
    text_trim(&s->t.server);
    note_close_token(c, h, ts);
    if (h->status == 101) {
        c->tunnel = KW_TUNNEL_UPGRADE;
        kw_http_dec_stop(&c->dec[KW_TO_SERVER]);
        return KW_BODY_TUNNEL;
    }
    if (s->t.has_request && s->t.req.method == KW_METHOD_CONNECT && h->status >= 200 &&
        h->status < 300) {
        c->tunnel = KW_TUNNEL_CONNECT;
        kw_http_dec_stop(&c->dec[KW_TO_SERVER]);
        return KW_BODY_TUNNEL;
    }
    if (s->t.has_request && s->t.req.method == KW_METHOD_HEAD)
        return KW_BODY_NONE; /* RFC 7230 3.3.3 rule 1 */
    return KW_BODY_FRAMED;
}

static void on_end(void *ctx, enum kw_dir dir, kw_usec ts, enum kw_framing framing,
                   uint64_t body_len)
{
    struct track_conn *c = ctx;
    c->last_msg_end = ts;
    if (dir == KW_TO_SERVER) {
        struct slot *s = c->req_slot;
        if (s) {
            s->t.req_last = ts;
            s->t.req_last_frame = c->cur_frame;
            s->t.req_body_len = body_len;
            s->t.request_complete = true;
            c->req_slot = NULL;
        }
    } else {
        struct slot *s = c->resp_slot;
        if (!s || !s->final_response)
            return; /* an interim response ended */
        s->t.resp_last = ts;
        s->t.resp_last_frame = c->cur_frame;
        s->t.resp_body_len = body_len;
        s->t.framing = framing;
        s->t.response_complete = true;
        c->last_resp_end = ts;
        c->n_responses++;
        c->resp_slot = NULL;
    }
    emit_ready(c);
}

/* --- reassembler callbacks -------------------------------------------- */

static void *track_open(void *ctx, const struct kw_conn_key *key, kw_usec ts)
{
    struct kw_track *tr = ctx;
    struct track_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL; /* not followed; the reassembler goes on */
    c->info.id = ++tr->next_id;
    c->info.key = *key;
    c->info.start = ts;
    c->track = tr;
    c->http_sink = (struct kw_http_sink){ c, on_begin, on_text, on_head, on_end };
    kw_http_dec_init(&c->dec[KW_TO_SERVER], KW_TO_SERVER, tr->head_max, &c->http_sink);
    kw_http_dec_init(&c->dec[KW_TO_CLIENT], KW_TO_CLIENT, tr->head_max, &c->http_sink);
    c->last_resp_end = c->last_msg_end = KW_TS_NONE;
    c->close_token_ts = c->first_close_ts = KW_TS_NONE;
    c->fin_ts[0] = c->fin_ts[1] = KW_TS_NONE;
    return c;
}

static void track_data(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame,
                       struct kw_slice data)
{
    (void)ctx;
    struct track_conn *c = conn;
    c->cur_frame = frame;
    struct kw_http_dec *d = &c->dec[dir];
    if (!kw_http_dec_feed(d, ts, data) && kw_http_dec_error(d) != KW_HTTP_E_NONE) {
        /* Bytes that are not HTTP. A request side that fails after requests
         * were decoded leaves the response side to answer them. */
        const char *why = kw_http_error_text(kw_http_dec_error(d));
        mark_not_http(c, dir, why, kw_http_dec_error_offset(d));
        if (dir == KW_TO_SERVER && c->req_slot) {
            /* the request it failed in: drop it if not even its head was read */
            if (c->req_slot->t.req.version == 0 && c->req_slot == slot_at(c, c->count - 1)) {
                c->count--;
                c->n_requests--;
            }
            c->req_slot = NULL;
            emit_ready(c);
        }
        if (dir == KW_TO_CLIENT || !c->count)
            give_up(c, dir, why, c->not_http_offset);
    }
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
    first_close(c, who, KW_CLOSE_FIN, ts);
    for (unsigned i = 0; i < tr->n_consumers; i++)
        if (tr->consumers[i]->on_fin)
            tr->consumers[i]->on_fin(tr->consumers[i]->ctx, &c->info, who, ts);
}

/* Why a request still pending at the end got no response. */
static enum kw_no_response why_unanswered(const struct track_conn *c, const struct kw_txn *t,
                                          const struct kw_reasm_end *e)
{
    if (e->gap_offset[KW_TO_CLIENT] != KW_NO_GAP || e->gap_offset[KW_TO_SERVER] != KW_NO_GAP)
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
    c->req_slot = NULL;
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
            if (c->fin_ts[d] == KW_TS_NONE)
                kw_http_dec_close(&c->dec[d], e->ts);
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
    tr->reasm_sink = (struct kw_reasm_sink){ tr, track_open, track_data, track_fin, track_end };
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

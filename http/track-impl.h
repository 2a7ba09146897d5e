/* track-impl.h: what the files of the connection tracker share (http/track*.c
 * only): a connection's record, the ring of transactions in flight and the
 * text each keeps.
 *   track.c       the reassembler's sink: connections open, bytes, holes,
 *                 FINs, ends; what is still in flight when one ends
 *   track-txn.c   the decoders' sink: requests and responses paired in order
 *   track-text.c  each transaction's copies of wire text */
#ifndef KW_TRACK_IMPL_H
#define KW_TRACK_IMPL_H

#include <string.h>

#include "http/dec-impl.h"
#include "http/track.h"

/* The text fields a transaction keeps: the request's, then the response's;
 * the header values of each side in one run (text_trim takes a range). At
 * most 16 (slot_text.fields). */
enum text_field {
    TF_METHOD = 0,
    TF_URI,
    TF_HOST,
    TF_USER_AGENT,
    TF_REQ_CONNECTION,
    TF_REQ_KEEP_ALIVE,
    TF_REQ_CONTENT_TYPE,
    TF_X_FORWARDED_FOR,
    TF_VIA,
    TF_STATUS_MSG,
    TF_RESP_CONNECTION,
    TF_RESP_KEEP_ALIVE,
    TF_SERVER,
    TF_RESP_CONTENT_TYPE,
    TF_COUNT
};

#define TEXT_INLINE 48 /* text bytes a slot holds without an allocation */

/* A transaction's copies of wire text, each field contiguous, in one buffer:
 * the slot's own few bytes, then one that grows geometrically with what
 * arrived and is kept when the slot is taken again. Memory follows the bytes
 * received, with no allocation once a connection's slots have warmed up. */
struct slot_text {
    uint8_t *buf;            /* `small`, or allocated */
    uint16_t len;            /* bytes in use, fields moved away from included */
    uint16_t cap;            /* bytes in buf */
    uint16_t off[TF_COUNT];  /* where each field's bytes begin */
    uint16_t fields;         /* bit f: field f has bytes */
    uint8_t small[TEXT_INLINE];
};

struct slot {
    struct kw_txn t;         /* its kw_text pointers are set just before it is handed on */
    struct slot_text text;
    bool final_response;     /* its final (non-1xx) response has begun, or was in a hole */
    bool resp_done;          /* nothing more of its response will come: it may be reported */
    bool resp_cut;           /* the server's close cut its response short */
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
    kw_usec last_resp_end;         /* the last response seen to end */
    kw_usec last_msg_end;          /* the last message byte; KW_TS_NONE when in a hole */
    kw_usec close_token_ts;        /* first message end carrying Connection: close */
    kw_usec first_close_ts;
    kw_usec idle_at_close;         /* from the last message byte to the first close */
    bool announced_at_close;       /* a close token was decoded before the first close */
    enum kw_side first_close_by;
    enum kw_close first_close;
    kw_usec fin_ts[2];
    uint32_t n_requests, n_responses, n_after_server_fin; /* saturate */
    bool http;
    bool midstream;                /* picked up after it began */
    bool resp_end_unknown;         /* the last response to end was not seen ending */
    bool pairing_unsure;           /* since a hole, pairings may be off: transactions are
                                      flagged capture_loss until the ring drains */
    enum kw_tunnel tunnel;
    const char *not_http;
    enum kw_dir not_http_dir;
    uint64_t not_http_offset;
    uint64_t missed[2];            /* bytes in holes, by direction */
};

struct kw_track {
    struct kw_reasm_sink reasm_sink;
    struct kw_txn_consumer *consumers[KW_CONSUMERS_MAX];
    unsigned n_consumers;
    struct kw_stats *stats;
    uint32_t head_max;
    uint64_t next_id;
};

static inline uint32_t track_inc_sat(uint32_t n)
{
    return n < UINT32_MAX ? n + 1 : n;
}

/* track-text.c */
extern const uint16_t track_text_caps[TF_COUNT];    /* bytes kept of each field */
extern const uint16_t track_text_offsets[TF_COUNT]; /* of each field's kw_text in kw_txn */

static inline struct kw_text *text_of(struct slot *s, enum text_field f)
{
    return (struct kw_text *)((char *)&s->t + track_text_offsets[f]);
}

void text_init(struct slot *s);   /* a slot new in the ring: its own bytes, empty */
void text_moved(struct slot *s);  /* the slot was copied: aim at its own bytes again */
void text_add_slow(struct slot *s, enum text_field f, struct kw_slice piece, unsigned flags);

/* A piece of field f. The common case, a first or a next piece that fits at
 * the buffer's end, is a copy; the others (a repeated header, a field moved,
 * a buffer to grow, the cap) go to text_add_slow. */
static inline void text_add(struct slot *s, enum text_field f, struct kw_slice piece,
                            unsigned flags)
{
    struct kw_text *t = text_of(s, f);
    struct slot_text *x = &s->text;
    if (piece.len && !((flags & KW_TEXT_START) && t->present) &&
        piece.len <= (size_t)(track_text_caps[f] - t->len) &&
        piece.len <= (size_t)(x->cap - x->len) && (!t->len || x->off[f] + t->len == x->len)) {
        if (!t->len) {
            x->off[f] = x->len;
            x->fields |= (uint16_t)(1u << f);
        }
        memcpy(x->buf + x->len, piece.p, piece.len);
        t->present = true;
        t->len = (uint16_t)(t->len + piece.len);
        x->len = (uint16_t)(x->len + piece.len);
        return;
    }
    text_add_slow(s, f, piece, flags);
}

void text_trim(struct slot *s, enum text_field first, enum text_field last); /* OWS off */
void text_clear(struct slot *s, enum text_field f); /* as if never seen */
void text_aim(struct slot *s);                      /* kw_text pointers into the buffer */
void text_free(struct slot *s);

/* track-txn.c */
void track_conn_init_sink(struct track_conn *c);
struct slot *slot_at(struct track_conn *c, uint32_t i);
void emit_txn(struct track_conn *c, struct slot *s);
void emit_ready(struct track_conn *c);
void mark_not_http(struct track_conn *c, enum kw_dir dir, const char *why, uint64_t offset);
void give_up(struct track_conn *c, enum kw_dir dir, const char *why, uint64_t offset);
/* A hole in the server's stream made the response decoder lose its place;
 * `began_in_hole`: a response began inside it. */
void response_hole(struct track_conn *c, bool began_in_hole);

#endif

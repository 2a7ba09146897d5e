/* track-text.c: the text a transaction keeps from the wire (method, URI,
 * Host, User-Agent, the persistence headers, Content-Type, X-Forwarded-For,
 * Via, the reason phrase, Server), as bounded copies:
 * each field is cut at its cap and flagged. The fields live in one buffer
 * per slot, sized by what arrived: 8,000 connections of 32 pipelined
 * requests each cost what their requests hold, not 32 x 1.4 KB of fixed
 * buffers each (the earlier layout). The first TEXT_INLINE bytes are the
 * slot's own, so a short exchange allocates nothing. A field is contiguous; when a field
 * grows that is not the last in the buffer (a repeated header, RFC 7230
 * 3.2.2), it moves to the end, and the space it left is reclaimed when the
 * buffer is full, so a buffer never needs more than twice the caps' sum. */
#include "http/track-impl.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Bytes kept of each field; longer values are cut and flagged. */
const uint16_t track_text_caps[TF_COUNT] = {
    [TF_METHOD] = 24,          [TF_URI] = 512,           [TF_HOST] = 128,
    [TF_USER_AGENT] = 256,     [TF_REQ_CONNECTION] = 128, [TF_REQ_KEEP_ALIVE] = 64,
    [TF_REQ_CONTENT_TYPE] = 128, [TF_X_FORWARDED_FOR] = 256, [TF_VIA] = 256,
    [TF_STATUS_MSG] = 64,      [TF_RESP_CONNECTION] = 128, [TF_RESP_KEEP_ALIVE] = 64,
    [TF_SERVER] = 128,         [TF_RESP_CONTENT_TYPE] = 128,
};


const uint16_t track_text_offsets[TF_COUNT] = {
    offsetof(struct kw_txn, method),          offsetof(struct kw_txn, uri),
    offsetof(struct kw_txn, host),            offsetof(struct kw_txn, user_agent),
    offsetof(struct kw_txn, req_connection),  offsetof(struct kw_txn, req_keep_alive),
    offsetof(struct kw_txn, req_content_type), offsetof(struct kw_txn, x_forwarded_for),
    offsetof(struct kw_txn, via),             offsetof(struct kw_txn, status_msg),
    offsetof(struct kw_txn, resp_connection), offsetof(struct kw_txn, resp_keep_alive),
    offsetof(struct kw_txn, server),          offsetof(struct kw_txn, resp_content_type),
};

/* The fields moved to the front in the order they lie, without the space
 * fields that moved left behind. At most TF_COUNT fields: no allocation. */
static void compact(struct slot *s)
{
    struct slot_text *x = &s->text;
    int order[TF_COUNT], n = 0;
    for (int f = 0; f < TF_COUNT; f++) {
        if (!text_of(s, (enum text_field)f)->len)
            continue;
        int i = n++;
        for (; i > 0 && x->off[order[i - 1]] > x->off[f]; i--)
            order[i] = order[i - 1];
        order[i] = f;
    }
    uint16_t at = 0;
    for (int i = 0; i < n; i++) {
        uint16_t len = text_of(s, (enum text_field)order[i])->len;
        if (x->off[order[i]] != at)
            memmove(x->buf + at, x->buf + x->off[order[i]], len);
        x->off[order[i]] = at;
        at = (uint16_t)(at + len);
    }
    x->len = at;
}

void text_init(struct slot *s)
{
    s->text.buf = s->text.small;
    s->text.cap = TEXT_INLINE;
    s->text.len = 0;
    s->text.fields = 0;
}

void text_moved(struct slot *s)
{
    if (s->text.cap == TEXT_INLINE)
        s->text.buf = s->text.small;
}

static bool grow(struct slot_text *x, size_t need)
{
    size_t cap = (size_t)x->cap * 2;
    if (cap < need)
        cap = need;
    if (cap > UINT16_MAX)
        cap = UINT16_MAX;
    if (cap < need)
        return false;
    bool own = x->buf == x->small;
    uint8_t *b = realloc(own ? NULL : x->buf, cap);
    if (!b)
        return false;
    if (own)
        memcpy(b, x->small, x->len);
    x->buf = b;
    x->cap = (uint16_t)cap;
    return true;
}

/* Makes field f the last in the buffer, with room for n more bytes after it. */
static bool room_at_end(struct slot *s, enum text_field f, size_t n)
{
    struct slot_text *x = &s->text;
    uint16_t len = text_of(s, f)->len;
    bool last = len && x->off[f] + len == x->len;
    size_t need = (size_t)x->len + (last ? 0 : len) + n;
    if (need > x->cap) {
        compact(s);
        last = len && x->off[f] + len == x->len;
        need = (size_t)x->len + (last ? 0 : len) + n;
        if (need > x->cap && !grow(x, need))
            return false;
    }
    if (!last) {
        if (len)
            memcpy(x->buf + x->len, x->buf + x->off[f], len); /* the old copy is left dead */
        x->off[f] = x->len;
        x->len = (uint16_t)(x->len + len);
    }
    return true;
}

void text_add_slow(struct slot *s, enum text_field f, struct kw_slice piece, unsigned flags)
{
    struct kw_text *t = text_of(s, f);
    if ((flags & KW_TEXT_START) && t->present && piece.len) {
        /* a repeated header: keep both values, as a list (RFC 7230 3.2.2) */
        static const uint8_t sep[] = ", ";
        text_add_slow(s, f, kw_slice_make(sep, 2), 0);
    }
    t->present = true;
    size_t room = track_text_caps[f] - t->len;
    size_t n = piece.len < room ? piece.len : room;
    if (n < piece.len)
        t->truncated = true;
    if (!n)
        return;
    if (!room_at_end(s, f, n)) {
        t->truncated = true; /* out of memory: kept as cut */
        return;
    }
    memcpy(s->text.buf + s->text.off[f] + t->len, piece.p, n);
    t->len = (uint16_t)(t->len + n);
    s->text.len = (uint16_t)(s->text.off[f] + t->len);
    s->text.fields |= (uint16_t)(1u << f);
}

void text_trim(struct slot *s, enum text_field first, enum text_field last)
{
    unsigned todo = s->text.fields & ((2u << last) - (1u << first));
    while (todo) {
        int f = __builtin_ctz(todo);
        todo &= todo - 1;
        struct kw_text *t = text_of(s, (enum text_field)f);
        const uint8_t *b = s->text.buf + s->text.off[f];
        while (t->len && (b[t->len - 1] == ' ' || b[t->len - 1] == '\t'))
            t->len--;
    }
}

void text_clear(struct slot *s, enum text_field f)
{
    struct kw_text *t = text_of(s, f);
    t->len = 0;
    t->present = t->truncated = false;
    s->text.fields &= (uint16_t)~(1u << f);
}

void text_aim(struct slot *s)
{
    for (int f = 0; f < TF_COUNT; f++)
        text_of(s, (enum text_field)f)->p = s->text.buf + s->text.off[f];
}

void text_free(struct slot *s)
{
    if (s->text.buf != s->text.small)
        free(s->text.buf);
    text_init(s);
}

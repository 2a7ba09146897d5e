/* fuzz_http.c: libFuzzer target for the HTTP/1.x decoder, both directions.
 * The first two input bytes pick the direction, a cut, how responses are
 * answered (to HEAD, CONNECT, HTTP/0.9), whether the stream was picked up
 * mid-stream and where a hole in the capture lies; the rest is fed three
 * times, then the connection closes: whole, cut in two, and one byte at a
 * time (every section of a message then resumes at every byte). Beside crashes, over-reads (AddressSanitizer) and
 * undefined behaviour (UBSan), it is a bug when the runs' events differ
 * (the same bytes must give the same result however TCP cut them), or when
 * decoding fails without a reason.
 *   fuzz/run.sh   (clang -fsanitize=fuzzer,address,undefined) */
#include <stdlib.h>
#include <string.h>

#include "http/dec-impl.h"

/* The events as one running hash; text pieces hash as the bytes they add up to. */
struct digest {
    uint64_t h;
    unsigned mode;
    int text_field; /* the field whose pieces are being hashed, or -1 */
};

static void mix(struct digest *g, uint64_t v)
{
    g->h = (g->h ^ v) * 0x100000001b3ull;
}

static void mark_event(struct digest *g, uint64_t kind)
{
    g->text_field = -1;
    mix(g, 0xfeedull << 32 | kind);
}

static struct kw_http_dec *g_dec; /* the decoder being fed, for on_begin */

static void on_begin(void *ctx, enum kw_dir dir, kw_usec ts)
{
    struct digest *g = ctx;
    mark_event(g, 1 + (uint64_t)dir);
    mix(g, (uint64_t)ts);
    if (dir == KW_TO_CLIENT && (g->mode & 8))
        kw_http_dec_answers_http09(g_dec); /* as if it answered an HTTP/0.9 request */
}

static void on_discard(void *ctx, enum kw_dir dir)
{
    mark_event(ctx, 6 + (uint64_t)dir);
}

static void on_text(void *ctx, enum kw_dir dir, enum kw_http_field f, struct kw_slice piece,
                    unsigned flags)
{
    struct digest *g = ctx;
    (void)dir;
    if ((unsigned)f >= KW_FIELD_COUNT)
        abort();
    if ((flags & KW_TEXT_START) || g->text_field != (int)f) {
        mark_event(g, 16 + (uint64_t)f);
        g->text_field = (int)f;
    }
    for (size_t i = 0; i < piece.len; i++) /* every byte read: an over-read shows */
        mix(g, piece.p[i]);
}

static enum kw_http_body on_head(void *ctx, enum kw_dir dir, kw_usec ts,
                                 const struct kw_http_head *h)
{
    (void)ts;
    struct digest *g = ctx;
    if (h->version != 9 && h->version != 10 && h->version < 11)
        abort(); /* a head is only delivered for HTTP/1.x, or HTTP/0.9 */
    if (h->has_status != (dir == KW_TO_CLIENT && h->version != 9))
        abort(); /* a status is read on every response but an HTTP/0.9 one */
    mark_event(g, 3);
    mix(g, (uint64_t)h->version << 48 | (uint64_t)h->status << 32 | (uint64_t)h->conn_tokens << 24 |
               (uint64_t)h->anomalies << 16 | (uint64_t)h->method << 8 | h->chunked);
    mix(g, h->msg_anomalies);
    mix(g, (uint64_t)h->ka_timeout ^ (uint64_t)h->ka_max << 20 ^ h->content_length << 1);
    if (dir == KW_TO_CLIENT && (g->mode & 2))
        return KW_BODY_NONE; /* as if it answered a HEAD */
    if (dir == KW_TO_CLIENT && (g->mode & 4) && h->status == 200)
        return KW_BODY_TUNNEL; /* as if it answered a CONNECT */
    return KW_BODY_FRAMED;
}

static void on_end(void *ctx, enum kw_dir dir, kw_usec ts, const struct kw_http_end *e)
{
    (void)dir, (void)ts;
    if ((unsigned)e->framing > KW_FRAMING_CLOSE || (unsigned)e->how > KW_END_HOLE_CUT)
        abort();
    if (!e->head_seen && (e->how == KW_END_SEEN || e->how == KW_END_IN_HOLE || e->framing))
        abort(); /* a message ends, framed, only after its head */
    mark_event(ctx, 4);
    mix(ctx, (uint64_t)e->framing << 56 ^ (uint64_t)e->how << 48 ^ e->body_len);
    mix(ctx, e->msg_anomalies);
}

/* Feeds data[0, size) in pieces of `step` bytes (0: cut once, at `cut`).
 * Mode bit 16: the stream was picked up after it began (seek); bit 32: the
 * bytes [hole, hole + hole_len) are a hole in the capture instead. */
static uint64_t run(unsigned mode, const uint8_t *data, size_t size, size_t cut, size_t step,
                    size_t hole, size_t hole_len)
{
    struct digest g = { 1469598103934665603ull, mode, -1 };
    struct kw_http_dec d;
    struct kw_http_sink sink = { &g, on_begin, on_text, on_head, on_end, on_discard };
    g_dec = &d;
    kw_http_dec_init(&d, (mode & 1) ? KW_TO_CLIENT : KW_TO_SERVER, 256, &sink);
    if (mode & 16)
        kw_http_dec_seek(&d);
    bool ok = true;
    size_t at = 0;
    while (at < size) {
        if (hole_len && at == hole) {
            mark_event(&g, 8);
            mix(&g, (uint64_t)kw_http_dec_gap(&d, 2, hole_len));
            at += hole_len;
            continue;
        }
        size_t end = step ? at + step : at < cut ? cut : size;
        if (end > size)
            end = size;
        if (hole_len && at < hole && end > hole)
            end = hole;
        ok = kw_http_dec_feed(&d, 1, kw_slice_make(data + at, end - at)) && ok;
        at = end;
    }
    if (d.offset != size)
        abort(); /* every byte is consumed, decoded or not, or counted in a hole */
    if (!ok && kw_http_dec_error(&d) == KW_HTTP_E_NONE && !kw_http_dec_tunnel(&d))
        abort(); /* failed without saying why */
    if (kw_http_dec_skipped(&d) > size)
        abort();
    mark_event(&g, 5);
    mix(&g, (uint64_t)kw_http_dec_error(&d) << 56 ^ kw_http_dec_error_offset(&d));
    mix(&g, kw_http_dec_close(&d, 3));
    mix(&g, kw_http_dec_skipped(&d));
    return g.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned mode = data[0] | (unsigned)data[1] << 8;
    data += 2;
    size -= 2;
    /* a copy of exactly the input's size, so that an over-read past it shows */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    size_t cut = size ? (mode >> 8) % (size + 1) : 0;
    size_t hole = 0, hole_len = 0;
    if ((mode & 32) && size > 2) {
        hole = 1 + (mode >> 6) % (size - 2);
        hole_len = 1 + (mode >> 10) % (size - hole - 1);
        if (cut > hole && cut < hole + hole_len)
            cut = hole;
    }
    uint64_t whole = run(mode, copy, size, size, 0, hole, hole_len);
    if (whole != run(mode, copy, size, cut, 0, hole, hole_len) ||
        whole != run(mode, copy, size, 0, 1, hole, hole_len))
        abort(); /* the cuts changed what was decoded */
    free(copy);
    return 0;
}

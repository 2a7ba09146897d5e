/* fuzz_http.c: libFuzzer target for the HTTP/1.x decoder, both directions.
 * The first input byte picks the direction, a cut and how responses are
 * answered; the rest is fed three times, then the connection closes: whole,
 * cut in two, and one byte at a time (every section of a message then
 * resumes at every byte). Beside crashes, over-reads (AddressSanitizer) and
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

static void on_begin(void *ctx, enum kw_dir dir, kw_usec ts)
{
    (void)ts;
    mark_event(ctx, 1 + (uint64_t)dir);
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
    if (h->version != 10 && h->version < 11)
        abort(); /* a head is only delivered for HTTP/1.x */
    mark_event(g, 3);
    mix(g, (uint64_t)h->version << 48 | (uint64_t)h->status << 32 | (uint64_t)h->conn_tokens << 24 |
               (uint64_t)h->anomalies << 16 | (uint64_t)h->method << 8 | h->chunked);
    mix(g, (uint64_t)h->ka_timeout ^ (uint64_t)h->ka_max << 20 ^ h->content_length << 1);
    if (dir == KW_TO_CLIENT && (g->mode & 2))
        return KW_BODY_NONE; /* as if it answered a HEAD */
    if (dir == KW_TO_CLIENT && (g->mode & 4) && h->status == 200)
        return KW_BODY_TUNNEL; /* as if it answered a CONNECT */
    return KW_BODY_FRAMED;
}

static void on_end(void *ctx, enum kw_dir dir, kw_usec ts, enum kw_framing framing,
                   uint64_t body_len)
{
    (void)dir, (void)ts;
    if ((unsigned)framing > KW_FRAMING_CLOSE)
        abort();
    mark_event(ctx, 4);
    mix(ctx, (uint64_t)framing << 56 ^ body_len);
}

/* Feeds data[0, size) in pieces of `step` bytes (0: cut once, at `cut`). */
static uint64_t run(unsigned mode, const uint8_t *data, size_t size, size_t cut, size_t step)
{
    struct digest g = { 1469598103934665603ull, mode, -1 };
    struct kw_http_dec d;
    struct kw_http_sink sink = { &g, on_begin, on_text, on_head, on_end };
    kw_http_dec_init(&d, (mode & 1) ? KW_TO_CLIENT : KW_TO_SERVER, 256, &sink);
    bool ok = true;
    if (step) {
        for (size_t at = 0; at < size; at += step) {
            size_t n = size - at < step ? size - at : step;
            ok = kw_http_dec_feed(&d, 1, kw_slice_make(data + at, n)) && ok;
        }
    } else {
        ok = kw_http_dec_feed(&d, 1, kw_slice_make(data, cut));
        ok = kw_http_dec_feed(&d, 2, kw_slice_make(data + cut, size - cut)) && ok;
    }
    if (d.offset != size)
        abort(); /* every byte is consumed, decoded or not */
    if (!ok && kw_http_dec_error(&d) == KW_HTTP_E_NONE && !kw_http_dec_tunnel(&d))
        abort(); /* failed without saying why */
    mark_event(&g, 5);
    mix(&g, (uint64_t)kw_http_dec_error(&d) << 56 ^ kw_http_dec_error_offset(&d));
    mix(&g, kw_http_dec_close(&d, 3));
    return g.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    data++;
    size--;
    /* a copy of exactly the input's size, so that an over-read past it shows */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    size_t cut = size ? (mode >> 3) % (size + 1) : 0;
    uint64_t whole = run(mode, copy, size, size, 0);
    if (whole != run(mode, copy, size, cut, 0) || whole != run(mode, copy, size, 0, 1))
        abort(); /* the cuts changed what was decoded */
    free(copy);
    return 0;
}

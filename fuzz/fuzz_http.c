/* fuzz_http.c: libFuzzer target for the HTTP/1.x decoder, both directions.
 * The first input byte picks the direction and a cut; the rest is fed in two
 * chunks, then the connection closes. Any crash, over-read (AddressSanitizer)
 * or undefined behaviour (UBSan) is a bug; so is a failure without a reason.
 *   make fuzz/fuzz_http CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined"
 *   fuzz/fuzz_http -max_total_time=300 fuzz/corpus/http */
#include <stdlib.h>

#include "http/dec-impl.h"

static void on_begin(void *ctx, enum kw_dir dir, kw_usec ts)
{
    (void)ctx, (void)dir, (void)ts;
}

static void on_text(void *ctx, enum kw_dir dir, enum kw_http_field f, struct kw_slice piece,
                    unsigned flags)
{
    (void)ctx, (void)dir, (void)flags;
    if ((unsigned)f >= KW_FIELD_COUNT)
        abort();
    volatile uint8_t sum = 0; /* touch every byte: an over-read shows */
    for (size_t i = 0; i < piece.len; i++)
        sum ^= piece.p[i];
}

static enum kw_http_body on_head(void *ctx, enum kw_dir dir, kw_usec ts,
                                 const struct kw_http_head *h)
{
    (void)ts;
    unsigned *mode = ctx;
    if (h->version != 10 && h->version < 11)
        abort(); /* a head is only delivered for HTTP/1.x */
    if (dir == KW_TO_CLIENT && (*mode & 2))
        return KW_BODY_NONE; /* as if it answered a HEAD */
    if (dir == KW_TO_CLIENT && (*mode & 4) && h->status == 200)
        return KW_BODY_TUNNEL; /* as if it answered a CONNECT */
    return KW_BODY_FRAMED;
}

static void on_end(void *ctx, enum kw_dir dir, kw_usec ts, enum kw_framing framing,
                   uint64_t body_len)
{
    (void)ctx, (void)dir, (void)ts, (void)body_len;
    if ((unsigned)framing > KW_FRAMING_CLOSE)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    data++;
    size--;
    struct kw_http_dec d;
    struct kw_http_sink sink = { &mode, on_begin, on_text, on_head, on_end };
    kw_http_dec_init(&d, (mode & 1) ? KW_TO_CLIENT : KW_TO_SERVER, 1024, &sink);
    size_t cut = size ? (mode >> 3) % (size + 1) : 0;
    bool ok = kw_http_dec_feed(&d, 1, kw_slice_make(data, cut));
    ok = kw_http_dec_feed(&d, 2, kw_slice_make(data + cut, size - cut)) && ok;
    if (!ok && kw_http_dec_error(&d) == KW_HTTP_E_NONE && !kw_http_dec_tunnel(&d))
        abort(); /* failed without saying why */
    kw_http_dec_close(&d, 3);
    return 0;
}

/* decompress.c: gzip (zlib), zstd (libzstd) and lz4 frames (liblz4) behind
 * one step function each, for the reading stream of capture/input.c. Every
 * format may hold several streams one after the other (gzip members, zstd and
 * lz4 frames), as their tools write when files are concatenated; all are read. */
#include "capture/decompress.h"

#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* --- gzip (RFC 1952) ------------------------------------------------------------ */

#define GZIP_WINDOW_BITS (15 + 16) /* the largest window, gzip framing only (zlib.h) */

static void *gzip_start(void)
{
    z_stream *z = calloc(1, sizeof(*z));
    if (z && inflateInit2(z, GZIP_WINDOW_BITS) != Z_OK) {
        free(z);
        return NULL;
    }
    return z;
}

static enum codec_res gzip_step(void *state, struct kw_slice *in, uint8_t *out, size_t out_len,
                                size_t *produced, const char **why)
{
    z_stream *z = state;
    /* zlib counts in uInt: one call takes at most that much either way */
    uInt in_len = in->len > UINT32_MAX ? UINT32_MAX : (uInt)in->len;
    uInt room = out_len > UINT32_MAX ? UINT32_MAX : (uInt)out_len;
    z->next_in = (Bytef *)(uintptr_t)in->p;
    z->avail_in = in_len;
    z->next_out = out;
    z->avail_out = room;
    int rc = inflate(z, Z_NO_FLUSH);
    size_t used = in_len - z->avail_in;
    *produced = room - z->avail_out;
    in->p += used;
    in->len -= used;
    switch (rc) {
    case Z_OK:
    case Z_BUF_ERROR: /* no progress possible: more input or room needed */
        return CODEC_OK;
    case Z_STREAM_END: /* one member: another may follow (RFC 1952 2.2) */
        inflateReset(z);
        return CODEC_END;
    default:
        *why = z->msg ? z->msg : "invalid data";
        return CODEC_BAD;
    }
}

static void gzip_stop(void *state)
{
    if (state)
        inflateEnd(state);
    free(state);
}

/* --- zstd (RFC 8878) --------------------------------------------------------------- */

static void *zstd_start(void)
{
    return ZSTD_createDStream();
}

static enum codec_res zstd_step(void *state, struct kw_slice *in, uint8_t *out, size_t out_len,
                                size_t *produced, const char **why)
{
    ZSTD_inBuffer src = { in->p, in->len, 0 };
    ZSTD_outBuffer dst = { out, out_len, 0 };
    size_t rc = ZSTD_decompressStream(state, &dst, &src);
    in->p += src.pos;
    in->len -= src.pos;
    *produced = dst.pos;
    if (ZSTD_isError(rc)) {
        *why = ZSTD_getErrorName(rc);
        return CODEC_BAD;
    }
    return rc == 0 ? CODEC_END : CODEC_OK; /* 0: a frame decoded and flushed */
}

static void zstd_stop(void *state)
{
    ZSTD_freeDStream(state);
}

/* --- lz4 frames ------------------------------------------------------------------- */

static void *lz4_start(void)
{
    LZ4F_dctx *d = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
        return NULL;
    return d;
}

static enum codec_res lz4_step(void *state, struct kw_slice *in, uint8_t *out, size_t out_len,
                               size_t *produced, const char **why)
{
    size_t dst_len = out_len, src_len = in->len;
    size_t rc = LZ4F_decompress(state, out, &dst_len, in->p, &src_len, NULL);
    in->p += src_len;
    in->len -= src_len;
    *produced = dst_len;
    if (LZ4F_isError(rc)) {
        *why = LZ4F_getErrorName(rc);
        return CODEC_BAD;
    }
    return rc == 0 ? CODEC_END : CODEC_OK; /* 0: the frame is whole; the next may start */
}

static void lz4_stop(void *state)
{
    LZ4F_freeDecompressionContext(state);
}

/* --- the table --------------------------------------------------------------------- */

static const struct codec codecs[] = {
    { "gzip", "a gzip", { 0x1f, 0x8b, 0x08 }, gzip_start, gzip_step, gzip_stop },
    { "zstd", "a zstd", { 0x28, 0xb5, 0x2f, 0xfd }, zstd_start, zstd_step, zstd_stop },
    { "lz4", "an lz4", { 0x04, 0x22, 0x4d, 0x18 }, lz4_start, lz4_step, lz4_stop },
};

const struct codec *codec_of(struct kw_slice head)
{
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        size_t n = codecs[i].magic[3] ? 4 : 3; /* gzip: ID1 ID2 and CM 8 (deflate) */
        if (head.len >= n && !memcmp(head.p, codecs[i].magic, n))
            return &codecs[i];
    }
    return NULL;
}

/* decompress.h: the compressed formats a capture file may come in (gzip,
 * zstd, lz4), one table, each told by its magic bytes. Internal to capture/. */
#ifndef KW_DECOMPRESS_H
#define KW_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/slice.h"

enum codec_res {
    CODEC_OK,  /* progress, or nothing to do until more input comes */
    CODEC_END, /* a stream (gzip member, zstd or lz4 frame) ended: the data may end here */
    CODEC_BAD, /* the compressed data cannot be right: *why says how */
};

struct codec {
    const char *name;     /* "gzip": as users call the format */
    const char *a_name;   /* "a gzip": with its article, for messages */
    uint8_t magic[4];     /* the first bytes of the format (RFC 1952 2.3.1, RFC 8878
                           * 3.1.1, the LZ4 frame format 2) */
    void *(*start)(void); /* a new state, NULL when out of memory */
    /* Decompresses from `in` (advanced past what was used) into out[0, out_len),
     * setting *produced. Another stream may follow a CODEC_END in `in`. */
    enum codec_res (*step)(void *state, struct kw_slice *in, uint8_t *out, size_t out_len,
                           size_t *produced, const char **why);
    void (*stop)(void *state);
};

/* The codec whose magic `head` starts with, or NULL. */
const struct codec *codec_of(struct kw_slice head);

#endif

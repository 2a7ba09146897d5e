/* dec-impl.h: the decoder's state, so the tracker can embed two decoders in
 * each connection record. Nothing outside http/ includes this file. */
#ifndef KW_HTTP_DEC_IMPL_H
#define KW_HTTP_DEC_IMPL_H

#include "http/dec.h"

#define KW_HTTP_TOKEN_MAX 24 /* longest header name or token we need to recognise */

struct kw_http_dec {
    const struct kw_http_sink *sink;
    struct kw_http_head head;
    uint64_t offset;       /* stream bytes consumed before the current chunk */
    uint64_t remaining;    /* body bytes left: Content-Length or current chunk */
    uint64_t body_len;     /* body bytes of the current message */
    uint64_t num;          /* number being read: Content-Length element, chunk size, Keep-Alive value */
    uint64_t error_offset;
    uint64_t section_start; /* stream offset where the head or the trailers began */
    uint32_t head_max;
    uint32_t line_bytes;   /* chunk-size line so far */
    uint8_t dir;
    uint8_t state;
    uint8_t error;
    uint8_t framing;
    uint8_t header;        /* which header's value is being read */
    int8_t field;          /* the text field it is delivered as, or -1 */
    uint8_t vstate;        /* state within that value */
    uint8_t match;         /* index into "HTTP/" or digits of the status */
    uint8_t num_digits;
    uint8_t empty_lines;
    uint8_t tok_len;
    bool in_message;
    bool text_started;     /* a piece of the current field was delivered */
    bool cl_seen;
    bool te_last_chunked;
    char tok[KW_HTTP_TOKEN_MAX];
};

#endif

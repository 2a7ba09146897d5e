/* dec-impl.h: the decoder's state, so that a decoder can be embedded rather
 * than allocated: the connection tracker (http/track.c) keeps two in each
 * connection record, and the decoder's unit tests (tests/check_http_dec.c)
 * and fuzz target (fuzz/fuzz_http.c) declare their own. Only those files and
 * the decoder itself (http/dec*.c) include it; only the decoder reads or
 * writes the fields, except `offset`, which the tracker reads to say where a
 * connection stopped being followed. */
#ifndef KW_HTTP_DEC_IMPL_H
#define KW_HTTP_DEC_IMPL_H

#include "http/dec.h"

#define KW_HTTP_TOKEN_MAX 24 /* longest header name or token we need to recognise */

struct kw_http_dec {
    const struct kw_http_sink *sink;
    struct kw_http_head head;
    uint64_t offset;          /* stream bytes consumed before the current chunk */
    uint64_t body_left;       /* body bytes still to come: of the Content-Length or the chunk */
    uint64_t body_len;        /* body bytes of the current message */
    uint64_t number;          /* number being read: Content-Length element, chunk size,
                                 Keep-Alive value */
    uint64_t error_offset;
    uint64_t section_start;   /* stream offset where the head or the trailers began */
    uint32_t head_max;        /* size cap of a head or of trailers, in bytes */
    uint32_t chunk_line_bytes; /* chunk-size line so far */
    uint8_t dir;              /* enum kw_dir: which grammar */
    uint8_t state;            /* where the decoder is (enum dec_state in http/dec-sections.h) */
    uint8_t error;            /* enum kw_http_error */
    uint8_t framing;          /* enum kw_framing of the current message */
    uint8_t header_id;        /* the header whose value is being read (enum dec_header) */
    int8_t value_field;       /* the text field that value is delivered as, or -1 */
    uint8_t value_state;      /* what is being read inside that value (enum dec_value_state) */
    uint8_t version_matched;  /* bytes of "HTTP/1.x" matched so far */
    uint8_t status_digits;    /* digits of the status code read so far */
    uint8_t number_digits;    /* digits of `number` read so far */
    uint8_t n_empty_lines;    /* empty lines since the last message */
    uint8_t token_len;        /* bytes of the token read, even past `token` */
    bool in_message;
    bool text_started;        /* a piece of the current text field was delivered */
    bool content_length_seen; /* a valid Content-Length element was read */
    bool te_final_chunked;    /* the last Transfer-Encoding token read was "chunked" */
    char token[KW_HTTP_TOKEN_MAX]; /* the token being read, lower-cased */
};

#endif

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

/* Flags of the decoder (kw_http_dec.flags). */
#define DEC_F_TENTATIVE 0x01   /* the request begun may still be withdrawn (seek) */
#define DEC_F_HTTP09_ANSWER 0x02 /* the response answers an HTTP/0.9 request */
#define DEC_F_JUNK 0x04        /* junk lines were skipped in this response */
#define DEC_F_PRI 0x08         /* the request's method is PRI (the HTTP/2 preface) */
#define DEC_F_CR 0x10          /* the last byte read in the status line was CR */
#define DEC_F_HEAD 0x20        /* on_head was called for the message being read */

struct kw_http_dec {
    const struct kw_http_sink *sink;
    struct kw_http_head head;
    uint64_t offset;          /* stream bytes consumed before the current chunk (and holes) */
    uint64_t skipped;         /* bytes skipped before messages: seek, junk */
    uint64_t seek_from;       /* stream offset from which bytes are being skipped */
    uint64_t line_start;      /* stream offset of the line being tried as a boundary */
    kw_usec line_ts;          /* capture time of that line's first byte */
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
    uint8_t flags;            /* DEC_F_* */
    uint8_t held;             /* bytes of " HTTP/d.d" held back at the end of a target */
    uint8_t held_digits[2];   /* the version's digits among them */
    uint32_t held_spaces;     /* SPs held back after them */
    char token[KW_HTTP_TOKEN_MAX]; /* the token being read, lower-cased */
};

#endif

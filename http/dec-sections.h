/* dec-sections.h: what the decoder's sections share (http/dec*.c only).
 *
 * kw_http_dec_feed() (dec.c) only dispatches: each section of a message is a
 * function that loads the state into a local once on entry, reads as far as
 * its section or the chunk goes, and leaves by exactly one of three doors:
 *   - the chunk ran out: it stores the state and delivers the text piece it
 *     was reading;
 *   - its section ended: the function that begins the next section stores
 *     the next state (and calls the sink: on_begin, on_head, on_end);
 *   - the bytes are not HTTP: dec_fail() stores S_FAILED; or, for a request
 *     begun while seeking a boundary, they are not a request after all:
 *     dec_discard() withdraws it and stores S_SEEK_LF.
 * The sink is therefore only called with the state stored, except on_text,
 * which must not call back into the decoder. */
#ifndef KW_HTTP_DEC_SECTIONS_H
#define KW_HTTP_DEC_SECTIONS_H

#include <string.h>

#include "common/bytes.h"
#include "http/dec-impl.h"

enum dec_state {
    /* start line (dec-start.c: requests, dec-status.c: responses) */
    S_START = 0,        /* before a message: empty lines are skipped */
    S_SNIFF,            /* bytes that are not HTTP: a TLS record header? */
    S_METHOD,
    S_TARGET_START,     /* SPs between the method and the target */
    S_URI,
    S_URI_VERSION,      /* " HTTP/d.d" after the target, held back until the line ends */
    S_REQ_LINE_LF,
    S_RESP_VERSION,
    S_STATUS,
    S_REASON,
    S_JUNK,             /* a line before the status line that is not one */
    /* seeking a message boundary after a pick-up or a hole (dec-seek.c) */
    S_SEEK_LF,          /* skipping to the end of a line */
    S_SEEK_LINE,        /* at a line start: is it a request or status line? */
    /* header section (dec-header.c) */
    S_HEADER_LINE_START,
    S_HEADER_NAME,
    S_VALUE_OWS,
    S_VALUE,
    S_VALUE_LF,
    S_HEAD_END_LF,
    /* bodies (dec-body.c) */
    S_BODY_LENGTH,      /* Content-Length bytes left */
    S_BODY_TO_CLOSE,    /* until the sender closes */
    S_CHUNK_SIZE,
    S_CHUNK_EXTENSION,
    S_CHUNK_SIZE_LF,
    S_CHUNK_DATA,
    S_CHUNK_DATA_CR,
    S_CHUNK_DATA_LF,
    S_TRAILER_START,
    S_TRAILER_LINE,
    S_TRAILER_END_LF,
    /* the end: everything after is consumed and ignored */
    S_TUNNEL,           /* not HTTP any more, by agreement (101, CONNECT) or stopped */
    S_CLOSED,
    S_FAILED,           /* not HTTP: error and error_offset say why and where */
};

/* The headers whose values keepwatch reads or keeps. */
enum dec_header {
    HEADER_OTHER = 0,
    HEADER_CONNECTION,
    HEADER_PROXY_CONNECTION,
    HEADER_KEEP_ALIVE,
    HEADER_CONTENT_LENGTH,
    HEADER_TRANSFER_ENCODING,
    HEADER_HOST,
    HEADER_USER_AGENT,
    HEADER_SERVER,
    HEADER_UPGRADE,
    HEADER_EXPECT,
    HEADER_CONTENT_TYPE,
    HEADER_X_FORWARDED_FOR,
    HEADER_VIA,
};

/* What is being read inside a header value (dec-header.c). */
enum dec_value_state {
    VALUE_TOKEN = 0,    /* a token of a list: Connection, Transfer-Encoding, Expect */
    VALUE_PARAMETERS,   /* ";q=..." after a token, or a Keep-Alive parameter skipped */
    VALUE_NOT_TOKEN,    /* a list element that is no token ("chunked" quoted): to the comma */
    VALUE_CL_DIGITS,    /* a Content-Length element */
    VALUE_CL_AFTER,     /* after one: only OWS or a comma may follow */
    VALUE_KA_NAME,      /* a Keep-Alive parameter's name */
    VALUE_KA_NUMBER,    /* its value */
};

/* The chunk being fed, as every section sees it. */
struct dec_chunk {
    const uint8_t *base, *end; /* the chunk's bytes */
    uint64_t offset;           /* stream offset of `base` */
    kw_usec ts;
};

static inline uint64_t dec_offset(const struct dec_chunk *c, const uint8_t *p)
{
    return c->offset + (uint64_t)(p - c->base);
}

/* Text read in this chunk but not yet delivered: [from, to) of `field`, or
 * nothing when field < 0. */
struct dec_piece {
    int field;
    const uint8_t *from, *to;
};

#define DEC_NO_PIECE ((struct dec_piece){ -1, NULL, NULL })

/* The size cap applies to a start line with its header section, and to
 * trailers: no byte at or past section_start + head_max is read in them.
 * Returns where the cap falls in the chunk (its end when past it). A section
 * works this out once when it is entered and scans no further, so that a
 * section over the cap fails at the same byte, with the same text pieces
 * delivered, wherever TCP cut it. */
static inline const uint8_t *dec_limit_at(const struct dec_chunk *c, uint64_t cap_at)
{
    if (cap_at <= c->offset)
        return c->base;
    uint64_t room = cap_at - c->offset;
    return room < (uint64_t)(c->end - c->base) ? c->base + room : c->end;
}

static inline const uint8_t *dec_cap_limit(const struct kw_http_dec *d, const struct dec_chunk *c)
{
    return dec_limit_at(c, d->section_start + d->head_max);
}

/* Bytes a text protocol sends: printable ASCII, HTAB, CR, LF. */
static inline bool dec_is_text(uint8_t c)
{
    return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\r' || c == '\n';
}

static inline uint64_t dec_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline bool dec_token_is(const struct kw_http_dec *d, const char *lower, size_t len)
{
    return d->token_len == len && !memcmp(d->token, lower, len);
}

/* A token's bytes [p, q), lower-cased into the token buffer as far as it
 * goes; past it only counted (a token that long is none we know). */
static inline void dec_token_add_run(struct kw_http_dec *d, const uint8_t *p, const uint8_t *q)
{
    size_t n = (size_t)(q - p);
    if (d->token_len < KW_HTTP_TOKEN_MAX) {
        size_t room = KW_HTTP_TOKEN_MAX - d->token_len, k = n < room ? n : room;
        char *t = d->token + d->token_len;
        for (size_t i = 0; i < k; i++)
            t[i] = (char)kw_lower(p[i]);
    }
    size_t len = d->token_len + n;
    d->token_len = (uint8_t)(len < UINT8_MAX ? len : UINT8_MAX);
}

/* dec.c: shared by the sections */
void dec_reset_message(struct kw_http_dec *d);
void dec_emit(struct kw_http_dec *d, struct dec_piece piece);
void dec_fail(struct kw_http_dec *d, struct dec_piece unsent, enum kw_http_error error,
              uint64_t error_offset);
void dec_discard(struct kw_http_dec *d, struct dec_piece unsent);
void dec_message_end(struct kw_http_dec *d, kw_usec ts, enum kw_http_end_how how);
void dec_head_end(struct kw_http_dec *d, const struct dec_chunk *c, const uint8_t *p);
void dec_method_named(struct kw_http_dec *d); /* dec-start.c: head.method from the token */

/* The sections. Each takes the chunk and where to go on in it, and returns
 * how far it read: to the end of the chunk, or to where its section ended. */
const uint8_t *dec_between_messages(struct kw_http_dec *d, const struct dec_chunk *c,
                                    const uint8_t *p);                       /* dec-start.c */
const uint8_t *dec_sniff(struct kw_http_dec *d, const struct dec_chunk *c,
                         const uint8_t *p);                                  /* dec-start.c */
const uint8_t *dec_request_line(struct kw_http_dec *d, const struct dec_chunk *c,
                                const uint8_t *p);                           /* dec-start.c */
const uint8_t *dec_status_line(struct kw_http_dec *d, const struct dec_chunk *c,
                               const uint8_t *p);                            /* dec-status.c */
const uint8_t *dec_seek(struct kw_http_dec *d, const struct dec_chunk *c,
                        const uint8_t *p);                                   /* dec-seek.c */
const uint8_t *dec_header_section(struct kw_http_dec *d, const struct dec_chunk *c,
                                  const uint8_t *p);                         /* dec-header.c */
const uint8_t *dec_body_skip(struct kw_http_dec *d, const struct dec_chunk *c,
                             const uint8_t *p);                              /* dec-body.c */
const uint8_t *dec_chunked_body(struct kw_http_dec *d, const struct dec_chunk *c,
                                const uint8_t *p);                           /* dec-body.c */
const uint8_t *dec_trailers(struct kw_http_dec *d, const struct dec_chunk *c,
                            const uint8_t *p);                               /* dec-body.c */

#endif

/* dec-body.c: message bodies (RFC 7230 3.3 and 4.1). Their bytes are
 * counted in bulk, never looked at: a Content-Length body, a body that runs
 * to the close, and the data of each chunk. Only the chunked framing is read:
 * the chunk-size lines and the trailers after the last chunk, which fall
 * under the same size cap as a header section. */
#include "http/dec-sections.h"

#define CHUNK_LINE_MAX 4096 /* a chunk-size line with its extensions */
#define CHUNK_HEX_MAX 16    /* 64-bit chunk sizes at most */

/* Counts up to body_left bytes of the chunk; returns where it stopped. */
static const uint8_t *skip_counted(struct kw_http_dec *d, const uint8_t *p, const uint8_t *end)
{
    size_t left = (size_t)(end - p);
    size_t n = d->body_left < left ? (size_t)d->body_left : left;
    d->body_left -= n;
    d->body_len += n;
    return p + n;
}

/* A Content-Length body, or one that ends when the sender closes
 * (kw_http_dec_close, RFC 7230 3.3.3 rule 7). */
const uint8_t *dec_body_skip(struct kw_http_dec *d, const struct dec_chunk *c, const uint8_t *p)
{
    if (d->state == S_BODY_TO_CLOSE) {
        d->body_len += (uint64_t)(c->end - p);
        return c->end;
    }
    p = skip_counted(d, p, c->end);
    if (!d->body_left)
        dec_message_end(d, c->ts, KW_END_SEEN);
    return p;
}

/* One byte of a chunk-size line: hex digits, then extensions (";name=value",
 * skipped), then CRLF or a bare LF. Returns the next state, S_FAILED for a
 * line that is not one. */
static enum dec_state chunk_size_byte(struct kw_http_dec *d, enum dec_state st, uint8_t c)
{
    if (++d->chunk_line_bytes > CHUNK_LINE_MAX)
        return S_FAILED;
    if (c == '\n')
        d->head.msg_anomalies |= KW_MSG_BARE_LF; /* read again as the line's end */
    if (st == S_CHUNK_EXTENSION)
        return c == '\r' || c == '\n' ? S_CHUNK_SIZE_LF : st;
    int v = kw_hex_val(c);
    if (v >= 0) {
        if (++d->number_digits > CHUNK_HEX_MAX)
            return S_FAILED; /* the size would not fit in 64 bits */
        d->number = d->number << 4 | (uint64_t)v;
        return st;
    }
    if (!d->number_digits)
        return S_FAILED;
    if (c == ';' || c == ' ' || c == '\t')
        return S_CHUNK_EXTENSION;
    return c == '\r' || c == '\n' ? S_CHUNK_SIZE_LF : S_FAILED;
}

/* A chunk-size line ended at p (its LF): the chunk's data follows, or after
 * the last chunk (size 0), the trailers, under the cap from their first
 * byte. */
static enum dec_state chunk_size_end(struct kw_http_dec *d, const struct dec_chunk *c,
                                     const uint8_t *p)
{
    enum dec_state next = S_CHUNK_DATA;
    if (d->number) {
        d->body_left = d->number;
    } else {
        next = S_TRAILER_START;
        d->section_start = dec_offset(c, p) + 1;
    }
    d->number = 0;
    d->number_digits = 0;
    d->chunk_line_bytes = 0;
    return next;
}

/* Chunks up to the last one's size line (RFC 7230 4.1). */
const uint8_t *dec_chunked_body(struct kw_http_dec *d, const struct dec_chunk *c,
                                const uint8_t *p)
{
    enum dec_state st = d->state;
    while (p < c->end && st != S_TRAILER_START) {
        switch (st) {
        case S_CHUNK_DATA:
            p = skip_counted(d, p, c->end);
            if (!d->body_left)
                st = S_CHUNK_DATA_CR;
            break;
        case S_CHUNK_SIZE:
        case S_CHUNK_EXTENSION:
            if ((st = chunk_size_byte(d, st, *p)) == S_FAILED)
                goto fail;
            p += *p != '\n'; /* a bare LF is read again as the line's end */
            break;
        case S_CHUNK_SIZE_LF:
            if (*p != '\n')
                goto fail;
            st = chunk_size_end(d, c, p);
            p++;
            break;
        case S_CHUNK_DATA_CR: /* CRLF after the data, or a bare LF */
            st = S_CHUNK_DATA_LF;
            if (*p == '\n')
                d->head.msg_anomalies |= KW_MSG_BARE_LF;
            p += *p == '\r';
            break;
        case S_CHUNK_DATA_LF:
        default:
            if (*p != '\n')
                goto fail;
            st = S_CHUNK_SIZE;
            p++;
            break;
        }
    }
    d->state = st;
    return p;
fail:
    dec_fail(d, DEC_NO_PIECE, KW_HTTP_E_BAD_CHUNK, dec_offset(c, p));
    return c->end;
}

/* Trailer fields after the last chunk: skipped line by line, up to the empty
 * line that ends the message, within the size cap. */
const uint8_t *dec_trailers(struct kw_http_dec *d, const struct dec_chunk *c, const uint8_t *p)
{
    enum dec_state st = d->state;
    const uint8_t *const lim = dec_cap_limit(d, c);
    while (p < lim) {
        switch (st) {
        case S_TRAILER_START:
            if (*p == '\r' || *p == '\n') {
                st = S_TRAILER_END_LF;
                if (*p == '\n')
                    d->head.msg_anomalies |= KW_MSG_BARE_LF;
                p += *p == '\r'; /* a bare LF is read again as the end */
            } else {
                st = S_TRAILER_LINE;
            }
            break;
        case S_TRAILER_LINE: {
            const uint8_t *lf = memchr(p, '\n', (size_t)(lim - p));
            p = lf ? lf + 1 : lim;
            if (lf)
                st = S_TRAILER_START;
            break;
        }
        case S_TRAILER_END_LF:
        default:
            if (*p != '\n') {
                dec_fail(d, DEC_NO_PIECE, KW_HTTP_E_BAD_CHUNK, dec_offset(c, p));
                return c->end;
            }
            dec_message_end(d, c->ts, KW_END_SEEN);
            return p + 1;
        }
    }
    if (p < c->end) { /* stopped by the cap, not by the chunk's end */
        dec_fail(d, DEC_NO_PIECE, KW_HTTP_E_HEAD_TOO_BIG, d->section_start + d->head_max);
        return c->end;
    }
    d->state = st;
    return p;
}

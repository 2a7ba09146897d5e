/* dec.c: the HTTP/1.x decoder's public functions, the dispatch between the
 * sections of a message (RFC 7230 sections 3 and 4), and what happens
 * between them: a message begins and ends, its body is framed, or the bytes
 * turn out not to be HTTP.
 *
 * The sections, each resumable at any byte:
 *   dec-start.c   empty lines between messages, the request line, the names
 *                 of what is not HTTP
 *   dec-status.c  the status line, junk before it, HTTP/0.9 responses
 *   dec-seek.c    a message boundary after a pick-up or a hole
 *   dec-header.c  the header section and the values keepwatch reads
 *   dec-body.c    bodies: counted in bulk, or chunked with trailers
 * Holes in the capture (kw_http_dec_gap) are handled here: a body of known
 * length steps over them, anything else seeks the next boundary.
 * State survives chunk borders in a few bytes: a header name is matched by a
 * bounded lower-case copy of at most KW_HTTP_TOKEN_MAX bytes, numbers are
 * accumulated digit by digit, and text the caller keeps (URI, Host, ...) is
 * handed over as pieces. Bodies are counted, never looked at. */
#include "http/dec-sections.h"

static const char *const error_texts[] = {
#define KW_HTTP_ERR_TEXT(name, text) text,
    KW_HTTP_ERRORS(KW_HTTP_ERR_TEXT)
#undef KW_HTTP_ERR_TEXT
};

const char *kw_http_error_text(enum kw_http_error e)
{
    size_t n = sizeof(error_texts) / sizeof(error_texts[0]);
    return (size_t)e < n ? error_texts[e] : "unknown error";
}

void dec_reset_message(struct kw_http_dec *d)
{
    memset(&d->head, 0, sizeof(d->head));
    d->head.ka_timeout = d->head.ka_max = KW_KA_ABSENT;
    d->body_left = d->body_len = d->number = 0;
    d->framing = KW_FRAMING_NONE;
    d->header_id = HEADER_OTHER;
    d->value_field = -1;
    d->value_state = VALUE_TOKEN;
    d->version_matched = d->status_digits = d->number_digits = d->token_len = 0;
    d->in_message = d->text_started = d->content_length_seen = d->te_final_chunked = false;
    d->flags = 0;
    d->held = 0;
    d->held_spaces = 0;
    d->state = S_START;
}

void kw_http_dec_init(struct kw_http_dec *d, enum kw_dir dir, uint32_t head_max,
                      const struct kw_http_sink *sink)
{
    memset(d, 0, sizeof(*d));
    d->sink = sink;
    d->dir = (uint8_t)dir;
    d->head_max = head_max ? head_max : KW_HTTP_HEAD_MAX_DEFAULT;
    dec_reset_message(d);
}

enum kw_http_error kw_http_dec_error(const struct kw_http_dec *d)
{
    return (enum kw_http_error)d->error;
}

uint64_t kw_http_dec_error_offset(const struct kw_http_dec *d)
{
    return d->error_offset;
}

bool kw_http_dec_idle(const struct kw_http_dec *d)
{
    return d->state == S_START && !d->in_message;
}

bool kw_http_dec_tunnel(const struct kw_http_dec *d)
{
    return d->state == S_TUNNEL;
}

bool kw_http_dec_tentative(const struct kw_http_dec *d)
{
    return (d->flags & DEC_F_TENTATIVE) != 0;
}

void kw_http_dec_stop(struct kw_http_dec *d)
{
    if (d->state != S_FAILED)
        d->state = S_TUNNEL;
}

void kw_http_dec_answers_http09(struct kw_http_dec *d)
{
    d->flags |= DEC_F_HTTP09_ANSWER;
}

uint64_t kw_http_dec_skipped(const struct kw_http_dec *d)
{
    uint64_t n = d->skipped;
    if (d->state == S_SEEK_LF || d->state == S_SEEK_LINE)
        n = dec_add_sat(n, d->offset - d->seek_from);
    else if ((d->flags & DEC_F_JUNK) && !(d->flags & DEC_F_HEAD) && d->in_message)
        n = dec_add_sat(n, d->offset - d->section_start); /* junk still being skipped */
    return n;
}

/* --- between the sections --------------------------------------------- */

/* Delivers a piece of a text field; the first piece of an occurrence (even
 * an empty one: "Connection:" with no value) carries KW_TEXT_START. */
void dec_emit(struct kw_http_dec *d, struct dec_piece piece)
{
    if (piece.field < 0 || (piece.to == piece.from && d->text_started))
        return;
    unsigned flags = d->text_started ? 0 : KW_TEXT_START;
    d->text_started = true;
    d->sink->on_text(d->sink->ctx, (enum kw_dir)d->dir, (enum kw_http_field)piece.field,
                     kw_slice_make(piece.from, (size_t)(piece.to - piece.from)), flags);
}

/* The one way out when the bytes are not HTTP, from every section. The text
 * piece read so far is delivered first, as it would have been at the end of
 * the chunk, so the same bytes give the same pieces wherever TCP cut them.
 * The error is sticky: the decoder ignores everything after. */
void dec_fail(struct kw_http_dec *d, struct dec_piece unsent, enum kw_http_error error,
              uint64_t error_offset)
{
    if (unsent.to > unsent.from)
        dec_emit(d, unsent);
    d->state = S_FAILED;
    d->error = (uint8_t)error;
    d->error_offset = error_offset;
}

/* A request begun on a line that looked like a request line (seek) is
 * withdrawn: the line was not one. The text piece read so far is delivered
 * first, as dec_fail does, so that the same bytes give the same pieces
 * wherever TCP cut them; then the decoder seeks the next line. */
void dec_discard(struct kw_http_dec *d, struct dec_piece unsent)
{
    if (unsent.to > unsent.from)
        dec_emit(d, unsent);
    dec_reset_message(d);
    d->state = S_SEEK_LF;
    if (d->sink->on_discard)
        d->sink->on_discard(d->sink->ctx, (enum kw_dir)d->dir);
}

/* The message ended (or was cut, as `how` says): the decoder is between
 * messages before on_end is called, so the receiver may stop it from there. */
void dec_message_end(struct kw_http_dec *d, kw_usec ts, enum kw_http_end_how how)
{
    struct kw_http_end e = { how, (enum kw_framing)d->framing, d->body_len,
                             d->head.msg_anomalies, (d->flags & DEC_F_HEAD) != 0 };
    dec_reset_message(d);
    d->n_empty_lines = 0;
    d->sink->on_end(d->sink->ctx, (enum kw_dir)d->dir, ts, &e);
}

/* A head the receiver wants framed by its headers (RFC 7230 3.3.3): chunked,
 * then Content-Length, then none for a request and the close for a
 * response. A request whose body cannot be framed is not HTTP we can follow. */
static void frame_body(struct kw_http_dec *d, kw_usec ts, uint64_t offset)
{
    const struct kw_http_head *h = &d->head;
    bool request = d->dir == KW_TO_SERVER;
    if (h->chunked) {
        d->framing = KW_FRAMING_CHUNKED;
        d->state = S_CHUNK_SIZE;
        d->number = 0;
        d->number_digits = 0;
        d->chunk_line_bytes = 0;
        return;
    }
    bool bad_cl = h->has_content_length && (h->anomalies & (KW_ANOM_CL_INVALID | KW_ANOM_CL_DIFFERING));
    if (request && h->has_transfer_encoding) {
        dec_fail(d, DEC_NO_PIECE, KW_HTTP_E_BAD_TRANSFER_ENCODING, offset); /* rule 3 */
        return;
    }
    if (request && bad_cl) {
        dec_fail(d, DEC_NO_PIECE, KW_HTTP_E_BAD_CONTENT_LENGTH, offset); /* rule 4 */
        return;
    }
    if (h->has_content_length && !bad_cl && !h->has_transfer_encoding) {
        d->framing = KW_FRAMING_CONTENT_LENGTH;
        d->body_left = h->content_length;
        if (!d->body_left)
            dec_message_end(d, ts, KW_END_SEEN);
        else
            d->state = S_BODY_LENGTH;
        return;
    }
    if (request) { /* no framing headers: no body (rule 6) */
        d->framing = KW_FRAMING_NONE;
        dec_message_end(d, ts, KW_END_SEEN);
        return;
    }
    d->framing = KW_FRAMING_CLOSE; /* rule 7: read until the server closes */
    d->state = S_BODY_TO_CLOSE;
}

/* The header section ended just before `p`: the head goes to the receiver,
 * which says whether a body follows, then the body is framed. Every path
 * stores the next state after on_head returns: the receiver stops this
 * decoder through its answer, not through kw_http_dec_stop(). */
void dec_head_end(struct kw_http_dec *d, const struct dec_chunk *c, const uint8_t *p)
{
    struct kw_http_head *h = &d->head;
    uint64_t offset = dec_offset(c, p);
    h->head_bytes = (uint32_t)(offset - d->section_start);
    h->chunked = h->has_transfer_encoding && d->te_final_chunked;
    if (h->has_transfer_encoding) {
        if (h->has_content_length)
            h->anomalies |= KW_ANOM_CL_AND_TE;
        if (h->chunked && h->version < 11)
            h->anomalies |= KW_ANOM_CHUNKED_HTTP10;
        if (!h->chunked)
            h->anomalies |= KW_ANOM_TE_NOT_CHUNKED; /* only the final coding frames (3.3.1) */
    }
    bool request = d->dir == KW_TO_SERVER;
    bool interim = !request && h->status >= 100 && h->status < 200;
    bool no_body = !request && (interim || h->status == 204 || h->status == 304);
    if (!request && (h->status < 100 || h->status > 599))
        h->msg_anomalies |= KW_MSG_STATUS_OUT_OF_RANGE; /* RFC 7231 6: 1xx to 5xx */
    d->flags |= DEC_F_HEAD;

    enum kw_http_body body = d->sink->on_head(d->sink->ctx, (enum kw_dir)d->dir, c->ts, h);
    if (body == KW_BODY_TUNNEL) {
        d->framing = KW_FRAMING_NONE;
        dec_message_end(d, c->ts, KW_END_SEEN);
        d->state = S_TUNNEL;
    } else if (body == KW_BODY_NONE || no_body || h->version == 9) {
        /* RFC 7230 3.3.3 rules 1 and 2; an HTTP/0.9 request has no body (RFC 1945 4.1) */
        d->framing = KW_FRAMING_NONE;
        dec_message_end(d, c->ts, KW_END_SEEN);
    } else {
        frame_body(d, c->ts, offset);
    }
}

/* --- the public entry points ------------------------------------------- */

bool kw_http_dec_feed(struct kw_http_dec *d, kw_usec ts, struct kw_slice in)
{
    const struct dec_chunk c = { in.p, in.p + in.len, d->offset, ts };
    const uint8_t *p = in.p;
    while (p < c.end) {
        switch ((enum dec_state)d->state) {
        case S_START:
            p = dec_between_messages(d, &c, p);
            break;
        case S_SNIFF:
            p = dec_sniff(d, &c, p);
            break;
        case S_METHOD: case S_TARGET_START: case S_URI: case S_URI_VERSION: case S_REQ_LINE_LF:
            p = dec_request_line(d, &c, p);
            break;
        case S_RESP_VERSION: case S_STATUS: case S_REASON: case S_JUNK:
            p = dec_status_line(d, &c, p);
            break;
        case S_SEEK_LF: case S_SEEK_LINE:
            p = dec_seek(d, &c, p);
            break;
        case S_HEADER_LINE_START: case S_HEADER_NAME: case S_VALUE_OWS: case S_VALUE:
        case S_VALUE_LF: case S_HEAD_END_LF:
            p = dec_header_section(d, &c, p);
            break;
        case S_BODY_LENGTH: case S_BODY_TO_CLOSE:
            p = dec_body_skip(d, &c, p);
            break;
        case S_CHUNK_SIZE: case S_CHUNK_EXTENSION: case S_CHUNK_SIZE_LF: case S_CHUNK_DATA:
        case S_CHUNK_DATA_CR: case S_CHUNK_DATA_LF:
            p = dec_chunked_body(d, &c, p);
            break;
        case S_TRAILER_START: case S_TRAILER_LINE: case S_TRAILER_END_LF:
            p = dec_trailers(d, &c, p);
            break;
        case S_TUNNEL: case S_CLOSED: case S_FAILED:
        default:
            p = c.end;
            break;
        }
    }
    d->offset += in.len;
    return d->state != S_FAILED;
}

/* Junk before a status line that never came: skipped bytes. */
static void junk_cut(struct kw_http_dec *d, uint64_t at)
{
    if ((d->flags & DEC_F_JUNK) && !(d->flags & DEC_F_HEAD) && at > d->section_start)
        d->skipped = dec_add_sat(d->skipped, at - d->section_start);
}

bool kw_http_dec_close(struct kw_http_dec *d, kw_usec ts)
{
    bool cut = false;
    if (d->state == S_SNIFF) {
        dec_fail(d, DEC_NO_PIECE, KW_HTTP_E_BINARY, d->section_start);
    } else if (d->state == S_BODY_TO_CLOSE) {
        dec_message_end(d, ts, KW_END_SEEN); /* the close is the body's end (RFC 7230 3.3.3 rule 7) */
    } else if (d->state == S_SEEK_LF || d->state == S_SEEK_LINE) {
        d->skipped = dec_add_sat(d->skipped, d->offset - d->seek_from);
    } else if (d->state < S_TUNNEL && (d->flags & DEC_F_TENTATIVE)) {
        dec_discard(d, DEC_NO_PIECE);
        d->skipped = dec_add_sat(d->skipped, d->offset - d->seek_from);
    } else if (d->state < S_TUNNEL && d->in_message) {
        cut = true;
        junk_cut(d, d->offset);
        dec_message_end(d, ts, KW_END_CLOSED);
    }
    if (d->state != S_FAILED && d->state != S_TUNNEL)
        d->state = S_CLOSED;
    return cut;
}

/* Seeking from the next byte, as after a pick-up. */
static void seek_from_here(struct kw_http_dec *d)
{
    if (d->state >= S_TUNNEL)
        return; /* the receiver stopped it from on_end */
    dec_reset_message(d);
    d->state = S_SEEK_LINE;
    d->seek_from = d->offset;
}

void kw_http_dec_seek(struct kw_http_dec *d)
{
    seek_from_here(d);
}

/* A hole inside a body of known length: its bytes are body bytes. Returns
 * how many of the missing bytes lay past the body's end. */
static uint64_t hole_in_body(struct kw_http_dec *d, kw_usec ts, uint64_t missing)
{
    uint64_t in_body = missing < d->body_left ? missing : d->body_left;
    d->body_left -= in_body;
    d->body_len = dec_add_sat(d->body_len, in_body);
    if (d->body_left)
        return 0;
    if (d->state == S_CHUNK_DATA) {
        if (missing == in_body) {
            d->state = S_CHUNK_DATA_CR; /* the CRLF after the data comes next */
            return 0;
        }
        dec_message_end(d, ts, KW_END_HOLE_CUT); /* the chunk framing after it is lost */
    } else {
        dec_message_end(d, ts, KW_END_IN_HOLE); /* Content-Length: it ended in the hole */
    }
    return missing - in_body;
}

enum kw_http_gap kw_http_dec_gap(struct kw_http_dec *d, kw_usec ts, uint64_t missing)
{
    enum dec_state st = d->state;
    uint64_t at = d->offset; /* where the hole begins */
    d->offset = dec_add_sat(d->offset, missing); /* stream offsets count the hole */
    if (!missing || st >= S_TUNNEL)
        return st >= S_TUNNEL ? KW_GAP_IGNORED : KW_GAP_IN_STEP;
    switch (st) {
    case S_BODY_TO_CLOSE: /* runs to the close, however many bytes it has */
        d->body_len = dec_add_sat(d->body_len, missing);
        return KW_GAP_IN_STEP;
    case S_BODY_LENGTH:
    case S_CHUNK_DATA:
        if (!hole_in_body(d, ts, missing))
            return KW_GAP_IN_STEP; /* in the body still, or exactly at its end */
        seek_from_here(d);
        /* past a Content-Length body's end, the next message began in the hole */
        return st == S_BODY_LENGTH ? KW_GAP_MESSAGE_IN_HOLE : KW_GAP_RESYNC;
    case S_START:
        seek_from_here(d);
        return KW_GAP_MESSAGE_IN_HOLE; /* the next message began inside it */
    case S_SEEK_LF:
    case S_SEEK_LINE:
        d->skipped = dec_add_sat(d->skipped, at - d->seek_from);
        seek_from_here(d);
        return KW_GAP_RESYNC;
    case S_SNIFF:
        dec_fail(d, DEC_NO_PIECE, KW_HTTP_E_BINARY, d->section_start);
        return KW_GAP_IGNORED;
    default: /* a start line, a head, chunk framing, trailers: the message is cut */
        if (d->flags & DEC_F_TENTATIVE) {
            dec_discard(d, DEC_NO_PIECE);
            d->skipped = dec_add_sat(d->skipped, at - d->seek_from);
        } else {
            junk_cut(d, at);
            dec_message_end(d, ts, KW_END_HOLE_CUT);
        }
        seek_from_here(d);
        return KW_GAP_RESYNC;
    }
}

/* dec-status.c: the status line (RFC 7230 3.1.2), the lines a server may
 * send before it that are not one, and HTTP/0.9 responses, which have none.
 *
 * A response whose first bytes are not "HTTP/" is, in order: the body of an
 * HTTP/0.9 response when the request it answers was HTTP/0.9 (RFC 1945 6);
 * a TLS record or binary data when they are the stream's very first bytes;
 * else junk: lines are skipped, and counted, until one starts with "HTTP/",
 * within the size cap, and the response is decoded from there with the
 * junk recorded. After "HTTP/" the line must be a status line. */
#include "http/dec-sections.h"

#define TLS_HANDSHAKE 0x16

/* "HTTP/1.1 200", the common case, read at once when it lies whole before
 * `lim`. Returns the bytes read, or 0 to go byte by byte. */
static size_t status_at_once(struct kw_http_dec *d, const uint8_t *p, const uint8_t *lim)
{
    if (d->version_matched || (size_t)(lim - p) < 12 || memcmp(p, "HTTP/1.", 7) ||
        !kw_is_digit(p[7]) || p[8] != ' ' || !kw_is_digit(p[9]) || !kw_is_digit(p[10]) ||
        !kw_is_digit(p[11]))
        return 0;
    d->head.version = (uint8_t)(10 + (p[7] - '0'));
    d->head.status = (uint16_t)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
    d->head.has_status = true;
    d->status_digits = 3;
    d->version_matched = 9;
    return 12;
}

enum version_step { V_MORE, V_DONE, V_NOT_HTTP, V_BAD };

/* One byte of "HTTP/" DIGIT "." DIGIT SP. A mismatch in "HTTP/" says the
 * line is not a status line at all; after it, that the line is a bad one. */
static enum version_step version_byte(struct kw_http_dec *d, uint8_t c, enum kw_http_error *error)
{
    static const char proto[] = "HTTP/";
    uint8_t at = d->version_matched;
    bool ok;
    if (at < 5)
        ok = c == (uint8_t)proto[at];
    else if (at == 5)
        ok = c == '1'; /* HTTP/0.9 and HTTP/2 are not HTTP/1.x */
    else if (at == 6)
        ok = c == '.';
    else if (at == 7)
        ok = kw_is_digit(c);
    else
        ok = c == ' ';
    if (!ok) {
        *error = at == 5 ? KW_HTTP_E_BAD_VERSION : KW_HTTP_E_BAD_STATUS;
        return at < 5 ? V_NOT_HTTP : V_BAD;
    }
    if (at == 7)
        d->head.version = (uint8_t)(10 + (c - '0'));
    d->version_matched++;
    return at == 8 ? V_DONE : V_MORE;
}

/* Three digits, then SP (or CR, or a bare LF: no reason phrase). Any three
 * digits are kept as read, "000" too; dec_head_end flags those out of range.
 * The SP begins the reason phrase, delivered as text: empty at first, so
 * that "200 " CRLF has one ("") and "200" CRLF none. */
static enum dec_state status_byte(struct kw_http_dec *d, uint8_t c)
{
    if (d->status_digits < 3) {
        if (!kw_is_digit(c))
            return S_FAILED;
        d->head.status = (uint16_t)(d->head.status * 10 + (c - '0'));
        d->head.has_status = ++d->status_digits == 3;
        return S_STATUS;
    }
    d->flags &= (uint8_t)~DEC_F_CR;
    if (c == '\r')
        d->flags |= DEC_F_CR;
    if (c == ' ') {
        static const uint8_t none[1] = { 0 };
        d->text_started = false;
        dec_emit(d, (struct dec_piece){ KW_FIELD_REASON, none, none });
    }
    if (c == ' ' || c == '\r')
        return S_REASON;
    if (c != '\n')
        return S_FAILED;
    d->head.msg_anomalies |= KW_MSG_BARE_LF;
    return S_HEADER_LINE_START;
}

/* An HTTP/0.9 response: no status line, no headers; its bytes, those of
 * "HTTP/" matched before `p` included, are the body, up to the close. */
static void http09_response(struct kw_http_dec *d, const struct dec_chunk *c)
{
    struct kw_http_head *h = &d->head;
    uint64_t body = d->version_matched;
    h->version = 9;
    h->msg_anomalies |= KW_MSG_NO_STATUS_LINE;
    d->flags |= DEC_F_HEAD;
    if (d->sink->on_head(d->sink->ctx, (enum kw_dir)d->dir, c->ts, h) == KW_BODY_TUNNEL) {
        dec_message_end(d, c->ts, KW_END_SEEN);
        d->state = S_TUNNEL;
        return;
    }
    d->framing = KW_FRAMING_CLOSE;
    d->body_len = body;
    d->state = S_BODY_TO_CLOSE;
}

/* The line does not start with "HTTP/" (its byte at p says so): the next
 * state, with the line's first byte read again there. Returns S_START when
 * an HTTP/0.9 response began (the state is stored), S_FAILED with *error. */
static enum dec_state not_a_status_line(struct kw_http_dec *d, const struct dec_chunk *c,
                                        const uint8_t *p, enum kw_http_error *error)
{
    bool junk = d->flags & DEC_F_JUNK;
    if ((d->flags & DEC_F_HTTP09_ANSWER) && !junk) {
        http09_response(d, c);
        return S_START;
    }
    if (!junk && d->section_start == 0 && !d->version_matched && !dec_is_text(*p)) {
        /* the stream's first byte: it is no text protocol */
        if (*p == TLS_HANDSHAKE) {
            d->version_matched = 0;
            return S_SNIFF;
        }
        *error = KW_HTTP_E_BINARY;
        return S_FAILED;
    }
    if (!junk) {
        d->flags |= DEC_F_JUNK;
        d->head.msg_anomalies |= KW_MSG_JUNK_BEFORE_STATUS;
        d->line_start = d->section_start;
    }
    d->version_matched = 0;
    d->head.version = 0;
    return S_JUNK;
}

/* Where the size cap falls: junk may fill it from the message's start; a
 * line tried as the status line after junk has a cap of its own, from its
 * start, as the response will once "HTTP/" begins it. */
static uint64_t cap_at(const struct kw_http_dec *d, enum dec_state st)
{
    bool candidate = st == S_RESP_VERSION && (d->flags & DEC_F_JUNK);
    return (candidate ? d->line_start : d->section_start) + d->head_max;
}

/* "HTTP/" begins the line after junk: the junk is skipped bytes, and the
 * response starts at this line. */
static void after_junk(struct kw_http_dec *d)
{
    d->skipped = dec_add_sat(d->skipped, d->line_start - d->section_start);
    d->section_start = d->line_start;
}

/* A junk line, up to its LF; the next line is tried as a status line. */
static const uint8_t *junk_line(struct kw_http_dec *d, const struct dec_chunk *c,
                                const uint8_t *p, const uint8_t *lim, enum dec_state *st)
{
    const uint8_t *lf = memchr(p, '\n', (size_t)(lim - p));
    if (!lf)
        return lim;
    d->line_start = dec_offset(c, lf + 1);
    *st = S_RESP_VERSION;
    return lf + 1;
}

/* The reason phrase, up to the line's end: nothing in it is read, it is
 * delivered as text. A CR that ends a chunk is held back (DEC_F_CR) until
 * the next byte says whether it ends the line or is in the phrase, so that
 * the text is the same wherever TCP cut the line. */
static const uint8_t *reason(struct kw_http_dec *d, const uint8_t *p, const uint8_t *lim,
                             enum dec_state *st)
{
    static const uint8_t cr[1] = { '\r' };
    const uint8_t *lf = memchr(p, '\n', (size_t)(lim - p));
    if ((d->flags & DEC_F_CR) && *p != '\n') /* the CR held back was in the phrase */
        dec_emit(d, (struct dec_piece){ KW_FIELD_REASON, cr, cr + 1 });
    const uint8_t *end = lf ? lf : lim, *stop = end > p && end[-1] == '\r' ? end - 1 : end;
    if (stop > p) /* an empty piece would make "200" CR, with no SP, have a phrase */
        dec_emit(d, (struct dec_piece){ KW_FIELD_REASON, p, stop });
    if (!lf) {
        d->flags &= (uint8_t)~DEC_F_CR;
        if (lim[-1] == '\r')
            d->flags |= DEC_F_CR;
        return lim;
    }
    if (!(lf > p ? lf[-1] == '\r' : (d->flags & DEC_F_CR) != 0))
        d->head.msg_anomalies |= KW_MSG_BARE_LF;
    *st = S_HEADER_LINE_START;
    return lf + 1;
}

/* The status line, from its first byte or where the previous chunk left it,
 * with the junk before it. */
const uint8_t *dec_status_line(struct kw_http_dec *d, const struct dec_chunk *c, const uint8_t *p)
{
    enum dec_state st = d->state;
    const uint8_t *lim = dec_limit_at(c, cap_at(d, st));
    enum kw_http_error error = KW_HTTP_E_BAD_STATUS;
    while (p < lim && st != S_HEADER_LINE_START) {
        switch (st) {
        case S_RESP_VERSION: {
            size_t n = status_at_once(d, p, lim);
            enum version_step v = n ? V_DONE : version_byte(d, *p, &error);
            if (v == V_NOT_HTTP) {
                d->state = st;
                if ((st = not_a_status_line(d, c, p, &error)) == S_FAILED)
                    goto fail;
                if (st == S_START)
                    return p; /* an HTTP/0.9 response: its body from here */
                if (st == S_SNIFF) {
                    d->state = st;
                    return p;
                }
                lim = dec_limit_at(c, cap_at(d, st)); /* junk: the message's cap */
                break;
            }
            if (v == V_BAD)
                goto fail;
            p += n ? n : 1;
            if ((d->flags & DEC_F_JUNK) && d->section_start != d->line_start &&
                d->version_matched >= 5)
                after_junk(d);
            if (v == V_DONE)
                st = S_STATUS;
            break;
        }
        case S_STATUS:
            if ((st = status_byte(d, *p)) == S_FAILED)
                goto fail;
            p++;
            break;
        case S_JUNK:
            p = junk_line(d, c, p, lim, &st);
            if (st == S_RESP_VERSION)
                lim = dec_limit_at(c, cap_at(d, st)); /* the next line's own cap */
            break;
        case S_REASON:
        default:
            p = reason(d, p, lim, &st);
            break;
        }
    }
    if (st != S_HEADER_LINE_START && p < c->end) { /* stopped by the cap, not by the chunk's end */
        dec_fail(d, DEC_NO_PIECE, st == S_JUNK ? KW_HTTP_E_NO_STATUS_LINE : KW_HTTP_E_HEAD_TOO_BIG,
                 cap_at(d, st));
        return c->end;
    }
    d->state = st;
    return p;
fail:
    dec_fail(d, DEC_NO_PIECE, error, dec_offset(c, p));
    return c->end;
}

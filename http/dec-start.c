/* dec-start.c: the start line of a message (RFC 7230 3.1), and the empty
 * lines a sender may put before it (3.5). The line is read until its LF;
 * then the header section begins (dec-header.c). The size cap counts from the
 * line's first byte and covers the header section too. */
#include "http/dec-sections.h"

#define EMPTY_LINES_MAX 8 /* CRLFs tolerated between messages (RFC 7230 3.5) */

/* Empty lines are skipped and counted; at the first other byte a message
 * begins. on_begin is called with the first state of the start line stored,
 * so that the receiver may stop the decoder there (too many requests in
 * flight): the rest is then consumed and ignored. */
const uint8_t *dec_between_messages(struct kw_http_dec *d, const struct dec_chunk *c,
                                    const uint8_t *p)
{
    uint8_t n_empty = d->n_empty_lines;
    for (; p < c->end; p++) {
        if (*p == '\n' && ++n_empty > EMPTY_LINES_MAX) {
            d->n_empty_lines = n_empty;
            dec_fail(d, DEC_NO_PIECE, KW_HTTP_E_TOO_MANY_EMPTY_LINES, dec_offset(c, p));
            return c->end;
        }
        if (*p != '\r' && *p != '\n')
            break;
    }
    d->n_empty_lines = n_empty;
    if (p == c->end)
        return p;
    d->in_message = true;
    d->section_start = dec_offset(c, p);
    d->state = d->dir == KW_TO_SERVER ? S_METHOD : S_RESP_VERSION;
    d->sink->on_begin(d->sink->ctx, (enum kw_dir)d->dir, c->ts);
    if (d->state == S_TUNNEL)
        return p;
    if (d->dir == KW_TO_SERVER && !kw_tchar[*p])
        dec_fail(d, DEC_NO_PIECE, KW_HTTP_E_BAD_METHOD, dec_offset(c, p));
    return p;
}

/* The method ended at `p` (its SP): the rest of its text is delivered and
 * the methods whose requests frame their responses differently are named. */
static void method_end(struct kw_http_dec *d, const uint8_t *mark, const uint8_t *p)
{
    static const struct {
        const char *name;
        uint8_t len;
        enum kw_http_method method;
    } methods[] = {
        { "get", 3, KW_METHOD_GET },   { "head", 4, KW_METHOD_HEAD },
        { "post", 4, KW_METHOD_POST }, { "put", 3, KW_METHOD_PUT },
        { "connect", 7, KW_METHOD_CONNECT },
    };
    dec_emit(d, (struct dec_piece){ KW_FIELD_METHOD, mark, p });
    d->head.method = KW_METHOD_OTHER;
    /* Methods are case-sensitive (RFC 7230 3.1.1), but a server that accepts
     * "head" treats it as HEAD; the lower-cased match errs on its side. */
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (dec_token_is(d, methods[i].name, methods[i].len))
            d->head.method = methods[i].method;
    d->token_len = 0;
    d->text_started = false; /* the target's pieces come next */
}

/* The request target runs to the first SP (RFC 7230 3.1.1). Any other byte
 * but CR and LF belongs to it, control bytes, DEL and bytes that are not
 * UTF-8 included: clients and scanners send such targets and servers answer
 * them, often with a 400 and a close, which is the persistence behaviour
 * keepwatch is here to see. The output edge escapes them. */
static inline bool ends_target(uint8_t c)
{
    return c <= ' ' && (c == ' ' || c == '\r' || c == '\n');
}

/* "HTTP/1.1\r\n" (request) or "HTTP/1.1 200" (response), the common case,
 * read at once when it lies whole before `lim`. Returns the bytes read, or 0
 * to go byte by byte. */
static size_t version_at_once(struct kw_http_dec *d, enum dec_state *st, const uint8_t *p,
                              const uint8_t *lim)
{
    bool request = *st == S_REQ_VERSION;
    if ((!request && *st != S_RESP_VERSION) || d->version_matched || (size_t)(lim - p) < (request ? 10u : 12u) ||
        memcmp(p, "HTTP/1.", 7) || !kw_is_digit(p[7]))
        return 0;
    if (request && p[8] == '\r' && p[9] == '\n') {
        d->head.version = (uint8_t)(10 + (p[7] - '0'));
        *st = S_HEADER_LINE_START;
        return 10;
    }
    if (!request && p[8] == ' ' && kw_is_digit(p[9]) && kw_is_digit(p[10]) &&
        kw_is_digit(p[11])) {
        d->head.version = (uint8_t)(10 + (p[7] - '0'));
        d->head.status = (uint16_t)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
        d->status_digits = 3;
        *st = S_STATUS;
        return 12;
    }
    return 0;
}

/* One byte of "HTTP/" DIGIT "." DIGIT and of what ends it: CRLF (or a bare
 * LF) after a request's version, SP after a response's. Returns the next
 * state, or S_FAILED with *error set. */
static enum dec_state version_byte(struct kw_http_dec *d, enum dec_state st, uint8_t c,
                                   enum kw_http_error *error)
{
    static const char proto[] = "HTTP/";
    bool response = st == S_RESP_VERSION;
    uint8_t at = d->version_matched++;
    bool ok;
    if (at < 5) {
        ok = c == (uint8_t)proto[at];
    } else if (at == 5) {
        if (c != '1') {
            *error = KW_HTTP_E_BAD_VERSION; /* HTTP/0.9 and HTTP/2 are not HTTP/1.x */
            return S_FAILED;
        }
        ok = true;
    } else if (at == 6) {
        ok = c == '.';
    } else if (at == 7) {
        if ((ok = kw_is_digit(c)))
            d->head.version = (uint8_t)(10 + (c - '0'));
    } else if (response) {
        ok = c == ' ';
        st = S_STATUS;
    } else {
        ok = c == '\r' || c == '\n';
        st = c == '\r' ? S_REQ_LINE_LF : S_HEADER_LINE_START;
    }
    if (ok)
        return st;
    *error = response ? KW_HTTP_E_BAD_STATUS : KW_HTTP_E_BAD_VERSION;
    return S_FAILED;
}

/* Three digits, then SP (or a CR, or a bare LF: no reason phrase). */
static enum dec_state status_byte(struct kw_http_dec *d, uint8_t c)
{
    if (d->status_digits < 3) {
        if (!kw_is_digit(c))
            return S_FAILED;
        d->head.status = (uint16_t)(d->head.status * 10 + (c - '0'));
        d->status_digits++;
        return S_STATUS;
    }
    if (c == ' ' || c == '\r')
        return S_REASON;
    return c == '\n' ? S_HEADER_LINE_START : S_FAILED;
}

/* The bytes of the start line read one at a time: the version (when not
 * read at once), the status code, the LF after a request line's CR. */
static enum dec_state start_line_byte(struct kw_http_dec *d, enum dec_state st, uint8_t c,
                                      enum kw_http_error *error)
{
    if (st == S_REQ_LINE_LF) {
        *error = KW_HTTP_E_BAD_VERSION;
        return c == '\n' ? S_HEADER_LINE_START : S_FAILED;
    }
    if (st == S_STATUS) {
        *error = KW_HTTP_E_BAD_STATUS;
        return status_byte(d, c);
    }
    return version_byte(d, st, c, error);
}

/* The text field a start-line state reads, or -1. */
static int text_field_of(enum dec_state st)
{
    return st == S_METHOD ? KW_FIELD_METHOD : st == S_URI ? KW_FIELD_URI : -1;
}

/* The start line, from its first byte or where the previous chunk left it.
 * Method and target are delivered as text pieces. */
const uint8_t *dec_start_line(struct kw_http_dec *d, const struct dec_chunk *c, const uint8_t *p)
{
    enum dec_state st = d->state;
    const uint8_t *const lim = dec_cap_limit(d, c);
    const uint8_t *mark = p; /* where the text piece being read began in this chunk */
    enum kw_http_error error;
    while (p < lim && st != S_HEADER_LINE_START) {
        switch (st) {
        case S_METHOD: { /* a token, then SP */
            const uint8_t *q = p;
            while (q < lim && kw_tchar[*q])
                q++;
            dec_token_add_run(d, p, q);
            if ((p = q) == lim)
                break;
            if (*p != ' ') {
                error = KW_HTTP_E_BAD_METHOD;
                goto fail;
            }
            method_end(d, mark, p);
            st = S_URI;
            mark = ++p;
            break;
        }
        case S_URI:
            while (p < lim && !ends_target(*p))
                p++;
            if (p == lim)
                break;
            if (*p == '\r' || *p == '\n') {
                error = KW_HTTP_E_HTTP09; /* "GET /" alone: no version */
                goto fail;
            }
            if (!d->text_started && p == mark) {
                error = KW_HTTP_E_BAD_URI; /* an empty target: two spaces */
                goto fail;
            }
            dec_emit(d, (struct dec_piece){ KW_FIELD_URI, mark, p });
            p++;
            st = S_REQ_VERSION;
            break;
        case S_REASON: { /* nothing in it to read: on to the line's end */
            const uint8_t *lf = memchr(p, '\n', (size_t)(lim - p));
            p = lf ? lf + 1 : lim;
            if (lf)
                st = S_HEADER_LINE_START;
            break;
        }
        default: { /* the version, the status code, a request line's LF */
            size_t n = version_at_once(d, &st, p, lim);
            if (n) {
                p += n;
                break;
            }
            if ((st = start_line_byte(d, st, *p, &error)) == S_FAILED)
                goto fail;
            p++;
            break;
        }
        }
    }
    if (st != S_HEADER_LINE_START && p < c->end) {
        error = KW_HTTP_E_HEAD_TOO_BIG; /* stopped by the cap, not by the chunk's end */
        goto fail;
    }
    d->state = st;
    if (p > mark)
        dec_emit(d, (struct dec_piece){ text_field_of(st), mark, p });
    return p;
fail: {
    uint64_t at = error == KW_HTTP_E_HEAD_TOO_BIG ? d->section_start + d->head_max
                                                   : dec_offset(c, p);
    dec_fail(d, (struct dec_piece){ text_field_of(st), mark, p }, error, at);
    return c->end;
}
}

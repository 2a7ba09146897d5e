/* dec-header.c: the header section (RFC 7230 3.2) and the values keepwatch
 * reads in it: Connection and Proxy-Connection options, Transfer-Encoding,
 * Content-Length, Keep-Alive parameters, Expect. A header name is matched
 * from a bounded lower-case copy; a value is read byte by byte as it passes,
 * whatever TCP cut it, or only skipped when nothing in it is read. Host,
 * User-Agent, Server, Upgrade, Content-Type, X-Forwarded-For, Via and the
 * options lists are also delivered as text pieces. The section ends at its empty line (dec_head_end, dec.c). */
#include "http/dec-sections.h"

static const struct {
    const char *name; /* lower case */
    uint8_t len;
    uint8_t header_id;  /* enum dec_header */
    int8_t value_field; /* the text field its value is delivered as, or -1 */
} known_headers[] = {
    { "connection", 10, HEADER_CONNECTION, KW_FIELD_CONNECTION },
    { "proxy-connection", 16, HEADER_PROXY_CONNECTION, KW_FIELD_PROXY_CONNECTION },
    { "keep-alive", 10, HEADER_KEEP_ALIVE, KW_FIELD_KEEP_ALIVE },
    { "content-length", 14, HEADER_CONTENT_LENGTH, -1 },
    { "transfer-encoding", 17, HEADER_TRANSFER_ENCODING, -1 },
    { "host", 4, HEADER_HOST, KW_FIELD_HOST },
    { "user-agent", 10, HEADER_USER_AGENT, KW_FIELD_USER_AGENT },
    { "server", 6, HEADER_SERVER, KW_FIELD_SERVER },
    { "upgrade", 7, HEADER_UPGRADE, KW_FIELD_UPGRADE },
    { "expect", 6, HEADER_EXPECT, -1 },
    { "content-type", 12, HEADER_CONTENT_TYPE, KW_FIELD_CONTENT_TYPE },
    { "x-forwarded-for", 15, HEADER_X_FORWARDED_FOR, KW_FIELD_X_FORWARDED_FOR },
    { "via", 3, HEADER_VIA, KW_FIELD_VIA },
};
#define N_KNOWN_HEADERS (sizeof(known_headers) / sizeof(known_headers[0]))

/* --- token lists: Connection, Proxy-Connection, Transfer-Encoding, Expect - */

static void token_add(struct kw_http_dec *d, uint8_t c)
{
    if (d->token_len < KW_HTTP_TOKEN_MAX)
        d->token[d->token_len] = (char)kw_lower(c);
    if (d->token_len < UINT8_MAX)
        d->token_len++; /* past the buffer: too long to be a token we know */
}

/* One complete token of a list (RFC 7230 7). */
static void token_end(struct kw_http_dec *d)
{
    if (!d->token_len)
        return;
    struct kw_http_head *h = &d->head;
    switch (d->header_id) {
    case HEADER_CONNECTION:
    case HEADER_PROXY_CONNECTION: { /* connection options, RFC 7230 6.1 */
        uint8_t bit = dec_token_is(d, "close", 5)        ? KW_CONN_CLOSE
                      : dec_token_is(d, "keep-alive", 10) ? KW_CONN_KEEP_ALIVE
                      : dec_token_is(d, "upgrade", 7)     ? KW_CONN_UPGRADE
                                                          : KW_CONN_OTHER;
        if (d->header_id == HEADER_CONNECTION)
            h->conn_tokens |= bit;
        else
            h->proxy_conn_tokens |= bit;
        break;
    }
    case HEADER_TRANSFER_ENCODING:
        /* Only the final coding frames the body (RFC 7230 3.3.1). */
        d->te_final_chunked = dec_token_is(d, "chunked", 7);
        break;
    case HEADER_EXPECT:
        if (dec_token_is(d, "100-continue", 12))
            h->expect_continue = true;
        break;
    }
    d->token_len = 0;
}

/* A list element that is no token: a quoted string ("chunked" in quotes is
 * not the chunked coding, RFC 7230 3.3.1 and 4), a comment, a control byte.
 * It names no option and no coding; for Transfer-Encoding it is a coding
 * that is not chunked. */
static void not_a_token(struct kw_http_dec *d)
{
    d->token_len = 0;
    if (d->header_id == HEADER_TRANSFER_ENCODING)
        d->te_final_chunked = false;
    else if (d->header_id == HEADER_CONNECTION)
        d->head.conn_tokens |= KW_CONN_OTHER;
    else if (d->header_id == HEADER_PROXY_CONNECTION)
        d->head.proxy_conn_tokens |= KW_CONN_OTHER;
    d->value_state = VALUE_NOT_TOKEN;
}

static void token_list_byte(struct kw_http_dec *d, uint8_t c)
{
    if (d->value_state != VALUE_TOKEN) { /* ";q=...", "; name=value", or no token: to the comma */
        if (c == ',')
            d->value_state = VALUE_TOKEN;
        return;
    }
    if (kw_tchar[c]) {
        token_add(d, c);
        return;
    }
    if (c == ' ' || c == '\t' || c == ',' || c == ';') {
        token_end(d);
        if (c == ';')
            d->value_state = VALUE_PARAMETERS;
        return;
    }
    not_a_token(d);
}

/* --- Content-Length: a number, or a list of equal numbers (RFC 7230 3.3.2) */

static void content_length_element_end(struct kw_http_dec *d)
{
    struct kw_http_head *h = &d->head;
    if (!d->number_digits) {
        h->anomalies |= KW_ANOM_CL_INVALID;
    } else if (!d->content_length_seen) {
        d->content_length_seen = true;
        h->content_length = d->number;
    } else if (d->number != h->content_length) {
        h->anomalies |= KW_ANOM_CL_DIFFERING;
    }
    d->number = 0;
    d->number_digits = 0;
    d->value_state = VALUE_CL_DIGITS;
}

static void content_length_invalid(struct kw_http_dec *d)
{
    d->head.anomalies |= KW_ANOM_CL_INVALID;
    d->number_digits = 0;
    d->value_state = VALUE_CL_AFTER;
}

static void content_length_byte(struct kw_http_dec *d, uint8_t c)
{
    if (kw_is_digit(c)) {
        uint64_t digit = (uint64_t)(c - '0');
        if (d->value_state == VALUE_CL_AFTER || d->number > (UINT64_MAX - digit) / 10) {
            content_length_invalid(d); /* "1 2", or no 64-bit number */
            return;
        }
        d->number = d->number * 10 + digit;
        if (d->number_digits < UINT8_MAX)
            d->number_digits++;
    } else if (c == ' ' || c == '\t') {
        if (d->number_digits)
            d->value_state = VALUE_CL_AFTER;
    } else if (c == ',') {
        content_length_element_end(d);
    } else {
        content_length_invalid(d);
    }
}

/* --- Keep-Alive: timeout=5, max=100 (RFC 2068 19.7.1.1) ----------------- */

static void keep_alive_param_end(struct kw_http_dec *d)
{
    if (d->value_state == VALUE_KA_NUMBER && d->number_digits) {
        int64_t v = d->number > KW_KA_VALUE_MAX ? KW_KA_VALUE_MAX : (int64_t)d->number;
        if (dec_token_is(d, "timeout", 7))
            d->head.ka_timeout = v;
        else if (dec_token_is(d, "max", 3))
            d->head.ka_max = v;
    }
    d->token_len = 0;
    d->number = 0;
    d->number_digits = 0;
    d->value_state = VALUE_KA_NAME;
}

static void keep_alive_byte(struct kw_http_dec *d, uint8_t c)
{
    if (c == ',') {
        keep_alive_param_end(d);
        return;
    }
    if (d->value_state == VALUE_PARAMETERS)
        return; /* a parameter that is not a number: skipped to the next comma */
    if (d->value_state == VALUE_KA_NAME) {
        if (c == '=') {
            d->value_state = VALUE_KA_NUMBER;
            d->number = 0;
            d->number_digits = 0;
        } else if (kw_tchar[c]) {
            token_add(d, c);
        }
        return;
    }
    if (kw_is_digit(c)) {
        if (d->number <= KW_KA_VALUE_MAX) /* clamped: never overflows */
            d->number = d->number * 10 + (uint64_t)(c - '0');
        if (d->number_digits < UINT8_MAX)
            d->number_digits++;
    } else if (c != '"' && c != ' ' && c != '\t') {
        d->number_digits = 0;
        d->value_state = VALUE_PARAMETERS;
    }
}

/* --- a header's value ---------------------------------------------------- */

static void value_byte(struct kw_http_dec *d, uint8_t c)
{
    switch (d->header_id) {
    case HEADER_CONNECTION:
    case HEADER_PROXY_CONNECTION:
    case HEADER_TRANSFER_ENCODING:
    case HEADER_EXPECT:
        token_list_byte(d, c);
        break;
    case HEADER_CONTENT_LENGTH:
        content_length_byte(d, c);
        break;
    case HEADER_KEEP_ALIVE:
        keep_alive_byte(d, c);
        break;
    }
}

/* The value of the header read last is over: its line ended, and the next
 * line is no continuation of it. */
static void value_end(struct kw_http_dec *d)
{
    switch (d->header_id) {
    case HEADER_CONNECTION:
    case HEADER_PROXY_CONNECTION:
    case HEADER_TRANSFER_ENCODING:
    case HEADER_EXPECT:
        token_end(d);
        break;
    case HEADER_CONTENT_LENGTH:
        content_length_element_end(d);
        break;
    case HEADER_KEEP_ALIVE:
        keep_alive_param_end(d);
        break;
    }
    d->header_id = HEADER_OTHER;
}

/* Headers whose value is read byte by byte; the others are only skipped
 * (and delivered as text when keepwatch keeps them). */
static bool value_is_read(uint8_t header_id)
{
    switch (header_id) {
    case HEADER_CONNECTION:
    case HEADER_PROXY_CONNECTION:
    case HEADER_KEEP_ALIVE:
    case HEADER_CONTENT_LENGTH:
    case HEADER_TRANSFER_ENCODING:
    case HEADER_EXPECT:
        return true;
    default:
        return false;
    }
}

/* The first CR or LF in [p, end), or end. Eight bytes at a time: header
 * values are most of a header section's bytes (measured: the byte loop was
 * the decoder's hottest line on the benchmark capture). */
static const uint8_t *find_line_end(const uint8_t *p, const uint8_t *end)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while ((size_t)(end - p) >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t cr = w ^ (ones * '\r'), lf = w ^ (ones * '\n');
        /* a zero byte in cr or lf marks a CR or LF (the classic haszero test) */
        if (((cr - ones) & ~cr & highs) | ((lf - ones) & ~lf & highs))
            break;
        p += 8;
    }
    while (p < end && *p != '\r' && *p != '\n')
        p++;
    return p;
}

/* A value's bytes up to its line's end or `lim`; returns where it stopped. */
static const uint8_t *value_run(struct kw_http_dec *d, const uint8_t *p, const uint8_t *lim)
{
    if (!value_is_read(d->header_id))
        return find_line_end(p, lim);
    while (p < lim && *p != '\r' && *p != '\n')
        value_byte(d, *p++);
    return p;
}

/* A header name is complete: which one, and how its value is read. */
static void header_begin(struct kw_http_dec *d)
{
    d->header_id = HEADER_OTHER;
    d->value_field = -1;
    switch (d->token_len) { /* most names are none of ours: their length says so */
    case 3: case 4: case 6: case 7: case 10: case 12: case 14: case 15: case 16: case 17:
        for (size_t i = 0; i < N_KNOWN_HEADERS; i++)
            if (dec_token_is(d, known_headers[i].name, known_headers[i].len)) {
                d->header_id = known_headers[i].header_id;
                d->value_field = known_headers[i].value_field;
                break;
            }
        break;
    }
    struct kw_http_head *h = &d->head;
    d->token_len = 0;
    d->number = 0;
    d->number_digits = 0;
    d->value_state = VALUE_TOKEN;
    d->text_started = false;
    switch (d->header_id) {
    case HEADER_CONNECTION: h->has_connection = true; break;
    case HEADER_KEEP_ALIVE: h->has_keep_alive = true; d->value_state = VALUE_KA_NAME; break;
    case HEADER_CONTENT_LENGTH:
        h->has_content_length = true;
        d->value_state = VALUE_CL_DIGITS;
        break;
    case HEADER_TRANSFER_ENCODING: h->has_transfer_encoding = true; break;
    case HEADER_UPGRADE: h->has_upgrade = true; break;
    }
}

/* obs-fold: a line starting with SP or HTAB goes on with the previous value
 * (RFC 7230 3.2.4), as if the line break were one space: one value, so that
 * "Content-Length:" CRLF SP "42" is 42, and "4" CRLF SP "2" is "4 2", not
 * two values. That is why a value ends only when the next line starts. */
static void fold_line(struct kw_http_dec *d)
{
    static const uint8_t space[1] = { ' ' };
    d->head.msg_anomalies |= KW_MSG_OBS_FOLD;
    if (d->header_id == HEADER_OTHER)
        return;
    value_byte(d, ' ');
    dec_emit(d, (struct dec_piece){ d->value_field, space, space + 1 });
}

/* --- the section ---------------------------------------------------------- */

/* The first byte of a header line: the section's end (CR, or a bare LF),
 * a folded line (SP, HTAB), a name, or S_FAILED. */
static enum dec_state header_line_start(struct kw_http_dec *d, uint8_t c)
{
    if (c == ' ' || c == '\t') {
        fold_line(d);
        return S_VALUE_OWS;
    }
    if (d->header_id != HEADER_OTHER)
        value_end(d); /* the previous line's value is complete */
    if (c == '\r' || c == '\n') {
        if (c == '\n')
            d->head.msg_anomalies |= KW_MSG_BARE_LF;
        return S_HEAD_END_LF;
    }
    if (!kw_tchar[c])
        return S_FAILED;
    d->token_len = 0;
    return S_HEADER_NAME;
}

/* Header lines up to the empty line that ends the section, from where the
 * start line or the previous chunk left them. The only error besides the
 * cap is an invalid header line. */
const uint8_t *dec_header_section(struct kw_http_dec *d, const struct dec_chunk *c,
                                  const uint8_t *p)
{
    enum dec_state st = d->state;
    const uint8_t *const lim = dec_cap_limit(d, c);
    const uint8_t *mark = p; /* where the value being read began in this chunk */
    while (p < lim) {
        switch (st) {
        case S_HEADER_LINE_START:
            if ((st = header_line_start(d, *p)) == S_FAILED)
                goto fail;
            p += st != S_HEADER_NAME && *p != '\n'; /* a name and a bare LF are read there */
            break;
        case S_HEADER_NAME: {
            const uint8_t *q = p;
            while (q < lim && kw_tchar[*q])
                q++;
            dec_token_add_run(d, p, q);
            if ((p = q) == lim)
                break;
            if (*p != ':')
                goto fail; /* whitespace before the colon, or a byte no name has */
            header_begin(d);
            st = S_VALUE_OWS;
            p++;
            break;
        }
        case S_VALUE_OWS:
            while (p < lim && (*p == ' ' || *p == '\t'))
                p++;
            if (p < lim) {
                st = S_VALUE;
                mark = p;
            }
            break;
        case S_VALUE:
            if ((p = value_run(d, p, lim)) == lim)
                break;
            dec_emit(d, (struct dec_piece){ d->value_field, mark, p });
            if (*p == '\n')
                d->head.msg_anomalies |= KW_MSG_BARE_LF;
            st = *p == '\r' ? S_VALUE_LF : S_HEADER_LINE_START;
            p++;
            break;
        case S_VALUE_LF:
            if (*p != '\n')
                goto fail;
            st = S_HEADER_LINE_START;
            p++;
            break;
        case S_HEAD_END_LF:
        default:
            if (*p != '\n')
                goto fail;
            dec_head_end(d, c, p + 1); /* stores the body's state */
            return p + 1;
        }
    }
    if (p < c->end) { /* stopped by the cap, not by the chunk's end */
        dec_fail(d, (struct dec_piece){ st == S_VALUE ? d->value_field : -1, mark, p },
                 KW_HTTP_E_HEAD_TOO_BIG, d->section_start + d->head_max);
        return c->end;
    }
    d->state = st;
    if (st == S_VALUE && p > mark)
        dec_emit(d, (struct dec_piece){ d->value_field, mark, p });
    return p;
fail:
    dec_fail(d, DEC_NO_PIECE, KW_HTTP_E_BAD_HEADER, dec_offset(c, p));
    return c->end;
}

/* dec.c: the HTTP/1.x decoder, one resumable byte loop (RFC 7230 sections 3 and 4).
 *
 * State survives chunk borders in a few bytes: a header name is matched by a
 * bounded lower-case copy of at most KW_HTTP_TOKEN_MAX bytes, numbers are
 * accumulated digit by digit, and text the caller keeps (URI, Host, ...) is
 * handed over as pieces. Bodies are counted, never looked at. */
#include "http/dec-impl.h"

#include <string.h>

#include "common/bytes.h"

enum state {
    S_START = 0,     /* before a message; empty lines are skipped */
    /* request line */
    S_METHOD,
    S_URI,
    S_REQ_VERSION,
    S_REQ_LINE_LF,
    /* status line */
    S_RESP_VERSION,
    S_STATUS,
    S_REASON,
    /* header section */
    S_LINE_START,
    S_NAME,
    S_VALUE_OWS,
    S_VALUE,
    S_VALUE_LF,
    S_HEAD_END_LF,
    /* bodies */
    S_BODY_CL,
    S_BODY_CLOSE,
    S_CHUNK_SIZE,
    S_CHUNK_EXT,
    S_CHUNK_SIZE_LF,
    S_CHUNK_DATA,
    S_CHUNK_DATA_CR,
    S_CHUNK_DATA_LF,
    S_TRAILER_START,
    S_TRAILER_LINE,
    S_TRAILER_END_LF,
    /* the end */
    S_TUNNEL,
    S_CLOSED,
    S_DEAD,
};

enum header {
    H_OTHER = 0,
    H_CONNECTION,
    H_PROXY_CONNECTION,
    H_KEEP_ALIVE,
    H_CONTENT_LENGTH,
    H_TRANSFER_ENCODING,
    H_HOST,
    H_USER_AGENT,
    H_SERVER,
    H_UPGRADE,
    H_EXPECT,
};

static const struct {
    const char *name;
    uint8_t len;
    uint8_t id;
    int8_t field; /* the text field it is delivered as, or -1 */
} known_headers[] = {
    { "connection", 10, H_CONNECTION, KW_FIELD_CONNECTION },
    { "proxy-connection", 16, H_PROXY_CONNECTION, KW_FIELD_PROXY_CONNECTION },
    { "keep-alive", 10, H_KEEP_ALIVE, KW_FIELD_KEEP_ALIVE },
    { "content-length", 14, H_CONTENT_LENGTH, -1 },
    { "transfer-encoding", 17, H_TRANSFER_ENCODING, -1 },
    { "host", 4, H_HOST, KW_FIELD_HOST },
    { "user-agent", 10, H_USER_AGENT, KW_FIELD_USER_AGENT },
    { "server", 6, H_SERVER, KW_FIELD_SERVER },
    { "upgrade", 7, H_UPGRADE, KW_FIELD_UPGRADE },
    { "expect", 6, H_EXPECT, -1 },
};
#define N_KNOWN (sizeof(known_headers) / sizeof(known_headers[0]))

/* Value sub-states */
enum { V_TOKEN = 0, V_SKIP_PARAM, V_CL_DIGITS, V_CL_AFTER, V_KA_NAME, V_KA_VALUE };

#define EMPTY_LINES_MAX 8      /* CRLFs tolerated between messages (RFC 7230 3.5) */
#define CHUNK_LINE_MAX 4096    /* a chunk-size line with its extensions */
#define CHUNK_HEX_MAX 16       /* 64-bit chunk sizes at most */

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

static void reset_message(struct kw_http_dec *d)
{
    memset(&d->head, 0, sizeof(d->head));
    d->head.ka_timeout = d->head.ka_max = KW_KA_ABSENT;
    d->remaining = d->body_len = d->num = 0;
    d->framing = KW_FRAMING_NONE;
    d->header = H_OTHER;
    d->field = -1;
    d->vstate = d->match = d->num_digits = d->tok_len = 0;
    d->in_message = d->text_started = d->cl_seen = d->te_last_chunked = false;
    d->state = S_START;
}

void kw_http_dec_init(struct kw_http_dec *d, enum kw_dir dir, uint32_t head_max,
                      const struct kw_http_sink *sink)
{
    memset(d, 0, sizeof(*d));
    d->sink = sink;
    d->dir = (uint8_t)dir;
    d->head_max = head_max ? head_max : KW_HTTP_HEAD_MAX_DEFAULT;
    reset_message(d);
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

void kw_http_dec_stop(struct kw_http_dec *d)
{
    if (d->state != S_DEAD)
        d->state = S_TUNNEL;
}

/* --- header values ---------------------------------------------------- */

static bool tok_is(const struct kw_http_dec *d, const char *lower, size_t len)
{
    return d->tok_len == len && !memcmp(d->tok, lower, len);
}

static void tok_add(struct kw_http_dec *d, uint8_t c)
{
    if (d->tok_len < KW_HTTP_TOKEN_MAX)
        d->tok[d->tok_len] = (char)kw_lower(c);
    if (d->tok_len < UINT8_MAX)
        d->tok_len++; /* past the buffer: too long to be a token we know */
}

/* One complete token of a token list (Connection, Transfer-Encoding, Expect). */
static void token_end(struct kw_http_dec *d)
{
    if (!d->tok_len)
        return;
    struct kw_http_head *h = &d->head;
    switch (d->header) {
    case H_CONNECTION:
    case H_PROXY_CONNECTION: {
        uint8_t bit = tok_is(d, "close", 5)        ? KW_CONN_CLOSE
                      : tok_is(d, "keep-alive", 10) ? KW_CONN_KEEP_ALIVE
                      : tok_is(d, "upgrade", 7)     ? KW_CONN_UPGRADE
                                                    : KW_CONN_OTHER;
        if (d->header == H_CONNECTION)
            h->conn_tokens |= bit;
        else
            h->proxy_conn_tokens |= bit;
        break;
    }
    case H_TRANSFER_ENCODING:
        /* Only the final coding frames the body (RFC 7230 3.3.1). */
        d->te_last_chunked = tok_is(d, "chunked", 7);
        break;
    case H_EXPECT:
        if (tok_is(d, "100-continue", 12))
            h->expect_continue = true;
        break;
    }
    d->tok_len = 0;
}

static void token_byte(struct kw_http_dec *d, uint8_t c)
{
    if (d->vstate == V_SKIP_PARAM) { /* ";q=..." or "; name=value" */
        if (c == ',')
            d->vstate = V_TOKEN;
        return;
    }
    if (kw_tchar[c]) {
        tok_add(d, c);
        return;
    }
    token_end(d);
    if (c == ';')
        d->vstate = V_SKIP_PARAM;
}

/* Content-Length: a number, or a list of equal numbers (RFC 7230 3.3.2). */
static void cl_element_end(struct kw_http_dec *d)
{
    struct kw_http_head *h = &d->head;
    if (!d->num_digits) {
        h->anomalies |= KW_ANOM_CL_INVALID;
    } else if (!d->cl_seen) {
        d->cl_seen = true;
        h->content_length = d->num;
    } else if (d->num != h->content_length) {
        h->anomalies |= KW_ANOM_CL_DIFFERING;
    }
    d->num = 0;
    d->num_digits = 0;
    d->vstate = V_CL_DIGITS;
}

static void cl_byte(struct kw_http_dec *d, uint8_t c)
{
    if (kw_is_digit(c)) {
        uint64_t digit = (uint64_t)(c - '0');
        if (d->vstate == V_CL_AFTER || d->num > (UINT64_MAX - digit) / 10) {
            d->head.anomalies |= KW_ANOM_CL_INVALID; /* "1 2", or no 64-bit number */
            d->num_digits = 0;
            d->vstate = V_CL_AFTER;
            return;
        }
        d->num = d->num * 10 + digit;
        if (d->num_digits < UINT8_MAX)
            d->num_digits++;
    } else if (c == ' ' || c == '\t') {
        if (d->num_digits)
            d->vstate = V_CL_AFTER;
    } else if (c == ',') {
        cl_element_end(d);
    } else {
        d->head.anomalies |= KW_ANOM_CL_INVALID;
        d->num_digits = 0;
        d->vstate = V_CL_AFTER;
    }
}

/* Keep-Alive: timeout=5, max=100 (RFC 2068 19.7.1.1). */
static void ka_param_end(struct kw_http_dec *d)
{
    if (d->vstate == V_KA_VALUE && d->num_digits) {
        int64_t v = d->num > KW_KA_VALUE_MAX ? KW_KA_VALUE_MAX : (int64_t)d->num;
        if (tok_is(d, "timeout", 7))
            d->head.ka_timeout = v;
        else if (tok_is(d, "max", 3))
            d->head.ka_max = v;
    }
    d->tok_len = 0;
    d->num = 0;
    d->num_digits = 0;
    d->vstate = V_KA_NAME;
}

static void ka_byte(struct kw_http_dec *d, uint8_t c)
{
    if (c == ',') {
        ka_param_end(d);
        return;
    }
    if (d->vstate == V_KA_NAME) {
        if (c == '=') {
            d->vstate = V_KA_VALUE;
            d->num = 0;
            d->num_digits = 0;
        } else if (kw_tchar[c]) {
            tok_add(d, c);
        }
        return;
    }
    if (kw_is_digit(c)) {
        if (d->num <= KW_KA_VALUE_MAX) /* clamped: never overflows */
            d->num = d->num * 10 + (uint64_t)(c - '0');
        if (d->num_digits < UINT8_MAX)
            d->num_digits++;
    } else if (c != '"' && c != ' ' && c != '\t') {
        d->num_digits = 0; /* not a number: ignore this parameter */
        d->vstate = V_SKIP_PARAM;
    }
}

static void value_byte(struct kw_http_dec *d, uint8_t c)
{
    switch (d->header) {
    case H_CONNECTION:
    case H_PROXY_CONNECTION:
    case H_TRANSFER_ENCODING:
    case H_EXPECT:
        token_byte(d, c);
        break;
    case H_CONTENT_LENGTH:
        cl_byte(d, c);
        break;
    case H_KEEP_ALIVE:
        if (d->vstate != V_SKIP_PARAM)
            ka_byte(d, c);
        else if (c == ',')
            ka_param_end(d);
        break;
    }
}

static void value_end(struct kw_http_dec *d)
{
    switch (d->header) {
    case H_CONNECTION:
    case H_PROXY_CONNECTION:
    case H_TRANSFER_ENCODING:
    case H_EXPECT:
        token_end(d);
        break;
    case H_CONTENT_LENGTH:
        cl_element_end(d);
        break;
    case H_KEEP_ALIVE:
        ka_param_end(d);
        break;
    }
}

/* A header name is complete: which one, and how its value is read. */
static void header_begin(struct kw_http_dec *d)
{
    d->header = H_OTHER;
    d->field = -1;
    switch (d->tok_len) { /* most names are none of ours: their length says so */
    case 4: case 6: case 7: case 10: case 14: case 16: case 17:
        for (size_t i = 0; i < N_KNOWN; i++)
            if (tok_is(d, known_headers[i].name, known_headers[i].len)) {
                d->header = known_headers[i].id;
                d->field = known_headers[i].field;
                break;
            }
        break;
    }
    struct kw_http_head *h = &d->head;
    d->tok_len = 0;
    d->num = 0;
    d->num_digits = 0;
    d->vstate = V_TOKEN;
    d->text_started = false;
    switch (d->header) {
    case H_CONNECTION:
        h->has_connection = true;
        break;
    case H_KEEP_ALIVE:
        h->has_keep_alive = true;
        d->vstate = V_KA_NAME;
        break;
    case H_CONTENT_LENGTH:
        h->has_content_length = true;
        d->vstate = V_CL_DIGITS;
        break;
    case H_TRANSFER_ENCODING:
        h->has_transfer_encoding = true;
        break;
    case H_UPGRADE:
        h->has_upgrade = true;
        break;
    }
}


/* --- messages --------------------------------------------------------- */

static bool fail(struct kw_http_dec *d, enum kw_http_error e, uint64_t offset)
{
    d->state = S_DEAD;
    d->error = (uint8_t)e;
    d->error_offset = offset;
    return false;
}

static void message_end(struct kw_http_dec *d, kw_usec ts)
{
    enum kw_framing framing = (enum kw_framing)d->framing;
    uint64_t body = d->body_len;
    reset_message(d);
    d->empty_lines = 0;
    d->sink->on_end(d->sink->ctx, (enum kw_dir)d->dir, ts, framing, body);
}

static void method_end(struct kw_http_dec *d)
{
    static const struct { const char *name; uint8_t len; enum kw_http_method m; } methods[] = {
        { "get", 3, KW_METHOD_GET },   { "head", 4, KW_METHOD_HEAD },
        { "post", 4, KW_METHOD_POST }, { "put", 3, KW_METHOD_PUT },
        { "connect", 7, KW_METHOD_CONNECT },
    };
    d->head.method = KW_METHOD_OTHER;
    /* Methods are case-sensitive (RFC 7230 3.1.1), but a server that accepts
     * "head" treats it as HEAD; the lower-cased match errs on its side. */
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (tok_is(d, methods[i].name, methods[i].len))
            d->head.method = methods[i].m;
    d->tok_len = 0;
}

/* The header section ended: decide how the body is framed (RFC 7230 3.3.3).
 * Returns false when the message cannot be framed. */
static bool head_end(struct kw_http_dec *d, kw_usec ts, uint64_t offset)
{
    struct kw_http_head *h = &d->head;
    bool request = d->dir == KW_TO_SERVER;
    h->chunked = h->has_transfer_encoding && d->te_last_chunked;
    if (h->has_transfer_encoding) {
        if (h->has_content_length)
            h->anomalies |= KW_ANOM_CL_AND_TE;
        if (h->chunked && h->version < 11)
            h->anomalies |= KW_ANOM_CHUNKED_HTTP10;
        if (!h->chunked)
            h->anomalies |= KW_ANOM_TE_NOT_CHUNKED;
    }
    bool interim = !request && h->status >= 100 && h->status < 200;
    bool no_body = !request && (interim || h->status == 204 || h->status == 304);

    enum kw_http_body body = d->sink->on_head(d->sink->ctx, (enum kw_dir)d->dir, ts, h);
    if (body == KW_BODY_TUNNEL) {
        d->framing = KW_FRAMING_NONE;
        message_end(d, ts);
        d->state = S_TUNNEL;
        return true;
    }
    if (body == KW_BODY_NONE || no_body) {
        d->framing = KW_FRAMING_NONE;
        message_end(d, ts);
        return true;
    }
    if (h->chunked) {
        d->framing = KW_FRAMING_CHUNKED;
        d->state = S_CHUNK_SIZE;
        d->num = 0;
        d->num_digits = 0;
        d->line_bytes = 0;
        return true;
    }
    bool bad_cl = h->has_content_length && (h->anomalies & (KW_ANOM_CL_INVALID | KW_ANOM_CL_DIFFERING));
    if (request && h->has_transfer_encoding)
        return fail(d, KW_HTTP_E_BAD_TRANSFER_ENCODING, offset); /* RFC 7230 3.3.3 rule 3 */
    if (request && bad_cl)
        return fail(d, KW_HTTP_E_BAD_CONTENT_LENGTH, offset); /* RFC 7230 3.3.3 rule 4 */
    if (h->has_content_length && !bad_cl && !h->has_transfer_encoding) {
        d->framing = KW_FRAMING_CONTENT_LENGTH;
        d->remaining = h->content_length;
        if (!d->remaining)
            message_end(d, ts);
        else
            d->state = S_BODY_CL;
        return true;
    }
    if (request) { /* no framing headers: no body (RFC 7230 3.3.3 rule 6) */
        d->framing = KW_FRAMING_NONE;
        message_end(d, ts);
        return true;
    }
    d->framing = KW_FRAMING_CLOSE; /* rule 7: read until the server closes */
    d->state = S_BODY_CLOSE;
    return true;
}

static void emit(struct kw_http_dec *d, int field, const uint8_t *from, const uint8_t *to)
{
    if (field < 0 || (to == from && d->text_started))
        return;
    unsigned flags = d->text_started ? 0 : KW_TEXT_START;
    d->text_started = true;
    d->sink->on_text(d->sink->ctx, (enum kw_dir)d->dir, (enum kw_http_field)field,
                     kw_slice_make(from, (size_t)(to - from)), flags);
}

/* Headers whose value is read byte by byte; the others are only kept as text. */
static bool header_parsed(uint8_t h)
{
    return h != H_OTHER && h != H_HOST && h != H_USER_AGENT && h != H_SERVER && h != H_UPGRADE;
}

static bool in_text(const struct kw_http_dec *d, int *field)
{
    switch (d->state) {
    case S_METHOD:
        *field = KW_FIELD_METHOD;
        return true;
    case S_URI:
        *field = KW_FIELD_URI;
        return true;
    case S_VALUE:
        *field = d->field;
        return *field >= 0;
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

/* Start line, headers, or trailers: the sections the size cap applies to. */
static bool in_section(uint8_t state)
{
    return (state > S_START && state < S_BODY_CL) ||
           (state >= S_TRAILER_START && state <= S_TRAILER_END_LF);
}

/* Lower-cased into the token buffer, as far as it goes; past it, only counted
 * (a token that long is none we know). */
static void tok_add_run(struct kw_http_dec *d, const uint8_t *p, const uint8_t *q)
{
    size_t n = (size_t)(q - p);
    if (d->tok_len < KW_HTTP_TOKEN_MAX) {
        size_t room = KW_HTTP_TOKEN_MAX - d->tok_len, k = n < room ? n : room;
        char *t = d->tok + d->tok_len;
        for (size_t i = 0; i < k; i++)
            t[i] = (char)kw_lower(p[i]);
    }
    size_t len = d->tok_len + n;
    d->tok_len = (uint8_t)(len < UINT8_MAX ? len : UINT8_MAX);
}

bool kw_http_dec_feed(struct kw_http_dec *d, kw_usec ts, struct kw_slice in)
{
    const uint8_t *p = in.p, *end = in.p + in.len;
    const uint8_t *mark = p; /* start of the text piece being read in this chunk */
    bool ok = true;

#define OFFSET() (d->offset + (uint64_t)(p - in.p))
    /* On failure the text piece read so far is delivered first, so that the
     * same bytes give the same pieces wherever TCP cut them. */
#define FAIL(e)                                     \
    do {                                            \
        int field_;                                 \
        if (in_text(d, &field_) && p > mark)        \
            emit(d, field_, mark, p);               \
        ok = fail(d, (e), OFFSET());                \
        goto out;                                   \
    } while (0)
    /* The header cap: no byte at or past section_start + head_max is read in a
     * start line, header section or trailers. Scans stop there (`lim`), so a
     * section over the cap fails at the same offset, with the same text pieces
     * delivered, wherever TCP cut it. */
#define FAIL_CAP()                                                                \
    do {                                                                          \
        int field_;                                                               \
        if (in_text(d, &field_) && p > mark)                                      \
            emit(d, field_, mark, p);                                             \
        ok = fail(d, KW_HTTP_E_HEAD_TOO_BIG, d->section_start + d->head_max);     \
        goto out;                                                                 \
    } while (0)

    const uint8_t *cap_p = end;     /* where the current section's cap falls in this chunk */
    uint64_t cap_for = UINT64_MAX;  /* the section it was worked out for */
    while (p < end) {
        uint8_t c = *p;
        const uint8_t *lim = end; /* how far this state may scan */
        if (in_section(d->state)) {
            if (cap_for != d->section_start) {
                cap_for = d->section_start;
                uint64_t cap_at = d->section_start + d->head_max;
                cap_p = cap_at <= d->offset ? in.p
                        : cap_at - d->offset < in.len ? in.p + (cap_at - d->offset) : end;
            }
            if (p >= cap_p)
                FAIL_CAP();
            lim = cap_p;
        }
        switch (d->state) {
        /* Bodies are skipped in bulk: counted, never read. */
        case S_BODY_CL:
        case S_CHUNK_DATA: {
            size_t left = (size_t)(end - p);
            size_t n = d->remaining < left ? (size_t)d->remaining : left;
            p += n;
            d->remaining -= n;
            d->body_len += n;
            if (!d->remaining) {
                if (d->state == S_BODY_CL)
                    message_end(d, ts);
                else
                    d->state = S_CHUNK_DATA_CR;
            }
            continue;
        }
        case S_BODY_CLOSE:
            d->body_len += (uint64_t)(end - p);
            p = end;
            continue;
        case S_TUNNEL:
        case S_CLOSED:
        case S_DEAD:
            p = end;
            continue;

        case S_START:
            if (c == '\r' || c == '\n') {
                if (c == '\n' && ++d->empty_lines > EMPTY_LINES_MAX)
                    FAIL(KW_HTTP_E_TOO_MANY_EMPTY_LINES);
                break;
            }
            d->in_message = true;
            d->section_start = OFFSET();
            d->state = d->dir == KW_TO_SERVER ? S_METHOD : S_RESP_VERSION;
            d->match = 0;
            d->text_started = false;
            mark = p;
            d->sink->on_begin(d->sink->ctx, (enum kw_dir)d->dir, ts);
            if (d->state == S_TUNNEL) /* the receiver stopped us (too many in flight) */
                continue;
            if (d->dir == KW_TO_SERVER && !kw_tchar[c])
                FAIL(KW_HTTP_E_BAD_METHOD);
            continue; /* the byte is read again in the new state */

        case S_METHOD:
        case S_NAME: { /* a token: a method ends at a space, a header name at a colon */
            const uint8_t *q = p;
            while (q < lim && kw_tchar[*q])
                q++;
            tok_add_run(d, p, q);
            p = q;
            if (p == lim)
                continue;
            if (d->state == S_NAME) {
                if (*p != ':')
                    FAIL(KW_HTTP_E_BAD_HEADER); /* whitespace before the colon, or a bad byte */
                header_begin(d);
                d->state = S_VALUE_OWS;
                break;
            }
            if (*p != ' ')
                FAIL(KW_HTTP_E_BAD_METHOD);
            emit(d, KW_FIELD_METHOD, mark, p);
            method_end(d);
            d->state = S_URI;
            d->text_started = false;
            mark = ++p;
            continue;
        }

        case S_URI: {
            while (p < lim && *p > 0x20 && *p != 0x7f)
                p++;
            if (p == lim)
                continue;
            c = *p;
            if (c == '\r' || c == '\n')
                FAIL(KW_HTTP_E_HTTP09); /* "GET /" alone: no version */
            if (c != ' ' || (!d->text_started && p == mark))
                FAIL(KW_HTTP_E_BAD_URI); /* a control byte, or an empty target */
            emit(d, KW_FIELD_URI, mark, p);
            d->state = S_REQ_VERSION;
            d->match = 0;
            break;
        }

        case S_REQ_VERSION:
        case S_RESP_VERSION:
            /* The common whole line at once: "HTTP/1.1\r\n", "HTTP/1.1 200 ". */
            if (d->match == 0 && (size_t)(lim - p) >= 13 && !memcmp(p, "HTTP/1.", 7) &&
                kw_is_digit(p[7])) {
                if (d->state == S_REQ_VERSION && p[8] == '\r' && p[9] == '\n') {
                    d->head.version = (uint8_t)(10 + (p[7] - '0'));
                    d->state = S_LINE_START;
                    p += 10;
                    continue;
                }
                if (d->state == S_RESP_VERSION && p[8] == ' ' && kw_is_digit(p[9]) &&
                    kw_is_digit(p[10]) && kw_is_digit(p[11])) {
                    d->head.version = (uint8_t)(10 + (p[7] - '0'));
                    d->head.status = (uint16_t)((p[9] - '0') * 100 + (p[10] - '0') * 10 +
                                                (p[11] - '0'));
                    d->state = S_STATUS;
                    d->match = 3;
                    p += 12;
                    continue;
                }
            }
            {
            /* "HTTP/" DIGIT "." DIGIT, then CRLF (request) or SP (response) */
            static const char proto[] = "HTTP/";
            uint8_t m = d->match;
            bool resp = d->state == S_RESP_VERSION;
            enum kw_http_error bad = resp ? KW_HTTP_E_BAD_STATUS : KW_HTTP_E_BAD_VERSION;
            if (m < 5) {
                if (c != (uint8_t)proto[m])
                    FAIL(bad);
            } else if (m == 5) {
                if (c != '1')
                    FAIL(KW_HTTP_E_BAD_VERSION); /* HTTP/0.9 and HTTP/2 are not HTTP/1.x */
            } else if (m == 6) {
                if (c != '.')
                    FAIL(bad);
            } else if (m == 7) {
                if (!kw_is_digit(c))
                    FAIL(bad);
                d->head.version = (uint8_t)(10 + (c - '0'));
            } else if (!resp) {
                if (c == '\r')
                    d->state = S_REQ_LINE_LF;
                else if (c == '\n')
                    d->state = S_LINE_START;
                else
                    FAIL(bad);
            } else {
                if (c != ' ')
                    FAIL(bad);
                d->state = S_STATUS;
                d->match = 0;
                break;
            }
            d->match++;
            break;
            }

        case S_REQ_LINE_LF:
            if (c != '\n')
                FAIL(KW_HTTP_E_BAD_VERSION);
            d->state = S_LINE_START;
            break;

        case S_STATUS:
            if (d->match < 3) {
                if (!kw_is_digit(c))
                    FAIL(KW_HTTP_E_BAD_STATUS);
                d->head.status = (uint16_t)(d->head.status * 10 + (c - '0'));
                d->match++;
            } else if (c == ' ' || c == '\r') {
                d->state = S_REASON;
            } else if (c == '\n') {
                d->state = S_LINE_START;
            } else {
                FAIL(KW_HTTP_E_BAD_STATUS);
            }
            break;

        case S_REASON:
        case S_TRAILER_LINE: { /* nothing to read in them: on to the line's end */
            const uint8_t *lf = memchr(p, '\n', (size_t)(lim - p));
            if (!lf) {
                p = lim;
                continue;
            }
            p = lf;
            d->state = d->state == S_REASON ? S_LINE_START : S_TRAILER_START;
            break;
        }

        case S_LINE_START:
            if (c == '\r') {
                d->state = S_HEAD_END_LF;
            } else if (c == '\n') {
                d->state = S_HEAD_END_LF;
                continue; /* a bare LF ends the section too */
            } else if ((c == ' ' || c == '\t') && d->header != H_OTHER) {
                /* obs-fold: the previous value goes on (RFC 7230 3.2.4) */
                value_byte(d, ' ');
                emit(d, d->field, (const uint8_t *)" ", (const uint8_t *)" " + 1);
                d->state = S_VALUE_OWS;
            } else if (c == ' ' || c == '\t') {
                d->state = S_VALUE_OWS; /* fold of a header we ignore */
                d->header = H_OTHER;
            } else if (kw_tchar[c]) {
                d->state = S_NAME;
                d->tok_len = 0;
                continue;
            } else {
                FAIL(KW_HTTP_E_BAD_HEADER);
            }
            break;

        case S_VALUE_OWS:
            while (p < lim && (*p == ' ' || *p == '\t'))
                p++;
            if (p == lim)
                continue;
            d->state = S_VALUE;
            mark = p;
            continue;

        case S_VALUE: {
            if (header_parsed(d->header))
                while (p < lim && *p != '\r' && *p != '\n')
                    value_byte(d, *p++);
            else
                p = find_line_end(p, lim);
            if (p == lim)
                continue;
            c = *p;
            emit(d, d->field, mark, p);
            value_end(d);
            d->state = c == '\r' ? S_VALUE_LF : S_LINE_START;
            break;
        }

        case S_VALUE_LF:
            if (c != '\n')
                FAIL(KW_HTTP_E_BAD_HEADER);
            d->state = S_LINE_START;
            break;

        case S_HEAD_END_LF:
            if (c != '\n')
                FAIL(KW_HTTP_E_BAD_HEADER);
            p++;
            d->head.head_bytes = (uint32_t)(OFFSET() - d->section_start);
            if (!head_end(d, ts, OFFSET()))
                goto out_failed;
            continue;

        case S_CHUNK_SIZE: {
            int v = kw_hex_val(c);
            if (++d->line_bytes > CHUNK_LINE_MAX)
                FAIL(KW_HTTP_E_BAD_CHUNK);
            if (v >= 0) {
                if (++d->num_digits > CHUNK_HEX_MAX)
                    FAIL(KW_HTTP_E_BAD_CHUNK);
                d->num = d->num << 4 | (uint64_t)v;
            } else if (!d->num_digits) {
                FAIL(KW_HTTP_E_BAD_CHUNK);
            } else if (c == ';' || c == ' ' || c == '\t') {
                d->state = S_CHUNK_EXT;
            } else if (c == '\r') {
                d->state = S_CHUNK_SIZE_LF;
            } else if (c == '\n') {
                d->state = S_CHUNK_SIZE_LF;
                continue;
            } else {
                FAIL(KW_HTTP_E_BAD_CHUNK);
            }
            break;
        }

        case S_CHUNK_EXT:
            if (++d->line_bytes > CHUNK_LINE_MAX)
                FAIL(KW_HTTP_E_BAD_CHUNK);
            if (c == '\r') {
                d->state = S_CHUNK_SIZE_LF;
            } else if (c == '\n') {
                d->state = S_CHUNK_SIZE_LF;
                continue;
            }
            break;

        case S_CHUNK_SIZE_LF:
            if (c != '\n')
                FAIL(KW_HTTP_E_BAD_CHUNK);
            if (d->num) {
                d->remaining = d->num;
                d->state = S_CHUNK_DATA;
            } else { /* last-chunk: trailers follow, under the same cap as headers */
                d->state = S_TRAILER_START;
                d->section_start = OFFSET() + 1;
            }
            d->num = 0;
            d->num_digits = 0;
            d->line_bytes = 0;
            break;

        case S_CHUNK_DATA_CR:
            d->state = S_CHUNK_DATA_LF;
            if (c == '\r')
                break;
            continue; /* a bare LF */

        case S_CHUNK_DATA_LF:
            if (c != '\n')
                FAIL(KW_HTTP_E_BAD_CHUNK);
            d->state = S_CHUNK_SIZE;
            break;

        case S_TRAILER_START:
            if (c == '\r') {
                d->state = S_TRAILER_END_LF;
                break;
            }
            if (c == '\n') {
                d->state = S_TRAILER_END_LF;
                continue;
            }
            d->state = S_TRAILER_LINE;
            continue;

        case S_TRAILER_END_LF:
            if (c != '\n')
                FAIL(KW_HTTP_E_BAD_CHUNK);
            p++;
            message_end(d, ts);
            continue;
        }
        p++;
    }

out: {
    int field;
    if (ok && in_text(d, &field) && p > mark)
        emit(d, field, mark, p);
}
out_failed:
    d->offset += in.len;
    return ok && d->state != S_DEAD;
#undef FAIL
#undef FAIL_CAP
#undef OFFSET
}

bool kw_http_dec_close(struct kw_http_dec *d, kw_usec ts)
{
    bool cut = false;
    if (d->state == S_BODY_CLOSE)
        message_end(d, ts); /* the close is the body's end (RFC 7230 3.3.3 rule 7) */
    else if (d->state < S_TUNNEL && d->in_message)
        cut = true;
    if (d->state != S_DEAD && d->state != S_TUNNEL)
        d->state = S_CLOSED;
    return cut;
}

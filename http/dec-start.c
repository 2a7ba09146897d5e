/* dec-start.c: what comes before a message (RFC 7230 3.5), the request line
 * (3.1.1) as clients really send it, and the names of what is not HTTP.
 *
 * A request line is read as servers read it: the method is any token; SPs
 * after it are skipped; the target runs to the last " HTTP/d.d" before the
 * line's end, so that it may hold SPs; a GET line without a version is an
 * HTTP/0.9 request (RFC 1945 4.1), which ends with its line. A line may end
 * with a bare LF. Each of these is recorded in head.msg_anomalies. The size
 * cap counts from the line's first byte and covers the header section too. */
#include "http/dec-sections.h"

#define EMPTY_LINES_MAX 8 /* CRLFs tolerated between messages (RFC 7230 3.5) */
#define TLS_HANDSHAKE 0x16 /* a TLS record of type handshake (RFC 8446 5.1) */

/* Empty lines are skipped and counted; at the first other byte a message
 * begins. on_begin is called with the first state of the start line stored,
 * so that the receiver may stop the decoder there (too many requests in
 * flight): the rest is then consumed and ignored. A request must start with
 * a token; anything else begins no request and is named (dec_sniff). */
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
    if (d->dir == KW_TO_SERVER && !kw_tchar[*p]) { /* no request begins so */
        if (*p == TLS_HANDSHAKE) {
            d->state = S_SNIFF; /* it reads this byte again */
            d->version_matched = 0;
        } else {
            dec_fail(d, DEC_NO_PIECE,
                     dec_is_text(*p) ? KW_HTTP_E_NOT_REQUEST_LINE : KW_HTTP_E_BINARY,
                     dec_offset(c, p));
        }
        return p;
    }
    d->state = d->dir == KW_TO_SERVER ? S_METHOD : S_RESP_VERSION;
    d->sink->on_begin(d->sink->ctx, (enum kw_dir)d->dir, c->ts);
    return p;
}

/* A message that starts with a byte no text protocol sends: a TLS record
 * header (type 22, version 3.0 to 3.4: RFC 8446 5.1, RFC 5246 6.2.1) is
 * named as such, anything else is binary data. Both fail at the start; a
 * close or a hole before the header's third byte leaves binary data. */
const uint8_t *dec_sniff(struct kw_http_dec *d, const struct dec_chunk *c, const uint8_t *p)
{
    for (; p < c->end; p++) {
        uint8_t at = d->version_matched++;
        bool ok = at == 0 ? *p == TLS_HANDSHAKE : at == 1 ? *p == 0x03 : *p <= 0x04;
        if (!ok || at == 2) {
            dec_fail(d, DEC_NO_PIECE, ok ? KW_HTTP_E_TLS : KW_HTTP_E_BINARY, d->section_start);
            return c->end;
        }
    }
    return p;
}

/* The methods whose requests frame their responses differently, named from
 * the lower-cased token. Methods are case-sensitive (RFC 7230 3.1.1), but a
 * server that accepts "head" treats it as HEAD; the match errs on its side. */
void dec_method_named(struct kw_http_dec *d)
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
    d->head.method = KW_METHOD_OTHER;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (dec_token_is(d, methods[i].name, methods[i].len))
            d->head.method = methods[i].method;
    if (dec_token_is(d, "pri", 3))
        d->flags |= DEC_F_PRI; /* the HTTP/2 preface begins "PRI * HTTP/2.0" (RFC 9113 3.4) */
    d->token_len = 0;
    d->text_started = false; /* the target's pieces come next */
}

static bool token_is_ssh(const struct kw_http_dec *d)
{
    return d->token_len >= 4 && !memcmp(d->token, "ssh-", 4); /* "SSH-2.0-..." (RFC 4253 4.2) */
}

/* --- the request line, one step at a time ------------------------------- */

/* Where the request line is, within the chunk being read. */
struct line {
    const struct dec_chunk *c;
    const uint8_t *mark; /* where the text piece being read began in this chunk */
    enum dec_state st;
    enum kw_http_error error; /* set with st = S_FAILED */
    uint64_t error_offset;
    int fail_field;           /* the text field being read when it failed, or -1 */
    bool head_ended;          /* an HTTP/0.9 request ended with its line */
};

/* The text field a start-line state reads, or -1. */
static int text_field_of(enum dec_state st)
{
    return st == S_METHOD ? KW_FIELD_METHOD : st == S_URI ? KW_FIELD_URI : -1;
}

static const uint8_t *line_fail(struct line *ln, const uint8_t *p, enum kw_http_error e,
                                uint64_t offset)
{
    ln->fail_field = text_field_of(ln->st);
    ln->st = S_FAILED;
    ln->error = e;
    ln->error_offset = offset;
    return p;
}

/* The method: a token, then SP. "SSH-2.0-..." is SSH, whatever follows. */
static const uint8_t *method_step(struct kw_http_dec *d, struct line *ln, const uint8_t *p,
                                  const uint8_t *lim)
{
    const uint8_t *q = p;
    while (q < lim && kw_tchar[*q])
        q++;
    dec_token_add_run(d, p, q);
    if (q == lim)
        return q;
    if (token_is_ssh(d))
        return line_fail(ln, q, KW_HTTP_E_SSH, d->section_start);
    if (*q != ' ')
        return line_fail(ln, q, dec_is_text(*q) ? KW_HTTP_E_NOT_REQUEST_LINE : KW_HTTP_E_BINARY,
                         dec_offset(ln->c, q));
    dec_emit(d, (struct dec_piece){ KW_FIELD_METHOD, ln->mark, q });
    dec_method_named(d);
    ln->st = S_TARGET_START;
    ln->mark = q + 1;
    return q + 1;
}

/* " HTTP/1.d" CRLF right after the target, the common case, read at once
 * when it lies whole before `lim`. Returns the bytes read, or 0. */
static size_t version_at_once(struct kw_http_dec *d, const uint8_t *p, const uint8_t *lim)
{
    if ((size_t)(lim - p) < 11 || memcmp(p, " HTTP/1.", 8) || !kw_is_digit(p[8]) ||
        p[9] != '\r' || p[10] != '\n')
        return 0;
    d->head.version = (uint8_t)(10 + (p[8] - '0'));
    return 11;
}

/* A line that ended (at p, its CR or LF) with no version after the target:
 * an HTTP/0.9 request, complete with its line. HTTP/0.9 had GET alone
 * (RFC 1945 4.1), as servers that still take it do: with another method the
 * line is no request line ("EHLO host", "USER name" of other protocols). */
static const uint8_t *no_version(struct kw_http_dec *d, struct line *ln, const uint8_t *p)
{
    if (d->head.method != KW_METHOD_GET)
        return line_fail(ln, p, KW_HTTP_E_NOT_REQUEST_LINE, d->section_start);
    d->head.version = 9;
    d->head.msg_anomalies |= KW_MSG_NO_VERSION;
    if (*p == '\r') {
        ln->st = S_REQ_LINE_LF;
        return p + 1;
    }
    d->head.msg_anomalies |= KW_MSG_BARE_LF;
    dec_head_end(d, ln->c, p + 1);
    ln->head_ended = true;
    return p + 1;
}

static inline bool ends_target(uint8_t c)
{
    return c <= ' ' && (c == ' ' || c == '\r' || c == '\n');
}

/* The target (RFC 7230 5.3): any byte but CR and LF, to a SP that may begin
 * the version. Control bytes, DEL and bytes that are not UTF-8 included:
 * clients and scanners send such targets and servers answer them, often
 * with a 400 and a close, which is the persistence behaviour keepwatch is
 * here to see. The output edge escapes them. */
static const uint8_t *target_step(struct kw_http_dec *d, struct line *ln, const uint8_t *p,
                                  const uint8_t *lim)
{
    while (p < lim && !ends_target(*p))
        p++;
    if (p == lim)
        return p;
    dec_emit(d, (struct dec_piece){ KW_FIELD_URI, ln->mark, p });
    ln->mark = p;
    if (*p != ' ') {
        if (d->flags & DEC_F_TENTATIVE)
            return line_fail(ln, p, KW_HTTP_E_NONE, 0); /* seek: withdrawn (dec_discard) */
        return no_version(d, ln, p);
    }
    size_t n = version_at_once(d, p, lim);
    if (n) {
        d->flags &= (uint8_t)~DEC_F_TENTATIVE;
        ln->st = S_HEADER_LINE_START;
        return p + n;
    }
    d->held = 1; /* the SP: " HTTP/d.d" may follow */
    d->held_spaces = 0;
    ln->st = S_URI_VERSION;
    return p + 1;
}

/* Held-back bytes turned out to be part of the target: delivered as the
 * bytes they were, from the pattern they matched. */
static void release_held(struct kw_http_dec *d, unsigned held, uint32_t spaces)
{
    static const uint8_t pattern[] = " HTTP/", digits[] = "0123456789", dot[] = ".";
    static const uint8_t sp16[] = "                ";
    dec_emit(d, (struct dec_piece){ KW_FIELD_URI, pattern, pattern + (held < 6 ? held : 6) });
    for (unsigned i = 6; i < held && i < 9; i++) {
        const uint8_t *b = i == 7 ? dot : digits + d->held_digits[i == 8];
        dec_emit(d, (struct dec_piece){ KW_FIELD_URI, b, b + 1 });
    }
    while (spaces) {
        uint32_t k = spaces < 16 ? spaces : 16;
        dec_emit(d, (struct dec_piece){ KW_FIELD_URI, sp16, sp16 + k });
        spaces -= k;
    }
    d->head.msg_anomalies |= KW_MSG_SPACE_IN_TARGET;
}

/* The version ends the line: HTTP/1.x, or a failure for another major
 * version (the HTTP/2 preface, RFC 9113 3.4, after PRI). */
static const uint8_t *version_end(struct kw_http_dec *d, struct line *ln, const uint8_t *p)
{
    if (d->held_digits[0] != 1) {
        if (d->flags & DEC_F_TENTATIVE)
            return line_fail(ln, p, KW_HTTP_E_NONE, 0);
        if (d->held_digits[0] == 2 && (d->flags & DEC_F_PRI))
            return line_fail(ln, p, KW_HTTP_E_HTTP2_PREFACE, d->section_start);
        return line_fail(ln, p, KW_HTTP_E_BAD_VERSION, dec_offset(ln->c, p) - d->held_spaces - 3);
    }
    d->head.version = (uint8_t)(10 + d->held_digits[1]);
    if (d->held_spaces)
        d->head.msg_anomalies |= KW_MSG_EXTRA_SPACE;
    d->flags &= (uint8_t)~DEC_F_TENTATIVE;
    d->held = 0;
    if (*p == '\n')
        d->head.msg_anomalies |= KW_MSG_BARE_LF;
    ln->st = *p == '\r' ? S_REQ_LINE_LF : S_HEADER_LINE_START;
    return p + 1;
}

/* One byte after a SP of the target: " HTTP/" DIGIT "." DIGIT, any SPs,
 * then the line's end make the version; any other byte makes what was held
 * back part of the target, and a SP among it may begin the version again. */
static const uint8_t *held_step(struct kw_http_dec *d, struct line *ln, const uint8_t *p)
{
    static const char pattern[] = " HTTP/";
    uint8_t h = d->held, ch = *p;
    bool ok;
    if (h < 6) {
        ok = ch == (uint8_t)pattern[h];
    } else if (h == 6 || h == 8) {
        if ((ok = kw_is_digit(ch)))
            d->held_digits[h == 8] = (uint8_t)(ch - '0');
    } else if (h == 7) {
        ok = ch == '.';
    } else if (ch == '\r' || ch == '\n') {
        return version_end(d, ln, p);
    } else if ((ok = ch == ' ')) {
        d->held_spaces += d->held_spaces < UINT32_MAX;
    }
    if (ok) {
        d->held += h < 9;
        return p + 1;
    }
    if (h == 9 && d->held_spaces) { /* the last SP may begin the version: keep it */
        release_held(d, 9, d->held_spaces - 1);
        d->held = 1;
        d->held_spaces = 0;
        return p; /* this byte again, after that SP */
    }
    release_held(d, h, d->held_spaces);
    d->held_spaces = 0;
    if (ch == ' ') {
        d->held = 1;
        return p + 1;
    }
    d->held = 0;
    ln->st = S_URI;
    ln->mark = p;
    return p;
}

/* One step of the request line from p: as far as its state reads at once. */
static const uint8_t *line_step(struct kw_http_dec *d, struct line *ln, const uint8_t *p,
                                const uint8_t *lim)
{
    switch (ln->st) {
    case S_METHOD:
        return method_step(d, ln, p, lim);
    case S_TARGET_START:
        if (*p == '\r' || *p == '\n')
            return line_fail(ln, p, KW_HTTP_E_BAD_URI, dec_offset(ln->c, p)); /* no target */
        if (*p == ' ') {
            d->head.msg_anomalies |= KW_MSG_EXTRA_SPACE;
            ln->mark = p + 1;
            return p + 1;
        }
        ln->st = S_URI;
        ln->mark = p;
        return p;
    case S_URI:
        return target_step(d, ln, p, lim);
    case S_URI_VERSION:
        return held_step(d, ln, p);
    case S_REQ_LINE_LF:
    default:
        if (*p != '\n')
            return line_fail(ln, p, d->head.version == 9 ? KW_HTTP_E_BAD_URI
                                                          : KW_HTTP_E_BAD_VERSION,
                             dec_offset(ln->c, p));
        if (d->head.version != 9) {
            ln->st = S_HEADER_LINE_START;
            return p + 1;
        }
        dec_head_end(d, ln->c, p + 1); /* HTTP/0.9: no header section, no body */
        ln->head_ended = true;
        return p + 1;
    }
}

/* The request line, from its first byte or where the previous chunk left
 * it. Method and target are delivered as text pieces. A request begun by
 * dec_seek is withdrawn, not failed, when its line is not a request line. */
const uint8_t *dec_request_line(struct kw_http_dec *d, const struct dec_chunk *c,
                                const uint8_t *p)
{
    const uint8_t *const lim = dec_cap_limit(d, c);
    struct line ln = { c, p, (enum dec_state)d->state, KW_HTTP_E_NONE, 0, -1, false };
    while (p < lim && ln.st != S_HEADER_LINE_START && ln.st != S_FAILED && !ln.head_ended)
        p = line_step(d, &ln, p, lim);
    if (ln.head_ended)
        return p; /* dec_head_end stored the next state */
    if (ln.st != S_FAILED && ln.st != S_HEADER_LINE_START && p < c->end)
        line_fail(&ln, p, KW_HTTP_E_HEAD_TOO_BIG, d->section_start + d->head_max);
    struct dec_piece unsent = { ln.st == S_FAILED ? ln.fail_field : text_field_of(ln.st),
                                ln.mark, p };
    if (ln.st == S_FAILED) {
        if (d->flags & DEC_F_TENTATIVE) {
            dec_discard(d, unsent); /* seeks again from this byte */
            return p;
        }
        dec_fail(d, unsent, ln.error, ln.error_offset);
        return c->end;
    }
    d->state = ln.st;
    if (p > ln.mark)
        dec_emit(d, unsent);
    return p;
}

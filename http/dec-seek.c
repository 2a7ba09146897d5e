/* dec-seek.c: finding a message boundary in a stream picked up after it
 * began, or after a hole in the capture (kw_http_dec_seek, kw_http_dec_gap).
 *
 * Bytes are skipped, and counted, line by line. At each line start the line
 * is tried as a boundary: for responses "HTTP/1." DIGIT SP and three digits,
 * which begin a response at once; for requests an upper-case method, SP and
 * a target's first byte, which begin a request tentatively: it is withdrawn
 * (on_discard) unless the line ends with " HTTP/1.x" (dec-start.c). Body
 * bytes rarely look like either, and the check costs no copy: the method is
 * kept in the token buffer, the rest is the decoder's usual state. */
#include "http/dec-sections.h"

#define SEEK_METHOD_MAX 16 /* the longest method a boundary may start with */

enum seek_step { SEEK_MORE, SEEK_NO, SEEK_FOUND };

/* The candidate line being matched is forgotten. */
static void candidate_reset(struct kw_http_dec *d)
{
    d->token_len = 0;
    d->held = 0;
    d->version_matched = 0;
    d->head.version = 0;
    d->head.status = 0;
}

static bool candidate_started(const struct kw_http_dec *d)
{
    return d->token_len || d->held || d->version_matched;
}

/* A request line's first bytes: [A-Z]+ SP, then the target's first byte,
 * which is not consumed (SEEK_FOUND). */
static enum seek_step request_byte(struct kw_http_dec *d, uint8_t c)
{
    if (!d->held) {
        if (c >= 'A' && c <= 'Z' && d->token_len < SEEK_METHOD_MAX) {
            d->token[d->token_len++] = (char)kw_lower(c);
            return SEEK_MORE;
        }
        if (c == ' ' && d->token_len) {
            d->held = 1; /* the method's SP */
            return SEEK_MORE;
        }
        return SEEK_NO;
    }
    return c == ' ' || c == '\r' || c == '\n' ? SEEK_NO : SEEK_FOUND;
}

/* "HTTP/1." DIGIT SP DIGIT DIGIT DIGIT; the last digit is consumed. */
static enum seek_step response_byte(struct kw_http_dec *d, uint8_t c)
{
    static const char prefix[] = "HTTP/1.";
    uint8_t at = d->version_matched;
    bool ok = at < 7 ? c == (uint8_t)prefix[at] : at == 8 ? c == ' ' : kw_is_digit(c);
    if (!ok)
        return SEEK_NO;
    if (at == 7)
        d->head.version = (uint8_t)(10 + (c - '0'));
    else if (at > 8)
        d->head.status = (uint16_t)(d->head.status * 10 + (c - '0'));
    d->version_matched++;
    return at == 11 ? SEEK_FOUND : SEEK_MORE;
}

/* The line at d->line_start begins a message: what was skipped before it
 * is counted, and the message begins as any other, at the line's time. */
static const uint8_t *found(struct kw_http_dec *d, const uint8_t *p)
{
    bool request = d->dir == KW_TO_SERVER;
    d->skipped = dec_add_sat(d->skipped, d->line_start - d->seek_from);
    d->seek_from = d->line_start; /* a request withdrawn is skipped from here */
    d->in_message = true;
    d->section_start = d->line_start;
    if (request) {
        d->flags |= DEC_F_TENTATIVE;
        d->held = 0;
        d->state = S_URI;
    } else {
        d->head.has_status = true;
        d->status_digits = 3;
        d->state = S_STATUS;
        p++;
    }
    d->sink->on_begin(d->sink->ctx, (enum kw_dir)d->dir, d->line_ts);
    if (d->state == S_TUNNEL || !request)
        return p;
    /* the method, upper-case as matched, from the token buffer */
    uint8_t method[SEEK_METHOD_MAX];
    for (uint8_t i = 0; i < d->token_len; i++)
        method[i] = (uint8_t)(d->token[i] & ~0x20);
    dec_emit(d, (struct dec_piece){ KW_FIELD_METHOD, method, method + d->token_len });
    dec_method_named(d);
    return p;
}

/* Skipping to a line start, then trying the line. */
const uint8_t *dec_seek(struct kw_http_dec *d, const struct dec_chunk *c, const uint8_t *p)
{
    enum dec_state st = d->state;
    bool request = d->dir == KW_TO_SERVER;
    while (p < c->end) {
        if (st == S_SEEK_LF) {
            const uint8_t *lf = memchr(p, '\n', (size_t)(c->end - p));
            p = lf ? lf + 1 : c->end;
            if (lf)
                st = S_SEEK_LINE;
            continue;
        }
        if (!candidate_started(d)) {
            if (*p == '\r' || *p == '\n') { /* an empty line: the next one starts after it */
                p++;
                continue;
            }
            d->line_start = dec_offset(c, p);
            d->line_ts = c->ts;
        }
        enum seek_step s = request ? request_byte(d, *p) : response_byte(d, *p);
        if (s == SEEK_MORE) {
            p++;
        } else if (s == SEEK_NO) {
            candidate_reset(d);
            st = S_SEEK_LF; /* this byte again: it may be the LF */
        } else {
            return found(d, p);
        }
    }
    d->state = st;
    return p;
}

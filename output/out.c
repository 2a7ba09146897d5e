/* out.c: choosing the writer, and the names both writers print. */
#include "output/out-impl.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

void kw_buf_endpoint_ip(struct kw_buf *b, const struct kw_endpoint *e)
{
    char s[INET6_ADDRSTRLEN];
    if (!inet_ntop(e->family == 6 ? AF_INET6 : AF_INET, e->addr, s, sizeof(s)))
        s[0] = '\0';
    kw_buf_puts(b, s);
}

const char *kw_close_name(enum kw_close c)
{
    switch (c) {
    case KW_CLOSE_FIN: return "fin";
    case KW_CLOSE_RST: return "rst";
    case KW_CLOSE_TIMEOUT: return "timeout";
    case KW_CLOSE_CAPTURE_END: return "capture-end";
    }
    return "unknown";
}

const char *kw_side_name(enum kw_side s)
{
    switch (s) {
    case KW_SIDE_CLIENT: return "client";
    case KW_SIDE_SERVER: return "server";
    case KW_SIDE_NONE: break;
    }
    return "none";
}

const char *kw_framing_name(enum kw_framing f)
{
    switch (f) {
    case KW_FRAMING_CONTENT_LENGTH: return "content-length";
    case KW_FRAMING_CHUNKED: return "chunked";
    case KW_FRAMING_CLOSE: return "close";
    case KW_FRAMING_NONE: break;
    }
    return "none";
}

size_t kw_out_iso8601(struct kw_out *o, kw_usec ts, char out[KW_ISO8601_LEN])
{
    int64_t sec = ts / KW_USEC_PER_SEC, us = ts % KW_USEC_PER_SEC;
    if (us < 0) {
        us += KW_USEC_PER_SEC;
        sec--;
    }
    if (sec != o->iso_sec || !o->iso_prefix[0]) {
        kw_time_iso8601(sec * KW_USEC_PER_SEC, o->iso_prefix); /* "YYYY-MM-DDTHH:MM:SS.000000Z" */
        o->iso_sec = sec;
    }
    size_t n = strlen(o->iso_prefix);
    memcpy(out, o->iso_prefix, n + 1);
    if (n == 27) /* the fraction sits at 20..25 */
        for (int i = 25; i >= 20; i--, us /= 10)
            out[i] = (char)('0' + us % 10);
    return n;
}

struct kw_out *kw_out_new(enum kw_out_format format, FILE *f)
{
    struct kw_out *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->format = format;
    o->f = f;
    if (format == KW_OUT_JSON) {
        o->sink = (struct kw_track_sink){ o, kw_json_txn, NULL, kw_json_end };
        o->rules_sink = (struct kw_rules_sink){ o, kw_json_finding, kw_json_server };
    } else {
        o->sink = (struct kw_track_sink){ o, kw_text_txn, kw_text_fin, kw_text_end };
        o->rules_sink = (struct kw_rules_sink){ o, kw_text_finding, kw_text_server };
    }
    return o;
}

const struct kw_track_sink *kw_out_sink(struct kw_out *o)
{
    return &o->sink;
}

const struct kw_rules_sink *kw_out_rules_sink(struct kw_out *o)
{
    return &o->rules_sink;
}

void kw_out_stats(struct kw_out *o, const struct kw_stats *st, kw_usec ts)
{
    if (o->format == KW_OUT_JSON)
        kw_json_stats(o, st, ts);
    else
        kw_text_stats(o, st, ts);
    fflush(o->f);
}

void kw_out_free(struct kw_out *o)
{
    if (!o)
        return;
    kw_buf_free(&o->buf);
    free(o);
}

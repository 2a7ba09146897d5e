/* json.c: one JSON object per line. Field names are a public contract:
 * add fields, never rename them. */
#include "output/out-impl.h"

#include <inttypes.h>
#include <string.h>

static void key(struct kw_buf *b, const char *k)
{
    kw_buf_printf(b, ",\"%s\":", k);
}

static void str(struct kw_buf *b, const char *k, const char *v)
{
    key(b, k);
    if (!v) {
        kw_buf_puts(b, "null");
        return;
    }
    kw_buf_puts(b, "\"");
    kw_buf_json_str(b, (const uint8_t *)v, strlen(v));
    kw_buf_puts(b, "\"");
}

static void wire(struct kw_buf *b, const char *k, const struct kw_text *t)
{
    key(b, k);
    if (!t->present) {
        kw_buf_puts(b, "null");
        return;
    }
    kw_buf_puts(b, "\"");
    kw_buf_json_str(b, t->p, t->len);
    kw_buf_puts(b, "\"");
}

static void u64(struct kw_buf *b, const char *k, uint64_t v)
{
    key(b, k);
    kw_buf_printf(b, "%" PRIu64, v);
}

static void boolean(struct kw_buf *b, const char *k, bool v)
{
    key(b, k);
    kw_buf_puts(b, v ? "true" : "false");
}

/* A duration in seconds with microseconds, exactly; null for KW_TS_NONE. */
static void secs(struct kw_buf *b, const char *k, kw_usec d)
{
    key(b, k);
    if (d == KW_TS_NONE) {
        kw_buf_puts(b, "null");
        return;
    }
    const char *sign = d < 0 ? "-" : "";
    uint64_t a = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    kw_buf_printf(b, "%s%" PRIu64 ".%06" PRIu64, sign, a / KW_USEC_PER_SEC, a % KW_USEC_PER_SEC);
}

static void version(struct kw_buf *b, const char *k, uint8_t v)
{
    key(b, k);
    if (!v)
        kw_buf_puts(b, "null");
    else
        kw_buf_printf(b, "\"%d.%d\"", v / 10, v % 10);
}

static void anomalies(struct kw_buf *b, const char *k, uint8_t a)
{
    static const struct { uint8_t bit; const char *name; } names[] = {
        { KW_ANOM_CL_AND_TE, "content-length-and-transfer-encoding" },
        { KW_ANOM_CL_DIFFERING, "content-length-differing" },
        { KW_ANOM_CL_INVALID, "content-length-invalid" },
        { KW_ANOM_CHUNKED_HTTP10, "chunked-http10" },
        { KW_ANOM_TE_NOT_CHUNKED, "transfer-encoding-not-chunked" },
    };
    key(b, k);
    kw_buf_puts(b, "[");
    bool first = true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (a & names[i].bit) {
            kw_buf_printf(b, "%s\"%s\"", first ? "" : ",", names[i].name);
            first = false;
        }
    kw_buf_puts(b, "]");
}

static void common(struct kw_buf *b, const char *event, kw_usec ts, const struct kw_conn_info *c)
{
    char iso[KW_ISO8601_LEN];
    kw_time_iso8601(ts, iso);
    kw_buf_printf(b, "{\"event\":\"%s\",\"ts\":\"%s\"", event, iso);
    if (!c) {
        kw_buf_puts(b, ",\"conn\":null,\"client_ip\":null,\"client_port\":null,"
                       "\"server_ip\":null,\"server_port\":null");
        return;
    }
    kw_buf_printf(b, ",\"conn\":%" PRIu64 ",\"client_ip\":\"", c->id);
    kw_buf_endpoint_ip(b, &c->key.client);
    kw_buf_printf(b, "\",\"client_port\":%u,\"server_ip\":\"", c->key.client.port);
    kw_buf_endpoint_ip(b, &c->key.server);
    kw_buf_printf(b, "\",\"server_port\":%u", c->key.server.port);
}

static void finish(struct kw_out *o)
{
    kw_buf_puts(&o->buf, "}\n");
    kw_buf_write(&o->buf, o->f);
}

void kw_json_txn(void *ctx, struct kw_conn_info *c, const struct kw_txn *t)
{
    struct kw_out *o = ctx;
    struct kw_buf *b = &o->buf;
    common(b, "transaction", t->has_request ? t->req_first : t->resp_first, c);
    key(b, "request");
    if (t->has_request)
        kw_buf_printf(b, "%u", t->index);
    else
        kw_buf_puts(b, "null");
    wire(b, "method", &t->method);
    wire(b, "uri", &t->uri);
    version(b, "version", t->has_request ? t->req.version : 0);
    wire(b, "host", &t->host);
    wire(b, "user_agent", &t->user_agent);
    wire(b, "req_connection", &t->req_connection);
    key(b, "status");
    if (t->has_response)
        kw_buf_printf(b, "%u", t->resp.status);
    else
        kw_buf_puts(b, "null");
    version(b, "resp_version", t->has_response ? t->resp.version : 0);
    wire(b, "resp_connection", &t->resp_connection);
    wire(b, "resp_keep_alive", &t->resp_keep_alive);
    wire(b, "server_software", &t->server);
    str(b, "framing", t->has_response ? kw_framing_name(t->framing) : NULL);
    key(b, "resp_body_len");
    if (t->has_response)
        kw_buf_printf(b, "%" PRIu64, t->resp_body_len);
    else
        kw_buf_puts(b, "null");
    secs(b, "idle_before_s", t->idle_before);
    bool answered = t->has_request && t->has_response && t->response_complete &&
                    t->req_last != KW_TS_NONE;
    secs(b, "response_time_s", answered ? t->resp_last - t->req_last : KW_TS_NONE);
    /* fields beyond the first contract */
    secs(b, "ttfb_s", t->has_request && t->has_response && t->req_last != KW_TS_NONE
                          ? t->resp_first - t->req_last : KW_TS_NONE);
    wire(b, "req_keep_alive", &t->req_keep_alive);
    boolean(b, "request_complete", t->request_complete);
    boolean(b, "response_complete", t->response_complete);
    boolean(b, "pipelined", t->pipelined);
    boolean(b, "after_server_fin", t->after_server_fin);
    str(b, "no_response", t->has_response || !t->has_request
                              ? NULL : kw_no_response_name(t->no_response));
    u64(b, "interim_responses", t->n_interim);
    key(b, "req_body_len");
    if (t->has_request)
        kw_buf_printf(b, "%" PRIu64, t->req_body_len);
    else
        kw_buf_puts(b, "null");
    boolean(b, "uri_truncated", t->uri.truncated);
    anomalies(b, "req_framing_anomalies", t->req.anomalies);
    anomalies(b, "resp_framing_anomalies", t->resp.anomalies);
    finish(o);
}

static const char *dir_name(enum kw_dir d)
{
    return d == KW_TO_SERVER ? "client-to-server" : "server-to-client";
}

void kw_json_end(void *ctx, struct kw_conn_info *c, const struct kw_conn_end *e)
{
    struct kw_out *o = ctx;
    struct kw_buf *b = &o->buf;
    common(b, "connection", c->start, c);
    u64(b, "requests", e->requests);
    u64(b, "responses", e->responses);
    boolean(b, "reused", e->reused);
    str(b, "closed_by", kw_side_name(e->closed_by));
    str(b, "close", kw_close_name(e->close));
    boolean(b, "close_announced", e->close_announced);
    secs(b, "idle_before_close_s", e->idle_before_close);
    u64(b, "lost_requests", e->lost_requests);
    secs(b, "duration_s", e->end_ts - c->start);
    str(b, "not_http", e->not_http);
    key(b, "gap");
    bool gc = e->gap_offset[KW_TO_SERVER] != KW_NO_GAP, gs = e->gap_offset[KW_TO_CLIENT] != KW_NO_GAP;
    if (!gc && !gs) {
        kw_buf_puts(b, "null");
    } else {
        enum kw_dir d = gc ? KW_TO_SERVER : KW_TO_CLIENT;
        kw_buf_printf(b, "{\"direction\":\"%s\",\"offset\":%" PRId64, gc && gs ? "both" : dir_name(d),
                      e->gap_offset[d]);
        if (gc && gs)
            kw_buf_printf(b, ",\"offset_server_to_client\":%" PRId64, e->gap_offset[KW_TO_CLIENT]);
        kw_buf_puts(b, "}");
    }
    /* fields beyond the first contract */
    boolean(b, "http", e->http);
    u64(b, "requests_after_server_fin", e->after_server_fin);
    secs(b, "client_fin_s", e->fin_ts[KW_TO_SERVER] == KW_TS_NONE ? KW_TS_NONE
                                                                  : e->fin_ts[KW_TO_SERVER] - c->start);
    secs(b, "server_fin_s", e->fin_ts[KW_TO_CLIENT] == KW_TS_NONE ? KW_TS_NONE
                                                                  : e->fin_ts[KW_TO_CLIENT] - c->start);
    str(b, "rst_by", e->rst_by == KW_SIDE_NONE ? NULL : kw_side_name(e->rst_by));
    str(b, "tunnel", e->tunnel == KW_TUNNEL_UPGRADE ? "upgrade"
                     : e->tunnel == KW_TUNNEL_CONNECT ? "connect" : NULL);
    if (e->not_http) {
        str(b, "not_http_direction", dir_name(e->not_http_dir));
        u64(b, "not_http_offset", e->not_http_offset);
    }
    finish(o);
}

void kw_json_stats(struct kw_out *o, const struct kw_stats *st, kw_usec ts)
{
    struct kw_buf *b = &o->buf;
    common(b, "stats", ts, NULL);
    u64(b, "packets", st->packets);
    u64(b, "bytes", st->bytes);
    u64(b, "connections", st->connections);
    u64(b, "http_connections", st->http_connections);
    u64(b, "requests", st->requests);
    u64(b, "responses", st->responses);
    u64(b, "lost_requests", st->lost_requests);
    u64(b, "not_http", st->not_http);
    key(b, "skipped");
    kw_buf_printf(b,
                  "{\"ipv6\":%" PRIu64 ",\"truncated\":%" PRIu64 ",\"mid_stream\":%" PRIu64
                  ",\"not_ip\":%" PRIu64 ",\"not_tcp\":%" PRIu64 ",\"invalid\":%" PRIu64
                  ",\"fragments\":%" PRIu64 ",\"tcp_invalid\":%" PRIu64 "}",
                  st->skip_ipv6, st->skip_truncated, st->skip_mid_stream, st->skip_not_ip,
                  st->skip_not_tcp, st->skip_invalid, st->skip_fragment, st->tcp_invalid);
    u64(b, "streams_evicted", st->streams_evicted);
    u64(b, "queues_dropped", st->queue_dropped);
    u64(b, "connections_with_gap", st->connections_gap);
    u64(b, "files_truncated", st->files_truncated);
    finish(o);
}

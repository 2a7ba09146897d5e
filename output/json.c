/* json.c: one JSON object per line. Field names are a public contract:
 * add fields, never rename them. */
#include "output/community_id.h"
#include "output/escape.h"
#include "output/out-impl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A key as its literal text ,"name": with its length, known at compile time. */
#define KEY(name) ",\"" name "\":", sizeof(",\"" name "\":") - 1

static void key(struct kw_buf *b, const char *k, size_t kn)
{
    kw_buf_put(b, k, kn);
}

static void str(struct kw_buf *b, const char *k, size_t kn, const char *v)
{
    key(b, k, kn);
    if (!v) {
        kw_buf_put(b, "null", sizeof("null") - 1);
        return;
    }
    kw_buf_put(b, "\"", sizeof("\"") - 1);
    kw_buf_json_str(b, (const uint8_t *)v, strlen(v));
    kw_buf_put(b, "\"", sizeof("\"") - 1);
}

/* Wire bytes as a JSON string. Bytes that are not UTF-8 read as U+FFFD in it,
 * so the exact bytes follow as hex in "<key>_raw". `k` is a KEY() literal. */
static void wire_bytes(struct kw_buf *b, const char *k, size_t kn, const uint8_t *p, size_t n)
{
    key(b, k, kn);
    kw_buf_put(b, "\"", 1);
    size_t replaced = kw_buf_json_str(b, p, n);
    kw_buf_put(b, "\"", 1);
    if (replaced) {
        kw_buf_put(b, k, kn - 2); /* ,"key */
        kw_buf_put(b, "_raw\":\"", 7);
        kw_buf_hex(b, p, n);
        kw_buf_put(b, "\"", 1);
    }
}

static void wire(struct kw_buf *b, const char *k, size_t kn, const struct kw_text *t)
{
    if (!t->present) {
        key(b, k, kn);
        kw_buf_put(b, "null", sizeof("null") - 1);
        return;
    }
    wire_bytes(b, k, kn, t->p, t->len);
}

static void u64(struct kw_buf *b, const char *k, size_t kn, uint64_t v)
{
    key(b, k, kn);
    kw_buf_u64(b, v);
}

static void null(struct kw_buf *b, const char *k, size_t kn)
{
    key(b, k, kn);
    kw_buf_put(b, "null", 4);
}

static void boolean(struct kw_buf *b, const char *k, size_t kn, bool v)
{
    key(b, k, kn);
    if (v)
        kw_buf_put(b, "true", 4);
    else
        kw_buf_put(b, "false", 5);
}

/* A duration in seconds with microseconds, exactly; null for KW_TS_NONE. */
static void secs(struct kw_buf *b, const char *k, size_t kn, kw_usec d)
{
    key(b, k, kn);
    if (d == KW_TS_NONE) {
        kw_buf_put(b, "null", sizeof("null") - 1);
        return;
    }
    char s[KW_DURATION_LEN];
    kw_buf_put(b, s, kw_time_secs(d, s));
}

static void version(struct kw_buf *b, const char *k, size_t kn, uint8_t v)
{
    key(b, k, kn);
    if (!v) {
        kw_buf_put(b, "null", sizeof("null") - 1);
        return;
    }
    char s[5] = { '"', (char)('0' + v / 10 % 10), '.', (char)('0' + v % 10), '"' };
    kw_buf_put(b, s, 5);
}

/* A set of flags as a JSON array of their names, in the table's order. */
struct flag_name {
    unsigned bit;
    const char *name;
};

static void flag_list(struct kw_buf *b, const char *k, size_t kn, unsigned set,
                      const struct flag_name *names, size_t n)
{
    key(b, k, kn);
    kw_buf_put(b, "[", sizeof("[") - 1);
    const char *sep = "";
    for (size_t i = 0; i < n; i++)
        if (set & names[i].bit) {
            kw_buf_printf(b, "%s\"%s\"", sep, names[i].name);
            sep = ",";
        }
    kw_buf_put(b, "]", sizeof("]") - 1);
}

/* The framing anomalies of a message (KW_ANOM_*). */
static void anomalies(struct kw_buf *b, const char *k, size_t kn, uint8_t a)
{
    static const struct flag_name names[] = {
        { KW_ANOM_CL_AND_TE, "content-length-and-transfer-encoding" },
        { KW_ANOM_CL_DIFFERING, "content-length-differing" },
        { KW_ANOM_CL_INVALID, "content-length-invalid" },
        { KW_ANOM_CHUNKED_HTTP10, "chunked-http10" },
        { KW_ANOM_TE_NOT_CHUNKED, "transfer-encoding-not-chunked" },
    };
    flag_list(b, k, kn, a, names, sizeof(names) / sizeof(names[0]));
}

/* How a message departs from RFC 7230 while still read as HTTP/1.x (KW_MSG_*). */
static void msg_anomalies(struct kw_buf *b, const char *k, size_t kn, uint16_t a)
{
    static const struct flag_name names[] = {
        { KW_MSG_NO_VERSION, "no-version" },
        { KW_MSG_SPACE_IN_TARGET, "space-in-target" },
        { KW_MSG_EXTRA_SPACE, "extra-space" },
        { KW_MSG_BARE_LF, "bare-lf" },
        { KW_MSG_JUNK_BEFORE_STATUS, "junk-before-status" },
        { KW_MSG_OBS_FOLD, "obs-fold" },
        { KW_MSG_STATUS_OUT_OF_RANGE, "status-out-of-range" },
        { KW_MSG_NO_STATUS_LINE, "no-status-line" },
    };
    flag_list(b, k, kn, a, names, sizeof(names) / sizeof(names[0]));
}

/* The connection's part of the common fields, formatted at its first event. */
struct json_conn {
    uint16_t len;
    char text[208];
};

static const struct json_conn *conn_fields(const struct kw_out *o, struct json_conn *jc,
                                           const struct kw_conn_info *c)
{
    if (jc->len)
        return jc;
    struct kw_buf b = { 0 };
    u64(&b, KEY("conn"), c->id);
    kw_buf_put(&b, ",\"client_ip\":\"", sizeof(",\"client_ip\":\"") - 1);
    out_endpoint_ip(&b, &c->key.client);
    kw_buf_put(&b, "\"", 1);
    u64(&b, KEY("client_port"), c->key.client.port);
    kw_buf_put(&b, ",\"server_ip\":\"", sizeof(",\"server_ip\":\"") - 1);
    out_endpoint_ip(&b, &c->key.server);
    kw_buf_put(&b, "\"", 1);
    u64(&b, KEY("server_port"), c->key.server.port);
    char id[KW_COMMUNITY_ID_LEN];
    kw_community_id(&c->key, o->opts.community_id_seed, id);
    str(&b, KEY("community_id"), id);
    jc->len = (uint16_t)(b.len < sizeof(jc->text) ? b.len : sizeof(jc->text));
    memcpy(jc->text, b.p, jc->len);
    kw_buf_free(&b);
    return jc;
}

/* The fields every event has. Without a connection, `server` (or nothing)
 * fills the endpoint fields. */
static void event_head_server(struct kw_out *o, const char *event, kw_usec ts,
                          struct json_conn *jc, const struct kw_conn_info *c,
                          const struct kw_endpoint *server)
{
    struct kw_buf *b = &o->buf;
    char iso[KW_ISO8601_LEN];
    kw_buf_put(b, "{\"event\":\"", 10);
    kw_buf_puts(b, event);
    if (ts == KW_TS_NONE) { /* nothing was read */
        kw_buf_put(b, "\",\"ts\":null", sizeof("\",\"ts\":null") - 1);
    } else {
        kw_buf_put(b, "\",\"ts\":\"", 8);
        kw_buf_put(b, iso, out_iso8601(o, ts, iso));
        kw_buf_put(b, "\"", 1);
    }
    if (c) {
        conn_fields(o, jc, c);
        kw_buf_put(b, jc->text, jc->len);
    } else if (server) {
        kw_buf_put(b, ",\"conn\":null,\"client_ip\":null,\"client_port\":null,\"server_ip\":\"", sizeof(",\"conn\":null,\"client_ip\":null,\"client_port\":null,\"server_ip\":\"") - 1);
        out_endpoint_ip(b, server);
        kw_buf_put(b, "\"", 1);
        u64(b, KEY("server_port"), server->port);
    } else {
        kw_buf_puts(b, ",\"conn\":null,\"client_ip\":null,\"client_port\":null,"
                       "\"server_ip\":null,\"server_port\":null");
    }
    if (o->opts.sensor && o->opts.sensor[0]) /* --sensor '': none */
        str(b, KEY("sensor"), o->opts.sensor);
}

/* The event kinds --events asked for (all by default). */
static bool wanted(const struct kw_out *o, unsigned kind)
{
    return !o->opts.events || (o->opts.events & kind);
}

static void event_head(struct kw_out *o, const char *event, kw_usec ts, struct json_conn *jc,
                   const struct kw_conn_info *c)
{
    event_head_server(o, event, ts, jc, c, NULL);
}

static void event_end(struct kw_out *o)
{
    kw_buf_puts(&o->buf, "}\n");
    kw_buf_write(&o->buf, o->f);
}

static void json_txn(struct kw_out *o, void *conn, struct kw_conn_info *c, const struct kw_txn *t)
{
    if (!wanted(o, KW_EVENT_TRANSACTION))
        return;
    struct kw_buf *b = &o->buf;
    event_head(o, "transaction", t->has_request ? t->req_first : t->resp_first, conn, c);
    if (t->has_request)
        u64(b, KEY("request"), t->index);
    else
        null(b, KEY("request"));
    wire(b, KEY("method"), &t->method);
    if (t->uri.present)
        wire_bytes(b, KEY("uri"), t->uri.p, out_uri_len(o, t->uri.p, t->uri.len));
    else
        null(b, KEY("uri"));
    version(b, KEY("version"), t->has_request ? t->req.version : 0);
    wire(b, KEY("host"), &t->host);
    wire(b, KEY("user_agent"), &t->user_agent);
    wire(b, KEY("req_connection"), &t->req_connection);
    if (t->has_response && t->resp.has_status)
        u64(b, KEY("status"), t->resp.status);
    else
        null(b, KEY("status"));
    version(b, KEY("resp_version"), t->has_response ? t->resp.version : 0);
    wire(b, KEY("resp_connection"), &t->resp_connection);
    wire(b, KEY("resp_keep_alive"), &t->resp_keep_alive);
    wire(b, KEY("server_software"), &t->server);
    str(b, KEY("framing"), t->has_response ? out_framing_name(t->framing) : NULL);
    if (t->has_response)
        u64(b, KEY("resp_body_len"), t->resp_body_len);
    else
        null(b, KEY("resp_body_len"));
    secs(b, KEY("idle_before_s"), t->idle_before);
    bool answered = t->has_request && t->has_response && t->response_complete &&
                    t->req_last != KW_TS_NONE;
    secs(b, KEY("response_time_s"), answered ? t->resp_last - t->req_last : KW_TS_NONE);
    /* fields beyond the first contract */
    secs(b, KEY("ttfb_s"), t->has_request && t->has_response && t->req_last != KW_TS_NONE
                          ? t->resp_first - t->req_last : KW_TS_NONE);
    wire(b, KEY("req_keep_alive"), &t->req_keep_alive);
    boolean(b, KEY("request_complete"), t->request_complete);
    boolean(b, KEY("response_complete"), t->response_complete);
    if (t->pipelined_unknown)
        null(b, KEY("pipelined"));
    else
        boolean(b, KEY("pipelined"), t->pipelined);
    boolean(b, KEY("after_server_fin"), t->after_server_fin);
    str(b, KEY("no_response"), t->has_response || !t->has_request
                              ? NULL : kw_no_response_name(t->no_response));
    u64(b, KEY("interim_responses"), t->n_interim);
    if (t->has_request && t->req.version) /* 0: its head was not read */
        u64(b, KEY("req_body_len"), t->req_body_len);
    else
        null(b, KEY("req_body_len"));
    boolean(b, KEY("uri_truncated"), t->uri.truncated);
    anomalies(b, KEY("req_framing_anomalies"), t->req.anomalies);
    anomalies(b, KEY("resp_framing_anomalies"), t->resp.anomalies);
    if (!t->req.msg_anomalies && !t->resp.msg_anomalies && !t->capture_loss && !t->midstream) {
        /* the common case, written at once */
        static const char clean[] = ",\"req_anomalies\":[],\"resp_anomalies\":[],"
                                    "\"capture_loss\":false,\"midstream\":false";
        kw_buf_put(b, clean, sizeof(clean) - 1);
    } else {
        msg_anomalies(b, KEY("req_anomalies"), t->req.msg_anomalies);
        msg_anomalies(b, KEY("resp_anomalies"), t->resp.msg_anomalies);
        boolean(b, KEY("capture_loss"), t->capture_loss);
        boolean(b, KEY("midstream"), t->midstream);
    }
    /* as Zeek's http.log status_msg (and proxied), Suricata's xff */
    wire(b, KEY("status_msg"), &t->status_msg);
    wire(b, KEY("req_content_type"), &t->req_content_type);
    wire(b, KEY("resp_content_type"), &t->resp_content_type);
    wire(b, KEY("x_forwarded_for"), &t->x_forwarded_for);
    wire(b, KEY("via"), &t->via);
    event_end(o);
}

static const char *dir_name(enum kw_dir d)
{
    return d == KW_TO_SERVER ? "client-to-server" : "server-to-client";
}

static void json_end(struct kw_out *o, void *conn, struct kw_conn_info *c,
                     const struct kw_conn_end *e)
{
    if (!wanted(o, KW_EVENT_CONNECTION))
        return;
    struct kw_buf *b = &o->buf;
    event_head(o, "connection", c->start, conn, c);
    u64(b, KEY("requests"), e->requests);
    u64(b, KEY("responses"), e->responses);
    boolean(b, KEY("reused"), e->reused);
    str(b, KEY("closed_by"), out_side_name(e->closed_by));
    str(b, KEY("close"), out_close_name(e->close));
    boolean(b, KEY("close_announced"), e->close_announced);
    secs(b, KEY("idle_before_close_s"), e->idle_before_close);
    u64(b, KEY("lost_requests"), e->lost_requests);
    secs(b, KEY("duration_s"), e->end_ts - c->start);
    str(b, KEY("not_http"), e->not_http);
    key(b, KEY("gap"));
    bool gc = e->gap_offset[KW_TO_SERVER] != KW_NO_GAP, gs = e->gap_offset[KW_TO_CLIENT] != KW_NO_GAP;
    if (!gc && !gs) {
        kw_buf_put(b, "null", sizeof("null") - 1);
    } else {
        enum kw_dir d = gc ? KW_TO_SERVER : KW_TO_CLIENT;
        kw_buf_printf(b, "{\"direction\":\"%s\",\"offset\":%" PRId64, gc && gs ? "both" : dir_name(d),
                      e->gap_offset[d]);
        if (gc && gs)
            kw_buf_printf(b, ",\"offset_server_to_client\":%" PRId64, e->gap_offset[KW_TO_CLIENT]);
        kw_buf_put(b, "}", sizeof("}") - 1);
    }
    /* fields beyond the first contract */
    boolean(b, KEY("http"), e->http);
    u64(b, KEY("requests_after_server_fin"), e->after_server_fin);
    secs(b, KEY("client_fin_s"), e->fin_ts[KW_TO_SERVER] == KW_TS_NONE ? KW_TS_NONE
                                                                  : e->fin_ts[KW_TO_SERVER] - c->start);
    secs(b, KEY("server_fin_s"), e->fin_ts[KW_TO_CLIENT] == KW_TS_NONE ? KW_TS_NONE
                                                                  : e->fin_ts[KW_TO_CLIENT] - c->start);
    str(b, KEY("rst_by"), e->rst_by == KW_SIDE_NONE ? NULL : out_side_name(e->rst_by));
    str(b, KEY("tunnel"), e->tunnel == KW_TUNNEL_UPGRADE ? "upgrade"
                     : e->tunnel == KW_TUNNEL_CONNECT ? "connect" : NULL);
    str(b, KEY("timeout_cause"), out_timeout_name(e->timeout));
    if (e->not_http) {
        str(b, KEY("not_http_direction"), dir_name(e->not_http_dir));
        u64(b, KEY("not_http_offset"), e->not_http_offset);
    }
    if (!e->midstream && !(e->missed_bytes[0] | e->missed_bytes[1] | e->skipped_bytes[0] |
                           e->skipped_bytes[1])) {
        static const char whole[] = ",\"midstream\":false,\"client_missed_bytes\":0,"
                                    "\"server_missed_bytes\":0,\"client_skipped_bytes\":0,"
                                    "\"server_skipped_bytes\":0";
        kw_buf_put(b, whole, sizeof(whole) - 1);
    } else {
        boolean(b, KEY("midstream"), e->midstream);
        u64(b, KEY("client_missed_bytes"), e->missed_bytes[KW_TO_SERVER]);
        u64(b, KEY("server_missed_bytes"), e->missed_bytes[KW_TO_CLIENT]);
        u64(b, KEY("client_skipped_bytes"), e->skipped_bytes[KW_TO_SERVER]);
        u64(b, KEY("server_skipped_bytes"), e->skipped_bytes[KW_TO_CLIENT]);
    }
    /* what the packets showed, as Zeek's conn.log (docs/json.md) */
    u64(b, KEY("client_bytes"), e->bytes[KW_TO_SERVER]);
    u64(b, KEY("server_bytes"), e->bytes[KW_TO_CLIENT]);
    if (e->packets_unknown) {
        null(b, KEY("client_packets"));
        null(b, KEY("server_packets"));
    } else {
        u64(b, KEY("client_packets"), e->packets[KW_TO_SERVER]);
        u64(b, KEY("server_packets"), e->packets[KW_TO_CLIENT]);
    }
    str(b, KEY("history"), e->history);
    event_end(o);
}

/* The counts of what was not analysed or was out of the ordinary, by
 * their keys: "skipped" (with its "encapsulation") first, then the others. */
static void counts(struct kw_buf *b, const struct kw_stats *st)
{
    static const char skip[] = "skipped.", encap[] = "skipped.encapsulation.";
    struct out_count c[OUT_COUNTS_MAX];
    size_t n = out_skipped_counts(st, c);
    const char *open = ",\"skipped\":{";
    for (size_t i = 0; i < n; i++)
        if (!strncmp(c[i].key, skip, sizeof(skip) - 1) &&
            strncmp(c[i].key, encap, sizeof(encap) - 1)) {
            kw_buf_printf(b, "%s\"%s\":%" PRIu64, open, c[i].key + sizeof(skip) - 1, c[i].n);
            open = ",";
        }
    open = ",\"encapsulation\":{";
    for (size_t i = 0; i < n; i++)
        if (!strncmp(c[i].key, encap, sizeof(encap) - 1)) {
            kw_buf_printf(b, "%s\"%s\":%" PRIu64, open, c[i].key + sizeof(encap) - 1, c[i].n);
            open = ",";
        }
    kw_buf_puts(b, "}}");
    for (size_t i = 0; i < n; i++)
        if (strncmp(c[i].key, skip, sizeof(skip) - 1))
            kw_buf_printf(b, ",\"%s\":%" PRIu64, c[i].key, c[i].n);
}

/* The version of the JSON schema (docs/json.md): raised when a field is
 * added, never when one would be renamed, which does not happen. */
#define JSON_SCHEMA_VERSION 3

static void json_stats(struct kw_out *o, const struct kw_stats *st, kw_usec ts)
{
    if (!wanted(o, KW_EVENT_STATS))
        return;
    struct kw_buf *b = &o->buf;
    event_head(o, "stats", ts, NULL, NULL);
    u64(b, KEY("packets"), st->packets);
    u64(b, KEY("bytes"), st->bytes);
    u64(b, KEY("connections"), st->connections);
    u64(b, KEY("http_connections"), st->http_connections);
    u64(b, KEY("requests"), st->requests);
    u64(b, KEY("responses"), st->responses);
    u64(b, KEY("lost_requests"), st->lost_requests);
    counts(b, st);
    if (st->kernel_counted) {
        key(b, KEY("kernel"));
        kw_buf_printf(b, "{\"received\":%" PRIu64 ",\"dropped\":%" PRIu64
                         ",\"interface_dropped\":%" PRIu64 "}",
                      st->kernel_received, st->kernel_dropped, st->interface_dropped);
    } else {
        null(b, KEY("kernel"));
    }
    u64(b, KEY("schema_version"), JSON_SCHEMA_VERSION);
    event_end(o);
}

static void tristate(struct kw_buf *b, const char *k, size_t kn, int v)
{
    key(b, k, kn);
    if (v < 0)
        kw_buf_put(b, "null", 4);
    else if (v)
        kw_buf_put(b, "true", 4);
    else
        kw_buf_put(b, "false", 5);
}

static void count_or_null(struct kw_buf *b, const char *k, size_t kn, int64_t v)
{
    if (v < 0)
        null(b, k, kn);
    else
        u64(b, k, kn, (uint64_t)v);
}

/* After a finding's frames: the file they are in and their numbers there,
 * so that a live finding opens in Wireshark from its -w file. */
static void frames_file(const struct kw_out *o, struct kw_buf *b, const struct kw_evidence *e)
{
    uint64_t in_file[KW_EVIDENCE_FRAMES_MAX];
    const char *file = out_frames_in_file(o, e->v.frames.number, e->v.frames.n, in_file);
    if (!file) {
        kw_buf_puts(b, ",\"file\":null,\"file_frames\":null");
        return;
    }
    kw_buf_puts(b, ",\"file\":\"");
    kw_buf_json_str(b, (const uint8_t *)file, strlen(file));
    kw_buf_puts(b, "\",\"file_frames\":[");
    for (int i = 0; i < e->v.frames.n; i++) {
        if (i)
            kw_buf_put(b, ",", 1);
        if (in_file[i])
            kw_buf_u64(b, in_file[i]);
        else
            kw_buf_put(b, "null", 4);
    }
    kw_buf_put(b, "]", 1);
}

/* One piece of evidence as "name":value. */
static void evidence(const struct kw_out *o, struct kw_buf *b, const struct kw_evidence *e,
                     const struct kw_conn_info *c)
{
    kw_buf_put(b, "\"", 1);
    kw_buf_puts(b, e->name);
    kw_buf_put(b, "\":", 2);
    if (!e->known) {
        kw_buf_put(b, "null", 4);
        return;
    }
    char s[KW_DURATION_LEN];
    switch (e->kind) {
    case KW_EV_COUNT: kw_buf_i64(b, e->v.count); break;
    case KW_EV_SECONDS: kw_buf_put(b, s, kw_time_secs(e->v.seconds, s)); break;
    case KW_EV_FLAG: kw_buf_puts(b, e->v.flag ? "true" : "false"); break;
    case KW_EV_FRAMES:
        kw_buf_put(b, "[", 1);
        for (int i = 0; i < e->v.frames.n; i++) {
            if (i)
                kw_buf_put(b, ",", 1);
            kw_buf_u64(b, e->v.frames.number[i]);
        }
        kw_buf_put(b, "]", 1);
        frames_file(o, b, e);
        break;
    case KW_EV_TEXT: {
        size_t n = e->v.text.has_uri ? out_uri_len(o, e->v.text.bytes, e->v.text.len)
                                     : e->v.text.len;
        kw_buf_put(b, "\"", 1);
        if (kw_buf_json_str(b, e->v.text.bytes, n)) {
            kw_buf_printf(b, "\",\"%s_raw\":\"", e->name);
            kw_buf_hex(b, e->v.text.bytes, n);
        }
        kw_buf_put(b, "\"", 1);
        if (e->v.text.cut)
            kw_buf_printf(b, ",\"%s_truncated\":true", e->name);
        break;
    }
    case KW_EV_CONN_FILTER:
        kw_buf_put(b, "\"", 1);
        if (c)
            out_wireshark_filter(b, &c->key);
        kw_buf_put(b, "\"", 1);
        break;
    }
}

static void json_finding(struct kw_out *o, void *conn, struct kw_conn_info *c,
                         const struct kw_finding *f)
{
    if (!wanted(o, KW_EVENT_ALERT))
        return;
    struct kw_buf *b = &o->buf;
    event_head_server(o, "alert", f->ts, conn, c, &f->server);
    str(b, KEY("rule"), kw_rule_name(f->rule));
    str(b, KEY("severity"), kw_severity_name(f->severity));
    str(b, KEY("side"), out_side_name(f->side));
    if (f->request)
        u64(b, KEY("request"), f->request);
    else
        null(b, KEY("request"));
    key(b, KEY("message"));
    kw_buf_put(b, "\"", 1);
    out_message(o, b, f->message, &f->request_line, kw_buf_json_str);
    kw_buf_put(b, "\"", 1);
    str(b, KEY("reference"), kw_rule_reference(f->rule));
    key(b, KEY("evidence"));
    kw_buf_put(b, "{", 1);
    for (int i = 0; i < f->n_evidence; i++) {
        if (i)
            kw_buf_put(b, ",", 1);
        evidence(o, b, &f->evidence[i], c);
    }
    kw_buf_put(b, "}", 1);
    event_end(o);
}

static void json_server(struct kw_out *o, const struct kw_server_policy *p)
{
    if (!wanted(o, KW_EVENT_SERVER))
        return;
    struct kw_buf *b = &o->buf;
    event_head_server(o, "server", p->ts, NULL, NULL, &p->server);
    if (p->software) {
        wire_bytes(b, KEY("server_software"), p->software, p->software_len);
    } else {
        null(b, KEY("server_software"));
    }
    u64(b, KEY("connections"), p->connections);
    u64(b, KEY("requests"), p->requests);
    tristate(b, KEY("announces_close"), p->announces_close);
    tristate(b, KEY("honors_http10_keepalive"), p->honors_http10_keepalive);
    count_or_null(b, KEY("advertised_timeout_s"), p->advertised_timeout_s);
    count_or_null(b, KEY("advertised_max"), p->advertised_max);
    count_or_null(b, KEY("observed_max_requests"), p->observed_max_requests);
    secs(b, KEY("observed_idle_timeout_s"), p->observed_idle_timeout);
    secs(b, KEY("longest_idle_reuse_s"), p->longest_idle_reuse);
    key(b, KEY("findings"));
    kw_buf_put(b, "{", 1);
    bool first = true;
    for (int i = 0; i < KW_RULE_COUNT; i++)
        if (p->findings[i]) {
            kw_buf_printf(b, "%s\"%s\":%" PRIu64, first ? "" : ",", kw_rule_name((enum kw_rule)i),
                          p->findings[i]);
            first = false;
        }
    kw_buf_put(b, "}", 1);
    /* fields beyond the first contract */
    boolean(b, KEY("racing"), p->racing);
    u64(b, KEY("idle_closes"), p->idle_closes);
    u64(b, KEY("max_request_closes"), p->max_closes);
    u64(b, KEY("requests_lost_to_idle_close"), p->lost_to_idle);
    count_or_null(b, KEY("close_announced_after_requests"), p->close_announced_after);
    event_end(o);
}

const struct out_format out_format_json = {
    .name = "json",
    .conn_size = sizeof(struct json_conn),
    .txn = json_txn,
    .end = json_end,
    .finding = json_finding,
    .server = json_server,
    .stats = json_stats,
};

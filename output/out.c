/* out.c: the table of formats, each output's records of connections, and the
 * names every format prints. */
#include "output/out-impl.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The formats, by name. A new format: one file and one row here. */
static const struct out_format *const formats[] = {
    &out_format_text,
    &out_format_json,
    &out_format_syslog,
    &out_format_html,
};
#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

const char *kw_out_formats(void)
{
    static char names[128];
    if (!names[0])
        for (size_t i = 0, o = 0; i < N_FORMATS; i++)
            o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
                                  formats[i]->name);
    return names;
}

/* --- names ------------------------------------------------------------- */

/* IPv4 dotted quads are written here, not with inet_ntop(), which costs about
 * 1,800 instructions an address (measured: 1.8% of the benchmark's); IPv6 goes
 * through inet_ntop() for RFC 5952's zero compression. */
void out_endpoint_ip(struct kw_buf *b, const struct kw_endpoint *e)
{
    if (e->family == 6) {
        char s[INET6_ADDRSTRLEN];
        if (!inet_ntop(AF_INET6, e->addr, s, sizeof(s)))
            s[0] = '\0';
        kw_buf_puts(b, s);
        return;
    }
    for (int i = 0; i < 4; i++) {
        if (i)
            kw_buf_put(b, ".", 1);
        kw_buf_u64(b, e->addr[i]);
    }
}

void out_endpoint(struct kw_buf *b, const struct kw_endpoint *e)
{
    if (e->family == 6)
        kw_buf_put(b, "[", 1);
    out_endpoint_ip(b, e);
    if (e->family == 6)
        kw_buf_put(b, "]", 1);
    kw_buf_put(b, ":", 1);
    kw_buf_u64(b, e->port);
}

bool out_endpoint_eq(const struct kw_endpoint *a, const struct kw_endpoint *b)
{
    return a->family == b->family && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

/* Each address once: both ends of a loopback connection share one. */
void out_wireshark_filter(struct kw_buf *b, const struct kw_conn_key *key)
{
    const char *ip = key->client.family == 6 ? "ipv6" : "ip";
    kw_buf_printf(b, "%s.addr==", ip);
    out_endpoint_ip(b, &key->client);
    if (memcmp(key->client.addr, key->server.addr, 16)) {
        kw_buf_printf(b, " && %s.addr==", ip);
        out_endpoint_ip(b, &key->server);
    }
    kw_buf_printf(b, " && tcp.port==%u && tcp.port==%u", key->client.port, key->server.port);
}

const char *out_close_name(enum kw_close c)
{
    switch (c) {
    case KW_CLOSE_FIN: return "fin";
    case KW_CLOSE_RST: return "rst";
    case KW_CLOSE_TIMEOUT: return "timeout";
    case KW_CLOSE_CAPTURE_END: return "capture-end";
    }
    return "unknown";
}

const char *out_timeout_name(enum kw_timeout t)
{
    switch (t) {
    case KW_TIMEOUT_EVICTED: return "evicted";
    case KW_TIMEOUT_REUSED: return "reused";
    case KW_TIMEOUT_IDLE: return "idle";
    case KW_TIMEOUT_NONE: break;
    }
    return NULL;
}

const char *out_side_name(enum kw_side s)
{
    switch (s) {
    case KW_SIDE_CLIENT: return "client";
    case KW_SIDE_SERVER: return "server";
    case KW_SIDE_NONE: break;
    }
    return "none";
}

const char *out_framing_name(enum kw_framing f)
{
    switch (f) {
    case KW_FRAMING_CONTENT_LENGTH: return "content-length";
    case KW_FRAMING_CHUNKED: return "chunked";
    case KW_FRAMING_CLOSE: return "close";
    case KW_FRAMING_NONE: break;
    }
    return "none";
}

size_t out_iso8601(struct kw_out *o, kw_usec ts, char out[KW_ISO8601_LEN])
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

size_t out_uri_len(const struct kw_out *o, const uint8_t *p, size_t n)
{
    if (!o->opts.redact_uri_query)
        return n;
    const uint8_t *q = memchr(p, '?', n);
    return q ? (size_t)(q - p) + 1 : n;
}

int kw_out_events_parse(const char *list, unsigned *events)
{
    static const struct { const char *name; unsigned bit; } kinds[] = {
        { "transaction", KW_EVENT_TRANSACTION }, { "connection", KW_EVENT_CONNECTION },
        { "alert", KW_EVENT_ALERT }, { "server", KW_EVENT_SERVER }, { "stats", KW_EVENT_STATS },
    };
    *events = 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        size_t i = 0;
        while (i < sizeof(kinds) / sizeof(kinds[0]) &&
               !(strlen(kinds[i].name) == n && !strncmp(kinds[i].name, p, n)))
            i++;
        if (i == sizeof(kinds) / sizeof(kinds[0]))
            return -1;
        *events |= kinds[i].bit;
        p += n + (p[n] == ',');
    }
    return *events ? 0 : -1;
}

/* Every count of kw_stats the reports list, in their order. The JSON stats
 * event writes each by its key: "skipped.x" inside "skipped", the others at
 * the top. A NULL label is a JSON-only alias of another count. */
#define COUNT(field) offsetof(struct kw_stats, field)
static const struct { const char *key, *label; size_t offset; } stats_counts[] = {
    { "skipped.ipv6", "IPv6 packets not analysed", COUNT(skip_ipv6) },
    { "skipped.truncated", "packets cut short by the snaplen", COUNT(skip_truncated) },
    { "skipped.mid_stream", "packets of connections whose handshake was not captured "
                            "and that were not picked up", COUNT(skip_mid_stream) },
    { "skipped.not_ip", "non-IP frames", COUNT(skip_not_ip) },
    { "skipped.not_tcp", "non-TCP packets", COUNT(skip_not_tcp) },
    { "skipped.invalid", "malformed frames", COUNT(skip_invalid) },
    { "skipped.fragments", "IPv4 first fragments too short for the ports", COUNT(skip_fragment) },
    { "skipped.tcp_invalid", "malformed TCP headers", COUNT(tcp_invalid) },
    { "skipped.refused_streams", NULL, COUNT(streams_evicted) },
    { "skipped.unreadable", "pcapng packets libpcap cannot read (another link type)",
      COUNT(packets_unreadable) },
    { "skipped.reserved", "IPv4 packets from or to 240.0.0.0/4 (reserved)",
      COUNT(skip_reserved) },
    { "skipped.source_routed", "IPv4 packets with a source route (dropped, as hosts do)",
      COUNT(ip_source_routed) },
    { "skipped.bad_ip_options", "IPv4 packets with malformed options", COUNT(ip_bad_options) },
    { "skipped.ip_rejected", "IPv4 headers the reassembler refused", COUNT(ip_rejected) },
    { "skipped.fragments_invalid", "fragmented datagrams dropped: overlapping or "
                                   "inconsistent fragments", COUNT(frag_invalid) },
    { "skipped.fragments_expired", "fragmented datagrams never completed (30 s IPv4, "
                                   "60 s IPv6)", COUNT(frag_expired) },
    { "skipped.fragments_evicted", "fragmented datagrams dropped for room (64 at once)",
      COUNT(frag_evicted) },
    { "skipped.colliding_connections", "connections not followed: their ports collide "
                                       "in the flow table past its probe bound",
      COUNT(streams_refused) },
    { "sections_skipped", "pcapng sections not read (see the warnings)",
      COUNT(sections_skipped) },
    { "streams_evicted", "connections ended to stay within --max-connections",
      COUNT(streams_evicted) },
    { "connections_midstream", "connections picked up after they began (handshake not "
                               "captured)", COUNT(connections_midstream) },
    { "idle_timeouts", "connections ended idle (--flow-timeout-idle)", COUNT(idle_timeouts) },
    { "queues_dropped", "out-of-order queues dropped by the reassembler", COUNT(queue_dropped) },
    { "connections_with_gap", "connections with data missing from the capture",
      COUNT(connections_gap) },
    { "capture_holes", "holes the capture missed, stepped over (the receiver's ACKs "
                       "prove them delivered)", COUNT(capture_holes) },
    { "capture_missed_bytes", "bytes in those holes", COUNT(capture_missed_bytes) },
    { "capture_holes_too_large", "such holes over 256 KiB, left as gaps",
      COUNT(capture_holes_too_large) },
    { "not_http", "connections whose bytes stopped being HTTP", COUNT(not_http) },
    { "fragmented_datagrams", "IP datagrams put together from fragments",
      COUNT(frag_datagrams) },
    { "rst_held", "RSTs in the window but not at the expected sequence number: held",
      COUNT(rst_held) },
    { "rst_ignored", "of those, RSTs the connection went on past: not an end",
      COUNT(rst_ignored) },
    { "rst_out_of_window", "RSTs outside the receiver's window: ignored",
      COUNT(rst_out_of_window) },
    { "ack_unseen", "segments fed again after an ACK for data the capture never saw",
      COUNT(ack_unseen) },
    { "syn_data", "SYNs carrying data (TCP Fast Open)", COUNT(syn_data) },
    { "syn_data_unkept", "of those, SYNs with more data than kept (4 KiB)",
      COUNT(syn_data_unkept) },
    { "urgent_bytes", "bytes at TCP urgent pointers, out of the stream", COUNT(urgent_bytes) },
    { "files_truncated", "capture files cut short (see the warnings)", COUNT(files_truncated) },
    { "servers_untracked", "servers not described: the table of 65,536 was full of servers "
                           "with connections open", COUNT(servers_untracked) },
    { "servers_evicted", "idle servers reported early and dropped to make room",
      COUNT(servers_evicted) },
};
#undef COUNT

size_t out_skipped_counts(const struct kw_stats *st, struct out_count out[OUT_COUNTS_MAX])
{
    static const char *const encaps[] = {
#define KW_ENCAP_NAME(sym, name) name,
        KW_ENCAPS(KW_ENCAP_NAME)
#undef KW_ENCAP_NAME
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(stats_counts) / sizeof(stats_counts[0]) && n < OUT_COUNTS_MAX;
         i++, n++) {
        snprintf(out[n].key, sizeof(out[n].key), "%s", stats_counts[i].key);
        snprintf(out[n].label, sizeof(out[n].label), "%s",
                 stats_counts[i].label ? stats_counts[i].label : "");
        memcpy(&out[n].n, (const char *)st + stats_counts[i].offset, sizeof(out[n].n));
    }
    for (int i = 0; i < KW_ENCAP_N && n < OUT_COUNTS_MAX; i++, n++) {
        snprintf(out[n].key, sizeof(out[n].key), "skipped.encapsulation.%s", encaps[i]);
        if (i == KW_ENCAP_TOO_DEEP)
            snprintf(out[n].label, sizeof(out[n].label),
                     "frames nesting more than 16 encapsulations");
        else
            snprintf(out[n].label, sizeof(out[n].label), "frames with a malformed %s header",
                     encaps[i]);
        out[n].n = st->encap_invalid[i];
    }
    return n;
}

size_t out_time(struct kw_out *o, kw_usec ts, char out[KW_ISO8601_LEN])
{
    return o->opts.local_time ? kw_time_iso8601_local(ts, out) : out_iso8601(o, ts, out);
}

/* --- events, to the format's writer ------------------------------------ */

/* The format's record of the connection, made at its first event. */
static void *conn_record(struct kw_out *o, struct kw_conn_info *c)
{
    void **slot = &c->state[o->txn_consumer.slot];
    if (!*slot && o->format->conn_size && !(*slot = calloc(1, o->format->conn_size))) {
        fputs("keepwatch: out of memory for the report\n", stderr);
        exit(2);
    }
    return *slot;
}

/* Streaming: what an event wrote leaves the process with it. */
static void event_written(struct kw_out *o)
{
    if (o->opts.stream && o->f)
        fflush(o->f);
}

static void on_txn(void *ctx, struct kw_conn_info *c, const struct kw_txn *t)
{
    struct kw_out *o = ctx;
    if (o->format->txn)
        o->format->txn(o, conn_record(o, c), c, t);
    event_written(o);
}

static void on_fin(void *ctx, struct kw_conn_info *c, enum kw_side who, kw_usec ts)
{
    struct kw_out *o = ctx;
    if (o->format->fin)
        o->format->fin(o, conn_record(o, c), c, who, ts);
    event_written(o);
}

static void on_end(void *ctx, struct kw_conn_info *c, const struct kw_conn_end *e)
{
    struct kw_out *o = ctx;
    void *conn = conn_record(o, c);
    if (o->format->end)
        o->format->end(o, conn, c, e);
    if (conn && o->format->conn_release)
        o->format->conn_release(conn);
    free(conn);
    c->state[o->txn_consumer.slot] = NULL;
    event_written(o);
}

static void on_finding(void *ctx, struct kw_conn_info *c, const struct kw_finding *f)
{
    struct kw_out *o = ctx;
    if (o->format->finding)
        o->format->finding(o, c ? conn_record(o, c) : NULL, c, f);
    event_written(o);
}

static void on_server(void *ctx, const struct kw_server_policy *p)
{
    struct kw_out *o = ctx;
    if (!o->f)
        return; /* a format without a stream (syslog) */
    if (o->format->server)
        o->format->server(o, p);
    event_written(o);
}

/* --- public ------------------------------------------------------------ */

struct kw_out *kw_out_new(const char *format, FILE *f, const struct kw_out_options *opts)
{
    const struct out_format *fmt = NULL;
    for (size_t i = 0; i < N_FORMATS; i++)
        if (!strcmp(formats[i]->name, format))
            fmt = formats[i];
    struct kw_out *o = fmt ? calloc(1, sizeof(*o)) : NULL;
    if (!o)
        return NULL;
    o->format = fmt;
    if (fmt->state_size && !(o->state = calloc(1, fmt->state_size))) {
        free(o);
        return NULL;
    }
    if (opts)
        o->opts = *opts;
    o->f = f;
    o->txn_consumer = (struct kw_txn_consumer){ .ctx = o, .on_txn = on_txn, .on_fin = on_fin,
                                                .on_end = on_end };
    o->finding_consumer = (struct kw_finding_consumer){ o, on_finding, on_server };
    return o;
}

struct kw_txn_consumer *kw_out_txn_consumer(struct kw_out *o)
{
    return &o->txn_consumer;
}

void kw_out_redirect(struct kw_out *o, FILE *f)
{
    if (o->f)
        fflush(o->f);
    o->f = f;
}

const struct kw_finding_consumer *kw_out_finding_consumer(struct kw_out *o)
{
    return &o->finding_consumer;
}

void kw_out_stats(struct kw_out *o, const struct kw_stats *st, kw_usec ts)
{
    if (o->format->stats)
        o->format->stats(o, st, ts);
    if (o->f)
        fflush(o->f);
}

void kw_out_free(struct kw_out *o)
{
    if (!o)
        return;
    if (o->state && o->format->state_release)
        o->format->state_release(o->state);
    free(o->state);
    kw_buf_free(&o->buf);
    free(o);
}

const char *out_frames_in_file(const struct kw_out *o, const uint64_t *frames, int n,
                               uint64_t *in_file)
{
    const char *first = NULL, *name;
    for (int i = 0; i < n; i++) {
        in_file[i] = 0;
        if (!o->opts.frames || !kw_frame_files_find(o->opts.frames, frames[i], &name, &in_file[i]))
            continue;
        if (!first)
            first = name;
        else if (name != first)
            in_file[i] = 0;
    }
    return first;
}

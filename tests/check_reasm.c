/* check_reasm.c: reassembly/ as the packet loop drives it, with real libnids:
 * packets built here, decoded by capture/'s kw_link_decode(), fed one by one;
 * a sink writes every event as a line of text, and each test compares the
 * log. Covers the idle limit (kw_reasm_tick), why a connection timed out
 * (evicted, 4-tuple reused, idle), libnids forgetting the streams we end, and
 * running out of memory inside libnids.
 *
 * libnids keeps its state in globals: Check runs each test in a process of
 * its own, so each starts from a fresh libnids. */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "capture/link.h"
#include "reassembly/conns.h"
#include "reassembly/defrag.h"
#include "reassembly/reasm-impl.h"
#include "reassembly/reasm.h"

#define LT_RAW 12
#define SEC(s) ((kw_usec)((s) * 1e6 + 0.5))

/* ---- the event log ------------------------------------------------------- */

static char event_log[1 << 18];
static size_t log_len;
static int n_opened;
static int conn_ids[4096]; /* what on_open returns: the connection's number */

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(event_log + log_len, sizeof(event_log) - log_len, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    log_len += (size_t)n;
    ck_assert_uint_lt(log_len, sizeof(event_log));
}

static const char *dir_name(enum kw_dir d)
{
    return d == KW_TO_SERVER ? "c>s" : "s>c";
}

static void *on_open(void *ctx, const struct kw_conn_key *key, kw_usec ts, bool midstream)
{
    (void)ctx;
    ck_assert_int_lt(n_opened, 4096);
    conn_ids[n_opened] = n_opened + 1;
    ck_assert_int_eq(key->client.family, key->server.family);
    if (key->client.family == 6) /* the real addresses: 2001:db8::1:N to 2001:db8::2 */
        say("open #%d [%x:%x]:%u @%.6f", n_opened + 1, key->client.addr[13],
            key->client.addr[15], key->client.port, ts / 1e6);
    else
        say("open #%d %u:%u @%.6f", n_opened + 1, key->client.addr[3], key->client.port,
            ts / 1e6);
    say(midstream ? " midstream\n" : "\n");
    return &conn_ids[n_opened++];
}

static bool count_only;       /* on_data counts bytes instead of writing lines */
static uint64_t bytes_seen[2];

static void on_data(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame,
                    struct kw_slice data)
{
    (void)ctx;
    if (count_only) {
        bytes_seen[dir] += data.len;
        return;
    }
    say("data #%d %s %zu @%.6f frame %llu\n", *(int *)conn, dir_name(dir), data.len, ts / 1e6,
        (unsigned long long)frame);
}

static void on_fin(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame)
{
    (void)ctx;
    (void)frame;
    say("fin #%d %s @%.6f\n", *(int *)conn, dir_name(dir), ts / 1e6);
}

static const char *const close_names[] = { "fin", "rst", "timeout", "capture-end" };
static const char *const timeout_names[] = { "", "/evicted", "/reused", "/idle" };

static struct kw_reasm_end ends[4096]; /* by connection number - 1 */

static void on_end(void *ctx, void *conn, const struct kw_reasm_end *e)
{
    (void)ctx;
    ends[*(int *)conn - 1] = *e;
    say("end #%d %s%s @%.6f frame %llu", *(int *)conn, close_names[e->how],
        timeout_names[e->timeout], e->ts / 1e6, (unsigned long long)e->frame);
    if (e->how == KW_CLOSE_RST)
        say(" from %s", e->rst_dir == KW_TO_SERVER ? "client" : "server");
    for (int d = 0; d < 2; d++)
        if (e->gap_offset[d] != KW_NO_GAP)
            say(" gap %s at %lld", dir_name((enum kw_dir)d), (long long)e->gap_offset[d]);
    say("\n");
    ck_assert_int_eq(e->how == KW_CLOSE_TIMEOUT, e->timeout != KW_TIMEOUT_NONE);
}

static void on_gap(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame,
                   uint64_t missing)
{
    (void)ctx;
    say("gap #%d %s %llu @%.6f frame %llu\n", *(int *)conn, dir_name(dir),
        (unsigned long long)missing, ts / 1e6, (unsigned long long)frame);
}

static const struct kw_reasm_sink sink = { NULL, on_open, on_data, on_fin, on_end, on_gap };

static struct kw_stats stats;
static struct kw_reasm *reasm;

static bool pick_up; /* kw_reasm_config.midstream for the next start() */

static void start(uint32_t max_connections, int flow_timeout_s, int idle_timeout_s)
{
    struct kw_reasm_config cfg = { max_connections, flow_timeout_s, idle_timeout_s, pick_up };
    char err[KW_REASM_ERRBUF];
    reasm = kw_reasm_new(&cfg, &sink, &stats, err);
    ck_assert_msg(reasm != NULL, "%s", err);
}

static void expect_log(const char *want)
{
    ck_assert_str_eq(event_log, want);
}

/* ---- packets ------------------------------------------------------------- */

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

static uint64_t next_frame;
static uint8_t packet[65536];
static uint16_t urgent_pointer; /* for the next packet only: sets URG */
static bool zero_window;        /* for the next packet only: a window of 0 */
static const char *payload_text; /* for the next packet only: its payload starts so */
static size_t fragment_size;    /* for the next packet only: sent as IPv4 fragments of it */
static size_t fragments_sent;   /* with it, how many of them are sent (0: all) */
static uint16_t ip_id;

/* `len` bytes of `ip` as one captured packet. */
static int feed_ip(kw_usec ts, const uint8_t *ip, size_t len)
{
    struct kw_pkt pkt = { .ts = ts, .linktype = LT_RAW, .wire_len = (uint32_t)len,
                          .frame = ++next_frame };
    pkt.bytes = kw_slice_make(ip, len);
    ck_assert_int_eq(kw_link_decode(LT_RAW, pkt.bytes, pkt.wire_len, &pkt.ip), KW_LINK_IP);
    return kw_reasm_feed(reasm, &pkt);
}

/* The IPv4 fragment of the 20-byte-header packet in `whole` that carries
 * payload bytes [offset, offset + len). */
static int feed_fragment_of(kw_usec ts, const uint8_t *whole, size_t total, size_t offset,
                            size_t len)
{
    static uint8_t frag[65536];
    bool more = 20 + offset + len < total;
    memcpy(frag, whole, 20);
    memcpy(frag + 20, whole + 20 + offset, len);
    frag[2] = (uint8_t)((20 + len) >> 8), frag[3] = (uint8_t)(20 + len);
    uint16_t off = (uint16_t)(offset / 8 | (more ? 0x2000 : 0));
    frag[6] = (uint8_t)(off >> 8), frag[7] = (uint8_t)off;
    return feed_ip(ts, frag, 20 + len);
}

static const uint8_t *ip_options; /* for the next packet only: IPv4 options, 4n bytes */
static size_t ip_options_len;

static int feed_built(kw_usec ts, size_t total)
{
    if (ip_options) {
        static uint8_t with[65536 + 40];
        memcpy(with, packet, 20);
        memcpy(with + 20, ip_options, ip_options_len);
        memcpy(with + 20 + ip_options_len, packet + 20, total - 20);
        total += ip_options_len;
        with[0] = (uint8_t)(0x40 | (20 + ip_options_len) / 4);
        with[2] = (uint8_t)(total >> 8), with[3] = (uint8_t)total;
        ip_options = NULL;
        return feed_ip(ts, with, total);
    }
    if (!fragment_size)
        return feed_ip(ts, packet, total);
    size_t size = fragment_size, n = fragments_sent ? fragments_sent : SIZE_MAX;
    fragment_size = fragments_sent = 0;
    packet[4] = (uint8_t)(++ip_id >> 8), packet[5] = (uint8_t)ip_id;
    int rc = 0;
    for (size_t off = 0, len; off < total - 20 && rc == 0 && n--; off += len) {
        size_t rest = total - 20 - off;
        len = rest < size + 8 ? rest : size; /* no last fragment under 8 bytes */
        rc = feed_fragment_of(ts, packet, total, off, len);
    }
    return rc;
}

/* One TCP/IPv4 packet in `packet`; its length. */
static size_t build_tcp(const uint8_t src[4], uint16_t sport, const uint8_t dst[4],
                        uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, size_t payload)
{
    size_t total = 40 + payload;
    ck_assert_uint_le(total, 65535);
    memset(packet, 0, 40);
    packet[0] = 0x45;
    packet[2] = (uint8_t)(total >> 8), packet[3] = (uint8_t)total;
    packet[6] = 0x40; /* DF */
    packet[8] = 64, packet[9] = 6;
    memcpy(packet + 12, src, 4);
    memcpy(packet + 16, dst, 4);
    uint8_t *t = packet + 20;
    t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8), t[3] = (uint8_t)dport;
    for (int i = 0; i < 4; i++) {
        t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    t[12] = 0x50, t[13] = flags;
    t[14] = t[15] = zero_window ? 0 : 0xff; /* window */
    zero_window = false;
    if (urgent_pointer) {
        t[13] |= TH_URG;
        t[18] = (uint8_t)(urgent_pointer >> 8), t[19] = (uint8_t)urgent_pointer;
        urgent_pointer = 0;
    }
    memset(packet + 40, 'x', payload);
    if (payload_text) {
        size_t n = strlen(payload_text);
        memcpy(packet + 40, payload_text, n < payload ? n : payload);
        payload_text = NULL;
    }
    return total;
}

/* One TCP/IPv4 packet, decoded as capture/ would and fed; kw_reasm_feed's result. */
static int feed_tcp(kw_usec ts, const uint8_t src[4], uint16_t sport, const uint8_t dst[4],
                    uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, size_t payload)
{
    return feed_built(ts, build_tcp(src, sport, dst, dport, seq, ack, flags, payload));
}

/* One TCP/IPv6 packet, fed. */
static int feed_tcp6(kw_usec ts, const uint8_t src[16], uint16_t sport, const uint8_t dst[16],
                     uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, size_t payload)
{
    static uint8_t p6[65536 + 40];
    size_t total = build_tcp(src, sport, dst, dport, seq, ack, flags, payload);
    memset(p6, 0, 40);
    p6[0] = 0x60;
    p6[4] = (uint8_t)((total - 20) >> 8), p6[5] = (uint8_t)(total - 20);
    p6[6] = 6, p6[7] = 64;
    memcpy(p6 + 8, src, 16);
    memcpy(p6 + 24, dst, 16);
    memcpy(p6 + 40, packet + 20, total - 20);
    return feed_ip(ts, p6, total + 20);
}

static const uint8_t server_ip[4] = { 10, 0, 0, 2 };
static const uint8_t server_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

/* A client of server_ip:80 (or server_ip6), with its sequence numbers. */
struct client {
    uint8_t ip[4];
    uint16_t port;
    uint32_t seq, server_seq;
    bool v6;
    uint8_t ip6[16];
};

static struct client client_n(uint8_t n)
{
    struct client c = { .ip = { 10, 0, 1, n }, .port = (uint16_t)(40000 + n),
                        .seq = 1000u * n, .server_seq = 500000u * n };
    return c;
}

static struct client client6_n(uint8_t n)
{
    struct client c = client_n(n);
    c.v6 = true;
    const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [13] = 1, [15] = n };
    memcpy(c.ip6, ip6, 16);
    return c;
}

static int to_server(struct client *c, double at, uint8_t flags, size_t payload)
{
    int rc = c->v6 ? feed_tcp6(SEC(at), c->ip6, c->port, server_ip6, 80, c->seq, c->server_seq,
                               flags, payload)
                   : feed_tcp(SEC(at), c->ip, c->port, server_ip, 80, c->seq, c->server_seq,
                              flags, payload);
    c->seq += (uint32_t)payload + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
    return rc;
}

static int to_client(struct client *c, double at, uint8_t flags, size_t payload)
{
    int rc = c->v6 ? feed_tcp6(SEC(at), server_ip6, 80, c->ip6, c->port, c->server_seq, c->seq,
                               flags, payload)
                   : feed_tcp(SEC(at), server_ip, 80, c->ip, c->port, c->server_seq, c->seq,
                              flags, payload);
    c->server_seq += (uint32_t)payload + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
    return rc;
}

static void handshake(struct client *c, double at)
{
    ck_assert_int_eq(to_server(c, at, TH_SYN, 0), 0);
    ck_assert_int_eq(to_client(c, at + 0.0001, TH_SYN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(c, at + 0.0002, TH_ACK, 0), 0);
}

static void talk(struct client *c, double at)
{
    ck_assert_int_eq(to_server(c, at, TH_PSH | TH_ACK, 10), 0);
    ck_assert_int_eq(to_client(c, at + 0.001, TH_PSH | TH_ACK, 20), 0);
}

/* ---- the idle limit --------------------------------------------------------- */

/* Client 1 goes quiet while client 2 keeps talking: client 1 ends 300 s after
 * its last data, at the first tick past that; its late packet is mid-stream,
 * because libnids has forgotten it too. */
START_TEST(test_idle_ends_connection)
{
    start(768, 1, 300);
    struct client a = client_n(1), b = client_n(2);
    handshake(&a, 1);
    handshake(&b, 1.5);
    talk(&a, 2);
    for (int t = 10; t <= 400; t += 10) {
        kw_reasm_tick(reasm, SEC(t));
        talk(&b, t + 0.5);
    }
    uint64_t mid_stream = stats.skip_mid_stream;
    ck_assert_int_eq(to_server(&a, 401, TH_PSH | TH_ACK, 10), 0);
    ck_assert_uint_eq(stats.skip_mid_stream, mid_stream + 1);
    ck_assert_uint_eq(stats.idle_timeouts, 1);
    kw_reasm_finish(reasm, SEC(401));
    ck_assert(strstr(event_log, "open #1 1:40001 @1.000200\n"
                                "open #2 2:40002 @1.500200\n"
                                "data #1 c>s 10 @2.000000 frame 7\n"
                                "data #1 s>c 20 @2.001000 frame 8\n") == event_log);
    /* the tick at 310 s, between client 2's data at 300.5 and 310.5; client 1's
     * last activity was the server's answer at 2.001 s */
    ck_assert_msg(strstr(event_log, "data #2 s>c 20 @300.501000 frame 68\n"
                                    "end #1 timeout/idle @302.001000 frame 0\n"
                                    "data #2 c>s 10 @310.500000 frame 69\n"),
                  "%s", event_log);
    ck_assert_msg(strstr(event_log, "data #2 s>c 20 @400.501000 frame 88\n"
                                    "end #2 capture-end @401.000000 frame 0\n"),
                  "%s", event_log);
    ck_assert_int_eq(n_opened, 2);
    kw_reasm_free(reasm);
}
END_TEST

START_TEST(test_idle_zero_is_never)
{
    start(768, 1, 0);
    struct client a = client_n(1);
    handshake(&a, 1);
    talk(&a, 2);
    kw_reasm_tick(reasm, SEC(100000));
    talk(&a, 100001);
    kw_reasm_finish(reasm, SEC(100002));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "data #1 s>c 20 @2.001000 frame 5\n"
               "data #1 c>s 10 @100001.000000 frame 6\n"
               "data #1 s>c 20 @100001.001000 frame 7\n"
               "end #1 capture-end @100002.000000 frame 0\n");
    ck_assert_uint_eq(stats.idle_timeouts, 0);
    kw_reasm_free(reasm);
}
END_TEST

/* Data, and a FIN, count as activity; a tick exactly at the limit ends nothing
 * ("longer than"); several connections end in the order they went quiet. */
START_TEST(test_activity_and_order)
{
    start(768, 1, 100);
    struct client a = client_n(1), b = client_n(2), c = client_n(3);
    handshake(&a, 1);
    handshake(&b, 2);
    handshake(&c, 3);
    talk(&c, 10);
    talk(&a, 20);
    ck_assert_int_eq(to_server(&b, 30, TH_FIN | TH_ACK, 0), 0); /* half closed */
    kw_reasm_tick(reasm, SEC(110.001)); /* c has been idle exactly 100 s */
    kw_reasm_tick(reasm, SEC(1000));
    kw_reasm_finish(reasm, SEC(1000));
    expect_log("open #1 1:40001 @1.000200\n"
               "open #2 2:40002 @2.000200\n"
               "open #3 3:40003 @3.000200\n"
               "data #3 c>s 10 @10.000000 frame 10\n"
               "data #3 s>c 20 @10.001000 frame 11\n"
               "data #1 c>s 10 @20.000000 frame 12\n"
               "data #1 s>c 20 @20.001000 frame 13\n"
               "fin #2 c>s @30.000000\n"
               "end #3 timeout/idle @110.001000 frame 0\n"
               "end #1 timeout/idle @120.001000 frame 0\n"
               "end #2 timeout/idle @130.000000 frame 0\n");
    ck_assert_uint_eq(stats.idle_timeouts, 3);
    kw_reasm_free(reasm);
}
END_TEST

/* At the end of the input, a connection past the limit ends as a timeout, the
 * others as capture-end, in the order they opened. */
START_TEST(test_finish_ends_idle_first)
{
    start(768, 1, 50);
    struct client a = client_n(1), b = client_n(2), c = client_n(3);
    handshake(&a, 1);
    handshake(&b, 2);
    handshake(&c, 3);
    talk(&a, 60);
    talk(&c, 61);
    kw_reasm_finish(reasm, SEC(70));
    expect_log("open #1 1:40001 @1.000200\n"
               "open #2 2:40002 @2.000200\n"
               "open #3 3:40003 @3.000200\n"
               "data #1 c>s 10 @60.000000 frame 10\n"
               "data #1 s>c 20 @60.001000 frame 11\n"
               "data #3 c>s 10 @61.000000 frame 12\n"
               "data #3 s>c 20 @61.001000 frame 13\n"
               "end #2 timeout/idle @52.000200 frame 0\n"
               "end #1 capture-end @70.000000 frame 0\n"
               "end #3 capture-end @70.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* libnids may free a stream silently and reuse it at once for a new SYN on the
 * same 4-tuple (tcp_flow_timeout). Ending the old connection must leave the
 * new half-open stream alone: its handshake completes and it is followed. */
START_TEST(test_idle_after_takeover_spares_new_stream)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    talk(&a, 2);
    struct client again = client_n(1);
    again.seq = 777777, again.server_seq = 888888;
    ck_assert_int_eq(to_server(&again, 400, TH_SYN, 0), 0); /* takes over the 4-tuple */
    kw_reasm_tick(reasm, SEC(400));
    ck_assert_int_eq(to_client(&again, 400.0001, TH_SYN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&again, 400.0002, TH_ACK, 0), 0);
    talk(&again, 401);
    kw_reasm_finish(reasm, SEC(402));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "data #1 s>c 20 @2.001000 frame 5\n"
               "end #1 timeout/idle @302.001000 frame 0\n"
               "open #2 1:40001 @400.000200\n"
               "data #2 c>s 10 @401.000000 frame 9\n"
               "data #2 s>c 20 @401.001000 frame 10\n"
               "end #2 capture-end @402.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* ---- why a connection timed out -------------------------------------------- */

/* A new connection on a 4-tuple still open, its handshake older than the flow
 * timeout: libnids replaces the stream at the SYN, without a callback, and
 * the old connection ends there as reused. */
START_TEST(test_timeout_reused)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    talk(&a, 2);
    struct client again = client_n(1);
    again.seq = 777777, again.server_seq = 888888;
    handshake(&again, 5);
    kw_reasm_finish(reasm, SEC(6));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "data #1 s>c 20 @2.001000 frame 5\n"
               "end #1 timeout/reused @5.000000 frame 6\n"
               "open #2 1:40001 @5.000200\n"
               "end #2 capture-end @6.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* --max-connections 12: the 13th connection ends the least recently active
 * one (#2: #1 talked since), as evicted, counted; the others go on. */
START_TEST(test_timeout_evicted)
{
    start(12, 1, 300);
    struct client c[15];
    for (uint8_t i = 1; i <= 12; i++) {
        c[i] = client_n(i);
        handshake(&c[i], i);
    }
    talk(&c[1], 12.5);
    for (uint8_t i = 13; i <= 14; i++) {
        c[i] = client_n(i);
        handshake(&c[i], i);
    }
    ck_assert_uint_eq(stats.streams_evicted, 2);
    ck_assert_msg(strstr(event_log, "open #13 13:40013 @13.000200\n"
                                    "end #2 timeout/evicted @13.000200 frame 41\n"),
                  "%s", event_log);
    ck_assert_msg(strstr(event_log, "open #14 14:40014 @14.000200\n"
                                    "end #3 timeout/evicted @14.000200 frame 44\n"),
                  "%s", event_log);
    log_len = 0;
    event_log[0] = '\0';
    talk(&c[1], 15);
    talk(&c[14], 15);
    expect_log("data #1 c>s 10 @15.000000 frame 45\n"
               "data #1 s>c 20 @15.001000 frame 46\n"
               "data #14 c>s 10 @15.000000 frame 47\n"
               "data #14 s>c 20 @15.001000 frame 48\n");
    kw_reasm_finish(reasm, SEC(20));
    kw_reasm_free(reasm);
}
END_TEST

/* ---- out of memory inside libnids ---------------------------------------------- */

static size_t vm_size_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    size_t kib = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmSize: %zu kB", &kib) == 1)
            break;
    fclose(f);
    ck_assert_uint_gt(kib, 0);
    return kib;
}

/* Each connection sends one 30,000-byte segment, which libnids copies into a
 * 60,000-byte buffer, under an address-space limit: libnids runs out, the
 * feed says so, the reassembler stays failed, and finishing still ends every
 * open connection through the sink, without calling libnids again. */
START_TEST(test_out_of_memory)
{
    if (getenv("KW_SANITIZED")) /* sanitizers reserve terabytes of address space */
        return;
    start(3072, 1, 300);
    struct client first = client_n(1);
    handshake(&first, 1);
    struct rlimit lim = { (vm_size_kib() + 8 * 1024) * 1024, RLIM_INFINITY };
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
    int failed_at = 0;
    for (int i = 0; i < 1000 && !failed_at; i++) {
        struct client c = { .ip = { 10, 2, (uint8_t)(i >> 8), (uint8_t)i }, .port = 50000,
                            .seq = 1, .server_seq = 2 };
        handshake(&c, 10 + i);
        if (to_server(&c, 10.5 + i, TH_PSH | TH_ACK, 30000) < 0)
            failed_at = i + 1;
    }
    ck_assert_msg(failed_at > 10, "failed at connection %d", failed_at);
    const char *why = kw_reasm_error(reasm);
    ck_assert_msg(strstr(why, "out of memory in the TCP reassembler (libnids, ") == why, "%s",
                  why);
    ck_assert_int_eq(to_server(&first, 2000, TH_PSH | TH_ACK, 10), -1); /* sticky */
    kw_reasm_tick(reasm, SEC(100000));                                  /* does nothing */
    log_len = 0;
    event_log[0] = '\0';
    kw_reasm_finish(reasm, SEC(2000));
    /* every connection opened ends, the first one first */
    ck_assert_msg(strstr(event_log, "end #1 capture-end @2000.000000 frame 0\n") == event_log,
                  "%s", event_log);
    int n_ends = 0;
    for (const char *p = event_log; (p = strstr(p, "end #")); p++)
        n_ends++;
    ck_assert_int_eq(n_ends, n_opened);
    ck_assert_int_eq(n_opened, failed_at + 1);
    kw_reasm_free(reasm);
}
END_TEST

/* ---- streams libnids frees without a callback ------------------------------------ */

/* A SYN on the 4-tuple of a connection whose handshake is older than the flow
 * timeout: libnids drops the old stream silently and starts a new one, and a
 * RST to that SYN frees the new one too. Twenty times over, in a table of 13:
 * each old connection ends at its SYN, and the connections after them are
 * all followed (records left behind would fill the pool). */
START_TEST(test_silent_frees_leave_no_records)
{
    start(12, 1, 300);
    for (uint8_t i = 1; i <= 20; i++) {
        struct client c = client_n(i);
        handshake(&c, 10 * i);
        talk(&c, 10 * i + 1);
        struct client again = client_n(i);
        again.seq = 777777, again.server_seq = 0;
        ck_assert_int_eq(to_server(&again, 10 * i + 3, TH_SYN, 0), 0);
        ck_assert_int_eq(to_client(&again, 10 * i + 3.0001, TH_RST | TH_ACK, 0), 0);
    }
    ck_assert_int_eq(n_opened, 20);
    ck_assert_uint_eq(stats.streams_evicted + stats.streams_refused, 0);
    ck_assert_msg(strstr(event_log, "open #20 20:40020 @200.000200\n"
                                    "data #20 c>s 10 @201.000000 frame 137\n"
                                    "data #20 s>c 20 @201.001000 frame 138\n"
                                    "end #20 timeout/reused @203.000000 frame 139\n"),
                  "%s", event_log);
    kw_reasm_finish(reasm, SEC(300));
    ck_assert_int_eq(n_opened, 20);
    kw_reasm_free(reasm);
}
END_TEST

/* The stream libnids freed at the SYN is at the head of its free list: the
 * next connection gets it. Ending the old connection later must not touch
 * that stream (it would detach the new connection, whose data would vanish). */
START_TEST(test_freed_stream_reused_by_another)
{
    start(768, 1, 300);
    struct client a = client_n(1), b = client_n(2);
    handshake(&a, 1);
    talk(&a, 2);
    struct client again = client_n(1);
    again.seq = 777777, again.server_seq = 0;
    ck_assert_int_eq(to_server(&again, 10, TH_SYN, 0), 0);
    ck_assert_int_eq(to_client(&again, 10.0001, TH_RST | TH_ACK, 0), 0);
    handshake(&b, 20);
    talk(&b, 200);
    kw_reasm_tick(reasm, SEC(315)); /* a would be idle by now */
    talk(&b, 320);
    kw_reasm_finish(reasm, SEC(330));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "data #1 s>c 20 @2.001000 frame 5\n"
               "end #1 timeout/reused @10.000000 frame 6\n"
               "open #2 2:40002 @20.000200\n"
               "data #2 c>s 10 @200.000000 frame 11\n"
               "data #2 s>c 20 @200.001000 frame 12\n"
               "data #2 c>s 10 @320.000000 frame 13\n"
               "data #2 s>c 20 @320.001000 frame 14\n"
               "end #2 capture-end @330.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* ---- the urgent pointer ------------------------------------------------------- */

/* libnids takes the byte at an urgent pointer out of the stream, as a
 * receiver without SO_OOBINLINE does, but its sequence number stays used:
 * the stream is one byte shorter than the sequence numbers say. That must
 * not look like a missing segment (a gap), nor hold the client's FIN back
 * until the end (which made the server's FIN look first). Here the urgent
 * byte is the 5th of one segment, then the last of the next one. */
START_TEST(test_urgent_byte_is_no_gap)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    urgent_pointer = 5;
    ck_assert_int_eq(to_server(&a, 2, TH_PSH | TH_ACK, 10), 0);
    urgent_pointer = 10;
    ck_assert_int_eq(to_server(&a, 3, TH_PSH | TH_ACK, 10), 0);
    ck_assert_int_eq(to_client(&a, 4, TH_PSH | TH_ACK, 20), 0);
    ck_assert_int_eq(to_server(&a, 5, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&a, 5.1, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 5.2, TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(6));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 4 @2.000000 frame 4\n"
               "data #1 c>s 5 @2.000000 frame 4\n"
               "data #1 c>s 9 @3.000000 frame 5\n"
               "data #1 s>c 20 @4.000000 frame 6\n"
               "fin #1 c>s @5.000000\n"
               "fin #1 s>c @5.100000\n"
               "end #1 fin @5.200000 frame 9\n");
    ck_assert_uint_eq(stats.urgent_bytes, 2);
    ck_assert_uint_eq(stats.connections_gap, 0);
    kw_reasm_free(reasm);
}
END_TEST

/* ---- IP fragments ------------------------------------------------------------ */

/* The server speaks last; then the client's RST comes in two fragments, its
 * TCP header split. libnids put such a datagram together itself, but we did
 * not read its TCP header: the RST was taken as the server's, as the last
 * packet read was. Then a FIN in fragments, which went unseen. */
START_TEST(test_fragmented_rst_and_fin)
{
    start(768, 1, 300);
    struct client a = client_n(1), b = client_n(2);
    handshake(&a, 1);
    talk(&a, 2);
    fragment_size = 8; /* ports and sequence number, then the rest */
    ck_assert_int_eq(to_server(&a, 3, TH_RST | TH_ACK, 0), 0);
    handshake(&b, 4);
    talk(&b, 5);
    fragment_size = 24;
    ck_assert_int_eq(to_server(&b, 6, TH_FIN | TH_PSH | TH_ACK, 50), 0);
    ck_assert_int_eq(to_client(&b, 6.1, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&b, 6.2, TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(7));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "data #1 s>c 20 @2.001000 frame 5\n"
               "end #1 rst @3.000000 frame 7 from client\n"
               "open #2 2:40002 @4.000200\n"
               "data #2 c>s 10 @5.000000 frame 11\n"
               "data #2 s>c 20 @5.001000 frame 12\n"
               "data #2 c>s 50 @6.000000 frame 15\n"
               "fin #2 c>s @6.000000\n"
               "fin #2 s>c @6.100000\n"
               "end #2 fin @6.200000 frame 17\n");
    ck_assert_uint_eq(stats.frag_datagrams, 2);
    kw_reasm_free(reasm);
}
END_TEST

/* Fragments that overlap drop their datagram (RFC 5722, as hosts do): which
 * bytes would the host keep? An exact copy of a fragment is a duplicated
 * packet and changes nothing; a fragment with the same place and other bytes
 * is an overlap. */
START_TEST(test_fragment_overlaps)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    build_tcp(a.ip, a.port, server_ip, 80, a.seq, a.server_seq, TH_PSH | TH_ACK, 40);
    static uint8_t other[100];
    memcpy(other, packet, 80);
    other[20 + 20 + 2] = 'y'; /* a payload byte in [0, 24) */
    packet[5] = other[5] = 77; /* [0,24) and [16,60): overlap */
    ck_assert_int_eq(feed_fragment_of(SEC(2), packet, 80, 0, 24), 0);
    ck_assert_int_eq(feed_fragment_of(SEC(2), packet, 80, 16, 44), 0);
    packet[5] = other[5] = 78; /* [0,24) twice, other bytes */
    ck_assert_int_eq(feed_fragment_of(SEC(2), packet, 80, 0, 24), 0);
    ck_assert_int_eq(feed_fragment_of(SEC(2), other, 80, 0, 24), 0);
    ck_assert_uint_eq(stats.frag_invalid, 2);
    ck_assert_uint_eq(stats.frag_datagrams, 0);
    packet[5] = 79; /* [24,60), [0,24) twice over: one datagram */
    ck_assert_int_eq(feed_fragment_of(SEC(3), packet, 80, 24, 36), 0);
    ck_assert_int_eq(feed_fragment_of(SEC(3), packet, 80, 0, 24), 0);
    ck_assert_uint_eq(stats.frag_datagrams, 1);
    ck_assert_int_eq(feed_fragment_of(SEC(3), packet, 80, 0, 24), 0); /* a new, lone datagram */
    ck_assert_uint_eq(stats.frag_invalid, 2);
    kw_reasm_finish(reasm, SEC(4));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 40 @3.000000 frame 9\n"
               "end #1 capture-end @4.000000 frame 0\n");
    ck_assert_uint_eq(stats.frag_expired, 1);
    kw_reasm_free(reasm);
}
END_TEST

/* Incomplete datagrams expire on capture time, and no more than DEFRAG_SLOTS
 * are kept: the oldest gives its place up. */
START_TEST(test_fragments_bounded)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    for (int i = 0; i < 100; i++) { /* first fragments only: the rest never come */
        fragment_size = 16, fragments_sent = 1;
        feed_tcp(SEC(1 + i * 0.001), a.ip, a.port, server_ip, 80, 1, 1, TH_ACK, 100);
    }
    ck_assert_uint_eq(stats.frag_evicted, 100 - DEFRAG_SLOTS);
    ck_assert_uint_eq(stats.frag_expired, 0);
    fragment_size = 16, fragments_sent = 1;
    feed_tcp(SEC(40), a.ip, a.port, server_ip, 80, 1, 1, TH_ACK, 100);
    ck_assert_uint_eq(stats.frag_expired, DEFRAG_SLOTS);
    kw_reasm_finish(reasm, SEC(41));
    ck_assert_uint_eq(stats.frag_expired, DEFRAG_SLOTS + 1);
    ck_assert_uint_eq(stats.frag_datagrams, 0);
    kw_reasm_free(reasm);
}
END_TEST

/* ---- IPv6 ---------------------------------------------------------------------- */

/* An IPv6 connection is followed as an IPv4 one is; the sink sees its own
 * addresses, never the ones libnids follows it under. */
START_TEST(test_ipv6_connection)
{
    start(768, 1, 300);
    struct client a = client6_n(1), b = client_n(2);
    handshake(&a, 1);
    handshake(&b, 1.5);
    talk(&a, 2);
    talk(&b, 2.5);
    ck_assert_int_eq(to_server(&a, 3, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&a, 3.1, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 3.2, TH_ACK, 0), 0);
    ck_assert_uint_eq(reasm->map6.n_in_use, 0);
    kw_reasm_finish(reasm, SEC(4));
    expect_log("open #1 [1:1]:40001 @1.000200\n"
               "open #2 2:40002 @1.500200\n"
               "data #1 c>s 10 @2.000000 frame 7\n"
               "data #1 s>c 20 @2.001000 frame 8\n"
               "data #2 c>s 10 @2.500000 frame 9\n"
               "data #2 s>c 20 @2.501000 frame 10\n"
               "fin #1 c>s @3.000000\n"
               "fin #1 s>c @3.100000\n"
               "end #1 fin @3.200000 frame 13\n"
               "end #2 capture-end @4.000000 frame 0\n");
    ck_assert_uint_eq(stats.skip_ipv6, 0);
    ck_assert_uint_eq(stats.connections, 2);
    kw_reasm_free(reasm);
}
END_TEST

/* An IPv6 packet's payload bytes [offset, offset + len) as a fragment. */
static int feed_fragment6_of(kw_usec ts, const uint8_t *whole, size_t total, size_t offset,
                             size_t len, uint32_t id)
{
    static uint8_t frag[65536];
    bool more = 40 + offset + len < total;
    memcpy(frag, whole, 40);
    frag[4] = (uint8_t)((8 + len) >> 8), frag[5] = (uint8_t)(8 + len);
    frag[6] = 44; /* Fragment header, then TCP */
    uint8_t *f = frag + 40;
    f[0] = 6, f[1] = 0;
    uint16_t off = (uint16_t)(offset | (more ? 1 : 0));
    f[2] = (uint8_t)(off >> 8), f[3] = (uint8_t)off;
    f[4] = (uint8_t)(id >> 24), f[5] = (uint8_t)(id >> 16), f[6] = (uint8_t)(id >> 8);
    f[7] = (uint8_t)id;
    memcpy(frag + 48, whole + 40 + offset, len);
    return feed_ip(ts, frag, 48 + len);
}

/* IPv6 fragments are put together by us too: here the client's segment in
 * three, the last first; the datagram is fed at the last to come. */
START_TEST(test_ipv6_fragments)
{
    start(768, 1, 300);
    struct client a = client6_n(1);
    handshake(&a, 1);
    static uint8_t p6[200];
    size_t total = build_tcp(a.ip6, a.port, server_ip6, 80, a.seq, a.server_seq,
                             TH_PSH | TH_ACK, 50) + 20;
    memset(p6, 0, 40);
    p6[0] = 0x60, p6[6] = 6, p6[7] = 64;
    memcpy(p6 + 8, a.ip6, 16);
    memcpy(p6 + 24, server_ip6, 16);
    memcpy(p6 + 40, packet + 20, total - 40);
    ck_assert_int_eq(feed_fragment6_of(SEC(2), p6, total, 48, 22, 9), 0);
    ck_assert_int_eq(feed_fragment6_of(SEC(2.1), p6, total, 0, 24, 9), 0);
    ck_assert_int_eq(feed_fragment6_of(SEC(2.2), p6, total, 24, 24, 9), 0);
    kw_reasm_finish(reasm, SEC(3));
    expect_log("open #1 [1:1]:40001 @1.000200\n"
               "data #1 c>s 50 @2.200000 frame 6\n"
               "end #1 capture-end @3.000000 frame 0\n");
    ck_assert_uint_eq(stats.frag_datagrams, 1);
    kw_reasm_free(reasm);
}
END_TEST

/* Real traffic in 240.0.0.0/4, where IPv6 connections are mapped, is dropped
 * before libnids: here a packet that names the first IPv6 connection's
 * mapped 4-tuple exactly, with data in sequence. */
START_TEST(test_ipv6_mapped_range_is_ours)
{
    start(768, 1, 300);
    struct client a = client6_n(1);
    handshake(&a, 1);
    const uint8_t mapped_client[4] = { 240, 0, 0, 2 }, mapped_server[4] = { 240, 0, 0, 3 };
    ck_assert_int_eq(feed_tcp(SEC(2), mapped_client, a.port, mapped_server, 80, a.seq,
                              a.server_seq, TH_PSH | TH_ACK, 10), 0);
    talk(&a, 3);
    kw_reasm_finish(reasm, SEC(4));
    expect_log("open #1 [1:1]:40001 @1.000200\n"
               "data #1 c>s 10 @3.000000 frame 5\n"
               "data #1 s>c 20 @3.001000 frame 6\n"
               "end #1 capture-end @4.000000 frame 0\n");
    ck_assert_uint_eq(stats.skip_reserved, 1);
    kw_reasm_free(reasm);
}
END_TEST

/* The map holds no more entries than libnids holds streams (13 here), an
 * entry goes when libnids lets its half-open stream go (a RST to the SYN),
 * and a SYN flood leaves room for the connections after it. */
START_TEST(test_ipv6_map_bounded)
{
    start(12, 1, 300);
    struct client x = client6_n(200);
    ck_assert_int_eq(to_server(&x, 1, TH_SYN, 0), 0);
    ck_assert_uint_eq(reasm->map6.n_in_use, 1);
    x.server_seq = 0;
    ck_assert_int_eq(to_client(&x, 1.1, TH_RST | TH_ACK, 0), 0);
    ck_assert_uint_eq(reasm->map6.n_in_use, 0);
    for (uint8_t i = 1; i <= 100; i++) {
        struct client c = client6_n(i);
        ck_assert_int_eq(to_server(&c, 2 + i * 0.01, TH_SYN, 0), 0);
        ck_assert_uint_le(reasm->map6.n_in_use, 14);
    }
    struct client a = client6_n(150);
    handshake(&a, 10);
    talk(&a, 11);
    ck_assert_uint_le(reasm->map6.n_in_use, 14);
    kw_reasm_finish(reasm, SEC(12));
    expect_log("open #1 [1:96]:40150 @10.000200\n"
               "data #1 c>s 10 @11.000000 frame 106\n"
               "data #1 s>c 20 @11.001000 frame 107\n"
               "end #1 capture-end @12.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* ---- RSTs and ACKs from strangers ---------------------------------------------- */

/* A RST in the window but 100 bytes past where the client's stream stands:
 * libnids would end the connection at it. The client goes on sending (its
 * peer never saw the RST, or ignored it: RFC 5961), so it was no end. */
START_TEST(test_rst_not_exact_then_data)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    talk(&a, 2);
    ck_assert_int_eq(feed_tcp(SEC(3), a.ip, a.port, server_ip, 80, a.seq + 100, a.server_seq,
                              TH_RST | TH_ACK, 0), 0);
    talk(&a, 3.5);
    kw_reasm_finish(reasm, SEC(4));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "data #1 s>c 20 @2.001000 frame 5\n"
               "data #1 c>s 10 @3.500000 frame 7\n"
               "data #1 s>c 20 @3.501000 frame 8\n"
               "end #1 capture-end @4.000000 frame 0\n");
    ck_assert_uint_eq(stats.rst_held, 1);
    ck_assert_uint_eq(stats.rst_ignored, 1);
    kw_reasm_free(reasm);
}
END_TEST

/* The same RST with nothing after it for a second: the connection ends at it,
 * as reset by the side that sent it; an exact RST ends one at once; one out
 * of the window is ignored. */
START_TEST(test_rst_not_exact_then_silence)
{
    start(768, 1, 300);
    struct client a = client_n(1), b = client_n(2), c = client_n(3);
    handshake(&a, 1);
    handshake(&b, 1.1);
    handshake(&c, 1.2);
    talk(&a, 2);
    ck_assert_int_eq(feed_tcp(SEC(3), server_ip, 80, a.ip, a.port, a.server_seq + 7, a.seq,
                              TH_RST | TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&b, 3.2, TH_RST | TH_ACK, 0), 0); /* exact */
    ck_assert_int_eq(feed_tcp(SEC(3.3), c.ip, c.port, server_ip, 80, c.seq + 0x40000000,
                              c.server_seq, TH_RST | TH_ACK, 0), 0);
    talk(&c, 4.5); /* a's RST is 1.5 s old by now */
    kw_reasm_finish(reasm, SEC(5));
    expect_log("open #1 1:40001 @1.000200\n"
               "open #2 2:40002 @1.100200\n"
               "open #3 3:40003 @1.200200\n"
               "data #1 c>s 10 @2.000000 frame 10\n"
               "data #1 s>c 20 @2.001000 frame 11\n"
               "end #2 rst @3.200000 frame 13 from server\n"
               "end #1 rst @3.000000 frame 12 from server\n"
               "data #3 c>s 10 @4.500000 frame 15\n"
               "data #3 s>c 20 @4.501000 frame 16\n"
               "end #3 capture-end @5.000000 frame 0\n");
    ck_assert_uint_eq(stats.rst_held, 1);
    ck_assert_uint_eq(stats.rst_ignored, 0);
    ck_assert_uint_eq(stats.rst_out_of_window, 1);
    kw_reasm_free(reasm);
}
END_TEST

/* One ACK, from the client, for 100,000 bytes the server never sent: libnids
 * moves the server's window past everything it then sends and drops it all
 * as old. The ACK is an anomaly, not the end of the analysis. */
START_TEST(test_ack_for_data_never_sent)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    ck_assert_int_eq(to_server(&a, 2, TH_PSH | TH_ACK, 10), 0);
    ck_assert_int_eq(feed_tcp(SEC(2.0005), a.ip, a.port, server_ip, 80, a.seq,
                              a.server_seq + 100000, TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&a, 2.001, TH_PSH | TH_ACK, 20), 0);
    ck_assert_int_eq(to_client(&a, 2.002, TH_PSH | TH_ACK, 30), 0);
    ck_assert_int_eq(to_client(&a, 2.1, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 2.2, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&a, 2.3, TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(3));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "data #1 s>c 20 @2.001000 frame 6\n"
               "data #1 s>c 30 @2.002000 frame 7\n"
               "fin #1 s>c @2.100000\n"
               "fin #1 c>s @2.200000\n"
               "end #1 fin @2.300000 frame 10\n");
    ck_assert_uint_eq(stats.ack_unseen, 1);
    kw_reasm_free(reasm);
}
END_TEST

/* ---- TCP Fast Open, IP options ------------------------------------------------ */

/* The client's first 30 bytes ride on its SYN, and the server takes them (its
 * SYN/ACK acknowledges them): libnids alone never saw this connection. Then
 * a second one whose server does not take them: the client sends them again,
 * and they are delivered once. */
START_TEST(test_fast_open)
{
    start(768, 1, 300);
    struct client a = client_n(1), b = client_n(2);
    ck_assert_int_eq(to_server(&a, 1, TH_SYN, 30), 0);
    ck_assert_int_eq(to_client(&a, 1.0001, TH_SYN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 1.0002, TH_ACK, 0), 0);
    talk(&a, 2);
    uint32_t isn = b.seq;
    ck_assert_int_eq(to_server(&b, 3, TH_SYN, 30), 0);
    b.seq = isn + 1; /* not acknowledged */
    ck_assert_int_eq(to_client(&b, 3.0001, TH_SYN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&b, 3.0002, TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&b, 3.0003, TH_PSH | TH_ACK, 30), 0);
    kw_reasm_finish(reasm, SEC(4));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 30 @1.000200 frame 3\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "data #1 s>c 20 @2.001000 frame 5\n"
               "open #2 2:40002 @3.000200\n"
               "data #2 c>s 30 @3.000300 frame 9\n"
               "end #1 capture-end @4.000000 frame 0\n"
               "end #2 capture-end @4.000000 frame 0\n");
    ck_assert_uint_eq(stats.syn_data, 2);
    ck_assert_uint_eq(stats.syn_data_unkept, 0);
    kw_reasm_free(reasm);
}
END_TEST

/* libnids drops IPv4 packets with a source route or malformed options, as
 * hosts do: each is counted by kind. Options it accepts change nothing. */
START_TEST(test_ip_options)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    static const uint8_t nops[4] = { 1, 1, 1, 1 };
    static const uint8_t lsrr[8] = { 1, 131, 7, 4, 10, 9, 9, 9 };
    static const uint8_t bad[4] = { 7, 1, 0, 0 }; /* record route of length 1 */
    ip_options = nops, ip_options_len = 4;
    ck_assert_int_eq(to_server(&a, 2, TH_PSH | TH_ACK, 10), 0);
    ip_options = lsrr, ip_options_len = 8;
    ck_assert_int_eq(to_server(&a, 3, TH_PSH | TH_ACK, 10), 0);
    ip_options = bad, ip_options_len = 4;
    ck_assert_int_eq(to_server(&a, 4, TH_PSH | TH_ACK, 10), 0);
    kw_reasm_finish(reasm, SEC(5));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "end #1 capture-end @5.000000 frame 0 gap c>s at 10\n");
    ck_assert_uint_eq(stats.ip_source_routed, 1);
    ck_assert_uint_eq(stats.ip_bad_options, 1);
    kw_reasm_free(reasm);
}
END_TEST

/* ---- counters past 32 bits ---------------------------------------------------- */

/* 4.3 GB one way, in 65,000-byte segments, with an urgent byte past 2^32 and
 * the sequence numbers wrapping twice: libnids' own counters are ints (they
 * go negative past 2 GB), ours are 64-bit. Every byte is delivered and
 * counted, and the FIN after them is where the stream reaches it: no gap,
 * no FIN held back. */
START_TEST(test_past_four_gigabytes)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    a.seq = 0xfff00000u;
    handshake(&a, 1);
    count_only = true;
    const uint64_t n = 66100; /* 4,296,500,000 bytes */
    for (uint64_t i = 0; i < n; i++) {
        if (i == n - 2)
            urgent_pointer = 7;
        ck_assert_int_eq(to_server(&a, 2 + (double)i * 1e-5, TH_ACK, 65000), 0);
        ck_assert_int_eq(to_client(&a, 2 + (double)i * 1e-5, TH_ACK, 0), 0); /* its window */
    }
    count_only = false;
    ck_assert_int_eq(to_server(&a, 3, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&a, 3.1, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 3.2, TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(4));
    ck_assert_uint_eq(bytes_seen[KW_TO_SERVER], n * 65000 - 1);
    ck_assert_uint_eq(stats.urgent_bytes, 1);
    expect_log("open #1 1:40001 @1.000200\n"
               "fin #1 c>s @3.000000\n"
               "fin #1 s>c @3.100000\n"
               "end #1 fin @3.200000 frame 132206\n");
    kw_reasm_free(reasm);
}
END_TEST

/* ---- connections picked up ---------------------------------------------------- */

/* No handshake: the client's request is the first packet seen. The
 * connection starts there, marked midstream, the request's sender its
 * client; it is followed to its end as any other. */
START_TEST(test_pick_up_request_first)
{
    pick_up = true;
    start(768, 1, 300);
    struct client a = client_n(1);
    payload_text = "GET / HTTP/1.1\r\n";
    ck_assert_int_eq(to_server(&a, 2, TH_PSH | TH_ACK, 40), 0);
    payload_text = "HTTP/1.1 200 OK\r\n";
    ck_assert_int_eq(to_client(&a, 2.001, TH_PSH | TH_ACK, 60), 0);
    ck_assert_int_eq(to_server(&a, 3, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&a, 3.1, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 3.2, TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(4));
    expect_log("open #1 1:40001 @2.000000 midstream\n"
               "data #1 c>s 40 @2.000000 frame 1\n"
               "data #1 s>c 60 @2.001000 frame 2\n"
               "fin #1 c>s @3.000000\n"
               "fin #1 s>c @3.100000\n"
               "end #1 fin @3.200000 frame 5\n");
    ck_assert_uint_eq(stats.connections_midstream, 1);
    ck_assert_uint_eq(stats.connections, 1);
    ck_assert_uint_eq(stats.skip_mid_stream, 0);
    kw_reasm_free(reasm);
}
END_TEST

/* The first packet seen is the server's: a response begins it, so its
 * receiver is the client. Then one whose first bytes say nothing (the middle
 * of a body, from port 80): the side on the port that is not well known is
 * the client. Between two high ports, the higher one. */
START_TEST(test_pick_up_who_is_client)
{
    pick_up = true;
    start(768, 1, 300);
    struct client a = client_n(1), b = client_n(2);
    payload_text = "HTTP/1.1 304 Not Modified\r\n";
    ck_assert_int_eq(to_client(&a, 2, TH_PSH | TH_ACK, 30), 0);
    ck_assert_int_eq(to_server(&a, 2.1, TH_PSH | TH_ACK, 10), 0);
    ck_assert_int_eq(to_client(&b, 3, TH_PSH | TH_ACK, 30), 0);
    const uint8_t x[4] = { 10, 0, 9, 9 }, y[4] = { 10, 0, 9, 8 };
    ck_assert_int_eq(feed_tcp(SEC(4), x, 8080, y, 50000, 1, 1, TH_ACK, 5), 0);
    kw_reasm_finish(reasm, SEC(5));
    expect_log("open #1 1:40001 @2.000000 midstream\n"
               "data #1 s>c 30 @2.000000 frame 1\n"
               "data #1 c>s 10 @2.100000 frame 2\n"
               "open #2 2:40002 @3.000000 midstream\n"
               "data #2 s>c 30 @3.000000 frame 3\n"
               "open #3 8:50000 @4.000000 midstream\n"
               "data #3 s>c 5 @4.000000 frame 4\n"
               "end #1 capture-end @5.000000 frame 0\n"
               "end #2 capture-end @5.000000 frame 0\n"
               "end #3 capture-end @5.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* Without pick-up (kw_reasm_config.midstream false), such packets are only
 * counted, as before. */
START_TEST(test_pick_up_off)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    ck_assert_int_eq(to_server(&a, 2, TH_PSH | TH_ACK, 40), 0);
    ck_assert_uint_eq(stats.skip_mid_stream, 1);
    ck_assert_int_eq(n_opened, 0);
    kw_reasm_finish(reasm, SEC(3));
    kw_reasm_free(reasm);
}
END_TEST

/* A handshake whose SYN/ACK was not captured leaves a half-open stream in
 * libnids, which never completes: with pick-up, data on it starts the
 * connection. */
START_TEST(test_pick_up_half_open)
{
    pick_up = true;
    start(768, 1, 300);
    struct client b = client_n(2);
    ck_assert_int_eq(to_server(&b, 4, TH_SYN, 0), 0);
    b.server_seq++; /* its SYN/ACK went unseen */
    talk(&b, 5);
    kw_reasm_finish(reasm, SEC(6));
    expect_log("open #1 2:40002 @5.000000 midstream\n"
               "data #1 c>s 10 @5.000000 frame 2\n"
               "data #1 s>c 20 @5.001000 frame 3\n"
               "end #1 capture-end @6.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* An IPv6 connection picked up on its server's first packet: the sink sees
 * the real addresses, the client the receiver. */
START_TEST(test_pick_up_ipv6)
{
    pick_up = true;
    start(768, 1, 300);
    struct client a = client6_n(7);
    payload_text = "HTTP/1.0 200 OK\r\n";
    ck_assert_int_eq(to_client(&a, 2, TH_PSH | TH_ACK, 30), 0);
    ck_assert_int_eq(to_server(&a, 2.1, TH_PSH | TH_ACK, 10), 0);
    kw_reasm_finish(reasm, SEC(3));
    expect_log("open #1 [1:7]:40007 @2.000000 midstream\n"
               "data #1 s>c 30 @2.000000 frame 1\n"
               "data #1 c>s 10 @2.100000 frame 2\n"
               "end #1 capture-end @3.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* A RST not at the expected sequence number, then silence: the connection
 * ends at it. When data comes after all, it is another connection picked up,
 * not a lost one. */
START_TEST(test_pick_up_after_held_rst)
{
    pick_up = true;
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    talk(&a, 2);
    ck_assert_int_eq(feed_tcp(SEC(3), server_ip, 80, a.ip, a.port, a.server_seq + 5, a.seq,
                              TH_RST | TH_ACK, 0), 0);
    talk(&a, 6);
    kw_reasm_finish(reasm, SEC(7));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "data #1 s>c 20 @2.001000 frame 5\n"
               "end #1 rst @3.000000 frame 6 from server\n"
               "open #2 1:40001 @6.000000 midstream\n"
               "data #2 c>s 10 @6.000000 frame 7\n"
               "data #2 s>c 20 @6.001000 frame 8\n"
               "end #2 capture-end @7.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* ---- bytes the capture missed ------------------------------------------------- */

/* The client's second segment is not in the capture; its third is, and the
 * server's ACK passes both: the network delivered them. libnids would stall
 * at the hole for good; the hole is stepped over (on_gap, at the ACK that
 * proves it) and the third segment delivered. */
START_TEST(test_hole_proven_by_ack)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    ck_assert_int_eq(to_server(&a, 2, TH_PSH | TH_ACK, 10), 0);
    a.seq += 15; /* 15 bytes the capture missed */
    ck_assert_int_eq(to_server(&a, 2.002, TH_PSH | TH_ACK, 20), 0);
    ck_assert_int_eq(to_client(&a, 2.003, TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&a, 2.004, TH_PSH | TH_ACK, 30), 0);
    ck_assert_int_eq(to_server(&a, 3, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&a, 3.1, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 3.2, TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(4));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "gap #1 c>s 15 @2.003000 frame 6\n"
               "data #1 c>s 20 @2.003000 frame 6\n"
               "data #1 s>c 30 @2.004000 frame 7\n"
               "fin #1 c>s @3.000000\n"
               "fin #1 s>c @3.100000\n"
               "end #1 fin @3.200000 frame 10\n");
    ck_assert_uint_eq(stats.capture_holes, 1);
    ck_assert_uint_eq(stats.capture_missed_bytes, 15);
    kw_reasm_free(reasm);
}
END_TEST

/* An ACK that does not pass the hole proves nothing (the segment was lost on
 * the network and comes again): the retransmission fills it, no gap. One
 * ACK past all the data seen fills no more than up to that data. */
START_TEST(test_hole_not_proven)
{
    start(768, 1, 300);
    struct client a = client_n(1), b = client_n(2);
    handshake(&a, 1);
    ck_assert_int_eq(to_server(&a, 2, TH_PSH | TH_ACK, 10), 0);
    uint32_t lost = a.seq;
    a.seq += 15;
    ck_assert_int_eq(to_server(&a, 2.002, TH_PSH | TH_ACK, 20), 0);
    ck_assert_int_eq(feed_tcp(SEC(2.003), server_ip, 80, a.ip, a.port, a.server_seq, lost,
                              TH_ACK, 0), 0); /* up to the hole */
    ck_assert_int_eq(feed_tcp(SEC(2.1), a.ip, a.port, server_ip, 80, lost, a.server_seq,
                              TH_PSH | TH_ACK, 15), 0);
    handshake(&b, 3);
    ck_assert_int_eq(to_server(&b, 4, TH_PSH | TH_ACK, 10), 0);
    b.seq += 15;
    ck_assert_int_eq(to_server(&b, 4.002, TH_PSH | TH_ACK, 20), 0);
    ck_assert_int_eq(feed_tcp(SEC(4.003), server_ip, 80, b.ip, b.port, b.server_seq,
                              b.seq + 5000, TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(5));
    ck_assert_msg(strstr(event_log, "gap #1") == NULL, "%s", event_log);
    ck_assert_msg(strstr(event_log, "data #2 c>s 10 @4.000000 frame 11\n"
                                    "gap #2 c>s 15 @4.003000 frame 13\n"
                                    "data #2 c>s 20 @4.003000 frame 13\n"),
                  "%s", event_log);
    ck_assert_uint_eq(stats.capture_missed_bytes, 15);
    kw_reasm_free(reasm);
}
END_TEST

/* The server's last response segment is not in the capture; its FIN is, and
 * waits behind the hole. The client's FIN comes after, in order: it is not
 * the first close (it was, before), whether the hole is proven (the client's
 * FIN acknowledges it) or never is. */
START_TEST(test_first_fin_behind_hole)
{
    start(768, 1, 300);
    struct client a = client_n(1), b = client_n(2);
    handshake(&a, 1);
    talk(&a, 2);
    a.server_seq += 25; /* missed */
    ck_assert_int_eq(to_client(&a, 2.1, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 2.2, TH_FIN | TH_ACK, 0), 0); /* acks all of it */
    ck_assert_int_eq(to_client(&a, 2.3, TH_ACK, 0), 0);
    handshake(&b, 3);
    talk(&b, 4);
    ck_assert_int_eq(feed_tcp(SEC(4.1), server_ip, 80, b.ip, b.port, b.server_seq + 25, b.seq,
                              TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(feed_tcp(SEC(4.2), b.ip, b.port, server_ip, 80, b.seq, b.server_seq,
                              TH_FIN | TH_ACK, 0), 0); /* acks none of it */
    kw_reasm_finish(reasm, SEC(5));
    expect_log("open #1 1:40001 @1.000200\n"
               "data #1 c>s 10 @2.000000 frame 4\n"
               "data #1 s>c 20 @2.001000 frame 5\n"
               "gap #1 s>c 25 @2.200000 frame 7\n"
               "fin #1 s>c @2.100000\n"
               "fin #1 c>s @2.200000\n"
               "end #1 fin @2.300000 frame 8\n"
               "open #2 2:40002 @3.000200\n"
               "data #2 c>s 10 @4.000000 frame 12\n"
               "data #2 s>c 20 @4.001000 frame 13\n"
               "fin #2 s>c @4.100000\n"
               "fin #2 c>s @4.200000\n"
               "end #2 capture-end @5.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* ---- what the packets showed (wire.c) -------------------------------------------- */

/* One end's counts: packets each way, bytes each way, the history. */
static void expect_wire(int conn, uint64_t cp, uint64_t sp, uint64_t cb, uint64_t sb,
                        const char *history)
{
    const struct kw_reasm_end *e = &ends[conn - 1];
    ck_assert_msg(!e->packets_unknown, "conn %d: packets unknown", conn);
    ck_assert_uint_eq(e->packets[KW_TO_SERVER], cp);
    ck_assert_uint_eq(e->packets[KW_TO_CLIENT], sp);
    ck_assert_uint_eq(e->bytes[KW_TO_SERVER], cb);
    ck_assert_uint_eq(e->bytes[KW_TO_CLIENT], sb);
    ck_assert_str_eq(e->history, history);
}

/* Every packet from the SYN to the ACK that ends it, the handshake's
 * counted before our record of the connection existed; bytes without the
 * SYN's and FINs' octets; each letter once. */
START_TEST(test_wire_whole_connection)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    talk(&a, 2);
    ck_assert_int_eq(to_server(&a, 3, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&a, 3.1, TH_FIN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 3.2, TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(4));
    ck_assert_msg(strstr(event_log, "end #1 fin @3.200000 frame 8\n"), "%s", event_log);
    expect_wire(1, 5, 3, 10, 20, "ShADdFf");
    kw_reasm_free(reasm);
}
END_TEST

/* A SYN sent again is a packet more, no letter more; payload sent again is
 * T, once; a zero window W (after the pure ACK's a); bytes the server's
 * segments never showed but the client acknowledged count, as in Zeek's
 * orig_bytes, and a retransmission's bytes do not count twice. */
START_TEST(test_wire_retransmission_window_and_acks)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    ck_assert_int_eq(to_server(&a, 1, TH_SYN, 0), 0);
    a.seq--;
    ck_assert_int_eq(to_server(&a, 2, TH_SYN, 0), 0);
    ck_assert_int_eq(to_client(&a, 2.0001, TH_SYN | TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 2.0002, TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 3, TH_PSH | TH_ACK, 10), 0);
    a.seq -= 10;
    ck_assert_int_eq(to_server(&a, 3.2, TH_PSH | TH_ACK, 10), 0);
    ck_assert_int_eq(to_server(&a, 3.4, TH_PSH | TH_ACK, 10), 0);
    zero_window = true;
    ck_assert_int_eq(to_client(&a, 3.5, TH_ACK, 0), 0);
    ck_assert_int_eq(to_client(&a, 4, TH_PSH | TH_ACK, 20), 0);
    ck_assert_int_eq(feed_tcp(SEC(4.1), a.ip, a.port, server_ip, 80, a.seq, a.server_seq + 30,
                              TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(5));
    expect_wire(1, 7, 3, 20, 50, "ShADTawd");
    kw_reasm_free(reasm);
}
END_TEST

/* A connection picked up on its server's response: no S, no handshake; its
 * counts start at the packet that picked it up. A RST: R, and the end. */
START_TEST(test_wire_picked_up)
{
    pick_up = true;
    start(768, 1, 300);
    struct client a = client_n(1);
    ck_assert_int_eq(to_server(&a, 1, TH_ACK, 0), 0); /* before it: no connection yet */
    payload_text = "HTTP/1.1 200 OK\r\n";
    ck_assert_int_eq(to_client(&a, 2, TH_PSH | TH_ACK, 60), 0);
    ck_assert_int_eq(to_server(&a, 2.1, TH_ACK, 0), 0);
    ck_assert_int_eq(to_server(&a, 2.2, TH_RST | TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(3));
    ck_assert_msg(strstr(event_log, "end #1 rst @2.200000 frame 4 from client\n"), "%s",
                  event_log);
    expect_wire(1, 2, 1, 0, 60, "dAR");
    kw_reasm_free(reasm);
}
END_TEST

/* Bytes the capture missed, which the other side's ACK proves were sent: a
 * content gap (G) where the hole is stepped over; they count as bytes. A
 * hole never proven stops reassembly: G at the end. */
START_TEST(test_wire_gaps)
{
    start(768, 1, 300);
    struct client a = client_n(1), b = client_n(2);
    handshake(&a, 1);
    ck_assert_int_eq(to_server(&a, 2, TH_PSH | TH_ACK, 10), 0);
    a.seq += 15;
    ck_assert_int_eq(to_server(&a, 2.002, TH_PSH | TH_ACK, 20), 0);
    ck_assert_int_eq(to_client(&a, 2.003, TH_ACK, 0), 0);
    handshake(&b, 3);
    talk(&b, 4);
    b.server_seq += 25;
    ck_assert_int_eq(to_client(&b, 4.1, TH_PSH | TH_ACK, 5), 0);
    kw_reasm_finish(reasm, SEC(5));
    expect_wire(1, 4, 2, 45, 0, "ShADaG"); /* the ACK, then the gap it proves */
    expect_wire(2, 3, 3, 10, 50, "ShADdg");
    kw_reasm_free(reasm);
}
END_TEST

/* A datagram put together from fragments is one packet; a segment the
 * snaplen cut is one too, though libnids never sees it. */
START_TEST(test_wire_fragments_and_cut_segments)
{
    start(768, 1, 300);
    struct client a = client_n(1);
    handshake(&a, 1);
    fragment_size = 512;
    ck_assert_int_eq(to_server(&a, 2, TH_PSH | TH_ACK, 1400), 0);
    size_t total = build_tcp(server_ip, 80, a.ip, a.port, a.server_seq, a.seq,
                             TH_PSH | TH_ACK, 100);
    struct kw_pkt pkt = { .ts = SEC(3), .linktype = LT_RAW, .wire_len = (uint32_t)total,
                          .frame = ++next_frame };
    pkt.bytes = kw_slice_make(packet, total - 60); /* the snaplen kept 40 payload bytes */
    ck_assert_int_eq(kw_link_decode(LT_RAW, pkt.bytes, pkt.wire_len, &pkt.ip), KW_LINK_IP);
    ck_assert(pkt.ip.is_cut);
    ck_assert_int_eq(kw_reasm_feed(reasm, &pkt), 0);
    kw_reasm_finish(reasm, SEC(4));
    ck_assert_uint_eq(stats.frag_datagrams, 1);
    expect_wire(1, 3, 2, 1400, 100, "ShADdg");
    kw_reasm_free(reasm);
}
END_TEST

/* More handshakes at once than the table of handshakes keeps (64 sets of
 * four for 768 connections): those whose entry made room for another have
 * unknown packets, and a history from the SYN and SYN/ACK libnids proves;
 * the others their counts. Every connection is followed either way. */
START_TEST(test_wire_handshakes_overflow)
{
    start(768, 30, 300);
    enum { N = 600 };
    static struct client c[N];
    for (int i = 0; i < N; i++) {
        c[i] = client_n((uint8_t)(i % 250 + 1));
        c[i].ip[2] = (uint8_t)(1 + i / 250);
        ck_assert_int_eq(to_server(&c[i], 1 + i * 1e-5, TH_SYN, 0), 0);
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(to_client(&c[i], 2 + i * 1e-5, TH_SYN | TH_ACK, 0), 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(to_server(&c[i], 3 + i * 1e-5, TH_ACK, 0), 0);
    kw_reasm_finish(reasm, SEC(4));
    ck_assert_int_eq(n_opened, N);
    int unknown = 0;
    for (int i = 0; i < N; i++) {
        const struct kw_reasm_end *e = &ends[i];
        ck_assert_str_eq(e->history, "ShA");
        if (e->packets_unknown) {
            unknown++;
            continue;
        }
        ck_assert_uint_eq(e->packets[KW_TO_SERVER], 2);
        ck_assert_uint_eq(e->packets[KW_TO_CLIENT], 1);
    }
    ck_assert_int_ge(unknown, N - 256);
    ck_assert_int_lt(unknown, N);
    kw_reasm_free(reasm);
}
END_TEST

/* ---- the flow table's hash ------------------------------------------------------ */

/* The home slot the flow table gave a 4-tuple before its hash was keyed
 * (131,072 slots, as for --max-streams 65536): anyone could compute it. */
static uint32_t unseeded_home(uint32_t a1, uint16_t p1, uint32_t a2, uint16_t p2)
{
    uint64_t e1 = (uint64_t)a1 << 16 | p1, e2 = (uint64_t)a2 << 16 | p2;
    if (e1 > e2) {
        uint64_t e = e1;
        e1 = e2;
        e2 = e;
    }
    uint64_t h = e1 * 0x9e3779b97f4a7c15ull ^ e2;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (uint32_t)h & 0x1ffff;
}

static const struct kw_reasm_sink no_sink = { NULL, on_open, on_data, on_fin, on_end, NULL };

/* 25,000 clients of one server, chosen so that the unseeded hash put them all
 * within 4,096 slots: one probe run over 20,000 slots long, walked by every
 * lookup that lands in it. Under the keyed hash they spread like any others. */
START_TEST(test_chosen_ports_do_not_pile_up)
{
    static struct reasm_table t;
    ck_assert_int_eq(reasm_table_init(&t, 49153, &no_sink, &stats), 0);
    ck_assert_uint_eq(t.slot_mask, 0x1ffff);
    uint32_t server = 0x0100000a; /* 10.0.0.1 as it lies in memory */
    int n = 0;
    for (uint32_t i = 0; n < 25000; i++) {
        uint32_t client = 0x0000010a | (i >> 8) << 16; /* 10.1.x.y */
        uint16_t port = (uint16_t)(1024 + (i & 0xff) * 251);
        if (unseeded_home(client, port, server, 80) >= 4096)
            continue;
        ck_assert_ptr_nonnull(reasm_conn_open(&t, client, port, server, 80, 1));
        ck_assert_ptr_nonnull(reasm_conn_find(&t, server, 80, client, port));
        n++;
    }
    uint32_t longest = reasm_table_max_probe(&t);
    ck_assert_msg(longest <= 40, "a record %u slots from its home", longest);
    reasm_table_free(&t);
}
END_TEST

/* Keys that collide anyway (here found by trying, with the key known): a
 * record is never put more than REASM_PROBE_MAX slots past its home, so no
 * lookup walks further; the connection that would go there is refused. */
START_TEST(test_probe_bound)
{
    static struct reasm_table t;
    ck_assert_int_eq(reasm_table_init(&t, 300, &no_sink, &stats), 0);
    t.key = (struct reasm_key){ 1, 2 };
    uint32_t server = 0x0100000a, ok = 0, refused = 0;
    for (uint32_t i = 0; ok + refused < REASM_PROBE_MAX + 10; i++) {
        uint32_t client = 0x0000010a | (i >> 16) << 16;
        uint16_t port = (uint16_t)i;
        if ((reasm_conn_hash(&t, client, port, server, 80) & t.slot_mask) != 7)
            continue;
        if (reasm_conn_open(&t, client, port, server, 80, 1)) {
            ok++;
            ck_assert_ptr_nonnull(reasm_conn_find(&t, client, port, server, 80));
        } else {
            refused++;
            ck_assert_ptr_null(reasm_conn_find(&t, client, port, server, 80));
        }
    }
    ck_assert_uint_eq(ok, REASM_PROBE_MAX + 1);
    ck_assert_uint_eq(refused, 9);
    ck_assert_uint_eq(reasm_table_max_probe(&t), REASM_PROBE_MAX);
    reasm_table_free(&t);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

int main(void)
{
    Suite *s = suite_create("reassembly");
    TCase *tc = tcase_create("idle");
    tcase_add_test(tc, test_idle_ends_connection);
    tcase_add_test(tc, test_idle_zero_is_never);
    tcase_add_test(tc, test_activity_and_order);
    tcase_add_test(tc, test_finish_ends_idle_first);
    tcase_add_test(tc, test_idle_after_takeover_spares_new_stream);
    suite_add_tcase(s, tc);
    tc = tcase_create("timeout causes");
    tcase_add_test(tc, test_timeout_reused);
    tcase_add_test(tc, test_timeout_evicted);
    suite_add_tcase(s, tc);
    tc = tcase_create("silent frees");
    tcase_add_test(tc, test_silent_frees_leave_no_records);
    tcase_add_test(tc, test_freed_stream_reused_by_another);
    suite_add_tcase(s, tc);
    tc = tcase_create("urgent pointer");
    tcase_add_test(tc, test_urgent_byte_is_no_gap);
    suite_add_tcase(s, tc);
    tc = tcase_create("fragments");
    tcase_add_test(tc, test_fragmented_rst_and_fin);
    tcase_add_test(tc, test_fragment_overlaps);
    tcase_add_test(tc, test_fragments_bounded);
    suite_add_tcase(s, tc);
    tc = tcase_create("ipv6");
    tcase_add_test(tc, test_ipv6_connection);
    tcase_add_test(tc, test_ipv6_mapped_range_is_ours);
    tcase_add_test(tc, test_ipv6_map_bounded);
    tcase_add_test(tc, test_ipv6_fragments);
    suite_add_tcase(s, tc);
    tc = tcase_create("strangers");
    tcase_add_test(tc, test_rst_not_exact_then_data);
    tcase_add_test(tc, test_rst_not_exact_then_silence);
    tcase_add_test(tc, test_ack_for_data_never_sent);
    suite_add_tcase(s, tc);
    tc = tcase_create("fast open, options");
    tcase_add_test(tc, test_fast_open);
    tcase_add_test(tc, test_ip_options);
    suite_add_tcase(s, tc);
    tc = tcase_create("past 32 bits");
    tcase_add_test(tc, test_past_four_gigabytes);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("pick-up");
    tcase_add_test(tc, test_pick_up_request_first);
    tcase_add_test(tc, test_pick_up_who_is_client);
    tcase_add_test(tc, test_pick_up_off);
    tcase_add_test(tc, test_pick_up_half_open);
    tcase_add_test(tc, test_pick_up_ipv6);
    tcase_add_test(tc, test_pick_up_after_held_rst);
    suite_add_tcase(s, tc);
    tc = tcase_create("capture loss");
    tcase_add_test(tc, test_hole_proven_by_ack);
    tcase_add_test(tc, test_hole_not_proven);
    tcase_add_test(tc, test_first_fin_behind_hole);
    suite_add_tcase(s, tc);
    tc = tcase_create("what the packets showed");
    tcase_add_test(tc, test_wire_whole_connection);
    tcase_add_test(tc, test_wire_retransmission_window_and_acks);
    tcase_add_test(tc, test_wire_picked_up);
    tcase_add_test(tc, test_wire_gaps);
    tcase_add_test(tc, test_wire_fragments_and_cut_segments);
    tcase_add_test(tc, test_wire_handshakes_overflow);
    suite_add_tcase(s, tc);
    tc = tcase_create("flow table");
    tcase_add_test(tc, test_chosen_ports_do_not_pile_up);
    tcase_add_test(tc, test_probe_bound);
    suite_add_tcase(s, tc);
    tc = tcase_create("out of memory");
    tcase_add_test(tc, test_out_of_memory);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int n_failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

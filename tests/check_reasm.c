/* check_reasm.c: reassembly/ as the packet loop drives it, with real libnids:
 * packets built here, decoded by capture/'s kw_link_decode(), fed one by one;
 * a sink writes every event as a line of text, and each test compares the
 * log. Covers why a connection timed out (evicted, 4-tuple reused).
 *
 * libnids keeps its state in globals: Check runs each test in a process of
 * its own, so each starts from a fresh libnids. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/link.h"
#include "reassembly/reasm.h"

#define LT_RAW 12
#define SEC(s) ((kw_usec)((s) * 1e6 + 0.5))

/* ---- the event log ------------------------------------------------------- */

static char event_log[16384];
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

static void *on_open(void *ctx, const struct kw_conn_key *key, kw_usec ts)
{
    (void)ctx;
    ck_assert_int_lt(n_opened, 4096);
    conn_ids[n_opened] = n_opened + 1;
    say("open #%d %u:%u @%.6f\n", n_opened + 1, key->client.addr[3], key->client.port,
        ts / 1e6);
    return &conn_ids[n_opened++];
}

static void on_data(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame,
                    struct kw_slice data)
{
    (void)ctx;
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
static const char *const timeout_names[] = { "", "/evicted", "/reused" };

static void on_end(void *ctx, void *conn, const struct kw_reasm_end *e)
{
    (void)ctx;
    say("end #%d %s%s @%.6f frame %llu\n", *(int *)conn, close_names[e->how],
        timeout_names[e->timeout], e->ts / 1e6, (unsigned long long)e->frame);
    ck_assert_int_eq(e->how == KW_CLOSE_TIMEOUT, e->timeout != KW_TIMEOUT_NONE);
}

static const struct kw_reasm_sink sink = { NULL, on_open, on_data, on_fin, on_end };

static struct kw_stats stats;
static struct kw_reasm *reasm;

static void start(int n_streams, int flow_timeout_s)
{
    struct kw_reasm_config cfg = { n_streams, flow_timeout_s };
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

static uint64_t next_frame;
static uint8_t packet[65536];

/* One TCP/IPv4 packet, decoded as capture/ would and fed. */
static void feed_tcp(kw_usec ts, const uint8_t src[4], uint16_t sport, const uint8_t dst[4],
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
    t[14] = 0xff, t[15] = 0xff; /* window */
    memset(packet + 40, 'x', payload);
    struct kw_pkt pkt = { .ts = ts, .linktype = LT_RAW, .wire_len = (uint32_t)total,
                          .frame = ++next_frame };
    pkt.bytes = kw_slice_make(packet, total);
    ck_assert_int_eq(kw_link_decode(LT_RAW, pkt.bytes, pkt.wire_len, &pkt.ip), KW_LINK_IP);
    kw_reasm_feed(reasm, &pkt);
}

static const uint8_t server_ip[4] = { 10, 0, 0, 2 };

/* A client of server_ip:80, with its sequence numbers. */
struct client {
    uint8_t ip[4];
    uint16_t port;
    uint32_t seq, server_seq;
};

static struct client client_n(uint8_t n)
{
    struct client c = { { 10, 0, 1, n }, (uint16_t)(40000 + n), 1000u * n, 500000u * n };
    return c;
}

static void to_server(struct client *c, double at, uint8_t flags, size_t payload)
{
    feed_tcp(SEC(at), c->ip, c->port, server_ip, 80, c->seq, c->server_seq, flags,
                      payload);
    c->seq += (uint32_t)payload + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
}

static void to_client(struct client *c, double at, uint8_t flags, size_t payload)
{
    feed_tcp(SEC(at), server_ip, 80, c->ip, c->port, c->server_seq, c->seq, flags,
                      payload);
    c->server_seq += (uint32_t)payload + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
}

static void handshake(struct client *c, double at)
{
    to_server(c, at, TH_SYN, 0);
    to_client(c, at + 0.0001, TH_SYN | TH_ACK, 0);
    to_server(c, at + 0.0002, TH_ACK, 0);
}

static void talk(struct client *c, double at)
{
    to_server(c, at, TH_PSH | TH_ACK, 10);
    to_client(c, at + 0.001, TH_PSH | TH_ACK, 20);
}

/* ---- why a connection timed out -------------------------------------------- */

/* A new connection on a 4-tuple still open, its handshake older than the flow
 * timeout: libnids replaces the stream, and the old connection ends as reused. */
START_TEST(test_timeout_reused)
{
    start(1024, 1);
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
               "end #1 timeout/reused @5.000200 frame 8\n"
               "open #2 1:40001 @5.000200\n"
               "end #2 capture-end @6.000000 frame 0\n");
    kw_reasm_free(reasm);
}
END_TEST

/* The stream table full (16 buckets: 12 + 1 streams): a new connection evicts
 * the oldest, which ends as evicted and is counted. */
START_TEST(test_timeout_evicted)
{
    start(16, 1);
    for (uint8_t i = 1; i <= 14; i++) {
        struct client c = client_n(i);
        handshake(&c, i);
    }
    ck_assert_uint_eq(stats.streams_evicted, 1);
    ck_assert_msg(strstr(event_log, "open #13 13:40013 @13.000200\n"
                                    "end #1 timeout/evicted @14.000000 frame 40\n"
                                    "open #14 14:40014 @14.000200\n"),
                  "%s", event_log);
    kw_reasm_finish(reasm, SEC(20));
    kw_reasm_free(reasm);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

int main(void)
{
    Suite *s = suite_create("reassembly");
    TCase *tc = tcase_create("timeout causes");
    tcase_add_test(tc, test_timeout_reused);
    tcase_add_test(tc, test_timeout_evicted);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int n_failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

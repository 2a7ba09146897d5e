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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

static void *on_open(void *ctx, const struct kw_conn_key *key, kw_usec ts, bool midstream)
{
    (void)ctx;
    (void)midstream;
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
static const char *const timeout_names[] = { "", "/evicted", "/reused", "/idle" };

static void on_end(void *ctx, void *conn, const struct kw_reasm_end *e)
{
    (void)ctx;
    say("end #%d %s%s @%.6f frame %llu\n", *(int *)conn, close_names[e->how],
        timeout_names[e->timeout], e->ts / 1e6, (unsigned long long)e->frame);
    ck_assert_int_eq(e->how == KW_CLOSE_TIMEOUT, e->timeout != KW_TIMEOUT_NONE);
}

static const struct kw_reasm_sink sink = { NULL, on_open, on_data, on_fin, on_end, NULL };

static struct kw_stats stats;
static struct kw_reasm *reasm;

static void start(int n_streams, int flow_timeout_s, int idle_timeout_s)
{
    struct kw_reasm_config cfg = { n_streams, flow_timeout_s, idle_timeout_s };
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

/* One TCP/IPv4 packet, decoded as capture/ would and fed; kw_reasm_feed's result. */
static int feed_tcp(kw_usec ts, const uint8_t src[4], uint16_t sport, const uint8_t dst[4],
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
    return kw_reasm_feed(reasm, &pkt);
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

static int to_server(struct client *c, double at, uint8_t flags, size_t payload)
{
    int rc = feed_tcp(SEC(at), c->ip, c->port, server_ip, 80, c->seq, c->server_seq, flags,
                      payload);
    c->seq += (uint32_t)payload + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
    return rc;
}

static int to_client(struct client *c, double at, uint8_t flags, size_t payload)
{
    int rc = feed_tcp(SEC(at), server_ip, 80, c->ip, c->port, c->server_seq, c->seq, flags,
                      payload);
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
    start(1024, 1, 300);
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
    start(1024, 1, 0);
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
    start(1024, 1, 100);
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
    start(1024, 1, 50);
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
    start(1024, 1, 300);
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
 * timeout: libnids replaces the stream, and the old connection ends as reused. */
START_TEST(test_timeout_reused)
{
    start(1024, 1, 300);
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
    start(16, 1, 300);
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
    start(4096, 1, 300);
    struct client first = client_n(1);
    handshake(&first, 1);
    struct rlimit lim = { (vm_size_kib() + 8 * 1024) * 1024, RLIM_INFINITY };
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
    int failed_at = 0;
    for (int i = 0; i < 1000 && !failed_at; i++) {
        struct client c = { { 10, 2, (uint8_t)(i >> 8), (uint8_t)i }, 50000, 1, 2 };
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

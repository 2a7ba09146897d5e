/* check_track.c: the connection tracker, driven through its reassembler sink
 * with constructed byte streams, FINs and closes, as libnids would drive it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/track.h"

#define MS 1000 /* kw_usec per millisecond */
#define T0 ((kw_usec)1700000000 * KW_USEC_PER_SEC)

struct seen {
    struct kw_txn txn[64];
    char uri[64][64];
    int n_txn;
    struct kw_conn_end end;
    int n_end;
    int n_fin;
    enum kw_side fin_by[4];
};

static void on_txn(void *ctx, struct kw_conn_info *c, const struct kw_txn *t)
{
    (void)c;
    struct seen *s = ctx;
    ck_assert_int_lt(s->n_txn, 64);
    s->txn[s->n_txn] = *t;
    snprintf(s->uri[s->n_txn], sizeof(s->uri[0]), "%.*s", (int)t->uri.len, (const char *)t->uri.p);
    s->n_txn++;
}

static void on_fin(void *ctx, struct kw_conn_info *c, enum kw_side who, kw_usec ts)
{
    (void)c;
    (void)ts;
    struct seen *s = ctx;
    if (s->n_fin < 4)
        s->fin_by[s->n_fin] = who;
    s->n_fin++;
}

static void on_end(void *ctx, struct kw_conn_info *c, const struct kw_conn_end *e)
{
    (void)c;
    struct seen *s = ctx;
    s->end = *e;
    s->n_end++;
}

/* One connection at a time, driven like the reassembler does. */
struct drive {
    struct kw_stats stats;
    struct seen seen;
    struct kw_txn_consumer consumer;
    struct kw_track *track;
    const struct kw_reasm_sink *rs;
    void *conn;
};

static void open_conn(struct drive *d)
{
    memset(d, 0, sizeof(*d));
    d->consumer = (struct kw_txn_consumer){ .ctx = &d->seen, .on_txn = on_txn, .on_fin = on_fin,
                                            .on_end = on_end };
    d->track = kw_track_new(0, &d->stats);
    ck_assert_ptr_nonnull(d->track);
    ck_assert_int_eq(kw_track_subscribe(d->track, &d->consumer), 0);
    d->rs = kw_track_reasm_sink(d->track);
    struct kw_conn_key key;
    memset(&key, 0, sizeof(key));
    key.client.family = key.server.family = 4;
    key.client.port = 40000;
    key.server.port = 8080;
    d->conn = d->rs->on_open(d->rs->ctx, &key, T0, false);
    ck_assert_ptr_nonnull(d->conn);
}

static void send_(struct drive *d, enum kw_dir dir, kw_usec at_ms, const char *bytes)
{
    d->rs->on_data(d->rs->ctx, d->conn, dir, T0 + at_ms * MS, (uint64_t)at_ms,
                   kw_slice_make(bytes, strlen(bytes)));
}

static void fin(struct drive *d, enum kw_dir dir, kw_usec at_ms)
{
    d->rs->on_fin(d->rs->ctx, d->conn, dir, T0 + at_ms * MS, (uint64_t)at_ms);
}

static void end_(struct drive *d, enum kw_close how, enum kw_dir rst_dir, kw_usec at_ms,
                 int64_t gap_to_server, int64_t gap_to_client)
{
    struct kw_reasm_end e = { how, rst_dir, T0 + at_ms * MS, (uint64_t)at_ms,
                              { gap_to_server, gap_to_client } };
    d->rs->on_end(d->rs->ctx, d->conn, &e);
    kw_track_free(d->track);
}

#define GET(uri) "GET " uri " HTTP/1.1\r\nHost: h\r\n\r\n"
#define OK "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

START_TEST(reuse_with_idle_gap_closed_by_client)
{
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 1, GET("/a"));
    send_(&d, KW_TO_CLIENT, 3, OK);
    send_(&d, KW_TO_SERVER, 2003, GET("/b"));
    send_(&d, KW_TO_CLIENT, 2004, OK);
    fin(&d, KW_TO_SERVER, 2010);
    fin(&d, KW_TO_CLIENT, 2011);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 2012, KW_NO_GAP, KW_NO_GAP);

    struct seen *s = &d.seen;
    ck_assert_int_eq(s->n_txn, 2);
    ck_assert_str_eq(s->uri[0], "/a");
    ck_assert_int_eq(s->txn[0].idle_before, KW_TS_NONE);
    ck_assert_int_eq(s->txn[1].idle_before, 2000 * MS);
    ck_assert_int_eq(s->txn[1].resp.status, 200);
    ck_assert_int_eq(s->txn[1].resp_last - s->txn[1].req_last, 1 * MS);
    ck_assert_int_eq(s->end.requests, 2);
    ck_assert(s->end.reused);
    ck_assert_int_eq(s->end.closed_by, KW_SIDE_CLIENT);
    ck_assert_int_eq(s->end.close, KW_CLOSE_FIN);
    ck_assert_int_eq(s->end.idle_before_close, 6 * MS);
    ck_assert(!s->end.close_announced);
    ck_assert_int_eq(s->end.lost_requests, 0);
    ck_assert_int_eq(d.stats.requests, 2);
    ck_assert_int_eq(d.stats.http_connections, 1);
}
END_TEST

START_TEST(request_after_server_fin_is_lost)
{
    /* The Tornado case: HTTP/1.0 request, HTTP/1.1 answer without close, FIN,
     * then the client reuses the connection and gets a RST. */
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, "GET /_health HTTP/1.0\r\n\r\n");
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
    fin(&d, KW_TO_CLIENT, 1);
    send_(&d, KW_TO_SERVER, 51, "GET /_health HTTP/1.0\r\n\r\n");
    end_(&d, KW_CLOSE_RST, KW_TO_CLIENT, 51, KW_NO_GAP, KW_NO_GAP);

    struct seen *s = &d.seen;
    ck_assert_int_eq(s->n_txn, 2);
    ck_assert(s->txn[1].after_server_fin);
    ck_assert(!s->txn[1].has_response);
    ck_assert_int_eq(s->txn[1].no_response, KW_NORESP_LOST);
    ck_assert_int_eq(s->end.closed_by, KW_SIDE_SERVER);
    ck_assert_int_eq(s->end.close, KW_CLOSE_FIN);
    ck_assert_int_eq(s->end.rst_by, KW_SIDE_SERVER);
    ck_assert_int_eq(s->end.lost_requests, 1);
    ck_assert_int_eq(s->end.after_server_fin, 1);
    ck_assert_int_eq(s->end.idle_before_close, 0);
    ck_assert_int_eq(s->n_fin, 1);
    ck_assert_int_eq(s->fin_by[0], KW_SIDE_SERVER);
}
END_TEST

START_TEST(pipelined_requests_pair_in_order)
{
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0,
          GET("/1") "HEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n" GET("/3"));
    send_(&d, KW_TO_CLIENT, 1,
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
          "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"
          "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nC");
    end_(&d, KW_CLOSE_CAPTURE_END, KW_TO_SERVER, 5, KW_NO_GAP, KW_NO_GAP);

    struct seen *s = &d.seen;
    ck_assert_int_eq(s->n_txn, 3);
    ck_assert_str_eq(s->uri[1], "/2");
    ck_assert_int_eq(s->txn[1].resp_body_len, 0); /* HEAD: no body whatever it says */
    ck_assert_int_eq(s->txn[1].framing, KW_FRAMING_NONE);
    ck_assert_int_eq(s->txn[2].resp.status, 404);
    ck_assert(s->txn[1].pipelined && s->txn[2].pipelined && !s->txn[0].pipelined);
    ck_assert_int_eq(s->end.closed_by, KW_SIDE_NONE);
    ck_assert_int_eq(s->end.close, KW_CLOSE_CAPTURE_END);
}
END_TEST

START_TEST(outstanding_requests_by_who_closed)
{
    struct drive d;
    /* outstanding at the server's FIN: lost */
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/slow"));
    fin(&d, KW_TO_CLIENT, 100);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 101, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.txn[0].no_response, KW_NORESP_LOST);
    ck_assert_int_eq(d.seen.end.lost_requests, 1);
    ck_assert_int_eq(d.stats.lost_requests, 1);
    /* outstanding at the server's RST, pipelined: both lost */
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/1") GET("/2"));
    end_(&d, KW_CLOSE_RST, KW_TO_CLIENT, 10, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.end.lost_requests, 2);
    ck_assert_int_eq(d.seen.end.closed_by, KW_SIDE_SERVER);
    ck_assert_int_eq(d.seen.end.close, KW_CLOSE_RST);
    /* the client closed first: it gave up, nothing was lost by the server */
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/x"));
    fin(&d, KW_TO_SERVER, 5);
    end_(&d, KW_CLOSE_RST, KW_TO_CLIENT, 6, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.txn[0].no_response, KW_NORESP_CLIENT_CLOSED);
    ck_assert_int_eq(d.seen.end.closed_by, KW_SIDE_CLIENT);
    ck_assert_int_eq(d.seen.end.lost_requests, 0);
    /* the capture ended first */
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/x"));
    end_(&d, KW_CLOSE_CAPTURE_END, KW_TO_SERVER, 6, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.txn[0].no_response, KW_NORESP_CAPTURE_END);
    ck_assert_int_eq(d.seen.end.lost_requests, 0);
}
END_TEST

START_TEST(gap_means_not_seen_never_lost)
{
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/1"));
    fin(&d, KW_TO_CLIENT, 9);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 10, KW_NO_GAP, 0);
    ck_assert_int_eq(d.seen.txn[0].no_response, KW_NORESP_NOT_SEEN);
    ck_assert_int_eq(d.seen.end.lost_requests, 0);
    ck_assert_int_eq(d.seen.end.gap_offset[KW_TO_CLIENT], 0);
}
END_TEST

START_TEST(close_announced_and_close_delimited_body)
{
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, "GET / HTTP/1.0\r\n\r\n");
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nbody until close");
    fin(&d, KW_TO_CLIENT, 3);
    fin(&d, KW_TO_SERVER, 4);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 4, KW_NO_GAP, KW_NO_GAP);
    struct seen *s = &d.seen;
    ck_assert_int_eq(s->n_txn, 1);
    ck_assert(s->txn[0].response_complete);
    ck_assert_int_eq(s->txn[0].framing, KW_FRAMING_CLOSE);
    ck_assert_int_eq(s->txn[0].resp_body_len, 16);
    ck_assert_int_eq(s->txn[0].resp_last, T0 + 3 * MS); /* it ended with the FIN */
    ck_assert(s->end.close_announced);
    ck_assert_int_eq(s->end.closed_by, KW_SIDE_SERVER);
    ck_assert_int_eq(s->end.idle_before_close, 0);
}
END_TEST

START_TEST(interim_and_upgrade)
{
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0,
          "POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 100 Continue\r\nServer: interim\r\n\r\n");
    send_(&d, KW_TO_SERVER, 2, "hi");
    send_(&d, KW_TO_CLIENT, 3, "HTTP/1.1 201 Created\r\nServer: final\r\nContent-Length: 0\r\n\r\n");
    send_(&d, KW_TO_SERVER, 4, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    send_(&d, KW_TO_CLIENT, 5, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi");
    send_(&d, KW_TO_SERVER, 6, "\x81\x82garbage that is not HTTP");
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 7, KW_NO_GAP, KW_NO_GAP);
    struct seen *s = &d.seen;
    ck_assert_int_eq(s->n_txn, 2);
    ck_assert_int_eq(s->txn[0].n_interim, 1);
    ck_assert_int_eq(s->txn[0].resp.status, 201);
    ck_assert_int_eq(s->txn[0].server.len, 5); /* "final", not the interim's header */
    ck_assert_int_eq(s->txn[1].resp.status, 101);
    ck_assert_int_eq(s->end.tunnel, KW_TUNNEL_UPGRADE);
    ck_assert_ptr_null(s->end.not_http);
}
END_TEST

START_TEST(not_http_is_marked_and_counts_nothing)
{
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03");
    send_(&d, KW_TO_CLIENT, 1, "\x16\x03\x03\x00\x5d\x02");
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 2, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 0);
    ck_assert_int_eq(d.seen.end.requests, 0);
    ck_assert(!d.seen.end.http);
    ck_assert_str_eq(d.seen.end.not_http, "tls"); /* not "invalid request method" */
    ck_assert_int_eq(d.stats.not_http, 1);
    ck_assert_int_eq(d.stats.http_connections, 0);
}
END_TEST

START_TEST(pipeline_depth_is_bounded)
{
    struct drive d;
    open_conn(&d);
    for (int i = 0; i < KW_PIPELINE_MAX + 10; i++)
        send_(&d, KW_TO_SERVER, i, GET("/p"));
    end_(&d, KW_CLOSE_CAPTURE_END, KW_TO_SERVER, 100, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, KW_PIPELINE_MAX);
    ck_assert_str_eq(d.seen.end.not_http, "too many requests outstanding");
}
END_TEST

static Suite *track_suite(void)
{
    Suite *s = suite_create("track");
    TCase *tc = tcase_create("connections");
    tcase_add_test(tc, reuse_with_idle_gap_closed_by_client);
    tcase_add_test(tc, request_after_server_fin_is_lost);
    tcase_add_test(tc, pipelined_requests_pair_in_order);
    tcase_add_test(tc, outstanding_requests_by_who_closed);
    tcase_add_test(tc, gap_means_not_seen_never_lost);
    tcase_add_test(tc, close_announced_and_close_delimited_body);
    tcase_add_test(tc, interim_and_upgrade);
    tcase_add_test(tc, not_http_is_marked_and_counts_nothing);
    tcase_add_test(tc, pipeline_depth_is_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(track_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* check_track.c: the connection tracker, driven through its reassembler sink
 * with constructed byte streams, FINs and closes, as libnids would drive it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/track.h"

#define MS 1000 /* kw_usec per millisecond */
#define T0 ((kw_usec)1700000000 * KW_USEC_PER_SEC)

#define TXN_MAX 64

struct seen {
    struct kw_txn txn[TXN_MAX];
    char uri[TXN_MAX][64];
    char host[TXN_MAX][160], req_connection[TXN_MAX][160], server[TXN_MAX][32];
    /* status_msg, req_content_type, resp_content_type, x_forwarded_for, via */
    char more[TXN_MAX][5][272];
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
    ck_assert_int_lt(s->n_txn, TXN_MAX);
    s->txn[s->n_txn] = *t;
    snprintf(s->uri[s->n_txn], sizeof(s->uri[0]), "%.*s", (int)t->uri.len, (const char *)t->uri.p);
    snprintf(s->host[s->n_txn], sizeof(s->host[0]), "%.*s", (int)t->host.len,
             (const char *)t->host.p);
    snprintf(s->req_connection[s->n_txn], sizeof(s->req_connection[0]), "%.*s",
             (int)t->req_connection.len, (const char *)t->req_connection.p);
    snprintf(s->server[s->n_txn], sizeof(s->server[0]), "%.*s", (int)t->server.len,
             (const char *)t->server.p);
    const struct kw_text *more[5] = { &t->status_msg, &t->req_content_type,
                                      &t->resp_content_type, &t->x_forwarded_for, &t->via };
    for (int i = 0; i < 5; i++)
        snprintf(s->more[s->n_txn][i], sizeof(s->more[0][0]), "%s%.*s",
                 more[i]->present ? "" : "(absent)", (int)more[i]->len,
                 (const char *)more[i]->p);
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

static void open_conn_mid(struct drive *d, bool midstream);

static void open_conn(struct drive *d)
{
    open_conn_mid(d, false);
}

static void open_conn_mid(struct drive *d, bool midstream)
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
    d->conn = d->rs->on_open(d->rs->ctx, &key, T0, midstream);
    ck_assert_ptr_nonnull(d->conn);
}

static void send_(struct drive *d, enum kw_dir dir, kw_usec at_ms, const char *bytes)
{
    d->rs->on_data(d->rs->ctx, d->conn, dir, T0 + at_ms * MS, (uint64_t)at_ms,
                   kw_slice_make(bytes, strlen(bytes)));
}

static void send_n(struct drive *d, enum kw_dir dir, kw_usec at_ms, const char *bytes, size_t n)
{
    d->rs->on_data(d->rs->ctx, d->conn, dir, T0 + at_ms * MS, (uint64_t)at_ms,
                   kw_slice_make(bytes, n));
}

/* A hole of `missing` bytes in direction `dir`, as the reassembler reports it. */
static void gap_(struct drive *d, enum kw_dir dir, kw_usec at_ms, uint64_t missing)
{
    d->rs->on_gap(d->rs->ctx, d->conn, dir, T0 + at_ms * MS, (uint64_t)at_ms, missing);
}

static void fin(struct drive *d, enum kw_dir dir, kw_usec at_ms)
{
    d->rs->on_fin(d->rs->ctx, d->conn, dir, T0 + at_ms * MS, (uint64_t)at_ms);
}

static void end_(struct drive *d, enum kw_close how, enum kw_dir rst_dir, kw_usec at_ms,
                 int64_t gap_to_server, int64_t gap_to_client)
{
    struct kw_reasm_end e = { .how = how, .rst_dir = rst_dir, .ts = T0 + at_ms * MS,
                              .frame = (uint64_t)at_ms,
                              .gap_offset = { gap_to_server, gap_to_client } };
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

/* --- hostile input --------------------------------------------------------- */

START_TEST(interim_counter_does_not_wrap)
{
    /* 100,000 "100 Continue" once read as 34,464: counters of wire events are
     * 32-bit (and saturate) */
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, "POST /u HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    size_t n = 100000, len = sizeof(cont) - 1;
    char *many = malloc(n * len);
    ck_assert_ptr_nonnull(many);
    for (size_t i = 0; i < n; i++)
        memcpy(many + i * len, cont, len);
    send_n(&d, KW_TO_CLIENT, 1, many, n * len);
    free(many);
    send_(&d, KW_TO_CLIENT, 2, "HTTP/1.1 204 No Content\r\n\r\n");
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 3, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 1);
    ck_assert_uint_eq(d.seen.txn[0].n_interim, 100000);
    ck_assert_int_eq(d.seen.txn[0].resp.status, 204);
}
END_TEST

START_TEST(body_cut_by_fin_keeps_its_framing)
{
    /* The framing the head declared and the bytes seen, not "none" and 0 */
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/a") GET("/b"));
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                               "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
    fin(&d, KW_TO_CLIENT, 2);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 3, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 2);
    const struct kw_txn *t = &d.seen.txn[1];
    ck_assert(t->has_response && !t->response_complete);
    ck_assert_int_eq(t->framing, KW_FRAMING_CONTENT_LENGTH);
    ck_assert_uint_eq(t->resp_body_len, 5);
    ck_assert_int_eq(d.seen.end.responses, 1);
    /* chunked, and a request */
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n5\r\nxy");
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    fin(&d, KW_TO_SERVER, 2);
    fin(&d, KW_TO_CLIENT, 3);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 3, KW_NO_GAP, KW_NO_GAP);
    t = &d.seen.txn[0];
    ck_assert(!t->request_complete && t->req_body_len == 6);
    ck_assert(!t->response_complete && t->framing == KW_FRAMING_CHUNKED && t->resp_body_len == 3);
}
END_TEST

START_TEST(response_to_a_request_gone_bad_is_reported)
{
    /* The server answered while the request's head was still arriving, then
     * the rest of it was not HTTP: the response seen is reported with it. */
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, "GET /a HTTP/1.1\r\nHost: h\r\n");
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n");
    send_(&d, KW_TO_SERVER, 2, "Bad Header: x\r\n\r\n");
    fin(&d, KW_TO_CLIENT, 3);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 4, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.end.responses, 1);
    ck_assert_int_eq(d.seen.n_txn, 1);
    const struct kw_txn *t = &d.seen.txn[0];
    ck_assert(t->has_request && !t->request_complete && t->index == 1);
    ck_assert(t->has_response && t->resp.status == 400);
    ck_assert_str_eq(d.seen.uri[0], "/a");
    ck_assert_str_eq(d.seen.end.not_http, "invalid header line");
    ck_assert_int_eq(d.stats.responses, 1);
    /* with nothing answered, a request that was not one is dropped, as before */
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/ok") "GET /b HTTP/1.1\r\nBad Header: x\r\n\r\n");
    send_(&d, KW_TO_CLIENT, 1, OK);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 2, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 1);
    ck_assert_int_eq(d.seen.end.requests, 1);
}
END_TEST

START_TEST(status_000_is_a_status)
{
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/zero"));
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n");
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 2, KW_NO_GAP, KW_NO_GAP);
    const struct kw_txn *t = &d.seen.txn[0];
    ck_assert(t->has_response && t->resp.has_status && t->resp.status == 0);
    ck_assert(t->resp.msg_anomalies & KW_MSG_STATUS_OUT_OF_RANGE);
    ck_assert(t->response_complete && t->no_response == KW_NORESP_NONE);
}
END_TEST

START_TEST(quoted_chunked_and_folded_length)
{
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/q") GET("/f"));
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 200 OK\r\nContent-Length:\r\n 2\r\n\r\nok"
                               "HTTP/1.1 200 OK\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n");
    fin(&d, KW_TO_CLIENT, 2);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 3, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 2);
    ck_assert_int_eq(d.seen.txn[0].framing, KW_FRAMING_CONTENT_LENGTH);
    ck_assert_int_eq(d.seen.txn[0].resp.anomalies, 0); /* not conflicting-framing */
    ck_assert_int_eq(d.seen.txn[1].framing, KW_FRAMING_CLOSE); /* not chunked */
    ck_assert_uint_eq(d.seen.txn[1].resp_body_len, 5);
    ck_assert(d.seen.txn[1].resp.anomalies & KW_ANOM_TE_NOT_CHUNKED);
}
END_TEST

/* --- HTTP as spoken, and what is not HTTP ------------------------------------- */

START_TEST(not_http_says_what_it_is)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *why;
    } cases[] = {
        { "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11, "tls" },
        { "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", 40, "SSH" },
        { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, "HTTP/2 preface" },
        { "\x00\x00\x00\x10\x00\x01", 6, "binary data" },
        { "EHLO mail.example.org\r\nMAIL FROM:<a@b>\r\n", 40, "not a request line" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct drive d;
        open_conn(&d);
        send_n(&d, KW_TO_SERVER, 0, cases[i].bytes, cases[i].len);
        end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 1, KW_NO_GAP, KW_NO_GAP);
        ck_assert_msg(d.seen.end.not_http && !strcmp(d.seen.end.not_http, cases[i].why),
                      "case %zu: %s", i, d.seen.end.not_http ? d.seen.end.not_http : "(null)");
        ck_assert_int_eq(d.seen.n_txn, 0);
        ck_assert_int_eq(d.seen.end.requests, 0);
    }
    /* the start of a TLS record header, then the close: no request, binary data */
    struct drive d;
    open_conn(&d);
    send_n(&d, KW_TO_SERVER, 0, "\x16\x03", 2);
    fin(&d, KW_TO_SERVER, 1);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 2, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 0);
    ck_assert_str_eq(d.seen.end.not_http, "binary data");
}
END_TEST

START_TEST(http09_and_junk_are_paired)
{
    /* an HTTP/0.9 request and its response, the body alone up to the close */
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, "GET /old\r\n");
    send_(&d, KW_TO_CLIENT, 1, "<html>hello</html>\n");
    fin(&d, KW_TO_CLIENT, 2);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 3, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 1);
    const struct kw_txn *t = &d.seen.txn[0];
    ck_assert(t->request_complete && t->req.version == 9);
    ck_assert(t->req.msg_anomalies & KW_MSG_NO_VERSION);
    ck_assert(t->has_response && !t->resp.has_status && t->resp.version == 9);
    ck_assert(t->response_complete && t->framing == KW_FRAMING_CLOSE && t->resp_body_len == 19);
    ck_assert_ptr_null(d.seen.end.not_http);
    ck_assert(d.seen.end.http);
    /* junk before a status line, a target with SPs: paired as usual */
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n" GET("/c"));
    send_(&d, KW_TO_CLIENT, 1, "PHP Warning: oops\n" OK "\r\nHTTP/1.1 404 Not Found\r\n"
                               "Content-Length: 0\r\n\r\n");
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 2, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 2);
    ck_assert_str_eq(d.seen.uri[0], "/a b");
    ck_assert(d.seen.txn[0].req.msg_anomalies & KW_MSG_SPACE_IN_TARGET);
    ck_assert(d.seen.txn[0].resp.msg_anomalies & KW_MSG_JUNK_BEFORE_STATUS);
    ck_assert_int_eq(d.seen.txn[1].resp.status, 404);
    ck_assert_uint_eq(d.seen.end.skipped_bytes[KW_TO_CLIENT], 18);
}
END_TEST

/* --- capture loss --------------------------------------------------------------- */

START_TEST(hole_in_a_body_is_stepped_over)
{
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/big"));
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n0123456789");
    gap_(&d, KW_TO_CLIENT, 2, 1460);
    send_n(&d, KW_TO_CLIENT, 3, "x", 1);
    gap_(&d, KW_TO_CLIENT, 3, 1529); /* to its end exactly */
    send_(&d, KW_TO_SERVER, 1003, GET("/next"));
    send_(&d, KW_TO_CLIENT, 1004, OK);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 1005, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 2);
    const struct kw_txn *t = &d.seen.txn[0];
    ck_assert(t->capture_loss && t->has_response && t->resp.status == 200);
    ck_assert(!t->response_complete); /* its last byte was in the hole */
    ck_assert_uint_eq(t->resp_body_len, 3000);
    ck_assert_uint_eq(d.seen.end.missed_bytes[KW_TO_CLIENT], 2989);
    ck_assert_uint_eq(d.seen.end.missed_bytes[KW_TO_SERVER], 0);
    ck_assert_int_eq(d.seen.end.responses, 2);
    /* the next request: pipelined and idle unknown, its own exchange seen */
    t = &d.seen.txn[1];
    ck_assert(!t->capture_loss && t->pipelined_unknown && t->idle_before == KW_TS_NONE);
    ck_assert(t->response_complete && t->resp.status == 200);
}
END_TEST

START_TEST(response_in_a_hole_is_not_seen_not_lost)
{
    /* The server's stream lost its place while a request waited: that
     * request's response began in the hole. Not "lost", though the server
     * closes; the next request pairs with the next response. */
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/1"));
    gap_(&d, KW_TO_CLIENT, 1, 120);
    send_(&d, KW_TO_CLIENT, 1, "rest of a body\r\n");
    send_(&d, KW_TO_SERVER, 2000, GET("/2"));
    send_(&d, KW_TO_CLIENT, 2001, OK);
    fin(&d, KW_TO_CLIENT, 2002);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 2003, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 2);
    const struct kw_txn *t = &d.seen.txn[0];
    ck_assert(!t->has_response && t->capture_loss);
    ck_assert_int_eq(t->no_response, KW_NORESP_NOT_SEEN);
    ck_assert_int_eq(d.seen.end.lost_requests, 0);
    t = &d.seen.txn[1];
    ck_assert_str_eq(d.seen.uri[1], "/2");
    ck_assert(t->has_response && t->resp.status == 200 && !t->capture_loss);
    ck_assert(t->pipelined_unknown && t->idle_before == KW_TS_NONE);
    ck_assert_uint_eq(d.seen.end.skipped_bytes[KW_TO_CLIENT], 16);
    /* a hole in a response's head: its status is not seen either */
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/1") GET("/2"));
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 200 OK\r\nCont");
    gap_(&d, KW_TO_CLIENT, 2, 30);
    send_(&d, KW_TO_CLIENT, 2, "\r\nbody\r\n" OK);
    end_(&d, KW_CLOSE_CAPTURE_END, KW_TO_SERVER, 3, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 2);
    ck_assert(!d.seen.txn[0].has_response && d.seen.txn[0].no_response == KW_NORESP_NOT_SEEN);
    ck_assert(d.seen.txn[1].has_response && d.seen.txn[1].capture_loss); /* paired across it */
}
END_TEST

START_TEST(request_in_a_hole_leaves_pairing_unsure)
{
    /* A request hidden in a hole: its response answers nobody we saw, and
     * says why; once nothing is in flight, pairing is sure again. */
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/1"));
    send_(&d, KW_TO_CLIENT, 1, OK);
    gap_(&d, KW_TO_SERVER, 2, 30);
    send_(&d, KW_TO_CLIENT, 3, OK);
    send_(&d, KW_TO_SERVER, 4, GET("/3"));
    send_(&d, KW_TO_CLIENT, 5, OK);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 6, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 3);
    ck_assert(!d.seen.txn[0].capture_loss);
    ck_assert(!d.seen.txn[1].has_request && d.seen.txn[1].has_response);
    ck_assert(d.seen.txn[1].capture_loss);
    ck_assert(!d.seen.txn[2].capture_loss && d.seen.txn[2].index == 2);
    ck_assert_uint_eq(d.seen.end.missed_bytes[KW_TO_SERVER], 30);
    /* a hole inside a request: that request is cut, its response still its own */
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, "POST /u HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
    gap_(&d, KW_TO_SERVER, 1, 97);
    send_(&d, KW_TO_CLIENT, 2, OK);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 3, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 1);
    ck_assert(d.seen.txn[0].capture_loss && !d.seen.txn[0].request_complete);
    ck_assert(d.seen.txn[0].req_body_len == 100 && d.seen.txn[0].resp.status == 200);
}
END_TEST

START_TEST(midstream_pick_up)
{
    /* picked up in the middle of an exchange: each side from its first
     * message boundary; request indexes from there; the first request's
     * idle time and pipelining are unknown */
    struct drive d;
    open_conn_mid(&d, true);
    send_(&d, KW_TO_CLIENT, 0, "of an earlier body\r\n");
    send_(&d, KW_TO_SERVER, 1, "ders: x\r\n\r\n" GET("/a"));
    send_(&d, KW_TO_CLIENT, 2, OK);
    send_(&d, KW_TO_SERVER, 2002, GET("/b"));
    send_(&d, KW_TO_CLIENT, 2003, OK);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 2004, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 2);
    const struct kw_txn *t = &d.seen.txn[0];
    ck_assert(t->midstream && t->index == 1 && t->resp.status == 200);
    ck_assert(t->idle_before == KW_TS_NONE && t->pipelined_unknown);
    t = &d.seen.txn[1];
    ck_assert(t->midstream && t->index == 2 && !t->pipelined_unknown && !t->pipelined);
    ck_assert_int_eq(t->idle_before, 2000 * MS);
    ck_assert(d.seen.end.midstream && d.seen.end.requests == 2);
    ck_assert_uint_eq(d.seen.end.skipped_bytes[KW_TO_SERVER], 11);
    ck_assert_uint_eq(d.seen.end.skipped_bytes[KW_TO_CLIENT], 20);
    /* picked up at a 100 Continue to a request before the capture: the final
     * response that follows answers the same request, the 100 its interim */
    open_conn_mid(&d, true);
    send_(&d, KW_TO_CLIENT, 0, "HTTP/1.1 100 Continue\r\n\r\n");
    send_(&d, KW_TO_SERVER, 1, "{\"n\": 1}\n"); /* its body: skipped to a line start */
    send_(&d, KW_TO_CLIENT, 2, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    send_(&d, KW_TO_SERVER, 3, GET("/c"));
    send_(&d, KW_TO_CLIENT, 4, OK);
    end_(&d, KW_CLOSE_FIN, KW_TO_SERVER, 5, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 2);
    t = &d.seen.txn[0];
    ck_assert(!t->has_request && t->resp.status == 201 && t->n_interim == 1);
    ck_assert_str_eq(d.seen.more[0][0], "Created");
    t = &d.seen.txn[1];
    ck_assert_msg(t->has_request && t->index == 1 && t->resp.status == 200,
                  "has_request %d index %u status %u", t->has_request, t->index, t->resp.status);
    ck_assert_int_eq(d.seen.end.responses, 2);
}
END_TEST

START_TEST(response_cut_then_request_unknown_timing)
{
    /* a response the server's FIN cut short: when it would have ended is not
     * known, so neither is the next request's idle time nor its pipelining */
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0, GET("/1"));
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    fin(&d, KW_TO_CLIENT, 2);
    send_(&d, KW_TO_SERVER, 50, GET("/2"));
    end_(&d, KW_CLOSE_RST, KW_TO_CLIENT, 51, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 2);
    const struct kw_txn *t = &d.seen.txn[1];
    ck_assert(t->after_server_fin && t->pipelined_unknown && t->idle_before == KW_TS_NONE);
    ck_assert_int_eq(t->no_response, KW_NORESP_LOST);
}
END_TEST

START_TEST(texts_follow_what_arrived)
{
    /* 32 pipelined requests, each with its own text: every one kept right,
     * whatever the order the fields arrived in, through ring growth; repeated
     * headers interleaved with others make one list; caps still cut */
    struct drive d;
    open_conn(&d);
    char req[256];
    for (int i = 0; i < KW_PIPELINE_MAX; i++) {
        snprintf(req, sizeof(req), "GET /r%d HTTP/1.1\r\nConnection: a%d\r\nHost: h%d\r\n"
                 "Connection: b\r\nUser-Agent: u\r\nConnection: c\r\n\r\n", i, i, i);
        send_(&d, KW_TO_SERVER, i, req);
    }
    for (int i = 0; i < KW_PIPELINE_MAX; i++) {
        snprintf(req, sizeof(req), "HTTP/1.1 200 OK\r\nServer: s%d\r\nContent-Length: 0\r\n\r\n", i);
        send_(&d, KW_TO_CLIENT, 100 + i, req);
    }
    static char longuri[700];
    memset(longuri, 'u', sizeof(longuri));
    memcpy(longuri, "GET /", 5);
    memcpy(longuri + sizeof(longuri) - 18, " HTTP/1.1\r\n\r\n\0\0\0\0", 18);
    send_(&d, KW_TO_SERVER, 200, longuri);
    end_(&d, KW_CLOSE_CAPTURE_END, KW_TO_SERVER, 300, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, KW_PIPELINE_MAX + 1);
    char want[64];
    for (int i = 0; i < KW_PIPELINE_MAX; i++) {
        snprintf(want, sizeof(want), "/r%d", i);
        ck_assert_str_eq(d.seen.uri[i], want);
        snprintf(want, sizeof(want), "h%d", i);
        ck_assert_str_eq(d.seen.host[i], want);
        snprintf(want, sizeof(want), "a%d, b, c", i);
        ck_assert_str_eq(d.seen.req_connection[i], want);
        snprintf(want, sizeof(want), "s%d", i);
        ck_assert_str_eq(d.seen.server[i], want);
    }
    const struct kw_txn *t = &d.seen.txn[KW_PIPELINE_MAX];
    ck_assert(t->uri.truncated && t->uri.len == 512);
    /* two repeated headers taking turns: each move of a field to the buffer's
     * end leaves space behind, reclaimed when the buffer is full; the lists
     * come out whole, cut at their caps (128 bytes each) */
    open_conn(&d);
    char head[8192], conn[256] = "", host[256] = "";
    size_t n = (size_t)snprintf(head, sizeof(head), "GET /t HTTP/1.1\r\n");
    for (int i = 0; i < 60; i++) {
        n += (size_t)snprintf(head + n, sizeof(head) - n, "Connection: c%02d\r\nHost: h%02d\r\n", i, i);
        snprintf(want, sizeof(want), "%sc%02d", i ? ", " : "", i);
        strncat(conn, want, sizeof(conn) - strlen(conn) - 1);
        snprintf(want, sizeof(want), "%sh%02d", i ? ", " : "", i);
        strncat(host, want, sizeof(host) - strlen(host) - 1);
    }
    snprintf(head + n, sizeof(head) - n, "\r\n");
    for (size_t at = 0, len = strlen(head); at < len; at += 7) /* in pieces */
        send_n(&d, KW_TO_SERVER, 0, head + at, len - at < 7 ? len - at : 7);
    end_(&d, KW_CLOSE_CAPTURE_END, KW_TO_SERVER, 1, KW_NO_GAP, KW_NO_GAP);
    ck_assert_int_eq(d.seen.n_txn, 1);
    t = &d.seen.txn[0];
    ck_assert(t->req_connection.truncated && t->req_connection.len == 128);
    ck_assert(t->host.truncated && t->host.len == 128);
    conn[128] = host[128] = 0;
    ck_assert_str_eq(d.seen.req_connection[0], conn);
    ck_assert_str_eq(d.seen.host[0], host);
    ck_assert_str_eq(d.seen.uri[0], "/t");
}
END_TEST

START_TEST(reason_content_types_and_proxies)
{
    /* The reason phrase and Content-Type of the final response, not of a 100
     * before it; the request's Content-Type, X-Forwarded-For and Via (OWS
     * trimmed, repeated ones one list, cut at 256 bytes); absent is absent,
     * an empty reason is one */
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 0,
          "POST /u HTTP/1.1\r\nContent-Type: text/plain \r\nX-Forwarded-For: 192.0.2.1\r\n"
          "Via: 1.1 a\r\nX-Forwarded-For: 198.51.100.2\r\nExpect: 100-continue\r\n"
          "Content-Length: 2\r\n\r\n");
    send_(&d, KW_TO_CLIENT, 1, "HTTP/1.1 100 Continue\r\nContent-Type: interim\r\n\r\n");
    send_(&d, KW_TO_SERVER, 2, "hi");
    send_(&d, KW_TO_CLIENT, 3, "HTTP/1.1 201 Created \r\nContent-Type: application/json\r\n"
                               "Content-Length: 0\r\n\r\n");
    send_(&d, KW_TO_SERVER, 4, GET("/b"));
    send_(&d, KW_TO_CLIENT, 5, "HTTP/1.1 204 \r\n\r\n");
    static char xff[400];
    size_t n = (size_t)snprintf(xff, sizeof(xff), "GET /c HTTP/1.1\r\nX-Forwarded-For: ");
    memset(xff + n, '7', 300);
    memcpy(xff + n + 300, "\r\n\r\n", 5);
    send_(&d, KW_TO_SERVER, 6, xff);
    send_(&d, KW_TO_CLIENT, 7, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
    end_(&d, KW_CLOSE_CAPTURE_END, KW_TO_SERVER, 8, KW_NO_GAP, KW_NO_GAP);
    struct seen *s = &d.seen;
    ck_assert_int_eq(s->n_txn, 3);
    ck_assert_str_eq(s->more[0][0], "Created "); /* the phrase as sent */
    ck_assert_str_eq(s->more[0][1], "text/plain");
    ck_assert_str_eq(s->more[0][2], "application/json");
    ck_assert_str_eq(s->more[0][3], "192.0.2.1, 198.51.100.2");
    ck_assert_str_eq(s->more[0][4], "1.1 a");
    ck_assert_str_eq(s->more[1][0], "");
    for (int i = 1; i < 5; i++)
        ck_assert_str_eq(s->more[1][i], "(absent)");
    ck_assert_str_eq(s->more[2][0], "(absent)"); /* "200" CRLF: no phrase */
    ck_assert(s->txn[2].x_forwarded_for.truncated && s->txn[2].x_forwarded_for.len == 256);
}
END_TEST

START_TEST(packet_counts_reach_the_end)
{
    /* what the reassembler counted is handed on as it was */
    struct drive d;
    open_conn(&d);
    send_(&d, KW_TO_SERVER, 1, GET("/a"));
    struct kw_reasm_end e = { .how = KW_CLOSE_FIN, .ts = T0 + 2 * MS, .frame = 2,
                              .gap_offset = { KW_NO_GAP, KW_NO_GAP },
                              .packets = { 7, 5 }, .bytes = { 30, 1200 },
                              .history = "ShADadFf" };
    d.rs->on_end(d.rs->ctx, d.conn, &e);
    kw_track_free(d.track);
    const struct kw_conn_end *end = &d.seen.end;
    ck_assert(!end->packets_unknown);
    ck_assert_uint_eq(end->packets[KW_TO_SERVER], 7);
    ck_assert_uint_eq(end->packets[KW_TO_CLIENT], 5);
    ck_assert_uint_eq(end->bytes[KW_TO_SERVER], 30);
    ck_assert_uint_eq(end->bytes[KW_TO_CLIENT], 1200);
    ck_assert_str_eq(end->history, "ShADadFf");
    open_conn(&d);
    e.packets_unknown = true;
    d.rs->on_end(d.rs->ctx, d.conn, &e);
    kw_track_free(d.track);
    ck_assert(d.seen.end.packets_unknown);
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
    tcase_add_test(tc, reason_content_types_and_proxies);
    tcase_add_test(tc, packet_counts_reach_the_end);
    suite_add_tcase(s, tc);
    TCase *hostile = tcase_create("hostile");
    tcase_add_test(hostile, interim_counter_does_not_wrap);
    tcase_add_test(hostile, body_cut_by_fin_keeps_its_framing);
    tcase_add_test(hostile, response_to_a_request_gone_bad_is_reported);
    tcase_add_test(hostile, status_000_is_a_status);
    tcase_add_test(hostile, quoted_chunked_and_folded_length);
    tcase_add_test(hostile, texts_follow_what_arrived);
    tcase_set_timeout(hostile, 60);
    suite_add_tcase(s, hostile);
    TCase *spoken = tcase_create("spoken");
    tcase_add_test(spoken, not_http_says_what_it_is);
    tcase_add_test(spoken, http09_and_junk_are_paired);
    suite_add_tcase(s, spoken);
    TCase *loss = tcase_create("capture loss");
    tcase_add_test(loss, hole_in_a_body_is_stepped_over);
    tcase_add_test(loss, response_in_a_hole_is_not_seen_not_lost);
    tcase_add_test(loss, request_in_a_hole_leaves_pairing_unsure);
    tcase_add_test(loss, midstream_pick_up);
    tcase_add_test(loss, response_cut_then_request_unknown_timing);
    suite_add_tcase(s, loss);
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

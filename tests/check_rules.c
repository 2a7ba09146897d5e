/* check_rules.c: each rule's logic on constructed transaction sequences, as the
 * tracker would report them, including the edges: a close exactly at the
 * grace, pipelined requests outstanding at a RST, a FIN from the client first,
 * a capture that ends before the grace passes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/rules.h"

#define MS 1000
#define T0 ((kw_usec)1700000000 * KW_USEC_PER_SEC)
#define AT(ms) (T0 + (kw_usec)((ms) * MS + 0.5))

struct seen {
    struct {
        enum kw_rule rule;
        enum kw_side side;
        uint32_t request;
        enum kw_severity severity;
        uint16_t server_port;
        char evidence_missing[32]; /* the evidence named "missing", if any */
    } f[32];
    int n;
    struct kw_server_policy policy[4];
    int n_policy;
};

static void on_finding(void *ctx, struct kw_conn_info *c, const struct kw_finding *f)
{
    (void)c;
    struct seen *s = ctx;
    ck_assert_int_lt(s->n, 32);
    s->f[s->n].rule = f->rule;
    s->f[s->n].side = f->side;
    s->f[s->n].request = f->request;
    s->f[s->n].severity = f->severity;
    s->f[s->n].server_port = c ? c->key.server.port : f->server.port;
    s->f[s->n].evidence_missing[0] = '\0';
    for (int i = 0; i < f->n_evidence; i++)
        if (!strcmp(f->evidence[i].name, "missing") && f->evidence[i].kind == KW_EV_TEXT)
            snprintf(s->f[s->n].evidence_missing, sizeof(s->f[0].evidence_missing), "%.*s",
                     (int)f->evidence[i].v.text.len, (const char *)f->evidence[i].v.text.bytes);
    s->n++;
    ck_assert_msg(f->message[0], "a finding without a message");
}

static void on_server(void *ctx, const struct kw_server_policy *p)
{
    struct seen *s = ctx;
    if (s->n_policy < 4)
        s->policy[s->n_policy++] = *p;
}

static int count(const struct seen *s, enum kw_rule rule)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += s->f[i].rule == rule;
    return n;
}

static int find(const struct seen *s, enum kw_rule rule)
{
    for (int i = 0; i < s->n; i++)
        if (s->f[i].rule == rule)
            return i;
    return -1;
}

/* --- a connection, as the tracker reports it ------------------------- */

struct run {
    struct kw_rules_config *cfg;
    struct kw_rules *rules;
    struct kw_finding_consumer findings;
    const struct kw_txn_consumer *ts;
    struct kw_conn_info conn;
    struct seen seen;
    kw_usec last_resp_end;
};

static void begin(struct run *r, const char *const *config_lines)
{
    memset(r, 0, sizeof(*r));
    r->cfg = kw_rules_config_new();
    char err[256];
    for (const char *const *l = config_lines; l && *l; l++)
        ck_assert_msg(kw_rules_config_line(r->cfg, *l, err, sizeof(err)) == 0, "%s", err);
    r->findings = (struct kw_finding_consumer){ &r->seen, on_finding, on_server };
    r->rules = kw_rules_new(r->cfg);
    ck_assert_int_eq(kw_rules_add_consumer(r->rules, &r->findings), 0);
    r->ts = kw_rules_txn_consumer(r->rules);
    r->conn.id = 1;
    r->conn.key.client.family = r->conn.key.server.family = 4;
    r->conn.key.client.addr[0] = r->conn.key.server.addr[0] = 127;
    r->conn.key.client.addr[3] = r->conn.key.server.addr[3] = 1;
    r->conn.key.client.port = 40000;
    r->conn.key.server.port = 8080;
    r->conn.start = T0;
    r->last_resp_end = KW_TS_NONE;
}

static void finish(struct run *r, kw_usec at)
{
    kw_rules_finish(r->rules, at);
    kw_rules_free(r->rules);
    kw_rules_config_free(r->cfg);
}

static const uint8_t method_get[] = "GET", uri_root[] = "/";

/* A request (version 10 or 11, Connection tokens) at req_ms; a response
 * (status 0: none) starting at resp_ms and ending at end_ms. */
static struct kw_txn txn(uint32_t index, int req_version, uint8_t req_tokens, double req_ms,
                         int status, int resp_version, uint8_t resp_tokens, double resp_ms,
                         double end_ms)
{
    struct kw_txn t;
    memset(&t, 0, sizeof(t));
    t.index = index;
    t.has_request = t.request_complete = true;
    t.req_first = t.req_last = AT(req_ms);
    t.req_first_frame = t.req_last_frame = (uint64_t)index * 10;
    t.req.version = (uint8_t)req_version;
    t.req.conn_tokens = req_tokens;
    t.req.method = KW_METHOD_GET;
    t.req.ka_timeout = t.req.ka_max = KW_KA_ABSENT;
    t.resp.ka_timeout = t.resp.ka_max = KW_KA_ABSENT;
    t.method = (struct kw_text){ method_get, 3, true, false };
    t.uri = (struct kw_text){ uri_root, 1, true, false };
    t.idle_before = KW_TS_NONE;
    t.resp_first = t.resp_last = KW_TS_NONE;
    if (status) {
        t.has_response = t.response_complete = true;
        t.resp.status = (uint16_t)status;
        t.resp.version = (uint8_t)resp_version;
        t.resp.conn_tokens = resp_tokens;
        t.resp.has_content_length = true;
        t.framing = KW_FRAMING_CONTENT_LENGTH;
        t.resp_first = AT(resp_ms);
        t.resp_last = AT(end_ms);
        t.resp_first_frame = (uint64_t)index * 10 + 1;
        t.resp_last_frame = (uint64_t)index * 10 + 2;
    } else {
        t.no_response = KW_NORESP_CAPTURE_END;
    }
    return t;
}

static void send_txn(struct run *r, struct kw_txn *t)
{
    if (t->index > 1 && r->last_resp_end != KW_TS_NONE && t->req_first > r->last_resp_end)
        t->idle_before = t->req_first - r->last_resp_end;
    if (t->has_response)
        r->last_resp_end = t->resp_last;
    r->ts->on_txn(r->ts->ctx, &r->conn, t);
}

static void end_conn(struct run *r, enum kw_side closed_by, enum kw_close close, double close_ms,
                     double end_ms, double server_fin_ms, enum kw_side rst_by)
{
    struct kw_conn_end e;
    memset(&e, 0, sizeof(e));
    e.closed_by = closed_by;
    e.close = close;
    e.close_ts = closed_by != KW_SIDE_NONE ? AT(close_ms) : AT(end_ms);
    e.end_ts = AT(end_ms);
    e.ended = closed_by == KW_SIDE_NONE ? KW_CLOSE_CAPTURE_END : close;
    e.fin_ts[0] = KW_TS_NONE;
    e.fin_ts[1] = server_fin_ms >= 0 ? AT(server_fin_ms) : KW_TS_NONE;
    e.rst_by = rst_by;
    e.close_frame = 99;
    e.gap_offset[0] = e.gap_offset[1] = -1;
    e.http = true;
    r->ts->on_end(r->ts->ctx, &r->conn, &e);
}

#define H11 11
#define H10 10

/* --- close after a response ------------------------------------------ */

START_TEST(unannounced_close_and_the_grace_edge)
{
    struct run r;
    /* closed 5 ms after an agreed exchange, no close token */
    begin(&r, NULL);
    struct kw_txn t = txn(1, H11, 0, 0, 200, H11, 0, 1, 2);
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 7, 8, 7, KW_SIDE_NONE);
    ck_assert_int_eq(count(&r.seen, KW_RULE_UNANNOUNCED_CLOSE), 1);
    ck_assert_int_eq(r.seen.f[0].request, 1);
    ck_assert_int_eq(r.seen.f[0].side, KW_SIDE_SERVER);
    finish(&r, AT(8));
    ck_assert_int_eq(r.seen.policy[0].announces_close, 0);
    ck_assert_int_eq(r.seen.policy[0].observed_max_requests, 1);

    /* exactly at the grace (1 s): still a close that follows the response */
    begin(&r, NULL);
    t = txn(1, H11, 0, 0, 200, H11, 0, 1, 2);
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 1002, 1003, 1002, KW_SIDE_NONE);
    ck_assert_int_eq(count(&r.seen, KW_RULE_UNANNOUNCED_CLOSE), 1);
    finish(&r, AT(1003));

    /* a microsecond past it: an idle close, which RFC 2616 8.1.4 allows */
    begin(&r, NULL);
    t = txn(1, H11, 0, 0, 200, H11, 0, 1, 2);
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 1002.002, 1003, 1002.002, KW_SIDE_NONE);
    ck_assert_msg(r.seen.n == 0, "%s", r.seen.n ? kw_rule_name(r.seen.f[0].rule) : "");
    finish(&r, AT(1003));
    ck_assert_int_eq(r.seen.policy[0].observed_idle_timeout, 1000 * MS);

    /* announced: no finding, and the server announces its closes */
    begin(&r, NULL);
    t = txn(1, H11, 0, 0, 200, H11, KW_CONN_CLOSE, 1, 2);
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 3, 4, 3, KW_SIDE_NONE);
    ck_assert_int_eq(r.seen.n, 0);
    finish(&r, AT(4));
    ck_assert_int_eq(r.seen.policy[0].announces_close, 1);
}
END_TEST

START_TEST(client_fin_first_is_nobody_s_fault)
{
    struct run r;
    begin(&r, NULL);
    struct kw_txn t = txn(1, H11, 0, 0, 200, H11, 0, 1, 2);
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_CLIENT, KW_CLOSE_FIN, 3, 4, 4, KW_SIDE_NONE);
    ck_assert_int_eq(r.seen.n, 0);
    finish(&r, AT(4));
    ck_assert_int_eq(r.seen.policy[0].announces_close, -1);
}
END_TEST

START_TEST(tornado_http10_is_ambiguous_and_loses_a_request)
{
    struct run r;
    begin(&r, NULL);
    struct kw_txn t1 = txn(1, H10, 0, 0, 200, H11, 0, 0.5, 1);
    send_txn(&r, &t1);
    struct kw_txn t2 = txn(2, H10, 0, 51, 0, 0, 0, 0, 0);
    t2.no_response = KW_NORESP_LOST;
    t2.after_server_fin = true;
    send_txn(&r, &t2);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 1.2, 51.1, 1.2, KW_SIDE_SERVER);
    ck_assert_int_eq(count(&r.seen, KW_RULE_AMBIGUOUS_PERSISTENCE), 1);
    ck_assert_int_eq(count(&r.seen, KW_RULE_LOST_REQUEST), 1);
    ck_assert_int_eq(count(&r.seen, KW_RULE_UNANNOUNCED_CLOSE), 0); /* nothing was agreed */
    int i = find(&r.seen, KW_RULE_LOST_REQUEST);
    ck_assert_int_eq(r.seen.f[i].request, 2);
    ck_assert_int_eq(r.seen.f[i].side, KW_SIDE_SERVER);
    ck_assert_int_eq(r.seen.f[i].severity, KW_SEV_ERROR);
    finish(&r, AT(52));
}
END_TEST

START_TEST(pipelined_requests_outstanding_at_a_rst)
{
    struct run r;
    begin(&r, NULL);
    struct kw_txn t1 = txn(1, H11, 0, 0, 200, H11, 0, 1, 2);
    send_txn(&r, &t1);
    struct kw_txn t2 = txn(2, H11, 0, 0.1, 0, 0, 0, 0, 0), t3 = txn(3, H11, 0, 0.2, 0, 0, 0, 0, 0);
    t2.no_response = t3.no_response = KW_NORESP_LOST;
    t2.pipelined = t3.pipelined = true;
    send_txn(&r, &t2);
    send_txn(&r, &t3);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_RST, 3, 3, -1, KW_SIDE_SERVER);
    ck_assert_int_eq(count(&r.seen, KW_RULE_LOST_REQUEST), 2);
    ck_assert_int_eq(count(&r.seen, KW_RULE_ABORTIVE_CLOSE), 1);
    /* requests were outstanding: the close was not an unannounced policy close */
    ck_assert_int_eq(count(&r.seen, KW_RULE_UNANNOUNCED_CLOSE), 0);
    finish(&r, AT(3));
}
END_TEST

/* --- Connection: close ----------------------------------------------- */

START_TEST(request_after_close_and_close_ignored)
{
    struct run r;
    begin(&r, NULL);
    struct kw_txn t1 = txn(1, H11, 0, 0, 200, H11, KW_CONN_CLOSE, 1, 2);
    send_txn(&r, &t1);
    struct kw_txn t2 = txn(2, H11, 0, 100, 200, H11, 0, 101, 102);
    send_txn(&r, &t2);
    end_conn(&r, KW_SIDE_CLIENT, KW_CLOSE_FIN, 200, 201, -1, KW_SIDE_NONE);
    int i = find(&r.seen, KW_RULE_REQUEST_AFTER_CLOSE);
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(r.seen.f[i].side, KW_SIDE_CLIENT);
    ck_assert_int_eq(r.seen.f[i].request, 2);
    ck_assert_int_eq(count(&r.seen, KW_RULE_CLOSE_IGNORED), 1); /* once, though twice true */
    finish(&r, AT(201));
}
END_TEST

START_TEST(close_ignored_only_past_the_grace)
{
    struct run r;
    /* the capture ends 0.5 s after a response that said close: too soon to tell */
    begin(&r, NULL);
    struct kw_txn t = txn(1, H11, 0, 0, 200, H11, KW_CONN_CLOSE, 1, 2);
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_NONE, KW_CLOSE_CAPTURE_END, 0, 502, -1, KW_SIDE_NONE);
    ck_assert_int_eq(r.seen.n, 0);
    finish(&r, AT(502));
    /* 1.5 s later and still open */
    begin(&r, NULL);
    t = txn(1, H11, 0, 0, 200, H11, KW_CONN_CLOSE, 1, 2);
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_NONE, KW_CLOSE_CAPTURE_END, 0, 1502, -1, KW_SIDE_NONE);
    ck_assert_int_eq(count(&r.seen, KW_RULE_CLOSE_IGNORED), 1);
    finish(&r, AT(1502));
    /* the client asked, the server closed 2 s later */
    begin(&r, NULL);
    t = txn(1, H11, KW_CONN_CLOSE, 0, 200, H11, 0, 1, 2);
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 2002, 2003, 2002, KW_SIDE_NONE);
    ck_assert_int_eq(count(&r.seen, KW_RULE_CLOSE_IGNORED), 1);
    finish(&r, AT(2003));
}
END_TEST

/* Time goes on without packets: close-ignored fires when the deadline has
 * passed with the connection still open, not when it ends (maybe never). */
START_TEST(close_ignored_fires_on_time)
{
    struct run r;
    begin(&r, NULL);
    struct kw_txn t = txn(1, H11, 0, 0, 200, H11, KW_CONN_CLOSE, 1, 2);
    send_txn(&r, &t);
    kw_rules_tick(r.rules, AT(900)); /* before the deadline (2 ms + 1 s grace) */
    ck_assert_int_eq(r.seen.n, 0);
    kw_rules_tick(r.rules, AT(1003)); /* just past it, still open */
    ck_assert_int_eq(count(&r.seen, KW_RULE_CLOSE_IGNORED), 1);
    ck_assert_int_eq(r.seen.f[0].request, 1);
    kw_rules_tick(r.rules, AT(5000)); /* once */
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 60000, 60001, 60000, KW_SIDE_NONE);
    ck_assert_int_eq(count(&r.seen, KW_RULE_CLOSE_IGNORED), 1);
    finish(&r, AT(60001));
    /* a connection that ends before its deadline leaves no timer behind */
    begin(&r, NULL);
    t = txn(1, H11, 0, 0, 200, H11, KW_CONN_CLOSE, 1, 2);
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 3, 4, 3, KW_SIDE_NONE);
    kw_rules_tick(r.rules, AT(5000));
    ck_assert_int_eq(count(&r.seen, KW_RULE_CLOSE_IGNORED), 0);
    finish(&r, AT(5000));
}
END_TEST

/* --- Keep-Alive parameters ------------------------------------------- */

START_TEST(idle_timeout_early_with_tolerance)
{
    struct run r;
    begin(&r, NULL);
    struct kw_txn t = txn(1, H11, 0, 0, 200, H11, KW_CONN_KEEP_ALIVE, 1, 2);
    t.resp.ka_timeout = 10;
    t.resp.has_keep_alive = true;
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 2002, 2003, 2002, KW_SIDE_NONE);
    ck_assert_int_eq(count(&r.seen, KW_RULE_IDLE_TIMEOUT_EARLY), 1);
    finish(&r, AT(2003));
    /* 9.6 s of 10: within the 5% tolerance */
    begin(&r, NULL);
    t = txn(1, H11, 0, 0, 200, H11, KW_CONN_KEEP_ALIVE, 1, 2);
    t.resp.ka_timeout = 10;
    t.resp.has_keep_alive = true;
    send_txn(&r, &t);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 9602, 9603, 9602, KW_SIDE_NONE);
    ck_assert_int_eq(r.seen.n, 0);
    finish(&r, AT(9603));
    ck_assert_int_eq(r.seen.policy[0].advertised_timeout_s, 10);
}
END_TEST

START_TEST(max_counts_down)
{
    struct run r;
    /* Apache: max=3, 2, 1, then close: within what it said */
    begin(&r, NULL);
    for (uint32_t i = 1; i <= 4; i++) {
        struct kw_txn t = txn(i, H10, KW_CONN_KEEP_ALIVE, i * 10, 200, H11,
                              i < 4 ? KW_CONN_KEEP_ALIVE : KW_CONN_CLOSE, i * 10 + 1, i * 10 + 2);
        t.resp.ka_max = i < 4 ? (int64_t)(4 - i) : KW_KA_ABSENT;
        t.resp.has_keep_alive = i < 4;
        send_txn(&r, &t);
    }
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 43, 44, 43, KW_SIDE_NONE);
    ck_assert_int_eq(r.seen.n, 0);
    finish(&r, AT(44));
    ck_assert_int_eq(r.seen.policy[0].observed_max_requests, 4);
    ck_assert_int_eq(r.seen.policy[0].advertised_max, 3);
    ck_assert_int_eq(r.seen.policy[0].honors_http10_keepalive, 1);
    /* max=1 on the first response, three answered */
    begin(&r, NULL);
    for (uint32_t i = 1; i <= 3; i++) {
        struct kw_txn t = txn(i, H11, 0, i * 10, 200, H11, KW_CONN_KEEP_ALIVE, i * 10 + 1,
                              i * 10 + 2);
        t.resp.ka_max = i == 1 ? 1 : KW_KA_ABSENT;
        t.resp.has_keep_alive = i == 1;
        send_txn(&r, &t);
    }
    end_conn(&r, KW_SIDE_CLIENT, KW_CLOSE_FIN, 40, 41, -1, KW_SIDE_NONE);
    int i = find(&r.seen, KW_RULE_MAX_EXCEEDED);
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(r.seen.f[i].request, 3);
    ck_assert_int_eq(count(&r.seen, KW_RULE_MAX_EXCEEDED), 1);
    finish(&r, AT(41));
}
END_TEST

/* --- message-level rules --------------------------------------------- */

START_TEST(message_rules)
{
    struct run r;
    begin(&r, NULL);
    struct kw_txn t1 = txn(1, H11, 0, 0, 200, H11, KW_CONN_KEEP_ALIVE, 1, 2);
    t1.framing = KW_FRAMING_CLOSE; /* unframed, yet keep-alive */
    t1.resp.has_content_length = false;
    send_txn(&r, &t1);
    struct kw_txn t2 = txn(2, H10, 0, 10, 200, H11, 0, 11, 12);
    t2.framing = KW_FRAMING_CHUNKED; /* chunked to HTTP/1.0 */
    t2.resp.chunked = true;
    send_txn(&r, &t2);
    struct kw_txn t3 = txn(3, H11, 0, 20, 200, H11, 0, 21, 22);
    t3.resp.anomalies = KW_ANOM_CL_AND_TE; /* conflicting framing */
    t3.resp.has_keep_alive = true;         /* and Keep-Alive without the token */
    t3.resp.ka_timeout = 5;
    send_txn(&r, &t3);
    struct kw_txn t4 = txn(4, H11, 0, 30, 200, H11, 0, 31, 32);
    t4.req.anomalies = KW_ANOM_CL_INVALID;
    send_txn(&r, &t4);
    struct kw_txn t5 = txn(5, H11, 0, 33, 200, H11, 0, 34, 35);
    t5.req.anomalies = KW_ANOM_CL_AND_TE; /* both messages of one exchange: one each */
    t5.resp.anomalies = KW_ANOM_CL_DIFFERING;
    send_txn(&r, &t5);
    end_conn(&r, KW_SIDE_CLIENT, KW_CLOSE_FIN, 40, 41, -1, KW_SIDE_NONE);
    ck_assert_int_eq(count(&r.seen, KW_RULE_UNFRAMED_RESPONSE), 1);
    ck_assert_int_eq(count(&r.seen, KW_RULE_CHUNKED_TO_HTTP10), 1);
    ck_assert_int_eq(count(&r.seen, KW_RULE_CONFLICTING_FRAMING), 4);
    ck_assert_int_eq(count(&r.seen, KW_RULE_KEEPALIVE_HEADER_UNLISTED), 1);
    int i = find(&r.seen, KW_RULE_CONFLICTING_FRAMING);
    ck_assert_int_eq(r.seen.f[i].side, KW_SIDE_SERVER);
    ck_assert_int_eq(r.seen.f[i + 2].side, KW_SIDE_CLIENT); /* t4's, after t3's two */
    finish(&r, AT(41));
}
END_TEST

/* --- the keep-alive race ---------------------------------------------- */

START_TEST(idle_race)
{
    struct run r;
    begin(&r, NULL);
    struct kw_txn t1 = txn(1, H11, 0, 0, 200, H11, KW_CONN_KEEP_ALIVE, 1, 2);
    send_txn(&r, &t1);
    struct kw_txn t2 = txn(2, H11, 0, 1402, 200, H11, KW_CONN_KEEP_ALIVE, 1403, 1404);
    send_txn(&r, &t2); /* reused after 1.4 s */
    struct kw_txn t3 = txn(3, H11, 0, 2924, 0, 0, 0, 0, 0);
    t3.no_response = KW_NORESP_LOST; /* after 1.52 s idle; the server closed at 1.5 s */
    t3.after_server_fin = true;
    send_txn(&r, &t3);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 2904, 2925, 2904, KW_SIDE_SERVER);
    ck_assert_int_eq(count(&r.seen, KW_RULE_IDLE_RACE), 1);
    ck_assert_int_eq(count(&r.seen, KW_RULE_LOST_REQUEST), 1);
    ck_assert_int_eq(count(&r.seen, KW_RULE_UNANNOUNCED_CLOSE), 0); /* an idle close */
    finish(&r, AT(2925));
    ck_assert(r.seen.policy[0].racing);
    ck_assert_int_eq(r.seen.policy[0].longest_idle_reuse, 1400 * MS);
}
END_TEST

/* --- configuration ---------------------------------------------------- */

START_TEST(expectations_and_policy_mismatch)
{
    static const char *const cfg[] = {
        "expect server 127.0.0.1 port 8080 max-requests 100 announces-close no", NULL
    };
    struct run r;
    begin(&r, cfg);
    for (uint32_t i = 1; i <= 2; i++) {
        struct kw_txn t = txn(i, H11, 0, i * 10, 200, H11, i == 2 ? KW_CONN_CLOSE : 0,
                              i * 10 + 1, i * 10 + 2);
        send_txn(&r, &t);
    }
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 23, 24, 23, KW_SIDE_NONE);
    ck_assert_int_eq(r.seen.n, 0);
    finish(&r, AT(24));
    ck_assert_int_eq(count(&r.seen, KW_RULE_POLICY_MISMATCH), 2);
    ck_assert_int_eq(r.seen.policy[0].observed_max_requests, 2);
    ck_assert_int_eq(r.seen.policy[0].findings[KW_RULE_POLICY_MISMATCH], 2);
}
END_TEST

/* An expectation the capture cannot check must not pass silently: a server
 * never seen (a typo), or seen without the traffic that decides it. */
START_TEST(expectations_unmet)
{
    static const char *const cfg[] = {
        "expect server 127.0.0.1 port 8080 max-requests 2 idle-timeout 5 announces-close yes",
        "expect server 127.0.0.1 port 8081 max-requests 100",
        "suppress server 127.0.0.1 port 9999 expectation-unmet",
        "expect server 127.0.0.1 port 9999 max-requests 3", NULL
    };
    struct run r;
    begin(&r, cfg);
    /* port 8080: closes after 2 requests, announced; never closes an idle connection */
    for (uint32_t i = 1; i <= 2; i++) {
        struct kw_txn t = txn(i, H11, 0, i * 10, 200, H11, i == 2 ? KW_CONN_CLOSE : 0,
                              i * 10 + 1, i * 10 + 2);
        send_txn(&r, &t);
    }
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 23, 24, 23, KW_SIDE_NONE);
    finish(&r, AT(24));
    ck_assert_int_eq(count(&r.seen, KW_RULE_POLICY_MISMATCH), 0);
    /* idle-timeout of 8080 (no idle close), and 8081 never seen; 9999 suppressed */
    ck_assert_int_eq(count(&r.seen, KW_RULE_EXPECTATION_UNMET), 2);
    int i = find(&r.seen, KW_RULE_EXPECTATION_UNMET);
    ck_assert_int_eq(r.seen.f[i].severity, KW_SEV_WARNING);
    ck_assert_int_eq(r.seen.policy[0].findings[KW_RULE_EXPECTATION_UNMET], 1);
    ck_assert_str_eq(r.seen.f[i].evidence_missing, "idle-close");
    ck_assert_int_eq(r.seen.f[i + 1].server_port, 8081);
    ck_assert_str_eq(r.seen.f[i + 1].evidence_missing, "server");
}
END_TEST

/* The server table is bounded: when it is full, the server idle the longest
 * is reported (its policy, as at the end) and dropped; a busy one never. */
START_TEST(idle_servers_evicted_when_full)
{
    struct run r;
    begin(&r, NULL);
    kw_rules_set_max_servers(r.rules, 2);
    for (uint16_t port = 8080; port <= 8082; port++) {
        r.conn.key.server.port = port;
        r.conn.id = port;
        r.last_resp_end = KW_TS_NONE;
        struct kw_txn t = txn(1, H11, 0, port - 8080.0, 200, H11, 0, port - 8079.5,
                              port - 8079.0);
        send_txn(&r, &t);
        end_conn(&r, KW_SIDE_CLIENT, KW_CLOSE_FIN, port - 8078.0, port - 8078.0, -1,
                 KW_SIDE_NONE);
    }
    /* the third server took the place of the first, reported then */
    ck_assert_int_eq(r.seen.n_policy, 1);
    ck_assert_int_eq(r.seen.policy[0].server.port, 8080);
    ck_assert_int_eq(r.seen.policy[0].requests, 1);
    ck_assert_uint_eq(kw_rules_servers_evicted(r.rules), 1);
    /* a server with a connection open stays: the next new one goes untracked */
    r.conn.key.server.port = 8081;
    struct kw_txn busy = txn(1, H11, 0, 10, 200, H11, 0, 10.5, 11);
    send_txn(&r, &busy); /* 8081 busy now; 8082 idle */
    struct kw_conn_info other = r.conn;
    memset(other.state, 0, sizeof(other.state));
    other.id = 99;
    other.key.server.port = 9000;
    struct kw_txn t = txn(1, H11, 0, 12, 200, H11, 0, 12.5, 13);
    r.ts->on_txn(r.ts->ctx, &other, &t); /* evicts 8082, the idle one */
    ck_assert_int_eq(r.seen.policy[1].server.port, 8082);
    ck_assert_uint_eq(kw_rules_servers_untracked(r.rules), 0);
    end_conn(&r, KW_SIDE_CLIENT, KW_CLOSE_FIN, 14, 14, -1, KW_SIDE_NONE);
    r.conn = other;
    end_conn(&r, KW_SIDE_CLIENT, KW_CLOSE_FIN, 14, 14, -1, KW_SIDE_NONE);
    finish(&r, AT(15));
    ck_assert_int_eq(r.seen.n_policy, 4); /* 8080 and 8082 evicted, 8081 and 9000 at the end */
}
END_TEST

START_TEST(disable_severity_suppress)
{
    static const char *const cfg[] = {
        "disable ambiguous-persistence", "severity lost-request warning",
        "suppress server 127.0.0.0/8 port 9999", /* another port: no effect */
        NULL
    };
    struct run r;
    begin(&r, cfg);
    struct kw_txn t1 = txn(1, H10, 0, 0, 200, H11, 0, 0.5, 1);
    send_txn(&r, &t1);
    struct kw_txn t2 = txn(2, H10, 0, 51, 0, 0, 0, 0, 0);
    t2.no_response = KW_NORESP_LOST;
    send_txn(&r, &t2);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 1.2, 51.1, 1.2, KW_SIDE_SERVER);
    ck_assert_int_eq(r.seen.n, 1);
    ck_assert_int_eq(r.seen.f[0].rule, KW_RULE_LOST_REQUEST);
    ck_assert_int_eq(r.seen.f[0].severity, KW_SEV_WARNING);
    ck_assert_int_eq(kw_rules_worst(r.rules), KW_SEV_WARNING);
    finish(&r, AT(52));

    static const char *const quiet[] = { "suppress server 127.0.0.0/8 port 8080", NULL };
    begin(&r, quiet);
    send_txn(&r, &t1);
    send_txn(&r, &t2);
    end_conn(&r, KW_SIDE_SERVER, KW_CLOSE_FIN, 1.2, 51.1, 1.2, KW_SIDE_SERVER);
    ck_assert_int_eq(r.seen.n, 0);
    ck_assert_int_eq(kw_rules_worst(r.rules), -1);
    finish(&r, AT(52));
}
END_TEST

START_TEST(bad_rules_files_say_where)
{
    struct kw_rules_config *cfg = kw_rules_config_new();
    char err[512];
    static const char *const bad[] = {
        "grace soon",  "disable no-such-rule", "severity lost-request fatal",
        "suppress server 300.1.1.1", "suppress nobody 1.2.3.4", "expect server 1.2.3.4 port 80",
        "expect server 1.2.3.0/24 port 80 max-requests 3", "frobnicate", "grace 1 2",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_msg(kw_rules_config_line(cfg, bad[i], err, sizeof(err)) < 0, "%s", bad[i]);
        ck_assert_msg(err[0], "no reason for '%s'", bad[i]);
    }
    char path[] = "/tmp/kw-rules-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    static const char file[] = "# comment\n\ngrace 2 # trailing comment\ndisable idle-race\n"
                               "severity max-exceeded sometimes\n";
    ck_assert_int_eq(write(fd, file, sizeof(file) - 1), (ssize_t)(sizeof(file) - 1));
    close(fd);
    ck_assert_int_lt(kw_rules_config_load(cfg, path, err, sizeof(err)), 0);
    char want[64];
    snprintf(want, sizeof(want), "%s:5: ", path);
    ck_assert_msg(!strncmp(err, want, strlen(want)), "got '%s'", err);
    ck_assert_msg(strstr(err, "sometimes"), "got '%s'", err);
    unlink(path);
    kw_rules_config_free(cfg);
}
END_TEST

static Suite *rules_suite(void)
{
    Suite *s = suite_create("rules");
    TCase *close = tcase_create("closes");
    tcase_add_test(close, unannounced_close_and_the_grace_edge);
    tcase_add_test(close, client_fin_first_is_nobody_s_fault);
    tcase_add_test(close, tornado_http10_is_ambiguous_and_loses_a_request);
    tcase_add_test(close, pipelined_requests_outstanding_at_a_rst);
    tcase_add_test(close, request_after_close_and_close_ignored);
    tcase_add_test(close, close_ignored_only_past_the_grace);
    tcase_add_test(close, close_ignored_fires_on_time);
    suite_add_tcase(s, close);
    TCase *ka = tcase_create("keep-alive");
    tcase_add_test(ka, idle_timeout_early_with_tolerance);
    tcase_add_test(ka, max_counts_down);
    tcase_add_test(ka, idle_race);
    suite_add_tcase(s, ka);
    TCase *msg = tcase_create("messages");
    tcase_add_test(msg, message_rules);
    suite_add_tcase(s, msg);
    TCase *cfg = tcase_create("configuration");
    tcase_add_test(cfg, expectations_and_policy_mismatch);
    tcase_add_test(cfg, expectations_unmet);
    tcase_add_test(cfg, idle_servers_evicted_when_full);
    tcase_add_test(cfg, disable_severity_suppress);
    tcase_add_test(cfg, bad_rules_files_say_where);
    suite_add_tcase(s, cfg);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rules_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

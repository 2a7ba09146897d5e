/* check_html.c: the HTML report as an output, driven with constructed
 * events as the tracker and the rule engine would drive it: its escaper, its
 * bounds (the race plot's sample, the ladders kept, worst first, the events
 * of one ladder), and the page written again from the start at a second
 * summary. tests/report.sh checks the pages of real captures in a browser. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/escape.h"
#include "output/out.h"

#define MS 1000 /* kw_usec per millisecond */
#define T0 ((kw_usec)1700000000 * KW_USEC_PER_SEC)

START_TEST(html_escaper)
{
    struct kw_buf b = { 0 };
    static const uint8_t in[] = "GET /a&b<c>d\"e'f\\g\x01h\x7f\xff\xc3\xa9";
    ck_assert_uint_eq(kw_buf_html(&b, in, sizeof(in) - 1), 0);
    kw_buf_put(&b, "", 1);
    ck_assert_str_eq(b.p, "GET /a&amp;b&lt;c&gt;d&quot;e&#39;f\\\\g\\x01h\\x7f\\xff\\xc3\\xa9");
    kw_buf_free(&b);
}
END_TEST

/* One output to a temporary file, driven by hand. */
struct run {
    FILE *f;
    struct kw_out *o;
    struct kw_txn_consumer *tc;
    const struct kw_finding_consumer *fc;
    struct kw_stats stats;
    char *page;
};

static void run_open(struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->f = tmpfile();
    ck_assert_ptr_nonnull(r->f);
    r->o = kw_out_new("html", r->f, NULL);
    ck_assert_ptr_nonnull(r->o);
    r->tc = kw_out_txn_consumer(r->o);
    r->tc->slot = 0; /* as kw_track_subscribe() would set it */
    r->fc = kw_out_finding_consumer(r->o);
}

/* The file as it is now, NUL-terminated. */
static const char *run_page(struct run *r)
{
    kw_out_stats(r->o, &r->stats, T0 + (kw_usec)3600 * KW_USEC_PER_SEC);
    long n = ftell(r->f);
    ck_assert_int_gt(n, 0);
    free(r->page);
    r->page = calloc(1, (size_t)n + 1);
    ck_assert_int_eq(fseek(r->f, 0, SEEK_SET), 0);
    ck_assert_uint_eq(fread(r->page, 1, (size_t)n, r->f), (size_t)n);
    ck_assert_int_eq(fseek(r->f, 0, SEEK_END), 0);
    return r->page;
}

static void run_close(struct run *r)
{
    kw_out_free(r->o);
    fclose(r->f);
    free(r->page);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static struct kw_conn_info conn_info(uint64_t id)
{
    struct kw_conn_info c;
    memset(&c, 0, sizeof(c));
    c.id = id;
    c.start = T0 + (kw_usec)id * 10 * KW_USEC_PER_SEC;
    c.key.client.family = c.key.server.family = 4;
    memcpy(c.key.client.addr, "\x0a\x00\x00\x02", 4);
    memcpy(c.key.server.addr, "\x0a\x00\x00\x01", 4);
    c.key.client.port = (uint16_t)(10000 + id % 50000);
    c.key.server.port = 80;
    return c;
}

static void text(struct kw_text *t, const char *s)
{
    t->p = (const uint8_t *)s;
    t->len = (uint16_t)strlen(s);
    t->present = true;
}

/* Request `index` at `at`, after `idle`, answered 1 ms later. */
static void txn(struct run *r, struct kw_conn_info *c, uint32_t index, kw_usec at, kw_usec idle)
{
    struct kw_txn t;
    memset(&t, 0, sizeof(t));
    t.index = index;
    t.has_request = t.request_complete = t.has_response = t.response_complete = true;
    t.req_first = t.req_last = at;
    t.resp_first = t.resp_last = at + MS;
    t.idle_before = idle;
    t.req_first_frame = t.req_last_frame = 4 + 2 * (uint64_t)index;
    t.resp_first_frame = t.resp_last_frame = 5 + 2 * (uint64_t)index;
    t.req.version = t.resp.version = 11;
    t.resp.status = 200;
    t.resp.ka_timeout = t.resp.ka_max = -1;
    text(&t.method, "GET");
    text(&t.uri, "/");
    r->tc->on_txn(r->tc->ctx, c, &t);
}

/* The server closes `idle` after the last response, which ended at `last`. */
static void end(struct run *r, struct kw_conn_info *c, uint32_t requests, kw_usec last,
                kw_usec idle)
{
    struct kw_conn_end e;
    memset(&e, 0, sizeof(e));
    e.requests = e.responses = requests;
    e.reused = requests > 1;
    e.http = true;
    e.closed_by = KW_SIDE_SERVER;
    e.close = e.ended = KW_CLOSE_FIN;
    e.close_ts = last + idle;
    e.end_ts = e.close_ts + MS;
    e.idle_before_close = idle;
    e.fin_ts[KW_TO_SERVER] = e.close_ts + MS;
    e.fin_ts[KW_TO_CLIENT] = e.close_ts;
    e.fin_frame[KW_TO_CLIENT] = 100;
    e.fin_frame[KW_TO_SERVER] = 101;
    e.close_frame = 100;
    e.end_frame = 102;
    e.gap_offset[0] = e.gap_offset[1] = KW_NO_GAP;
    r->tc->on_end(r->tc->ctx, c, &e);
}

static void finding(struct run *r, struct kw_conn_info *c, enum kw_severity sev)
{
    struct kw_finding f;
    memset(&f, 0, sizeof(f));
    f.rule = sev == KW_SEV_ERROR ? KW_RULE_LOST_REQUEST : KW_RULE_KEEPALIVE_HEADER_UNLISTED;
    f.severity = sev;
    f.side = KW_SIDE_SERVER;
    f.request = 1;
    f.ts = c->start + MS;
    snprintf(f.message, sizeof(f.message), "a finding <b>");
    f.evidence[0] = (struct kw_evidence){ .name = "frames", .kind = KW_EV_FRAMES, .known = true };
    f.evidence[0].v.frames.number[0] = 6;
    f.evidence[0].v.frames.n = 1;
    f.n_evidence = 1;
    r->fc->on_finding(r->fc->ctx, c, &f);
}

/* The engine's policy of the server, at the end of the input. */
static void policy(struct run *r, uint64_t connections)
{
    struct kw_server_policy p;
    memset(&p, 0, sizeof(p));
    p.server = conn_info(1).key.server;
    p.connections = connections;
    p.announces_close = p.honors_http10_keepalive = -1;
    p.advertised_timeout_s = p.advertised_max = -1;
    p.observed_max_requests = p.close_announced_after = -1;
    p.observed_idle_timeout = 2 * KW_USEC_PER_SEC;
    p.longest_idle_reuse = KW_TS_NONE;
    r->fc->on_server(r->fc->ctx, &p);
}

START_TEST(second_summary_rewrites_the_page)
{
    struct run r;
    run_open(&r);
    struct kw_conn_info c = conn_info(1);
    txn(&r, &c, 1, c.start + MS, KW_TS_NONE);
    finding(&r, &c, KW_SEV_ERROR);
    end(&r, &c, 1, c.start + 2 * MS, 2 * KW_USEC_PER_SEC);
    policy(&r, 1);
    const char *first = run_page(&r);
    ck_assert_uint_eq(count(first, "<!DOCTYPE html>"), 1);
    size_t len = strlen(first);
    ck_assert_uint_eq(count(first, "id=\"conn-1\""), 1);
    ck_assert_uint_eq(count(first, "a finding &lt;b&gt;"), 2); /* the list, the ladder's title */
    const char *again = run_page(&r); /* a live capture's next summary */
    ck_assert_uint_eq(count(again, "<!DOCTYPE html>"), 1);
    ck_assert_uint_eq(strlen(again), len);
    ck_assert_str_eq(again + len - 8, "</html>\n");
    run_close(&r);
}
END_TEST

START_TEST(race_plot_keeps_a_sample_and_exact_counts)
{
    struct run r;
    run_open(&r);
    for (uint64_t i = 1; i <= 1000; i++) {
        struct kw_conn_info c = conn_info(i);
        txn(&r, &c, 1, c.start + MS, KW_TS_NONE);
        kw_usec second = c.start + 2 * MS + 1500 * MS;
        txn(&r, &c, 2, second, 1500 * MS);
        end(&r, &c, 2, second + MS, 2 * KW_USEC_PER_SEC);
    }
    policy(&r, 1000);
    const char *page = run_page(&r);
    ck_assert_ptr_nonnull(strstr(page, "data-answered=\"1000\" data-lost=\"0\" "
                                       "data-server-closes=\"1000\" data-client-closes=\"0\""));
    ck_assert_uint_eq(count(page, "data-idle-s=\"1.500000\""), 200);
    ck_assert_uint_eq(count(page, "data-idle-s=\"2.000000\""), 200);
    ck_assert_ptr_nonnull(strstr(page, "data-count=\"1000\"")); /* 1000 connections of 2 */
    run_close(&r);
}
END_TEST

START_TEST(ladders_keep_the_worst)
{
    struct run r;
    run_open(&r);
    for (uint64_t i = 1; i <= 60; i++) {
        struct kw_conn_info c = conn_info(i);
        txn(&r, &c, 1, c.start + MS, KW_TS_NONE);
        finding(&r, &c, i == 7 || i == 55 ? KW_SEV_ERROR : KW_SEV_NOTICE);
        if (i == 30)
            finding(&r, &c, KW_SEV_NOTICE); /* two notices rank above one */
        end(&r, &c, 1, c.start + 2 * MS, 2 * KW_USEC_PER_SEC);
    }
    const char *page = run_page(&r);
    ck_assert_uint_eq(count(page, "<article class=\"conn\""), 50);
    const char *c7 = strstr(page, "id=\"conn-7\""), *c55 = strstr(page, "id=\"conn-55\"");
    const char *c30 = strstr(page, "id=\"conn-30\""), *c1 = strstr(page, "id=\"conn-1\"");
    ck_assert(c7 && c55 && c30 && c1 && c7 < c55 && c55 < c30 && c30 < c1);
    ck_assert_ptr_nonnull(strstr(page, "id=\"conn-49\"")); /* 2 errors, 2 notices, 46 notices */
    ck_assert_ptr_null(strstr(page, "id=\"conn-50\"")); /* the later notices are dropped */
    ck_assert_ptr_nonnull(strstr(page, "id=\"ladders-not-drawn\">10<"));
    run_close(&r);
}
END_TEST

START_TEST(a_ladder_keeps_its_first_and_last_events)
{
    struct run r;
    run_open(&r);
    struct kw_conn_info c = conn_info(1);
    kw_usec at = c.start;
    for (uint32_t i = 1; i <= 100; i++) {
        at += 100 * MS;
        txn(&r, &c, i, at, i > 1 ? 99 * MS : KW_TS_NONE);
    }
    finding(&r, &c, KW_SEV_ERROR);
    end(&r, &c, 100, at + MS, 2 * KW_USEC_PER_SEC);
    const char *page = run_page(&r);
    /* the handshake, 100 requests, 100 responses, 2 FINs: 203; 48 + 16 drawn */
    ck_assert_ptr_nonnull(strstr(page, "&hellip; 139 events not drawn &hellip;"));
    ck_assert_uint_eq(count(page, "<g class=\"ev "), 64);
    ck_assert_ptr_nonnull(strstr(page, "data-request=\"100\" data-frame=\"204\""));
    run_close(&r);
}
END_TEST

static Suite *html_suite(void)
{
    Suite *s = suite_create("html");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, html_escaper);
    tcase_add_test(tc, second_summary_rewrites_the_page);
    tcase_add_test(tc, race_plot_keeps_a_sample_and_exact_counts);
    tcase_add_test(tc, ladders_keep_the_worst);
    tcase_add_test(tc, a_ladder_keeps_its_first_and_last_events);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(html_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

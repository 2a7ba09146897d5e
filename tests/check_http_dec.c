/* check_http_dec.c: the HTTP/1.x decoder, fed whole, then cut at every byte
 * (and at every pair of cuts for pipelined messages): the event log must not
 * change however TCP cut the bytes. Inputs sit flush against a PROT_NONE page
 * so an over-read crashes even without AddressSanitizer. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http/dec-impl.h"

/* --- an event log as text -------------------------------------------- */

struct log {
    char text[16384];
    size_t len;
    char pending[4096]; /* a text field being assembled from pieces */
    size_t pending_len;
    int pending_field;
    const char *methods; /* per response, the request method: G(et) H(ead) C(onnect),
                            or 9: an HTTP/0.9 request */
    size_t n_resp, n_resp_begun;
    struct kw_http_dec *dec;       /* for a receiver that stops it */
    int stop_at_begin, stop_at_end; /* stop it in this on_begin or on_end (from 1), or never */
    int n_begin, n_end;
    uint16_t head_manom; /* the anomalies on_head said, not said again by on_end */
};

static const char *const field_names[] = { "method", "uri", "host", "user-agent", "server",
                                           "connection", "keep-alive", "proxy-connection",
                                           "upgrade", "content-type", "x-forwarded-for", "via",
                                           "reason" };

static void logf_(struct log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct log *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < sizeof(l->text) - l->len ? (size_t)n : sizeof(l->text) - l->len - 1;
}

/* Text as it came, but for control bytes, DEL, bytes >= 0x80 and the
 * backslash, written \xNN and \\, so that the log says exactly which bytes
 * were delivered. */
static void flush_text(struct log *l)
{
    if (l->pending_field < 0)
        return;
    logf_(l, "text %s \"", field_names[l->pending_field]);
    for (size_t i = 0; i < l->pending_len; i++) {
        uint8_t c = (uint8_t)l->pending[i];
        if (c == '\\')
            logf_(l, "\\\\");
        else if (c < 0x20 || c >= 0x7f)
            logf_(l, "\\x%02x", c);
        else
            logf_(l, "%c", c);
    }
    logf_(l, "\"\n");
    l->pending_field = -1;
    l->pending_len = 0;
}

static const char *dir_name(enum kw_dir d)
{
    return d == KW_TO_SERVER ? "req" : "resp";
}

static void on_begin(void *ctx, enum kw_dir dir, kw_usec ts)
{
    struct log *l = ctx;
    (void)ts;
    flush_text(l);
    logf_(l, "begin %s\n", dir_name(dir));
    if (++l->n_begin == l->stop_at_begin)
        kw_http_dec_stop(l->dec); /* as the tracker does with too many requests in flight */
    if (dir == KW_TO_CLIENT && l->methods && l->n_resp_begun < strlen(l->methods) &&
        l->methods[l->n_resp_begun++] == '9')
        kw_http_dec_answers_http09(l->dec);
}

static void on_discard(void *ctx, enum kw_dir dir)
{
    struct log *l = ctx;
    flush_text(l);
    logf_(l, "discard %s\n", dir_name(dir));
}

static void on_text(void *ctx, enum kw_dir dir, enum kw_http_field f, struct kw_slice piece,
                    unsigned flags)
{
    struct log *l = ctx;
    (void)dir;
    if ((flags & KW_TEXT_START) || l->pending_field != (int)f) {
        flush_text(l);
        l->pending_field = (int)f;
    }
    ck_assert_uint_le(l->pending_len + piece.len, sizeof(l->pending));
    memcpy(l->pending + l->pending_len, piece.p, piece.len);
    l->pending_len += piece.len;
}

static enum kw_http_body on_head(void *ctx, enum kw_dir dir, kw_usec ts,
                                 const struct kw_http_head *h)
{
    struct log *l = ctx;
    (void)ts;
    flush_text(l);
    logf_(l, "head %s v=%u status=%u method=%d conn=%x pconn=%x ka=%lld/%lld cl=%s%llu te=%d "
             "chunked=%d anom=%x expect=%d upgrade=%d",
          dir_name(dir), h->version, h->status, (int)h->method, h->conn_tokens,
          h->proxy_conn_tokens, (long long)h->ka_timeout, (long long)h->ka_max,
          h->has_content_length ? "" : "-", (unsigned long long)h->content_length,
          h->has_transfer_encoding, h->chunked, h->anomalies, h->expect_continue, h->has_upgrade);
    if (h->msg_anomalies)
        logf_(l, " manom=%x", h->msg_anomalies);
    l->head_manom = h->msg_anomalies;
    if (dir == KW_TO_CLIENT && !h->has_status)
        logf_(l, " nostatus");
    ck_assert(dir == KW_TO_CLIENT || !h->has_status);
    logf_(l, "\n");
    if (dir == KW_TO_SERVER || (h->status >= 100 && h->status < 200 && h->status != 101))
        return KW_BODY_FRAMED;
    char m = l->methods && l->n_resp < strlen(l->methods) ? l->methods[l->n_resp] : 'G';
    l->n_resp++;
    if (h->status == 101 || (m == 'C' && h->status >= 200 && h->status < 300))
        return KW_BODY_TUNNEL;
    return m == 'H' ? KW_BODY_NONE : KW_BODY_FRAMED;
}

static void on_end(void *ctx, enum kw_dir dir, kw_usec ts, const struct kw_http_end *e)
{
    static const char *const hows[] = { "seen", "closed", "in-hole", "hole-cut" };
    struct log *l = ctx;
    (void)ts;
    flush_text(l);
    logf_(l, "end %s framing=%d body=%llu", dir_name(dir), (int)e->framing,
          (unsigned long long)e->body_len);
    if (e->how != KW_END_SEEN)
        logf_(l, " how=%s", hows[e->how]);
    if (!e->head_seen)
        logf_(l, " nohead");
    if (e->msg_anomalies & ~l->head_manom)
        logf_(l, " manom=%x", e->msg_anomalies & ~l->head_manom);
    l->head_manom = 0;
    logf_(l, "\n");
    if (++l->n_end == l->stop_at_end)
        kw_http_dec_stop(l->dec);
}

/* --- guard page ------------------------------------------------------- */

static uint8_t *guard_base;
static size_t page;

/* Copies `n` bytes so that they end exactly at a PROT_NONE page. */
static const uint8_t *flush_to_guard(const void *src, size_t n)
{
    if (!guard_base) {
        page = (size_t)sysconf(_SC_PAGESIZE);
        size_t data_pages = 64;
        guard_base = mmap(NULL, (data_pages + 1) * page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(guard_base, MAP_FAILED);
        ck_assert_int_eq(mprotect(guard_base + data_pages * page, page, PROT_NONE), 0);
        guard_base += data_pages * page; /* the guard page itself */
    }
    ck_assert_uint_le(n, 64 * page);
    uint8_t *dst = guard_base - n;
    memcpy(dst, src, n);
    return dst;
}

/* --- running a case --------------------------------------------------- */

struct result {
    struct log log;
    bool ok;
    enum kw_http_error err;
    uint64_t err_offset;
    bool cut; /* kw_http_dec_close said a message was cut short */
    bool tunnel; /* the decoder was stopped, or a tunnel began */
    uint64_t skipped; /* kw_http_dec_skipped at the end */
};

static uint32_t g_head_max; /* 0: the default cap */
static int g_stop_at_begin, g_stop_at_end; /* the receiver stops the decoder there; 0: never */
static bool g_seek;         /* the stream was picked up after it began */
static size_t g_gap_at, g_gap_len; /* a hole in the capture: these bytes are not fed */

/* Feeds `in` cut at the offsets in `cuts` (ascending), then closes if asked.
 * With g_gap_len, the bytes [g_gap_at, g_gap_at + g_gap_len) are a hole:
 * kw_http_dec_gap instead of them, its outcome logged. Cuts inside the hole
 * are ignored. */
static void run(enum kw_dir dir, const char *methods, const uint8_t *in, size_t n,
                const size_t *cuts, size_t n_cuts, bool close_at_end, struct result *r)
{
    static struct kw_http_dec d;
    static const char *const gaps[] = { "ignored", "in-step", "resync", "message-in-hole" };
    memset(r, 0, sizeof(*r));
    r->log.pending_field = -1;
    r->log.methods = methods;
    r->log.dec = &d;
    r->log.stop_at_begin = g_stop_at_begin;
    r->log.stop_at_end = g_stop_at_end;
    struct kw_http_sink sink = { &r->log, on_begin, on_text, on_head, on_end, on_discard };
    kw_http_dec_init(&d, dir, g_head_max, &sink);
    if (g_seek)
        kw_http_dec_seek(&d);
    /* where to cut: the cuts outside the hole, the hole's ends, the end */
    size_t gap_end = g_gap_at + g_gap_len, bounds[8], nb = 0;
    for (size_t i = 0; i < n_cuts; i++)
        if (!g_gap_len || cuts[i] <= g_gap_at || cuts[i] >= gap_end)
            bounds[nb++] = cuts[i];
    if (g_gap_len) {
        bounds[nb++] = g_gap_at;
        bounds[nb++] = gap_end;
    }
    bounds[nb++] = n;
    for (size_t i = 1; i < nb; i++) /* ascending */
        for (size_t j = i; j > 0 && bounds[j - 1] > bounds[j]; j--) {
            size_t t = bounds[j];
            bounds[j] = bounds[j - 1];
            bounds[j - 1] = t;
        }
    size_t from = 0;
    bool gap_done = !g_gap_len;
    r->ok = true;
    for (size_t k = 0; k < nb; k++) {
        if (!gap_done && from == g_gap_at) {
            flush_text(&r->log);
            logf_(&r->log, "gap %s\n", gaps[kw_http_dec_gap(&d, 1500, g_gap_len)]);
            gap_done = true;
            from = gap_end;
        }
        if (bounds[k] > from) {
            r->ok = kw_http_dec_feed(&d, 1000, kw_slice_make(in + from, bounds[k] - from)) && r->ok;
            from = bounds[k];
        }
    }
    r->tunnel = kw_http_dec_tunnel(&d);
    if (close_at_end)
        r->cut = kw_http_dec_close(&d, 2000);
    flush_text(&r->log);
    r->err = kw_http_dec_error(&d);
    r->err_offset = kw_http_dec_error_offset(&d);
    r->skipped = kw_http_dec_skipped(&d);
}

static void same(const struct result *a, const struct result *b, const char *what, size_t c1,
                 size_t c2)
{
    if (strcmp(a->log.text, b->log.text) || a->ok != b->ok || a->err != b->err ||
        a->err_offset != b->err_offset || a->cut != b->cut || a->tunnel != b->tunnel ||
        a->skipped != b->skipped)
        ck_abort_msg("%s: cut at %zu,%zu changed the result:\n--- whole\n%s--- cut\n%s", what, c1,
                     c2, a->log.text, b->log.text);
}

/* Whole, then every single cut, then (for short inputs) every pair of cuts. */
static struct result check_splits(enum kw_dir dir, const char *methods, const char *text,
                                  size_t n, bool close_at_end, bool pairs)
{
    const uint8_t *in = flush_to_guard(text, n);
    struct result whole, cut;
    run(dir, methods, in, n, NULL, 0, close_at_end, &whole);
    for (size_t i = 1; i < n; i++) {
        run(dir, methods, in, n, &i, 1, close_at_end, &cut);
        same(&whole, &cut, text, i, 0);
    }
    if (pairs)
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j < n; j++) {
                size_t cuts[2] = { i, j };
                run(dir, methods, in, n, cuts, 2, close_at_end, &cut);
                same(&whole, &cut, text, i, j);
            }
    return whole;
}

#define EXPECT(dir, methods, input, close_at_end, expected)                                    \
    do {                                                                                       \
        struct result r_ = check_splits((dir), (methods), (input), sizeof(input) - 1,          \
                                        (close_at_end), false);                                \
        ck_assert_msg(r_.ok, "decoder failed: %s", kw_http_error_text(r_.err));                \
        ck_assert_str_eq(r_.log.text, (expected));                                             \
    } while (0)

#define EXPECT_FAIL(dir, input, error, offset)                                                 \
    do {                                                                                       \
        struct result r_ = check_splits((dir), NULL, (input), sizeof(input) - 1, false, false); \
        ck_assert(!r_.ok);                                                                     \
        ck_assert_str_eq(kw_http_error_text(r_.err), kw_http_error_text(error));               \
        ck_assert_uint_eq(r_.err_offset, (offset));                                            \
    } while (0)

/* --- requests --------------------------------------------------------- */

START_TEST(get_with_persistence_headers)
{
    EXPECT(KW_TO_SERVER, NULL,
           "GET /a?b=c HTTP/1.0\r\nHost: example.org\r\nUser-Agent: curl/7.88.1\r\n"
           "Connection: Keep-Alive\r\nKeep-Alive: timeout=5, max=100\r\n\r\n",
           false,
           "begin req\n"
           "text method \"GET\"\n"
           "text uri \"/a?b=c\"\n"
           "text host \"example.org\"\n"
           "text user-agent \"curl/7.88.1\"\n"
           "text connection \"Keep-Alive\"\n"
           "text keep-alive \"timeout=5, max=100\"\n"
           "head req v=10 status=0 method=1 conn=2 pconn=0 ka=5/100 cl=-0 te=0 chunked=0 anom=0 "
           "expect=0 upgrade=0\n"
           "end req framing=0 body=0\n");
}
END_TEST

START_TEST(post_with_content_length)
{
    EXPECT(KW_TO_SERVER, NULL,
           "POST /f HTTP/1.1\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\nhello world",
           false,
           "begin req\n"
           "text method \"POST\"\n"
           "text uri \"/f\"\n"
           "head req v=11 status=0 method=3 conn=0 pconn=0 ka=-1/-1 cl=11 te=0 chunked=0 anom=0 "
           "expect=1 upgrade=0\n"
           "end req framing=1 body=11\n");
}
END_TEST

START_TEST(chunked_request_with_extensions_and_trailers)
{
    EXPECT(KW_TO_SERVER, NULL,
           "PUT /u HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
           "5;name=value\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
           false,
           "begin req\n"
           "text method \"PUT\"\n"
           "text uri \"/u\"\n"
           "head req v=11 status=0 method=4 conn=0 pconn=0 ka=-1/-1 cl=-0 te=1 chunked=1 anom=0 "
           "expect=0 upgrade=0\n"
           "end req framing=2 body=15\n");
}
END_TEST

START_TEST(pipelined_requests_every_pair_of_cuts)
{
    static const char in[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                             "HEAD /2 HTTP/1.1\r\nConnection: close\r\n\r\n"
                             "POST /3 HTTP/1.1\r\nContent-Length: 2\r\n\r\nok";
    struct result r = check_splits(KW_TO_SERVER, NULL, in, sizeof(in) - 1, false, true);
    ck_assert(r.ok);
    ck_assert_str_eq(r.log.text,
                     "begin req\ntext method \"GET\"\ntext uri \"/1\"\ntext host \"a\"\n"
                     "head req v=11 status=0 method=1 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend req framing=0 body=0\n"
                     "begin req\ntext method \"HEAD\"\ntext uri \"/2\"\ntext connection \"close\"\n"
                     "head req v=11 status=0 method=2 conn=1 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend req framing=0 body=0\n"
                     "begin req\ntext method \"POST\"\ntext uri \"/3\"\n"
                     "head req v=11 status=0 method=3 conn=0 pconn=0 ka=-1/-1 cl=2 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend req framing=1 body=2\n");
}
END_TEST

START_TEST(connection_tokens_lists_and_folding)
{
    EXPECT(KW_TO_SERVER, NULL,
           "GET / HTTP/1.1\r\nconnection: foo, UPGRADE\r\nConnection:\r\n"
           "Connection: close\r\n  , keep-alive\r\nProxy-Connection: keep-alive\r\n"
           "Upgrade: websocket\r\n\r\n",
           false,
           "begin req\ntext method \"GET\"\ntext uri \"/\"\n"
           "text connection \"foo, UPGRADE\"\n"
           "text connection \"\"\n"
           "text connection \"close , keep-alive\"\n"
           "text proxy-connection \"keep-alive\"\n"
           "text upgrade \"websocket\"\n"
           "head req v=11 status=0 method=1 conn=f pconn=2 ka=-1/-1 cl=-0 te=0 chunked=0 anom=0 "
           "expect=0 upgrade=1 manom=20\nend req framing=0 body=0\n");
}
END_TEST

START_TEST(bare_lf_and_leading_empty_lines)
{
    EXPECT(KW_TO_SERVER, NULL, "\r\n\nGET / HTTP/1.1\nHost: h\n\n", false,
           "begin req\ntext method \"GET\"\ntext uri \"/\"\ntext host \"h\"\n"
           "head req v=11 status=0 method=1 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 chunked=0 anom=0 "
           "expect=0 upgrade=0 manom=8\nend req framing=0 body=0\n");
    /* one bare LF is enough to say so: at the request line, a header, the end */
    static const char *const one_bare[] = { "GET / HTTP/1.1\nHost: h\r\n\r\n",
                                            "GET / HTTP/1.1\r\nHost: h\n\r\n",
                                            "GET / HTTP/1.1\r\nHost: h\r\n\n" };
    for (size_t i = 0; i < 3; i++) {
        struct result r = check_splits(KW_TO_SERVER, NULL, one_bare[i], strlen(one_bare[i]),
                                       false, true);
        ck_assert_msg(r.ok && strstr(r.log.text, "upgrade=0 manom=8\n"), "%s", r.log.text);
    }
}
END_TEST

/* --- the request target (RFC 7230 3.1.1) ------------------------------ */

/* The log of "GET <target> HTTP/1.1\r\nHost: h\r\n\r\n", with the target
 * as the log writes it. */
static void expect_target(const char *target, size_t target_len, const char *logged, bool pairs)
{
    char in[128], expected[512];
    size_t n = 0;
    memcpy(in, "GET ", 4);
    n += 4;
    memcpy(in + n, target, target_len);
    n += target_len;
    static const char rest[] = " HTTP/1.1\r\nHost: h\r\n\r\n";
    memcpy(in + n, rest, sizeof(rest) - 1);
    n += sizeof(rest) - 1;
    snprintf(expected, sizeof(expected),
             "begin req\ntext method \"GET\"\ntext uri \"%s\"\ntext host \"h\"\n"
             "head req v=11 status=0 method=1 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 chunked=0 "
             "anom=0 expect=0 upgrade=0\nend req framing=0 body=0\n",
             logged);
    struct result r = check_splits(KW_TO_SERVER, NULL, in, n, false, pairs);
    ck_assert_msg(r.ok, "target %s: %s", logged, kw_http_error_text(r.err));
    ck_assert_str_eq(r.log.text, expected);
}

#define EXPECT_TARGET(target, logged, pairs) \
    expect_target((target), sizeof(target) - 1, (logged), (pairs))

START_TEST(request_target_runs_to_the_first_space)
{
    /* Bytes a scanner or a broken client puts in a target: kept, delivered as
     * they came (the output edge escapes them), whatever TCP cut them. */
    EXPECT_TARGET("/a\\b", "/a\\\\b", false);                /* backslash */
    EXPECT_TARGET("/say?\"hi\"", "/say?\"hi\"", false);       /* double quotes */
    EXPECT_TARGET("/\x1b[31mred", "/\\x1b[31mred", false);     /* ESC */
    EXPECT_TARGET("/del\x7f", "/del\\x7f", false);             /* DEL */
    EXPECT_TARGET("/caf\xff", "/caf\\xff", false);             /* not UTF-8 */
    EXPECT_TARGET("/\\\"\x1b\x7f\xff", "/\\\\\"\\x1b\\x7f\\xff", true); /* all: every pair of cuts */
}
END_TEST

START_TEST(request_target_takes_every_byte_but_sp_cr_lf)
{
    for (unsigned b = 0; b < 256; b++) {
        char target[3] = { '/', 'x', (char)b }, logged[16];
        if (b == ' ' || b == '\r' || b == '\n')
            continue;
        if (b == '\\')
            snprintf(logged, sizeof(logged), "/x\\\\");
        else if (b < 0x20 || b >= 0x7f)
            snprintf(logged, sizeof(logged), "/x\\x%02x", b);
        else
            snprintf(logged, sizeof(logged), "/x%c", (char)b);
        expect_target(target, 3, logged, false);
    }
    /* CR ends the line: "GET /x" is an HTTP/0.9 request, whose CR must be
     * followed by LF; the target read so far is delivered first. No target at
     * all is an invalid one. */
    static const char cr_in_target[] = "GET /x\ry HTTP/1.1\r\n\r\n";
    struct result r = check_splits(KW_TO_SERVER, NULL, cr_in_target, sizeof(cr_in_target) - 1,
                                   false, false);
    ck_assert_int_eq(r.err, KW_HTTP_E_BAD_URI);
    ck_assert_uint_eq(r.err_offset, 7);
    ck_assert_str_eq(r.log.text, "begin req\ntext method \"GET\"\ntext uri \"/x\"\n");
    EXPECT_FAIL(KW_TO_SERVER, "GET \r\n", KW_HTTP_E_BAD_URI, 4);
    EXPECT_FAIL(KW_TO_SERVER, "GET   \r\n", KW_HTTP_E_BAD_URI, 6);
}
END_TEST

/* --- HTTP as clients and servers speak it --------------------------------- */

/* The log of one request with no header, every pair of cuts. */
static void expect_request_line(const char *in, const char *method, const char *uri,
                                unsigned version, unsigned manom)
{
    char expected[512];
    int n = snprintf(expected, sizeof(expected),
                     "begin req\ntext method \"%s\"\ntext uri \"%s\"\n"
                     "head req v=%u status=0 method=%d conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0",
                     method, uri, version, !strcasecmp(method, "GET") ? KW_METHOD_GET : 0);
    if (manom)
        n += snprintf(expected + n, sizeof(expected) - (size_t)n, " manom=%x", manom);
    snprintf(expected + n, sizeof(expected) - (size_t)n, "\nend req framing=0 body=0\n");
    struct result r = check_splits(KW_TO_SERVER, NULL, in, strlen(in), false, true);
    ck_assert_msg(r.ok, "%s: %s", in, kw_http_error_text(r.err));
    ck_assert_str_eq(r.log.text, expected);
}

START_TEST(request_lines_as_sent)
{
    /* HTTP/0.9: no version, the request ends with its line (RFC 1945 4.1) */
    expect_request_line("GET /x\r\n", "GET", "/x", 9, KW_MSG_NO_VERSION);
    expect_request_line("GET /x\n", "GET", "/x", 9, KW_MSG_NO_VERSION | KW_MSG_BARE_LF);
    expect_request_line("GET /a b\r\n", "GET", "/a b", 9,
                        KW_MSG_NO_VERSION | KW_MSG_SPACE_IN_TARGET);
    /* SPs in the target: it runs to the last " HTTP/1.x" before the line's end */
    expect_request_line("GET /a b HTTP/1.1\r\n\r\n", "GET", "/a b", 11, KW_MSG_SPACE_IN_TARGET);
    expect_request_line("GET /a HTTP/1.1 b HTTP/1.0\r\n\r\n", "GET", "/a HTTP/1.1 b", 10,
                        KW_MSG_SPACE_IN_TARGET);
    expect_request_line("GET /a HTTP/1.1 HTTP/1.1\r\n\r\n", "GET", "/a HTTP/1.1", 11,
                        KW_MSG_SPACE_IN_TARGET);
    expect_request_line("GET /a  HTTP/1.1  HTTP/1.1\r\n\r\n", "GET", "/a  HTTP/1.1 ", 11,
                        KW_MSG_SPACE_IN_TARGET);
    expect_request_line("GET /a HTTP/1.\r\n", "GET", "/a HTTP/1.", 9,
                        KW_MSG_NO_VERSION | KW_MSG_SPACE_IN_TARGET);
    expect_request_line("GET /a HTTP/1.1x\r\n", "GET", "/a HTTP/1.1x", 9,
                        KW_MSG_NO_VERSION | KW_MSG_SPACE_IN_TARGET);
    expect_request_line("GET /a \r\n", "GET", "/a ", 9,
                        KW_MSG_NO_VERSION | KW_MSG_SPACE_IN_TARGET);
    /* more SPs than one around the target, a bare LF after the version */
    expect_request_line("GET   /a HTTP/1.1\r\n\r\n", "GET", "/a", 11, KW_MSG_EXTRA_SPACE);
    expect_request_line("GET /a HTTP/1.1   \r\n\r\n", "GET", "/a", 11, KW_MSG_EXTRA_SPACE);
    expect_request_line("GET /a HTTP/1.1\n\n", "GET", "/a", 11, KW_MSG_BARE_LF);
    /* any token is a method */
    expect_request_line("M-SEARCH * HTTP/1.1\r\n\r\n", "M-SEARCH", "*", 11, 0);
    expect_request_line("get /lower HTTP/1.0\r\n\r\n", "get", "/lower", 10, 0);
    /* but HTTP/0.9 had GET alone: other protocols' lines are no requests */
    EXPECT_FAIL(KW_TO_SERVER, "EHLO mail.example.org\r\n", KW_HTTP_E_NOT_REQUEST_LINE, 0);
    EXPECT_FAIL(KW_TO_SERVER, "GET /a HTTP/1.1\r\n\r\nUSER anonymous\r\n",
                KW_HTTP_E_NOT_REQUEST_LINE, 19);
}
END_TEST

START_TEST(http09_requests_pipelined)
{
    /* an HTTP/0.9 request and the ones after it, each whole, every pair of cuts */
    static const char in[] = "GET /a\r\nGET /b c\nGET /d HTTP/1.1\r\nHost: h\r\n\r\n";
    struct result r = check_splits(KW_TO_SERVER, NULL, in, sizeof(in) - 1, false, true);
    ck_assert(r.ok);
    ck_assert_str_eq(r.log.text,
                     "begin req\ntext method \"GET\"\ntext uri \"/a\"\n"
                     "head req v=9 status=0 method=1 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0 manom=1\nend req framing=0 body=0\n"
                     "begin req\ntext method \"GET\"\ntext uri \"/b c\"\n"
                     "head req v=9 status=0 method=1 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0 manom=b\nend req framing=0 body=0\n"
                     "begin req\ntext method \"GET\"\ntext uri \"/d\"\ntext host \"h\"\n"
                     "head req v=11 status=0 method=1 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend req framing=0 body=0\n");
}
END_TEST

START_TEST(junk_before_status_line)
{
    /* lines that are no status line are skipped, counted and recorded, before
     * the first response and between two (a body longer than its
     * Content-Length said), whatever the cuts */
    static const char in[] = "junk\r\n\r\nmore junk\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                             "XYZ\r\nHTTP/1.0 204 No Content\r\n\r\n";
    struct result r = check_splits(KW_TO_CLIENT, NULL, in, sizeof(in) - 1, false, true);
    ck_assert_msg(r.ok, "%s", kw_http_error_text(r.err));
    ck_assert_str_eq(r.log.text,
                     "begin resp\ntext reason \"OK\"\n"
                     "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=2 "
                     "te=0 chunked=0 anom=0 expect=0 upgrade=0 manom=10\n"
                     "end resp framing=1 body=2\n"
                     "begin resp\ntext reason \"No Content\"\n"
                     "head resp v=10 status=204 method=0 conn=0 pconn=0 ka=-1/-1 "
                     "cl=-0 te=0 chunked=0 anom=0 expect=0 upgrade=0 manom=10\n"
                     "end resp framing=0 body=0\n");
    ck_assert_uint_eq(r.skipped, 18 + 5);
    /* "HTTP/" begins a status line: after it, a bad one is no junk */
    EXPECT_FAIL(KW_TO_CLIENT, "junk\r\nHTTP/1.1 2x0 OK\r\n\r\n", KW_HTTP_E_BAD_STATUS, 16);
    /* junk is skipped up to the size cap, then the stream is not HTTP */
    static const char over_in[] = "0123456789\r\n0123456789\r\nHTTP/1.1 200 OK\r\n\r\n";
    static const char fits_in[] = "0123456789\r\n0123456\r\nHTTP/1.1 200 OK\r\n\r\n";
    g_head_max = 21;
    struct result over = check_splits(KW_TO_CLIENT, NULL, over_in, sizeof(over_in) - 1, false,
                                      true);
    struct result fits = check_splits(KW_TO_CLIENT, NULL, fits_in, sizeof(fits_in) - 1, false,
                                      true);
    g_head_max = 0;
    ck_assert(!over.ok && over.err == KW_HTTP_E_NO_STATUS_LINE && over.err_offset == 21);
    ck_assert_msg(fits.ok && strstr(fits.log.text, "status=200"), "%s", fits.log.text);
    ck_assert_uint_eq(fits.skipped, 21); /* junk of exactly the cap passes */
}
END_TEST

START_TEST(http09_response)
{
    /* A response to an HTTP/0.9 request has no status line: its bytes are the
     * body, up to the close (RFC 1945 6), even those that began like "HTTP/" */
    static const char *const bodies[] = { "<html>hi</html>\n", "HTTX and more" };
    for (size_t i = 0; i < 2; i++) {
        struct result r = check_splits(KW_TO_CLIENT, "9", bodies[i], strlen(bodies[i]), true,
                                       true);
        char expected[512];
        snprintf(expected, sizeof(expected),
                 "begin resp\nhead resp v=9 status=0 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                 "chunked=0 anom=0 expect=0 upgrade=0 manom=80 nostatus\n"
                 "end resp framing=3 body=%zu\n", strlen(bodies[i]));
        ck_assert(r.ok && !r.cut);
        ck_assert_str_eq(r.log.text, expected);
    }
    /* one that does start with a status line is read as one */
    EXPECT(KW_TO_CLIENT, "9", "HTTP/1.0 400 Bad Request\r\n\r\n", true,
           "begin resp\ntext reason \"Bad Request\"\n"
           "head resp v=10 status=400 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
           "chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=3 body=0\n");
}
END_TEST

START_TEST(status_lines_as_sent)
{
    /* 000 is a status read, not "no status": kept as 0, and flagged */
    EXPECT(KW_TO_CLIENT, NULL, "HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n", false,
           "begin resp\ntext reason \"Zero\"\n"
           "head resp v=11 status=0 method=0 conn=0 pconn=0 ka=-1/-1 cl=0 te=0 "
           "chunked=0 anom=0 expect=0 upgrade=0 manom=40\nend resp framing=1 body=0\n");
    EXPECT(KW_TO_CLIENT, NULL, "HTTP/1.1 600 X\r\nContent-Length: 0\r\n\r\n", false,
           "begin resp\ntext reason \"X\"\n"
           "head resp v=11 status=600 method=0 conn=0 pconn=0 ka=-1/-1 cl=0 te=0 "
           "chunked=0 anom=0 expect=0 upgrade=0 manom=40\nend resp framing=1 body=0\n");
    /* bare LFs: after the reason, after the code, after a CR-less empty reason */
    static const char *const bare[] = { "HTTP/1.1 204 No Content\n\r\n",
                                        "HTTP/1.1 204\n\r\n", "HTTP/1.1 204 \n\r\n" };
    for (size_t i = 0; i < 3; i++) {
        struct result r = check_splits(KW_TO_CLIENT, NULL, bare[i], strlen(bare[i]), false, true);
        ck_assert_msg(r.ok && strstr(r.log.text, "upgrade=0 manom=8\n"), "%s", r.log.text);
    }
    EXPECT(KW_TO_CLIENT, NULL, "HTTP/1.1 204\r\n\r\n", false,
           "begin resp\nhead resp v=11 status=204 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
           "chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=0 body=0\n");
    /* bare LFs in a chunked body are the message's too */
    EXPECT(KW_TO_CLIENT, NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "2\nok\n0\n\n", false,
           "begin resp\ntext reason \"OK\"\n"
           "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=1 "
           "chunked=1 anom=0 expect=0 upgrade=0\nend resp framing=2 body=2 manom=8\n");
}
END_TEST

START_TEST(reason_phrase_as_sent)
{
    /* The reason phrase is delivered as sent (RFC 9112 4: any SP, HTAB,
     * VCHAR, obs-text), up to the CR that ends the line, whatever the cuts:
     * empty after "200 ", none after "200" with no SP. A CR inside it is
     * its own (the log shows \x0d); obs-text goes as it came. */
    static const char in[] = "HTTP/1.1 200 Fine  \r\nContent-Length: 0\r\n\r\n"
                             "HTTP/1.1 204 \r\n\r\n"
                             "HTTP/1.1 204\r\n\r\n"
                             "HTTP/1.1 404 Not\rFound \xc3\xa9\r\nContent-Length: 0\r\n\r\n";
    struct result r = check_splits(KW_TO_CLIENT, NULL, in, sizeof(in) - 1, false, true);
    ck_assert_msg(r.ok, "%s", kw_http_error_text(r.err));
    ck_assert_str_eq(r.log.text,
                     "begin resp\ntext reason \"Fine  \"\n"
                     "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=1 body=0\n"
                     "begin resp\ntext reason \"\"\n"
                     "head resp v=11 status=204 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=0 body=0\n"
                     "begin resp\n"
                     "head resp v=11 status=204 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=0 body=0\n"
                     "begin resp\ntext reason \"Not\\x0dFound \\xc3\\xa9\"\n"
                     "head resp v=11 status=404 method=0 conn=0 pconn=0 ka=-1/-1 cl=0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=1 body=0\n");
    /* a bare LF ends it too; the CR of a CR-less line end is not the phrase's */
    EXPECT(KW_TO_CLIENT, NULL, "HTTP/1.1 204 No\n\r\n", false,
           "begin resp\ntext reason \"No\"\n"
           "head resp v=11 status=204 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
           "chunked=0 anom=0 expect=0 upgrade=0 manom=8\nend resp framing=0 body=0\n");
}
END_TEST

START_TEST(content_type_forwarded_for_and_via)
{
    /* kept as text, each way, folded lines joined by one SP (RFC 7230 3.2.4) */
    EXPECT(KW_TO_SERVER, NULL,
           "POST /f HTTP/1.1\r\nContent-Type: application/json\r\n"
           "X-Forwarded-For: 192.0.2.1, 198.51.100.7\r\nVia: 1.1 edge,\r\n 1.0 core\r\n"
           "Content-Length: 0\r\n\r\n",
           false,
           "begin req\ntext method \"POST\"\ntext uri \"/f\"\n"
           "text content-type \"application/json\"\n"
           "text x-forwarded-for \"192.0.2.1, 198.51.100.7\"\n"
           "text via \"1.1 edge, 1.0 core\"\n"
           "head req v=11 status=0 method=3 conn=0 pconn=0 ka=-1/-1 cl=0 te=0 chunked=0 anom=0 "
           "expect=0 upgrade=0 manom=20\nend req framing=1 body=0\n");
    EXPECT(KW_TO_CLIENT, NULL,
           "HTTP/1.1 200 OK\r\ncontent-type:text/html; charset=utf-8\r\nVia: 1.1 cache\r\n"
           "Content-Length: 0\r\n\r\n",
           false,
           "begin resp\ntext reason \"OK\"\ntext content-type \"text/html; charset=utf-8\"\n"
           "text via \"1.1 cache\"\n"
           "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=0 te=0 chunked=0 "
           "anom=0 expect=0 upgrade=0\nend resp framing=1 body=0\n");
}
END_TEST

/* --- header values read as RFC 7230 reads them -------------------------- */

START_TEST(quoted_chunked_is_not_chunked)
{
    /* "chunked" in quotes is a quoted-string, not the chunked coding (RFC 7230
     * 3.3.1, 4): a response is read to the close, a request is not HTTP */
    EXPECT(KW_TO_CLIENT, NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: \"chunked\"\r\n\r\n5\r\nhello",
           true,
           "begin resp\ntext reason \"OK\"\n"
           "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=1 "
           "chunked=0 anom=10 expect=0 upgrade=0\nend resp framing=3 body=8\n");
    EXPECT(KW_TO_CLIENT, NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, \"gzip\"\r\n\r\nxy",
           true,
           "begin resp\ntext reason \"OK\"\n"
           "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=1 "
           "chunked=0 anom=10 expect=0 upgrade=0\nend resp framing=3 body=2\n");
    EXPECT(KW_TO_CLIENT, NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: \"gzip\", chunked\r\n\r\n"
                               "0\r\n\r\n", false,
           "begin resp\ntext reason \"OK\"\n"
           "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=1 "
           "chunked=1 anom=0 expect=0 upgrade=0\nend resp framing=2 body=0\n");
    EXPECT_FAIL(KW_TO_SERVER, "POST / HTTP/1.1\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
                KW_HTTP_E_BAD_TRANSFER_ENCODING, 49);
    /* nor is a quoted "close" the close option */
    EXPECT(KW_TO_CLIENT, "H", "HTTP/1.1 200 OK\r\nConnection: \"close\"\r\n\r\n", false,
           "begin resp\ntext reason \"OK\"\n"
           "text connection \"\"close\"\"\nhead resp v=11 status=200 method=0 "
           "conn=8 pconn=0 ka=-1/-1 cl=-0 te=0 chunked=0 anom=0 expect=0 upgrade=0\n"
           "end resp framing=0 body=0\n");
}
END_TEST

START_TEST(folded_content_length_is_one_value)
{
    /* obs-fold makes one value with a SP (RFC 7230 3.2.4): "42" folded after
     * an empty first line is 42, trailing folded whitespace changes nothing,
     * and "4" folded with "2" is "4 2", invalid, not two differing values */
    static const struct {
        const char *in;
        const char *head;
    } cases[] = {
        { "HTTP/1.1 200 OK\r\nContent-Length:\r\n 2\r\n\r\nok", "cl=2 te=0 chunked=0 anom=0" },
        { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n \t\r\n\r\nok", "cl=2 te=0 chunked=0 anom=0" },
        { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n 1\r\n\r\nok", "cl=0 te=0 chunked=0 anom=4" },
    };
    for (size_t i = 0; i < 3; i++) {
        struct result r = check_splits(KW_TO_CLIENT, NULL, cases[i].in, strlen(cases[i].in), true,
                                       true);
        ck_assert(r.ok);
        ck_assert_msg(strstr(r.log.text, cases[i].head) && strstr(r.log.text, "manom=20"),
                      "case %zu: %s", i, r.log.text);
    }
    EXPECT(KW_TO_SERVER, NULL, "POST / HTTP/1.1\r\nContent-Length:\r\n\t3\r\nHost: h\r\n\r\nabc",
           false,
           "begin req\ntext method \"POST\"\ntext uri \"/\"\ntext host \"h\"\n"
           "head req v=11 status=0 method=3 conn=0 pconn=0 ka=-1/-1 cl=3 te=0 chunked=0 anom=0 "
           "expect=0 upgrade=0 manom=20\nend req framing=1 body=3\n");
}
END_TEST

/* --- a stream picked up after it began ----------------------------------- */

static struct result check_seek(enum kw_dir dir, const char *in, bool close_at_end)
{
    g_seek = true;
    struct result r = check_splits(dir, NULL, in, strlen(in), close_at_end, true);
    g_seek = false;
    return r;
}

START_TEST(seek_picks_up_at_a_boundary)
{
    /* requests: a line with an upper-case method, SP, a target and a version;
     * a line that only begins like one is withdrawn */
    struct result r = check_seek(KW_TO_SERVER, "ody: x\r\nTEXT line\r\nPOST to A\nGET /a HTTP/1.1\r\n"
                                               "Host: h\r\n\r\n", false);
    ck_assert(r.ok);
    ck_assert_str_eq(r.log.text,
                     "begin req\ntext method \"TEXT\"\ntext uri \"line\"\ndiscard req\n"
                     "begin req\ntext method \"POST\"\ntext uri \"to A\"\ndiscard req\n"
                     "begin req\ntext method \"GET\"\ntext uri \"/a\"\ntext host \"h\"\n"
                     "head req v=11 status=0 method=1 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend req framing=0 body=0\n");
    ck_assert_uint_eq(r.skipped, 29);
    /* responses: "HTTP/1.x " and three digits at a line start */
    r = check_seek(KW_TO_CLIENT, "e body\nHTTP/1.1 20x\r\nXHTTP/1.1 200\nHTTP/1.1 200 OK\r\n"
                                 "Content-Length: 2\r\n\r\nok", false);
    ck_assert(r.ok);
    ck_assert_str_eq(r.log.text,
                     "begin resp\ntext reason \"OK\"\n"
                     "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=2 "
                     "te=0 chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=1 body=2\n");
    ck_assert_uint_eq(r.skipped, 35);
    /* a stream picked up right at a message: nothing skipped */
    r = check_seek(KW_TO_SERVER, "GET / HTTP/1.0\r\n\r\n", false);
    ck_assert(r.ok && r.skipped == 0 && strstr(r.log.text, "end req"));
    /* nothing that looks like a message: all skipped, and a close withdraws
     * a request line not finished */
    r = check_seek(KW_TO_SERVER, "\x89PNG\r\n\x1a\nGET /x HTTP/1", true);
    ck_assert(r.ok && !r.cut && r.skipped == 21);
    ck_assert_str_eq(r.log.text, "begin req\ntext method \"GET\"\ntext uri \"/x\"\ndiscard req\n");
}
END_TEST

/* --- holes in the capture ------------------------------------------------ */

static struct result check_gap(enum kw_dir dir, const char *in, size_t gap_at, size_t gap_len,
                               bool close_at_end)
{
    g_gap_at = gap_at;
    g_gap_len = gap_len;
    struct result r = check_splits(dir, NULL, in, strlen(in), close_at_end, true);
    g_gap_at = g_gap_len = 0;
    return r;
}

#define RESP_200_CL10 "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" /* 39 bytes */
#define HEAD_200_CL10 "begin resp\ntext reason \"OK\"\n"                                  \
                      "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 " \
                      "cl=10 te=0 chunked=0 anom=0 expect=0 upgrade=0\n"
#define HEAD_204 "begin resp\ntext reason \"No Content\"\n"                               \
                 "head resp v=11 status=204 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 " \
                 "te=0 chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=0 body=0\n"

START_TEST(hole_in_a_body_of_known_length)
{
    static const char in[] = RESP_200_CL10 "0123456789HTTP/1.1 204 No Content\r\n\r\n";
    /* inside the body: skipped, in step */
    struct result r = check_gap(KW_TO_CLIENT, in, 39 + 3, 5, false);
    ck_assert(r.ok && r.skipped == 0);
    ck_assert_str_eq(r.log.text, HEAD_200_CL10 "gap in-step\nend resp framing=1 body=10\n" HEAD_204);
    /* to the body's end exactly: it ended in the hole, the next one follows */
    r = check_gap(KW_TO_CLIENT, in, 39 + 5, 5, false);
    ck_assert_str_eq(r.log.text,
                     HEAD_200_CL10 "end resp framing=1 body=10 how=in-hole\ngap in-step\n" HEAD_204);
    /* past it: the next message began in the hole, the decoder seeks */
    static const char more[] = RESP_200_CL10 "0123456789HTTP/1.1 204 No Content\r\n\r\n"
                               "HTTP/1.1 204 No Content\r\n\r\n";
    r = check_gap(KW_TO_CLIENT, more, 39 + 7, 8, false);
    ck_assert_str_eq(r.log.text, HEAD_200_CL10
                     "end resp framing=1 body=10 how=in-hole\ngap message-in-hole\n" HEAD_204);
    ck_assert_uint_eq(r.skipped, 22); /* "1.1 204 No Content" CRLF CRLF */
    /* a body to the close: skipped, however long */
    r = check_gap(KW_TO_CLIENT, "HTTP/1.0 200 OK\r\n\r\n0123456789", 19 + 2, 4, true);
    ck_assert_str_eq(r.log.text,
                     "begin resp\ntext reason \"OK\"\nhead resp v=10 status=200 method=0 conn=0 "
                     "pconn=0 ka=-1/-1 cl=-0 te=0 chunked=0 anom=0 expect=0 upgrade=0\n"
                     "gap in-step\n"
                     "end resp framing=3 body=10\n");
}
END_TEST

START_TEST(hole_in_chunks)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "a\r\n0123456789\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    static const char head[] = "begin resp\ntext reason \"OK\"\nhead resp v=11 status=200 "
                               "method=0 conn=0 pconn=0 "
                               "ka=-1/-1 cl=-0 te=1 chunked=1 anom=0 expect=0 upgrade=0\n";
    char expected[1024];
    /* in a chunk's data: in step */
    struct result r = check_gap(KW_TO_CLIENT, in, 47 + 3 + 2, 6, false);
    snprintf(expected, sizeof(expected), "%sgap in-step\nend resp framing=2 body=10\n%s", head,
             HEAD_204);
    ck_assert_str_eq(r.log.text, expected);
    /* to the data's end: the CRLF after it comes next */
    r = check_gap(KW_TO_CLIENT, in, 47 + 3 + 2, 8, false);
    ck_assert_str_eq(r.log.text, expected);
    /* over the framing: the message is cut, the decoder seeks the next */
    r = check_gap(KW_TO_CLIENT, in, 47 + 3 + 8, 6, false);
    snprintf(expected, sizeof(expected), "%send resp framing=2 body=10 how=hole-cut\n"
             "gap resync\n%s", head, HEAD_204);
    ck_assert_str_eq(r.log.text, expected);
    ck_assert_uint_eq(r.skipped, 3); /* LF CRLF */
}
END_TEST

START_TEST(hole_in_a_head_or_between)
{
    /* in a status line: cut before its head, then the next response */
    static const char two[] = RESP_200_CL10 "012345678\nHTTP/1.1 204 No Content\r\n\r\n";
    struct result r = check_gap(KW_TO_CLIENT, two, 5, 10, false);
    ck_assert_str_eq(r.log.text, "begin resp\nend resp framing=0 body=0 how=hole-cut nohead\n"
                                 "gap resync\n" HEAD_204);
    ck_assert_uint_eq(r.skipped, 34);
    /* between messages: a message began in the hole */
    static const char gap_idle[] = "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
                                   "HTTP/1.1 204 No Content\r\n\r\n";
    r = check_gap(KW_TO_CLIENT, gap_idle, 27, 3, false);
    ck_assert_str_eq(r.log.text, HEAD_204 "gap message-in-hole\n" HEAD_204);
    /* requests: a hole in a request line, in a tentative one after it */
    static const char reqs[] = "GET /first HTTP/1.1\r\n\r\nGET /second HTTP/1.1\r\n\r\n"
                               "GET /third HTTP/1.1\r\n\r\n";
    r = check_gap(KW_TO_SERVER, reqs, 4, 3, false);
    ck_assert_str_eq(r.log.text,
                     "begin req\ntext method \"GET\"\nend req framing=0 body=0 how=hole-cut nohead\n"
                     "gap resync\nbegin req\ntext method \"GET\"\ntext uri \"/second\"\n"
                     "head req v=11 status=0 method=1 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend req framing=0 body=0\n"
                     "begin req\ntext method \"GET\"\ntext uri \"/third\"\n"
                     "head req v=11 status=0 method=1 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
                     "chunked=0 anom=0 expect=0 upgrade=0\nend req framing=0 body=0\n");
    r = check_gap(KW_TO_SERVER, reqs, 23, 3, false);
    ck_assert_msg(strstr(r.log.text, "end req framing=0 body=0\ngap message-in-hole\nbegin req\n"
                                     "text method \"GET\"\ntext uri \"/third\""), "%s", r.log.text);
    ck_assert_uint_eq(r.skipped, 21); /* " /second HTTP/1.1" CRLF CRLF */
    g_seek = true;
    r = check_gap(KW_TO_SERVER, reqs, 5, 3, false);
    g_seek = false;
    ck_assert_msg(!strncmp(r.log.text, "begin req\ntext method \"GET\"\ntext uri \"/\"\n"
                                       "discard req\ngap resync\nbegin req\ntext method \"GET\"\n"
                                       "text uri \"/second\"", 107), "%s", r.log.text);
    ck_assert_uint_eq(r.skipped, 5 + 15);
}
END_TEST

/* --- framing anomalies (RFC 7230 3.3.3) ------------------------------ */

START_TEST(content_length_and_transfer_encoding)
{
    /* chunked wins; the anomaly is recorded */
    EXPECT(KW_TO_SERVER, NULL,
           "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
           "1\r\nx\r\n0\r\n\r\n",
           false,
           "begin req\ntext method \"POST\"\ntext uri \"/\"\n"
           "head req v=11 status=0 method=3 conn=0 pconn=0 ka=-1/-1 cl=3 te=1 chunked=1 anom=1 "
           "expect=0 upgrade=0\nend req framing=2 body=1\n");
}
END_TEST

START_TEST(differing_content_lengths)
{
    EXPECT(KW_TO_CLIENT, NULL,
           "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 6\r\n\r\nbody...", true,
           "begin resp\ntext reason \"OK\"\n"
           "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=5 te=0 chunked=0 anom=2 "
           "expect=0 upgrade=0\nend resp framing=3 body=7\n");
    EXPECT_FAIL(KW_TO_SERVER, "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                KW_HTTP_E_BAD_CONTENT_LENGTH, 57);
}
END_TEST

START_TEST(invalid_content_lengths)
{
    static const char *const bad[] = { "abc", "-1", "1 2", "", "99999999999999999999999", "0x10",
                                       "5,", "+5" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char in[256];
        int n = snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\nxy", bad[i]);
        struct result r = check_splits(KW_TO_CLIENT, NULL, in, (size_t)n, true, false);
        ck_assert_msg(r.ok, "%s", bad[i]);
        ck_assert_msg(strstr(r.log.text, "anom=4"), "Content-Length '%s': %s", bad[i], r.log.text);
        ck_assert_msg(strstr(r.log.text, "end resp framing=3 body=2"), "%s: %s", bad[i],
                      r.log.text);
    }
    EXPECT_FAIL(KW_TO_SERVER, "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
                KW_HTTP_E_BAD_CONTENT_LENGTH, 38);
}
END_TEST

START_TEST(chunked_on_http10)
{
    EXPECT(KW_TO_CLIENT, NULL,
           "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false,
           "begin resp\ntext reason \"OK\"\n"
           "head resp v=10 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=1 chunked=1 anom=8 "
           "expect=0 upgrade=0\nend resp framing=2 body=2\n");
}
END_TEST

/* --- responses -------------------------------------------------------- */

START_TEST(responses_without_body)
{
    /* 204 and 304 never have a body; a response to HEAD neither, whatever it says */
    static const char in[] = "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
                             "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
                             "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nServer: s\r\n\r\n"
                             "HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx";
    struct result r = check_splits(KW_TO_CLIENT, "GGHG", in, sizeof(in) - 1, false, false);
    ck_assert(r.ok);
    ck_assert_str_eq(r.log.text,
                     "begin resp\ntext reason \"No Content\"\n"
                     "head resp v=11 status=204 method=0 conn=0 pconn=0 ka=-1/-1 "
                     "cl=10 te=0 chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=0 body=0\n"
                     "begin resp\ntext reason \"Not Modified\"\n"
                     "head resp v=11 status=304 method=0 conn=0 pconn=0 ka=-1/-1 "
                     "cl=10 te=0 chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=0 body=0\n"
                     "begin resp\ntext reason \"OK\"\n"
                     "text server \"s\"\nhead resp v=11 status=200 method=0 conn=0 "
                     "pconn=0 ka=-1/-1 cl=10 te=0 chunked=0 anom=0 expect=0 upgrade=0\n"
                     "end resp framing=0 body=0\n"
                     "begin resp\ntext reason \"\"\n"
                     "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 "
                     "cl=1 te=0 chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=1 body=1\n");
}
END_TEST

START_TEST(continue_then_final_response)
{
    EXPECT(KW_TO_CLIENT, NULL,
           "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false,
           "begin resp\ntext reason \"Continue\"\n"
           "head resp v=11 status=100 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
           "chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=0 body=0\n"
           "begin resp\ntext reason \"OK\"\n"
           "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=2 te=0 "
           "chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=1 body=2\n");
}
END_TEST

START_TEST(close_delimited_body_ends_at_close)
{
    struct result r = check_splits(KW_TO_CLIENT, NULL,
                                   "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the close", 47,
                                   true, false);
    ck_assert(r.ok);
    ck_assert(!r.cut);
    ck_assert_str_eq(r.log.text, "begin resp\ntext reason \"OK\"\ntext server \"old\"\n"
                                 "head resp v=10 status=200 method=0 conn=0 pconn=0 ka=-1/-1 "
                                 "cl=-0 te=0 chunked=0 anom=0 expect=0 upgrade=0\n"
                                 "end resp framing=3 body=15\n");
}
END_TEST

START_TEST(message_cut_by_the_close)
{
    /* The framing the head declared and the body bytes seen, said cut short
     * (they read "framing: none" and 0 bytes before): Content-Length and
     * chunked, responses and requests, and a head cut before its end. */
    static const struct {
        enum kw_dir dir;
        const char *in, *end;
    } cases[] = {
        { KW_TO_CLIENT, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
          "end resp framing=1 body=5 how=closed\n" },
        { KW_TO_CLIENT, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n8\r\nwor",
          "end resp framing=2 body=8 how=closed\n" },
        { KW_TO_SERVER, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
          "end req framing=1 body=3 how=closed\n" },
        { KW_TO_SERVER, "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n",
          "end req framing=2 body=3 how=closed\n" },
        { KW_TO_CLIENT, "HTTP/1.1 200 OK\r\nContent-Le", "end resp framing=0 body=0 how=closed nohead\n" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct result r = check_splits(cases[i].dir, NULL, cases[i].in, strlen(cases[i].in), true,
                                       true);
        ck_assert(r.ok && r.cut);
        const char *end = strstr(r.log.text, "end ");
        ck_assert_msg(end && !strcmp(end, cases[i].end), "case %zu: %s", i, r.log.text);
    }
}
END_TEST

START_TEST(upgrade_and_connect_tunnel)
{
    EXPECT(KW_TO_CLIENT, NULL,
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
           "\x81\x05hello GET / HTTP/1.1\r\n\r\n",
           false,
           "begin resp\ntext reason \"Switching Protocols\"\n"
           "text upgrade \"websocket\"\ntext connection \"Upgrade\"\n"
           "head resp v=11 status=101 method=0 conn=4 pconn=0 ka=-1/-1 cl=-0 te=0 chunked=0 "
           "anom=0 expect=0 upgrade=1\nend resp framing=0 body=0\n");
    EXPECT(KW_TO_CLIENT, "C", "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01 tls", false,
           "begin resp\ntext reason \"Connection established\"\n"
           "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 cl=-0 te=0 "
           "chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=0 body=0\n");
}
END_TEST

START_TEST(keep_alive_parameters)
{
    EXPECT(KW_TO_CLIENT, "H",
           "HTTP/1.1 200 OK\r\nKeep-Alive: max=\"7\", foo, TIMEOUT = 3, timeout=99999999999999\r\n"
           "\r\n",
           false,
           "begin resp\ntext reason \"OK\"\n"
           "text keep-alive \"max=\"7\", foo, TIMEOUT = 3, timeout=99999999999999\"\n"
           "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=999999999/7 cl=-0 te=0 "
           "chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=0 body=0\n");
}
END_TEST

/* --- where one section hands over to the next ------------------------- */

START_TEST(chunked_body_trailers_then_next_message_every_pair_of_cuts)
{
    /* head -> chunk-size line -> data -> last chunk -> trailers -> the next
     * message's start line -> a Content-Length body -> a message with none */
    static const char in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
                             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                             "HTTP/1.0 304 Not Modified\r\n\r\n";
    struct result r = check_splits(KW_TO_CLIENT, NULL, in, sizeof(in) - 1, false, true);
    ck_assert(r.ok);
    ck_assert_str_eq(r.log.text,
                     "begin resp\ntext reason \"OK\"\n"
                     "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 "
                     "cl=-0 te=1 chunked=1 anom=0 expect=0 upgrade=0\nend resp framing=2 body=3\n"
                     "begin resp\ntext reason \"OK\"\n"
                     "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 "
                     "cl=2 te=0 chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=1 body=2\n"
                     "begin resp\ntext reason \"Not Modified\"\n"
                     "head resp v=10 status=304 method=0 conn=0 pconn=0 ka=-1/-1 "
                     "cl=-0 te=0 chunked=0 anom=0 expect=0 upgrade=0\nend resp framing=0 body=0\n");
}
END_TEST

START_TEST(trailers_fall_under_the_cap)
{
    /* The cap counts again from the trailers' first byte: a head of exactly
     * the cap passes, trailers of exactly the cap pass, one byte more fails
     * at the cap's byte, whatever the cuts. */
    static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    static const char chunks[] = "1\r\nx\r\n0\r\n";
    static const char fits[] = "X-Checksum: 0123456789abcdef0123456789abcde\r\n\r\n";
    static const char over[] = "X-Checksum: 0123456789abcdef0123456789abcdef\r\n\r\n";
    ck_assert_uint_eq(sizeof(head), sizeof(fits));
    char in[256];
    g_head_max = sizeof(head) - 1;
    int n = snprintf(in, sizeof(in), "%s%s%s%s", head, chunks, fits, head);
    struct result r = check_splits(KW_TO_CLIENT, NULL, in, (size_t)n, false, true);
    ck_assert_msg(r.ok, "%s", kw_http_error_text(r.err));
    ck_assert_str_eq(r.log.text,
                     "begin resp\ntext reason \"OK\"\n"
                     "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 "
                     "cl=-0 te=1 chunked=1 anom=0 expect=0 upgrade=0\nend resp framing=2 body=1\n"
                     "begin resp\ntext reason \"OK\"\n"
                     "head resp v=11 status=200 method=0 conn=0 pconn=0 ka=-1/-1 "
                     "cl=-0 te=1 chunked=1 anom=0 expect=0 upgrade=0\n");
    n = snprintf(in, sizeof(in), "%s%s%s", head, chunks, over);
    r = check_splits(KW_TO_CLIENT, NULL, in, (size_t)n, false, true);
    g_head_max = 0;
    ck_assert(!r.ok);
    ck_assert_int_eq(r.err, KW_HTTP_E_HEAD_TOO_BIG);
    ck_assert_uint_eq(r.err_offset, (sizeof(head) - 1) + (sizeof(chunks) - 1) + (sizeof(head) - 1));
}
END_TEST

START_TEST(start_line_falls_under_the_cap)
{
    /* The cap inside the method, inside the target, just after the request
     * line, inside a reason phrase: the text read up to it is delivered, the
     * error is at the cap, whatever the cuts. */
    static const struct {
        enum kw_dir dir;
        uint32_t cap;
        const char *in, *log;
    } cases[] = {
        { KW_TO_SERVER, 2, "GET /abcdef HTTP/1.1\r\nHost: h\r\n\r\n",
          "begin req\ntext method \"GE\"\n" },
        { KW_TO_SERVER, 7, "GET /abcdef HTTP/1.1\r\nHost: h\r\n\r\n",
          "begin req\ntext method \"GET\"\ntext uri \"/ab\"\n" },
        { KW_TO_SERVER, 22, "GET /abcdef HTTP/1.1\r\nHost: h\r\n\r\n",
          "begin req\ntext method \"GET\"\ntext uri \"/abcdef\"\n" },
        { KW_TO_CLIENT, 14, "HTTP/1.1 200 OK\r\n\r\n", "begin resp\ntext reason \"O\"\n" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        g_head_max = cases[i].cap;
        struct result r = check_splits(cases[i].dir, NULL, cases[i].in, strlen(cases[i].in),
                                       false, true);
        g_head_max = 0;
        ck_assert_msg(!r.ok && r.err == KW_HTTP_E_HEAD_TOO_BIG, "case %zu", i);
        ck_assert_uint_eq(r.err_offset, cases[i].cap);
        ck_assert_str_eq(r.log.text, cases[i].log);
    }
}
END_TEST

START_TEST(empty_lines_between_messages)
{
    /* Up to eight empty lines before a message are tolerated (RFC 7230 3.5);
     * bare CRs are skipped and not counted; the ninth LF is not HTTP. */
    static const char eight[] = "GET /1 HTTP/1.1\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\n"
                                "\r\r\r\r\r\r\r\r\r\rGET /2 HTTP/1.1\r\n\r\n";
    struct result r = check_splits(KW_TO_SERVER, NULL, eight, sizeof(eight) - 1, false, false);
    ck_assert_msg(r.ok, "%s", kw_http_error_text(r.err));
    ck_assert_ptr_nonnull(strstr(r.log.text, "text uri \"/2\""));
    EXPECT_FAIL(KW_TO_SERVER, "GET /1 HTTP/1.1\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET /2",
                KW_HTTP_E_TOO_MANY_EMPTY_LINES, 19 + 8 * 2 + 1);
}
END_TEST

START_TEST(receiver_stops_the_decoder)
{
    /* From on_begin (the tracker, with too many requests in flight) and from
     * on_end: the rest is ignored, feeding goes on without error, and the
     * decoder says it is no longer decoding, whatever the cuts. */
    static const char in[] = "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n";
    static const char first[] = "begin req\ntext method \"GET\"\ntext uri \"/1\"\n"
                                "head req v=11 status=0 method=1 conn=0 pconn=0 ka=-1/-1 cl=-0 "
                                "te=0 chunked=0 anom=0 expect=0 upgrade=0\n"
                                "end req framing=0 body=0\n";
    char expected[1024];
    g_stop_at_begin = 2;
    struct result r = check_splits(KW_TO_SERVER, NULL, in, sizeof(in) - 1, true, true);
    g_stop_at_begin = 0;
    snprintf(expected, sizeof(expected), "%sbegin req\n", first);
    ck_assert(r.ok && r.tunnel && !r.cut);
    ck_assert_str_eq(r.log.text, expected);
    g_stop_at_end = 1;
    r = check_splits(KW_TO_SERVER, NULL, in, sizeof(in) - 1, true, true);
    g_stop_at_end = 0;
    ck_assert(r.ok && r.tunnel && !r.cut);
    ck_assert_str_eq(r.log.text, first);
}
END_TEST

/* --- not HTTP --------------------------------------------------------- */

START_TEST(not_http_is_named)
{
    /* what the first bytes are instead, never "invalid request method" */
    EXPECT_FAIL(KW_TO_SERVER, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc", KW_HTTP_E_TLS, 0);
    EXPECT_FAIL(KW_TO_SERVER, "\x16\x03\x05\x02\x00", KW_HTTP_E_BINARY, 0);
    EXPECT_FAIL(KW_TO_SERVER, "\x16\x01", KW_HTTP_E_BINARY, 0);
    struct result r = check_splits(KW_TO_SERVER, NULL, "\r\n\x16\x03", 4, true, true);
    ck_assert(r.err == KW_HTTP_E_BINARY && r.err_offset == 2 && !r.cut && !r.log.text[0]);
    EXPECT_FAIL(KW_TO_SERVER, "\x00\x00\x00\x0c\x00\x04", KW_HTTP_E_BINARY, 0);
    EXPECT_FAIL(KW_TO_SERVER, "HEL\x80O", KW_HTTP_E_BINARY, 3);
    EXPECT_FAIL(KW_TO_SERVER, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", KW_HTTP_E_SSH, 0);
    EXPECT_FAIL(KW_TO_SERVER, "SSH-2.0-PuTTY_Release_0.78\r\n", KW_HTTP_E_SSH, 0);
    EXPECT_FAIL(KW_TO_SERVER, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", KW_HTTP_E_HTTP2_PREFACE, 0);
    EXPECT_FAIL(KW_TO_SERVER, "GET / HTTP/2.0\r\n\r\n", KW_HTTP_E_BAD_VERSION, 11);
    EXPECT_FAIL(KW_TO_SERVER, "{\"jsonrpc\":\"2.0\"}\n", KW_HTTP_E_NOT_REQUEST_LINE, 0);
    EXPECT_FAIL(KW_TO_SERVER, "EHLO\r\n", KW_HTTP_E_NOT_REQUEST_LINE, 4);
    EXPECT_FAIL(KW_TO_SERVER, "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", KW_HTTP_E_BAD_HEADER, 19);
    EXPECT_FAIL(KW_TO_CLIENT, "\x16\x03\x03\x00\x5d\x02", KW_HTTP_E_TLS, 0);
    EXPECT_FAIL(KW_TO_CLIENT, "\x00\x00\x12\x04\x00", KW_HTTP_E_BINARY, 0); /* HTTP/2 SETTINGS */
    EXPECT_FAIL(KW_TO_CLIENT, "HTTP/1.1 20 OK\r\n\r\n", KW_HTTP_E_BAD_STATUS, 11);
    EXPECT_FAIL(KW_TO_CLIENT, "HTTP/2 200\r\n\r\n", KW_HTTP_E_BAD_VERSION, 5);
    static const struct {
        enum kw_http_error e;
        const char *text;
    } names[] = {
        { KW_HTTP_E_TLS, "tls" }, { KW_HTTP_E_SSH, "SSH" },
        { KW_HTTP_E_HTTP2_PREFACE, "HTTP/2 preface" }, { KW_HTTP_E_BINARY, "binary data" },
        { KW_HTTP_E_NOT_REQUEST_LINE, "not a request line" },
        { KW_HTTP_E_HEAD_TOO_BIG, "header section over the size cap" }, /* as it was */
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_str_eq(kw_http_error_text(names[i].e), names[i].text);
    EXPECT_FAIL(KW_TO_CLIENT, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                KW_HTTP_E_BAD_CHUNK, 47);
    EXPECT_FAIL(KW_TO_CLIENT,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
                KW_HTTP_E_BAD_CHUNK, 63);
    EXPECT_FAIL(KW_TO_SERVER, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                KW_HTTP_E_BAD_TRANSFER_ENCODING, 44);
}
END_TEST

START_TEST(header_bomb_hits_the_cap)
{
    static struct kw_http_dec d;
    struct log l;
    memset(&l, 0, sizeof(l));
    l.pending_field = -1;
    struct kw_http_sink sink = { &l, on_begin, on_text, on_head, on_end, on_discard };
    kw_http_dec_init(&d, KW_TO_SERVER, 4096, &sink);
    static const char start[] = "GET / HTTP/1.1\r\n";
    ck_assert(kw_http_dec_feed(&d, 1, kw_slice_make(start, sizeof(start) - 1)));
    static const char line[] = "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    bool ok = true;
    for (int i = 0; i < 1000 && ok; i++)
        ok = kw_http_dec_feed(&d, 1, kw_slice_make(line, sizeof(line) - 1));
    ck_assert(!ok);
    ck_assert_int_eq(kw_http_dec_error(&d), KW_HTTP_E_HEAD_TOO_BIG);
    ck_assert_uint_eq(kw_http_dec_error_offset(&d), 4096);
    /* after failing it consumes and ignores everything */
    ck_assert(!kw_http_dec_feed(&d, 1, kw_slice_make(start, sizeof(start) - 1)));
}
END_TEST

START_TEST(header_cap_is_split_invariant)
{
    /* The cap falls inside the Upgrade value: every cut must stop there, with
     * the same pieces delivered and the same error at the same offset. */
    g_head_max = 52;
    static const char in[] = "GET /path HTTP/1.1\r\nHost: example.org\r\nUpgrade: websocket\r\n"
                             "Server: nginx/1.2\r\n\r\n";
    struct result r = check_splits(KW_TO_SERVER, NULL, in, sizeof(in) - 1, false, true);
    g_head_max = 0;
    ck_assert(!r.ok);
    ck_assert_int_eq(r.err, KW_HTTP_E_HEAD_TOO_BIG);
    ck_assert_uint_eq(r.err_offset, 52);
    ck_assert_str_eq(r.log.text, "begin req\ntext method \"GET\"\ntext uri \"/path\"\n"
                                 "text host \"example.org\"\ntext upgrade \"webs\"\n");
    /* a head of exactly the cap passes */
    g_head_max = 41;
    static const char exact[] = "GET /path HTTP/1.1\r\nHost: example.org\r\n\r\n";
    r = check_splits(KW_TO_SERVER, NULL, exact, sizeof(exact) - 1, false, false);
    g_head_max = 0;
    ck_assert_msg(r.ok, "%s", kw_http_error_text(r.err));
}
END_TEST

START_TEST(garbage_never_crashes)
{
    /* Random bytes, and random mutations of a valid exchange: whatever the
     * outcome, no crash, no over-read (guard page), and a named error. */
    static const char valid[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: "
                                "keep-alive\r\nKeep-Alive: timeout=5, max=9\r\n\r\n"
                                "4\r\nabcd\r\n0\r\nT: 1\r\n\r\n";
    uint8_t buf[256];
    unsigned seed = 20261121;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n;
        if (iter % 2) {
            n = (size_t)(rand_r(&seed) % sizeof(buf));
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)rand_r(&seed);
        } else {
            n = sizeof(valid) - 1;
            memcpy(buf, valid, n);
            for (int k = 0; k < 3; k++)
                buf[rand_r(&seed) % n] = (uint8_t)rand_r(&seed);
        }
        const uint8_t *in = flush_to_guard(buf, n);
        size_t cut = n ? (size_t)rand_r(&seed) % n : 0;
        struct result r;
        /* also picked up mid-stream, with a hole, answering HTTP/0.9 */
        g_seek = iter % 8 >= 4;
        if (iter % 3 == 0 && n > 2) {
            g_gap_at = 1 + (size_t)rand_r(&seed) % (n - 2);
            g_gap_len = 1 + (size_t)rand_r(&seed) % (n - g_gap_at - 1);
        }
        run(iter % 4 < 2 ? KW_TO_CLIENT : KW_TO_SERVER, iter % 5 == 0 ? "9" : NULL, in, n, &cut,
            1, true, &r);
        g_seek = false;
        g_gap_at = g_gap_len = 0;
        if (!r.ok)
            ck_assert_int_ne(r.err, KW_HTTP_E_NONE);
    }
}
END_TEST

static Suite *dec_suite(void)
{
    Suite *s = suite_create("http_dec");
    TCase *req = tcase_create("requests");
    tcase_add_test(req, get_with_persistence_headers);
    tcase_add_test(req, post_with_content_length);
    tcase_add_test(req, chunked_request_with_extensions_and_trailers);
    tcase_add_test(req, pipelined_requests_every_pair_of_cuts);
    tcase_add_test(req, connection_tokens_lists_and_folding);
    tcase_add_test(req, bare_lf_and_leading_empty_lines);
    tcase_add_test(req, request_target_runs_to_the_first_space);
    tcase_add_test(req, request_target_takes_every_byte_but_sp_cr_lf);
    tcase_add_test(req, request_lines_as_sent);
    tcase_add_test(req, http09_requests_pipelined);
    tcase_set_timeout(req, 120);
    suite_add_tcase(s, req);
    TCase *spoken = tcase_create("as spoken");
    tcase_add_test(spoken, junk_before_status_line);
    tcase_add_test(spoken, http09_response);
    tcase_add_test(spoken, status_lines_as_sent);
    tcase_add_test(spoken, reason_phrase_as_sent);
    tcase_add_test(spoken, content_type_forwarded_for_and_via);
    tcase_add_test(spoken, quoted_chunked_is_not_chunked);
    tcase_add_test(spoken, folded_content_length_is_one_value);
    tcase_set_timeout(spoken, 120);
    suite_add_tcase(s, spoken);
    TCase *loss = tcase_create("capture loss");
    tcase_add_test(loss, seek_picks_up_at_a_boundary);
    tcase_add_test(loss, hole_in_a_body_of_known_length);
    tcase_add_test(loss, hole_in_chunks);
    tcase_add_test(loss, hole_in_a_head_or_between);
    tcase_set_timeout(loss, 120);
    suite_add_tcase(s, loss);
    TCase *fr = tcase_create("framing");
    tcase_add_test(fr, content_length_and_transfer_encoding);
    tcase_add_test(fr, differing_content_lengths);
    tcase_add_test(fr, invalid_content_lengths);
    tcase_add_test(fr, chunked_on_http10);
    suite_add_tcase(s, fr);
    TCase *resp = tcase_create("responses");
    tcase_add_test(resp, responses_without_body);
    tcase_add_test(resp, continue_then_final_response);
    tcase_add_test(resp, close_delimited_body_ends_at_close);
    tcase_add_test(resp, message_cut_by_the_close);
    tcase_add_test(resp, upgrade_and_connect_tunnel);
    tcase_add_test(resp, keep_alive_parameters);
    suite_add_tcase(s, resp);
    TCase *sec = tcase_create("sections");
    tcase_add_test(sec, chunked_body_trailers_then_next_message_every_pair_of_cuts);
    tcase_add_test(sec, trailers_fall_under_the_cap);
    tcase_add_test(sec, start_line_falls_under_the_cap);
    tcase_add_test(sec, empty_lines_between_messages);
    tcase_add_test(sec, receiver_stops_the_decoder);
    tcase_set_timeout(sec, 120);
    suite_add_tcase(s, sec);
    TCase *bad = tcase_create("hostile");
    tcase_add_test(bad, not_http_is_named);
    tcase_add_test(bad, header_bomb_hits_the_cap);
    tcase_add_test(bad, header_cap_is_split_invariant);
    tcase_add_test(bad, garbage_never_crashes);
    tcase_set_timeout(bad, 120);
    suite_add_tcase(s, bad);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

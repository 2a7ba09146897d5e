/* text.c: a per-connection report a person reads like a curl -v transcript.
 * Lines of a connection are kept until it ends, so its summary can come
 * first: the first KEEP_BYTES of them, then the last TAIL_LINES. */
#include "output/escape.h"
#include "output/out-impl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define KEEP_BYTES (4 * 1024)
#define TAIL_LINES 8
#define SERVER_MAX 64
#define FINDINGS_MAX 8

/* A kept line, and when what it tells happened: lines arrive in the order
 * events are decided (a request that got no answer is reported only when the
 * connection ends) and are printed in the order they happened. */
struct line_ref {
    kw_usec ts;
    uint32_t off, len;
};

struct text_conn {
    struct kw_buf lines;          /* the first lines */
    struct line_ref *refs;        /* where each of them is in `lines` */
    uint32_t n_refs, cap_refs;
    struct kw_buf tail[TAIL_LINES];
    kw_usec tail_ts[TAIL_LINES];
    uint32_t n_tail;              /* lines that went to the tail ring */
    kw_usec last_resp_end;
    uint32_t last_resp_index;
    uint8_t server[SERVER_MAX];   /* first Server header seen */
    uint16_t server_len;
    struct kw_buf findings;       /* always printed, up to FINDINGS_MAX lines */
    uint32_t n_findings;
};

/* Writes `b` (whole lines) and empties it: as they are, or with each line
 * longer than opts.width broken at spaces, the rest indented under it.
 * Escape codes of colours take no column. */
static void text_emit(struct kw_out *o, struct kw_buf *b)
{
    if (!o->opts.width) {
        kw_buf_write(b, o->f);
        return;
    }
    const char *p = b->p, *end = b->p + b->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        unsigned col = 0, indent = 0;
        while (p + indent < line_end && p[indent] == ' ')
            indent++;
        indent += 2;
        const char *start = p, *last_space = NULL;
        for (const char *q = p; q < line_end; q++) {
            if (*q == '\x1b') { /* "ESC [ ... m" */
                while (q < line_end && *q != 'm')
                    q++;
                continue;
            }
            if (*q == ' ')
                last_space = q;
            if (++col > o->opts.width && last_space && last_space > start) {
                fwrite(start, 1, (size_t)(last_space - start), o->f);
                fprintf(o->f, "\n%*s", (int)indent, "");
                start = last_space + 1;
                col = indent + (unsigned)(q - last_space);
                last_space = NULL;
            }
        }
        fwrite(start, 1, (size_t)(line_end - start), o->f);
        if (nl)
            fputc('\n', o->f);
        p = nl ? nl + 1 : end;
    }
    b->len = 0;
}

/* What the text report holds back: findings about a server as a whole, to
 * print under its paragraph. */
struct text_state {
    struct kw_buf held;
    struct kw_endpoint held_server;
    struct kw_buf stream; /* a streamed event, its lines prefixed */
};

static void text_state_release(void *state)
{
    kw_buf_free(&((struct text_state *)state)->held);
    kw_buf_free(&((struct text_state *)state)->stream);
}

/* Streaming: each line of `b` led by the connection's "#id ", written now. */
static void emit_streamed(struct kw_out *o, uint64_t id, struct kw_buf *b)
{
    struct kw_buf *out = &((struct text_state *)o->state)->stream;
    out->len = 0;
    for (size_t i = 0; i < b->len;) {
        const char *nl = memchr(b->p + i, '\n', b->len - i);
        size_t n = nl ? (size_t)(nl - (b->p + i)) + 1 : b->len - i;
        kw_buf_printf(out, "#%" PRIu64 " ", id);
        kw_buf_put(out, b->p + i, n);
        i += n;
    }
    b->len = 0;
    text_emit(o, out);
}

/* Held findings about a server that got no paragraph (never seen): under a
 * heading of their own. */
static void flush_unseen_server(struct kw_out *o)
{
    struct text_state *st = o->state;
    if (!st->held.len)
        return;
    struct kw_buf *b = &o->buf;
    b->len = 0;
    kw_buf_puts(b, "\nserver ");
    out_endpoint(b, &st->held_server);
    kw_buf_puts(b, "  no HTTP exchange seen\n");
    text_emit(o, b);
    text_emit(o, &st->held);
}

/* The held findings about the server whose paragraph was just written. */
static void flush_server(struct kw_out *o, const struct kw_endpoint *server)
{
    struct text_state *st = o->state;
    if (st->held.len && out_endpoint_eq(&st->held_server, server))
        text_emit(o, &st->held);
}

/* "+0.051402": seconds since the connection began. */
static void time_offset_bare(struct kw_buf *b, kw_usec d)
{
    char s[KW_DURATION_LEN];
    kw_buf_put(b, "+", 1);
    kw_buf_put(b, s, kw_time_secs(d, s));
}

static void time_offset(struct kw_buf *b, kw_usec t, kw_usec start)
{
    char s[KW_DURATION_LEN];
    kw_buf_put(b, t >= start ? "   +" : "   ", 4 - (t < start));
    kw_buf_put(b, s, kw_time_secs(t - start, s));
    kw_buf_put(b, "  ", 2);
}

static void duration(struct kw_buf *b, kw_usec d)
{
    char s[KW_DURATION_LEN];
    kw_buf_put(b, s, kw_time_human(d, s));
}

/* Moves the line formatted in `line` into the connection's lines. */
static void keep_line(struct text_conn *tc, struct kw_buf *line, kw_usec ts)
{
    kw_buf_put(line, "\n", 1);
    if (tc->lines.len + line->len <= KEEP_BYTES && !tc->n_tail) {
        if (tc->n_refs == tc->cap_refs) {
            uint32_t cap = tc->cap_refs ? tc->cap_refs * 2 : 8;
            struct line_ref *r = realloc(tc->refs, cap * sizeof(*r));
            if (!r) {
                fputs("keepwatch: out of memory\n", stderr);
                exit(2);
            }
            tc->refs = r;
            tc->cap_refs = cap;
        }
        tc->refs[tc->n_refs++] = (struct line_ref){ ts, (uint32_t)tc->lines.len,
                                                    (uint32_t)line->len };
        kw_buf_put(&tc->lines, line->p, line->len);
    } else {
        struct kw_buf *t = &tc->tail[tc->n_tail % TAIL_LINES];
        t->len = 0;
        kw_buf_put(t, line->p, line->len);
        tc->tail_ts[tc->n_tail % TAIL_LINES] = ts;
        tc->n_tail++;
    }
    line->len = 0;
}

/* Stable, and linear on lines that are already in order, as most are. */
static void sort_refs(struct line_ref *r, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        struct line_ref x = r[i];
        uint32_t j = i;
        for (; j > 0 && r[j - 1].ts > x.ts; j--)
            r[j] = r[j - 1];
        r[j] = x;
    }
}

static void wire_text(struct kw_buf *b, const struct kw_text *t)
{
    kw_buf_text(b, t->p, t->len);
    if (t->truncated)
        kw_buf_puts(b, "...");
}

static const char *no_response_text(enum kw_no_response r)
{
    switch (r) {
    case KW_NORESP_LOST: return "lost: the server closed the connection";
    case KW_NORESP_CLIENT_CLOSED: return "the client closed first";
    case KW_NORESP_NOT_SEEN: return "not seen: a segment is missing from the capture";
    case KW_NORESP_CAPTURE_END: return "still waiting at the end of the capture";
    case KW_NORESP_ABANDONED: return "the connection stopped being followed";
    case KW_NORESP_NONE: break;
    }
    return "none";
}

/* The request's half of a transaction line. */
static void request_part(struct kw_out *o, struct kw_buf *b, const struct kw_txn *t)
{
    if (!t->has_request) {
        kw_buf_puts(b, "(no request)");
        return;
    }
    wire_text(b, &t->method);
    kw_buf_puts(b, " ");
    kw_buf_text(b, t->uri.p, out_uri_len(o, t->uri.p, t->uri.len));
    if (t->uri.truncated && !o->opts.redact_uri_query)
        kw_buf_puts(b, "...");
    if (t->req.version)
        kw_buf_printf(b, " HTTP/%d.%d", t->req.version / 10, t->req.version % 10);
    if (t->req_connection.present) {
        kw_buf_puts(b, " [Connection: ");
        wire_text(b, &t->req_connection);
        kw_buf_puts(b, "]");
    }
    if (t->idle_before != KW_TS_NONE && t->idle_before > 0 && !t->pipelined) {
        kw_buf_puts(b, "  (idle ");
        duration(b, t->idle_before);
        kw_buf_puts(b, ")");
    }
    if (t->pipelined)
        kw_buf_puts(b, "  (pipelined)");
    if (t->after_server_fin)
        kw_buf_puts(b, "  (sent after the server's FIN)");
}

/* The response's half of a transaction line, when there was a response. */
static void response_part(struct kw_buf *b, const struct kw_txn *t)
{
    if (t->resp.has_status)
        kw_buf_printf(b, "%u HTTP/%d.%d", t->resp.status, t->resp.version / 10,
                      t->resp.version % 10);
    else
        kw_buf_printf(b, "HTTP/%d.%d without status line", t->resp.version / 10,
                      t->resp.version % 10);
    if (t->resp_connection.present || t->resp_keep_alive.present) {
        kw_buf_puts(b, " [");
        if (t->resp_connection.present) {
            kw_buf_puts(b, "Connection: ");
            wire_text(b, &t->resp_connection);
        }
        if (t->resp_keep_alive.present) {
            kw_buf_puts(b, t->resp_connection.present ? "; Keep-Alive: " : "Keep-Alive: ");
            wire_text(b, &t->resp_keep_alive);
        }
        kw_buf_puts(b, "]");
    }
    kw_buf_printf(b, "  %" PRIu64 " B %s", t->resp_body_len, out_framing_name(t->framing));
    if (t->response_complete && t->req_last != KW_TS_NONE) {
        kw_buf_puts(b, "  ");
        duration(b, t->resp_last - t->req_last);
    }
    if (!t->response_complete)
        kw_buf_puts(b, "  (cut short)");
    if (t->capture_loss)
        kw_buf_puts(b, "  (capture loss)");
}

static void text_txn(struct kw_out *o, void *conn, struct kw_conn_info *c, const struct kw_txn *t)
{
    struct text_conn *tc = conn;
    struct kw_buf *b = &o->buf;
    b->len = 0;
    time_offset(b, t->has_request ? t->req_first : t->resp_first, c->start);
    request_part(o, b, t);
    kw_buf_puts(b, "  ->  ");
    if (!t->has_response) {
        kw_buf_printf(b, "no response (%s)", no_response_text(t->no_response));
        if (t->capture_loss && t->no_response != KW_NORESP_NOT_SEEN)
            kw_buf_puts(b, "  (capture loss)");
    } else {
        response_part(b, t);
        if (t->server.present && !tc->server_len) {
            size_t n = t->server.len < SERVER_MAX ? t->server.len : SERVER_MAX;
            memcpy(tc->server, t->server.p, n);
            tc->server_len = (uint16_t)n;
        }
        if (t->response_complete) {
            tc->last_resp_end = t->resp_last;
            tc->last_resp_index = t->index;
        }
    }
    if (o->opts.quiet) { /* -q prints no transaction lines: keep none */
        b->len = 0;
    } else if (o->opts.stream) {
        kw_buf_put(b, "\n", 1);
        emit_streamed(o, c->id, b);
    } else {
        keep_line(tc, b, t->has_request ? t->req_first : t->resp_first);
    }
}

static void text_fin(struct kw_out *o, void *conn, struct kw_conn_info *c, enum kw_side who,
                     kw_usec ts)
{
    struct text_conn *tc = conn;
    struct kw_buf *b = &o->buf;
    b->len = 0;
    if (o->opts.quiet)
        return;
    time_offset(b, ts, c->start);
    kw_buf_printf(b, "%s FIN", out_side_name(who));
    if (tc->last_resp_end != KW_TS_NONE && tc->last_resp_index && ts >= tc->last_resp_end) {
        kw_buf_puts(b, ", ");
        duration(b, ts - tc->last_resp_end);
        kw_buf_printf(b, " after response %u", tc->last_resp_index);
    }
    if (o->opts.stream) {
        kw_buf_put(b, "\n", 1);
        emit_streamed(o, c->id, b);
        return;
    }
    keep_line(tc, b, ts);
}

static void header_line(struct kw_out *o, struct kw_buf *b, struct kw_conn_info *c,
                        const struct text_conn *tc, const struct kw_conn_end *e)
{
    char when[KW_ISO8601_LEN];
    kw_buf_printf(b, "#%" PRIu64 " ", c->id);
    kw_buf_put(b, when, out_time(o, c->start, when));
    kw_buf_put(b, " ", 1);
    out_endpoint(b, &c->key.client);
    kw_buf_puts(b, " -> ");
    out_endpoint(b, &c->key.server);
    kw_buf_puts(b, "  ");
    if (tc->server_len) {
        kw_buf_text(b, tc->server, tc->server_len);
        kw_buf_puts(b, "  ");
    }
    if (!e->http && !e->not_http) {
        kw_buf_puts(b, "no HTTP");
    } else {
        kw_buf_printf(b, "%u request%s, %u response%s", e->requests, e->requests == 1 ? "" : "s",
                      e->responses, e->responses == 1 ? "" : "s");
        if (e->reused)
            kw_buf_puts(b, ", reused");
    }
    if (e->closed_by != KW_SIDE_NONE) {
        kw_buf_printf(b, ", closed by %s (%s", out_side_name(e->closed_by),
                      e->close == KW_CLOSE_RST ? "RST" : "FIN");
        if (e->idle_before_close != KW_TS_NONE) {
            kw_buf_puts(b, " after ");
            duration(b, e->idle_before_close);
            kw_buf_puts(b, " idle");
        }
        kw_buf_puts(b, e->close_announced ? ", announced)" : ")");
    } else if (e->close == KW_CLOSE_CAPTURE_END) {
        kw_buf_puts(b, ", open at the end of the capture");
    } else if (e->timeout == KW_TIMEOUT_IDLE) {
        kw_buf_puts(b, ", ended idle (--flow-timeout-idle)");
    } else {
        kw_buf_puts(b, ", dropped by the reassembler");
    }
    if (e->lost_requests)
        kw_buf_printf(b, ", %u request%s lost", e->lost_requests, e->lost_requests == 1 ? "" : "s");
    kw_buf_puts(b, "\n");
}

/* The connection's kept lines, in the order what they tell happened. */
static void kept_lines(struct kw_buf *b, struct text_conn *tc)
{
    sort_refs(tc->refs, tc->n_refs);
    for (uint32_t i = 0; i < tc->n_refs; i++)
        kw_buf_put(b, tc->lines.p + tc->refs[i].off, tc->refs[i].len);
    if (tc->n_tail > TAIL_LINES)
        kw_buf_printf(b, "   ... %u lines not shown (--json has every transaction)\n",
                      tc->n_tail - TAIL_LINES);
    uint32_t n = tc->n_tail < TAIL_LINES ? tc->n_tail : TAIL_LINES;
    struct line_ref tail[TAIL_LINES];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = (tc->n_tail - n + i) % TAIL_LINES;
        tail[i] = (struct line_ref){ tc->tail_ts[k], k, 0 };
    }
    sort_refs(tail, n);
    for (uint32_t i = 0; i < n; i++)
        kw_buf_put(b, tc->tail[tail[i].off].p, tc->tail[tail[i].off].len);
}

/* How the connection ended, where the FIN lines have not said it already. */
static void end_line(struct kw_buf *b, struct kw_conn_info *c, const struct kw_conn_end *e)
{
    if (e->rst_by != KW_SIDE_NONE) {
        time_offset(b, e->end_ts, c->start);
        kw_buf_printf(b, "RST from %s\n", out_side_name(e->rst_by));
    } else if (e->ended == KW_CLOSE_CAPTURE_END) {
        int fins = (e->fin_ts[0] != KW_TS_NONE) + (e->fin_ts[1] != KW_TS_NONE);
        if (fins < 2) { /* with both FINs seen, the FIN lines say it all */
            time_offset(b, e->end_ts, c->start);
            kw_buf_puts(b, fins ? "capture ends, connection half-closed\n"
                                : "capture ends, connection still open\n");
        }
    } else if (e->ended == KW_CLOSE_TIMEOUT) {
        time_offset(b, e->end_ts, c->start);
        kw_buf_puts(b, e->timeout == KW_TIMEOUT_IDLE
                           ? "no data, FIN or RST for longer than --flow-timeout-idle: ended as idle\n"
                       : e->timeout == KW_TIMEOUT_REUSED
                           ? "dropped by the reassembler: a new connection took over its ports\n"
                           : "ended to stay within --max-connections: the least recently "
                             "active one\n");
    }
}

/* Why the analysis of the connection stopped short, if it did. */
static void stop_lines(struct kw_buf *b, const struct kw_conn_end *e)
{
    if (e->tunnel)
        kw_buf_printf(b, "   then %s: the rest is not HTTP\n",
                      e->tunnel == KW_TUNNEL_UPGRADE ? "protocol upgrade (101)" : "CONNECT tunnel");
    if (e->not_http)
        kw_buf_printf(b, "   not HTTP from here: %s (%s, byte %" PRIu64 ")\n", e->not_http,
                      e->not_http_dir == KW_TO_SERVER ? "client to server" : "server to client",
                      e->not_http_offset);
    if (e->midstream)
        kw_buf_puts(b, "   picked up after it began: its handshake and earlier bytes were not "
                       "captured\n");
    for (int d = 0; d < 2; d++)
        if (e->missed_bytes[d])
            kw_buf_printf(b, "   %" PRIu64 " bytes the %s sent are missing from the capture\n",
                          e->missed_bytes[d], d == KW_TO_SERVER ? "client" : "server");
    for (int d = 0; d < 2; d++)
        if (e->gap_offset[d] != KW_NO_GAP)
            kw_buf_printf(b, "   data missing from the capture (a segment lost or cut short) "
                             "stopped the %s stream at byte %" PRId64 "; what came after it "
                             "was not seen\n",
                          d == KW_TO_SERVER ? "client-to-server" : "server-to-client",
                          e->gap_offset[d]);
}

/* Streaming: the connection's lines went out as they happened; its end is
 * its summary, how it ended and its filter. */
static void text_end_streamed(struct kw_out *o, struct text_conn *tc, struct kw_conn_info *c,
                              const struct kw_conn_end *e)
{
    struct kw_buf *b = &o->buf;
    if (!o->opts.quiet) {
        end_line(b, c, e);
        stop_lines(b, e);
    }
    if (tc->n_findings) {
        kw_buf_puts(b, "   wireshark filter: ");
        out_wireshark_filter(b, &c->key);
        kw_buf_put(b, "\n", 1);
    }
    if (b->len)
        emit_streamed(o, c->id, b);
    header_line(o, b, c, tc, e); /* "#id ..." already: the summary, last */
    text_emit(o, b);
}

static void text_end(struct kw_out *o, void *conn, struct kw_conn_info *c,
                     const struct kw_conn_end *e)
{
    struct text_conn *tc = conn;
    struct kw_buf *b = &o->buf;
    b->len = 0;
    if (o->opts.quiet && !tc->n_findings)
        return;
    if (o->opts.stream) {
        text_end_streamed(o, tc, c, e);
        return;
    }
    header_line(o, b, c, tc, e);
    if (!o->opts.quiet) {
        kept_lines(b, tc);
        end_line(b, c, e);
        stop_lines(b, e);
    }
    if (tc->n_findings) {
        kw_buf_put(b, tc->findings.p, tc->findings.len);
        if (tc->n_findings > FINDINGS_MAX)
            kw_buf_printf(b, "   ... %u more findings (--json has all)\n",
                          tc->n_findings - FINDINGS_MAX);
        kw_buf_puts(b, "   wireshark filter: ");
        out_wireshark_filter(b, &c->key);
        kw_buf_put(b, "\n", 1);
    }
    text_emit(o, b);
}

static void text_conn_release(void *conn)
{
    struct text_conn *tc = conn;
    kw_buf_free(&tc->findings);
    kw_buf_free(&tc->lines);
    free(tc->refs);
    for (int i = 0; i < TAIL_LINES; i++)
        kw_buf_free(&tc->tail[i]);
}

static void text_stats(struct kw_out *o, const struct kw_stats *st, kw_usec ts)
{
    flush_unseen_server(o);
    (void)ts;
    struct kw_buf *b = &o->buf;
    b->len = 0;
    kw_buf_printf(b, "\n%" PRIu64 " packet%s, %" PRIu64 " bytes; ", st->packets,
                  st->packets == 1 ? "" : "s", st->bytes);
    kw_buf_printf(b, "%" PRIu64 " connection%s, %" PRIu64 " with HTTP; ", st->connections,
                  st->connections == 1 ? "" : "s", st->http_connections);
    kw_buf_printf(b, "%" PRIu64 " request%s, %" PRIu64 " response%s, %" PRIu64 " lost\n",
                  st->requests, st->requests == 1 ? "" : "s", st->responses,
                  st->responses == 1 ? "" : "s", st->lost_requests);
    if (st->kernel_counted)
        kw_buf_printf(b, "  the kernel: %" PRIu64 " packets received by the filter, %" PRIu64
                         " dropped for lack of buffer space, %" PRIu64
                         " dropped by the interface\n",
                      st->kernel_received, st->kernel_dropped, st->interface_dropped);
    struct out_count counts[OUT_COUNTS_MAX];
    size_t n = out_skipped_counts(st, counts);
    for (size_t i = 0; i < n; i++)
        if (counts[i].n && counts[i].label[0])
            kw_buf_printf(b, "  %s: %" PRIu64 "\n", counts[i].label, counts[i].n);
    text_emit(o, b);
}

static const char *severity_tag(const struct kw_out *o, enum kw_severity s)
{
    if (o->opts.color)
        return s == KW_SEV_ERROR     ? "\x1b[1;31mERROR\x1b[0m"
               : s == KW_SEV_WARNING ? "\x1b[33mWARNING\x1b[0m"
                                     : "\x1b[36mNOTICE\x1b[0m";
    return s == KW_SEV_ERROR ? "ERROR" : s == KW_SEV_WARNING ? "WARNING" : "NOTICE";
}

/* The file a finding's frames are in, and their numbers there, when the
 * run's frames are in several files (-r a -r b, or -w rotated live); with
 * one file they are the same numbers. */
static void frames_file(const struct kw_out *o, struct kw_buf *b, const struct kw_evidence *e)
{
    uint64_t in_file[KW_EVIDENCE_FRAMES_MAX];
    const struct kw_frame_files *ff = o->opts.frames;
    if (!ff || (kw_frame_files_count(ff) <= 1 && !ff->n_forgotten))
        return;
    const char *file = out_frames_in_file(o, e->v.frames.number, e->v.frames.n, in_file);
    if (!file)
        return;
    kw_buf_puts(b, "; ");
    kw_buf_text(b, (const uint8_t *)file, strlen(file));
    for (int k = 0; k < e->v.frames.n; k++) {
        if (!in_file[k])
            continue;
        kw_buf_put(b, k ? ", " : " ", k ? 2 : 1);
        kw_buf_u64(b, in_file[k]);
    }
}

/* The frame numbers that show a finding, as its evidence lists them. */
static void finding_frames(const struct kw_out *o, struct kw_buf *b, const struct kw_finding *f)
{
    for (int i = 0; i < f->n_evidence; i++) {
        const struct kw_evidence *e = &f->evidence[i];
        if (e->kind != KW_EV_FRAMES || !e->v.frames.n)
            continue;
        kw_buf_puts(b, " [frame");
        kw_buf_puts(b, e->v.frames.n > 1 ? "s " : " ");
        for (int k = 0; k < e->v.frames.n; k++) {
            if (k)
                kw_buf_put(b, ", ", 2);
            kw_buf_u64(b, e->v.frames.number[k]);
        }
        frames_file(o, b, e);
        kw_buf_put(b, "]", 1);
    }
}

static void text_finding(struct kw_out *o, void *conn, struct kw_conn_info *c,
                         const struct kw_finding *f)
{
    struct text_state *st = o->state;
    if (!c && st->held.len && !out_endpoint_eq(&st->held_server, &f->server))
        flush_unseen_server(o); /* findings about another server come next */
    struct kw_buf *b = &o->buf;
    char when[KW_ISO8601_LEN];
    b->len = 0;
    kw_buf_printf(b, "   %s %s at ", severity_tag(o, f->severity), kw_rule_name(f->rule));
    kw_buf_put(b, when, out_time(o, f->ts, when));
    if (c && f->ts >= c->start) {
        kw_buf_puts(b, " (");
        time_offset_bare(b, f->ts - c->start);
        kw_buf_puts(b, ")");
    }
    kw_buf_puts(b, ": ");
    out_message(o, b, f->message, &f->request_line, kw_buf_text);
    kw_buf_printf(b, " (%s)", kw_rule_reference(f->rule));
    finding_frames(o, b, f);
    kw_buf_put(b, "\n", 1);
    if (!c) {
        st->held_server = f->server;
        kw_buf_put(&st->held, b->p, b->len);
        b->len = 0;
        return;
    }
    struct text_conn *tc = conn;
    if (o->opts.stream) { /* now, not under the connection's summary */
        tc->n_findings++;
        emit_streamed(o, c->id, b);
        return;
    }
    if (tc->n_findings++ < FINDINGS_MAX)
        kw_buf_put(&tc->findings, b->p, b->len);
    b->len = 0;
}

static void text_server(struct kw_out *o, const struct kw_server_policy *p)
{
    struct kw_buf *b = &o->buf;
    b->len = 0;
    kw_buf_puts(b, "\nserver ");
    out_endpoint(b, &p->server);
    kw_buf_puts(b, "  ");
    if (p->software) {
        kw_buf_text(b, p->software, p->software_len);
        kw_buf_puts(b, "  ");
    }
    kw_buf_printf(b, "%" PRIu64 " connection%s, %" PRIu64 " request%s\n   ", p->connections,
                  p->connections == 1 ? "" : "s", p->requests, p->requests == 1 ? "" : "s");
    /* what it does by policy, as the issue of a user reads it */
    const char *how = p->announces_close == 1 ? ", announced"
                      : p->announces_close == 0 ? ", without announcing it" : "";
    if (p->observed_max_requests >= 0)
        kw_buf_printf(b, "closes after %" PRId64 " request%s%s; ", p->observed_max_requests,
                      p->observed_max_requests == 1 ? "" : "s", how);
    else if (p->announces_close >= 0)
        kw_buf_printf(b, "closes connections after a response%s; ", how);
    else if (p->close_announced_after >= 0)
        kw_buf_printf(b, "announces a close after %" PRId64 " request%s (the clients closed "
                         "first); ",
                      p->close_announced_after, p->close_announced_after == 1 ? "" : "s");
    if (p->observed_idle_timeout != KW_TS_NONE)
        kw_buf_printf(b, "closes connections idle for %.1f s; ",
                      (double)p->observed_idle_timeout / KW_USEC_PER_SEC);
    else
        kw_buf_puts(b, "no idle close seen; ");
    if (p->advertised_timeout_s < 0 && p->advertised_max < 0) {
        kw_buf_puts(b, "advertises no Keep-Alive header");
    } else {
        kw_buf_puts(b, "advertises Keep-Alive");
        if (p->advertised_timeout_s >= 0)
            kw_buf_printf(b, " timeout=%" PRId64, p->advertised_timeout_s);
        if (p->advertised_max >= 0)
            kw_buf_printf(b, " max=%" PRId64, p->advertised_max);
    }
    kw_buf_puts(b, "\n");
    if (p->honors_http10_keepalive >= 0 || p->longest_idle_reuse != KW_TS_NONE) {
        kw_buf_puts(b, "   ");
        if (p->honors_http10_keepalive >= 0)
            kw_buf_puts(b, p->honors_http10_keepalive ? "honors HTTP/1.0 keep-alive"
                                                      : "does not honor HTTP/1.0 keep-alive");
        if (p->longest_idle_reuse != KW_TS_NONE) {
            kw_buf_puts(b, p->honors_http10_keepalive >= 0 ? "; " : "");
            kw_buf_puts(b, "longest idle reuse ");
            duration(b, p->longest_idle_reuse);
        }
        kw_buf_puts(b, "\n");
    }
    if (p->racing && p->observed_idle_timeout != KW_TS_NONE) {
        kw_buf_puts(b, "   racing: ");
        if (p->lost_to_idle)
            kw_buf_printf(b, "%" PRIu64 " request%s crossed its idle closes", p->lost_to_idle,
                          p->lost_to_idle == 1 ? "" : "s");
        else {
            kw_buf_puts(b, "clients reuse its connections after up to ");
            duration(b, p->longest_idle_reuse);
            kw_buf_puts(b, " idle, within 10% of its idle timeout");
        }
        kw_buf_printf(b, "; set the clients' idle timeout (connection pool, load balancer) "
                         "below %.1f s minus a round trip, or raise the server's above the "
                         "clients'\n",
                      (double)p->observed_idle_timeout / KW_USEC_PER_SEC);
    }
    bool any = false;
    for (int i = 0; i < KW_RULE_COUNT; i++)
        if (p->findings[i]) {
            kw_buf_printf(b, "%s%s %" PRIu64, any ? ", " : "   findings: ",
                          kw_rule_name((enum kw_rule)i), p->findings[i]);
            any = true;
        }
    if (any)
        kw_buf_puts(b, "\n");
    text_emit(o, b);
    flush_server(o, &p->server);
}

const struct out_format out_format_text = {
    .name = "text",
    .state_size = sizeof(struct text_state),
    .state_release = text_state_release,
    .conn_size = sizeof(struct text_conn),
    .txn = text_txn,
    .fin = text_fin,
    .end = text_end,
    .conn_release = text_conn_release,
    .finding = text_finding,
    .server = text_server,
    .stats = text_stats,
};

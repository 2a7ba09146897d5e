/* html-ladder.c: a connection's ladder diagram, inline SVG. The client's
 * column on the left, the server's on the right, time running down: each
 * request, response, FIN and RST is an arrow at the time its first byte was
 * captured, with its frames and its time since the handshake on the left.
 * Gaps are drawn to scale (the scale is written), short ones stretched so
 * that labels do not overlap, long ones broken with their length written.
 * Each finding sits beside the arrow that fired it, with its frames. */
#include "output/escape.h"
#include "output/html-impl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LD_W 760
#define LD_TIME_X 112  /* right edge of the times */
#define LD_CLIENT_X 200
#define LD_SERVER_X 470
#define LD_NOTE_X 492  /* findings */
#define LD_TOP 58
#define LD_ROW_MIN 32  /* the least room an event takes */
#define LD_FINDING_H 15
#define LD_SCALED_MAX 180 /* px of the longest gap drawn to scale */
#define LD_BREAK_H 54  /* px of a gap drawn broken */
#define LD_GAP_MATTERS (50 * 1000) /* us: shorter gaps are processing, not idle time */
#define LD_EVENTS (HTML_EVENTS_HEAD + HTML_EVENTS_TAIL + 1)

struct layout {
    struct ladder_event ev[LD_EVENTS];
    double y[LD_EVENTS];
    bool broken_before[LD_EVENTS]; /* the gap above event i is drawn broken */
    uint8_t n_findings[LD_EVENTS];
    int8_t finding_at[HTML_FINDINGS_MAX]; /* the event each finding sits beside */
    uint32_t n, break_at, not_drawn;
    double scale;  /* px per microsecond for gaps drawn to scale */
    kw_usec scaled_max;
    double height;
};

static int cmp_usec_desc(const void *a, const void *b)
{
    kw_usec x = *(const kw_usec *)a, y = *(const kw_usec *)b;
    return x > y ? -1 : x < y;
}

/* The scale: the longest gap gets LD_SCALED_MAX px, unless it is more than
 * eight times the next one and that one is long enough to matter (an idle
 * gap of LD_GAP_MATTERS or more): then it is broken, and so on down. A
 * capture of a 2 s idle timeout and a 300 s one shows the 2 s to scale. */
static void choose_scale(struct layout *L)
{
    kw_usec d[LD_EVENTS];
    uint32_t n = 0, i = 0;
    for (uint32_t k = 1; k < L->n; k++)
        d[n++] = L->ev[k].t0 - L->ev[k - 1].t0;
    L->scale = 0;
    L->scaled_max = 0;
    if (!n)
        return;
    qsort(d, n, sizeof(d[0]), cmp_usec_desc);
    while (i + 1 < n && d[i + 1] >= LD_GAP_MATTERS && d[i] / 8 > d[i + 1])
        i++;
    L->scaled_max = d[i];
    if (L->scaled_max > 0)
        L->scale = (double)LD_SCALED_MAX / (double)L->scaled_max;
}

/* The event a finding sits beside: the one at its time (the rule engine
 * dates a finding by the message or close that fired it), of its exchange
 * when two share that time; else the nearest. */
static int8_t finding_event(const struct layout *L, const struct html_finding *f)
{
    int8_t best = -1;
    uint64_t best_score = UINT64_MAX;
    for (uint32_t i = 0; i < L->n; i++) {
        const struct ladder_event *e = &L->ev[i];
        kw_usec dt = e->t0 > f->ts ? e->t0 - f->ts : f->ts - e->t0;
        bool other = f->request && (e->kind == EV_REQ || e->kind == EV_RESP) &&
                     e->request != f->request;
        uint64_t score = (uint64_t)dt * 4 + (other ? 2 : 0) + (e->kind == EV_OPEN);
        if (score < best_score) {
            best_score = score;
            best = (int8_t)i;
        }
    }
    return best;
}

static void layout(struct layout *L, const struct html_kept *k)
{
    html_ladder_sorted(&k->rec.ladder, L->ev, &L->n, &L->break_at, &L->not_drawn);
    choose_scale(L);
    memset(L->n_findings, 0, sizeof(L->n_findings));
    uint32_t nf = k->rec.n_findings < HTML_FINDINGS_MAX ? k->rec.n_findings : HTML_FINDINGS_MAX;
    for (uint32_t i = 0; i < nf; i++) {
        L->finding_at[i] = finding_event(L, &k->rec.findings[i]);
        if (L->finding_at[i] >= 0)
            L->n_findings[L->finding_at[i]]++;
    }
    double y = LD_TOP;
    for (uint32_t i = 0; i < L->n; i++) {
        L->broken_before[i] = false;
        if (i) {
            kw_usec d = L->ev[i].t0 - L->ev[i - 1].t0;
            double room = LD_ROW_MIN, need = LD_FINDING_H * L->n_findings[i - 1] + 12;
            room = need > room ? need : room;
            if (d > L->scaled_max) {
                L->broken_before[i] = true;
                y += LD_BREAK_H > room ? LD_BREAK_H : room;
            } else {
                y += d * L->scale > room ? d * L->scale : room;
            }
            if (i == L->break_at)
                y += 40;
        }
        L->y[i] = y;
    }
    L->height = y + LD_ROW_MIN + LD_FINDING_H * (L->n ? L->n_findings[L->n - 1] : 0) + 20;
}

/* An arrow from one column to the other, its head drawn as a triangle. */
static void arrow(struct kw_buf *b, double x0, double y0, double x1, double y1)
{
    double dx = x1 - x0, dy = y1 - y0, len = dx < 0 ? -dx : dx;
    double ux = dx / len, uy = dy / len, hx = x1 - ux * 9, hy = y1 - uy * 9;
    kw_buf_printf(b, "<line class=\"arr\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                     "<polygon class=\"head\" points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>",
                  x0, y0, hx, hy, x1, y1, hx - uy * 4, hy + ux * 4, hx + uy * 4, hy - ux * 4);
}

/* The time since the handshake and the frames, left of the client's column. */
static void time_label(struct kw_buf *b, const struct ladder_event *e, kw_usec start, double y)
{
    char s[KW_DURATION_LEN];
    kw_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"mono\">%s", LD_TIME_X,
                  y + 4, e->t0 >= start ? "+" : "");
    kw_buf_put(b, s, kw_time_secs(e->t0 - start, s));
    kw_buf_puts(b, "</text>");
    if (e->f0) {
        kw_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"mute\">frame%s %"
                         PRIu64, LD_TIME_X, y + 16, e->f1 > e->f0 ? "s" : "", e->f0);
        if (e->f1 > e->f0)
            kw_buf_printf(b, "&ndash;%" PRIu64, e->f1);
        kw_buf_puts(b, "</text>");
    }
}

/* What the arrow carries, above it. */
static void arrow_label(struct kw_buf *b, const struct ladder_event *e)
{
    switch (e->kind) {
    case EV_REQ:
        kw_buf_printf(b, "%u: ", e->request);
        kw_buf_html(b, e->label, e->label_len);
        if (e->flags & EV_LABEL_CUT)
            kw_buf_puts(b, "...");
        if (e->flags & EV_CLOSE_TOKEN)
            kw_buf_puts(b, " [close]");
        if (e->flags & EV_PIPELINED)
            kw_buf_puts(b, " (pipelined)");
        if (e->flags & EV_LOST)
            kw_buf_puts(b, " &mdash; lost");
        else if (e->no_response)
            kw_buf_printf(b, " &mdash; no response (%s)",
                          kw_no_response_name((enum kw_no_response)e->no_response));
        break;
    case EV_RESP:
        kw_buf_printf(b, "%u: %u HTTP/%d.%d", e->request, e->status, e->version / 10,
                      e->version % 10);
        if (e->flags & EV_CLOSE_TOKEN)
            kw_buf_puts(b, " [close]");
        if (e->ka_timeout >= 0)
            kw_buf_printf(b, " [timeout=%d]", e->ka_timeout);
        if (e->flags & EV_CUT)
            kw_buf_puts(b, " (cut short)");
        break;
    case EV_FIN: kw_buf_puts(b, "FIN"); break;
    case EV_RST: kw_buf_puts(b, "RST"); break;
    }
}

static const char *end_words(uint8_t reason)
{
    switch ((enum kw_timeout)reason) {
    case KW_TIMEOUT_IDLE: return "ended idle (--flow-timeout-idle)";
    case KW_TIMEOUT_EVICTED: return "dropped: the stream table was full";
    case KW_TIMEOUT_REUSED: return "dropped: a new connection took its ports";
    case KW_TIMEOUT_NONE: break;
    }
    return "the capture ends";
}

static void draw_event(struct kw_buf *b, const struct ladder_event *e, kw_usec start, double y,
                       double next_y)
{
    static const char *const kinds[] = { "open", "req", "resp", "fin", "rst", "end" };
    kw_buf_printf(b, "<g class=\"ev %s%s\" data-kind=\"%s\"", kinds[e->kind],
                  e->flags & EV_LOST ? " lost" : "", kinds[e->kind]);
    if (e->kind == EV_REQ || e->kind == EV_RESP)
        kw_buf_printf(b, " data-request=\"%u\"", e->request);
    if (e->f0)
        kw_buf_printf(b, " data-frame=\"%" PRIu64 "\"", e->f0);
    kw_buf_puts(b, ">");
    time_label(b, e, start, y);
    if (e->kind == EV_OPEN || e->kind == EV_END) {
        kw_buf_printf(b, "<line class=\"end\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                         "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" class=\"mute\">%s</text>"
                         "</g>\n",
                      LD_CLIENT_X, y, LD_SERVER_X, y, (LD_CLIENT_X + LD_SERVER_X) / 2, y - 5,
                      e->kind == EV_OPEN ? "handshake complete" : end_words(e->reason));
        return;
    }
    bool to_server = e->side == KW_SIDE_CLIENT;
    double slant = 8;
    if (next_y - y - 18 < slant)
        slant = next_y - y - 18 > 2 ? next_y - y - 18 : 2;
    kw_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\"%s>",
                  (LD_CLIENT_X + LD_SERVER_X) / 2, y - 5,
                  e->flags & EV_LOST ? " class=\"t-lost\"" : "");
    arrow_label(b, e);
    kw_buf_puts(b, "</text>");
    if (to_server)
        arrow(b, LD_CLIENT_X, y, LD_SERVER_X, y + slant);
    else
        arrow(b, LD_SERVER_X, y, LD_CLIENT_X, y + slant);
    kw_buf_puts(b, "</g>\n");
}

/* A gap drawn broken: the columns cut by two zigzags, and its length. */
static void draw_break(struct kw_buf *b, double y0, double y1, kw_usec d)
{
    double m = (y0 + y1) / 2;
    int x0 = LD_CLIENT_X - 24, x1 = LD_SERVER_X + 24;
    kw_buf_printf(b, "<g class=\"brk-gap\"><rect fill=\"#fff\" x=\"%d\" y=\"%.1f\" "
                     "width=\"%d\" height=\"10\"/>",
                  x0, m - 5, x1 - x0);
    for (int edge = -1; edge <= 1; edge += 2) {
        kw_buf_puts(b, "<polyline class=\"brk\" points=\"");
        for (int x = x0, up = 0; x <= x1; x += 8, up ^= 1)
            kw_buf_printf(b, "%d,%.1f ", x, m + edge * 5 + (up ? -3 : 0));
        kw_buf_puts(b, "\"/>");
    }
    kw_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"mute\">", x0 - 6,
                  m + 4);
    html_secs(b, d);
    kw_buf_puts(b, " s, not to scale</text></g>\n");
}

/* The idle gap before a request, or before the first close, between the
 * columns, as the JSON gives it (idle_before_s, idle_before_close_s). */
static void draw_idle(struct kw_buf *b, const struct ladder_event *e, const struct html_kept *k,
                      double y0, double y1)
{
    kw_usec idle = e->kind == EV_REQ ? e->idle : KW_TS_NONE;
    bool close = (e->kind == EV_FIN || e->kind == EV_RST) && e->t0 == k->end.close_ts;
    if (close)
        idle = k->end.idle_before_close;
    if (idle == KW_TS_NONE || idle <= 0 || y1 - y0 < 2 * LD_ROW_MIN)
        return;
    kw_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" class=\"mute\">idle ",
                  (LD_CLIENT_X + LD_SERVER_X) / 2, (y0 + y1) / 2 + 8);
    html_secs(b, idle);
    kw_buf_puts(b, close ? " s, then the close</text>\n" : " s</text>\n");
}

/* The findings beside the events that fired them. */
static void draw_findings(struct kw_buf *b, const struct layout *L, const struct html_kept *k)
{
    uint8_t placed[LD_EVENTS] = { 0 };
    uint32_t nf = k->rec.n_findings < HTML_FINDINGS_MAX ? k->rec.n_findings : HTML_FINDINGS_MAX;
    for (uint32_t i = 0; i < nf; i++) {
        const struct html_finding *f = &k->rec.findings[i];
        if (L->finding_at[i] < 0)
            continue;
        int at = L->finding_at[i];
        double y = L->y[at] + 4 + LD_FINDING_H * placed[at]++;
        const char *sev = kw_severity_name((enum kw_severity)f->severity);
        kw_buf_printf(b, "<g class=\"finding-mark sev-%s\" data-rule=\"%s\" data-frames=\"", sev,
                      kw_rule_name((enum kw_rule)f->rule));
        for (int j = 0; j < f->n_frames; j++)
            kw_buf_printf(b, "%s%" PRIu64, j ? "," : "", f->frames[j]);
        kw_buf_printf(b, "\"><title>");
        kw_buf_put(b, k->rec.messages.p + f->msg_off, f->msg_len);
        kw_buf_printf(b, "</title><line class=\"gap\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                         "<text x=\"%d\" y=\"%.1f\" class=\"sev-%s\"><tspan font-weight=\"bold\">"
                         "%s</tspan> %s",
                      LD_SERVER_X + 6, y - 4, LD_NOTE_X - 2, y - 4, LD_NOTE_X, y, sev, sev,
                      kw_rule_name((enum kw_rule)f->rule));
        for (int j = 0; j < f->n_frames; j++)
            kw_buf_printf(b, "%s%" PRIu64, j ? ", " : " [", f->frames[j]);
        kw_buf_puts(b, f->n_frames ? "]</text></g>\n" : "</text></g>\n");
    }
}

static void ladder_head(struct kw_buf *b, const struct html_kept *k, const struct layout *L)
{
    kw_buf_printf(b, "<figure class=\"ladder-figure\" id=\"ladder-%" PRIu64 "\">\n<svg class=\"ladder\" "
                     "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %.0f\" width=\"%d\" "
                     "height=\"%.0f\" role=\"img\" data-conn=\"%" PRIu64 "\">\n<title>Ladder of "
                     "connection %" PRIu64 "</title>\n",
                  k->id, LD_W, L->height, LD_W, L->height, k->id, k->id);
    kw_buf_printf(b, "<text x=\"%d\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">client"
                     "</text><text x=\"%d\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">"
                     "server</text><text x=\"%d\" y=\"32\" text-anchor=\"middle\" class=\"mute\">",
                  LD_CLIENT_X, LD_SERVER_X, LD_CLIENT_X);
    out_endpoint_ip(b, &k->key.client);
    kw_buf_printf(b, ":%u</text><text x=\"%d\" y=\"32\" text-anchor=\"middle\" class=\"mute\">",
                  k->key.client.port, LD_SERVER_X);
    out_endpoint_ip(b, &k->key.server);
    kw_buf_printf(b, ":%u</text><text x=\"4\" y=\"18\" class=\"mute\">seconds since</text>"
                     "<text x=\"4\" y=\"32\" class=\"mute\">the handshake</text>\n",
                  k->key.server.port);
    kw_buf_printf(b, "<line class=\"col\" x1=\"%d\" y1=\"40\" x2=\"%d\" y2=\"%.1f\"/><line "
                     "class=\"col\" x1=\"%d\" y1=\"40\" x2=\"%d\" y2=\"%.1f\"/>\n",
                  LD_CLIENT_X, LD_CLIENT_X, L->height - 10, LD_SERVER_X, LD_SERVER_X,
                  L->height - 10);
}

void html_ladder(struct kw_buf *b, const struct html_kept *k)
{
    struct layout L; /* about 8 KiB */
    layout(&L, k);
    ladder_head(b, k, &L);
    for (uint32_t i = 0; i < L.n; i++) {
        double prev = i ? L.y[i - 1] : LD_TOP, next = i + 1 < L.n ? L.y[i + 1] : L.height;
        if (i && i == L.break_at)
            kw_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" class=\"mute\">"
                             "&hellip; %u events not drawn &hellip;</text>\n",
                          (LD_CLIENT_X + LD_SERVER_X) / 2, L.y[i] - 30, L.not_drawn);
        if (L.broken_before[i])
            draw_break(b, prev, L.y[i], L.ev[i].t0 - L.ev[i - 1].t0);
        else if (i)
            draw_idle(b, &L.ev[i], k, prev, L.y[i]);
        draw_event(b, &L.ev[i], k->start, L.y[i], next);
    }
    draw_findings(b, &L, k);
    kw_buf_puts(b, "</svg>\n<figcaption>Ladder: time runs down from the handshake. ");
    if (L.scaled_max > 0) {
        kw_buf_puts(b, "Gaps up to ");
        html_secs(b, L.scaled_max);
        kw_buf_printf(b, " s are drawn to scale (%d px for the longest), shorter ones stretched "
                         "to %d px; longer ones are broken and their length written. ",
                      LD_SCALED_MAX, LD_ROW_MIN);
    }
    kw_buf_puts(b, "Each finding sits beside the arrow that fired it, with its frames; hover "
                   "for its message.</figcaption>\n</figure>\n");
}

/* html-plot.c: a server's two figures, as inline SVG drawn here: lines,
 * circles, rectangles and text are all these shapes need, so no plotting
 * library is linked and nothing is fetched.
 *
 * The race plot: each idle gap on the server's connections, on the x axis
 * (seconds, linear, so that a race of a few milliseconds at the timeout
 * shows), on the line of what followed it: a reuse that was answered, a
 * reuse that was lost, a close by the server, a close by the client. The
 * server's observed idle timeout and the timeout it advertised are vertical
 * lines. Requests right of the observed timeout line raced the server's idle
 * close.
 *
 * The histogram: connections by the requests they carried, the observed cap
 * (the number of requests after which the server closes) marked. */
#include "output/html-impl.h"

#include <inttypes.h>
#include <string.h>

/* --- the race plot ------------------------------------------------------ */

#define RP_W 760
#define RP_LEFT 170  /* row labels */
#define RP_RIGHT 66  /* points past the axis, counted */
#define RP_TOP 36    /* the lines' labels */
#define RP_ROW 34
#define RP_PLOT (RP_W - RP_LEFT - RP_RIGHT)
#define RP_AXIS (RP_TOP + RACE_ROWS * RP_ROW)
#define RP_H (RP_AXIS + 42)

static const struct {
    const char *label, *cls, *field;
} race_rows[RACE_ROWS] = {
    [RACE_ANSWERED] = { "reuse, answered", "p-ok", "answered" },
    [RACE_LOST] = { "reuse, lost", "p-lost", "lost" },
    [RACE_SERVER_CLOSE] = { "closed by the server", "p-srv", "server-closes" },
    [RACE_CLIENT_CLOSE] = { "closed by the client", "p-cli", "client-closes" },
};

/* The smallest of 1, 2, 5 times a power of ten at or above v (microseconds). */
static kw_usec nice_step(kw_usec v)
{
    kw_usec p = 1;
    while (p <= INT64_MAX / 10 && p * 10 <= v)
        p *= 10;
    return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

/* The advertised timeout in microseconds, or 0; a wire value is capped at a day. */
static kw_usec advertised_us(const struct html_server *s)
{
    if (!s->has_policy || s->policy.advertised_timeout_s < 0)
        return 0;
    int64_t v = s->policy.advertised_timeout_s < 86400 ? s->policy.advertised_timeout_s : 86400;
    return v * KW_USEC_PER_SEC;
}

static kw_usec observed_us(const struct html_server *s)
{
    return s->has_policy && s->policy.observed_idle_timeout != KW_TS_NONE
               ? s->policy.observed_idle_timeout : 0;
}

/* The end of the x axis: past the timeout lines by a quarter, and past the
 * points, but not beyond four times the timeouts (points further out are
 * drawn at the edge and counted). A round number of ticks. */
static kw_usec race_xmax(const struct html_server *s, kw_usec *step)
{
    kw_usec pmax = 0;
    for (int r = 0; r < RACE_ROWS; r++)
        for (uint32_t i = 0; i < s->rows[r].n; i++)
            if (s->rows[r].pts[i].idle > pmax)
                pmax = s->rows[r].pts[i].idle;
    kw_usec ref = observed_us(s) > advertised_us(s) ? observed_us(s) : advertised_us(s);
    kw_usec x;
    if (ref > 0) {
        kw_usec far = pmax < ref * 4 ? pmax : ref * 4;
        x = ref + ref / 4 > far ? ref + ref / 4 : far;
    } else {
        x = pmax > 0 ? pmax : KW_USEC_PER_SEC;
    }
    *step = nice_step(x / 5 > 0 ? x / 5 : 1);
    return (x + *step - 1) / *step * *step;
}

static double race_x(kw_usec v, kw_usec xmax)
{
    if (v > xmax)
        v = xmax;
    return RP_LEFT + (double)RP_PLOT * (double)v / (double)xmax;
}

/* A tick's label: as many decimals as the step needs. */
static void tick_label(struct kw_buf *b, kw_usec v, kw_usec step)
{
    int decimals = 0;
    for (kw_usec p = KW_USEC_PER_SEC; step < p && decimals < 6; p /= 10)
        decimals++;
    kw_buf_printf(b, "%.*f", decimals, (double)v / KW_USEC_PER_SEC);
}

static void race_axis(struct kw_buf *b, kw_usec xmax, kw_usec step)
{
    for (int r = 0; r < RACE_ROWS; r++)
        if (r % 2 == 0)
            kw_buf_printf(b, "<rect class=\"band\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n",
                          RP_LEFT, RP_TOP + r * RP_ROW, RP_PLOT, RP_ROW);
    for (kw_usec v = 0; v <= xmax; v += step) {
        double x = race_x(v, xmax);
        kw_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                         "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
                      x, RP_TOP, x, RP_AXIS + 4, x, RP_AXIS + 16);
        tick_label(b, v, step);
        kw_buf_puts(b, "</text>\n");
    }
    kw_buf_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n"
                     "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"mute\">idle gap before "
                     "it, seconds</text>\n",
                  RP_LEFT, RP_AXIS, RP_LEFT + RP_PLOT, RP_AXIS, RP_LEFT + RP_PLOT / 2,
                  RP_AXIS + 34);
}

/* A vertical line at a timeout, labelled above the plot at `label_y`. The
 * observed timeout is in seconds with microseconds, the advertised one in
 * whole seconds, each as the JSON writes it. */
static void race_line(struct kw_buf *b, const struct html_server *s, bool advertised,
                      kw_usec xmax, int label_y)
{
    const char *cls = advertised ? "adv" : "obs";
    double x = race_x(advertised ? advertised_us(s) : observed_us(s), xmax);
    const char *anchor = x > RP_LEFT + RP_PLOT * 0.7 ? "end"
                         : x < RP_LEFT + RP_PLOT * 0.3 ? "start" : "middle";
    kw_buf_printf(b, "<line class=\"l-%s\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"", cls, x,
                  label_y + 3, x, RP_AXIS);
    if (advertised)
        html_field_u64(b, "advertised_timeout_s", (uint64_t)s->policy.advertised_timeout_s);
    else
        html_field_secs(b, "observed_idle_timeout_s", s->policy.observed_idle_timeout);
    kw_buf_printf(b, "/><text class=\"t-%s\" x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">", cls, x,
                  label_y, anchor);
    if (advertised) {
        kw_buf_printf(b, "advertised Keep-Alive: timeout=%" PRId64 "</text>\n",
                      s->policy.advertised_timeout_s);
        return;
    }
    kw_buf_puts(b, "server's idle timeout ");
    html_secs(b, s->policy.observed_idle_timeout);
    kw_buf_puts(b, " s</text>\n");
}

/* A point's place in its row: spread by a hash of what it is, so that the
 * same points land at the same places every time. */
static double race_y(int row, const struct race_point *p)
{
    uint64_t h = (p->conn * 0x9e3779b97f4a7c15ull) ^ (p->request * 0xc2b2ae3d27d4eb4full);
    h ^= h >> 29;
    return RP_TOP + row * RP_ROW + RP_ROW / 2.0 + (double)(int)(h % 21 - 10) * 1.2;
}

/* A point: a circle, or a cross for a lost request, its class on its row. */
static void race_point(struct kw_buf *b, int row, const struct race_point *p, kw_usec xmax,
                       bool label)
{
    double x = race_x(p->idle, xmax), y = race_y(row, p);
    if (row == RACE_LOST)
        kw_buf_printf(b, "<path d=\"M%.1f %.1fl8 8m0 -8l-8 8\"", x - 4, y - 4);
    else
        kw_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"", x, y);
    kw_buf_printf(b, " data-conn=\"%" PRIu64 "\"", p->conn);
    if (p->request)
        kw_buf_printf(b, " data-request=\"%u\"", p->request);
    kw_buf_puts(b, " data-idle-s=\"");
    html_secs(b, p->idle);
    kw_buf_printf(b, "\"><title>#%" PRIu64, p->conn);
    if (p->request)
        kw_buf_printf(b, " request %u", p->request);
    kw_buf_puts(b, ": ");
    html_secs(b, p->idle);
    kw_buf_printf(b, " s</title></%s>\n", row == RACE_LOST ? "path" : "circle");
    if (label) {
        kw_buf_printf(b, "<text class=\"t-lost\" x=\"%.1f\" y=\"%.1f\">", x + 7, y - 6);
        html_secs(b, p->idle);
        kw_buf_puts(b, " s</text>\n");
    }
}

static void race_rows_drawn(struct kw_buf *b, const struct html_server *s, kw_usec xmax)
{
    for (int r = 0; r < RACE_ROWS; r++) {
        const struct race_sample *row = &s->rows[r];
        int y = RP_TOP + r * RP_ROW + RP_ROW / 2 + 4;
        kw_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s (%" PRIu64 ")</text>\n",
                      RP_LEFT - 8, y, race_rows[r].label, row->seen);
        uint32_t beyond = 0;
        kw_buf_printf(b, "<g class=\"row row-%s %s\">\n", race_rows[r].field, race_rows[r].cls);
        for (uint32_t i = 0; i < row->n; i++) {
            beyond += row->pts[i].idle > xmax;
            race_point(b, r, &row->pts[i], xmax, r == RACE_LOST && row->n <= 3);
        }
        kw_buf_puts(b, "</g>\n");
        if (beyond)
            kw_buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"mute\">%u past &rarr;</text>\n",
                          RP_LEFT + RP_PLOT + 8, y, beyond);
    }
}

void html_race_plot(struct kw_buf *b, const struct html_server *s, uint32_t index)
{
    kw_usec step, xmax = race_xmax(s, &step);
    uint64_t drawn = 0, seen = 0;
    kw_buf_printf(b, "<figure class=\"race\" id=\"race-%u\">\n<svg class=\"race-plot\" "
                     "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
                     "height=\"%d\" role=\"img\"",
                  index + 1, RP_W, RP_H, RP_W, RP_H);
    for (int r = 0; r < RACE_ROWS; r++) {
        kw_buf_printf(b, " data-%s=\"%" PRIu64 "\"", race_rows[r].field, s->rows[r].seen);
        drawn += s->rows[r].n;
        seen += s->rows[r].seen;
    }
    kw_buf_printf(b, " data-unanswered=\"%" PRIu64 "\" data-x-max-s=\"", s->reuse_unanswered);
    html_secs(b, xmax);
    kw_buf_puts(b, "\">\n<title>Race plot: idle gaps and what followed them</title>\n");
    race_axis(b, xmax, step);
    if (observed_us(s))
        race_line(b, s, false, xmax, 12);
    if (advertised_us(s))
        race_line(b, s, true, xmax, 26);
    race_rows_drawn(b, s, xmax);
    if (!seen)
        kw_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"mute\">no "
                         "reuse after an idle gap and no close seen</text>\n",
                      RP_LEFT + RP_PLOT / 2, RP_TOP + 2 * RP_ROW);
    kw_buf_printf(b, "</svg>\n<figcaption>Race plot. Each idle gap on this server's "
                     "connections, placed by what followed it. Dashed: the server's observed "
                     "idle timeout; dotted: the timeout it advertised. Requests right of the "
                     "dashed line crossed the server's idle close. %" PRIu64 " of %" PRIu64
                     " points drawn (at most %d a line, a uniform sample; the counts are exact)",
                  drawn, seen, HTML_ROW_POINTS);
    if (s->reuse_unanswered)
        kw_buf_printf(b, "; %" PRIu64 " reuses got no answer for another reason (the client "
                         "closed, the capture ended) and are not drawn",
                      s->reuse_unanswered);
    kw_buf_puts(b, ".</figcaption>\n</figure>\n");
}

/* --- the histogram -------------------------------------------------------- */

#define HG_W 760
#define HG_LEFT 60
#define HG_RIGHT 20
#define HG_TOP 40
#define HG_BAR_MAX 64 /* px: a few bars stay bars */
#define HG_PLOT_H 150
#define HG_H (HG_TOP + HG_PLOT_H + 44)
#define HG_BARS_EXACT 40 /* bars for the counts below HTML_HIST_EXACT */

struct bar {
    uint64_t from, to, count;
};

/* The bars: one per request count while they are few, else in equal bins;
 * then one per power of two above HTML_HIST_EXACT. */
static uint32_t hist_bars(const struct html_server *s, struct bar *bars)
{
    uint32_t lo = s->hist[0] ? 0 : 1, hi = 0, n = 0;
    for (uint32_t i = 0; i < HTML_HIST_EXACT; i++)
        if (s->hist[i])
            hi = i;
    int64_t cap = s->has_policy ? s->policy.observed_max_requests : -1;
    if (cap >= 0 && cap < HTML_HIST_EXACT && (uint32_t)cap > hi)
        hi = (uint32_t)cap;
    if (hi < lo)
        hi = lo;
    int top = -1;
    for (int k = 0; k < HTML_HIST_POW2; k++)
        if (s->hist_pow2[k])
            top = k;
    uint32_t width = (hi - lo + HG_BARS_EXACT) / HG_BARS_EXACT;
    for (uint32_t from = lo; from <= hi; from += width) {
        struct bar *br = &bars[n++];
        br->from = from;
        br->to = from + width - 1 < HTML_HIST_EXACT - 1 ? from + width - 1 : HTML_HIST_EXACT - 1;
        br->count = 0;
        for (uint64_t i = br->from; i <= br->to; i++)
            br->count += s->hist[i];
    }
    for (int k = 0; k <= top; k++)
        bars[n++] = (struct bar){ 256ull << k, (512ull << k) - 1, s->hist_pow2[k] };
    return n;
}

static double bar_width(uint32_t n)
{
    double w = (double)(HG_W - HG_LEFT - HG_RIGHT) / n;
    return w < HG_BAR_MAX ? w : HG_BAR_MAX;
}

static void hist_bar(struct kw_buf *b, const struct bar *br, uint32_t i, uint32_t n,
                     uint64_t ymax, bool is_cap)
{
    double w = bar_width(n);
    double h = ymax ? (double)HG_PLOT_H * (double)br->count / (double)ymax : 0;
    double x = HG_LEFT + w * i;
    kw_buf_printf(b, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                     "data-from=\"%" PRIu64 "\" data-to=\"%" PRIu64 "\" data-count=\"%" PRIu64
                     "\"><title>",
                  is_cap ? "bar bar-cap" : "bar", x + 1, HG_TOP + HG_PLOT_H - h,
                  w > 3 ? w - 2 : w, h, br->from, br->to, br->count);
    kw_buf_printf(b, "%" PRIu64 " connections with ", br->count);
    if (br->from == br->to)
        kw_buf_printf(b, "%" PRIu64 " requests</title></rect>\n", br->from);
    else
        kw_buf_printf(b, "%" PRIu64 " to %" PRIu64 " requests</title></rect>\n", br->from, br->to);
    if (br->count && w >= 14)
        kw_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%" PRIu64 "</text>\n",
                      x + w / 2, HG_TOP + HG_PLOT_H - h - 3, br->count);
    uint32_t every = (n + 19) / 20;
    if (i % every == 0) {
        kw_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%" PRIu64, x + w / 2,
                      HG_TOP + HG_PLOT_H + 14, br->from);
        if (br->to != br->from)
            kw_buf_printf(b, "&ndash;%" PRIu64, br->to);
        kw_buf_puts(b, "</text>\n");
    }
}

static void hist_cap(struct kw_buf *b, uint32_t i, uint32_t n, int64_t cap)
{
    double w = bar_width(n), x = HG_LEFT + w * (i + 1); /* right of its bar: none past it */
    kw_buf_printf(b, "<line class=\"cap\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                     "data-field=\"observed_max_requests\" data-value=\"%" PRId64 "\"/>"
                     "<text class=\"t-lost\" x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">observed cap: "
                     "closes after %" PRId64 " requests</text>\n",
                  x, HG_TOP - 22, x, HG_TOP + HG_PLOT_H, cap, x, HG_TOP - 26,
                  x > HG_W * 0.7 ? "end" : x < HG_W * 0.3 ? "start" : "middle", cap);
}

void html_histogram(struct kw_buf *b, const struct html_server *s, uint32_t index)
{
    struct bar bars[HG_BARS_EXACT + 1 + HTML_HIST_POW2];
    uint32_t n = hist_bars(s, bars);
    uint64_t ymax = 0;
    for (uint32_t i = 0; i < n; i++)
        ymax = bars[i].count > ymax ? bars[i].count : ymax;
    int64_t cap = s->has_policy ? s->policy.observed_max_requests : -1;
    kw_buf_printf(b, "<figure class=\"histogram\" id=\"histogram-%u\">\n<svg class=\"req-histogram\""
                     " xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
                     "height=\"%d\" role=\"img\" data-connections=\"%" PRIu64 "\">\n"
                     "<title>Requests per connection</title>\n",
                  index + 1, HG_W, HG_H, HG_W, HG_H, s->connections);
    kw_buf_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                     "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%" PRIu64 "</text>"
                     "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n",
                  HG_LEFT, HG_TOP + HG_PLOT_H, HG_W - HG_RIGHT, HG_TOP + HG_PLOT_H, HG_LEFT - 6,
                  HG_TOP + 4, ymax, HG_LEFT - 6, HG_TOP + HG_PLOT_H);
    for (uint32_t i = 0; i < n; i++) {
        bool is_cap = cap >= 0 && (uint64_t)cap >= bars[i].from && (uint64_t)cap <= bars[i].to;
        hist_bar(b, &bars[i], i, n, ymax, is_cap);
        if (is_cap)
            hist_cap(b, i, n, cap);
    }
    kw_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"mute\">requests on "
                     "the connection</text>\n<text x=\"14\" y=\"%d\" class=\"mute\" "
                     "transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">connections</text>\n"
                     "</svg>\n<figcaption>Requests per connection: how many connections carried "
                     "how many requests (%" PRIu64 " connection%s)",
                  (HG_W + HG_LEFT) / 2, HG_TOP + HG_PLOT_H + 34, HG_TOP + HG_PLOT_H / 2,
                  HG_TOP + HG_PLOT_H / 2, s->connections, s->connections == 1 ? "" : "s");
    if (cap >= 0)
        kw_buf_printf(b, "; the dashed line is the observed cap, %" PRId64 " requests", cap);
    kw_buf_puts(b, ".</figcaption>\n</figure>\n");
}

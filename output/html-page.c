/* html-page.c: the page of the HTML report. One self-contained file: its
 * style inline, its figures inline SVG drawn here, no script, nothing
 * fetched; readable offline and printable. Every number the JSON also gives
 * is written as the JSON writes it (seconds with six decimals, counts), as
 * the text people read and in a data-value attribute beside a data-field
 * naming the JSON field, so that a test compares the two. */
#include "output/escape.h"
#include "output/html-impl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void html_secs(struct kw_buf *b, kw_usec d)
{
    char s[KW_DURATION_LEN];
    kw_buf_put(b, s, kw_time_secs(d, s));
}

void html_field_u64(struct kw_buf *b, const char *name, uint64_t v)
{
    kw_buf_printf(b, " data-field=\"%s\" data-value=\"", name);
    kw_buf_u64(b, v);
    kw_buf_put(b, "\"", 1);
}

void html_field_secs(struct kw_buf *b, const char *name, kw_usec d)
{
    kw_buf_printf(b, " data-field=\"%s\" data-value=\"", name);
    if (d == KW_TS_NONE)
        kw_buf_puts(b, "null");
    else
        html_secs(b, d);
    kw_buf_put(b, "\"", 1);
}

/* A number people read, marked with the JSON field it is. */
static void num_u64(struct kw_buf *b, const char *name, uint64_t v)
{
    kw_buf_puts(b, "<span class=\"num\"");
    html_field_u64(b, name, v);
    kw_buf_put(b, ">", 1);
    kw_buf_u64(b, v);
    kw_buf_puts(b, "</span>");
}

static void num_secs(struct kw_buf *b, const char *name, kw_usec d)
{
    kw_buf_puts(b, "<span class=\"num\"");
    html_field_secs(b, name, d);
    kw_buf_put(b, ">", 1);
    html_secs(b, d);
    kw_buf_puts(b, "</span> s");
}

/* A table cell: a count, a duration (or null), or a word (true, false, null, a name). */
static void cell_u64(struct kw_buf *b, const char *name, uint64_t v)
{
    kw_buf_puts(b, "<td class=\"n\"");
    html_field_u64(b, name, v);
    kw_buf_put(b, ">", 1);
    kw_buf_u64(b, v);
    kw_buf_puts(b, "</td>");
}

static void cell_secs(struct kw_buf *b, const char *name, kw_usec d)
{
    kw_buf_puts(b, "<td class=\"n\"");
    html_field_secs(b, name, d);
    kw_buf_put(b, ">", 1);
    if (d == KW_TS_NONE)
        kw_buf_puts(b, "null");
    else
        html_secs(b, d);
    kw_buf_puts(b, "</td>");
}

static void cell_word(struct kw_buf *b, const char *name, const char *v)
{
    kw_buf_printf(b, "<td class=\"n\" data-field=\"%s\" data-value=\"%s\">%s</td>", name, v, v);
}

static void cell_count_or_null(struct kw_buf *b, const char *name, int64_t v)
{
    if (v < 0)
        cell_word(b, name, "null");
    else
        cell_u64(b, name, (uint64_t)v);
}

static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

static const char *tristate(int v)
{
    return v < 0 ? "null" : v ? "true" : "false";
}

static void page_head(struct kw_buf *b)
{
    kw_buf_puts(b,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"keepwatch\">\n<title>keepwatch report</title>\n"
        "<style>\n"
        ":root{--ok:#2b8a3e;--lost:#c92a2a;--srv:#e8590c;--cli:#7048e8;--obs:#1864ab;"
        "--adv:#5c940d;--ink:#212529;--mute:#6c757d}\n"
        "body{font:14px/1.45 system-ui,\"DejaVu Sans\",sans-serif;color:var(--ink);"
        "max-width:1000px;margin:1.5em auto;padding:0 1em}\n"
        "h1{font-size:1.6em;margin:.2em 0}h2{border-bottom:1px solid #dee2e6;"
        "padding-bottom:.2em;margin-top:2em}h3{margin:.2em 0;font-size:1.1em}\n"
        "code,.mono{font-family:\"DejaVu Sans Mono\",monospace;font-size:.9em}\n"
        "table{border-collapse:collapse;margin:.5em 0}td,th{padding:.15em .6em;"
        "border-bottom:1px solid #e9ecef;text-align:left;vertical-align:top}"
        "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
        "figure{margin:1em 0;break-inside:avoid}figcaption{color:#495057;font-size:.9em;"
        "max-width:760px}\n"
        "svg{max-width:100%;height:auto}svg text{font:11px system-ui,\"DejaVu Sans\","
        "sans-serif;fill:var(--ink)}svg .mute{fill:var(--mute)}\n"
        ".sev-error b,.sev-error{color:var(--lost)}.sev-warning b,.sev-warning{color:#d9480f}"
        ".sev-notice b,.sev-notice{color:#1971c2}li.finding{color:var(--ink);margin:.3em 0}\n"
        ".ref,.note{color:var(--mute)}.conn{border-top:1px solid #dee2e6;margin-top:1.5em}\n"
        ".band{fill:#f8f9fa}.axis{stroke:#495057}.grid{stroke:#e9ecef}"
        ".p-ok{fill:var(--ok);fill-opacity:.75}.p-lost{fill:none;stroke:var(--lost);stroke-width:2.5}"
        ".p-srv{fill:var(--srv);fill-opacity:.8}.p-cli{fill:var(--cli);fill-opacity:.8}"
        ".l-obs{stroke:var(--obs);stroke-width:2;stroke-dasharray:6 4}"
        ".l-adv{stroke:var(--adv);stroke-width:2;stroke-dasharray:2 3}"
        ".t-obs{fill:var(--obs)}.t-adv{fill:var(--adv)}.t-lost{fill:var(--lost);stroke:none}\n"
        ".bar{fill:#74c0fc}.bar-cap{fill:#1c7ed6}.cap{stroke:var(--lost);stroke-width:2;"
        "stroke-dasharray:5 3}\n"
        ".col{stroke:#adb5bd;stroke-width:3}.arr{stroke:#343a40;stroke-width:1.5;fill:none}"
        ".head{fill:#343a40}.lost .arr{stroke:var(--lost)}.lost .head,.rst .head{fill:var(--lost)}"
        ".fin .arr{stroke:var(--srv)}.fin .head{fill:var(--srv)}.rst .arr{stroke:var(--lost)}"
        ".gap{stroke:#adb5bd;stroke-dasharray:3 3}.brk{fill:#fff;stroke:#868e96}"
        ".end{stroke:#868e96;stroke-dasharray:8 4}\n"
        "@media print{body{max-width:none;margin:0}nav{display:none}"
        "section.server,article.conn{break-inside:avoid-page}h2,h3{break-after:avoid}}\n"
        "</style>\n</head>\n<body>\n");
}

/* The heading: what was read, and where to go. */
static void page_intro(struct kw_out *o, struct kw_buf *b, const struct html_state *st,
                       const struct kw_stats *stats, kw_usec ts)
{
    char when[KW_ISO8601_LEN];
    kw_buf_puts(b, "<header>\n<h1>keepwatch report</h1>\n<p>");
    if (st->started) {
        kw_buf_puts(b, "From the first handshake at <span class=\"mono\">");
        kw_buf_put(b, when, out_iso8601(o, st->first_start, when));
        kw_buf_puts(b, "</span> ");
    }
    if (ts != KW_TS_NONE) {
        kw_buf_puts(b, "to the last packet at <span class=\"mono\">");
        kw_buf_put(b, when, out_iso8601(o, ts, when));
        kw_buf_puts(b, "</span>");
    }
    kw_buf_printf(b, ": %" PRIu64 " packet%s, %" PRIu64 " connection%s, %" PRIu64
                     " request%s, %" PRIu64 " lost.</p>\n<nav><p>",
                  stats->packets, plural(stats->packets), stats->connections,
                  plural(stats->connections), stats->requests, plural(stats->requests),
                  stats->lost_requests);
    for (uint32_t i = 0; i < st->n_servers; i++) {
        if (!st->servers[i]->has_policy && !st->servers[i]->n_findings)
            continue;
        kw_buf_printf(b, "<a href=\"#server-%u\">server ", i + 1);
        out_endpoint(b, &st->servers[i]->ep);
        kw_buf_puts(b, "</a> &middot; ");
    }
    kw_buf_puts(b, "<a href=\"#connections\">connections with findings</a> &middot; "
                   "<a href=\"#totals\">totals</a></p></nav>\n</header>\n");
}

/* The policy, in words, as the text report says it. */
static void policy_words(struct kw_buf *b, const struct kw_server_policy *p)
{
    const char *how = p->announces_close == 1   ? ", announced"
                      : p->announces_close == 0 ? ", without announcing it" : "";
    kw_buf_puts(b, "<p class=\"policy\">");
    num_u64(b, "connections", p->connections);
    kw_buf_printf(b, " connection%s, ", plural(p->connections));
    num_u64(b, "requests", p->requests);
    kw_buf_printf(b, " request%s. ", plural(p->requests));
    if (p->observed_max_requests >= 0) {
        kw_buf_puts(b, "Closes after ");
        num_u64(b, "observed_max_requests", (uint64_t)p->observed_max_requests);
        kw_buf_printf(b, " request%s%s. ", plural((uint64_t)p->observed_max_requests), how);
    } else if (p->announces_close >= 0) {
        kw_buf_printf(b, "Closes connections after a response%s. ", how);
    }
    if (p->observed_idle_timeout != KW_TS_NONE) {
        kw_buf_puts(b, "Closes connections idle for ");
        num_secs(b, "observed_idle_timeout_s", p->observed_idle_timeout);
        kw_buf_puts(b, " (");
        num_u64(b, "idle_closes", p->idle_closes);
        kw_buf_printf(b, " idle close%s). ", plural(p->idle_closes));
    } else {
        kw_buf_puts(b, "No idle close seen. ");
    }
    if (p->advertised_timeout_s < 0 && p->advertised_max < 0)
        kw_buf_puts(b, "Advertises no Keep-Alive header. ");
    else
        kw_buf_puts(b, "Advertises Keep-Alive");
    if (p->advertised_timeout_s >= 0) {
        kw_buf_puts(b, " timeout=");
        num_u64(b, "advertised_timeout_s", (uint64_t)p->advertised_timeout_s);
    }
    if (p->advertised_max >= 0) {
        kw_buf_puts(b, " max=");
        num_u64(b, "advertised_max", (uint64_t)p->advertised_max);
    }
    if (p->advertised_timeout_s >= 0 || p->advertised_max >= 0)
        kw_buf_puts(b, ". ");
    if (p->longest_idle_reuse != KW_TS_NONE) {
        kw_buf_puts(b, "Clients reused its connections after up to ");
        num_secs(b, "longest_idle_reuse_s", p->longest_idle_reuse);
        kw_buf_puts(b, " idle. ");
    }
    if (p->racing) {
        kw_buf_puts(b, "<b class=\"sev-warning\">Racing</b>: ");
        num_u64(b, "requests_lost_to_idle_close", p->lost_to_idle);
        kw_buf_printf(b, " request%s crossed its idle closes; keep the clients' idle timeout "
                       "(connection pool, load balancer) below the server's minus a round trip, "
                       "or raise the server's above the clients'.",
                      plural(p->lost_to_idle));
    }
    kw_buf_puts(b, "</p>\n");
}

/* Every number of the server's JSON event, in a table. */
static void policy_table(struct kw_buf *b, const struct kw_server_policy *p)
{
    kw_buf_puts(b, "<table class=\"policy-numbers\"><tr><th>connections</th><th>requests</th>"
                   "<th>observed max requests</th><th>observed idle timeout (s)</th>"
                   "<th>advertised timeout (s)</th><th>advertised max</th>"
                   "<th>longest idle reuse (s)</th></tr>\n<tr>");
    cell_u64(b, "connections", p->connections);
    cell_u64(b, "requests", p->requests);
    cell_count_or_null(b, "observed_max_requests", p->observed_max_requests);
    cell_secs(b, "observed_idle_timeout_s", p->observed_idle_timeout);
    cell_count_or_null(b, "advertised_timeout_s", p->advertised_timeout_s);
    cell_count_or_null(b, "advertised_max", p->advertised_max);
    cell_secs(b, "longest_idle_reuse_s", p->longest_idle_reuse);
    kw_buf_puts(b, "</tr>\n<tr><th>announces close</th><th>honors HTTP/1.0 keep-alive</th>"
                   "<th>racing</th><th>idle closes</th><th>max-request closes</th>"
                   "<th>requests lost to idle closes</th><th>announces close after</th></tr>\n"
                   "<tr>");
    cell_word(b, "announces_close", tristate(p->announces_close));
    cell_word(b, "honors_http10_keepalive", tristate(p->honors_http10_keepalive));
    cell_word(b, "racing", p->racing ? "true" : "false");
    cell_u64(b, "idle_closes", p->idle_closes);
    cell_u64(b, "max_request_closes", p->max_closes);
    cell_u64(b, "requests_lost_to_idle_close", p->lost_to_idle);
    cell_count_or_null(b, "close_announced_after_requests", p->close_announced_after);
    kw_buf_puts(b, "</tr></table>\n");
}

static void findings_by_rule(struct kw_buf *b, const struct kw_server_policy *p)
{
    bool any = false;
    for (int i = 0; i < KW_RULE_COUNT; i++) {
        if (!p->findings[i])
            continue;
        const char *name = kw_rule_name((enum kw_rule)i);
        if (!any)
            kw_buf_puts(b, "<table class=\"findings-by-rule\"><tr><th>rule</th>"
                           "<th>findings</th></tr>\n");
        any = true;
        kw_buf_printf(b, "<tr data-rule=\"%s\"><td><code>%s</code></td>", name, name);
        char field[64];
        snprintf(field, sizeof(field), "findings.%s", name);
        cell_u64(b, field, p->findings[i]);
        kw_buf_puts(b, "</tr>\n");
    }
    kw_buf_puts(b, any ? "</table>\n" : "<p class=\"findings-by-rule\">No findings.</p>\n");
}

static void server_section(struct kw_out *o, struct kw_buf *b, const struct html_server *s,
                           uint32_t index)
{
    kw_buf_printf(b, "<section class=\"server\" id=\"server-%u\" data-server-ip=\"", index + 1);
    out_endpoint_ip(b, &s->ep);
    kw_buf_printf(b, "\" data-server-port=\"%u\">\n<h2>Server ", s->ep.port);
    out_endpoint(b, &s->ep);
    if (s->has_policy && s->policy.software) {
        kw_buf_puts(b, " <span class=\"note\">");
        kw_buf_html(b, s->policy.software, s->policy.software_len);
        kw_buf_puts(b, "</span>");
    }
    kw_buf_puts(b, "</h2>\n");
    if (s->has_policy) {
        policy_words(b, &s->policy);
        policy_table(b, &s->policy);
        html_race_plot(b, s, index);
        html_histogram(b, s, index);
        kw_buf_puts(b, "<h3>Findings by rule</h3>\n");
        findings_by_rule(b, &s->policy);
    } else {
        kw_buf_puts(b, "<p class=\"policy\">No HTTP exchange seen.</p>\n");
    }
    if (s->n_findings) {
        kw_buf_puts(b, "<h3>About the server as a whole</h3>\n<ul class=\"server-findings\">\n");
        kw_buf_put(b, s->findings.p, s->findings.len);
        if (s->n_findings > HTML_FINDINGS_MAX)
            kw_buf_printf(b, "<li class=\"note\">%u more (the JSON has every one)</li>\n",
                          s->n_findings - HTML_FINDINGS_MAX);
        kw_buf_puts(b, "</ul>\n");
    }
    kw_buf_puts(b, "</section>\n");
    kw_buf_write(b, o->f);
}

/* Worst first: severity, then number of findings, then the earlier. */
static int kept_order(const void *pa, const void *pb)
{
    const struct html_kept *a = *(const struct html_kept *const *)pa;
    const struct html_kept *b = *(const struct html_kept *const *)pb;
    if (a->rec.worst != b->rec.worst)
        return a->rec.worst > b->rec.worst ? -1 : 1;
    if (a->rec.n_findings != b->rec.n_findings)
        return a->rec.n_findings > b->rec.n_findings ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static void conn_summary(struct kw_out *o, struct kw_buf *b, const struct html_kept *k)
{
    char when[KW_ISO8601_LEN];
    const struct kw_conn_end *e = &k->end;
    kw_buf_printf(b, "<article class=\"conn\" id=\"conn-%" PRIu64 "\" data-conn=\"%" PRIu64
                     "\">\n<h3>#%" PRIu64 " <span class=\"mono\">",
                  k->id, k->id, k->id);
    kw_buf_put(b, when, out_iso8601(o, k->start, when));
    kw_buf_puts(b, "</span> ");
    out_endpoint(b, &k->key.client);
    kw_buf_puts(b, " &rarr; ");
    out_endpoint(b, &k->key.server);
    kw_buf_puts(b, "</h3>\n<table class=\"conn-numbers\"><tr><th>requests</th><th>responses</th>"
                   "<th>reused</th><th>closed by</th><th>close</th><th>announced</th>"
                   "<th>idle before close (s)</th><th>lost</th><th>duration (s)</th></tr>\n<tr>");
    cell_u64(b, "requests", e->requests);
    cell_u64(b, "responses", e->responses);
    cell_word(b, "reused", e->reused ? "true" : "false");
    cell_word(b, "closed_by", out_side_name(e->closed_by));
    cell_word(b, "close", out_close_name(e->close));
    cell_word(b, "close_announced", e->close_announced ? "true" : "false");
    cell_secs(b, "idle_before_close_s", e->idle_before_close);
    cell_u64(b, "lost_requests", e->lost_requests);
    cell_secs(b, "duration_s", e->end_ts - k->start);
    kw_buf_puts(b, "</tr></table>\n<p class=\"note\">Wireshark filter: <code>");
    out_wireshark_filter(b, &k->key);
    kw_buf_puts(b, "</code></p>\n");
}

/* Each finding: what the ladder marks, in full. */
static void conn_findings(struct kw_buf *b, const struct html_kept *k)
{
    const struct html_conn *r = &k->rec;
    uint32_t n = r->n_findings < HTML_FINDINGS_MAX ? r->n_findings : HTML_FINDINGS_MAX;
    kw_buf_puts(b, "<ol class=\"findings\">\n");
    for (uint32_t i = 0; i < n; i++) {
        const struct html_finding *f = &r->findings[i];
        const char *sev = kw_severity_name((enum kw_severity)f->severity);
        const char *rule = kw_rule_name((enum kw_rule)f->rule);
        kw_buf_printf(b, "<li class=\"finding sev-%s\" id=\"conn-%" PRIu64 "-finding-%u\" "
                         "data-rule=\"%s\" data-severity=\"%s\" data-request=\"",
                      sev, k->id, i + 1, rule, sev);
        if (f->request)
            kw_buf_u64(b, f->request);
        else
            kw_buf_puts(b, "null");
        kw_buf_puts(b, "\" data-frames=\"");
        for (int j = 0; j < f->n_frames; j++)
            kw_buf_printf(b, "%s%" PRIu64, j ? "," : "", f->frames[j]);
        kw_buf_printf(b, "\"><b>%s</b> <code>%s</code> (%s): ", sev, rule,
                      out_side_name((enum kw_side)f->side));
        kw_buf_put(b, r->messages.p + f->msg_off, f->msg_len);
        kw_buf_printf(b, " <span class=\"ref\">(%s)", kw_rule_reference((enum kw_rule)f->rule));
        for (int j = 0; j < f->n_frames; j++)
            kw_buf_printf(b, "%s%" PRIu64, j ? ", " : f->n_frames > 1 ? " frames " : " frame ",
                          f->frames[j]);
        kw_buf_puts(b, "</span></li>\n");
    }
    if (r->n_findings > n)
        kw_buf_printf(b, "<li class=\"note\">%u more (the JSON has every one)</li>\n",
                      r->n_findings - n);
    kw_buf_puts(b, "</ol>\n</article>\n");
}

static void connections_section(struct kw_out *o, struct kw_buf *b, const struct html_state *st)
{
    struct html_kept *sorted[HTML_CONNS_MAX];
    memcpy(sorted, st->kept, st->n_kept * sizeof(sorted[0]));
    qsort(sorted, st->n_kept, sizeof(sorted[0]), kept_order);
    kw_buf_printf(b, "<section id=\"connections\">\n<h2>Connections with findings</h2>\n"
                     "<p class=\"note\" data-field=\"connections_with_findings\" data-value=\"%"
                     PRIu64 "\">",
                  st->conns_with_findings);
    if (!st->conns_with_findings)
        kw_buf_puts(b, "None.");
    else
        kw_buf_printf(b, "%" PRIu64 " connection%s had a finding; %s %u, worst first (severity, "
                         "then number of findings; at most %d are drawn). Time runs down; the "
                         "client is on the left, the server on the right.",
                      st->conns_with_findings, st->conns_with_findings == 1 ? "" : "s",
                      st->conns_with_findings > st->n_kept ? "the ladders show" : "all drawn:",
                      st->n_kept, HTML_CONNS_MAX);
    kw_buf_puts(b, "</p>\n");
    kw_buf_write(b, o->f);
    for (uint32_t i = 0; i < st->n_kept; i++) {
        conn_summary(o, b, sorted[i]);
        html_ladder(b, sorted[i]);
        conn_findings(b, sorted[i]);
        kw_buf_write(b, o->f);
    }
    kw_buf_puts(b, "</section>\n");
}

static void totals_section(struct kw_buf *b, const struct html_state *st,
                           const struct kw_stats *s)
{
    static const char *const names[] = { "packets", "bytes", "connections", "http_connections",
                                         "requests", "responses", "lost_requests", "not_http" };
    const uint64_t values[] = { s->packets, s->bytes, s->connections, s->http_connections,
                                s->requests, s->responses, s->lost_requests, s->not_http };
    kw_buf_puts(b, "<section id=\"totals\">\n<h2>Totals</h2>\n<table id=\"totals-table\">\n");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        kw_buf_printf(b, "<tr><th>%s</th>", names[i]);
        cell_u64(b, names[i], values[i]);
        kw_buf_puts(b, "</tr>\n");
    }
    kw_buf_puts(b, "</table>\n");
    struct out_count counts[OUT_COUNTS_MAX];
    size_t n_counts = out_skipped_counts(s, counts);
    kw_buf_puts(b, "<h3>What was skipped</h3>\n<table id=\"skipped\">\n");
    for (size_t i = 0; i < n_counts; i++) {
        if (!counts[i].n || !counts[i].label[0])
            continue;
        kw_buf_printf(b, "<tr><th>%s</th>", counts[i].label);
        cell_u64(b, counts[i].key, counts[i].n);
        kw_buf_puts(b, "</tr>\n");
    }
    kw_buf_printf(b, "<tr><th>servers not drawn (the report draws the first %d seen; the JSON "
                     "has every one)</th><td class=\"n\" id=\"servers-not-drawn\">%" PRIu64
                     "</td></tr>\n",
                  HTML_SERVERS_MAX, st->servers_not_drawn);
    kw_buf_printf(b, "<tr><th>connections to those servers</th><td class=\"n\" "
                     "id=\"conns-not-drawn\">%" PRIu64 "</td></tr>\n",
                  st->conns_not_drawn);
    kw_buf_printf(b, "<tr><th>connections with findings not drawn (at most %d ladders)</th>"
                     "<td class=\"n\" id=\"ladders-not-drawn\">%" PRIu64 "</td></tr>\n</table>\n"
                     "</section>\n",
                  HTML_CONNS_MAX, st->conns_with_findings - st->n_kept);
}

static void page_foot(struct kw_buf *b)
{
    kw_buf_printf(b,
        "<footer>\n<h2>How to read it</h2>\n<p class=\"note\">The race plot puts each idle gap "
        "of a server's connections on a line by what came after it: a request that reused the "
        "connection and got its answer, a request that was lost, a close by the server, a close "
        "by the client (closes with a request outstanding are left out; closes right after a "
        "response sit near zero). Requests right of the server's idle timeout are the race: "
        "the client's idle timeout is longer than the server's. Each line keeps at most %d "
        "points, a uniform sample; its count is exact. The histogram counts connections by "
        "the requests they carried; the observed cap is the number after which the server "
        "closed. A ladder keeps a connection's first %d and last %d events. Numbers are "
        "written as the JSON (--json) writes them.</p>\n</footer>\n</body>\n</html>\n",
        HTML_ROW_POINTS, HTML_EVENTS_HEAD, HTML_EVENTS_TAIL);
}

void html_page(struct kw_out *o, const struct html_state *st, const struct kw_stats *stats,
               kw_usec ts)
{
    struct kw_buf *b = &o->buf;
    b->len = 0;
    page_head(b);
    page_intro(o, b, st, stats, ts);
    kw_buf_write(b, o->f);
    for (uint32_t i = 0; i < st->n_servers; i++) /* a server without HTTP has nothing to say */
        if (st->servers[i]->has_policy || st->servers[i]->n_findings)
            server_section(o, b, st->servers[i], i);
    connections_section(o, b, st);
    totals_section(b, st, stats);
    page_foot(b);
    kw_buf_write(b, o->f);
}

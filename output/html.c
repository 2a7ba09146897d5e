/* html.c: the HTML report (--report=FILE), a consumer like the text and JSON
 * writers. It keeps bounded aggregates per server (the points of its race
 * plot as a uniform sample, its requests-per-connection histogram as counts),
 * a record of each open connection's ladder events, kept at the connection's
 * end only if it had a finding (at most HTML_CONNS_MAX, worst first), and
 * writes the whole page at the totals (html-page.c). Writing it again later
 * (a live capture's summaries) is one more kw_out_stats(): the page is then
 * rewritten from the start. */
#include "output/escape.h"
#include "output/html-impl.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *html_alloc(void *p, size_t n, size_t size)
{
    void *q = p ? realloc(p, n * size) : calloc(n, size);
    if (!q) {
        fputs("keepwatch: out of memory for the HTML report\n", stderr);
        exit(2);
    }
    return q;
}

/* --- servers ----------------------------------------------------------- */

/* The server's index, its record made if there is room; -1 past HTML_SERVERS_MAX. */
static int server_index(struct html_state *st, const struct kw_endpoint *ep)
{
    for (uint32_t i = 0; i < st->n_servers; i++)
        if (out_endpoint_eq(&st->servers[i]->ep, ep))
            return (int)i;
    if (st->n_servers == HTML_SERVERS_MAX)
        return -1;
    struct html_server *s = html_alloc(NULL, 1, sizeof(*s));
    s->ep = *ep;
    s->rng = 0x9e3779b97f4a7c15ull ^ (st->n_servers + 1); /* never 0: xorshift's fixed point */
    st->servers[st->n_servers] = s;
    return (int)st->n_servers++;
}

static struct html_server *conn_server(struct html_state *st, struct html_conn *hc,
                                       const struct kw_conn_info *c)
{
    if (hc->no_server)
        return NULL;
    if (!hc->server1) {
        int i = server_index(st, &c->key.server);
        if (i < 0) {
            hc->no_server = true;
            return NULL;
        }
        hc->server1 = (uint32_t)i + 1;
    }
    return st->servers[hc->server1 - 1];
}

/* xorshift64 (Marsaglia 2003): cheap, and the same draws every run. */
static uint64_t next_draw(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Algorithm R: each of the points seen so far is kept with the same chance. */
static void race_add(struct html_server *s, enum race_row row, kw_usec idle, uint64_t conn,
                     uint32_t request)
{
    struct race_sample *r = &s->rows[row];
    struct race_point p = { idle, conn, request };
    r->seen++;
    if (r->n < HTML_ROW_POINTS) {
        r->pts[r->n++] = p;
        return;
    }
    uint64_t j = next_draw(&s->rng) % r->seen;
    if (j < HTML_ROW_POINTS)
        r->pts[j] = p;
}

static void hist_add(struct html_server *s, uint32_t requests)
{
    if (requests < HTML_HIST_EXACT) {
        s->hist[requests]++;
        return;
    }
    int k = 31 - __builtin_clz(requests); /* requests >= 256: k >= 8 */
    s->hist_pow2[k - 8]++;
}

/* --- ladders ----------------------------------------------------------- */

/* The next event's place: the head while it has room, then the ring. */
static struct ladder_event *ladder_slot(struct html_ladder *l)
{
    struct ladder_event *e;
    if (l->n < HTML_EVENTS_HEAD) {
        if (l->n == l->cap) {
            uint32_t cap = l->cap ? l->cap * 2 : 8;
            l->cap = cap < HTML_EVENTS_HEAD ? cap : HTML_EVENTS_HEAD;
            l->ev = html_alloc(l->ev, l->cap, sizeof(*l->ev));
        }
        e = &l->ev[l->n++];
    } else {
        if (l->cap < HTML_EVENTS_HEAD + HTML_EVENTS_TAIL) {
            l->cap = HTML_EVENTS_HEAD + HTML_EVENTS_TAIL;
            l->ev = html_alloc(l->ev, l->cap, sizeof(*l->ev));
        }
        e = &l->ev[HTML_EVENTS_HEAD + l->n_tail++ % HTML_EVENTS_TAIL];
    }
    memset(e, 0, sizeof(*e));
    e->idle = KW_TS_NONE;
    e->ka_timeout = -1;
    return e;
}

static struct ladder_event *ladder_add(struct html_ladder *l, enum ladder_kind kind,
                                       enum kw_side side, kw_usec ts, uint64_t frame)
{
    struct ladder_event *e = ladder_slot(l);
    e->kind = (uint8_t)kind;
    e->side = (uint8_t)side;
    e->t0 = e->t1 = ts;
    e->f0 = e->f1 = frame;
    return e;
}

void html_ladder_sorted(const struct html_ladder *l, struct ladder_event *out, uint32_t *n,
                        uint32_t *break_at, uint32_t *not_drawn)
{
    bool tail[HTML_EVENTS_HEAD + HTML_EVENTS_TAIL];
    uint32_t k = 0, in_ring = l->n_tail < HTML_EVENTS_TAIL ? l->n_tail : HTML_EVENTS_TAIL;
    for (uint32_t i = 0; i < l->n; i++, k++) {
        out[k] = l->ev[i];
        tail[k] = false;
    }
    for (uint32_t i = 0; i < in_ring; i++, k++) {
        out[k] = l->ev[HTML_EVENTS_HEAD + i];
        tail[k] = true;
    }
    for (uint32_t i = 1; i < k; i++) { /* stable: most events come in order */
        struct ladder_event x = out[i];
        bool xt = tail[i];
        uint32_t j = i;
        for (; j > 0 && out[j - 1].t0 > x.t0; j--) {
            out[j] = out[j - 1];
            tail[j] = tail[j - 1];
        }
        out[j] = x;
        tail[j] = xt;
    }
    *n = k;
    *not_drawn = l->n_tail > HTML_EVENTS_TAIL ? l->n_tail - HTML_EVENTS_TAIL : 0;
    *break_at = k;
    for (uint32_t i = 0; *not_drawn && i < k; i++)
        if (tail[i]) {
            *break_at = i;
            break;
        }
}

static void add_request(struct kw_out *o, struct html_conn *hc, const struct kw_txn *t)
{
    struct ladder_event *e = ladder_slot(&hc->ladder);
    e->kind = EV_REQ;
    e->side = KW_SIDE_CLIENT;
    e->t0 = t->req_first;
    e->t1 = t->req_last != KW_TS_NONE ? t->req_last : t->req_first;
    e->f0 = t->req_first_frame;
    e->f1 = t->req_last_frame ? t->req_last_frame : t->req_first_frame;
    e->idle = t->pipelined ? KW_TS_NONE : t->idle_before;
    e->request = t->index;
    e->version = t->req.version;
    e->no_response = t->has_response ? KW_NORESP_NONE : (uint8_t)t->no_response;
    e->flags = (uint8_t)((!t->has_response && t->no_response == KW_NORESP_LOST ? EV_LOST : 0) |
                         (t->pipelined ? EV_PIPELINED : 0) |
                         (t->after_server_fin ? EV_AFTER_FIN : 0) |
                         (!t->request_complete ? EV_CUT : 0) |
                         (t->req.conn_tokens & KW_CONN_CLOSE ? EV_CLOSE_TOKEN : 0));
    size_t m = t->method.len < HTML_LABEL_MAX - 1 ? t->method.len : HTML_LABEL_MAX - 1;
    memcpy(e->label, t->method.p, m);
    e->label[m++] = ' ';
    size_t u = t->uri.present ? out_uri_len(o, t->uri.p, t->uri.len) : 0;
    size_t room = HTML_LABEL_MAX - m;
    memcpy(e->label + m, t->uri.p, u < room ? u : room);
    e->label_len = (uint8_t)(m + (u < room ? u : room));
    if (u > room || (t->uri.truncated && u == t->uri.len))
        e->flags |= EV_LABEL_CUT;
}

static void add_response(struct html_conn *hc, const struct kw_txn *t)
{
    struct ladder_event *e = ladder_slot(&hc->ladder);
    e->kind = EV_RESP;
    e->side = KW_SIDE_SERVER;
    e->t0 = t->resp_first;
    e->t1 = t->resp_last != KW_TS_NONE ? t->resp_last : t->resp_first;
    e->f0 = t->resp_first_frame;
    e->f1 = t->resp_last_frame ? t->resp_last_frame : t->resp_first_frame;
    e->request = t->index;
    e->status = t->resp.status;
    e->version = t->resp.version;
    e->ka_timeout = t->resp.ka_timeout < 0 ? -1
                    : t->resp.ka_timeout > INT32_MAX ? INT32_MAX : (int32_t)t->resp.ka_timeout;
    e->flags = (uint8_t)((!t->response_complete ? EV_CUT : 0) |
                         (t->resp.conn_tokens & KW_CONN_CLOSE ? EV_CLOSE_TOKEN : 0));
}

/* The handshake line, at the connection's first event. */
static void conn_open(struct html_conn *hc, const struct kw_conn_info *c)
{
    if (hc->opened)
        return;
    hc->opened = true;
    ladder_add(&hc->ladder, EV_OPEN, KW_SIDE_NONE, c->start, 0);
}

/* --- events ------------------------------------------------------------ */

static void html_txn(struct kw_out *o, void *conn, struct kw_conn_info *c, const struct kw_txn *t)
{
    struct html_conn *hc = conn;
    struct html_server *s = conn_server(o->state, hc, c);
    conn_open(hc, c);
    /* a reuse after an idle gap: a point of the race plot */
    if (s && t->has_request && !t->pipelined && t->idle_before != KW_TS_NONE &&
        t->idle_before > 0) {
        if (t->has_response)
            race_add(s, RACE_ANSWERED, t->idle_before, c->id, t->index);
        else if (t->no_response == KW_NORESP_LOST)
            race_add(s, RACE_LOST, t->idle_before, c->id, t->index);
        else
            s->reuse_unanswered++;
    }
    if (t->has_request && !t->has_response &&
        (!hc->has_unanswered || t->req_first < hc->unanswered_first)) {
        hc->has_unanswered = true;
        hc->unanswered_first = t->req_first;
    }
    if (t->has_request)
        add_request(o, hc, t);
    if (t->has_response)
        add_response(hc, t);
}

/* FINs, a RST, and how the connection ended when no close ended it. */
static void ladder_close(struct html_conn *hc, const struct kw_conn_end *e)
{
    for (int d = 0; d < 2; d++)
        if (e->fin_ts[d] != KW_TS_NONE)
            ladder_add(&hc->ladder, EV_FIN, kw_side_of_sender((enum kw_dir)d), e->fin_ts[d],
                       e->fin_frame[d]);
    if (e->rst_by != KW_SIDE_NONE)
        ladder_add(&hc->ladder, EV_RST, e->rst_by, e->end_ts, e->end_frame);
    if (e->ended == KW_CLOSE_CAPTURE_END || e->ended == KW_CLOSE_TIMEOUT)
        ladder_add(&hc->ladder, EV_END, KW_SIDE_NONE, e->end_ts, 0)->reason =
            (uint8_t)(e->ended == KW_CLOSE_TIMEOUT ? e->timeout : KW_TIMEOUT_NONE);
}

/* Ranks a before b: worse severity, then more findings, then the earlier. */
static bool ranks_before(const struct html_conn *a, uint64_t a_id, const struct html_kept *b)
{
    if (a->worst != b->rec.worst)
        return a->worst > b->rec.worst;
    if (a->n_findings != b->rec.n_findings)
        return a->n_findings > b->rec.n_findings;
    return a_id < b->id;
}

static void kept_free(struct html_kept *k)
{
    free(k->rec.ladder.ev);
    free(k->rec.findings);
    kw_buf_free(&k->rec.messages);
    free(k);
}

/* Keeps the connection's record for its ladder if it ranks among the worst
 * HTML_CONNS_MAX; the record is then moved, and what it held is the kept
 * connection's. */
static void keep(struct html_state *st, const struct kw_conn_info *c, const struct kw_conn_end *e,
                 struct html_conn *hc)
{
    st->conns_with_findings++;
    uint32_t slot = st->n_kept;
    if (slot == HTML_CONNS_MAX) {
        slot = 0;
        for (uint32_t i = 1; i < st->n_kept; i++)
            if (ranks_before(&st->kept[slot]->rec, st->kept[slot]->id, st->kept[i]))
                slot = i; /* the last in rank */
        if (!ranks_before(hc, c->id, st->kept[slot]))
            return;
        kept_free(st->kept[slot]);
    } else {
        st->n_kept++;
    }
    struct html_kept *k = html_alloc(NULL, 1, sizeof(*k));
    k->id = c->id;
    k->key = c->key;
    k->start = c->start;
    k->end = *e;
    if (e->not_http) {
        snprintf(k->not_http, sizeof(k->not_http), "%s", e->not_http);
        k->end.not_http = k->not_http;
    }
    k->rec = *hc;
    memset(hc, 0, sizeof(*hc));
    st->kept[slot] = k;
}

static void html_end(struct kw_out *o, void *conn, struct kw_conn_info *c,
                     const struct kw_conn_end *e)
{
    struct html_state *st = o->state;
    struct html_conn *hc = conn;
    struct html_server *s = conn_server(st, hc, c);
    conn_open(hc, c);
    if (!st->started || c->start < st->first_start)
        st->first_start = c->start;
    st->started = true;
    if (s) {
        s->connections++;
        hist_add(s, e->requests);
        /* a close after an idle gap with nothing outstanding: a point too */
        bool outstanding = hc->has_unanswered && hc->unanswered_first < e->close_ts;
        if (e->closed_by != KW_SIDE_NONE && e->idle_before_close != KW_TS_NONE && !outstanding)
            race_add(s, e->closed_by == KW_SIDE_SERVER ? RACE_SERVER_CLOSE : RACE_CLIENT_CLOSE,
                     e->idle_before_close, c->id, 0);
    } else {
        st->conns_not_drawn++;
    }
    ladder_close(hc, e);
    if (hc->n_findings)
        keep(st, c, e, hc);
}

static void html_conn_release(void *conn)
{
    struct html_conn *hc = conn;
    free(hc->ladder.ev);
    free(hc->findings);
    kw_buf_free(&hc->messages);
}

/* The frames of every piece of evidence, ascending, each once. */
static void finding_frames(struct html_finding *h, const struct kw_finding *f)
{
    for (int i = 0; i < f->n_evidence; i++) {
        const struct kw_evidence *ev = &f->evidence[i];
        if (ev->kind != KW_EV_FRAMES || !ev->known)
            continue;
        for (int k = 0; k < ev->v.frames.n; k++) {
            uint64_t x = ev->v.frames.number[k];
            uint8_t j = 0;
            while (j < h->n_frames && h->frames[j] < x)
                j++;
            if ((j < h->n_frames && h->frames[j] == x) || h->n_frames == KW_EVIDENCE_FRAMES_MAX)
                continue;
            memmove(h->frames + j + 1, h->frames + j, (h->n_frames - j) * sizeof(x));
            h->frames[j] = x;
            h->n_frames++;
        }
    }
}

/* A finding about a server as a whole: a list item under its section. */
static void server_finding(struct kw_out *o, const struct kw_finding *f)
{
    struct html_state *st = o->state;
    int i = server_index(st, &f->server);
    if (i < 0)
        return; /* its server is not drawn: counted with its policy */
    struct html_server *s = st->servers[i];
    if (s->n_findings++ >= HTML_FINDINGS_MAX)
        return;
    const char *sev = kw_severity_name(f->severity);
    kw_buf_printf(&s->findings, "<li class=\"finding sev-%s\" data-rule=\"%s\" "
                                "data-severity=\"%s\"><b>%s</b> %s: ",
                  sev, kw_rule_name(f->rule), sev, sev, kw_rule_name(f->rule));
    out_message(o, &s->findings, f->message, &f->request_line, kw_buf_html);
    kw_buf_printf(&s->findings, " <span class=\"ref\">(%s)</span></li>\n",
                  kw_rule_reference(f->rule));
}

static void html_finding(struct kw_out *o, void *conn, struct kw_conn_info *c,
                         const struct kw_finding *f)
{
    if (!c) {
        server_finding(o, f);
        return;
    }
    struct html_conn *hc = conn;
    conn_open(hc, c);
    if (!hc->n_findings || f->severity > hc->worst)
        hc->worst = (uint8_t)f->severity;
    if (hc->n_findings++ >= HTML_FINDINGS_MAX)
        return;
    uint32_t k = hc->n_findings - 1;
    if (!(k & (k - 1))) /* 0, 1, 2, 4, 8: room for as many again */
        hc->findings = html_alloc(hc->findings, k ? 2 * k : 1, sizeof(*hc->findings));
    struct html_finding *h = &hc->findings[k];
    memset(h, 0, sizeof(*h));
    h->rule = (uint8_t)f->rule;
    h->severity = (uint8_t)f->severity;
    h->side = (uint8_t)f->side;
    h->request = f->request;
    h->ts = f->ts;
    finding_frames(h, f);
    h->msg_off = (uint32_t)hc->messages.len;
    out_message(o, &hc->messages, f->message, &f->request_line, kw_buf_html);
    h->msg_len = (uint32_t)(hc->messages.len - h->msg_off);
}

static void html_server(struct kw_out *o, const struct kw_server_policy *p)
{
    struct html_state *st = o->state;
    int i = server_index(st, &p->server);
    if (i < 0) {
        st->servers_not_drawn++;
        return;
    }
    struct html_server *s = st->servers[i];
    s->policy = *p;
    s->has_policy = true;
    s->policy.software_len = p->software && p->software_len < HTML_SOFTWARE_MAX
                                 ? p->software_len : p->software ? HTML_SOFTWARE_MAX : 0;
    if (p->software)
        memcpy(s->software, p->software, s->policy.software_len);
    s->policy.software = p->software ? s->software : NULL;
}

/* The page is written whole each time: from the start of the file when it
 * was written before (a summary) and can be. */
static void html_stats(struct kw_out *o, const struct kw_stats *st, kw_usec ts)
{
    if (ftell(o->f) > 0 && fseek(o->f, 0, SEEK_SET) == 0 && ftruncate(fileno(o->f), 0) != 0)
        fseek(o->f, 0, SEEK_END);
    html_page(o, o->state, st, ts);
}

static void html_state_release(void *state)
{
    struct html_state *st = state;
    for (uint32_t i = 0; i < st->n_servers; i++) {
        kw_buf_free(&st->servers[i]->findings);
        free(st->servers[i]);
    }
    for (uint32_t i = 0; i < st->n_kept; i++)
        kept_free(st->kept[i]);
}

const struct out_format out_format_html = {
    .name = "html",
    .state_size = sizeof(struct html_state),
    .state_release = html_state_release,
    .conn_size = sizeof(struct html_conn),
    .txn = html_txn,
    .end = html_end,
    .conn_release = html_conn_release,
    .finding = html_finding,
    .server = html_server,
    .stats = html_stats,
};

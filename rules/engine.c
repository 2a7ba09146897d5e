/* engine.c: the rule engine. It consumes the tracker's events, asks each rule
 * of the table (rules/table.h) in turn, and keeps per connection what the
 * rules need and nothing more: the last answered exchange, the first close
 * token, the Keep-Alive max in force, and notes on the last few transactions
 * for the rules decided when the connection ends. Per server it counts, in
 * server.c, bounded in number of servers. */
#include "rules/rules-impl.h"

#include <stdlib.h>
#include <string.h>

/* --- the facts, after the rules have seen a transaction --------------- */

static void remember_close_token(struct kw_rules *r, struct rules_conn *rc, const struct kw_txn *t)
{
    if (rc->close_token || !((t->req.conn_tokens & KW_CONN_CLOSE) ||
                             (t->has_response && (t->resp.conn_tokens & KW_CONN_CLOSE))))
        return;
    bool in_request = t->req.conn_tokens & KW_CONN_CLOSE;
    rc->close_token = true;
    rc->close_token_index = t->index;
    rc->close_token_by = in_request ? KW_SIDE_CLIENT : KW_SIDE_SERVER;
    rc->close_token_seen = in_request ? t->req_first : t->resp_first;
    rc->close_token_deadline = t->response_complete ? t->resp_last + r->cfg->grace : KW_TS_NONE;
}

static void remember_last_exchange(struct rules_conn *rc, const struct kw_txn *t,
                                   const struct kw_line *line)
{
    rc->have_last = true;
    rc->last_index = t->index;
    rc->last_resp_end = t->resp_last;
    rc->last_resp_frame = t->resp_last_frame;
    rc->last_req_persist = t->has_request && request_persists(&t->req);
    rc->last_req_http10_plain = t->has_request && t->req.version == 10 &&
                                !(t->req.conn_tokens & KW_CONN_KEEP_ALIVE);
    rc->last_resp_persist = response_persists(t);
    rc->last_resp_close = t->resp.conn_tokens & KW_CONN_CLOSE;
    rc->last_unframed = t->framing == KW_FRAMING_CLOSE;
    rc->last_ka_timeout = t->resp.ka_timeout;
    rc->last_line = *line;
    if (t->req_last != KW_TS_NONE && t->resp_first >= t->req_last &&
        (rc->rtt == KW_TS_NONE || t->resp_first - t->req_last < rc->rtt))
        rc->rtt = t->resp_first - t->req_last;
    if (t->idle_before != KW_TS_NONE && t->idle_before > 0 &&
        (rc->longest_idle_reuse == KW_TS_NONE || t->idle_before > rc->longest_idle_reuse))
        rc->longest_idle_reuse = t->idle_before;
}

static void remember_note(struct rules_conn *rc, const struct kw_txn *t, const struct kw_line *line)
{
    struct txn_note *n = &rc->notes[rc->n_notes++ % RULES_NOTES_MAX];
    n->index = t->index;
    n->has_request = t->has_request;
    n->has_response = t->has_response;
    n->no_response = t->no_response;
    n->req_first = t->req_first;
    n->resp_first = t->resp_first;
    n->idle_before = t->idle_before;
    n->req_frame = t->req_first_frame;
    n->line = *line;
}

/* --- timers ----------------------------------------------------------- */

static void timer_unlink(struct kw_rules *r, struct rules_conn *rc)
{
    if (rc->timer_at == KW_TS_NONE)
        return;
    *(rc->timer_prev ? &rc->timer_prev->timer_next : &r->timers_first) = rc->timer_next;
    *(rc->timer_next ? &rc->timer_next->timer_prev : &r->timers_last) = rc->timer_prev;
    rc->timer_prev = rc->timer_next = NULL;
    rc->timer_at = KW_TS_NONE;
}

/* Deadlines come nearly in time order (a response's end plus the grace):
 * inserted from the end, in O(1) for most. */
static void timer_set(struct kw_rules *r, struct rules_conn *rc, kw_usec at)
{
    timer_unlink(r, rc);
    struct rules_conn *after = r->timers_last;
    while (after && after->timer_at > at)
        after = after->timer_prev;
    rc->timer_at = at;
    rc->timer_prev = after;
    rc->timer_next = after ? after->timer_next : r->timers_first;
    *(rc->timer_next ? &rc->timer_next->timer_prev : &r->timers_last) = rc;
    *(after ? &after->timer_next : &r->timers_first) = rc;
}

void kw_rules_tick(struct kw_rules *r, kw_usec now)
{
    while (r->timers_first && r->timers_first->timer_at <= now) {
        struct rules_conn *rc = r->timers_first;
        timer_unlink(r, rc);
        struct rule_event ev = { .rules = r, .conn = rc->conn, .rc = rc, .now = now };
        for (int i = 0; i < KW_RULE_COUNT; i++)
            if (kw_rule_checks[i]->on_timer)
                kw_rule_checks[i]->on_timer(&ev);
    }
}

static void update_facts(struct kw_rules *r, struct kw_conn_info *c, struct rules_conn *rc,
                         const struct kw_txn *t, const struct kw_line *line)
{
    remember_close_token(r, rc, t);
    if (rc->close_token && !rc->close_ignored_fired && rc->close_token_deadline != KW_TS_NONE &&
        rc->timer_at == KW_TS_NONE)
        timer_set(r, rc, rc->close_token_deadline);
    /* Apache counts max down with each response: read it as the requests still allowed. */
    if (t->has_response && t->resp.ka_max >= 0)
        rc->max_requests_allowed = (uint64_t)t->index + (uint64_t)t->resp.ka_max;
    if (t->has_response && t->response_complete)
        remember_last_exchange(rc, t, line);
    if (rc->srv)
        server_count_txn(rc->srv, &c->key.client, t);
    remember_note(rc, t, line);
}

/* --- the tracker's events --------------------------------------------- */

static void send_policy(struct kw_rules *r, const struct server *s, kw_usec ts);

/* The server's record; when the table is full, the server idle the longest
 * (no connection open) is judged as at the end of input, reported and dropped
 * to make room; when every one is busy, the new server goes untracked. */
static struct server *server_of(struct kw_rules *r, const struct kw_endpoint *ep, kw_usec now)
{
    struct server *s = server_find(&r->servers, ep);
    if (s)
        return s;
    struct server *idle = server_longest_idle(&r->servers);
    if (!idle || !server_table_full(&r->servers)) { /* no memory, or all busy */
        r->servers.untracked++;
        return NULL;
    }
    for (int k = 0; k < KW_RULE_COUNT; k++)
        if (kw_rule_checks[k]->on_server)
            kw_rule_checks[k]->on_server(r, idle, now);
    send_policy(r, idle, now);
    server_replace(&r->servers, idle, ep);
    return idle;
}

static struct rules_conn *rules_conn_of(struct kw_rules *r, struct kw_conn_info *c,
                                        const struct kw_txn *t)
{
    void **slot = &c->state[r->txn_consumer.slot];
    if (!*slot) {
        struct rules_conn *rc = calloc(1, sizeof(*rc));
        if (!rc)
            return NULL;
        rc->conn = c;
        rc->rtt = KW_TS_NONE;
        rc->longest_idle_reuse = KW_TS_NONE;
        rc->timer_at = KW_TS_NONE;
        rc->srv = server_of(r, &c->key.server, t->has_request ? t->req_first : t->resp_first);
        if (rc->srv)
            server_conn_open(&r->servers, rc->srv);
        *slot = rc;
    }
    return *slot;
}

static void rules_on_txn(void *ctx, struct kw_conn_info *c, const struct kw_txn *t)
{
    struct kw_rules *r = ctx;
    struct rules_conn *rc = rules_conn_of(r, c, t);
    if (!rc)
        return;
    struct kw_line line;
    line_of_txn(&line, t);
    struct rule_event ev = { .rules = r, .conn = c, .rc = rc, .txn = t, .line = &line };
    for (int i = 0; i < KW_RULE_COUNT; i++)
        if (kw_rule_checks[i]->on_txn)
            kw_rule_checks[i]->on_txn(&ev);
    update_facts(r, c, rc, t, &line);
}

/* How the connection closed, in the terms the rules use. */
static void close_view_of(const struct rules_conn *rc, const struct kw_conn_end *e,
                          struct close_view *v)
{
    memset(v, 0, sizeof(*v));
    v->close_ts = e->closed_by != KW_SIDE_NONE ? e->close_ts : KW_TS_NONE;
    v->idle = KW_TS_NONE;
    v->server_closed = e->closed_by == KW_SIDE_SERVER;
    if (rc->have_last && v->close_ts != KW_TS_NONE) /* before the end: a retransmission */
        v->idle = v->close_ts > rc->last_resp_end ? v->close_ts - rc->last_resp_end : 0;
    for (uint32_t i = notes_first(rc); i < rc->n_notes && v->close_ts != KW_TS_NONE; i++) {
        const struct txn_note *n = note_at(rc, i);
        if (n->has_request && n->req_first <= v->close_ts &&
            (!n->has_response || n->resp_first > v->close_ts))
            v->outstanding = true;
    }
    v->agreed = rc->have_last && rc->last_req_persist && rc->last_resp_persist;
    v->announced = e->close_announced && v->close_ts != KW_TS_NONE;
    v->tunnel = e->tunnel != KW_TUNNEL_NONE;
    v->midstream = e->midstream;
}

static void rules_on_end(void *ctx, struct kw_conn_info *c, const struct kw_conn_end *e)
{
    struct kw_rules *r = ctx;
    struct rules_conn *rc = c->state[r->txn_consumer.slot];
    if (!rc)
        return;
    struct close_view v;
    close_view_of(rc, e, &v);
    struct rule_event ev = { .rules = r, .conn = c, .rc = rc, .end = e, .close = &v };
    for (int i = 0; i < KW_RULE_COUNT; i++)
        if (kw_rule_checks[i]->on_end)
            kw_rule_checks[i]->on_end(&ev);
    if (rc->srv) {
        server_count_end(rc->srv, rc, &v, r->cfg->grace);
        server_conn_close(&r->servers, rc->srv);
    }
    timer_unlink(r, rc);
    free(rc);
    c->state[r->txn_consumer.slot] = NULL;
}

/* --- public ----------------------------------------------------------- */

static void send_policy(struct kw_rules *r, const struct server *s, kw_usec ts)
{
    struct kw_server_policy p;
    server_policy(s, &p);
    p.ts = ts;
    for (unsigned k = 0; k < r->n_consumers; k++)
        if (r->consumers[k]->on_server)
            r->consumers[k]->on_server(r->consumers[k]->ctx, &p);
}

void kw_rules_summary(struct kw_rules *r, kw_usec now)
{
    for (size_t i = 0; i < r->servers.n; i++)
        send_policy(r, r->servers.list[i], now);
}

void kw_rules_finish(struct kw_rules *r, kw_usec ts)
{
    for (size_t i = 0; i < r->servers.n; i++) {
        struct server *s = r->servers.list[i];
        for (int k = 0; k < KW_RULE_COUNT; k++)
            if (kw_rule_checks[k]->on_server)
                kw_rule_checks[k]->on_server(r, s, ts);
        send_policy(r, s, ts);
    }
    for (int k = 0; k < KW_RULE_COUNT; k++)
        if (kw_rule_checks[k]->on_finish)
            kw_rule_checks[k]->on_finish(r, ts);
}

int kw_rules_worst(const struct kw_rules *r)
{
    return r->worst;
}

uint64_t kw_rules_servers_untracked(const struct kw_rules *r)
{
    return r->servers.untracked;
}

uint64_t kw_rules_servers_evicted(const struct kw_rules *r)
{
    return r->servers.evicted;
}

void kw_rules_set_max_servers(struct kw_rules *r, size_t max)
{
    r->servers.max = max;
}

struct kw_rules *kw_rules_new(const struct kw_rules_config *cfg)
{
    struct kw_rules *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = cfg;
    r->worst = -1;
    r->txn_consumer = (struct kw_txn_consumer){ .ctx = r, .on_txn = rules_on_txn,
                                                .on_end = rules_on_end };
    return r;
}

int kw_rules_add_consumer(struct kw_rules *r, const struct kw_finding_consumer *consumer)
{
    if (r->n_consumers == KW_CONSUMERS_MAX)
        return -1;
    r->consumers[r->n_consumers++] = consumer;
    return 0;
}

struct kw_txn_consumer *kw_rules_txn_consumer(struct kw_rules *r)
{
    return &r->txn_consumer;
}

void kw_rules_free(struct kw_rules *r)
{
    if (!r)
        return;
    server_table_free(&r->servers);
    free(r);
}

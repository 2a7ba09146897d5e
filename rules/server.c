/* server.c: each server's keep-alive policy, inferred from what its
 * connections did: counters per server, bounded in number of servers, in
 * kinds of Server header and in clients remembered. */
#include "rules/rules-impl.h"

#include <stdlib.h>
#include <string.h>

#define SOFTWARE_KINDS 4        /* distinct Server headers counted per server */
#define SOFTWARE_MAX 64
#define CLIENTS_PER_SERVER 8    /* clients whose longest idle reuse is kept */
#define SERVERS_MAX 65536

struct client_reuse {
    uint8_t family;
    uint8_t addr[16];
    kw_usec longest;
};

struct server {
    struct kw_endpoint ep;
    uint32_t pos;            /* in the table's list */
    uint32_t open_conns;     /* its connections open now: never evicted while any */
    struct server *idle_prev, *idle_next; /* among those without, longest idle first */
    uint64_t connections, requests;
    struct {
        uint8_t text[SOFTWARE_MAX];
        uint16_t len;
        uint64_t count;
    } software[SOFTWARE_KINDS];
    uint64_t policy_closes, policy_closes_announced;
    uint64_t http10_asked, http10_honored;
    int64_t advertised_timeout, advertised_max;
    int64_t max_requests;    /* requests before its policy closes; -1 */
    bool max_requests_disagree;
    uint64_t max_closes;
    int64_t close_token_after; /* requests after which it sent Connection: close unasked */
    bool close_token_disagree;
    kw_usec idle_close_min;
    uint64_t idle_closes, lost_to_idle;
    kw_usec longest_idle_reuse;
    struct client_reuse clients[CLIENTS_PER_SERVER];
    int n_clients;
    uint64_t findings[KW_RULE_COUNT];
};

/* --- the table -------------------------------------------------------- */

static uint64_t endpoint_hash(const struct kw_endpoint *e)
{
    uint64_t h = 1469598103934665603ull ^ e->port ^ ((uint64_t)e->family << 16);
    for (int i = 0; i < 16; i++)
        h = (h ^ e->addr[i]) * 1099511628211ull;
    return h;
}

bool endpoint_eq(const struct kw_endpoint *a, const struct kw_endpoint *b)
{
    return a->family == b->family && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

static void index_put(uint32_t *index, size_t cap, const struct kw_endpoint *ep, uint32_t pos1)
{
    size_t j = endpoint_hash(ep) & (cap - 1);
    while (index[j])
        j = (j + 1) & (cap - 1);
    index[j] = pos1;
}

/* Backward-shift deletion keeps probe chains whole without tombstones. */
static void index_remove(struct server_table *t, const struct server *s)
{
    size_t mask = t->index_cap - 1, i = endpoint_hash(&s->ep) & mask;
    while (t->index[i] != s->pos + 1)
        i = (i + 1) & mask;
    for (size_t j = (i + 1) & mask; t->index[j]; j = (j + 1) & mask) {
        size_t home = endpoint_hash(&t->list[t->index[j] - 1]->ep) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->index[i] = t->index[j];
            i = j;
        }
    }
    t->index[i] = 0;
}

static void idle_unlink(struct server_table *t, struct server *s)
{
    *(s->idle_prev ? &s->idle_prev->idle_next : &t->idle_first) = s->idle_next;
    *(s->idle_next ? &s->idle_next->idle_prev : &t->idle_last) = s->idle_prev;
    s->idle_prev = s->idle_next = NULL;
}

static void idle_append(struct server_table *t, struct server *s)
{
    s->idle_prev = t->idle_last;
    s->idle_next = NULL;
    *(t->idle_last ? &t->idle_last->idle_next : &t->idle_first) = s;
    t->idle_last = s;
}

void server_conn_open(struct server_table *t, struct server *s)
{
    if (s->open_conns++ == 0)
        idle_unlink(t, s);
}

void server_conn_close(struct server_table *t, struct server *s)
{
    if (s->open_conns && --s->open_conns == 0)
        idle_append(t, s);
}

struct server *server_longest_idle(const struct server_table *t)
{
    return t->idle_first;
}

/* A fresh record for `ep` in `s`'s memory and place. */
static void server_init(struct server *s, const struct kw_endpoint *ep, uint32_t pos)
{
    memset(s, 0, sizeof(*s));
    s->ep = *ep;
    s->pos = pos;
    s->advertised_timeout = s->advertised_max = s->max_requests = s->close_token_after = -1;
    s->idle_close_min = s->longest_idle_reuse = KW_TS_NONE;
}

void server_replace(struct server_table *t, struct server *s, const struct kw_endpoint *ep)
{
    index_remove(t, s);
    idle_unlink(t, s);
    server_init(s, ep, s->pos);
    index_put(t->index, t->index_cap, ep, s->pos + 1);
    idle_append(t, s);
    t->evicted++;
}

static bool index_grow(struct server_table *t)
{
    size_t cap = t->index_cap ? t->index_cap * 2 : 256;
    uint32_t *idx = calloc(cap, sizeof(*idx));
    if (!idx)
        return false;
    for (size_t i = 0; i < t->n; i++)
        index_put(idx, cap, &t->list[i]->ep, (uint32_t)i + 1);
    free(t->index);
    t->index = idx;
    t->index_cap = cap;
    return true;
}

bool server_table_full(const struct server_table *t)
{
    return t->n >= (t->max ? t->max : SERVERS_MAX);
}

/* NULL when the table is full (the caller may evict a server) or memory is. */
static struct server *server_new(struct server_table *t, const struct kw_endpoint *ep)
{
    if (server_table_full(t))
        return NULL;
    if ((t->n + 1) * 2 > t->index_cap && !index_grow(t))
        return NULL;
    if (t->n == t->cap) { /* geometric growth: a server at a time would be quadratic */
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct server **list = realloc(t->list, cap * sizeof(*list));
        if (!list)
            return NULL;
        t->list = list;
        t->cap = cap;
    }
    struct server *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    server_init(s, ep, (uint32_t)t->n);
    t->list[t->n++] = s;
    index_put(t->index, t->index_cap, ep, (uint32_t)t->n);
    idle_append(t, s);
    return s;
}

struct server *server_lookup(const struct server_table *t, const struct kw_endpoint *ep)
{
    if (t->index_cap) {
        size_t j = endpoint_hash(ep) & (t->index_cap - 1);
        for (; t->index[j]; j = (j + 1) & (t->index_cap - 1))
            if (endpoint_eq(&t->list[t->index[j] - 1]->ep, ep))
                return t->list[t->index[j] - 1];
    }
    return NULL;
}

struct server *server_find(struct server_table *t, const struct kw_endpoint *ep)
{
    struct server *s = server_lookup(t, ep);
    return s ? s : server_new(t, ep);
}

void server_table_free(struct server_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->list[i]);
    free(t->list);
    free(t->index);
    memset(t, 0, sizeof(*t));
}

const struct kw_endpoint *server_endpoint(const struct server *s)
{
    return &s->ep;
}

/* --- counting ---------------------------------------------------------- */

static void count_software(struct server *s, const struct kw_text *t)
{
    if (!t->present)
        return;
    size_t n = t->len < SOFTWARE_MAX ? t->len : SOFTWARE_MAX;
    int free_slot = -1;
    for (int i = 0; i < SOFTWARE_KINDS; i++) {
        if (s->software[i].count && s->software[i].len == n &&
            !memcmp(s->software[i].text, t->p, n)) {
            s->software[i].count++;
            return;
        }
        if (!s->software[i].count && free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0) {
        memcpy(s->software[free_slot].text, t->p, n);
        s->software[free_slot].len = (uint16_t)n;
        s->software[free_slot].count = 1;
    }
}

static struct client_reuse *client_of(const struct server *s, const struct kw_endpoint *client)
{
    for (int i = 0; i < s->n_clients; i++)
        if (s->clients[i].family == client->family &&
            !memcmp(s->clients[i].addr, client->addr, 16))
            return (struct client_reuse *)&s->clients[i];
    return NULL;
}

static void count_client_reuse(struct server *s, const struct kw_endpoint *client, kw_usec idle)
{
    struct client_reuse *c = client_of(s, client);
    if (c) {
        if (idle > c->longest)
            c->longest = idle;
        return;
    }
    if (s->n_clients < CLIENTS_PER_SERVER) {
        c = &s->clients[s->n_clients++];
        c->family = client->family;
        memcpy(c->addr, client->addr, 16);
        c->longest = idle;
    }
}

kw_usec server_longest_reuse_by(const struct server *s, const struct kw_endpoint *client)
{
    const struct client_reuse *c = client_of(s, client);
    return c ? c->longest : KW_TS_NONE;
}

void server_count_txn(struct server *s, const struct kw_endpoint *client, const struct kw_txn *t)
{
    if (t->has_request)
        s->requests++;
    if (t->has_response && (t->resp.conn_tokens & KW_CONN_CLOSE) && t->has_request &&
        request_persists(&t->req)) { /* the server's own decision to end it */
        if (s->close_token_after < 0)
            s->close_token_after = t->index;
        else if (s->close_token_after != (int64_t)t->index)
            s->close_token_disagree = true;
    }
    if (t->has_response) {
        count_software(s, &t->server);
        if (t->resp.ka_timeout > s->advertised_timeout)
            s->advertised_timeout = t->resp.ka_timeout;
        if (t->resp.ka_max > s->advertised_max)
            s->advertised_max = t->resp.ka_max;
    }
    if (t->has_request && t->has_response && t->req.version == 10 &&
        (t->req.conn_tokens & KW_CONN_KEEP_ALIVE)) {
        s->http10_asked++;
        if (response_persists(t))
            s->http10_honored++;
    }
    if (t->has_response && t->response_complete && t->idle_before != KW_TS_NONE &&
        t->idle_before > 0) {
        if (s->longest_idle_reuse == KW_TS_NONE || t->idle_before > s->longest_idle_reuse)
            s->longest_idle_reuse = t->idle_before;
        count_client_reuse(s, client, t->idle_before);
    }
}

void server_count_end(struct server *s, const struct rules_conn *rc, const struct close_view *v,
                      kw_usec grace)
{
    s->connections++;
    for (uint32_t i = notes_first(rc); i < rc->n_notes; i++)
        if (note_crossed_idle_close(rc, note_at(rc, i), v, grace))
            s->lost_to_idle++;
    /* The server's own decision to end the connection: it closed, or it said
     * Connection: close unasked, whoever's FIN then came first (a client that
     * reads the token closes at once, often before the server does). */
    bool server_ended = v->server_closed || (rc->last_resp_close && rc->last_req_persist);
    if (!server_ended || v->idle == KW_TS_NONE)
        return;
    if (v->idle <= grace && rc->last_req_persist && !rc->last_unframed) {
        /* a close that follows a response to a request that asked to persist, and
         * whose body did not need the close to end: the server's policy. On a
         * connection picked up after it began, the requests before were not
         * seen: its request count says nothing of a max-requests limit. */
        if (v->midstream)
            return;
        s->policy_closes++;
        if (rc->last_resp_close)
            s->policy_closes_announced++;
        if (s->max_requests < 0) /* the request count did it */
            s->max_requests = rc->last_index;
        else if (s->max_requests != (int64_t)rc->last_index)
            s->max_requests_disagree = true;
        s->max_closes++;
    } else if (v->server_closed && v->idle > grace && !v->outstanding && v->agreed &&
               !v->tunnel) {
        /* after a 101 or a CONNECT, idle time is the tunnel's, not HTTP's */
        if (s->idle_close_min == KW_TS_NONE || v->idle < s->idle_close_min)
            s->idle_close_min = v->idle;
        s->idle_closes++;
    }
}

void server_count_finding(struct server *s, enum kw_rule rule)
{
    s->findings[rule]++;
}

/* --- the policy -------------------------------------------------------- */

void server_policy(const struct server *s, struct kw_server_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->server = s->ep;
    uint64_t best = 0;
    for (int i = 0; i < SOFTWARE_KINDS; i++)
        if (s->software[i].count > best) {
            best = s->software[i].count;
            p->software = s->software[i].text;
            p->software_len = s->software[i].len;
        }
    p->connections = s->connections;
    p->requests = s->requests;
    p->announces_close = s->policy_closes ? s->policy_closes_announced == s->policy_closes : -1;
    /* honored when it agreed at least once: a refusal at its max-requests limit is not one */
    p->honors_http10_keepalive = s->http10_asked ? s->http10_honored > 0 : -1;
    p->advertised_timeout_s = s->advertised_timeout;
    p->advertised_max = s->advertised_max;
    p->observed_max_requests = s->max_closes && !s->max_requests_disagree ? s->max_requests : -1;
    p->close_announced_after = s->close_token_disagree ? -1 : s->close_token_after;
    /* to 0.1 s: reapers and timers make the exact value noise */
    p->observed_idle_timeout = s->idle_close_min == KW_TS_NONE
                                   ? KW_TS_NONE
                                   : (s->idle_close_min + 50000) / 100000 * 100000;
    p->longest_idle_reuse = s->longest_idle_reuse;
    p->idle_closes = s->idle_closes;
    p->max_closes = s->max_closes;
    p->lost_to_idle = s->lost_to_idle;
    p->racing = s->lost_to_idle > 0 ||
                (s->idle_close_min != KW_TS_NONE && s->longest_idle_reuse != KW_TS_NONE &&
                 s->longest_idle_reuse * 10 >= s->idle_close_min * 9);
    memcpy(p->findings, s->findings, sizeof(p->findings));
}

/* engine.c: the persistence rules (docs/rules.md) and server policy inference.
 *
 * Per connection the engine keeps what the rules need and nothing more: the
 * last answered exchange, the first close token, the Keep-Alive max in force,
 * and notes on the last few transactions, for the rules that are decided
 * when the connection ends (who closed, after how much idle, with what
 * outstanding). Per server it keeps counters, bounded in number of servers. */
#include "rules/config-impl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#define NOTES 8                 /* transactions remembered per connection */
#define SOFTWARE_KINDS 4        /* distinct Server headers counted per server */
#define SOFTWARE_MAX 64
#define CLIENTS_PER_SERVER 8    /* clients whose longest idle reuse is kept */
#define SERVERS_MAX 65536
#define WHAT_MAX 96             /* bytes of "GET /path" kept for messages */
#define WHAT_TEXT (WHAT_MAX * 4 + 4) /* the same, escaped */

/* "GET /path" as it came off the wire, cut to fit: copied per transaction,
 * escaped only when a finding quotes it. */
struct raw_line {
    uint8_t b[WHAT_MAX];
    uint8_t len;
    bool cut;
};

struct note {
    uint32_t index;
    bool has_request, has_response;
    enum kw_no_response no_response;
    kw_usec req_first, resp_first, idle_before;
    uint64_t req_frame;
    struct raw_line line;
};

struct client_reuse {
    uint8_t family;
    uint8_t addr[16];
    kw_usec longest;
};

struct server {
    struct kw_endpoint ep;
    uint64_t connections, requests;
    struct {
        uint8_t text[SOFTWARE_MAX];
        uint16_t len;
        uint64_t count;
    } software[SOFTWARE_KINDS];
    uint64_t policy_closes, policy_closes_announced;
    uint64_t http10_asked, http10_honored;
    int64_t adv_timeout, adv_max;
    int64_t max_n;
    bool max_disagree;
    uint64_t max_closes;
    int64_t token_n;         /* requests after which it sent Connection: close unasked */
    bool token_disagree;
    kw_usec idle_min;
    uint64_t idle_closes, lost_to_idle;
    kw_usec longest_idle_reuse;
    struct client_reuse clients[CLIENTS_PER_SERVER];
    int n_clients;
    uint64_t findings[KW_RULE_COUNT];
};

struct rconn {
    struct server *srv;
    struct note notes[NOTES];
    uint32_t n_notes;
    /* the last exchange with a complete final response */
    bool have_last;
    uint32_t last_index;
    kw_usec last_resp_end;
    uint64_t last_resp_frame;
    bool last_req_persist, last_resp_persist, last_req_close, last_resp_close, last_unframed;
    bool last_req_http10_plain; /* HTTP/1.0 without keep-alive: asks for a close */
    int64_t last_ka_timeout;
    struct raw_line last_line;
    /* the first Connection: close */
    bool token;
    uint32_t token_index;
    enum kw_side token_by;
    kw_usec token_seen;      /* when the other side could see it */
    kw_usec token_deadline;  /* the server should have closed by then */
    bool close_ignored_fired, max_fired;
    uint64_t max_limit;      /* requests allowed by the last Keep-Alive max; 0: none */
    kw_usec rtt;             /* smallest time to first byte: a round trip, at most */
    kw_usec longest_idle_reuse;
};

struct kw_rules {
    const struct kw_rules_config *cfg;
    struct kw_track_sink track_sink; /* what the tracker calls: us */
    struct kw_track_sink next;       /* the output */
    struct kw_rules_sink sink;
    struct server **servers;         /* in order of first sight */
    size_t n_servers;
    uint32_t *index;                 /* open addressing over servers: position + 1 */
    size_t index_cap;
    uint64_t servers_untracked;
    int worst;
    struct kw_finding f;             /* the finding being built */
};

/* --- what messages signal (RFC 7230 6.3) ------------------------------ */

static bool request_persists(const struct kw_http_head *h)
{
    if (h->conn_tokens & KW_CONN_CLOSE)
        return false;
    return h->version >= 11 || (h->conn_tokens & KW_CONN_KEEP_ALIVE);
}

static bool response_persists(const struct kw_txn *t)
{
    const struct kw_http_head *h = &t->resp;
    if (h->conn_tokens & KW_CONN_CLOSE)
        return false;
    return (h->version >= 11 || (h->conn_tokens & KW_CONN_KEEP_ALIVE)) &&
           t->framing != KW_FRAMING_CLOSE;
}

/* --- servers ---------------------------------------------------------- */

static uint64_t endpoint_hash(const struct kw_endpoint *e)
{
    uint64_t h = 1469598103934665603ull ^ e->port ^ ((uint64_t)e->family << 16);
    for (int i = 0; i < 16; i++)
        h = (h ^ e->addr[i]) * 1099511628211ull;
    return h;
}

static bool endpoint_eq(const struct kw_endpoint *a, const struct kw_endpoint *b)
{
    return a->family == b->family && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

static bool index_grow(struct kw_rules *r)
{
    size_t cap = r->index_cap ? r->index_cap * 2 : 256;
    uint32_t *idx = calloc(cap, sizeof(*idx));
    if (!idx)
        return false;
    for (size_t i = 0; i < r->n_servers; i++) {
        size_t j = endpoint_hash(&r->servers[i]->ep) & (cap - 1);
        while (idx[j])
            j = (j + 1) & (cap - 1);
        idx[j] = (uint32_t)i + 1;
    }
    free(r->index);
    r->index = idx;
    r->index_cap = cap;
    return true;
}

static struct server *server_for(struct kw_rules *r, const struct kw_endpoint *ep)
{
    if (r->index_cap) {
        size_t j = endpoint_hash(ep) & (r->index_cap - 1);
        for (; r->index[j]; j = (j + 1) & (r->index_cap - 1))
            if (endpoint_eq(&r->servers[r->index[j] - 1]->ep, ep))
                return r->servers[r->index[j] - 1];
    }
    if (r->n_servers == SERVERS_MAX) {
        r->servers_untracked++;
        return NULL;
    }
    if ((r->n_servers + 1) * 2 > r->index_cap && !index_grow(r))
        return NULL;
    struct server **list = realloc(r->servers, (r->n_servers + 1) * sizeof(*list));
    struct server *s = calloc(1, sizeof(*s));
    if (!list || !s) {
        free(s);
        if (list)
            r->servers = list;
        return NULL;
    }
    r->servers = list;
    s->ep = *ep;
    s->adv_timeout = s->adv_max = s->max_n = s->token_n = -1;
    s->idle_min = s->longest_idle_reuse = KW_TS_NONE;
    r->servers[r->n_servers++] = s;
    size_t j = endpoint_hash(ep) & (r->index_cap - 1);
    while (r->index[j])
        j = (j + 1) & (r->index_cap - 1);
    r->index[j] = (uint32_t)r->n_servers;
    return s;
}

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

static void note_client_reuse(struct server *s, const struct kw_endpoint *client, kw_usec idle)
{
    for (int i = 0; i < s->n_clients; i++)
        if (s->clients[i].family == client->family &&
            !memcmp(s->clients[i].addr, client->addr, 16)) {
            if (idle > s->clients[i].longest)
                s->clients[i].longest = idle;
            return;
        }
    if (s->n_clients < CLIENTS_PER_SERVER) {
        struct client_reuse *c = &s->clients[s->n_clients++];
        c->family = client->family;
        memcpy(c->addr, client->addr, 16);
        c->longest = idle;
    }
}

static kw_usec client_longest_reuse(const struct server *s, const struct kw_endpoint *client)
{
    for (int i = 0; i < s->n_clients; i++)
        if (s->clients[i].family == client->family &&
            !memcmp(s->clients[i].addr, client->addr, 16))
            return s->clients[i].longest;
    return KW_TS_NONE;
}

/* --- building findings ------------------------------------------------ */

static struct kw_finding *start(struct kw_rules *r, enum kw_rule rule, enum kw_side side,
                                uint32_t request, kw_usec ts)
{
    if (!r->cfg->enabled[rule])
        return NULL;
    struct kw_finding *f = &r->f;
    memset(f, 0, sizeof(*f));
    f->rule = rule;
    f->severity = r->cfg->severity[rule];
    f->side = side;
    f->request = request;
    f->ts = ts;
    return f;
}

static void say(struct kw_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct kw_finding *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
}

static void ev(struct kw_finding *f, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ev(struct kw_finding *f, const char *name, const char *fmt, ...)
{
    if (f->n_evidence == KW_EVIDENCE_MAX)
        return;
    struct kw_evidence *e = &f->evidence[f->n_evidence++];
    e->name = name;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->json, sizeof(e->json), fmt, ap);
    va_end(ap);
}

static void ev_secs(struct kw_finding *f, const char *name, kw_usec d)
{
    char s[KW_DURATION_LEN];
    if (d == KW_TS_NONE)
        ev(f, name, "null");
    else {
        kw_time_secs(d, s);
        ev(f, name, "%s", s);
    }
}

static void ev_num(struct kw_finding *f, const char *name, int64_t v)
{
    if (v < 0)
        ev(f, name, "null");
    else
        ev(f, name, "%" PRId64, v);
}

/* Wire text, as a JSON string of printable ASCII (already escaped for text). */
static void ev_text(struct kw_finding *f, const char *name, const char *escaped)
{
    char quoted[192];
    size_t o = 0;
    quoted[o++] = '"';
    for (const char *p = escaped; *p && o + 3 < sizeof(quoted); p++) {
        if (*p == '"' || *p == '\\')
            quoted[o++] = '\\';
        quoted[o++] = *p;
    }
    quoted[o++] = '"';
    quoted[o] = '\0';
    ev(f, name, "%s", quoted);
}

/* The frame numbers that show a finding, ascending, without repeats. */
static void ev_frames(struct kw_finding *f, const uint64_t *frames, int n)
{
    uint64_t sorted[8];
    int k = 0;
    for (int i = 0; i < n && k < 8; i++) {
        if (!frames[i])
            continue;
        int j = k;
        while (j > 0 && sorted[j - 1] > frames[i]) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        if (j > 0 && sorted[j - 1] == frames[i]) {
            for (; j < k; j++) /* a repeat: undo the shift */
                sorted[j] = sorted[j + 1];
            continue;
        }
        sorted[j] = frames[i];
        k++;
    }
    char list[160];
    size_t o = 0;
    list[o++] = '[';
    for (int i = 0; i < k && o < sizeof(list) - 24; i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%" PRIu64, i ? "," : "", sorted[i]);
    list[o++] = ']';
    list[o] = '\0';
    ev(f, "frames", "%s", list);
}

static void ev_filter(struct kw_finding *f, const struct kw_conn_info *c)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    int af = c->key.client.family == 6 ? AF_INET6 : AF_INET;
    const char *proto = af == AF_INET6 ? "ipv6" : "ip";
    if (!inet_ntop(af, c->key.client.addr, a, sizeof(a)) ||
        !inet_ntop(af, c->key.server.addr, b, sizeof(b)))
        return;
    ev(f, "wireshark_filter", "\"%s.addr==%s && %s.addr==%s && tcp.port==%u && tcp.port==%u\"",
       proto, a, proto, b, c->key.client.port, c->key.server.port);
}

static void emit(struct kw_rules *r, struct kw_conn_info *c, struct server *srv,
                 struct kw_finding *f)
{
    if (!f)
        return;
    if (c && kw_suppressed(r->cfg, f->rule, &c->key.client, &c->key.server))
        return;
    if (!c && srv && kw_suppressed(r->cfg, f->rule, NULL, &srv->ep))
        return;
    if (c)
        ev_filter(f, c);
    ev_secs(f, "grace_s", r->cfg->grace);
    if (srv)
        srv->findings[f->rule]++;
    if ((int)f->severity > r->worst)
        r->worst = (int)f->severity;
    if (r->sink.on_finding)
        r->sink.on_finding(r->sink.ctx, c, f);
}

static void raw_of(struct raw_line *l, const struct kw_txn *t)
{
    size_t m = t->method.len < WHAT_MAX - 1 ? t->method.len : WHAT_MAX - 1;
    memcpy(l->b, t->method.p, m);
    l->b[m] = ' ';
    size_t room = WHAT_MAX - m - 1, u = t->uri.len < room ? t->uri.len : room;
    memcpy(l->b + m + 1, t->uri.p, u);
    l->len = (uint8_t)(m + 1 + u);
    l->cut = t->uri.truncated || u < t->uri.len;
}

/* The raw line escaped for a terminal (and, quoted, for JSON). */
static const char *describe(char out[WHAT_TEXT], const struct raw_line *l)
{
    size_t o = 0;
    for (uint8_t i = 0; i < l->len; i++) {
        uint8_t ch = l->b[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, WHAT_TEXT - o, "\\x%02x", ch);
    }
    if (l->cut) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static void fmt_dur(char out[KW_DURATION_LEN], kw_usec d)
{
    if (d == KW_TS_NONE)
        snprintf(out, KW_DURATION_LEN, "an unknown time");
    else
        kw_time_human(d, out);
}

/* --- rules decided as each transaction is reported ------------------- */

/* The rules about one message's own headers, for the request or the response:
 * each message that breaks them is a finding of its sender's. */
static void message_rules(struct kw_rules *r, struct kw_conn_info *c, struct rconn *rc,
                          const struct kw_txn *t, const struct raw_line *line, bool response)
{
    char what[WHAT_TEXT];
    struct kw_finding *f;
    const struct kw_http_head *h = response ? &t->resp : &t->req;
    const char *which = response ? "response" : "request";
    enum kw_side side = response ? KW_SIDE_SERVER : KW_SIDE_CLIENT;
    kw_usec ts = response ? t->resp_first : t->req_first;
    uint64_t frames[] = { response ? t->resp_first_frame : t->req_first_frame };
    const uint8_t conflict = KW_ANOM_CL_AND_TE | KW_ANOM_CL_DIFFERING | KW_ANOM_CL_INVALID;
    if ((h->anomalies & conflict) &&
        (f = start(r, KW_RULE_CONFLICTING_FRAMING, side, t->index, ts))) {
        const char *kind = (h->anomalies & KW_ANOM_CL_AND_TE)
                               ? "both Content-Length and Transfer-Encoding"
                           : (h->anomalies & KW_ANOM_CL_DIFFERING)
                               ? "several Content-Length values that differ"
                               : "a Content-Length that is not a number";
        say(f, "the %s of exchange %u (%s) has %s: two parsers can disagree on where the "
               "message ends, and a proxy and a server that disagree can be made to see "
               "different requests",
            which, t->index, describe(what, line), kind);
        ev(f, "message", "\"%s\"", which);
        ev(f, "content_length_and_transfer_encoding", "%s",
           (h->anomalies & KW_ANOM_CL_AND_TE) ? "true" : "false");
        ev(f, "content_length_differing", "%s",
           (h->anomalies & KW_ANOM_CL_DIFFERING) ? "true" : "false");
        ev(f, "content_length_invalid", "%s",
           (h->anomalies & KW_ANOM_CL_INVALID) ? "true" : "false");
        ev_frames(f, frames, 1);
        emit(r, c, rc->srv, f);
    }
    if (h->has_keep_alive && !(h->conn_tokens & KW_CONN_KEEP_ALIVE) &&
        (f = start(r, KW_RULE_KEEPALIVE_HEADER_UNLISTED, side, t->index, ts))) {
        say(f, "the %s of exchange %u (%s) has a Keep-Alive header but no keep-alive token in "
               "Connection: the header is meant to go with the token, and a proxy that does "
               "not know it forwards it to the next hop",
            which, t->index, describe(what, line));
        ev(f, "message", "\"%s\"", which);
        ev_frames(f, frames, 1);
        emit(r, c, rc->srv, f);
    }
}

static void framing_rules(struct kw_rules *r, struct kw_conn_info *c, struct rconn *rc,
                          const struct kw_txn *t, const struct raw_line *line)
{
    char what[WHAT_TEXT];
    struct kw_finding *f;
    if (t->has_request)
        message_rules(r, c, rc, t, line, false);
    if (t->has_response)
        message_rules(r, c, rc, t, line, true);
    if (t->has_request && t->has_response && t->req.version == 10 &&
        (t->framing == KW_FRAMING_CHUNKED || t->resp.chunked) &&
        (f = start(r, KW_RULE_CHUNKED_TO_HTTP10, KW_SIDE_SERVER, t->index, t->resp_first))) {
        say(f, "request %u (%s) was HTTP/1.0 but the response is chunked: an HTTP/1.0 client "
               "does not know chunked encoding and reads the chunk sizes as the body",
            t->index, describe(what, line));
        uint64_t frames[] = { t->req_first_frame, t->resp_first_frame };
        ev_frames(f, frames, 2);
        emit(r, c, rc->srv, f);
    }
    /* A body only the close can end, on a message that says the connection stays. */
    bool says_persist = (t->resp.conn_tokens & KW_CONN_KEEP_ALIVE) ||
                        (t->has_request && request_persists(&t->req) && t->resp.version >= 11 &&
                         !(t->resp.conn_tokens & KW_CONN_CLOSE));
    bool unframed = t->framing == KW_FRAMING_CLOSE && !t->resp.has_content_length &&
                    !t->resp.has_transfer_encoding; /* not a conflicting-framing fallback */
    if (t->has_response && unframed && says_persist &&
        (f = start(r, KW_RULE_UNFRAMED_RESPONSE, KW_SIDE_SERVER, t->index, t->resp_first))) {
        say(f, "response %u (%s) has neither Content-Length nor chunked encoding, so only the "
               "close can end it, yet it does not announce the close: a client that keeps the "
               "connection waits for a body that never ends",
            t->index, describe(what, line));
        uint64_t frames[] = { t->resp_first_frame, t->resp_last_frame };
        ev_frames(f, frames, 2);
        emit(r, c, rc->srv, f);
    }
}

static void close_token_rules(struct kw_rules *r, struct kw_conn_info *c, struct rconn *rc,
                              const struct kw_txn *t, const struct raw_line *line)
{
    char what[WHAT_TEXT];
    struct kw_finding *f;
    if (rc->token && t->has_request && t->index > rc->token_index && t->req_first >= rc->token_seen &&
        (f = start(r, KW_RULE_REQUEST_AFTER_CLOSE, KW_SIDE_CLIENT, t->index, t->req_first))) {
        char gap[32];
        fmt_dur(gap, t->req_first - rc->token_seen);
        say(f, "request %u (%s) was sent %s after the %s of exchange %u said Connection: close: "
               "the client must not send more requests on this connection",
            t->index, describe(what, line), gap, rc->token_by == KW_SIDE_CLIENT ? "request" : "response",
            rc->token_index);
        ev(f, "close_in", "\"%s\"", rc->token_by == KW_SIDE_CLIENT ? "request" : "response");
        ev_num(f, "close_exchange", rc->token_index);
        uint64_t frames[] = { t->req_first_frame };
        ev_frames(f, frames, 1);
        emit(r, c, rc->srv, f);
    }
    if (rc->token && !rc->close_ignored_fired && t->index > rc->token_index && t->has_response) {
        rc->close_ignored_fired = true;
        if ((f = start(r, KW_RULE_CLOSE_IGNORED, KW_SIDE_SERVER, t->index, t->resp_first))) {
            say(f, "exchange %u said Connection: close, yet the server answered request %u (%s) "
                   "on the same connection: after close the server must end the connection",
                rc->token_index, t->index, describe(what, line));
            ev_num(f, "close_exchange", rc->token_index);
            uint64_t frames[] = { t->resp_first_frame };
            ev_frames(f, frames, 1);
            emit(r, c, rc->srv, f);
        }
    }
    if (!rc->token && ((t->req.conn_tokens & KW_CONN_CLOSE) ||
                       (t->has_response && (t->resp.conn_tokens & KW_CONN_CLOSE)))) {
        rc->token = true;
        rc->token_index = t->index;
        bool in_request = t->req.conn_tokens & KW_CONN_CLOSE;
        rc->token_by = in_request ? KW_SIDE_CLIENT : KW_SIDE_SERVER;
        rc->token_seen = in_request ? t->req_first : t->resp_first;
        rc->token_deadline = t->response_complete ? t->resp_last + r->cfg->grace : KW_TS_NONE;
    }
}

static void max_rule(struct kw_rules *r, struct kw_conn_info *c, struct rconn *rc,
                     const struct kw_txn *t, const struct raw_line *line)
{
    char what[WHAT_TEXT];
    struct kw_finding *f;
    if (rc->max_limit && !rc->max_fired && t->has_response && t->index > rc->max_limit) {
        rc->max_fired = true;
        if ((f = start(r, KW_RULE_MAX_EXCEEDED, KW_SIDE_SERVER, t->index, t->resp_first))) {
            say(f, "the server answered request %u (%s) though an earlier Keep-Alive max allowed "
                   "only %" PRIu64 " requests on this connection: clients that trust max close "
                   "early, and the header is not the policy it enforces",
                t->index, describe(what, line), rc->max_limit);
            ev_num(f, "allowed_requests", (int64_t)rc->max_limit);
            uint64_t frames[] = { t->resp_first_frame };
            ev_frames(f, frames, 1);
            emit(r, c, rc->srv, f);
        }
    }
    /* Apache counts max down with each response: read it as the requests still allowed. */
    if (t->has_response && t->resp.ka_max >= 0)
        rc->max_limit = (uint64_t)t->index + (uint64_t)t->resp.ka_max;
}

static struct rconn *rconn_of(struct kw_rules *r, struct kw_conn_info *c)
{
    if (!c->user[1]) {
        struct rconn *rc = calloc(1, sizeof(*rc));
        if (!rc)
            return NULL;
        rc->rtt = KW_TS_NONE;
        rc->longest_idle_reuse = KW_TS_NONE;
        rc->srv = server_for(r, &c->key.server);
        c->user[1] = rc;
    }
    return c->user[1];
}

static void rules_txn(void *ctx, struct kw_conn_info *c, const struct kw_txn *t)
{
    struct kw_rules *r = ctx;
    if (r->next.on_txn)
        r->next.on_txn(r->next.ctx, c, t);
    struct rconn *rc = rconn_of(r, c);
    if (!rc)
        return;
    struct raw_line line;
    raw_of(&line, t);

    framing_rules(r, c, rc, t, &line);
    close_token_rules(r, c, rc, t, &line);
    max_rule(r, c, rc, t, &line);

    if (t->has_response && t->response_complete) {
        rc->have_last = true;
        rc->last_index = t->index;
        rc->last_resp_end = t->resp_last;
        rc->last_resp_frame = t->resp_last_frame;
        rc->last_req_persist = t->has_request && request_persists(&t->req);
        rc->last_req_close = t->req.conn_tokens & KW_CONN_CLOSE;
        rc->last_req_http10_plain = t->has_request && t->req.version == 10 &&
                                    !(t->req.conn_tokens & KW_CONN_KEEP_ALIVE);
        rc->last_resp_persist = response_persists(t);
        rc->last_resp_close = t->resp.conn_tokens & KW_CONN_CLOSE;
        rc->last_unframed = t->framing == KW_FRAMING_CLOSE;
        rc->last_ka_timeout = t->resp.ka_timeout;
        rc->last_line = line;
        if (t->req_last != KW_TS_NONE && t->resp_first >= t->req_last &&
            (rc->rtt == KW_TS_NONE || t->resp_first - t->req_last < rc->rtt))
            rc->rtt = t->resp_first - t->req_last;
        if (t->idle_before != KW_TS_NONE && t->idle_before > 0 &&
            (rc->longest_idle_reuse == KW_TS_NONE || t->idle_before > rc->longest_idle_reuse))
            rc->longest_idle_reuse = t->idle_before;
    }

    struct server *s = rc->srv;
    if (s) {
        if (t->has_request)
            s->requests++;
        if (t->has_response && (t->resp.conn_tokens & KW_CONN_CLOSE) && t->has_request &&
            request_persists(&t->req)) { /* the server's own decision to end it */
            if (s->token_n < 0)
                s->token_n = t->index;
            else if (s->token_n != (int64_t)t->index)
                s->token_disagree = true;
        }
        if (t->has_response) {
            count_software(s, &t->server);
            if (t->resp.ka_timeout > s->adv_timeout)
                s->adv_timeout = t->resp.ka_timeout;
            if (t->resp.ka_max > s->adv_max)
                s->adv_max = t->resp.ka_max;
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
            note_client_reuse(s, &c->key.client, t->idle_before);
        }
    }

    struct note *n = &rc->notes[rc->n_notes++ % NOTES];
    n->index = t->index;
    n->has_request = t->has_request;
    n->has_response = t->has_response;
    n->no_response = t->no_response;
    n->req_first = t->req_first;
    n->resp_first = t->resp_first;
    n->idle_before = t->idle_before;
    n->req_frame = t->req_first_frame;
    n->line = line;
}

static void rules_fin(void *ctx, struct kw_conn_info *c, enum kw_side who, kw_usec ts)
{
    struct kw_rules *r = ctx;
    if (r->next.on_fin)
        r->next.on_fin(r->next.ctx, c, who, ts);
}

/* --- rules decided when the connection ends --------------------------- */

struct close_view {
    kw_usec close_ts;  /* first FIN or RST, or KW_TS_NONE */
    kw_usec idle;      /* from the last response's end to the close, or KW_TS_NONE */
    bool server_closed, outstanding, agreed, announced;
};

static void lost_and_race(struct kw_rules *r, struct kw_conn_info *c, struct rconn *rc,
                          const struct kw_conn_end *e, const struct close_view *v)
{
    char what[WHAT_TEXT];
    uint32_t first = rc->n_notes > NOTES ? rc->n_notes - NOTES : 0;
    kw_usec rtt = rc->rtt == KW_TS_NONE ? 0 : rc->rtt;
    bool idle_close = v->server_closed && v->idle != KW_TS_NONE && v->idle > r->cfg->grace;
    for (uint32_t i = first; i < rc->n_notes; i++) {
        const struct note *n = &rc->notes[i % NOTES];
        if (!n->has_request || n->has_response)
            continue;
        struct kw_finding *f;
        char idle[32], after[32];
        fmt_dur(idle, n->idle_before);
        if (n->no_response == KW_NORESP_LOST) {
            bool after_fin = e->fin_ts[KW_TO_CLIENT] != KW_TS_NONE &&
                             n->req_first >= e->fin_ts[KW_TO_CLIENT];
            /* the client's fault when the close had been announced before it sent this */
            bool announced = rc->token && rc->token_index < n->index &&
                             rc->token_seen <= n->req_first;
            if ((f = start(r, KW_RULE_LOST_REQUEST, announced ? KW_SIDE_CLIENT : KW_SIDE_SERVER,
                           n->index, n->req_first))) {
                if (after_fin) {
                    fmt_dur(after, n->req_first - e->fin_ts[KW_TO_CLIENT]);
                    say(f, "request %u (%s) got no response: it was sent %s after the server's "
                           "FIN, on a connection the server had already closed%s%s",
                        n->index, describe(what, &n->line), after,
                        e->rst_by == KW_SIDE_SERVER ? ", and the server answered it with a RST"
                                                    : "",
                        announced ? "; the close had been announced" : "");
                } else {
                    say(f, "request %u (%s) got no response: it was outstanding when the server "
                           "ended the connection with a %s%s",
                        n->index, describe(what, &n->line), e->close == KW_CLOSE_RST ? "RST" : "FIN",
                        announced ? ", though the close had been announced" : "");
                }
                ev_text(f, "request_line", describe(what, &n->line));
                ev_secs(f, "request_ts_offset_s", n->req_first - c->start);
                ev_secs(f, "idle_before_s", n->idle_before);
                ev_secs(f, "server_fin_offset_s", e->fin_ts[KW_TO_CLIENT] == KW_TS_NONE
                                                      ? KW_TS_NONE
                                                      : e->fin_ts[KW_TO_CLIENT] - c->start);
                ev(f, "rst_by", "%s", e->rst_by == KW_SIDE_NONE ? "null"
                                      : e->rst_by == KW_SIDE_SERVER ? "\"server\"" : "\"client\"");
                ev(f, "close_announced", "%s", announced ? "true" : "false");
                uint64_t frames[] = { n->req_frame, e->fin_frame[KW_TO_CLIENT],
                                      e->rst_by != KW_SIDE_NONE ? e->end_frame : 0 };
                ev_frames(f, frames, 3);
                emit(r, c, rc->srv, f);
            }
        }
        /* The keep-alive race: the request crossed an idle close. */
        bool crossed = n->no_response == KW_NORESP_LOST ||
                       (v->close_ts != KW_TS_NONE && n->req_first <= v->close_ts &&
                        n->req_first + rtt >= v->close_ts);
        if (idle_close && crossed && n->idle_before != KW_TS_NONE &&
            n->idle_before + rtt >= v->idle) {
            if (rc->srv)
                rc->srv->lost_to_idle++;
            if ((f = start(r, KW_RULE_IDLE_RACE, KW_SIDE_SERVER, n->index, n->req_first))) {
                char timeout[32];
                fmt_dur(timeout, v->idle);
                say(f, "request %u (%s) was sent after %s idle and crossed the server's idle close "
                       "at %s: the client's idle timeout is longer than the server's; keep the "
                       "server's idle timeout above the client's (pool, load balancer), or the "
                       "client's below %s minus a round trip",
                    n->index, describe(what, &n->line), idle, timeout, timeout);
                ev_secs(f, "server_idle_timeout_s", v->idle);
                ev_secs(f, "request_idle_s", n->idle_before);
                ev_secs(f, "round_trip_s", rtt);
                kw_usec longest = rc->srv ? client_longest_reuse(rc->srv, &c->key.client)
                                          : rc->longest_idle_reuse;
                ev_secs(f, "client_longest_idle_reuse_s", longest);
                ev_num(f, "advertised_timeout_s", rc->last_ka_timeout);
                ev(f, "fix", "\"server idle timeout above the client's (pool, load balancer), or "
                             "the client's below %.1f s minus a round trip\"",
                   (double)v->idle / KW_USEC_PER_SEC);
                uint64_t frames[] = { rc->last_resp_frame, e->close_frame, n->req_frame };
                ev_frames(f, frames, 3);
                emit(r, c, rc->srv, f);
            }
        }
    }
}

static void close_rules(struct kw_rules *r, struct kw_conn_info *c, struct rconn *rc,
                        const struct kw_conn_end *e, const struct close_view *v)
{
    char what[WHAT_TEXT];
    struct kw_finding *f;
    kw_usec grace = r->cfg->grace;
    char idle[32];
    fmt_dur(idle, v->idle);
    uint64_t frames[] = { rc->last_resp_frame, e->close_frame };
    bool after_response = v->server_closed && v->idle != KW_TS_NONE && v->idle <= grace;

    if (after_response && v->agreed && !v->outstanding && !v->announced &&
        (f = start(r, KW_RULE_UNANNOUNCED_CLOSE, KW_SIDE_SERVER, rc->last_index, v->close_ts))) {
        say(f, "the server closed the connection (%s) %s after response %u (%s) though both sides "
               "had agreed to keep it open, and sent no Connection: close: a client may send its "
               "next request into the closing connection and lose it",
            e->close == KW_CLOSE_RST ? "RST" : "FIN", idle, rc->last_index, describe(what, &rc->last_line));
        ev_text(f, "request_line", describe(what, &rc->last_line));
        ev_secs(f, "idle_before_close_s", v->idle);
        ev(f, "close", "\"%s\"", e->close == KW_CLOSE_RST ? "rst" : "fin");
        ev_frames(f, frames, 2);
        emit(r, c, rc->srv, f);
    }
    if (after_response && e->close == KW_CLOSE_RST &&
        (f = start(r, KW_RULE_ABORTIVE_CLOSE, KW_SIDE_SERVER, rc->last_index, v->close_ts))) {
        say(f, "the server ended the connection with a RST %s after response %u (%s), not a FIN: "
               "a RST can make the client's TCP discard that response before it is read",
            idle, rc->last_index, describe(what, &rc->last_line));
        ev_secs(f, "idle_before_close_s", v->idle);
        ev_frames(f, frames, 2);
        emit(r, c, rc->srv, f);
    }
    if (v->server_closed && rc->have_last && rc->last_req_http10_plain && rc->last_resp_persist &&
        (f = start(r, KW_RULE_AMBIGUOUS_PERSISTENCE, KW_SIDE_SERVER, rc->last_index,
                   v->close_ts))) {
        say(f, "request %u (%s) was HTTP/1.0 without keep-alive, so the server closed after it, "
               "but the response was HTTP/1.1 without Connection: close: a client that follows "
               "the response keeps the connection and loses its next request; the server should "
               "send Connection: close",
            rc->last_index, describe(what, &rc->last_line));
        ev_secs(f, "idle_before_close_s", v->idle);
        ev_frames(f, frames, 2);
        emit(r, c, rc->srv, f);
    }
    if (v->server_closed && v->idle != KW_TS_NONE && v->idle > grace && v->agreed &&
        !v->outstanding && rc->last_ka_timeout > 0 &&
        v->idle * 100 < rc->last_ka_timeout * KW_USEC_PER_SEC * 95 &&
        (f = start(r, KW_RULE_IDLE_TIMEOUT_EARLY, KW_SIDE_SERVER, rc->last_index, v->close_ts))) {
        say(f, "the server closed the idle connection after %s though its last response "
               "advertised Keep-Alive timeout=%" PRId64 ": clients that trust the header reuse "
               "the connection too late",
            idle, rc->last_ka_timeout);
        ev_secs(f, "idle_before_close_s", v->idle);
        ev_num(f, "advertised_timeout_s", rc->last_ka_timeout);
        ev_frames(f, frames, 2);
        emit(r, c, rc->srv, f);
    }
    /* Connection: close, and still open past the grace with nobody closing. */
    if (rc->token && !rc->close_ignored_fired && rc->token_deadline != KW_TS_NONE &&
        (v->close_ts != KW_TS_NONE ? v->close_ts > rc->token_deadline
                                   : e->end_ts > rc->token_deadline) &&
        (f = start(r, KW_RULE_CLOSE_IGNORED, KW_SIDE_SERVER, rc->token_index,
                   rc->token_deadline))) {
        rc->close_ignored_fired = true;
        char late[32];
        fmt_dur(late, (v->close_ts != KW_TS_NONE ? v->close_ts : e->end_ts) -
                          (rc->token_deadline - grace));
        say(f, "exchange %u said Connection: close, but the server had not closed the connection "
               "%s after the response%s",
            rc->token_index, late, v->close_ts == KW_TS_NONE ? " (it was still open when the "
                                                               "capture ended)" : "");
        ev_num(f, "close_exchange", rc->token_index);
        ev(f, "close_in", "\"%s\"", rc->token_by == KW_SIDE_CLIENT ? "request" : "response");
        ev_frames(f, frames, 2);
        emit(r, c, rc->srv, f);
    }
}

static void count_closes(struct kw_rules *r, struct rconn *rc, const struct close_view *v)
{
    struct server *s = rc->srv;
    if (!s)
        return;
    s->connections++;
    if (!v->server_closed || v->idle == KW_TS_NONE)
        return;
    if (v->idle <= r->cfg->grace && rc->last_req_persist && !rc->last_unframed) {
        /* a close that follows a response to a request that asked to persist, and
         * whose body did not need the close to end: the server's policy */
        s->policy_closes++;
        if (rc->last_resp_close)
            s->policy_closes_announced++;
        if (s->max_n < 0) /* the request count did it */
            s->max_n = rc->last_index;
        else if (s->max_n != (int64_t)rc->last_index)
            s->max_disagree = true;
        s->max_closes++;
    } else if (v->idle > r->cfg->grace && !v->outstanding && v->agreed) {
        if (s->idle_min == KW_TS_NONE || v->idle < s->idle_min)
            s->idle_min = v->idle;
        s->idle_closes++;
    }
}

static void rules_end(void *ctx, struct kw_conn_info *c, const struct kw_conn_end *e)
{
    struct kw_rules *r = ctx;
    struct rconn *rc = c->user[1];
    if (rc) {
        struct close_view v = { .close_ts = KW_TS_NONE, .idle = KW_TS_NONE };
        if (e->closed_by != KW_SIDE_NONE)
            v.close_ts = e->close_ts;
        v.server_closed = e->closed_by == KW_SIDE_SERVER;
        if (rc->have_last && v.close_ts != KW_TS_NONE) /* before the end: a retransmission */
            v.idle = v.close_ts > rc->last_resp_end ? v.close_ts - rc->last_resp_end : 0;
        uint32_t first = rc->n_notes > NOTES ? rc->n_notes - NOTES : 0;
        for (uint32_t i = first; i < rc->n_notes && v.close_ts != KW_TS_NONE; i++) {
            const struct note *n = &rc->notes[i % NOTES];
            if (n->has_request && n->req_first <= v.close_ts &&
                (!n->has_response || n->resp_first > v.close_ts))
                v.outstanding = true;
        }
        v.agreed = rc->have_last && rc->last_req_persist && rc->last_resp_persist;
        v.announced = e->close_announced && v.close_ts != KW_TS_NONE;
        close_rules(r, c, rc, e, &v);
        lost_and_race(r, c, rc, e, &v);
        count_closes(r, rc, &v);
    }
    if (r->next.on_end)
        r->next.on_end(r->next.ctx, c, e);
    free(rc);
    c->user[1] = NULL;
}

/* --- server policy ---------------------------------------------------- */

static void policy_of(const struct kw_rules *r, const struct server *s, struct kw_server_policy *p)
{
    (void)r;
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
    p->advertised_timeout_s = s->adv_timeout;
    p->advertised_max = s->adv_max;
    p->observed_max_requests = s->max_closes && !s->max_disagree ? s->max_n : -1;
    p->close_announced_after = s->token_disagree ? -1 : s->token_n;
    /* to 0.1 s: reapers and timers make the exact value noise */
    p->observed_idle_timeout = s->idle_min == KW_TS_NONE
                                   ? KW_TS_NONE
                                   : (s->idle_min + 50000) / 100000 * 100000;
    p->longest_idle_reuse = s->longest_idle_reuse;
    p->idle_closes = s->idle_closes;
    p->max_closes = s->max_closes;
    p->lost_to_idle = s->lost_to_idle;
    p->racing = s->lost_to_idle > 0 ||
                (s->idle_min != KW_TS_NONE && s->longest_idle_reuse != KW_TS_NONE &&
                 s->longest_idle_reuse * 10 >= s->idle_min * 9);
    memcpy(p->findings, s->findings, sizeof(p->findings));
}

static void mismatch(struct kw_rules *r, struct server *s, kw_usec ts, const char *what,
                     const char *expected, const char *observed)
{
    struct kw_finding *f = start(r, KW_RULE_POLICY_MISMATCH, KW_SIDE_SERVER, 0, ts);
    if (!f)
        return;
    say(f, "the server was expected to %s, but on the wire it %s", expected, observed);
    ev(f, "expectation", "\"%s\"", what);
    f->server = s->ep;
    emit(r, NULL, s, f);
}

static void check_expectations(struct kw_rules *r, struct server *s, kw_usec ts)
{
    struct kw_server_policy p;
    policy_of(r, s, &p);
    for (size_t i = 0; i < r->cfg->n_expect; i++) {
        const struct kw_expect *x = &r->cfg->expect[i];
        if (!endpoint_eq(&x->server, &s->ep))
            continue;
        char exp[96], obs[128];
        if (x->max_requests >= 0 && p.observed_max_requests >= 0 &&
            x->max_requests != p.observed_max_requests) {
            snprintf(exp, sizeof(exp), "close after %" PRId64 " requests", x->max_requests);
            snprintf(obs, sizeof(obs), "closes after %" PRId64, p.observed_max_requests);
            mismatch(r, s, ts, "max-requests", exp, obs);
        }
        if (x->idle_timeout != KW_TS_NONE && p.observed_idle_timeout != KW_TS_NONE) {
            kw_usec d = p.observed_idle_timeout - x->idle_timeout;
            if (d < 0)
                d = -d;
            if (d > x->idle_timeout / 10 && d > 200000) {
                snprintf(exp, sizeof(exp), "close idle connections after %.1f s",
                         (double)x->idle_timeout / KW_USEC_PER_SEC);
                snprintf(obs, sizeof(obs), "closes them after %.1f s",
                         (double)p.observed_idle_timeout / KW_USEC_PER_SEC);
                mismatch(r, s, ts, "idle-timeout", exp, obs);
            }
        }
        if (x->announces_close >= 0 && p.announces_close >= 0 &&
            x->announces_close != p.announces_close)
            mismatch(r, s, ts, "announces-close",
                     x->announces_close ? "announce its closes with Connection: close"
                                        : "close without Connection: close",
                     p.announces_close ? "announces them" : "closes without announcing");
    }
}

void kw_rules_finish(struct kw_rules *r, kw_usec ts)
{
    for (size_t i = 0; i < r->n_servers; i++) {
        struct server *s = r->servers[i];
        check_expectations(r, s, ts);
        struct kw_server_policy p;
        policy_of(r, s, &p);
        p.ts = ts;
        if (r->sink.on_server)
            r->sink.on_server(r->sink.ctx, &p);
    }
}

int kw_rules_worst(const struct kw_rules *r)
{
    return r->worst;
}

uint64_t kw_rules_servers_untracked(const struct kw_rules *r)
{
    return r->servers_untracked;
}

struct kw_rules *kw_rules_new(const struct kw_rules_config *cfg, const struct kw_track_sink *next,
                              const struct kw_rules_sink *sink)
{
    struct kw_rules *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = cfg;
    r->next = *next;
    r->sink = *sink;
    r->worst = -1;
    r->track_sink = (struct kw_track_sink){ r, rules_txn, rules_fin, rules_end };
    return r;
}

void kw_rules_free(struct kw_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_servers; i++)
        free(r->servers[i]);
    free(r->servers);
    free(r->index);
    free(r);
}

const struct kw_track_sink *kw_rules_track_sink(struct kw_rules *r)
{
    return &r->track_sink;
}

/* rules-impl.h: what the files of rules/ share: the configuration's body, the
 * engine's record of each connection, the server table, the finding builders
 * and the checks each rule file defines. Nothing outside rules/ includes it. */
#ifndef KW_RULES_IMPL_H
#define KW_RULES_IMPL_H

#include "rules/rules.h"

/* --- configuration (config.c) ----------------------------------------- */

/* Findings for endpoints that match are dropped. */
struct kw_suppress {
    enum kw_side side;      /* which endpoint to match: client or server */
    bool any_addr;
    uint8_t family;
    uint8_t addr[16];
    int bits;               /* prefix length */
    int port;               /* -1: any */
    int rule;               /* -1: every rule */
};

/* What the user says a server does, for policy-mismatch. */
struct kw_expect {
    struct kw_endpoint server;
    int64_t max_requests;   /* -1: not said */
    kw_usec idle_timeout;   /* KW_TS_NONE: not said */
    int announces_close;    /* -1: not said */
};

#define KW_SUPPRESS_MAX 1024
#define KW_EXPECT_MAX 1024

struct kw_rules_config {
    kw_usec grace;
    bool enabled[KW_RULE_COUNT];
    enum kw_severity severity[KW_RULE_COUNT];
    struct kw_suppress *suppress;
    size_t n_suppress;
    struct kw_expect *expect;
    size_t n_expect;
};

/* True when a suppress line drops `rule` for these endpoints (client: NULL
 * for a finding about a server as a whole). */
bool config_suppresses(const struct kw_rules_config *cfg, enum kw_rule rule,
                       const struct kw_endpoint *client, const struct kw_endpoint *server);

/* --- what the engine keeps per connection (engine.c) ------------------ */

#define RULES_NOTES_MAX 8 /* transactions remembered per connection */

/* A transaction, as the rules decided at the connection's end need it. */
struct txn_note {
    uint32_t index;
    bool has_request, has_response;
    enum kw_no_response no_response;
    kw_usec req_first, resp_first, idle_before;
    uint64_t req_frame;
    struct kw_line line;
};

struct server;

/* The rule engine's record of a connection: facts the rules read, updated
 * after every rule has seen each transaction. */
struct rules_conn {
    struct kw_conn_info *conn; /* the tracker's record, valid while the connection is open */
    struct server *srv;      /* NULL: past the server table's bound */
    /* a time at which the rules look at the connection again (a deadline):
     * the engine keeps the connections that have one in a list ordered by it */
    kw_usec timer_at;        /* KW_TS_NONE: none */
    struct rules_conn *timer_prev, *timer_next;
    struct txn_note notes[RULES_NOTES_MAX];
    uint32_t n_notes;        /* notes written; the last RULES_NOTES_MAX are kept */
    /* the last exchange with a complete final response */
    bool have_last;
    uint32_t last_index;
    kw_usec last_resp_end;
    uint64_t last_resp_frame;
    bool last_req_persist, last_resp_persist, last_resp_close, last_unframed;
    bool last_req_http10_plain; /* HTTP/1.0 without keep-alive: asks for a close */
    int64_t last_ka_timeout;
    struct kw_line last_line;
    /* the first Connection: close */
    bool close_token;
    uint32_t close_token_index;
    enum kw_side close_token_by;
    kw_usec close_token_seen;     /* when the other side could see it */
    kw_usec close_token_deadline; /* the server should have closed by then */
    bool close_ignored_fired, max_exceeded_fired;
    uint64_t max_requests_allowed; /* by the last Keep-Alive max; 0: none */
    kw_usec rtt;              /* smallest time to first byte: a round trip, at most */
    kw_usec longest_idle_reuse;
};

/* The notes kept: the last RULES_NOTES_MAX, oldest first, for i from
 * notes_first(rc) to rc->n_notes. */
static inline uint32_t notes_first(const struct rules_conn *rc)
{
    return rc->n_notes > RULES_NOTES_MAX ? rc->n_notes - RULES_NOTES_MAX : 0;
}

static inline const struct txn_note *note_at(const struct rules_conn *rc, uint32_t i)
{
    return &rc->notes[i % RULES_NOTES_MAX];
}

/* How a connection closed, as the rules decided at its end see it. */
struct close_view {
    kw_usec close_ts;  /* first FIN or RST, or KW_TS_NONE */
    kw_usec idle;      /* from the last response's end to the close, or KW_TS_NONE */
    bool server_closed, outstanding, agreed, announced;
    bool tunnel;       /* after a 101 or a CONNECT: its idle time is no HTTP idle time */
    bool midstream;    /* picked up after it began: its requests before were not seen */
};

/* RFC 7230 6.3: what a message says of the connection's persistence. */
bool request_persists(const struct kw_http_head *h);
bool response_persists(const struct kw_txn *t);

/* The server closed an idle connection (past the grace). */
bool close_is_idle(const struct close_view *v, kw_usec grace);

/* A request that crossed the server's idle close: lost to it, or sent within
 * a round trip before it, after an idle gap as long as the server's. */
bool note_crossed_idle_close(const struct rules_conn *rc, const struct txn_note *n,
                             const struct close_view *v, kw_usec grace);

/* --- servers (server.c) ----------------------------------------------- */

struct server_table {
    struct server **list;    /* in order of first sight (an evicted one's place is reused) */
    size_t n, cap;
    size_t max;              /* the bound; 0: SERVERS_MAX (65,536) */
    uint32_t *index;         /* open addressing over list: position + 1 */
    size_t index_cap;
    struct server *idle_first, *idle_last; /* servers with no open connection, longest first */
    uint64_t untracked;      /* servers seen while the table was full of busy ones */
    uint64_t evicted;        /* idle servers reported and dropped to make room */
};

/* The server's record, created on first sight; NULL when the table is full
 * (or memory is): the engine then evicts the longest idle server and tries
 * again. */
struct server *server_find(struct server_table *t, const struct kw_endpoint *ep);
bool server_table_full(const struct server_table *t);
/* The server without an open connection idle the longest, or NULL. */
struct server *server_longest_idle(const struct server_table *t);
/* Drops `s` (evicted) and makes its record `ep`'s. */
void server_replace(struct server_table *t, struct server *s, const struct kw_endpoint *ep);
/* A connection of `s` begins or ends: a server with one open is never evicted. */
void server_conn_open(struct server_table *t, struct server *s);
void server_conn_close(struct server_table *t, struct server *s);
/* The server's record if it was seen, else NULL. */
struct server *server_lookup(const struct server_table *t, const struct kw_endpoint *ep);
bool endpoint_eq(const struct kw_endpoint *a, const struct kw_endpoint *b);
void server_table_free(struct server_table *t);
const struct kw_endpoint *server_endpoint(const struct server *s);
void server_count_txn(struct server *s, const struct kw_endpoint *client, const struct kw_txn *t);
void server_count_end(struct server *s, const struct rules_conn *rc, const struct close_view *v,
                      kw_usec grace);
void server_count_finding(struct server *s, enum kw_rule rule);
kw_usec server_longest_reuse_by(const struct server *s, const struct kw_endpoint *client);
void server_policy(const struct server *s, struct kw_server_policy *p);

/* --- the engine ------------------------------------------------------- */

struct kw_rules {
    const struct kw_rules_config *cfg;
    struct rules_conn *timers_first, *timers_last; /* by timer_at, earliest first */
    struct kw_txn_consumer txn_consumer; /* what the tracker calls: us */
    const struct kw_finding_consumer *consumers[KW_CONSUMERS_MAX];
    unsigned n_consumers;
    struct server_table servers;
    int worst;
    struct kw_finding finding;       /* the finding being built */
};

/* --- the checks of each rule (one file each, or one per small family) -- */

/* The moment a rule is asked about, and what it may read. */
struct rule_event {
    struct kw_rules *rules;
    struct kw_conn_info *conn;
    struct rules_conn *rc;
    const struct kw_txn *txn;       /* on_txn */
    const struct kw_line *line;     /* on_txn: the transaction's request line */
    const struct kw_conn_end *end;  /* on_end */
    const struct close_view *close; /* on_end */
    kw_usec now;                    /* on_timer: the time it is */
};

/* Any of the hooks may be NULL. on_txn runs as each transaction is reported,
 * before the engine updates the connection's facts with it; on_timer when a
 * connection's timer (rc->timer_at: the close token's deadline) has passed
 * and it is still open, so that a rule waiting for time fires on time, not at
 * the next packet; on_end when the connection ends; at the end of input,
 * on_server for each server before its policy goes out, then on_finish once.
 * At each of these moments the rules run in the order of the table. */
struct rule_checks {
    void (*on_txn)(const struct rule_event *ev);
    void (*on_timer)(const struct rule_event *ev);
    void (*on_end)(const struct rule_event *ev);
    void (*on_server)(struct kw_rules *r, struct server *s, kw_usec ts);
    void (*on_finish)(struct kw_rules *r, kw_usec ts);
};

#define KW_RULE_CHECKS_DECLARE(id, symbol, name, severity, side, reference) \
    extern const struct rule_checks rule_##symbol;
KW_RULES(KW_RULE_CHECKS_DECLARE)
#undef KW_RULE_CHECKS_DECLARE

/* rule_checks of each rule, by enum kw_rule (table.c). */
extern const struct rule_checks *const kw_rule_checks[KW_RULE_COUNT];

/* --- building findings (build.c) -------------------------------------- */

/* Starts a finding of `rule` in the engine's one finding buffer, with the
 * table's side and the configured severity; NULL when the rule is disabled. */
struct kw_finding *finding_begin(struct kw_rules *r, enum kw_rule rule, uint32_t request,
                                 kw_usec ts);
/* The sentence, printf-style, in our own words; KW_MESSAGE_LINE quotes the
 * request line set with finding_quote. */
void finding_message(struct kw_finding *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void finding_quote(struct kw_finding *f, const struct kw_line *line);
/* Hands the finding to every consumer, unless a suppress line drops it. `c`:
 * NULL for a finding about the server f->server as a whole; `srv`: its
 * record, NULL when it was never seen. */
void finding_emit(struct kw_rules *r, struct kw_conn_info *c, struct server *srv,
                  struct kw_finding *f);

void evidence_count(struct kw_finding *f, const char *name, int64_t v);    /* < 0: unknown */
void evidence_seconds(struct kw_finding *f, const char *name, kw_usec d);  /* KW_TS_NONE */
void evidence_flag(struct kw_finding *f, const char *name, bool v);
void evidence_word(struct kw_finding *f, const char *name, const char *w); /* NULL: unknown */
void evidence_line(struct kw_finding *f, const char *name, const struct kw_line *line);
void evidence_frames(struct kw_finding *f, const uint64_t *frames, int n); /* 0s skipped */

/* "GET /path" of a transaction, cut to fit. */
void line_of_txn(struct kw_line *l, const struct kw_txn *t);

/* A duration for a message: "0.2 ms", "3.004 s", or "an unknown time". */
void duration_words(char out[KW_DURATION_LEN], kw_usec d);

#endif

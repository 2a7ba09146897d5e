/* html-impl.h: what the files of the HTML report share. html.c keeps the
 * records (bounded aggregates per server, a ladder per open connection, the
 * worst connections), html-page.c writes the page, html-plot.c the race plot
 * and the histogram, html-ladder.c the ladders. Nothing outside output/html*.c
 * includes it. */
#ifndef KW_HTML_IMPL_H
#define KW_HTML_IMPL_H

#include "output/out-impl.h"

/* The bounds. Memory: about 22 KiB per server drawn; per open connection
 * its ladder events (104 bytes each, at most 64) and findings (at most 16),
 * under 2 KiB for most and at most about 15 KiB; at most HTML_CONNS_MAX
 * connections kept for their ladders. The page: at most about 85 KiB of
 * points per server and 25 KiB per ladder, so at most about 4 MB whatever
 * the capture. */
#define HTML_SERVERS_MAX 32  /* servers drawn, in the order first seen; the rest counted */
#define HTML_ROW_POINTS 200  /* points kept per row of a race plot: a uniform sample */
#define HTML_CONNS_MAX 50    /* ladders: connections with a finding, worst first */
#define HTML_EVENTS_HEAD 48  /* ladder events kept per connection: the first ones, */
#define HTML_EVENTS_TAIL 16  /* then the last ones */
#define HTML_FINDINGS_MAX 16 /* findings listed per connection, and per server as a whole */
#define HTML_HIST_EXACT 256  /* requests per connection counted one by one below this, */
#define HTML_HIST_POW2 24    /* then per power of two: [2^k, 2^(k+1)) for k = 8..31 */
#define HTML_SOFTWARE_MAX 64
#define HTML_LABEL_MAX 40    /* bytes of a request's method and URI kept for its arrow */

/* The rows of a race plot: what followed an idle gap. */
enum race_row {
    RACE_ANSWERED,     /* a request reused the connection and got its response */
    RACE_LOST,         /* a request reused it and was lost (the server closed) */
    RACE_SERVER_CLOSE, /* the server closed it, nothing outstanding */
    RACE_CLIENT_CLOSE, /* the client closed it, nothing outstanding */
    RACE_ROWS
};

struct race_point {
    kw_usec idle;
    uint64_t conn;
    uint32_t request; /* 0 for a close */
};

/* A uniform sample of a row's points (reservoir sampling, Vitter's
 * algorithm R), with the exact count of the points seen. */
struct race_sample {
    uint64_t seen;
    uint32_t n;
    struct race_point pts[HTML_ROW_POINTS];
};

struct html_server {
    struct kw_endpoint ep;
    uint64_t rng; /* the reservoir's draws: the same capture gives the same page */
    struct race_sample rows[RACE_ROWS];
    uint64_t reuse_unanswered; /* reuses without an answer that were not lost */
    uint64_t connections;
    uint64_t hist[HTML_HIST_EXACT]; /* connections by requests carried */
    uint64_t hist_pow2[HTML_HIST_POW2];
    bool has_policy;
    struct kw_server_policy policy; /* .software points into `software` */
    uint8_t software[HTML_SOFTWARE_MAX];
    struct kw_buf findings; /* findings about it as a whole, as list items */
    uint32_t n_findings;
};

enum ladder_kind { EV_OPEN, EV_REQ, EV_RESP, EV_FIN, EV_RST, EV_END };

#define EV_LOST 0x01        /* request: lost */
#define EV_PIPELINED 0x02   /* request: sent before the previous answer ended */
#define EV_AFTER_FIN 0x04   /* request: sent after the server's FIN */
#define EV_CUT 0x08         /* message: not complete */
#define EV_CLOSE_TOKEN 0x10 /* message: Connection: close */
#define EV_LABEL_CUT 0x20   /* request: method and URI longer than kept */

/* One arrow of a ladder (or a line across it: EV_OPEN, EV_END). */
struct ladder_event {
    kw_usec t0, t1;   /* first and last byte; t1 == t0 for a FIN or a RST */
    uint64_t f0, f1;  /* their frames; 0: not known */
    kw_usec idle;     /* request: idle before it, or KW_TS_NONE */
    uint32_t request; /* request, response: the exchange */
    int32_t ka_timeout; /* response: Keep-Alive timeout=, or -1 */
    uint16_t status;
    uint8_t kind, side, flags, version, no_response, reason; /* reason: EV_END's kw_timeout */
    uint8_t label_len;
    uint8_t label[HTML_LABEL_MAX]; /* request: method and URI as on the wire, not escaped */
};

/* A connection's events: the first HTML_EVENTS_HEAD in ev[0..], then a ring
 * of the last HTML_EVENTS_TAIL in ev[HTML_EVENTS_HEAD..]. */
struct html_ladder {
    struct ladder_event *ev;
    uint32_t n, cap; /* in the head */
    uint32_t n_tail; /* events that went to the ring */
};

struct html_finding {
    uint8_t rule, severity, side, n_frames;
    uint32_t request;
    kw_usec ts;
    uint64_t frames[KW_EVIDENCE_FRAMES_MAX];
    uint32_t msg_off, msg_len; /* its message, escaped, in html_conn.messages */
};

/* The report's record of an open connection. */
struct html_conn {
    uint32_t server1;     /* its server's index + 1; 0: not looked up yet */
    bool no_server;       /* its server is past HTML_SERVERS_MAX */
    bool opened;          /* its EV_OPEN is in the ladder */
    bool has_unanswered;  /* a request without a response, the first at unanswered_first */
    kw_usec unanswered_first;
    struct html_ladder ladder;
    struct html_finding *findings; /* up to HTML_FINDINGS_MAX, grown by doubling */
    uint32_t n_findings;           /* all of them, kept or not */
    uint8_t worst;                 /* the worst severity among them */
    struct kw_buf messages;
};

/* A connection with a finding, kept for its ladder. */
struct html_kept {
    uint64_t id;
    struct kw_conn_key key;
    kw_usec start;
    struct kw_conn_end end; /* .not_http points into not_http */
    char not_http[64];
    struct html_conn rec;
};

struct html_state {
    struct html_server *servers[HTML_SERVERS_MAX];
    uint32_t n_servers;
    uint64_t servers_not_drawn;    /* policies of servers past HTML_SERVERS_MAX */
    uint64_t conns_not_drawn;      /* connections to those servers */
    struct html_kept *kept[HTML_CONNS_MAX];
    uint32_t n_kept;
    uint64_t conns_with_findings;  /* kept or not */
    kw_usec first_start;           /* the first connection's handshake; KW_TS_NONE */
    bool started;
};

/* html.c */
void html_ladder_sorted(const struct html_ladder *l, struct ladder_event *out, uint32_t *n,
                        uint32_t *break_at, uint32_t *not_drawn);

/* html-page.c: the whole page, from the records, into o->f. */
void html_page(struct kw_out *o, const struct html_state *st, const struct kw_stats *stats,
               kw_usec ts);
/* A duration as the JSON writes it: "2.020359". */
void html_secs(struct kw_buf *b, kw_usec d);
/* data-field="name" data-value="v" with v as the JSON writes it. */
void html_field_u64(struct kw_buf *b, const char *name, uint64_t v);
void html_field_secs(struct kw_buf *b, const char *name, kw_usec d); /* null for KW_TS_NONE */

/* html-plot.c */
void html_race_plot(struct kw_buf *b, const struct html_server *s, uint32_t index);
void html_histogram(struct kw_buf *b, const struct html_server *s, uint32_t index);

/* html-ladder.c */
void html_ladder(struct kw_buf *b, const struct html_kept *k);

#endif

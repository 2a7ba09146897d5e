/* txn.h: what the connection tracker reports, the value types of the stages
 * after it (rules, output): transactions, connection ends, and the consumer
 * interface through which they receive them. */
#ifndef KW_HTTP_TXN_H
#define KW_HTTP_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/time.h"
#include "http/dec.h"
#include "reassembly/reasm.h"

/* A bounded copy of text from the wire: not escaped, not NUL-terminated. */
struct kw_text {
    const uint8_t *p;
    uint16_t len;
    bool present;   /* the header was there (maybe empty) */
    bool truncated; /* longer on the wire than kept */
};

/* Why a request got no response. */
enum kw_no_response {
    KW_NORESP_NONE = 0,     /* it got one */
    KW_NORESP_LOST,         /* the server ended the connection: after its FIN, or outstanding at it */
    KW_NORESP_CLIENT_CLOSED,/* the client closed before an answer */
    KW_NORESP_NOT_SEEN,     /* a segment missing from the capture hid it */
    KW_NORESP_CAPTURE_END,  /* still waiting when the capture ended */
    KW_NORESP_ABANDONED,    /* the connection stopped being HTTP, or was dropped by the reassembler */
};

struct kw_txn {
    uint32_t index;           /* 1-based request index within the connection; 0: no request */
    bool has_request, request_complete;
    bool has_response, response_complete;
    bool pipelined;           /* sent before the previous response had ended */
    bool pipelined_unknown;   /* whether it was is not known: a response before it was not
                                 seen to end (cut, or in a hole); idle_before is unknown too */
    bool after_server_fin;    /* sent after the server's FIN */
    bool capture_loss;        /* a hole in the capture touched it: some of its bytes, or the
                                 pairing of its request and response, are not known */
    bool midstream;           /* on a connection picked up after it began */
    uint32_t n_interim;       /* 1xx responses before the final one (saturates) */
    kw_usec req_first, req_last, resp_first, resp_last; /* KW_TS_NONE when not seen */
    kw_usec idle_before;      /* since the previous response ended; KW_TS_NONE for the
                                 first, and when unknown */
    uint64_t req_first_frame, req_last_frame, resp_first_frame, resp_last_frame; /* 0: none */
    struct kw_http_head req, resp;
    struct kw_text method, uri, host, user_agent, req_connection, req_keep_alive;
    struct kw_text req_content_type, x_forwarded_for, via; /* the request's headers */
    struct kw_text status_msg; /* the reason phrase */
    struct kw_text resp_connection, resp_keep_alive, server, resp_content_type;
    enum kw_framing framing;
    uint64_t req_body_len, resp_body_len;
    enum kw_no_response no_response;
};

enum kw_tunnel { KW_TUNNEL_NONE = 0, KW_TUNNEL_UPGRADE, KW_TUNNEL_CONNECT };

struct kw_conn_end {
    uint32_t requests, responses, lost_requests, after_server_fin;
    bool reused;              /* more than one request */
    bool http;                /* at least one HTTP message decoded */
    enum kw_side closed_by;   /* who closed first (FIN or RST) */
    enum kw_close close;      /* how: the first FIN or RST, or why the connection was let go */
    kw_usec close_ts;         /* when it closed first; the end of input for capture-end */
    kw_usec end_ts;           /* when the connection was over */
    enum kw_close ended;      /* what ended it for the reassembler (capture-end: never closed) */
    enum kw_timeout timeout;  /* ended == KW_CLOSE_TIMEOUT: why (table full, ports reused, idle) */
    kw_usec idle_before_close;/* from the last message byte to the first close; KW_TS_NONE */
    bool close_announced;     /* a Connection: close was sent before the close */
    kw_usec fin_ts[2];        /* indexed by enum kw_dir: client's FIN, server's FIN */
    uint64_t fin_frame[2];    /* their frame numbers */
    uint64_t close_frame;     /* the first FIN or RST */
    uint64_t end_frame;       /* the packet that ended it (0: the end of input) */
    enum kw_side rst_by;      /* who sent a RST, if one ended the connection */
    const char *not_http;     /* why decoding stopped, or NULL */
    enum kw_dir not_http_dir;
    uint64_t not_http_offset;
    enum kw_tunnel tunnel;
    int64_t gap_offset[2];    /* indexed by enum kw_dir, KW_NO_GAP when none */
    bool midstream;           /* picked up after it began: its handshake was not captured */
    uint64_t missed_bytes[2]; /* indexed by enum kw_dir: bytes sent that the capture missed,
                                 in holes the reassembler stepped over */
    uint64_t skipped_bytes[2];/* bytes read but not decoded: before the first message
                                 boundary found, after a hole, junk before a status line */
    /* What its packets showed, as the reassembler counted them (kw_reasm_end
     * says exactly what): by enum kw_dir, as Zeek's orig_pkts, orig_bytes and
     * history. */
    uint64_t packets[2];
    bool packets_unknown;     /* the handshake's packets were not kept */
    uint64_t bytes[2];
    char history[KW_HISTORY_MAX + 1];
};

#define KW_CONSUMERS_MAX 8

/* What the tracker knows of a connection. `state` holds the later stages'
 * records of it, one per consumer, at the slot the consumer was given. */
struct kw_conn_info {
    uint64_t id;              /* unique within the run, in order of the handshakes */
    struct kw_conn_key key;
    kw_usec start;
    void *state[KW_CONSUMERS_MAX];
};

/* A consumer of the tracker's events (the rule engine, each output). They are
 * called from inside the reassembler's callbacks; pointers are valid only
 * until the call returns. Transactions and FINs go to the consumers in the
 * order they subscribed, connection ends in the reverse order: a consumer
 * that subscribed later sees a connection's events after the earlier ones
 * and its end before them, so what it says about a connection (a finding)
 * reaches the earlier ones while their record of it is still open. */
struct kw_txn_consumer {
    void *ctx;
    unsigned slot;            /* set when it subscribes: its index into kw_conn_info.state */
    void (*on_txn)(void *ctx, struct kw_conn_info *c, const struct kw_txn *t);
    void (*on_fin)(void *ctx, struct kw_conn_info *c, enum kw_side who, kw_usec ts);
    void (*on_end)(void *ctx, struct kw_conn_info *c, const struct kw_conn_end *e);
};

const char *kw_no_response_name(enum kw_no_response r);

#endif

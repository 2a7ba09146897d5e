/* track.h: the connection tracker. It receives reassembled bytes (it is a
 * kw_reasm_sink), runs a request and a response decoder per connection,
 * pairs requests with responses in order, and reports each transaction and
 * how each connection ended. */
#ifndef KW_TRACK_H
#define KW_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/stats.h"
#include "common/time.h"
#include "http/dec.h"
#include "reassembly/reasm.h"

struct kw_track;

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
    bool after_server_fin;    /* sent after the server's FIN */
    uint16_t n_interim;       /* 1xx responses before the final one */
    kw_usec req_first, req_last, resp_first, resp_last; /* KW_TS_NONE when not seen */
    kw_usec idle_before;      /* since the previous response ended; KW_TS_NONE for the first */
    uint64_t req_first_frame, req_last_frame, resp_first_frame, resp_last_frame; /* 0: none */
    struct kw_http_head req, resp;
    struct kw_text method, uri, host, user_agent, req_connection, req_keep_alive;
    struct kw_text resp_connection, resp_keep_alive, server;
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
};

#define KW_TRACK_SLOTS 2

/* What the tracker knows of a connection. `user` holds the later stages'
 * per-connection state: slot 0 the output, slot 1 the rules. */
struct kw_conn_info {
    uint64_t id;              /* unique within the run, in order of the handshakes */
    struct kw_conn_key key;
    kw_usec start;
    void *user[KW_TRACK_SLOTS];
};

/* Called from inside the reassembler's callbacks. Pointers are valid only
 * until the callback returns. */
struct kw_track_sink {
    void *ctx;
    void (*on_txn)(void *ctx, struct kw_conn_info *c, const struct kw_txn *t);
    void (*on_fin)(void *ctx, struct kw_conn_info *c, enum kw_side who, kw_usec ts);
    void (*on_end)(void *ctx, struct kw_conn_info *c, const struct kw_conn_end *e);
};

#define KW_PIPELINE_MAX 32 /* outstanding requests kept per connection */

struct kw_track *kw_track_new(uint32_t head_max, const struct kw_track_sink *sink,
                              struct kw_stats *stats);
void kw_track_free(struct kw_track *t);

/* The tracker as the reassembler's sink; valid as long as the tracker. */
const struct kw_reasm_sink *kw_track_reasm_sink(struct kw_track *t);

const char *kw_no_response_name(enum kw_no_response r);

#endif

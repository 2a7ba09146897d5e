/* reasm.h: TCP reassembly. IPv4 packets in; per connection, in-order bytes
 * each way, FINs, and how the connection ended, out through a sink. */
#ifndef KW_REASM_H
#define KW_REASM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/slice.h"
#include "common/stats.h"
#include "common/time.h"

struct kw_reasm;

/* What ended a connection, as JSON names it. */
enum kw_close {
    KW_CLOSE_FIN = 0,     /* both FINs exchanged */
    KW_CLOSE_RST,         /* a RST was accepted */
    KW_CLOSE_TIMEOUT,     /* dropped by the reassembler: stream table full, or its 4-tuple reused */
    KW_CLOSE_CAPTURE_END, /* still open when the input ended */
};

#define KW_NO_GAP (-1)

struct kw_reasm_end {
    enum kw_close how;
    enum kw_dir rst_dir;   /* KW_CLOSE_RST: the direction the RST travelled */
    kw_usec ts;
    uint64_t frame;        /* the packet that ended it (0: none, e.g. at the end of input) */
    /* Stream offset in each direction where a segment missing from the capture
     * stopped reassembly for good, or KW_NO_GAP. */
    int64_t gap_offset[2];
};

/* Called from inside kw_reasm_feed() and kw_reasm_finish(). `conn` is what
 * on_open returned; `data` is valid only until on_data returns. on_open's
 * `midstream` says the connection was picked up on data of a 4-tuple whose
 * handshake was not captured: its streams start wherever the capture did.
 * on_gap says that `missing_bytes` bytes of direction `dir`, which the other
 * side's ACKs prove were delivered, are not in the capture; it is called in
 * stream order, between the on_data calls around the hole, and the missing
 * bytes are not delivered through on_data. */
struct kw_reasm_sink {
    void *ctx;
    void *(*on_open)(void *ctx, const struct kw_conn_key *key, kw_usec ts, bool midstream);
    void (*on_data)(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame,
                    struct kw_slice data);
    void (*on_fin)(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame);
    void (*on_end)(void *ctx, void *conn, const struct kw_reasm_end *end);
    void (*on_gap)(void *ctx, void *conn, enum kw_dir dir, kw_usec ts, uint64_t frame,
                   uint64_t missing_bytes);
};

struct kw_reasm_config {
    int n_tcp_streams;   /* libnids hash size; 3/4 of it (+1) connections are followed at once */
    int flow_timeout_s;  /* a SYN on a 4-tuple older than this starts a new connection */
};

#define KW_REASM_STREAMS_DEFAULT 65536
#define KW_REASM_FLOW_TIMEOUT_DEFAULT 1

/* One at a time per process: libnids keeps its state in globals.
 * On error returns NULL with a sentence in err. */
struct kw_reasm *kw_reasm_new(const struct kw_reasm_config *cfg, const struct kw_reasm_sink *sink,
                              struct kw_stats *stats, char err[256]);

/* Feeds one IPv4 packet captured at `ts`, frame number `frame` of the input. */
void kw_reasm_feed(struct kw_reasm *r, kw_usec ts, uint64_t frame, struct kw_slice ip);

/* A TCP/IPv4 packet the snaplen cut short (`ip` holds what was captured):
 * libnids cannot use it, but its sequence numbers and FIN still tell how far
 * the connection went, so the hole it leaves is reported as a gap. */
void kw_reasm_feed_cut(struct kw_reasm *r, kw_usec ts, uint64_t frame, struct kw_slice ip);

/* End of input at `ts`: every open connection ends as KW_CLOSE_CAPTURE_END, in
 * the order they were opened. */
void kw_reasm_finish(struct kw_reasm *r, kw_usec ts);

void kw_reasm_free(struct kw_reasm *r);

#endif

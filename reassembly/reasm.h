/* reasm.h: TCP reassembly. Decoded IP packets in; per connection, in-order
 * bytes each way, FINs, and how the connection ended, out through a sink. */
#ifndef KW_REASM_H
#define KW_REASM_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/pkt.h"
#include "common/flow.h"
#include "common/slice.h"
#include "common/stats.h"
#include "common/time.h"

struct kw_reasm;

/* What ended a connection, as JSON names it. */
enum kw_close {
    KW_CLOSE_FIN = 0,     /* both FINs exchanged */
    KW_CLOSE_RST,         /* a RST was accepted */
    KW_CLOSE_TIMEOUT,     /* ended by the reassembler: kw_reasm_end.timeout says why */
    KW_CLOSE_CAPTURE_END, /* still open when the input ended (or reading stopped) */
};

/* Why a connection ended as KW_CLOSE_TIMEOUT. */
enum kw_timeout {
    KW_TIMEOUT_NONE = 0, /* not a timeout */
    KW_TIMEOUT_EVICTED,  /* the stream table was full: the oldest connection made room */
    KW_TIMEOUT_REUSED,   /* a new connection took over its 4-tuple */
    KW_TIMEOUT_IDLE,     /* no data, FIN or RST for longer than the idle limit */
};

#define KW_NO_GAP (-1)
#define KW_HISTORY_MAX 22 /* letters of kw_reasm_end.history: 11 each way, each once */

struct kw_reasm_end {
    enum kw_close how;
    enum kw_dir rst_dir;     /* KW_CLOSE_RST: the direction the RST travelled */
    kw_usec ts;              /* for KW_TIMEOUT_IDLE, when the idle limit passed */
    uint64_t frame;          /* the packet that ended it (0: none, e.g. at the end of input) */
    /* Stream offset in each direction where a segment missing from the capture
     * stopped reassembly for good, or KW_NO_GAP. */
    int64_t gap_offset[2];
    enum kw_timeout timeout; /* KW_CLOSE_TIMEOUT: why; else KW_TIMEOUT_NONE */
    /* Bytes of each direction the capture missed but the other side's ACKs
     * prove were delivered (given to on_gap). */
    uint64_t missed_bytes[2];
    /* What the connection's packets showed, each direction as Zeek's conn.log
     * counts it (orig_pkts, orig_bytes, history):
     * packets: every TCP segment of the connection seen, from its first SYN (or
     *   the packet that picked it up) to the one that ended it: handshake,
     *   pure ACKs, retransmissions, RSTs held or ignored, segments the snaplen
     *   cut; a datagram put together from fragments counts once. Unknown
     *   (packets_unknown) when the handshake's were not kept.
     * bytes: payload in sequence space, from the first data byte to the
     *   furthest one seen or acknowledged by the other side, SYN and FIN
     *   octets left out: each byte once, retransmissions not again, bytes the
     *   capture missed included.
     * history: Zeek's letters, upper case for the client, each at most once a
     *   direction, NUL-terminated. */
    uint64_t packets[2];
    bool packets_unknown;
    uint64_t bytes[2];
    char history[KW_HISTORY_MAX + 1];
};

/* Called from inside kw_reasm_feed(), kw_reasm_tick() and kw_reasm_finish().
 * `conn` is what on_open returned; `data` is valid only until on_data returns.
 * on_open's `midstream` says the connection was picked up on data of a
 * 4-tuple whose handshake was not captured: its streams start wherever the
 * capture did. on_gap says that `missing_bytes` bytes of direction `dir`,
 * which the other side's ACKs prove were delivered, are not in the capture;
 * it is called in stream order, between the on_data calls around the hole,
 * and the missing bytes are not delivered through on_data. */
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
    uint32_t max_connections; /* followed at once: past it, the least recently active one
                               * ends (timeout, evicted) and is counted (streams_evicted).
                               * libnids' pool is 1/8 larger, for handshakes in progress:
                               * 288 bytes each, taken at the start */
    int flow_timeout_s; /* a SYN on a 4-tuple older than this starts a new connection */
    int idle_timeout_s; /* a connection with no data, FIN or RST for longer ends (0: never) */
    bool midstream;     /* data on a 4-tuple whose handshake was not captured starts a
                         * connection (on_open's midstream); false: it is counted, as
                         * skip_mid_stream, and nothing else */
};

#define KW_REASM_MAX_CONNECTIONS_FILES 49152    /* reading files: about 14 MB of libnids pool */
#define KW_REASM_MAX_CONNECTIONS_LIVE 1000000   /* a sensor for weeks: 324 MB of pool */
#define KW_REASM_MAX_CONNECTIONS_MIN 12
#define KW_REASM_MAX_CONNECTIONS_MAX 10000000
#define KW_REASM_FLOW_TIMEOUT_DEFAULT 1
#define KW_REASM_IDLE_TIMEOUT_DEFAULT 300 /* as Zeek's tcp_inactivity_timeout */
#define KW_REASM_MIDSTREAM_DEFAULT true   /* as Zeek, and Suricata with midstream on */

#define KW_REASM_ERRBUF 256

/* One at a time per process: libnids keeps its state in globals.
 * On error returns NULL with a sentence in err. */
struct kw_reasm *kw_reasm_new(const struct kw_reasm_config *cfg, const struct kw_reasm_sink *sink,
                              struct kw_stats *stats, char err[KW_REASM_ERRBUF]);

/* Feeds one packet, IPv4 or IPv6 (mapped into 240.0.0.0/4 for libnids; the
 * sink sees only the real endpoints), whole or a fragment (put together
 * first, bounded). A TCP packet the snaplen cut (pkt->ip.is_cut) is counted
 * as truncated; libnids cannot use it, but its sequence numbers and FIN still
 * tell how far the connection went: the hole it leaves is a gap, or on_gap
 * once the other side's ACKs pass it. IPv4 packets from or to 240.0.0.0/4
 * are counted (skip_reserved) and dropped.
 * Returns 0, or -1 once the reassembler has failed (out of memory inside
 * libnids): kw_reasm_error() says why, and every later call returns -1 and
 * does nothing. After a failure, kw_reasm_finish() still ends every open
 * connection through the sink. */
int kw_reasm_feed(struct kw_reasm *r, const struct kw_pkt *pkt);

/* Calls feed(ctx), which feeds packets with kw_reasm_feed(), guarded once
 * against libnids running out of memory rather than once per packet. If it
 * does, feed is abandoned where it was (it must hold nothing that needs
 * releasing across kw_reasm_feed calls) and kw_reasm_run returns -1 with the
 * reassembler failed; else 0 when feed returns. */
int kw_reasm_run(struct kw_reasm *r, void (*feed)(void *ctx), void *ctx);

/* Ends, as KW_CLOSE_TIMEOUT / KW_TIMEOUT_IDLE, every connection idle for
 * longer than the configured limit at capture time `now`; its end time is when
 * the limit passed. O(connections ended). Call it as capture time advances
 * (before feeding the packet that advanced it) and when a live capture is
 * quiet; nothing happens with idle_timeout_s 0 or after a failure. */
void kw_reasm_tick(struct kw_reasm *r, kw_usec now);

/* End of input at `ts`: connections idle past the limit by then end as
 * timeouts (as kw_reasm_tick would), every other open connection as
 * KW_CLOSE_CAPTURE_END, in the order they were opened. */
void kw_reasm_finish(struct kw_reasm *r, kw_usec ts);

/* Why the reassembler failed, one sentence; "" while it has not. */
const char *kw_reasm_error(const struct kw_reasm *r);

void kw_reasm_free(struct kw_reasm *r);

#endif

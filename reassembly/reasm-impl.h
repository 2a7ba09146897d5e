/* reasm-impl.h: the reassembler's state, shared by the files of reassembly/:
 * feed.c decides what each packet does, nids.c drives libnids (the only file
 * that includes <nids.h>). No other folder includes it. */
#ifndef KW_REASM_IMPL_H
#define KW_REASM_IMPL_H

#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdbool.h>

#include "reassembly/build.h"
#include "reassembly/conns.h"
#include "reassembly/defrag.h"
#include "reassembly/map6.h"
#include "reassembly/reasm.h"

/* A SYN that carried data (TCP Fast Open), until its handshake is done. */
#define REASM_TFO_MAX 16
#define REASM_TFO_DATA_MAX 4096 /* Linux sends at most about 3.5 KB in a SYN */
struct tfo_syn {
    bool in_use, kept, accepted;
    uint32_t cli, srv;           /* network byte order */
    uint16_t cport, sport;
    uint32_t isn, len, server_isn;
    kw_usec ts;
    uint8_t data[REASM_TFO_DATA_MAX];
};

struct kw_reasm {
    struct reasm_table conns;
    uint32_t max_connections;    /* kw_reasm_config's: past it, evict_least_active() */
    struct reasm_defrag defrag;
    struct reasm_map6 map6;
    uint32_t map6_recheck[8];    /* entries whose connection ended: still needed? */
    uint32_t n_map6_recheck;
    struct kw_stats *stats;
    kw_usec idle_limit;          /* 0: connections never go idle */
    bool midstream;              /* pick connections up on data (kw_reasm_config) */
    bool picking_up;             /* the handshake being fed is ours: on_open's midstream */
    bool wire_pending;           /* the packet being fed is still to be counted (wire.c) */
    /* a hole being filled: its bytes are the sink's on_gap, not on_data */
    struct reasm_conn *filling;
    enum kw_dir fill_dir;
    size_t fill_left;
    kw_usec clock;               /* the latest packet time fed: activity is stamped with it,
                                  * so the activity order is also an order in time */
    /* the packet being fed */
    kw_usec ts;
    uint64_t frame;
    uint32_t src_addr;           /* its sender, as libnids sees it: who sent a RST */
    uint16_t src_port;
    struct reasm_conn *opened;       /* set when the packet completed a handshake */
    struct reasm_conn *delivered_to; /* set when the packet's data was delivered */
    struct reasm_conn *ended;        /* set when the packet ended a connection */
    /* libnids (nids.c) */
    pcap_t *raw_ip_handle;       /* DLT_RAW: libnids takes its link offset from it */
    struct pcap_pkthdr hdr;      /* libnids keeps a pointer to it: it must outlive the call */
    /* out of memory inside libnids: its no_mem hook jumps back to the call */
    sigjmp_buf no_mem_jump;
    bool armed;                  /* no_mem_jump is set, in an active frame */
    bool failed;                 /* libnids' state may be half updated: never call it again */
    void *no_mem_reserve;        /* given back on failure */
    char error[KW_REASM_ERRBUF];
    struct tfo_syn tfo[REASM_TFO_MAX];
    uint32_t n_tfo;
    struct reasm_handshakes hs;  /* the packets of handshakes in progress (wire.c) */
    /* the packet being fed, when it cannot be fed from the capture: an IPv6
     * one rewritten, an IPv4 one with options (libnids rewrites options in
     * place), a SYN without its data, a SYN/ACK with its ACK changed */
    _Alignas(8) uint8_t scratch[65536]; /* libnids reads headers as structs from it */
    _Alignas(8) uint8_t synth[BUILD_PACKET_MAX]; /* a packet the wire did not carry (synth.c) */
};

/* --- segment.c: TCP segments ---------------------------------------------------- */

/* A TCP segment, whole or cut by the snaplen, and the IPv4 packet that
 * carries it as libnids will see it. */
struct seg_in {
    struct kw_slice packet;      /* the IPv4 packet for libnids */
    struct kw_slice transport;   /* the TCP header and what follows, as captured */
    size_t transport_wire_len;   /* its length on the wire */
    struct kw_slice src, dst;    /* 4-byte addresses */
};

/* The TCP header; false when it cannot be one. */
bool reasm_parse_segment(const struct seg_in *in, struct reasm_segment *sg);

/* One whole TCP segment, at r->ts and r->frame: fed to libnids, and noted. 0,
 * or -1 once the reassembler has failed. */
int reasm_feed_segment(struct kw_reasm *r, const struct seg_in *in);

/* How long a RST not at the expected sequence number is held back: data or a
 * FIN from either side within it shows the connection went on (its receiver
 * ignored the RST: RFC 5961 3.2). Capture time. */
#define REASM_RST_HOLD (1 * (kw_usec)KW_USEC_PER_SEC)

/* Ends the connections whose held RST is older than REASM_RST_HOLD at `now`
 * (all of them with `all`: the end of input), as reset at the RST. */
void reasm_end_held_rsts(struct kw_reasm *r, kw_usec now, bool all);

/* A TCP packet the snaplen cut: its data is missing, the gap shows at the end. */
void reasm_note_cut_segment(struct kw_reasm *r, const struct seg_in *in);

/* --- synth.c: packets the wire did not carry ------------------------------- */

/* A SYN with data (`sg`, `in`): its data kept (bounded), the SYN alone to feed. */
struct kw_slice reasm_tfo_syn(struct kw_reasm *r, const struct seg_in *in,
                              const struct reasm_segment *sg);

/* A SYN/ACK, while SYNs with data wait: what to feed, its ACK made the SYN's
 * alone if the server took the data. */
struct kw_slice reasm_tfo_synack(struct kw_reasm *r, const struct seg_in *in,
                                 const struct reasm_segment *sg);

/* `c` just opened: the data its SYN carried, if the server took it, is fed as
 * the client's first segment. false once libnids has failed. */
bool reasm_tfo_deliver(struct kw_reasm *r, const struct reasm_conn *c);

/* Whether the sender of a segment with this payload, between these ports, is
 * the client of a connection whose handshake was not captured: its bytes
 * begin a request line; else the other's begin a status line; else it is on
 * the port that is not well known, or the higher one. */
bool reasm_sender_is_client(struct kw_slice payload, uint16_t sport, uint16_t dport);

/* Picks up the connection of a data segment (`sg`, its ACK flag set) of a
 * 4-tuple libnids does not follow, or follows only half open: a handshake
 * made from its sequence and acknowledgement numbers is fed first, then the
 * segment. false once libnids has failed. */
bool reasm_pick_up(struct kw_reasm *r, const struct seg_in *in, const struct reasm_segment *sg);

/* Bytes of `c` the capture missed that the other side's ACKs prove were
 * delivered: each hole they prove (up to the data seen after it, at most
 * REASM_FILL_MAX bytes) is filled for libnids. false once libnids failed.
 * The bound keeps what two packets of a stranger (one byte far past a hole,
 * an ACK of it) can cost at 128 segments of ours. */
#define REASM_FILL_MAX (256u << 10)
bool reasm_fill_holes(struct kw_reasm *r, struct reasm_conn *c);

/* The same for direction `dir` with the receiver's ACK `ack` of a packet not
 * fed yet: filled before it, libnids then takes that ACK as for the data. */
bool reasm_fill_acked(struct kw_reasm *r, struct reasm_conn *c, enum kw_dir dir, uint32_t ack);

/* --- nids.c: libnids ---------------------------------------------------------- */

/* Sets libnids' parameters and starts it, guarded against it running out of
 * memory. false with r->error set on failure. */
bool reasm_nids_start(struct kw_reasm *r, const struct kw_reasm_config *cfg, int n_tcp_streams);

/* Stops libnids if it started and its state is whole; frees what it holds. */
void reasm_nids_stop(struct kw_reasm *r);

/* Hands libnids one IPv4 packet, as the packet at r->ts, r->frame. Inside
 * kw_reasm_run() an allocation failing in libnids jumps back there; outside
 * one, back here, and this returns false with the reassembler failed. */
bool reasm_nids_feed(struct kw_reasm *r, struct kw_slice ipv4);

/* libnids follows the 4-tuple (either way round), if only half open. */
bool reasm_nids_knows(uint32_t a1, uint16_t p1, uint32_t a2, uint16_t p2);

/* Ends `c` for the sink, letting go of its libnids stream without freeing it
 * (callbacks may still come for it: they find no record). */
void reasm_end_conn(struct kw_reasm *r, struct reasm_conn *c, struct kw_reasm_end end);

/* libnids still follows c with the stream c holds. It frees streams without a
 * callback (a SYN taking over an old 4-tuple, tcp_flow_timeout) and reuses
 * them at once, maybe for another connection: c->stream is only a hint until
 * this says so. */
bool reasm_nids_owns(const struct kw_reasm *r, const struct reasm_conn *c);

/* Frees the stream libnids keeps for the 4-tuple (either way round) if no
 * record of ours holds it: a half-open connection. Outside callbacks only. */
void reasm_nids_forget(uint32_t a1, uint16_t p1, uint32_t a2, uint16_t p2);

/* Takes in the urgent bytes libnids has taken out of c's streams since it
 * last looked (the last byte of a segment can go without a delivery after it). */
void reasm_nids_sync_urgent(struct kw_reasm *r, struct reasm_conn *c);

/* libnids would take a RST from direction `dir` with sequence number `seq`:
 * it is within the receiver's window from its last ACK (tcp.c). */
bool reasm_nids_in_window(const struct kw_reasm *r, const struct reasm_conn *c, enum kw_dir dir,
                          uint32_t seq);

/* libnids keeps the receiver's last ACK and drops as old what lies before it.
 * An ACK for data never sent (one past `seen_end`, where the sender's data
 * seen so far ends) would make it drop all that comes after: if that is why
 * it dropped this segment (`seq`, `len`, FIN or data) its ACK is put back
 * where the sender's in-order data ends, and true is returned (feed the
 * segment again). Outside callbacks only. */
bool reasm_nids_unstick_ack(struct kw_reasm *r, struct reasm_conn *c, enum kw_dir dir,
                            uint32_t seq, uint32_t len, uint32_t seen_end);

/* The receiver of direction `dir` acknowledged up to *ack (libnids' view). */
bool reasm_nids_acked(const struct kw_reasm *r, const struct reasm_conn *c, enum kw_dir dir,
                      uint32_t *ack);

/* Fills the first `n` bytes where direction `dir` of `c` stops, a hole, with
 * segments of ours (zeros, 2,000 bytes at most each): libnids goes on with
 * what it holds after it. The sink gets on_gap for them, not on_data. Outside
 * callbacks only; false once libnids has failed. */
bool reasm_nids_fill(struct kw_reasm *r, struct reasm_conn *c, enum kw_dir dir, uint32_t n);

/* Frees c's libnids stream if it is still c's: from outside any libnids
 * callback only (freeing there is a double free: API.txt 7). */
void reasm_nids_release(struct kw_reasm *r, struct reasm_conn *c);

#endif

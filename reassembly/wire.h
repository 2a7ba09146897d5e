/* wire.h: what a connection's packets showed on the wire, counted as Zeek's
 * conn.log counts it: the packets each way, how far the other side
 * acknowledged each way's bytes, and the history letters. Packets are
 * counted as they come, before libnids sees them (a packet may end the
 * connection there); those of a handshake, before our record of the
 * connection exists, in a small table of handshakes in progress, which the
 * record takes over when the handshake completes. Internal to reassembly/. */
#ifndef KW_REASM_WIRE_H
#define KW_REASM_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "reassembly/reasm.h"

struct kw_reasm;
struct reasm_conn;
struct reasm_segment;

/* History letters each way, each recorded once: S H A D F R T G W I Q. */
#define REASM_HISTORY_MAX KW_HISTORY_MAX

struct reasm_history {
    uint16_t seen[2];                /* by direction: a bit per letter recorded */
    uint8_t len;
    char letters[REASM_HISTORY_MAX]; /* in the order they were first seen */
};

struct reasm_wire {
    uint64_t packets[2];    /* by direction */
    uint64_t sent[2];       /* how far direction d's segments went in its sequence space,
                             * from seq_base[d], past a FIN's octet (Zeek's last_seq) */
    uint64_t acked[2];      /* how far the other side acknowledged it (Zeek's ack_seq) */
    bool packets_unknown;   /* the handshake's packets were not kept (table full) */
    struct reasm_history history;
};

/* A handshake in progress, keyed by its 4-tuple as libnids sees it; 64
 * bytes, in this order. */
struct reasm_hs {
    kw_usec ts;             /* of the last packet counted */
    uint32_t packets[2];    /* saturate */
    uint32_t cli, srv;      /* network byte order: the SYN's sender is the client */
    uint32_t isn;           /* the client's SYN's sequence number */
    uint16_t cport, sport;
    struct reasm_history history;
    bool in_use;
};

/* A set-associative table: a handshake's 4-tuple hashes to a set of
 * REASM_HS_WAYS entries; a new SYN takes a free one or the oldest's. */
#define REASM_HS_WAYS 4
struct reasm_handshakes {
    struct reasm_hs *entries;
    uint32_t set_mask;      /* sets - 1 */
    uint32_t n_used;        /* entries in use: 0 spares the lookup */
};

/* Room for the handshakes in progress beside `max_connections` connections
 * (libnids' pool has 1/8 more streams for them; twice that, so that a set
 * rarely overflows). 0, or -1 when out of memory. */
int reasm_hs_init(struct reasm_handshakes *h, uint32_t max_connections);
void reasm_hs_free(struct reasm_handshakes *h);

/* A TCP segment of the packet being fed, before libnids sees it: counted on
 * its connection's record, or on its handshake's entry. A pure SYN (which may
 * start a new connection on a 4-tuple still followed) and a segment of no
 * connection yet (one picked up on it) wait for reasm_wire_after. Returns
 * the record, or NULL. */
struct reasm_conn *reasm_wire_before(struct kw_reasm *r, const struct reasm_segment *sg);

/* The same segment, once libnids has seen it: counted now if it was not. */
void reasm_wire_after(struct kw_reasm *r, const struct reasm_segment *sg);

/* A segment the snaplen cut, which libnids never sees: counted. */
void reasm_wire_cut(struct kw_reasm *r, struct reasm_conn *c, const struct reasm_segment *sg);

/* `c` was just established by libnids on a handshake we saw: it takes over
 * the handshake's counts (or, when they were not kept, what libnids proves:
 * a SYN and a SYN/ACK, with packets_unknown). */
void reasm_wire_opened(struct kw_reasm *r, struct reasm_conn *c);

/* A hole in direction `dir` was stepped over: a content gap (G). */
void reasm_wire_gap(struct reasm_conn *c, enum kw_dir dir);

/* What `c`'s packets showed, into `end` (whose gap offsets are set). */
void reasm_wire_end(struct reasm_conn *c, struct kw_reasm_end *end);

#endif

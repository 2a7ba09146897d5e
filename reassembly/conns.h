/* conns.h: reassembly/'s own record of each connection libnids follows, for
 * what libnids does not tell: who sent a FIN and when, how far each direction
 * went on the wire (gaps), how long a connection has been idle, the order
 * connections opened in. Internal to reassembly/: no other folder includes it,
 * and nothing here knows libnids' types. */
#ifndef KW_REASM_CONNS_H
#define KW_REASM_CONNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reassembly/keyed.h"
#include "reassembly/reasm.h"
#include "reassembly/wire.h"

struct tcp_stream; /* libnids' stream: only nids.c looks inside */

/* The TCP header of a packet as libnids sees it, read once per packet. */
struct reasm_segment {
    uint32_t src, dst; /* network byte order */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint8_t header_len;
    uint16_t window;   /* as sent, unscaled */
    bool cut;          /* the snaplen cut its payload: libnids never sees it */
    size_t payload;    /* as the IP length says, captured or not */
};

/* Two orders over the open connections, each a doubly linked list of pool
 * indices (0: none): moving a record costs O(1), nothing is allocated. */
enum reasm_order {
    REASM_BY_ACTIVITY = 0, /* least recently active first: the next to go idle */
    REASM_BY_OPENING = 1,  /* first opened first: the order of the final flush */
    REASM_RST_HELD = 2,    /* those with a RST held back, the first held first */
};
#define REASM_ORDERS 3

struct reasm_link {
    uint32_t prev, next;
};

struct reasm_list {
    uint32_t head, tail;
};

/* Data seen past where a direction's stream has come, in sequence space from
 * its seq_base: what libnids holds in its queue behind a hole, or segments
 * the snaplen cut (`cut`: part of the hole, libnids never had them). */
struct reasm_range {
    uint64_t start, end;
    bool cut;
};
#define REASM_AHEAD_MAX 4 /* ranges kept per direction; past them, holes are left as they are */

struct reasm_conn {
    uint32_t cli_addr, srv_addr; /* network byte order, as libnids keeps them */
    uint16_t cli_port, srv_port; /* host byte order */
    bool is_open;                /* in the table; false on the free list */
    bool fin_seen[2];
    struct tcp_stream *stream;   /* libnids' stream while it follows the connection */
    void *user;                  /* what the sink's on_open returned */
    kw_usec last_active;         /* capture time of its last data, FIN or RST, or opening */
    struct reasm_link order[REASM_ORDERS]; /* by enum reasm_order */
    uint32_t next_free;
    uint32_t seq_base[2];        /* sequence number of each direction's first data byte */
    uint64_t delivered[2];       /* bytes handed to the sink (libnids' counters are int) */
    uint64_t urgent[2];          /* bytes libnids took out at urgent pointers: with them,
                                  * delivered + urgent is the stream's place in sequence space */
    uint32_t urgent_seen[2];     /* libnids' own count of them when last looked at (an int) */
    bool had_urgent;             /* a segment with URG was seen: look at libnids' count */
    uint64_t highest[2];         /* end of the furthest payload seen in a packet, in sequence
                                  * space from seq_base */
    struct reasm_range ahead[2][REASM_AHEAD_MAX]; /* sorted, apart: the holes are between */
    uint8_t n_ahead[2];
    uint64_t missed[2];          /* bytes the capture missed, filled (on_gap) */
    uint64_t too_large[2];       /* 1 + the start of a hole too large to fill, counted once */
    /* A FIN seen before the data it follows (a segment before it is missing or
     * comes again later): reported once the stream reaches it (in sequence
     * space), at its own time. */
    int64_t fin_at[2];
    kw_usec fin_ts[2];
    uint64_t fin_frame[2];
    /* A RST not at the sequence number its receiver expects, kept back from
     * libnids: the connection ends at it only if nothing follows in time. */
    bool rst_held;
    enum kw_dir held_rst_dir;    /* the direction it travelled */
    kw_usec held_rst_ts;
    uint64_t held_rst_frame;
    struct reasm_wire wire;      /* what its packets showed (wire.c) */
};

/* A record sits at most this many slots past its home slot. At most half the
 * slots are taken, so with a hash nobody can predict a longer run has a
 * chance of about 0.83^128 (1e-11) per connection; a record that would go
 * further is refused and counted (stats.streams_refused) rather than making
 * every lookup walk a pile someone built on purpose. */
#define REASM_PROBE_MAX 128

/* The records found last, by a cheap symmetric hash of the 4-tuple: most
 * packets belong to a connection found a few packets before (every packet
 * is looked up, to be counted), and a hit costs a few compares instead of
 * SipHash and a probe. A stranger who makes 4-tuples collide here only
 * sends the lookups to the keyed table, as without it. */
#define REASM_RECENT 1024

struct reasm_table {
    struct reasm_conn *conns;  /* pool; index 0 unused */
    uint32_t n_conns, free_head;
    uint32_t never_used;       /* records from here on were never taken */
    uint32_t n_open;           /* records in the table */
    uint32_t *slots;           /* open addressing, linear probing: record index or 0 */
    uint32_t slot_mask;
    struct reasm_key key;      /* the hash's key, drawn for this run */
    uint32_t n_holed;          /* connections with data seen past a hole (at most: pruned
                                * lazily): while any is, every ACK is looked at */
    struct reasm_list lists[REASM_ORDERS]; /* by enum reasm_order */
    struct kw_reasm_sink sink;
    struct kw_stats *stats;
    uint32_t recent[REASM_RECENT]; /* record indices (0: none), checked before use */
};

/* Room for `n_conns` connections at once; 0, or -1 when out of memory. */
int reasm_table_init(struct reasm_table *t, uint32_t n_conns, const struct kw_reasm_sink *sink,
                     struct kw_stats *stats);
void reasm_table_free(struct reasm_table *t);

/* The open connection between the two endpoints, either way round, or NULL. */
struct reasm_conn *reasm_conn_find(const struct reasm_table *t, uint32_t a1, uint16_t p1,
                                   uint32_t a2, uint16_t p2);

/* The same, through the records found last (REASM_RECENT). */
struct reasm_conn *reasm_conn_lookup(struct reasm_table *t, uint32_t a1, uint16_t p1, uint32_t a2,
                                     uint16_t p2);

/* Takes a record for a connection not in the table, active at `now`; NULL
 * when its slot would be past REASM_PROBE_MAX (or the pool were empty, which
 * cannot happen: it is as large as libnids' pool). The caller fills in the
 * stream and sequence bases. */
struct reasm_conn *reasm_conn_open(struct reasm_table *t, uint32_t cli_addr, uint16_t cli_port,
                                   uint32_t srv_addr, uint16_t srv_port, kw_usec now);

/* The keyed hash of a 4-tuple, the same either way round; its low bits are
 * the record's home slot. */
uint32_t reasm_conn_hash(const struct reasm_table *t, uint32_t a1, uint16_t p1, uint32_t a2,
                         uint16_t p2);

/* The longest distance of a record from its home slot (for tests). O(slots). */
uint32_t reasm_table_max_probe(const struct reasm_table *t);

void reasm_conn_make_latest(struct reasm_table *t, struct reasm_conn *c);

/* A packet of `c` was seen at `now`: it is the most recently active. O(1);
 * inline, as it runs for most packets, and many find `c` last already. */
static inline void reasm_conn_touch(struct reasm_table *t, struct reasm_conn *c, kw_usec now)
{
    c->last_active = now;
    if (&t->conns[t->lists[REASM_BY_ACTIVITY].tail] != c)
        reasm_conn_make_latest(t, c);
}

/* The first connection in `order`, or NULL when none is open. */
struct reasm_conn *reasm_conn_first(const struct reasm_table *t, enum reasm_order order);

/* Holds a RST of `c` back (the first one only; `c` joins REASM_RST_HELD). */
void reasm_conn_hold_rst(struct reasm_table *t, struct reasm_conn *c, enum kw_dir dir,
                         kw_usec ts, uint64_t frame);

/* The connection went on past its held RST: it is forgotten. */
void reasm_conn_forget_rst(struct reasm_table *t, struct reasm_conn *c);

/* What a packet of `c` shows that libnids does not tell: how far its
 * direction's data went on the wire, and its first FIN, at the packet's time
 * (reported now if the stream has reached it, else when it does). */
void reasm_conn_note_segment(struct reasm_table *t, struct reasm_conn *c,
                             const struct reasm_segment *sg, kw_usec ts, uint64_t frame);

/* Reports the FINs whose place the streams have reached, in the order they
 * came on the wire: one waiting behind a hole holds back those after it. */
void reasm_conn_fins_due(struct reasm_table *t, struct reasm_conn *c);

/* The first hole of direction `dir`: [*start, *end) in sequence space, the
 * data libnids holds after it at *end. false if there is none. */
bool reasm_conn_first_hole(struct reasm_table *t, struct reasm_conn *c, enum kw_dir dir,
                           uint64_t *start, uint64_t *end);

/* How far the stream in direction `dir` has come in sequence space: the bytes
 * delivered, and the urgent bytes libnids took out between them (RFC 9293
 * 3.8.5: a receiver without SO_OOBINLINE reads past them). */
static inline uint64_t reasm_conn_reached(const struct reasm_conn *c, enum kw_dir dir)
{
    return c->delivered[dir] + c->urgent[dir];
}

/* Direction `dir` sent its FIN, reported or waiting for the stream. */
static inline bool reasm_conn_fin_sent(const struct reasm_conn *c, enum kw_dir dir)
{
    return c->fin_seen[dir] || c->fin_at[dir] >= 0;
}

/* How far direction `dir` was seen to send, in sequence space from its
 * seq_base: the furthest data byte seen, delivered or not, then its FIN. */
static inline uint64_t reasm_conn_sent_end(const struct reasm_conn *c, enum kw_dir dir)
{
    uint64_t reached = reasm_conn_reached(c, dir);
    return (c->highest[dir] > reached ? c->highest[dir] : reached) + reasm_conn_fin_sent(c, dir);
}

/* The stream in direction `dir` has grown: a FIN waiting for it may be due.
 * Inline: it runs for every delivery, and a FIN is rarely waiting. */
static inline void reasm_conn_stream_grew(struct reasm_table *t, struct reasm_conn *c,
                                          enum kw_dir dir)
{
    (void)dir;
    if (c->fin_at[KW_TO_SERVER] >= 0 || c->fin_at[KW_TO_CLIENT] >= 0)
        reasm_conn_fins_due(t, c);
}

/* Ends `c`: the FINs the stream never reached (in the order they were sent),
 * its gaps into `end`, then the sink's on_end. The record goes back to the
 * pool: `c` is not to be used after. The caller has let go of the stream. */
void reasm_conn_end(struct reasm_table *t, struct reasm_conn *c, struct kw_reasm_end *end);

#endif

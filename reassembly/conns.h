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

#include "reassembly/reasm.h"

struct tcp_stream; /* libnids' stream: only nids.c looks inside */

/* The TCP header of an unfragmented IPv4 packet, read once per packet. */
struct reasm_segment {
    uint32_t src, dst; /* network byte order */
    uint16_t sport, dport;
    uint32_t seq;
    uint8_t flags;
    size_t payload;    /* as the IP length says, captured or not */
};

/* Two orders over the open connections, each a doubly linked list of pool
 * indices (0: none): moving a record costs O(1), nothing is allocated. */
enum reasm_order {
    REASM_BY_ACTIVITY = 0, /* least recently active first: the next to go idle */
    REASM_BY_OPENING = 1,  /* first opened first: the order of the final flush */
};

struct reasm_link {
    uint32_t prev, next;
};

struct reasm_list {
    uint32_t head, tail;
};

struct reasm_conn {
    uint32_t cli_addr, srv_addr; /* network byte order, as libnids keeps them */
    uint16_t cli_port, srv_port; /* host byte order */
    bool is_open;                /* in the table; false on the free list */
    bool fin_seen[2];
    struct tcp_stream *stream;   /* libnids' stream while it follows the connection */
    void *user;                  /* what the sink's on_open returned */
    kw_usec last_active;         /* capture time of its last data, FIN or RST, or opening */
    struct reasm_link order[2];  /* by enum reasm_order */
    uint32_t next_free;
    uint32_t seq_base[2];        /* sequence number of each direction's first data byte */
    uint64_t delivered[2];       /* bytes handed to the sink (libnids' counters are int) */
    uint64_t highest[2];         /* end of the furthest payload seen in a packet */
    /* A FIN seen before the data it follows (a segment before it is missing or
     * comes again later): reported once the stream reaches it, at its own time. */
    int64_t fin_at[2];
    kw_usec fin_ts[2];
    uint64_t fin_frame[2];
};

struct reasm_table {
    struct reasm_conn *conns;  /* pool; index 0 unused */
    uint32_t n_conns, free_head;
    uint32_t never_used;       /* records from here on were never taken */
    uint32_t *slots;           /* open addressing, linear probing: record index or 0 */
    uint32_t slot_mask;
    struct reasm_list lists[2]; /* by enum reasm_order */
    struct kw_reasm_sink sink;
    struct kw_stats *stats;
};

/* Room for `n_conns` connections at once; 0, or -1 when out of memory. */
int reasm_table_init(struct reasm_table *t, uint32_t n_conns, const struct kw_reasm_sink *sink,
                     struct kw_stats *stats);
void reasm_table_free(struct reasm_table *t);

/* The open connection between the two endpoints, either way round, or NULL. */
struct reasm_conn *reasm_conn_find(const struct reasm_table *t, uint32_t a1, uint16_t p1,
                                   uint32_t a2, uint16_t p2);

/* Takes a record for a connection not in the table, active at `now`; NULL
 * when the pool is empty. The caller fills in the stream and sequence bases. */
struct reasm_conn *reasm_conn_open(struct reasm_table *t, uint32_t cli_addr, uint16_t cli_port,
                                   uint32_t srv_addr, uint16_t srv_port, kw_usec now);

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

/* What a packet of `c` shows that libnids does not tell: how far its
 * direction's data went on the wire, and its first FIN, at the packet's time
 * (reported now if the stream has reached it, else when it does). */
void reasm_conn_note_segment(struct reasm_table *t, struct reasm_conn *c,
                             const struct reasm_segment *sg, kw_usec ts, uint64_t frame);

void reasm_conn_fin_reached(struct reasm_table *t, struct reasm_conn *c, enum kw_dir dir);

/* The stream in direction `dir` has grown: a FIN waiting for it may be due.
 * Inline: it runs for every delivery, and a FIN is rarely waiting. */
static inline void reasm_conn_stream_grew(struct reasm_table *t, struct reasm_conn *c,
                                          enum kw_dir dir)
{
    if (c->fin_at[dir] >= 0 && c->delivered[dir] >= (uint64_t)c->fin_at[dir])
        reasm_conn_fin_reached(t, c, dir);
}

/* Ends `c`: the FINs the stream never reached (in the order they were sent),
 * its gaps into `end`, then the sink's on_end. The record goes back to the
 * pool: `c` is not to be used after. The caller has let go of the stream. */
void reasm_conn_end(struct reasm_table *t, struct reasm_conn *c, struct kw_reasm_end *end);

#endif

/* conns.c: our connection records beside libnids' streams: a fixed pool, a
 * hash table on the 4-tuple, the activity and opening orders, FINs in stream
 * order and gaps. Nothing here allocates after reasm_table_init(). */
#include "reassembly/conns.h"

#include <stdlib.h>
#include <string.h>

#define TH_FIN_BIT 0x01

/* --- the pool and the hash table ------------------------------------------ */

int reasm_table_init(struct reasm_table *t, uint32_t n_conns, const struct kw_reasm_sink *sink,
                     struct kw_stats *stats)
{
    memset(t, 0, sizeof(*t));
    t->sink = *sink;
    t->stats = stats;
    t->n_conns = n_conns + 1; /* index 0 means none */
    uint32_t size = 1;
    while (size < t->n_conns * 2) /* at most half full: short probe chains */
        size <<= 1;
    t->slot_mask = size - 1;
    t->conns = calloc(t->n_conns, sizeof(*t->conns));
    t->slots = calloc(size, sizeof(*t->slots));
    t->never_used = 1; /* records are taken in order first, so untouched pages stay unmapped */
    return t->conns && t->slots ? 0 : -1;
}

void reasm_table_free(struct reasm_table *t)
{
    free(t->conns);
    free(t->slots);
    t->conns = NULL;
    t->slots = NULL;
}

static uint32_t conn_hash(uint32_t a1, uint16_t p1, uint32_t a2, uint16_t p2)
{
    /* Symmetric: order the endpoints, so both directions find the record. */
    uint64_t e1 = (uint64_t)a1 << 16 | p1, e2 = (uint64_t)a2 << 16 | p2;
    if (e1 > e2) {
        uint64_t e = e1;
        e1 = e2;
        e2 = e;
    }
    uint64_t h = e1 * 0x9e3779b97f4a7c15ull ^ e2;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

static bool conn_matches(const struct reasm_conn *c, uint32_t sa, uint16_t sp, uint32_t da,
                         uint16_t dp)
{
    return (c->cli_addr == sa && c->cli_port == sp && c->srv_addr == da && c->srv_port == dp) ||
           (c->cli_addr == da && c->cli_port == dp && c->srv_addr == sa && c->srv_port == sp);
}

/* The slot holding the connection, or the empty slot where it would go. */
static uint32_t *conn_slot(const struct reasm_table *t, uint32_t sa, uint16_t sp, uint32_t da,
                           uint16_t dp)
{
    uint32_t i = conn_hash(sa, sp, da, dp) & t->slot_mask;
    for (;;) {
        uint32_t ci = t->slots[i];
        if (!ci || conn_matches(&t->conns[ci], sa, sp, da, dp))
            return &t->slots[i];
        i = (i + 1) & t->slot_mask;
    }
}

struct reasm_conn *reasm_conn_find(const struct reasm_table *t, uint32_t a1, uint16_t p1,
                                   uint32_t a2, uint16_t p2)
{
    uint32_t ci = *conn_slot(t, a1, p1, a2, p2);
    return ci ? &t->conns[ci] : NULL;
}

/* Backward-shift deletion keeps probe chains whole without tombstones. */
static void slot_remove(struct reasm_table *t, const struct reasm_conn *c)
{
    uint32_t *slot = conn_slot(t, c->cli_addr, c->cli_port, c->srv_addr, c->srv_port);
    uint32_t i = (uint32_t)(slot - t->slots);
    if (t->slots[i] != (uint32_t)(c - t->conns))
        return;
    for (uint32_t j = (i + 1) & t->slot_mask;; j = (j + 1) & t->slot_mask) {
        uint32_t gi = t->slots[j];
        if (!gi)
            break;
        const struct reasm_conn *g = &t->conns[gi];
        uint32_t home = conn_hash(g->cli_addr, g->cli_port, g->srv_addr, g->srv_port) &
                        t->slot_mask;
        /* move g back into the hole at i when its home is not in (i, j] */
        if (((j - home) & t->slot_mask) >= ((j - i) & t->slot_mask)) {
            t->slots[i] = gi;
            i = j;
        }
    }
    t->slots[i] = 0;
}

/* --- the two orders ---------------------------------------------------------- */

static void list_append(struct reasm_table *t, enum reasm_order o, uint32_t ci)
{
    struct reasm_list *l = &t->lists[o];
    t->conns[ci].order[o] = (struct reasm_link){ l->tail, 0 };
    if (l->tail)
        t->conns[l->tail].order[o].next = ci;
    else
        l->head = ci;
    l->tail = ci;
}

static void list_unlink(struct reasm_table *t, enum reasm_order o, uint32_t ci)
{
    struct reasm_list *l = &t->lists[o];
    struct reasm_link k = t->conns[ci].order[o];
    if (k.prev)
        t->conns[k.prev].order[o].next = k.next;
    else
        l->head = k.next;
    if (k.next)
        t->conns[k.next].order[o].prev = k.prev;
    else
        l->tail = k.prev;
}

struct reasm_conn *reasm_conn_first(const struct reasm_table *t, enum reasm_order order)
{
    uint32_t ci = t->lists[order].head;
    return ci ? &t->conns[ci] : NULL;
}

void reasm_conn_make_latest(struct reasm_table *t, struct reasm_conn *c)
{
    uint32_t ci = (uint32_t)(c - t->conns);
    list_unlink(t, REASM_BY_ACTIVITY, ci);
    list_append(t, REASM_BY_ACTIVITY, ci);
}

struct reasm_conn *reasm_conn_open(struct reasm_table *t, uint32_t cli_addr, uint16_t cli_port,
                                   uint32_t srv_addr, uint16_t srv_port, kw_usec now)
{
    uint32_t ci;
    if (t->free_head) {
        ci = t->free_head;
        t->free_head = t->conns[ci].next_free;
    } else if (t->never_used < t->n_conns) {
        ci = t->never_used++;
    } else {
        return NULL;
    }
    struct reasm_conn *c = &t->conns[ci];
    memset(c, 0, sizeof(*c));
    c->cli_addr = cli_addr;
    c->cli_port = cli_port;
    c->srv_addr = srv_addr;
    c->srv_port = srv_port;
    c->is_open = true;
    c->last_active = now;
    c->fin_at[0] = c->fin_at[1] = -1;
    *conn_slot(t, cli_addr, cli_port, srv_addr, srv_port) = ci;
    list_append(t, REASM_BY_ACTIVITY, ci);
    list_append(t, REASM_BY_OPENING, ci);
    return c;
}

/* --- FINs, in stream order ------------------------------------------------ */

static void fin_now(struct reasm_table *t, struct reasm_conn *c, enum kw_dir dir, kw_usec ts,
                    uint64_t frame)
{
    c->fin_seen[dir] = true;
    c->fin_at[dir] = -1;
    if (c->user)
        t->sink.on_fin(t->sink.ctx, c->user, dir, ts, frame);
}

/* A pending FIN whose place in the stream has been reached, or that the stream
 * will never reach (`flush`: the connection is over). */
static void fin_pending(struct reasm_table *t, struct reasm_conn *c, enum kw_dir dir, bool flush)
{
    if (c->fin_at[dir] >= 0 && (flush || c->delivered[dir] >= (uint64_t)c->fin_at[dir]))
        fin_now(t, c, dir, c->fin_ts[dir], c->fin_frame[dir]);
}

void reasm_conn_fin_reached(struct reasm_table *t, struct reasm_conn *c, enum kw_dir dir)
{
    fin_now(t, c, dir, c->fin_ts[dir], c->fin_frame[dir]);
}

void reasm_conn_note_segment(struct reasm_table *t, struct reasm_conn *c,
                             const struct reasm_segment *sg, kw_usec ts, uint64_t frame)
{
    enum kw_dir dir = sg->src == c->cli_addr && sg->sport == c->cli_port ? KW_TO_SERVER
                                                                         : KW_TO_CLIENT;
    /* How far past the bytes delivered so far this segment's end lies (wrap-safe). */
    uint32_t expected = c->seq_base[dir] + (uint32_t)c->delivered[dir];
    int32_t ahead = (int32_t)(sg->seq + (uint32_t)sg->payload - expected);
    if (sg->payload && ahead > 0 && c->delivered[dir] + (uint64_t)ahead > c->highest[dir])
        c->highest[dir] = c->delivered[dir] + (uint64_t)ahead;
    if ((sg->flags & TH_FIN_BIT) && !c->fin_seen[dir] && c->fin_at[dir] < 0) {
        /* the FIN sits after this segment's payload: is the stream there yet? */
        if (ahead <= 0) {
            fin_now(t, c, dir, ts, frame);
        } else {
            c->fin_at[dir] = (int64_t)c->delivered[dir] + ahead;
            c->fin_ts[dir] = ts;
            c->fin_frame[dir] = frame;
        }
    }
}

/* --- ending a connection ---------------------------------------------------- */

void reasm_conn_end(struct reasm_table *t, struct reasm_conn *c, struct kw_reasm_end *end)
{
    /* FINs the stream never reached still happened: in the order they were sent */
    enum kw_dir first = c->fin_at[KW_TO_CLIENT] >= 0 &&
                                (c->fin_at[KW_TO_SERVER] < 0 ||
                                 c->fin_ts[KW_TO_CLIENT] < c->fin_ts[KW_TO_SERVER])
                            ? KW_TO_CLIENT : KW_TO_SERVER;
    fin_pending(t, c, first, true);
    fin_pending(t, c, first == KW_TO_SERVER ? KW_TO_CLIENT : KW_TO_SERVER, true);
    for (int d = 0; d < 2; d++)
        end->gap_offset[d] = c->highest[d] > c->delivered[d] ? (int64_t)c->delivered[d]
                                                             : KW_NO_GAP;
    if (end->gap_offset[0] != KW_NO_GAP || end->gap_offset[1] != KW_NO_GAP)
        t->stats->connections_gap++;
    void *user = c->user;
    uint32_t ci = (uint32_t)(c - t->conns);
    slot_remove(t, c);
    list_unlink(t, REASM_BY_ACTIVITY, ci);
    list_unlink(t, REASM_BY_OPENING, ci);
    c->is_open = false;
    c->stream = NULL;
    c->user = NULL;
    c->next_free = t->free_head;
    t->free_head = ci;
    if (user)
        t->sink.on_end(t->sink.ctx, user, end);
}

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
    reasm_key_init(&t->key);
    return t->conns && t->slots ? 0 : -1;
}

void reasm_table_free(struct reasm_table *t)
{
    free(t->conns);
    free(t->slots);
    t->conns = NULL;
    t->slots = NULL;
}

/* Symmetric: the endpoints in order, so both directions find the record. */
uint32_t reasm_conn_hash(const struct reasm_table *t, uint32_t a1, uint16_t p1, uint32_t a2,
                         uint16_t p2)
{
    uint64_t e[2] = { (uint64_t)a1 << 16 | p1, (uint64_t)a2 << 16 | p2 };
    if (e[0] > e[1]) {
        uint64_t x = e[0];
        e[0] = e[1];
        e[1] = x;
    }
    return (uint32_t)reasm_hash_words(&t->key, e, 2);
}

static bool conn_matches(const struct reasm_conn *c, uint32_t sa, uint16_t sp, uint32_t da,
                         uint16_t dp)
{
    return (c->cli_addr == sa && c->cli_port == sp && c->srv_addr == da && c->srv_port == dp) ||
           (c->cli_addr == da && c->cli_port == dp && c->srv_addr == sa && c->srv_port == sp);
}

/* The slot holding the connection, or the empty slot where it would go; NULL
 * when neither is within REASM_PROBE_MAX slots of its home. */
static uint32_t *conn_slot(const struct reasm_table *t, uint32_t sa, uint16_t sp, uint32_t da,
                           uint16_t dp)
{
    uint32_t i = reasm_conn_hash(t, sa, sp, da, dp) & t->slot_mask;
    for (uint32_t n = 0; n <= REASM_PROBE_MAX; n++) {
        uint32_t ci = t->slots[i];
        if (!ci || conn_matches(&t->conns[ci], sa, sp, da, dp))
            return &t->slots[i];
        i = (i + 1) & t->slot_mask;
    }
    return NULL;
}

struct reasm_conn *reasm_conn_find(const struct reasm_table *t, uint32_t a1, uint16_t p1,
                                   uint32_t a2, uint16_t p2)
{
    const uint32_t *slot = conn_slot(t, a1, p1, a2, p2);
    return slot && *slot ? &t->conns[*slot] : NULL;
}

static uint32_t recent_slot(uint32_t a1, uint16_t p1, uint32_t a2, uint16_t p2)
{
    uint32_t h = (a1 ^ a2) * 0x9e3779b1u ^ (uint32_t)(p1 ^ p2) * 0x85ebca6bu;
    return (h ^ h >> 15) & (REASM_RECENT - 1);
}

struct reasm_conn *reasm_conn_lookup(struct reasm_table *t, uint32_t a1, uint16_t p1, uint32_t a2,
                                     uint16_t p2)
{
    uint32_t *recent = &t->recent[recent_slot(a1, p1, a2, p2)];
    struct reasm_conn *c = &t->conns[*recent]; /* index 0: a record never open */
    if (c->is_open && conn_matches(c, a1, p1, a2, p2))
        return c; /* a record ended and taken again for another 4-tuple does not match */
    if ((c = reasm_conn_find(t, a1, p1, a2, p2)))
        *recent = (uint32_t)(c - t->conns);
    return c;
}

uint32_t reasm_table_max_probe(const struct reasm_table *t)
{
    uint32_t longest = 0;
    for (uint32_t i = 0; i <= t->slot_mask; i++) {
        uint32_t ci = t->slots[i];
        if (!ci)
            continue;
        const struct reasm_conn *c = &t->conns[ci];
        uint32_t home = reasm_conn_hash(t, c->cli_addr, c->cli_port, c->srv_addr, c->srv_port);
        uint32_t d = (i - home) & t->slot_mask;
        if (d > longest)
            longest = d;
    }
    return longest;
}

/* Backward-shift deletion keeps probe chains whole without tombstones, and
 * only ever moves a record closer to its home: the probe bound holds. */
static void slot_remove(struct reasm_table *t, const struct reasm_conn *c)
{
    uint32_t *slot = conn_slot(t, c->cli_addr, c->cli_port, c->srv_addr, c->srv_port);
    if (!slot || *slot != (uint32_t)(c - t->conns))
        return;
    uint32_t i = (uint32_t)(slot - t->slots);
    for (uint32_t j = (i + 1) & t->slot_mask;; j = (j + 1) & t->slot_mask) {
        uint32_t gi = t->slots[j];
        if (!gi)
            break;
        const struct reasm_conn *g = &t->conns[gi];
        uint32_t home = reasm_conn_hash(t, g->cli_addr, g->cli_port, g->srv_addr, g->srv_port) &
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
    uint32_t *slot = conn_slot(t, cli_addr, cli_port, srv_addr, srv_port);
    if (!slot) /* past the probe bound: someone found keys that collide */
        return NULL;
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
    t->n_open++;
    c->cli_addr = cli_addr;
    c->cli_port = cli_port;
    c->srv_addr = srv_addr;
    c->srv_port = srv_port;
    c->is_open = true;
    c->last_active = now;
    c->fin_at[0] = c->fin_at[1] = -1;
    *slot = ci;
    list_append(t, REASM_BY_ACTIVITY, ci);
    list_append(t, REASM_BY_OPENING, ci);
    return c;
}

void reasm_conn_hold_rst(struct reasm_table *t, struct reasm_conn *c, enum kw_dir dir,
                         kw_usec ts, uint64_t frame)
{
    if (c->rst_held)
        return;
    c->rst_held = true;
    c->held_rst_dir = dir;
    c->held_rst_ts = ts;
    c->held_rst_frame = frame;
    list_append(t, REASM_RST_HELD, (uint32_t)(c - t->conns));
}

void reasm_conn_forget_rst(struct reasm_table *t, struct reasm_conn *c)
{
    if (!c->rst_held)
        return;
    list_unlink(t, REASM_RST_HELD, (uint32_t)(c - t->conns));
    c->rst_held = false;
}

/* --- FINs, in stream order, and what lies past a hole --------------------- */

static void fin_now(struct reasm_table *t, struct reasm_conn *c, enum kw_dir dir)
{
    c->fin_seen[dir] = true;
    c->fin_at[dir] = -1;
    if (c->user)
        t->sink.on_fin(t->sink.ctx, c->user, dir, c->fin_ts[dir], c->fin_frame[dir]);
}

/* The FINs not reported yet, in the order they came on the wire (at the same
 * time, the client's first); `flush`: the connection is over, all of them. */
static void fins_in_order(struct reasm_table *t, struct reasm_conn *c, bool flush)
{
    for (;;) {
        int d = -1;
        for (int x = 0; x < 2; x++)
            if (c->fin_at[x] >= 0 && (d < 0 || c->fin_ts[x] < c->fin_ts[d]))
                d = x;
        if (d < 0 || (!flush && reasm_conn_reached(c, (enum kw_dir)d) < (uint64_t)c->fin_at[d]))
            return;
        fin_now(t, c, (enum kw_dir)d);
    }
}

void reasm_conn_fins_due(struct reasm_table *t, struct reasm_conn *c)
{
    fins_in_order(t, c, false);
}

/* Keeps t->n_holed, the count of connections with ranges past a hole. */
static void set_holed(struct reasm_table *t, struct reasm_conn *c, bool before)
{
    bool after = c->n_ahead[0] || c->n_ahead[1];
    if (after && !before)
        t->n_holed++;
    else if (before && !after && t->n_holed)
        t->n_holed--;
}

/* Data seen at [start, end), past where the stream has come: a range of the
 * scoreboard, sorted by start, merged with those of its kind it touches (a
 * cut segment next to held data stays apart: it is part of the hole); the
 * furthest goes when full. At most REASM_AHEAD_MAX ranges: a few compares. */
static void add_ahead(struct reasm_table *t, struct reasm_conn *c, enum kw_dir d,
                      uint64_t start, uint64_t end, bool cut)
{
    bool before = c->n_ahead[0] || c->n_ahead[1];
    struct reasm_range *r = c->ahead[d];
    int n = c->n_ahead[d];
    for (int k = 0; k < n; k++) /* within or touching one of its kind: it grows */
        if (r[k].cut == cut && r[k].start <= end && start <= r[k].end) {
            start = start < r[k].start ? start : r[k].start;
            end = end > r[k].end ? end : r[k].end;
            memmove(&r[k], &r[k + 1], (size_t)(n - k - 1) * sizeof(*r));
            n--;
            k = -1; /* it may now touch others */
        }
    int i = 0;
    while (i < n && r[i].start <= start)
        i++;
    if (i < REASM_AHEAD_MAX) {
        if (n == REASM_AHEAD_MAX)
            n--; /* the furthest goes */
        memmove(&r[i + 1], &r[i], (size_t)(n - i) * sizeof(*r));
        r[i] = (struct reasm_range){ start, end, cut };
        n++;
    }
    c->n_ahead[d] = (uint8_t)n;
    set_holed(t, c, before);
}

bool reasm_conn_first_hole(struct reasm_table *t, struct reasm_conn *c, enum kw_dir dir,
                           uint64_t *start, uint64_t *end)
{
    bool before = c->n_ahead[0] || c->n_ahead[1];
    uint64_t reached = reasm_conn_reached(c, dir);
    struct reasm_range *r = c->ahead[dir];
    int n = c->n_ahead[dir], gone = 0;
    while (gone < n && (r[gone].cut ? r[gone].end : r[gone].start) <= reached)
        gone++; /* delivered, being delivered, or a cut segment passed */
    memmove(r, r + gone, (size_t)(n - gone) * sizeof(*r));
    n -= gone;
    c->n_ahead[dir] = (uint8_t)n;
    set_holed(t, c, before);
    if (!n)
        return false;
    /* the hole runs to the first data libnids holds; cut segments are in it */
    int i = 0;
    while (i < n && r[i].cut)
        i++;
    *start = reached;
    *end = i < n ? r[i].start : r[n - 1].end;
    return true;
}

void reasm_conn_note_segment(struct reasm_table *t, struct reasm_conn *c,
                             const struct reasm_segment *sg, kw_usec ts, uint64_t frame)
{
    enum kw_dir dir = sg->src == c->cli_addr && sg->sport == c->cli_port ? KW_TO_SERVER
                                                                         : KW_TO_CLIENT;
    /* How far past where the stream has come this segment's end lies (wrap-safe). */
    uint64_t reached = reasm_conn_reached(c, dir);
    uint32_t expected = c->seq_base[dir] + (uint32_t)reached;
    int32_t ahead = (int32_t)(sg->seq + (uint32_t)sg->payload - expected);
    if (sg->payload && ahead > 0 && reached + (uint64_t)ahead > c->highest[dir])
        c->highest[dir] = reached + (uint64_t)ahead;
    if (sg->payload && ahead > 0 && (sg->cut || (uint64_t)ahead > sg->payload))
        add_ahead(t, c, dir, /* all of it past a hole, or cut: missing */
                  (uint64_t)ahead > sg->payload ? reached + (uint64_t)ahead - sg->payload
                                                : reached,
                  reached + (uint64_t)ahead, sg->cut);
    if ((sg->flags & TH_FIN_BIT) && !c->fin_seen[dir] && c->fin_at[dir] < 0) {
        /* the FIN sits after this segment's payload: reported when the stream
         * is there, and not before a FIN that came earlier */
        c->fin_at[dir] = (int64_t)reached + (ahead > 0 ? ahead : 0);
        c->fin_ts[dir] = ts;
        c->fin_frame[dir] = frame;
        if (ahead > 0) /* libnids holds it behind a hole: the hole ends there at most */
            add_ahead(t, c, dir, (uint64_t)c->fin_at[dir], (uint64_t)c->fin_at[dir] + 1, false);
        fins_in_order(t, c, false);
    }
}

/* --- ending a connection ---------------------------------------------------- */

void reasm_conn_end(struct reasm_table *t, struct reasm_conn *c, struct kw_reasm_end *end)
{
    /* FINs the stream never reached still happened: in the order they were sent */
    fins_in_order(t, c, true);
    for (int d = 0; d < 2; d++) {
        end->gap_offset[d] = c->highest[d] > reasm_conn_reached(c, (enum kw_dir)d)
                                 ? (int64_t)c->delivered[d] : KW_NO_GAP;
        end->missed_bytes[d] = c->missed[d];
    }
    reasm_wire_end(c, end);
    if ((c->n_ahead[0] || c->n_ahead[1]) && t->n_holed)
        t->n_holed--;
    if (end->gap_offset[0] != KW_NO_GAP || end->gap_offset[1] != KW_NO_GAP)
        t->stats->connections_gap++;
    void *user = c->user;
    uint32_t ci = (uint32_t)(c - t->conns);
    slot_remove(t, c);
    list_unlink(t, REASM_BY_ACTIVITY, ci);
    list_unlink(t, REASM_BY_OPENING, ci);
    if (c->rst_held)
        list_unlink(t, REASM_RST_HELD, ci);
    c->is_open = false;
    t->n_open--;
    c->stream = NULL;
    c->user = NULL;
    c->next_free = t->free_head;
    t->free_head = ci;
    if (user)
        t->sink.on_end(t->sink.ctx, user, end);
}

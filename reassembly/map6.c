/* map6.c: the IPv6 map: a fixed pool, a keyed hash on the IPv6 4-tuple with
 * bounded linear probing (as conns.c), and the order entries were made in.
 * Nothing here allocates after reasm_map6_init(). */
#include "reassembly/map6.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

int reasm_map6_init(struct reasm_map6 *m, uint32_t n)
{
    memset(m, 0, sizeof(*m));
    m->n_entries = n + 1; /* index 0 means none */
    uint32_t size = 1;
    while (size < m->n_entries * 2)
        size <<= 1;
    m->slot_mask = size - 1;
    m->entries = calloc(m->n_entries, sizeof(*m->entries));
    m->slots = calloc(size, sizeof(*m->slots));
    m->never_used = 1;
    reasm_key_init(&m->key);
    return m->entries && m->slots ? 0 : -1;
}

void reasm_map6_free(struct reasm_map6 *m)
{
    free(m->entries);
    free(m->slots);
    m->entries = NULL;
    m->slots = NULL;
}

/* Symmetric: the endpoints in order, so both directions find the entry. */
static uint32_t hash6(const struct reasm_map6 *m, const uint8_t a1[16], uint16_t p1,
                      const uint8_t a2[16], uint16_t p2)
{
    int order = memcmp(a1, a2, 16);
    if (order > 0 || (order == 0 && p1 > p2)) {
        const uint8_t *a = a1;
        a1 = a2;
        a2 = a;
        uint16_t p = p1;
        p1 = p2;
        p2 = p;
    }
    uint64_t w[5];
    memcpy(&w[0], a1, 16);
    memcpy(&w[2], a2, 16);
    w[4] = (uint64_t)p1 << 16 | p2;
    return (uint32_t)reasm_hash_words(&m->key, w, 5);
}

static bool matches(const struct map6_entry *e, const uint8_t a1[16], uint16_t p1,
                    const uint8_t a2[16], uint16_t p2, int *side)
{
    for (int s = 0; s < 2; s++)
        if (e->port[s] == p1 && e->port[!s] == p2 && !memcmp(e->addr[s], a1, 16) &&
            !memcmp(e->addr[!s], a2, 16)) {
            *side = s;
            return true;
        }
    return false;
}

/* The slot holding the entry, or the empty slot where it would go; NULL past
 * the probe bound. */
static uint32_t *slot_of(const struct reasm_map6 *m, const uint8_t a1[16], uint16_t p1,
                         const uint8_t a2[16], uint16_t p2, int *side)
{
    uint32_t i = hash6(m, a1, p1, a2, p2) & m->slot_mask;
    for (uint32_t n = 0; n <= MAP6_PROBE_MAX; n++) {
        uint32_t ei = m->slots[i];
        if (!ei || matches(&m->entries[ei], a1, p1, a2, p2, side))
            return &m->slots[i];
        i = (i + 1) & m->slot_mask;
    }
    return NULL;
}

struct map6_entry *reasm_map6_find(const struct reasm_map6 *m, const uint8_t src[16],
                                   uint16_t sport, const uint8_t dst[16], uint16_t dport,
                                   int *src_side)
{
    const uint32_t *slot = slot_of(m, src, sport, dst, dport, src_side);
    return slot && *slot ? &m->entries[*slot] : NULL;
}

/* --- the order entries were made in ------------------------------------------- */

static void order_unlink(struct reasm_map6 *m, uint32_t ei)
{
    struct map6_entry *e = &m->entries[ei];
    if (e->older)
        m->entries[e->older].newer = e->newer;
    else
        m->oldest = e->newer;
    if (e->newer)
        m->entries[e->newer].older = e->older;
    else
        m->newest = e->older;
}

static void order_append(struct reasm_map6 *m, uint32_t ei)
{
    struct map6_entry *e = &m->entries[ei];
    e->older = m->newest;
    e->newer = 0;
    if (m->newest)
        m->entries[m->newest].newer = ei;
    else
        m->oldest = ei;
    m->newest = ei;
}

void reasm_map6_make_newest(struct reasm_map6 *m, struct map6_entry *e)
{
    uint32_t ei = (uint32_t)(e - m->entries);
    order_unlink(m, ei);
    order_append(m, ei);
}

struct map6_entry *reasm_map6_add(struct reasm_map6 *m, const uint8_t src[16], uint16_t sport,
                                  const uint8_t dst[16], uint16_t dport)
{
    int side;
    uint32_t *slot = slot_of(m, src, sport, dst, dport, &side), ei;
    if (!slot)
        return NULL;
    if (m->free_head) {
        ei = m->free_head;
        m->free_head = m->entries[ei].newer;
    } else if (m->never_used < m->n_entries) {
        ei = m->never_used++;
    } else {
        return NULL;
    }
    struct map6_entry *e = &m->entries[ei];
    memset(e, 0, sizeof(*e));
    memcpy(e->addr[0], src, 16);
    memcpy(e->addr[1], dst, 16);
    e->port[0] = sport;
    e->port[1] = dport;
    e->in_use = true;
    *slot = ei;
    order_append(m, ei);
    m->n_in_use++;
    return e;
}

/* Backward-shift deletion, as in conns.c: no tombstones, the bound holds. */
void reasm_map6_remove(struct reasm_map6 *m, struct map6_entry *e)
{
    int side;
    uint32_t ei = (uint32_t)(e - m->entries);
    uint32_t *slot = slot_of(m, e->addr[0], e->port[0], e->addr[1], e->port[1], &side);
    if (slot && *slot == ei) {
        uint32_t i = (uint32_t)(slot - m->slots);
        for (uint32_t j = (i + 1) & m->slot_mask;; j = (j + 1) & m->slot_mask) {
            uint32_t gi = m->slots[j];
            if (!gi)
                break;
            const struct map6_entry *g = &m->entries[gi];
            uint32_t home = hash6(m, g->addr[0], g->port[0], g->addr[1], g->port[1]) &
                            m->slot_mask;
            if (((j - home) & m->slot_mask) >= ((j - i) & m->slot_mask)) {
                m->slots[i] = gi;
                i = j;
            }
        }
        m->slots[i] = 0;
    }
    order_unlink(m, ei);
    e->in_use = false;
    e->has_conn = false;
    e->newer = m->free_head;
    m->free_head = ei;
    m->n_in_use--;
}

uint32_t reasm_map6_addr(const struct reasm_map6 *m, const struct map6_entry *e, int side)
{
    uint32_t ei = (uint32_t)(e - m->entries);
    return htonl(MAP6_NET | (ei * 2 + (uint32_t)side));
}

struct map6_entry *reasm_map6_of_addr(const struct reasm_map6 *m, uint32_t addr_n, int *side)
{
    uint32_t a = ntohl(addr_n);
    if ((a & 0xf0000000u) != MAP6_NET)
        return NULL;
    uint32_t ei = (a & 0x0fffffffu) >> 1;
    if (ei == 0 || ei >= m->n_entries || !m->entries[ei].in_use)
        return NULL;
    *side = (int)(a & 1);
    return &m->entries[ei];
}

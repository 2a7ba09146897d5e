/* map6.h: IPv6 connections as libnids can follow them. libnids is IPv4 only
 * (its 4-tuples hold 32-bit addresses), so each IPv6 4-tuple is given a pair
 * of addresses of its own in 240.0.0.0/4, which no real traffic reaches
 * libnids from (feed.c drops it first): entry i's two endpoints are
 * 240.0.0.0 + 2i and + 2i + 1, ports unchanged. The pair names the entry
 * back without a lookup. Bounded by the stream table: one entry per libnids
 * stream at most. Internal to reassembly/. */
#ifndef KW_REASM_MAP6_H
#define KW_REASM_MAP6_H

#include <stdbool.h>
#include <stdint.h>

#include "reassembly/keyed.h"

#define MAP6_NET 0xf0000000u  /* 240.0.0.0/4, host byte order */
#define MAP6_PROBE_MAX 128

struct map6_entry {
    uint8_t addr[2][16];  /* side 0: the endpoint that opened it (a SYN, or the client
                           * a pick-up chose); side 1: the other */
    uint16_t port[2];
    bool in_use;
    bool has_conn;        /* a connection record of ours is on it */
    uint32_t older, newer; /* the order entries were made in (0: none); next free when free */
};

struct reasm_map6 {
    struct map6_entry *entries; /* index 0 unused */
    uint32_t n_entries, free_head, never_used, n_in_use;
    uint32_t *slots;            /* open addressing on the IPv6 4-tuple: entry index or 0 */
    uint32_t slot_mask;
    uint32_t oldest, newest;
    struct reasm_key key;
};

/* Room for `n` entries; 0, or -1 when out of memory. */
int reasm_map6_init(struct reasm_map6 *m, uint32_t n);
void reasm_map6_free(struct reasm_map6 *m);

/* The entry of the 4-tuple (either way round), or NULL; *src_side is the
 * side `src` is on. */
struct map6_entry *reasm_map6_find(const struct reasm_map6 *m, const uint8_t src[16],
                                   uint16_t sport, const uint8_t dst[16], uint16_t dport,
                                   int *src_side);

/* A new entry for a 4-tuple not in the map, `src` on side 0, the newest.
 * NULL when the map is full or the 4-tuple's slot would be past the probe
 * bound. */
struct map6_entry *reasm_map6_add(struct reasm_map6 *m, const uint8_t src[16], uint16_t sport,
                                  const uint8_t dst[16], uint16_t dport);

void reasm_map6_remove(struct reasm_map6 *m, struct map6_entry *e);

/* A SYN started the 4-tuple over: it is as new as a new entry. */
void reasm_map6_make_newest(struct reasm_map6 *m, struct map6_entry *e);

static inline bool reasm_map6_full(const struct reasm_map6 *m)
{
    return m->n_in_use == m->n_entries - 1;
}

static inline struct map6_entry *reasm_map6_oldest(const struct reasm_map6 *m)
{
    return m->oldest ? &m->entries[m->oldest] : NULL;
}

/* The synthetic address of side `side` of `e`, network byte order, as libnids
 * keeps addresses. */
uint32_t reasm_map6_addr(const struct reasm_map6 *m, const struct map6_entry *e, int side);

/* A synthetic address is in 240.0.0.0/4 (network byte order in). */
static inline bool reasm_map6_is_synthetic(uint32_t addr_n)
{
    const uint8_t *b = (const uint8_t *)&addr_n;
    return (b[0] & 0xf0) == 0xf0;
}

/* The entry in use that a synthetic address names, and its side; NULL if none. */
struct map6_entry *reasm_map6_of_addr(const struct reasm_map6 *m, uint32_t addr_n, int *side);

#endif

/* defrag.h: IP datagrams put back together from their fragments, IPv4 and
 * IPv6 alike, before libnids sees them (libnids would cap its memory per
 * destination host and expire fragments on the wall clock; it has no IPv6).
 * Bounded in total: DEFRAG_SLOTS datagrams in progress, each at most 64 KiB;
 * expired on capture time. Internal to reassembly/. */
#ifndef KW_REASM_DEFRAG_H
#define KW_REASM_DEFRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/pkt.h"
#include "common/stats.h"

#define DEFRAG_SLOTS 64           /* datagrams in progress at once: at most 4.2 MB */
#define DEFRAG_PAYLOAD_MAX 65535  /* what follows the fragmentable part's start */
#define DEFRAG_HEADROOM 60        /* the largest IPv4 header, written before the payload */
/* RFC 791 (Linux ipfrag_time) and RFC 8200 4.5: how long a datagram may take */
#define DEFRAG_TIMEOUT_V4 (30 * (kw_usec)KW_USEC_PER_SEC)
#define DEFRAG_TIMEOUT_V6 (60 * (kw_usec)KW_USEC_PER_SEC)

struct defrag_slot {
    bool in_use;
    uint8_t family;
    uint8_t protocol;          /* IPv4: the header's; IPv6: the first fragment's next header */
    bool have_first;           /* the fragment at offset 0 came */
    uint8_t src[16], dst[16];
    uint32_t id;
    kw_usec first_ts;          /* its first fragment's capture time */
    uint32_t total;            /* payload length, once the last fragment came; else 0 */
    uint32_t have;             /* payload bytes held (overlaps are refused: no double count) */
    uint8_t hdr_len;           /* IPv4: the first fragment's header length */
    uint8_t *buf;              /* DEFRAG_HEADROOM + DEFRAG_PAYLOAD_MAX, kept for reuse */
    uint8_t blocks[DEFRAG_PAYLOAD_MAX / 64 + 1]; /* one bit per 8-byte block received */
};

struct reasm_defrag {
    struct defrag_slot slots[DEFRAG_SLOTS];
    uint32_t n_in_use;
};

/* A datagram put together; slices valid until the next reasm_defrag_add(). */
struct reasm_datagram {
    uint8_t family, protocol; /* IPv6: the header after the Fragment header */
    struct kw_slice src, dst;
    struct kw_slice packet;   /* IPv4: the whole datagram, header included; IPv6: empty */
    struct kw_slice payload;  /* what follows the IP header (IPv6: the Fragment header) */
};

enum reasm_frag_res {
    REASM_FRAG_HELD,    /* kept, the datagram is not whole yet */
    REASM_FRAG_DONE,    /* *out is the whole datagram */
    REASM_FRAG_DROPPED, /* not kept: counted in stats */
};

/* Takes one fragment (ip->is_fragment, not cut) captured at `ts`. Expires
 * the datagrams older than their limit first. Allocates a slot's buffer the
 * first time the slot is used, never after: NULL buffer means drop. */
enum reasm_frag_res reasm_defrag_add(struct reasm_defrag *d, const struct kw_ip *ip, kw_usec ts,
                                     struct kw_stats *stats, struct reasm_datagram *out);

/* End of input: what is still incomplete is counted as expired. */
void reasm_defrag_flush(struct reasm_defrag *d, struct kw_stats *stats);

void reasm_defrag_free(struct reasm_defrag *d);

#endif

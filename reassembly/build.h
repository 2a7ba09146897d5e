/* build.h: TCP/IPv4 packets for libnids that the wire did not carry as such:
 * handshakes for connections picked up, data a SYN carried, bytes the capture
 * missed. Internal to reassembly/. */
#ifndef KW_REASM_BUILD_H
#define KW_REASM_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/slice.h"

#define BUILD_PACKET_MAX 65535

struct reasm_tcp_out {
    uint32_t src, dst;       /* network byte order, as libnids keeps them */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window;
    bool max_wscale;         /* a SYN offering window scale 14 (RFC 7323 2.3) */
    struct kw_slice payload; /* bytes to carry; NULL p: that many zero bytes */
};

/* Writes the packet into `buf` (BUILD_PACKET_MAX bytes); its slice, empty when
 * the payload does not fit. Checksums are left 0: libnids checks none. */
struct kw_slice reasm_build_tcp(uint8_t *buf, const struct reasm_tcp_out *t);

#endif

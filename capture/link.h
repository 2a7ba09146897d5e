/* link.h: our own decoding of the link layer, the encapsulations inside it
 * (VLAN tags, MPLS, PPPoE, GRE, ERSPAN, VXLAN, GENEVE, IP in IP) and the
 * innermost IP header, down to the transport, so that libnids only ever sees
 * the IPv4 packets it can use. */
#ifndef KW_LINK_H
#define KW_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/pkt.h"
#include "common/slice.h"

enum kw_link_res {
    KW_LINK_IP,        /* *ip is an IP packet: whole, or cut by the snaplen after its
                        * headers (ip->is_cut) */
    KW_LINK_NOT_IP,    /* ARP, LLDP, ...: nothing for us */
    KW_LINK_TRUNCATED, /* the capture cut the frame before the end of its IP headers */
    KW_LINK_INVALID,   /* a header that cannot be right (ip->bad_encap says when it
                        * was an encapsulation's), or too many encapsulations */
    KW_LINK_FRAGMENT,  /* an IPv4 first fragment with fewer than 8 bytes of data */
};

/* True for the link types in the table kw_link_decode() works from: Ethernet,
 * Linux cooked v1 and v2, BSD loopback (NULL, LOOP), raw IP (RAW, IPV4, IPV6),
 * Linux NFLOG. */
bool kw_link_supported(int linktype);

/* Writes the supported link types, for an error message: "EN10MB (Ethernet),
 * LINUX_SLL (Linux cooked), ...", NUL-terminated and cut to fit `out_len`.
 * Returns the length written. */
size_t kw_link_list_supported(char *out, size_t out_len);

/* Decodes a captured frame down to its transport header. `wire_len` is the
 * frame's length on the wire; a frame shorter than it was cut by the snaplen.
 * Every slice in *ip points into `frame`. On KW_LINK_IP all of *ip is set; on
 * any other result only ip->family (the IP version the link layer or the last
 * header read announced, 0 if none) and ip->bad_encap are, so that the caller
 * can count what it drops. */
enum kw_link_res kw_link_decode(int linktype, struct kw_slice frame, uint32_t wire_len,
                                struct kw_ip *ip);

#endif

/* link.h: link-layer decoding, ours, so that libnids only ever sees bare IPv4. */
#ifndef KW_LINK_H
#define KW_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/slice.h"

enum kw_link_res {
    KW_LINK_IPV4,      /* *ip is the IPv4 packet, trimmed to its total length */
    KW_LINK_IPV6,      /* an IPv6 packet: not analysed yet */
    KW_LINK_NOT_IP,    /* ARP, LLDP, ...: nothing for us */
    KW_LINK_TRUNCATED, /* the capture cut the packet short (snaplen); *ip holds the
                        * part of an IPv4 packet captured, when its header was */
    KW_LINK_INVALID,   /* a header that cannot be right */
    KW_LINK_FRAGMENT,  /* an IPv4 fragment too short to carry a transport header */
};

/* True for the link types kw_link_ip() decodes: Ethernet (802.1Q and QinQ tags),
 * Linux cooked v1 and v2, BSD loopback (NULL, LOOP), raw IP. */
bool kw_link_supported(int linktype);

/* Finds the IP packet in a captured frame. `wire_len` is the frame's length on
 * the wire; a frame shorter than it was cut by the snaplen. `*ip` points into
 * `frame`: the whole IPv4 packet for KW_LINK_IPV4, the captured part of one
 * for KW_LINK_TRUNCATED, else empty. */
enum kw_link_res kw_link_ip(int linktype, struct kw_slice frame, uint32_t wire_len,
                            struct kw_slice *ip);

#endif

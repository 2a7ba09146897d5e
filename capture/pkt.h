/* pkt.h: the packet capture/ hands on, with its link layer and IP header
 * decoded. A value type: the only thing reassembly/ knows of capture/. */
#ifndef KW_PKT_H
#define KW_PKT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/slice.h"
#include "common/time.h"

/* The innermost IP packet of a frame, of either family: inside a tunnel (GRE,
 * VXLAN, IP in IP...) the inner one, never the outer addresses. Every slice
 * points into the captured frame. */
struct kw_ip {
    uint8_t family;               /* 4 or 6; 0 when the frame held no IP */
    uint8_t bad_encap;            /* when the frame was malformed: the enum kw_encap
                                   * (common/stats.h) whose header was at fault, or
                                   * KW_ENCAP_NONE */
    uint8_t protocol;             /* IPv4 protocol, or the IPv6 next header after the
                                   * extension headers: 6 is TCP */
    bool is_fragment;             /* one fragment of a datagram (RFC 791 MF or offset;
                                   * an IPv6 Fragment header that is not atomic, RFC 8200 4.5) */
    bool is_cut;                  /* the snaplen cut the packet: its headers are here,
                                   * some of what follows them is not */
    struct kw_slice src_addr;     /* 4 or 16 bytes, network byte order */
    struct kw_slice dst_addr;
    struct kw_slice packet;       /* from the IP header to the IP length (link padding
                                   * left out), or to the end of the capture if cut */
    struct kw_slice transport;    /* what follows the IP header(s), as captured; for a
                                   * fragment past the first, fragment data */
    uint32_t transport_wire_len;  /* its length on the wire, as the IP header says */
};

struct kw_pkt {
    kw_usec ts;
    int linktype;          /* DLT_* of the file it came from */
    uint32_t wire_len;     /* length on the wire; bytes.len is less when the snaplen cut it */
    uint64_t frame;        /* 1-based frame number, as Wireshark counts; across several
                            * inputs, as if they were merged in order */
    struct kw_slice bytes; /* the frame as captured */
    struct kw_ip ip;       /* decoded from `bytes` */
};

#endif

/* link.c: from a captured frame to a bare IPv4 packet, through one bounds-checked cursor. */
#include "capture/link.h"

#include <pcap/dlt.h>

#include "common/cursor.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100  /* 802.1Q */
#define ETHERTYPE_QINQ 0x88a8  /* 802.1ad service tag */
#define ETHERTYPE_QINQ_OLD 0x9100
#define VLAN_TAGS_MAX 8        /* more tags than any real network stacks */

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

/* BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 differs by OS. */
#define BSD_AF_INET 2
#define BSD_AF_INET6_BSD 24
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN 30
#define LINUX_AF_INET6 10

bool kw_link_supported(int linktype)
{
    switch (linktype) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        return true;
    default:
        return false;
    }
}

/* A short read means the capture cut the frame when it was shorter than on the wire. */
static enum kw_link_res short_read(struct kw_slice frame, uint32_t wire_len)
{
    return wire_len > frame.len ? KW_LINK_TRUNCATED : KW_LINK_INVALID;
}

static bool is_vlan(uint16_t type)
{
    return type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD;
}

/* Follows VLAN tags from an ethertype to the network protocol. */
static enum kw_link_res skip_vlan_tags(struct kw_cur *c, uint16_t *ethertype, struct kw_slice frame,
                                       uint32_t wire_len)
{
    for (int i = 0; i < VLAN_TAGS_MAX && is_vlan(*ethertype); i++)
        if (!kw_cur_skip(c, 2) || !kw_cur_be16(c, ethertype)) /* TCI, then next type */
            return short_read(frame, wire_len);
    return is_vlan(*ethertype) ? KW_LINK_INVALID : KW_LINK_IPV4;
}

/* The IPv4 header: checked enough that libnids can trust it. */
static enum kw_link_res ipv4(struct kw_cur *c, struct kw_slice frame, uint32_t wire_len,
                             struct kw_slice *ip)
{
    size_t avail = kw_cur_left(c);
    if (avail < 20)
        return short_read(frame, wire_len);
    const uint8_t *h = c->p;
    size_t ihl = (size_t)(h[0] & 0x0f) * 4;
    size_t total = (size_t)(h[2] << 8 | h[3]);
    if ((h[0] >> 4) != 4 || ihl < 20 || total < ihl)
        return KW_LINK_INVALID;
    if (avail < total) {
        if (wire_len <= frame.len)
            return KW_LINK_INVALID; /* all of the frame is here: the length lies */
        *ip = kw_slice_make(h, avail); /* what there is, for whoever can use it */
        return KW_LINK_TRUNCATED;
    }
    uint16_t frag = (uint16_t)(h[6] << 8 | h[7]);
    /* A fragment must carry 8 bytes past its header: libnids 1.26 reads past a
     * shorter one (ip_fragment.c, ip_create). */
    if ((frag & 0x3fff) && total < ihl + 8)
        return KW_LINK_FRAGMENT;
    *ip = kw_slice_make(h, total); /* Ethernet padding past the total length is dropped */
    return KW_LINK_IPV4;
}

static enum kw_link_res by_ethertype(struct kw_cur *c, uint16_t type, struct kw_slice frame,
                                     uint32_t wire_len, struct kw_slice *ip)
{
    enum kw_link_res r = skip_vlan_tags(c, &type, frame, wire_len);
    if (r != KW_LINK_IPV4)
        return r;
    if (type == ETHERTYPE_IPV4)
        return ipv4(c, frame, wire_len, ip);
    if (type == ETHERTYPE_IPV6)
        return KW_LINK_IPV6;
    return KW_LINK_NOT_IP;
}

static enum kw_link_res by_version(struct kw_cur *c, struct kw_slice frame, uint32_t wire_len,
                                   struct kw_slice *ip)
{
    if (kw_cur_left(c) < 1)
        return short_read(frame, wire_len);
    switch (c->p[0] >> 4) {
    case 4:
        return ipv4(c, frame, wire_len, ip);
    case 6:
        return KW_LINK_IPV6;
    default:
        return KW_LINK_INVALID;
    }
}

static enum kw_link_res by_bsd_family(struct kw_cur *c, uint32_t af, struct kw_slice frame,
                                      uint32_t wire_len, struct kw_slice *ip)
{
    switch (af) {
    case BSD_AF_INET:
        return ipv4(c, frame, wire_len, ip);
    case BSD_AF_INET6_BSD:
    case BSD_AF_INET6_FREEBSD:
    case BSD_AF_INET6_DARWIN:
    case LINUX_AF_INET6:
        return KW_LINK_IPV6;
    default:
        return KW_LINK_NOT_IP;
    }
}

enum kw_link_res kw_link_ip(int linktype, struct kw_slice frame, uint32_t wire_len,
                            struct kw_slice *ip)
{
    struct kw_cur c = { frame.p, frame.p + frame.len };
    uint16_t type;
    *ip = kw_slice_make(NULL, 0);
    uint32_t af;

    switch (linktype) {
    case DLT_EN10MB: /* dst(6) src(6) type(2) */
        if (!kw_cur_skip(&c, 12) || !kw_cur_be16(&c, &type))
            return short_read(frame, wire_len);
        return by_ethertype(&c, type, frame, wire_len, ip);
    case DLT_LINUX_SLL: /* pkttype(2) hatype(2) halen(2) addr(8) protocol(2) */
        if (!kw_cur_skip(&c, 14) || !kw_cur_be16(&c, &type))
            return short_read(frame, wire_len);
        return by_ethertype(&c, type, frame, wire_len, ip);
    case DLT_LINUX_SLL2: /* protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8) */
        if (!kw_cur_be16(&c, &type) || !kw_cur_skip(&c, 18))
            return short_read(frame, wire_len);
        return by_ethertype(&c, type, frame, wire_len, ip);
    case DLT_NULL: /* address family in the capturing host's byte order */
        if (!kw_cur_le32(&c, &af))
            return short_read(frame, wire_len);
        if (af > 0xffff) /* written by a big-endian host */
            af = (af >> 24) | ((af >> 8) & 0xff00);
        return by_bsd_family(&c, af, frame, wire_len, ip);
    case DLT_LOOP: /* address family in network byte order */
        if (!kw_cur_be32(&c, &af))
            return short_read(frame, wire_len);
        return by_bsd_family(&c, af, frame, wire_len, ip);
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        return by_version(&c, frame, wire_len, ip);
    default:
        return KW_LINK_INVALID;
    }
}

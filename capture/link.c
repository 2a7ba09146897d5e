/* link.c: from a captured frame to its IP packet and transport header, every
 * byte read through one bounds-checked cursor. The link types are one table,
 * as tcpdump's print.c keeps its printers: one row per DLT, naming its decoder.
 * This file holds what every packet goes through (link layer, Ethernet types,
 * IP); tunnel.c the encapsulations. */
#include "capture/link.h"

#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>

#include "capture/link-impl.h"

#define ETHERTYPE_VLAN 0x8100  /* 802.1Q */
#define ETHERTYPE_QINQ 0x88a8  /* 802.1ad service tag */
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_MPLS 0x8847  /* RFC 3032 5 */
#define ETHERTYPE_MPLS_MULTICAST 0x8848
#define ETHERTYPE_PPPOE_SESSION 0x8864 /* RFC 2516 */

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG 239
#endif

/* BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 differs by OS. */
#define BSD_AF_INET 2
#define BSD_AF_INET6_BSD 24
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN 30
#define LINUX_AF_INET6 10

#define IPV4_HEADER_MIN 20
#define IPV4_MF 0x2000     /* more fragments */
#define IPV4_OFFSET 0x1fff /* fragment offset, in 8-byte units */
#define IPV6_HEADER_LEN 40
/* RFC 8200 4.1 allows each extension header once (Destination Options twice):
 * a longer chain is an attack on whoever walks it. */
#define IPV6_EXT_HEADERS_MAX 8

/* IPv6 extension headers (RFC 8200 4, RFC 7045 IANA list) keepwatch walks past. */
#define IPV6_HOP_BY_HOP 0
#define IPV6_ROUTING 43
#define IPV6_FRAGMENT 44
#define IPV6_AUTH 51 /* RFC 4302: its length counts 4-byte words, less 2 */
#define IPV6_DEST_OPTS 60
#define IPV6_MOBILITY 135
#define IPV6_HIP 139
#define IPV6_SHIM6 140

/* The rest of *ip once its headers are read: TCP, or a fragment that may
 * be, goes on; any other protocol is counted as not TCP. */
static enum kw_link_res ip_found(struct kw_ip *ip, struct kw_slice transport, uint32_t wire_len,
                                 uint8_t proto, bool is_fragment, bool is_cut,
                                 struct kw_slice src, struct kw_slice dst)
{
    ip->transport = transport;
    ip->transport_wire_len = wire_len;
    ip->protocol = proto;
    ip->is_fragment = is_fragment;
    ip->is_cut = is_cut;
    ip->src_addr = src;
    ip->dst_addr = dst;
    return proto == IPPROTO_TCP || is_fragment ? KW_LINK_IP : LINK_IP_OTHER;
}

/* --- IPv4 (RFC 791) -------------------------------------------------------- */

/* The IPv4 header: checked enough that libnids can trust it. */
static enum kw_link_res ipv4(struct kw_cur *c, const struct frame_in *x)
{
    x->ip->family = 4;
    size_t avail = kw_cur_left(c);
    struct kw_cur from_header = *c, packet, h;
    uint8_t vihl, proto;
    uint16_t total, frag;
    struct kw_slice src, dst;
    if (!kw_cur_sub(c, IPV4_HEADER_MIN, &h))
        return short_read(x);
    if (!(kw_cur_u8(&h, &vihl) && kw_cur_skip(&h, 1) && kw_cur_be16(&h, &total) &&
          kw_cur_skip(&h, 2) && kw_cur_be16(&h, &frag) && kw_cur_skip(&h, 1) &&
          kw_cur_u8(&h, &proto) && kw_cur_skip(&h, 2) && kw_cur_bytes(&h, 4, &src) &&
          kw_cur_bytes(&h, 4, &dst)))
        return KW_LINK_INVALID; /* cannot happen: the 20 bytes are there */
    size_t ihl = (size_t)(vihl & 0x0f) * 4;
    if ((vihl >> 4) != 4 || ihl < IPV4_HEADER_MIN || total < ihl)
        return KW_LINK_INVALID;
    bool is_fragment = (frag & (IPV4_MF | IPV4_OFFSET)) != 0;
    bool is_cut = avail < total;
    if (is_cut && !x->is_cut)
        return KW_LINK_INVALID; /* all of the frame is here: the length lies */
    /* A first fragment too short for 8 bytes of data: every fragment but the
     * last carries a multiple of 8 (RFC 791), and one this short cannot hold
     * the ports: the tiny fragment of RFC 1858 3.1, which firewalls drop.
     * Short last fragments are legal and go on, in any order: reassembly/
     * puts the datagram together. */
    if (!is_cut && (frag & IPV4_MF) && !(frag & IPV4_OFFSET) && total < ihl + 8)
        return KW_LINK_FRAGMENT;
    if (!kw_cur_sub(&from_header, is_cut ? avail : total, &packet)) /* padding left out */
        return KW_LINK_INVALID; /* cannot happen: avail was checked */
    struct kw_ip *ip = x->ip;
    ip->packet = kw_cur_rest(&packet);
    /* Options cut short leave no transport header (an empty slice), only the addresses. */
    size_t captured = kw_cur_left(&packet);
    kw_cur_skip(&packet, ihl < captured ? ihl : captured);
    return ip_found(ip, kw_cur_rest(&packet), (uint32_t)(total - ihl), proto,
                    is_fragment, is_cut, src, dst);
}

/* --- IPv6 (RFC 8200) -------------------------------------------------------- */

static bool is_ipv6_extension(uint8_t next)
{
    switch (next) {
    case IPV6_HOP_BY_HOP:
    case IPV6_ROUTING:
    case IPV6_FRAGMENT:
    case IPV6_AUTH:
    case IPV6_DEST_OPTS:
    case IPV6_MOBILITY:
    case IPV6_HIP:
    case IPV6_SHIM6:
        return true;
    default:
        return false;
    }
}

/* Walks the extension headers from `*next` to the upper-layer header. False
 * when one is cut short or runs past the payload. Past a Fragment header that
 * is not the first fragment, the rest is fragment data (RFC 8200 4.5). */
static bool ipv6_extensions(struct kw_cur *c, uint8_t *next, bool *is_fragment)
{
    for (int n = 0; n < IPV6_EXT_HEADERS_MAX && is_ipv6_extension(*next); n++) {
        uint8_t following, len;
        if (*next == IPV6_FRAGMENT) { /* next(1) reserved(1) offset/flags(2) id(4) */
            uint16_t offset_flags;
            if (!(kw_cur_u8(c, &following) && kw_cur_skip(c, 1) &&
                  kw_cur_be16(c, &offset_flags) && kw_cur_skip(c, 4)))
                return false;
            *next = following;
            /* An atomic fragment (offset 0, no M flag; RFC 6946) is a whole packet. */
            if (offset_flags & 0xfff9) {
                *is_fragment = true;
                if (offset_flags & 0xfff8)
                    return true;
            }
            continue;
        }
        if (!kw_cur_u8(c, &following) || !kw_cur_u8(c, &len))
            return false;
        size_t size = *next == IPV6_AUTH ? ((size_t)len + 2) * 4 : ((size_t)len + 1) * 8;
        if (!kw_cur_skip(c, size - 2))
            return false;
        *next = following;
    }
    return !is_ipv6_extension(*next);
}

static enum kw_link_res ipv6(struct kw_cur *c, const struct frame_in *x)
{
    x->ip->family = 6;
    size_t avail = kw_cur_left(c);
    struct kw_cur from_header = *c, packet, h;
    uint8_t vtc, next;
    uint16_t payload_len;
    struct kw_slice src, dst;
    if (!kw_cur_sub(c, IPV6_HEADER_LEN, &h))
        return short_read(x);
    /* version(4) class(8) flow(20) payload length(16) next(8) hop limit(8) src(128) dst(128) */
    if (!(kw_cur_u8(&h, &vtc) && kw_cur_skip(&h, 3) && kw_cur_be16(&h, &payload_len) &&
          kw_cur_u8(&h, &next) && kw_cur_skip(&h, 1) && kw_cur_bytes(&h, 16, &src) &&
          kw_cur_bytes(&h, 16, &dst)))
        return KW_LINK_INVALID; /* cannot happen: the 40 bytes are there */
    if ((vtc >> 4) != 6)
        return KW_LINK_INVALID;
    size_t total = IPV6_HEADER_LEN + (size_t)payload_len;
    bool is_cut = avail < total;
    if (is_cut && !x->is_cut)
        return KW_LINK_INVALID;
    if (!kw_cur_sub(&from_header, is_cut ? avail : total, &packet))
        return KW_LINK_INVALID; /* cannot happen: avail was checked */
    struct kw_cur headers = packet;
    bool is_fragment = false;
    if (!kw_cur_skip(&headers, IPV6_HEADER_LEN) ||
        !ipv6_extensions(&headers, &next, &is_fragment))
        return is_cut ? KW_LINK_TRUNCATED : KW_LINK_INVALID;
    struct kw_ip *ip = x->ip;
    ip->packet = kw_cur_rest(&packet);
    return ip_found(ip, kw_cur_rest(&headers), (uint32_t)(total - (size_t)(headers.p - packet.p)),
                    next, is_fragment, is_cut, src, dst);
}

/* --- what the link layer says comes next ---------------------------------- */

static bool is_vlan(uint16_t type)
{
    return type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD;
}

/* What an Ethernet type (IEEE 802 numbers) announces, past any VLAN tags. */
static enum kw_link_res ethertype(struct kw_cur *c, uint16_t type, struct frame_in *x)
{
    if (type == ETHERTYPE_IPV4) /* most frames: first, before any other test */
        return ipv4(c, x);
    while (is_vlan(type)) { /* 802.1Q / 802.1ad tag: a TCI, then the next type */
        if (!enter_layer(x))
            return KW_LINK_INVALID;
        if (!kw_cur_skip(c, 2) || !kw_cur_be16(c, &type))
            return short_read(x);
    }
    switch (type) {
    case ETHERTYPE_IPV4:
        return ipv4(c, x);
    case ETHERTYPE_IPV6:
        return ipv6(c, x);
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MULTICAST:
        return tunnel_mpls(c, x);
    case ETHERTYPE_PPPOE_SESSION:
        return tunnel_pppoe(c, x);
    default:
        return KW_LINK_NOT_IP;
    }
}

static enum kw_link_res ip_by_version(struct kw_cur *c, struct frame_in *x)
{
    uint8_t version;
    if (!kw_cur_peek_u8(c, &version))
        return short_read(x);
    switch (version >> 4) {
    case 4:
        return ipv4(c, x);
    case 6:
        return ipv6(c, x);
    default:
        return KW_LINK_INVALID;
    }
}

static enum kw_link_res by_bsd_family(struct kw_cur *c, uint32_t af, struct frame_in *x)
{
    switch (af) {
    case BSD_AF_INET:
        return ipv4(c, x);
    case BSD_AF_INET6_BSD:
    case BSD_AF_INET6_FREEBSD:
    case BSD_AF_INET6_DARWIN:
    case LINUX_AF_INET6:
        return ipv6(c, x);
    default:
        return KW_LINK_NOT_IP;
    }
}

/* --- one decoder per link type ----------------------------------------------- */

static enum kw_link_res ethernet(struct kw_cur *c, struct frame_in *x)
{
    uint16_t type; /* dst(6) src(6) type(2) */
    if (!kw_cur_skip(c, 12) || !kw_cur_be16(c, &type))
        return short_read(x);
    return ethertype(c, type, x);
}

static enum kw_link_res link_sll(struct kw_cur *c, struct frame_in *x)
{
    uint16_t type; /* pkttype(2) hatype(2) halen(2) addr(8) protocol(2) */
    if (!kw_cur_skip(c, 14) || !kw_cur_be16(c, &type))
        return short_read(x);
    return ethertype(c, type, x);
}

static enum kw_link_res link_sll2(struct kw_cur *c, struct frame_in *x)
{
    uint16_t type; /* protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8) */
    if (!kw_cur_be16(c, &type) || !kw_cur_skip(c, 18))
        return short_read(x);
    return ethertype(c, type, x);
}

static enum kw_link_res link_null(struct kw_cur *c, struct frame_in *x)
{
    uint32_t af; /* address family in the capturing host's byte order */
    if (!kw_cur_le32(c, &af))
        return short_read(x);
    if (af > 0xffff) /* written by a big-endian host */
        af = (af >> 24) | ((af >> 8) & 0xff00);
    return by_bsd_family(c, af, x);
}

static enum kw_link_res link_loop(struct kw_cur *c, struct frame_in *x)
{
    uint32_t af; /* address family in network byte order */
    if (!kw_cur_be32(c, &af))
        return short_read(x);
    return by_bsd_family(c, af, x);
}

/* Linux NFLOG (libpcap's pcap/nflog.h): family(1) version(1) resource id(2),
 * then TLVs: length(2) type(2) value, padded to 4 bytes, the length counting
 * the 4-byte TLV header. Length and type are in the host's byte order (libpcap
 * turns them into the reading host's); the type's top two bits are netlink
 * flags (NLA_TYPE_MASK). NFULA_PAYLOAD holds the packet from its IP header. */
#define NFLOG_TLV_HEADER 4
#define NFLOG_TYPE_MASK 0x3fff
#define NFULA_PAYLOAD 9
#define NFLOG_AF_INET 2
#define NFLOG_AF_INET6 10

static enum kw_link_res nflog_payload(struct kw_cur *value, uint8_t family, struct frame_in *x)
{
    switch (family) {
    case NFLOG_AF_INET:
        return ipv4(value, x);
    case NFLOG_AF_INET6:
        return ipv6(value, x);
    default:
        return KW_LINK_NOT_IP;
    }
}

static enum kw_link_res link_nflog(struct kw_cur *c, struct frame_in *x)
{
    uint8_t family, version;
    if (!kw_cur_u8(c, &family) || !kw_cur_u8(c, &version) || !kw_cur_skip(c, 2))
        return x->is_cut ? KW_LINK_TRUNCATED : bad_encap(x, KW_ENCAP_NFLOG);
    if (version != 0)
        return bad_encap(x, KW_ENCAP_NFLOG);
    /* every TLV takes 4 bytes at least: the loop ends with the frame */
    while (kw_cur_left(c)) {
        uint16_t len, type;
        struct kw_cur value;
        if (!kw_cur_host16(c, &len) || !kw_cur_host16(c, &type))
            return x->is_cut ? KW_LINK_TRUNCATED : bad_encap(x, KW_ENCAP_NFLOG);
        if (len < NFLOG_TLV_HEADER)
            return bad_encap(x, KW_ENCAP_NFLOG);
        bool is_payload = (type & NFLOG_TYPE_MASK) == NFULA_PAYLOAD;
        if (!kw_cur_sub(c, len - NFLOG_TLV_HEADER, &value)) {
            if (!x->is_cut)
                return bad_encap(x, KW_ENCAP_NFLOG);
            /* cut by the snaplen: the payload as far as it was captured */
            return is_payload ? nflog_payload(c, family, x) : KW_LINK_TRUNCATED;
        }
        if (is_payload) {
            /* the log copies at most its copy range (nflog-range) of a packet:
             * a payload shorter than its IP length was cut, as by a snaplen */
            x->is_cut = true;
            return nflog_payload(&value, family, x);
        }
        size_t pad = (4 - len % 4) % 4; /* the last TLV may go without */
        kw_cur_skip(c, pad <= kw_cur_left(c) ? pad : kw_cur_left(c));
    }
    /* no payload: logged without its packet, or cut before it */
    return x->is_cut ? KW_LINK_TRUNCATED : KW_LINK_NOT_IP;
}

/* --- for tunnel.c: the same decoders, out of line ---------------------------- */

enum kw_link_res link_ipv4(struct kw_cur *c, struct frame_in *x)
{
    return ipv4(c, x);
}

enum kw_link_res link_ipv6(struct kw_cur *c, struct frame_in *x)
{
    return ipv6(c, x);
}

enum kw_link_res link_ip_by_version(struct kw_cur *c, struct frame_in *x)
{
    return ip_by_version(c, x);
}

enum kw_link_res link_ethernet(struct kw_cur *c, struct frame_in *x)
{
    return ethernet(c, x);
}

enum kw_link_res link_ethertype(struct kw_cur *c, uint16_t type, struct frame_in *x)
{
    return ethertype(c, type, x);
}

/* --- the table -------------------------------------------------------------- */

struct link_type {
    int dlt;
    const char *name;        /* as libpcap and tcpdump name it */
    const char *description; /* as users know it */
    enum kw_link_res (*decode)(struct kw_cur *c, struct frame_in *x);
};

/* Ethernet first: the table is scanned for every packet. */
static const struct link_type link_types[] = {
    { DLT_EN10MB, "EN10MB", "Ethernet", ethernet },
    { DLT_LINUX_SLL, "LINUX_SLL", "Linux cooked", link_sll },
    { DLT_LINUX_SLL2, "LINUX_SLL2", "Linux cooked v2", link_sll2 },
    { DLT_NULL, "NULL", "BSD loopback", link_null },
    { DLT_LOOP, "LOOP", "OpenBSD loopback", link_loop },
    { DLT_RAW, "RAW", "raw IP", ip_by_version },
    { DLT_IPV4, "IPV4", "raw IPv4", ip_by_version },
    { DLT_IPV6, "IPV6", "raw IPv6", ip_by_version },
    { DLT_NFLOG, "NFLOG", "Linux netfilter log", link_nflog },
};

#define N_LINK_TYPES (sizeof(link_types) / sizeof(link_types[0]))

static const struct link_type *link_type_of(int linktype)
{
    for (size_t i = 0; i < N_LINK_TYPES; i++)
        if (link_types[i].dlt == linktype)
            return &link_types[i];
    return NULL;
}

bool kw_link_supported(int linktype)
{
    return link_type_of(linktype) != NULL;
}

size_t kw_link_list_supported(char *out, size_t out_len)
{
    size_t len = 0;
    if (!out_len)
        return 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_LINK_TYPES && len < out_len; i++) {
        int n = snprintf(out + len, out_len - len, "%s%s (%s)", i ? ", " : "",
                         link_types[i].name, link_types[i].description);
        if (n < 0)
            break;
        len += (size_t)n;
    }
    return len < out_len ? len : out_len - 1;
}

enum kw_link_res kw_link_decode(int linktype, struct kw_slice frame, uint32_t wire_len,
                                struct kw_ip *ip)
{
    ip->family = 0;
    ip->bad_encap = KW_ENCAP_NONE;
    const struct link_type *type = link_type_of(linktype);
    enum kw_link_res r = KW_LINK_INVALID;
    if (type) {
        struct kw_cur c = kw_cur_make(frame);
        struct frame_in x = { wire_len > frame.len, 0, ip };
        r = type->decode(&c, &x);
        if (r == LINK_IP_OTHER)
            r = tunnel_from_ip(&x);
    }
    if (r != KW_LINK_IP) { /* only what says how to count it is kept */
        uint8_t family = ip->family, bad = ip->bad_encap;
        memset(ip, 0, sizeof(*ip));
        ip->family = family;
        ip->bad_encap = bad;
    }
    return r;
}

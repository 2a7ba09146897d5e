/* tunnel.c: the encapsulations between the link layer and the IP packet that
 * carries TCP: MPLS label stacks and PPPoE sessions (reached from an Ethernet
 * type), IP in IP, GRE with ERSPAN, VXLAN and GENEVE (reached from an IP
 * protocol). Each one's header is read through the cursor, bounded by the
 * length its carrier gives it, and counted in stats.encap_invalid[] under its
 * kind when it cannot be right; every header entered counts against
 * KW_LINK_LAYERS_MAX. What is analysed is the innermost packet: the outer
 * addresses are never kept. */
#include <netinet/in.h>

#include "capture/link-impl.h"

/* A header cut short: the snaplen's doing when the frame was cut there, else
 * the header of `kind` is malformed (its carrier says it is longer). */
static enum kw_link_res short_in(const struct frame_in *x, enum kw_encap kind)
{
    return x->is_cut ? KW_LINK_TRUNCATED : bad_encap(x, kind);
}

/* The next `len` bytes as the payload of a layer: a whole payload is no longer
 * cut whatever the frame; one running past the captured bytes is the rest, cut,
 * when the frame was cut, and a malformed `kind` header otherwise. */
static bool payload_of(struct kw_cur *c, size_t len, struct kw_cur *payload,
                       struct frame_in *x)
{
    if (kw_cur_sub(c, len, payload)) {
        x->is_cut = false;
        return true;
    }
    if (!x->is_cut)
        return false;
    *payload = *c;
    return true;
}

/* --- MPLS (RFC 3032) ----------------------------------------------------------- */

#define MPLS_BOTTOM_OF_STACK 0x100

/* Label stack entries: label(20) traffic class(3) bottom of stack(1) TTL(8),
 * down to the bottom one. What it carries is named nowhere: it is guessed by
 * its first nibble, 4 or 6, as Wireshark and Suricata do (RFC 4385 3 keeps
 * pseudowire control words off those nibbles for that reason). */
enum kw_link_res tunnel_mpls(struct kw_cur *c, struct frame_in *x)
{
    uint32_t entry;
    do {
        if (!enter_layer(x))
            return KW_LINK_INVALID;
        if (!kw_cur_be32(c, &entry))
            return short_in(x, KW_ENCAP_MPLS);
    } while (!(entry & MPLS_BOTTOM_OF_STACK));
    uint8_t first;
    if (!kw_cur_peek_u8(c, &first))
        return short_in(x, KW_ENCAP_MPLS);
    switch (first >> 4) {
    case 4:
        return link_ipv4(c, x);
    case 6:
        return link_ipv6(c, x);
    default:
        return KW_LINK_NOT_IP; /* a pseudowire, OAM...: nothing for us */
    }
}

/* --- PPPoE (RFC 2516) ----------------------------------------------------------- */

#define PPPOE_VERSION_TYPE 0x11 /* version 1, type 1 (RFC 2516 4) */
#define PPPOE_CODE_SESSION 0x00
#define PPP_IPV4 0x0021 /* RFC 1332 */
#define PPP_IPV6 0x0057 /* RFC 5072 */

/* Session stage: version(4) type(4) code(8) session id(16) length(16) of the
 * payload, which starts with PPP's protocol number (RFC 1661 2). */
enum kw_link_res tunnel_pppoe(struct kw_cur *c, struct frame_in *x)
{
    uint8_t version_type, code;
    uint16_t len, protocol;
    struct kw_cur payload;
    if (!enter_layer(x))
        return KW_LINK_INVALID;
    if (!(kw_cur_u8(c, &version_type) && kw_cur_u8(c, &code) && kw_cur_skip(c, 2) &&
          kw_cur_be16(c, &len)))
        return short_in(x, KW_ENCAP_PPPOE);
    if (version_type != PPPOE_VERSION_TYPE || code != PPPOE_CODE_SESSION)
        return bad_encap(x, KW_ENCAP_PPPOE);
    if (!payload_of(c, len, &payload, x))
        return bad_encap(x, KW_ENCAP_PPPOE);
    if (!kw_cur_be16(&payload, &protocol))
        return short_in(x, KW_ENCAP_PPPOE);
    switch (protocol) {
    case PPP_IPV4:
        return link_ipv4(&payload, x);
    case PPP_IPV6:
        return link_ipv6(&payload, x);
    default:
        return KW_LINK_NOT_IP; /* LCP, IPCP...: PPP's own traffic */
    }
}

/* --- what a GRE or GENEVE protocol type names ----------------------------------- */

/* An Ethernet type, or 0x6558 for a whole Ethernet frame (RFC 1701 3, RFC 8926 3.4). */
static enum kw_link_res by_protocol_type(struct kw_cur *c, uint16_t type, struct frame_in *x)
{
    if (type == ETHERTYPE_TEB)
        return link_ethernet(c, x);
    return link_ethertype(c, type, x);
}

/* --- ERSPAN (draft-foschiano-erspan-03) ------------------------------------------ */

#define ERSPAN_II_VERSION 1
#define ERSPAN_III_VERSION 2
#define ERSPAN_III_FT_ETHERNET 0
#define ERSPAN_III_FT_IP 2
#define ERSPAN_III_PLATFORM_LEN 8

/* Type II: version(4) VLAN(12) COS(3) En(2) T(1) session(10) reserved(12)
 * index(20), then the mirrored Ethernet frame. */
static enum kw_link_res erspan_ii(struct kw_cur *c, struct frame_in *x)
{
    uint8_t version;
    if (!enter_layer(x))
        return KW_LINK_INVALID;
    if (!kw_cur_peek_u8(c, &version) || !kw_cur_skip(c, 8))
        return short_in(x, KW_ENCAP_ERSPAN);
    if (version >> 4 != ERSPAN_II_VERSION)
        return bad_encap(x, KW_ENCAP_ERSPAN);
    return link_ethernet(c, x);
}

/* Type III: version(4) VLAN(12) COS(3) BSO(2) T(1) session(10) timestamp(32)
 * SGT(16) P(1) frame type(5) hardware id(6) D(1) granularity(2) O(1), then an
 * 8-byte platform subheader when O is set, then the frame: Ethernet (frame
 * type 0) or IP (2). */
static enum kw_link_res erspan_iii(struct kw_cur *c, struct frame_in *x)
{
    uint8_t version;
    uint16_t last;
    if (!enter_layer(x))
        return KW_LINK_INVALID;
    if (!(kw_cur_peek_u8(c, &version) && kw_cur_skip(c, 10) && kw_cur_be16(c, &last)))
        return short_in(x, KW_ENCAP_ERSPAN);
    if (version >> 4 != ERSPAN_III_VERSION)
        return bad_encap(x, KW_ENCAP_ERSPAN);
    if ((last & 1) && !kw_cur_skip(c, ERSPAN_III_PLATFORM_LEN))
        return short_in(x, KW_ENCAP_ERSPAN);
    switch ((last >> 10) & 0x1f) {
    case ERSPAN_III_FT_ETHERNET:
        return link_ethernet(c, x);
    case ERSPAN_III_FT_IP:
        return link_ip_by_version(c, x);
    default:
        return KW_LINK_NOT_IP;
    }
}

/* --- GRE (RFC 2784, RFC 2890) ----------------------------------------------------- */

#define GRE_CHECKSUM 0x8000 /* checksum and reserved1 follow */
#define GRE_KEY 0x2000      /* RFC 2890 */
#define GRE_SEQUENCE 0x1000 /* RFC 2890 */
#define GRE_MUST_BE_ZERO 0x4c00 /* bits 1, 4 and 5: RFC 1701 routing, which RFC 2784 2.3 drops */
#define GRE_VERSION 0x0007
#define GRE_VERSION_PPTP 1  /* RFC 2637: carries PPP */
#define GRE_ERSPAN_I_II 0x88be
#define GRE_ERSPAN_III 0x22eb

/* C(1) reserved0(12, of which RFC 2890 takes K and S) version(3) protocol
 * type(16), then checksum and reserved1, key, sequence number, each 4 bytes
 * when its bit is set. ERSPAN type I is 0x88be without a sequence number and
 * has no header of its own (as Wireshark tells them apart). */
static enum kw_link_res gre(struct kw_cur *c, struct frame_in *x)
{
    uint16_t flags, type;
    if (!kw_cur_be16(c, &flags) || !kw_cur_be16(c, &type))
        return short_in(x, KW_ENCAP_GRE);
    if ((flags & GRE_VERSION) == GRE_VERSION_PPTP)
        return KW_LINK_NOT_IP;
    if (flags & (GRE_VERSION | GRE_MUST_BE_ZERO)) /* RFC 2784 2.3, 2.3.1: discard */
        return bad_encap(x, KW_ENCAP_GRE);
    size_t optional = 4 * (size_t)(!!(flags & GRE_CHECKSUM) + !!(flags & GRE_KEY) +
                                   !!(flags & GRE_SEQUENCE));
    if (!kw_cur_skip(c, optional))
        return short_in(x, KW_ENCAP_GRE);
    switch (type) {
    case GRE_ERSPAN_I_II:
        return (flags & GRE_SEQUENCE) ? erspan_ii(c, x) : link_ethernet(c, x);
    case GRE_ERSPAN_III:
        return erspan_iii(c, x);
    default:
        return by_protocol_type(c, type, x);
    }
}

/* --- VXLAN (RFC 7348) and GENEVE (RFC 8926), over UDP ------------------------------ */

#define UDP_HEADER_LEN 8
#define UDP_PORT_VXLAN 4789  /* RFC 7348 5: the destination port */
#define UDP_PORT_GENEVE 6081 /* RFC 8926 3.3 */
#define VXLAN_FLAG_I 0x08    /* a valid VNI */
#define GENEVE_HEADER_LEN 8

/* flags(8) reserved(24) VNI(24) reserved(8), then an Ethernet frame. Only the
 * I flag must be set; the other bits are ignored on receipt (RFC 7348 5). */
static enum kw_link_res vxlan(struct kw_cur *c, struct frame_in *x)
{
    uint8_t flags;
    if (!kw_cur_u8(c, &flags) || !kw_cur_skip(c, 7))
        return short_in(x, KW_ENCAP_VXLAN);
    if (!(flags & VXLAN_FLAG_I))
        return bad_encap(x, KW_ENCAP_VXLAN);
    return link_ethernet(c, x);
}

/* version(2) options length(6, 4-byte words) O(1) C(1) reserved(6) protocol
 * type(16) VNI(24) reserved(8), then the options: class(16) type(8) reserved(3)
 * length(5, 4-byte words) and data each (3.5). Version 0 only (3.4: a tunnel
 * endpoint MUST drop another); every option must end inside the options. */
static enum kw_link_res geneve(struct kw_cur *c, struct frame_in *x)
{
    uint8_t version_len;
    uint16_t type;
    struct kw_cur options;
    if (!(kw_cur_u8(c, &version_len) && kw_cur_skip(c, 1) && kw_cur_be16(c, &type) &&
          kw_cur_skip(c, 4)))
        return short_in(x, KW_ENCAP_GENEVE);
    if (version_len >> 6)
        return bad_encap(x, KW_ENCAP_GENEVE);
    if (!kw_cur_sub(c, (size_t)(version_len & 0x3f) * 4, &options))
        return short_in(x, KW_ENCAP_GENEVE);
    while (kw_cur_left(&options)) { /* at most 63 options of 4 bytes */
        uint8_t len;
        if (!(kw_cur_skip(&options, 3) && kw_cur_u8(&options, &len) &&
              kw_cur_skip(&options, (size_t)(len & 0x1f) * 4)))
            return bad_encap(x, KW_ENCAP_GENEVE);
    }
    return by_protocol_type(c, type, x);
}

/* source port(2) destination port(2) length(2) checksum(2): the length bounds
 * the tunnel's header and what it carries. */
static enum kw_link_res udp_tunnel(struct kw_cur *c, struct frame_in *x)
{
    uint16_t port, len;
    struct kw_cur payload;
    if (!kw_cur_skip(c, 2) || !kw_cur_be16(c, &port))
        return short_read(x); /* cannot happen: tunnel_is_carried() read the port */
    enum kw_encap kind = port == UDP_PORT_VXLAN ? KW_ENCAP_VXLAN : KW_ENCAP_GENEVE;
    if (!kw_cur_be16(c, &len) || !kw_cur_skip(c, 2))
        return short_in(x, kind);
    if (len < UDP_HEADER_LEN || !payload_of(c, len - UDP_HEADER_LEN, &payload, x))
        return bad_encap(x, kind);
    return kind == KW_ENCAP_VXLAN ? vxlan(&payload, x) : geneve(&payload, x);
}

/* --- from an IP protocol ------------------------------------------------------------- */

/* IPPROTO_IPIP: IPv4 in IP (RFC 2003); IPPROTO_IPV6: IPv6 in IP (RFC 4213,
 * RFC 2473); IPPROTO_GRE. */
/* True when an IP packet of protocol `proto` whose transport is `transport`
 * carries another packet keepwatch follows. */
static bool is_carrier(uint8_t proto, struct kw_slice transport)
{
    switch (proto) {
    case IPPROTO_IPIP:
    case IPPROTO_IPV6:
    case IPPROTO_GRE:
        return true;
    case IPPROTO_UDP: {
        struct kw_cur udp = kw_cur_make(transport);
        uint16_t port;
        return kw_cur_skip(&udp, 2) && kw_cur_be16(&udp, &port) &&
               (port == UDP_PORT_VXLAN || port == UDP_PORT_GENEVE);
    }
    default:
        return false;
    }
}

/* One tunnel: from the IP packet in x->ip to the one it carries. */
static enum kw_link_res inner(struct frame_in *x)
{
    struct kw_ip *ip = x->ip;
    struct kw_cur c = kw_cur_make(ip->transport);
    uint8_t proto = ip->protocol;
    x->is_cut = ip->is_cut; /* the inner packet ends where the outer one does */
    ip->family = 0;         /* the outer family says nothing of what is inside */
    if (!enter_layer(x))
        return KW_LINK_INVALID;
    switch (proto) {
    case IPPROTO_IPIP:
        return link_ipv4(&c, x);
    case IPPROTO_IPV6:
        return link_ipv6(&c, x);
    case IPPROTO_GRE:
        return gre(&c, x);
    default:
        return udp_tunnel(&c, x);
    }
}

enum kw_link_res tunnel_from_ip(struct frame_in *x)
{
    enum kw_link_res r = LINK_IP_OTHER;
    while (r == LINK_IP_OTHER) { /* ends: every turn enters a layer */
        if (!is_carrier(x->ip->protocol, x->ip->transport))
            return KW_LINK_IP;
        r = inner(x);
    }
    return r;
}

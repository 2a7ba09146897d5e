/* link-impl.h: what the decoders of capture/ share; no other folder includes it.
 * link.c holds the table of link types, the Ethernet types and IP (the path
 * every packet takes); tunnel.c the encapsulations reached from an Ethernet
 * type or an IP protocol (MPLS, PPPoE, GRE, ERSPAN, VXLAN, GENEVE, IP in IP). */
#ifndef KW_LINK_IMPL_H
#define KW_LINK_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/link.h"
#include "common/cursor.h"
#include "common/stats.h"

/* Encapsulation headers followed at most, every VLAN tag and MPLS label
 * counting one: as Suricata's decoder.max-layers (16). A frame that nests
 * more is an attack on whoever walks it (KW_ENCAP_TOO_DEEP). */
#define KW_LINK_LAYERS_MAX 16

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_TEB 0x6558 /* transparent Ethernet bridging: an Ethernet frame */

/* What every decoder needs besides the cursor. The IP decoders return
 * LINK_IP_OTHER (below) for a whole packet that is not TCP. */
struct frame_in {
    bool is_cut;      /* the bytes left may be fewer than the headers say: the
                       * snaplen cut the frame (and every layer that holds the cut) */
    uint8_t layers;   /* encapsulation headers entered so far */
    struct kw_ip *ip; /* the result */
};

/* A short read means the capture cut the frame when it was shorter than on the wire. */
static inline enum kw_link_res short_read(const struct frame_in *x)
{
    return x->is_cut ? KW_LINK_TRUNCATED : KW_LINK_INVALID;
}

/* A header of encapsulation `kind` that cannot be right. */
static inline enum kw_link_res bad_encap(const struct frame_in *x, enum kw_encap kind)
{
    x->ip->bad_encap = (uint8_t)kind;
    return KW_LINK_INVALID;
}

/* One more encapsulation header: false (counted as TOO_DEEP) past the bound. */
static inline bool enter_layer(struct frame_in *x)
{
    if (x->layers >= KW_LINK_LAYERS_MAX) {
        x->ip->bad_encap = KW_ENCAP_TOO_DEEP;
        return false;
    }
    x->layers++;
    return true;
}

/* link.c */
enum kw_link_res link_ethernet(struct kw_cur *c, struct frame_in *x);
enum kw_link_res link_ethertype(struct kw_cur *c, uint16_t type, struct frame_in *x);
enum kw_link_res link_ipv4(struct kw_cur *c, struct frame_in *x);
enum kw_link_res link_ipv6(struct kw_cur *c, struct frame_in *x);
enum kw_link_res link_ip_by_version(struct kw_cur *c, struct frame_in *x);

/* tunnel.c */
enum kw_link_res tunnel_mpls(struct kw_cur *c, struct frame_in *x);
enum kw_link_res tunnel_pppoe(struct kw_cur *c, struct frame_in *x);

/* What tunnel_from_ip() is for: an IP packet, whole, that is no TCP. */
#define LINK_IP_OTHER ((enum kw_link_res)(KW_LINK_FRAGMENT + 1))

/* Decodes on what the IP packet in x->ip carries (IPv4 or IPv6 in IP, GRE,
 * VXLAN or GENEVE over UDP), in its place: the outer packet is forgotten,
 * whatever comes of it, and so on to the innermost, each tunnel counting a
 * layer. A packet that carries nothing keepwatch follows is KW_LINK_IP. */
enum kw_link_res tunnel_from_ip(struct frame_in *x);

#endif
